"""The second round of attacks (issue: no client, feed or node stalls the others), one
test per finding, each asserting the figure the fix promises. The through-the-daemon
and PostgreSQL cases are in tests/system/test_attacks_daemon.py."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import psycopg
import pytest
import pytest_asyncio

from monitor.dedup import Clusterer
from monitor.desk import Budget, search_stories, try_watchlist
from monitor.errors import StoreError
from monitor.pipeline import Pipeline
from monitor.settings import PollSettings, parse_web_auth
from monitor.store import DatabaseLock, IngestLockBusy, SearchWord, Store
from monitor.store.worker import StoreThread
from raqib.cli import main
from raqib.web import server
from raqib.web.auth import Authenticator, Busy, hash_password
from tests.monitor.test_pipeline import RUSSIA, Registry, story
from tests.raqib.test_cli import fill, write_config
from tests.support import pg, sql
from tests.support.daemon_harness import ROOT, Daemon, closed_by_peer, idle_sockets, wait_for
from tests.support.inprocess import close_daemons, make_daemon
from tests.support.pg import pg_url, server_url  # noqa: F401  (the fixture)
from tests.support.web_site import desk_site

pytestmark = pytest.mark.usefixtures("restore_logging")


# -- 13: a bad query parameter is one INFO line ------------------------------------------

@pytest_asyncio.fixture
async def site(tmp_path):
    async with desk_site(tmp_path) as s:
        yield s


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/search?q=x&days=nan", "/?day=9999-99-99", "/search?q=x&days=inf"])
async def test_13_a_bad_parameter_is_400_and_one_info_line(site, caplog, path):
    caplog.set_level(logging.INFO)
    caplog.clear()
    r = await site.client.get(path)
    assert r.status_code == 400
    mine = [rec for rec in caplog.records if rec.name.startswith(("raqib", "uvicorn", "starlette"))]
    assert [rec.levelno for rec in mine] == [logging.INFO], [(r.levelname, r.getMessage()) for r in mine]
    assert not any(rec.exc_info for rec in caplog.records)


# -- 9: the SQLite lock is the file's, however it is named -------------------------------

def test_09_a_second_daemon_through_a_file_symlink_is_refused(tmp_path):
    db = tmp_path / "state" / "raqib.db"
    fill(db)
    link = tmp_path / "other.db"
    link.symlink_to(db)
    first = DatabaseLock(db)
    try:
        with pytest.raises(StoreError, match="in use by another raqib daemon"):
            DatabaseLock(link)
        with pytest.raises(StoreError, match="in use by another raqib daemon"):
            Store(link, exclusive=True)
    finally:
        first.release()


# -- 10: migrate-db --replace into a SQLite target that holds rows ------------------------

def test_10_migrate_db_replace_into_a_filled_sqlite_target(tmp_path, capsys):
    source, target = tmp_path / "a" / "raqib.db", tmp_path / "b" / "raqib.db"
    fill(source, stories=3)
    fill(target, stories=5)
    assert main(["migrate-db", "--from", str(source), "--to", str(target), "--replace"]) == 0, capsys.readouterr().err
    store = Store(target, readonly=True)
    try:
        assert sql.story_count(store) == 3
        found = store.desk.search_candidates([[SearchWord("بوتين")]], limit=100) or []
        assert sorted(r.id for r in found) == [1, 2, 3]  # the index holds the copied stories only
    finally:
        store.close()


# -- 12: backup refuses the live database and files not its own ---------------------------

def test_12_backup_refuses_the_live_database_and_a_config(tmp_path, capsys):
    config = write_config(tmp_path)
    db = tmp_path / "state" / "raqib.db"
    fill(db)
    before = db.read_bytes()
    assert main(["backup", "--config", str(config), str(db)]) == 1
    assert "onto itself" in capsys.readouterr().err
    assert db.read_bytes() == before
    os.chmod(config, 0o644)
    text = config.read_text()
    assert main(["backup", "--config", str(config), str(config)]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    assert (config.stat().st_mode & 0o777) == 0o644 and config.read_text() == text
    copy = tmp_path / "copy.db"
    assert main(["backup", "--config", str(config), str(copy)]) == 0
    assert main(["backup", "--config", str(config), str(copy)]) == 1  # an earlier copy: only with --force
    assert main(["backup", "--config", str(config), "--force", str(copy)]) == 0  # its own earlier copy is replaced
    capsys.readouterr()


# -- 2, 3, 6: the daemon's web server under floods, and web.auth on reload -----------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serving(port: int, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers or {}) as client:
        for _ in range(300):
            try:
                return await client.get("/watchlists")
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
    raise AssertionError("the web view never answered")


@pytest.mark.asyncio
async def test_06_web_auth_applies_on_reload_and_restart_only_settings_are_named(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = _free_port()
    made: list = []
    old, new = "token:" + "a" * 20, "token:" + "b" * 20
    daemon, _, path = make_daemon(made, tmp_path, {}, extra=f"web:\n  listen: 127.0.0.1:{port}\n  auth: '{old}'\n")
    run = asyncio.create_task(daemon.run(seconds=30))
    try:
        assert (await _serving(port, {"authorization": "Bearer " + "a" * 20})).status_code == 200
        path.write_text(path.read_text().replace(old, new).replace("poll: {", "poll: {timeout: 33, "),
                        encoding="utf-8")
        assert await daemon.reload() == []
        assert (await _serving(port, {"authorization": "Bearer " + "a" * 20})).status_code == 401
        assert (await _serving(port, {"authorization": "Bearer " + "b" * 20})).status_code == 200
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("apply at restart only keys=poll.timeout" in w for w in warnings), warnings
        assert not any("web.auth" in w for w in warnings)
    finally:
        daemon.stop()
        await asyncio.wait_for(run, 15)
        made.clear()


@pytest.mark.asyncio
async def test_03_idle_sockets_never_crowd_out_a_page_and_are_closed(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "IDLE_TIMEOUT", 1.0)  # the bound itself, shortened: not a project function
    port = _free_port()
    made: list = []
    daemon, _, _ = make_daemon(made, tmp_path, {}, extra=f"web:\n  listen: 127.0.0.1:{port}\n")
    run = asyncio.create_task(daemon.run(seconds=60))
    idle: list[socket.socket] = []
    try:
        await _serving(port)
        idle_sockets(port, 300, idle)  # more than MAX_CONNECTIONS, none sending a byte
        await asyncio.sleep(0.3)
        started = time.monotonic()
        r = await _serving(port)
        assert r.status_code == 200 and time.monotonic() - started < 5
        await asyncio.sleep(2.5)  # past IDLE_TIMEOUT: every idle socket was closed by the server
        assert closed_by_peer(idle) == len(idle)
    finally:
        for s in idle:
            s.close()
        daemon.stop()
        await asyncio.wait_for(run, 15)
        made.clear()


@pytest.mark.asyncio
async def test_02_password_checks_run_two_at_a_time_and_a_flood_is_answered_503(tmp_path):
    auth = parse_web_auth(hash_password("the right one", n=2**14), ValueError)
    guard = Authenticator(auth)
    threads_before = threading.active_count()
    wrong = [guard.verify(f"wrong {i}") for i in range(40)]
    results = await asyncio.gather(*wrong, return_exceptions=True)
    busy = sum(isinstance(r, Busy) for r in results)
    assert busy == 40 - 16  # at most WAITING (16) wait or run; the rest are answered at once
    assert all(r is False or isinstance(r, Busy) for r in results)
    assert threading.active_count() - threads_before <= 2  # the derivations' own two threads
    assert await guard.verify("wrong 0") is False  # a repeated wrong guess costs nothing
    assert await guard.verify("the right one") is True and guard.remembered("the right one")
    guard.close()


# -- 5, 7: tries and searches within a budget ----------------------------------------------

def _many_stories(path: Path, n: int) -> Store:
    """`n` stories, each holding words that end with ات, fetched over the last day."""
    store = Store(path)
    now = time.time()
    with store.transaction() as conn:
        for i in range(1, n + 1):
            store.stories.insert(conn, {"feed": f"f{i % 7}", "guid": f"g{i}", "url": f"https://x.example/{i}",
                                      "title": f"تصريحات ومفاوضات جديدة رقم {i}", "summary": "اجتماعات الحكومة",
                                      "fetched": now - 3600 + i * 0.01, "cluster": i})
    return store


def test_07_a_short_suffix_reads_no_more_than_the_budget(tmp_path):
    store = _many_stories(tmp_path / "raqib.db", 3000)
    try:
        result = search_stories(store, "ات", limit=1000, budget=Budget(stories=1000))
        assert result.narrowed and result.scanned <= 1000
        assert not result.complete and result.stopped == "stories"
    finally:
        store.close()


WIDE = """name: wide
terms:
  - {regex: '(?:ت|ص|ر|ي|ح|ا|ن|م|و|ف|ض|د|ج|ة|ع|ل|ك|س|ه|ق)+(?:ات)'}
"""


def test_05_a_try_stops_at_its_deadline_when_cancelled_and_past_its_terms(tmp_path):
    store = _many_stories(tmp_path / "raqib.db", 3000)
    try:
        started = time.monotonic()
        report = try_watchlist(store, WIDE, days=2, budget=Budget(seconds=0.05))
        assert report.stopped == "time" and report.read < 3000 and time.monotonic() - started < 2
        cancelled = Budget()
        cancelled.cancelled.set()
        assert try_watchlist(store, WIDE, days=2, budget=cancelled).stopped == "cancelled"
        many = "name: many\nterms:\n" + "".join(f"  - كلمة{i}\n" for i in range(300))
        started = time.monotonic()
        report = try_watchlist(store, many, days=2, budget=Budget(terms=200))
        assert report.stopped == "terms" and report.read == 0 and time.monotonic() - started < 1
        assert try_watchlist(store, WIDE, days=2).stopped == ""  # the command line: no budget, it reads all
    finally:
        store.close()


# -- 8: nodes that disagree on watchlists or settings are reported -------------------------

@pytest.mark.asyncio
async def test_08_a_node_with_other_watchlists_is_a_warning_a_status_line_and_a_metric(tmp_path, caplog, capsys):
    caplog.set_level(logging.INFO)
    made: list = []
    daemon, _, config = make_daemon(made, tmp_path, {})
    try:
        now = daemon.clock()
        daemon.heartbeat()
        mine = daemon.config_hash()
        assert daemon.store.nodes.all()[0].config_hash == mine
        for name, digest in (("node-b", mine), ("node-c", "0" * 16)):  # c runs an older copy of a watchlist
            daemon.store.nodes.seen(name, host="h", pid=1, started=now, now=now, roles=(), feeds_in_flight=0,
                                   alerts_in_flight=0, polls=0, config_hash=digest)
        daemon.heartbeat()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("nodes disagree on watchlists or settings differ=node-c:" + "0" * 16 in w for w in warnings)
        status = daemon.status()
        assert [n["name"] for n in status["nodes"] if n["config_differs"]] == ["node-c"]
        assert (await daemon.gauges())["raqib_nodes_config_differs"] == 1
        daemon.heartbeat()  # said once, not at every heartbeat
        assert sum("nodes disagree" in r.getMessage() for r in caplog.records) == 1
        assert main(["status", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "1 with different watchlists or settings" in out and "node-c" in out and "DIFFER" in out
    finally:
        await close_daemons(made)


# -- 11: a schema dropped under a running daemon stops it with a clear error ---------------

def test_11_a_dropped_postgresql_schema_stops_the_daemon_which_a_restart_repairs(tmp_path, pg_url):
    schema = unquote(pg_url.rpartition("search_path%3D")[2] or pg_url.rpartition("search_path=")[2])
    (tmp_path / "wl").mkdir()
    (tmp_path / "wl" / "w.yaml").write_text("name: w\nterms: [بوتين]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: '{pg_url}'\nwatchlists: {tmp_path / 'wl'}\nfeeds: []\n"
                      "node:\n  heartbeat: 0.5\n", encoding="utf-8")
    daemon = Daemon(config, tmp_path / "logs")
    try:
        # running, its indexes loaded (they load behind the start; a schema dropped while they
        # read it stops the daemon at that read instead of at the heartbeat's check)
        wait_for(lambda: "node started" in daemon.stderr() and "dedup indexes ready" in daemon.stderr(), 30, 0.1,
                 "the daemon running")
        with psycopg.connect(server_url(), autocommit=True) as conn:
            pg.drop_schema_now(conn, schema)
            pg.create_schema(conn, schema)
        assert daemon.proc.wait(25) == 1  # the schema is looked at every 10 s
        err = daemon.stderr()
        assert "database schema missing, stopping" in err and "a restart creates it" in err
    finally:
        daemon.kill()
    again = Daemon(config, tmp_path / "logs", tag="again")
    try:
        wait_for(lambda: "node started" in again.stderr(), 30, 0.1, "the restarted daemon running")
        assert again.proc.poll() is None
    finally:
        assert again.stop(20) == 0


# -- 1, 4: the ingest lock bounded in time, one feed's ingest bounded in size --------------

def test_04_a_poll_takes_at_most_max_new_items_and_the_rest_come_with_the_next_polls(tmp_path):
    store = Store(tmp_path / "raqib.db")
    p = Pipeline(store, Registry([RUSSIA]), Clusterer(), channels=("console",), poll=PollSettings(max_new_items=500))
    items = [story("renewing", str(i), title=f"خبر {i} عن بوتين", summary="", minutes=i) for i in range(1300)]
    try:
        counts = []
        for _ in range(4):
            result = p.ingest("renewing", items)
            counts.append((result.new, result.deferred))
        assert counts == [(500, 800), (500, 300), (300, 0), (0, 0)]  # the oldest first, nothing lost
    finally:
        store.close()


@pytest.mark.asyncio
async def test_01_a_frozen_holder_of_the_ingest_lock_loses_it_and_the_waiter_keeps_its_store_thread(pg_url, caplog):
    frozen, waiting = Store(pg_url, node="node-frozen"), Store(pg_url, node="node-waiting")
    hold = threading.Event()

    def freeze() -> None:  # a node paused while it holds the lock: its session sits idle in a transaction
        try:
            with frozen.transaction():
                frozen.take_ingest_lock()
                hold.set()
                time.sleep(25)
        except StoreError:
            pass  # the server ended the session

    threading.Thread(target=freeze, daemon=True).start()
    assert hold.wait(10)
    thread = StoreThread()
    p = Pipeline(waiting, Registry([RUSSIA]), Clusterer(), channels=("console",))
    try:
        started = time.monotonic()
        ingest = asyncio.ensure_future(p.ingest_off_loop("agency", [story("agency", "1")], thread))
        await asyncio.sleep(0.5)
        asked = time.monotonic()
        await thread(waiting.counts, time.time())  # what a delivery or a page asks meanwhile
        assert time.monotonic() - asked < 1.0 and not ingest.done()
        holder = await thread(waiting.ingest_lock_holder)
        assert holder.startswith("raqib node-frozen (pid ") and "idle in transaction for" in holder, holder
        caplog.set_level(logging.WARNING, logger="monitor.pipeline")
        result = await asyncio.wait_for(ingest, 20)
        took = time.monotonic() - started
        assert result.new == 1 and took < 12.5, took  # idle_in_transaction_session_timeout: 10 s
        # the wait, past LOCK_WARN (5 s), was said with the node that held the lock
        assert "ingest waiting for the lock another node holds feed=agency" in caplog.text
        assert "holder=raqib node-frozen (pid " in caplog.text
        assert await thread(waiting.ingest_lock_holder) == ""
    finally:
        thread.close()
        waiting.close()


FROZEN_MID_READ = f"""
import sys
from monitor.store import Store
store = Store(sys.argv[1])
with store.transaction() as conn:
    store.take_ingest_lock()
    print("held", flush=True)
    conn.execute({pg.LONG_RESULT!r}).fetchall()
"""


def test_01_a_node_frozen_while_the_server_sends_it_a_result_loses_the_ingest_lock(pg_url):
    """Frozen mid-read, the session stays "active" (ClientWrite), which no idle timeout
    covers; the server's tcp_user_timeout (15 s) ends it."""
    holder = subprocess.Popen([sys.executable, "-c", FROZEN_MID_READ, pg_url], stdout=subprocess.PIPE, text=True,
                              cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        time.sleep(1.0)
        holder.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        other = Store(pg_url)
        try:
            while True:
                try:
                    with other.transaction():
                        other.take_ingest_lock()
                    break
                except IngestLockBusy:
                    assert time.monotonic() - frozen < 25, "the frozen node kept the ingest lock"
        finally:
            other.close()
        assert time.monotonic() - frozen < 20
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
