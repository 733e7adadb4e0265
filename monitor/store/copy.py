"""Moving an installation from one database to another (`raqib migrate-db`), typically a
single node's SQLite file to the PostgreSQL that several nodes will share.

Rules:
- Everything that is state moves: feeds with their fetch state, schedule and health;
  stories with their clusters and `cluster_watchlists`; subscriptions; destination
  settings; personal terms; the outbox with every row's state, attempts, next try and
  `held` mark (a row caught `sending` arrives without a lease, so the first node to start
  recovers it, as after a crash). `kv` (the ping probe) and leases do not.
- Ids are kept (a cluster id is its first story's id, and outbox rows point at stories),
  and the target's id counters are set past the source's high-water marks, so no id the
  source ever handed out is handed out again.
- A target that already holds any of these rows is refused, unless `replace` is given:
  then its rows are deleted first. The whole copy is one transaction on the target:
  it lands whole or not at all.
- Rows go in batches of `batch` (read with fetchmany, written with executemany), so
  memory stays flat whatever the size.
- The search index is not read (SQLite's keeps no copy of its words): it is written
  again on the target from each story as it is copied, as the daemon writes it.
- Columns are the ones both sides have: a source written by an older release (fewer
  columns) moves, the target's defaults filling the rest.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import StoreError
from .db import Database
from .desk import clear_index, index_story

if TYPE_CHECKING:
    from . import Store

TABLES = ("feeds", "stories", "cluster_watchlists", "outbox", "subscriptions", "destinations", "personal_terms",
          "feed_days", "feedback", "muted_events")
ORDER = {"feeds": "name", "stories": "id", "outbox": "id", "cluster_watchlists": "cluster, watchlist",
         "feed_days": "feed, day",
         "subscriptions": "channel, destination, watchlist", "destinations": "channel, destination",
         "personal_terms": "channel, destination, term", "feedback": "id",
         "muted_events": "channel, destination, event"}
NOT_COPIED = {"leased_until", "leased_by"}
FRESH_IDS = {"feedback"}  # tables whose ids the target hands out afresh (its own sequence)


def copy_database(source: Store, target: Store, *, replace: bool = False, batch: int = 1000,
                  progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every table of `source` into `target`; returns rows copied per table."""
    if source.postgres == target.postgres and source.where == target.where:
        raise StoreError("the source and the target are the same database")
    existing = {t: target._scalar(f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    if any(existing.values()) and not replace:
        held = ", ".join(f"{t}={n}" for t, n in existing.items() if n)
        raise StoreError(f"the target {target.where} is not empty ({held})",
                         hint="point --to at an empty database, or pass --replace to delete what it holds first")
    counts: dict[str, int] = {}
    source_tables = {t for t in TABLES if source._columns(t)}
    try:
        with target.transaction() as out:
            if replace:
                for table in reversed(TABLES):
                    out.execute(f"DELETE FROM {table}")
                clear_index(out)
            for table in TABLES:
                if table not in source_tables:  # a source of an earlier release
                    counts[table] = 0
                    continue
                wanted = set(target._columns(table)) - NOT_COPIED - ({"id"} if table in FRESH_IDS else set())
                columns = [c for c in source._columns(table) if c in wanted]
                if not columns:
                    counts[table] = 0
                    continue
                cols = ", ".join(columns)
                insert = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(columns))})"
                cur = source.conn.execute(f"SELECT {cols} FROM {table} ORDER BY {ORDER[table]}")
                n = 0
                while rows := cur.fetchmany(batch):
                    out.executemany(insert, [tuple(r) for r in rows])
                    if table == "stories":
                        at = {c: i for i, c in enumerate(columns)}
                        for r in rows:
                            index_story(out, r[at["id"]], r[at["title"]] or "", r[at["summary"]] or "",
                                        r[at["body"]] or "" if "body" in at else "")
                    n += len(rows)
                    if progress:
                        progress(table, n)
                counts[table] = n
            # SQLite's AUTOINCREMENT remembers ids of pruned stories too; a read-only
            # PostgreSQL session cannot take from its sequence, its rows say enough
            stories = target_max(source, "stories") if source.postgres else source.stories.next_id() - 1
            target.set_id_floors(stories=stories, outbox=target_max(source, "outbox"))
    except source.errors as exc:
        raise StoreError(f"copying into {target.where} failed: {exc}") from exc
    return counts


def target_max(db: Database, table: str) -> int:
    return int(db._scalar(f"SELECT MAX(id) FROM {table}") or 0)
