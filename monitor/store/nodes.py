"""Table `nodes`: the daemons sharing this database, as each last reported itself.

One row per node (its name: `node.name` or host:pid), written by the node itself every
`node.heartbeat` seconds and deleted when it stops cleanly: host, pid, start time,
`last_seen`, the roles it holds (comma-separated, sorted), the feeds it is polling and
the alerts it is sending right now (its leases), its poll count since start, and the
hash of its watchlists and settings (`config_hash`, see `raqib.roles`).

The table is for people (`raqib status`, /status, /metrics), never for deciding who does
what: roles are advisory locks (`locks`), work is leased row by row. A node that died
leaves its row; readers show it as gone once `last_seen` is older than three heartbeats.
"""
from __future__ import annotations

from collections.abc import Iterable

from .part import Part
from .rows import NodeRow


class NodeTable(Part):
    def seen(self, name: str, *, host: str, pid: int, started: float, now: float, roles: Iterable[str],
                  feeds_in_flight: int, alerts_in_flight: int, polls: int, config_hash: str = "") -> None:
        self._execute(
            "INSERT INTO nodes (name, host, pid, started, last_seen, roles, feeds_in_flight, alerts_in_flight, "
            "polls, config_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "host=excluded.host, pid=excluded.pid, started=excluded.started, last_seen=excluded.last_seen, "
            "roles=excluded.roles, feeds_in_flight=excluded.feeds_in_flight, "
            "alerts_in_flight=excluded.alerts_in_flight, polls=excluded.polls, config_hash=excluded.config_hash",
            (name, host, pid, started, now, ",".join(sorted(roles)), feeds_in_flight, alerts_in_flight, polls,
             config_hash))

    def gone(self, name: str) -> None:
        self._execute("DELETE FROM nodes WHERE name=?", (name,))

    def all(self) -> list[NodeRow]:
        """Every node row, by name (a read-only store opened before the first node ran: none)."""
        if not self._has_table("nodes"):
            return []
        if getattr(self, "_nodes_hashed", None) is None:  # the schema only grows: looked up once
            self._nodes_hashed = self._has_column("nodes", "config_hash")
        hashed = ", config_hash" if self._nodes_hashed else ""
        return self._typed(NodeRow, "SELECT name, host, pid, started, last_seen, roles, feeds_in_flight, "
                           f"alerts_in_flight, polls{hashed} FROM nodes ORDER BY name")

    def forget(self, before: float) -> int:
        """Drop rows of nodes not seen since `before` (housekeeping)."""
        return self._execute("DELETE FROM nodes WHERE last_seen < ?", (before,)).rowcount
