"""Related coverage end to end: the real daemon polls feeds served on 127.0.0.1, its
pipeline groups stories into events with the real grouping rule, and the real
python-telegram-bot client delivers to the fake Bot API.

The stories are real (three outlets' RSS items of 14 March 2018 from the ANT corpus, in
the labelled set tests/data/events/labelled.jsonl): the Kremlin denies a part in the Skripal
poisoning (Sky News Arabia); hours later Britain expels 23 Russian diplomats, told by
France 24 and then by CNN Arabic, each in its own words. A desk watching Russia gets one
alert for the denial, one for the expulsion, and CNN's story as a reply threaded to the
expulsion's alert — grouped, nothing suppressed — even when the daemon restarted between
France 24's story and CNN's (the event index is rebuilt from the stored stories).
"""
from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from raqib.daemon import Daemon
from tests.support import sql
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import feed_server  # noqa: F401  (fixture)
from tests.support.inprocess import close_daemons, make_daemon, poll

TOKEN = "123456789:AAE2eTestTokenForRaqib_abcdefghijkl"
LABELLED = Path(__file__).parents[1] / "data" / "events" / "labelled.jsonl"
IDS = {"SK-internationalNews-344-20180314", "FR-internationalNews-427-20180314", "CN-internationalNews-122-20180314"}
STORIES = {s["source"]: s for s in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())
           if s["id"] in IDS}
WATCHLIST = """name: skripal
title: قضية سكريبال
terms: [روسيا, موسكو, الكرملين, سكريبال]
notify: {telegram: ["42"]}
"""


OUTLETS = {"skynews": "سكاي نيوز عربية", "france24": "فرانس 24", "CNN": "CNN بالعربية"}  # the feeds' <title>


def rss(story: dict, outlet: str) -> str:
    published = format_datetime(datetime.fromisoformat(story["published"]))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(outlet)}</title>'
            f'<item><title>{escape(story["title"])}</title><link>{escape(story["url"])}</link>'
            f'<guid>{escape(story["url"])}</guid><pubDate>{published}</pubDate>'
            f'<description>{escape(story["summary"])}</description></item></channel></rss>')


def reply_of(msg) -> dict | None:
    raw = msg.params.get("reply_parameters")
    return json.loads(raw) if isinstance(raw, str) else raw


async def stop(made: list[Daemon]) -> None:
    for daemon in made:
        for channel in daemon.channels.values():
            await channel.close()
    await close_daemons(made)


@pytest.fixture
async def daemons():
    made: list[Daemon] = []
    yield made
    await stop(made)


async def test_two_outlets_on_one_event_are_one_alert_and_a_reply_and_a_same_topic_event_its_own(
        tmp_path, feed_server, daemons, monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "skripal.yaml").write_text(WATCHLIST, encoding="utf-8")
    feeds = {}
    for source in ("skynews", "france24", "CNN"):
        feed_server.route(f"/{source}.xml", text=rss(STORIES[source], OUTLETS[source]))
        feeds[source.lower()] = feed_server.url(f"/{source}.xml")
    with FakeTelegram() as tg:
        extra = f'  telegram: {{api_url: "{tg.api_url}", polling: false, rate: {{chat_interval: 0.05}}}}'
        daemon, console, _ = make_daemon(daemons, tmp_path, feeds, extra=extra, watchlists=folder)
        for name in ("skynews", "france24"):  # in the order the outlets published
            await poll(daemon, name)
        printed = console.getvalue()
        await stop(daemons)  # a restart: the event index is rebuilt from the stored stories
        daemon, console, _ = make_daemon(daemons, tmp_path, feeds, extra=extra, watchlists=folder)
        await poll(daemon, "cnn")

        denial, expulsion, reply = tg.sent(42)
    # each outlet named as people know it (the feed's own <title>), never by its id
    assert "الكرملين" in denial.text and "<i>سكاي نيوز عربية · 2018-03-14 11:07 UTC</i>" in denial.text
    assert "23 دبلوماسيا" in expulsion.text and "فرانس 24" in expulsion.text
    assert reply_of(denial) is None and reply_of(expulsion) is None  # a same-topic event is its own alert
    assert reply_of(reply) == {"message_id": expulsion.message_id, "allow_sending_without_reply": True}
    assert reply.text.startswith("🔗 <b>تغطية ذات صلة</b> · CNN بالعربية")
    assert f'<a href="{STORIES["CNN"]["url"]}">' in reply.text and "تطرد 23 دبلوماسيا" in reply.text

    stories = sql.story_rows(daemon.store, "id", "feed", "cluster", "event")
    assert [(s["feed"], s["cluster"] == s["id"]) for s in stories] == [("skynews", True), ("france24", True),
                                                                       ("cnn", True)]  # three texts
    assert [s["event"] for s in stories] == [stories[0]["id"], stories[1]["id"], stories[1]["id"]]
    # the console prints all three (each followed by the sentences around its names); CNN's names its event
    lines = [line for line in (printed + console.getvalue()).splitlines() if not line.startswith(" ")]
    assert len(lines) == 3 and lines[2].endswith(f"[event: {stories[1]['id']}]  {STORIES['CNN']['url']}")


async def test_the_event_thresholds_of_the_config_are_the_daemons(tmp_path, feed_server, daemons, monkeypatch):
    """`dedup.event.threshold: 0.99` in raqib.yaml: CNN's own words no longer join France 24's
    event, so its story is an alert of its own."""
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "skripal.yaml").write_text(WATCHLIST, encoding="utf-8")
    feeds = {}
    for source in ("france24", "CNN"):
        feed_server.route(f"/{source}.xml", text=rss(STORIES[source], OUTLETS[source]))
        feeds[source.lower()] = feed_server.url(f"/{source}.xml")
    with FakeTelegram() as tg:
        extra = (f'  telegram: {{api_url: "{tg.api_url}", polling: false, rate: {{chat_interval: 0.05}}}}\n'
                 "dedup: {event: {threshold: 0.99}}")
        daemon, _, _ = make_daemon(daemons, tmp_path, feeds, extra=extra, watchlists=folder)
        for name in ("france24", "cnn"):
            await poll(daemon, name)
        expulsion, other = tg.sent(42)
    assert reply_of(other) is None and other.text.startswith("📌") and "تطرد 23 دبلوماسيا" in other.text
    assert sql.event_count(daemon.store) == 2
