"""PostgreSQL for tests: a schema of its own per test on the server at RAQIB_TEST_POSTGRES.

`postgres_url` (fixture) is a URL whose connections live in a fresh schema (libpq
`options=-csearch_path=...`), dropped after the test. Where no server answers the test
is skipped with one line saying how to enable it; RAQIB_REQUIRE_POSTGRES=1 (CI) makes
that a failure instead.
"""
from __future__ import annotations

import os
import secrets
from typing import Iterator
from urllib.parse import quote

import psycopg
import pytest

URL = os.environ.get("RAQIB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _server_answers() -> str | None:
    try:
        with psycopg.connect(URL, connect_timeout=2):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def in_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    problem = _server_answers()
    if problem is not None:
        message = (f"PostgreSQL not reachable at {URL} ({problem}): set RAQIB_TEST_POSTGRES to a server "
                   "to run the PostgreSQL tests")
        if os.environ.get("RAQIB_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield in_schema(URL, schema)
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
