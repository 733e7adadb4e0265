"""The term a normalised word counts as at the event level (`monitor.dedup.events`):
stemmed with the Snowball stemmer (PyStemmer: Arabic, and English for Latin words), then
reduced to its variant skeleton (`monitor.match.variants.skeleton`). A number keeps all
its digits; a term shorter than two letters is the stem itself, or nothing."""
from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from monitor.match import skeleton

_ARABIC = re.compile(r"[\u0600-\u06ff]")
_AR_STEMMER = Stemmer.Stemmer("arabic")
_EN_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def term_of(word: str) -> str:
    """The term a normalised word counts as: stemmed, then its variant skeleton ("" when
    nothing of it is left to compare)."""
    if word.isdigit():
        return word
    if _ARABIC.search(word):
        stem = _AR_STEMMER.stemWord(word)
        term = skeleton(stem)
        if len(term) < 2:
            term = stem if len(stem) >= 2 else ""
        return term
    stem = _EN_STEMMER.stemWord(word)
    return stem if len(stem) >= 2 else ""
