"""Compound names written joined or apart: عبد الله / عبدالله, أبو ظبي / أبوظبي.

Outlets are split on whether the first part of an Arabic compound name is written as a
word of its own, so a term written either way matches both ways. The rules:

* The first parts (after normalisation) are `COMPOUND_PREFIXES`: عبد (عبد الله), أبو أبي
  أبا (أبو ظبي, أبي بكر, أبا الخيل), ابن (ابن سلمان) and بن (بن لادن). ذو, آل, أم and بو are
  not: they are either not written joined (آل سعود, أم كلثوم) or, joined, they are the
  ordinary spelling of another word (بوتين, ذوبان).
* Apart → joined: a prefix word followed by a word of at least three letters that is not
  itself a prefix (عبد الله بن عبد العزيز joins عبد+الله and عبد+العزيز, never بن+عبد).
  Only words that follow each other in the term are joined: a term never joins two words
  of the text that it does not name as one.
* Joined → apart: a word that starts with a prefix and goes on for at least three more
  letters (عبدالفتاح → عبد الفتاح).
* بن is two letters and starts many ordinary words (بنزين، بنود، بنغازي): a word with it
  in front is split, and a بن phrase joined, only when the joined word is not a common
  word (seen fewer than `BN_COMMON` times in the corpus word counts): بنكيران yes,
  بنغازي no.
* A term has at most `MAX_COMPOUNDS` compounds read both ways (the rest stay as
  written), so at most 2 ** MAX_COMPOUNDS spellings.

`compound_spellings(words, counts)` gives the term's spellings, first the one with every
compound apart: terms written either way have the same first spelling, which is what the
matcher keys a term by.
"""
from __future__ import annotations

from collections.abc import Mapping
from itertools import product

COMPOUND_PREFIXES = ("عبد", "ابو", "ابي", "ابا", "ابن", "بن")
MIN_REST = 3
BN_COMMON = 100
MAX_COMPOUNDS = 3


def _joinable(prefix: str, rest: str, counts: Mapping[str, int]) -> bool:
    if len(rest) < MIN_REST or rest in COMPOUND_PREFIXES or not rest.isalpha():
        return False
    return prefix != "بن" or counts.get(prefix + rest, 0) < BN_COMMON


def _split(word: str, counts: Mapping[str, int]) -> tuple[str, ...]:
    for prefix in COMPOUND_PREFIXES:  # عبد before ابن before بن: the longest that fits
        if word.startswith(prefix) and _joinable(prefix, word[len(prefix):], counts):
            return (prefix, word[len(prefix):])
    return (word,)


def compound_spellings(words: tuple[str, ...], counts: Mapping[str, int]) -> list[tuple[str, ...]]:
    """Every spelling of a normalised term's words with its compounds joined or apart,
    the all-apart one first (see the module rules)."""
    apart: list[str] = []
    for word in words:
        apart.extend(_split(word, counts))
    joints: list[int] = []  # indices i where apart[i] + apart[i + 1] is a compound
    i = 0
    while i < len(apart) - 1 and len(joints) < MAX_COMPOUNDS:
        if apart[i] in COMPOUND_PREFIXES and _joinable(apart[i], apart[i + 1], counts):
            joints.append(i)
            i += 2
        else:
            i += 1
    out = []
    for choice in product((False, True), repeat=len(joints)):
        joined = {j for j, join in zip(joints, choice, strict=True) if join}
        spelling: list[str] = []
        k = 0
        while k < len(apart):
            if k in joined:
                spelling.append(apart[k] + apart[k + 1])
                k += 2
            else:
                spelling.append(apart[k])
                k += 1
        out.append(tuple(spelling))
    return out
