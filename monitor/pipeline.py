"""From parsed stories to outbox rows: dedup, match, route, in one transaction per story.

`Pipeline.ingest(feed, stories)` reads like the house: for every story the feed gave us, oldest first,

1. known?     the feed's GUID was stored before → skip (a re-poll is not news);
   old?       a story published before `alert_after` (the caller's cut-off: the poller passes `poll.max_age` ago, or
              the whole backlog on a feed's first poll; a story with no date counts as published now, when first
              seen) is clustered and stored like any other, but fires nothing: no outbox row, no spread, no "also
              reported by" edit. Old news never floods a desk;
2. dedup      `Clusterer.add` decides the story's cluster (exact URL, same text, or a near-duplicate from another
              outlet within the window), then `EventGrouper.add` its event (a copy inherits its cluster's event; a
              new cluster may join the event of another outlet's own-words story);
3. match      the compiled watchlists say which watchlists fire, and why;
4. route      each firing watchlist's destinations: its `notify:` entries for configured channels, the people
              subscribed to it, and the console when it is on;
5. outbox     the story, its cluster's watchlists and one outbox row per (cluster, watchlist, channel, destination)
              are written in ONE transaction. A later member of the cluster finds that row already there and adds
              nothing, except an `update` row (throttled) so editable channels can add "also reported by". Every row
              carries the story's event: a new cluster of an event already alerted gets a row of its own, which
              delivery groups under the event's first alert (`related:`), never suppresses;
6. spread     watchlists with `when: spread` get one `spread` row once the EVENT has been carried by `outlets`
              distinct feeds within `within` minutes (copies and other outlets' own words alike).

Reading the article (`fulltext`, the feed's mode: auto | always | never). Between steps 2 and 3 each new story gets
its `BodyState` (monitor/store/articles.py):
- the feed carried the article (`Story.body` from content:encoded or an Atom content, or under `auto` a long
  description: `monitor.article.policy`): matched at once, body and all;
- a copy whose cluster has text (read, carried or copied) takes it and is matched at once, never fetching; a copy
  whose cluster's page is being read waits for it (`joined`); a copy of the same URL, or of a cluster whose page
  failed, is never fetched again: it is matched on its own text;
- any other story under `auto`/`always` is stored `waiting`: nothing is matched or routed yet, and
  `IngestResult.to_read` names it, for the node's article queue (monitor/reading.py) to read its page.
`settle` takes the page's text (or the reason there is none) and does steps 3-6 then, for the story and the members
of its cluster waiting on it; `expire` does them on the feed's text when the wait ran out (the story is `late`: a
page that comes afterwards is still matched, and its alerts are only those not already queued, since an outbox row
is one per cluster, watchlist, destination and kind). Every such step moves the story's state only from the state it
expects, inside the transaction that writes its rows: a page and a timeout racing each other act once. Both read the
members and write in one store call under the ingest lock, so a copy stored as waiting while the page settles is not
missed.

Nothing here does network I/O; the store is the only side effect.

Two drivers, one set of steps: `ingest` makes its store calls in the caller's thread (the tests, `raqib demo`);
`ingest_off_loop` — the daemon's — runs them through `run` (the daemon's store thread, see `monitor.store.worker`),
so the event loop never waits on the database nor on a big feed's CPU work. One ingest at a time (`lock`). A poll
takes at most `max_new_items` new stories (`poll.max_new_items`, the oldest; the rest are `deferred`, counted, and
new again at the next poll). They go in slices of `SLICE`, each one store call and one transaction: dedup, events,
matching and the writes of 50 stories, after which the store thread serves what else is queued (deliveries, pages)
and the loop its own work; a feed's slices are written before the next feed's, so cluster ids keep arrival order.

Several nodes on one database: dedup and clustering stay global because each slice runs inside the store's ingest
lock (on PostgreSQL a transaction-level advisory lock; nothing on SQLite, whose one daemon is the only writer).
Inside it the slice reads the stories other nodes stored since the last id this node saw (`seen_id`; most of them
were read and indexed just before, outside the lock), indexes them (`Clusterer.learn`, `EventGrouper.learn`), then
decides and writes; COMMIT gives the lock back. So the same story reaching two nodes at once is one cluster, one
event and one alert, and the lock is held for one slice's work, never a whole feed's. A busy lock is waited for 100
ms at a time (`IngestLockBusy`), the store thread serving other calls between two waits; a wait of `LOCK_WARN` is
logged with the holder's node, and after `LOCK_WAIT` the poll fails. A node frozen with the lock loses it to the
server within `idle_in_transaction_session_timeout` (10 s, `monitor.store.postgres`).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from .article import wants_article
from .dedup import Clusterer
from .dedup.events import EventGrouper
from .errors import StoreError
from .indexes import learn_stored
from .models import Match, Story, Watchlist, alert_payload
from .protocols import Run, StoryMatcher, WatchlistSource
from .settings import DeliverySettings, PollSettings
from .store import ArticleStory, BodyState, IngestLockBusy, Store, StoryRef
from .store.articles import MAX_BODY
from .store.db import Tx
from .store.desk import reindex_story
from .urls import canonical_url

log = logging.getLogger(__name__)

PERSONAL_PREFIX = "personal:"
SLICE = 50  # stories per slice: one store call, one transaction, the ingest lock held for it alone
LOCK_WAIT = 120.0  # seconds of tries before the poll fails (a frozen holder is cut off within seconds)
LOCK_WARN = 5.0  # seconds of waiting for the ingest lock after which it is logged with its holder (again at 2x, 4x…)


H = TypeVar("H", bound=Hashable)
T = TypeVar("T")
Watchlists = Mapping[str, Watchlist]  # the watchlists in force, by name


@dataclass
class IngestResult:
    seen: int = 0
    new: int = 0
    duplicates: int = 0  # joined an existing cluster
    alerts: int = 0
    matches: int = 0
    old: int = 0  # stored, not alerted: published before the cut-off (see the module docstring)
    new_times: list[float] = field(default_factory=list)
    held: int = 0  # stored, waiting for their article's page before matching
    to_read: list[tuple[int, str]] = field(default_factory=list)  # (story id, page URL) to read
    deferred: int = 0  # new items past `max_new_items`, left for the next polls
    slice_seconds: float = 0.0  # time spent in slices (the rest of an ingest's time is waiting for the lock)


EDITABLE = frozenset({"telegram"})  # the channels whose first message is edited ("also reported by")


@dataclass(frozen=True)
class _Plan:
    """A story clustered and matched (unless it waits for its page), ready to be written."""
    story: Story
    story_id: int
    now: float
    cluster: int
    event: int
    kind: str
    matches: int
    fired: dict[str, list[Match]]
    body_state: str = BodyState.NONE
    old: bool = False  # published before the cut-off: stored, never alerted (nor its page read)
    canon: str = ""  # the story's link, canonical (`canonical_url`): folded and stored


@dataclass(frozen=True)
class _Settled:
    """A stored story moving to `state` (from one of `leaving`), matched again if `rematch`."""
    row: ArticleStory
    story: Story
    state: str
    leaving: tuple[str, ...]
    body: str | None  # the text to store (None: keep what it has)
    reason: str | None
    fired: dict[str, list[Match]]
    matches: int
    first_routing: bool  # nothing was routed for it before (it was held)


class Pipeline:
    def __init__(self, store: Store, watchlists: WatchlistSource, clusterer: Clusterer, *,
                 channels: Iterable[str], poll: PollSettings = PollSettings(),
                 delivery: DeliverySettings = DeliverySettings(), editable: frozenset[str] = EDITABLE,
                 clock: Callable[[], float] = time.time,
                 on_ingest: Callable[[IngestResult], None] | None = None,
                 events: EventGrouper | None = None, seen_id: int | None = None,
                 ready: Callable[[], Awaitable[None]] | None = None) -> None:
        self.store = store
        self.registry = watchlists
        self.clusterer = clusterer
        self.events = events if events is not None else EventGrouper()
        self.channels = set(channels)
        self.poll = poll  # poll.max_new_items
        self.delivery = delivery  # delivery.update_every: the "also reported by" edits' throttle
        self.editable = editable
        self.clock = clock
        self.on_ingest = on_ingest  # what each ingest added, for metrics
        self._last_id = 0
        self.lock = asyncio.Lock()  # one off-loop ingest at a time (and the clusterer's pruning)
        # the newest story id this node's dedup index holds (its own or caught up from
        # other nodes); the daemon sets it to the newest id its rebuilt index holds
        self.seen_id = seen_id if seen_id is not None else store.stories.last_id()
        self.caught_up = 0  # stories other nodes stored, indexed here (multi-node cost)
        self.lock_wait = 0.0  # seconds spent waiting for the ingest lock
        # awaited before every off-loop ingest: the daemon's indexes are loaded (a story
        # polled while they load waits, and is then checked against the whole window)
        self.ready = ready

    def _allocate_id(self) -> int:
        """A story id never handed out before, even if an earlier write failed (disk full):
        the dedup index may hold an id whose row never landed, and it must stay unique."""
        self._last_id = max(self._last_id, self.store.stories.next_id() - 1) + 1
        return self._last_id

    def ingest(self, feed: str, stories: Sequence[Story], *, fulltext: str = "never",
               alert_after: float | None = None) -> IngestResult:
        """Store the feed's new stories and queue their alerts; a story published before
        `alert_after` (Unix seconds) is stored and alerts nothing (None: every story may alert)."""
        result = IngestResult(seen=len(stories))
        if stories:
            self._ingest(feed, stories, result, fulltext, alert_after)
        if self.on_ingest:
            self.on_ingest(result)
        return result

    async def ingest_off_loop(self, feed: str, stories: Sequence[Story],
                              run: Run, *, fulltext: str = "never",
                              alert_after: float | None = None) -> IngestResult:
        """`ingest`, its slices run through `run` (the store thread; see the module docstring)."""
        result = IngestResult(seen=len(stories))
        if stories and self.ready is not None:
            await self.ready()
        if stories:
            async with self.lock:
                known = await run(self.store.stories.known_guids, feed, [s.guid for s in stories])
                watchlists = {w.name: w for w in self.registry.watchlists}
                matcher = self.registry.matcher
                fresh = self._capped(self._fresh(stories, known), result)
                for piece in _slices(fresh, SLICE):
                    waited, working = time.monotonic(), result.slice_seconds
                    await self._locked(run, f"feed={feed}", self._slice, piece, matcher, watchlists, result,
                                       fulltext, alert_after)
                    self.lock_wait += time.monotonic() - waited - (result.slice_seconds - working)
        if self.on_ingest:
            self.on_ingest(result)
        return result

    async def _locked(self, run: Run, what: str, call: Callable[..., T | None], *args: Any) -> T:
        """`call(*args)` through `run` until it holds the ingest lock (None: another node held it):
        the store thread serves other calls between two tries; a wait of `LOCK_WARN` is logged
        with the holder, doubling; after `LOCK_WAIT`, StoreError."""
        waited, warn = time.monotonic(), LOCK_WARN
        while (done := await run(call, *args)) is None:
            busy = time.monotonic() - waited
            if busy > LOCK_WAIT:
                raise _lock_not_free(what)
            if busy > warn:  # every feed of this node waits behind this one meanwhile
                log.warning("ingest waiting for the lock another node holds %s seconds=%.0f holder=%s",
                            what, busy, await run(self.store.ingest_lock_holder) or "unknown")
                warn *= 2
            await asyncio.sleep(0)  # the store thread serves the calls queued meanwhile
        return done

    def _capped(self, fresh: list[Story], result: IngestResult) -> list[Story]:
        """At most `max_new_items` of a poll's new stories, the oldest; the rest are left
        for the next polls (their GUIDs are not stored, so they are new again) and counted."""
        if len(fresh) <= self.poll.max_new_items:
            return fresh
        result.deferred = len(fresh) - self.poll.max_new_items
        return fresh[:self.poll.max_new_items]

    def _slice(self, stories: Sequence[Story], matcher: StoryMatcher, watchlists: Watchlists, result: IngestResult,
               fulltext: str = "never", alert_after: float | None = None) -> bool | None:
        """One slice of a feed's new stories, in one store call and one transaction: the
        ingest lock (PostgreSQL: a transaction lock, waited for 100 ms at most), the stories
        other nodes stored since `seen_id`, the ids, dedup, the article text copies take from
        their clusters, match, the writes. None when another node holds the lock (nothing
        done; try again)."""
        began = time.monotonic()
        self._catch_up(self._stories_after(self.seen_id))  # most of it before the lock, so the lock is short
        try:
            with self.store.transaction():
                self.store.take_ingest_lock()
                self._catch_up(self._stories_after(self.seen_id))
                ids = self._allocate_ids(len(stories))
                placed = [self._dedup(story, story_id, alert_after)
                          for story, story_id in zip(stories, ids, strict=True)]
                texts = self.store.articles.cluster_texts(self._copied_clusters(placed, fulltext))
                plans = self._plans(placed, matcher, fulltext, texts)
                for plan in plans:
                    self._write(plan, watchlists, result)
        except IngestLockBusy:
            return None
        result.slice_seconds += time.monotonic() - began
        return True

    def _stories_after(self, after: int) -> list[StoryRef]:
        """Stories other nodes stored after id `after`, in pages (a node that lagged far
        behind reads them all the same)."""
        others: list[StoryRef] = []
        while True:
            page = self.store.stories.after(others[-1].id if others else after, 10_000)
            others += page
            if len(page) < 10_000:
                return others

    def _allocate_ids(self, n: int) -> list[int]:
        """`n` ids for one feed's new stories, in one store call (see `_allocate_id`)."""
        out = []
        for candidate in self.store.stories.next_ids(n):
            self._last_id = max(self._last_id + 1, candidate)
            out.append(self._last_id)
        return out

    def _catch_up(self, rows: Sequence[StoryRef]) -> None:
        """Index the stories other nodes stored since this one last looked, so the decision
        about to be made sees every story in the database. Under the ingest lock ids are
        handed out and committed in order, so `seen_id` is a complete watermark."""
        for r in rows:
            if r.id <= self.seen_id:
                continue
            learn_stored(self.clusterer, self.events, r)
            self.seen_id = int(r.id)
            self.caught_up += 1

    def _ingest(self, feed: str, stories: Sequence[Story], result: IngestResult, fulltext: str = "never",
                alert_after: float | None = None) -> None:
        known = self.store.stories.known_guids(feed, [s.guid for s in stories])
        watchlists = {w.name: w for w in self.registry.watchlists}
        matcher = self.registry.matcher
        for piece in _slices(self._capped(self._fresh(stories, known), result), SLICE):
            waited = time.monotonic()
            while self._slice(piece, matcher, watchlists, result, fulltext, alert_after) is None:
                if time.monotonic() - waited > LOCK_WAIT:
                    raise _lock_not_free(f"feed={feed}")

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

    def _dedup(self, story: Story, story_id: int, alert_after: float | None = None) -> _Plan:
        """Step 2, no store call: the story's cluster and event (matched later, `_plans`),
        and whether it is old news (published before `alert_after`: stored, never alerted)."""
        now = self.clock()
        published = story.published.timestamp() if story.published else now  # undated: first seen now
        old = alert_after is not None and published < alert_after
        canon = canonical_url(story.url) if story.url else ""
        verdict = self.clusterer.add(story_id, title=story.title, summary=story.summary, url=canon,
                                     published=story.published or _dt(now), canonical=True)
        cluster = int(verdict.cluster)
        # a feed's body counts where `dedup.event.body_words` asks; a page read later does not (events never move)
        link = self.events.add(story_id, cluster=cluster, title=story.title, summary=story.summary,
                               source=story.feed, published=story.published or _dt(now), body=story.body)
        event = int(link.event)  # EventGrouper logs every link with its score and terms
        return _Plan(story, story_id, now, cluster, event, verdict.kind, 0, {}, old=old, canon=canon)

    @staticmethod
    def _copied_clusters(placed: Sequence[_Plan], fulltext: str) -> list[int]:
        """The clusters whose article text copies may take (none when pages are not read)."""
        if fulltext not in ("auto", "always"):
            return []
        return [p.cluster for p in placed if p.kind != "new" and wants_article(p.story, fulltext)]

    def _plans(self, placed: Sequence[_Plan], matcher: StoryMatcher, fulltext: str,
               texts: dict[int, tuple[str, str]]) -> list[_Plan]:
        """Step 3 for each placed story: its body state, then what it matched (nothing yet
        when it waits for a page). Stories of this same batch count as known clusters."""
        texts = dict(texts)
        plans = []
        for p in placed:
            state, body = self._body_state(p, fulltext, texts)
            story = p.story if body == p.story.body else replace(p.story, body=body)
            if state in (BodyState.WAITING, BodyState.FEED) or (state == BodyState.COPIED and body):
                texts.setdefault(p.cluster, (state, body))
            fired: dict[str, list[Match]] = {}
            matches: list[Match] = []
            if state not in BodyState.HELD and not p.old:
                matches = _match(matcher, story)
                for m in matches:
                    fired.setdefault(m.watchlist, []).append(m)
            plans.append(replace(p, story=story, matches=len(matches), fired=fired, body_state=state))
        return plans

    @staticmethod
    def _body_state(p: _Plan, fulltext: str, texts: dict[int, tuple[str, str]]) -> tuple[str, str]:
        """(state, body) of a new story: see the module docstring."""
        story = p.story
        if story.body:
            return BodyState.FEED, story.body
        if p.old:  # never alerted: its page is not worth a fetch
            return BodyState.NONE, ""
        if not wants_article(story, fulltext):
            return (BodyState.FEED if fulltext in ("auto", "always") and story.url else BodyState.NONE), ""
        if p.kind != "new":
            state, text = texts.get(p.cluster, (BodyState.NONE, ""))
            if state in BodyState.HAS_TEXT:
                return (BodyState.COPIED, text) if text else (BodyState.NONE, "")
            if state == BodyState.WAITING:
                return BodyState.JOINED, ""
            if state == BodyState.FAILED or p.kind == "same":  # never the same page twice
                return BodyState.NONE, ""
        return BodyState.WAITING, ""

    def _write(self, plan: _Plan, watchlists: Watchlists, result: IngestResult) -> None:
        """Steps 4-6: the story, its routes and outbox rows, in one transaction (the story
        alone while it waits for its page)."""
        story, story_id, now, cluster, event = plan.story, plan.story_id, plan.now, plan.cluster, plan.event
        held = plan.body_state in BodyState.HELD
        with self.store.transaction() as conn:
            self.store.stories.insert(conn, {
                "id": story_id, "feed": story.feed, "guid": story.guid, "url": story.url,
                "canonical_url": plan.canon, "title": story.title, "summary": story.summary,
                "published": story.published.timestamp() if story.published else None,
                "fetched": now, "cluster": cluster, "event": event, "dedup_kind": plan.kind,
                "body": story.body[:MAX_BODY], "body_state": plan.body_state,
            })
            self.seen_id = max(self.seen_id, story_id)
            if not held:
                result.alerts += self._route(conn, story, story_id, cluster, event, plan.kind, plan.fired,
                                             watchlists, now, first=True, old=plan.old, seen=now)
        result.new += 1
        result.old += plan.old
        result.matches += plan.matches
        if plan.kind != "new":
            result.duplicates += 1
        if held:
            result.held += 1
            if plan.body_state == BodyState.WAITING:
                result.to_read.append((story_id, story.url))
        result.new_times.append(story.published.timestamp() if story.published else now)

    def _route(self, conn: Tx, story: Story, story_id: int, cluster: int, event: int, kind: str,
               fired: dict[str, list[Match]], watchlists: Watchlists, now: float, *, first: bool, old: bool = False,
               seen: float | None = None) -> int:
        """Steps 4-6 inside the caller's transaction; the alerts queued. `first`: the story
        was never routed before (later, only watchlists the body adds can queue anything);
        `old`: old news, stored as seen, which never alerts, spreads or edits an alert;
        `seen`: when the story was stored (its time in an alert when it has no date)."""
        if old:
            return 0
        alerts = 0
        self.store.stories.add_cluster_watchlists(conn, cluster, fired)
        sources = _distinct(self.store.stories.cluster_feeds(conn, cluster))
        for name, wl_matches in fired.items():
            wl = watchlists.get(name)
            if wl is None or wl.when == "spread":
                continue
            payload = _payload(story, wl, wl_matches, sources, seen=seen)
            for channel, destination in self.destinations(wl):
                if self.store.outbox.enqueue(conn, channel=channel, destination=destination, kind="story",
                                      watchlist=name, cluster=cluster, story_id=story_id,
                                      payload=payload, now=now, event=event):
                    alerts += 1
        if first and kind != "new":  # ask editable channels to add the new source to what they sent
            self.store.outbox.queue_updates(conn, cluster, story_id, now, channels=self.editable,
                                     throttle=self.delivery.update_every)
        if kind != "new" or event != cluster or fired:  # a lone unmatched story spreads nothing
            alerts += self._spread(conn, event, watchlists, fired, now)
        return alerts

    async def settle(self, story_id: int, body: str, reason: str,
                     run: Run) -> int:
        """A story's page came (`body`) or failed for good (`reason`): match the story and
        the members of its cluster waiting on it, and queue what they fire; the alerts queued."""
        return await self._advance(story_id, body=body, reason=reason, run=run)

    async def expire(self, story_id: int, run: Run,
                     reason: str = "") -> int:
        """A story's wait ran out: match it (and its cluster's members waiting on it) on the
        feed's text; its page may still come (`late`). The alerts queued."""
        return await self._advance(story_id, body=None, reason=reason, run=run)

    async def _advance(self, story_id: int, *, body: str | None, reason: str,
                       run: Run) -> int:
        matcher, result = self.registry.matcher, IngestResult()
        watchlists = {w.name: w for w in self.registry.watchlists}
        steps = await self._locked(run, f"story={story_id}", self._advance_locked, story_id, body, reason, matcher,
                                   watchlists, result)
        if steps and self.on_ingest:
            self.on_ingest(result)
        return result.alerts

    def _advance_locked(self, story_id: int, body: str | None, reason: str, matcher: StoryMatcher,
                        watchlists: Watchlists, result: IngestResult) -> int | None:
        """`_advance` in one store call, one transaction, under the ingest lock (a copy stored as
        waiting on this page is among the members read); the steps taken, None when the lock is busy."""
        try:
            with self.store.transaction():
                self.store.take_ingest_lock()
                row = self.store.articles.story_for_article(story_id)
                steps = [] if row is None else [step for r in (row, *row.members)
                                                if (step := self._step(r, r is row, body, reason, matcher)) is not None]
                self._write_steps(steps, watchlists, result)
        except IngestLockBusy:
            return None
        return len(steps)

    def _step(self, row: ArticleStory, own: bool, body: str | None, reason: str,
              matcher: StoryMatcher) -> _Settled | None:
        """What a page (`body`: text, or "" when it failed) or an expired wait (`body` None)
        does to one stored story (`own`: the story whose page it is)."""
        state = row.body_state
        story = Story(feed=row.feed, guid=row.guid, url=row.url, title=row.title,
                      summary=row.summary, body=row.body or "",
                      published=_dt(row.published) if row.published else None)
        if body is None:  # the wait ran out: the held are matched on the feed's text
            if state not in BodyState.HELD or (not own and state != BodyState.JOINED):
                return None
            return self._settled(row, story, BodyState.LATE, BodyState.HELD, None, reason or None, matcher,
                                 first=True)
        if body:
            new = BodyState.READ if own else BodyState.COPIED
            if own and state not in (BodyState.WAITING, BodyState.LATE):
                return None
            return self._settled(row, replace(story, body=body), new, BodyState.OPEN, body, None, matcher,
                                 first=state in BodyState.HELD)
        if own:  # failed: the held are matched on the feed's text; a late one was already
            if state not in BodyState.OPEN:
                return None
            return self._settled(row, story, BodyState.FAILED, BodyState.OPEN, None, reason, matcher,
                                 first=state in BodyState.HELD, rematch=state in BodyState.HELD)
        if state != BodyState.JOINED:  # another member reads a page of its own, or was matched
            return None
        return self._settled(row, story, BodyState.NONE, (BodyState.JOINED,), None,
                             f"its copy's page: {reason}", matcher, first=True)

    @staticmethod
    def _settled(row: ArticleStory, story: Story, state: str, leaving: tuple[str, ...], body: str | None,
                 reason: str | None, matcher: StoryMatcher, *, first: bool, rematch: bool = True) -> _Settled:
        fired: dict[str, list[Match]] = {}
        matches = _match(matcher, story) if rematch else []
        for m in matches:
            fired.setdefault(m.watchlist, []).append(m)
        return _Settled(row, story, state, leaving, body, reason, fired, len(matches), first)

    def _write_steps(self, steps: Sequence[_Settled], watchlists: Watchlists, result: IngestResult) -> None:
        """Each step in its own transaction: the state moved (or nothing, when another path
        moved it first), the text stored and indexed, and what it fires routed."""
        for step in steps:
            row, story = step.row, step.story
            now = self.clock()
            with self.store.transaction() as conn:
                if not self.store.articles.set_body(conn, row.id, state=step.state, leaving=step.leaving,
                                           body=step.body, reason=step.reason):
                    continue
                if step.body is not None and step.body != row.body:
                    reindex_story(conn, row.id, row.title, row.summary, row.body or "",
                                  step.body[:MAX_BODY])
                result.alerts += self._route(conn, story, row.id, int(row.cluster), int(row.event),
                                             row.dedup_kind, step.fired, watchlists, now,
                                             first=step.first_routing, seen=row.fetched)
            result.matches += step.matches

    def destinations(self, wl: Watchlist) -> list[tuple[str, str]]:
        """Where one watchlist's alerts go: notify entries, subscribers, and the console."""
        out: list[tuple[str, str]] = []
        for channel, dests in (wl.notify or {}).items():
            if channel in self.channels:
                out.extend((channel, str(d)) for d in dests)
        if not wl.name.startswith(PERSONAL_PREFIX):
            out.extend((c, d) for c, d in self.store.subscriptions.subscribers(wl.name) if c in self.channels)
            if "console" in self.channels:
                out.append(("console", "-"))
        return _distinct(out)

    def _spread(self, conn: Tx, event: int, watchlists: Watchlists, fired: Mapping[str, list[Match]],
                now: float) -> int:
        """One `spread` row per (event, watchlist, destination) once enough outlets carried
        the event (any of its stories, copies or own words) within the watchlist's time."""
        names = self.store.stories.event_watchlists(conn, event)
        added = 0
        for name in sorted(names):
            wl = watchlists.get(name)
            if wl is None or wl.when != "spread":
                continue
            window = max(1, wl.within_minutes or 60) * 60.0
            sources = _distinct(self.store.stories.event_feeds(conn, event, since=now - window))
            if len(sources) < max(1, wl.outlets or 1):
                continue
            first = self.store.stories.event_lead(conn, event)
            if first is None:
                continue
            lead = Story(feed=first.feed, guid="", url=first.url, title=first.title,
                         summary=first.summary, published=_dt(first.published) if first.published else None,
                         body=first.body or "")
            rematch = [m for m in _match(self.registry.matcher, lead) if m.watchlist == name]
            payload = _payload(lead, wl, rematch or fired.get(name, []), sources, seen=first.fetched)
            for channel, destination in self.destinations(wl):
                if self.store.outbox.enqueue(conn, channel=channel, destination=destination, kind="spread",
                                      watchlist=name, cluster=event, story_id=first.id,
                                      payload=payload, now=now, event=event):
                    added += 1
        return added


def _payload(story: Story, wl: Watchlist, matches: Sequence[Match], sources: Sequence[str], *,
             seen: float | None) -> dict[str, Any]:
    return alert_payload(
        title=story.title, url=story.url, summary=story.summary, source=story.feed,
        published=story.published.isoformat() if story.published else None,
        watchlist_title=wl.title or wl.name, matches=matches, sources=sources, related=wl.related,
        body=story.body, seen=_dt(seen).isoformat() if seen else None)


def _match(matcher: StoryMatcher, story: Story) -> list[Match]:
    """What a story fires: its title, summary and (when read) its article text."""
    return matcher.match(story.title, story.summary, story.body)


def _slices(items: Sequence[Story], size: int) -> Iterator[Sequence[Story]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _distinct(items: Iterable[H]) -> list[H]:
    return list(dict.fromkeys(items))  # in order, once each


def _lock_not_free(what: str) -> StoreError:
    return StoreError(f"the ingest lock was not free for {LOCK_WAIT:.0f}s {what}",
                      hint="another node holds it; a frozen one loses it within idle_in_transaction_session_timeout")
