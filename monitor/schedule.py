"""When to poll a feed next. Pure functions: the time and the random source are passed in.

After a success (`next_poll_after_success`):
1. Base interval: `interval`; when `adaptive` and the feed's average publishing interval
   is known, half of it instead (two looks per new item on average), kept within
   [`min_interval`, `max_interval`]. Feeds that publish often are polled more often,
   quiet ones less. Without adaptation the user's `interval` stands, never below
   `min_interval`.
2. Jitter: the delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter] so
   feeds added together do not stay in lock-step.
3. Floor: when `respect_ttl`, the next poll comes no sooner than the server's
   Cache-Control max-age / Expires and the feed's <ttl> allow (whichever is larger),
   each capped at `max_ttl` so a feed cannot ask to be ignored for a month.

After a failure (`next_poll_after_failure`), `failures` counting this one:
1. Exponential backoff with full jitter: uniform in [0, min(backoff_max, backoff_base *
   2**(failures-1))], never below `min_interval`.
2. A Retry-After the server sent is honoured: the delay is at least that (capped at
   `backoff_max`).

`update_publish_interval` keeps an exponentially weighted moving average (weight
`EWMA_WEIGHT` for each new interval) of the gaps between consecutive items.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

EWMA_WEIGHT = 0.3
MAX_GAP = 7 * 86400.0  # longest gap that counts towards the publishing interval
MIN_GAP = 1.0  # items published within a second of each other are one batch


class _Random(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class ScheduleSettings:
    """Polling rules for one feed; all durations in seconds."""

    interval: float = 300
    min_interval: float = 60
    max_interval: float = 3600
    jitter: float = 0.1
    backoff_base: float = 60
    backoff_max: float = 6 * 3600
    respect_ttl: bool = True
    adaptive: bool = True
    max_ttl: float = 24 * 3600


def base_interval(s: ScheduleSettings, avg_publish_interval: float | None = None) -> float:
    """The delay between polls before jitter and floors (rule 1 after a success)."""
    if s.adaptive and avg_publish_interval is not None and avg_publish_interval > 0:
        return min(s.max_interval, max(s.min_interval, avg_publish_interval / 2))
    return max(s.min_interval, s.interval)


def next_poll_after_success(now: float, s: ScheduleSettings, *, max_age: float | None = None,
                            ttl: float | None = None, avg_publish_interval: float | None = None,
                            rng: _Random = random) -> float:
    """The time of the next poll after a successful one (see the module docstring)."""
    delay = base_interval(s, avg_publish_interval)
    if s.jitter:
        delay *= rng.uniform(1 - s.jitter, 1 + s.jitter)
    if s.respect_ttl:
        floor = max((min(v, s.max_ttl) for v in (max_age, ttl) if v), default=0.0)
        delay = max(delay, floor)
    return now + delay


def next_poll_after_failure(now: float, s: ScheduleSettings, *, failures: int,
                            retry_after: float | None = None, rng: _Random = random) -> float:
    """The time of the next try after `failures` consecutive failures (this one included)."""
    exponent = min(max(failures, 1) - 1, 62)
    cap = min(s.backoff_max, s.backoff_base * 2.0 ** exponent)
    delay = max(s.min_interval, rng.uniform(0, cap))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, s.backoff_max))
    return now + delay


def update_publish_interval(previous_avg: float | None, new_item_times: list[float]) -> float | None:
    """Fold the gaps between `new_item_times` (epoch seconds, any order) into the average.

    Pass the newest previously seen item's time along with the new ones, so the gap to
    it counts too. Gaps under a second (a batch published at once) are ignored. Returns
    the previous average when there is no gap to learn from.
    """
    times = sorted(set(new_item_times))
    avg = previous_avg
    for earlier, later in pairwise(times):
        gap = later - earlier
        if gap < MIN_GAP:
            continue
        gap = min(gap, MAX_GAP)  # a months-old item next to today's says nothing of the pace
        avg = gap if avg is None else (1 - EWMA_WEIGHT) * avg + EWMA_WEIGHT * gap
    return avg
