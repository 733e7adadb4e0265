"""`EventGrouper.rebuild`: stored stories indexed in order, their TF-IDF vectors worked
out in numpy a run of stories at a time.

A story's vector weighs each of its terms with the online document frequency of the
moment it came (the frequencies updated with its own terms first), so a rebuild reads
in order. What it does a story at a time in Python is what has to be (its time, its
cluster's event for the copies, its terms, its term numbers); its weights wait, with
those of the stories after it, until a run ends: at the rebuild's pruning points (every
10,000 rows), at its end, at `RUN_LIMIT` stories, when stories read for the frequencies
alone (older than the window: their terms are counted as they come, into one Counter)
give way to stories to index or the other way round, before an undated story and
before the first dated one (which dates those before it). Words are stemmed through a
memo of the rebuild's own (`_Terms`). Then, in numpy, each term
of each story of the run gets the frequency it had then (the frequency before the run
plus its count in the run up to that story), and the weights, norms and rarest terms
are those `EventGrouper._vector` gives, bit for bit: the same operations on the same
doubles (natural logarithms from `math.log`, each term's norm summed in the story's term
order), ties among the rarest broken by the term as there.

A story's vector is indexed as `EventGrouper._index` does; the frequencies take the
run's counts at its end. With `idf_power` other than 1, every story is read the way
`EventGrouper.learn` does (pow is left to the C library, as there).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from .stems import term_of
from .window import parse_time

if TYPE_CHECKING:
    from .events import EventGrouper

PRUNE_EVERY = 10_000  # rows between two prunings of a rebuild
MEMO_LIMIT = 1 << 18  # words whose term a rebuild keeps at once (`_Terms`)
RUN_LIMIT = 4096  # stories a run holds at most (a bound on the memory of a rebuild that never prunes)


class _Terms(dict[str, str]):
    """Each word's term (`term_of`) as a rebuild reads them: every different word's is
    worked out once (`term_of` keeps the 65,536 last used, which a rebuild of a large
    window reads past, and would work out hundreds of thousands again). Up to
    `MEMO_LIMIT` words at once; then it starts again."""

    def __missing__(self, word: str) -> str:
        if len(self) >= MEMO_LIMIT:
            self.clear()
        term = self[word] = term_of.__wrapped__(word)
        return term


class _Run:
    """The stories of a run: their index entries, and per term (in each story's term
    order) its number, its count in the story and in the title; or the different terms
    of stories read for the document frequencies alone (a run holds one kind or the other)."""

    def __init__(self) -> None:
        self.stories: list[tuple[Any, Any, float, int]] = []  # (id, event, time, outlet)
        self.lengths: list[int] = []
        self.tids: list[int | None] = []
        self.counts: list[int] = []
        self.in_title: list[int] = []
        self.counted: Counter[str] = Counter()  # the terms of the stories read for the frequencies
        self.documents = 0  # how many those stories are

    def add(self, story: tuple[Any, Any, float, int], counts: dict[str, int], in_title: dict[str, int],
            vocab: dict[str, int], names: list[str]) -> None:
        """A story to index, its terms numbered (those not numbered yet in its order, as
        `EventGrouper._vector` numbers them)."""
        self.stories.append(story)
        self.lengths.append(len(counts))
        got = list(map(vocab.get, counts))
        if None in got:
            for i, term in enumerate(counts):
                if got[i] is None:
                    got[i] = vocab[term] = len(names)
                    names.append(term)
        self.tids += got
        self.counts += counts.values()
        self.in_title += map(in_title.get, counts, repeat(0))

    def clear(self) -> None:
        for column in (self.stories, self.lengths, self.tids, self.counts, self.in_title, self.counted):
            column.clear()
        self.documents = 0


def rebuild_rows(grouper: EventGrouper, rows: Iterable[tuple[Any, ...]], *, prune: bool,
                 index_from: int | None, prune_every: int = PRUNE_EVERY, run_limit: int = RUN_LIMIT) -> None:
    """Index `rows` into `grouper` as `EventGrouper.rebuild` documents it (pruning every
    `prune_every` rows; runs of `run_limit` stories at most)."""
    if grouper.settings.idf_power != 1.0:
        return _one_at_a_time(grouper, rows, prune=prune, index_from=index_from, prune_every=prune_every)
    run = _Run()
    of = _Terms().__getitem__
    vocab, names = grouper._vocab, grouper._names
    window = grouper._w
    for n, (story_id, cluster, event, title, summary, source, published) in enumerate(rows, 1):
        if isinstance(published, str):
            published = parse_time(published)
        index = index_from is None or story_id >= index_from
        if published is None or window.latest is None:  # an undated story, or the first dated one
            _flush(grouper, run)
            _one(grouper, (story_id, cluster, event, title, summary, source, published), index)
        elif (remembered := grouper._remember(story_id, cluster, event, published)) is None:
            pass  # a copy of a cluster remembered already
        elif not index:  # read for the document frequencies alone
            if run.stories:
                _flush(grouper, run)
            run.counted.update(grouper._term_set(title, summary, of=of))
            run.documents += 1
        else:
            if run.documents:
                _flush(grouper, run)
            counts, in_title, _surface = grouper._terms(title, summary, of=of)
            ts, event = remembered
            run.add((story_id, event, ts, grouper._outlet(source or "")), counts, in_title, vocab, names)
            if len(run.stories) >= run_limit:
                _flush(grouper, run)
        if index and prune and n % prune_every == 0 and window.latest is not None:
            _flush(grouper, run)
            grouper.prune(datetime.fromtimestamp(window.latest, UTC))
            vocab, names = grouper._vocab, grouper._names  # numbered again, maybe
    _flush(grouper, run)


def _one_at_a_time(grouper: EventGrouper, rows: Iterable[tuple[Any, ...]], *, prune: bool,
                   index_from: int | None, prune_every: int) -> None:
    for n, (story_id, *rest, published) in enumerate(rows, 1):
        index = index_from is None or story_id >= index_from
        _one(grouper, (story_id, *rest, parse_time(published) if isinstance(published, str) else published), index)
        if index and prune and n % prune_every == 0 and grouper._w.latest is not None:
            grouper.prune(datetime.fromtimestamp(grouper._w.latest, UTC))


def _one(grouper: EventGrouper, row: tuple[Any, ...], index: bool) -> None:
    """A row (its time read) learned, or (not `index`) read for the document frequencies alone."""
    story_id, cluster, event, title, summary, source, published = row
    if index:
        grouper.learn(story_id, cluster=cluster, event=event, title=title, summary=summary, source=source,
                      published=published)
    else:
        grouper._count(story_id, cluster, event, title, summary, published, index=False)


def _flush(grouper: EventGrouper, run: _Run) -> None:
    """The run's stories indexed with their vectors, and its counts taken by the
    document frequencies; the run emptied."""
    if run.documents:
        _count_run(grouper, run)
    if not run.stories:
        return
    s = grouper.settings
    frequencies = grouper.frequencies
    df, names = frequencies.df, grouper._names
    lengths = np.array(run.lengths, dtype=np.int64)
    tids = np.array(run.tids, dtype=np.int64)
    count = np.array(run.counts, dtype=np.int64)
    title_count = np.array(run.in_title, dtype=np.int64)
    stories = len(run.stories)
    row = np.repeat(np.arange(stories), lengths)
    starts = np.zeros(stories, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    # each term's document frequency at its story: before the run, plus its stories in the run so far
    order = np.argsort(tids, kind="stable")
    ranked = tids[order]
    first = np.ones(len(ranked), dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    group = np.flatnonzero(first)
    sizes = np.diff(np.append(group, len(ranked)))  # each term's stories in the run
    seen = np.empty(len(tids), dtype=np.int64)
    seen[order] = np.arange(len(ranked)) - np.repeat(group, sizes)
    distinct = ranked[group]
    terms = [names[t] for t in distinct.tolist()]
    before = np.zeros(len(names), dtype=np.int64)
    before[distinct] = np.fromiter((df.get(t, 0) for t in terms), dtype=np.int64, count=len(terms))
    at = before[tids] + seen + 1
    logs, back = np.unique(at + 1, return_inverse=True)
    log = math.log
    idf = (np.array([log(frequencies.documents + k + 2) + 1.0 for k in range(stories)])[row]
           - np.array([log(v) for v in logs.tolist()])[back])
    # weights as _vector gives them: (1 + ln count) * idf, or idf for a count of one
    most = int(max(count.max(initial=1), title_count.max(initial=1)))
    grow = np.array([0.0] + [1.0 + log(c) for c in range(1, most + 1)])
    w = np.where(count > 1, grow[count] * idf, idf)
    tw = np.where(title_count > 1, grow[title_count] * idf, np.where(title_count == 1, idf, 0.0))
    norm, tnorm = np.zeros(stories), np.zeros(stories)
    for j in range(int(lengths.max(initial=0))):  # summed in each story's term order, as there
        has = np.flatnonzero(lengths > j)
        at_j = starts[has] + j
        norm[has] += w[at_j] * w[at_j]
        tnorm[has] += tw[at_j] * tw[at_j]
    norm, tnorm = np.sqrt(norm), np.sqrt(tnorm)
    norm[norm == 0.0] = 1.0
    tnorm[tnorm == 0.0] = 1.0
    weights = (w * (1.0 / norm)[row]).astype(np.float32)
    tweights = (tw * (1.0 / tnorm)[row]).astype(np.float32)
    # the rarest terms: highest idf first, ties by the term
    position = np.empty(len(terms), dtype=np.int64)
    position[sorted(range(len(terms)), key=terms.__getitem__)] = np.arange(len(terms))
    by_term = np.zeros(len(names), dtype=np.int64)
    by_term[distinct] = position
    rare_order = np.lexsort((by_term[tids], -idf, row))
    rank = np.arange(len(tids)) - starts[row[rare_order]]
    rare = tids[rare_order][rank < s.index_terms]
    rare_starts = np.zeros(stories, dtype=np.int64)
    np.cumsum(np.minimum(lengths, s.index_terms)[:-1], out=rare_starts[1:])
    _index_run(grouper, run, lengths.tolist(), tids, weights, tweights, rare.tolist(), rare_starts.tolist())
    frequencies.add(dict(zip(terms, sizes.tolist(), strict=True)), stories)  # the run's terms, in number order
    run.clear()


def _count_run(grouper: EventGrouper, run: _Run) -> None:
    """The stories read for the frequencies alone, counted (a term new to the frequencies
    comes in the order the stories one at a time would have added it)."""
    grouper.frequencies.add(run.counted, run.documents)
    run.counted.clear()
    run.documents = 0


def _index_run(grouper: EventGrouper, run: _Run, lengths: list[int], tids: np.ndarray, weights: np.ndarray,
               tweights: np.ndarray, rare: list[int], rare_starts: list[int]) -> None:
    """`EventGrouper._index` of each story of the run, its term columns extended at once."""
    most = grouper.settings.index_terms
    offset = grouper._tbase + len(grouper._tids)
    for (story_id, event, ts, outlet), length, at in zip(run.stories, lengths, rare_starts, strict=True):
        grouper._enter(story_id, event, ts, outlet, offset, length, rare[at:at + min(length, most)])
        offset += length
    grouper._tids.frombytes(tids.astype(np.int32).tobytes())
    grouper._weights.frombytes(weights.tobytes())
    if grouper.settings.title_floor > 0:
        grouper._tweights.frombytes(tweights.tobytes())
