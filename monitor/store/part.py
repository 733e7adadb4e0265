"""`Part`: one table family's reads and writes, over the store's one connection.

`Store` (the composition root) opens the `Database` and hands it to each part
(`store.feeds`, `store.stories`, `store.outbox` …). A part holds no state of its own
but what it caches about the schema; every statement goes through the shared
database, so a part's writes join the caller's `transaction()` like any other.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..errors import StoreError
from .db import Database
from .rows import R


class Part:
    """The plumbing a table family reads and writes through (see `Database`)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def postgres(self) -> bool:
        return self.database.postgres

    @property
    def conn(self) -> Any:
        return self.database.conn

    @property
    def lock(self) -> threading.RLock:
        return self.database.lock

    @property
    def node(self) -> str:
        return self.database.node

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return self.database.errors

    @property
    def greatest(self) -> str:
        return self.database.greatest

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Iterator[dict[str, Any]]:
        return self.database._rows(sql, params)

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return self.database._query(sql, params)

    def _typed(self, cls: type[R], sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[R]:
        return self.database._typed(cls, sql, params)

    def _tuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        return self.database._tuples(sql, params)

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.database._scalar(sql, params)

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.database._execute(sql, params)

    def _error(self, exc: BaseException, doing: str, hint: str = "") -> StoreError:
        return self.database._error(exc, doing, hint)

    def _columns(self, table: str) -> list[str]:
        return self.database._columns(table)

    def _has_column(self, table: str, column: str) -> bool:
        return self.database._has_column(table, column)

    def _has_table(self, table: str) -> bool:
        return self.database._has_table(table)
