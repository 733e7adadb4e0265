"""Normalisation: the folding rules, the offset map, and properties over any text."""
from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import Matcher
from monitor.normalize import fold_char, normalize, normalize_text
from monitor.watchlists import Term, Watchlist

REMOVED = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670\u0640\u200b\u200c\u200d\u200e\u200f" \
          "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u0610\u06d6"
ARABIC = st.text(alphabet=st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئىة ،.٠١٢٣ﻻکی\u00a0")
                                          + list(REMOVED)), max_size=60)
ANY = st.text(max_size=60)


def test_folding_rules() -> None:
    assert normalize_text("أإآٱ") == "اااا"
    assert normalize_text("مصطفى مدرسة") == "مصطفي مدرسه"
    assert normalize_text("کوريا یمین") == "كوريا يمين"
    assert normalize_text("٢٠٢٤ ۲۰۲۴") == "2024 2024"
    assert normalize_text("بُوتِينُ بوتـــين") == "بوتين بوتين"
    assert normalize_text("\u202bموسكو\u202c\u200f") == "موسكو"
    assert normalize_text("ﻻ") == "لا" and normalize_text("ﷲ") == "الله"
    assert normalize_text("NATO Ｎａｔｏ") == "nato nato"
    assert normalize_text("a\u00a0b\u2009c") == "a b c"
    assert normalize_text("هل؟ نعم، لا؛") == "هل? نعم, لا;"
    assert normalize_text("مؤتمر رئيس") == "مؤتمر رئيس"  # ؤ and ئ carry meaning: kept


def test_span_maps_back_over_removed_marks() -> None:
    text = "قال بُوتِين"
    n = normalize(text)
    start = n.text.index("بوتين")
    s, e = n.span(start, start + 5)
    assert text[s:e] == "بُوتِين"


@given(ANY)
def test_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.one_of(ARABIC, ANY))
def test_normalize_and_normalize_text_agree_and_map_every_character(text: str) -> None:
    n = normalize(text)
    assert n.text == normalize_text(text)
    assert len(n.source) == len(n.text) and n.original_length == len(text)
    assert list(n.source) == sorted(n.source)
    for i, src in enumerate(n.source):
        assert 0 <= src < len(text)
        assert n.text[i] in fold_char(text[src])


@given(st.one_of(ARABIC, ANY), st.data())
def test_any_span_maps_to_a_valid_original_span(text: str, data: st.DataObject) -> None:
    n = normalize(text)
    start = data.draw(st.integers(0, len(n.text)))
    end = data.draw(st.integers(start, len(n.text)))
    s, e = n.span(start, end)
    assert 0 <= s <= e <= len(text)
    if start < end:  # the original span covers the normalised span (exactly, unless it
        # cuts through one character that expands, like ¼ → 1⁄4)
        assert n.text[start:end] in normalize_text(text[s:e])
        if all(len(fold_char(c)) <= 1 for c in text):
            assert normalize_text(text[s:e]) == n.text[start:end]


@settings(max_examples=150)
@given(st.lists(st.sampled_from(list(REMOVED)), max_size=8), st.data())
def test_removed_marks_never_change_matching(marks: list[str], data: st.DataObject) -> None:
    text = "قالت مصر إن لموسكو وبوتين دورا في الاتحاد الأوروبي"
    noisy = list(text)
    for mark in marks:
        at = data.draw(st.integers(1, len(noisy)))
        noisy.insert(at, mark)
    noisy_text = "".join(noisy)
    m = Matcher([Watchlist("w", "w", (Term("مصر"), Term("موسكو"), Term("بوتين"), Term("الاتحاد الأوروبي")))])
    clean, dirty = m.match(text), m.match(noisy_text)
    assert [x.term for x in clean] == [x.term for x in dirty]
    for x in dirty:
        assert normalize_text(noisy_text[x.start:x.end]) == normalize_text(x.term)


@given(ANY)
def test_nothing_removed_is_a_letter_or_digit(text: str) -> None:
    for ch in text:
        if not fold_char(ch) and ch != "\u0640":  # tatweel (Lm) is removed on purpose
            assert not unicodedata.category(ch).startswith(("L", "N"))
