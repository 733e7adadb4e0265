"""The event level's candidates from its postings (monitor.dedup.postings), in numpy,
choose what the rule says: the stories of the window sharing at least `least` of the
story's rare terms, within `window` of its time, the `cap` sharing most (then the
newest), in window order; and the index's arrays can grow again afterwards."""
from __future__ import annotations

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedup.postings import candidates


def by_the_rule(postings, rare, times, base, ts, window, least, cap):
    shared: dict[int, int] = {}
    for t in rare:
        for serial in postings.get(t, ()):
            shared[serial] = shared.get(serial, 0) + 1
    chosen = [serial for serial, n in shared.items()
              if serial >= base and n >= least and abs(times[serial - base] - ts) <= window]
    chosen.sort(key=lambda serial: (shared[serial], serial), reverse=True)  # most shared, then newest
    return sorted(serial - base for serial in chosen[:cap])


@st.composite
def indexes(draw):
    base = draw(st.integers(0, 5))
    size = draw(st.integers(1, 40))
    times = array("d", draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=size, max_size=size)))
    serials = st.integers(0, base + size - 1)  # pruned ones (below base) too
    postings = {t: array("q", sorted(set(draw(st.lists(serials, max_size=12))))) for t in range(draw(st.integers(0, 8)))}
    rare = draw(st.lists(st.integers(0, 10), max_size=10, unique=True))
    return postings, rare, times, base


@settings(max_examples=120, deadline=None)
@given(indexes(), st.floats(0, 100, allow_nan=False), st.sampled_from([0.0, 5.0, 30.0, 1000.0]),
       st.integers(1, 3), st.integers(1, 8))
def test_any_postings_give_the_candidates_the_rule_chooses(index, ts, window, least, cap):
    postings, rare, times, base = index
    assert candidates(postings, rare, times, base, ts, window, least, cap) == \
        by_the_rule(postings, rare, times, base, ts, window, least, cap)


def test_the_index_grows_again_after_its_times_are_read():
    postings = {1: array("q", [0, 1, 2]), 2: array("q", [2])}
    times = array("d", [0.0, 10.0, 20.0])
    assert candidates(postings, [1, 2], times, 0, 20.0, 15.0, 1, 2) == [1, 2]
    times.append(30.0)  # no buffer of it is left exported
    postings[1].append(3)
    assert candidates(postings, [1, 2], times, 0, 30.0, 15.0, 1, 5) == [2, 3]
