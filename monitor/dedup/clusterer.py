"""Dedup: fold the same story from many outlets into one cluster.

Every story joins exactly one cluster, named by the id of the cluster's first story.
`Clusterer.add` decides, in this order, and stops at the first rule that holds:

1. **same** — the story's canonical URL (`canonical_url`) equals that of a story still
   in the window: it is the same item seen again (re-fetched, moved between feeds). It is
   not indexed a second time and is not a new member of the cluster.
2. **content** — the hash of its normalised title + lead (`content_key`) equals that of a
   story in the window: the same text republished under another link.
3. **near** — a fuzzy duplicate of a story in the window (below).
4. **new** — otherwise it opens a cluster of its own.

Text used for (2) and (3): `monitor.normalize.normalize_text` of the title and of the
lead (the summary, first `lead_words` words), then desk prefixes are stripped from the
title ("عاجل |", "بالفيديو:", "(فيديو)", "عام /", any one- or two-word segment before
" | " or " / ") and so is an outlet suffix ("... - سكاي نيوز عربية": a last segment of at
most four words without digits after " | ", " - ", " – " or " — ", when at least three
words remain). Words are runs of letters and digits; punctuation is ignored.

Near-duplicates (3) are found in two steps so that a story is compared with a handful
of candidates, never with the whole window:

* **Candidates** — MinHash/LSH. The title's content words (function words dropped) get
  a MinHash signature of `title_bands` x `title_rows` values, the lead's word bigrams
  one of `lead_bands` x `lead_rows` values. Each band is a bucket key; stories sharing a
  bucket are candidates. Title and lead are indexed apart because outlets often rewrite
  one and keep the other (the agency lead under a new headline, or the reverse). A
  bucket keeps its `bucket_cap` most recent stories (buckets of very common words do
  not grow with the window); candidates are ranked by how many buckets they share and
  the best `max_candidates` are verified. Hashes are deterministic (CRC-32 and fixed
  multipliers): the same input gives the same clusters in every run.
* **Verification** — rapidfuzz on the normalised text. Title score T: the larger of
  `token_sort_ratio` and `token_set_ratio`, but `token_set_ratio` counts only when the
  shorter title has at least `subset_ratio` of the longer one's words (a title whose
  words are a subset of another's scores 100 on `token_set_ratio` alone: that is the
  subset trap, "ترامب يهدد" inside a longer, different headline). Lead score L: the same
  on the two leads, cut to the same number of words. A pair is a duplicate when
  - T >= `title_alone` and (no lead on one side, or L >= `lead_floor`), or
  - L >= `lead_alone` and T >= `title_floor`, or
  - both have a lead and (T + L) / 2 >= `combined`;
  and the numbers guard holds: when both texts carry at least two numbers, at least
  `numbers_overlap` of the smaller set of numbers must appear in the other (daily market
  reports and casualty tolls share a template but not their figures).
  The score of a pair is (T + L) / 2, or T when one side has no lead.

A story that matches members of several clusters joins the cluster of its best-scoring
match; equal scores go to the oldest cluster (a match scoring 97 or more ends the search:
candidates are verified most-shared-buckets first). Clusters are never merged afterwards.

Exact lookups: for (1) the newest story indexed with that canonical URL must be within
the window; for (2) the oldest story within the window with that text is the match.

Time: a story's time is its `published` time, or the latest time seen so far when it
has none (arrival order). Only stories within `window_hours` of each other are compared;
`prune(now)` drops index entries older than `now - window`.
"""
from __future__ import annotations

import codecs
import email.utils
import hashlib
import json
import logging
import re
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from rapidfuzz import fuzz

from monitor.errors import ConfigError
from monitor.normalize import fold_char

log = logging.getLogger(__name__)

__all__ = [
    "Clusterer", "DedupSettings", "Verdict", "canonical_url", "content_key", "dedup_stream",
    "prepare",
]


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


# --------------------------------------------------------------------------- text


class _FoldTable(dict):
    """`str.translate` table that learns `fold_char` lazily: normalize_text at C speed."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _fold(text: str) -> str:
    return text.translate(_FOLD_TABLE)


_WORD = re.compile(r"\w+")
_DESK = (
    "عاجل|خبر عاجل|بالفيديو|فيديو|بالصور|صور|شاهد|بالفيديو والصور|انفوجرافيك|انفوغرافيك|"
    "فيديوجراف|مباشر|تحديث|محدث|خاص|حصري|عام|سياسي|اقتصادي|رياضي|ثقافي|محلي|دولي|"
    "اجتماعي|صحي|تقرير|breaking|video|update"
)
# A known desk word with a separator, in brackets, or any 1-2 word segment before | or /.
_PREFIX = re.compile(
    rf"^\s*(?:[(\[«\"]\s*(?:{_DESK})\s*[)\]»\"]\s*[|/:\-–—,.]*"
    rf"|(?:{_DESK})\s*[|/:\-–—]+"
    r"|[^\s|/:]+(?:\s[^\s|/:]+)?\s*[|/](?!/))\s*"
)
_SUFFIX_BRACKET = re.compile(rf"\s*[|\-–—]?\s*[(\[«\"]\s*(?:{_DESK})\s*[)\]»\"]\s*$")
_SUFFIX_OUTLET = re.compile(r"\s+(?:\||-|–|—)\s+([^|\-–—\d]+?)\s*$")
_PUNCT_EDGE = re.compile(r"^[\s|/:\-–—,.\"'«»“”]+|[\s|/:\-–—,.\"'«»“”]+$")


def _strip_title(title: str) -> str:
    """Normalised title without desk prefixes and outlet suffixes."""
    text = title
    for _ in range(3):
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text or len(_WORD.findall(stripped)) < 2:
            break
        text = stripped
    text = _SUFFIX_BRACKET.sub("", text)
    m = _SUFFIX_OUTLET.search(text)
    if m and len(m.group(1).split()) <= 4 and len(_WORD.findall(text[: m.start()])) >= 3:
        text = text[: m.start()]
    return _PUNCT_EDGE.sub("", text)


@dataclass(frozen=True)
class Prepared:
    """A story's text as dedup sees it: normalised words of the title and of the lead."""

    title: tuple[str, ...]
    lead: tuple[str, ...]


def prepare(title: str, summary: str = "", *, lead_words: int = 40) -> Prepared:
    """Normalise and strip a title and take the lead's first `lead_words` words."""
    t = tuple(_WORD.findall(_strip_title(_fold(title or ""))))
    lead = tuple(_WORD.findall(_fold(summary or ""))[:lead_words])
    return Prepared(t, lead)


def content_key(title: str, summary: str) -> str:
    """Hash of the normalised, stripped title and the normalised lead (hex, 32 chars)."""
    p = prepare(title, summary)
    data = (" ".join(p.title) + "\n" + " ".join(p.lead)).encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# --------------------------------------------------------------------------- URLs

_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.", "www1.", "www2.")
_TRACKERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
    "igshid", "_ga", "_gl", "ocid", "cmpid", "s_cid", "xtor", "ito", "at_medium",
    "at_campaign", "at_source", "ref", "ref_src", "ref_url", "spm", "__twitter_impression",
    "amp", "outputtype", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "wt.mc_id", "ns_source",
    "ns_mchannel", "ns_campaign", "cid", "share", "rss", "from", "src",
})
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def canonical_url(url: str) -> str:
    """The link with what does not name the article removed.

    http and https are one; the host is lower-cased without port 80/443 and without a
    leading www./m./mobile./amp.; AMP variants (a leading or trailing /amp path segment,
    a trailing .amp or ?amp) are the article itself; the query loses utm_*, fbclid, gclid
    and other trackers and is sorted; the fragment and a trailing slash go; percent
    escapes are put in one form. Text that is not an http(s) URL is returned stripped.
    """
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix):]
                changed = True
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE)
    segments = [s for s in path.split("/") if s]
    if segments and segments[0].lower() == "amp":
        segments = segments[1:]
    if segments and segments[-1].lower() in ("amp", "amp.html"):
        segments = segments[:-1]
    if segments and segments[-1].lower().endswith(".amp"):
        segments[-1] = segments[-1][:-4]
    if segments and ".amp." in segments[-1].lower():
        i = segments[-1].lower().rindex(".amp.")
        segments[-1] = segments[-1][:i] + segments[-1][i + 4:]
    path = "/" + "/".join(segments) if segments else ""
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKERS
    )
    q = urlencode(query, quote_via=quote, safe=_PATH_SAFE.replace("&", "").replace("=", ""))
    return urlunsplit(("https", host, path, q, ""))


# --------------------------------------------------------------------------- MinHash

_STOP = frozenset(_fold(w) for w in """
في من على الى إلى عن مع بعد قبل ان أن إن او أو و ثم ما لا لم لن قد هل هذا هذه ذلك تلك التي الذي
الذين كان كانت يكون تكون بين حول خلال عند منذ حتى كل اي أي غير بعض هو هي هم انه أنه إنه ضد
لدى عبر ب ل ك ف وفي ومن وعلى الي اليوم امس أمس يوم the a an of in on to and for is
""".split())

_MIN_KEY_WORDS = 4  # a shorter title with no lead ("كاريكاتير") names a column, not a story
_MIN_TITLE_ALONE = 3  # words a title needs to decide alone when a lead is missing
_SURE = 97.0  # a match this close ends the search among candidates
_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15
_MIX2 = 0xC2B2AE3D27D4EB4F


def _perms(n: int, seed: int) -> tuple[tuple[int, int], ...]:
    out = []
    x = seed
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & _MASK64
        a = x | 1
        x = (x * 6364136223846793005 + 1442695040888963407) & _MASK64
        out.append((a, x))
    return tuple(out)


def _hashes(items: Iterable[str]) -> list[int]:
    return [zlib.crc32(s.encode("utf-8")) for s in set(items)]


def _finish(k: int) -> int:
    """A 32-bit bucket key from a 64-bit accumulator; never 0 (0 marks an empty slot)."""
    k = ((k ^ (k >> 31)) * _MIX) & _MASK64
    return (k >> 32) or 1


_LITTLE = sys.byteorder == "little"


def _minhashes(hs: list[int], perms: tuple[tuple[int, int], ...],
               lanes_by_size: dict[int, list[tuple[int, int]]]) -> list[int]:
    """min over h of ((a * h + b) mod 2**64) >> 32, for each permutation (a, b).

    For more than a few items, all items of a permutation are computed by one big-integer
    multiply-add: the items sit in 128-bit lanes of one integer (a * h + b < 2**97 never
    carries into the next lane), and bits 32-63 of every lane are read back as an array.
    `lanes_by_size` caches, per number of items, each b repeated in every lane."""
    n = len(hs)
    if n < 8 or not _LITTLE:
        return [min([((a * h + b) & _MASK64) >> 32 for h in hs]) for a, b in perms]
    lanes = lanes_by_size.get(n)
    if lanes is None:
        ones = array("Q", bytes(16 * n))
        ones[0::2] = array("Q", [1]) * n
        one = int.from_bytes(ones, "little")
        lanes = lanes_by_size[n] = [(a, b * one) for a, b in perms]
    items = array("Q", bytes(16 * n))
    items[0::2] = array("Q", hs)
    packed = int.from_bytes(items, "little")
    size = 16 * n
    return [min(memoryview((a * packed + b).to_bytes(size, "little")).cast("I")[1::4])
            for a, b in lanes]


def _minhash_bands(hs: list[int], perms: tuple[tuple[int, int], ...], rows: int,
                   salt: int, lanes_by_size: dict[int, list[tuple[int, int]]]) -> list[int]:
    """Classic MinHash (one min per permutation), `rows` mins to a band."""
    if not hs:
        return []
    mins = _minhashes(hs, perms, lanes_by_size)
    keys = []
    for i in range(0, len(mins), rows):
        k = salt + i
        for v in mins[i:i + rows]:
            k = (k * _MIX2 + v) & _MASK64
        keys.append(_finish(k))
    return keys


_DIGIT = re.compile(r"\d")


# --------------------------------------------------------------------------- compact text

# Folded Arabic letters (U+0621-U+064A) take one byte each in the index, at 0xC0-0xE9
# (Latin-1 letters: neither spaces nor digits, and above ASCII, so word splitting, sorting
# and every rapidfuzz score are the same on the compact form as on the text itself).
# A text with any other non-ASCII character is kept as it is.
_DECODING = "".join(
    chr(i) if i < 0x80 else chr(0x621 + i - 0xC0) if 0xC0 <= i < 0xC0 + 42 else "\ufffe"
    for i in range(256))
_ENCODING = codecs.charmap_build(_DECODING)


def _pack(text: str) -> bytes | str:
    try:
        return codecs.charmap_encode(text, "strict", _ENCODING)[0]
    except UnicodeEncodeError:
        return text


def _unpack(stored: bytes | str) -> str:
    if isinstance(stored, str):
        return stored
    return codecs.charmap_decode(stored, "strict", _DECODING)[0]


class _View:
    """One story's text as verification reads it; word pairs and figures on demand."""

    __slots__ = ("title", "title_s", "lead", "lead_s", "_bigrams", "_nums")

    def __init__(self, text: str) -> None:
        title_s, _, lead_s = text.partition("\n")
        self.title_s, self.lead_s = title_s, lead_s
        self.title, self.lead = title_s.split(), lead_s.split()
        self._bigrams: set[str] | None = None
        self._nums: tuple[set[str], set[str]] | None = None

    def bigrams(self) -> set[str]:
        if self._bigrams is None:
            lead = self.lead
            self._bigrams = set(map(" ".join, zip(lead, lead[1:])))
        return self._bigrams

    def numbers(self) -> tuple[set[str], set[str]]:
        """Words with a digit: of the title, and of title and lead."""
        if self._nums is None:
            title = {w for w in self.title if _DIGIT.search(w)}
            self._nums = (title, title | {w for w in self.lead if _DIGIT.search(w)})
        return self._nums


# --------------------------------------------------------------------------- clusterer


_OFFSET_LIMIT = 2**31 - 2**20  # relink before slot offsets leave int32
_UNDATED = float("-inf")  # before any dated story: the time of the first one, once known


def _to_ts(when: datetime | None) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class Clusterer:
    """The in-memory dedup index over a sliding window of stories (see module docstring).

    Layout (compact: about 0.6 KB a story, no object per story). Stories are numbered
    in arrival order; column lists and arrays hold, per story still indexed, its id,
    cluster, time, time of its cluster's first story, URL and content hashes, and its
    text (title and lead; one byte a letter when it has only ASCII and Arabic letters).
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
        self._title_perms = _perms(s.title_bands * s.title_rows, 0x5EED1)
        self._lead_perms = _perms(s.lead_bands * s.lead_rows, 0x5EED2)
        self._title_lanes: dict[int, list[tuple[int, int]]] = {}
        self._lead_lanes: dict[int, list[tuple[int, int]]] = {}
        self._nb = s.title_bands + s.lead_bands
        self._stride = self._nb + 2  # slots a story owns: bands, URL, content key
        self._window = s.window_hours * 3600.0
        self._base = 0  # serial of the oldest story still indexed
        self._ids: list[int | str] = []
        self._clusters: list[int | str] = []
        self._texts: list[bytes | str] = []
        self._times = array("d")
        self._since = array("d")  # time of the cluster's first story still indexed
        self._urls = array("Q")
        self._keys = array("Q")
        self._bkey = array("I")
        self._next = array("i")
        self._heads = array("i", [-1]) * (1 << 16)
        self._epoch = 0  # slot numbers are kept as int32 offsets from this slot
        self._latest: float | None = None

    def __len__(self) -> int:
        return len(self._ids)

    # -- the decision

    def add(self, story_id: int | str, *, title: str, summary: str = "", url: str = "",
            source: str = "", published: datetime | None = None) -> Verdict:
        """Decide which cluster the story joins, index it, and say why."""
        ts = self._time(published)
        p = prepare(title, summary, lead_words=self.settings.lead_words)
        canon = canonical_url(url)
        url_h = _h64(canon) if canon else 0
        if url_h:
            i = self._exact(url_h, self._nb, self._urls, ts, newest=True)
            if i is not None:
                return Verdict(self._clusters[i], "same", self._ids[i], 100.0)
        text = " ".join(p.title) + "\n" + " ".join(p.lead)
        key_h = 0
        if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS:
            key_h = _h64(text)
            i = self._exact(key_h, self._nb + 1, self._keys, ts, newest=False)
            if i is not None:
                self._index(story_id, self._clusters[i], ts, _pack(text), url_h, key_h,
                            self._bands(p), self._since[i])
                return Verdict(self._clusters[i], "content", self._ids[i], 100.0)
        bands = self._bands(p)
        packed = _pack(text)
        best: tuple[float, float, int] | None = None
        candidates = self._candidates(bands, ts)
        if candidates:
            views = {}
            for i in candidates:
                stored = self._texts[i]
                if isinstance(stored, bytes) and isinstance(packed, bytes):
                    other, mine = _View(stored.decode("latin-1")), "packed"
                else:
                    other, mine = _View(_unpack(stored)), "raw"
                view = views.get(mine)
                if view is None:
                    view = views[mine] = _View(packed.decode("latin-1") if mine == "packed"
                                               else text)
                score = self._verify(view, other)
                if score is None:
                    continue
                rank = (score, -self._since[i])
                if best is None or rank > best[:2]:
                    best = (rank[0], rank[1], i)
                if score >= _SURE:
                    break  # candidates come most-shared-buckets first: this one will do
        if best is not None:
            i = best[2]
            cluster, of = self._clusters[i], self._ids[i]
            self._index(story_id, cluster, ts, packed, url_h, key_h, bands, self._since[i])
            return Verdict(cluster, "near", of, round(best[0], 1))
        self._index(story_id, story_id, ts, packed, url_h, key_h, bands, ts)
        return Verdict(story_id, "new", None, None)

    def prune(self, now: datetime) -> int:
        """Drop index entries older than the window before `now`; return how many."""
        limit = _to_ts(now) - self._window
        times = self._times
        n, total = 0, len(times)
        # Arrival order is nearly time order; an entry older than one before it waits
        # for that one (it is never compared outside the window meanwhile).
        while n < total and times[n] < limit:
            n += 1
        if n:
            for column in (self._ids, self._clusters, self._texts, self._times, self._since,
                           self._urls, self._keys):
                del column[:n]
            del self._bkey[:n * self._stride]
            del self._next[:n * self._stride]
            self._base += n
            log.debug("dedup index pruned dropped=%d kept=%d", n, len(self._ids))
        return n

    @classmethod
    def rebuild(cls, rows: Iterable[tuple], settings: DedupSettings = DedupSettings()
                ) -> Clusterer:
        """Index stored stories with their stored clusters, without deciding again.

        `rows` are (story_id, cluster, title, summary, url, source, published) in arrival
        order, as the database keeps them; `published` may be a datetime, an ISO 8601 or
        RFC 822 string, or None. Buckets are linked once, at the end.
        """
        self = cls(settings)
        first: dict[int | str, float] = {}
        lead_words = settings.lead_words
        for story_id, cluster, title, summary, url, _source, published in rows:
            if isinstance(published, str):
                published = parse_time(published)
            ts = self._time(published)
            p = prepare(title or "", summary or "", lead_words=lead_words)
            canon = canonical_url(url or "")
            url_h = _h64(canon) if canon else 0
            text = " ".join(p.title) + "\n" + " ".join(p.lead)
            key_h = _h64(text) if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS else 0
            cluster = story_id if cluster is None else cluster
            self._index(story_id, cluster, ts, _pack(text), url_h, key_h, self._bands(p),
                        first.setdefault(cluster, ts), link=False)
        self._relink()
        log.info("dedup index rebuilt stories=%d", len(self._ids))
        return self

    # -- internals

    def _time(self, published: datetime | None) -> float:
        ts = _to_ts(published)
        if ts is None:
            return self._latest if self._latest is not None else _UNDATED
        if self._latest is None:
            # Stories that came before any dated one take the first time seen.
            times, since = self._times, self._since
            for i in range(len(times)):
                if times[i] == _UNDATED:
                    times[i] = ts
                if since[i] == _UNDATED:
                    since[i] = ts
        if self._latest is None or ts > self._latest:
            self._latest = ts
        return ts

    def _exact(self, h: int, position: int, column: array, ts: float,
               newest: bool) -> int | None:
        """Index of the newest (or oldest) story in the window whose URL/content hash is h."""
        key = (h & _MASK32) or 1
        stride, floor = self._stride, self._base * self._stride - self._epoch
        bkey, nxt = self._bkey, self._next
        slot = self._heads[key & (len(self._heads) - 1)]
        found = None
        steps = 0
        while slot >= floor and steps < 4096:
            j = slot - floor
            if bkey[j] == key and j % stride == position and column[j // stride] == h:
                i = j // stride
                if not _near_in_time(self._times[i], ts, self._window):
                    if newest:
                        return None
                else:
                    found = i
                    if newest:
                        return i
            slot = nxt[j]
            steps += 1
        return found

    def _bands(self, p: Prepared) -> list[int]:
        s = self.settings
        title_words = [w for w in p.title if w not in _STOP] or list(p.title)
        keys = _minhash_bands(_hashes(title_words), self._title_perms, s.title_rows, 1 << 20,
                              self._title_lanes)
        keys += [0] * (s.title_bands - len(keys))
        lead = p.lead
        bigrams = [lead[i] + " " + lead[i + 1] for i in range(len(lead) - 1)] or list(lead)
        keys += _minhash_bands(_hashes(bigrams), self._lead_perms, s.lead_rows, 2 << 20,
                               self._lead_lanes)
        keys += [0] * (self._nb - len(keys))
        return keys

    def _candidates(self, bands: list[int], ts: float) -> list[int]:
        """Indexes of the stories sharing a bucket, most shared buckets first."""
        counts: dict[int, int] = {}
        cap = self.settings.bucket_cap
        stride, floor = self._stride, self._base * self._stride - self._epoch
        bkey, nxt, heads = self._bkey, self._next, self._heads
        mask = len(heads) - 1
        get = counts.get
        for key in bands:
            if not key:
                continue
            slot = heads[key & mask]
            found = other = 0
            while slot >= floor:
                j = slot - floor
                if bkey[j] == key:
                    i = j // stride
                    counts[i] = get(i, 0) + 1
                    found += 1
                    if found >= cap:
                        break
                else:
                    other += 1
                    if other > 4 * cap:  # a crowded head shared with another bucket
                        break
                slot = nxt[j]
        if not counts:
            return []
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out = []
        times, window, limit = self._times, self._window, self.settings.max_candidates
        for i, _ in ranked:
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
        title_score = _score(a.title_s, b.title_s, t1, t2, s.subset_ratio, t_min - 1e-6)
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
            s1 = a.lead_s if n == len(l1) else " ".join(l1[:n])
            s2 = b.lead_s if n == len(l2) else " ".join(l2[:n])
            lead_score = max(_score(s1, s2, l1[:n], l2[:n], s.subset_ratio,
                                    max(0.0, need - 1e-6)), shared)
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
        if len(n1) >= 2 and len(n2) >= 2:
            if len(n1 & n2) < s.numbers_overlap * min(len(n1), len(n2)):
                return None
        return score

    def _index(self, story_id: int | str, cluster: int | str, ts: float, text: bytes | str,
               url_h: int, key_h: int, bands: list[int], since: float,
               link: bool = True) -> None:
        self._ids.append(story_id)
        self._clusters.append(cluster)
        self._texts.append(text)
        self._times.append(ts)
        self._since.append(since)
        self._urls.append(url_h)
        self._keys.append(key_h)
        keys = bands + [(url_h & _MASK32) or 1 if url_h else 0,
                        (key_h & _MASK32) or 1 if key_h else 0]
        bkey, nxt = self._bkey, self._next
        slot = (self._base + len(self._ids) - 1) * self._stride - self._epoch
        if not link:
            bkey.extend(keys)
            nxt.extend([-1] * len(keys))
            return
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

    def _relink(self) -> None:
        """Size the heads to the slots (a power of two, at least one a slot), count slots
        from the oldest one indexed, and link every slot again, oldest first."""
        size = 1 << 16
        while size < len(self._bkey):
            size <<= 1
        self._heads = None  # the old heads go before the new ones come
        heads = array("i", [-1]) * size
        mask = size - 1
        nxt = self._next
        for j, key in enumerate(self._bkey):
            if key:
                h = key & mask
                nxt[j] = heads[h]
                heads[h] = j
        self._heads = heads
        self._epoch = self._base * self._stride


def _near_in_time(a: float, b: float, window: float) -> bool:
    return a == _UNDATED or b == _UNDATED or abs(a - b) <= window


def _score(sa: str, sb: str, a: list[str], b: list[str], subset_ratio: float,
           cutoff: float = 0.0) -> float:
    """Similarity 0-100 of two word sequences, robust to order, blind to subset traps.

    Exact when it reaches `cutoff`; below it, some value below `cutoff`."""
    wa, wb = len(set(a)), len(set(b))
    if min(wa, wb) >= subset_ratio * max(wa, wb):
        # token_ratio: the larger of token_sort_ratio and token_set_ratio, in one pass.
        return fuzz.token_ratio(sa, sb, score_cutoff=cutoff)
    return fuzz.token_sort_ratio(sa, sb, score_cutoff=cutoff)


# --------------------------------------------------------------------------- raqib dedup


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
        when = when.replace(tzinfo=timezone.utc)
    return when


def _story(line: str, number: int) -> dict:
    where = {"file": "<input>", "line": number}
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not JSON: {exc.msg}", **where) from exc
    if not isinstance(obj, dict):
        raise ConfigError("a story must be a JSON object", **where)
    if "id" not in obj or not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool):
        raise ConfigError('a story needs an "id" (string or integer)', **where)
    if not isinstance(obj.get("title"), str):
        raise ConfigError('a story needs a "title" string', **where)
    for name in ("summary", "url", "source"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise ConfigError(f'"{name}" must be a string', **where)
    published = obj.get("published")
    if published is not None:
        if not isinstance(published, str):
            raise ConfigError('"published" must be an ISO 8601 or RFC 822 string', **where)
        try:
            published = parse_time(published)
        except (ValueError, TypeError, IndexError) as exc:
            raise ConfigError(f'"published" is not an ISO 8601 or RFC 822 time: {obj["published"]!r}',
                              **where) from exc
    return {"id": obj["id"], "title": obj["title"], "summary": obj.get("summary") or "",
            "url": obj.get("url") or "", "source": obj.get("source") or "",
            "published": published}


def dedup_stream(lines: Iterable[str], settings: DedupSettings = DedupSettings()
                 ) -> Iterator[dict]:
    """`raqib dedup`: JSON Lines of stories in arrival order in, one
    {"id": ..., "cluster": ID_OF_FIRST_STORY_IN_ITS_CLUSTER} per story out, in order.

    Blank lines are skipped. A bad line raises ConfigError(file="<input>", line=N)."""
    clusterer = Clusterer(settings)
    since_prune = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        s = _story(line, number)
        verdict = clusterer.add(s["id"], title=s["title"], summary=s["summary"], url=s["url"],
                                source=s["source"], published=s["published"])
        yield {"id": s["id"], "cluster": verdict.cluster}
        since_prune += 1
        if since_prune >= 1000 and clusterer._latest is not None:
            since_prune = 0
            clusterer.prune(datetime.fromtimestamp(clusterer._latest, timezone.utc))
