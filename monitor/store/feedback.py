"""Tables `feedback` and `muted_events`: what people said back about alerts.

- `feedback`: one row per (channel, destination, watchlist, story, kind) — today the one
  kind `not_relevant` (Telegram's "ليس ذا صلة" button); pressing twice counts once.
  `counts` gives each watchlist's count, which the web view shows.
- `muted_events`: a destination that muted one event (Telegram's "🔕 كتم هذا الحدث") until
  a time; the deliverer leaves that event's later alerts to it unsent (`muted_events`).
Both come from migration `011_desk_first_day`.
"""
from __future__ import annotations

from collections.abc import Iterable

from .part import Part

NOT_RELEVANT = "not_relevant"


class FeedbackTables(Part):
    def add(self, channel: str, destination: str, watchlist: str, story_id: int, now: float,
                     kind: str = NOT_RELEVANT) -> bool:
        """Record it; False when this destination had said so already."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM feedback WHERE channel=? AND destination=? AND watchlist=? "
                            "AND story_id=? AND kind=?", (channel, destination, watchlist, story_id, kind)).fetchone():
                return False
            conn.execute("INSERT INTO feedback (channel, destination, watchlist, story_id, kind, created) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (channel, destination, watchlist, story_id, kind, now))
        return True

    def counts(self, kind: str = NOT_RELEVANT) -> dict[str, int]:
        """Watchlist → how many times its alerts got this feedback."""
        return {r["watchlist"]: int(r["n"]) for r in self._query(
            "SELECT watchlist, COUNT(*) AS n FROM feedback WHERE kind=? GROUP BY watchlist", (kind,))}

    def mute_event(self, channel: str, destination: str, event: int, until: float) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM muted_events WHERE channel=? AND destination=? AND event=?",
                         (channel, destination, event))
            conn.execute("INSERT INTO muted_events (channel, destination, event, until) VALUES (?, ?, ?, ?)",
                         (channel, destination, event, until))

    def muted_events(self, channel: str, destination: str, now: float, events: Iterable[int]) -> set[int]:
        """Which of `events` this destination muted, still in force at `now`."""
        wanted = list(dict.fromkeys(int(e) for e in events))
        out: set[int] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            out |= {int(r["event"]) for r in self._query(
                f"SELECT event FROM muted_events WHERE channel=? AND destination=? AND until > ? "
                f"AND event IN ({','.join('?' * len(chunk))})", (channel, destination, now, *chunk))}
        return out
