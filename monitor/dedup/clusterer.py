"""The Clusterer: the dedup decision (same, content, near, new) and the in-memory
index over a sliding window of stories. The rules are in `monitor.dedup`."""
from __future__ import annotations

import hashlib
import logging
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from monitor.urls import canonical_url

from .compact import PACKED, TextColumn, pack
from .minhash import (
    MASK32,
    item_hashes,
    minhash_bands,
    minhash_bands_flat,
    pair_hashes,
    pair_items,
    permutations,
    word_items,
)
from .text import STOP_WORDS, Prepared, prepare
from .window import IdColumn, Window, append_id, parse_time, restore_columns

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds and index shape; see the module docstring for how each is used.

    window_hours    stories further apart than this are never compared (72).
    lead_words      words of the summary that count as the lead (40).
    title_alone     title score that decides alone, lead permitting (90).
    lead_floor      lowest lead score that still lets a title decide (45).
    lead_alone      lead score that decides with a title of at least title_floor (80, 30).
    combined        mean of title and lead scores that decides (75).
    title_sure      title score that decides whatever the leads say, for titles of at
                    least title_sure_words words (97, 6): a desk that rewrote the lead.
    subset_ratio    shorter/longer word count from which token_set_ratio counts (0.75).
    numbers_overlap share of the smaller set of numbers found in the other (0.5).
    title_bands/rows, lead_bands/rows   MinHash LSH shape (6x2 and 8x2).
    bucket_cap      most recent stories kept per bucket (48).
    max_candidates  candidates verified per story, most shared buckets first (24).
    """

    window_hours: float = 72.0
    lead_words: int = 40
    title_alone: float = 90.0
    lead_floor: float = 45.0
    lead_alone: float = 80.0
    title_floor: float = 30.0
    combined: float = 75.0
    title_sure: float = 97.0
    title_sure_words: int = 6
    subset_ratio: float = 0.75
    numbers_overlap: float = 0.5
    title_bands: int = 6
    title_rows: int = 2
    lead_bands: int = 8
    lead_rows: int = 2
    bucket_cap: int = 48
    max_candidates: int = 24


@dataclass(frozen=True)
class Verdict:
    """Where a story went: its cluster, why, which story it duplicates, how closely."""

    cluster: int | str
    kind: str  # "new" | "same" | "content" | "near"
    of: int | str | None = None
    score: float | None = None


_MIN_KEY_WORDS = 4  # a shorter title with no lead ("كاريكاتير") names a column, not a story
_MIN_TITLE_ALONE = 3  # words a title needs to decide alone when a lead is missing
_SURE = 97.0  # a match this close ends the search among candidates

_DIGIT = re.compile(r"\d")


class _View:
    """One story's text as verification reads it; word pairs and figures on demand."""

    __slots__ = ("title", "title_s", "lead", "lead_s", "_bigrams", "_nums", "_distinct")

    def __init__(self, text: str) -> None:
        title_s, _, lead_s = text.partition("\n")
        self.title_s, self.lead_s = title_s, lead_s
        self.title, self.lead = title_s.split(), lead_s.split()
        self._bigrams: set[tuple[str, str]] | None = None
        self._nums: tuple[set[str], set[str]] | None = None
        self._distinct: tuple[int, int] | None = None

    def bigrams(self) -> set[tuple[str, str]]:
        """The lead's word pairs (as pairs: words hold no space, so each is one "a b")."""
        if self._bigrams is None:
            lead = self.lead
            self._bigrams = set(zip(lead, lead[1:], strict=False))
        return self._bigrams

    def distinct(self) -> tuple[int, int]:
        """How many different words the title and the whole lead hold."""
        if self._distinct is None:
            self._distinct = (len(set(self.title)), len(set(self.lead)))
        return self._distinct

    def numbers(self) -> tuple[set[str], set[str]]:
        """Words with a digit: of the title, and of title and lead."""
        if self._nums is None:
            title = {w for w in self.title if _DIGIT.search(w)}
            self._nums = (title, title | {w for w in self.lead if _DIGIT.search(w)})
        return self._nums


# --------------------------------------------------------------------------- clusterer


_BATCH = 4096  # rows of a rebuild whose signatures are computed together
_OFFSET_LIMIT = 2**31 - 2**20  # relink before slot offsets leave int32
_RELINK_RUN = 1 << 16  # slots a relink links at once
_UNDATED = float("-inf")  # before any dated story: the time of the first one, once known


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class Clusterer:
    """The in-memory dedup index over a sliding window of stories (see module docstring).

    Layout (compact: about 0.6 KB a story, no object per story). Stories are numbered
    in arrival order; the window (`monitor.dedup.window`) holds their ids and times, and
    column arrays beside it hold, per story still indexed, its cluster, time of its
    cluster's first story, URL and content hashes, and its text (title and lead; one
    byte a letter when it has only ASCII and Arabic letters), all texts in one byte
    array (`monitor.dedup.compact`).
    Every story owns `bands + 2` slots: its bucket keys, then its URL and content-key
    hashes. `_bkey` holds each slot's 32-bit key and `_next` the previous slot whose key
    has the same head; `_heads` (a power of two entries, at least one a slot, grown and
    relinked in one pass when the slots outgrow it) holds the newest slot of each head.
    Slot numbers are int32 offsets from `_epoch`. A bucket is walked newest first and the
    walk ends at the first slot older than the oldest story indexed, so pruning only cuts
    the columns' fronts; nothing is unlinked. A walk gives up after 4 x bucket_cap slots
    of other keys (a head shared with a crowded bucket).
    """

    def __init__(self, settings: DedupSettings = DedupSettings()) -> None:
        self.settings = settings
        s = settings
        self._title_perms = permutations(s.title_bands * s.title_rows, 0x5EED1)
        self._lead_perms = permutations(s.lead_bands * s.lead_rows, 0x5EED2)
        self._nb = s.title_bands + s.lead_bands
        self._stride = self._nb + 2  # slots a story owns: bands, URL, content key
        self._w = Window(s.window_hours, _UNDATED)  # ids and times of the stories indexed
        self._clusters: IdColumn = array("q")
        self._texts = TextColumn()
        self._since = array("d")  # time of the cluster's first story still indexed
        self._urls = array("Q")
        self._keys = array("Q")
        self._bkey = array("I")
        self._next = array("i")
        self._heads = array("i", [-1]) * (1 << 16)
        self._epoch = 0  # slot numbers are kept as int32 offsets from this slot

    def __len__(self) -> int:
        return len(self._w)

    @property
    def latest(self) -> datetime | None:
        """The latest story time seen so far (None before the first dated story)."""
        latest = self._w.latest
        return None if latest is None else datetime.fromtimestamp(latest, UTC)

    # -- the decision

    def add(self, story_id: int | str, *, title: str, summary: str = "", url: str = "",
            published: datetime | None = None, canonical: bool = False) -> Verdict:
        """Decide which cluster the story joins, index it, and say why. With `canonical`,
        `url` is already canonical (`canonical_url`: the pipeline stores it so)."""
        ts = self._time(published)
        p = prepare(title, summary, lead_words=self.settings.lead_words)
        canon = url if canonical else canonical_url(url)
        url_h = _h64(canon) if canon else 0
        if url_h:
            i = self._exact(url_h, self._nb, self._urls, ts, newest=True)
            if i is not None:
                return Verdict(self._clusters[i], "same", self._w.ids[i], 100.0)
        text = " ".join(p.title) + "\n" + " ".join(p.lead)
        key_h = 0
        if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS:
            key_h = _h64(text)
            i = self._exact(key_h, self._nb + 1, self._keys, ts, newest=False)
            if i is not None:
                self._index(story_id, self._clusters[i], ts, pack(text), url_h, key_h,
                            self._bands(p), self._since[i])
                return Verdict(self._clusters[i], "content", self._w.ids[i], 100.0)
        bands = self._bands(p)
        packed = pack(text)
        best: tuple[float, float, int] | None = None
        candidates = self._candidates(bands, ts)
        if candidates:
            texts = self._texts
            view = compact_view = None
            for i in candidates:
                other_compact = texts.compact(i) if packed[1] == PACKED else None
                if other_compact is not None:
                    other = _View(other_compact)
                    if compact_view is None:
                        compact_view = _View(packed[0].decode("latin-1"))
                    mine = compact_view
                else:
                    other = _View(texts.text(i))
                    if view is None:
                        view = _View(text)
                    mine = view
                score = self._verify(mine, other)
                if score is None:
                    continue
                rank = (score, -self._since[i])
                if best is None or rank > best[:2]:
                    best = (rank[0], rank[1], i)
                if score >= _SURE:
                    break  # candidates come most-shared-buckets first: this one will do
        if best is not None:
            i = best[2]
            cluster, of = self._clusters[i], self._w.ids[i]
            self._index(story_id, cluster, ts, packed, url_h, key_h, bands, self._since[i])
            return Verdict(cluster, "near", of, round(best[0], 1))
        self._index(story_id, story_id, ts, packed, url_h, key_h, bands, ts)
        return Verdict(story_id, "new", None, None)

    def learn(self, story_id: int | str, cluster: int | str, *, title: str, summary: str = "", url: str = "",
              published: datetime | None = None) -> None:
        """Index a story whose cluster was decided elsewhere (another node sharing the
        database), so later stories here can join it; nothing is decided again."""
        ts = self._time(published)
        p = prepare(title or "", summary or "", lead_words=self.settings.lead_words)
        canon = canonical_url(url or "")
        url_h = _h64(canon) if canon else 0
        text = " ".join(p.title) + "\n" + " ".join(p.lead)
        key_h = _h64(text) if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS else 0
        since = ts
        if cluster != story_id:
            try:  # the newest member of the cluster still indexed carries its first time
                i = len(self._clusters) - 1 - self._clusters[::-1].index(cluster)  # type: ignore[arg-type]  # str in ints: caught
                since = self._since[i]
            except (ValueError, TypeError):  # not indexed (or not a whole number, in an array of them)
                pass
        self._index(story_id, cluster, ts, pack(text), url_h, key_h, self._bands(p), since)

    def prune(self, now: datetime) -> int:
        """Drop index entries older than the window before `now`; return how many."""
        n = self._w.expired(now)
        if n:
            for column in (self._clusters, self._since, self._urls, self._keys):
                del column[:n]
            self._texts.cut(n)
            del self._bkey[:n * self._stride]
            del self._next[:n * self._stride]
            self._w.cut(n)
            log.debug("dedup index pruned dropped=%d kept=%d", n, len(self._w.ids))
        return n

    # -- snapshots (monitor.dedup.snapshot writes and checks the file)

    _STATE = ("_clusters", "_since", "_urls", "_keys", "_bkey", "_next", "_heads", "_epoch")

    def newest(self) -> int | str | None:
        """The id of the story indexed last (None when the index is empty)."""
        return self._w.newest()

    def state(self) -> dict[str, Any]:
        """The index as plain values (the live containers, not copies: read it while
        nothing adds to or prunes the index)."""
        return ({name: getattr(self, name) for name in self._STATE} | self._w.state("window.")
                | self._texts.state("text."))

    @classmethod
    def from_state(cls, state: dict[str, Any], settings: DedupSettings = DedupSettings()) -> Clusterer:
        """The index `state()` gave, under the same settings. Raises ValueError when the
        state does not hold together (a column of the wrong type or length)."""
        self = cls(settings)
        restore_columns(self, state, cls._STATE, ("_clusters",), "dedup snapshot")
        self._w.restore(state, "window.", "dedup snapshot")
        self._texts.restore(state, "text.", "dedup snapshot")
        n = len(self._w.ids)
        if not (len(self._clusters) == len(self._texts) == len(self._w.times) == len(self._since)
                == len(self._urls) == len(self._keys) == n
                and len(self._bkey) == len(self._next) == n * self._stride
                and len(self._heads) >= len(self._bkey) and len(self._heads) & (len(self._heads) - 1) == 0):
            raise ValueError("dedup snapshot: columns of different lengths")
        return self

    @classmethod
    def rebuild(cls, rows: Iterable[tuple[Any, ...]], settings: DedupSettings = DedupSettings(), *,
                canonical: bool = False) -> Clusterer:
        """Index stored stories with their stored clusters, without deciding again.

        `rows` are (story_id, cluster, title, summary, url, source, published) in arrival
        order, as the database keeps them; `published` may be a datetime, an ISO 8601 or
        RFC 822 string, or None. Rows are read in batches whose MinHash signatures are
        computed together (`minhash_bands_flat`, the word pairs' hashes worked out from
        the words' in numpy: `pair_items`); buckets are linked once, at the end.
        With `canonical`, the rows' URLs are already canonical (`canonical_url`, as the
        pipeline stores them beside the URL): they are not worked out again.
        """
        self = cls(settings)
        first: dict[int | str, float] = {}
        rows = iter(rows)
        while batch := list(islice(rows, _BATCH)):
            self._index_batch(batch, first, canonical)
        del first
        self._relink()
        log.info("dedup index rebuilt stories=%d", len(self._w.ids))
        return self

    # -- internals

    def _time(self, published: datetime | None) -> float:
        return self._w.time(published, self._since)

    def _exact(self, h: int, position: int, column: array[int], ts: float,
               newest: bool) -> int | None:
        """Index of the newest (or oldest) story in the window whose URL/content hash is h."""
        key = (h & MASK32) or 1
        stride, floor = self._stride, self._w.base * self._stride - self._epoch
        bkey, nxt = self._bkey, self._next
        slot = self._heads[key & (len(self._heads) - 1)]
        found = None
        steps = 0
        while slot >= floor and steps < 4096:
            j = slot - floor
            if bkey[j] == key and j % stride == position and column[j // stride] == h:
                i = j // stride
                if not _near_in_time(self._w.times[i], ts, self._w.span):
                    if newest:
                        return None
                else:
                    found = i
                    if newest:
                        return i
            slot = nxt[j]
            steps += 1
        return found

    def _index_batch(self, batch: list[tuple[Any, ...]], first: dict[int | str, float],
                     canonical: bool) -> None:
        """`rebuild`'s rows indexed unlinked, their signatures computed together (the
        items `_items` gives, worked out in bulk) and their slots' keys written at once."""
        s = self.settings
        prepared = [prepare(title or "", summary or "", lead_words=s.lead_words)
                    for _id, _cluster, title, summary, *_rest in batch]
        slots = np.zeros((len(batch), self._stride), dtype=np.uint32)
        slots[:, :s.title_bands] = minhash_bands_flat(*word_items([_title_words(p) for p in prepared]),
                                                      self._title_perms, s.title_rows, 1 << 20)
        slots[:, s.title_bands:self._nb] = minhash_bands_flat(*pair_items([p.lead for p in prepared]),
                                                              self._lead_perms, s.lead_rows, 2 << 20)
        for n, ((story_id, cluster, _t, _s, url, _o, published), p) in enumerate(zip(batch, prepared, strict=True)):
            if isinstance(published, str):
                published = parse_time(published)
            ts = self._time(published)  # in row order: the first dated story dates those before it
            canon = (url or "") if canonical else canonical_url(url or "")
            url_h = _h64(canon) if canon else 0
            text = " ".join(p.title) + "\n" + " ".join(p.lead)
            key_h = _h64(text) if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS else 0
            cluster = story_id if cluster is None else cluster
            slots[n, self._nb:] = self._append(story_id, cluster, ts, pack(text), url_h, key_h,
                                               first.setdefault(cluster, ts))
        self._bkey.frombytes(slots.tobytes())
        self._next.frombytes(np.full(slots.size, -1, dtype=np.int32).tobytes())

    def _bands(self, p: Prepared) -> list[int]:
        s = self.settings
        title_items, lead_items = _items(p)
        keys = minhash_bands(title_items, self._title_perms, s.title_rows, 1 << 20)
        keys += [0] * (s.title_bands - len(keys))
        keys += minhash_bands(lead_items, self._lead_perms, s.lead_rows, 2 << 20)
        keys += [0] * (self._nb - len(keys))
        return keys

    def _candidates(self, bands: list[int], ts: float) -> list[int]:
        """Indexes of the stories sharing a bucket, most shared buckets first; a story that
        shares only one bucket, and that one full (a stop-band: a band of words so common
        that `bucket_cap` stories of the window share it), is no candidate."""
        counts: dict[int, int] = {}  # twice the buckets shared, plus 1 when one is not full
        cap = self.settings.bucket_cap
        stride, floor = self._stride, self._w.base * self._stride - self._epoch
        bkey, nxt, heads = self._bkey, self._next, self._heads
        mask = len(heads) - 1
        get = counts.get
        for key in bands:
            if not key:
                continue
            slot = heads[key & mask]
            members = []
            other = 0
            while slot >= floor:
                j = slot - floor
                if bkey[j] == key:
                    members.append(j // stride)
                    if len(members) >= cap:
                        break
                else:
                    other += 1
                    if other > 4 * cap:  # a crowded head shared with another bucket
                        break
                slot = nxt[j]
            flag = len(members) < cap
            for i in members:
                counts[i] = (get(i, 0) + 2) | flag
        if not counts:
            return []
        ranked = sorted([(-(v >> 1), i) for i, v in counts.items() if v > 2])
        out = []
        times, window, limit = self._w.times, self._w.span, self.settings.max_candidates
        for _n, i in ranked:
            if _near_in_time(times[i], ts, window):
                out.append(i)
                if len(out) >= limit:
                    break
        return out

    def _verify(self, a: _View, b: _View) -> float | None:
        s = self.settings
        t1, t2 = a.title, b.title
        if not t1 or not t2:
            return None
        l1, l2 = a.lead, b.lead
        has_lead = bool(l1) and bool(l2) and min(len(l1), len(l2)) >= 3
        words = min(len(t1), len(t2))
        if has_lead:
            t_min = min(s.title_alone, s.title_floor, 2 * s.combined - 100.0)
            if words >= s.title_sure_words:
                t_min = min(t_min, s.title_sure)
        else:
            t_min = s.title_alone
        title_score = _score(a.title_s, b.title_s, a.distinct()[0], b.distinct()[0], s.subset_ratio, t_min - 1e-6)
        if title_score < t_min - 1e-6:
            return None
        if not has_lead:
            if words < _MIN_TITLE_ALONE:
                return None
            score = title_score
        else:
            # The lowest lead score any rule would accept with this title score.
            need = 2 * s.combined - title_score
            if title_score >= s.title_floor:
                need = min(need, s.lead_alone)
            if title_score >= s.title_alone:
                need = min(need, s.lead_floor)
            if title_score >= s.title_sure and words >= s.title_sure_words:
                need = 0.0
            b1, b2 = a.bigrams(), b.bigrams()
            shared = 100.0 * len(b1 & b2) / min(len(b1), len(b2))
            n = min(len(l1), len(l2))
            s1, w1 = (a.lead_s, a.distinct()[1]) if n == len(l1) else (" ".join(l1[:n]), len(set(l1[:n])))
            s2, w2 = (b.lead_s, b.distinct()[1]) if n == len(l2) else (" ".join(l2[:n]), len(set(l2[:n])))
            lead_score = max(_score(s1, s2, w1, w2, s.subset_ratio, max(0.0, need - 1e-6)), shared)
            ok = ((title_score >= s.title_alone and lead_score >= s.lead_floor)
                  or (title_score >= s.title_sure and words >= s.title_sure_words)
                  or (lead_score >= s.lead_alone and title_score >= s.title_floor)
                  or (title_score + lead_score) / 2 >= s.combined)
            if not ok:
                return None
            score = (title_score + lead_score) / 2
        (nt1, n1), (nt2, n2) = a.numbers(), b.numbers()
        if nt1 and nt2 and not nt1 & nt2:
            return None
        if len(n1) >= 2 and len(n2) >= 2 and len(n1 & n2) < s.numbers_overlap * min(len(n1), len(n2)):
            return None
        return score

    def _index(self, story_id: int | str, cluster: int | str, ts: float, text: tuple[bytes, int],
               url_h: int, key_h: int, bands: list[int], since: float) -> None:
        keys = bands + self._append(story_id, cluster, ts, text, url_h, key_h, since)
        bkey, nxt = self._bkey, self._next
        slot = (self._w.base + len(self._w.ids) - 1) * self._stride - self._epoch
        heads = self._heads
        mask = len(heads) - 1
        for key in keys:
            bkey.append(key)
            if key:
                h = key & mask
                nxt.append(heads[h])
                heads[h] = slot
            else:
                nxt.append(-1)
            slot += 1
        if len(bkey) > len(heads) or slot >= _OFFSET_LIMIT:
            self._relink()

    def _append(self, story_id: int | str, cluster: int | str, ts: float, text: tuple[bytes, int], url_h: int,
                key_h: int, since: float) -> list[int]:
        """The story's entries in the columns but its slots; the keys of its URL and content
        slots (32 bits of the hash, never 0; 0 when there is none)."""
        self._w.append(story_id, ts)
        self._clusters = append_id(self._clusters, cluster)
        self._texts.append(*text)
        self._since.append(since)
        self._urls.append(url_h)
        self._keys.append(key_h)
        return [(url_h & MASK32) or 1 if url_h else 0, (key_h & MASK32) or 1 if key_h else 0]

    def _relink(self) -> None:
        """Size the heads to the slots (a power of two, at least one a slot), count slots
        from the oldest one indexed, and link every slot again, oldest first: each slot to
        the one before it with the same head, each head to its last slot. In numpy, a run
        of slots at a time (a bound on the memory it takes beside the index)."""
        size = 1 << 16
        while size < len(self._bkey):
            size <<= 1
        del self._heads  # the old heads go before the new ones come
        linked = array("i", [-1]) * size
        heads = np.frombuffer(linked, dtype=np.int32)  # written in place, as the slots' column
        nxt = np.frombuffer(self._next, dtype=np.int32)
        keys = np.frombuffer(self._bkey, dtype=np.uint32)
        mask = np.uint32(size - 1)
        for start in range(0, len(keys), _RELINK_RUN):
            slots = np.flatnonzero(keys[start:start + _RELINK_RUN]) + start
            head = keys[slots] & mask
            order = np.argsort(head, kind="stable")  # by head, then by slot
            head, slots = head[order], slots[order]
            first = np.ones(len(head), dtype=bool)
            first[1:] = head[1:] != head[:-1]
            # the first of a head in the run follows the head's last slot so far; the others, the one before
            nxt[slots] = np.where(first, heads[head], np.roll(slots, 1))
            last = np.append(first[1:], True)
            heads[head[last]] = slots[last]
        del heads, nxt, keys  # the columns can grow again
        self._heads = linked
        self._epoch = self._w.base * self._stride


def _title_words(p: Prepared) -> list[str]:
    """The title's words MinHash reads: its content words (all of them when it has none)."""
    return [w for w in p.title if w not in STOP_WORDS] or list(p.title)


def _items(p: Prepared) -> tuple[list[int], list[int]]:
    """The item hashes MinHash reads: the title's content words, the lead's word pairs."""
    lead = p.lead
    return item_hashes(_title_words(p)), pair_hashes(lead) if len(lead) > 1 else item_hashes(lead)


def _near_in_time(a: float, b: float, window: float) -> bool:
    return a == _UNDATED or b == _UNDATED or abs(a - b) <= window


def _score(sa: str, sb: str, wa: int, wb: int, subset_ratio: float, cutoff: float = 0.0) -> float:
    """Similarity 0-100 of two word sequences (`sa`, `sb`, of `wa` and `wb` different
    words), robust to order, blind to subset traps.

    Exact when it reaches `cutoff`; below it, some value below `cutoff`."""
    if min(wa, wb) >= subset_ratio * max(wa, wb):
        # token_ratio: the larger of token_sort_ratio and token_set_ratio, in one pass.
        return fuzz.token_ratio(sa, sb, score_cutoff=cutoff)
    return fuzz.token_sort_ratio(sa, sb, score_cutoff=cutoff)
