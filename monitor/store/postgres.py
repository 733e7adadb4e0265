"""The PostgreSQL side of the store's dialect seam: a connection (psycopg 3) that answers
the few calls the table modules make of a sqlite3 connection, and PostgreSQL's migrations.

The table modules write their SQL once, in the dialect both engines share, with `?`
placeholders. `translate` is the whole difference at statement level, applied once per
distinct statement (cached):
- `?` becomes `%s` (a literal `%` is doubled first);
- `INSERT OR IGNORE INTO …` becomes `INSERT INTO … ON CONFLICT DO NOTHING`;
- `BEGIN IMMEDIATE` (SQLite's write lock taken up front) becomes `BEGIN`.
What cannot be said the same way (the story-id sequence, a row conflict resolved by
replacing, the list of a table's columns, leases with `FOR UPDATE SKIP LOCKED`) is a
branch on `Database.postgres` in the table module that owns it, beside the SQLite form.

Connections: one per `Store`, autocommit with explicit BEGIN/COMMIT (the same unit of
work as on SQLite), reached within `CONNECT_TIMEOUT` seconds and failing with a clear
StoreError otherwise; every statement is bounded by `statement_timeout`. A node's own
sessions are bounded by the server too, so whatever they hold is given back within a
stated time when the node stops answering (frozen, cut off or dead):
`idle_in_transaction_session_timeout` (`IDLE_IN_TRANSACTION_MS`, 10 s) ends a session
that sits in a transaction without a statement (a node paused while it holds the
ingest lock, which lives only inside a transaction); `tcp_user_timeout` (15 s) ends one
whose node stopped reading while the server was sending it a result (frozen mid-read,
the session "active" in ClientWrite, which no idle timeout covers); and the server's own
TCP keepalives (`SERVER_KEEPALIVES`, set per session: 10 s idle, then 5 s apart, 3
lost: about 25 s) end a session whose peer is gone. The client side uses the same
keepalives and user timeout.
The role-lock session (`locks`) adds `idle_session_timeout`. A connection
that broke (server restart, network) is opened again at the next statement outside a
transaction; a transaction it broke fails as a whole, like a full disk on SQLite.

Types: times are DOUBLE PRECISION (epoch seconds, as SQLite's REAL), ids and counts
BIGINT (a health alert's cluster is minus a millisecond timestamp), flags INTEGER 0/1,
so rows read back the same from both engines.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from ..dburl import safe_url
from ..errors import StoreError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds to reach the server before `raqib` says it cannot
STATEMENT_TIMEOUT_MS = 60_000
IDLE_IN_TRANSACTION_MS = 10_000  # a session idle inside a transaction this long is ended by the server
# tcp_user_timeout (ms): data the server sent that stays unacknowledged this long ends the
# session; it covers a node frozen while a result is being sent to it (its kernel still
# acknowledges keepalives and zero-window probes, and the session stays "active")
SERVER_KEEPALIVES = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3,
                     "tcp_user_timeout": 15_000}
CLIENT_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                     "tcp_user_timeout": 15_000}


def session_bounds(*, readonly: bool = False) -> list[str]:
    """The SET statements every session of a node runs first (see the module docstring)."""
    out = [f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}",
           f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS}"]
    out += [f"SET {name} = {value}" for name, value in SERVER_KEEPALIVES.items()]
    if readonly:
        out.append("SET default_transaction_read_only = on")
    return out

MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", """
    CREATE TABLE IF NOT EXISTS feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        configured_url TEXT,
        interval DOUBLE PRECISION,
        enabled INTEGER NOT NULL DEFAULT 1,
        disabled_reason TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        next_poll DOUBLE PRECISION NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_poll DOUBLE PRECISION,
        last_success DOUBLE PRECISION,
        last_error TEXT,
        last_error_at DOUBLE PRECISION,
        last_new_item DOUBLE PRECISION,
        items_seen BIGINT NOT NULL DEFAULT 0,
        avg_interval DOUBLE PRECISION,
        healthy INTEGER NOT NULL DEFAULT 1,
        title TEXT,
        source TEXT NOT NULL DEFAULT 'config'
    );
    CREATE SEQUENCE IF NOT EXISTS story_ids;
    CREATE TABLE IF NOT EXISTS stories (
        id BIGINT PRIMARY KEY DEFAULT nextval('story_ids'),
        feed TEXT NOT NULL,
        guid TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '',
        canonical_url TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        published DOUBLE PRECISION,
        fetched DOUBLE PRECISION NOT NULL,
        cluster BIGINT NOT NULL,
        dedup_kind TEXT NOT NULL DEFAULT 'new',
        UNIQUE (feed, guid)
    );
    CREATE INDEX IF NOT EXISTS stories_cluster ON stories (cluster);
    CREATE INDEX IF NOT EXISTS stories_canonical_url ON stories (canonical_url);
    CREATE INDEX IF NOT EXISTS stories_fetched ON stories (fetched);
    CREATE TABLE IF NOT EXISTS outbox (
        id BIGSERIAL PRIMARY KEY,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'story',
        watchlist TEXT NOT NULL,
        cluster BIGINT NOT NULL,
        story_id BIGINT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_error TEXT,
        created DOUBLE PRECISION NOT NULL,
        sent_at DOUBLE PRECISION,
        ref TEXT,
        UNIQUE (cluster, watchlist, channel, destination, kind)
    );
    CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_try);
    CREATE TABLE IF NOT EXISTS subscriptions (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        watchlist TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created DOUBLE PRECISION NOT NULL,
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
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (channel, destination, term)
    );
    CREATE TABLE IF NOT EXISTS cluster_watchlists (
        cluster BIGINT NOT NULL,
        watchlist TEXT NOT NULL,
        PRIMARY KEY (cluster, watchlist)
    );
    CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT
    )
    """),
    ("002_feed_last_published", """
    ALTER TABLE feeds ADD COLUMN last_published DOUBLE PRECISION
    """),
    ("003_feed_bad_items", """
    ALTER TABLE feeds ADD COLUMN bad_items INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN bad_item_error TEXT
    """),
    ("004_outbox_held", """
    ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0
    """),
    ("005_story_event", """
    ALTER TABLE stories ADD COLUMN event BIGINT;
    UPDATE stories SET event=cluster;
    CREATE INDEX IF NOT EXISTS stories_event ON stories (event);
    ALTER TABLE outbox ADD COLUMN event BIGINT;
    UPDATE outbox SET event=cluster;
    ALTER TABLE outbox ADD COLUMN related TEXT;
    CREATE INDEX IF NOT EXISTS outbox_event ON outbox (event, watchlist, channel, destination)
    """),
    # The search index: a story's words as SQLite's FTS5 row holds them (monitor/store/desk.py),
    # narrowed with LIKE on the words, within the id range of the window
    ("006_story_search", """
    CREATE TABLE IF NOT EXISTS story_search (
        id BIGINT PRIMARY KEY,
        words TEXT NOT NULL
    )
    """),
    ("007_desk_view", """
    CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created);
    CREATE INDEX IF NOT EXISTS outbox_watchlist_created ON outbox (watchlist, created, kind, cluster);
    CREATE INDEX IF NOT EXISTS outbox_source_created ON outbox ((payload::json ->> 'source'), created);
    CREATE TABLE IF NOT EXISTS feed_days (
        feed TEXT NOT NULL,
        day BIGINT NOT NULL,
        stories BIGINT NOT NULL,
        PRIMARY KEY (feed, day)
    );
    INSERT INTO feed_days SELECT feed, FLOOR(fetched / 86400)::BIGINT, COUNT(*) FROM stories
        GROUP BY 1, 2 ON CONFLICT DO NOTHING
    """),
    ("008_leases", """
    ALTER TABLE feeds ADD COLUMN leased_until DOUBLE PRECISION;
    ALTER TABLE feeds ADD COLUMN leased_by TEXT;
    ALTER TABLE outbox ADD COLUMN leased_until DOUBLE PRECISION;
    ALTER TABLE outbox ADD COLUMN leased_by TEXT;
    CREATE INDEX IF NOT EXISTS feeds_due ON feeds (next_poll) WHERE enabled=1
    """),
    ("009_nodes", """
    CREATE TABLE IF NOT EXISTS nodes (
        name TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL,
        roles TEXT NOT NULL DEFAULT '',
        feeds_in_flight INTEGER NOT NULL DEFAULT 0,
        alerts_in_flight INTEGER NOT NULL DEFAULT 0,
        polls BIGINT NOT NULL DEFAULT 0
    )
    """),
    # the article behind each story (issue: read the whole story): its main text, how it
    # was got (`body_state`, see monitor/store/articles.py) and why not; per feed, whether
    # pages are read (`fulltext`) and whether the admins were told its pages give no text
    ("010_story_body", """
    ALTER TABLE stories ADD COLUMN body TEXT NOT NULL DEFAULT '';
    ALTER TABLE stories ADD COLUMN body_state TEXT NOT NULL DEFAULT '';
    ALTER TABLE stories ADD COLUMN body_reason TEXT;
    CREATE INDEX IF NOT EXISTS stories_body_open ON stories (body_state, fetched)
        WHERE body_state IN ('waiting', 'joined', 'late');
    ALTER TABLE feeds ADD COLUMN fulltext TEXT;
    ALTER TABLE feeds ADD COLUMN fulltext_flagged INTEGER NOT NULL DEFAULT 0
    """),
    # A desk's first day: the outlet's name the config gives a feed (`title:`), feedback on
    # an alert ("not relevant", counted per watchlist), and events a chat muted for a while.
    ("011_desk_first_day", """
    ALTER TABLE feeds ADD COLUMN config_title TEXT;
    CREATE TABLE IF NOT EXISTS feedback (
        id BIGSERIAL PRIMARY KEY,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        watchlist TEXT NOT NULL,
        story_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        UNIQUE (channel, destination, watchlist, story_id, kind)
    );
    CREATE INDEX IF NOT EXISTS feedback_watchlist ON feedback (watchlist, kind);
    CREATE TABLE IF NOT EXISTS muted_events (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        event BIGINT NOT NULL,
        until DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (channel, destination, event)
    )
    """),
    # Bounds and agreement: new items a poll left for the next ones (`poll.max_new_items`),
    # and the hash of each node's watchlists and settings (nodes that disagree are reported).
    ("012_node_config", """
    ALTER TABLE feeds ADD COLUMN items_deferred INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE nodes ADD COLUMN config_hash TEXT NOT NULL DEFAULT ''
    """),
]


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """One statement of the shared dialect as PostgreSQL reads it (see the module docstring)."""
    out = sql.replace("%", "%%").replace("?", "%s")
    stripped = out.lstrip()
    if stripped.upper().startswith("INSERT OR IGNORE INTO"):
        out = "INSERT INTO" + stripped[len("INSERT OR IGNORE INTO"):] + " ON CONFLICT DO NOTHING"
    elif stripped.upper() == "BEGIN IMMEDIATE":
        out = "BEGIN"
    return out


_IN_TRANSACTION = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR, pq.TransactionStatus.ACTIVE)


class PgConnection:
    postgres = True  # what `desk.index_story` asks of the handle it is given

    """A psycopg connection that answers like the sqlite3 connection the table modules
    were written for: `execute`, `executemany` (cursors with rowcount, fetchone,
    fetchall, iteration, description), `in_transaction`, `close`."""

    def __init__(self, url: str, *, readonly: bool = False, application_name: str = "raqib") -> None:
        self.url = url
        self.readonly = readonly
        self.application_name = application_name[:63]  # what pg_stat_activity shows of this session
        self._closed = False  # by `close`: never connected again (a lost connection is)
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self.url:
            kwargs["connect_timeout"] = CONNECT_TIMEOUT
        for name, value in CLIENT_KEEPALIVES.items():
            if name not in self.url:
                kwargs[name] = value
        if "application_name" not in self.url:
            kwargs["application_name"] = self.application_name
        try:
            conn = psycopg.connect(self.url, **kwargs)
            for statement in session_bounds(readonly=self.readonly):  # whatever options the URL chose
                conn.execute(statement)
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach PostgreSQL at {safe_url(self.url)}: {_first_line(exc)}",
                             hint="is the server running and the URL in `database:` right (user, host, "
                                  "port, database)?") from exc
        return conn

    @property
    def in_transaction(self) -> bool:
        """Inside BEGIN … COMMIT (a broken connection is in none: the next statement reconnects)."""
        return self._conn.info.transaction_status in _IN_TRANSACTION

    def _live(self) -> psycopg.Connection:
        if self._closed:
            raise psycopg.OperationalError("the connection is closed")
        if self._conn.broken or self._conn.closed:
            log.warning("PostgreSQL connection lost, connecting again url=%s", safe_url(self.url))
            self._conn = self._connect()
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> psycopg.Cursor:
        conn = self._conn if self.in_transaction else self._live()
        return conn.execute(translate(sql), params or None, prepare=False)

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> psycopg.Cursor:
        conn = self._conn if self.in_transaction else self._live()
        cur = conn.cursor()
        cur.executemany(translate(sql), seq)
        return cur

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Iterator[tuple[Any, ...]]:
        yield from self.execute(sql, params)

    def close(self) -> None:
        self._closed = True
        self._conn.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
