"""The daemon's dedup indexes over the window: loaded at start, saved while running.

At start (`IndexKeeper.load`, run in a thread of its own while the daemon starts its
other work), in this order:

1. **snapshot** — when a snapshot file is configured and exists, it is read
   (`monitor.dedup.snapshot`: whole, same settings, same code) and checked against the
   store: the story it names as its newest (`mark`) must be stored with the same digest.
   Then the stories stored after `mark` are read from the store and indexed with their
   stored clusters and events (`learn`, deciding nothing again). Entries older than the
   window go at the daemon's next pruning, as they would have without the restart. A
   snapshot refused for any reason is logged with the reason (`index snapshot refused
   path=... reason=...`) and never used. Then, when there is one, the snapshot `raqib
   index` prepared for this code and these settings (`prepared_path`: built ahead of an
   upgrade's restart while the previous daemon ran on) is tried on the same terms; taken,
   it replaces the snapshot. A prepared one left beside a snapshot that served is removed.
2. **rebuild** — otherwise both indexes are rebuilt from the window's stories (read
   from the store in pages, oldest first), with their stored clusters and events; the
   event index drops what falls out of its own window as it goes, and does not index the
   stories fetched before its window (read for their copies, `copy_hours`): of those it
   keeps which event each cluster belongs to and their terms' document frequencies.
   With `PARALLEL_FROM` stories or more in the window, on a database another process
   can open (a file or a PostgreSQL URL), the event index is rebuilt in a process of its
   own (a read-only connection, the same rows) while this one rebuilds the copy index:
   the two take about as long, so on two cores the rebuild takes about half the time.
   Its index comes back through a temporary file beside the database, as a snapshot
   holds it (plain values, arrays read in place: no second copy in memory); a process
   that fails, or whose index does not hold together, is logged and the event index is
   rebuilt here instead. A daemon that stops meanwhile gives the rebuild up (`stop`): the
   process is stopped, never waited for, and the rebuild ends with StoreError.

`load` returns the indexes and the newest story id they hold (the pipeline's `seen_id`,
from where it catches up with stories stored later). Until the daemon installs them, no
story is decided: the daemon holds the pipeline's ingest lock from its start until then,
so a story polled while the indexes load waits, and is checked against the whole window.

While running (`save`): every `dedup.snapshot_every`, and at a clean stop, the indexes
are written to the snapshot file, atomically, under the ingest lock (nothing is decided
or pruned meanwhile). A write that fails is logged and changes nothing; the next start
rebuilds or uses the previous snapshot, caught up from the store.

Where the file is: `dedup.snapshot` (a path; relative to the config file's folder);
by default `<database>.index` beside a SQLite database; on PostgreSQL there is no
default (each node keeps its own, on its own disk, when set); `off` turns snapshots off.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import resource
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from .dedup import Clusterer, DedupSettings, EventGrouper, EventSettings
from .dedup import snapshot as snapshots
from .errors import StoreError
from .memory import give_back
from .store import Store, StoryRef
from .urls import canonical_url

log = logging.getLogger(__name__)

PAGE = 2_000  # stories read per store call (a rebuild, a catch-up): a few MB of rows at a time
PARALLEL_FROM = 20_000  # stories in the window from which the event index is rebuilt in a process of its own
_CONTEXT = multiprocessing.get_context("forkserver")  # as the parse pool: never a fork of a threaded process
STOPPING = "index load given up: the daemon is stopping"


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def learn_stored(clusterer: Clusterer, events: EventGrouper, r: StoryRef) -> None:
    """Index a stored story with the cluster and event it was stored with (deciding
    nothing again): a catch-up after a snapshot, and a node's catch-up with the others'."""
    published = _dt(r.published or r.fetched)
    clusterer.learn(r.id, r.cluster, title=r.title, summary=r.summary, url=r.url, published=published)
    events.learn(r.id, cluster=r.cluster, event=r.event, title=r.title, summary=r.summary, source=r.feed,
                 published=published)


class IndexKeeper:
    def __init__(self, store: Store, dedup: DedupSettings, event: EventSettings, *,
                 snapshot: Path | None = None, clock: Callable[[], float] = time.time,
                 parallel_from: int = PARALLEL_FROM) -> None:
        self.store = store
        self.parallel_from = parallel_from
        self.dedup = dedup
        self.event = event
        self.snapshot = snapshot
        self.clock = clock
        self.source = ""  # how the last load got its indexes: "snapshot" or "rebuild"
        self._stopping = threading.Event()
        self._helper: _EventRebuild | None = None
        # the code's version as it is now: a snapshot written later by this process is of this code, even
        # when the files are replaced by an upgrade meanwhile
        snapshots.fingerprint(dedup, event)

    def stop(self) -> None:
        """Give up a rebuild under way (the daemon is stopping; from any thread): its
        process of its own is stopped at once, and the rebuild raises StoreError at its
        next page instead of finishing, or of rebuilding the event index here."""
        self._stopping.set()
        helper = self._helper
        if helper is not None:
            helper.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- start

    def load(self) -> tuple[Clusterer, EventGrouper, int]:
        """The indexes and the newest story id they hold (see the module docstring)."""
        started = time.monotonic()
        got = self._from_snapshots() if self.snapshot is not None else None
        if got is None:
            got = self.rebuild()
            self.source = "rebuild"
        else:
            self.source = "snapshot"
        clusterer, events, seen = got
        log.info("dedup indexes ready source=%s stories=%d events=%d seen_id=%d seconds=%.2f", self.source,
                 len(clusterer), len(events), seen, time.monotonic() - started)
        return got

    def rebuild(self) -> tuple[Clusterer, EventGrouper, int]:
        """Both indexes from the window's stories, read from the store in pages (never the
        whole window's rows in memory at once); the event index in a process of its own
        when the window is large (module docstring)."""
        now = self.clock()
        copy_since = now - self.dedup.window_hours * 3600.0
        event_since = now - max(self.event.window_hours, self.event.copy_hours) * 3600.0
        seen = self.store.stories.last_id()
        index_from = self.store.stories.first_since(now - self.event.window_hours * 3600.0) or seen + 1
        first = self.store.stories.first_since(min(copy_since, event_since))
        target = self.store.url or self.store.path
        apart = target is not None and first is not None and seen - first + 1 >= self.parallel_from
        started = time.monotonic()
        events = None
        helper = None
        if apart:
            try:
                helper = self._helper = _EventRebuild(str(target), self.event, event_since, seen, index_from,
                                                      folder=self.store.path.parent if self.store.path else None)
            except OSError as exc:  # no temporary file, no process: both levels here, one after the other
                log.warning("event index rebuild in a process of its own not started error=%s", exc)
            if helper is not None and self.stopping:  # stopped while the process started
                helper.stop()
        try:
            clusterer = Clusterer.rebuild(
                ((story, cluster, title, summary, canon or canonical_url(url), feed, _dt(published or fetched))
                 for story, cluster, _event, title, summary, url, canon, feed, published, fetched
                 in _window(self.store, copy_since, seen, self._stopping)), settings=self.dedup, canonical=True)
            took = time.monotonic() - started
            give_back()
            if helper is not None:
                try:
                    events, peak = helper.result()
                    log.info("event index rebuilt in a process of its own stories=%d peak_rss_mb=%d",
                             len(events), peak)
                except (OSError, EOFError, ValueError, StoreError) as exc:
                    if self.stopping:
                        raise StoreError(STOPPING) from exc
                    log.warning("event index rebuild in a process of its own failed, rebuilding here error=%s",
                                str(exc) or type(exc).__name__)
        finally:
            if helper is not None:
                self._helper = None
                helper.close()
        if events is None:
            events = _rebuild_events(self.store, self.event, event_since, seen, index_from, self._stopping)
        give_back()
        log.info("dedup indexes rebuilt stories=%d copy_seconds=%.2f event_seconds=%.2f apart=%s", len(clusterer),
                 took, time.monotonic() - started - took, "yes" if apart else "no")
        return clusterer, events, seen

    def _from_snapshots(self) -> tuple[Clusterer, EventGrouper, int] | None:
        """The indexes of the snapshot, else of the one `raqib index` prepared (which then
        takes the snapshot's place); None when neither is to be trusted."""
        path = self.snapshot
        assert path is not None
        prepared = prepared_path(path, self.dedup, self.event)
        got = self._from_snapshot(path)
        if got is not None:
            if prepared.exists():  # prepared for this code: not needed
                log.info("prepared index snapshot not needed, removed path=%s", prepared)
                _remove(str(prepared))
            return got
        if prepared.exists():
            got = self._from_snapshot(prepared)
            if got is not None:
                try:
                    os.replace(prepared, path)
                except OSError as exc:
                    log.warning("prepared index snapshot not moved into place path=%s error=%s", prepared, exc)
        if got is None:
            log.info("rebuilding the indexes from the store")
        return got

    def _from_snapshot(self, path: Path) -> tuple[Clusterer, EventGrouper, int] | None:
        try:
            loaded = snapshots.read(path, self.dedup, self.event)
        except FileNotFoundError:
            log.info("no index snapshot path=%s", path)
            return None
        except (OSError, ValueError) as exc:
            log.warning("index snapshot refused path=%s reason=%s", path, exc)
            return None
        mark = loaded.mark
        try:
            stored = self.store.stories.after(mark.story - 1, 1) if mark.story else []
            if mark.story:
                row = stored[0] if stored and stored[0].id == mark.story else None
                if row is None or snapshots.story_digest(row.id, row.cluster, row.event,
                                                         row.title) != mark.digest:
                    log.warning("index snapshot refused path=%s reason=%s", path,
                                f"the store does not hold story {mark.story} as the snapshot does")
                    return None
            clusterer, events = loaded.clusterer, loaded.events
            seen, learned = self._catch_up(clusterer, events, mark.story)
        except StoreError:
            raise
        log.info("index snapshot loaded path=%s mark=%d caught_up=%d saved_at=%s", path, mark.story, learned,
                 _dt(loaded.saved_at).isoformat(timespec="seconds"))
        return clusterer, events, seen

    def _catch_up(self, clusterer: Clusterer, events: EventGrouper, after: int) -> tuple[int, int]:
        """Index the stories stored after `after`; the newest id read and how many."""
        seen, learned = after, 0
        while True:
            page = self.store.stories.after(seen, PAGE)
            for r in page:
                learn_stored(clusterer, events, r)
                seen = int(r.id)
                learned += 1
            if len(page) < PAGE:
                return seen, learned

    # -- running

    def save(self, clusterer: Clusterer, events: EventGrouper, seen_id: int) -> bool:
        """Write the snapshot of indexes that hold stories up to `seen_id` (call it under
        the ingest lock); False when there is no file to write or the state is not one to
        keep (a story indexed beyond `seen_id`, never stored)."""
        path = self.snapshot
        if path is None:
            return False
        newest = snapshots.newest_id(clusterer, events)
        if newest > seen_id:
            log.warning("index snapshot skipped: the index holds a story not stored newest=%d seen_id=%d",
                        newest, seen_id)
            return False
        started = time.monotonic()
        digest = ""
        if seen_id:
            stored = self.store.stories.after(seen_id - 1, 1)
            if not stored or stored[0].id != seen_id:
                log.warning("index snapshot skipped: its newest story is not stored story=%d", seen_id)
                return False
            r = stored[0]
            digest = snapshots.story_digest(r.id, r.cluster, r.event, r.title)
        try:
            size = snapshots.write(path, clusterer, events, snapshots.Mark(seen_id, digest), saved_at=self.clock())
        except OSError as exc:
            log.error("index snapshot not written path=%s error=%s", path, exc)
            return False
        log.info("index snapshot written path=%s stories=%d bytes=%d seconds=%.2f", path, len(clusterer), size,
                 time.monotonic() - started)
        return True


def _window(store: Store, since: float, upto: int, stopping: threading.Event | None = None) -> Iterator[StoryRef]:
    """The stories fetched since `since` with ids up to `upto`, oldest first, in pages
    (StoryRef is a tuple: the rebuilds unpack it); StoreError before a page once
    `stopping` is set."""
    first = store.stories.first_since(since)
    if first is None:
        return
    after = first - 1
    while after < upto:
        if stopping is not None and stopping.is_set():
            raise StoreError(STOPPING)
        page = store.stories.after(after, PAGE)
        for r in page:
            if r.id > upto:
                return
            if r.fetched >= since:
                yield r
        if len(page) < PAGE:
            return
        after = page[-1].id


def _rebuild_events(store: Store, settings: EventSettings, since: float, upto: int, index_from: int,
                    stopping: threading.Event | None = None) -> EventGrouper:
    return EventGrouper.rebuild(
        ((story, cluster, event, title, summary, feed, _dt(published or fetched))
         for story, cluster, event, title, summary, _url, _canon, feed, published, fetched
         in _window(store, since, upto, stopping)), settings=settings, prune=True, index_from=index_from)


class _EventRebuild:
    """The event index rebuilt in a process of its own (a daemonic one: a daemon that
    stops meanwhile does not wait for it). It opens the store at `target` read-only and
    writes the index to a temporary file this side made (in `folder`, the database's, as
    private as it and with room for it; else the system's) and removes: at `close`, or at
    this process's exit if the thread that made it never gets there. A pipe says how it
    went; a process with nobody left to tell removes the file itself."""

    def __init__(self, target: str, settings: EventSettings, since: float, upto: int, index_from: int, *,
                 folder: Path | None = None) -> None:
        self.settings = settings
        fd, self.path = tempfile.mkstemp(prefix="raqib-events-", suffix=".state", dir=folder)
        os.close(fd)
        self._remove = weakref.finalize(self, _remove, self.path)
        self.answer, told = _CONTEXT.Pipe(duplex=False)
        self.process = _CONTEXT.Process(target=_event_process, name="raqib-event-rebuild", daemon=True,
                                        args=(told, self.path, target, settings, since, upto, index_from))
        try:
            self.process.start()
        except BaseException:
            self.answer.close()
            self._remove()
            raise
        finally:
            told.close()

    def result(self) -> tuple[EventGrouper, int]:
        """The index and the process's peak RSS in MB. Raises EOFError when the process
        died, StoreError with its reason when it failed, ValueError when what it wrote does
        not hold together."""
        status, value = self.answer.recv()
        if status != "ok":
            raise StoreError(value)
        with open(self.path, "rb") as f:
            return EventGrouper.from_state(snapshots.load_state(f), self.settings), value

    def stop(self) -> None:
        """Stop the process now (from any thread); `result` then raises EOFError."""
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()

    def close(self) -> None:
        """The process gone (it has answered, or is stopped) and the file removed."""
        self.answer.close()
        self.process.join(1)  # it exits once it has answered; if not (this side failed first), it is stopped
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._remove()


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _event_process(told: Connection, path: str, target: str, settings: EventSettings, since: float, upto: int,
                   index_from: int) -> None:
    """`_EventRebuild`'s process: ("ok", peak RSS in MB) once the index is in `path`, or
    ("failed", why)."""
    try:
        store = Store(target, readonly=True)
        try:
            if store.stories.last_id() < upto:  # another file now at that path, or none (an empty store)
                raise StoreError(f"the database at {store.where} does not hold the stories up to {upto}")
            events = _rebuild_events(store, settings, since, upto, index_from)
        finally:
            store.close()
        with open(path, "r+b") as f:  # the daemon's file, never a new one: gone, the daemon no longer wants it
            snapshots.dump_state(f, events.state())
        answer: tuple[str, object] = ("ok", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    except Exception as exc:  # noqa: BLE001 - told to the daemon, which rebuilds the index itself
        answer = ("failed", f"{type(exc).__name__}: {exc}")
    try:
        told.send(answer)
    except OSError:  # the daemon is gone (killed): nobody will read the file
        _remove(path)
    finally:
        told.close()


def prepared_path(snapshot: Path, dedup: DedupSettings, event: EventSettings) -> Path:
    """Where `raqib index` leaves the indexes it built ahead of a restart, for the code
    and settings of its fingerprint: beside the snapshot, which the daemon running
    meanwhile goes on writing (its own code's, which another start of it still finds)."""
    return snapshot.with_name(f"{snapshot.name}.{snapshots.fingerprint(dedup, event)[:16]}")


def prepared_paths(snapshot: Path) -> list[Path]:
    """Every prepared file beside `snapshot`, whatever its code and settings."""
    shape = re.compile(re.escape(snapshot.name) + r"\.[0-9a-f]{16}")
    try:
        return sorted(p for p in snapshot.parent.iterdir() if shape.fullmatch(p.name))
    except OSError:
        return []


def snapshot_path(setting: str | None, database: Path | str, config_dir: Path) -> Path | None:
    """Where the snapshot lives: `dedup.snapshot` (relative to the config's folder), by
    default `<database>.index` beside a SQLite file, none on PostgreSQL or when `off`."""
    if setting is not None and setting.strip().lower() == "off":
        return None
    if setting:
        path = Path(setting).expanduser()
        return path if path.is_absolute() else config_dir / path
    if isinstance(database, str):
        return None  # a PostgreSQL URL: nodes set their own
    return Path(str(database) + ".index")
