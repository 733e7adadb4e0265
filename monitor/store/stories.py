"""Tables `stories` and `cluster_watchlists`: every story seen, and its cluster.

- `stories`: every story seen, with its cluster (the id of the cluster's first story) and
  its event (the id of the event's first story; copies share their cluster's event).
  `(feed, guid)` is unique: the same item polled twice is one row. Story ids come from
  AUTOINCREMENT, whose high-water mark survives pruning, so a cluster id is never reused.
- `cluster_watchlists`: which watchlists a cluster's members matched (for spread alerts,
  which count the outlets of the whole event: `event_watchlists`, `event_feeds`).
- `feed_days`: stories stored per feed and UTC day (day = fetched // 86400), counted in
  the transaction that stores each story, so the web view's sparklines read a few rows
  instead of counting stories; days older than the stories' retention are pruned.
- A story is put in the search index (`story_search`, see `desk`) as it is stored.

Clusters are pruned whole (see `Store.prune`): a cluster goes when its newest member is old.
"""
from __future__ import annotations

import sqlite3
from typing import Iterable, Iterator, Sequence

from .db import Database
from .desk import index_story


class StoryTable(Database):
    def known_guids(self, feed: str, guids: Sequence[str]) -> set[str]:
        """Which of these GUIDs this feed has already delivered to us."""
        known: set[str] = set()
        try:
            for i in range(0, len(guids), 500):
                chunk = list(guids[i:i + 500])
                marks = ",".join("?" * len(chunk))
                known.update(r[0] for r in self.conn.execute(
                    f"SELECT guid FROM stories WHERE feed=? AND guid IN ({marks})", (feed, *chunk)))
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc
        return known

    def next_story_id(self) -> int:
        """An id no story ever had: AUTOINCREMENT's high-water mark survives pruning, so a
        cluster id (the first story's id) is never reused for a different story."""
        seq = self._scalar("SELECT seq FROM sqlite_sequence WHERE name='stories'") or 0
        return max(seq, self._scalar("SELECT MAX(id) FROM stories") or 0) + 1

    def insert_story(self, conn: sqlite3.Connection, row: dict) -> int:
        cols = ", ".join(row)
        marks = ", ".join("?" * len(row))
        cur = conn.execute(f"INSERT INTO stories ({cols}) VALUES ({marks})", tuple(row.values()))
        conn.execute("INSERT INTO feed_days (feed, day, stories) VALUES (?, ?, 1) "
                     "ON CONFLICT (feed, day) DO UPDATE SET stories = stories + 1",
                     (row["feed"], int(row["fetched"] // 86400)))
        story_id = int(cur.lastrowid or row["id"])  # lastrowid is the row inserted; the id as a fallback for the type
        index_story(conn, story_id, row.get("title") or "", row.get("summary") or "")
        return story_id

    def cluster_sources(self, cluster: int) -> list[dict]:
        """Members of a cluster, first first: feed, url, title, fetched."""
        return self._query("SELECT id, feed, url, title, published, fetched FROM stories "
                           "WHERE cluster=? ORDER BY id", (cluster,))

    def stories_since(self, since: float) -> Iterator[dict]:
        try:
            yield from self.db.query("SELECT id, cluster, COALESCE(event, cluster) AS event, title, summary, url, "
                                     "feed, published, fetched FROM stories WHERE fetched >= ? ORDER BY id",
                                     (since,))
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc

    def add_cluster_watchlists(self, conn: sqlite3.Connection, cluster: int, watchlists: Iterable[str]) -> None:
        """Note which watchlists a member of this cluster matched (for spread alerts)."""
        conn.executemany("INSERT OR IGNORE INTO cluster_watchlists VALUES (?, ?)",
                         [(cluster, name) for name in watchlists])

    def cluster_watchlists(self, conn: sqlite3.Connection, cluster: int) -> set[str]:
        return {r[0] for r in conn.execute("SELECT watchlist FROM cluster_watchlists WHERE cluster=?",
                                           (cluster,))}

    def cluster_feeds(self, conn: sqlite3.Connection, cluster: int, since: float | None = None) -> list[str]:
        """The feeds of a cluster's members, first first, one per member (repeats kept);
        with `since`, only members fetched since then."""
        if since is None:
            rows = conn.execute("SELECT feed FROM stories WHERE cluster=? ORDER BY id", (cluster,))
        else:
            rows = conn.execute("SELECT feed FROM stories WHERE cluster=? AND fetched >= ? ORDER BY id",
                                (cluster, since))
        return [r[0] for r in rows]

    def cluster_lead(self, conn: sqlite3.Connection, cluster: int) -> dict | None:
        """A cluster's first story: id, feed, title, summary, url, published."""
        row = conn.execute("SELECT id, feed, title, summary, url, published FROM stories "
                           "WHERE cluster=? ORDER BY id LIMIT 1", (cluster,)).fetchone()
        if row is None:
            return None
        return dict(zip(("id", "feed", "title", "summary", "url", "published"), row, strict=True))

    def event_watchlists(self, conn: sqlite3.Connection, event: int) -> set[str]:
        """The watchlists any story of this event matched."""
        return {r[0] for r in conn.execute(
            "SELECT DISTINCT watchlist FROM cluster_watchlists WHERE cluster IN "
            "(SELECT DISTINCT cluster FROM stories WHERE event=?)", (event,))}

    def event_feeds(self, conn: sqlite3.Connection, event: int, since: float | None = None) -> list[str]:
        """The feeds of an event's stories, first first, one per story (repeats kept); with
        `since`, only stories fetched since then."""
        if since is None:
            rows = conn.execute("SELECT feed FROM stories WHERE event=? ORDER BY id", (event,))
        else:
            rows = conn.execute("SELECT feed FROM stories WHERE event=? AND fetched >= ? ORDER BY id",
                                (event, since))
        return [r[0] for r in rows]

    def event_lead(self, conn: sqlite3.Connection, event: int) -> dict | None:
        """An event's first story still stored: id, cluster, feed, title, summary, url, published."""
        row = conn.execute("SELECT id, cluster, feed, title, summary, url, published FROM stories "
                           "WHERE event=? ORDER BY id LIMIT 1", (event,)).fetchone()
        if row is None:
            return None
        return dict(zip(("id", "cluster", "feed", "title", "summary", "url", "published"), row, strict=True))

    def story_counts(self) -> dict[str, int]:
        """Stories, clusters, clusters told by more than one feed, feeds polled (`raqib demo`)."""
        return {
            "stories": self._scalar("SELECT COUNT(*) FROM stories"),
            "clusters": self._scalar("SELECT COUNT(DISTINCT cluster) FROM stories"),
            "multi_outlet": self._scalar("SELECT COUNT(*) FROM (SELECT cluster FROM stories GROUP BY cluster "
                                         "HAVING COUNT(DISTINCT feed) > 1)"),
            "feeds_polled": self._scalar("SELECT COUNT(*) FROM feeds WHERE last_success IS NOT NULL"),
        }
