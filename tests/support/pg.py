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
