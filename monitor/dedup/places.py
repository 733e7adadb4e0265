"""Places at the event level: a country named by its name, its people or its capital is
one term (`monitor.dedup.events`; `dedup.event.places`, off by default: see
bench/event_eval.py for what it was measured to do).

The table is built once, from CLDR's Arabic names as Babel ships them, and from the
corpus word table the project ships; no place is listed by hand:

* **countries** — the territories that have a time zone (`babel.core.get_global
  ("zone_territories")`: regions, unions and groupings have none), by their Arabic name
  (`babel.Locale("ar").territories`), normalised (`monitor.normalize.normalize_text`).
  A one-word name matches with proclitics and the article (لتركيا, والأردن); a name of
  several words matches as a phrase, its first word with proclitics. A one-word name
  that the corpus uses mostly as another word is left out: the name is itself a nisba
  whose feminine is more common than it (مالي, Mali, is "financial"; المالية).
* **their people** — the nisba of a one-word name: the name without its article and a
  final ا or ة, then ي added unless it ends in one (فرنسا → فرنسي, الأردن → أردني,
  ألمانيا → ألماني, السعودية → سعودي), kept when the corpus word table
  (`monitor.match.form_data`, monitor/data/arabic_forms.tsv.gz) sees it with the article
  at least `ARTICLE_SHARE` of the time (an adjective, not a first name); its forms ـية،
  ـيين، ـيون، ـيات when the table has seen each at least `FORM_MIN` times.
* **cities** — the exemplar city (`Locale("ar").time_zones`) of the time zone of a
  territory that has one time zone only: its capital or main city (دمشق، بغداد، القاهرة،
  الرياض، طهران، بيروت). A territory of many zones lists provincial towns there, some of
  them common words (سمراء, نوم), so none of them is read. A city of one word only, and
  not a country's name or a nisba form as well (عمّان folds to عمان, Oman's name).

What a place gives a story: a country's name, its phrase or a form of its nisba counts
as the country's term instead of the word's own (a phrase as one term); a city counts as
its own term and as its country's too (two stories in one capital share more than two in
one country). The country's term is the term (`monitor.dedup.stems.term_of`) of its
nisba when it has one, so that what the stemmer already gives it stays with it (الأتراك
and تركيا are ترك, الروس and روسيا رس); else the term of its one-word name; a phrase's
term is the nisba's of its last word when that word is in no other territory's name
(المملكة العربية السعودية is سعودي, الأراضي الفلسطينية فلسطيني), else the terms of its
words joined by a space (الولايات المتحدة, كوريا الشمالية).

What it mends: the stemmer gives الأردن the term of رد ("reply"), فلسطين لست, السودان
سد ("dam"), البحرين بحر ("sea"), and their people other terms again (أردني, فلسطيني);
and a capital never met its country. What it does not: a country's other names
(أنقرة, Washington and Beijing are no time zone's city; بريطانيا is not CLDR's name for
the United Kingdom), a government for its leader (النظام السوري, الأسد), a person for
their state.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location

from monitor.match import form_data
from monitor.normalize import normalize_text

from .stems import term_of

ARTICLE = "ال"
ARTICLE_SHARE = 0.5  # a nisba seen with the article at least this share of the time is an adjective
FORM_MIN = 5  # a nisba form seen fewer times in the corpus is not read as one
NISBA_FORMS = ("ه", "ين", "ون", "ات")  # ة is folded to ه
_LETTERS = re.compile(r"[^\W\d_]+")
# Proclitics before a name, longest first: و/ف, then ب/ل/ك, then the article (ل + ال is لل).
_PROCLITICS = re.compile(r"^(?:[وف]?(?:لل|[بك]ال|ال|[بلك])?)")


@dataclass(frozen=True)
class PlaceTable:
    """Normalised word (no proclitics, no article) -> its country's term, for names and
    nisba forms (`names`) and for cities (`cities`); phrases (first word bare, the others as
    written) -> term."""

    names: dict[str, str]
    cities: dict[str, str]
    phrases: dict[tuple[str, ...], str]
    starts: frozenset[str]  # the phrases' first words
    longest: int  # words in the longest phrase


def bare(word: str) -> str:
    """A normalised word without its article (a word of three letters or less keeps it)."""
    return word[2:] if word.startswith(ARTICLE) and len(word) > 4 else word


def _readings(word: str) -> list[str]:
    """The word, then the word without each proclitic reading (longest cut first), article
    stripped; none shorter than three letters."""
    out = [bare(word)]
    m = _PROCLITICS.match(word)
    for cut in range(m.end() if m else 0, 0, -1):
        out.append(bare(word[cut:]))
    return [r for r in dict.fromkeys(out) if len(r) >= 3]


def _nisba(name: str) -> str | None:
    """The nisba of a one-word country name (no article) when the corpus attests it as
    an adjective, else None."""
    stem = name[:-1] if name[-1:] in ("ا", "ه") else name
    nisba = stem if stem.endswith("ي") else stem + "ي"
    row = form_data().stems.get(nisba)
    if row is None or row.defined < ARTICLE_SHARE * row.total:
        return None
    return nisba


@lru_cache(maxsize=1)
def place_table() -> PlaceTable:
    """The table (module docstring), built from Babel's CLDR data on first use."""
    ar = Locale("ar")
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    countries = {code: _LETTERS.findall(normalize_text(ar.territories[code]))
                 for code in sorted(zones) if len(code) == 2 and code.isalpha() and code in ar.territories}
    in_names = Counter(w for words in countries.values() for w in set(words))
    data = form_data()
    names: dict[str, str] = {}
    phrases: dict[tuple[str, ...], str] = {}
    kept: list[str] = []
    for code, words in countries.items():
        if not words:
            continue
        last = bare(words[-1])
        if len(words) == 1:
            row = data.stems.get(last)
            if row is not None and sum(row.suffixes.get("ه", (0, 0))) > row.total:
                continue  # a word of its own before a name (مالي: المالية)
            names[last] = code
            nisba = _nisba(last)
        else:
            phrases[(bare(words[0]), *words[1:])] = code
            nisba = _nisba(last) if in_names[words[-1]] == 1 else None
            if nisba and not data.group_name(nisba):
                nisba = None  # a people's name, not an adjective of any place (الوسطى)
        kept.append(code)
        if nisba:
            names.setdefault(nisba, code)
            row = data.stems[nisba]
            for suffix in NISBA_FORMS:
                if sum(row.suffixes.get(suffix, (0, 0))) >= FORM_MIN:
                    names.setdefault(nisba + suffix, code)
    cities: dict[str, str] = {}
    for code in kept:
        if len(zones[code]) != 1:
            continue
        words = _LETTERS.findall(normalize_text(get_timezone_location(zones[code][0], ar, return_city=True)))
        key = bare(words[0]) if len(words) == 1 else ""
        if len(key) >= 3 and key not in names:
            cities[key] = code
    return PlaceTable(names, cities, phrases, frozenset(p[0] for p in phrases),
                      max((len(p) for p in phrases), default=1))


@lru_cache(maxsize=16384)  # the words of news are few and frequent; a bound on memory
def _word_terms(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The terms one normalised word gives (its country's; or its own and its city's
    country's), and its readings that begin a phrase."""
    table = place_table()
    readings = _readings(word)
    starts = tuple(r for r in readings if r in table.starts)
    country = next((table.names[r] for r in readings if r in table.names), None)
    if country is not None:
        return (country,), starts
    own = term_of(word)
    city = next((table.cities[r] for r in readings if r in table.cities), None)
    terms = tuple(t for t in (own, city if city != own else None) if t)
    return terms, starts


def place_terms(words: list[str], places: bool, of: Callable[[str], str] = term_of) -> list[tuple[str, str]]:
    """(term, word) for each term the normalised words give, in order (module docstring):
    a country's name, nisba form or phrase gives the country's term, a city its own term
    and its country's; every other word its own term (`term_of`). Words that give no term
    are left out. `places` False: every word its own term, `of` it (`term_of`, or the
    same worked out another way: a rebuild's memo)."""
    if not places:
        return [(t, w) for w in words if (t := of(w))]
    table = place_table()
    phrases, longest = table.phrases, table.longest
    out: list[tuple[str, str]] = []
    i, n = 0, len(words)
    while i < n:
        w = words[i]
        terms, starts = _word_terms(w)
        matched = 0
        for size in range(min(longest, n - i), 1, -1) if starts else ():
            tail = tuple(words[i + 1:i + size])
            term = next((phrases[(r, *tail)] for r in starts if (r, *tail) in phrases), None)
            if term is not None:
                out.append((term, w))
                matched = size
                break
        if matched:
            i += matched
            continue
        out.extend((t, w) for t in terms)
        i += 1
    return out


def term_set(lists: tuple[list[str], ...], places: bool, of: Callable[[str], str] = term_of) -> set[str]:
    """The different terms of lists of normalised words (`place_terms` of each: a phrase
    never spans two lists), as the keys of a story's term counts, without counting
    (`of` as in `place_terms`)."""
    if not places:
        return set(filter(None, map(of, chain.from_iterable(lists))))  # as a set comprehension, in C
    return {t for words in lists for t, _w in place_terms(words, True)}
