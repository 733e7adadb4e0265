"""What dedup reads of a story's text, read the short way: the first words of a long
summary from its start only, a title stripped without its patterns when it holds none of
their marks, word-pair hashes without the pairs (one story's, and a rebuild's in bulk), a
story's terms without their counts. Each gives what the long way gives, on any text."""
from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedup.events import _WORD, terms, words
from monitor.dedup.minhash import item_hashes, pair_hashes, pair_items, word_items
from monitor.dedup.places import term_set
from monitor.dedup.text import (
    _PUNCT_EDGE,
    WORD,
    _strip_marked,
    _strip_title,
    first_words,
    prepare,
)
from monitor.normalize import normalize_text

# Arabic letters, harakat and tatweel (folded away), digits of three scripts, Latin, the
# separators and brackets of desk prefixes and outlet suffixes, spaces of several kinds,
# a zero-width mark, and characters outside the byte path's alphabet (é, an emoji)
LETTERS = "بوتينكرسقالحمدهعلىيةءأإآؤئ" + "\u064e\u0651\u0640" + "٣۴7xZé😀"
MARKS = [" ", "  ", "\u00a0", "\u200f", "\n", "|", "/", ":", "-", "–", "—", "(", ")", "[", "]", "«", "»", '"', "'",
         ".", ",", "_", " - ", " | "]
PIECE = st.one_of(st.text(alphabet=LETTERS, min_size=1, max_size=14), st.sampled_from(MARKS),
                  st.sampled_from(["عاجل", "فيديو", "بالصور", "breaking", "الجزيرة نت"]))
TEXT = st.lists(PIECE, max_size=120).map("".join)
PREFIXES = ["", "عاجل | ", "(عاجل) ", "[فيديو] ", "«بالصور» ", "عاجل: ", "الجزيرة | ", "مصر / ", " ,", "(", "«"]
SUFFIXES = ["", " - الجزيرة نت", " | العربية", " (فيديو)", " [عاجل]", " —  سكاي نيوز عربية", ".", ' "', ")"]
TITLE = st.tuples(st.sampled_from(PREFIXES), st.sampled_from(PREFIXES), TEXT, st.sampled_from(SUFFIXES)).map(
    "".join)
LIMIT = st.one_of(st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=45))


@settings(max_examples=300, deadline=None)
@given(TEXT, LIMIT)
def test_the_first_words_of_a_long_text_are_those_of_the_whole_text(text: str, limit: int) -> None:
    for pattern in (WORD, _WORD):
        assert first_words(text, limit, pattern) == pattern.findall(normalize_text(text))[:limit]


def test_a_summary_carrying_a_whole_article_gives_the_lead_of_its_start() -> None:
    article = "بوتين يزور كورسك ويلتقي بالمسؤولين عن إعادة الإعمار " * 4000  # 200 KB in a description
    lead = prepare("بوتين في كورسك", article, lead_words=40).lead
    assert lead == tuple(WORD.findall(normalize_text(article))[:40])
    assert len(lead) == 40 and lead[:2] == ("بوتين", "يزور")


def _strip_every_time(title: str) -> str:
    """The stripping with its patterns always run (what `_strip_title` skips when a title
    holds none of their marks, or no mark at an edge)."""
    return _PUNCT_EDGE.sub("", _strip_marked(title))


@settings(max_examples=500, deadline=None)
@given(TITLE)
def test_a_title_is_stripped_as_by_every_pattern(title: str) -> None:
    norm = normalize_text(title)
    assert _strip_title(norm) == _strip_every_time(norm)


def test_desk_prefixes_and_outlet_suffixes_still_go() -> None:
    for title, kept in (("عاجل | بوتين يصل إلى كورسك", "بوتين يصل الي كورسك"),
                        ("بوتين يصل إلى كورسك - الجزيرة نت", "بوتين يصل الي كورسك"),
                        ("«بوتين يصل إلى كورسك»", "بوتين يصل الي كورسك"),
                        ("بوتين يصل إلى كورسك", "بوتين يصل الي كورسك")):
        assert _strip_title(normalize_text(title)) == kept


@given(st.lists(st.sampled_from(["بوتين", "كورسك", "في", "x", "é", "😀", "٣"]), max_size=30))
def test_word_pair_hashes_are_those_of_the_pairs(words_: list[str]) -> None:
    pairs = [a + " " + b for a, b in zip(words_, words_[1:], strict=False)]
    assert sorted(pair_hashes(words_)) == sorted(item_hashes(pairs))
    assert set(pair_hashes(words_)) == {zlib.crc32(p.encode()) for p in pairs}


# words of one to 200 UTF-8 bytes: a pair's hash is carried over the second word's bytes
# in steps of at most 64, so long words take several
WORDS = st.lists(st.one_of(st.sampled_from(["بوتين", "كورسك", "في", "x", "é", "😀", "٣"]),
                           st.text(alphabet=LETTERS, min_size=1, max_size=100)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=8))
def test_a_rebuilds_hashes_in_bulk_are_those_of_one_story_at_a_time(lists: list[list[str]]) -> None:
    pairs, counts = pair_items([tuple(w) for w in lists])
    singles, single_counts = word_items(lists)
    at = sat = 0
    for words_, n, m in zip(lists, counts.tolist(), single_counts.tolist(), strict=True):
        one = pair_hashes(words_) if len(words_) > 1 else item_hashes(words_)
        assert n == max(len(words_) - 1, len(words_) and 1)  # every pair, repeats kept
        assert set(pairs[at:at + n].tolist()) == set(one)
        assert m == len(words_) and set(singles[sat:sat + m].tolist()) == set(item_hashes(words_))
        at, sat = at + n, sat + m
    assert at == len(pairs) and sat == len(singles)


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT, st.booleans())
def test_a_storys_different_terms_are_the_keys_of_its_counts(title: str, summary: str, places: bool) -> None:
    counts = terms(title, summary, places=places)[0]
    assert term_set(words(title, summary), places) == set(counts)


def test_places_join_a_phrase_within_the_title_or_the_summary_alone() -> None:
    counts = terms("قمة في المملكة العربية السعودية", "وصل الوفد الى الرياض", places=True)[0]
    assert term_set(words("قمة في المملكة العربية السعودية", "وصل الوفد الى الرياض"), True) == set(counts)
