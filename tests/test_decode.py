"""decode_feed: bytes to text by the rules in monitor/decode.py; Arabic never garbled."""
from __future__ import annotations

import codecs

import feedparser
import pytest
from hypothesis import given, settings, strategies as st

from monitor.decode import decode_feed

TITLE = "الاثنين: بوتين يلتقي دوروف في كورسك؛ «تيليغرام» تحت المجهر"
DOC = '<?xml version="1.0" encoding="{enc}"?>\n<rss version="2.0"><channel><title>{t}</title></channel></rss>'


def doc(enc: str) -> str:
    return DOC.format(enc=enc, t=TITLE)


def test_strict_utf8_and_declaration_kept_consistent():
    text = decode_feed(doc("UTF-8").encode(), "utf-8")
    assert TITLE in text and 'encoding="utf-8"' in text


@pytest.mark.parametrize("bom,codec", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                       (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_bom_decides_even_against_labels(bom, codec):
    body = bom + doc("windows-1256").encode(codec)
    text = decode_feed(body, "iso-8859-1")
    assert TITLE in text and not text.startswith("\ufeff")
    assert 'encoding="utf-8"' in text


def test_cp1256_mislabelled_as_utf8_in_both_places():
    text = decode_feed(doc("UTF-8").encode("cp1256"), "utf-8")
    assert TITLE in text


def test_cp1256_with_no_label_at_all():
    body = DOC.replace(' encoding="{enc}"', "").format(t=TITLE).encode("cp1256")
    assert TITLE in decode_feed(body, None)


def test_server_default_latin1_does_not_garble_cp1256_arabic():
    body = doc("ISO-8859-1").encode("cp1256")
    assert TITLE in decode_feed(body, "iso-8859-1")


def test_genuine_latin1_stays_latin1():
    body = DOC.format(enc="iso-8859-1", t="Été à Genève: café crème").encode("latin-1")
    assert "Été à Genève: café crème" in decode_feed(body, None)


def test_xml_declaration_beats_wrong_http_charset():
    body = doc("windows-1256").encode("cp1256")
    assert TITLE in decode_feed(body, "iso-8859-1")
    # feedparser alone lets the HTTP charset win and garbles it
    alone = feedparser.parse(body, response_headers={"content-type": "application/xml; charset=iso-8859-1"})
    assert alone.feed.get("title") != TITLE


def test_iso_8859_6_declared():
    body = doc("iso-8859-6").encode("iso-8859-6", "replace")
    text = decode_feed(body, None)
    assert "بوتين يلتقي دوروف" in text


def test_two_stray_bytes_in_utf8_keep_the_rest():
    body = doc("UTF-8").encode()
    i = body.index("بوتين".encode())
    text = decode_feed(body[:i] + b"\x92" + body[i:] + b"\xa0", "utf-8")
    assert "بوتين يلتقي دوروف" in text and text.count("\ufffd") == 2


def test_control_characters_removed_for_xml():
    text = decode_feed(doc("UTF-8").replace("بوتين", "بو\x0bتين\x00").encode(), None)
    assert TITLE in text


def test_parsed_text_matches_declaration_when_fed_to_feedparser():
    text = decode_feed(doc("windows-1256").encode("cp1256"), None)
    parsed = feedparser.parse(text.encode("utf-8"))
    assert not parsed.bozo and parsed.feed.title == TITLE


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([None, "utf-8", "iso-8859-1", "windows-1256", "bogus"]))
def test_any_bytes_decode_to_xml_safe_text(body, charset):
    text = decode_feed(body, charset)
    assert isinstance(text, str)
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x6FF, exclude_categories=("Cs",)),
               max_size=300))
def test_any_utf8_text_round_trips(value):
    assert decode_feed(value.encode("utf-8"), None) == value
