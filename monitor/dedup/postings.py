"""The event level's candidate stories from its inverted index, counted in numpy.

`candidates` gives what `EventGrouper._candidates` documents: the stories of the window
that share at least `least` of the story's rarest terms, at most `cap` of them (most
shared terms first, then the newest), in window order. Counting the postings
(`collections.Counter`) and checking each story's time in Python took 0.26 ms a story
at a 200,000-story window (about 600 entries: ten terms of up to 64 stories each), more
than a third of the event level's time; here each step is one numpy pass (0.1 ms). The
postings are copied into one bytes object, and the times are read through a view
dropped at once: an array that exports its buffer cannot grow."""
from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

_SERIAL_BITS = 40  # a story's serial number below 2**40; its count of shared terms above


def candidates(postings: dict[int, array[int]], rare: Iterable[int], times: array[float], base: int, ts: float,
               window: float, least: int, cap: int) -> list[int]:
    """Window positions (serial - `base`) of the stories in the `postings` of the `rare`
    terms that share at least `least` of them and whose time (`times`, by position) is
    within `window` of `ts`: the `cap` sharing most (then the newest), in order."""
    lists = [postings[t] for t in rare if t in postings]
    if not lists:
        return []
    entries = np.sort(np.frombuffer(b"".join(lists), dtype=np.int64))
    if not len(entries):
        return []
    first = np.empty(len(entries), dtype=bool)  # where each story's run of entries starts
    first[0] = True
    np.not_equal(entries[1:], entries[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    serials = entries[starts]
    shared = np.empty_like(starts)  # each run's length: to the next run's start, the last to the end
    np.subtract(starts[1:], starts[:-1], out=shared[:-1])
    shared[-1] = len(entries) - starts[-1]
    keep = serials >= base
    if least > 1:
        keep &= shared >= least
    serials, shared = serials[keep], shared[keep]
    if not len(serials):
        return []
    view = np.frombuffer(times, dtype=np.float64)
    try:
        when = view[serials - base]  # a copy: the view goes at once, so `times` can grow again
    finally:
        del view
    near = np.abs(when - ts) <= window
    keys = (shared[near] << _SERIAL_BITS) | serials[near]
    if len(keys) > cap:
        keys = np.sort(keys)[-cap:]
    return sorted(((keys & ((1 << _SERIAL_BITS) - 1)) - base).tolist())
