"""Telegram end to end: a person subscribes through the bot, a story appears in a feed
served on 127.0.0.1, the real daemon polls, matches and delivers through the real
python-telegram-bot client to the fake Bot API — once, escaped, and later edited when
another outlet carries the same story."""
from __future__ import annotations

import asyncio
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from feedserver import feed_server  # noqa: F401  (fixture)

from monitor.config import load_config
from raqib.daemon import Daemon
from tests.fake_telegram import FakeTelegram

TOKEN = "123456789:AAE2eTestTokenForRaqib_abcdefghijkl"
WATCHLISTS = Path(__file__).parent / "data" / "e2e" / "watchlists"
TITLE = 'بوتين: "لن نسمح" <بتهديد> روسيا & أوكرانيا'
LEAD = "قال الرئيس الروسي فلاديمير بوتين الخميس إن بلاده مستعدة للتفاوض مع كييف على أساس محادثات إسطنبول."


def rss(items: list[tuple[str, str, str]]) -> str:
    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
                   f"<pubDate>Thu, 05 Sep 2024 14:30:00 +0000</pubDate>"
                   f"<description>{escape(d)}</description></item>" for t, u, d in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


async def until(predicate, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never met")


@pytest.fixture
def tg():
    with FakeTelegram(long_poll=0.2) as fake:
        yield fake


async def test_subscribe_then_one_escaped_alert_then_an_also_reported_by_edit(tmp_path, tg, feed_server,
                                                                              monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    agency = feed_server.route("/agency.xml", text=rss([]), etag='"0"')
    paper = feed_server.route("/paper.xml", text=rss([]), etag='"0"')
    config = tmp_path / "raqib.yaml"
    config.write_text(
        f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
        f"feeds:\n  - {{name: agency, url: \"{feed_server.url('/agency.xml')}\"}}\n"
        f"  - {{name: paper, url: \"{feed_server.url('/paper.xml')}\"}}\n"
        "poll: {interval: 1s, min_interval: 1s, adaptive: false}\n"
        "delivery: {update_every: 1s}\n"
        f"channels:\n  telegram: {{api_url: \"{tg.api_url}\", admins: [500], poll_timeout: 1}}\n",
        encoding="utf-8")
    daemon = Daemon(load_config(config))
    run = asyncio.create_task(daemon.run(seconds=60))
    try:
        tg.push_command(42, "/subscribe russia-ukraine")
        await until(lambda: tg.texts(42))
        assert "روسيا وأوكرانيا" in tg.texts(42)[0]
        tg.push_command(77, "/watch كييف")  # another person's own term, same Arabic rules
        await until(lambda: tg.texts(77))

        agency.body = rss([(TITLE, "https://agency.example/1", LEAD)]).encode()
        agency.etag = '"1"'
        await until(lambda: len(tg.texts(42)) >= 2)
        await asyncio.sleep(2.5)  # more polls: nothing is sent twice
        alerts = [m for m in tg.sent(42) if "agency.example/1" in m.text]
        assert len(alerts) == 1
        text = alerts[0].text
        assert "&lt;بتهديد&gt;" in text and "&amp;" in text and "<بتهديد>" not in text
        assert "<b>بوتين</b>" in text
        assert "agency" in text

        await until(lambda: any("agency.example/1" in m.text for m in tg.sent(77)))
        assert len([m for m in tg.sent(77) if "agency.example/1" in m.text]) == 1

        paper.body = rss([("عاجل | " + TITLE, "https://paper.example/77?utm_source=tg", LEAD)]).encode()
        paper.etag = '"1"'
        await until(lambda: any("paper" in c.params.get("text", "") for c in tg.calls_of("editMessageText")))
        assert len([m for m in tg.sent(42) if "agency.example/1" in m.text or "paper.example" in m.text]) == 1
    finally:
        daemon.stop()
        await asyncio.wait_for(run, 30)
    token_seen = [c for c in tg.calls if TOKEN in str(c.params)]
    assert token_seen == []


async def test_a_term_that_can_never_match_is_refused_and_every_chat_keeps_watching(tmp_path, tg, feed_server,
                                                                                    monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    agency = feed_server.route("/agency.xml", text=rss([]), etag='"0"')
    config = tmp_path / "raqib.yaml"
    config.write_text(
        f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
        f"feeds:\n  - {{name: agency, url: \"{feed_server.url('/agency.xml')}\"}}\n"
        "poll: {interval: 1s, min_interval: 1s, adaptive: false}\n"
        f"channels:\n  telegram: {{api_url: \"{tg.api_url}\", admins: [500], poll_timeout: 1}}\n",
        encoding="utf-8")
    daemon = Daemon(load_config(config))
    run = asyncio.create_task(daemon.run(seconds=60))
    try:
        # tatweel alone, punctuation alone, an emoji: nothing is left to match once normalised
        for n, term in enumerate(("ـــ", "!!!", "😀")):
            tg.push_command(77, f"/watch {term}")
            await until(lambda: len(tg.texts(77)) > n)
            assert tg.texts(77)[n].startswith(f"لا أستطيع متابعة «{term}»")
        assert daemon.store.personal_terms() == []
        tg.push_command(77, "/lang en")
        tg.push_command(77, "/watch ـًـ")
        await until(lambda: len(tg.texts(77)) >= 5)
        assert tg.texts(77)[4].startswith("“ـًـ” cannot be watched: it has no letters or digits")

        tg.push_command(78, "/watch كييف")  # the next chat's /watch works and alerts it
        await until(lambda: tg.texts(78))
        assert "كييف" in tg.texts(78)[0] and "أضفت" in tg.texts(78)[0]
        agency.body = rss([("مباحثات في كييف حول تبادل الأسرى", "https://agency.example/9", LEAD)]).encode()
        agency.etag = '"1"'
        await until(lambda: any("agency.example/9" in m.text for m in tg.sent(78)))
        assert not any("agency.example/9" in m.text for m in tg.sent(77))
    finally:
        daemon.stop()
        await asyncio.wait_for(run, 30)
