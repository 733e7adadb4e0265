"""Digests: delivery modes held and released by moving the Deliverer's clock, never by sleeping.

Real parts only: Store(memory=True), the Deliverer, the email channel and aiosmtpd on 127.0.0.1.
"""
from __future__ import annotations

import email
import email.policy
import socket
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from alerts.email import EmailChannel
from alerts.outbox import Deliverer
from alerts.policy import policy_from_settings
from alerts.render import alert_payload
from monitor.config import Section
from monitor.models import Match
from monitor.settings import DeliverySettings
from monitor.store import Store
from tests.support import sql


def at(hh: int, mm: int, day: int = 9) -> float:
    return datetime(2025, 10, day, hh, mm, tzinfo=UTC).timestamp()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def inbox():
    box = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def setup(inbox: Inbox, clock: Clock, **section) -> tuple[Store, EmailChannel, Deliverer]:
    store = Store(memory=True)
    values = {"host": "127.0.0.1", "port": inbox.port, "security": "none", "from": "raqib@example.org",
              "local_hostname": "raqib.test", **section}
    ch = EmailChannel(Section(values, "raqib.yaml", 1), store)

    def policy_for(channel: str, destination: str):
        # what the daemon does: config defaults for the address, overlaid with the destinations table
        return policy_from_settings({**ch.destination_defaults(destination),
                                     **store.subscriptions.settings(channel, destination)})

    d = Deliverer(store, {"email": ch}, settings=DeliverySettings(burst=3), policy_for=policy_for, clock=clock)
    return store, ch, d


def enqueue(store: Store, destination: str, *, cluster: int, watchlist: str, title: str, created: float,
            kind: str = "story", source: str = "alriyadh", event: int | None = None) -> None:
    term = title.split()[0]
    payload = alert_payload(title=title, url=f"https://news.example/{cluster}/{kind}", summary="",
                            source=source, published=None, watchlist_title=f"قائمة {watchlist}",
                            matches=[Match(watchlist, term, "title", 0, len(term))], sources=[source])
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="email", destination=destination, kind=kind, watchlist=watchlist,
                      cluster=cluster, story_id=cluster, payload=payload, now=created, event=event)


def states(store: Store) -> list[str]:
    return [r["state"] for r in sql.outbox_rows(store, "state")]


async def test_daily_digest_holds_until_eight_and_sends_one_grouped_email(inbox):
    clock = Clock(at(7, 10))
    store, ch, d = setup(inbox, clock, recipients={"desk@example.org": {"mode": "daily@08:00"}})
    enqueue(store, "desk@example.org", cluster=1, watchlist="energy", title="أرامكو ترفع الإنتاج", created=clock.now)
    assert await d.run_once() == 0

    clock.now = at(7, 30)
    enqueue(store, "desk@example.org", cluster=1, watchlist="energy", title="أرامكو ترفع الإنتاج",
            kind="spread", source="okaz", created=clock.now)
    enqueue(store, "desk@example.org", cluster=2, watchlist="energy", title="أوبك تجتمع غدا", created=clock.now)
    enqueue(store, "desk@example.org", cluster=3, watchlist="sport", title="الهلال يفوز على النصر", created=clock.now)
    assert await d.run_once() == 0
    clock.now = at(7, 59)
    assert await d.run_once() == 0
    assert inbox.messages == [] and states(store) == ["pending"] * 4

    clock.now = at(8, 0)
    assert await d.run_once() == 4
    assert states(store) == ["sent"] * 4
    [msg] = inbox.messages
    assert "التنبيهات: 4، الأخبار: 3" in msg["Subject"]
    plain = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    # grouped by watchlist with counts, then by cluster: the two alerts of cluster 1 are one entry
    assert "== قائمة energy (التنبيهات: 3، الأخبار: 2) ==" in plain
    assert "== قائمة sport (التنبيهات: 1، الأخبار: 1) ==" in plain
    assert plain.index("قائمة energy") < plain.index("أوبك") < plain.index("قائمة sport") < plain.index("الهلال")
    assert plain.count("أرامكو ترفع الإنتاج") == 1
    assert "التنبيهات: 2، المصادر: 2 (alriyadh، okaz)" in plain
    assert '<html dir="rtl" lang="ar">' in page and "<mark>أرامكو</mark>" in page

    # nothing new: no email at all, now or at the next slot
    assert await d.run_once() == 0
    clock.now = at(8, 0, day=10)
    assert await d.run_once() == 0
    assert len(inbox.messages) == 1


async def test_empty_digest_is_never_sent(inbox):
    clock = Clock(at(8, 0))
    store, ch, d = setup(inbox, clock)
    assert await ch.send_digest("desk@example.org", []) is None
    assert await d.run_once() == 0
    assert inbox.messages == []


async def test_daily_slot_is_in_the_destination_time_zone(inbox):
    clock = Clock(at(4, 0))  # 07:00 in Riyadh (UTC+3)
    store, ch, d = setup(inbox, clock, digest="daily@08:00", tz="Asia/Riyadh")
    for cluster in (1, 2):
        enqueue(store, "desk@example.org", cluster=cluster, watchlist="energy", title=f"أرامكو خبر {cluster}",
                created=clock.now)
    assert await d.run_once() == 0
    clock.now = at(4, 59)
    assert await d.run_once() == 0
    clock.now = at(5, 0)  # 08:00 in Riyadh
    assert await d.run_once() == 2
    assert len(inbox.messages) == 1


async def test_hourly_mode_set_in_the_destinations_table_overrides_instant_config(inbox):
    clock = Clock(at(10, 5))
    store, ch, d = setup(inbox, clock)
    store.subscriptions.update_settings("email", "a@example.org", mode="hourly")
    for cluster in (1, 2):
        enqueue(store, "a@example.org", cluster=cluster, watchlist="energy", title=f"أرامكو {cluster}",
                created=clock.now)
        enqueue(store, "b@example.org", cluster=cluster, watchlist="energy", title=f"أرامكو {cluster}",
                created=clock.now)
    assert await d.run_once() == 2  # b is instant: two separate emails
    assert sorted(m["To"].addresses[0].addr_spec for m in inbox.messages) == ["b@example.org"] * 2
    clock.now = at(11, 0)
    assert await d.run_once() == 2
    assert len(inbox.messages) == 3
    assert inbox.messages[-1]["To"].addresses[0].addr_spec == "a@example.org"
    assert "موجز" in inbox.messages[-1]["Subject"]


async def test_quiet_hours_hold_instant_alerts_and_release_them_as_one_digest(inbox):
    clock = Clock(at(23, 0))
    store, ch, d = setup(inbox, clock, recipients={"night@example.org": {"quiet": "22:00-07:00"}})
    enqueue(store, "night@example.org", cluster=1, watchlist="energy", title="أرامكو ليلا", created=clock.now)
    clock.now = at(2, 0, day=10)
    enqueue(store, "night@example.org", cluster=2, watchlist="energy", title="أرامكو فجرا", created=clock.now)
    assert await d.run_once() == 0
    clock.now = at(7, 0, day=10)
    assert await d.run_once() == 2
    [msg] = inbox.messages
    assert "التنبيهات: 2، الأخبار: 2" in msg["Subject"]


async def test_a_burst_in_instant_mode_folds_into_one_digest(inbox):
    clock = Clock(at(12, 0))
    store, ch, d = setup(inbox, clock)
    for cluster in range(1, 6):  # more than burst=3
        enqueue(store, "desk@example.org", cluster=cluster, watchlist="energy", title=f"أرامكو {cluster}",
                created=clock.now)
    assert await d.run_once() == 5
    [msg] = inbox.messages
    assert "التنبيهات: 5، الأخبار: 5" in msg["Subject"]


async def test_a_digest_groups_by_event_then_by_cluster(inbox):
    clock = Clock(at(7, 0))
    store, ch, d = setup(inbox, clock, recipients={"desk@example.org": {"mode": "daily@08:00"}})
    desk = "desk@example.org"
    enqueue(store, desk, cluster=1, watchlist="energy", title="أرامكو ترفع الإنتاج", created=clock.now)
    enqueue(store, desk, cluster=2, watchlist="energy", title="أوبك تجتمع غدا", created=clock.now, source="okaz")
    enqueue(store, desk, cluster=3, watchlist="energy", title="أرامكو: زيادة الإنتاج تبدأ الشهر المقبل",
            created=clock.now, source="sabq", event=1)  # the same event as 1, in sabq's own words
    enqueue(store, desk, cluster=3, watchlist="energy", title="أرامكو: زيادة الإنتاج تبدأ الشهر المقبل",
            created=clock.now, source="sabq", event=1, kind="spread")  # a second alert of cluster 3
    clock.now = at(8, 0)
    assert await d.run_once() == 4
    [msg] = inbox.messages
    plain = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert "التنبيهات: 4، الأخبار: 3" in msg["Subject"]
    # event 1 (clusters 1 and 3) is one entry, its other outlet's story under it, before event 2
    assert plain.index("أرامكو ترفع") < plain.index("تغطية ذات صلة") < plain.index("زيادة الإنتاج") \
        < plain.index("أوبك")
    assert plain.count("زيادة الإنتاج تبدأ") == 1  # cluster 3's two alerts are one line
    assert "\n   - أرامكو: زيادة الإنتاج" in plain
    entry = page[page.index("ترفع الإنتاج"):page.index("تجتمع غدا")]
    assert "تغطية ذات صلة" in entry and "زيادة الإنتاج" in entry
