"""Table `outbox`: one row per alert to send, and its state.

One row per (cluster, watchlist, channel, destination, kind), written in the same
transaction as the story that caused it, so a story stored is an alert queued. Kinds:
`story` (the first alert of a cluster), `update` (an editable channel adds "also reported
by" to what it sent), `spread` (a cluster carried by enough outlets), `health` (a feed
went down or came back).

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
from enum import StrEnum
from typing import Any, Collection, Sequence

from .db import Database, Tx


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


PENDING, SENDING, SENT, DEAD = OutboxState


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class OutboxTable(Database):
    def enqueue(self, conn: Tx, *, channel: str, destination: str, kind: str,
                watchlist: str, cluster: int, story_id: int, payload: dict, now: float,
                not_before: float | None = None) -> bool:
        """Add one alert unless this (cluster, watchlist, channel, destination, kind) has one."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO outbox (channel, destination, kind, watchlist, cluster, story_id, "
            f"payload, state, next_try, created) VALUES (?, ?, ?, ?, ?, ?, ?, '{PENDING}', ?, ?)",
            (channel, destination, kind, watchlist, cluster, story_id,
             json.dumps(payload, ensure_ascii=False), not_before or now, now))
        return cur.rowcount > 0

    def queue_updates(self, conn: Tx, cluster: int, story_id: int, now: float, *,
                      channels: Collection[str], throttle: float) -> None:
        """An `update` row for every `story` alert of this cluster on one of `channels`
        (the editable ones), due in at most 5 s and no sooner than `throttle` seconds after
        the previous update was sent. An update still waiting is left as it is."""
        rows = conn.execute(
            "SELECT channel, destination, watchlist, payload FROM outbox WHERE cluster=? AND kind='story'",
            (cluster,)).fetchall()
        for channel, destination, watchlist, payload in rows:
            if channel not in channels:
                continue
            conn.execute(
                "INSERT INTO outbox (channel, destination, kind, watchlist, cluster, story_id, payload, "
                f"state, next_try, created) VALUES (?, ?, 'update', ?, ?, ?, ?, '{PENDING}', ?, ?) "
                "ON CONFLICT(cluster, watchlist, channel, destination, kind) DO UPDATE SET "
                f"state='{PENDING}', story_id=excluded.story_id, attempts=0, "
                f"next_try={self.greatest}(excluded.next_try, COALESCE(outbox.sent_at, 0) + ?) "
                f"WHERE outbox.state IN ('{SENT}', '{DEAD}')",
                (channel, destination, watchlist, cluster, story_id, payload, now + min(5.0, throttle), now,
                 throttle))

    def due_alerts(self, now: float, limit: int = 500, channels: Sequence[str] | None = None, *,
                   held: bool = True) -> list[dict]:
        """Pending rows due by `now`; `held=False` leaves out held rows (they leave as
        digests from the one node holding the digests role)."""
        sql = f"SELECT * FROM outbox WHERE state='{PENDING}' AND next_try <= ?"
        if not held:
            sql += " AND held=0"
        params: list[Any] = [now]
        if channels is not None:
            sql += f" AND channel IN ({_marks(channels)})"
            params.extend(channels)
        return self._query(sql + " ORDER BY next_try, id LIMIT ?", (*params, limit))

    def next_alert_due(self, channels: Sequence[str] | None = None, *, held: bool = True) -> float | None:
        sql = f"SELECT MIN(next_try) FROM outbox WHERE state='{PENDING}'"
        if not held:
            sql += " AND held=0"
        params: list[Any] = []
        if channels is not None:
            sql += f" AND channel IN ({_marks(channels)})"
            params.extend(channels)
        return self._scalar(sql, params)

    def sent_ref(self, cluster: int, watchlist: str, channel: str, destination: str) -> str | None:
        """The channel's reference to the `story` alert it sent for this cluster (to edit it)."""
        return self._scalar(
            "SELECT ref FROM outbox WHERE cluster=? AND watchlist=? AND channel=? AND destination=? "
            f"AND kind='story' AND state='{SENT}' AND ref IS NOT NULL", (cluster, watchlist, channel, destination))

    def unsent(self) -> list[dict]:
        """Every row not sent yet, oldest first (`raqib outbox`)."""
        held = "last_error, held"
        if not self._has_column("outbox", "held"):  # read-only, before the daemon migrated the file
            held = ("CASE WHEN SUBSTR(last_error, 1, 5)='held:' THEN LTRIM(SUBSTR(last_error, 6)) "
                    "ELSE last_error END AS last_error, COALESCE(SUBSTR(last_error, 1, 5)='held:', 0) AS held")
        return self._query("SELECT id, channel, destination, kind, watchlist, state, attempts, next_try, "
                           f"{held} FROM outbox WHERE state != '{SENT}' ORDER BY id")

    def dead_letters(self, limit: int = 10) -> list[dict]:
        """The newest dead rows first."""
        return self._query("SELECT id, channel, destination, attempts, last_error FROM outbox "
                           f"WHERE state='{DEAD}' ORDER BY id DESC LIMIT ?", (limit,))

    def claim(self, ids: Sequence[int], *, lease: float = 300.0, now: float | None = None) -> list[int]:
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

    def mark_sent(self, ids: Sequence[int], now: float, ref: str | None = None) -> None:
        with self.transaction() as conn:
            conn.executemany(f"UPDATE outbox SET state='{SENT}', sent_at=?, last_error=NULL, held=0, "
                             "ref=COALESCE(?, ref), leased_by=NULL, leased_until=NULL WHERE id=?",
                             [(now, ref, i) for i in ids])

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
        if ids:
            cur = self._execute(sql + f" AND id IN ({_marks(ids)})", tuple(ids))
        else:
            cur = self._execute(sql)
        return cur.rowcount
