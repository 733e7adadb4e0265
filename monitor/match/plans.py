"""A term compiled: its plan (the normalised words of one spelling, their variant patterns,
a group name's forms, the words guarded against particles written with ى), and the rule
a watchlist holds (one plan, near parts, or a regex, and the fields it reads).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.models import Term
from monitor.normalize import normalize_text

from .compounds import compound_spellings
from .forms import form_data, words_with_maqsura
from .lexicon import bare, has_article, tokenize, word_data
from .variants import variant_pattern

FIELDS = ("title", "summary", "body")
BODY = 2
ALL_FIELDS = 0b111  # a term that may match in every field (bit i: FIELDS[i])


# A hit of a word, phrase or regex: field (0 title, 1 summary, 2 body), start and end in the
# normalised field text, then the token indices it covers (end exclusive).
Hit = tuple[int, int, int, int, int]


@dataclass
class TermPlan:
    """A compiled word or phrase (also a near part); `words` are normalised tokens."""

    text: str
    words: tuple[str, ...]
    exact: bool
    variants: bool
    patterns: tuple[re.Pattern[str], ...] = ()  # variants: one fullmatch pattern per word
    has_article: bool = False
    # The term's other compound spellings (عبدالله beside عبد الله), each a plan of its own
    # whose hits count as this plan's.
    others: tuple[TermPlan, ...] = ()
    # A group name's forms matched beside the word (monitor/match/forms.py), as (written
    # word, kind): ("الحوثيين", "plural").
    forms: tuple[tuple[str, str], ...] = ()
    # Words (by index) the term writes with a final ي whose token, when written with a
    # final ى, must not be a particle (علي is not على).
    guard: tuple[int, ...] = ()


@dataclass
class TermRule:
    """A term as a watchlist sees it: one plan, near parts, or a regex."""

    term: Term
    plans: tuple[int, ...] = ()
    regex: int = -1
    mask: int = ALL_FIELDS  # the fields it may match in (`in:`), bit i for FIELDS[i]


def term_spellings(text: str) -> list[tuple[str, ...]]:
    """A term's normalised words in each compound spelling, the all-apart one first."""
    words = tuple(tokenize(normalize_text(text)))
    if not words:
        raise ValueError(f"term {text!r} has no letters or digits once normalised")
    return compound_spellings(words, word_data().counts)


def plan_for(text: str, words: tuple[str, ...], exact: bool, variants: bool) -> TermPlan:
    patterns: tuple[re.Pattern[str], ...] = ()
    if variants:
        patterns = tuple(re.compile(variant_pattern(bare(w) if i == 0 else w)) for i, w in enumerate(words))
    data = form_data()
    forms = data.forms(words[0]) if len(words) == 1 and not exact and not variants else ()
    own = words_with_maqsura(text)
    # A variant spelling may reach a particle the word is not (عالي → علي): every word
    # ending in ي is checked; a plain word only when it is a particle itself.
    guard = tuple(k for k, w in enumerate(words) if w.endswith("ي") and w not in own
                  and (variants or data.particle(bare(w) if k == 0 else w)))
    return TermPlan(text, words, exact, variants, patterns, has_article=has_article(words[0]), forms=forms,
                 guard=guard)


PlanKey = tuple[str, bool, bool]


def field_mask(names: Iterable[str]) -> int:
    """The mask of field names ("title", "summary", "body"); every field when none."""
    mask = 0
    for name in names:
        mask |= 1 << FIELDS.index(name)
    return mask or ALL_FIELDS
