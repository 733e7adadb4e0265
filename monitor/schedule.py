"""When to poll a feed next. Pure functions: the time and the random source are passed in.
They read the `poll` settings (`monitor.settings.PollSettings`) as they are; what is not
an option (`JITTER`, `BACKOFF_BASE`, `BACKOFF_MAX`, `MAX_TTL`) is a constant here.

After a success (`next_poll_after_success`):
1. Base interval: `interval`; when `adaptive` and the feed's average publishing interval
   is known, half of it instead (two looks per new item on average), kept within
   [`min_interval`, `max_interval`]. Feeds that publish often are polled more often,
   quiet ones less. Without adaptation the user's `interval` stands, never below
   `min_interval`.
2. Jitter: the delay is multiplied by a uniform factor in [1 - JITTER, 1 + JITTER] so
   feeds added together do not stay in lock-step.
3. Floor: when `respect_ttl`, the next poll comes no sooner than the server's
   Cache-Control max-age / Expires and the feed's <ttl> allow (whichever is larger),
   each capped at `MAX_TTL` so a feed cannot ask to be ignored for a month.

After a failure (`next_poll_after_failure`), `failures` counting this one:
1. Exponential backoff with full jitter (`full_jitter`): uniform in [0, min(BACKOFF_MAX,
   BACKOFF_BASE * 2**(failures-1))], never below `min_interval`.
2. A Retry-After the server sent is honoured: the delay is at least that (capped at
   `BACKOFF_MAX`).

`full_jitter(attempts, base, cap)` is the one backoff of the program: the poller's after a
failed poll, the deliverer's after a failed send (`alerts.outbox`, with `delivery.backoff`
and `delivery.backoff_max`).

`update_publish_interval` keeps an exponentially weighted moving average (weight
`EWMA_WEIGHT` for each new interval) of the gaps between consecutive items.
"""
from __future__ import annotations

import random
from itertools import pairwise
from typing import Protocol

from .settings import PollSettings

EWMA_WEIGHT = 0.3
MAX_GAP = 7 * 86400.0  # longest gap that counts towards the publishing interval
MIN_GAP = 1.0  # items published within a second of each other are one batch
JITTER = 0.1  # after a success, the delay is spread by this share either way
BACKOFF_BASE = 60.0  # after a first failure, the next poll comes within this
BACKOFF_MAX = 6 * 3600.0  # the longest delay after failures (and the longest Retry-After honoured)
MAX_TTL = 24 * 3600.0  # the longest a feed's TTL or cache headers put off its next poll


class _Random(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def base_interval(s: PollSettings, avg_publish_interval: float | None = None) -> float:
    """The delay between polls before jitter and floors (rule 1 after a success)."""
    if s.adaptive and avg_publish_interval is not None and avg_publish_interval > 0:
        return min(s.max_interval, max(s.min_interval, avg_publish_interval / 2))
    return max(s.min_interval, s.interval)


def next_poll_after_success(now: float, s: PollSettings, *, max_age: float | None = None,
                            ttl: float | None = None, avg_publish_interval: float | None = None,
                            rng: _Random = random) -> float:
    """The time of the next poll after a successful one (see the module docstring)."""
    delay = base_interval(s, avg_publish_interval)
    delay *= rng.uniform(1 - JITTER, 1 + JITTER)
    if s.respect_ttl:
        floor = max((min(v, MAX_TTL) for v in (max_age, ttl) if v), default=0.0)
        delay = max(delay, floor)
    return now + delay


def next_poll_after_failure(now: float, s: PollSettings, *, failures: int,
                            retry_after: float | None = None, rng: _Random = random) -> float:
    """The time of the next try after `failures` consecutive failures (this one included)."""
    delay = max(s.min_interval, full_jitter(failures, BACKOFF_BASE, BACKOFF_MAX, rng))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, BACKOFF_MAX))
    return now + delay


def full_jitter(attempts: int, base: float, cap: float, rng: _Random = random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempts-1))],
    `attempts` counting the one that just failed (at least 1)."""
    exponent = min(max(attempts, 1) - 1, 62)
    return rng.uniform(0, min(cap, base * 2.0 ** exponent))


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
