"""The Telegram channel against a fake Bot API on 127.0.0.1, with the real PTB client.

Alerts go through the real deliverer and a real SQLite store; time in the rate limiter
is a virtual clock (waits advance it), so limits are checked without real waiting.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from pathlib import Path

import pytest

from alerts.outbox import Deliverer
from alerts.policy import policy_from_settings
from alerts.telegram import RateLimiter, TelegramChannel, render_alert, render_digest, split_html, utf16_len
from monitor.config import Section, load_config
from monitor.errors import ConfigError
from monitor.models import Alert, Match, alert_payload
from monitor.settings import DeliverySettings
from monitor.store import Store
from tests.support import sql
from tests.support.fake_telegram import FakeTelegram

TOKEN = "123456789:AAHfakeTokenForTests_abcdefghijklmno"


class VirtualClock:
    """Monotonic time that waits advance instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
def tg():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def store():
    s = Store(memory=True)
    yield s
    s.close()


def make_channel(tg: FakeTelegram, store: Store, clock: VirtualClock | None = None, **values) -> TelegramChannel:
    values = {"api_url": tg.api_url, "polling": False, **values}
    section = Section(values, "<test>")
    clock = clock or VirtualClock()
    return TelegramChannel(section, store, clock=clock, sleep=clock.sleep)


def enqueue(store: Store, destination: str, *, cluster: int, title: str, summary: str = "",
            matches=(), kind: str = "story", url: str = "https://news.example/a", source: str = "aljazeera",
            watchlist: str = "russia", now: float = 0.0, event: int | None = None,
            related: str | None = None) -> None:
    payload = alert_payload(title=title, url=url, summary=summary, source=source,
                            published="2024-08-10T09:30:00+00:00", watchlist_title="روسيا وأوكرانيا",
                            matches=matches, related=related)
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="telegram", destination=destination, kind=kind, watchlist=watchlist,
                      cluster=cluster, story_id=cluster, payload=payload, now=now, event=event)


def deliverer(store: Store, channel: TelegramChannel) -> Deliverer:
    """The deliverer on the channel's virtual clock: limiter waits and outbox times agree."""
    return Deliverer(store, {"telegram": channel}, settings=DeliverySettings(burst=10), clock=channel.clock)


@pytest.fixture(autouse=True)
def _token_env(monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)


# -- formatting ----------------------------------------------------------------------------


def test_alert_escapes_feed_text_and_bolds_matched_words(tg, store):
    title = 'بوتين يلتقي <script>alert(1)</script> & "الوفد"'
    start = title.index("بوتين")
    matches = (Match("russia", "بوتين", "title", start, start + len("بوتين")),)
    enqueue(store, "42", cluster=1, title=title, summary="كورسك <b>مدينة</b>", matches=matches)

    async def run():
        ch = make_channel(tg, store)
        try:
            assert await deliverer(store, ch).run_once() == 1
            assert await deliverer(store, ch).run_once() == 0  # sent once, not twice
        finally:
            await ch.close()

    asyncio.run(run())
    [msg] = tg.sent(42)
    assert msg.params["parse_mode"] == "HTML"
    assert "<script>" not in msg.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"الوفد\"" in msg.text
    assert "<b>بوتين</b>" in msg.text
    assert "&lt;b&gt;مدينة&lt;/b&gt;" in msg.text
    assert '<a href="https://news.example/a">' in msg.text
    assert "aljazeera" in msg.text and "2024-08-10 09:30 UTC" in msg.text
    assert "روسيا وأوكرانيا" in msg.text
    assert "\u200f" in msg.text  # the Latin source line is marked right-to-left
    row = sql.outbox_rows(store, "state", "ref")[0]
    assert row == {"state": "sent", "ref": f"42:{msg.message_id}"}
    assert '"is_disabled": true' in msg.params["link_preview_options"]


def test_link_previews_follow_the_config(tg, store):
    enqueue(store, "42", cluster=1, title="خبر")

    async def run():
        ch = make_channel(tg, store, link_preview=True)
        try:
            await deliverer(store, ch).run_once()
        finally:
            await ch.close()

    asyncio.run(run())
    [msg] = tg.sent(42)
    assert "https://news.example/a" in msg.params["link_preview_options"]
    assert "is_disabled" not in msg.params["link_preview_options"]


def test_long_alert_is_split_at_4096_utf16_units_without_breaking_tags(tg, store):
    words = ["كلمة𝕏"] * 900  # 900 × (4 letters + a 2-unit emoji-plane letter) + spaces ≈ 6,300 units
    title = " ".join(words)
    matches = (Match("russia", "كلمة", "title", 0, 4),)
    enqueue(store, "42", cluster=1, title=title, matches=matches)

    async def run():
        ch = make_channel(tg, store)
        try:
            assert await deliverer(store, ch).run_once() == 1
        finally:
            await ch.close()

    asyncio.run(run())
    parts = tg.sent(42)
    assert len(parts) == 2
    for part in parts:
        visible = html.unescape(re.sub(r"<[^>]*>", "", part.text))
        assert utf16_len(visible) <= 4096
        assert part.text.count("<a ") == part.text.count("</a>")  # tags closed in each part
    assert utf16_len(html.unescape(re.sub(r"<[^>]*>", "", parts[0].text))) > 3000  # not cut needlessly early
    joined = " ".join(html.unescape(re.sub(r"<[^>]*>", "", p.text)) for p in parts)
    assert joined.count("كلمة𝕏") == 900  # nothing lost at the cut
    ref = sql.outbox_rows(store, "ref")[0]["ref"]
    assert ref == f"42:{parts[0].message_id}"  # the first part is the one later edited


def test_split_never_cuts_an_entity_or_a_surrogate_pair():
    text = "<b>" + "&amp;" * 5000 + "</b>"
    parts = split_html(text, 4096)
    assert len(parts) == 2
    for p in parts:
        assert re.fullmatch(r"<b>(&amp;)+</b>", p)
    emoji = "😀" * 3000  # 6,000 UTF-16 units
    parts = split_html(emoji, 4096)
    assert "".join(parts) == emoji
    assert all(utf16_len(p) <= 4096 for p in parts)


def test_render_alert_in_english_labels_and_also_reported():
    alert = Alert(id=1, channel="telegram", destination="42", kind="story", watchlist="w", watchlist_title="W",
                  story_id=1, cluster=1, title="title", url="javascript:alert(1)", summary="", source="bbc",
                  published=None)
    text = render_alert(alert, lang="en", also=["bbc", "cnn", "reuters"])
    assert "Also reported by: cnn، reuters" in text
    assert "javascript:" not in text  # only http(s) links become anchors


# -- editing -------------------------------------------------------------------------------


def test_cluster_update_edits_the_first_message(tg, store):
    enqueue(store, "42", cluster=5, title="بوتين في كورسك")
    with store.transaction() as conn:
        for i, feed in enumerate(("aljazeera", "bbcarabic", "skynews")):
            store.stories.insert(conn, {"id": 5 + i * 10, "feed": feed, "guid": f"g{i}", "title": "t",
                                      "fetched": 1.0, "cluster": 5})

    async def run():
        ch = make_channel(tg, store)
        try:
            await deliverer(store, ch).run_once()
            enqueue(store, "42", cluster=5, title="بوتين في كورسك", kind="update", now=ch.clock.now)
            ch.clock.now += 10.0
            assert await deliverer(store, ch).run_once() == 1
            # the same update again: Telegram says "not modified", which is success
            sql.set_outbox(store, {"kind": "update"}, state="pending", next_try=0)
            assert await deliverer(store, ch).run_once() == 1
        finally:
            await ch.close()

    asyncio.run(run())
    [msg] = tg.sent(42)
    assert len(tg.calls_of("editMessageText")) == 2
    assert "نقلته أيضاً: bbcarabic، skynews" in msg.text
    assert msg.edits and msg.edits[-1] == msg.text
    assert sql.outbox_count(store, state=sql.Not("sent")) == 0


# -- Telegram's refusals ----------------------------------------------------------------------


def test_retry_after_is_honoured_and_nothing_is_lost(tg, store):
    enqueue(store, "42", cluster=1, title="خبر أول")
    tg.fail("sendMessage", "429", chat_id=42, retry_after=37)

    async def run():
        ch = make_channel(tg, store)
        d = deliverer(store, ch)
        try:
            assert await d.run_once() == 0
            row = sql.outbox_rows(store, "state", "next_try")[0]
            assert row["state"] == "pending" and row["next_try"] == pytest.approx(ch.clock.now + 37, abs=2)
            ch.clock.now += 20.0
            assert await d.run_once() == 0  # not yet
            ch.clock.now += 20.0
            assert await d.run_once() == 1
        finally:
            await ch.close()

    asyncio.run(run())
    assert len(tg.calls_of("sendMessage")) == 2
    assert len(tg.sent(42)) == 1


def test_hours_long_retry_after_folds_into_a_digest(tg, store):
    for i in range(3):
        enqueue(store, "42", cluster=i + 1, title=f"خبر {i}", now=0.0)
    tg.fail("sendMessage", "429", chat_id=42, retry_after=3 * 3600)

    async def run():
        ch = make_channel(tg, store)
        d = deliverer(store, ch)
        try:
            await d.run_once()
            assert sql.outbox_count(store, state="pending") == 3
            ch.clock.now += 3 * 3600 + 2
            for i in range(3, 15):  # more news piles up meanwhile
                enqueue(store, "42", cluster=i + 1, title=f"خبر {i}", now=ch.clock.now)
            assert await d.run_once() == 15
        finally:
            await ch.close()

    asyncio.run(run())
    sent = tg.sent(42)
    assert len(sent) == 1
    assert "15" in sent[0].text and all(f"خبر {i}" in sent[0].text for i in range(15))


def test_forbidden_deactivates_the_subscription(tg, store):
    store.subscriptions.subscribe("telegram", "42", "russia")
    enqueue(store, "42", cluster=1, title="خبر")
    tg.fail("sendMessage", "403", chat_id=42)

    async def run():
        ch = make_channel(tg, store)
        try:
            await deliverer(store, ch).run_once()
        finally:
            await ch.close()

    asyncio.run(run())
    assert store.subscriptions.of("telegram", "42") == []
    assert sql.outbox_rows(store, "state")[0]["state"] == "dead"


def test_group_upgraded_to_supergroup_moves_the_destination(tg, store):
    store.subscriptions.subscribe("telegram", "-4001", "russia")
    store.subscriptions.update_settings("telegram", "-4001", lang="en")
    enqueue(store, "-4001", cluster=1, title="خبر")
    tg.fail("sendMessage", "migrate", chat_id=-4001, migrate_to=-1004001)

    async def run():
        ch = make_channel(tg, store)
        try:
            await deliverer(store, ch).run_once()
            await deliverer(store, ch).run_once()
        finally:
            await ch.close()

    asyncio.run(run())
    assert store.subscriptions.of("telegram", "-1004001") == ["russia"]
    assert store.subscriptions.of("telegram", "-4001") == []
    assert store.subscriptions.settings("telegram", "-1004001") == {"lang": "en"}
    assert len(tg.sent(-1004001)) == 1 and tg.sent(-4001) == []


def test_bad_request_is_permanent_and_network_errors_retry(tg, store):
    enqueue(store, "42", cluster=1, title="خبر")
    enqueue(store, "43", cluster=1, title="خبر")
    tg.fail("sendMessage", "400", chat_id=42)
    tg.fail("sendMessage", "500", chat_id=43)

    async def run():
        ch = make_channel(tg, store)
        try:
            await deliverer(store, ch).run_once()
        finally:
            await ch.close()

    asyncio.run(run())
    states = {r["destination"]: r["state"] for r in sql.outbox_rows(store, "destination", "state")}
    assert states == {"42": "dead", "43": "pending"}


def test_unreachable_api_is_a_retry_not_a_loss(store):
    with FakeTelegram() as tg:
        url = tg.api_url  # a port nobody listens on once the server stops
    enqueue(store, "42", cluster=1, title="خبر")

    async def run():
        clock = VirtualClock()
        ch = TelegramChannel(Section({"api_url": url, "polling": False, "timeout": 2}, "<test>"), store,
                             clock=clock, sleep=clock.sleep)
        try:
            await deliverer(store, ch).run_once()
        finally:
            await ch.close()

    asyncio.run(run())
    row = sql.outbox_rows(store, "state", "last_error")[0]
    assert row["state"] == "pending" and "unreachable" in row["last_error"]


# -- bursts and rate limits -----------------------------------------------------------------------


def test_burst_of_200_alerts_for_one_chat_becomes_a_digest(tg, store):
    for i in range(200):
        enqueue(store, "42", cluster=i + 1, title=f"عاجل رقم {i}: بوتين يصرح", url=f"https://n.example/{i}")
    clock = VirtualClock()

    async def run():
        ch = make_channel(tg, store, clock=clock)
        try:
            assert await deliverer(store, ch).run_once() == 200
        finally:
            await ch.close()

    asyncio.run(run())
    sent = tg.sent(42)
    assert 1 <= len(sent) <= 3  # one digest, split only because of its length
    text = "".join(m.text for m in sent)
    assert all(f"https://n.example/{i}\"" in text for i in range(200))
    assert "200" in sent[0].text
    times = [c.at for c in tg.calls_of("sendMessage")]
    assert len(times) == len(sent)


async def test_limiter_keeps_one_message_per_second_per_chat_and_20_per_minute_in_groups():
    clock = VirtualClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    private = [await limiter.acquire("42") for _ in range(5)]
    assert all(b - a >= 1.0 for a, b in zip(private, private[1:], strict=False))
    group = [await limiter.acquire("-100777") for _ in range(45)]
    for i in range(len(group) - 20):
        assert group[i + 20] - group[i] >= 60.0  # never 21 in a minute
    channel = [await limiter.acquire("@desk") for _ in range(21)]
    assert channel[20] - channel[0] >= 60.0


async def test_limiter_keeps_30_per_second_overall_and_does_not_block_other_chats():
    clock = VirtualClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    times = await asyncio.gather(*(limiter.acquire(str(1000 + i)) for i in range(90)))
    times.sort()
    for i in range(len(times) - 30):
        assert times[i + 30] - times[i] >= 1.0 - 1e-9
    assert times[-1] - times[0] < 3.1  # 90 chats at 30/s: three seconds, no more
    limiter.pause("55", 100.0)
    start = clock.now
    assert await limiter.acquire("56") - start < 1.0  # another chat is not held by a pause
    assert await limiter.acquire("55") - start >= 100.0


# -- configuration and secrets ------------------------------------------------------------------


def test_literal_token_in_the_yaml_is_refused_naming_the_line(tmp_path: Path, monkeypatch):
    cfg = tmp_path / "raqib.yaml"
    cfg.write_text("database: db.sqlite\nchannels:\n  telegram:\n    admins: [1]\n"
                   f"    token: \"{TOKEN}\"\n", encoding="utf-8")
    config = load_config(cfg)
    with pytest.raises(ConfigError) as err:
        TelegramChannel(config.channels["telegram"], None)
    assert err.value.line == 5 and "plain sight" in str(err.value)
    assert TOKEN not in str(err.value)


def test_token_from_env_reference_and_from_credentials(tmp_path: Path, monkeypatch):
    cfg = tmp_path / "raqib.yaml"
    cfg.write_text("channels:\n  telegram:\n    token: ${MY_BOT_TOKEN}\n", encoding="utf-8")
    config = load_config(cfg, env={"MY_BOT_TOKEN": TOKEN})
    ch = TelegramChannel(config.channels["telegram"], None)
    assert ch._token == TOKEN and TOKEN not in repr(ch)
    monkeypatch.delenv("RAQIB_TELEGRAM_TOKEN")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram_token").write_text(TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert TelegramChannel(Section({}, "<test>"), None)._token == TOKEN
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(ConfigError, match="no bot token"):
        TelegramChannel(Section({}, "<test>"), None)


@pytest.mark.parametrize("values, message", [
    ({"access": "closed"}, "access"),
    ({"admins": ["bob"]}, "admins"),
    ({"lang": "fr"}, "lang"),
    ({"colour": "red"}, "unknown key"),
    ({"api_url": "ftp://x"}, "api_url"),
    ({"channels": ["desk"]}, "channels"),
])
def test_bad_config_values_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        TelegramChannel(Section(values, "<test>"), None)


def test_token_never_appears_in_logs(tg, store, caplog):
    caplog.set_level(logging.DEBUG)
    enqueue(store, "42", cluster=1, title="خبر")
    enqueue(store, "43", cluster=2, title="خبر")
    tg.fail("sendMessage", "429", chat_id=42, retry_after=3)
    tg.fail("sendMessage", "403", chat_id=43)

    async def run():
        ch = make_channel(tg, store, polling=True)
        ch.attach(_NoServices(store))
        await ch.start()
        try:
            await deliverer(store, ch).run_once()
            await asyncio.sleep(0.3)  # a few polls of getUpdates
        finally:
            await ch.close()

    asyncio.run(run())
    assert tg.calls_of("getUpdates")
    assert all(c.token == TOKEN for c in tg.calls)
    everything = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records and TOKEN not in everything
    assert TOKEN.split(":")[1] not in everything


class _NoServices:
    def __init__(self, store: Store) -> None:
        self.store = store

    def watchlists(self):
        return []

    async def reload(self):
        return []

    def status(self):
        return {}

    def personal_terms_changed(self, channel, destination):
        pass

    def wake_delivery(self):
        pass


# -- related coverage: another outlet's own words on an event already alerted -------------

FIRST = "بريطانيا تؤكد مسؤولية موسكو في تسميم الجاسوس وتعلن طرد 23 دبلوماسيا روسيا"
SECOND = 'بريطانيا تطرد 23 دبلوماسيا روسيا بسبب "تسميم سكريبال".. وموسكو: عمل عدائي'
SECOND_URL = "https://arabic.cnn.com/world/2018/03/14/uk-expels-23-russian-diplomats"


def reply_of(msg) -> dict | None:
    raw = msg.params.get("reply_parameters")
    return json.loads(raw) if isinstance(raw, str) else raw


def related_pair(store: Store, listed: str | None) -> None:
    """The event's first story (france24, cluster 7) and another outlet's own words on it
    (CNN, its own cluster 9, event 7), both firing the same watchlist for chat 42."""
    enqueue(store, "42", cluster=7, title=FIRST, source="france24", url="https://www.france24.com/ar/1",
            related=listed)
    enqueue(store, "42", cluster=9, event=7, title=SECOND, source="CNN", url=SECOND_URL, related=listed)


async def drain(store: Store, ch: TelegramChannel, rounds: int = 3) -> None:
    """Delivery rounds 10 virtual seconds apart (a throttled edit is due within 5 s); the
    chat's settings read as the daemon reads them."""
    d = Deliverer(store, {"telegram": ch}, settings=DeliverySettings(update_every=1.0), clock=ch.clock,
                  policy_for=lambda c, dest: policy_from_settings({**ch.destination_defaults(dest),
                                                                   **store.subscriptions.settings(c, dest)}))
    for _ in range(rounds):
        await d.run_once()
        ch.clock.now += 10


RELATED_CASES = [  # the watchlist's related:, channels.telegram.related, the chat's /related, what it gets
    ("reply", None, None, "reply"),
    (None, None, None, "reply"),  # the default
    ("edit", None, None, "edit"),
    ("alert", None, None, "alert"),
    ("reply", None, "alert", "alert"),  # the chat's choice wins over the watchlist's
    ("alert", None, "reply", "reply"),
    ("alert", None, "edit", "edit"),
    ("reply", "alert", None, "alert"),  # the config's, for every chat
    ("reply", "alert", "edit", "edit"),  # and the chat's over the config's
]


@pytest.mark.parametrize(("listed", "config", "chat", "seen"), RELATED_CASES)
def test_a_related_story_is_a_reply_an_edit_or_an_alert_as_the_watchlist_and_the_chat_say(
        tg, store, listed, config, chat, seen):
    if chat:
        store.subscriptions.update_settings("telegram", "42", related=chat)
    related_pair(store, listed)

    async def run():
        ch = make_channel(tg, store, **({"related": config} if config else {}))
        try:
            await drain(store, ch)
        finally:
            await ch.close()

    asyncio.run(run())
    messages = tg.sent(42)
    assert messages[0].text.startswith("📌") and "france24" in messages[0].text
    if seen == "edit":  # folded into the first message: nothing new in the chat, the first one edited
        [first] = messages
        assert first.edits and "تغطية ذات صلة" in first.text
        assert "CNN" in first.text and html.escape(SECOND, quote=False) in first.text
        assert f'<a href="{SECOND_URL}">' in first.text
        return
    first, second = messages
    assert "تغطية ذات صلة" not in first.text and not first.edits
    if seen == "reply":
        assert reply_of(second) == {"message_id": first.message_id, "allow_sending_without_reply": True}
        assert second.text.startswith("🔗 <b>تغطية ذات صلة</b> · CNN")
        assert f'<a href="{SECOND_URL}">{html.escape(SECOND, quote=False)}</a>' in second.text
    else:
        assert reply_of(second) is None
        assert second.text.startswith("📌") and "تغطية ذات صلة" not in second.text


def test_a_related_story_waits_for_its_events_first_alert_then_replies_to_it(tg, store):
    tg.fail("sendMessage", "500", chat_id=42, times=1)  # the first alert fails once and is retried later
    related_pair(store, "reply")

    async def run():
        ch = make_channel(tg, store)
        d = Deliverer(store, {"telegram": ch}, settings=DeliverySettings(backoff=30, backoff_max=30),
                      clock=ch.clock)
        try:
            await d.run_once()
            assert tg.sent(42) == []  # the related story did not jump ahead of the first alert
            rows = sql.outbox_rows(store, "cluster", "state", "attempts", "next_try")
            assert [(r["cluster"], r["state"]) for r in rows] == [(7, "pending"), (9, "pending")]
            assert rows[1]["attempts"] == 0 and rows[1]["next_try"] > rows[0]["next_try"]
            for _ in range(4):
                ch.clock.now += 35
                await d.run_once()
        finally:
            await ch.close()

    asyncio.run(run())
    first, second = tg.sent(42)
    assert FIRST in first.text and reply_of(second)["message_id"] == first.message_id


@pytest.mark.parametrize("fate", ["dead", "pruned"])
def test_a_related_story_whose_first_alert_died_or_was_pruned_is_a_normal_alert(tg, store, fate):
    if fate == "dead":
        tg.fail("sendMessage", "400", chat_id=42, times=1)  # refused for good
        related_pair(store, "reply")
    else:
        enqueue(store, "42", cluster=7, title=FIRST, source="france24")

    async def run():
        ch = make_channel(tg, store)
        try:
            await drain(store, ch, rounds=1)
            if fate == "pruned":  # the first alert's row is gone with the outbox's retention
                assert store.prune(stories_before=0, outbox_before=ch.clock.now + 1)["outbox"] == 1
                enqueue(store, "42", cluster=9, event=7, title=SECOND, source="CNN", url=SECOND_URL)
                await drain(store, ch, rounds=1)
        finally:
            await ch.close()

    asyncio.run(run())
    *_, last = tg.sent(42)
    assert SECOND in html.unescape(last.text) and reply_of(last) is None
    assert last.text.startswith("📌")
    assert sql.outbox_value(store, "state", cluster=9) == "sent"


def test_a_digest_lists_an_events_other_outlets_under_its_first_story():
    def alert(i: int, cluster: int, event: int, title: str, source: str) -> Alert:
        return Alert(id=i, channel="telegram", destination="42", kind="story", watchlist="russia",
                     watchlist_title="روسيا", story_id=cluster, cluster=cluster, title=title,
                     url=f"https://news.example/{cluster}", summary="", source=source, published=None, event=event)

    text = render_digest([alert(1, 7, 7, FIRST, "france24"), alert(2, 8, 8, "الكرملين: لا دور لروسيا", "skynews"),
                          alert(3, 9, 7, SECOND, "CNN")])
    lines = [line for line in text.splitlines() if "news.example" in line]
    assert len(lines) == 3
    assert lines[0].startswith("• ") and "news.example/7" in lines[0] and "france24" in lines[0]
    assert lines[1].startswith("   ↳ ") and "news.example/9" in lines[1] and "CNN" in lines[1]
    assert lines[2].startswith("• ") and "news.example/8" in lines[2]
    assert "(3)" in text  # three stories under the watchlist


def test_a_reply_edited_for_copies_of_its_text_stays_related_coverage(tg, store):
    related_pair(store, "reply")

    async def run():
        ch = make_channel(tg, store)
        try:
            await drain(store, ch, rounds=1)
            with store.transaction() as conn:  # CNN's text, then a copy of it by another outlet
                for sid, feed in ((9, "CNN"), (10, "alhurra")):
                    store.stories.insert(conn, {"id": sid, "feed": feed, "guid": str(sid), "url": SECOND_URL,
                                              "title": SECOND, "fetched": ch.clock.now, "cluster": 9, "event": 7})
                store.outbox.queue_updates(conn, 9, 10, ch.clock.now, channels={"telegram"}, throttle=1.0)
            await drain(store, ch, rounds=2)
        finally:
            await ch.close()

    asyncio.run(run())
    first, reply = tg.sent(42)
    assert reply.edits and reply.text.startswith("🔗 <b>تغطية ذات صلة</b> · CNN")
    assert "نقلته أيضاً: alhurra" in reply.text and not first.edits


def test_stories_folded_into_a_deleted_first_message_come_as_alerts_of_their_own(tg, store):
    tg.fail("editMessageText", "400", chat_id=42, description="Bad Request: message to edit not found")
    related_pair(store, "edit")

    async def run():
        ch = make_channel(tg, store)
        try:
            await drain(store, ch, rounds=4)
        finally:
            await ch.close()

    asyncio.run(run())
    first, second = tg.sent(42)  # the edit failed for good: CNN's story is not lost
    assert not first.edits and reply_of(second) is None
    assert second.text.startswith("📌") and html.escape(SECOND, quote=False) in second.text
    assert sql.outbox_rows(store, "kind", "state", "related") == [
        {"kind": "story", "state": "sent", "related": None}, {"kind": "story", "state": "sent", "related": "own"},
        {"kind": "update", "state": "dead", "related": None}]
