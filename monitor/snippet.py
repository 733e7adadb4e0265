"""Where a name was found in a story, and the sentence around it: paragraphs and snippets.

Pure functions over the story's original text and its matches (anything with `term`,
`field`, `start`, `end`, `paragraph`, as `monitor.models.Match`); nothing here reads
or writes anything else.

Paragraphs
----------
A body's paragraphs are separated by blank lines (a line empty or only whitespace; a
run of them is one break). Paragraph N is the N-th that holds any text, from 1; blank
lines before the first do not count. `paragraph_starts` gives where each begins and
`paragraph_at` the paragraph of an offset. The title and the lead are paragraph 0.

Snippets
--------
For each matched term, in the order of the matches (title, then lead, then body; by
position), the sentence around the term's first hit:
* The field is the first one the term was found in: the title, else the lead (the
  feed's summary), else the body. Two terms whose first hits share a sentence get the
  same snippet each; `distinct` keeps one of each for a reader.
* A sentence runs from just after the previous sentence end to its own end. A sentence
  ends at `.`, `!`, `?`, `؟` or `…` followed by whitespace (so 3.5 and a URL's dots do
  not end one), and at a line break (a body paragraph never runs into the next).
* A sentence longer than `SNIPPET_CHARS` is cut to a window of about that many
  characters holding the hit, a third of the room before it, cut only at whitespace:
  a word, and the marks on its letters, are never cut. A cut end gets `…`. A hit
  longer than the window is shown whole.
* Whitespace runs become one space; the text is trimmed.
* `marks` are the spans, in the snippet's text, of every hit (of any matched term of
  the alert) that falls inside it, merged where they overlap, in order.
* At most `SNIPPETS_MAX` snippets per alert, in that order.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypedDict, TypeVar

SNIPPET_CHARS = 220
SNIPPETS_MAX = 8
ELLIPSIS = "…"
FIELD_ORDER = ("title", "summary", "body")

_BREAK = re.compile(r"\n(?:[^\S\n]*\n)+")
_SENTENCE_END = re.compile(r"[.!?؟…](?=\s)|\n")
_SPACE = re.compile(r"\s+")


class PayloadSnippet(TypedDict):
    """One snippet as an alert's payload keeps it (the `snippets` below)."""

    term: str
    field: str  # "title" | "summary" | "body"
    paragraph: int  # in the body, from 1; 0 elsewhere
    text: str
    marks: Sequence[Sequence[int]]  # [start, end] in `text`, a matched span each


S = TypeVar("S", bound=Mapping[str, object])


class Hit(Protocol):
    """What a snippet needs of a match (`monitor.models.Match` has it)."""

    @property
    def term(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def paragraph(self) -> int: ...


def paragraph_starts(text: str) -> list[int]:
    """Where each paragraph of `text` begins (see the module rules); [0] for one paragraph."""
    starts = [0]
    for m in _BREAK.finditer(text):
        if text[starts[-1]:m.start()].strip():
            starts.append(m.end())
        else:  # blank lines before the first paragraph
            starts[-1] = m.end()
    return starts


def paragraph_at(starts: Sequence[int], offset: int) -> int:
    """The paragraph (from 1) that `offset` falls in, given `paragraph_starts`."""
    return bisect_right(starts, offset) or 1


def snippets(title: str, summary: str, body: str, matches: Sequence[Hit]) -> list[PayloadSnippet]:
    """The payload's snippets: [{"term", "field", "paragraph", "text", "marks"}] (module rules)."""
    texts = {"title": title, "summary": summary, "body": body}
    firsts: dict[str, Hit] = {}
    for m in sorted(matches, key=_order):
        if m.term not in firsts and m.end > m.start and m.end <= len(texts.get(m.field, "")):
            firsts[m.term] = m
    out: list[PayloadSnippet] = []
    for term, first in firsts.items():
        if len(out) >= SNIPPETS_MAX:
            break
        text = texts[first.field]
        start, end = sentence(text, first.start, first.end)
        start, end = window(text, start, end, first.start, first.end)
        spans = [(m.start, m.end) for m in matches if m.field == first.field and m.end > start and m.start < end]
        snippet_text, marks = _clean(text, start, end, spans)
        out.append({"term": term, "field": first.field, "paragraph": first.paragraph if first.field == "body" else 0,
                    "text": snippet_text, "marks": [list(span) for span in marks]})
    return out


def distinct(found: Sequence[S]) -> list[S]:
    """The snippets with each (field, paragraph, text) once, first kept: what a reader sees."""
    seen: set[tuple[object, object, object]] = set()
    out = []
    for sn in found:
        key = (sn.get("field"), sn.get("paragraph"), sn.get("text"))
        if key not in seen:
            seen.add(key)
            out.append(sn)
    return out


def _order(m: Hit) -> tuple[int, int, int]:
    return (FIELD_ORDER.index(m.field) if m.field in FIELD_ORDER else 3, m.start, m.end)


def sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence of `text` holding text[start:end] (module rules), as (start, end)."""
    reach = max(0, start - 2000)  # no sentence end within reach: the window decides
    s = reach
    for found in _SENTENCE_END.finditer(text, reach, start):
        s = found.end()
    after = _SENTENCE_END.search(text, end, end + 2000)
    e = after.end() if after else min(len(text), end + 2000)
    if e > end and text[e - 1] == "\n":
        e -= 1
    return s, e


def window(text: str, s: int, e: int, hit_start: int, hit_end: int, limit: int = SNIPPET_CHARS) -> tuple[int, int]:
    """At most about `limit` characters of text[s:e] around the hit, cut only at whitespace."""
    if e - s <= limit:
        return s, e
    room = max(0, limit - (hit_end - hit_start))
    ws = max(s, hit_start - room // 3)
    we = min(e, max(hit_end, ws + limit))
    if we - ws < limit:
        ws = max(s, min(hit_start, we - limit))
    if ws > s and not text[ws - 1].isspace():  # inside a word: start after the next space
        m = _SPACE.search(text, ws, hit_start)
        if m:
            ws = m.end()
        else:  # none before the hit: start after the previous one
            back = _last_space(text, s, ws)
            ws = s if back is None else back + 1
    if we < e and not text[we].isspace():  # inside a word: end at the last space after the hit
        back = _last_space(text, hit_end, we)
        if back is not None:
            we = back
        else:
            m = _SPACE.search(text, we, e)
            we = m.start() if m else e
    return ws, we


def _last_space(text: str, lo: int, hi: int) -> int | None:
    """The offset of the last whitespace character in text[lo:hi], or None."""
    k = hi - 1
    while k >= lo:
        if text[k].isspace():
            return k
        k -= 1
    return None


def _clean(text: str, start: int, end: int, spans: Iterable[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """text[start:end] with whitespace runs as one space, trimmed, `…` where cut off, and
    `spans` (offsets in `text`) as offsets in the result, clipped and merged."""
    piece = text[start:end]
    # kept[i] is the offset in `text` of the i-th character of the cleaned piece
    out: list[str] = []
    kept: list[int] = []
    prev_space = True
    for i, ch in enumerate(piece):
        if ch.isspace():
            if not prev_space:
                out.append(" ")
                kept.append(start + i)
            prev_space = True
        else:
            out.append(ch)
            kept.append(start + i)
            prev_space = False
    while out and out[-1] == " ":
        out.pop()
        kept.pop()
    head = ELLIPSIS if start > 0 and _cut_before(text, start) else ""
    tail = ELLIPSIS if end < len(text) and _cut_after(text, end) else ""
    cleaned = head + "".join(out) + tail
    shift = len(head)
    marks: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        s, e = max(s, start), min(e, end)
        a = bisect_right(kept, s - 1)  # first kept character at or after s
        b = bisect_right(kept, e - 1)  # just past the last kept character before e
        if a >= b:
            continue
        a, b = a + shift, b + shift
        if marks and a <= marks[-1][1]:
            marks[-1] = (marks[-1][0], max(marks[-1][1], b))
        else:
            marks.append((a, b))
    return cleaned, marks


def _cut_before(text: str, start: int) -> bool:
    """Whether the window starts inside a sentence (not at a sentence or line start)."""
    before = text[max(0, start - 3):start].rstrip()
    return bool(before) and not (before.endswith((".", "!", "?", "؟", "…")) or "\n" in text[max(0, start - 3):start])


def _cut_after(text: str, end: int) -> bool:
    """Whether the window ends inside a sentence (not at a sentence end or a line break)."""
    rest = text[end:end + 1]
    return bool(rest) and rest != "\n" and text[end - 1:end] not in (".", "!", "?", "؟", "…")
