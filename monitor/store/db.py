"""The database: one SQLite file (through sqlite-utils) in WAL mode, one writer; or a
PostgreSQL database (psycopg 3, `monitor.store.postgres`) that several nodes share.

This module owns the connection and nothing about any table but the migrations:
- Choosing. `database:` a `postgresql://` URL is PostgreSQL; anything else is a SQLite
  path. Both answer the same `Store` methods with the same rows; the SQL is written once
  (`monitor.store.postgres.translate` is the seam) and branches on `postgres` only where
  the engines cannot say a thing the same way.
- Opening. The daemon opens a SQLite database `exclusive`: an exclusive `flock` on
  `<db>.lock` (next to the database file as resolved: a symlink to the file, or to its
  folder, names the same lock; holding the owner's pid) is taken before anything
  else and held until `close()`, so a second daemon on the same file refuses to start,
  naming the database and the other pid. Other commands take no lock and work while a
  daemon runs. PostgreSQL takes no such lock: nodes share it, through leases.
- Read-only opening (status, feeds, outbox listing, backup): SQLite's `mode=ro`, falling
  back to `immutable=1` where even the WAL index cannot be created (a read-only mount);
  no migration, no write. A missing file reads as an empty store. On PostgreSQL a
  read-only session (`default_transaction_read_only`).
- A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is a StoreError that says so and how to
  recover (`raqib backup` copies, `sqlite3 .recover`), wherever it is found. A PostgreSQL
  server that does not answer within `CONNECT_TIMEOUT` is a StoreError naming the URL
  (without its password).
- Schema changes are named migrations (one list per backend, the same names where both
  have the change: SQLite's in `monitor.store.migrations`, PostgreSQL's in `postgres`),
  applied in order at start-up, each in its own transaction and recorded in `migrations`
  (with any step `Store._after_migration` adds: the search index fills itself from the
  stories there); a database written by an earlier
  release upgrades in place. A migration once released is never edited: a change is a
  new one. On PostgreSQL an advisory lock lets one of several nodes starting together
  migrate.
- `transaction()` is the unit of work: everything inside commits or nothing does; the
  parts' methods (`monitor.store.part`) that take a `conn` (an opaque handle) write inside the caller's
  transaction.
- Errors of either engine (`Database.errors`) leave the store as a StoreError.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import shlex
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import sqlite_utils

from ..dburl import is_postgres, safe_url
from ..errors import StoreError
from .migrations import MIGRATIONS
from .postgres import MIGRATIONS as PG_MIGRATIONS
from .postgres import PgConnection
from .rows import R, SchemaState, row_of

log = logging.getLogger(__name__)

Tx = Any  # the handle `transaction()` yields: a sqlite3 connection or a PgConnection, opaque to callers
MIGRATION_LOCK = 0x72716D67  # the advisory lock key of PostgreSQL migrations ("rqmg")

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
        database = database.resolve()  # named by what it is: a symlink to the file is the same database
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


INGEST_LOCK_WAIT_MS = 100  # one wait for the ingest lock; the store thread serves others between two


class IngestLockBusy(Exception):
    """Another node holds the ingest lock: the transaction was rolled back; try again."""


class Database:
    """The connection to Raqib's state and its plumbing. Not shared across threads.

    `path` is a SQLite file, or a `postgresql://` URL (`postgres`: PostgreSQL, see
    `monitor.store.postgres`); `node` names this process in the leases it takes
    (host:pid by default)."""

    def __init__(self, path: str | Path | None = None, *, memory: bool = False,
                 readonly: bool = False, exclusive: bool = False, node: str | None = None) -> None:
        self.postgres = not memory and is_postgres(path)
        self.url = str(path) if self.postgres else None
        self.path = None if memory or path is None or self.postgres else Path(path)
        self.readonly = readonly
        self.node = node or f"{socket.gethostname()}:{os.getpid()}"
        self._lock: DatabaseLock | None = None
        # held for a whole transaction and for every statement outside one: a caller in
        # another thread than the daemon's store thread waits instead of interleaving
        self.lock = threading.RLock()
        self.sqlite: sqlite_utils.Database | None = None  # the sqlite-utils handle (SQLite only)
        self.conn: Any
        self.errors: tuple[type[Exception], ...] = (sqlite3.Error,)  # what the engine raises; leaves as StoreError
        if self.postgres:
            self._open_postgres(readonly)
        else:
            self._open_sqlite(readonly, exclusive)

    def _open_postgres(self, readonly: bool) -> None:
        assert self.url is not None
        self.errors = (sqlite3.Error, psycopg.Error)
        self.conn = PgConnection(self.url, readonly=readonly, application_name=f"raqib {self.node}")
        try:
            if not readonly:
                self._migrate()
        except BaseException:
            self.conn.close()
            raise

    def _open_sqlite(self, readonly: bool, exclusive: bool) -> None:
        if readonly and self.path is not None and not self.path.exists():
            self.path = None  # nothing stored yet: an empty store answers every read
        try:
            if self.path is None:
                self.sqlite = sqlite_utils.Database(memory=True)
            elif readonly:
                self.sqlite = sqlite_utils.Database(self._connect_readonly(self.path))
            else:
                self.sqlite = self._open_file(self.path, exclusive)
            self.sqlite.execute("PRAGMA foreign_keys=ON")
            self.sqlite.execute("PRAGMA busy_timeout=30000")
            self.conn = self.sqlite.conn
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

    def _open_file(self, path: Path, exclusive: bool) -> sqlite_utils.Database:
        """The SQLite file to write, made (private) when missing, in WAL mode; `exclusive`
        takes this process's lock on it first."""
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)  # state is private
        if exclusive:
            self._lock = DatabaseLock(path)
        new = not path.exists()
        # one thread at a time uses it (the daemon's store thread), not always the opener
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        handle = sqlite_utils.Database(conn)
        if new:
            os.chmod(path, 0o600)
        handle.execute("PRAGMA journal_mode=WAL")
        handle.execute("PRAGMA synchronous=NORMAL")
        return handle

    @property
    def backend(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    @property
    def greatest(self) -> str:
        """The larger-of-two-values function: SQLite's scalar MAX, PostgreSQL's GREATEST."""
        return "GREATEST" if self.postgres else "MAX"

    @property
    def where(self) -> str:
        """The database as messages name it (a URL without its password)."""
        if self.url is not None:
            return safe_url(self.url)
        return str(self.path or ":memory:")

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

    def _error(self, exc: BaseException, doing: str, hint: str = "") -> StoreError:
        """A StoreError for `exc`; a damaged file says so, and how to recover."""
        where = self.where
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _DAMAGED:
            return StoreError(
                f"database {where} is damaged: {exc}",
                hint=f"stop Raqib and keep a copy of the file; then restore a copy made by `raqib backup`, "
                     f"or rescue what is readable with `sqlite3 {where} .recover | sqlite3 {where}.recovered` "
                     f"and point `database:` at the new file")
        if self.postgres:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            reach = type(exc).__name__ == "OperationalError"
            return StoreError(f"{doing} ({where}): {text}",
                              hint="is the PostgreSQL server up and reachable?" if reach else "")
        return StoreError(f"{doing}: {exc}", hint=hint)

    # -- plumbing ---------------------------------------------------------------------

    def migrations(self) -> list[tuple[str, str]]:
        """This backend's named migrations, in order."""
        if self.postgres:
            return PG_MIGRATIONS
        return MIGRATIONS

    def _migrate(self) -> None:
        """Apply the migrations not applied yet. On PostgreSQL several nodes may start at
        once: a session advisory lock lets one of them migrate while the others wait."""
        if self.postgres:
            self.conn.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
        try:
            times = "DOUBLE PRECISION" if self.postgres else "REAL"
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied {times})")
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
            for name, sql in self.migrations():
                if name in done:
                    continue
                with self.transaction():
                    for statement in sql.split(";"):
                        if statement.strip():
                            self.conn.execute(statement)
                    self._after_migration(name, self.conn)
                    self.conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
                # a scratch database in memory (`raqib feeds` works out the table in one) says nothing
                log.log(logging.DEBUG if self.path is None and not self.postgres else logging.INFO,
                        "migration applied name=%s backend=%s", name, self.backend)
        finally:
            if self.postgres and not self.conn.in_transaction:
                self.conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))

    def schema_state(self) -> SchemaState:
        """Which backend, and the migrations applied and missing (`raqib check`)."""
        try:
            if self.postgres:
                exists = self._scalar("SELECT to_regclass('migrations') IS NOT NULL")
            else:
                exists = self._scalar("SELECT 1 FROM sqlite_master WHERE type='table' AND name='migrations'")
            applied = [r[0] for r in self.conn.execute("SELECT name FROM migrations")] if exists else []
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc
        return SchemaState(backend=self.backend, where=self.where, applied=applied,
                           missing=[name for name, _ in self.migrations() if name not in applied])

    def set_id_floors(self, *, stories: int, outbox: int) -> None:
        """Story and outbox ids handed out from now on are above these (`raqib migrate-db`)."""
        if self.postgres:
            self.conn.execute("SELECT setval('story_ids', ?, false)", (stories + 1,))
            self.conn.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), ?, false)", (outbox + 1,))
            return
        with self.transaction() as conn:  # outbox ids follow MAX(id) on SQLite; stories keep a high-water mark
            if not conn.execute("UPDATE sqlite_sequence SET seq=MAX(seq, ?) WHERE name='stories'", (stories,)).rowcount:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('stories', ?)", (stories,))

    def _after_migration(self, name: str, conn: Tx) -> None:
        """What a migration needs beyond its SQL (a table module fills in data that only
        Python can compute), in the migration's own transaction."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One atomic unit of work; everything inside commits or nothing does. What it
        yields is an opaque handle the table methods that take a `conn` write through."""
        with self.lock:
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
                    with suppress(*self.errors):  # the connection itself failed: nothing was committed
                        conn.execute("ROLLBACK")
                if isinstance(exc, self.errors):
                    raise self._error(exc, "database write failed",
                                      "is the disk full or the database read-only?") from exc
                raise

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Iterator[dict[str, Any]]:
        with self.lock:
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            rows = cur.fetchall()
        for row in rows:
            yield dict(zip(names, row, strict=True))

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        try:
            return list(self._rows(sql, params))
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc

    def _tuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read as tuples, in the order of its columns (a bulk read: no dict a row)."""
        try:
            with self.lock:
                rows: list[tuple[Any, ...]] = self.conn.execute(sql, params).fetchall()  # both drivers' rows are tuples
                return rows
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc

    def _typed(self, cls: type[R], sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[R]:
        """The rows of a read as `cls` rows (`rows.row_of`)."""
        return [row_of(cls, r) for r in self._query(sql, params)]

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            with self.lock:
                row = self.conn.execute(sql, params).fetchone()
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc
        return row[0] if row else None

    def _columns(self, table: str) -> list[str]:
        if self.postgres:
            return [r["column_name"] for r in self._query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema=current_schema() "
                "AND table_name=? ORDER BY ordinal_position", (table,))]
        return [r["name"] for r in self._query(f"PRAGMA table_info({table})")]

    def _has_table(self, table: str) -> bool:
        if self.postgres:
            return bool(self._scalar("SELECT to_regclass(?) IS NOT NULL", (table,)))
        return bool(self._scalar("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)))

    _INGEST_KEY = "hashtextextended(current_schema() || ':raqib:ingest', 0)"

    def take_ingest_lock(self) -> None:
        """Serialize ingest across every process writing stories, inside the caller's
        transaction: on PostgreSQL a transaction-level advisory lock, keyed by the schema,
        waited for at most `INGEST_LOCK_WAIT_MS` (the server queues the waiters fairly);
        then IngestLockBusy, the transaction is rolled back and the caller gives its store
        thread back before trying again. COMMIT or ROLLBACK gives the lock back; a node
        that stops answering with it held loses its session, and the lock, to the server's
        `idle_in_transaction_session_timeout` (see `postgres`). SQLite: one daemon owns the
        file and is the only writer; nothing to take."""
        if not self.postgres:
            return
        with self.lock:
            assert self.conn.in_transaction, "the ingest lock is taken inside a transaction"
            self.conn.execute(f"SET LOCAL lock_timeout = {INGEST_LOCK_WAIT_MS}")
            try:
                self.conn.execute(f"SELECT pg_advisory_xact_lock({self._INGEST_KEY})")
            except self.errors as exc:
                if getattr(exc, "sqlstate", None) == "55P03":  # lock_not_available
                    raise IngestLockBusy() from None
                raise

    def ingest_lock_holder(self) -> str:
        """Who holds the ingest lock, in words (PostgreSQL: the session's application name,
        which names its node, its pid, its state and for how long); "" when nobody does,
        on SQLite, or when the server does not say."""
        if not self.postgres:
            return ""
        try:
            with self.lock:
                row = self.conn.execute(
                    "SELECT a.application_name, a.pid, a.state, EXTRACT(EPOCH FROM now() - a.state_change) "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    f"AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = {self._INGEST_KEY}"
                ).fetchone()
        except self.errors:
            return ""
        if row is None:
            return ""
        name, pid, state, seconds = row
        return f"{name or '?'} (pid {pid}, {state or 'state unknown'} for {float(seconds or 0):.0f}s)"

    def _has_column(self, table: str, column: str) -> bool:
        return column in self._columns(table)

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        try:
            with self.transaction() as conn:
                return conn.execute(sql, params)
        except self.errors as exc:
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
        """Close the connection once no other thread is inside a statement (`lock`): a
        statement still running in another thread (a rebuild behind a daemon that is
        stopping) would otherwise read a closed connection's freed memory. A statement
        tried afterwards fails as StoreError."""
        with self.lock:
            try:
                if self.path is not None and not self.readonly:
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self.conn.close()
            except self.errors as exc:
                log.warning("database close failed error=%s", exc)
            finally:
                if self._lock is not None:
                    self._lock.release()
                    self._lock = None

    def backup(self, target: str | Path, *, overwrite: bool = True) -> None:
        """Online backup into `target` (a consistent copy while the daemon runs). SQLite
        only: a PostgreSQL database is backed up with the server's own `pg_dump`. The
        target is checked first (`_check_backup_target`); an earlier copy there is replaced
        only with `overwrite`."""
        if self.postgres:
            raise StoreError(f"raqib backup copies SQLite files; {self.where} is PostgreSQL",
                             hint=f"use pg_dump: {pg_dump_command(self.url or '', str(target))}")
        target = Path(target)
        self._check_backup_target(target)
        if target.exists() and not overwrite:
            raise StoreError(f"{target} exists; nothing was written",
                             hint="pass --force to overwrite it, or name another file")
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


    def _check_backup_target(self, target: Path) -> None:
        """A backup overwrites only what is its own: a new file, or an earlier SQLite copy;
        never the live database (or its -wal, -shm, .lock) and never another kind of file
        (a config, a watchlist), whose mode and bytes are left as they were."""
        if self.path is not None:
            live = self.path.resolve()
            own = {live, *(live.with_name(live.name + end) for end in ("-wal", "-shm", "-journal", ".lock"))}
            if target.resolve() in own:
                raise StoreError(f"refusing to back up {self.path} onto itself ({target})",
                                 hint="name a new file, e.g. raqib-backup.db in another folder")
        if not target.exists():
            return
        if not target.is_file():
            raise StoreError(f"refusing to back up onto {target}: not a regular file")
        with open(target, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
        if head and head != SQLITE_HEADER:
            raise StoreError(f"refusing to overwrite {target}: it is not a SQLite database (an earlier backup)",
                             hint="name a new file; raqib backup replaces only its own earlier copies")


SQLITE_HEADER = b"SQLite format 3\x00"


def pg_dump_command(url: str, target: str) -> str:
    """The pg_dump line that backs up this PostgreSQL database into `target` (custom format)."""
    return f"pg_dump --format=custom --file={shlex.quote(target)} {shlex.quote(safe_url(url))}"
