"""The whole pipeline: real Arabic feeds over HTTP on 127.0.0.1 → the real daemon → alerts.

The daemon is driven the way it runs (poller → pipeline → outbox → console channel),
with a temporary SQLite file, so restarts are real restarts on the same database.
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from monitor.config import load_config
from raqib.daemon import Daemon
from raqib.demo import FeedServer
from tests.support import sql
from tests.support.inprocess import pages_read

DATA = Path(__file__).parents[1] / "data" / "e2e"
TITLE = "بوتين يدعم هاريس لرئاسة أميركا.. ويؤكد استعداده لمفاوضات مع أوكرانيا"


@pytest.fixture()
def site(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    for f in DATA.glob("*.xml"):
        shutil.copy(f, folder / f.name)
    with FeedServer(folder) as server:
        yield folder, server.base_url


def write_config(tmp_path: Path, base_url: str, feeds: dict[str, str], watchlists: Path = DATA / "watchlists") -> Path:
    # the test feeds are old news: let them alert as if fresh (see test_first_day for the rule)
    lines = [f"database: {tmp_path / 'state' / 'raqib.db'}", f"watchlists: {watchlists}",
             "poll: {backfill: 36500d, max_age: 36500d}", "feeds:"]
    lines += [f"  - {{name: {n}, url: \"{base_url}/{f}\"}}" for n, f in feeds.items()]
    lines += ["channels:", "  console: {}"]
    path = tmp_path / "raqib.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def cycle(daemon: Daemon) -> None:
    """One poll of every feed in config order (the agency before the paper that copies
    it), then one delivery round — what the loops do, minus the waiting."""
    for feed in daemon.config.feeds:
        await daemon.poller.poll_feed(daemon.store.feeds.get(feed.name))
        await pages_read(daemon)
    await daemon.deliverer.run_once()


def alert_lines(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if line.strip()]


async def test_one_alert_per_story_across_outlets_polls_and_restarts(tmp_path, site):
    _, base = site
    config = write_config(tmp_path, base, {"agency-a": "agency-a.xml", "paper-b": "paper-b.xml"})
    out = io.StringIO()
    daemon = Daemon(load_config(config), console_stream=out).open()
    await cycle(daemon)
    lines = alert_lines(out)
    putin = [line for line in lines if "russia-ukraine" in line]
    # the agency story and its "عاجل |" copy from another outlet are one cluster, one alert
    assert len(putin) == 1, lines
    assert TITLE in putin[0] and "agency-a" in putin[0]
    assert "https://agency-a.example/world/putin-harris" in putin[0]
    # "أسعار النفط" matched the oil watchlist; البروتين never fires بوتين; the football
    # story names بوتين but the watchlist excludes كرة القدم
    assert [line for line in lines if "  oil  " in line and "أسعار النفط" in line]
    assert not [line for line in lines if "البروتين" in line or "كرة القدم" in line]
    assert len(lines) == 2
    # the same feeds polled again: nothing new
    await cycle(daemon)
    assert len(alert_lines(out)) == 2
    await daemon.fetcher.aclose()
    daemon.store.close()

    # a restart on the same database sends nothing again
    out2 = io.StringIO()
    again = Daemon(load_config(config), console_stream=out2).open()
    await cycle(again)
    assert alert_lines(out2) == []
    clusters = sql.story_rows(again.store, "feed", "cluster")
    assert len(clusters) == 5
    by_feed = {}
    for row in sql.story_rows(again.store, "feed", "guid", "cluster"):
        by_feed[(row["feed"], row["guid"])] = row["cluster"]
    assert by_feed[("agency-a", "a-1")] == by_feed[("paper-b", "b-1")]
    await again.fetcher.aclose()
    again.store.close()


async def test_the_daemon_runs_its_loops_and_stops_cleanly(tmp_path, site):
    _, base = site
    config = write_config(tmp_path, base, {"agency-a": "agency-a.xml", "paper-b": "paper-b.xml"})
    out = io.StringIO()
    daemon = Daemon(load_config(config), console_stream=out).open()
    await daemon.run(seconds=3)
    assert len([line for line in alert_lines(out) if "russia-ukraine" in line]) == 1
    # the store was closed on the way out: a new daemon opens it and finds everything sent
    again = Daemon(load_config(config), console_stream=io.StringIO()).open()
    assert sql.outbox_states(again.store) == {"sent": 2}
    again.store.close()


async def test_a_broken_feed_is_recorded_and_the_others_still_alert(tmp_path, site):
    folder, base = site
    (folder / "broken.xml").write_text("<html><body>Service temporarily unavailable</body></html>",
                                       encoding="utf-8")
    config = write_config(tmp_path, base, {"agency-a": "agency-a.xml", "broken": "broken.xml",
                                           "missing": "missing.xml"})
    out = io.StringIO()
    daemon = Daemon(load_config(config), console_stream=out).open()
    await cycle(daemon)
    assert len([line for line in alert_lines(out) if "russia-ukraine" in line]) == 1
    feeds = {f.name: f for f in daemon.store.feeds.all()}
    assert feeds["agency-a"].failures == 0
    for name in ("broken", "missing"):
        assert feeds[name].failures == 1
        assert feeds[name].last_error
        assert feeds[name].next_poll > feeds[name].last_poll  # retried later, not dropped
    assert "404" in feeds["missing"].last_error
    await daemon.fetcher.aclose()
    daemon.store.close()


async def test_stories_seen_before_a_crash_are_still_alerted(tmp_path, site):
    """A story stored with its outbox row but not yet delivered is delivered after restart."""
    _, base = site
    config = write_config(tmp_path, base, {"agency-a": "agency-a.xml"})
    daemon = Daemon(load_config(config), console_stream=io.StringIO()).open()
    await daemon.poller.poll_all()  # stored and queued, then the process "dies"
    await pages_read(daemon)
    pending = sql.outbox_count(daemon.store, state="pending")
    assert pending == 2
    daemon.store.outbox.claim([r["id"] for r in sql.outbox_rows(daemon.store, "id")])  # mid-send
    await daemon.articles.close()
    await daemon.fetcher.aclose()
    daemon.store.close()

    out = io.StringIO()
    again = Daemon(load_config(config), console_stream=out).open()
    again.deliverer.recover()
    await cycle(again)
    assert len(alert_lines(out)) == 2
    again.store.close()
    await again.fetcher.aclose()


def test_demo_prints_the_putin_kursk_durov_alert(capsys):
    from raqib.cli import main

    watchlists = Path(__file__).resolve().parents[2] / "watchlists"
    assert main(["demo", "--seconds", "10", "--watchlists", str(watchlists)]) == 0
    out = capsys.readouterr().out
    assert "russia-ukraine" in out
    assert TITLE in out
    # the agency story's page was read: كورسك, only in its body, is shown in its sentence
    assert "↳ في نص الخبر، الفقرة" in out and "«كورسك»" in out, \
        "\n".join(line for line in out.splitlines() if TITLE[:20] in line or "digest" in line or "↳ في نص" in line)
    assert "alerts raised" in out
