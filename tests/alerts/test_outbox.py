"""The deliverer keeps the delivery promise: retries, dead letters, digests, crash recovery."""
from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import pytest

from alerts.channel import Channel
from alerts.console import ConsoleChannel
from alerts.outbox import Deliverer
from alerts.policy import Policy, parse_quiet
from monitor.config import Section
from monitor.errors import DeliveryError
from monitor.models import Match, alert_payload
from monitor.settings import DeliverySettings
from monitor.store import Store
from tests.support import sql


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class ScriptedChannel(Channel):
    """A channel whose sends fail as scripted, recording what it delivered."""

    name = "scripted"

    def __init__(self, failures: list[DeliveryError | None] | None = None) -> None:
        super().__init__(Section({}, "<test>"))
        self.failures = list(failures or [])
        self.sent: list[tuple[str, list[str]]] = []

    async def send(self, alert):
        if self.failures:
            exc = self.failures.pop(0)
            if exc is not None:
                raise exc
        self.sent.append(("one", [alert.title]))
        return f"ref-{alert.id}"

    async def send_digest(self, destination, alerts):
        self.sent.append(("digest", [a.title for a in alerts]))
        return "digest"


def enqueue(store: Store, n: int, *, channel: str = "scripted", destination: str = "d1",
            now: float = 1000.0, first_cluster: int = 1) -> None:
    with store.transaction() as conn:
        for i in range(n):
            cluster = first_cluster + i
            payload = alert_payload(title=f"خبر {cluster}", url=f"https://x.example/{cluster}", summary="",
                                    source="agency", published=None, watchlist_title="قائمة",
                                    matches=[Match("w", "خبر", "title", 0, 3)])
            assert store.outbox.enqueue(conn, channel=channel, destination=destination, kind="story", watchlist="w",
                                 cluster=cluster, story_id=cluster, payload=payload, now=now)


def states(store: Store) -> dict[str, int]:
    return sql.outbox_states(store)


async def test_the_same_alert_is_queued_once_per_cluster_watchlist_destination():
    store = Store(memory=True)
    enqueue(store, 1)
    with store.transaction() as conn:
        assert not store.outbox.enqueue(conn, channel="scripted", destination="d1", kind="story", watchlist="w",
                                 cluster=1, story_id=99, payload={}, now=1.0)
    assert states(store) == {"pending": 1}


async def test_console_prints_one_line_per_alert_with_the_original_title_and_link():
    store = Store(memory=True)
    enqueue(store, 2, channel="console", destination="-")
    out = io.StringIO()
    deliverer = Deliverer(store, {"console": ConsoleChannel(Section({}, "<t>"), stream=out)}, clock=Clock(1000))
    assert await deliverer.run_once() == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("w  agency  خبر 1  https://x.example/1")
    assert states(store) == {"sent": 2}
    assert await deliverer.run_once() == 0


async def test_a_console_digest_lists_an_events_stories_together():
    store = Store(memory=True)
    enqueue(store, 3, channel="console", destination="-")  # clusters 1, 2, 3
    sql.set_outbox(store, {"cluster": 3}, event=1)  # 3 is another outlet's words on 1's event
    out = io.StringIO()
    deliverer = Deliverer(store, {"console": ConsoleChannel(Section({}, "<t>"), stream=out)}, clock=Clock(1000),
                          settings=DeliverySettings(burst=2))
    assert await deliverer.run_once() == 3
    header, *lines = out.getvalue().splitlines()
    assert header == "-- digest: 3 alerts --"
    assert [line.rsplit("/", 1)[1] for line in lines] == ["1", "3", "2"]
    assert "[event: 1]" in lines[1] and "[event:" not in lines[0] + lines[2]


async def test_failures_retry_with_backoff_then_succeed():
    store = Store(memory=True)
    enqueue(store, 1)
    clock = Clock(1000)
    channel = ScriptedChannel([DeliveryError("connection reset"), DeliveryError("timeout")])
    deliverer = Deliverer(store, {"scripted": channel}, clock=clock,
                          settings=DeliverySettings(backoff=10, backoff_max=100))
    assert await deliverer.run_once() == 0
    row = sql.outbox_rows(store)[0]
    assert row["state"] == "pending" and row["attempts"] == 1 and "connection reset" in row["last_error"]
    assert 1000 <= row["next_try"] <= 1010
    clock.t = row["next_try"]
    assert await deliverer.run_once() == 0
    row = sql.outbox_rows(store)[0]
    assert row["attempts"] == 2 and clock.t <= row["next_try"] <= clock.t + 20
    clock.t = row["next_try"]
    assert await deliverer.run_once() == 1
    assert channel.sent == [("one", ["خبر 1"])]
    assert sql.outbox_rows(store, "state", "ref") == [{"state": "sent", "ref": "ref-1"}]


async def test_retry_after_is_honoured():
    store = Store(memory=True)
    enqueue(store, 1)
    clock = Clock(1000)
    deliverer = Deliverer(store, {"scripted": ScriptedChannel([DeliveryError("slow down", retry_after=3600)])},
                          clock=clock)
    await deliverer.run_once()
    assert sql.outbox_value(store, "next_try") == 4600
    clock.t = 4599
    assert await deliverer.run_once() == 0
    clock.t = 4600
    assert await deliverer.run_once() == 1


async def test_permanent_failures_become_dead_letters_that_can_be_retried():
    store = Store(memory=True)
    enqueue(store, 2)
    store.subscriptions.subscribe("scripted", "d1", "w")
    channel = ScriptedChannel([DeliveryError("bot was blocked by the user", permanent=True, unsubscribe=True)])
    deliverer = Deliverer(store, {"scripted": channel}, clock=Clock(1000))
    await deliverer.run_once()
    dead = sql.outbox_rows(store, "state", "last_error", state="dead")
    assert dead == [{"state": "dead", "last_error": "bot was blocked by the user"}]
    assert store.subscriptions.subscribers("w") == []  # the blocked chat is no longer subscribed
    assert store.outbox.retry_dead() == 1
    assert await deliverer.run_once() >= 1
    assert states(store) == {"sent": 2}


async def test_after_max_attempts_an_alert_is_dead_not_retried_forever():
    store = Store(memory=True)
    enqueue(store, 1)
    clock = Clock(1000)
    channel = ScriptedChannel([DeliveryError("down")] * 5)
    deliverer = Deliverer(store, {"scripted": channel}, clock=clock,
                          settings=DeliverySettings(max_attempts=3, backoff=1, backoff_max=1))
    for _ in range(5):
        clock.t += 10
        await deliverer.run_once()
    row = sql.outbox_rows(store, "state", "attempts")[0]
    assert row == {"state": "dead", "attempts": 3}


async def test_a_burst_for_one_destination_becomes_one_digest():
    store = Store(memory=True)
    enqueue(store, 200, destination="busy")
    enqueue(store, 2, destination="calm", first_cluster=1000)
    channel = ScriptedChannel()
    deliverer = Deliverer(store, {"scripted": channel}, clock=Clock(1000),
                          settings=DeliverySettings(burst=10))
    assert await deliverer.run_once() == 202
    digests = [titles for kind, titles in channel.sent if kind == "digest"]
    singles = [titles for kind, titles in channel.sent if kind == "one"]
    assert len(digests) == 1 and len(digests[0]) == 200
    assert len(singles) == 2
    assert states(store) == {"sent": 202}


async def test_quiet_hours_hold_alerts_and_send_one_digest_after():
    store = Store(memory=True)
    night = datetime(2026, 1, 5, 23, 30, tzinfo=UTC).timestamp()
    enqueue(store, 3, now=night)
    clock = Clock(night)
    channel = ScriptedChannel()
    policy = Policy(quiet=parse_quiet("22:00-07:00"))
    deliverer = Deliverer(store, {"scripted": channel}, clock=clock, policy_for=lambda c, d: policy)
    assert await deliverer.run_once() == 0
    morning = datetime(2026, 1, 6, 7, 0, tzinfo=UTC).timestamp()
    assert sql.earliest_next_try(store) == morning
    clock.t = morning - 1
    assert await deliverer.run_once() == 0
    clock.t = morning
    assert await deliverer.run_once() == 3
    assert channel.sent == [("digest", ["خبر 1", "خبر 2", "خبر 3"])]


async def test_alerts_caught_mid_send_by_a_crash_go_back_to_the_queue(tmp_path):
    path = tmp_path / "raqib.db"
    store = Store(path)
    enqueue(store, 3)
    ids = [r["id"] for r in sql.outbox_rows(store, "id")]
    store.outbox.claim(ids[:2])
    store.outbox.mark_sent(ids[:1], 1000)
    store.conn.close()  # no clean shutdown

    store = Store(path)
    channel = ScriptedChannel()
    deliverer = Deliverer(store, {"scripted": channel}, clock=Clock(1000))
    assert deliverer.recover() == 1
    assert await deliverer.run_once() == 2
    assert sorted(t for _, ts in channel.sent for t in ts) == ["خبر 2", "خبر 3"]


@pytest.mark.parametrize("mode, created, expected", [
    ("hourly", datetime(2026, 1, 5, 10, 20, tzinfo=UTC), datetime(2026, 1, 5, 11, 0, tzinfo=UTC)),
    ("daily@08:00", datetime(2026, 1, 5, 7, 10, tzinfo=UTC), datetime(2026, 1, 5, 8, 0, tzinfo=UTC)),
    ("daily@08:00", datetime(2026, 1, 5, 9, 0, tzinfo=UTC), datetime(2026, 1, 6, 8, 0, tzinfo=UTC)),
])
def test_digest_slots(mode, created, expected):
    assert Policy(mode=mode).next_slot(created.timestamp()) == expected.timestamp()


class SlowChannel(ScriptedChannel):
    """Takes a moment per send, as a real receiver does, so two senders overlap."""

    async def send(self, alert):
        await asyncio.sleep(0.05)
        return await super().send(alert)


def test_a_row_claimed_by_one_connection_is_not_claimed_by_another(tmp_path):
    one, other = Store(tmp_path / "raqib.db"), Store(tmp_path / "raqib.db")
    try:
        enqueue(one, 3)
        ids = [r.id for r in one.outbox.due(2000.0)]
        assert [r.id for r in other.outbox.due(2000.0)] == ids  # both saw them pending
        assert one.outbox.claim(ids[:2]) == ids[:2]
        assert other.outbox.claim(ids) == ids[2:]  # only the row nobody had claimed
        assert one.outbox.claim(ids) == []
    finally:
        one.close()
        other.close()


async def test_two_deliverers_on_one_database_send_each_alert_once(tmp_path):
    """Two senders read the same due rows before either claims them: each alert still
    goes out once, by whichever sender claimed it."""
    stores = [Store(tmp_path / "raqib.db"), Store(tmp_path / "raqib.db")]
    try:
        enqueue(stores[0], 4, destination="d1")
        enqueue(stores[0], 4, destination="d2", first_cluster=10)
        channels = [SlowChannel(), SlowChannel()]
        deliverers = [Deliverer(store, {"scripted": ch}, clock=Clock(2000.0),
                                settings=DeliverySettings(burst=100))
                      for store, ch in zip(stores, channels, strict=True)]
        counts = await asyncio.gather(*(d.run_once() for d in deliverers))
        sent = [title for ch in channels for _, titles in ch.sent for title in titles]
        assert sorted(sent) == sorted({*sent}) and len(sent) == 8, channels[0].sent + channels[1].sent
        assert sum(counts) == 8
        assert states(stores[0]) == {"sent": 8}
    finally:
        for store in stores:
            store.close()


async def test_held_alerts_leave_as_one_digest_from_the_node_holding_the_digests_role_only(tmp_path):
    """Two nodes on one outbox: the node without the digests role holds rows back and sends
    instant ones, but never a held row, so a digest is never split between nodes."""
    night = datetime(2026, 1, 5, 23, 30, tzinfo=UTC).timestamp()
    quiet = Policy(quiet=parse_quiet("22:00-07:00"))
    store_a, store_b = Store(tmp_path / "shared.db"), Store(tmp_path / "shared.db")
    try:
        enqueue(store_a, 3, now=night)
        enqueue(store_a, 1, destination="d2", now=night, first_cluster=10)  # d2 has no quiet hours
        clock = Clock(night)
        a_channel, b_channel = ScriptedChannel(), ScriptedChannel()
        a = Deliverer(store_a, {"scripted": a_channel}, clock=clock,
                      policy_for=lambda c, d: quiet if d == "d1" else Policy(), send_held=lambda: True)
        b = Deliverer(store_b, {"scripted": b_channel}, clock=clock,
                      policy_for=lambda c, d: quiet if d == "d1" else Policy(), send_held=lambda: False)
        assert await b.run_once() == 1  # d2's instant alert; d1's are held until morning
        assert b_channel.sent == [("one", ["خبر 10"])]
        clock.t = datetime(2026, 1, 6, 7, 0, tzinfo=UTC).timestamp()
        assert await b.run_once() == 0 and b_channel.sent == [("one", ["خبر 10"])]
        assert store_b.outbox.next_due(["scripted"], held=False) is None  # so b does not spin on them
        assert await a.run_once() == 3
        assert a_channel.sent == [("digest", ["خبر 1", "خبر 2", "خبر 3"])]
    finally:
        store_a.close()
        store_b.close()
