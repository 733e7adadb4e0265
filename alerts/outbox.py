"""The deliverer: drains the outbox through the channels, keeping the delivery promise.

The promise is at-least-once: an alert row is written in the same transaction as its
story, and leaves the outbox only as `sent` or `dead`. The one known limit: a send
whose outcome is unknown (the process died after the channel accepted the message but
before the row was marked sent) is sent again after restart, once.

Rules, per round:
1. Rows left `sending` by a crash go back to `pending` (at start-up only, under the
   daemon's database lock, so never a row another process is still sending; on
   PostgreSQL only rows whose sender's lease ran out, see `monitor.store.outbox`, and
   the daemon looks for them every minute too: a row is repeated at most once per crash).
2. Due rows (`pending`, `next_try <= now`) are grouped by (channel, destination).
   Before a send its rows are claimed (`pending` → `sending`); only the rows this
   process actually claimed are sent, so a row is never sent by two senders at once.
3. Per destination, its policy decides: muted or in quiet hours → held until the end
   of the pause and then sent as one digest; `hourly`/`daily@HH:MM` modes → held until
   the next slot, then one digest; instant mode → sent one by one, except a burst of
   more than `burst` alerts, which is folded into one digest.
4. A failure retries with exponential backoff and full jitter (`monitor.schedule.full_jitter`
   with `delivery.backoff` and `delivery.backoff_max`, or the channel's `retry_after`),
   up to `max_attempts`; a permanent failure, or the last attempt,
   makes the row `dead` with its reason (`raqib outbox retry` revives dead rows).
5. `update` rows edit the first message of a cluster ("also reported by …", and the
   related stories folded into it), where the channel can edit; they are throttled by
   their `next_try`.
6. Related coverage is grouped, never suppressed. A `story` row of a later cluster of an
   event (another outlet's own words) sent on its own looks up its event's first alert
   for the same watchlist and destination (`Store.outbox.event_head`). No head (none, dead,
   pruned, or sent in a digest without a reference) → a normal alert. A head still
   pending or being sent → the row waits for it (put off, no attempt counted). A sent
   head → the destination's `related` setting, else the watchlist's `related:`, decides:
   `reply` sends it through `Channel.send_related` with the head's reference (Telegram
   replies to it, e-mail threads under it); `edit` on a channel that can edit folds it
   into the head's message (the row is marked sent as `edit` and an `update` row,
   throttled like "also reported by", rewrites the head, in one transaction), elsewhere
   it is a reply; `alert` sends it as a normal alert. When that edit fails for good (the
   first message was deleted), the stories folded into it go back to the queue as
   alerts of their own (`own`): a grouping never hides a story. In a digest, alerts are
   grouped by event instead.
7. An event a destination muted (Telegram's "🔕 كتم هذا الحدث", `Store.feedback.mute_event`) sends it
   nothing more until the mute ends: its story and spread rows are marked done unsent.
Every alert is handed to its channel as its destination reads it (`render.for_destination`):
times in the destination's zone (its policy's `tz`), outlets by their names
(`Store.feeds.titles`, read once a round).
Destinations are served concurrently up to the channel's `concurrency`; within one
destination alerts go in order. Store calls are awaited through `on_store` (the daemon's store
thread; inline when none is given), so a slow database never holds the event loop. Of
several nodes on one database, only the one holding the digests role (`send_held`) reads
held rows, so a digest leaves whole from one node; any node holds new rows back, and any
node sends instant ones.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from monitor.errors import DeliveryError, StoreError
from monitor.models import Alert
from monitor.schedule import full_jitter
from monitor.settings import DeliverySettings
from monitor.store import OutboxRow, OutboxState, Store
from monitor.store.worker import inline

from .channel import Channel
from .policy import Policy
from .render import alert_from_row, for_destination
from .secrets import mask_destination as _mask

log = logging.getLogger(__name__)

HELD_REASON = "quiet hours, mute or digest mode"  # the outbox's last_error of a held row


BATCH = 500  # rows read per round
HEAD_WAIT = 2.0  # a related row waiting for its event's first alert looks again after this


PolicyFor = Callable[[str, str], Policy]


class Deliverer:
    def __init__(self, store: Store, channels: Mapping[str, Channel], *,
                 settings: DeliverySettings = DeliverySettings(), batch: int = BATCH,
                 policy_for: PolicyFor | None = None,
                 clock: Callable[[], float] = time.time,
                 on_result: Callable[[str, str, float | None], None] | None = None,
                 rng: random.Random | None = None, send_held: Callable[[], bool] | None = None,
                 on_store: Callable[..., Awaitable[Any]] = inline) -> None:
        self.store = store
        self.on_store = on_store  # how store calls are made: the daemon's store thread, or inline
        self.channels = dict(channels)
        self.settings = settings  # `delivery` as read (monitor.settings)
        self.batch = batch
        self.policy_for = policy_for or (lambda channel, destination: Policy())
        self.clock = clock
        self.on_result = on_result  # (channel, outcome, latency seconds) for metrics
        self.rng = rng or random.Random()
        # held rows (digests) go from the node holding the digests role only; one node alone holds it
        self.send_held = send_held or (lambda: True)
        self._wake = asyncio.Event()
        self.in_flight = 0
        self.titles: dict[str, str] = {}  # feed name → outlet name (`Store.feeds.titles`), each round

    def wake(self) -> None:
        self._wake.set()

    def recover(self) -> int:
        n = self.store.outbox.recover_sending()
        if n:
            log.warning("alerts interrupted mid-send go back to the queue count=%d", n)
        return n

    async def run(self, stop: asyncio.Event, *, idle: float = 5.0) -> None:
        """Deliver until `stop` is set; sleeps until the next due row or a wake-up."""
        while not stop.is_set():
            try:
                await self.run_once()
            except StoreError as exc:
                log.error("outbox unavailable error=%s", exc)
                await _wait_any(stop, None, 5.0)
                continue
            try:
                nxt = await self.on_store(self.store.outbox.next_due, list(self.channels), held=self.send_held())
            except StoreError as exc:
                log.error("outbox unavailable error=%s", exc)
                nxt = None
            delay = idle if nxt is None else max(0.0, min(idle, nxt - self.clock()))
            self._wake.clear()
            await _wait_any(stop, self._wake, delay)

    async def run_once(self) -> int:
        """One round: deliver everything due now. Returns the number of rows sent."""
        now = self.clock()
        rows = await self.on_store(self.store.outbox.due, now, self.batch, list(self.channels),
                             held=self.send_held())
        if not rows:
            return 0
        self.titles = await self.on_store(self.store.feeds.titles)  # outlets by their names, read once a round
        groups: dict[tuple[str, str], list[OutboxRow]] = {}
        for row in rows:
            groups.setdefault((row.channel, row.destination), []).append(row)
        by_channel: dict[str, list[tuple[str, list[OutboxRow]]]] = {}
        for (channel, destination), group in groups.items():
            by_channel.setdefault(channel, []).append((destination, group))
        results = await asyncio.gather(*(self._serve_channel(name, dests)
                                         for name, dests in by_channel.items()))
        return sum(results)

    async def _serve_channel(self, name: str, dests: list[tuple[str, list[OutboxRow]]]) -> int:
        channel = self.channels[name]
        sem = asyncio.Semaphore(max(1, channel.concurrency))

        async def one(destination: str, group: list[OutboxRow]) -> int:
            async with sem:
                return await self._serve_destination(channel, destination, group)

        async with channel.session():
            counts = await asyncio.gather(*(one(d, g) for d, g in dests))
        return sum(counts)

    async def _serve_destination(self, channel: Channel, destination: str, rows: list[OutboxRow]) -> int:
        now = self.clock()
        updates = [r for r in rows if r.kind == "update"]
        alerts_rows = await self._unmuted(channel, destination, [r for r in rows if r.kind != "update"], now)
        sent = 0
        if alerts_rows:
            try:
                policy = await self.on_store(self.policy_for, channel.name, destination)  # reads the store
            except Exception:  # a bad setting must not stop delivery: fall back to instant
                log.exception("bad delivery settings channel=%s destination=%s", channel.name, _mask(destination))
                policy = Policy()
            oldest = min(r.created for r in alerts_rows)
            hold = policy.hold_until(now, oldest)
            if hold is not None:
                await self.on_store(self.store.outbox.hold, [r.id for r in alerts_rows], hold, HELD_REASON)
                # the destination's other pending rows wait too, so the digest is whole
                await self.on_store(self.store.outbox.hold_destination, channel.name, destination, hold, HELD_REASON)
            else:
                held_before = any(r.held for r in alerts_rows)
                digest = policy.digest_mode or held_before or len(alerts_rows) > self.settings.burst
                if digest and len(alerts_rows) > 1:
                    sent += await self._send(channel, alerts_rows, digest=True, policy=policy)
                else:
                    for row in alerts_rows:
                        sent += await self._send_one(channel, row, policy)
        if updates and not alerts_rows:
            try:
                policy = await self.on_store(self.policy_for, channel.name, destination)
            except Exception:
                log.exception("bad delivery settings channel=%s destination=%s", channel.name, _mask(destination))
                policy = Policy()
        for row in updates:
            sent += await self._update(channel, row, policy)
        return sent

    async def _unmuted(self, channel: Channel, destination: str, rows: list[OutboxRow], now: float) -> list[OutboxRow]:
        """The rows whose event this destination has not muted (rule 7); the others are
        done without being sent."""
        events = {r.id: r.event if r.event is not None else r.cluster for r in rows
                  if r.kind in ("story", "spread")}
        if not events:
            return rows
        muted = await self.on_store(self.store.feedback.muted_events, channel.name, destination, now, events.values())
        if not muted:
            return rows
        skipped = [i for i, event in events.items() if event in muted]
        await self.on_store(self.store.outbox.mark_sent, skipped, now)
        log.info("alerts of a muted event left unsent channel=%s destination=%s count=%d", channel.name,
                 _mask(destination), len(skipped))
        return [r for r in rows if r.id not in skipped]

    def _for(self, row: OutboxRow, policy: Policy) -> Alert:
        """One outbox row as its destination reads it (its zone, the outlets' names)."""
        return for_destination(alert_from_row(row), tz=getattr(policy.tz, "key", ""), titles=self.titles)

    async def _send_one(self, channel: Channel, row: OutboxRow, policy: Policy) -> int:
        """One alert on its own: a related story grouped under its event's first alert
        (rule 6), anything else as it is."""
        may_group = row.kind == "story" and row.related is None
        head = await self.on_store(self.store.outbox.event_head, row) if may_group else None
        if head is None:  # not a related story, or one its event's first message could not take
            return await self._send(channel, [row], digest=False, policy=policy)
        mode = policy.related or json.loads(row.payload).get("related") or "reply"
        if mode == "alert":
            return await self._send(channel, [row], digest=False, policy=policy)
        if head.state in (OutboxState.PENDING, OutboxState.SENDING):
            until = max(self.clock() + HEAD_WAIT, head.next_try + HEAD_WAIT)
            await self.on_store(self.store.outbox.postpone, [row.id], until)
            log.info("related alert waits for its event's first alert channel=%s destination=%s event=%s",
                     channel.name, _mask(row.destination), row.event)
            return 0
        if mode == "edit" and channel.can_edit:
            if not await self.on_store(self.store.outbox.claim, [row.id], lease=self.settings.lease, now=self.clock()):
                return 0
            await self.on_store(self.store.outbox.fold, row, head, self.clock(), throttle=self.settings.update_every)
            self.wake()
            return 1
        return await self._send(channel, [row], digest=False, head=head, policy=policy)

    async def _send(self, channel: Channel, rows: list[OutboxRow], *, digest: bool, head: OutboxRow | None = None,
                    policy: Policy | None = None) -> int:
        claimed = set(await self.on_store(self.store.outbox.claim, [r.id for r in rows], lease=self.settings.lease,
                                         now=self.clock()))
        rows = [r for r in rows if r.id in claimed]
        if not rows:
            return 0  # another sender has them
        ids = [r.id for r in rows]
        policy = policy or Policy()
        alerts = [self._for(r, policy) for r in rows]
        self.in_flight += 1
        started = self.clock()
        try:
            if digest:
                ref = await channel.send_digest(rows[0].destination, alerts)
            elif head is not None:  # a related story, under its event's first alert
                ref = await channel.send_related(dataclasses.replace(alerts[0], related="reply"), head.ref or "",
                                                 head=self._for(head, policy))
            else:
                ref = await channel.send(alerts[0])
        except DeliveryError as exc:
            await self.on_store(self._failed, channel, rows, exc)
            return 0
        except Exception as exc:  # a channel bug must not stop delivery of the others
            log.exception("channel failed unexpectedly channel=%s", channel.name)
            await self.on_store(self._failed, channel, rows,
                          DeliveryError(f"{type(exc).__name__}: {exc}", channel=channel.name))
            return 0
        finally:
            self.in_flight -= 1
        done = self.clock()
        await self.on_store(self.store.outbox.mark_sent, ids, done, ref, related="reply" if head is not None else None)
        if self.on_result:
            for r in rows:
                self.on_result(channel.name, "sent", done - r.created)
        log.info("alert sent channel=%s destination=%s count=%d digest=%s seconds=%.3f",
                 channel.name, _mask(rows[0].destination), len(rows), digest, done - started)
        return len(rows)

    def _failed(self, channel: Channel, rows: list[OutboxRow], exc: DeliveryError) -> str:
        """Retry or bury the rows; returns "moved", "retry" or "dead". Store calls only:
        it runs where `db` runs them."""
        ids = [r.id for r in rows]
        destination = rows[0].destination
        if exc.migrate_to:
            self.store.subscriptions.move_destination(channel.name, destination, exc.migrate_to)
            self.store.outbox.mark_retry(ids, self.clock(), f"moved to {exc.migrate_to}")
            log.warning("destination moved channel=%s old=%s new=%s", channel.name,
                        _mask(destination), _mask(exc.migrate_to))
            return "moved"
        if exc.unsubscribe:
            n = self.store.subscriptions.unsubscribe(channel.name, destination)
            log.warning("destination gone, subscriptions deactivated channel=%s destination=%s count=%d",
                        channel.name, _mask(destination), n)
        attempts = max(r.attempts for r in rows) + 1
        if exc.permanent or attempts >= self.settings.max_attempts:
            self.store.outbox.mark_dead(ids, str(exc), held=exc.held)
            outcome = "dead"
            log.error("alert failed for good channel=%s destination=%s attempts=%d error=%s",
                      channel.name, _mask(destination), attempts, exc)
        else:
            delay = self.backoff(attempts)
            if exc.retry_after is not None:
                delay = max(exc.retry_after, 0.0)
            self.store.outbox.mark_retry(ids, self.clock() + delay, str(exc), held=exc.held)
            outcome = "retry"
            log.warning("alert send failed, will retry channel=%s destination=%s attempts=%d "
                        "in_seconds=%.1f error=%s", channel.name, _mask(destination), attempts, delay, exc)
        if self.on_result:
            for _ in rows:
                self.on_result(channel.name, outcome, None)
        return outcome

    def backoff(self, attempts: int) -> float:
        """The delay before the next try (`monitor.schedule.full_jitter`)."""
        return full_jitter(attempts, self.settings.backoff, self.settings.backoff_max, self.rng)

    async def _update(self, channel: Channel, row: OutboxRow, policy: Policy) -> int:
        first = await self.on_store(self.store.outbox.sent_story, row.cluster, row.watchlist, row.channel,
                              row.destination)
        if not channel.can_edit or first is None:
            # nothing to edit: the update is moot
            await self.on_store(self.store.outbox.mark_sent, [row.id], self.clock())
            return 0
        sources = []
        for member in await self.on_store(self.store.stories.cluster_sources, row.cluster):
            if member.feed not in sources:
                sources.append(member.feed)
        related: list[Alert] = []
        if first.related is None:  # a head: the related stories folded into it
            related = [self._for(r, policy) for r in await self.on_store(self.store.outbox.folded, first.event,
                                                                        row.watchlist, row.channel,
                                                                        row.destination)]
        if not await self.on_store(self.store.outbox.claim, [row.id], lease=self.settings.lease, now=self.clock()):
            return 0  # another sender has it
        alert = dataclasses.replace(self._for(row, policy), related=first.related or "")
        try:
            await channel.edit(alert, first.ref, sources, related=related)
        except Exception as exc:
            if not isinstance(exc, DeliveryError):
                log.exception("channel edit failed unexpectedly channel=%s", channel.name)
                exc = DeliveryError(str(exc), channel=channel.name)
            if await self.on_store(self._failed, channel, [row], exc) == "dead" and related:
                # the first message cannot take them (deleted, say): never hide a story
                n = await self.on_store(self.store.outbox.unfold, [a.id for a in related], self.clock())
                log.warning("related stories folded into a message that cannot be edited go as alerts "
                            "channel=%s destination=%s count=%d", channel.name, _mask(row.destination), n)
            return 0
        await self.on_store(self.store.outbox.mark_sent, [row.id], self.clock())
        return 1


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
