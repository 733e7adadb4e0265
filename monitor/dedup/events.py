"""Events: the same event told by several outlets in their own words.

The second level of "the same story" (the first is the copy cluster, `clusterer`). Every
story belongs to one event, named by the id of the event's first story:

- a copy (a story that joined an existing cluster) inherits its cluster's event;
- otherwise the story opens an event of its own.

Events are decided online, in arrival order, deterministically, and are never merged
afterwards: an event id, once given, is stable (message threads and edits rely on it).

This module is the interface the pipeline, the store and `raqib dedup` use; the grouping
rule itself (which stories of other clusters join an event) is decided in `EventGrouper.add`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable


@dataclass(frozen=True)
class EventSettings:
    """Thresholds of the event level (`dedup.event:` in the config)."""
    window_hours: float = 24.0


@dataclass(frozen=True)
class EventLink:
    """Which event a story joined, and why.

    kind: "new" (opened an event), "copy" (inherited its cluster's event) or "related"
    (joined the event of story `of`, another outlet's own words, with `score` carried by
    `terms`)."""
    event: int | str
    kind: str = "new"
    of: int | str | None = None
    score: float | None = None
    terms: tuple[str, ...] = ()


class EventGrouper:
    """The in-memory event index over a sliding window of stories."""

    def __init__(self, settings: EventSettings = EventSettings()) -> None:
        self.settings = settings
        self._event_of_cluster: dict[int | str, int | str] = {}

    def __len__(self) -> int:
        return len(self._event_of_cluster)

    def add(self, story_id: int | str, *, cluster: int | str, title: str, summary: str = "",
            source: str = "", published: datetime | None = None) -> EventLink:
        """Decide the story's event (after `Clusterer.add` decided its cluster) and index it."""
        known = self._event_of_cluster.get(cluster)
        if known is not None:
            return EventLink(known, "copy", cluster)
        self._event_of_cluster[cluster] = story_id
        return EventLink(story_id, "new")

    def prune(self, now: datetime) -> int:
        """Drop index entries older than the window before `now`; return how many."""
        return 0

    @classmethod
    def rebuild(cls, rows: Iterable[tuple], settings: EventSettings = EventSettings()) -> EventGrouper:
        """Index stored stories with their stored clusters and events, without deciding again.

        `rows` are (story_id, cluster, event, title, summary, source, published) in arrival
        order; `event` None means the story's own id (a database from before events)."""
        self = cls(settings)
        for story_id, cluster, event, _title, _summary, _source, _published in rows:
            cluster = story_id if cluster is None else cluster
            self._event_of_cluster.setdefault(cluster, story_id if event is None else event)
        return self
