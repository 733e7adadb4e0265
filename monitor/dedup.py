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

Time: a story's time is its `published` time, or the latest time seen so far when it
has none (arrival order). Only stories within `window_hours` of each other are compared;
`prune(now)` drops index entries older than `now - window`.
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import re
import zlib
from array import array
from collections import deque
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
_MIN_TITLE_ALONE = 3
_SURE = 97.0  # a match this close ends the search among candidates  # words a title needs to decide alone when a lead is missing
_MASK30 = (1 << 30) - 1
_MASK64 = (1 << 64) - 1


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


def _band_keys(hs: list[int], perms: tuple[tuple[int, int], ...], rows: int,
               salt: int) -> list[int]:
    if not hs:
        return []
    mins = [min([((a * h + b) & _MASK64) >> 32 for h in hs]) for a, b in perms]
    keys = []
    for i in range(0, len(mins), rows):
        k = salt + i
        for v in mins[i:i + rows]:
            k = (k * 0x9E3779B1 + v) & _MASK64
        keys.append((k ^ (k >> 29)) & _MASK30)
    return keys


def _numbers(words: Iterable[str]) -> set[str]:
    return {w for w in words if any(c.isdigit() for c in w)}


# --------------------------------------------------------------------------- clusterer


@dataclass
class _Entry:
    __slots__ = ("story", "cluster", "time", "since", "title", "lead", "bands", "url", "key",
                 "serial")
    story: int | str
    cluster: int | str
    time: float
    since: float  # time of the cluster's first story still indexed
    title: str
    lead: str
    bands: bytes
    url: int
    key: int
    serial: int


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
    """The in-memory dedup index over a sliding window of stories (see module docstring)."""

    def __init__(self, settings: DedupSettings = DedupSettings()) -> None:
        self.settings = settings
        self._title_perms = _perms(settings.title_bands * settings.title_rows, 0x5EED1)
        self._lead_perms = _perms(settings.lead_bands * settings.lead_rows, 0x5EED2)
        self._window = settings.window_hours * 3600.0
        self._entries: dict[int, _Entry] = {}
        self._buckets: dict[int, int | list[int]] = {}
        self._by_url: dict[int, int] = {}
        self._by_key: dict[int, int] = {}
        self._order: deque[int] = deque()  # serials in arrival order, for pruning
        self._serial = 0
        self._latest: float | None = None

    def __len__(self) -> int:
        return len(self._entries)

    # -- the decision

    def add(self, story_id: int | str, *, title: str, summary: str = "", url: str = "",
            source: str = "", published: datetime | None = None) -> Verdict:
        """Decide which cluster the story joins, index it, and say why."""
        ts = self._time(published)
        p = prepare(title, summary, lead_words=self.settings.lead_words)
        canon = canonical_url(url)
        url_h = _h64(canon) if canon else 0
        if url_h:
            hit = self._live(self._by_url.get(url_h), ts)
            if hit is not None:
                return Verdict(hit.cluster, "same", hit.story, 100.0)
        key_h = 0
        if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS:
            key_h = _h64(" ".join(p.title) + "\n" + " ".join(p.lead))
            hit = self._live(self._by_key.get(key_h), ts)
            if hit is not None:
                self._index(story_id, hit.cluster, ts, p, url_h, key_h, since=hit.since)
                return Verdict(hit.cluster, "content", hit.story, 100.0)
        bands = self._bands(p)
        best: tuple[float, float, _Entry] | None = None
        for entry in self._candidates(bands, ts):
            score = self._verify(p, entry)
            if score is None:
                continue
            rank = (score, -entry.since)
            if best is None or rank > best[:2]:
                best = (rank[0], rank[1], entry)
            if score >= _SURE:
                break  # candidates come most-shared-buckets first: this one will do
        if best is not None:
            entry = best[2]
            self._index(story_id, entry.cluster, ts, p, url_h, key_h, bands, entry.since)
            return Verdict(entry.cluster, "near", entry.story, round(best[0], 1))
        self._index(story_id, story_id, ts, p, url_h, key_h, bands)
        return Verdict(story_id, "new", None, None)

    def prune(self, now: datetime) -> int:
        """Drop index entries older than the window before `now`; return how many."""
        limit = _to_ts(now) - self._window
        dropped = 0
        order, entries = self._order, self._entries
        # Arrival order is nearly time order; an entry older than one before it waits
        # for that one (it is never compared outside the window meanwhile).
        while order and entries[order[0]].time < limit:
            entry = entries.pop(order.popleft())
            self._unindex(entry)
            dropped += 1
        if dropped:
            log.debug("dedup index pruned dropped=%d kept=%d", dropped, len(self._entries))
        return dropped

    @classmethod
    def rebuild(cls, rows: Iterable[tuple], settings: DedupSettings = DedupSettings()
                ) -> Clusterer:
        """Index stored stories with their stored clusters, without deciding again.

        `rows` are (story_id, cluster, title, summary, url, source, published) in arrival
        order, as the database keeps them; `published` may be a datetime, an ISO 8601 or
        RFC 822 string, or None.
        """
        self = cls(settings)
        first: dict[int | str, float] = {}
        for story_id, cluster, title, summary, url, _source, published in rows:
            if isinstance(published, str):
                published = parse_time(published)
            ts = self._time(published)
            p = prepare(title or "", summary or "", lead_words=settings.lead_words)
            canon = canonical_url(url or "")
            url_h = _h64(canon) if canon else 0
            key_h = (_h64(" ".join(p.title) + "\n" + " ".join(p.lead))
                     if len(p.title) + len(p.lead) >= _MIN_KEY_WORDS else 0)
            cluster = story_id if cluster is None else cluster
            self._index(story_id, cluster, ts, p, url_h, key_h,
                        since=first.setdefault(cluster, ts))
        log.info("dedup index rebuilt stories=%d", len(self._entries))
        return self

    # -- internals

    def _time(self, published: datetime | None) -> float:
        ts = _to_ts(published)
        if ts is None:
            return self._latest if self._latest is not None else _UNDATED
        if self._latest is None:
            # Stories that came before any dated one take the first time seen.
            for serial in self._order:
                entry = self._entries.get(serial)
                if entry is not None and entry.time == _UNDATED:
                    entry.time = ts
                    if entry.since == _UNDATED:
                        entry.since = ts
        if self._latest is None or ts > self._latest:
            self._latest = ts
        return ts

    def _live(self, serial: int | None, ts: float) -> _Entry | None:
        if serial is None:
            return None
        entry = self._entries.get(serial)
        if entry is None or not _near_in_time(entry.time, ts, self._window):
            return None
        return entry

    def _bands(self, p: Prepared) -> list[int]:
        s = self.settings
        title_words = [w for w in p.title if w not in _STOP] or list(p.title)
        keys = _band_keys(_hashes(title_words), self._title_perms, s.title_rows, 1 << 20)
        lead = p.lead
        bigrams = [lead[i] + " " + lead[i + 1] for i in range(len(lead) - 1)] or list(lead)
        keys += _band_keys(_hashes(bigrams), self._lead_perms, s.lead_rows, 2 << 20)
        return keys

    def _candidates(self, bands: list[int], ts: float) -> list[_Entry]:
        counts: dict[int, int] = {}
        for key in bands:
            members = self._buckets.get(key)
            if members is None:
                continue
            if isinstance(members, int):
                counts[members] = counts.get(members, 0) + 1
            else:
                for serial in members:
                    counts[serial] = counts.get(serial, 0) + 1
        if not counts:
            return []
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out = []
        for serial, _ in ranked:
            entry = self._entries.get(serial)
            if entry is not None and _near_in_time(entry.time, ts, self._window):
                out.append(entry)
                if len(out) >= self.settings.max_candidates:
                    break
        return out

    def _verify(self, p: Prepared, e: _Entry) -> float | None:
        s = self.settings
        t1, t2 = p.title, e.title.split()
        if not t1 or not t2:
            return None
        title_score = _score(t1, t2, s.subset_ratio)
        l1, l2 = p.lead, e.lead.split()
        lead_score = None
        if l1 and l2:
            n = min(len(l1), len(l2))
            if n >= 3:
                b1 = {l1[i] + " " + l1[i + 1] for i in range(len(l1) - 1)}
                b2 = {l2[i] + " " + l2[i + 1] for i in range(len(l2) - 1)}
                shared = 100.0 * len(b1 & b2) / min(len(b1), len(b2))
                lead_score = max(_score(l1[:n], l2[:n], s.subset_ratio), shared)
        if lead_score is None:
            ok = title_score >= s.title_alone and min(len(t1), len(t2)) >= _MIN_TITLE_ALONE
            score = title_score
        else:
            ok = ((title_score >= s.title_alone and lead_score >= s.lead_floor)
                  or (title_score >= s.title_sure
                      and min(len(t1), len(t2)) >= s.title_sure_words)
                  or (lead_score >= s.lead_alone and title_score >= s.title_floor)
                  or (title_score + lead_score) / 2 >= s.combined)
            score = (title_score + lead_score) / 2
        if not ok:
            return None
        nt1, nt2 = _numbers(t1), _numbers(t2)
        if nt1 and nt2 and not nt1 & nt2:
            return None
        n1, n2 = _numbers(t1 + l1), _numbers(t2 + l2)
        if len(n1) >= 2 and len(n2) >= 2:
            if len(n1 & n2) < s.numbers_overlap * min(len(n1), len(n2)):
                return None
        return score

    def _index(self, story_id: int | str, cluster: int | str, ts: float, p: Prepared,
               url_h: int, key_h: int, bands: list[int] | None = None,
               since: float | None = None) -> None:
        if bands is None:
            bands = self._bands(p)
        self._serial += 1
        serial = self._serial
        since = ts if since is None else since
        entry = _Entry(story_id, cluster, ts, since, " ".join(p.title), " ".join(p.lead),
                       array("I", bands).tobytes(), url_h, key_h, serial)
        self._entries[serial] = entry
        self._order.append(serial)
        if url_h:
            self._by_url[url_h] = serial
        if key_h:
            self._by_key.setdefault(key_h, serial)
        cap = self.settings.bucket_cap
        buckets = self._buckets
        for key in bands:
            members = buckets.get(key)
            if members is None:
                buckets[key] = serial
            elif isinstance(members, int):
                buckets[key] = [members, serial]
            else:
                members.append(serial)
                if len(members) > cap:
                    del members[0]

    def _unindex(self, entry: _Entry) -> None:
        serial = entry.serial
        if entry.url and self._by_url.get(entry.url) == serial:
            del self._by_url[entry.url]
        if entry.key and self._by_key.get(entry.key) == serial:
            del self._by_key[entry.key]
        buckets = self._buckets
        for key in array("I", entry.bands):
            members = buckets.get(key)
            if members is None:
                continue
            if isinstance(members, int):
                if members == serial:
                    del buckets[key]
            else:
                try:
                    members.remove(serial)
                except ValueError:
                    continue
                if len(members) == 1:
                    buckets[key] = members[0]
                elif not members:
                    del buckets[key]


def _near_in_time(a: float, b: float, window: float) -> bool:
    return a == _UNDATED or b == _UNDATED or abs(a - b) <= window


def _score(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str],
           subset_ratio: float) -> float:
    """Similarity 0-100 of two word sequences, robust to order, blind to subset traps."""
    sa, sb = " ".join(a), " ".join(b)
    score = fuzz.token_sort_ratio(sa, sb)
    wa, wb = len(set(a)), len(set(b))
    if min(wa, wb) >= subset_ratio * max(wa, wb):
        score = max(score, fuzz.token_set_ratio(sa, sb))
    return score


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
