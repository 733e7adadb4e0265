"""The hits of compiled terms in a scanned story: where a phrase ends, the hits of plain
and near rules in the fields they read, and the paragraph and word gap of a hit.

A hit (`Hit`) is (field, start, end, first token, token after the last) in the
normalised field text; a field is 0 title, 1 summary, 2 body (`FIELDS`).
"""
from __future__ import annotations

from itertools import product

from .plans import ALL_FIELDS, BODY, Hit, TermPlan, TermRule
from .textviews import Field


def plain(rule: TermRule) -> bool:
    return rule.regex < 0 and not rule.term.near


def phrase_end(plan: TermPlan, tokens: list[str], i: int) -> int:
    """Token index just past the phrase starting at token i, or 0 when it does not follow."""
    n = len(plan.words)
    if n == 1:
        return i + 1
    if i + n > len(tokens):
        return 0
    for k in range(1, n):
        tok = tokens[i + k]
        if plan.variants:
            if not plan.patterns[k].fullmatch(tok):
                return 0
        elif tok != plan.words[k]:
            return 0
    return i + n


def near_hits(rule: TermRule, plan_hits: dict[int, list[Hit]],
               fields: list[Field | None]) -> list[tuple[str, Hit]]:
    parts = [masked(plan_hits.get(pid, []), rule.mask) for pid in rule.plans]
    if not all(parts):
        return []
    within = rule.term.within
    out: list[tuple[str, Hit]] = []
    # Parts must be in one field; in the body, in one paragraph too.
    places: dict[tuple[int, int], list[list[Hit]]] = {}
    for k, hits in enumerate(parts):
        for h in hits:
            place = (h[0], paragraph(fields, h[0], original_start(fields, h)) if h[0] == BODY else 0)
            places.setdefault(place, [[] for _ in parts])[k].append(h)
    for _, choices in sorted(places.items()):
        if not all(choices):
            continue
        total = 1
        for c in choices:
            total *= len(c)
        if total > 10_000:  # a pathological story: keep the first occurrences only
            choices = [c[:8] for c in choices]
        for combo in product(*choices):
            if all(gap(a, b) <= within for k, a in enumerate(combo) for b in combo[k + 1:]):
                for text, hit in zip(rule.term.near, combo, strict=True):
                    if (text, hit) not in out:
                        out.append((text, hit))
    return out


def masked(hits: list[Hit], mask: int) -> list[Hit]:
    """The hits in the fields of `mask`."""
    return hits if mask == ALL_FIELDS else [h for h in hits if mask >> h[0] & 1]


def plain_hits(rules: list[tuple[str, int, int]], plan_hits: dict[int, list[Hit]]) -> list[tuple[str, list[Hit]]]:
    """(label, hits) of the plain rules (label, plan id, mask) that hit in their fields."""
    out = []
    for label, pid, mask in rules:
        hits = plan_hits.get(pid)
        if hits and mask != ALL_FIELDS:
            hits = masked(hits, mask)
        if hits:
            out.append((label, hits))
    return out


def original_start(fields: list[Field | None], hit: Hit) -> int:
    fld = fields[hit[0]]
    assert fld is not None  # a hit's field was scanned
    return hit[1] if fld.same else fld.span(hit[1], hit[2])[0]


def paragraph(fields: list[Field | None], order: int, start: int) -> int:
    """The body paragraph of an original offset; 0 in the title and summary."""
    if order != BODY:
        return 0
    fld = fields[order]
    assert fld is not None  # a hit's field was scanned
    return fld.paragraph(start)


def gap(a: Hit, b: Hit) -> int:
    """Words between two hits (0 when adjacent; overlapping hits count as 0)."""
    if a[4] <= b[3]:
        return b[3] - a[4]
    if b[4] <= a[3]:
        return a[3] - b[4]
    return 0
