"""What dedup reads of a story: the normalised words of its title, stripped of desk
prefixes and outlet suffixes, and of its lead (the rules are in `monitor.dedup`).

The fold is `monitor.normalize.normalize_text`, the one every part of Raqib uses.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from monitor.normalize import normalize_text

WORD = re.compile(r"\w+")
_DESK = (
    "عاجل|خبر عاجل|بالفيديو|فيديو|بالصور|صور|شاهد|بالفيديو والصور|انفوجرافيك|انفوغرافيك|"
    "فيديوجراف|مباشر|تحديث|محدث|خاص|حصري|عام|سياسي|اقتصادي|رياضي|ثقافي|محلي|دولي|"
    "اجتماعي|صحي|تقرير|breaking|video|update"
)
# A known desk word with a separator, in brackets, or any 1-2 word segment before | or /.
_PREFIX = re.compile(
    rf"^\s*(?:[(\[«\"]\s*(?:{_DESK})\s*[)\]»\"]\s*[|/:\-–—,.]*"
    rf"|(?:{_DESK})\s*[|/:\-–—]+"
    r"|[^\s|/:]+(?:\s[^\s|/:]+)?\s*[|/](?!/))\s*"
)
_SUFFIX_BRACKET = re.compile(rf"\s*[|\-–—]?\s*[(\[«\"]\s*(?:{_DESK})\s*[)\]»\"]\s*$")
_SUFFIX_OUTLET = re.compile(r"\s+(?:\||-|–|—)\s+([^|\-–—\d]+?)\s*$")
_PUNCT_EDGE = re.compile(r"^[\s|/:\-–—,.\"'«»“”]+|[\s|/:\-–—,.\"'«»“”]+$")
# Every prefix and suffix above holds one of these (an opening bracket or a separator):
# a title with none of them (most) skips the three patterns.
_MARK = re.compile(r"[|/:\-–—(\[«\"]")
_EDGE = frozenset("|/:-–—,.\"'«»“”")
_CHARS_PER_WORD = 12  # text of a lead read first per word wanted (prose: about six)


def _strip_marked(title: str) -> str:
    """Normalised title without desk prefixes and outlet suffixes, edges left as they are."""
    text = title
    for _ in range(3):
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text or len(WORD.findall(stripped)) < 2:
            break
        text = stripped
    text = _SUFFIX_BRACKET.sub("", text)
    m = _SUFFIX_OUTLET.search(text)
    if m and len(m.group(1).split()) <= 4 and len(WORD.findall(text[: m.start()])) >= 3:
        text = text[: m.start()]
    return text


def _strip_title(title: str) -> str:
    """Normalised title without desk prefixes, outlet suffixes and punctuation at its
    edges; the patterns run only where their marks are."""
    text = _strip_marked(title) if _MARK.search(title) is not None else title
    if text and (text[0] in _EDGE or text[-1] in _EDGE or text[0].isspace() or text[-1].isspace()):
        return _PUNCT_EDGE.sub("", text)
    return text


def first_words(text: str, limit: int, word: re.Pattern[str] = WORD) -> list[str]:
    """The first `limit` matches of `word` in normalised `text`, as the whole text gives
    them: a long text is read up to `limit * _CHARS_PER_WORD` characters first, which is
    enough when more than `limit` are found there (the fold maps each character alone, so
    the cut normalises to the start of the whole, and the last word wanted is followed by
    another: the cut shortened none of them); else it is read whole."""
    if limit <= 0 or not text:
        return []
    cut = limit * _CHARS_PER_WORD
    if len(text) > cut:
        found = word.findall(normalize_text(text[:cut]))
        if len(found) > limit:
            return found[:limit]
    return word.findall(normalize_text(text))[:limit]


class Prepared(NamedTuple):
    """A story's text as dedup sees it: normalised words of the title and of the lead (a
    tuple: a rebuild makes one a story, hundreds of thousands)."""

    title: tuple[str, ...]
    lead: tuple[str, ...]


def prepare(title: str, summary: str = "", *, lead_words: int) -> Prepared:
    """Normalise and strip a title and take the lead's first `lead_words` words."""
    t = tuple(WORD.findall(_strip_title(normalize_text(title or ""))))
    lead = tuple(first_words(summary or "", lead_words))
    return Prepared(t, lead)


STOP_WORDS = frozenset(normalize_text(w) for w in [
    "في", "من", "على", "الى", "إلى", "عن", "مع", "بعد", "قبل", "ان", "أن", "إن", "او", "أو", "و", "ثم", "ما", "لا",
    "لم", "لن", "قد", "هل", "هذا", "هذه", "ذلك", "تلك", "التي", "الذي", "الذين", "كان", "كانت", "يكون", "تكون",
    "بين", "حول", "خلال", "عند", "منذ", "حتى", "كل", "اي", "أي", "غير", "بعض", "هو", "هي", "هم", "انه", "أنه",
    "إنه", "ضد", "لدى", "عبر", "ب", "ل", "ك", "ف", "وفي", "ومن", "وعلى", "الي", "اليوم", "امس", "أمس", "يوم", "the",
    "a", "an", "of", "in", "on", "to", "and", "for", "is"
])
