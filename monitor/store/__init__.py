"""The store: SQLite (through sqlite-utils) in WAL mode, one writer.

Opening:
- The daemon opens its database `exclusive`: an exclusive `flock` on `<db>.lock` (next
  to the database, holding the owner's pid) is taken before anything else and held until
  `close()`, so a second daemon on the same file refuses to start, naming the database
  and the other pid. Other commands take no lock and work while a daemon runs.
- Read commands (status, feeds, outbox listing, backup) open it `readonly`: SQLite's
  `mode=ro`, falling back to `immutable=1` where even the WAL index cannot be created
  (a read-only mount); no migration, no write. A missing file reads as an empty store.
- A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is a StoreError that says so and how
  to recover (`raqib backup` copies, `sqlite3 .recover`), wherever it is found.

Tables:
- `feeds`: one row per feed, its fetch state (etag, last_modified, body_hash, url), its
  schedule (next_poll) and its health (failures, last_success, last_error, items_seen,
  avg_interval, healthy; bad_items and bad_item_error: items its last parse could not read).
- `stories`: every story seen, with its cluster (the id of the cluster's first story).
  `(feed, guid)` is unique: the same item polled twice is one row.
- `outbox`: one row per (cluster, watchlist, channel, destination, kind); written in the
  same transaction as the story that caused it. States: pending → sending → sent | dead.
- `subscriptions`: destination ↔ watchlist, for channels where people subscribe.
- `destinations`: per-destination settings (language, mute, quiet hours, digest mode).
- `personal_terms`: a destination's own terms (Telegram `/watch`).
- `cluster_watchlists`: which watchlists a cluster's members matched (for spread alerts).
- `kv`: small named values (last poll time, schema version).

Schema changes are named migrations applied in order at start-up.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import quote

import sqlite_utils

from .errors import StoreError

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", """
    CREATE TABLE IF NOT EXISTS feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        configured_url TEXT,
        interval REAL,
        enabled INTEGER NOT NULL DEFAULT 1,
        disabled_reason TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        next_poll REAL NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_poll REAL,
        last_success REAL,
        last_error TEXT,
        last_error_at REAL,
        last_new_item REAL,
        items_seen INTEGER NOT NULL DEFAULT 0,
        avg_interval REAL,
        healthy INTEGER NOT NULL DEFAULT 1,
        title TEXT,
        source TEXT NOT NULL DEFAULT 'config'
    );
    CREATE TABLE IF NOT EXISTS stories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        feed TEXT NOT NULL,
        guid TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '',
        canonical_url TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        published REAL,
        fetched REAL NOT NULL,
        cluster INTEGER NOT NULL,
        dedup_kind TEXT NOT NULL DEFAULT 'new',
        UNIQUE (feed, guid)
    );
    CREATE INDEX IF NOT EXISTS stories_cluster ON stories (cluster);
    CREATE INDEX IF NOT EXISTS stories_canonical_url ON stories (canonical_url);
    CREATE INDEX IF NOT EXISTS stories_fetched ON stories (fetched);
    CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'story',
        watchlist TEXT NOT NULL,
        cluster INTEGER NOT NULL,
        story_id INTEGER NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created REAL NOT NULL,
        sent_at REAL,
        ref TEXT,
        UNIQUE (cluster, watchlist, channel, destination, kind)
    );
    CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_try);
    CREATE TABLE IF NOT EXISTS subscriptions (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        watchlist TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        PRIMARY KEY (channel, destination, watchlist)
    );
    CREATE TABLE IF NOT EXISTS destinations (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (channel, destination)
    );
    CREATE TABLE IF NOT EXISTS personal_terms (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        term TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (channel, destination, term)
    );
    CREATE TABLE IF NOT EXISTS cluster_watchlists (
        cluster INTEGER NOT NULL,
        watchlist TEXT NOT NULL,
        PRIMARY KEY (cluster, watchlist)
    );
    CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    """),
    ("002_feed_last_published", """
    ALTER TABLE feeds ADD COLUMN last_published REAL
    """),
    ("003_feed_bad_items", """
    ALTER TABLE feeds ADD COLUMN bad_items INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN bad_item_error TEXT
    """),
]

ACTIVE_STATES = ("pending", "sending")
_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_CANNOT_OPEN_RO = (14, 8)  # SQLITE_CANTOPEN, SQLITE_READONLY: no WAL index on a read-only mount


def _writable(path: Path) -> bool:
    """Whether SQLite can write here: the file (if any) and its folder (for -wal, -shm)."""
    return all(os.access(p, os.W_OK) for p in (path, path.parent) if p.exists())


class DatabaseLock:
    """One daemon per database: an exclusive flock on `<db>.lock`, released by `release()`
    or when the process ends (however it ends: the kernel drops the lock)."""

    def __init__(self, database: Path) -> None:
        self.fd: int | None = None
        self.path = database.with_name(database.name + ".lock")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot create the lock file {self.path}: {exc.strerror}",
                             hint="check the folder's permissions") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(f"cannot lock {self.path}: {exc.strerror}") from exc
            pid = f" (pid {owner})" if owner.isdigit() else ""
            raise StoreError(f"database {database} is in use by another raqib daemon{pid}",
                             hint="one daemon per database: stop the other one first; "
                                  "raqib status, feeds, outbox and backup work meanwhile") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock; the file stays
            self.fd = None

    __del__ = release


class Store:
    """All reads and writes of Raqib's state. Not shared across threads."""

    def __init__(self, path: str | Path | None = None, *, memory: bool = False,
                 readonly: bool = False, exclusive: bool = False) -> None:
        self.path = None if memory or path is None else Path(path)
        self.readonly = readonly
        self._lock: DatabaseLock | None = None
        if readonly and self.path is not None and not self.path.exists():
            self.path = None  # nothing stored yet: an empty store answers every read
        try:
            if self.path is None:
                self.db = sqlite_utils.Database(memory=True)
            elif readonly:
                self.db = sqlite_utils.Database(self._connect_readonly(self.path))
            else:
                if not self.path.parent.exists():
                    self.path.parent.mkdir(mode=0o700, parents=True)  # state is private
                if exclusive:
                    self._lock = DatabaseLock(self.path)
                new = not self.path.exists()
                conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
                self.db = sqlite_utils.Database(conn)
                if new:
                    os.chmod(self.path, 0o600)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.conn = self.db.conn
            if self.path is None or not readonly:
                self._migrate()
        except BaseException as exc:
            if self._lock is not None:
                self._lock.release()
            if isinstance(exc, sqlite3.Error):
                hint = "check the path, its permissions and free disk space"
                if self.path is not None and not readonly and not _writable(self.path):
                    hint = ("the database or its folder is read-only; raqib status, feeds, outbox and "
                            "backup still read it")
                raise self._error(exc, f"cannot open database {self.path or ':memory:'}", hint) from exc
            if isinstance(exc, OSError):
                raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}",
                                 hint="check the path and its permissions") from exc
            raise

    @staticmethod
    def _connect_readonly(path: Path) -> sqlite3.Connection:
        """mode=ro, or immutable=1 where the WAL index cannot be made (a read-only mount;
        nobody can be writing there)."""
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            conn.close()
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _CANNOT_OPEN_RO:
                raise
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn

    def _error(self, exc: sqlite3.Error, doing: str, hint: str = "") -> StoreError:
        """A StoreError for `exc`; a damaged file says so, and how to recover."""
        where = self.path or ":memory:"
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _DAMAGED:
            return StoreError(
                f"database {where} is damaged: {exc}",
                hint=f"stop Raqib and keep a copy of the file; then restore a copy made by `raqib backup`, "
                     f"or rescue what is readable with `sqlite3 {where} .recover | sqlite3 {where}.recovered` "
                     f"and point `database:` at the new file")
        return StoreError(f"{doing}: {exc}", hint=hint)

    # -- plumbing ---------------------------------------------------------------------

    def _migrate(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL)")
        done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                for statement in sql.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
            log.info("migration applied name=%s", name)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; everything inside commits or nothing does."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, "database write failed", "is the disk full or the database read-only?") from exc
            raise

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[dict]:
        try:
            return [dict(r) for r in self.db.query(sql, params)]
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            row = self.conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Cursor:
        try:
            with self.transaction() as conn:
                return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc, "database write failed") from exc

    def ping(self) -> bool:
        """True when the database answers a read and accepts a write."""
        try:
            with self.transaction() as conn:
                conn.execute("INSERT INTO kv(key, value) VALUES ('ping', ?) "
                             "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(time.time()),))
            return True
        except StoreError:
            return False

    def close(self) -> None:
        try:
            if self.path is not None and not self.readonly:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
        except sqlite3.Error as exc:
            log.warning("database close failed error=%s", exc)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def get_kv(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM kv WHERE key = ?", (key,))
        return default if value is None else value

    def set_kv(self, key: str, value: str) -> None:
        self.execute("INSERT INTO kv(key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def backup(self, target: str | Path) -> None:
        """Online backup into `target` (a consistent copy while the daemon runs)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))  # private from the first byte
        os.chmod(target, 0o600)
        dest = sqlite3.connect(str(target))
        try:
            self.conn.backup(dest)
        except sqlite3.Error as exc:
            raise StoreError(f"backup to {target} failed: {exc}") from exc
        finally:
            dest.close()
        os.chmod(target, 0o600)

    # -- feeds ------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[Any]) -> None:
        """Make the feeds table agree with the config: add new, update, disable removed."""
        with self.transaction() as conn:
            configured = set()
            for f in feeds:
                configured.add(f.name)
                row = conn.execute("SELECT configured_url FROM feeds WHERE name = ?", (f.name,)).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO feeds (name, url, configured_url, interval, enabled, next_poll) "
                        "VALUES (?, ?, ?, ?, ?, 0)", (f.name, f.url, f.url, f.interval, int(f.enabled)))
                elif row[0] != f.url:
                    # the user changed the URL: start afresh with it
                    conn.execute(
                        "UPDATE feeds SET url=?, configured_url=?, interval=?, enabled=?, etag=NULL, "
                        "last_modified=NULL, body_hash=NULL, next_poll=0, failures=0, "
                        "disabled_reason=NULL WHERE name=?",
                        (f.url, f.url, f.interval, int(f.enabled), f.name))
                else:
                    conn.execute("UPDATE feeds SET interval=?, enabled=CASE WHEN disabled_reason "
                                 "IS NULL THEN ? ELSE enabled END WHERE name=?",
                                 (f.interval, int(f.enabled), f.name))
            for (name,) in conn.execute("SELECT name FROM feeds WHERE source='config'").fetchall():
                if name not in configured:
                    conn.execute("UPDATE feeds SET enabled=0, disabled_reason='removed from config' "
                                 "WHERE name=?", (name,))

    def add_feed(self, name: str, url: str, *, source: str = "runtime", interval: float | None = None) -> bool:
        """Add a feed outside the config (OPML import, bot admins); False if the name exists."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM feeds WHERE name=?", (name,)).fetchone():
                return False
            conn.execute("INSERT INTO feeds (name, url, configured_url, interval, source) VALUES (?, ?, ?, ?, ?)",
                         (name, url, url, interval, source))
        return True

    def add_feeds(self, feeds: Iterable[tuple[str, str]], *, source: str = "runtime") -> list[str]:
        """Add feeds outside the config all at once (one transaction); returns the names
        added. A feed whose name or URL is already there is left out."""
        added: list[str] = []
        with self.transaction() as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM feeds")}
            urls = {r[0] for r in conn.execute("SELECT url FROM feeds UNION SELECT configured_url FROM feeds")}
            for name, url in feeds:
                if name in names or url in urls:
                    continue
                conn.execute("INSERT INTO feeds (name, url, configured_url, source) VALUES (?, ?, ?, ?)",
                             (name, url, url, source))
                names.add(name)
                urls.add(url)
                added.append(name)
        return added

    def feeds_as_configured(self, feeds: Iterable[Any]) -> list[dict]:
        """The feed table as it will be once synced with these config feeds, without
        writing to this database (it may be open read-only): synced in a scratch copy."""
        scratch = Store(memory=True)
        try:
            columns = {r["name"] for r in scratch.query("PRAGMA table_info(feeds)")}
            with scratch.transaction() as conn:
                for row in self.feeds():
                    row = {k: v for k, v in row.items() if k in columns}
                    conn.execute(f"INSERT INTO feeds ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                 tuple(row.values()))
            scratch.sync_feeds(feeds)
            return scratch.feeds()
        finally:
            scratch.close()

    def feed(self, name: str) -> dict | None:
        rows = self.query("SELECT * FROM feeds WHERE name = ?", (name,))
        return rows[0] if rows else None

    def feeds(self) -> list[dict]:
        return self.query("SELECT * FROM feeds ORDER BY name")

    def due_feeds(self, now: float, limit: int = 1000) -> list[dict]:
        return self.query("SELECT * FROM feeds WHERE enabled=1 AND next_poll <= ? "
                          "ORDER BY next_poll LIMIT ?", (now, limit))

    def next_due(self) -> float | None:
        return self.scalar("SELECT MIN(next_poll) FROM feeds WHERE enabled=1")

    def update_feed(self, name: str, **values: Any) -> None:
        if not values:
            return
        cols = ", ".join(f"{k}=?" for k in values)
        self.execute(f"UPDATE feeds SET {cols} WHERE name=?", (*values.values(), name))

    # -- stories ----------------------------------------------------------------------

    def known_guids(self, feed: str, guids: Sequence[str]) -> set[str]:
        """Which of these GUIDs this feed has already delivered to us."""
        known: set[str] = set()
        try:
            for i in range(0, len(guids), 500):
                chunk = list(guids[i:i + 500])
                marks = ",".join("?" * len(chunk))
                known.update(r[0] for r in self.conn.execute(
                    f"SELECT guid FROM stories WHERE feed=? AND guid IN ({marks})", (feed, *chunk)))
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc
        return known

    def story_by_canonical_url(self, canonical_url: str) -> dict | None:
        if not canonical_url:
            return None
        rows = self.query("SELECT id, cluster FROM stories WHERE canonical_url=? LIMIT 1", (canonical_url,))
        return rows[0] if rows else None

    def next_story_id(self) -> int:
        """An id no story ever had: AUTOINCREMENT's high-water mark survives pruning, so a
        cluster id (the first story's id) is never reused for a different story."""
        seq = self.scalar("SELECT seq FROM sqlite_sequence WHERE name='stories'") or 0
        return max(seq, self.scalar("SELECT MAX(id) FROM stories") or 0) + 1

    def insert_story(self, conn: sqlite3.Connection, row: dict) -> int:
        cols = ", ".join(row)
        marks = ", ".join("?" * len(row))
        cur = conn.execute(f"INSERT INTO stories ({cols}) VALUES ({marks})", tuple(row.values()))
        return int(cur.lastrowid)

    def cluster_sources(self, cluster: int) -> list[dict]:
        """Members of a cluster, first first: feed, url, title, fetched."""
        return self.query("SELECT id, feed, url, title, published, fetched FROM stories "
                          "WHERE cluster=? ORDER BY id", (cluster,))

    def stories_since(self, since: float) -> Iterator[dict]:
        try:
            yield from self.db.query("SELECT id, cluster, title, summary, url, feed, published, fetched "
                                     "FROM stories WHERE fetched >= ? ORDER BY id", (since,))
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc

    # -- outbox -----------------------------------------------------------------------

    def enqueue(self, conn: sqlite3.Connection, *, channel: str, destination: str, kind: str,
                watchlist: str, cluster: int, story_id: int, payload: dict, now: float,
                not_before: float | None = None) -> bool:
        """Add one alert unless this (cluster, watchlist, channel, destination, kind) has one."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO outbox (channel, destination, kind, watchlist, cluster, story_id, "
            "payload, state, next_try, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (channel, destination, kind, watchlist, cluster, story_id,
             json.dumps(payload, ensure_ascii=False), not_before or now, now))
        return cur.rowcount > 0

    def due_alerts(self, now: float, limit: int = 500, channels: Sequence[str] | None = None) -> list[dict]:
        sql = "SELECT * FROM outbox WHERE state='pending' AND next_try <= ?"
        params: list[Any] = [now]
        if channels is not None:
            sql += f" AND channel IN ({','.join('?' * len(channels))})"
            params.extend(channels)
        return self.query(sql + " ORDER BY next_try, id LIMIT ?", (*params, limit))

    def next_alert_due(self, channels: Sequence[str] | None = None) -> float | None:
        sql = "SELECT MIN(next_try) FROM outbox WHERE state='pending'"
        params: list[Any] = []
        if channels is not None:
            sql += f" AND channel IN ({','.join('?' * len(channels))})"
            params.extend(channels)
        return self.scalar(sql, params)

    def claim(self, ids: Sequence[int]) -> list[int]:
        """Mark pending alerts as being sent and return the ids this call claimed: a row
        another connection claimed first (or that is no longer pending) is not ours to
        send. A crash leaves claimed rows 'sending' for recovery."""
        claimed: list[int] = []
        if not ids:
            return claimed
        with self.transaction() as conn:
            for i in ids:
                if conn.execute("UPDATE outbox SET state='sending', attempts=attempts+1 WHERE id=? "
                                "AND state='pending'", (i,)).rowcount:
                    claimed.append(i)
        return claimed

    def hold(self, ids: Sequence[int], until: float, reason: str) -> None:
        """Put pending alerts off until `until` (quiet hours, mute, digest slot); rows
        already claimed for sending are left alone."""
        with self.transaction() as conn:
            conn.executemany("UPDATE outbox SET next_try=?, last_error=? WHERE id=? AND state='pending'",
                             [(until, reason[:500], i) for i in ids])

    def mark_sent(self, ids: Sequence[int], now: float, ref: str | None = None) -> None:
        with self.transaction() as conn:
            conn.executemany("UPDATE outbox SET state='sent', sent_at=?, last_error=NULL, "
                             "ref=COALESCE(?, ref) WHERE id=?", [(now, ref, i) for i in ids])

    def mark_retry(self, ids: Sequence[int], next_try: float, error: str) -> None:
        with self.transaction() as conn:
            conn.executemany("UPDATE outbox SET state='pending', next_try=?, last_error=? WHERE id=?",
                             [(next_try, error[:500], i) for i in ids])

    def mark_dead(self, ids: Sequence[int], error: str) -> None:
        with self.transaction() as conn:
            conn.executemany("UPDATE outbox SET state='dead', last_error=? WHERE id=?",
                             [(error[:500], i) for i in ids])

    def recover_sending(self) -> int:
        """After a crash: alerts caught mid-send go back to pending (they may repeat once)."""
        cur = self.execute("UPDATE outbox SET state='pending' WHERE state='sending'")
        return cur.rowcount

    def retry_dead(self, ids: Sequence[int] | None = None) -> int:
        if ids:
            marks = ",".join("?" * len(ids))
            cur = self.execute(f"UPDATE outbox SET state='pending', next_try=0, attempts=0 "
                               f"WHERE state='dead' AND id IN ({marks})", tuple(ids))
        else:
            cur = self.execute("UPDATE outbox SET state='pending', next_try=0, attempts=0 WHERE state='dead'")
        return cur.rowcount

    # -- subscriptions and destinations ------------------------------------------------

    def subscribers(self, watchlist: str) -> list[tuple[str, str]]:
        return [(r["channel"], r["destination"]) for r in self.query(
            "SELECT channel, destination FROM subscriptions WHERE watchlist=? AND active=1", (watchlist,))]

    def subscriptions_of(self, channel: str, destination: str) -> list[str]:
        return [r["watchlist"] for r in self.query(
            "SELECT watchlist FROM subscriptions WHERE channel=? AND destination=? AND active=1 "
            "ORDER BY watchlist", (channel, destination))]

    def subscribe(self, channel: str, destination: str, watchlist: str) -> bool:
        cur = self.execute(
            "INSERT INTO subscriptions (channel, destination, watchlist, active, created) VALUES (?, ?, ?, 1, ?) "
            "ON CONFLICT(channel, destination, watchlist) DO UPDATE SET active=1 WHERE active=0",
            (channel, destination, watchlist, time.time()))
        return cur.rowcount > 0

    def unsubscribe(self, channel: str, destination: str, watchlist: str | None = None) -> int:
        if watchlist is None:
            cur = self.execute("UPDATE subscriptions SET active=0 WHERE channel=? AND destination=? AND active=1",
                               (channel, destination))
        else:
            cur = self.execute("UPDATE subscriptions SET active=0 WHERE channel=? AND destination=? "
                               "AND watchlist=? AND active=1", (channel, destination, watchlist))
        return cur.rowcount

    def destination_settings(self, channel: str, destination: str) -> dict:
        raw = self.scalar("SELECT settings FROM destinations WHERE channel=? AND destination=?",
                          (channel, destination))
        return json.loads(raw) if raw else {}

    def update_destination_settings(self, channel: str, destination: str, **changes: Any) -> dict:
        with self.transaction():
            settings = self.destination_settings(channel, destination)
            for k, v in changes.items():
                if v is None:
                    settings.pop(k, None)
                else:
                    settings[k] = v
            self.conn.execute(
                "INSERT INTO destinations (channel, destination, settings) VALUES (?, ?, ?) "
                "ON CONFLICT(channel, destination) DO UPDATE SET settings=excluded.settings",
                (channel, destination, json.dumps(settings, ensure_ascii=False)))
        return settings

    def move_destination(self, channel: str, old: str, new: str) -> None:
        """A chat changed id (Telegram group → supergroup): carry everything over."""
        with self.transaction() as conn:
            for table in ("subscriptions", "destinations", "personal_terms"):
                conn.execute(f"UPDATE OR REPLACE {table} SET destination=? WHERE channel=? AND destination=?",
                             (new, channel, old))
            conn.execute("UPDATE OR IGNORE outbox SET destination=? WHERE channel=? AND destination=? "
                         "AND state IN ('pending', 'sending')", (new, channel, old))

    def personal_terms(self, channel: str | None = None, destination: str | None = None) -> list[dict]:
        """Every destination's own terms, or one destination's."""
        if channel is not None and destination is not None:
            return self.query("SELECT channel, destination, term FROM personal_terms WHERE channel=? AND "
                              "destination=? ORDER BY term", (channel, destination))
        return self.query("SELECT channel, destination, term FROM personal_terms ORDER BY channel, destination, term")

    def add_personal_term(self, channel: str, destination: str, term: str) -> bool:
        cur = self.execute("INSERT OR IGNORE INTO personal_terms VALUES (?, ?, ?, ?)",
                           (channel, destination, term, time.time()))
        return cur.rowcount > 0

    def remove_personal_term(self, channel: str, destination: str, term: str) -> bool:
        cur = self.execute("DELETE FROM personal_terms WHERE channel=? AND destination=? AND term=?",
                           (channel, destination, term))
        return cur.rowcount > 0

    # -- retention ----------------------------------------------------------------------

    def prune(self, *, stories_before: float, outbox_before: float) -> dict[str, int]:
        """Drop old stories (whole clusters whose newest member is old) and old sent alerts."""
        with self.transaction() as conn:
            sent = conn.execute("DELETE FROM outbox WHERE state='sent' AND COALESCE(sent_at, created) < ?",
                                (outbox_before,)).rowcount
            conn.execute("DELETE FROM cluster_watchlists WHERE cluster IN (SELECT cluster FROM stories "
                         "GROUP BY cluster HAVING MAX(fetched) < ?)", (stories_before,))
            stories = conn.execute(
                "DELETE FROM stories WHERE cluster IN (SELECT cluster FROM stories GROUP BY cluster "
                "HAVING MAX(fetched) < ?) AND id NOT IN (SELECT story_id FROM outbox "
                "WHERE state IN ('pending','sending','dead'))", (stories_before,)).rowcount
        return {"stories": stories, "outbox": sent}


def read_personal_terms(path: str | Path) -> list[dict]:
    """The personal terms of a database file, opened read-only (for `raqib check`: a
    running daemon may hold it, and a check never writes). No file or no table: none."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            conn.row_factory = sqlite3.Row
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='personal_terms'").fetchone():
                return []
            return [dict(r) for r in conn.execute(
                "SELECT channel, destination, term FROM personal_terms ORDER BY channel, destination, term")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read database {path}: {exc}") from exc
