"""Table `outbox`: one row per alert to send, and its state.

One row per (cluster, watchlist, channel, destination, kind), written in the same
transaction as the story that caused it, so a story stored is an alert queued. Kinds:
`story` (the first alert of a cluster), `update` (an editable channel adds "also reported
by" to what it sent), `spread` (an event carried by enough outlets), `health` (a feed
went down or came back).

Events: every row carries its story's `event` (the first story of the same event told
by other outlets; `cluster` for rows of a database from before events). A `story` row of
a later cluster of an event is a related story: `event_head` finds the row it groups
under, the event's first `story` row for the same (watchlist, channel, destination) that
went, or is still to go, as an alert of its own (`related` NULL; pending or sending, or
sent with a reference; a dead row, a digest's row without a reference, or a pruned one
is no head). How a related row went is kept in `related`: `reply` (a message of its own
threaded under the head's), `edit` (folded into the head's message, which an `update`
row rewrites: `fold`, `folded`) or `own` (folded once, but the head's message could not
be edited: `unfold` queues it again as an alert of its own).

States (`OutboxState`): pending → sending → sent | dead.
- `claim` moves pending rows to sending, one sender each; a crash leaves them sending,
  and `recover_sending` puts them back to pending at start-up (they may repeat once).
- Leases (PostgreSQL, several nodes on one outbox): `claim` picks its rows `FOR UPDATE
  SKIP LOCKED` and leases them to this node (`leased_by`, `leased_until` = now + `lease`);
  `recover_sending` then recovers only rows whose lease expired — a node that died
  mid-send — never rows another live node is sending. The same at-most-one-repeat-per-
  crash bound holds: a row is only recovered once its sender can no longer finish it.
  Every end state (sent, retry, dead) drops the lease. On SQLite (one daemon per file)
  every `sending` row at start-up is a crashed one.
- A failed send goes back to pending with `next_try` put off (`mark_retry`), or to dead
  when it cannot succeed or tried too often (`mark_dead`); `retry_dead` queues dead
  letters again.
- `held` marks a pending row that waits on purpose — quiet hours, a mute, a digest slot,
  or a long Telegram RetryAfter — with the reason in `last_error`. Held rows leave as one
  digest; a sent row is never held. `release_held` lets a destination's held rows go now.
"""
from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Any

from ..settings import DeliverySettings
from .db import Tx
from .part import Part
from .rows import AlertRef, DeadLetter, OutboxRow, SentStory, UnsentRow


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


PENDING, SENDING, SENT, DEAD = OutboxState


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class OutboxTable(Part):
    def enqueue(self, conn: Tx, *, channel: str, destination: str, kind: str,
                watchlist: str, cluster: int, story_id: int, payload: dict[str, Any], now: float,
                not_before: float | None = None, event: int | None = None) -> bool:
        """Add one alert unless this (cluster, watchlist, channel, destination, kind) has one."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO outbox (channel, destination, kind, watchlist, cluster, event, story_id, "
            f"payload, state, next_try, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{PENDING}', ?, ?)",
            (channel, destination, kind, watchlist, cluster, cluster if event is None else event, story_id,
             json.dumps(payload, ensure_ascii=False), not_before or now, now))
        return cur.rowcount > 0

    def queue_updates(self, conn: Tx, cluster: int, story_id: int, now: float, *,
                      channels: Collection[str], throttle: float) -> None:
        """An `update` row for every `story` alert of this cluster on one of `channels`
        (the editable ones), due in at most 5 s and no sooner than `throttle` seconds after
        the previous update was sent. An update still waiting is left as it is."""
        rows = conn.execute(
            "SELECT channel, destination, watchlist, payload, event FROM outbox WHERE cluster=? AND kind='story'",
            (cluster,)).fetchall()
        for channel, destination, watchlist, payload, event in rows:
            if channel in channels:
                self._queue_update(conn, channel, destination, watchlist, cluster, event, story_id, payload,
                                   now, throttle)

    def fold(self, row: OutboxRow, head: OutboxRow, now: float, *, throttle: float) -> None:
        """A related row goes into its head's message: marked sent as `edit`, and an `update`
        row for the head (as `queue_updates` makes them) asks for the message to be
        rewritten — both or neither."""
        with self.transaction() as conn:
            conn.execute(f"UPDATE outbox SET state='{SENT}', sent_at=?, last_error=NULL, held=0, related='edit' "
                         "WHERE id=?", (now, row.id))
            self._queue_update(conn, head.channel, head.destination, head.watchlist, head.cluster,
                               head.event, row.story_id, head.payload, now, throttle)

    def unfold(self, ids: Sequence[int], now: float) -> int:
        """Folded rows whose head's message cannot be edited go back to the queue as alerts
        of their own (`related` = `own`)."""
        if not ids:
            return 0
        cur = self._execute(f"UPDATE outbox SET state='{PENDING}', related='own', next_try=?, attempts=0, "
                            f"sent_at=NULL WHERE related='edit' AND id IN ({_marks(ids)})", (now, *ids))
        return cur.rowcount

    def _queue_update(self, conn: Tx, channel: str, destination: str, watchlist: str, cluster: int,
                      event: int | None, story_id: int, payload: str, now: float, throttle: float) -> None:
        conn.execute(
            "INSERT INTO outbox (channel, destination, kind, watchlist, cluster, event, story_id, payload, "
            f"state, next_try, created) VALUES (?, ?, 'update', ?, ?, ?, ?, ?, '{PENDING}', ?, ?) "
            "ON CONFLICT(cluster, watchlist, channel, destination, kind) DO UPDATE SET "
            f"state='{PENDING}', story_id=excluded.story_id, attempts=0, "
            f"next_try={self.greatest}(excluded.next_try, COALESCE(outbox.sent_at, 0) + ?) "
            f"WHERE outbox.state IN ('{SENT}', '{DEAD}')",
            (channel, destination, watchlist, cluster, cluster if event is None else event, story_id, payload,
             now + min(5.0, throttle), now, throttle))

    def row(self, alert_id: int) -> AlertRef | None:
        """One row by id (a button on an alert names its row)."""
        rows = self._typed(AlertRef, "SELECT id, channel, destination, kind, watchlist, cluster, story_id, "
                           "COALESCE(event, cluster) AS event, payload FROM outbox WHERE id=?", (alert_id,))
        return rows[0] if rows else None

    def due(self, now: float, limit: int = 500, channels: Sequence[str] | None = None, *,
                   held: bool = True) -> list[OutboxRow]:
        """Pending rows due by `now`; `held=False` leaves out held rows (they leave as
        digests from the one node holding the digests role)."""
        sql = f"SELECT * FROM outbox WHERE state='{PENDING}' AND next_try <= ?"
        if not held:
            sql += " AND held=0"
        params: list[Any] = [now]
        if channels is not None:
            sql += f" AND channel IN ({_marks(channels)})"
            params.extend(channels)
        return self._typed(OutboxRow, sql + " ORDER BY next_try, id LIMIT ?", (*params, limit))

    def next_due(self, channels: Sequence[str] | None = None, *, held: bool = True) -> float | None:
        sql = f"SELECT MIN(next_try) FROM outbox WHERE state='{PENDING}'"
        if not held:
            sql += " AND held=0"
        params: list[Any] = []
        if channels is not None:
            sql += f" AND channel IN ({_marks(channels)})"
            params.extend(channels)
        return self._scalar(sql, params)

    def sent_story(self, cluster: int, watchlist: str, channel: str, destination: str) -> SentStory | None:
        """The sent `story` alert of this cluster with a reference: ref, related, event."""
        rows = self._typed(
            SentStory, "SELECT ref, related, COALESCE(event, cluster) AS event FROM outbox WHERE cluster=? "
            f"AND watchlist=? AND channel=? AND destination=? AND kind='story' AND state='{SENT}' AND ref IS NOT NULL",
            (cluster, watchlist, channel, destination))
        return rows[0] if rows else None

    def event_head(self, row: OutboxRow) -> OutboxRow | None:
        """The row a related `story` row groups under (see the module's rules), or None
        when it has none and goes as an alert of its own."""
        if row.event is None or row.event == row.cluster:
            return None  # the cluster that opened the event: nothing of its event came before
        rows = self._typed(
            OutboxRow, "SELECT * FROM outbox WHERE event=? AND watchlist=? AND channel=? AND destination=? AND id < ? "
            f"AND kind='story' AND related IS NULL AND (state IN ('{PENDING}', '{SENDING}') "
            f"OR (state='{SENT}' AND ref IS NOT NULL)) ORDER BY id LIMIT 1",
            (row.event, row.watchlist, row.channel, row.destination, row.id))
        return rows[0] if rows else None

    def folded(self, event: int, watchlist: str, channel: str, destination: str) -> list[OutboxRow]:
        """Related rows folded into the message of their event's head, first first."""
        return self._typed(
            OutboxRow, "SELECT * FROM outbox WHERE event=? AND watchlist=? AND channel=? AND destination=? "
            f"AND kind='story' AND related='edit' AND state='{SENT}' ORDER BY id",
            (event, watchlist, channel, destination))

    def postpone(self, ids: Sequence[int], until: float) -> None:
        """Put pending rows off until `until` without counting an attempt (a related row
        waiting for its event's first alert to go)."""
        with self.transaction() as conn:
            conn.executemany(f"UPDATE outbox SET next_try=? WHERE id=? AND state='{PENDING}'",
                             [(until, i) for i in ids])

    def unsent(self) -> list[UnsentRow]:
        """Every row not sent yet, oldest first (`raqib outbox`)."""
        held = "last_error, held"
        if not self._has_column("outbox", "held"):  # read-only, before the daemon migrated the file
            held = ("CASE WHEN SUBSTR(last_error, 1, 5)='held:' THEN LTRIM(SUBSTR(last_error, 6)) "
                    "ELSE last_error END AS last_error, COALESCE(SUBSTR(last_error, 1, 5)='held:', 0) AS held")
        return self._typed(UnsentRow, "SELECT id, channel, destination, kind, watchlist, state, attempts, next_try, "
                           f"{held} FROM outbox WHERE state != '{SENT}' ORDER BY id")

    def dead_letters(self, limit: int = 10) -> list[DeadLetter]:
        """The newest dead rows first."""
        return self._typed(DeadLetter, "SELECT id, channel, destination, attempts, last_error FROM outbox "
                           f"WHERE state='{DEAD}' ORDER BY id DESC LIMIT ?", (limit,))

    def claim(self, ids: Sequence[int], *, lease: float = DeliverySettings.lease,
              now: float | None = None) -> list[int]:
        """Mark pending alerts as being sent and return the ids this call claimed: a row
        another connection claimed first (or that is no longer pending) is not ours to
        send. A crash leaves claimed rows 'sending' for recovery. On PostgreSQL the rows
        are leased to this node for `lease` seconds."""
        claimed: list[int] = []
        if not ids:
            return claimed
        if self.postgres:
            until = (time.time() if now is None else now) + lease
            with self.transaction() as conn:
                rows = conn.execute(
                    f"UPDATE outbox SET state='{SENDING}', attempts=attempts+1, leased_by=?, leased_until=? "
                    f"WHERE id IN (SELECT id FROM outbox WHERE id = ANY(?) AND state='{PENDING}' "
                    "FOR UPDATE SKIP LOCKED) RETURNING id", (self.node, until, list(ids))).fetchall()
            mine = {r[0] for r in rows}
            return [i for i in ids if i in mine]
        with self.transaction() as conn:
            for i in ids:
                if conn.execute(f"UPDATE outbox SET state='{SENDING}', attempts=attempts+1 WHERE id=? "
                                f"AND state='{PENDING}'", (i,)).rowcount:
                    claimed.append(i)
        return claimed

    def hold(self, ids: Sequence[int], until: float, reason: str) -> None:
        """Put pending alerts off until `until` (quiet hours, mute, digest slot); rows
        already claimed for sending are left alone."""
        with self.transaction() as conn:
            conn.executemany(f"UPDATE outbox SET next_try=?, held=1, last_error=? WHERE id=? AND state='{PENDING}'",
                             [(until, reason[:500], i) for i in ids])

    def hold_destination(self, channel: str, destination: str, until: float, reason: str) -> None:
        """Hold a destination's other pending alerts due before `until` too (updates
        excepted), so the digest that leaves then is whole."""
        self._execute(f"UPDATE outbox SET next_try=?, held=1, last_error=? WHERE channel=? AND destination=? "
                      f"AND state='{PENDING}' AND kind!='update' AND next_try < ?",
                      (until, reason[:500], channel, destination, until))

    def release_held(self, channel: str, destination: str, now: float) -> int:
        """A destination's held alerts may go now (an unmute, quiet hours turned off)."""
        cur = self._execute(f"UPDATE outbox SET next_try=? WHERE channel=? AND destination=? "
                            f"AND state='{PENDING}' AND held=1", (now, channel, destination))
        return cur.rowcount

    def mark_sent(self, ids: Sequence[int], now: float, ref: str | None = None, *,
                  related: str | None = None) -> None:
        """Sent (with the channel's reference); `related` how a related story went."""
        with self.transaction() as conn:
            conn.executemany(f"UPDATE outbox SET state='{SENT}', sent_at=?, last_error=NULL, held=0, "
                             "ref=COALESCE(?, ref), related=COALESCE(?, related), leased_by=NULL, leased_until=NULL "
                             "WHERE id=?", [(now, ref, related, i) for i in ids])

    def mark_retry(self, ids: Sequence[int], next_try: float, error: str, *, held: bool = False) -> None:
        """Back to pending, to be tried at `next_try`; `held` when the wait is a long one
        the alerts should leave from as one digest."""
        with self.transaction() as conn:
            conn.executemany(f"UPDATE outbox SET state='{PENDING}', next_try=?, last_error=?, held=?, "
                             "leased_by=NULL, leased_until=NULL WHERE id=?",
                             [(next_try, error[:500], int(held), i) for i in ids])

    def mark_dead(self, ids: Sequence[int], error: str, *, held: bool = False) -> None:
        with self.transaction() as conn:
            conn.executemany(f"UPDATE outbox SET state='{DEAD}', last_error=?, held=?, leased_by=NULL, "
                             "leased_until=NULL WHERE id=?",
                             [(error[:500], int(held), i) for i in ids])

    def recover_sending(self, now: float | None = None) -> int:
        """After a crash: alerts caught mid-send go back to pending (they may repeat once).
        On PostgreSQL only those whose lease expired: another node may be sending the rest."""
        if self.postgres:
            return self._execute(f"UPDATE outbox SET state='{PENDING}', leased_by=NULL, leased_until=NULL "
                                 f"WHERE state='{SENDING}' AND (leased_until IS NULL OR leased_until < ?)",
                                 (time.time() if now is None else now,)).rowcount
        cur = self._execute(f"UPDATE outbox SET state='{PENDING}', leased_by=NULL, leased_until=NULL "
                            f"WHERE state='{SENDING}'")
        return cur.rowcount

    def retry_dead(self, ids: Sequence[int] | None = None) -> int:
        sql = f"UPDATE outbox SET state='{PENDING}', next_try=0, attempts=0 WHERE state='{DEAD}'"
        cur = self._execute(sql + f" AND id IN ({_marks(ids)})", tuple(ids)) if ids else self._execute(sql)
        return cur.rowcount
