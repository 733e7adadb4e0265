"""The Telegram bot end to end: updates served by the fake Bot API through getUpdates,
handled by the real python-telegram-bot Application inside this event loop, answers and
state checked in the fake server's records and the real SQLite store."""
from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager

import pytest

from alerts.outbox import Deliverer
from alerts.policy import policy_from_settings
from alerts.telegram import TelegramChannel
from monitor.config import Section
from monitor.models import Match, alert_payload
from monitor.store import FeedUpdate, Store
from monitor.watchlists import Term, Watchlist
from tests.support import sql
from tests.support.fake_telegram import FakeTelegram

TOKEN = "987654321:AAFbotTestsTokenXYZ_abcdefghijklmnop"
ADMIN = 500


class Services:
    """What the daemon offers the bot (alerts.channel.Services), kept small and real."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lists = [Watchlist(name="russia", title="روسيا وأوكرانيا", terms=(Term("بوتين"),)),
                      Watchlist(name="gaza", title="غزة", terms=(Term("غزة"),))]
        self.reloads = 0
        self.terms_changed = 0
        self.wakes = 0

    def watchlists(self):
        return list(self.lists)

    async def reload(self):
        self.reloads += 1
        return []

    def status(self):
        return {"feeds": 12, "feeds_ok": 11, "feeds_failing": ["broken-feed"], "last_poll": time.time(),
                "stories_day": 345, "alerts_day": 67, "outbox_pending": 2}

    def personal_terms_changed(self, channel, destination):
        self.terms_changed += 1

    def wake_delivery(self):
        self.wakes += 1


@pytest.fixture(autouse=True)
def _token_env(monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)


@pytest.fixture
def tg():
    with FakeTelegram(long_poll=0.2) as fake:
        yield fake


@pytest.fixture
def store():
    s = Store(memory=True)
    yield s
    s.close()


@asynccontextmanager
async def bot(tg: FakeTelegram, store: Store, **values):
    # replies a little faster than Telegram's pace (tests of pacing pass rate={}: the defaults)
    values = {"api_url": tg.api_url, "admins": [ADMIN], "poll_timeout": 1, "rate": {"chat_interval": 0.2}, **values}
    channel = TelegramChannel(Section(values, "<test>"), store)
    services = Services(store)
    channel.attach(services)
    await channel.start()
    try:
        yield channel, services
    finally:
        await channel.close()


async def say(tg: FakeTelegram, chat_id: int, text: str, *, replies: int = 1, **kw) -> list[str]:
    """A user sends `text`; wait for the bot's replies to that chat (or to `expect_chat`)."""
    expect = kw.pop("expect_chat", chat_id)
    before = len(tg.sent(expect))
    tg.push_command(chat_id, text, **kw)
    return await replies_to(tg, expect, before + replies)


async def replies_to(tg: FakeTelegram, chat_id: int, count: int) -> list[str]:
    for _ in range(500):
        texts = tg.texts(chat_id)
        if len(texts) >= count:
            await asyncio.sleep(0.05)  # nothing more than expected should follow
            return tg.texts(chat_id)[count - 1:]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no reply to chat {chat_id}: {tg.texts(chat_id)}")


async def until(predicate) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


async def test_subscribe_by_command_then_the_alert_arrives_once_escaped(tg, store):
    async with bot(tg, store) as (channel, services):
        [reply] = await say(tg, 42, "/subscribe russia")
        assert "تتابع الآن" in reply and "روسيا وأوكرانيا" in reply
        assert store.subscriptions.of("telegram", "42") == ["russia"]

        title = 'بوتين: <script>x</script> & "كورسك"'
        payload = alert_payload(title=title, url="https://news.example/1", summary="", source="aljazeera",
                                published=None, watchlist_title="روسيا وأوكرانيا",
                                matches=[Match("russia", "بوتين", "title", 0, 5)])
        with store.transaction() as conn:
            for ch, dest in store.subscriptions.subscribers("russia"):
                store.outbox.enqueue(conn, channel=ch, destination=dest, kind="story", watchlist="russia",
                              cluster=1, story_id=1, payload=payload, now=time.time())
        deliverer = Deliverer(store, {"telegram": channel})
        assert await deliverer.run_once() == 1
        assert await deliverer.run_once() == 0
    alerts = [t for t in tg.texts(42) if "news.example" in t]
    assert len(alerts) == 1
    assert "<b>بوتين</b>" in alerts[0]
    assert "&lt;script&gt;x&lt;/script&gt; &amp; \"كورسك\"" in alerts[0]


async def test_replies_in_arabic_then_english_after_lang_en(tg, store):
    async with bot(tg, store):
        [ar] = await say(tg, 42, "/help")
        assert "الأوامر" in ar and "/subscribe" in ar
        [done] = await say(tg, 42, "/lang en")
        assert done == "Replies will be in English."
        [en] = await say(tg, 42, "/help")
        assert en.startswith("Commands:")
        [unknown] = await say(tg, 42, "/subscribe nosuchlist")
        assert unknown == "No watchlist called “nosuchlist”. Send /list to see them."
    assert store.subscriptions.settings("telegram", "42")["lang"] == "en"


async def test_in_groups_only_administrators_change_subscriptions(tg, store):
    tg.chat_admins["-100200"] = {7}
    async with bot(tg, store):
        [refused] = await say(tg, -100200, "/subscribe gaza", user_id=8)
        assert "مشرفو المجموعة" in refused
        assert store.subscriptions.of("telegram", "-100200") == []
        [ok] = await say(tg, -100200, "/subscribe gaza", user_id=7)
        assert "غزة" in ok
        # an anonymous administrator posts as the group itself
        await say(tg, -100200, "/subscribe russia", user_id=1087968824,
                  sender_chat={"id": -100200, "type": "supergroup", "title": "Group"})
    assert store.subscriptions.of("telegram", "-100200") == ["gaza", "russia"]
    assert {c.params["user_id"] for c in tg.calls_of("getChatMember")} == {"8", "7"}


async def test_list_shows_what_the_chat_follows_and_buttons_toggle(tg, store):
    store.subscriptions.subscribe("telegram", "42", "gaza")
    async with bot(tg, store):
        [listing] = await say(tg, 42, "/list")
        assert "✓ <b>غزة</b>" in listing and "▫️ <b>روسيا وأوكرانيا</b>" in listing
        markup = tg.sent(42)[-1].params["reply_markup"]
        assert '"callback_data": "sub:russia"' in markup and '"callback_data": "unsub:gaza"' in markup
        message_id = tg.sent(42)[-1].message_id
        tg.push_callback(42, "sub:russia", message_id=message_id)
        await until(lambda: tg.calls_of("answerCallbackQuery"))
        await until(lambda: tg.sent(42)[-1].edits)
    assert store.subscriptions.of("telegram", "42") == ["gaza", "russia"]
    assert "✓ <b>روسيا وأوكرانيا</b>" in tg.sent(42)[-1].text


async def test_mute_quiet_and_their_undoing_are_destination_settings(tg, store):
    async with bot(tg, store) as (_, services):
        [muted] = await say(tg, 42, "/mute 2h")
        assert "🔕" in muted
        until_ = store.subscriptions.settings("telegram", "42")["muted_until"]
        assert 7100 < until_ - time.time() <= 7200
        [bad] = await say(tg, 42, "/mute soon")
        assert "مدة غير مفهومة" in bad
        await say(tg, 42, "/unmute")
        assert "muted_until" not in store.subscriptions.settings("telegram", "42")
        assert services.wakes == 1  # held alerts are released at once
        [quiet] = await say(tg, 42, "/quiet 22:00-07:00")
        assert "22:00-07:00" in quiet
        assert store.subscriptions.settings("telegram", "42")["quiet"] == "22:00-07:00"
        [bad] = await say(tg, 42, "/quiet late")
        assert "/quiet 22:00-07:00" in bad
        await say(tg, 42, "/quiet off")
        assert store.subscriptions.settings("telegram", "42")["quiet"] == "off"


async def test_related_sets_how_other_outlets_on_an_alerted_event_come_to_this_chat(tg, store):
    async with bot(tg, store) as _:
        [now] = await say(tg, 42, "/related")
        assert "تتبع إعداد كل قائمة" in now
        [reply] = await say(tg, 42, "/related edit")
        assert "تُضاف إلى التنبيه الأول" in reply
        assert store.subscriptions.settings("telegram", "42")["related"] == "edit"
        [now] = await say(tg, 42, "/related")
        assert "تُضاف إلى التنبيه الأول" in now
        [bad] = await say(tg, 42, "/related sometimes")
        assert "/related reply" in bad and store.subscriptions.settings("telegram", "42")["related"] == "edit"
        await say(tg, 42, "/related default")
        assert "related" not in store.subscriptions.settings("telegram", "42")


async def test_personal_terms_are_stored_and_the_matcher_is_told(tg, store):
    async with bot(tg, store) as (_, services):
        [added] = await say(tg, 42, "/watch بافيل دوروف")
        assert "بافيل دوروف" in added
        assert services.terms_changed == 1
        [listed] = await say(tg, 42, "/watch")
        assert "بافيل دوروف" in listed
        await say(tg, 42, "/unwatch بافيل دوروف")
        assert services.terms_changed == 2
    assert store.subscriptions.personal_terms() == []


async def test_status_reports_feeds_and_alerts(tg, store):
    async with bot(tg, store):
        [status] = await say(tg, 42, "/status")
    assert "11 من 12" in status and "broken-feed" in status and "67" in status


async def test_allow_list_keeps_strangers_out(tg, store):
    async with bot(tg, store, access="allow", allow=[42]):
        [ok] = await say(tg, 42, "/subscribe gaza")
        assert "غزة" in ok
        [no] = await say(tg, 43, "/subscribe gaza")
        assert "43" in no and "خاص" in no
    assert store.subscriptions.of("telegram", "43") == []


async def test_approve_mode_asks_the_admins_who_approve_with_a_button(tg, store):
    async with bot(tg, store, access="approve"):
        before = len(tg.sent(ADMIN))
        [asked] = await say(tg, 43, "/subscribe gaza")
        assert "المشرفين" in asked
        await replies_to(tg, ADMIN, before + 1)
        request = tg.sent(ADMIN)[-1]
        assert "43" in request.text and '"callback_data": "approve:43"' in request.params["reply_markup"]
        assert store.subscriptions.of("telegram", "43") == []
        [still] = await say(tg, 43, "/subscribe gaza")
        assert "لم يُبتّ" in still
        before = len(tg.sent(43))
        tg.push_callback(ADMIN, "approve:43")
        [welcome] = await replies_to(tg, 43, before + 1)
        assert "قُبل" in welcome
        [ok] = await say(tg, 43, "/subscribe gaza")
        assert "غزة" in ok
        # /approve works too, and a non-admin cannot use it
        [refused] = await say(tg, 44, "/approve 44")
        assert "للمشرفين" in refused
        await say(tg, ADMIN, "/approve 45", replies=1)
    assert store.subscriptions.of("telegram", "43") == ["gaza"]
    assert store.subscriptions.settings("telegram", "45")["access"] == "approved"


async def test_admin_commands(tg, store):
    store.feeds.add("aljazeera", "https://aljazeera.example/rss")
    store.feeds.update("aljazeera", FeedUpdate(title="الجزيرة نت"))
    async with bot(tg, store) as (_, services):
        [refused] = await say(tg, 42, "/reload")
        assert "للمشرفين" in refused and services.reloads == 0
        [done] = await say(tg, ADMIN, "/reload")
        assert done == "✅ أعدت قراءة الإعدادات والقوائم (قائمتان)." and services.reloads == 1
        [feeds] = await say(tg, ADMIN, "/feeds")
        assert "<code>aljazeera</code> الجزيرة نت" in feeds
        [status] = await say(tg, 42, "/status")
        assert status.endswith("\n\nهذه المحادثة: لا تتابع أي قائمة")
        await say(tg, 42, "/subscribe russia")
        [status] = await say(tg, 42, "/status")
        assert status.endswith("\n\nهذه المحادثة: تتابع قائمة واحدة")
        await say(tg, 42, "/subscribe gaza")
        [status] = await say(tg, 42, "/status")
        assert status.endswith("\n\nهذه المحادثة: تتابع قائمتين")


async def test_commands_posted_in_channels_are_ignored(tg, store):
    async with bot(tg, store):
        tg.push_command(-100300, "/subscribe gaza", chat_type="channel")
        await say(tg, 42, "/help")  # handled after the channel post: it was seen and ignored
    assert store.subscriptions.of("telegram", "-100300") == []
    assert tg.sent(-100300) == []


# -- floods, pacing and junk -------------------------------------------------------------------


async def settled(tg: FakeTelegram, chat_id: int, quiet: float = 0.6) -> list[str]:
    """The chat's replies once no new one has come for `quiet` seconds."""
    count, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        if len(tg.texts(chat_id)) != count:
            count, since = len(tg.texts(chat_id)), time.monotonic()
        await asyncio.sleep(0.05)
    return tg.texts(chat_id)


async def test_a_group_member_sending_100_commands_costs_ten_and_gets_one_notice(tg, store):
    fast = {"chat_interval": 0.01, "group_per_minute": 1000}  # pacing is not what this test counts
    async with bot(tg, store, rate=fast):
        for _ in range(100):
            tg.push_command(-100200, "/subscribe gaza", user_id=8)  # not an admin of the group
        [help_] = await say(tg, 42, "/help")  # another chat is answered meanwhile
        assert "/subscribe" in help_
        replies = await settled(tg, -100200)
    # ten commands did work, ninety did none (one more may come back if the machine stalls
    # for the 3 s one more takes to be allowed)
    work = len(tg.calls_of("getChatMember"))
    assert 10 <= work <= 11
    assert sum("مشرفو المجموعة" in r for r in replies) == work
    assert sum("⏳" in r for r in replies) == 1 and len(replies) == work + 1
    assert store.subscriptions.of("telegram", "-100200") == []


async def test_a_chat_waiting_for_its_reply_slots_holds_no_one_else_up_nor_the_shutdown(tg, store):
    async with bot(tg, store, rate={}):  # Telegram's pace: 20 a minute in a group
        for _ in range(30):
            tg.push_command(-100200, "/subscribe gaza", user_id=8)
        await until(lambda: tg.texts(-100200))
        started = time.monotonic()
        [help_] = await say(tg, 42, "/help")
        assert time.monotonic() - started < 5.0
        assert len(tg.texts(-100200)) < 5  # the group's replies are still waiting for their slots
        closing = time.monotonic()
    assert time.monotonic() - closing < 10.0  # the replies still waiting (half a minute of them) are dropped
    assert len(tg.calls_of("getChatMember")) <= 10
    assert len([c for c in tg.calls_of("sendMessage") if c.params["chat_id"] == "-100200"]) <= 11


async def test_replies_are_paced_like_alerts_one_a_second_per_chat(tg, store):
    async with bot(tg, store, rate={}):
        for _ in range(3):
            tg.push_command(42, "/help")
        await replies_to(tg, 42, 3)
    times = [c.at for c in tg.calls_of("sendMessage") if c.params["chat_id"] == "42"]
    assert len(times) == 3
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))


async def test_a_flood_wait_met_by_a_reply_holds_alerts_to_that_chat_too(tg, store):
    tg.fail("sendMessage", "429", chat_id=42, retry_after=30)
    async with bot(tg, store) as (channel, _):
        tg.push_command(42, "/help")
        await until(lambda: tg.calls_of("sendMessage"))
        payload = alert_payload(title="بوتين في كورسك", url="https://news.example/1", summary="",
                                source="agency", published=None, watchlist_title="روسيا", matches=[])
        with store.transaction() as conn:
            store.outbox.enqueue(conn, channel="telegram", destination="42", kind="story", watchlist="russia",
                          cluster=1, story_id=1, payload=payload, now=time.time())
        assert await Deliverer(store, {"telegram": channel}).run_once() == 0
        row = sql.outbox_rows(store, "state", "next_try", "last_error")[0]
        assert row["state"] == "pending" and row["next_try"] >= time.time() + 20
        assert "wait" in row["last_error"]
        tg.push_command(42, "/status")  # dropped at once: the chat is still under its flood wait
        [other] = await say(tg, 43, "/help")
        assert "/subscribe" in other
    assert len([c for c in tg.calls_of("sendMessage") if c.params["chat_id"] == "42"]) == 1
    assert tg.sent(42) == []


async def test_junk_from_chat_members_is_answered_briefly_or_ignored(tg, store):
    async with bot(tg, store):
        [long_name] = await say(tg, 42, "/subscribe " + "x" * 5000)
        assert "Send /list" in long_name or "/list" in long_name
        assert len(long_name) < 300 and "…" in long_name
        [spoof] = await say(tg, 43, "/unwatch \u202e\u2066" + "ك" * 3000 + "\x00\x1b")
        assert "\u202e" not in spoof and "\u2066" not in spoof and "\x1b" not in spoof and len(spoof) < 300
        [bidi] = await say(tg, 44, "/subscribe \u202egaza\u200f")
        assert "غزة" in bidi and "\u202e" not in bidi
        tg.push_command(45, "/nosuchcommand " + "y" * 3000)
        tg.push_command(45, "/" + "z" * 200)
        [help_] = await say(tg, 45, "/help")  # the unknown commands were ignored, this one is answered
        assert "/subscribe" in help_
        [bad] = await say(tg, ADMIN, "/approve 12; DROP TABLE feeds")
        assert "/approve 123456" in bad
        for data in ("approve:../../x", "zzz:" + "q" * 50, "", "sub:" + "\u202e" * 20, "unsub"):
            tg.push_callback(ADMIN, data)
        await until(lambda: len(tg.calls_of("answerCallbackQuery")) == 5)
        [after] = await say(tg, ADMIN, "/help")
        assert "/subscribe" in after
    errors = [t for chat in (42, 43, 44, 45, ADMIN) for t in tg.texts(chat) if "حدث خطأ" in t]
    assert errors == []
    assert [k for k in ("../../x", "") if store.subscriptions.settings("telegram", k)] == []
    assert store.subscriptions.of("telegram", "44") == ["gaza"]


async def test_tz_sets_the_chats_zone_for_alerts_and_replies_and_subscribe_takes_the_title(tg, store):
    async with bot(tg, store, tz="Europe/London") as (channel, _):
        [now] = await say(tg, 42, "/tz")
        assert now.startswith("🕰 أوقات هذه المحادثة بتوقيت Europe/London (الآن ")
        [bad] = await say(tg, 42, "/tz Mars/Olympus")
        assert bad == "منطقة زمنية غير معروفة: «Mars/Olympus». اكتبها هكذا: /tz Asia/Riyadh أو /tz UTC"
        [ok] = await say(tg, 42, "/tz الرياض")
        assert ok.startswith("🕰 صارت الأوقات هنا بتوقيت Asia/Riyadh (الآن ")
        assert store.subscriptions.settings("telegram", "42")["tz"] == "Asia/Riyadh"
        # the title, with hamza and taa marbuta written loosely, finds the watchlist
        [sub] = await say(tg, 42, "/subscribe روسيا واوكرانيا")
        assert sub == "✓ تتابع الآن «روسيا وأوكرانيا»."
        [sub] = await say(tg, 43, "/subscribe غزه")
        assert sub == "✓ تتابع الآن «غزة»."
        [unsub] = await say(tg, 43, "/unsubscribe غزة")
        assert unsub == "أوقفت متابعة «غزة»."
        payload = alert_payload(title="بوتين يصل", url="https://news.example/1", summary="", source="aljazeera",
                                published="2024-09-05T14:30:00+00:00", watchlist_title="روسيا وأوكرانيا",
                                matches=[Match("russia", "بوتين", "title", 0, 5)])
        with store.transaction() as conn:
            store.outbox.enqueue(conn, channel="telegram", destination="42", kind="story", watchlist="russia",
                          cluster=1, story_id=1, payload=payload, now=time.time())
        deliverer = Deliverer(store, {"telegram": channel},
                              policy_for=lambda c, d: policy_from_settings(store.subscriptions.settings(c, d)))
        assert await deliverer.run_once() == 1
    [alert] = [t for t in tg.texts(42) if "news.example" in t]
    assert "aljazeera · 2024-09-05 17:30 Asia/Riyadh" in alert


async def test_alert_buttons_mute_the_event_for_a_day_and_not_relevant_reaches_the_admins(tg, store):
    async with bot(tg, store) as (channel, services):
        services.lists[0] = Watchlist(name="russia", title="روسيا وأوكرانيا", terms=(Term("بوتين"),),
                                      exclude=(Term("كرة القدم"),))

        def enqueue(story_id: int, event: int, title: str) -> None:
            payload = alert_payload(title=title, url=f"https://news.example/{story_id}", summary="", source="agency",
                                    published=None, watchlist_title="روسيا وأوكرانيا",
                                    matches=[Match("russia", "بوتين", "title", title.index("بوتين"),
                                                   title.index("بوتين") + 5)])
            with store.transaction() as conn:
                store.outbox.enqueue(conn, channel="telegram", destination="42", kind="story", watchlist="russia",
                              cluster=story_id, story_id=story_id, payload=payload, now=time.time(), event=event)

        deliverer = Deliverer(store, {"telegram": channel})
        enqueue(1, 1, "مباراة كرة الطائرة بين فريقي بوتين والأصدقاء تنتهي بالتعادل")
        assert await deliverer.run_once() == 1
        [alert] = tg.sent(42)
        [row] = json.loads(alert.params["reply_markup"])["inline_keyboard"]
        alert_id = sql.outbox_value(store, "id", story_id=1)
        assert row == [{"callback_data": f"mute:{alert_id}", "text": "🔕 كتم هذا الحدث"},
                       {"callback_data": f"nr:{alert_id}", "text": "ليس ذا صلة"}]

        tg.push_callback(43, f"nr:{alert_id}")  # another chat's button (a forwarded alert): nothing
        await until(lambda: tg.calls_of("answerCallbackQuery"))
        assert store.feedback.counts() == {}
        tg.push_callback(42, f"nr:{alert_id}", message_id=alert.message_id)
        [note] = await replies_to(tg, ADMIN, 1)
        assert note == ("👎 محادثة 42 ترى أن هذا الخبر ليس ذا صلة بـ«روسيا وأوكرانيا» (<code>russia</code>):\n"
                        "مباراة كرة الطائرة بين فريقي بوتين والأصدقاء تنتهي بالتعادل\n\n"
                        "إن تكرر مثله فأضف إلى ملف القائمة:\n<code>exclude: [مباراة, الطائرة, فريقي]</code>")
        assert store.feedback.counts() == {"russia": 1}
        tg.push_callback(42, f"nr:{alert_id}", message_id=alert.message_id)  # twice counts once
        await until(lambda: len(tg.calls_of("answerCallbackQuery")) == 3)
        assert store.feedback.counts() == {"russia": 1} and len(tg.texts(ADMIN)) == 1

        tg.push_callback(42, f"mute:{alert_id}", message_id=alert.message_id)
        await until(lambda: len(tg.calls_of("answerCallbackQuery")) == 4)
        answer = tg.calls_of("answerCallbackQuery")[-1].params["text"]
        assert answer.startswith("🔕 لن يصلك شيء عن هذا الحدث حتى ")
        enqueue(2, 1, "بوتين: الحدث نفسه من مصدر آخر")  # the muted event: not sent
        enqueue(3, 3, "بوتين يصل إلى أنقرة")  # another event: sent
        assert await deliverer.run_once() == 1
        assert [m.text for m in tg.sent(42)][1:] and "أنقرة" in tg.sent(42)[-1].text
        assert len(tg.sent(42)) == 2
        assert sql.outbox_value(store, "state", story_id=2) == "sent"
