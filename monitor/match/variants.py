"""Variant spellings of transliterated names: the pattern of a word's spellings and
the skeleton they all share.

`variant_pattern(word)` writes the variant rules of `monitor.match` (letter classes, long
vowels left out or added between consonants, the diphthong ai, a final ا or ه) as one
regex. `skeleton(word)` takes out what those rules may change, so every spelling the
pattern accepts has the skeleton of the word: a token of another skeleton needs no look.
"""
from __future__ import annotations

import re

from .lexicon import SPLITS

VOWELS = frozenset("اوي")


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
        if ch == "ا" and 0 < i < n - 2 and word[i + 1] == "ي" and word[i - 1] not in VOWELS:
            units.append(("ا?ي", False))  # the diphthong ai: مايكروسوفت / ميكروسوفت
            i += 2
            continue
        if ch == "ش":
            units.append(("(?:ش|تش)", True))
        elif ch == "ي" and 0 < i < n - 1 and word[i - 1] not in VOWELS and word[i + 1] not in VOWELS:
            units.append(("(?:ا?ي)?", False))  # فيسبوك / فايسبوك (only between consonants)
        elif i == n - 1 and ch in "اه":
            units.append(("[اه]", False))
        elif ch in VOWELS:
            inner = 0 < i < n - 1 and word[i - 1] not in VOWELS and word[i + 1] not in VOWELS
            units.append((re.escape(ch) + ("?" if inner else ""), False))
        else:
            units.append((_letter(ch), True))
        i += 1
    parts = [units[0][0]]
    for (_, prev_consonant), (pattern, consonant) in zip(units, units[1:], strict=False):
        if prev_consonant and consonant:
            parts.append("[اوي]?")  # one long vowel may be added between two consonants
        parts.append(pattern)
    return "".join(parts)


# Skeletons: what every variant spelling of a word has in common (see `skeleton`).
_SKELETON_CLASSES = {"ج": "غ", "ق": "غ", "ط": "ت", "ص": "س", "ذ": "ز", "ڤ": "ف", "پ": "ب"}
SKELETON_DROPPED = "اويءئؤه"
SKELETON_TABLE = str.maketrans({**_SKELETON_CLASSES, **{ch: None for ch in SKELETON_DROPPED}})
TSH = re.compile("ت+ش")


def skeleton(word: str) -> str:
    """A normalised word with what variant spellings may change taken out: the long
    vowels, hamza seats and ه dropped, each letter class written by one letter, and
    ت or ط before ش dropped. Every spelling `variant_pattern(word)` accepts has the
    skeleton of `word`, so tokens of another skeleton need no look."""
    return TSH.sub("ش", word.translate(SKELETON_TABLE))



PREFIX_SKELETONS = tuple(sorted({skeleton(sp.prefix) for sp in SPLITS}))
