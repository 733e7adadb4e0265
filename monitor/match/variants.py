"""Variant spellings of transliterated names: the pattern of a word's spellings and
the skeleton they all share.

`variant_pattern(word)` writes the variant rules of `monitor.match` (letter classes, long
vowels left out or added between consonants, the diphthong ai, a final ا or ه) as one
regex. `skeleton(word)` takes out what those rules may change, so every spelling the
pattern accepts has the skeleton of the word: a token of another skeleton needs no look.
"""
from __future__ import annotations

import re
from itertools import product

# The skeleton is defined with the fold, where the store's search index reads it too.
from monitor.normalize import SKELETON_CLASSES as _SKELETON_CLASSES
from monitor.normalize import SKELETON_DROPPED, SKELETON_TABLE, TSH, skeleton  # noqa: F401 - re-exported

from .lexicon import SPLITS

VOWELS = frozenset("اوي")


_CLASSES = {}
for _group in ("غجق", "تط", "سص", "زذ", "فڤ", "بپ"):
    for _ch in _group:
        _CLASSES[_ch] = _group
_CLASSES["ئ"] = "ئيء"
_CLASSES["ؤ"] = "ؤوء"
_CLASSES["ء"] = "ءئؤ"
# Classes a letter joins only inside the word (never first): the German tz (شولتس/شولتز),
# the Slavic zh (بريغوجين/بريغوزين) and h (لوغانسك/لوهانسك).
_INNER = {"س": "ز", "ز": "سج", "ج": "ز", "غ": "ه", "ه": "غ"}
# Each of those rules by name, for measuring them one by one (bench/variant_reach.py).
RULES = frozenset({"s/z", "j/z", "gh/h", "sh/s", "fa/wa"})
_RULE_OF = {("س", "ز"): "s/z", ("ز", "س"): "s/z", ("ز", "ج"): "j/z", ("ج", "ز"): "j/z", ("غ", "ه"): "gh/h",
            ("ه", "غ"): "gh/h", ("ش", "س"): "sh/s", ("س", "ش"): "sh/s"}
# Classes a letter joins only as the last letter: the Spanish/Portuguese s (غوتيريش/غوتيريس).
_LAST = {"ش": "س", "س": "شز", "ز": "س"}
# The German w (فاغنر/واغنر): a first فا may be written وا and back. Only before ا: و is
# the conjunction and the first letter of countless words (فيصل is never وصل).
_FIRST_FA = {"ف": "(?:[فڤ]ا?|وا)", "و": "(?:وا|[فڤ]ا?)"}
MIN_NEW_RULES = 5  # those rules are for names of five letters or more (غزة never قسا)
MAX_SKELETONS = 64  # skeletons one word may have; past it, letters keep their plain class


def _skeleton_char(ch: str) -> str:
    return _SKELETON_CLASSES.get(ch, "" if ch in SKELETON_DROPPED else ch)


def _units(word: str) -> list[tuple[str, bool, frozenset[str]]]:
    """The word as pattern units: (regex, is a consonant in the term, the skeletons of
    what the unit accepts)."""
    n = len(word)
    units: list[tuple[str, bool, frozenset[str]]] = []
    spread = 1  # how many skeletons the units so far give
    i = 0
    while i < n:
        ch = word[i]
        if ch == "ت" and i + 1 < n and word[i + 1] == "ش":
            units.append(("(?:[تط]ش|ش)", True, frozenset({"ش"})))
            i += 2
            continue
        if ch == "ا" and 0 < i < n - 2 and word[i + 1] == "ي" and word[i - 1] not in VOWELS:
            units.append(("ا?ي", False, frozenset({""})))  # the diphthong ai: مايكروسوفت / ميكروسوفت
            i += 2
            continue
        if i == 0 and ch in _FIRST_FA and n >= MIN_NEW_RULES and word[1] == "ا" and "fa/wa" in RULES:
            units.append((_FIRST_FA[ch], False, frozenset({"", "ف"})))
            spread *= 2
            i += 2
            continue
        if i == 0:
            extra = ""
        elif i == n - 1:
            extra = _LAST.get(ch, "")
        else:
            extra = _INNER.get(ch, "")
        extra = "".join(x for x in extra if _RULE_OF.get((ch, x), "") in RULES and n >= MIN_NEW_RULES)
        own = "ش" if ch == "ش" else _CLASSES.get(ch, ch)
        if spread * len({_skeleton_char(x) for x in own + extra}) > MAX_SKELETONS:
            extra = ""
        if ch == "ش":
            letters = "ش" + extra
            units.append(("(?:ش|تش" + "".join("|" + x for x in extra) + ")", True,
                          frozenset(_skeleton_char(x) for x in letters)))
        elif ch == "ي" and 0 < i < n - 1 and word[i - 1] not in VOWELS and word[i + 1] not in VOWELS:
            units.append(("(?:ا?ي)?", False, frozenset({""})))  # فيسبوك / فايسبوك (only between consonants)
        elif i == n - 1 and ch in "اه":
            units.append(("[اه]", False, frozenset({""})))
        elif ch in VOWELS and not extra:
            inner = 0 < i < n - 1 and word[i - 1] not in VOWELS and word[i + 1] not in VOWELS
            units.append((re.escape(ch) + ("?" if inner else ""), False, frozenset({""})))
        else:
            letters = own + "".join(x for x in extra if x not in own)
            pattern = f"[{letters}]" if len(letters) > 1 else re.escape(ch)
            units.append((pattern, ch not in VOWELS, frozenset(_skeleton_char(x) for x in letters)))
        spread *= len(units[-1][2])
        i += 1
    return units


def variant_pattern(word: str) -> str:
    """The regex (Python and RE2 syntax alike) of a normalised word's variant spellings."""
    if len(word) < 3 or not any("\u0600" <= ch <= "\u06ff" for ch in word):
        return re.escape(word)
    units = _units(word)
    parts = [units[0][0]]
    for (_, prev_consonant, _), (pattern, consonant, _) in zip(units, units[1:], strict=False):
        if prev_consonant and consonant:
            parts.append("[اوي]?")  # one long vowel may be added between two consonants
        parts.append(pattern)
    return "".join(parts)


def skeletons(word: str) -> set[str]:
    """Every skeleton a spelling that `variant_pattern(word)` accepts may have: the
    word's own, and those of the letters that join a class only first, inside or last."""
    if len(word) < 3 or not any("\u0600" <= ch <= "\u06ff" for ch in word):
        return {skeleton(word)}
    return {TSH.sub("ش", "".join(parts)) for parts in product(*(u[2] for u in _units(word)))}


PREFIX_SKELETONS = tuple(sorted({skeleton(sp.prefix) for sp in SPLITS}))
