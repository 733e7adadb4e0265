"""What the web view reads: alerts as a desk sees them, a story's outlets, and counts over
time for the charts. Reads only; every statement here is served by an index or the
`feed_days` counts (migration `007_desk_view`) so a page stays fast with hundreds of thousands of stories.

Rules:
- An *alert* on the page is one (cluster, watchlist): the outbox keeps one row per
  destination and kind, and a story sent to three chats is still one alert. Kinds
  `story` and `spread` count; `update` and `health` rows do not. The newest row of a
  (cluster, watchlist) stands for it; its time is when it was queued (`created`).
- Its source is the feed of the story that raised it, as its payload names it (indexed:
  `outbox_source_created`).
- Watchlists whose name starts with `hidden_prefix` (the chats' own terms) are left out.
- Days filter on the story's own time (published, else first seen: what a card prints),
  `story_since`/`story_until`; `before` (created, id) pages to older alerts.
- Alerts per hour are buckets counted from `since`: bucket i holds [since + i·3600,
  since + (i+1)·3600); rows outside the range are not counted. Stories per day come from
  `feed_days` (UTC days), kept as stories are stored.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .part import Part
from .rows import AlertView, ClusterOutlet, StoryAlert, StoryRow, StorySource, row_of

ALERT_KINDS = ("story", "spread")
_KINDS = "('story', 'spread')"
_BATCH = 500
_MAX_SCAN = 20_000  # outbox rows looked at for one page of alerts, at most


class WebViews(Part):
    @property
    def _hour_bucket(self) -> str:
        """Whole hours since the first parameter (truncated: PostgreSQL's CAST would round)."""
        return "FLOOR((created - ?) / 3600)::BIGINT" if self.postgres else "CAST((created - ?) / 3600 AS INTEGER)"

    @property
    def _payload_source(self) -> str:
        """The alert's source in its JSON payload, as the index `outbox_source_created` has it."""
        return "(o.payload::json ->> 'source')" if self.postgres else "json_extract(o.payload, '$.source')"

    def latest_alerts(self, *, limit: int = 50, watchlist: str | None = None, source: str | None = None,
                      since: float | None = None, until: float | None = None,
                      hidden_prefix: str = "", story_since: float | None = None, story_until: float | None = None,
                      before: tuple[float, int] | None = None) -> list[AlertView]:
        """The newest alerts, one per (cluster, watchlist), newest first: id, watchlist,
        cluster, story_id, kind, payload (JSON text), created, feed."""
        where = [f"o.kind IN {_KINDS}"]
        params: list[Any] = []
        if hidden_prefix:
            where.append("substr(o.watchlist, 1, ?) != ?")
            params += [len(hidden_prefix), hidden_prefix]
        if watchlist is not None:
            where.append("o.watchlist = ?")
            params.append(watchlist)
        if source is not None:
            where.append(f"{self._payload_source} = ?")
            params.append(source)
        if since is not None:
            where.append("o.created >= ?")
            params.append(since)
        if until is not None:
            where.append("o.created < ?")
            params.append(until)
        # the story's own time (published, else first seen): the day a card prints
        story_time = "(SELECT COALESCE(s.published, s.fetched) FROM stories s WHERE s.id = o.story_id)"
        if story_since is not None:
            where.append(f"{story_time} >= ?")
            params.append(story_since)
        if story_until is not None:
            where.append(f"{story_time} < ?")
            params.append(story_until)
        if before is not None:  # a later page: an alert whose newest row was on an earlier page is not shown again
            where.append("NOT EXISTS (SELECT 1 FROM outbox n WHERE n.cluster = o.cluster AND n.watchlist = o.watchlist "
                         f"AND n.kind IN {_KINDS} AND (n.created > ? OR (n.created = ? AND n.id >= ?)))")
            params += [before[0], before[0], before[1]]
        sql = ("SELECT o.id, o.watchlist, o.cluster, o.story_id, o.kind, o.payload, o.created, "
               f"{self._payload_source} AS feed FROM outbox o WHERE " + " AND ".join(where))
        seen: set[tuple[int, str]] = set()
        out: list[AlertView] = []
        after: tuple[float, int] | None = before  # paging: rows older than the last one shown
        scanned = 0
        while len(out) < limit and scanned < _MAX_SCAN:
            page_sql, page_params = sql, list(params)
            if after is not None:
                page_sql += " AND (o.created < ? OR (o.created = ? AND o.id < ?))"
                page_params += [after[0], after[0], after[1]]
            rows = self._query(page_sql + " ORDER BY o.created DESC, o.id DESC LIMIT ?", (*page_params, _BATCH))
            for row in rows:
                key = (row["cluster"], row["watchlist"])
                if key not in seen:
                    seen.add(key)
                    out.append(row_of(AlertView, row))
                    if len(out) == limit:
                        break
            scanned += len(rows)
            if len(rows) < _BATCH:
                break
            after = (rows[-1]["created"], rows[-1]["id"])
        return out

    def cluster_outlets(self, clusters: Sequence[int]) -> dict[int, list[ClusterOutlet]]:
        """For each cluster, every feed that carried it, first first: feed, story_id,
        fetched (when that feed's first copy arrived)."""
        out: dict[int, list[ClusterOutlet]] = {c: [] for c in clusters}
        ids = list(dict.fromkeys(clusters))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for row in self._query(
                    "SELECT cluster, feed, MIN(id) AS story_id, MIN(fetched) AS fetched FROM stories "
                    f"WHERE cluster IN ({','.join('?' * len(chunk))}) GROUP BY cluster, feed "
                    "ORDER BY fetched, story_id", chunk):
                out[row["cluster"]].append(row_of(ClusterOutlet, row))
        return out

    def story(self, story_id: int) -> StoryRow | None:
        """One stored story: id, feed, guid, url, title, summary, published, fetched, cluster,
        event, and its article: body, body_state, body_reason."""
        rows = self._typed(StoryRow, "SELECT id, feed, guid, url, title, summary, published, fetched, cluster, "
                           "COALESCE(event, cluster) AS event, body, body_state, body_reason FROM stories "
                           "WHERE id = ?", (story_id,))
        return rows[0] if rows else None

    def related_coverage(self, event: int, cluster: int, limit: int = 50) -> list[StorySource]:
        """The event's other stories (other outlets' own words: clusters other than
        `cluster`), first first: id, feed, url, title, published, fetched."""
        return self._typed(StorySource, "SELECT id, feed, url, title, published, fetched FROM stories "
                           "WHERE event = ? AND cluster != ? ORDER BY id LIMIT ?", (event, cluster, limit))

    def story_alerts(self, cluster: int, hidden_prefix: str = "") -> list[StoryAlert]:
        """The watchlists that alerted on a cluster, with the payload of each one's newest row."""
        rows = self._typed(
            StoryAlert, f"SELECT watchlist, kind, payload, MAX(created) AS created FROM outbox WHERE cluster = ? "
            f"AND kind IN {_KINDS} GROUP BY watchlist ORDER BY created", (cluster,))
        return [r for r in rows if not (hidden_prefix and r.watchlist.startswith(hidden_prefix))]

    def alerts_per_hour(self, since: float, hours: int,
                        watchlists: Sequence[str] | None = None) -> dict[str, list[int]]:
        """Alerts (distinct clusters) per watchlist in each hour from `since`."""
        params: list[Any] = [since, since, since + hours * 3600.0]
        sql = (f"SELECT watchlist, {self._hour_bucket} AS bucket, COUNT(DISTINCT cluster) AS n "
               f"FROM outbox WHERE kind IN {_KINDS} AND created >= ? AND created < ?")
        if watchlists is not None:
            if not watchlists:
                return {}
            sql += f" AND watchlist IN ({','.join('?' * len(watchlists))})"
            params += list(watchlists)
        out: dict[str, list[int]] = {name: [0] * hours for name in watchlists or ()}
        for row in self._query(sql + " GROUP BY watchlist, bucket", params):
            counts = out.setdefault(row["watchlist"], [0] * hours)
            if 0 <= row["bucket"] < hours:
                counts[row["bucket"]] = row["n"]
        return out

    def stories_per_day(self, since: float, days: int) -> dict[str, list[int]]:
        """Stories stored per feed in each UTC day from the day of `since` (`feed_days`)."""
        first = int(since // 86400)
        out: dict[str, list[int]] = {}
        for row in self._query("SELECT feed, day, stories FROM feed_days WHERE day >= ? AND day < ?",
                               (first, first + days)):
            out.setdefault(row["feed"], [0] * days)[row["day"] - first] = row["stories"]
        return out
