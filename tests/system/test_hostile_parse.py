"""Hostile feed content through the poller, served by a real HTTP server on 127.0.0.1:
one bad item never costs the rest of the feed (it is counted on the feed's row and in
`raqib feeds`), a declared UTF-8 feed with a stray byte still alerts, and a parse that
takes too long is stopped and recorded as the feed's failure while other feeds go on.
Last, the real daemon process with seven hostile feeds beside a normal one: the normal
feed's alert arrives, and SIGTERM ends the daemon while slow parses are running."""
from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import time

import pytest

from raqib.cli import main
from raqib.daemon import Daemon
from tests.support import sql
from tests.support.daemon_harness import Daemon as DaemonProcess
from tests.support.daemon_harness import GrowingFeeds, wait_for, write_config, write_watchlist
from tests.support.feedserver import FeedServer, feed_server  # noqa: F401  (fixture)
from tests.support.inprocess import OLD_NEWS_ALERTS, close_daemons, make_daemon, poll

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:georss="http://www.georss.org/georss" '
        'xmlns:gml="http://www.opengis.net/gml"><channel><title>وكالة</title><link>http://news.example/</link>')
TAIL = "</channel></rss>\n"
GOOD = ("<item><title>بوتين يلتقي دوروف في كورسك</title><link>http://news.example/good</link>"
        "<guid>http://news.example/good</guid><description>قال الكرملين اليوم</description></item>")


def item(n: int, extra: str) -> str:
    return (f"<item><title>خبر رقم {n}</title><link>http://news.example/{n}</link>"
            f"<guid>http://news.example/{n}</guid>{extra}</item>")


@pytest.fixture
async def daemons():
    made: list[Daemon] = []
    yield made
    await close_daemons(made)


@pytest.mark.parametrize("odd", ["<description>&lt;![x[</description>", "<description>&lt;![&lt;</description>",
                                 "<description>&lt;![[</description>", "<description>&lt;!['</description>",
                                 "<title>&#xD800;</title>", "<gml:pos>30.1 31.2</gml:pos>"])
async def test_one_odd_item_never_loses_the_feed(tmp_path, feed_server, daemons, odd):
    feed_server.route("/agency.xml", body=(HEAD + item(1, odd) + GOOD + TAIL).encode("utf-8"))
    daemon, out, _ = make_daemon(daemons, tmp_path, {"agency": feed_server.url("/agency.xml")})
    assert await poll(daemon, "agency") == "new"
    assert "بوتين يلتقي دوروف في كورسك" in out.getvalue()
    assert daemon.store.feeds.get("agency").failures == 0


async def test_bad_items_are_left_out_and_counted_the_rest_alerts(tmp_path, feed_server, daemons, capsys):
    body = (HEAD
            + item(1, "<description>&lt;![x[</description>")  # html.parser: AssertionError
            + item(2, "<description>&lt;p&gt;&lt;![&lt;</description>")
            + item(3, "<gml:pos>30.1 31.2</gml:pos>")  # feedparser: KeyError 'where', whole feed
            + item(4, "<description>&lt;!['</description>")
            + GOOD + TAIL)
    feed_server.route("/agency.xml", body=body.encode("utf-8"))
    daemon, out, config = make_daemon(daemons, tmp_path, {"agency": feed_server.url("/agency.xml")})
    assert await poll(daemon, "agency") == "new"
    alerts = [line for line in out.getvalue().splitlines() if "russia-ukraine" in line]
    assert len(alerts) == 1 and "بوتين يلتقي دوروف في كورسك" in alerts[0]
    stored = {r["guid"] for r in sql.story_rows(daemon.store, "guid")}
    assert stored == {f"http://news.example/{n}" for n in (1, 2, 4)} | {"http://news.example/good"}
    row = daemon.store.feeds.get("agency")
    assert row.failures == 0 and row.last_error is None
    assert row.bad_items == 1 and row.bad_item_error.startswith("item 3: KeyError")
    assert main(["feeds", "--config", str(config)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if " agency " in line)
    assert "1 bad item" in line and "item 3: KeyError" in line
    # the publisher fixes the item: the count goes back to nought
    feed_server.routes["/agency.xml"].body = (HEAD + item(3, "") + GOOD + TAIL).encode("utf-8")
    assert await poll(daemon, "agency") == "new"
    assert daemon.store.feeds.get("agency").bad_items == 0


async def test_declared_utf8_feed_with_one_stray_byte_still_alerts(tmp_path, feed_server, daemons):
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>بوتين يلتقي</title>\xa0<link>http://news.example/1</link></item></channel></rss>")
    body_bytes = body.encode("utf-8").replace("\xa0".encode(), b"\xa0")  # one byte that is not UTF-8
    feed_server.route("/short.xml", body=body_bytes, content_type="application/rss+xml; charset=utf-8")
    daemon, out, _ = make_daemon(daemons, tmp_path, {"short": feed_server.url("/short.xml")})
    assert await poll(daemon, "short") == "new"
    assert "بوتين يلتقي" in out.getvalue()


async def test_a_large_undeclared_body_is_decoded_off_the_event_loop(tmp_path, feed_server, daemons):
    # 8 MB of undeclared random bytes: the charset guess over them is a second or more of
    # CPU; it once ran on the event loop inside the fetch, and every other feed, delivery
    # and /healthz waited for it
    body = random.Random(7).randbytes(8 * 2**20)
    feed_server.route("/noise.xml", body=body, content_type="application/octet-stream")
    daemon, _, _ = make_daemon(daemons, tmp_path, {"noise": feed_server.url("/noise.xml")},
                               poll_options=OLD_NEWS_ALERTS + ", max_bytes: 16MiB")
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        await poll(daemon, "noise")
    finally:
        ticking.cancel()
    assert gaps and max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f} s"


def nested_tags(size: int) -> bytes:
    # feedparser's loose parser spends ~10 s a megabyte on this; html_to_text is not involved
    return (HEAD + "<item><title>t</title><description>" + "<b>" * (size // 3) + "</description></item>"
            + TAIL).encode("utf-8")


async def test_a_parse_past_its_deadline_is_stopped_and_recorded_other_feeds_go_on(tmp_path, feed_server, daemons):
    feed_server.route("/slow.xml", body=nested_tags(2 * 2**20))
    feed_server.route("/good.xml", body=(HEAD + GOOD + TAIL).encode("utf-8"))
    daemon, out, _ = make_daemon(daemons, tmp_path, {"slow": feed_server.url("/slow.xml"),
                                                     "good": feed_server.url("/good.xml")},
                                 poll_options=OLD_NEWS_ALERTS + ", parse_deadline: 1s")
    started = time.monotonic()
    slow, good = await asyncio.gather(poll(daemon, "slow"), poll(daemon, "good"))
    assert time.monotonic() - started < 15  # feedparser alone would take about 20 s
    assert (slow, good) == ("parse", "new")
    assert "بوتين" in out.getvalue()
    row = daemon.store.feeds.get("slow")
    assert row.failures == 1 and "parsing took longer than 1s" in row.last_error
    assert row.next_poll > time.time()  # backed off, tried again later


# --- the real daemon: seven hostile feeds beside one normal feed ---------------------------

def hostile_summary_feed(name: str) -> bytes:
    # html.parser is quadratic on this: 60 KB took about a minute to strip
    summary = "<p>" + "<a " * 20000
    return (HEAD + f"<item><title>{name}</title><link>http://news.example/{name}</link>"
            f"<description><![CDATA[{summary}]]></description></item>" + TAIL).encode("utf-8")


def slow_to_parse_feed() -> bytes:
    # 4 MB of "&": feedparser's loose parser reads it for about 15 s, in little memory
    return (HEAD + "<item><title>t</title><description>" + "&" * (4 * 2**20) + "</description></item>"
            + TAIL).encode("utf-8")


def test_seven_hostile_feeds_neither_delay_a_normal_feed_nor_stop_sigterm(tmp_path):
    with FeedServer() as server:
        hostile = {f"hostile{i}": f"/h{i}.xml" for i in range(7)}
        for i, (name, path) in enumerate(hostile.items()):
            server.route(path, body=hostile_summary_feed(name) if i < 6 else slow_to_parse_feed())
        normal = GrowingFeeds(server, 1)
        write_watchlist(tmp_path / "wl", "w", ["بوتين"])
        config = write_config(tmp_path, {**{n: server.url(p) for n, p in hostile.items()},
                                         **{n: normal.url(n) for n in normal.names}},
                              watchlists=tmp_path / "wl",
                              extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n")
        daemon = DaemonProcess(config, tmp_path / "logs")
        try:
            wait_for(lambda: server.routes["/h6.xml"].hits and server.routes["/h5.xml"].hits, 15,
                     what="the hostile feeds fetched")
            time.sleep(1)  # their parses are under way
            url = normal.publish()
            wait_for(lambda: url in daemon.stdout(), 10, what="the normal feed's alert")
            daemon.signal(signal.SIGTERM)  # the slow parse is still running
            stopped = time.monotonic()
            assert daemon.proc.wait(20) == 0, daemon.stderr()[-3000:]
            assert time.monotonic() - stopped < 10  # within STOP_GRACE
        finally:
            daemon.kill()
        with sqlite3.connect(tmp_path / "state" / "raqib.db") as conn:
            failures = {r["name"]: r["failures"] for r in sql.feed_rows(conn, "name", "failures")}
        assert failures == dict.fromkeys([*hostile, *normal.names], 0)  # a stopped parse is no failure
