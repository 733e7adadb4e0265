"""Reading a field's tokens straight off its `encode`d bytes, and mapping normalised
offsets back to the original text.

Every table here is derived from `monitor.normalize` (its `ALPHABET`, `FOLDED`,
`REMOVED` and `fold_char`): there is one Arabic fold, and these are views of it. A
letter view keeps the folded letters and blanks the rest; a skeleton view writes each
letter's skeleton (`monitor.match.variants.skeleton`); `Field` holds one field being
matched, with the map from normalised offsets back to the original (a span takes in
the harakat and tatweel that trail its last letter).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate

from monitor.normalize import ALPHABET, FOLDED, REMOVED, Normalized, decode, encode, fold_char, normalize
from monitor.snippet import paragraph_starts

from .variants import SKELETON_DROPPED, SKELETON_TABLE, TSH, skeleton

LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_SPLIT_RE = re.compile(r"([^\W\d_]+|\d+)")  # TOKEN_RE, keeping the text between tokens


def _byte_view(keep: re.Pattern[str]) -> bytes:
    """A `bytes.translate` table over `encode`d text: a byte whose folded character is
    one `keep` matches becomes the folded byte, any other byte a space."""
    table = bytearray(b" " * 256)
    for i, ch in enumerate(ALPHABET):
        if ch != "\ufffe" and keep.fullmatch(fold_char(ch) or " "):
            table[i] = FOLDED[i]
    return bytes(table)


# Letter runs and digit runs of the normalised text, as `split()` finds them in bytes.
LETTER_VIEW = _byte_view(LETTER)
DIGIT_VIEW = _byte_view(_DIGIT)


def _skeleton_view(keep_digits: bool) -> tuple[bytes, bytes]:
    table = bytearray(b" " * 256)
    dropped = bytearray(REMOVED)
    for i, ch in enumerate(ALPHABET):
        if ch == "\ufffe" or i in REMOVED:
            continue
        folded = fold_char(ch)
        if LETTER.fullmatch(folded):
            sk = skeleton(folded)
            if sk:
                table[i] = _encoded(sk)[0]
            else:
                dropped.append(i)
        elif keep_digits and _DIGIT.fullmatch(folded):
            table[i] = FOLDED[i]
    return bytes(table), bytes(dropped)


def _encoded(text: str) -> bytes:
    """`encode` of text made of alphabet characters only (the letters named here)."""
    raw = encode(text)
    assert raw is not None
    return raw


_SKELETON_VIEW, _SKELETON_DELETE = _skeleton_view(False)  # a field's letter runs
_SKELETON_TOKENS, _ = _skeleton_view(True)  # tokens joined by spaces, one skeleton each
_TSH_BYTES = re.compile(re.escape(_encoded("ت")) + b"+" + re.escape(_encoded("ش")))
_SH_BYTE = _encoded("ش")
# A token of the letter view made only of letters a skeleton drops.
EMPTY_SKELETON = re.compile(b"(?<![^ ])[" + b"".join(re.escape(_encoded(ch)) for ch in SKELETON_DROPPED)
                             + b"]+(?![^ ])")


def field_skeletons(raw: bytes) -> list[bytes]:
    """The skeletons of the letter runs of an encoded field (runs with none are left out)."""
    view = raw.translate(_SKELETON_VIEW, _SKELETON_DELETE)
    if _SH_BYTE in view:
        view = _TSH_BYTES.sub(_SH_BYTE, view)
    return view.split()


def token_skeletons(tokens: list[str]) -> list[str]:
    """One skeleton per token, aligned with `tokens` (a digit token is its own skeleton)."""
    if not tokens:
        return []
    joined = " ".join(tokens)
    raw = encode(joined)
    if raw is None:
        return TSH.sub("ش", joined.translate(SKELETON_TABLE)).split(" ")
    view = raw.translate(_SKELETON_TOKENS, _SKELETON_DELETE)
    if _SH_BYTE in view:
        view = _TSH_BYTES.sub(_SH_BYTE, view)
    return decode(view).split(" ")


# Bytes of removed characters that a span takes in when they trail its last letter
# (harakat, tatweel; not zero-width or bidi controls).
_TRAILING = bytes(1 if i in REMOVED and (unicodedata.category(ch) == "Mn" or ch == "\u0640") else 0
                  for i, ch in enumerate(ALPHABET))
_REMOVED_RE = re.compile(b"[" + b"".join(re.escape(bytes([i])) for i in REMOVED) + b"]")


class Field:
    """One field of a story being matched: its original text, normalised text and
    tokens, with the map from normalised offsets back to the original."""

    __slots__ = ("text", "raw", "norm", "same", "tokens", "bounds", "_removed", "_mapped", "_paragraphs")

    def __init__(self, text: str, raw: bytes | None, norm: str) -> None:
        self.text = text
        self.raw = raw
        self.norm = norm
        # Nothing removed or expanded: offsets in `norm` are offsets in `text`.
        self.same = raw is not None and len(norm) == len(raw)
        parts = _SPLIT_RE.split(norm)
        self.tokens: list[str] = parts[1::2]
        # bounds[2k], bounds[2k + 1]: start and end of token k in `norm`.
        self.bounds = list(accumulate(map(len, parts)))
        self._removed: list[int] | None = None
        self._mapped: Normalized | None = None
        self._paragraphs: list[int] | None = None

    def paragraph(self, start: int) -> int:
        """The paragraph (from 1, `monitor.snippet` rules) of an ORIGINAL offset."""
        starts = self._paragraphs
        if starts is None:
            starts = self._paragraphs = paragraph_starts(self.text)
        return bisect_right(starts, start) or 1  # `paragraph_at`, inline: it runs once per hit

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A normalised span as a span of the original text (trailing marks taken in)."""
        raw = self.raw
        if raw is None:
            if self._mapped is None:
                self._mapped = normalize(self.text)
            return original_span(self._mapped, self.text, start, end)
        n = len(raw)
        if len(self.norm) == n:  # nothing was removed: offsets are the same
            s, e = start, end
        else:
            removed = self._removed
            if removed is None:
                # the j-th removed character, less the j removed before it: kept characters
                # before it (non-decreasing, so a kept index is found by bisection)
                removed = self._removed = [m.start() - j for j, m in enumerate(_REMOVED_RE.finditer(raw))]
            if start >= end:
                s = _kept(removed, start) if start < len(self.norm) else n
                return s, s
            s, e = _kept(removed, start), _kept(removed, end - 1) + 1
        if start >= end:
            return s, s
        trailing = _TRAILING
        while e < n and trailing[raw[e]]:
            e += 1
        return s, e


def _kept(removed: list[int], k: int) -> int:
    """Original index of the k-th kept character, given per removed character the number
    of kept characters before it (`Field.span`)."""
    return k + bisect_right(removed, k)


def original_span(norm: Normalized, original: str, start: int, end: int) -> tuple[int, int]:
    s, e = norm.span(start, end)
    # Take in the harakat and tatweel written after the last letter.
    while e < len(original) and not fold_char(original[e]) and (
            unicodedata.category(original[e]) == "Mn" or original[e] == "\u0640"):
        e += 1
    return s, e

