"""The article queue: reads the page of every story that waits for one, then settles it.

The pipeline stores a story whose page is worth reading as `waiting` and names it in
`IngestResult.to_read`; the poller hands those to `ArticleQueue.submit` and goes on
polling at once. Rules:

- Pages wait in a queue per host and are started newest stored first: in a backlog (a
  burst, many feeds added at once) the freshest news is read first, and the older
  stories, past their wait, are matched on their feeds' text meanwhile. At most
  `RUNNING` × `fulltext.concurrency` reads are started at once, and at most
  `fulltext.per_host` of them on one host, so a
  slow or paced host holds only its own pages, never another host's turn. The reader
  (`monitor.article.ArticleReader`) then paces each host and bounds the fetches.
- A story waits at most `fulltext.wait` seconds from when it was stored. Then `Pipeline.expire`
  matches it on the feed's text (and alerts); its page is still read, and when it comes
  `Pipeline.settle` matches the text again: only what the feed's text did not fire alerts.
- A page that came (or failed for good) goes to `Pipeline.settle` with its text or the
  reason in words; the story is then matched with its body, or on the feed's text.
- At most `max_open` pages are open at once on this node; a story beyond that is matched
  on the feed's text at once, with the reason recorded (a backlog never holds alerts).
- At start (`resume`), the stories left open in the store by an earlier run of the last
  `RESUME_WINDOW` (still waiting, or late) have their pages read again, and the held
  ones whose wait ran out are matched at once. `sweep` (called every `SWEEP_EVERY`) does
  the same for held stories that no task of this node holds and whose wait ran out by
  `SWEEP_GRACE`: a node that died with them (on PostgreSQL, any live node sweeps up after
  a dead one), so a story is never held much past `fulltext.wait`, whoever stored it.
  The node holding a story matches it itself when its wait runs out; a sweep racing it
  finds the story moved and does nothing.
- A feed whose last `FLAG_AFTER` pages were all fetched but gave no text, or were refused
  (401/403), is reported once (`on_flag`, with the last reason): a paywall, or pages
  built by script (`monitor.article.gives_no_text`). A site or network that is down is
  not that: its stories are matched on their feeds' text, and the feed's own polls say
  it is down. A page read clears it.
- `close` cancels the tasks: pages not read stay open in the store for the next start.
Every store call goes through `run` (the store thread).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

from .article import gives_no_text
from .parse_pool import ParsingStopped
from .pipeline import Pipeline
from .protocols import Run
from .settings import FulltextSettings
from .store import BodyState, Store

log = logging.getLogger(__name__)

RESUME_WINDOW = 6 * 3600.0  # an open page older than this is not read again at start
RUNNING = 4  # reads started at once, per page the reader fetches at once (they wait on its pacing)
SWEEP_EVERY = 5.0  # how often `sweep` runs: a dead node's held stories alert this soon after their wait
SWEEP_GRACE = 5.0  # a held story whose wait ran out this long ago, with no task here, is matched
FLAG_AFTER = 10  # pages in a row with no text before the admins are told


class PageResult(Protocol):
    @property
    def body(self) -> str: ...

    @property
    def reason(self) -> str: ...


class PageReader(Protocol):
    async def read(self, url: str, *, feed_url: str) -> PageResult: ...


FlagHook = Callable[[str, str], Awaitable[None]]  # (feed, reason)


class ArticleQueue:
    def __init__(self, reader: PageReader, pipeline: Pipeline, store: Store, *,
                 settings: FulltextSettings = FulltextSettings(),
                 run: Run, clock: Callable[[], float] = time.time,
                 max_open: int = 10_000, on_alerts: Callable[[], None] | None = None,
                 on_flag: FlagHook | None = None) -> None:
        self.reader = reader
        self.pipeline = pipeline
        self.store = store
        self.wait = settings.wait
        self.run = run
        self.clock = clock
        self.max_open = max_open
        self.on_alerts = on_alerts
        self.on_flag = on_flag
        self._tasks: dict[int, asyncio.Task[None]] = {}  # reads started
        self._queued: dict[str, list[tuple[int, str, str, str]]] = {}  # host -> (id, url, feed, feed URL), newest last
        self._queued_ids: set[int] = set()
        self._host_running: dict[str, int] = {}
        self.running = max(1, RUNNING * settings.concurrency)
        self.per_host = max(1, settings.per_host)
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()  # expiries running
        self.read = self.failed = self.expired = 0  # for metrics and tests

    @property
    def open(self) -> int:
        """Pages queued or being read on this node."""
        return len(self._tasks) + len(self._queued_ids)

    def submit(self, feed: str, feed_url: str, stories: list[tuple[int, str]], stored: float | None = None) -> None:
        """Read these stories' pages (ids and URLs, just stored as waiting)."""
        stored = self.clock() if stored is None else stored
        for story_id, url in stories:
            self._queue(story_id, url, feed, feed_url, stored)
        self._pump()

    def _queue(self, story_id: int, url: str, feed: str, feed_url: str, stored: float) -> None:
        if story_id in self._tasks or story_id in self._queued_ids:
            return
        if self.open >= self.max_open:
            log.warning("article queue full, matched on the feed's text feed=%s story=%d open=%d",
                        feed, story_id, self.open)
            self._spawn_expire(story_id, f"too many pages waiting to be read ({self.max_open})")
            return
        self._queued.setdefault(_host(url), []).append((story_id, url, feed, feed_url))
        self._queued_ids.add(story_id)
        delay = max(0.0, stored + self.wait - self.clock())
        self._timers[story_id] = asyncio.get_running_loop().call_later(delay, self._spawn_expire, story_id, "")

    def _pump(self) -> None:
        """Start the newest queued page of a host with room, while reads may start."""
        while len(self._tasks) < self.running:
            best: tuple[int, str] | None = None
            for host, stack in self._queued.items():
                if stack and self._host_running.get(host, 0) < self.per_host and (best is None or
                                                                                     stack[-1][0] > best[0]):
                    best = (stack[-1][0], host)
            if best is None:
                return
            host = best[1]
            story_id, url, feed, feed_url = self._queued[host].pop()
            if not self._queued[host]:
                del self._queued[host]
            self._queued_ids.discard(story_id)
            self._host_running[host] = self._host_running.get(host, 0) + 1
            task = asyncio.get_running_loop().create_task(self._read(story_id, url, feed, feed_url),
                                                          name=f"article-{story_id}")
            self._tasks[story_id] = task
            task.add_done_callback(functools.partial(self._done, story_id, host))

    def _done(self, story_id: int, host: str, task: asyncio.Task[None]) -> None:
        self._tasks.pop(story_id, None)
        left = self._host_running.get(host, 1) - 1
        if left > 0:
            self._host_running[host] = left
        else:
            self._host_running.pop(host, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("article task failed error=%r", task.exception())
        if not task.cancelled():
            self._pump()

    def _spawn_expire(self, story_id: int, reason: str) -> None:
        self._timers.pop(story_id, None)
        task = asyncio.get_running_loop().create_task(self._expire(story_id, reason), name=f"article-wait-{story_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _expire(self, story_id: int, reason: str) -> None:
        try:
            alerts = await self.pipeline.expire(story_id, self.run, reason)
        except Exception:  # a store fault: the sweep matches it later
            log.exception("matching a story on its feed's text failed story=%d", story_id)
            return
        self.expired += 1
        if alerts:
            log.info("story matched on its feed's text, page not read in time story=%d alerts=%d", story_id, alerts)
            if self.on_alerts:
                self.on_alerts()

    async def _read(self, story_id: int, url: str, feed: str, feed_url: str) -> None:
        try:
            result = await self.reader.read(url, feed_url=feed_url)
        except ParsingStopped:  # the daemon is stopping: the page stays open for the next start
            return
        body, reason = result.body or "", result.reason or ""
        if body:
            self.read += 1
        else:
            self.failed += 1
            log.info("article page not read feed=%s story=%d url=%s reason=%s", feed, story_id, url, reason)
        while True:
            try:
                alerts = await self.pipeline.settle(story_id, body, reason, self.run)
                break
            except Exception:  # the database refused: keep the text and try again shortly
                log.exception("storing an article failed, retrying story=%d", story_id)
                await asyncio.sleep(5.0)
        timer = self._timers.pop(story_id, None)
        if timer is not None:
            timer.cancel()
        if alerts and self.on_alerts:
            self.on_alerts()
        await self._health(feed, body, reason)

    async def _health(self, feed: str, body: str, reason: str) -> None:
        if body:
            await self.run(self.store.articles.flag_fulltext, feed, False)
            return
        recent = await self.run(self.store.articles.recent_page_outcomes, feed, FLAG_AFTER)
        failing = len(recent) >= FLAG_AFTER and all(s == BodyState.FAILED and gives_no_text(why) for s, why in recent)
        if failing and await self.run(self.store.articles.flag_fulltext, feed, True):
            log.warning("feed pages give no article text feed=%s pages=%d reason=%s", feed, FLAG_AFTER, reason)
            if self.on_flag:
                await self.on_flag(feed, reason)

    async def resume(self) -> int:
        """Pick up the pages an earlier run left open (see the module docstring)."""
        now = self.clock()
        rows = await self.run(self.store.articles.open, states=(BodyState.WAITING, BodyState.LATE),
                              fetched_before=now + 1, fetched_after=now - RESUME_WINDOW, limit=self.max_open)
        for r in rows:
            self._queue(int(r.id), r.url, r.feed, r.feed_url or "", float(r.fetched))
        self._pump()
        await self.sweep()
        return len(rows)

    async def sweep(self) -> int:
        """Match the held stories whose wait ran out with no task of this node on them."""
        now = self.clock()
        rows = await self.run(self.store.articles.open, states=BodyState.HELD,
                              fetched_before=now - self.wait - SWEEP_GRACE, limit=1000)
        n = 0
        for r in rows:
            sid = int(r.id)
            if sid in self._tasks or sid in self._queued_ids or sid in self._timers:
                continue
            await self._expire(sid, "")
            n += 1
        return n

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._queued.clear()
        self._queued_ids.clear()
        tasks = list(self._tasks.values()) + list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
