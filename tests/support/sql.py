"""Direct reads and writes of a test's database, for assertions and for setting up a
state no public path reaches. The project's own code goes through `Store` methods; the
tests go through the named helpers here, so they read as what they check and a column
renamed is one edit in this file (tests/test_suite_shape.py keeps SQL out of the tests).

`db` is a `Store`, or a DB-API connection of its own (sqlite3, or psycopg for a
PostgreSQL database): a test that opens a copy or a file a subprocess wrote. The SQL is
written as both backends read it (`?` placeholders; see monitor.store.postgres).

`where` filters: `column=value`; a tuple or list is "one of" (`state=("pending", "held")`);
`Not(value)` is "anything but" (`state=Not("sent")`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.store import Store


def rows(store: Store, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cur = store.conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def value(store: Store, sql: str, params: Sequence[Any] = ()) -> Any:
    row = store.conn.execute(sql, params).fetchone()
    return row[0] if row else None


def run(store: Store, sql: str, params: Sequence[Any] = ()) -> int:
    with store.transaction() as conn:
        return conn.execute(sql, params).rowcount


# -- the building blocks ---------------------------------------------------------------------

@dataclass(frozen=True)
class Not:
    """A `where` value: the column holds anything but this."""
    value: Any


def _conn(db: Any) -> Any:
    return db.conn if isinstance(db, Store) else db


def _sql(db: Any, text: str) -> str:
    """`?` placeholders, or `%s` for a psycopg connection of the test's own."""
    return text.replace("?", "%s") if type(_conn(db)).__module__.startswith("psycopg") else text


def _where(where: dict[str, Any]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for column, wanted in where.items():
        if isinstance(wanted, Not):
            parts.append(f"{column} != ?")
            params.append(wanted.value)
        elif isinstance(wanted, (tuple, list)):
            parts.append(f"{column} IN ({', '.join('?' * len(wanted))})")
            params += wanted
        elif wanted is None:
            parts.append(f"{column} IS NULL")
        else:
            parts.append(f"{column} = ?")
            params.append(wanted)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _select(db: Any, what: str, table: str, where: dict[str, Any], tail: str = "") -> Any:
    clause, params = _where(where)
    return _conn(db).execute(_sql(db, f"SELECT {what} FROM {table}{clause}{tail}"), params)


def _dicts(cur: Any) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _one(cur: Any) -> Any:
    row = cur.fetchone()
    return row[0] if row else None


def table_rows(db: Any, table: str, *columns: str, order: str = "id", **where: Any) -> list[dict]:
    """The rows of `table` (only `columns`, if given) that match `where`, in `order`."""
    return _dicts(_select(db, ", ".join(columns) or "*", table, where, f" ORDER BY {order}" if order else ""))


def count(db: Any, table: str, **where: Any) -> int:
    """How many rows of `table` match `where`."""
    return _one(_select(db, "COUNT(*)", table, where))


def _change(db: Any, text: str, params: Sequence[Any]) -> int:
    if isinstance(db, Store):
        with db.transaction() as conn:
            return conn.execute(text, params).rowcount
    done = db.execute(_sql(db, text), params).rowcount
    db.commit()
    return done


def update(db: Any, table: str, where: dict[str, Any], **values: Any) -> int:
    """Set `values` on the rows of `table` that match `where`; how many there were."""
    clause, params = _where(where)
    sets = ", ".join(f"{column} = ?" for column in values)
    return _change(db, f"UPDATE {table} SET {sets}{clause}", [*values.values(), *params])


def delete(db: Any, table: str, **where: Any) -> int:
    clause, params = _where(where)
    return _change(db, f"DELETE FROM {table}{clause}", params)


# -- the outbox: one row per alert to send --------------------------------------------------

def outbox_rows(db: Any, *columns: str, **where: Any) -> list[dict]:
    """The alerts (only `columns`, if given) that match `where`, oldest first."""
    return table_rows(db, "outbox", *columns, **where)


def outbox_value(db: Any, column: str, **where: Any) -> Any:
    """`column` of the first alert that matches `where` (None when none does)."""
    return _one(_select(db, column, "outbox", where, " ORDER BY id"))


def outbox_count(db: Any, **where: Any) -> int:
    return count(db, "outbox", **where)


def outbox_states(db: Any) -> dict[str, int]:
    """How many alerts are in each state: {"sent": 3, "pending": 1}."""
    return dict(_select(db, "state, COUNT(*)", "outbox", {}, " GROUP BY state").fetchall())


def earliest_next_try(db: Any) -> Any:
    return _one(_select(db, "MIN(next_try)", "outbox", {}))


def set_outbox(db: Any, where: dict[str, Any], **values: Any) -> int:
    """Change alerts as no public path does (`set_outbox(store, {"kind": "update"}, state="pending")`)."""
    return update(db, "outbox", where, **values)


def orphan_alerts(db: Any) -> int:
    """Alerts whose story is gone."""
    return _one(_conn(db).execute("SELECT COUNT(*) FROM outbox WHERE story_id NOT IN (SELECT id FROM stories)"))


# -- stories and feeds ------------------------------------------------------------------------

def story_rows(db: Any, *columns: str, **where: Any) -> list[dict]:
    """The stories (only `columns`, if given) that match `where`, oldest first."""
    return table_rows(db, "stories", *columns, **where)


def story_value(db: Any, column: str, **where: Any) -> Any:
    """`column` of the first story that matches `where` (None when none does)."""
    return _one(_select(db, column, "stories", where, " ORDER BY id"))


def story_count(db: Any, **where: Any) -> int:
    return count(db, "stories", **where)


def cluster_count(db: Any) -> int:
    """How many clusters (copies of one story) the stored stories make."""
    return _one(_select(db, "COUNT(DISTINCT cluster)", "stories", {}))


def event_count(db: Any) -> int:
    """How many events (one happening, told in different words) the stored stories make."""
    return _one(_select(db, "COUNT(DISTINCT event)", "stories", {}))


def set_stories(db: Any, where: dict[str, Any], **values: Any) -> int:
    return update(db, "stories", where, **values)


def delete_stories(db: Any, **where: Any) -> int:
    return delete(db, "stories", **where)


def search_hits(db: Any, words: str) -> int:
    """How many stories the full-text index finds for `words` (SQLite's FTS syntax)."""
    return _one(_conn(db).execute("SELECT COUNT(*) FROM story_search WHERE story_search MATCH ?", (words,)))


def feed_rows(db: Any, *columns: str, **where: Any) -> list[dict]:
    return table_rows(db, "feeds", *columns, order="name", **where)


def add_feed_without_url(conn: Any, name: str) -> None:
    """A feed row missing its URL, which the schema refuses (NOT NULL): a write that fails."""
    conn.execute("INSERT INTO feeds (name) VALUES (?)", (name,))


def node_rows(db: Any, *columns: str, schema: str = "", **where: Any) -> list[dict]:
    """The nodes' heartbeat rows, by name (`schema`: another schema's table, on PostgreSQL)."""
    return table_rows(db, f'"{schema}".nodes' if schema else "nodes", *columns, order="name", **where)


# -- the schema and the file -------------------------------------------------------------------

def migrations(db: Any) -> list[str]:
    """The names of the migrations applied, in order."""
    return [r["name"] for r in table_rows(db, "migrations", "name", order="name")]


def columns(db: Any, table: str) -> set[str]:
    """The columns of `table` (SQLite)."""
    return {r[1] for r in _conn(db).execute(f"PRAGMA table_info({table})").fetchall()}


def index_names(db: Any) -> set[str]:
    """The indexes of an SQLite database."""
    return {r[0] for r in _conn(db).execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()}


def integrity(db: Any) -> str:
    """SQLite's integrity check: "ok", or what is wrong."""
    return _one(_conn(db).execute("PRAGMA integrity_check"))


def page_size(db: Any) -> int:
    return _one(_conn(db).execute("PRAGMA page_size"))


def page_count(db: Any) -> int:
    return _one(_conn(db).execute("PRAGMA page_count"))


def cap_pages(db: Any, pages: int = 1073741823) -> None:
    """Let the SQLite file grow to `pages` pages and no further (the default: SQLite's own limit),
    so a write past it fails as on a full disk."""
    _conn(db).execute(f"PRAGMA max_page_count = {int(pages)}")


def root_page(db: Any, table: str) -> int:
    """The page number of `table`'s b-tree root in an SQLite file."""
    return _one(_conn(db).execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)))


# -- the PostgreSQL session -------------------------------------------------------------------

def backend_pid(store: Store) -> int:
    """The server process of the store's connection (PostgreSQL)."""
    return _one(store.conn.execute("SELECT pg_backend_pid()"))


def terminate_backend(store: Store, pid: int) -> None:
    """End another session from the server's side, as an administrator or a failover would."""
    store.conn.execute("SELECT pg_terminate_backend(?)", (pid,)).fetchone()
