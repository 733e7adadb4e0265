"""Scheduling rules: pure functions, time and randomness passed in."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.schedule import (
    BACKOFF_MAX,
    JITTER,
    MAX_TTL,
    full_jitter,
    next_poll_after_failure,
    next_poll_after_success,
    update_publish_interval,
)
from monitor.settings import PollSettings

NOW = 1_000_000.0
S = PollSettings()


class Fixed:
    """A random source that always picks the same point of the range (0 = low, 1 = high)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.at


def test_plain_interval_with_jitter_bounds():
    assert next_poll_after_success(NOW, S, rng=Fixed(0.5)) == NOW + 300
    assert next_poll_after_success(NOW, S, rng=Fixed(0)) == NOW + 270
    assert next_poll_after_success(NOW, S, rng=Fixed(1)) == NOW + 330


def test_jitter_spreads_feeds_added_together():
    rng = random.Random(1)
    times = {round(next_poll_after_success(NOW, S, rng=rng)) for _ in range(20)}
    assert len(times) > 10


def test_ttl_and_max_age_are_floors():
    assert next_poll_after_success(NOW, S, ttl=1800, rng=Fixed(1)) == NOW + 1800
    assert next_poll_after_success(NOW, S, max_age=900, ttl=600, rng=Fixed(1)) == NOW + 900
    # ... unless the user says otherwise
    own = PollSettings(respect_ttl=False)
    assert next_poll_after_success(NOW, own, ttl=1800, rng=Fixed(0.5)) == NOW + 300
    # a feed cannot ask to be left alone for a month
    assert next_poll_after_success(NOW, S, ttl=30 * 86400, rng=Fixed(0.5)) == NOW + 86400


def test_adaptive_busy_feed_polled_more_often_within_bounds():
    busy = next_poll_after_success(NOW, S, avg_publish_interval=240, rng=Fixed(0.5))
    assert busy == NOW + 120
    flood = next_poll_after_success(NOW, S, avg_publish_interval=10, rng=Fixed(0.5))
    assert flood == NOW + S.min_interval
    quiet = next_poll_after_success(NOW, S, avg_publish_interval=86400, rng=Fixed(0.5))
    assert quiet == NOW + S.max_interval
    fixed = PollSettings(adaptive=False)
    assert next_poll_after_success(NOW, fixed, avg_publish_interval=240, rng=Fixed(0.5)) == NOW + 300


def test_backoff_grows_exponentially_with_full_jitter():
    highs = [next_poll_after_failure(NOW, S, failures=n, rng=Fixed(1)) - NOW for n in range(1, 7)]
    assert highs == [60, 120, 240, 480, 960, 1920]
    assert next_poll_after_failure(NOW, S, failures=3, rng=Fixed(0)) == NOW + S.min_interval
    assert next_poll_after_failure(NOW, S, failures=500, rng=Fixed(1)) == NOW + BACKOFF_MAX


def test_one_backoff_for_polls_and_deliveries():
    # the deliverer's backoff is the same function, with delivery.backoff and delivery.backoff_max
    assert [full_jitter(n, 30, 3600, Fixed(1)) for n in (0, 1, 2, 3, 8, 9, 10**6)] == [30, 30, 60, 120, 3600, 3600, 3600]
    assert full_jitter(5, 30, 3600, Fixed(0)) == 0
    assert full_jitter(2, 30, 3600, Fixed(0.5)) == 30


def test_retry_after_honoured_and_capped():
    assert next_poll_after_failure(NOW, S, failures=1, retry_after=900, rng=Fixed(0)) == NOW + 900
    assert next_poll_after_failure(NOW, S, failures=1, retry_after=10**9, rng=Fixed(0)) == NOW + BACKOFF_MAX


@given(st.integers(min_value=0, max_value=10**6), st.floats(min_value=0, max_value=1),
       st.one_of(st.none(), st.floats(min_value=0, max_value=10**9)))
def test_failure_delay_always_within_bounds(failures, at, retry_after):
    delay = next_poll_after_failure(NOW, S, failures=failures, retry_after=retry_after, rng=Fixed(at)) - NOW
    assert S.min_interval <= delay <= BACKOFF_MAX


@given(st.one_of(st.none(), st.floats(min_value=1, max_value=10**7)),
       st.one_of(st.none(), st.floats(min_value=0, max_value=10**7)),
       st.floats(min_value=0, max_value=1))
def test_success_delay_never_below_min_or_ttl(avg, ttl, at):
    delay = next_poll_after_success(NOW, S, ttl=ttl, avg_publish_interval=avg, rng=Fixed(at)) - NOW
    assert delay >= S.min_interval * (1 - JITTER)
    assert delay >= min(ttl or 0, MAX_TTL) - 1e-6
    assert delay <= max(S.max_interval * (1 + JITTER), MAX_TTL)


def test_publish_interval_ewma():
    assert update_publish_interval(None, []) is None
    assert update_publish_interval(None, [100.0]) is None
    assert update_publish_interval(None, [0, 600]) == 600
    assert update_publish_interval(600, [1000, 1300]) == pytest.approx(0.7 * 600 + 0.3 * 300)
    # order does not matter; a batch published in the same second is one event
    assert update_publish_interval(None, [1200, 0, 600, 600.5]) == pytest.approx(600, abs=1)
    assert update_publish_interval(500, [7, 7]) == 500


def test_a_months_old_item_does_not_make_a_busy_feed_look_quiet():
    from monitor.schedule import update_publish_interval

    hourly = [i * 3600.0 for i in range(1, 5)]
    assert update_publish_interval(None, hourly) == 3600.0
    with_old_item = update_publish_interval(None, [-200 * 86400.0] + hourly)
    assert with_old_item < 4 * 86400.0  # that first gap counts as a week at most (not 200 days)
