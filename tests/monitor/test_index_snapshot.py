"""Restarts: the dedup indexes come back from their snapshot or from the store, and no
copy slips through as new meanwhile (monitor.indexes, monitor.dedup.snapshot).

- A snapshot gives back indexes that decide every later story as the live ones do.
- A snapshot that is corrupt, truncated, written with other settings, or that names a
  story the store does not hold as it does (stale: a database restored or replaced) is
  refused and the indexes are rebuilt from the store.
- A process killed (SIGKILL) while it writes a snapshot leaves the previous one whole,
  and the next start is right.
- A story polled while the daemon rebuilds its indexes waits for them, and is folded
  with its copy stored before the restart.
"""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib import metadata
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from monitor.dedup import Clusterer, DedupSettings, EventGrouper, EventSettings
from monitor.dedup import snapshot as snapshots
from monitor.errors import StoreError
from monitor.indexes import IndexKeeper, _EventRebuild, prepared_path
from monitor.store import Store
from monitor.urls import canonical_url
from raqib.cli import main
from raqib.daemon import Daemon
from tests.support import sql
from tests.support.feedserver import feed_server  # noqa: F401  (fixture)
from tests.support.inprocess import close_daemons, make_daemon, poll

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parents[1] / "data"
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def labelled() -> list[dict]:
    with open(DATA / "dedup_labelled.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def filler(rng: random.Random, n: int) -> dict:
    """A story of random words: folds with nothing."""
    def words(k: int) -> str:
        return " ".join("".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 7))) for _ in range(k))
    return {"title": words(8), "summary": words(30), "url": f"https://filler.example/{n}"}


def store_stories(store: Store, stories: list[dict], now: float) -> list[int]:
    """Decide each story's cluster and event with fresh indexes, as the daemon did, and
    store it; the ids, in order."""
    c, g = Clusterer(), EventGrouper()
    ids = []
    with store.transaction() as conn:
        first = store.stories.next_id()
        for k, s in enumerate(stories):
            sid = first + k
            published = datetime.fromtimestamp(now - 3600 + k * 0.1, UTC)
            v = c.add(sid, title=s["title"], summary=s["summary"], url=s["url"], published=published)
            e = g.add(sid, cluster=v.cluster, title=s["title"], summary=s["summary"], source=s.get("source", "x"),
                      published=published)
            store.stories.insert(conn, {"id": sid, "feed": s.get("source", "x"), "guid": f"{sid}:{s['url']}", "url": s["url"],
                                      "canonical_url": canonical_url(s["url"]), "title": s["title"], "summary": s["summary"],
                                      "published": published.timestamp(), "fetched": now - 3600 + k * 0.1,
                                      "cluster": int(v.cluster), "event": int(e.event), "dedup_kind": v.kind})
            ids.append(sid)
    return ids


def decisions(c: Clusterer, g: EventGrouper, stories: list[dict], first_id: int, now: float) -> list:
    out = []
    for k, s in enumerate(stories):
        published = datetime.fromtimestamp(now + k, UTC)
        v = c.add(first_id + k, title=s["title"], summary=s["summary"], url=s["url"], published=published)
        e = g.add(first_id + k, cluster=v.cluster, title=s["title"], summary=s["summary"],
                  source=s.get("source", "x"), published=published)
        out.append((v, e))
    return out


@pytest.fixture
def stored(tmp_path):
    """A database holding the first half of the labelled stories and some filler."""
    now = time.time()
    stories = labelled()
    half = len(stories) // 2
    rng = random.Random(4)
    store = Store(tmp_path / "raqib.db")
    store_stories(store, stories[:half] + [filler(rng, n) for n in range(200)], now)
    yield store, stories[half:], now
    store.close()


def keeper(store: Store, path: Path | None, now: float, dedup: DedupSettings | None = None,
           event: EventSettings | None = None, **options: int) -> IndexKeeper:
    return IndexKeeper(store, dedup or DedupSettings(), event or EventSettings(), snapshot=path, clock=lambda: now,
                       **options)


def test_a_snapshot_decides_later_stories_as_the_rebuilt_indexes_do(stored, tmp_path, caplog):
    store, later, now = stored
    path = tmp_path / "raqib.db.index"
    first = keeper(store, path, now)
    c, g, seen = first.load()
    assert first.source == "rebuild" and seen == store.stories.last_id()
    assert first.save(c, g, seen)
    again = keeper(store, path, now)
    c2, g2, seen2 = again.load()
    assert again.source == "snapshot" and seen2 == seen
    assert len(c2) == len(c) and len(g2) == len(g)
    fresh = keeper(store, None, now)
    c3, g3, _ = fresh.load()
    assert decisions(c2, g2, later, seen + 1, now) == decisions(c3, g3, later, seen + 1, now)
    assert any(v.kind in ("near", "content") for v, _e in decisions(*keeper(store, path, now).load()[:2], later,
                                                                      seen + 1, now))


def test_stories_stored_after_the_snapshot_are_caught_up_from_the_store(stored, tmp_path):
    store, later, now = stored
    path = tmp_path / "raqib.db.index"
    k = keeper(store, path, now)
    c, g, seen = k.load()
    k.save(c, g, seen)
    # stored after the snapshot (by this daemon before a crash, or by another node)
    store_stories(store, later[:20], now + 60)
    c2, g2, seen2 = keeper(store, path, now + 60).load()
    assert seen2 == store.stories.last_id() > seen
    c3, g3, _ = keeper(store, None, now + 60).load()
    assert len(c2) == len(c3) and len(g2) == len(g3)
    assert decisions(c2, g2, later[20:], seen2 + 1, now + 60) == decisions(c3, g3, later[20:], seen2 + 1, now + 60)


@pytest.mark.slow
def test_a_large_window_rebuilds_its_event_index_in_a_process_of_its_own_as_it_would_here(stored, caplog):
    store, later, now = stored
    caplog.set_level(logging.INFO, logger="monitor.indexes")
    c1, g1, seen = keeper(store, None, now, parallel_from=10**9).rebuild()
    assert "apart=no" in caplog.text and "process of its own" not in caplog.text
    c2, g2, seen2 = keeper(store, None, now, parallel_from=1).rebuild()
    assert "event index rebuilt in a process of its own" in caplog.text and "apart=yes" in caplog.text
    assert seen2 == seen and len(g2) == len(g1) > 0 and len(c2) == len(c1)
    here, there = decisions(c1, g1, later, seen + 1, now), decisions(c2, g2, later, seen + 1, now)
    assert here == there
    assert any(e.kind == "related" for _v, e in here)  # the event index decides something
    assert store.path is not None  # the hand-over file was beside the database, and is gone
    assert not list(store.path.parent.glob("raqib-events-*.state"))


@pytest.mark.slow
def test_a_rebuild_apart_that_cannot_read_the_same_database_is_done_here(stored, caplog):
    store, later, now = stored
    caplog.set_level(logging.INFO, logger="monitor.indexes")
    want = decisions(*keeper(store, None, now, parallel_from=10**9).rebuild()[:2], later, store.stories.last_id() + 1, now)
    path = store.path
    assert path is not None
    moved = path.with_name("moved.db")
    os.rename(path, moved)  # this process reads on through its open file; another finds none there
    try:
        c, g, seen = keeper(store, None, now, parallel_from=1).rebuild()
    finally:
        os.rename(moved, path)
    assert "event index rebuild in a process of its own failed, rebuilding here" in caplog.text
    assert "does not hold the stories" in caplog.text
    assert decisions(c, g, later, seen + 1, now) == want


@pytest.mark.slow
@pytest.mark.parametrize("when", ["at once", "once its process is started", "while it waits for its process"])
def test_a_rebuild_given_up_at_stop_ends_at_once_and_rebuilds_nothing_here(stored, caplog, when):
    """A daemon stopped during its start's rebuild: the rebuild ends with StoreError (its
    loader gives up, nothing is decided against a partial window), the process of its own
    is stopped rather than waited for, and nothing claims the event index is rebuilt here."""
    store, _later, now = stored
    caplog.set_level(logging.INFO, logger="monitor")
    k = keeper(store, None, now, parallel_from=1)
    outcome: list[object] = []

    def rebuild() -> None:
        try:
            outcome.append(k.rebuild())
        except StoreError as exc:
            outcome.append(exc)

    assert store.path is not None
    handovers = store.path.parent.glob  # the hand-over file is made beside the database
    loader = threading.Thread(target=rebuild)
    loader.start()
    deadline = time.monotonic() + 10

    def started() -> list[multiprocessing.process.BaseProcess]:
        return [p for p in multiprocessing.active_children() if p.name == "raqib-event-rebuild"]

    if when != "at once":  # the process is paused as soon as it runs: it cannot answer before the stop
        while not started() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert started() and started()[0].pid is not None and list(handovers("raqib-events-*.state"))
        os.kill(started()[0].pid, signal.SIGSTOP)
    if when == "while it waits for its process":  # the copy index is done here, the event index not there
        while "dedup index rebuilt" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.001)
        assert "dedup index rebuilt" in caplog.text and "event index rebuilt in a process" not in caplog.text
    k.stop()
    loader.join(10)
    assert not loader.is_alive()
    assert isinstance(outcome[0], StoreError) and "stopping" in str(outcome[0])
    assert "rebuilding here" not in caplog.text and "dedup indexes rebuilt" not in caplog.text
    assert not started()
    assert not list(handovers("raqib-events-*.state"))


@pytest.mark.slow
def test_a_rebuild_apart_whose_daemon_is_gone_removes_its_hand_over_file(stored):
    """A daemon killed during its rebuild cannot remove the file its event rebuild writes
    to: the rebuild finds nobody to tell, and removes the file itself."""
    store, _later, now = stored
    assert store.path is not None
    helper = _EventRebuild(str(store.path), EventSettings(), now - 72 * 3600, store.stories.last_id(), 1,
                           folder=store.path.parent)
    made = Path(helper.path)
    assert made.parent == store.path.parent and made.exists()
    helper.answer.close()  # the daemon's end of the pipe, as a killed daemon leaves it
    helper.process.join(60)
    assert helper.process.exitcode == 0
    assert not made.exists()
    helper.close()


def test_an_index_handed_over_holds_plain_values_only(tmp_path):
    g = EventGrouper()
    g.add(1, cluster=1, title="بوتين يزور كورسك", summary="زيارة مفاجئة إلى المنطقة الحدودية", source="a")
    path = tmp_path / "state"
    with open(path, "wb") as f:
        snapshots.dump_state(f, g.state())
    with open(path, "rb") as f:
        again = EventGrouper.from_state(snapshots.load_state(f))
    assert len(again) == 1 and again.state()["_names"] == g.state()["_names"]
    path.write_bytes(pickle.dumps({"x": Path("/")}))  # a class: refused, never looked up
    with open(path, "rb") as f, pytest.raises(ValueError, match="refused"):
        snapshots.load_state(f)
    path.write_bytes(path.read_bytes()[:5])
    with open(path, "rb") as f, pytest.raises(ValueError):
        snapshots.load_state(f)


@pytest.mark.parametrize("damage", ["flip", "truncate", "append", "empty", "garbage", "settings", "stale",
                                    "replaced", "format1"])
def test_a_stale_or_corrupt_snapshot_is_refused_and_the_store_rebuilds(stored, tmp_path, damage, caplog):
    store, later, now = stored
    path = tmp_path / "raqib.db.index"
    k = keeper(store, path, now)
    c, g, seen = k.load()
    assert k.save(c, g, seen)
    data = bytearray(path.read_bytes())
    dedup, event = DedupSettings(), EventSettings()
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        del data[len(data) - 100:]
    elif damage == "append":
        data += b"\0" * 10
    elif damage == "empty":
        data = bytearray()
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    elif damage == "settings":
        dedup = DedupSettings(title_alone=91)
    elif damage == "format1":  # the layout before the shared window: its columns are named otherwise
        data[len(snapshots.MAGIC) - 1] = 1
    path.write_bytes(bytes(data))
    if damage == "stale":  # the database went back: a restored backup lacks the snapshot's newest story
        sql.delete_stories(store, id=seen)
    if damage == "replaced":  # another database under the same name: same id, another story
        sql.set_stories(store, {"id": seen}, title="قصة أخرى تماما")
    caplog.set_level(logging.INFO, logger="monitor.indexes")
    k2 = keeper(store, path, now, dedup, event)
    c2, g2, seen2 = k2.load()
    assert k2.source == "rebuild"
    assert "index snapshot refused" in caplog.text
    c3, g3, _ = keeper(store, None, now, dedup, event).load()
    assert len(c2) == len(c3) and len(g2) == len(g3)
    assert decisions(c2, g2, later, seen2 + 1, now) == decisions(c3, g3, later, seen2 + 1, now)


def test_a_snapshot_written_with_another_stemmer_is_refused(stored, tmp_path, monkeypatch, caplog):
    """An upgrade of a library that reads the words (the stemmer here; Babel's place names,
    Unicode's tables) changes the terms of the stories indexed from then on: the indexes
    built with the old one are not to be mixed with them."""
    store, later, now = stored
    path = tmp_path / "raqib.db.index"
    k = keeper(store, path, now)
    assert k.save(*k.load())
    installed = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "3.0.0" if name == "PyStemmer" else installed(name))
    monkeypatch.setattr(snapshots, "_CODE", None)  # the code's digest, as a new process works it out
    caplog.set_level(logging.INFO, logger="monitor.indexes")
    k2 = keeper(store, path, now)
    k2.load()
    assert k2.source == "rebuild" and "index snapshot refused" in caplog.text


def test_indexes_prepared_for_an_upgrade_are_taken_at_the_next_start_and_caught_up(stored, tmp_path, caplog):
    """`raqib index` before an upgrade's restart: the running daemon (the old settings or
    code) keeps writing its own snapshot and storing stories; the new one refuses that
    snapshot, takes the prepared indexes, indexes what was stored since, and decides as
    a rebuild with the new settings would."""
    store, later, now = stored
    path = tmp_path / "raqib.db.index"
    old = keeper(store, path, now)
    c, g, seen = old.load()
    assert old.save(c, g, seen)
    new = DedupSettings(title_alone=91)  # the upgrade: what is indexed changes
    prep = keeper(store, prepared_path(path, new, EventSettings()), now, new)
    assert prep.save(*prep.rebuild())
    store_stories(store, later[:20], now + 60)  # stored by the old daemon meanwhile
    assert old.save(*old.load())  # which also writes its snapshot again
    caplog.set_level(logging.INFO, logger="monitor.indexes")
    k = keeper(store, path, now + 60, new)
    c2, g2, seen2 = k.load()
    assert k.source == "snapshot" and seen2 == store.stories.last_id() > seen
    assert "caught_up=20" in caplog.text
    assert not prepared_path(path, new, EventSettings()).exists()  # it took the snapshot's place
    assert keeper(store, path, now + 60, new).load() and "index snapshot loaded" in caplog.text
    c3, g3, _ = keeper(store, None, now + 60, new).load()
    assert len(c2) == len(c3) and len(g2) == len(g3)
    assert decisions(c2, g2, later[20:], seen2 + 1, now + 60) == decisions(c3, g3, later[20:], seen2 + 1, now + 60)


@pytest.mark.parametrize("case", ["other settings", "damaged", "stale"])
def test_prepared_indexes_are_trusted_on_the_terms_of_a_snapshot(stored, tmp_path, case, caplog):
    store, _later, now = stored
    path = tmp_path / "raqib.db.index"
    prepared = prepared_path(path, DedupSettings(), EventSettings())
    if case == "other settings":  # under this code's name, written by other settings
        prep = keeper(store, prepared, now, DedupSettings(title_alone=91))
    else:
        prep = keeper(store, prepared, now)
    assert prep.save(*prep.rebuild())
    if case == "damaged":
        data = bytearray(prepared.read_bytes())
        data[len(data) // 2] ^= 0x40
        prepared.write_bytes(bytes(data))
    if case == "stale":  # the database went back after it was prepared
        sql.delete_stories(store, id=store.stories.last_id())
    caplog.set_level(logging.INFO, logger="monitor.indexes")
    k = keeper(store, path, now)
    k.load()
    assert k.source == "rebuild"
    assert f"index snapshot refused path={prepared}" in caplog.text


def test_a_snapshot_that_serves_removes_a_prepared_one(stored, tmp_path):
    store, _later, now = stored
    path = tmp_path / "raqib.db.index"
    k = keeper(store, path, now)
    assert k.save(*k.load())
    mine = prepared_path(path, DedupSettings(), EventSettings())
    theirs = prepared_path(path, DedupSettings(title_alone=91), EventSettings())  # for an upgrade to come
    mine.write_bytes(path.read_bytes())
    theirs.write_bytes(path.read_bytes())
    again = keeper(store, path, now)
    again.load()
    assert again.source == "snapshot" and not mine.exists() and theirs.exists()


WRITER = """
import sys, time
from pathlib import Path
from monitor.dedup import snapshot as snapshots
from monitor.indexes import IndexKeeper
from monitor.dedup import DedupSettings, EventSettings
from monitor.store import Store
store = Store(Path(sys.argv[1]))
k = IndexKeeper(store, DedupSettings(), EventSettings(), snapshot=Path(sys.argv[2]), clock=lambda: float(sys.argv[3]))
c, g, seen = k.load()
print("ready", flush=True)
while True:
    k.save(c, g, seen)
"""


def test_sigkill_while_a_snapshot_is_written_leaves_the_next_start_right(stored, tmp_path):
    store, later, now = stored
    path = tmp_path / "raqib.db.index"
    db = tmp_path / "raqib.db"
    k = keeper(store, path, now)
    c, g, seen = k.load()
    expected = decisions(*keeper(store, None, now).load()[:2], later, seen + 1, now)
    rng = random.Random(9)
    for attempt in range(6):
        if attempt % 2:
            path.unlink(missing_ok=True)  # killed during the very first write too
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(path), str(now)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        k2 = keeper(store, path, now)
        c2, g2, _ = k2.load()
        assert decisions(c2, g2, later, seen + 1, now) == expected


def rss(items: list[dict]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>']
    for it in items:
        out.append(f'<item><title>{escape(it["title"])}</title><link>{escape(it["url"])}</link>'
                   f'<guid>{escape(it["url"])}</guid><pubDate>{format_datetime(it["published"])}</pubDate>'
                   f'<description>{escape(it["summary"])}</description></item>')
    out.append("</channel></rss>")
    return "".join(out)


async def test_a_story_polled_during_the_rebuild_is_folded_with_its_copy_stored_before(tmp_path, feed_server,
                                                                                      caplog):
    made: list[Daemon] = []
    try:
        # The first start stores the original, with enough other stories that the rebuild
        # at the next start takes a while.
        original = {"title": "الكرملين ينفي أي دور في تسميم العميل الروسي المزدوج سكريبال في بريطانيا",
                    "summary": "أعلن المتحدث باسم الكرملين أن موسكو ليس لها أي دور في تسميم الجاسوس الروسي "
                               "المزدوج السابق سيرغي سكريبال في بريطانيا وطالب لندن بتقديم أدلة على اتهاماتها",
                    "url": "https://sky.example/kremlin", "source": "sky"}
        daemon, _console, config = make_daemon(made, tmp_path, {"copy": feed_server.url("/copy.xml")},
                                               extra="dedup: {snapshot: 'off'}")
        rng = random.Random(5)
        now = time.time()
        store_stories(daemon.store, [filler(rng, n) for n in range(3000)] + [original], now)
        original_id = daemon.store.stories.last_id()
        await close_daemons(made)
        # Another outlet's copy, in its own feed, polled as the restarted daemon loads.
        copy = {"title": "عاجل | الكرملين ينفي أي دور في تسميم العميل الروسي المزدوج سكريبال",
                "summary": original["summary"], "url": "https://other.example/kremlin-copy",
                "published": datetime.now(UTC) - timedelta(minutes=1)}
        feed_server.route("/copy.xml", text=rss([copy]))
        caplog.set_level(logging.INFO)
        daemon = make_daemon(made, tmp_path, {"copy": feed_server.url("/copy.xml")},
                             extra="dedup: {snapshot: 'off'}")[0]
        loading = asyncio.create_task(daemon.indexes_loaded())
        await asyncio.sleep(0.05)
        assert not daemon.indexes_ready  # the rebuild runs behind
        await poll(daemon, "copy")  # polled now: its ingest waits for the indexes
        assert loading.done() and daemon.indexes_ready
        row = daemon.store.stories.after(original_id, 1)[0]
        assert row.url == copy["url"]
        assert row.cluster == original_id  # folded with the copy stored before the restart
    finally:
        await close_daemons(made)


async def test_a_rebuild_at_start_is_snapshotted_at_once(tmp_path, feed_server):
    """The slow start (no snapshot) is written to a snapshot as soon as it is done, so a
    crash soon after costs no second rebuild."""
    made: list[Daemon] = []
    try:
        daemon = make_daemon(made, tmp_path, {"copy": feed_server.url("/copy.xml")})[0]
        store_stories(daemon.store, [filler(random.Random(7), n) for n in range(200)], time.time())
        await close_daemons(made)
        snapshot = tmp_path / "raqib.db.index"
        snapshot.unlink(missing_ok=True)
        daemon = make_daemon(made, tmp_path, {"copy": feed_server.url("/copy.xml")})[0]
        await daemon.indexes_loaded()
        assert daemon.indexes.source == "rebuild"
        for _ in range(100):
            if snapshot.exists():
                break
            await asyncio.sleep(0.05)
        assert snapshot.exists()
        keeper = IndexKeeper(daemon.store, daemon.settings.dedup, daemon.settings.event, snapshot=snapshot)
        keeper.load()
        assert keeper.source == "snapshot"  # and the next start would load it
    finally:
        await close_daemons(made)


async def test_raqib_index_beside_the_running_daemon_makes_the_upgraded_start_a_snapshot_start(tmp_path, feed_server,
                                                                                               capsys, caplog):
    """The upgrade recipe: `raqib index` with the new code and settings while the old
    daemon runs on and stores stories, then the restart: the indexes come from what was
    prepared, caught up with what the old daemon stored since, not rebuilt."""
    made: list[Daemon] = []
    upgrade = "dedup: {title_alone: 91}"  # what is indexed changes, as with new dedup code
    try:
        daemon, _console, config = make_daemon(made, tmp_path, {"copy": feed_server.url("/copy.xml")})
        await daemon.indexes_loaded()
        store_stories(daemon.store, [filler(random.Random(8), n) for n in range(300)], time.time())
        upgraded = tmp_path / "upgraded.yaml"
        upgraded.write_text(config.read_text(encoding="utf-8") + upgrade + "\n", encoding="utf-8")
        assert await asyncio.to_thread(main, ["index", "--config", str(upgraded)]) == 0
        assert "indexes of 300 stories" in capsys.readouterr().out
        store_stories(daemon.store, [filler(random.Random(9), n) for n in range(7)], time.time())
        await close_daemons(made)  # the old daemon writes its own snapshot at its stop
        caplog.set_level(logging.INFO, logger="monitor.indexes")
        daemon = make_daemon(made, tmp_path, {"copy": feed_server.url("/copy.xml")}, extra=upgrade)[0]
        await daemon.indexes_loaded()
        assert daemon.indexes.source == "snapshot" and "caught_up=7" in caplog.text
        assert len(daemon.clusterer) == 307
        assert (tmp_path / "raqib.db.index").exists()  # what was prepared is now the snapshot
        assert not [p for p in tmp_path.iterdir() if p.name.startswith("raqib.db.index.")]
    finally:
        await close_daemons(made)
    off = tmp_path / "off.yaml"
    off.write_text(config.read_text(encoding="utf-8").replace(upgrade, "dedup: {snapshot: 'off'}"), encoding="utf-8")
    assert main(["index", "--config", str(off)]) == 1
    assert f"{off}: the indexes have no snapshot file here" in capsys.readouterr().err
    old = tmp_path / "old" / "raqib.db"  # an earlier release's database: the start migrates it, then indexes
    old.parent.mkdir()
    old.write_bytes((DATA / "release-0.1.db").read_bytes())
    (old.parent / "raqib.yaml").write_text(f"database: {old}\nfeeds: []\nwatchlists: {old.parent}\n", encoding="utf-8")
    assert main(["index", "--config", str(old.parent / "raqib.yaml")]) == 1
    assert "is not yet migrated to this release" in capsys.readouterr().err
    assert not [p for p in old.parent.iterdir() if ".index" in p.name]


@pytest.mark.skipif(os.geteuid() != 0, reason="gives a file to another user: root only")
def test_raqib_index_run_as_root_gives_its_file_to_the_owner_of_the_state_folder(tmp_path, capsys):
    """systemd runs the daemon as a user of its own (DynamicUser); `sudo raqib index`
    must leave a file that user can read."""
    state = tmp_path / "state"
    state.mkdir()
    store = Store(state / "raqib.db")
    store_stories(store, [filler(random.Random(3), n) for n in range(50)], time.time())
    store.close()
    os.chown(state, 65534, 65534)
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {state / 'raqib.db'}\nfeeds: []\nwatchlists: {tmp_path}\n", encoding="utf-8")
    assert main(["index", "--config", str(config)]) == 0
    [prepared] = [p for p in state.iterdir() if p.name.startswith("raqib.db.index.")]
    assert (prepared.stat().st_uid, prepared.stat().st_gid) == (65534, 65534)
    assert prepared.stat().st_mode & 0o777 == 0o600


def test_a_rebuild_finds_the_same_url_whether_or_not_the_row_kept_its_canonical_form(tmp_path):
    """A rebuild reads the canonical URL the pipeline stored beside each story; a row
    stored before it was kept ('') is canonicalised again: both still catch a repost."""
    now = time.time()
    store = Store(tmp_path / "raqib.db")
    try:
        with store.transaction() as conn:
            for sid, url, canon in ((1, "https://www.example.com/a?utm_source=x", "https://example.com/a"),
                                    (2, "http://example.com/b?utm_medium=feed", "")):
                store.stories.insert(conn, {"id": sid, "feed": "x", "guid": str(sid), "url": url,
                                            "canonical_url": canon, "title": f"عنوان الخبر رقم {sid} كاملا",
                                            "summary": "", "published": now - 60, "fetched": now - 60,
                                            "cluster": sid, "event": sid, "dedup_kind": "new"})
        c, _g, _seen = keeper(store, None, now).load()
        for sid, url in ((1, "https://example.com/a"), (2, "https://www.example.com/b?utm_campaign=y")):
            v = c.add(10 + sid, title="نص آخر تماما لا يشبه شيئا", url=url,
                      published=datetime.fromtimestamp(now, UTC))
            assert (v.kind, v.cluster) == ("same", sid)
    finally:
        store.close()
