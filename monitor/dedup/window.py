"""The sliding window both dedup levels keep (`Clusterer`, `EventGrouper`): stories in
arrival order, as columns, never an object per story.

A story held by a `Window` has a serial number (its arrival order, counted from the
first story the window ever held), an id and a time. `base` is the serial of the oldest
story still held, so story `serial` is at `serial - base` in every column, and in the
owner's own columns beside these (one entry a story, cut at the front with the same
count). `prune` cuts the fronts: entries older than the window before `now`. Arrival
order is nearly time order; an entry older than one before it waits for that one (it is
never compared outside the window meanwhile).

Time: a story's time is its `published` time, or the latest time seen so far when it
has none; before the first dated story, `undated` (each level says what that is), and
the first dated story gives its time to every undated entry (`time`).

Ids are kept as 64-bit integers (8 bytes each, not a Python object each) as long as
every id is a whole number (`append_id`).
"""
from __future__ import annotations

import email.utils
from array import array
from datetime import UTC, datetime
from typing import Any, TypeAlias

IdColumn: TypeAlias = "list[int | str] | array[int]"  # ids of stories, clusters or events, one per story


def timestamp(when: datetime) -> float:
    """Seconds since the epoch; a naive time is UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_time(text: str) -> datetime:
    """ISO 8601 or RFC 822 time; naive times are UTC. Raises ValueError."""
    text = text.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        when = email.utils.parsedate_to_datetime(text)  # raises ValueError/TypeError
        if when is None:
            raise ValueError(f"not a time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def append_id(column: IdColumn, value: int | str) -> IdColumn:
    """`column` with `value` appended. Ids are kept as 64-bit integers (8 bytes each, not
    a Python object each) as long as every id is a whole number; from the first that is
    not (the `raqib dedup` command takes any text), the column becomes a list."""
    if isinstance(column, array):
        if type(value) is int and -2**63 <= value < 2**63:
            column.append(value)
            return column
        column = list(column)
    column.append(value)
    return column


def restore_columns(index: object, state: dict[str, Any], names: tuple[str, ...], id_columns: tuple[str, ...],
                    what: str, prefix: str = "") -> None:
    """Put a snapshot's columns (`state`, each under `prefix` + its name) into a fresh
    `index`, each checked against the fresh one's own: the same type (an id column may
    also be a list, when its ids are not all whole numbers; a value the fresh index has
    as None may be a float) and, for an array, the same type code. ValueError, naming
    `what`, for anything else."""
    for name in names:
        value, now = state[prefix + name], getattr(index, name)
        if name in id_columns and isinstance(value, list):
            now = value  # ids that are not all whole numbers
        if type(value) is not type(now) and not (now is None and isinstance(value, float)):
            raise ValueError(f"{what}: {prefix}{name} is a {type(value).__name__}")
        if isinstance(now, array) and value.typecode != now.typecode:
            raise ValueError(f"{what}: {prefix}{name} has type code {value.typecode}")
        setattr(index, name, value)


class Window:
    """Ids and times of the stories of a sliding window of `hours` (see module docstring)."""

    _STATE = ("base", "ids", "times", "latest")

    def __init__(self, hours: float, undated: float) -> None:
        self.span = hours * 3600.0
        self.undated = undated
        self.base = 0  # serial of the oldest story still held
        self.ids: IdColumn = array("q")
        self.times = array("d")
        self.latest: float | None = None  # the latest story time seen so far

    def __len__(self) -> int:
        return len(self.ids)

    def newest(self) -> int | str | None:
        """The id of the story held last (None when the window is empty)."""
        return self.ids[-1] if self.ids else None

    def time(self, published: datetime | None, *others: array[Any]) -> float:
        """A story's time (see module docstring); the first dated story also gives its
        time to the undated entries of `others` (the owner's columns of times)."""
        if published is None:
            return self.latest if self.latest is not None else self.undated
        ts = timestamp(published)
        if self.latest is None:
            undated = self.undated
            for column in (self.times, *others):
                for i, t in enumerate(column):
                    if t == undated:
                        column[i] = ts
        if self.latest is None or ts > self.latest:
            self.latest = ts
        return ts

    def append(self, story_id: int | str, ts: float) -> int:
        """Hold a story; its serial."""
        self.ids = append_id(self.ids, story_id)
        self.times.append(ts)
        return self.base + len(self.times) - 1

    def expired(self, now: datetime) -> int:
        """How many entries at the front are older than the window before `now`."""
        limit = timestamp(now) - self.span
        times = self.times
        n, total = 0, len(times)
        while n < total and times[n] < limit:
            n += 1
        return n

    def cut(self, n: int) -> None:
        """Drop the `n` oldest entries (the owner cuts its own columns alike)."""
        if n:
            del self.ids[:n]
            del self.times[:n]
            self.base += n

    # -- snapshots

    def state(self, prefix: str) -> dict[str, Any]:
        """The window as plain values, each under `prefix` + its name (the live
        containers, not copies)."""
        return {prefix + name: getattr(self, name) for name in self._STATE}

    def restore(self, state: dict[str, Any], prefix: str, what: str) -> None:
        """Take the values `state(prefix)` gave. ValueError when they do not hold together."""
        restore_columns(self, state, self._STATE, ("ids",), what, prefix)
        if not isinstance(self.base, int) or len(self.ids) != len(self.times):
            raise ValueError(f"{what}: {prefix}ids and {prefix}times of different lengths")
