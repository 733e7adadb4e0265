"""Match stories against all watchlists at once, Arabic-aware, with reasons.

Text and terms go through the same `normalize` (monitor/normalize.py) and are cut into
tokens: runs of letters, or runs of digits (so "بـ2024" is ب + 2024 and "G20" is g + 20).

Term rules
----------
* **Word.** A one-word term matches a whole token, optionally carrying proclitics in
  this order: و or ف, then ب ل or ك, then the article ال (ل + ال is written لل). So
  موسكو matches وموسكو, لموسكو, بموسكو, والموسكو…; نيل matches النيل; never a longer word
  (مصر is not in مصرف, نيل is not in النيلي). A term that starts with ال keeps its
  article: الحكومة matches الحكومة, والحكومة, بالحكومة, للحكومة but not حكومة. Because
  hamza is folded, a word whose own first letters are ال (ألبانيا → البانيا) also matches
  with any proclitic in front (لألبانيا).
* **Lexical words are not split.** A proclitic reading is refused when the whole token is
  a common word that the reading cannot explain: كامل is "complete", not ك + أمل, so أمل
  never fires on كامل (nor on وكامل). The decisions come from word counts over the ANT
  and SaudiNewsNet corpora, shipped in monitor/data/arabic_words.tsv.gz and built by
  scripts/build_common_words.py, whose docstring gives the rule and the measured ratios.
  لمصر, بموسكو, ولبنان, لبوتين stay hits. The article alone is never refused.
* **Phrase.** A multi-word term matches its words in order as consecutive tokens, so
  only spaces, newlines or punctuation may stand between them; the first word may carry
  proclitics, the others must be as written (after normalisation).
* **exact: true.** The token must be the term itself: no proclitics, no article.
* **variants: true.** The term also matches the spellings by which outlets transliterate
  a foreign name. Each word of the term becomes a pattern by these written rules:
    - letter classes: غ ج ق (g); ت ط (t); س ص (s); ز ذ (z); ف ڤ (v); ب پ (p);
      ش ↔ تش (ch); hamza seats ئ ي ء and ؤ و ء;
    - a long vowel ا و ي inside the word (not first, not last) may be left out when both
      its neighbours are consonants: ماكرون → ماكرن, بلينكن → بلنكن, تيليغرام → تلغرام.
      A vowel next to another vowel (كييف, بايدن, نتنياهو's يا) is kept: كييف never
      becomes كيف;
    - between two consonants inside the word one long vowel ا و ي may be added:
      ترمب → ترامب, نتنياهو → نتانياهو, بوتن → بوتين;
    - the last letter ا may be written ه and back (كوريا / كوريه).
  Proclitics work as for plain terms (unless exact). Two corpus guards refuse a variant
  spelling other than the term's own: it is a very common word (≥ 500 times) and 20
  times more common than the term's spelling; or it is an ordinary noun — its form with
  the article is seen ≥ 30 times and 5 times more often than the term's own with the
  article (بوتين's rules reach بطن "belly": البطن is common, البوتين is not, so بطن is
  refused). There is no edit distance: بوتين never matches بروتين.
  Words of fewer than three letters get no variants.
* **Latin** terms match whole tokens, case-insensitively (NATO is not in DONATOR).
* **near: [A, B, …], within: N.** Every part occurs in the same field with at most N
  other words between any two of them; each part follows the word/phrase rules and the
  term's exact/variants options. A near term reports one match per part.
* **regex.** An RE2 pattern (no backtracking: linear time whatever the pattern) run
  over the normalised field text, case-insensitively; its non-ASCII letters are folded
  like text (write أ or ا, both work). It is not anchored to words. Memory per pattern
  is capped (`REGEX_MAX_MEM`) and a pattern that matches the empty string is refused.

A watchlist fires when one of its `terms` matches in the title or summary, one of its
`require` terms matches (if it has any), and none of its `exclude` terms does. Its
matches are the hits of `terms` and `require`, every occurrence, as Match(watchlist,
term, field, start, end) with offsets into the ORIGINAL field text. A span covers the
term's own letters, not the proclitics in front (لموسكو → موسكو; for الحكومة in للحكومة
it starts at the second ل, the article's), and takes in marks (harakat, tatweel) that
trail its last letter. Matches are sorted by watchlist name, field (title before
summary), start, end and term.

How it is compiled
------------------
Plain and exact terms (and the first word of phrases) are expanded once into every
written form they may take — a word has at most 27 proclitic forms — minus the forms
refused as lexical, into one dict form → (term, offset). Matching a field is then:
`str.translate` to normalise, one `re.findall` for the tokens, one C-level set
intersection of the tokens with the dict's keys. Only when that finds something does
Python look at positions. The cost per story is independent of the number of terms
(a hash lookup per token) and the intersection is faster than pyahocorasick here because
the automaton would also report every term inside longer words, which must then be
thrown away. Variant words compile into one RE2 prefilter over the normalised field;
only on a hit are tokens checked word by word. Regex terms run one RE2 search each.
"""
from __future__ import annotations

import gzip
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import product
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import re2

from .errors import ConfigError
from .models import Match
from .normalize import Normalized, fold_char, normalize, normalize_text

if TYPE_CHECKING:
    from .watchlists import Term, Watchlist

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")
ARTICLE = "ال"
CONJUNCTIONS = ("و", "ف")
PREPOSITIONS = ("ب", "ل", "ك")
CLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك")
VOWELS = frozenset("اوي")
FIELDS = ("title", "summary")
REGEX_MAX_MEM = 8 << 20
MAX_MATCHES_PER_REGEX = 50
VARIANT_GUARD_RATIO = 20
VARIANT_GUARD_MIN = 500
VARIANT_NOUN_MIN = 30
VARIANT_NOUN_RATIO = 5


@dataclass(frozen=True)
class Split:
    """One way to read a token's front: the written prefix, its clitic letters, the article."""

    prefix: str
    clitics: str
    article: bool
    # Where the term's span starts, counted from the token start, for a term without and
    # with its own article.
    offset_plain: int
    offset_article: int


def _splits() -> tuple[Split, ...]:
    out = []
    for conj in ("",) + CONJUNCTIONS:
        for prep in ("",) + PREPOSITIONS:
            clitics = conj + prep
            out.append(Split(clitics, clitics, False, len(clitics), len(clitics)))
            if prep != "ل":
                out.append(Split(clitics + ARTICLE, clitics, True, len(clitics) + 2, len(clitics)))
        out.append(Split(conj + "لل", conj + "ل", True, len(conj) + 2, len(conj) + 1))
    return tuple(out)


SPLITS = _splits()
_SPLITS_BY_FIRST: dict[str, tuple[Split, ...]] = {}
for _split in SPLITS:
    if _split.prefix:
        _SPLITS_BY_FIRST.setdefault(_split.prefix[0], ())
        _SPLITS_BY_FIRST[_split.prefix[0]] += (_split,)
_NO_PREFIX = tuple(sp for sp in SPLITS if not sp.prefix)


@dataclass(frozen=True)
class WordData:
    """Corpus word counts and the clitic lengths at which a token is a word of its own."""

    counts: dict[str, int]
    lexical: dict[str, frozenset[int]]

    def refuses(self, form: str, clitics: str) -> bool:
        """True when reading `clitics` off the front of token `form` is refused as lexical."""
        if not clitics:
            return False
        if len(clitics) in self.lexical.get(form, ()):
            return True
        # و/ف + a lexical word: وكامل is و + كامل, not و + ك + امل.
        return len(clitics) == 2 and 1 in self.lexical.get(form[1:], ())


@lru_cache(maxsize=1)
def word_data() -> WordData:
    counts: dict[str, int] = {}
    lexical: dict[str, frozenset[int]] = {}
    raw = resources.files("monitor").joinpath("data/arabic_words.tsv.gz").read_bytes()
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        word, count, lex = line.split("\t")
        counts[word] = int(count)
        if lex:
            lexical[word] = frozenset(int(x) for x in lex.split(","))
    return WordData(counts, lexical)


def tokenize(norm: str) -> list[str]:
    """The tokens of already-normalised text."""
    return TOKEN_RE.findall(norm)


# -- variants ---------------------------------------------------------------------------

_CLASSES = {}
for _group in ("غجق", "تط", "سص", "زذ", "فڤ", "بپ"):
    for _ch in _group:
        _CLASSES[_ch] = _group
_CLASSES["ئ"] = "ئيء"
_CLASSES["ؤ"] = "ؤوء"
_CLASSES["ء"] = "ءئؤ"


def _letter(ch: str) -> str:
    group = _CLASSES.get(ch)
    return f"[{group}]" if group else re.escape(ch)


def variant_pattern(word: str) -> str:
    """The regex (Python and RE2 syntax alike) of a normalised word's variant spellings."""
    n = len(word)
    if n < 3 or not any("\u0600" <= ch <= "\u06ff" for ch in word):
        return re.escape(word)
    units: list[tuple[str, bool]] = []  # (pattern, is a consonant in the term)
    i = 0
    while i < n:
        ch = word[i]
        if ch == "ت" and i + 1 < n and word[i + 1] == "ش":
            units.append(("(?:[تط]ش|ش)", True))
            i += 2
            continue
        if ch == "ش":
            units.append(("(?:ش|تش)", True))
        elif i == n - 1 and ch in "اه":
            units.append(("[اه]", False))
        elif ch in VOWELS:
            inner = 0 < i < n - 1 and word[i - 1] not in VOWELS and word[i + 1] not in VOWELS
            units.append((re.escape(ch) + ("?" if inner else ""), False))
        else:
            units.append((_letter(ch), True))
        i += 1
    parts = [units[0][0]]
    for (_, prev_consonant), (pattern, consonant) in zip(units, units[1:]):
        if prev_consonant and consonant:
            parts.append("[اوي]?")  # one long vowel may be added between two consonants
        parts.append(pattern)
    return "".join(parts)


# -- regex terms ------------------------------------------------------------------------

def compile_regex(pattern: str) -> re2._Regexp:
    """Compile a power user's pattern with RE2, folding its non-ASCII letters like text."""
    folded = "".join(ch if ord(ch) < 0x80 else fold_char(ch) for ch in pattern)
    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.case_sensitive = False
    options.log_errors = False
    try:
        compiled = re2.compile(folded, options)
    except re2.error as exc:
        raise ValueError(str(exc) or "RE2 refuses this pattern") from None
    if compiled.search("") is not None:
        raise ValueError("it matches the empty string, so it would match every story")
    return compiled


# -- compiled terms ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Hit:
    field: str
    start: int  # in normalised field text
    end: int
    tok_start: int  # token indices, end exclusive
    tok_end: int


@dataclass
class _Plan:
    """A compiled word or phrase (also a near part); `words` are normalised tokens."""

    text: str
    words: tuple[str, ...]
    exact: bool
    variants: bool
    patterns: tuple[re.Pattern[str], ...] = ()  # variants: one fullmatch pattern per word
    has_article: bool = False


@dataclass
class _TermRule:
    """A term as a watchlist sees it: one plan, near parts, or a regex."""

    term: "Term"
    plans: tuple[int, ...] = ()
    regex: int = -1


def _plan_for(text: str, exact: bool, variants: bool) -> _Plan:
    words = tuple(tokenize(normalize_text(text)))
    if not words:
        raise ValueError(f"term {text!r} has no letters or digits once normalised")
    patterns: tuple[re.Pattern[str], ...] = ()
    if variants:
        patterns = tuple(re.compile(variant_pattern(_bare(w) if i == 0 else w)) for i, w in enumerate(words))
    return _Plan(text, words, exact, variants, patterns, has_article=_has_article(words[0]))


def _has_article(word: str) -> bool:
    return word.startswith(ARTICLE) and len(word) > 3


def _bare(word: str) -> str:
    return word[2:] if _has_article(word) else word


def compile_term(text: str, *, exact: bool = False, variants: bool = False) -> list[tuple[str, int]]:
    """The written forms a plain term's first word is matched by, with span offsets.

    For tests and `raqib check` style diagnostics: `("لموسكو", 1)` means the token
    لموسكو is a hit whose span starts one letter in.
    """
    return _forms(_plan_for(text, exact, variants).words[0], exact, word_data())


def _forms(word: str, exact: bool, data: WordData) -> list[tuple[str, int]]:
    if exact:
        return [(word, 0)]
    out: dict[str, int] = {}
    article = _has_article(word)
    bare = word[2:] if article else word
    for split in SPLITS:
        candidates = []
        if article:
            if split.article:
                candidates.append((split.prefix + bare, split.offset_article))
            else:
                candidates.append((split.prefix + word, split.offset_plain))
        else:
            candidates.append((split.prefix + word, split.offset_plain))
        for form, offset in candidates:
            if form in out or data.refuses(form, split.clitics):
                continue
            out[form] = offset
    return list(out.items())


class Matcher:
    """All watchlists compiled together; `match` says which fire on a story, and why."""

    def __init__(self, watchlists: Sequence["Watchlist"]) -> None:
        self.watchlists = tuple(sorted(watchlists, key=lambda w: w.name))
        data = word_data()
        self._data = data
        self._plans: list[_Plan] = []
        self._plan_ids: dict[tuple[str, bool, bool], int] = {}
        self._regexes: list[re2._Regexp] = []
        self._regex_ids: dict[str, int] = {}
        self._forms: dict[str, list[tuple[int, int]]] = {}
        self._rules: list[tuple["Watchlist", list[_TermRule], list[_TermRule], list[_TermRule]]] = []
        for wl in self.watchlists:
            self._rules.append((wl, [self._rule(t) for t in wl.terms], [self._rule(t) for t in wl.require],
                                [self._rule(t) for t in wl.exclude]))
        # Which watchlists a hit may fire: only those are looked at per story.
        self._by_plan: dict[int, set[int]] = {}
        self._by_regex: dict[int, set[int]] = {}
        for index, (_, terms, _, _) in enumerate(self._rules):
            for rule in terms:
                if rule.regex >= 0:
                    self._by_regex.setdefault(rule.regex, set()).add(index)
                else:
                    self._by_plan.setdefault(rule.plans[0], set()).add(index)
        for pid, plan in enumerate(self._plans):
            if plan.variants:
                continue
            for form, offset in _forms(plan.words[0], plan.exact, data):
                self._forms.setdefault(form, []).append((pid, offset))
        self._keys = frozenset(self._forms)
        self._variant_ids = [pid for pid, p in enumerate(self._plans) if p.variants]
        # Variant words bucketed by the letters their spellings may start and end with,
        # so a token stem is only tried against the few words that could be it.
        self._variant_buckets: dict[str, list[int]] = {}
        self._variant_ends: set[str] = set()
        for pid in self._variant_ids:
            word = _bare(self._plans[pid].words[0])
            for first in _first_letters(word):
                for end in _end_letters(word):
                    self._variant_buckets.setdefault(first + end, []).append(pid)
                    self._variant_ends.add(end)
        self._variant_filter = None
        if self._variant_ids:
            alts = sorted({variant_pattern(_bare(self._plans[pid].words[0])) for pid in self._variant_ids})
            options = re2.Options()
            options.max_mem = 64 << 20
            options.never_capture = True
            self._variant_filter = re2.compile("|".join(f"(?:{a})" for a in alts), options)

    def _plan(self, text: str, exact: bool, variants: bool) -> int:
        key = (normalize_text(text), exact, variants)
        pid = self._plan_ids.get(key)
        if pid is None:
            pid = len(self._plans)
            self._plans.append(_plan_for(text, exact, variants))
            self._plan_ids[key] = pid
        return pid

    def _rule(self, term: "Term") -> _TermRule:
        if term.regex:
            rid = self._regex_ids.get(term.text)
            if rid is None:
                rid = len(self._regexes)
                self._regexes.append(compile_regex(term.text))
                self._regex_ids[term.text] = rid
            return _TermRule(term, regex=rid)
        parts = term.near or (term.text,)
        return _TermRule(term, plans=tuple(self._plan(p, term.exact, term.variants) for p in parts))

    # -- matching -------------------------------------------------------------------------

    def match(self, title: str, summary: str = "") -> list[Match]:
        """The matches of every watchlist that fires on this story (see module rules)."""
        plan_hits: dict[int, list[_Hit]] = {}
        regex_hits: dict[int, list[_Hit]] = {}
        originals = {"title": title or "", "summary": summary or ""}
        for fname in FIELDS:
            text = originals[fname]
            if text:
                self._scan(fname, text, plan_hits, regex_hits)
        if not plan_hits and not regex_hits:
            return []
        candidates: set[int] = set()
        for pid in plan_hits:
            candidates.update(self._by_plan.get(pid, ()))
        for rid in regex_hits:
            candidates.update(self._by_regex.get(rid, ()))
        out: list[Match] = []
        mapped: dict[str, Normalized] = {}
        for index in sorted(candidates):
            wl, terms, require, exclude = self._rules[index]
            found = [(r, hits) for r in terms if (hits := self._rule_hits(r, plan_hits, regex_hits))]
            if not found:
                continue
            if require:
                needed = [(r, hits) for r in require if (hits := self._rule_hits(r, plan_hits, regex_hits))]
                if not needed:
                    continue
                found += needed
            if exclude and any(self._rule_hits(r, plan_hits, regex_hits) for r in exclude):
                continue
            seen = set()
            for rule, hits in found:
                for label, hit in hits:
                    norm = mapped.get(hit.field)
                    if norm is None:
                        norm = mapped[hit.field] = normalize(originals[hit.field])
                    start, end = _original_span(norm, originals[hit.field], hit.start, hit.end)
                    key = (label, hit.field, start, end)
                    if key not in seen:
                        seen.add(key)
                        out.append(Match(wl.name, label, hit.field, start, end))
        out.sort(key=lambda m: (m.watchlist, FIELDS.index(m.field), m.start, m.end, m.term))
        return out

    def _rule_hits(self, rule: _TermRule, plan_hits: dict[int, list[_Hit]],
                   regex_hits: dict[int, list[_Hit]]) -> list[tuple[str, _Hit]]:
        if rule.regex >= 0:
            return [(rule.term.text, h) for h in regex_hits.get(rule.regex, ())]
        if not rule.term.near:
            hits = plan_hits.get(rule.plans[0])
            return [(rule.term.text, h) for h in hits] if hits else []
        return _near_hits(rule, plan_hits)

    def _scan(self, fname: str, text: str, plan_hits: dict[int, list[_Hit]],
              regex_hits: dict[int, list[_Hit]]) -> None:
        norm = normalize_text(text)
        tokens = TOKEN_RE.findall(norm)
        found = self._keys.intersection(tokens)
        variant = self._variant_filter is not None and self._variant_filter.search(norm) is not None
        positions: list[tuple[str, int, int]] | None = None
        if found or variant:
            positions = [(m.group(), m.start(), m.end()) for m in TOKEN_RE.finditer(norm)]
        if found:
            assert positions is not None
            for i, (tok, s, e) in enumerate(positions):
                if tok not in found:
                    continue
                for pid, offset in self._forms[tok]:
                    plan = self._plans[pid]
                    j = _phrase_end(plan, positions, i)
                    if j:
                        plan_hits.setdefault(pid, []).append(_Hit(fname, s + offset, positions[j - 1][2], i, j))
        if variant:
            assert positions is not None
            self._scan_variants(fname, positions, plan_hits)
        for rid, rx in enumerate(self._regexes):
            hits = []
            for m in rx.finditer(norm):
                if m.end() > m.start():
                    hits.append((m.start(), m.end()))
                    if len(hits) >= MAX_MATCHES_PER_REGEX:
                        break
            if hits:
                if positions is None:
                    positions = [(m.group(), m.start(), m.end()) for m in TOKEN_RE.finditer(norm)]
                for s, e in hits:
                    ts = _token_index(positions, s)
                    te = max(ts + 1, _token_index(positions, e - 1) + 1)
                    regex_hits.setdefault(rid, []).append(_Hit(fname, s, e, ts, te))

    def _scan_variants(self, fname: str, positions: list[tuple[str, int, int]],
                       plan_hits: dict[int, list[_Hit]]) -> None:
        data = self._data
        for i, (tok, s, e) in enumerate(positions):
            if tok[-1] not in self._variant_ends:
                continue
            for split in _NO_PREFIX + _SPLITS_BY_FIRST.get(tok[0], ()):
                if not tok.startswith(split.prefix) or len(tok) - len(split.prefix) < 2:
                    continue
                if data.refuses(tok, split.clitics):
                    continue
                stem = tok[len(split.prefix):]
                for pid in self._variant_buckets.get(stem[0] + stem[-1], ()):
                    plan = self._plans[pid]
                    if plan.exact and split.prefix:
                        continue
                    if plan.has_article and not split.article:
                        continue  # a term with ال keeps it
                    if not plan.patterns[0].fullmatch(stem):
                        continue
                    if not self._variant_allowed(stem, _bare(plan.words[0])):
                        continue
                    j = _phrase_end(plan, positions, i)
                    if not j:
                        continue
                    offset = split.offset_article if plan.has_article else split.offset_plain
                    hit = _Hit(fname, s + offset, positions[j - 1][2], i, j)
                    hits = plan_hits.setdefault(pid, [])
                    if not any(h.tok_start == i and h.field == fname for h in hits):
                        hits.append(hit)

    def _variant_allowed(self, stem: str, word: str) -> bool:
        if stem == word:
            return True
        counts = self._data.counts
        seen = counts.get(stem, 0)
        if seen >= VARIANT_GUARD_MIN and seen > VARIANT_GUARD_RATIO * max(counts.get(word, 0), 1):
            return False
        # An ordinary Arabic noun takes the article; a foreign name seldom does.
        defined = counts.get(ARTICLE + stem, 0)
        return not (defined >= VARIANT_NOUN_MIN and defined > VARIANT_NOUN_RATIO * (counts.get(ARTICLE + word, 0) + 1))


def _first_letters(word: str) -> str:
    """Every letter a variant spelling of `word` may start with."""
    if len(word) < 3 or not any("\u0600" <= ch <= "\u06ff" for ch in word):
        return word[0]
    if word.startswith("تش"):
        return "تطش"
    if word[0] == "ش":
        return "شت"
    return _CLASSES.get(word[0], word[0])


def _end_letters(word: str) -> str:
    """Every letter a variant spelling of `word` may end with."""
    last = word[-1]
    if len(word) < 3 or not any("\u0600" <= ch <= "\u06ff" for ch in word):
        return last
    if last in "اه":
        return "اه"
    return _CLASSES.get(last, last)


def _phrase_end(plan: _Plan, positions: list[tuple[str, int, int]], i: int) -> int:
    """Token index just past the phrase starting at token i, or 0 when it does not follow."""
    n = len(plan.words)
    if i + n > len(positions):
        return 0
    for k in range(1, n):
        tok = positions[i + k][0]
        if plan.variants:
            if not plan.patterns[k].fullmatch(tok):
                return 0
        elif tok != plan.words[k]:
            return 0
    return i + n


def _token_index(positions: list[tuple[str, int, int]], at: int) -> int:
    lo, hi = 0, len(positions)
    while lo < hi:
        mid = (lo + hi) // 2
        if positions[mid][2] <= at:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _near_hits(rule: _TermRule, plan_hits: dict[int, list[_Hit]]) -> list[tuple[str, _Hit]]:
    parts = [plan_hits.get(pid, []) for pid in rule.plans]
    if not all(parts):
        return []
    within = rule.term.within
    out: list[tuple[str, _Hit]] = []
    for fname in FIELDS:
        choices = [[h for h in hits if h.field == fname] for hits in parts]
        if not all(choices):
            continue
        total = 1
        for c in choices:
            total *= len(c)
        if total > 10_000:  # a pathological story: keep the first occurrences only
            choices = [c[:8] for c in choices]
        for combo in product(*choices):
            if all(_gap(a, b) <= within for k, a in enumerate(combo) for b in combo[k + 1:]):
                for text, hit in zip(rule.term.near, combo):
                    if (text, hit) not in out:
                        out.append((text, hit))
    return out


def _gap(a: _Hit, b: _Hit) -> int:
    """Words between two hits (0 when adjacent; overlapping hits count as 0)."""
    if a.tok_end <= b.tok_start:
        return b.tok_start - a.tok_end
    if b.tok_end <= a.tok_start:
        return a.tok_start - b.tok_end
    return 0


def _original_span(norm: Normalized, original: str, start: int, end: int) -> tuple[int, int]:
    s, e = norm.span(start, end)
    # Take in the harakat and tatweel written after the last letter.
    while e < len(original) and not fold_char(original[e]) and (
            unicodedata.category(original[e]) == "Mn" or original[e] == "\u0640"):
        e += 1
    return s, e


# -- the `raqib match` contract -----------------------------------------------------------

def match_stream(matcher: Matcher, lines: Iterable[str], source: str = "<stdin>") -> Iterator[dict]:
    """One output dict per input story line, in input order (DESIGN.md, `raqib match`).

    Input: JSON Lines `{"id", "title", "summary"?}`. Blank lines are skipped. A line that
    is not a JSON object with an id and a string title raises ConfigError(file=source,
    line=N); the lines before it have been yielded already.
    """
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            story = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=source, line=n) from None
        if not isinstance(story, dict):
            raise ConfigError("expected a JSON object {\"id\", \"title\", \"summary\"?}", file=source, line=n)
        if "id" not in story:
            raise ConfigError("story has no \"id\"", file=source, line=n)
        title = story.get("title")
        summary = story.get("summary")
        if title is None:
            title = ""
        if summary is None:
            summary = ""
        if not isinstance(title, str) or not isinstance(summary, str):
            raise ConfigError("title and summary must be strings", file=source, line=n)
        matches = matcher.match(title, summary)
        yield {"id": story["id"], "matches": [
            {"watchlist": m.watchlist, "term": m.term, "field": m.field, "start": m.start, "end": m.end}
            for m in matches]}
