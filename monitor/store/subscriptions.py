"""Tables `subscriptions`, `destinations` and `personal_terms`: what people chose.

- `subscriptions`: destination ↔ watchlist, for channels where people subscribe; leaving
  sets `active=0` (the row stays, so subscribing again is the same row).
- `destinations`: per-destination settings as one JSON object (language, mute, quiet
  hours, digest mode, access); a setting set to None is removed.
- `personal_terms`: a destination's own terms (Telegram `/watch`).

A destination that changes id (a Telegram group becoming a supergroup) takes all three,
and its alerts still to be sent, along (`move_destination`): what the new id already had
under the same key gives way to the old id's rows; an alert the new id already has is
not moved (it stays with the old id and is not sent twice).
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..dburl import is_postgres
from ..errors import StoreError
from .db import Database
from .outbox import PENDING, SENDING
from .part import Part
from .rows import PersonalTerm


class SubscriptionTables(Part):
    def subscribers(self, watchlist: str) -> list[tuple[str, str]]:
        return [(r["channel"], r["destination"]) for r in self._query(
            "SELECT channel, destination FROM subscriptions WHERE watchlist=? AND active=1", (watchlist,))]

    def of(self, channel: str, destination: str) -> list[str]:
        return [r["watchlist"] for r in self._query(
            "SELECT watchlist FROM subscriptions WHERE channel=? AND destination=? AND active=1 "
            "ORDER BY watchlist", (channel, destination))]

    def subscribe(self, channel: str, destination: str, watchlist: str) -> bool:
        cur = self._execute(
            "INSERT INTO subscriptions (channel, destination, watchlist, active, created) VALUES (?, ?, ?, 1, ?) "
            "ON CONFLICT(channel, destination, watchlist) DO UPDATE SET active=1 WHERE subscriptions.active=0",
            (channel, destination, watchlist, time.time()))
        return cur.rowcount > 0

    def unsubscribe(self, channel: str, destination: str, watchlist: str | None = None) -> int:
        if watchlist is None:
            cur = self._execute("UPDATE subscriptions SET active=0 WHERE channel=? AND destination=? AND active=1",
                                (channel, destination))
        else:
            cur = self._execute("UPDATE subscriptions SET active=0 WHERE channel=? AND destination=? "
                                "AND watchlist=? AND active=1", (channel, destination, watchlist))
        return cur.rowcount

    def settings(self, channel: str, destination: str) -> dict[str, Any]:
        raw = self._scalar("SELECT settings FROM destinations WHERE channel=? AND destination=?",
                           (channel, destination))
        return json.loads(raw) if raw else {}

    def update_settings(self, channel: str, destination: str, **changes: Any) -> dict[str, Any]:
        with self.transaction():
            settings = self.settings(channel, destination)
            for k, v in changes.items():
                if v is None:
                    settings.pop(k, None)
                else:
                    settings[k] = v
            self.conn.execute(
                "INSERT INTO destinations (channel, destination, settings) VALUES (?, ?, ?) "
                "ON CONFLICT(channel, destination) DO UPDATE SET settings=excluded.settings",
                (channel, destination, json.dumps(settings, ensure_ascii=False)))
        return settings

    def move_destination(self, channel: str, old: str, new: str) -> None:
        """A chat changed id (Telegram group → supergroup): carry everything over."""
        with self.transaction() as conn:
            for table, key in (("subscriptions", "watchlist"), ("destinations", None), ("personal_terms", "term")):
                same = f" AND {key} IN (SELECT {key} FROM {table} WHERE channel=? AND destination=?)" if key else \
                    f" AND EXISTS (SELECT 1 FROM {table} WHERE channel=? AND destination=?)"
                conn.execute(f"DELETE FROM {table} WHERE channel=? AND destination=?{same}",
                             (channel, new, channel, old))
                conn.execute(f"UPDATE {table} SET destination=? WHERE channel=? AND destination=?", (new, channel, old))
            conn.execute("UPDATE outbox SET destination=? WHERE channel=? AND destination=? "
                         f"AND state IN ('{PENDING}', '{SENDING}') AND NOT EXISTS (SELECT 1 FROM outbox AS o "
                         "WHERE o.cluster=outbox.cluster AND o.watchlist=outbox.watchlist AND o.channel=outbox.channel "
                         "AND o.destination=? AND o.kind=outbox.kind)", (new, channel, old, new))

    def personal_terms(self, channel: str | None = None, destination: str | None = None) -> list[PersonalTerm]:
        """Every destination's own terms, or one destination's."""
        if channel is not None and destination is not None:
            return self._typed(PersonalTerm, "SELECT channel, destination, term FROM personal_terms "
                               "WHERE channel=? AND destination=? ORDER BY term", (channel, destination))
        return self._typed(PersonalTerm, "SELECT channel, destination, term FROM personal_terms "
                           "ORDER BY channel, destination, term")

    def add_personal_term(self, channel: str, destination: str, term: str) -> bool:
        cur = self._execute("INSERT OR IGNORE INTO personal_terms VALUES (?, ?, ?, ?)",
                            (channel, destination, term, time.time()))
        return cur.rowcount > 0

    def remove_personal_term(self, channel: str, destination: str, term: str) -> bool:
        cur = self._execute("DELETE FROM personal_terms WHERE channel=? AND destination=? AND term=?",
                            (channel, destination, term))
        return cur.rowcount > 0


def read_personal_terms(path: str | Path) -> list[PersonalTerm]:
    """The personal terms of a database file, opened read-only (for `raqib check`: a
    running daemon may hold it, and a check never writes). No file or no table: none.
    On PostgreSQL, a read-only session."""
    if is_postgres(path):
        database = Database(path, readonly=True)
        try:
            store = SubscriptionTables(database)
            return store.personal_terms() if store._columns("personal_terms") else []
        finally:
            database.close()
    path = Path(path)
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='personal_terms'").fetchone():
                return []
            return [PersonalTerm(*r) for r in conn.execute(
                "SELECT channel, destination, term FROM personal_terms ORDER BY channel, destination, term")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read database {path}: {exc}") from exc
