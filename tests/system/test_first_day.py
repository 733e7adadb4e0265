"""A desk's first day: old news never floods it, and what does come is in the reader's
time and names the outlet.

The real daemon in this process polls feeds served on 127.0.0.1 with the default
`poll.backfill` (0s) and `poll.max_age` (2d): a new feed's backlog is stored as seen and
alerts nothing, an item published years ago alerts nothing at any time, an item with no
date counts as published when first seen, and a fresh item alerts once. Through the
real daemon and the fake Bot API, that fresh item reaches the chat with the feed's title
and its time in the channel's `tz` (Asia/Riyadh).
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest

from monitor.config import load_config
from monitor.poller import alert_after
from monitor.settings import PollSettings
from raqib.cli import main
from raqib.daemon import Daemon
from tests.support.daemon_harness import until
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import feed_server  # noqa: F401  (fixture)
from tests.support.inprocess import close_daemons, make_daemon, poll

_made: list = []


@pytest.fixture(autouse=True)
async def close_made():
    yield
    await close_daemons(_made)


def rss(items: list[tuple], title: str = "t") -> str:
    """(title, link, published or None[, description]) items, newest first."""
    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
                   + (f"<pubDate>{formatdate(p, usegmt=True)}</pubDate>" if p is not None else "")
                   + (f"<description>{escape(more[0])}</description>" if more else "")
                   + "</item>" for t, u, p, *more in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"{body}</channel></rss>")


def alerts(out) -> list[str]:
    return [line for line in out.getvalue().splitlines() if "russia-ukraine" in line]


def test_the_cut_off_of_a_poll():
    now = 1_000_000.0
    assert alert_after(PollSettings(), now, first_poll=False) == now - 2 * 86400
    assert alert_after(PollSettings(), now, first_poll=True) == float("inf")  # the whole backlog is old
    assert alert_after(PollSettings(backfill=3600), now, first_poll=True) == now - 3600
    assert alert_after(PollSettings(backfill=30 * 86400), now, first_poll=True) == now - 2 * 86400  # max_age still holds


async def test_a_new_feeds_backlog_alerts_nothing_and_its_next_item_alerts_once(tmp_path, feed_server):
    now = time.time()
    backlog = [("بوتين يلتقي نظيره", "https://a.example/2", now - 600), ("بوتين في كورسك", "https://a.example/1", now - 7200),
               ("بوتين بلا تاريخ", "https://a.example/0", None)]
    route = feed_server.route("/a.xml", text=rss(backlog))
    daemon, out, _ = make_daemon(_made, tmp_path, {"agency": feed_server.url("/a.xml")}, poll_options="")
    assert await poll(daemon, "agency") == "new"
    assert alerts(out) == []
    assert daemon.store.feeds.get("agency").items_seen == 3  # stored as seen, searchable

    fresh = float(int(time.time()))
    route.body = rss([("بوتين يصل إلى أنقرة", "https://a.example/3", fresh)] + backlog, title="وكالة الأنباء").encode()
    assert await poll(daemon, "agency") == "new"
    assert len(alerts(out)) == 1 and "بوتين يصل إلى أنقرة" in alerts(out)[0]
    # the console line: the story's own time, the outlet as its feed calls itself (its id stays in the logs)
    when = datetime.fromtimestamp(fresh, UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert alerts(out)[0].startswith(f"{when}  russia-ukraine  وكالة الأنباء  بوتين يصل إلى أنقرة  ")
    await poll(daemon, "agency")
    assert len(alerts(out)) == 1


async def test_an_item_published_long_ago_never_alerts_and_an_undated_one_counts_as_new(tmp_path, feed_server):
    route = feed_server.route("/a.xml", text=rss([]))
    daemon, out, _ = make_daemon(_made, tmp_path, {"agency": feed_server.url("/a.xml")}, poll_options="")
    assert await poll(daemon, "agency") == "unchanged"  # the first poll: an empty feed
    # a 2018 item re-published today, and an item with no date at all
    route.body = rss([("بوتين يزور كورسك", "https://a.example/2018", 1523318400.0),
                      ("بوتين يصل إلى أنقرة", "https://a.example/undated", None)]).encode()
    assert await poll(daemon, "agency") == "new"
    lines = alerts(out)
    assert len(lines) == 1 and "بوتين يصل إلى أنقرة" in lines[0], lines


async def test_backfill_lets_a_new_feeds_recent_items_alert(tmp_path, feed_server):
    now = time.time()
    feed_server.route("/a.xml", text=rss([("بوتين يلتقي نظيره", "https://a.example/2", now - 600),
                                          ("بوتين في كورسك", "https://a.example/1", now - 7200)]))
    daemon, out, _ = make_daemon(_made, tmp_path, {"agency": feed_server.url("/a.xml")}, poll_options="backfill: 1h")
    await poll(daemon, "agency")
    lines = alerts(out)
    assert len(lines) == 1 and "بوتين يلتقي نظيره" in lines[0], lines


# -- through the real daemon and the fake Bot API ----------------------------------------------

TOKEN = "123456789:AAE2eTestTokenForRaqib_abcdefghijkl"
WATCHLISTS = Path(__file__).parents[1] / "data" / "e2e" / "watchlists"  # russia-ukraine: بوتين, كورسك, دوروف


async def test_a_desks_first_day_through_the_daemon_and_telegram(tmp_path, feed_server, monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    now = time.time()
    backlog = [("بوتين يلتقي نظيره التركي", "https://sky.example/backlog-1", now - 3 * 3600),
               ("الكرملين: بوتين لن يحضر القمة", "https://sky.example/backlog-2", now - 86400)]
    route = feed_server.route("/sky.xml", text=rss(backlog, title="Sky News Arabia - آخر الأخبار"), etag='"0"')
    config = tmp_path / "raqib.yaml"
    with FakeTelegram(long_poll=0.2) as tg:
        config.write_text(
            f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
            f"feeds:\n  - {{name: skynews-arabia, url: \"{feed_server.url('/sky.xml')}\", title: سكاي نيوز عربية}}\n"
            "poll: {interval: 1s, min_interval: 1s, adaptive: false}\n"  # backfill and max_age: the defaults
            f"channels:\n  telegram: {{api_url: \"{tg.api_url}\", poll_timeout: 1, tz: Asia/Riyadh}}\n",
            encoding="utf-8")
        daemon = Daemon(load_config(config)).open()
        daemon.store.subscriptions.subscribe("telegram", "42", "russia-ukraine")
        run = asyncio.create_task(daemon.run(seconds=60))
        try:
            await until(lambda: getattr(daemon.store.feeds.get("skynews-arabia"), "last_success", None))
            # the first poll stored the backlog as seen: nothing alerted
            assert daemon.store.feeds.get("skynews-arabia").items_seen == 2

            fresh_at = datetime.fromtimestamp(now - 300, UTC).replace(second=0, microsecond=0)
            old = ("بوتين يزور كورسك", "https://sky.example/2018", datetime(2018, 4, 10, 9, tzinfo=UTC)
                   .timestamp())
            # a long lead whose watched name sits past its 400th character
            lead = ("وصل الرئيس الروسي إلى العاصمة التركية في زيارة رسمية تستمر يومين يلتقي خلالها نظيره "
                    "ويبحث معه ملفات التعاون الاقتصادي والطاقة والوضع في المنطقة. ") * 4
            lead += "وقال مصدر دبلوماسي إن القوات الروسية ما زالت تتقدم في مقاطعة كورسك الحدودية منذ أيام."
            assert lead.index("كورسك") > 400
            fresh = ("بوتين يصل إلى أنقرة في زيارة رسمية", "https://sky.example/fresh", fresh_at.timestamp(), lead)
            route.body = rss([fresh, old, *backlog], title="Sky News Arabia - آخر الأخبار").encode()
            route.etag = '"1"'
            await until(lambda: tg.texts(42))
            await asyncio.sleep(2.5)  # more polls: nothing is sent twice, nothing old comes late
        finally:
            daemon.stop()
            await asyncio.wait_for(run, 30)
        texts = tg.texts(42)
    assert len(texts) == 1, texts
    [alert] = texts
    assert "sky.example/fresh" in alert and "يصل إلى أنقرة في زيارة رسمية" in alert
    local = fresh_at.astimezone(ZoneInfo("Asia/Riyadh")).strftime("%Y-%m-%d %H:%M")
    assert f"<i>سكاي نيوز عربية · {local} Asia/Riyadh</i>" in alert
    assert "skynews-arabia" not in alert and "UTC" not in alert
    # the name past the lead's 400th character is shown bold in its own sentence
    assert "إن القوات الروسية ما زالت تتقدم في مقاطعة <b>كورسك</b> الحدودية منذ أيام." in alert


# -- the server ---------------------------------------------------------------------------------

def test_the_start_up_roles_are_those_of_this_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    for sub in "abc":
        (tmp_path / sub).mkdir()
    console, _, _ = make_daemon(_made, tmp_path / "a", {})
    assert console.roles.roles == ("digests", "prune", "feed-health")  # no Telegram: no bot role
    sending, _, _ = make_daemon(_made, tmp_path / "b", {}, extra='  telegram: {api_url: "http://127.0.0.1:9", '
                                                                   'polling: false}')
    assert "telegram-bot" not in sending.roles.roles  # alerts only: nobody's commands to read
    bot, _, _ = make_daemon(_made, tmp_path / "c", {}, extra='  telegram: {api_url: "http://127.0.0.1:9"}')
    assert bot.roles.roles == ("telegram-bot", "digests", "prune", "feed-health")


def test_make_run_installs_only_what_the_daemon_needs(tmp_path):
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    done = subprocess.run(["make", "-n", "-B", "run", "VENV=" + str(tmp_path / "venv")], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.returncode == 0, done.stderr
    installs = [line for line in done.stdout.splitlines() if "pip install" in line and "-e" in line]
    assert installs and all("[test]" not in line for line in installs), done.stdout
    tests = subprocess.run(["make", "-n", "-B", "test", "VENV=" + str(tmp_path / "venv")], capture_output=True,
                           text=True, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert "-e '.[test]'" in tests.stdout and "TEST_STAMP" in makefile


def test_demo_serve_keeps_the_web_view_up_until_ctrl_c_and_prints_its_address(tmp_path):
    env = {**os.environ, "RAQIB_LOG_LEVEL": "WARNING"}
    with subprocess.Popen([sys.executable, "-m", "raqib.cli", "demo", "--serve"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path) as proc:
        try:
            assert proc.stdout is not None
            address = None
            for _ in range(20):
                found = re.search(r"the web view is at (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)",
                                  proc.stdout.readline())
                if found:
                    address = found[1]
                    break
            assert address, "no address printed"
            page = ""
            for _ in range(100):  # the daemon polls the demo's feeds, then the alerts show
                try:
                    with urllib.request.urlopen(address, timeout=2) as response:
                        page = response.read().decode("utf-8")
                except OSError:
                    page = ""
                if '<article class="alert">' in page:
                    break
                time.sleep(0.2)
            assert '<article class="alert">' in page
            time.sleep(1.0)
            assert proc.poll() is None  # still serving: no --seconds limit
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


async def test_a_feed_disabled_or_removed_from_the_command_line_is_followed_by_the_running_daemon(tmp_path,
                                                                                                 feed_server):
    feed_server.route("/imported.xml", text=rss([]))
    daemon, _, config = make_daemon(_made, tmp_path, {}, extra="allow_private_feeds: true")  # the test's server
    daemon.store.feeds.add("imported", feed_server.url("/imported.xml"), source="opml")
    assert main(["feeds", "disable", "imported", "--config", str(config)]) == 0
    assert await daemon.poller.dispatch_due() == 0  # the daemon's next round: nothing to poll
    assert main(["feeds", "enable", "imported", "--config", str(config)]) == 0
    assert await daemon.poller.dispatch_due() == 1
    await daemon.poller.drain()
    assert feed_server.routes["/imported.xml"].hits == 1
    assert main(["feeds", "remove", "imported", "--config", str(config)]) == 0
    assert await daemon.poller.dispatch_due() == 0 and daemon.store.feeds.get("imported") is None
