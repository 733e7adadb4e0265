"""The poller over a real local server: fetch state, redirects, 410, Retry-After, feed health."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest

from raqib.cli import main
from raqib.daemon import Daemon
from tests.support import sql
from tests.support.feedserver import feed_server  # noqa: F401  (fixture)
from tests.support.inprocess import WATCHLISTS, close_daemons, poll
from tests.support.inprocess import make_daemon as make_in_process

DATA = Path(__file__).parents[1] / "data"
BBC = DATA / "feeds" / "bbc-2018-04-10.xml"


_made: list[Daemon] = []


@pytest.fixture(autouse=True)
async def close_made():
    yield
    await close_daemons(_made)


def make_daemon(tmp_path: Path, feeds: dict[str, str], extra: str = "") -> tuple[Daemon, io.StringIO, Path]:
    return make_in_process(_made, tmp_path, feeds, "health:\n  failures: 2\n" + extra)


async def test_conditional_get_and_unchanged_bodies_skip_parsing(tmp_path, feed_server):
    route = feed_server.file("/bbc.xml", BBC, etag='"v1"')
    daemon, _, _ = make_daemon(tmp_path, {"bbc": feed_server.url("/bbc.xml")})
    assert await poll(daemon, "bbc") == "new"
    assert daemon.store.feeds.get("bbc").items_seen == 113  # 114 items, one GUID twice
    assert await poll(daemon, "bbc") == "not_modified"
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'
    route.etag = None  # the server forgets its validators but sends the same bytes
    assert await poll(daemon, "bbc") == "unchanged"
    assert sql.story_count(daemon.store) == 113


async def test_a_permanent_redirect_becomes_the_feed_url(tmp_path, feed_server):
    feed_server.file("/new.xml", BBC)
    feed_server.route("/old.xml", status=301, location="/new.xml")
    daemon, _, _ = make_daemon(tmp_path, {"bbc": feed_server.url("/old.xml")})
    assert await poll(daemon, "bbc") == "new"
    assert daemon.store.feeds.get("bbc").url == feed_server.url("/new.xml")
    await poll(daemon, "bbc")
    assert feed_server.routes["/old.xml"].hits == 1


async def test_gone_feeds_are_disabled_and_stand_out_in_the_feed_table(tmp_path, feed_server, capsys):
    feed_server.route("/gone.xml", status=410)
    daemon, _, config = make_daemon(tmp_path, {"gone": feed_server.url("/gone.xml")})
    assert await poll(daemon, "gone") == "gone"
    row = daemon.store.feeds.get("gone")
    assert row.enabled == 0 and "410" in row.disabled_reason
    assert daemon.store.feeds.due(time.time() + 10**6) == []
    assert main(["feeds", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    line = next(line for line in table.splitlines() if " gone " in line)
    assert "DISABLED" in line and "410" in line


async def test_retry_after_pushes_the_next_poll_back(tmp_path, feed_server):
    feed_server.route("/busy.xml", status=429, headers={"Retry-After": "900"})
    daemon, _, _ = make_daemon(tmp_path, {"busy": feed_server.url("/busy.xml")})
    before = time.time()
    assert await poll(daemon, "busy") == "http"
    row = daemon.store.feeds.get("busy")
    assert row.next_poll >= before + 900
    assert row.failures == 1 and "429" in row.last_error


async def test_admins_hear_once_when_a_feed_fails_and_once_when_it_recovers(tmp_path, feed_server):
    route = feed_server.route("/flaky.xml", status=500)
    daemon, out, _ = make_daemon(tmp_path, {"flaky": feed_server.url("/flaky.xml")})
    for _ in range(4):
        await poll(daemon, "flaky")
    health = [line for line in out.getvalue().splitlines() if "feed-health" in line]
    assert len(health) == 1 and "flaky" in health[0] and "500" in health[0]
    assert daemon.store.feeds.get("flaky").healthy == 0
    route.status = 200
    route.body = BBC.read_bytes()
    await poll(daemon, "flaky")
    await poll(daemon, "flaky")
    health = [line for line in out.getvalue().splitlines() if "feed-health" in line]
    assert len(health) == 2 and "recovered" in health[1]
    assert daemon.store.feeds.get("flaky").healthy == 1


def test_opml_import_refuses_private_addresses_and_export_lists_everything(tmp_path, capsys):
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
                      "feeds:\n  - {name: bbc, url: 'https://feeds.bbci.co.uk/arabic/rss.xml'}\n",
                      encoding="utf-8")
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        '<outline text="DW" type="rss" xmlUrl="https://93.184.216.34/rdf/rss-ar-all"/>'
        '<outline text="router" type="rss" xmlUrl="http://192.168.1.1/rss"/>'
        '</body></opml>', encoding="utf-8")
    assert main(["feeds", "--config", str(config), "import", str(opml)]) == 0
    captured = capsys.readouterr()
    assert "imported 1 feeds, skipped 1" in captured.out
    assert "192.168.1.1" in captured.err and "private" in captured.err
    assert main(["feeds", "--config", str(config), "export"]) == 0
    exported = capsys.readouterr().out
    assert "https://93.184.216.34/rdf/rss-ar-all" in exported
    assert "feeds.bbci.co.uk" in exported
    assert "192.168.1.1" not in exported


def _feed_of(items: list[str], build: str) -> str:
    text = BBC.read_text("utf-8")
    head = text[:text.index("<item>")].replace("<channel>", f"<channel><lastBuildDate>{build}</lastBuildDate>", 1)
    return head + "\n".join(items) + "\n</channel>\n</rss>\n"


async def test_a_feed_sent_again_has_its_new_items_read_and_no_deferred_item_is_lost(tmp_path, feed_server, caplog):
    """The items a poll read and ingested are not read again at the next poll of a body
    that changed (`monitor.feed_items`); items a poll deferred (`max_new_items`) are."""
    items = re.findall(r"<item>.*?</item>", BBC.read_text("utf-8"), re.S)[:40]
    route = feed_server.route("/f.xml", text=_feed_of(items[10:], "1"))
    daemon = make_in_process(_made, tmp_path, {"f": feed_server.url("/f.xml")},
                             poll_options="backfill: 36500d, max_age: 36500d, max_new_items: 20")[0]
    caplog.set_level("INFO", logger="monitor.poller")
    assert await poll(daemon, "f") == "new"  # 30 items: 20 taken, 10 deferred
    assert await poll(daemon, "f") == "new"  # the same body: the 10 deferred are read and taken
    stored = sql.story_count(daemon.store)
    assert stored == 30
    route.body = _feed_of(items, "2").encode("utf-8")  # ten new items on top, and a new build date
    assert await poll(daemon, "f") == "new"
    assert "feed polled feed=f items=10 new=" in caplog.text  # the 30 read before were not read again
    assert sql.story_count(daemon.store) == stored + 10
    route.body = _feed_of(items, "3").encode("utf-8")  # nothing new, only the build date
    assert await poll(daemon, "f") == "unchanged"
    assert "feed polled feed=f items=0 new=0" in caplog.text
