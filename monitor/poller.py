"""The poller: polls every due feed and hands its stories to the pipeline.

Due times live in the `feeds` table (`next_poll`), so a restart resumes the schedule.
Due feeds are claimed (`claim_due_feeds`): on PostgreSQL, where several nodes share the
table, each claimed feed is leased to this node for `lease` seconds, and the poll's
result (success or failure) ends the lease, and every third of a lease the leases of
polls still running are extended; a node that dies mid-poll leaves its leases to
expire, after which another node polls the feed. At stop, the daemon gives back the
leases of polls cut short (`release_feeds`). `Poller.poll_feed` reads top to bottom:

    load state → conditional GET → 304/unchanged → parse (in a worker process, under
    `parse_deadline`) → pipeline → pages to read handed on (`on_articles`, never waited
    for) → store fetch state, health and the next due time

Old news never floods a desk (`alert_after`): every poll hands the pipeline a cut-off, and a
story published before it is stored as seen and alerts nothing. The cut-off is
`max_age` before the poll (default two days); on a feed's first successful poll
(`last_success` still empty) its whole backlog is old, unless `backfill` is set, when
items published within `backfill` before that poll may alert. A story with no date counts
as published when first seen, the poll itself. How many stories were stored as old is
logged per poll (`old=`).

Failures never escape a feed: they are recorded on the feed's row (failures, last_error),
the next poll backs off exponentially with full jitter (or as `Retry-After` says), a 410
disables the feed, and a permanent redirect replaces its URL. A parse that outlasts
`parse_deadline` is stopped (its worker process killed, see `monitor.parse_pool`) and is
such a failure too. Items of a feed that cannot be read are left out and counted on the
feed's row (`bad_items`, `bad_item_error`: the count and a reason, from the last parse);
the rest of the feed goes on. A poll takes at most `poll.max_new_items` new items (the
oldest); the rest are counted on the row (`items_deferred`) and taken by the next
polls, which fetch the whole body again (no conditional GET) until none is left. Health
transitions (N consecutive failures → unhealthy, a success → healthy again) are
reported once each through `on_health`.

The poller takes the `poll`, `health` and `fulltext` settings (`monitor.settings`) as
they are.

Store calls are awaited through `on_store` (the daemon's store thread, `monitor.store.worker`;
inline when none is given), so the loop never waits on the database.

At stop, parses not finished are abandoned (the pool is closed): nothing of those polls
was stored, so the feeds are fetched and parsed again at the next start.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from .errors import FetchError, StoreError
from .fetch import Fetcher, FetchResult
from .parse_pool import ParsePool, ParsingStopped
from .pipeline import Pipeline
from .schedule import next_poll_after_failure, next_poll_after_success, update_publish_interval
from .settings import FulltextSettings, HealthSettings, PollSettings
from .store import Store
from .store.rows import FeedRow, FeedUpdate, Unset
from .store.worker import inline

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 200  # feeds claimed (leased on PostgreSQL) and being polled at once on one node


def alert_after(poll: PollSettings, now: float, *, first_poll: bool) -> float:
    """The cut-off of a poll at `now`: stories published before it alert nothing
    (`poll.max_age`; on a feed's first poll, `poll.backfill`)."""
    cutoff = now - poll.max_age
    if first_poll:
        cutoff = max(cutoff, now - poll.backfill) if poll.backfill > 0 else math.inf
    return cutoff


HealthHook = Callable[[str, bool, str], None]  # (feed name, healthy, reason)
PollHook = Callable[[str, str, float], None]  # (feed name, outcome, seconds)
ArticleHook = Callable[[str, str, list[tuple[int, str]]], None]  # (feed name, feed URL, [(story id, page URL)])


class Poller:
    def __init__(self, store: Store, fetcher: Fetcher, pipeline: Pipeline, *,
                 settings: PollSettings = PollSettings(),
                 health: HealthSettings = HealthSettings(),
                 fulltext: FulltextSettings = FulltextSettings(),
                 clock: Callable[[], float] = time.time,
                 on_health: HealthHook | None = None,
                 on_poll: PollHook | None = None,
                 max_in_flight: int = MAX_IN_FLIGHT, allow_private: bool = False,
                 parser: ParsePool | None = None, on_store: Callable[..., Awaitable[Any]] = inline,
                 on_articles: ArticleHook | None = None) -> None:
        self.store = store
        self.on_store = on_store
        self.fetcher = fetcher
        self.pipeline = pipeline
        self.settings = settings
        self.health = health
        self.clock = clock
        self.on_health = on_health
        self.on_poll = on_poll
        self.on_articles = on_articles  # pages to read (monitor.reading); None: feeds' text alone
        self.fulltext = fulltext  # its mode is a feed's when the feed names none
        self.max_in_flight = max_in_flight
        self.allow_private = allow_private  # may feeds added at run time reach private addresses?
        self.parser = parser or ParsePool()
        # per feed, the keys of the items read at its last poll and all ingested: not read again
        # (monitor.feed_items); about 8 bytes an item, forgotten with the items
        self.items_done: dict[str, bytes] = {}
        self.in_flight: dict[str, asyncio.Task[str]] = {}
        self._slot_free = asyncio.Event()  # a poll ended: room for the next one
        self.last_progress = clock()
        self.polls = 0
        self.on_new_alerts: Callable[[], None] | None = None
        self.store_pause = 5.0
        self.paused_until = 0.0
        self.store_error: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due feeds until `stop` is set, then wait for in-flight polls briefly."""
        renewed = self.clock()
        while not stop.is_set():
            try:
                if self.in_flight and self.clock() - renewed >= self.settings.lease / 3:
                    renewed = self.clock()
                    await self.on_store(self.store.feeds.renew_leases, list(self.in_flight),
                                        renewed + self.settings.lease)
                await self.dispatch_due()
                # full: nothing more can start before a poll ends, so wait for that
                full = len(self.in_flight) >= self.max_in_flight
                nxt = None if full else await self.on_store(self.store.feeds.next_due, self.clock())
            except StoreError as exc:
                log.error("cannot read the feed schedule error=%s", exc)
                nxt = None
            now = self.clock()
            delay = 1.0 if nxt is None else min(1.0, max(0.05, nxt - now))
            self._slot_free.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._slot_free.wait())]
            if len(self.in_flight) < self.max_in_flight:
                waiters.pop().cancel()
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
        self.parser.close()
        await self.drain()

    async def dispatch_due(self) -> int:
        room = self.max_in_flight - len(self.in_flight)
        if room <= 0 or self.clock() < self.paused_until:
            return 0
        started = 0
        # SQLite: a feed being polled is still due (no lease), so ask for room for those too;
        # PostgreSQL: feeds claimed and not started would stay leased here, so claim no more than room
        limit = room if self.store.postgres else room + len(self.in_flight)
        due = await self.on_store(self.store.feeds.claim_due, self.clock(), limit=limit, lease=self.settings.lease,
                            busy=list(self.in_flight))
        for feed in due:
            if feed.name in self.in_flight:
                continue
            task = asyncio.create_task(self.poll_feed(feed), name=f"poll:{feed.name}")
            self.in_flight[feed.name] = task
            def forget(_task: asyncio.Task[str], name: str = feed.name) -> None:
                self.in_flight.pop(name, None)
                self._slot_free.set()
            task.add_done_callback(forget)
            started += 1
            if started >= room:
                break
        return started

    async def drain(self, timeout: float = 10.0) -> None:
        tasks = list(self.in_flight.values())
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    async def poll_all(self) -> None:
        """Poll every enabled feed once, now (tests, `raqib demo`)."""
        feeds = await self.on_store(self.store.feeds.enabled)
        await asyncio.gather(*(self.poll_feed(f) for f in feeds))

    async def poll_feed(self, feed: FeedRow) -> str:
        """Poll one feed; never raises for the feed's own faults. Returns the outcome."""
        name, url = feed.name, feed.url
        started = self.clock()
        settings = self._settings_for(feed)
        outcome = "error"
        try:
            result = await self.fetcher.fetch(name, url, etag=feed.etag, last_modified=feed.last_modified,
                                              body_hash=feed.body_hash,
                                              private_ok=self.allow_private or feed.source == "config")
            changes = FeedUpdate(last_poll=started, last_success=self.clock(), failures=0, etag=result.etag,
                                 last_modified=result.last_modified, body_hash=result.body_hash)
            if result.permanent_url and result.permanent_url != url:
                log.warning("feed moved permanently feed=%s old=%s new=%s", name, url, result.permanent_url)
                changes = replace(changes, url=result.permanent_url)
            ttl = None
            if result.status == "ok" and result.body is not None:
                changes, ttl, outcome = await self._take_items(feed, result, result.body, started, changes)
            else:
                outcome = result.status
            avg = feed.avg_interval if isinstance(changes.avg_interval, Unset) else changes.avg_interval
            changes = replace(changes, next_poll=next_poll_after_success(
                self.clock(), settings, max_age=result.max_age, ttl=ttl, avg_publish_interval=avg),
                last_error=None, leased_until=None, leased_by=None)  # polled: the lease ends with the poll
            await self.on_store(self.store.feeds.update, name, changes)
            self.store_error = None
            if not feed.healthy and (feed.failures or outcome == "new"):
                await self._set_health(name, True, "polled successfully again" if feed.failures
                                 else "publishing again")
        except ParsingStopped:
            outcome = "stopped"  # shutting down: not the feed's fault, and nothing was stored
        except FetchError as exc:
            outcome = exc.kind
            await self._failed(feed, settings, exc, started)
        except StoreError as exc:
            # the database refused (disk full, read-only): nothing of this poll is lost —
            # the feed's state was not advanced, so the same items are fetched again — but
            # stop hammering it for a while
            outcome = "store"
            self.store_error = str(exc)
            self.paused_until = self.clock() + self.store_pause
            log.error("database write failed, polling paused feed=%s seconds=%.0f error=%s",
                      name, self.store_pause, exc)
        except Exception as exc:  # a bug must cost one feed one poll, not the daemon
            log.exception("feed poll crashed feed=%s url=%s", name, url)
            await self._failed(feed, settings, FetchError(f"{type(exc).__name__}: {exc}", feed=name, url=url,
                                                          kind="internal"), started)
            outcome = "internal"
        finally:
            self.polls += 1
            self.last_progress = self.clock()
            if self.on_poll:
                self.on_poll(name, outcome, self.clock() - started)
        return outcome

    async def _take_items(self, feed: FeedRow, result: FetchResult, body: bytes, started: float,
                          changes: FeedUpdate) -> tuple[FeedUpdate, float | None, str]:
        """Parse a fetched body and ingest its stories: (the feed's changes with what they
        tell, the feed's own <ttl>, the poll's outcome: new or unchanged)."""
        name, url = feed.name, feed.url
        parsed = await self.parser.parse(name, body, result.charset, result.url,
                                         datetime.fromtimestamp(self.clock(), UTC),
                                         deadline=self.settings.parse_deadline, done=self.items_done.pop(name, b""))
        if parsed.malformed:
            log.info("feed malformed but readable feed=%s url=%s error=%s items=%d",
                     name, result.url, parsed.malformed, len(parsed.stories))
        changes = replace(changes, bad_items=len(parsed.bad_items),
                          bad_item_error=parsed.bad_items[-1] if parsed.bad_items else None)
        if parsed.bad_items:
            log.warning("feed items left out feed=%s url=%s count=%d error=%s", name,
                        result.url, len(parsed.bad_items), parsed.bad_items[-1])
        if parsed.title and parsed.title != feed.title:  # the outlet's name follows its feed
            changes = replace(changes, title=parsed.title)
        cutoff = alert_after(self.settings, started, first_poll=not feed.last_success)
        fulltext = (feed.fulltext or self.fulltext.mode) if self.on_articles else "never"
        ingest = await self.pipeline.ingest_off_loop(name, parsed.stories, self.on_store, fulltext=fulltext,
                                                     alert_after=cutoff)
        if ingest.to_read and self.on_articles:
            self.on_articles(name, result.url or url, ingest.to_read)
        changes = replace(changes, items_deferred=ingest.deferred)
        if parsed.items and not ingest.deferred:  # every story of those items is stored
            self.items_done[name] = b"".join(parsed.items)
        if ingest.deferred:  # fetch the whole body again next time: it holds the rest
            changes = replace(changes, etag=None, last_modified=None, body_hash=None)
            log.warning("feed has more new items than one poll takes feed=%s taken=%d left=%d",
                        name, ingest.new, ingest.deferred)
        if ingest.new:
            # the gap back to the newest item seen before counts too
            previous = [feed.last_published] if feed.last_published else []
            changes = replace(changes, items_seen=(feed.items_seen or 0) + ingest.new,
                              last_new_item=self.clock(),
                              avg_interval=update_publish_interval(feed.avg_interval,
                                                                   previous + ingest.new_times),
                              last_published=max(previous + ingest.new_times))
        if ingest.alerts and self.on_new_alerts:
            self.on_new_alerts()
        log.info("feed polled feed=%s items=%d new=%d duplicates=%d old=%d alerts=%d",
                 name, ingest.seen, ingest.new, ingest.duplicates, ingest.old, ingest.alerts)
        return changes, parsed.ttl_seconds, "new" if ingest.new else "unchanged"

    async def _failed(self, feed: FeedRow, settings: PollSettings, exc: FetchError, started: float) -> None:
        name = feed.name
        failures = (feed.failures or 0) + 1
        # the cause in words: the row already names the feed and its URL
        cause = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
        changes = FeedUpdate(last_poll=started, failures=failures, last_error=cause[:500],
                             last_error_at=self.clock(), leased_until=None, leased_by=None,
                             next_poll=next_poll_after_failure(self.clock(), settings, failures=failures,
                                                               retry_after=exc.retry_after))
        if exc.kind == "gone":
            changes = replace(changes, enabled=0,
                              disabled_reason="410 Gone: the server says this feed is gone for good")
            log.error("feed gone, disabled feed=%s url=%s", name, feed.url)
        log.warning("feed poll failed feed=%s url=%s kind=%s failures=%d error=%s",
                    name, feed.url, exc.kind, failures, exc.message)
        try:
            await self.on_store(self.store.feeds.update, name, changes)
        except StoreError as store_exc:
            self.store_error = str(store_exc)
            self.paused_until = self.clock() + self.store_pause
            log.error("database write failed, polling paused feed=%s error=%s", name, store_exc)
            return
        if feed.healthy and (failures >= self.health.failures or exc.kind == "gone"):
            await self._set_health(name, False, f"{failures} consecutive failures, last: {exc.message}")

    async def check_silence(self) -> None:
        """Feeds that poll fine but stopped publishing for far longer than usual."""
        now = self.clock()
        for feed in await self.on_store(self.store.feeds.quiet_candidates):
            assert feed.avg_interval is not None and feed.last_new_item is not None  # what makes it a candidate
            limit = max(self.health.min_silence, self.health.silence_factor * feed.avg_interval)
            if now - feed.last_new_item > limit:
                hours = (now - feed.last_new_item) / 3600
                await self._set_health(feed.name, False, f"no new item for {hours:.0f} h "
                                 f"(usually one every {feed.avg_interval / 60:.0f} min)")

    async def _set_health(self, name: str, healthy: bool, reason: str) -> None:
        await self.on_store(self.store.feeds.update, name, FeedUpdate(healthy=int(healthy)))
        log.warning("feed health changed feed=%s healthy=%s reason=%s", name, healthy, reason)
        if self.on_health:
            await self.on_store(self.on_health, name, healthy, reason)  # it queues alerts: a store call

    def _settings_for(self, feed: FeedRow) -> PollSettings:
        """The poll settings for `feed`: its own `interval`, when it has one, stands."""
        interval = feed.interval
        if not interval:
            return self.settings
        return replace(self.settings, interval=float(interval), adaptive=False,
                       min_interval=min(self.settings.min_interval, float(interval)))
