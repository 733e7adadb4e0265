"""Direct reads and writes of a test's database, for assertions and for setting up a
state no public path reaches. The project's own code goes through `Store` methods.
The SQL is written as both backends read it (`?` placeholders; see monitor.store.postgres)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.store import Store


def rows(store: Store, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cur = store.conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def value(store: Store, sql: str, params: Sequence[Any] = ()) -> Any:
    row = store.conn.execute(sql, params).fetchone()
    return row[0] if row else None


def run(store: Store, sql: str, params: Sequence[Any] = ()) -> int:
    with store.transaction() as conn:
        return conn.execute(sql, params).rowcount
