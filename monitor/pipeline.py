"""From parsed stories to outbox rows: dedup, match, route, in one transaction per story.

`Pipeline.ingest(feed, stories)` reads like the house: for every story the feed gave us,
oldest first,

1. known?     the feed's GUID was stored before → skip (a re-poll is not news);
2. dedup      `Clusterer.add` decides the story's cluster (exact URL, same text, or a
              near-duplicate from another outlet within the window), then
              `EventGrouper.add` its event (a copy inherits its cluster's event; a new
              cluster may join the event of another outlet's own-words story);
3. match      the compiled watchlists say which watchlists fire, and why;
4. route      each firing watchlist's destinations: its `notify:` entries for configured
              channels, the people subscribed to it, and the console when it is on;
5. outbox     the story, its cluster's watchlists and one outbox row per (cluster,
              watchlist, channel, destination) are written in ONE transaction. A later
              member of the cluster finds that row already there and adds nothing, except
              an `update` row (throttled) so editable channels can add "also reported by".
              Every row carries the story's event: a new cluster of an event already
              alerted gets a row of its own, which delivery groups under the event's first
              alert (`related:`), never suppresses;
6. spread     watchlists with `when: spread` get one `spread` row once the EVENT has
              been carried by `outlets` distinct feeds within `within` minutes (copies
              and other outlets' own words alike).

Nothing here does network I/O; the store is the only side effect.

Two drivers, one set of steps: `ingest` makes its store calls in the caller's thread (the
tests, `raqib demo`); `ingest_off_loop` — the daemon's — awaits each store call through
`run` (the daemon's store thread, see `monitor.store.worker`), so the event loop never
waits on the database, while dedup and match (steps 2-3) stay on the loop with the
clusterer and the watchlists. One ingest at a time (`lock`), in three store calls: the
known GUIDs, the new stories' ids, then their writes; a feed's stories are allocated,
clustered and written before the next feed's start, so cluster ids keep arrival order.

Several nodes on one database: dedup and clustering stay global because steps 2-6 of a
feed run inside the store's ingest lock (on PostgreSQL a session advisory lock; nothing
on SQLite, whose one daemon is the only writer). The ids call takes it and also reads
the stories other nodes stored since the last id this node saw (`seen_id`); on the loop
the node indexes those (`Clusterer.learn`, `EventGrouper.learn`), then decides; the write
call commits and gives the lock back in a `finally` (and the lock is given back however
the steps between fail). So the same story reaching two nodes at once is one cluster, one
event and one alert. The known-GUIDs call runs before the lock; it decides nothing.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable, Protocol, Sequence

from .dedup import Clusterer
from .dedup.events import EventGrouper
from .models import Match, Story, alert_payload
from .store import Store
from .urls import canonical_url

log = logging.getLogger(__name__)

PERSONAL_PREFIX = "personal:"


class WatchlistSource(Protocol):
    """What the pipeline needs from the watchlist registry: the current set and matcher."""

    @property
    def watchlists(self) -> list: ...

    @property
    def matcher(self): ...


@dataclass
class IngestResult:
    seen: int = 0
    new: int = 0
    duplicates: int = 0  # joined an existing cluster
    alerts: int = 0
    matches: int = 0
    new_times: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RouteSettings:
    update_throttle: float = 600.0  # at most one "also reported by" edit per cluster per 10 min
    editable_channels: frozenset[str] = frozenset({"telegram"})


@dataclass(frozen=True)
class _Plan:
    """A story clustered and matched, ready to be written."""
    story: Story
    story_id: int
    now: float
    cluster: int
    event: int
    kind: str
    matches: int
    fired: dict[str, list[Match]]


class Pipeline:
    def __init__(self, store: Store, watchlists: WatchlistSource, clusterer: Clusterer, *,
                 channels: Iterable[str], settings: RouteSettings = RouteSettings(),
                 clock: Callable[[], float] = time.time,
                 on_ingest: Callable[[IngestResult], None] | None = None,
                 events: EventGrouper | None = None, seen_id: int | None = None,
                 ready: Callable[[], Awaitable[None]] | None = None) -> None:
        self.store = store
        self.registry = watchlists
        self.clusterer = clusterer
        self.events = events if events is not None else EventGrouper()
        self.channels = set(channels)
        self.settings = settings
        self.clock = clock
        self.on_ingest = on_ingest  # what each ingest added, for metrics
        self._last_id = 0
        self.lock = asyncio.Lock()  # one off-loop ingest at a time (and the clusterer's pruning)
        # the newest story id this node's dedup index holds (its own or caught up from
        # other nodes); the daemon sets it to the newest id its rebuilt index holds
        self.seen_id = seen_id if seen_id is not None else store.last_story_id()
        self.caught_up = 0  # stories other nodes stored, indexed here (multi-node cost)
        self.lock_wait = 0.0  # seconds spent waiting for the ingest lock
        # awaited before every off-loop ingest: the daemon's indexes are loaded (a story
        # polled while they load waits, and is then checked against the whole window)
        self.ready = ready

    def _allocate_id(self) -> int:
        """A story id never handed out before, even if an earlier write failed (disk full):
        the dedup index may hold an id whose row never landed, and it must stay unique."""
        self._last_id = max(self._last_id, self.store.next_story_id() - 1) + 1
        return self._last_id

    def ingest(self, feed: str, stories: Sequence[Story]) -> IngestResult:
        result = IngestResult(seen=len(stories))
        if stories:
            self._ingest(feed, stories, result)
        if self.on_ingest:
            self.on_ingest(result)
        return result

    async def ingest_off_loop(self, feed: str, stories: Sequence[Story],
                              run: Callable[..., Awaitable[Any]]) -> IngestResult:
        """`ingest`, its store calls awaited through `run` (see the module docstring)."""
        result = IngestResult(seen=len(stories))
        if stories and self.ready is not None:
            await self.ready()
        if stories:
            async with self.lock:
                known = await run(self.store.known_guids, feed, [s.guid for s in stories])
                watchlists = {w.name: w for w in self.registry.watchlists}
                matcher = self.registry.matcher
                fresh = self._fresh(stories, known)
                if fresh:
                    writing = False
                    try:
                        ids, others = await run(self._begin, len(fresh))
                        self._catch_up(others)
                        plans = [self._prepare(story, story_id, matcher)
                                 for story, story_id in zip(fresh, ids, strict=True)]
                        writing = True  # from here the write call gives the lock back
                        await run(self._write_all, plans, watchlists, result)
                    finally:
                        if not writing:  # an error or a stop between the calls
                            await run(self.store.release_ingest_lock)
        if self.on_ingest:
            self.on_ingest(result)
        return result

    def _allocate_ids(self, n: int) -> list[int]:
        """`n` ids for one feed's new stories, in one store call (see `_allocate_id`)."""
        out = []
        for candidate in self.store.next_story_ids(n):
            self._last_id = max(self._last_id + 1, candidate)
            out.append(self._last_id)
        return out

    def _begin(self, n: int) -> tuple[list[int], list[dict]]:
        """The ids call: take the ingest lock, then `n` new ids and the stories other nodes
        stored since `seen_id` (the lock is given back if this fails)."""
        waited = time.monotonic()
        self.store.take_ingest_lock()
        self.lock_wait += time.monotonic() - waited
        try:
            others: list[dict] = []
            while True:  # in pages: a node that lagged far behind reads them all the same
                page = self.store.stories_after(others[-1]["id"] if others else self.seen_id, 10_000)
                others += page
                if len(page) < 10_000:
                    return self._allocate_ids(n), others
        except BaseException:
            self.store.release_ingest_lock()
            raise

    def _catch_up(self, rows: Sequence[dict]) -> None:
        """Index the stories other nodes stored since this one last looked, so the decision
        about to be made sees every story in the database. Under the ingest lock ids are
        handed out and committed in order, so `seen_id` is a complete watermark."""
        for r in rows:
            if r["id"] <= self.seen_id:
                continue
            published = _dt(r["published"] or r["fetched"])
            self.clusterer.learn(r["id"], r["cluster"], title=r["title"], summary=r["summary"], url=r["url"],
                                 published=published)
            self.events.learn(r["id"], cluster=r["cluster"], event=r["event"], title=r["title"],
                              summary=r["summary"], source=r["feed"], published=published)
            self.seen_id = int(r["id"])
            self.caught_up += 1

    def _write_all(self, plans: Sequence[_Plan], watchlists: dict, result: IngestResult) -> None:
        """One feed's stories, oldest first, each in its own transaction (one store call);
        then the ingest lock goes back, whatever happened."""
        try:
            for plan in plans:
                self._write(plan, watchlists, result)
        finally:
            self.store.release_ingest_lock()

    def _ingest(self, feed: str, stories: Sequence[Story], result: IngestResult) -> None:
        known = self.store.known_guids(feed, [s.guid for s in stories])
        watchlists = {w.name: w for w in self.registry.watchlists}
        matcher = self.registry.matcher
        fresh = self._fresh(stories, known)
        if not fresh:
            return
        ids, others = self._begin(len(fresh))
        try:
            self._catch_up(others)
            plans = [self._prepare(story, story_id, matcher) for story, story_id in zip(fresh, ids, strict=True)]
        except BaseException:
            self.store.release_ingest_lock()
            raise
        self._write_all(plans, watchlists, result)

    @staticmethod
    def _fresh(stories: Sequence[Story], known: set[str]) -> list[Story]:
        """Stories not seen before, oldest first, a GUID repeated in one body once."""
        fresh = [s for s in stories if s.guid not in known]
        fresh.sort(key=lambda s: s.published.timestamp() if s.published else 0.0)  # oldest first
        out = []
        for story in fresh:
            if story.guid in known:  # the same GUID twice in one body
                continue
            known.add(story.guid)
            out.append(story)
        return out

    def _prepare(self, story: Story, story_id: int, matcher) -> _Plan:
        """Steps 2-3, no store call: the story's cluster and what it matched."""
        now = self.clock()
        verdict = self.clusterer.add(story_id, title=story.title, summary=story.summary, url=story.url,
                                     published=story.published or _dt(now))
        cluster = int(verdict.cluster)
        link = self.events.add(story_id, cluster=cluster, title=story.title, summary=story.summary,
                               source=story.feed, published=story.published or _dt(now))
        event = int(link.event)  # EventGrouper logs every link with its score and terms
        fired: dict[str, list[Match]] = {}
        matches = matcher.match(story.title, story.summary)
        for m in matches:
            fired.setdefault(m.watchlist, []).append(m)
        return _Plan(story, story_id, now, cluster, event, verdict.kind, len(matches), fired)

    def _write(self, plan: _Plan, watchlists: dict, result: IngestResult) -> None:
        """Steps 4-6: the story, its routes and outbox rows, in one transaction."""
        story, story_id, now, cluster, event, fired = (plan.story, plan.story_id, plan.now, plan.cluster,
                                                       plan.event, plan.fired)
        canon = canonical_url(story.url) if story.url else ""
        with self.store.transaction() as conn:
            self.store.insert_story(conn, {
                "id": story_id, "feed": story.feed, "guid": story.guid, "url": story.url,
                "canonical_url": canon, "title": story.title, "summary": story.summary,
                "published": story.published.timestamp() if story.published else None,
                "fetched": now, "cluster": cluster, "event": event, "dedup_kind": plan.kind,
            })
            self.seen_id = max(self.seen_id, story_id)
            self.store.add_cluster_watchlists(conn, cluster, fired)
            sources = _distinct(self.store.cluster_feeds(conn, cluster))
            for name, wl_matches in fired.items():
                wl = watchlists.get(name)
                if wl is None or wl.when == "spread":
                    continue
                payload = _payload(story, wl, wl_matches, sources)
                for channel, destination in self.destinations(wl):
                    if self.store.enqueue(conn, channel=channel, destination=destination, kind="story",
                                          watchlist=name, cluster=cluster, story_id=story_id,
                                          payload=payload, now=now, event=event):
                        result.alerts += 1
            if plan.kind != "new":  # ask editable channels to add the new source to what they sent
                self.store.queue_updates(conn, cluster, story_id, now, channels=self.settings.editable_channels,
                                         throttle=self.settings.update_throttle)
            if plan.kind != "new" or event != cluster or fired:  # a lone unmatched story spreads nothing
                result.alerts += self._spread(conn, event, watchlists, fired, now)
        result.new += 1
        result.matches += plan.matches
        if plan.kind != "new":
            result.duplicates += 1
        result.new_times.append(story.published.timestamp() if story.published else now)

    def destinations(self, wl) -> list[tuple[str, str]]:
        """Where one watchlist's alerts go: notify entries, subscribers, and the console."""
        out: list[tuple[str, str]] = []
        for channel, dests in (wl.notify or {}).items():
            if channel in self.channels:
                out.extend((channel, str(d)) for d in dests)
        if not wl.name.startswith(PERSONAL_PREFIX):
            out.extend((c, d) for c, d in self.store.subscribers(wl.name) if c in self.channels)
            if "console" in self.channels:
                out.append(("console", "-"))
        return _distinct(out)

    def _spread(self, conn, event: int, watchlists: dict, fired: dict, now: float) -> int:
        """One `spread` row per (event, watchlist, destination) once enough outlets carried
        the event (any of its stories, copies or own words) within the watchlist's time."""
        names = self.store.event_watchlists(conn, event)
        added = 0
        for name in sorted(names):
            wl = watchlists.get(name)
            if wl is None or wl.when != "spread":
                continue
            window = max(1, wl.within_minutes or 60) * 60.0
            sources = _distinct(self.store.event_feeds(conn, event, since=now - window))
            if len(sources) < max(1, wl.outlets or 1):
                continue
            first = self.store.event_lead(conn, event)
            if first is None:
                continue
            lead = Story(feed=first["feed"], guid="", url=first["url"], title=first["title"],
                         summary=first["summary"], published=_dt(first["published"]) if first["published"] else None)
            rematch = [m for m in self.registry.matcher.match(lead.title, lead.summary) if m.watchlist == name]
            payload = _payload(lead, wl, rematch or fired.get(name, []), sources)
            for channel, destination in self.destinations(wl):
                if self.store.enqueue(conn, channel=channel, destination=destination, kind="spread",
                                      watchlist=name, cluster=event, story_id=first["id"],
                                      payload=payload, now=now, event=event):
                    added += 1
        return added


def _payload(story: Story, wl, matches: Sequence[Match], sources: Sequence[str]) -> dict:
    return alert_payload(
        title=story.title, url=story.url, summary=story.summary, source=story.feed,
        published=story.published.isoformat() if story.published else None,
        watchlist_title=wl.title or wl.name, matches=matches, sources=sources, related=wl.related)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _distinct(items: Iterable) -> list:
    out: list = []
    seen = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
