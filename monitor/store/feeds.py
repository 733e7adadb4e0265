"""Table `feeds`: one row per feed, its fetch state, its schedule and its health.

A row holds the fetch state (etag, last_modified, body_hash, url), the schedule
(next_poll), the outlet's name (`config_title` from the config's `title:`, else `title`,
the feed's own <title>, as `titles` gives them) and the health (failures,
last_success, last_error, items_seen, avg_interval, healthy; bad_items and
bad_item_error: items its last parse could not read). `source`
says where the feed came from: `config` rows follow the config file (a feed removed from
it is disabled, never deleted, so its history stays); OPML imports and bot admins add
`runtime` rows, which the config leaves alone.

Leases (`leased_until`, `leased_by`): `claim_due` hands out due feeds. On
PostgreSQL, where several nodes share the table, it picks them `FOR UPDATE SKIP LOCKED`
and leases them to this node (`Database.node`) for `lease` seconds: a feed leased to
another node is not due here until that lease expires (the node died) or is released
(`release`, or any `update` that sets them back to NULL); `renew_leases`
extends the leases of feeds still being polled. On SQLite, one
daemon per file, no lease is needed or taken: due is due.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..settings import PollSettings
from ..urls import canonical_url
from .db import Database, Tx
from .part import Part
from .rows import FeedRow, FeedUpdate, row_of


class FeedTable(Part):
    def sync(self, feeds: Iterable[Any]) -> None:
        """Make the feeds table agree with the config: add new, update, disable removed.
        Nodes starting together sync one at a time (PostgreSQL: a transaction advisory lock),
        so two never insert the same feed."""
        with self.transaction() as conn:
            if self.postgres:
                conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':raqib:sync', 0))")
            # one read of the table, then writes only where something changed: a node
            # starting with 20,000 unchanged feeds writes nothing
            existing = {r[0]: r[1:] for r in conn.execute(
                "SELECT name, configured_url, interval, enabled, disabled_reason, source, fulltext, config_title "
                "FROM feeds").fetchall()}
            configured = set()
            new: list[tuple[Any, ...]] = []
            for f in feeds:
                configured.add(f.name)
                row = existing.get(f.name)
                fulltext = getattr(f, "fulltext", None)  # None: the `fulltext.mode` default
                title = getattr(f, "title", None)
                if row is None:
                    new.append((f.name, f.url, f.url, f.interval, int(f.enabled), fulltext, title))
                    continue
                if row[5] != fulltext:
                    conn.execute("UPDATE feeds SET fulltext=? WHERE name=?", (fulltext, f.name))
                if row[6] != title:
                    conn.execute("UPDATE feeds SET config_title=? WHERE name=?", (title, f.name))
                if row[0] != f.url:
                    # the user changed the URL: start afresh with it (its backlog is a new feed's)
                    conn.execute(
                        "UPDATE feeds SET url=?, configured_url=?, interval=?, enabled=?, etag=NULL, "
                        "last_modified=NULL, body_hash=NULL, next_poll=0, failures=0, last_success=NULL, "
                        "disabled_reason=NULL WHERE name=?",
                        (f.url, f.url, f.interval, int(f.enabled), f.name))
                elif row[1] != f.interval or (row[3] is None and row[2] != int(f.enabled)):
                    conn.execute("UPDATE feeds SET interval=?, enabled=CASE WHEN disabled_reason "
                                 "IS NULL THEN ? ELSE enabled END WHERE name=?",
                                 (f.interval, int(f.enabled), f.name))
            if new:
                conn.executemany("INSERT INTO feeds (name, url, configured_url, interval, enabled, fulltext, "
                                 "config_title, next_poll) VALUES (?, ?, ?, ?, ?, ?, ?, 0)", new)
            for name, row in existing.items():
                if row[4] == "config" and name not in configured and not (
                        row[2] == 0 and row[3] == "removed from config"):
                    conn.execute("UPDATE feeds SET enabled=0, disabled_reason='removed from config' "
                                 "WHERE name=?", (name,))

    def add(self, name: str, url: str, *, source: str = "runtime", interval: float | None = None) -> bool:
        """Add a feed outside the config (OPML import, bot admins); False if the name exists."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM feeds WHERE name=?", (name,)).fetchone():
                return False
            conn.execute("INSERT INTO feeds (name, url, configured_url, interval, source) VALUES (?, ?, ?, ?, ?)",
                         (name, url, url, interval, source))
        return True

    def add_many(self, feeds: Iterable[tuple[str, str]], *, source: str = "runtime") -> list[str]:
        """Add feeds outside the config all at once (one transaction); returns the names
        added. A feed whose name is taken, or whose URL is already there in its canonical
        form (`urls`), is left out."""
        added: list[str] = []
        with self.transaction() as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM feeds")}
            urls = set(self._feed_urls(conn))
            for name, url in feeds:
                canon = canonical_url(url)
                if name in names or canon in urls:
                    continue
                conn.execute("INSERT INTO feeds (name, url, configured_url, source) VALUES (?, ?, ?, ?)",
                             (name, url, url, source))
                names.add(name)
                urls.add(canon)
                added.append(name)
        return added

    def urls(self) -> dict[str, str]:
        """Every feed's URLs (the current one and the configured one) in canonical form
        (`monitor.urls.canonical_url`: http and https, www., tracking parameters are one)
        → the feed's name: how an import knows a feed it already has."""
        return self._feed_urls(self.conn)

    @staticmethod
    def _feed_urls(conn: Tx) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, url, configured in conn.execute("SELECT name, url, configured_url FROM feeds ORDER BY name"):
            for u in (configured, url):
                if u:
                    out.setdefault(canonical_url(u), name)
        return out

    def set_enabled(self, name: str, enabled: bool, *, reason: str | None = None) -> bool:
        """Enable (due at once) or disable a feed; False when there is no such feed. The
        daemon's poller reads the table at every round, so it follows without a restart."""
        with self.transaction() as conn:
            if enabled:
                n = conn.execute("UPDATE feeds SET enabled=1, disabled_reason=NULL, next_poll=0, failures=0 "
                                 "WHERE name=?", (name,)).rowcount
            else:
                n = conn.execute("UPDATE feeds SET enabled=0, disabled_reason=? WHERE name=?",
                                 (reason, name)).rowcount
        return n > 0

    def remove(self, name: str) -> bool:
        """Forget a feed (its stories stay until retention prunes them); False when there is none."""
        with self.transaction() as conn:
            return conn.execute("DELETE FROM feeds WHERE name=?", (name,)).rowcount > 0

    def as_configured(self, feeds: Iterable[Any]) -> list[FeedRow]:
        """The feed table as it will be once synced with these config feeds, without
        writing to this database (it may be open read-only): synced in a scratch copy."""
        database = Database(memory=True)
        scratch = FeedTable(database)
        try:
            columns = set(scratch._columns("feeds"))
            with scratch.transaction() as conn:
                for every in self._query("SELECT * FROM feeds ORDER BY name"):
                    row = {k: v for k, v in every.items() if k in columns}
                    conn.execute(f"INSERT INTO feeds ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                 tuple(row.values()))
            scratch.sync(feeds)
            return scratch.all()
        finally:
            database.close()

    def get(self, name: str) -> FeedRow | None:
        rows = self._typed(FeedRow, "SELECT * FROM feeds WHERE name = ?", (name,))
        return rows[0] if rows else None

    def all(self) -> list[FeedRow]:
        return self._typed(FeedRow, "SELECT * FROM feeds ORDER BY name")

    def titles(self) -> dict[str, str]:
        """Each feed's outlet name as people read it: the config's `title:`, else the
        feed's own <title>; feeds with neither are left out (their name stands)."""
        return {r["name"]: r["shown"] for r in self._query(
            "SELECT name, COALESCE(NULLIF(config_title, ''), NULLIF(title, '')) AS shown FROM feeds")
            if r["shown"]}

    def due(self, now: float, limit: int = 1000) -> list[FeedRow]:
        return self._typed(FeedRow, "SELECT * FROM feeds WHERE enabled=1 AND next_poll <= ? "
                           "ORDER BY next_poll LIMIT ?", (now, limit))

    def claim_due(self, now: float, limit: int = 1000, *, lease: float = PollSettings.lease,
                  busy: Iterable[str] = ()) -> list[FeedRow]:
        """Due feeds this node may poll now, soonest due first (see Leases above); `busy`
        are feeds this node is polling already, left out (they are due until their poll ends)."""
        if not self.postgres:
            return self.due(now, limit)
        with self.transaction() as conn:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM feeds WHERE enabled=1 AND next_poll <= ? AND (leased_until IS NULL "
                "OR leased_until <= ? OR leased_by = ?) AND NOT (name = ANY(?)) ORDER BY next_poll LIMIT ? "
                "FOR UPDATE SKIP LOCKED", (now, now, self.node, list(busy), limit))]
            if not names:
                return []
            conn.execute("UPDATE feeds SET leased_until=?, leased_by=? WHERE name = ANY(?)",
                         (now + lease, self.node, names))
            return [row_of(FeedRow, r) for r in self._rows("SELECT * FROM feeds WHERE name = ANY(?) "
                                                           "ORDER BY next_poll", (names,))]

    def release(self, names: Iterable[str] | None = None) -> int:
        """Give back this node's leases on these feeds, or on all it holds (at stop)."""
        if not self.postgres:
            return 0
        if names is None:
            return self._execute("UPDATE feeds SET leased_until=NULL, leased_by=NULL WHERE leased_by=?",
                                 (self.node,)).rowcount
        return self._execute("UPDATE feeds SET leased_until=NULL, leased_by=NULL WHERE name = ANY(?) "
                             "AND leased_by=?", (list(names), self.node)).rowcount

    def renew_leases(self, names: Iterable[str], until: float) -> int:
        """Extend this node's leases on feeds it is still polling (a poll waiting for a free
        connection, a slow server): a live node's feed is never taken over, only a dead one's."""
        names = list(names)
        if not names or not self.postgres:
            return 0
        return self._execute("UPDATE feeds SET leased_until=? WHERE name = ANY(?) AND leased_by=?",
                             (until, names, self.node)).rowcount

    def enabled(self) -> list[FeedRow]:
        return self._typed(FeedRow, "SELECT * FROM feeds WHERE enabled=1")

    def quiet_candidates(self) -> list[FeedRow]:
        """Enabled, healthy feeds with a known publishing rhythm: the ones that can fall silent."""
        return self._typed(FeedRow, "SELECT * FROM feeds WHERE enabled=1 AND healthy=1 "
                           "AND last_new_item IS NOT NULL AND avg_interval IS NOT NULL")

    def next_due(self, now: float | None = None) -> float | None:
        """When the next feed falls due; with `now`, a feed another node leased falls due
        when its lease ends, so a node does not wake for feeds it cannot take."""
        if now is None:
            return self._scalar("SELECT MIN(next_poll) FROM feeds WHERE enabled=1")
        return self._scalar("SELECT MIN(CASE WHEN leased_until IS NOT NULL AND leased_until > ? AND leased_by != ? "
                            "THEN leased_until ELSE next_poll END) FROM feeds WHERE enabled=1", (now, self.node))

    def update(self, name: str, update: FeedUpdate) -> None:
        """Write the fields `update` gives (a poll's outcome, a health change)."""
        values = update.columns()
        if not values:
            return
        cols = ", ".join(f"{k}=?" for k in values)
        self._execute(f"UPDATE feeds SET {cols} WHERE name=?", (*values.values(), name))
