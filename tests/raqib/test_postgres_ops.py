"""Running on PostgreSQL, as an operator does it: `raqib migrate-db` moves a single node's
SQLite state to PostgreSQL losing nothing, `raqib backup` hands the work to pg_dump (or
says how), and `raqib check` names the backend and whether its schema is current."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from monitor.config import FeedConfig
from monitor.store import FeedUpdate, Store
from monitor.store.desk import SearchWord
from raqib.cli import main
from tests.support import sql
from tests.support.pg import pg_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("restore_logging")

TABLES = {"feeds": "name", "stories": "id", "cluster_watchlists": "cluster, watchlist", "outbox": "id",
          "subscriptions": "channel, destination, watchlist", "destinations": "channel, destination",
          "personal_terms": "channel, destination, term", "feed_days": "feed, day"}



def single_node(db: Path) -> None:
    """A SQLite installation after weeks of work: feeds with state, clusters, pruned
    stories (the id high-water mark above the rows), people's choices, an outbox in
    every state."""
    store = Store(db)
    try:
        store.feeds.sync([FeedConfig("aj", "https://aj.test/rss", 300.0), FeedConfig("bbc", "https://bbc.test/rss")])
        store.feeds.update("aj", FeedUpdate(etag='"e1"', last_modified="Mon, 01 Jan 2026 00:00:00 GMT", next_poll=1e9 + 0.5,
                          failures=3, healthy=0, last_error="503", avg_interval=812.25, items_seen=40))
        now = time.time()
        with store.transaction() as conn:
            for i in range(1, 31):
                sid = store.stories.next_id()
                store.stories.insert(conn, {"id": sid, "feed": "aj" if i % 2 else "bbc", "guid": f"g{i}",
                                          "title": f"بوتين {i}", "summary": "ملخص", "fetched": 100.0 if i <= 10 else now,
                                          "cluster": sid if i % 3 else sid - 1, "dedup_kind": "new"})
                store.stories.add_cluster_watchlists(conn, sid, ["w"])
        store.prune(stories_before=200.0, outbox_before=200.0)  # ids 1-10 gone, never to be reused
        with store.transaction() as conn:
            for sid in range(11, 21):
                for dest in ("-100", "-200"):
                    store.outbox.enqueue(conn, channel="telegram", destination=dest, kind="story", watchlist="w",
                                  cluster=sid, story_id=sid, payload={"title": f"بوتين {sid}"}, now=now)
        ids = [r.id for r in store.outbox.due(now + 1, limit=100)]
        store.outbox.claim(ids[:8])
        store.outbox.mark_sent(ids[:4], now, ref="77")
        store.outbox.mark_dead(ids[4:6], "blocked")
        store.outbox.mark_retry(ids[6:7], now + 600, "quiet hours", held=True)  # ids[7] stays sending: a crash
        store.subscriptions.subscribe("telegram", "-100", "w")
        store.subscriptions.subscribe("telegram", "-200", "w")
        store.subscriptions.unsubscribe("telegram", "-200", "w")
        store.subscriptions.update_settings("telegram", "-100", lang="ar", quiet="22-07", tz="Asia/Riyadh")
        store.subscriptions.add_personal_term("telegram", "-100", "كورسك")
    finally:
        store.close()


def table(store: Store, name: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("leased_until", "leased_by")}
            for r in sql.table_rows(store, name, order=TABLES[name])]


def test_migrate_db_moves_a_single_node_to_postgresql_losing_nothing(tmp_path, pg_url, capsys):
    db = tmp_path / "raqib.db"
    single_node(db)
    assert main(["migrate-db", "--from", str(db), "--to", pg_url, "--batch", "7"]) == 0
    out = capsys.readouterr().out
    assert "stories: 20" in out and "outbox: 20" in out and "personal_terms: 1" in out
    src, dst = Store(db, readonly=True), Store(pg_url)
    try:
        for name in TABLES:
            assert table(dst, name) == table(src, name), name
        assert dst.stories.next_id() > 30  # past the pruned ones too: a cluster id is never reused
        with dst.transaction() as conn:  # the next outbox row does not collide with a moved one
            assert dst.outbox.enqueue(conn, channel="telegram", destination="-300", kind="story", watchlist="w",
                               cluster=25, story_id=25, payload={}, now=1.0)
        assert dst.outbox.recover_sending() == 1  # the row caught mid-send goes out again, as after a crash
        assert dst.subscriptions.subscribers("w") == [("telegram", "-100")]
        assert dst.subscriptions.settings("telegram", "-100")["tz"] == "Asia/Riyadh"
        putin = [[SearchWord("بوتين")]]  # the search index is written again from the stories moved
        found = {r.id for r in dst.desk.search_candidates(putin, limit=100) or []}
        assert found == {r.id for r in src.desk.search_candidates(putin, limit=100) or []} and len(found) == 20
    finally:
        src.close()
        dst.close()
    # a target that holds state is refused, unless told to replace it
    assert main(["migrate-db", "--from", str(db), "--to", pg_url]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert main(["migrate-db", "--from", str(db), "--to", pg_url, "--replace"]) == 0


def write_config(tmp_path: Path, database: str) -> Path:
    (tmp_path / "wl").mkdir(exist_ok=True)
    (tmp_path / "wl" / "w.yaml").write_text("name: w\nterms: [بوتين]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: '{database}'\nwatchlists: {tmp_path / 'wl'}\n", encoding="utf-8")
    return config


def test_check_names_the_backend_and_whether_the_schema_is_current(tmp_path, pg_url, capsys):
    Store(pg_url).close()
    config = write_config(tmp_path, pg_url)
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "database: postgresql postgresql://postgres@127.0.0.1" in out and "schema current" in out
    config = write_config(tmp_path, "postgresql://raqib:hunter2@127.0.0.1:9/raqib?connect_timeout=2")
    started = time.monotonic()
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert time.monotonic() - started < 10
    assert "cannot reach PostgreSQL at postgresql://raqib:***@127.0.0.1:9/raqib" in out and "hunter2" not in out


def test_backup_on_postgresql_is_pg_dump(tmp_path, pg_url, capsys, monkeypatch):
    store = Store(pg_url)
    store.subscriptions.subscribe("telegram", "-100", "w")
    store.close()
    config = write_config(tmp_path, pg_url)
    target = tmp_path / "raqib.dump"
    if shutil.which("pg_dump") and shutil.which("pg_restore"):
        assert main(["backup", "--config", str(config), str(target)]) == 0
        assert "pg_dump custom format" in capsys.readouterr().out
        listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True).stdout
        assert "TABLE DATA" in listing and "subscriptions" in listing
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump: the command to run instead
    assert main(["backup", "--config", str(config), str(target), "--force"]) == 1
    err = capsys.readouterr().err
    assert "pg_dump --format=custom" in err and str(target) in err
