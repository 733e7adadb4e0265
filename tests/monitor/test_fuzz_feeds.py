"""Fuzzing the input side: feed bytes → decode → parse → normalise → match.

Whatever a server sends, no exception other than ParseError ("not a feed") escapes, and
every stage returns in bounded time. Inputs are built from feed markup, entities, odd
constructs and runs that were slow or fatal before (tests/data/fuzz/ keeps the cases
found; each is replayed below with what must come out of it), in several encodings,
with stray bytes dropped in; plain random bytes too.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.decode import decode_feed
from monitor.errors import ParseError
from monitor.feed_items import parse_new_items
from monitor.match import Matcher
from monitor.normalize import normalize
from monitor.parse import ParsedFeed, parse_feed
from monitor.watchlists import load_watchlists

ROOT = Path(__file__).resolve().parents[2]
FUZZ = Path(__file__).parents[1] / "data" / "fuzz"
NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
BOUND = 10.0  # seconds any one stage may take on one input; the cases here take milliseconds
MATCHER = Matcher(load_watchlists(ROOT / "watchlists"))

ROOTS = [
    ('<?xml version="1.0" encoding="{enc}"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
     'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:georss="http://www.georss.org/georss" '
     'xmlns:gml="http://www.opengis.net/gml" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>قناة</title>',
     "</channel></rss>"),
    ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>أطلس</title>', "</feed>"),
    ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">',
     "</rdf:RDF>"),
    ("", ""),
]
FRAGMENTS = [
    "<item>", "</item>", "<entry>", "</entry>", "<title>", "</title>", "<description>", "</description>",
    "<link>", "</link>", "<guid>", "</guid>", "<pubDate>", "</pubDate>", "<dc:date>", "</dc:date>",
    "<content:encoded>", "</content:encoded>", "<summary type='html'>", "</summary>", "<id>", "</id>",
    "<updated>", "</updated>", "<link href='", "'/>", "<category>", "</category>", "<source url='",
    "</source>", "<enclosure url=\"", "\"/>", "<media:content url='", "<ttl>", "</ttl>", "<image><url>",
    "</url></image>", "<georss:point>", "</georss:point>", "<gml:pos>", "</gml:pos>", "<![CDATA[", "]]>",
    "<!--", "-->", "<!DOCTYPE x [", "<!ENTITY a 'b'>", "]>", "&a;", "&amp;", "&lt;", "&gt;", "&bogus;",
    "&#xD800;", "&#55296;", "&#x110000;", "&#0;", "&#", "&lt;![x[", "&lt;![&lt;", "&lt;![[", "&lt;!['",
    "&lt;p&gt;", "&lt;a href='x&gt;y'&gt;", "&lt;script&gt;", "&lt;/script&gt;", "&lt;img alt='صورة'&gt;",
    "http://[", "http://e.org:99999/a", "https://news.example/a?utm_source=x", "javascript:x",
    "Mon, 06 Jan 2025 10:00:00 GMT", "9999-12-31T23:59:59-14:00", "الاثنين, 06 يناير 2025 14:30:00 +0300",
    "بوتين", "يلتقي", "دوروف", "كورسك", "تيليغرام", "أسعار النفط", "NATO", "ـــ", "\u202e", "\u200f", "ً",
    "x", " ", "\n", "<", ">", "&", '"', "'", "=", "/", "]]", "\x00", "\ufeff",
]
RUNS = ["<a " * 3000, "&" * 20000, "<!--" * 2000, "</" * 3000, "<![" * 3000, "<b>" * 3000,
        "<!DOCTYPE x [" * 800, "&#x" * 3000, "<" * 20000, "ـ" * 5000, " " * 20000]
ENCODINGS = ["utf-8", "utf-8", "utf-16", "cp1256", "iso-8859-6", "koi8-r", "latin-1", "tis-620"]


@st.composite
def feeds(draw: st.DrawFn) -> tuple[bytes, str | None]:
    head, tail = draw(st.sampled_from(ROOTS))
    encoding = draw(st.sampled_from(ENCODINGS))
    parts = draw(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(FRAGMENTS),
                                    st.text(max_size=12), st.sampled_from(RUNS)), max_size=40))
    body = (head.format(enc=encoding) + "".join(parts) + tail).encode(encoding, "replace")
    stray = draw(st.binary(max_size=6))
    at = draw(st.integers(0, len(body)))
    charset = draw(st.sampled_from([None, "utf-8", encoding, "iso-8859-1", "windows-1256", "bogus"]))
    return body[:at] + stray + body[at:], charset


def timed(fn, *args):
    started = time.monotonic()
    try:
        return fn(*args)
    finally:
        elapsed = time.monotonic() - started
        assert elapsed < BOUND, f"{getattr(fn, '__name__', fn)} took {elapsed:.1f}s"


def through_the_input_side(body: bytes, charset: str | None) -> ParsedFeed | None:
    text = timed(decode_feed, body, charset)
    assert isinstance(text, str)
    try:
        parsed = timed(parse_feed, "fuzz", text, "https://news.example/rss", NOW)
    except ParseError as exc:
        assert exc.feed == "fuzz" and str(exc)
        return None
    for story in parsed.stories:
        assert story.guid and story.title is not None and story.summary is not None
        for field in (story.title, story.summary):
            field.encode("utf-8")  # storable: no lone surrogates
            timed(normalize, field)
        for match in timed(MATCHER.match, story.title, story.summary):
            field = story.title if match.field == "title" else story.summary
            assert 0 <= match.start < match.end <= len(field)
    return parsed


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feeds())
def test_built_feeds_never_raise_and_never_hang(case):
    through_the_input_side(*case)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([None, "utf-8", "windows-1256", "iso-8859-1", "bogus"]))
def test_random_bytes_never_raise_and_never_hang(body, charset):
    through_the_input_side(body, charset)


def _stories(text: str, done: bytes = b"") -> tuple[set[tuple[str, str]], bytes] | None:
    try:
        parsed = timed(parse_new_items, "fuzz", text, "https://news.example/rss", NOW, done)
    except ParseError:
        return None
    return {(s.guid, s.title) for s in parsed.stories}, b"".join(parsed.items)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feeds(), st.sampled_from(FRAGMENTS + ["<item><title>بوتين</title></item>"]), st.floats(0, 1))
def test_a_feed_polled_again_loses_no_story_to_the_items_kept_from_before(case, fragment, where):
    """Whatever a server sends at one poll and the next (the same bytes with something
    slipped in), reading only what was not read before never loses a story: the two
    polls' stories hold every story the second body gives read whole."""
    text = decode_feed(*case)
    first = _stories(text)
    at = int(where * len(text))
    again = text[:at] + fragment + text[at:]
    whole = _stories(again)
    second = _stories(again, first[1] if first else b"")
    if whole is None:
        return
    assert second is not None
    assert whole[0] <= second[0] | (first[0] if first else set())


# What each case in tests/data/fuzz must give: (stories, bad items, a title that must be among them).
CORPUS = {
    "marked-section-junk.xml": (5, 0, "بوتين يلتقي دوروف"),
    "gml-pos-outside-where.xml": (1, 1, "بوتين يلتقي دوروف"),
    "category-after-item-end.xml": (2, 0, "بوتين يلتقي دوروف"),
    "source-url-left-open.xml": (1, 1, "بوتين يلتقي دوروف"),
    "link-around-entry-end.xml": (2, 0, "بوتين يلتقي دوروف"),
    "surrogate-references.xml": (4, 0, "بوتين يلتقي دوروف"),
    "year-10000.xml": (2, 0, "بوتين يلتقي دوروف"),
    "doctype-subset-junk.xml": (1, 0, "بوتين يلتقي دوروف"),
    "html-a-runs.xml": (2, 0, "بوتين يلتقي دوروف"),
    "utf8-one-stray-byte.xml": (1, 0, "بوتين يلتقي"),
}


def test_the_corpus_is_all_replayed():
    assert sorted(p.name for p in FUZZ.glob("*.xml")) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_case(name):
    stories, bad, title = CORPUS[name]
    parsed = through_the_input_side((FUZZ / name).read_bytes(), "utf-8")
    assert parsed is not None
    assert (len(parsed.stories), len(parsed.bad_items)) == (stories, bad), parsed.bad_items
    assert title in [s.title for s in parsed.stories]
    assert any(m.term == "بوتين" for s in parsed.stories for m in MATCHER.match(s.title, s.summary))
