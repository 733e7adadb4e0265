"""The daemon's jobs on a timer (APScheduler): watchlist refresh, housekeeping, the
silent-feed check, the heartbeat, the article sweep, the systemd watchdog, the index
snapshot, and on PostgreSQL the recovery of what a dead node was sending.

Rules: every job runs on the event loop (a coroutine), never in APScheduler's thread
pool (the store's SQLite connection belongs to the loop's thread); one run of a job at
a time, missed runs folded into one; a job that fails is logged and runs again at its
next time.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]  # no types in 3.x

log = logging.getLogger(__name__)
Job = tuple[str, Callable[[], object], float]  # (name, what to run, seconds between runs)


def start_jobs(loop: asyncio.AbstractEventLoop, jobs: Iterable[Job]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(event_loop=loop)
    for name, fn, seconds in jobs:
        scheduler.add_job(on_loop(fn), "interval", seconds=seconds, id=name, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def on_loop(fn: Callable[[], object]) -> Callable[[], object]:
    """`fn` as a coroutine function, so AsyncIOScheduler runs it on the loop; errors logged."""
    async def job() -> None:
        try:
            result = fn()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("scheduled job failed job=%s", getattr(fn, "__name__", fn))
    job.__name__ = getattr(fn, "__name__", "job")
    return job
