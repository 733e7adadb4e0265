"""Which event each cluster belongs to, for the copies that may still come (the event
level's `copy_hours`, `monitor.dedup.events`).

A cluster is named by its first story, so clusters mostly come in increasing order:
those are kept in a window of their own (`monitor.dedup.window`: cluster ids and times,
as 64-bit integers and floats) with their events beside them, and found by bisection,
with no Python object per cluster. A cluster that comes out of order (a copy of one
older than the window, one another node stored late) or whose id is no whole number
(the `raqib dedup` command takes any text) is kept aside in a dict, with its time.
Both are pruned by time.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from datetime import datetime
from typing import Any

from .window import IdColumn, Window, append_id, restore_columns, timestamp


class CopyEvents:
    """cluster -> event over a sliding window of `hours` (see module docstring)."""

    _STATE = ("events", "late")

    def __init__(self, hours: float, undated: float) -> None:
        self.window = Window(hours, undated)
        self.events: IdColumn = array("q")
        self.late: dict[int | str, tuple[int | str, float]] = {}

    def __len__(self) -> int:
        return len(self.window) + len(self.late)

    def event_of(self, cluster: int | str) -> int | str | None:
        """The event remembered for the cluster (None: not remembered)."""
        late = self.late.get(cluster)
        if late is not None:
            return late[0]
        ids = self.window.ids
        if type(cluster) is int and isinstance(ids, array) and ids:
            i = bisect_left(ids, cluster)
            if i < len(ids) and ids[i] == cluster:
                return self.events[i]
        return None

    def remember(self, cluster: int | str, event: int | str, ts: float) -> None:
        """Remember the cluster's event (a cluster remembered already keeps its own)."""
        if self.event_of(cluster) is not None:
            return
        ids = self.window.ids
        if (type(cluster) is int and -2**63 <= cluster < 2**63 and isinstance(ids, array)
                and (not ids or cluster > ids[-1])):
            self.window.append(cluster, ts)
            self.events = append_id(self.events, event)
        else:
            self.late[cluster] = (event, ts)

    def prune(self, now: datetime) -> None:
        """Forget the clusters older than the window before `now`."""
        k = self.window.expired(now)
        if k:
            del self.events[:k]
            self.window.cut(k)
        limit, undated = timestamp(now) - self.window.span, self.window.undated
        for cluster in [c for c, (_e, t) in self.late.items() if t != undated and t < limit]:
            del self.late[cluster]

    # -- snapshots

    def state(self, prefix: str) -> dict[str, Any]:
        return {prefix + name: getattr(self, name) for name in self._STATE} | self.window.state(prefix)

    def restore(self, state: dict[str, Any], prefix: str, what: str) -> None:
        """Take the values `state(prefix)` gave. ValueError when they do not hold together."""
        restore_columns(self, state, self._STATE, ("events",), what, prefix)
        self.window.restore(state, prefix, what)
        ids = self.window.ids
        if (not isinstance(self.late, dict) or len(self.events) != len(ids) or not isinstance(ids, array)
                or any(b <= a for a, b in zip(ids, ids[1:], strict=False))):
            raise ValueError(f"{what}: {prefix}clusters out of order or of different lengths")
