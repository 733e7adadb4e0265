"""Events: the same event told by several outlets in their own words.

The second level of "the same story" (the first is the copy cluster, `clusterer`). Every story belongs to one event,
named by the id of the event's first story. `EventGrouper.add` decides, after `Clusterer.add` decided the story's
cluster, in this order:

1. **copy** — a story that joined an existing cluster (`cluster != story_id`) inherits that cluster's event
   (remembered for `copy_hours`; a copy of a cluster no longer remembered is decided as below). Copies are not
   indexed and do not count as their outlet's story of the event.
2. **related** — otherwise the story is compared with the stories of other clusters within `window_hours` of it and
   joins the event of its best match: a story whose cosine similarity with it (below) is at least `threshold` plus
   `decay` times the share of `decay_hours` between them, and `threshold + decay` for stories further apart (a
   threshold that rises with time: a preview and the result, a statement and the reply to it come hours apart, one
   event's coverage mostly within two or three; past six hours the labelled pairs of one event with a cosine under
   0.5 were outnumbered by those of two), that shares at least `min_common` terms with it (a cosine carried by one
   or two words, a column's recurring name, is no event), whose title's cosine with its title is at least
   `title_floor` (off by default), unless that event already holds a story of the same outlet (`source`): **an event
   holds at most one story per outlet**. An outlet does not tell one event twice in its own words within a day; two
   of its stories on one topic are two events (the rule alone cut wrong merges of same-topic stories about
   twentyfold). A story without a source is exempt from the rule. When the best match's event is closed to the
   story's outlet, the next best match is tried. Equal scores go to the older story.
3. **new** — otherwise the story opens an event of its own.

Events are decided online, in arrival order, deterministically (no randomness, no iteration over unordered
containers decides anything), and are never merged afterwards: an event id, once given, is stable (message threads
and edits rely on it).

What a story is compared on (`terms`): the title, the first `summary_words` words of the summary and, when
`body_words` is set and the story's article text is known, the first `body_words` words of the body (counted as
summary words), normalised (`monitor.normalize.normalize_text`, the one fold), cut into words (runs of letters, runs
of digits), function words dropped (`STOP_WORDS`), each word stemmed with the Snowball Arabic stemmer (PyStemmer;
Latin words by the English one) and then reduced to its variant skeleton (`monitor.match.variants.skeleton`: long
vowels, hamza seats and ه dropped, letter classes folded), so that the spellings outlets give one name (ترمب/ترامب,
بوتن/بوتين, سكريبل/سكريبال) and the forms the stemmer leaves apart (روسيا/الروسية) are one term
(`monitor.dedup.stems`). A term shorter than two letters is dropped (a number keeps all its digits). With `places`
(off by default), a country's name, its people's nisba forms and its capital are one term, from CLDR's Arabic names
(`monitor.dedup.places`: الأردن/الأردني/الأردنيين, دمشق also counts as سوريا).

Weights: sublinear TF-IDF. A term's count is twice its count in the title plus its count in the summary
(`title_weight`); its weight (1 + ln count) x idf ** `idf_power` (1 by default), idf = ln((N + 1) / (df + 1)) + 1,
where df and N come from a document-frequency table shipped with Raqib (`monitor/data/arabic_df.tsv.gz`, counts
only, built by `scripts/build_event_df.py` from the ANT corpus) and are updated online: every story that is not a
copy adds one to N and to the df of each of its terms. Vectors are L2-normalised; the score of a pair is their
cosine (0..1). The titles' own vectors (the title's terms alone, weighted the same way) give the title cosine. A
story with fewer than `min_terms` terms never joins or is joined (a one-word column title is no event). Scores are
compared as computed (float32 weights); the score a link reports is rounded to three places.

Candidates: each story indexes only its `index_terms` rarest terms (highest idf) in an inverted index (each term
keeps its `posting_cap` most recent stories), and looks up its own `index_terms` rarest terms there; candidates
share at least `min_shared` of them, are ranked by how many they share (ties: newest first), and the best
`max_candidates` are scored.

The body: `EventGrouper.add(body=...)` (and `raqib dedup`'s "body" field) gives the article text; `body_words` is 0
by default, so it is not read. Measured on the labelled set (bench/event_eval.py --features, leave-days-out,
thresholds re-tuned for each): with the threshold rising over the whole window, 60 words of body (every story
carrying it) raised held-out recall from 0.537 to 0.602 at precision 0.956 (30 words: recall 0.512); with the rise
over `decay_hours` (what ships, held-out recall 0.619 without a body) the body gives 0.591 at precision 0.953: no
gain that the folds can tell. The daemon decides a story's event when it arrives, before its page is read, so the
default reads none. A rebuilt index (`learn`, `rebuild`) reads the body only when given one.

Every link is logged at DEBUG (`event link story=... kind=... event=... of=... score=... terms=...`, the terms that
carried most of the score, as the story wrote them).

Layout (compact): stories are numbered in arrival order; their ids, events, times and where their terms start are
columns (arrays; ids as 64-bit integers while every id is a whole number, `window.append_id`), their terms one
shared array of term numbers beside two of float32 weights (story and title); an index term's posting is an array of
story numbers. Candidates are counted over the postings in numpy (`monitor.dedup.postings`), the window checked once
per candidate story, not once per posting entry; scores are summed in C (`map`, `sum`). `prune(now)` cuts the
columns' fronts, forgets the outlets of events with no story left in the window, the postings whose stories are all
gone, and the clusters' events older than `copy_hours`. Term numbers (the vocabulary) grow with the distinct terms
seen; when they outgrow twice what the last compaction kept by `vocabulary_slack`, `prune` numbers again only the
window's terms and forgets the online document frequency of terms seen once that the shipped table does not hold.
"""
from __future__ import annotations

import heapq
import logging
import math
import re
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import filterfalse, repeat
from operator import mul
from typing import Any

from .copies import CopyEvents
from .event_rebuild import rebuild_rows
from .frequencies import DocumentFrequencies, shipped_table
from .places import place_terms, term_set
from .postings import candidates
from .stems import term_of
from .text import STOP_WORDS, first_words
from .window import IdColumn, Window, append_id, parse_time, restore_columns

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_]+|\d+")
_UNDATED = 0.0
TITLE_WORDS = 60  # words of a title that are read (a headline has about ten)
_CHARS_PER_WORD = 40  # text read per word wanted: a cut never shortens real prose


@dataclass(frozen=True)
class EventSettings:
    """Thresholds of the event level (`dedup.event:` in the config); see the module docstring.

    window_hours   stories further apart than this are never compared (24).
    threshold      lowest cosine similarity of the stories' TF-IDF vectors that joins
                   an event, for two stories of the same moment (0.35).
    title_floor    ... and the cosine of the titles' own vectors must reach this too
                   (0: off; the decay below guards better against two events of one
                   story line, measured by bench/event_eval.py).
    title_weight   how many times a title word counts against a summary word (2).
    summary_words  words of the summary that are read (30; the title's first 60).
    min_terms      terms a story needs to join or be joined (3).
    index_terms    rarest terms a story is indexed under and looks up (10).
    posting_cap    most recent stories an index term keeps (64).
    min_shared     index terms a candidate must share with the story (1).
    max_candidates candidates scored per story, most shared index terms first (32).
    copy_hours     how long a cluster's event is remembered for its copies (72: the copy
                   level's window, `dedup.window`).
    body_words     words of the article's body read after the summary (0: the body is
                   not read; see the module docstring for when it pays).
    decay          how much higher the threshold is for two stories `decay_hours` or more
                   apart than for two of the same moment; it grows linearly with the time
                   between them up to `decay_hours` (0.2: 0.35 at once, 0.45 three hours
                   apart, 0.55 from six hours on). A preview and the result, a statement
                   and the reply come hours apart.
    decay_hours    the time over which the threshold rises by `decay`, flat after it (6;
                   0 or more than the window: the whole window).
    min_common     terms two stories must share to be linked (3: a cosine carried by one
                   or two words, a column's name, is no event).
    places         a country, its people and its capital are one term (False:
                   monitor.dedup.places, from CLDR's names; bench/event_eval.py measured
                   no held-out gain beyond the folds' noise).
    idf_power      idf is raised to this in the weights (1; below 1 common words weigh
                   more: more links, on the labelled days and in templates alike).
    """
    window_hours: float = 24.0
    threshold: float = 0.35
    title_floor: float = 0.0
    title_weight: int = 2
    summary_words: int = 30
    min_terms: int = 3
    index_terms: int = 10
    posting_cap: int = 64
    max_candidates: int = 32
    copy_hours: float = 72.0
    min_shared: int = 1
    body_words: int = 0
    decay: float = 0.2
    decay_hours: float = 6.0
    min_common: int = 3
    places: bool = False
    idf_power: float = 1.0


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


# --------------------------------------------------------------------------- terms

def _read(text: str, limit: int) -> list[str]:
    """The first `limit` normalised words of `text`, function words dropped; the text past
    what those words can take is never read."""
    return list(filterfalse(STOP_WORDS.__contains__, first_words(text[: limit * _CHARS_PER_WORD], limit, _WORD)))


def words(title: str, summary: str = "", summary_words: int = EventSettings.summary_words, body: str = "",
          body_words: int = EventSettings.body_words
          ) -> tuple[list[str], list[str]]:
    """The normalised content words of the title (its first `TITLE_WORDS`), and of the
    summary's first `summary_words` words followed by the body's first `body_words`. Text
    past what those words can take is never read (a feed may carry a whole article, or
    megabytes of junk, as its summary)."""
    t = _read(title, TITLE_WORDS)
    s = _read(summary, summary_words)
    if body and body_words > 0:
        s += _read(body, body_words)
    return t, s


def terms(title: str, summary: str = "", *, title_weight: int = EventSettings.title_weight,
          summary_words: int = EventSettings.summary_words,
          body: str = "", body_words: int = EventSettings.body_words, places: bool = EventSettings.places,
          of: Callable[[str], str] = term_of) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """Term counts of a story (a title word counts `title_weight` times), term counts of
    its title alone and, per term, the first word of the story it came from (for
    explaining a link). With `places`, countries, their people and capitals are one term
    each (`monitor.dedup.places`). `of` gives a word's term (`term_of`; a rebuild passes
    its memo of it)."""
    t, s = words(title, summary, summary_words, body, body_words)
    counts: dict[str, int] = {}
    in_title: dict[str, int] = {}
    surface: dict[str, str] = {}
    for term, w in place_terms(t, places, of):
        in_title[term] = in_title.get(term, 0) + 1
        counts[term] = counts.get(term, 0) + title_weight
        surface.setdefault(term, w)
    for term, w in place_terms(s, places, of):
        counts[term] = counts.get(term, 0) + 1
        surface.setdefault(term, w)
    return counts, in_title, surface


# --------------------------------------------------------------------------- the grouper


class EventGrouper:
    """The in-memory event index over a sliding window of stories (see module docstring)."""

    # `prune` numbers the terms again when there are this many more than twice as many as
    # the last time it did: a bound on the vocabulary of a process that runs for months.
    vocabulary_slack = 200_000

    def __init__(self, settings: EventSettings = EventSettings(),
                 frequencies: DocumentFrequencies | None = None) -> None:
        self.settings = settings
        self.frequencies = frequencies if frequencies is not None else DocumentFrequencies.shipped()
        self._copies = CopyEvents(max(settings.copy_hours, settings.window_hours), _UNDATED)  # for copies
        # the indexed stories (not copies), one column entry each beside the window's ids and times
        self._w = Window(settings.window_hours, _UNDATED)
        self._events: IdColumn = array("q")
        self._start = array("q")  # where the story's terms start in the term columns (absolute)
        self._tbase = 0  # absolute offset of the term columns' first entry
        self._tids = array("i")  # term numbers
        self._weights = array("f")  # the term's weight in the story's vector
        self._tweights = array("f")  # its weight in the title's vector (0: not in it); only with title_floor
        self._vocab: dict[str, int] = {}  # term -> its number
        self._names: list[str] = []  # number -> term
        self._compacted = 0  # terms kept by the last compaction
        self._outlets: dict[str, int] = {}
        self._postings: dict[int, array[int]] = {}
        # event -> (serial of its last story, then the outlets of its stories, copies aside)
        self._event_state: dict[int | str, tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self._w)

    # the window's columns, by the names the decision reads
    _ids = property(lambda self: self._w.ids)
    _times = property(lambda self: self._w.times)
    _base = property(lambda self: self._w.base)
    _window = property(lambda self: self._w.span)

    # -- the decision

    def add(self, story_id: int | str, *, cluster: int | str, title: str, summary: str = "",
            source: str = "", published: datetime | None = None, body: str = "") -> EventLink:
        """Decide the story's event (after `Clusterer.add` decided its cluster) and index it.
        `body` is the article's text when it is known (read only with `body_words`)."""
        ts = self._time(published)
        if cluster != story_id:
            known = self._copies.event_of(cluster)
            if known is not None:
                log.debug("event link story=%s kind=copy event=%s of=%s", story_id, known, cluster)
                return EventLink(known, "copy", cluster)
        s = self.settings
        counts, in_title, surface = self._terms(title, summary, body)
        self.frequencies.update(counts)
        vector, rare = self._vector(counts, in_title)
        outlet = self._outlet(source)
        link = EventLink(story_id, "new")
        if len(vector) >= s.min_terms:
            link = self._best(vector, rare, surface, outlet, ts) or link
        self._copies.remember(cluster, link.event, ts)
        self._index(story_id, link.event, ts, outlet, vector, rare)
        if link.kind == "related":
            log.debug("event link story=%s kind=related event=%s of=%s score=%.3f terms=%s",
                      story_id, link.event, link.of, link.score, ",".join(link.terms))
        else:
            log.debug("event link story=%s kind=new event=%s", story_id, link.event)
        return link

    def _best(self, vector: list[tuple[int, float, float]], rare: list[int], surface: dict[str, str],
              outlet: int, ts: float) -> EventLink | None:
        s = self.settings
        query = {t: w for t, w, _tw in vector}
        tquery = {t: tw for t, _w, tw in vector if tw}
        tids, weights, tweights = self._tids, self._weights, self._tweights
        threshold, floor = s.threshold, s.title_floor
        common = s.min_common
        knee = min(s.decay_hours * 3600.0, self._window) if s.decay_hours > 0 else self._window
        slope = s.decay / knee if knee > 0 else 0.0
        times = self._times
        scored: list[tuple[float, int, float]] = []
        for i in self._candidates(rare, ts):
            lo, hi = self._span(i)
            terms_i = tids[lo:hi]
            # dot products in C (map, sum): the same products summed in the same order
            dot = sum(map(mul, map(query.get, terms_i, repeat(0.0)), weights[lo:hi]))
            if dot < threshold + slope * min(abs(ts - times[i]), knee):
                continue
            if common > 1 and sum(map(query.__contains__, terms_i)) < common:
                continue
            if floor > 0 and sum(map(mul, map(tquery.get, terms_i, repeat(0.0)), tweights[lo:hi])) < floor:
                continue
            scored.append((-dot, i, dot))
        if not scored:
            return None
        scored.sort()  # best first; equal scores: the older story
        for _neg, i, dot in scored:
            event = self._events[i]
            if outlet >= 0 and outlet in self._event_state.get(event, (0,))[1:]:
                continue
            return EventLink(event, "related", self._ids[i], round(dot, 3), self._explain(query, i, surface))
        return None

    def _span(self, i: int) -> tuple[int, int]:
        """Where story i's terms are in the term columns."""
        lo = self._start[i] - self._tbase
        hi = self._start[i + 1] - self._tbase if i + 1 < len(self._start) else len(self._tids)
        return lo, hi

    def _explain(self, query: dict[int, float], i: int, surface: dict[str, str]) -> tuple[str, ...]:
        """The story's words behind the five shared terms that carried most of the score."""
        shared = [(query[t] * self._weights[j], t) for j in range(*self._span(i))
                  if (t := self._tids[j]) in query]
        names = self._names
        return tuple(surface.get(names[t], names[t]) for _w, t in heapq.nlargest(5, shared))

    def _candidates(self, rare: list[int], ts: float) -> list[int]:
        """Stories in the window sharing index terms with the story, most shared first
        (then the newest), at most `max_candidates`, in window order (`postings`)."""
        s = self.settings
        return candidates(self._postings, rare, self._times, self._base, ts, self._window, s.min_shared,
                          s.max_candidates)

    def _vector(self, counts: dict[str, int], in_title: dict[str, int]
                ) -> tuple[list[tuple[int, float, float]], list[int]]:
        """(term number, weight, title weight) triples, each part L2-normalised; and the
        numbers of the `index_terms` rarest terms (highest idf; ties: the term that sorts
        first, so that the choice does not hang on the order terms were first seen in)."""
        vocab, names, df = self._vocab, self._names, self.frequencies.df
        log = math.log
        top = log(self.frequencies.documents + 1) + 1.0  # idf = ln((N + 1) / (df + 1)) + 1
        power = self.settings.idf_power
        raw: list[tuple[int, float, float]] = []
        rarity: list[tuple[float, str, int]] = []
        norm = tnorm = 0.0
        for term, count in counts.items():
            tid = vocab.get(term)
            if tid is None:
                tid = vocab[term] = len(names)
                names.append(term)
            idf = top - log(df.get(term, 0) + 1)
            rarity.append((-idf, term, tid))
            idf **= power
            w = (1.0 + log(count)) * idf if count > 1 else idf
            tc = in_title.get(term, 0)
            tw = ((1.0 + log(tc)) * idf if tc > 1 else idf) if tc else 0.0
            norm += w * w
            tnorm += tw * tw
            raw.append((tid, w, tw))
        norm = 1.0 / (math.sqrt(norm) or 1.0)
        tnorm = 1.0 / (math.sqrt(tnorm) or 1.0)
        rare = [t for _r, _term, t in heapq.nsmallest(self.settings.index_terms, rarity)]
        return [(t, w * norm, tw * tnorm) for t, w, tw in raw], rare

    # -- the index

    def _outlet(self, source: str) -> int:
        if not source:
            return -1
        n = self._outlets.get(source)
        if n is None:
            n = self._outlets[source] = len(self._outlets)
        return n

    def _index(self, story_id: int | str, event: int | str, ts: float, outlet: int,
               vector: list[tuple[int, float, float]], rare: list[int]) -> None:
        self._enter(story_id, event, ts, outlet, self._tbase + len(self._tids), len(vector), rare)
        if vector:
            tids, ws, tws = zip(*vector, strict=True)
            self._tids.extend(tids)
            self._weights.extend(ws)
            if self.settings.title_floor > 0:
                self._tweights.extend(tws)

    def _enter(self, story_id: int | str, event: int | str, ts: float, outlet: int, start: int, terms: int,
               rare: list[int]) -> None:
        """What `_index` does but extend the term columns: the story's window entry, its
        event, where its terms start, its event's outlets, and its rarest terms' postings."""
        serial = self._w.append(story_id, ts)
        self._events = append_id(self._events, event)
        self._start.append(start)
        outlets = self._event_state.get(event, (0,))[1:]
        if outlet >= 0 and outlet not in outlets:
            outlets += (outlet,)
        self._event_state[event] = (serial, *outlets)
        if terms < self.settings.min_terms:
            return
        cap = self.settings.posting_cap
        for tid in rare:
            posting = self._postings.get(tid)
            if posting is None:
                self._postings[tid] = array("q", [serial])
            else:
                posting.append(serial)
                if len(posting) > cap:
                    del posting[0]

    def _time(self, published: datetime | None) -> float:
        """A story's time: its `published` time, or the latest seen when it has none (as
        the copy level does; stories before the first dated one take its time)."""
        return self._w.time(published, self._copies.window.times)

    def prune(self, now: datetime) -> int:
        """Drop index entries older than the window before `now`; return how many."""
        n = self._w.expired(now)
        if n:
            gone = self._w.base + n  # serials below this are dropped
            for i in range(n):
                event = self._events[i]
                state = self._event_state.get(event)
                if state is not None and state[0] < gone:
                    del self._event_state[event]
            cut = self._span(n - 1)[1]
            for column in (self._tids, self._weights, self._tweights):
                del column[:cut]
            self._tbase += cut
            del self._events[:n]
            del self._start[:n]
            self._w.cut(n)
            for tid in [t for t, p in self._postings.items() if p[-1] < gone]:
                del self._postings[tid]
            log.debug("event index pruned dropped=%d kept=%d", n, len(self._ids))
            if len(self._names) > self.vocabulary_slack + 2 * self._compacted:
                self._compact()
        self._copies.prune(now)
        return n

    @property
    def vocabulary(self) -> int:
        """How many terms have a number (those of the stories in the window, and those
        seen since the last compaction)."""
        return len(self._names)

    def _compact(self) -> None:
        """Number again only the terms of stories still in the window, and forget the
        online document frequency of terms seen once and not in the shipped table: the
        vocabulary of a long-running process grows with every name, typo and figure it
        has ever seen, not with the window, until this cuts it back."""
        live = sorted(set(self._tids))
        renumber = {old: new for new, old in enumerate(live)}
        names = [self._names[t] for t in live]
        self._names = names
        self._vocab = {term: n for n, term in enumerate(names)}
        self._tids = array("i", [renumber[t] for t in self._tids])
        self._postings = {renumber[t]: p for t, p in self._postings.items() if t in renumber}
        shipped, kept = shipped_table()[0], self._vocab
        df = self.frequencies.df
        for term in [t for t, n in df.items() if n <= 1 and t not in shipped and t not in kept]:
            del df[term]
        self._compacted = len(names)
        log.info("event vocabulary compacted terms=%d", len(names))

    def learn(self, story_id: int | str, *, cluster: int | str | None, event: int | str | None, title: str | None,
              summary: str | None = "", source: str | None = "", published: datetime | str | None = None,
              body: str | None = "") -> None:
        """Index a story whose cluster and event were decided elsewhere (a stored one at
        start-up, or one another node sharing the database stored), deciding nothing again.
        `event` None means the story's own id; `published` may be an ISO 8601 or RFC 822 string."""
        if isinstance(published, str):
            published = parse_time(published)
        counted = self._count(story_id, cluster, event, title, summary, published, body)
        if counted is not None:
            ts, event_id, counts, in_title = counted
            self._index(story_id, event_id, ts, self._outlet(source or ""), *self._vector(counts, in_title))

    def _count(self, story_id: int | str, cluster: int | str | None, event: int | str | None, title: str | None,
               summary: str | None, published: datetime | None, body: str | None = "", index: bool = True
               ) -> tuple[float, int | str, dict[str, int], dict[str, int]] | None:
        """What `learn` does short of indexing: the cluster's event remembered for its copies,
        the story's terms counted in the document frequencies; its time, event and term counts
        (story, title), or None: a copy of a cluster remembered, or not `index` (a rebuild's
        story older than the window)."""
        remembered = self._remember(story_id, cluster, event, published)
        if remembered is None:
            return None
        ts, event = remembered
        if not index:  # read for the document frequencies alone: its different terms, not counted
            self.frequencies.update(self._term_set(title, summary, body))
            return None
        counts, in_title, _surface = self._terms(title, summary, body)
        self.frequencies.update(counts)
        return ts, event, counts, in_title

    def _remember(self, story_id: int | str, cluster: int | str | None, event: int | str | None,
                  published: datetime | None) -> tuple[float, int | str] | None:
        """A stored story's time and event (None: its own id), its cluster's event
        remembered for its copies; None for a copy of a cluster remembered already."""
        ts = self._time(published)
        cluster = story_id if cluster is None else cluster
        event = story_id if event is None else event
        if cluster != story_id and self._copies.event_of(cluster) is not None:
            return None
        self._copies.remember(cluster, event, ts)
        return ts, event

    def _terms(self, title: str | None, summary: str | None, body: str | None = "",
               of: Callable[[str], str] = term_of) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
        """A story's `terms` under these settings (`of`: a rebuild's memo of `term_of`)."""
        s = self.settings
        return terms(title or "", summary or "", title_weight=s.title_weight, summary_words=s.summary_words,
                     body=body or "", body_words=s.body_words, places=s.places, of=of)

    def _term_set(self, title: str | None, summary: str | None, body: str | None = "",
                  of: Callable[[str], str] = term_of) -> set[str]:
        """A story's different terms (its counts' keys, not counted) under these settings."""
        s = self.settings
        return term_set(words(title or "", summary or "", s.summary_words, body or "", s.body_words), s.places, of)

    # -- snapshots (monitor.dedup.snapshot writes and checks the file)

    _STATE = ("_events", "_start", "_tbase", "_tids", "_weights", "_tweights", "_names",
              "_compacted", "_outlets", "_postings", "_event_state")

    def newest(self) -> int | str | None:
        """The id of the story indexed last (None when the index is empty)."""
        return self._w.newest()

    def state(self) -> dict[str, Any]:
        """The index and its document frequencies as plain values (the live containers,
        not copies: read it while nothing adds to or prunes the index)."""
        out = {name: getattr(self, name) for name in self._STATE}
        out |= self._w.state("window.") | self._copies.state("copies.")
        out["df"], out["documents"] = self.frequencies.df, self.frequencies.documents
        return out

    @classmethod
    def from_state(cls, state: dict[str, Any], settings: EventSettings = EventSettings()) -> EventGrouper:
        """The index `state()` gave, under the same settings. Raises ValueError when the
        state does not hold together (a column of the wrong type or length)."""
        df, documents = state["df"], state["documents"]
        if not isinstance(df, dict) or not isinstance(documents, int):
            raise ValueError("event snapshot: document frequencies")
        self = cls(settings, DocumentFrequencies(df, documents))
        restore_columns(self, state, cls._STATE, ("_events",), "event snapshot")
        self._w.restore(state, "window.", "event snapshot")
        self._copies.restore(state, "copies.", "event snapshot")
        self._vocab = {term: n for n, term in enumerate(self._names)}
        n = len(self._ids)
        if not (len(self._events) == len(self._times) == len(self._start) == n
                and len(self._tids) == len(self._weights)
                and len(self._tweights) == (len(self._tids) if settings.title_floor > 0 else 0)
                and len(self._vocab) == len(self._names) and max(self._tids, default=-1) < len(self._names)
                and all(isinstance(p, array) for p in self._postings.values())):
            raise ValueError("event snapshot: columns of different lengths")
        return self

    @classmethod
    def rebuild(cls, rows: Iterable[tuple[Any, ...]], settings: EventSettings = EventSettings(),
                frequencies: DocumentFrequencies | None = None, *, prune: bool = False,
                index_from: int | None = None) -> EventGrouper:
        """Index stored stories with their stored clusters and events, without deciding again.

        `rows` are (story_id, cluster, event, title, summary, source, published) in arrival
        order; `event` None means the story's own id (a database from before events);
        `published` may be a datetime, an ISO 8601 or RFC 822 string, or None. Every
        story that is not a copy updates the document frequencies, as it did when it came.
        With `prune`, every 10,000 rows the index drops what is older than the window
        before the newest story read so far (no story read later is that far from it):
        the rows read for `copy_hours` need not hold the terms of stories older than the
        window in memory all at once. With `index_from`, a story whose id is below it gives
        its cluster's event, for the copies that may still come (`copy_hours`), and its
        terms to the document frequencies, but is not indexed (the daemon passes the first
        story fetched within the window: two thirds of a 72-hour read are older). The
        vectors are worked out in numpy a run of stories at a time, the same bit for bit
        (`monitor.dedup.event_rebuild`)."""
        self = cls(settings, frequencies)
        rebuild_rows(self, rows, prune=prune, index_from=index_from)
        log.info("event index rebuilt stories=%d", len(self._ids))
        return self
