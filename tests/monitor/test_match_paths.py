"""The fast paths give what the plain rules give: byte-path normalisation, skeletons, and
matching of text inside and outside the byte alphabet."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import Matcher, skeleton, skeletons, variant_pattern
from monitor.normalize import ALPHABET, encode, fold_char, normalize, normalize_text
from monitor.watchlists import Term, Watchlist

IN_ALPHABET = st.text(alphabet=st.sampled_from([ch for ch in ALPHABET if ch != "\ufffe"]), max_size=80)


@given(IN_ALPHABET)
def test_byte_path_folds_like_fold_char(text: str) -> None:
    assert encode(text) is not None
    expected = "".join(fold_char(ch) for ch in text)
    assert normalize_text(text) == expected
    n = normalize(text)
    assert n.text == expected
    assert list(n.source) == [i for i, ch in enumerate(text) if fold_char(ch)]


def test_text_outside_the_alphabet_takes_the_other_path_and_agrees() -> None:
    assert encode("ﻻ بوتين") is None and encode("لا بوتين") is not None
    assert normalize_text("ﻻ بُوتين") == normalize_text("لا بُوتين") == "لا بوتين"


@settings(max_examples=60)
@given(st.sampled_from(["ترامب", "تيليغرام", "تشرشل", "نتنياهو", "كوريا", "خامنئي", "زيلينسكي", "غوغل",
                        "بوتين", "ماكرون", "شولتس", "غوتيريش", "لوهانسك", "فاغنر", "واغنر", "بريغوجين",
                        "بريغوزين", "غوتيريس"]), st.data())
def test_every_variant_spelling_has_one_of_the_word_skeletons(word: str, data: st.DataObject) -> None:
    spelling = data.draw(st.from_regex(variant_pattern(word), fullmatch=True))
    assert skeleton(word) in skeletons(word)
    assert skeleton(spelling) in skeletons(word)


STORY = ("قال الرئيس الروسي بُوتِين لـ«سكاي نيوز» إن موسكو وواشنطن وترمب اتفقوا", "ووصل ماكرن إلى لبنان")
WATCHLISTS = [Watchlist("a", "a", (Term("بوتين"), Term("ترامب", variants=True), Term("موسكو"))),
              Watchlist("b", "b", (Term("ماكرون", variants=True), Term("الرئيس الروسي"))),
              Watchlist("c", "c", (Term("لبنان"),), exclude=(Term("صاروخ"),))]


def test_story_outside_the_alphabet_matches_at_shifted_offsets() -> None:
    m = Matcher(WATCHLISTS)
    plain = m.match(*STORY)
    assert {(x.watchlist, x.term) for x in plain} == {("a", "بوتين"), ("a", "ترامب"), ("a", "موسكو"),
                                                       ("b", "ماكرون"), ("b", "الرئيس الروسي"), ("c", "لبنان")}
    # A presentation form in front sends both fields through the str path.
    marked = m.match("ﻻ " + STORY[0], "ﻻ " + STORY[1])
    assert [(x.watchlist, x.term, x.field, x.start + 2, x.end + 2) for x in plain] == \
        [(x.watchlist, x.term, x.field, x.start, x.end) for x in marked]
    for x in plain:
        original = STORY[0] if x.field == "title" else STORY[1]
        assert normalize_text(original[x.start:x.end]) in (normalize_text(x.term), "ترمب", "ماكرن")


def test_variant_word_with_no_skeleton_letters_still_matches() -> None:
    assert skeleton("هاواي") == ""
    m = Matcher([Watchlist("h", "h", (Term("هاواي", variants=True),))])
    hits = m.match("عاصفة تضرب وهاواي")
    assert [(x.term, x.start, x.end) for x in hits] == [("هاواي", 12, 17)]  # و is not part of the span
    assert m.match("عاصفة تضرب هاييتي") == []
