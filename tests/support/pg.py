"""PostgreSQL for the tests: the server of `RAQIB_TEST_POSTGRES` (default
`postgresql://postgres@127.0.0.1:5432/test`), one fresh schema per test.

`postgres_url()` (the fixture `pg_url`) creates a schema named for the test and returns
the server's URL with `options=-csearch_path=<schema>`, so the store — or a daemon
started on that URL — works inside it alone; the schema is dropped afterwards. Where no
server answers, the test is skipped and the session ends with one line saying how to
enable these tests; `RAQIB_REQUIRE_POSTGRES=1` (CI) makes that a failure instead.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
ENABLE = ("PostgreSQL tests skipped: no server answered at {url} — start PostgreSQL there or set "
          "RAQIB_TEST_POSTGRES=postgresql://user@host:port/db (RAQIB_REQUIRE_POSTGRES=1 makes this a failure)")

SKIP_REASON = "PostgreSQL not reachable"
_reachable: dict[str, str | None] = {}  # url -> None when it answers, else why not


def server_url() -> str:
    return os.environ.get("RAQIB_TEST_POSTGRES") or DEFAULT


def require_server() -> str:
    """The server's URL, or skip (fail under RAQIB_REQUIRE_POSTGRES=1) when it does not answer."""
    url = server_url()
    if url not in _reachable:
        try:
            psycopg.connect(url, connect_timeout=3).close()
            _reachable[url] = None
        except psycopg.Error as exc:
            _reachable[url] = (str(exc).strip().splitlines() or ["no answer"])[0]
    why = _reachable[url]
    if why is not None:
        if os.environ.get("RAQIB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"RAQIB_REQUIRE_POSTGRES=1 but PostgreSQL at {url} does not answer: {why}")
        pytest.skip(f"{SKIP_REASON} (see the last line of the session)")
    return url


def with_schema(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + "options=" + quote(f"-csearch_path={schema}")


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def postgres_url(name: str = "t") -> Iterator[str]:
    url = require_server()
    schema = f"raqib_{name[:30].lower()}_{secrets.token_hex(4)}"
    schema = "".join(c if c.isalnum() or c == "_" else "_" for c in schema)
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(url, schema)
    finally:
        drop_schema(url, schema)


@pytest.fixture
def pg_url(request) -> Iterator[str]:
    yield from postgres_url(request.node.name)


# -- the server's own views and locks, for tests that play an administrator or a stuck node --

# The advisory lock a node holds for a role (raqib.roles), taken by a session of the test's
# own: `conn.execute(ROLE_LOCK, (role,))` answers whether it was free.
ROLE_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':raqib:' || %s, 0))"
# The ingest lock's key (monitor.store: one writer of new stories at a time).
INGEST_KEY = "hashtextextended(current_schema() || ':raqib:ingest', 0)"
# A statement whose result is large enough to keep the server sending for a while.
LONG_RESULT = "SELECT repeat('x', 1000) FROM generate_series(1, 3000000)"


def create_schema(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(f'CREATE SCHEMA "{schema}"')


def drop_schema_now(conn: psycopg.Connection, schema: str) -> None:
    """Drop `schema` and what is in it on this connection, under the feet of whoever uses it."""
    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def terminate_application(conn: psycopg.Connection, application_name: str) -> None:
    """End, from the server's side, every session of that application name."""
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                 (application_name,))


def live_sessions(conn: psycopg.Connection, pids: list[int]) -> int:
    """How many of these server processes still have a session."""
    return conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[0]


def ingest_lock_free(url: str) -> bool:
    """Whether another session can take the ingest lock of the URL's schema now."""
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        free = bool(conn.execute(f"SELECT pg_try_advisory_lock({INGEST_KEY})").fetchone()[0])
        if free:
            conn.execute(f"SELECT pg_advisory_unlock({INGEST_KEY})")
        return free


def ingest_holders(conn: psycopg.Connection, schema: str) -> list[tuple[int, str, float]]:
    """(pid, state, seconds in that state) of each session holding `schema`'s ingest lock."""
    return conn.execute("""
        SELECT a.pid, a.state, EXTRACT(EPOCH FROM now() - a.state_change)
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s || ':raqib:ingest', 0)
    """, (schema,)).fetchall()
