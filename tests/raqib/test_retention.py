"""Retention: months of traffic leave a bounded database; backups are consistent and private.

- The daemon's own pipeline, deliverer and housekeeping run in-process with a clock the
  test moves: 100 simulated days of 120 stories a day (a third of them alerting), with
  `retention: {stories: 7d, outbox: 7d}`. Stories, clusters and sent alerts older than
  that are pruned; row counts and the file size stop growing after the first weeks.
- `raqib backup FILE` (the real CLI) copies the database while another process writes
  to it as fast as it can: the copy passes `integrity_check` and holds only whole
  transactions (every alert row has its story), with mode 0600.
"""
from __future__ import annotations

import io
import os
import random
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_config
from monitor.models import Story
from raqib.daemon import Daemon
from tests.support import sql
from tests.support.daemon_harness import random_title, write_config, write_watchlist

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


async def test_months_of_traffic_keep_the_database_bounded(tmp_path):
    write_watchlist(tmp_path / "wl", "w", ["بوتين"])
    config = write_config(tmp_path, {"outlet": "http://127.0.0.1:9/feed.xml"}, watchlists=tmp_path / "wl",
                          extra="retention: {stories: 7d, outbox: 7d}\nchannels:\n  console: {}\n")
    now = [datetime(2025, 1, 1, tzinfo=UTC).timestamp()]
    daemon = Daemon(load_config(config), clock=lambda: now[0], console_stream=io.StringIO()).open()
    db = tmp_path / "state" / "raqib.db"
    rng = random.Random(3)
    history: list[tuple[int, int, int, int, int]] = []
    n = 0
    for _day in range(100):
        for _hour in range(0, 24, 4):
            now[0] += 4 * 3600
            batch = []
            for _ in range(20):
                n += 1
                title = random_title(rng, "بوتين" if n % 3 == 0 else "اقتصاد")
                batch.append(Story(feed="outlet", guid=f"g{n}", url=f"https://outlet.example/{n}", title=title,
                                   published=datetime.fromtimestamp(now[0], UTC)))
            daemon.pipeline.ingest("outlet", batch)
            await daemon.deliverer.run_once()
        daemon.housekeeping()
        history.append((sql.story_count(daemon.store), sql.outbox_count(daemon.store),
                        sql.count(daemon.store, "cluster_watchlists"), len(daemon.clusterer), db_bytes(db)))
    await daemon.fetcher.aclose()
    daemon.store.close()

    per_day = 120
    stories, outbox, clusters, index, _ = history[-1]
    assert stories <= 8 * per_day  # seven days kept, plus the day in progress
    assert outbox <= 8 * per_day // 3 + 1
    assert clusters <= 8 * per_day // 3 + 1
    assert index <= 4 * per_day  # the dedup index holds its 72 h window only
    sizes = [h[4] for h in history]
    assert max(sizes[60:]) <= max(sizes[20:40]) * 1.1, sizes[::10]  # the file plateaus
    counts = [h[0] for h in history]
    assert max(counts[30:]) == max(counts[10:30])  # and so do the rows
    assert (db.stat().st_mode & 0o777) == 0o600
    assert (db.parent.stat().st_mode & 0o777) == 0o700


WRITER = textwrap.dedent("""
    import sys, time
    from monitor.store import Store
    store = Store(sys.argv[1])
    i = 0
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        with store.transaction() as conn:
            for _ in range(20):
                i += 1
                sid = store.stories.insert(conn, {"feed": "w", "guid": f"g{i}", "title": "x" * 200,
                                                "fetched": time.time(), "cluster": i})
                store.outbox.enqueue(conn, channel="console", destination="-", kind="story", watchlist="w",
                              cluster=sid, story_id=sid, payload={"title": "x" * 200}, now=time.time())
        print(i, flush=True)
""")


def test_online_backup_while_a_writer_is_busy_is_consistent_and_private(tmp_path):
    write_watchlist(tmp_path / "wl", "w", ["بوتين"])
    config = write_config(tmp_path, {}, watchlists=tmp_path / "wl", extra="channels:\n  console: {}\n")
    db = tmp_path / "state" / "raqib.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "60"], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=str(ROOT))
    try:
        assert writer.stdout is not None
        while int(writer.stdout.readline() or 0) < 2000:  # the writer is well under way
            pass
        copies = []
        for i in range(3):
            target = tmp_path / "backups" / f"copy{i}.db"
            out = subprocess.run([sys.executable, "-m", "raqib.cli", "backup", "--config", str(config), str(target)],
                                 capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=60)
            assert out.returncode == 0, out.stderr
            assert "backup written" in out.stdout
            assert writer.poll() is None  # it was still writing
            copies.append(target)
            time.sleep(0.2)
    finally:
        writer.terminate()
        writer.communicate(timeout=30)
    counts = []
    for target in copies:
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        with sqlite3.connect(target) as conn:
            assert sql.integrity(conn) == "ok"
            stories, alerts, orphans = sql.story_count(conn), sql.outbox_count(conn), sql.orphan_alerts(conn)
        assert stories == alerts and orphans == 0 and stories % 20 == 0  # whole transactions only
        counts.append(stories)
    assert counts == sorted(counts) and counts[0] >= 2000
    assert counts[-1] > counts[0]  # later copies saw later writes: each copy is a snapshot


def test_story_ids_are_never_reused_after_everything_was_pruned(tmp_path):
    """A cluster id is its first story's id: reusing one would merge a new story's alerts
    into an old cluster's and drop them."""
    from monitor.store import Store

    store = Store(tmp_path / "raqib.db")
    with store.transaction() as conn:
        for i in (1, 2, 3):
            store.stories.insert(conn, {"id": i, "feed": "f", "guid": str(i), "fetched": 0.0, "cluster": i})
    store.prune(stories_before=10.0, outbox_before=10.0)
    assert sql.story_count(store) == 0
    store.close()
    assert Store(tmp_path / "raqib.db").stories.next_id() == 4
