"""The web view's reads, off the daemon's loop and off its writer connection.

A small pool of worker threads (two: a long `try` leaves one for the pages), each with
its own read-only `Store` on the daemon's database file (SQLite `mode=ro`, opened on
first use in that thread: a connection belongs to the thread that made it). SQLite in
WAL mode lets them read while the daemon writes; nothing here can write. `await
reader(fn, *args)` runs `fn(store, *args)` in a worker and hands back its result (or
its exception) on the loop.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from monitor.dburl import is_postgres
from monitor.store import Store

T = TypeVar("T")


class Reader:
    def __init__(self, database: Path | str, *, threads: int = 2) -> None:
        self.database = database if isinstance(database, str) and is_postgres(database) else Path(database)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web-read")

    def _store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.database, readonly=True)
            self._local.store = store  # closed with its thread (the connection is collected with it)
        return store

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        return fn(self._store(), *args)

    async def __call__(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, fn, args)

    def close(self) -> None:
        """Stop taking work; reads under way finish in their thread, which then ends."""
        self._pool.shutdown(wait=False, cancel_futures=True)
