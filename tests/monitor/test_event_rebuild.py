"""A rebuild of the event index works the stories' vectors out in numpy a run of stories
at a time (monitor.dedup.event_rebuild). What it builds is, column for column, the index
of the same stories learned one at a time, the way a running daemon learns them: on real
stories with copies, undated stories, stories read for the document frequencies alone,
prunings and vocabulary compactions among them, and on any text."""
from __future__ import annotations

import gzip
import json
from array import array
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedup import EventGrouper, EventSettings, parse_time
from monitor.dedup.event_rebuild import _one_at_a_time, rebuild_rows

DATA = Path(__file__).parents[1] / "data" / "events"


class _Compacting(EventGrouper):
    vocabulary_slack = 400  # numbers its terms again every few hundred stories


def _stories() -> list[dict]:
    rows = []
    for name in ("labelled.jsonl", "distractors.jsonl.gz"):
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(DATA / name, "rt", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return sorted(rows, key=lambda r: (r["published"], r["id"]))[:1200]


def _rows(stories: list[dict]) -> list[tuple[Any, ...]]:
    """Numbered rows: every seventh story a copy of the one before, every fifth in the
    event of the one three before, the first two and every 97th undated."""
    rows: list[tuple[Any, ...]] = []
    for n, r in enumerate(stories, 1):
        cluster = n - 1 if n % 7 == 0 else n
        event = rows[n - 4][2] if n % 5 == 0 and n > 4 else n
        published = None if n <= 2 or n % 97 == 0 else r["published"]
        rows.append((n, cluster, event, r["title"], r["summary"], r["source"], published))
    return rows


def _same(a: EventGrouper, b: EventGrouper) -> None:
    sa, sb = a.state(), b.state()
    assert sa.keys() == sb.keys()
    for key in sa:
        x, y = sa[key], sb[key]
        if isinstance(x, dict):  # in the same order too: a snapshot's bytes
            assert list(x.items()) == list(y.items()), key
        elif isinstance(x, array):
            assert x.typecode == y.typecode and x.tobytes() == y.tobytes(), key
        else:
            assert x == y, key


def _both(rows: list[tuple[Any, ...]], settings_: EventSettings, index_from: int | None, every: int,
          cls: type[EventGrouper] = EventGrouper, runs: int = 4096) -> tuple[EventGrouper, EventGrouper]:
    """The rows rebuilt, and learned one at a time (as every rebuild did before runs, and
    as one with `idf_power` other than 1 still does)."""
    rebuilt, learned = cls(settings_), cls(settings_)
    rebuild_rows(rebuilt, rows, prune=True, index_from=index_from, prune_every=every, run_limit=runs)
    _one_at_a_time(learned, rows, prune=True, index_from=index_from, prune_every=every)
    return rebuilt, learned


WINDOW_6H = replace(EventSettings(), window_hours=6.0, copy_hours=12.0)


@pytest.mark.parametrize("settings_", [
    EventSettings(),
    WINDOW_6H,  # stories leave the window at the prunings
    replace(WINDOW_6H, title_floor=0.2, index_terms=4, min_terms=5),  # title weights kept
    replace(WINDOW_6H, places=True),
], ids=["default", "6h", "title-floor", "places"])
@pytest.mark.parametrize("index_from", [None, 400])
def test_a_rebuild_is_the_index_of_the_stories_learned_one_at_a_time(settings_, index_from):
    rows = _rows(_stories())
    rebuilt, learned = _both(rows, settings_, index_from, every=89, cls=_Compacting)
    _same(rebuilt, learned)
    assert len(rebuilt) and rebuilt.frequencies.documents == learned.frequencies.documents
    if settings_.window_hours == 6.0:
        assert rebuilt._compacted, "the vocabulary was numbered again on the way"


def test_runs_cut_short_by_their_bound_change_nothing():
    """A rebuild that never prunes still holds a bounded run: its runs end every few
    dozen stories here, and the index is the same."""
    rows = _rows(_stories())
    rebuilt, learned = _both(rows, EventSettings(), None, every=10**9, runs=37)
    _same(rebuilt, learned)


@pytest.mark.parametrize("settings_", [EventSettings(), replace(EventSettings(), idf_power=0.5)],
                         ids=["default", "idf-power"])
def test_what_a_rebuild_decides_next_is_what_the_daemon_running_on_decides(settings_):
    """The daemon's stories decided as they came, stored, rebuilt (the event index of the
    72 hours before: stories before `index_from` give only their frequencies), then the
    next ones decided by both."""
    stories = _stories()
    live = EventGrouper(settings_)
    rows = []
    for n, r in enumerate(stories[:900], 1):
        link = live.add(n, cluster=n, title=r["title"], summary=r["summary"], source=r["source"],
                        published=parse_time(r["published"]))
        rows.append((n, n, link.event, r["title"], r["summary"], r["source"], r["published"]))
    rebuilt = EventGrouper.rebuild(rows, settings_, index_from=300)
    reference = EventGrouper(settings_)
    _one_at_a_time(reference, rows, prune=False, index_from=300, prune_every=10_000)
    _same(rebuilt, reference)
    for n, r in enumerate(stories[900:], 901):
        kwargs = dict(cluster=n, title=r["title"], summary=r["summary"], source=r["source"],
                      published=parse_time(r["published"]))
        assert rebuilt.add(n, **kwargs) == live.add(n, **kwargs), r["id"]


WORD = st.sampled_from(["بوتين", "كورسك", "الحوثيين", "في", "على", "2018", "x", "", "موسكو", "زيلينسكي",
                        "الجيش", "روسيا", "أوكرانيا", "السعودية", "ترامب", "اليمن", "!", "\u064e"])
TEXT = st.lists(WORD, max_size=14).map(" ".join)
ROW = st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=4), TEXT, TEXT,
                st.sampled_from(["", "a", "b"]), st.one_of(st.none(), st.integers(min_value=0, max_value=40)))


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, max_size=40), st.integers(min_value=1, max_value=45), st.integers(min_value=1, max_value=9),
       st.booleans())
def test_any_rows_rebuild_to_the_index_learned_one_at_a_time(drawn, index_from, every, floor):
    """Copies of any earlier story, events of any earlier story, empty and wordless texts,
    undated stories anywhere, a pruning every few rows (hours apart: stories leave)."""
    rows = []
    for n, (back, event_back, title, summary, source, hours) in enumerate(drawn, 1):
        published = None if hours is None else datetime(2018, 3, 1, tzinfo=UTC).timestamp() + hours * 3600
        rows.append((n, max(1, n - back), rows[max(0, n - 1 - event_back) - 1][2] if n > 1 else n, title, summary,
                     source, None if published is None else datetime.fromtimestamp(published, UTC)))
    settings_ = replace(EventSettings(), window_hours=6.0, copy_hours=12.0, min_terms=2,
                        title_floor=0.2 if floor else 0.0)
    rebuilt, learned = _both(rows, settings_, index_from, every, cls=_Compacting)
    _same(rebuilt, learned)
