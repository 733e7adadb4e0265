"""Arabic-aware text normalisation: the one function matching and dedup both use.

Rules, applied per character of the original text, in this order:

1. NFKC per character (Arabic presentation forms, ligatures such as ﻻ and ﷲ, full-width
   Latin). A character may expand to several.
2. Removed: harakat, tanween, shadda, sukun (U+064B–U+065F), superscript alef (U+0670),
   Quranic annotation marks (U+0610–U+061A, U+06D6–U+06ED), tatweel (U+0640), zero-width
   and bidi controls (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069), soft hyphen, BOM,
   Arabic letter mark (U+061C).
3. Folded: أ إ آ ٱ ٲ ٳ → ا; ى ی ې ۍ → ي; ة ۃ → ه; ک ڪ → ك; ۀ ہ ھ → ه; ؤ → و and ئ → ي
   are *not* folded (they carry meaning and outlets keep them); Arabic-Indic and Persian
   digits → 0–9; Arabic comma/semicolon/question mark → their Latin forms; every kind of
   space (NBSP, thin space, …) → one ASCII space; Latin is case-folded.

`normalize` returns the folded text and, for every output character, the index of the
original character it came from, so a span found in the normalised text maps back to
the original with `Normalized.span`. Both functions run through `str.translate` with a
table filled lazily from `fold_char`, so the per-character rules live in one place and
the common case costs a few microseconds per headline.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_REMOVE = set()
_REMOVE.update(range(0x064B, 0x0660))  # harakat, tanween, shadda, sukun, ...
_REMOVE.add(0x0670)  # superscript alef
_REMOVE.update(range(0x0610, 0x061B))  # Quranic marks
_REMOVE.update(range(0x06D6, 0x06EE))  # Quranic annotation signs
_REMOVE.add(0x06DD)
_REMOVE.add(0x0640)  # tatweel
_REMOVE.update(range(0x200B, 0x2010))  # zero-width space, ZWNJ, ZWJ, LRM, RLM
_REMOVE.update(range(0x202A, 0x202F))  # bidi embeddings and overrides
_REMOVE.update(range(0x2066, 0x206A))  # bidi isolates
_REMOVE.update((0x00AD, 0xFEFF, 0x061C, 0x2060, 0x08F0, 0x08F1, 0x08F2))

_FOLD = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي", "ێ": "ي",
    "ة": "ه", "ۃ": "ه", "ۀ": "ه", "ہ": "ه", "ھ": "ه", "ە": "ه",
    "ک": "ك", "ڪ": "ك", "ګ": "ك",
    "،": ",", "؛": ";", "؟": "?", "٪": "%", "٫": ".", "٬": ",",
}
for _i in range(10):
    _FOLD[chr(0x0660 + _i)] = str(_i)  # Arabic-Indic digits
    _FOLD[chr(0x06F0 + _i)] = str(_i)  # Persian digits


@dataclass(frozen=True)
class Normalized:
    """Folded text and, per character, the index of its original character."""

    text: str
    source: tuple[int, ...]
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of the normalised text back onto the original text."""
        if start >= end:
            at = self.source[start] if start < len(self.source) else self.original_length
            return at, at
        return self.source[start], self.source[end - 1] + 1


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """What one original character becomes in normalised text (possibly nothing)."""
    code = ord(ch)
    if code < 0x80:
        return ch.lower()
    if code in _REMOVE:
        return ""
    if ch in _FOLD:
        return _FOLD[ch]
    if unicodedata.category(ch) == "Zs" or ch in "\u2028\u2029\u0085":
        return " "
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        oc = ord(c)
        if oc in _REMOVE:
            continue
        c = _FOLD.get(c, c)
        if unicodedata.category(c) == "Zs":
            c = " "
        out.append(c)
    return "".join(out).casefold()


class _FoldTable(dict):
    """`str.translate` table: code point -> folded string, filled on first sight."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


class _LengthTable(dict):
    """`str.translate` table: code point -> how many characters it becomes ("0", "1", "2")."""

    def __missing__(self, code: int) -> str:
        size = len(_TABLE[code])
        mark = "1" if size == 1 else "0" if size == 0 else "2"
        self[code] = mark
        return mark


_TABLE = _FoldTable()
_LENGTHS = _LengthTable()
for _code in list(range(0x0000, 0x0800)) + list(range(0x2000, 0x2070)):
    _LENGTHS[_code]  # warm the common ranges: ASCII, Latin, Arabic, spaces and bidi marks


def normalize(text: str) -> Normalized:
    """Normalise `text`, keeping a map from every output character to its origin."""
    folded = text.translate(_TABLE)
    lengths = text.translate(_LENGTHS)
    n = len(text)
    if "0" not in lengths and "2" not in lengths:
        return Normalized(folded, tuple(range(n)), n)
    if "2" not in lengths:
        return Normalized(folded, tuple(i for i, c in enumerate(lengths) if c == "1"), n)
    source: list[int] = []
    for i, ch in enumerate(text):
        k = len(_TABLE[ord(ch)])
        if k:
            source.extend([i] * k)
    return Normalized(folded, tuple(source), n)


def normalize_text(text: str) -> str:
    """The normalised text alone, for callers that need no offsets (dedup, keys)."""
    return text.translate(_TABLE)
