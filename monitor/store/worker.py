"""The store thread: where the daemon's store calls run, so the event loop never waits on
the database (a PostgreSQL round trip, a SQLite fsync).

- `StoreThread` is one thread, and one only: the store is "not shared across threads",
  and a single worker keeps that true for the daemon's own calls; calls run one at a
  time, in the order they were made (FIFO), so a story's write is never overtaken by a
  later one. `await thread(fn, *args)` runs `fn(*args)` there and hands back its result
  or its exception.
- `inline` has the same shape and runs the call right away in the caller's thread: what
  components use when they are built without a daemon (tests, `raqib demo`).
- A call cancelled while it waits is skipped; one already running finishes (a database
  statement cannot be interrupted half-way; `statement_timeout` bounds it on PostgreSQL).
- Calls made from other threads outside this one (a bot command reading its settings,
  /status) are serialized with it by the store's own lock (`Database.lock`), so a
  transaction is never interleaved with another thread's statements.
"""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class StoreThread:
    def __init__(self, name: str = "store") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Finish what was asked, then end the thread."""
        self._executor.shutdown(wait=True, cancel_futures=False)


async def inline(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return fn(*args, **kwargs)
