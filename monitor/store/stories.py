"""Tables `stories` and `cluster_watchlists`: every story seen, and its cluster.

- `stories`: every story seen, with its cluster (the id of the cluster's first story) and
  its event (the id of the event's first story; copies share their cluster's event).
  `(feed, guid)` is unique: the same item polled twice is one row. Story ids are never
  reused, so a cluster id never names two stories: on SQLite they come from
  AUTOINCREMENT, whose high-water mark survives pruning; on PostgreSQL from the sequence
  `story_ids`, which also keeps nodes sharing the database from handing out one id twice.
- `cluster_watchlists`: which watchlists a cluster's members matched (for spread alerts,
  which count the outlets of the whole event: `event_watchlists`, `event_feeds`).
- `feed_days`: stories stored per feed and UTC day (day = fetched // 86400), counted in
  the transaction that stores each story, so the web view's sparklines read a few rows
  instead of counting stories; days older than the stories' retention are pruned.
- A story is put in the search index (`story_search`, see `desk`) as it is stored.

Clusters are pruned whole (see `Store.prune`): a cluster goes when its newest member is old.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .db import Tx
from .desk import index_story
from .part import Part
from .rows import EventLead, StoryRef, StorySource


class StoryTable(Part):
    def known_guids(self, feed: str, guids: Sequence[str]) -> set[str]:
        """Which of these GUIDs this feed has already delivered to us."""
        known: set[str] = set()
        try:
            for i in range(0, len(guids), 500):
                chunk = list(guids[i:i + 500])
                marks = ",".join("?" * len(chunk))
                with self.lock:
                    known.update(r[0] for r in self.conn.execute(
                        f"SELECT guid FROM stories WHERE feed=? AND guid IN ({marks})", (feed, *chunk)))
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc
        return known

    def next_id(self) -> int:
        """An id no story ever had: AUTOINCREMENT's high-water mark survives pruning, so a
        cluster id (the first story's id) is never reused for a different story. On
        PostgreSQL the id is taken from the sequence (taken for good: no other node gets it)."""
        if self.postgres:
            return int(self._scalar("SELECT nextval('story_ids')"))
        seq = self._scalar("SELECT seq FROM sqlite_sequence WHERE name='stories'") or 0
        return max(seq, self._scalar("SELECT MAX(id) FROM stories") or 0) + 1

    def last_id(self) -> int:
        """The newest story id stored (0 when none): a watermark for catching up with what
        other nodes store next. It takes no id (a sequence would hand one out)."""
        return int(self._scalar("SELECT MAX(id) FROM stories") or 0)

    def next_ids(self, n: int) -> list[int]:
        """`n` ids no story ever had, increasing (one round trip on PostgreSQL; they need
        not be consecutive there: other nodes take from the same sequence)."""
        if n <= 0:
            return []
        if self.postgres:
            with self.lock:
                return sorted(int(r[0]) for r in self.conn.execute(
                    "SELECT nextval('story_ids') FROM generate_series(1, ?)", (n,)))
        first = self.next_id()
        return list(range(first, first + n))

    def insert(self, conn: Tx, row: dict[str, Any]) -> int:
        """Store one story inside the caller's transaction; returns its id (the row's own,
        from `next_id`, or else the engine's next)."""
        cols = ", ".join(row)
        marks = ", ".join("?" * len(row))
        sql = f"INSERT INTO stories ({cols}) VALUES ({marks})"
        if "id" in row:
            conn.execute(sql, tuple(row.values()))
            story_id = int(row["id"])
        elif self.postgres:
            story_id = int(conn.execute(sql + " RETURNING id", tuple(row.values())).fetchone()[0])
        else:
            story_id = int(conn.execute(sql, tuple(row.values())).lastrowid)
        conn.execute("INSERT INTO feed_days (feed, day, stories) VALUES (?, ?, 1) "
                     "ON CONFLICT (feed, day) DO UPDATE SET stories = feed_days.stories + 1",
                     (row["feed"], int(row["fetched"] // 86400)))
        index_story(conn, story_id, row.get("title") or "", row.get("summary") or "", row.get("body") or "")
        return story_id

    def cluster_sources(self, cluster: int) -> list[StorySource]:
        """Members of a cluster, first first: feed, url, title, fetched."""
        return self._typed(StorySource, "SELECT id, feed, url, title, published, fetched FROM stories "
                           "WHERE cluster=? ORDER BY id", (cluster,))

    def since(self, since: float) -> Iterator[StoryRef]:
        try:
            for row in self._rows("SELECT id, cluster, COALESCE(event, cluster) AS event, title, summary, url, "
                                  "canonical_url, feed, published, fetched FROM stories WHERE fetched >= ? "
                                  "ORDER BY id", (since,)):
                yield StoryRef(**row)
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc

    def first_since(self, since: float) -> int | None:
        """The id of the oldest story fetched since `since` (None when none was): where a
        paged read of the window (`after`) starts."""
        first = self._scalar("SELECT MIN(id) FROM stories WHERE fetched >= ?", (since,))
        return None if first is None else int(first)

    def after(self, last_id: int, limit: int = 10_000) -> list[StoryRef]:
        """Stories stored after `last_id` (by any node), oldest first: what another node's
        dedup index has not seen yet. Read under the ingest lock (`take_ingest_lock`)."""
        return list(map(StoryRef._make, self._tuples(  # the columns in StoryRef's order
            "SELECT id, cluster, COALESCE(event, cluster) AS event, title, summary, url, "
            "canonical_url, feed, published, fetched FROM stories WHERE id > ? ORDER BY id LIMIT ?", (last_id, limit))))

    def add_cluster_watchlists(self, conn: Tx, cluster: int, watchlists: Iterable[str]) -> None:
        """Note which watchlists a member of this cluster matched (for spread alerts)."""
        conn.executemany("INSERT OR IGNORE INTO cluster_watchlists VALUES (?, ?)",
                         [(cluster, name) for name in watchlists])

    def cluster_feeds(self, conn: Tx, cluster: int) -> list[str]:
        """The feeds of a cluster's members, first first, one per member (repeats kept)."""
        return [r[0] for r in conn.execute("SELECT feed FROM stories WHERE cluster=? ORDER BY id", (cluster,))]

    def event_watchlists(self, conn: Tx, event: int) -> set[str]:
        """The watchlists any story of this event matched."""
        return {r[0] for r in conn.execute(
            "SELECT DISTINCT watchlist FROM cluster_watchlists WHERE cluster IN "
            "(SELECT DISTINCT cluster FROM stories WHERE event=?)", (event,))}

    def event_feeds(self, conn: Tx, event: int, since: float | None = None) -> list[str]:
        """The feeds of an event's stories, first first, one per story (repeats kept); with
        `since`, only stories fetched since then."""
        if since is None:
            rows = conn.execute("SELECT feed FROM stories WHERE event=? ORDER BY id", (event,))
        else:
            rows = conn.execute("SELECT feed FROM stories WHERE event=? AND fetched >= ? ORDER BY id",
                                (event, since))
        return [r[0] for r in rows]

    def event_lead(self, conn: Tx, event: int) -> EventLead | None:
        """An event's first story still stored: id, cluster, feed, title, summary, url,
        published, fetched, body."""
        row = conn.execute("SELECT id, cluster, feed, title, summary, url, published, fetched, body FROM stories "
                           "WHERE event=? ORDER BY id LIMIT 1", (event,)).fetchone()
        if row is None:
            return None
        return EventLead(*row)

    def counts(self) -> dict[str, int]:
        """Stories, clusters, clusters told by more than one feed, feeds polled (`raqib demo`)."""
        return {
            "stories": self._scalar("SELECT COUNT(*) FROM stories"),
            "clusters": self._scalar("SELECT COUNT(DISTINCT cluster) FROM stories"),
            "multi_outlet": self._scalar("SELECT COUNT(*) FROM (SELECT cluster FROM stories GROUP BY cluster "
                                         "HAVING COUNT(DISTINCT feed) > 1) AS multi"),
            "feeds_polled": self._scalar("SELECT COUNT(*) FROM feeds WHERE last_success IS NOT NULL"),
        }
