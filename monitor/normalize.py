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
the original with `Normalized.span`. The per-character rules live in one place,
`fold_char`, and two ways of applying them are derived from it:

* the byte path, for text made only of the 255 characters news actually carries (ASCII,
  the Arabic letters, harakat, digits and punctuation, the usual spaces, bidi and
  zero-width controls, quotes and dashes: `ALPHABET`). The text is encoded one byte per
  character with a codec table (`encode`), folded and stripped with one
  `bytes.translate` (`FOLDED`, `REMOVED`) and decoded back; every character of the
  alphabet folds to one character of the alphabet or to nothing, so this gives exactly
  what `fold_char` gives, about five times faster than `str.translate`. The matcher also
  reads tokens straight off these bytes.
* `str.translate` with a table filled lazily from `fold_char`, for any other text
  (presentation forms, other scripts, characters that expand under NFKC).

What is read off normalised text by more than one part lives here too: its tokens
(`tokenize`: runs of letters, or runs of digits) and their skeletons (`skeleton`: what
the variant spellings of a word share; the rules are in monitor/match/variants.py). The
matcher and the store's search index both use them, and the store imports no stage.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress

_REMOVE: set[int] = set()
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


class _FoldTable(dict[int, str]):
    """`str.translate` table: code point -> folded string, filled on first sight."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


class _LengthTable(dict[int, str]):
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


# -- the byte path ------------------------------------------------------------------------

def _alphabet() -> str:
    """The characters the byte path handles: byte i stands for ALPHABET[i]."""
    chars = [chr(c) for c in range(0x80)]  # ASCII as itself: byte 0x20 is a space
    arabic = [0x060C, 0x061B, 0x061C, 0x061F]
    arabic += list(range(0x0621, 0x063B))  # hamza, alef … ghain
    arabic += list(range(0x0640, 0x0656))  # tatweel, fa … yeh, harakat, maddah, hamza above/below
    arabic += list(range(0x0660, 0x066D))  # Arabic-Indic digits, percent, decimal and thousands marks
    arabic += [0x0670, 0x0671, 0x0672, 0x0673, 0x067E, 0x0686, 0x0698, 0x06A4, 0x06A9, 0x06AA,
               0x06AF, 0x06BE, 0x06C1, 0x06C3, 0x06CC, 0x06D5]
    arabic += list(range(0x06F0, 0x06FA))  # Persian digits
    spaces = [0x00A0, 0x00AD, 0x2002, 0x2003, 0x2009, 0x200A, 0x2028, 0x2029, 0x2060, 0x202F, 0xFEFF]
    spaces += list(range(0x200B, 0x2010)) + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
    punctuation = [0x00AB, 0x00BB, 0x201C, 0x201D, 0x2018, 0x2019, 0x2013, 0x2014, 0x2022,
                   0x00D7, 0x00B7, 0x00B0]
    chars += [chr(c) for c in arabic + spaces + punctuation]
    alphabet = "".join(dict.fromkeys(chars))
    assert len(alphabet) <= 256 and alphabet[:0x80] == "".join(map(chr, range(0x80)))
    # Every character must fold to nothing or to one character of the alphabet.
    assert all(len(fold_char(c)) <= 1 and fold_char(c) in alphabet for c in alphabet)
    return alphabet + "\ufffe" * (256 - len(alphabet))  # U+FFFE: byte not used


ALPHABET = _alphabet()
_ENCODING = codecs.charmap_build(ALPHABET)
_BYTE = {ch: i for i, ch in enumerate(ALPHABET) if ch != "\ufffe"}
# Byte of a character -> byte of its folded form (bytes that stand for nothing map to
# themselves); REMOVED: the bytes whose character folds to nothing.
FOLDED = bytes(_BYTE[fold_char(ch) or ch] if ch in _BYTE else i for i, ch in enumerate(ALPHABET))
REMOVED = bytes(i for i, ch in enumerate(ALPHABET) if ch in _BYTE and not fold_char(ch))
_KEPT = bytes(0 if i in REMOVED else 1 for i in range(256))
_encode = codecs.charmap_encode
_decode = codecs.charmap_decode


def encode(text: str) -> bytes | None:
    """`text` one byte per character (byte i is ALPHABET[i]), or None when it holds a
    character outside the alphabet."""
    try:
        return _encode(text, "strict", _ENCODING)[0]
    except UnicodeEncodeError:
        return None


def decode(data: bytes) -> str:
    """The inverse of `encode`."""
    return _decode(data, "strict", ALPHABET)[0]


def normalize(text: str) -> Normalized:
    """Normalise `text`, keeping a map from every output character to its origin."""
    n = len(text)
    raw = encode(text)
    if raw is not None:
        folded = raw.translate(FOLDED, REMOVED)
        if len(folded) == n:
            return Normalized(decode(folded), tuple(range(n)), n)
        return Normalized(decode(folded), tuple(compress(range(n), raw.translate(_KEPT))), n)
    out = text.translate(_TABLE)
    lengths = text.translate(_LENGTHS)
    if "0" not in lengths and "2" not in lengths:
        return Normalized(out, tuple(range(n)), n)
    if "2" not in lengths:
        return Normalized(out, tuple(i for i, c in enumerate(lengths) if c == "1"), n)
    source: list[int] = []
    for i, ch in enumerate(text):
        k = len(_TABLE[ord(ch)])
        if k:
            source.extend([i] * k)
    return Normalized(out, tuple(source), n)


TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")

# Skeletons: what every variant spelling of a word has in common (see `skeleton`; the
# variant rules are in monitor.match.variants, which reads these).
SKELETON_CLASSES = {"ج": "غ", "ق": "غ", "ط": "ت", "ص": "س", "ذ": "ز", "ڤ": "ف", "پ": "ب"}
SKELETON_DROPPED = "اويءئؤه"
SKELETON_TABLE = str.maketrans({**SKELETON_CLASSES, **{ch: None for ch in SKELETON_DROPPED}})
TSH = re.compile("ت+ش")


def skeleton(word: str) -> str:
    """A normalised word with what variant spellings may change taken out: the long
    vowels, hamza seats and ه dropped, each letter class written by one letter, and
    ت or ط before ش dropped. Every spelling `variant_pattern(word)` accepts has the
    skeleton of `word`, so tokens of another skeleton need no look."""
    return TSH.sub("ش", word.translate(SKELETON_TABLE))


_SKELETON_BYTES = bytes(_BYTE.get(SKELETON_CLASSES.get(ch, ch), i) for i, ch in enumerate(ALPHABET))
_SKELETON_DROPPED_BYTES = bytes(_BYTE[ch] for ch in SKELETON_DROPPED)


def skeleton_words(text: str) -> str:
    """`skeleton` of each word of `text`, words apart by single spaces, in one pass (ت+ش
    never spans a space); the byte path when it can (six times faster than `skeleton`)."""
    raw = encode(text)
    if raw is None:
        return skeleton(text)
    return TSH.sub("ش", decode(raw.translate(_SKELETON_BYTES, _SKELETON_DROPPED_BYTES)))


def tokenize(norm: str) -> list[str]:
    """The tokens of already-normalised text: runs of letters, or runs of digits (the
    matcher's words; the store's search index is made of them too)."""
    return TOKEN_RE.findall(norm)


def normalize_text(text: str) -> str:
    """The normalised text alone, for callers that need no offsets (dedup, keys)."""
    try:
        raw = _encode(text, "strict", _ENCODING)[0]
    except UnicodeEncodeError:
        return text.translate(_TABLE)
    return _decode(raw.translate(FOLDED, REMOVED), "strict", ALPHABET)[0]
