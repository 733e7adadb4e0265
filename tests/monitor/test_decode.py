"""decode_feed: bytes to text by the rules in monitor/decode.py; Arabic never garbled."""
from __future__ import annotations

import codecs
import re
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.decode import decode_feed, looks_arabic

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


# --- declared UTF-8 with stray bytes; guesses never make Arabic out of other scripts -----

DATA = Path(__file__).parents[1] / "data"
SAMPLES = DATA / "decode"  # news paragraphs in other languages, see its README
ARABIC = re.compile("[\u0621-\u064a\u0671-\u06d3]")


@pytest.mark.parametrize("http_charset,declaration", [("utf-8", "UTF-8"), (None, "UTF-8"), ("utf-8", None)])
def test_declared_utf8_short_document_with_one_stray_byte_stays_utf8(http_charset, declaration):
    decl = f'<?xml version="1.0" encoding="{declaration}"?>' if declaration else ""
    doc = (f'{decl}<rss version="2.0"><channel><title>t</title><item><title>بوتين يلتقي</title>'
           "<link>http://e.org/1</link></item></channel></rss>").encode()
    body = doc.replace(b"<link>", b"\xa0<link>")  # one stray byte: ten Arabic letters beside it
    text = decode_feed(body, http_charset)
    assert "<title>بوتين يلتقي</title>\ufffd<link>" in text
    assert "ط¨" not in text  # not read as windows-1256


@pytest.mark.parametrize("lang,encoding", [("ru", "koi8-r"), ("ru", "iso-8859-5"), ("uk", "koi8-u"),
                                           ("th", "tis-620"), ("el", "cp1253"), ("el", "iso-8859-7"),
                                           ("he", "cp1255"), ("ru", "cp1251")])
def test_other_scripts_undeclared_never_come_out_as_arabic(lang, encoding):
    text = (SAMPLES / f"{lang}.txt").read_text(encoding="utf-8").strip()
    body = f"<rss><channel><item><title>{text[:60]}</title><description>{text}</description></item></channel></rss>"
    decoded = decode_feed(body.encode(encoding), None)
    assert not ARABIC.search(decoded), decoded[:200]


@pytest.mark.parametrize("name,words", [("koi8r.xml", "новогоднюю ночь"), ("tis620.xml", "")])
def test_feedparser_chardet_files_are_not_read_as_arabic(name, words):
    decoded = decode_feed((DATA / "feedparser" / name).read_bytes(), None)
    assert not ARABIC.search(decoded)
    assert words in decoded


def test_persian_and_urdu_in_windows_1256_are_arabic_script_still():
    # Written in Arabic letters: windows-1256 is the right reading, guessed or declared.
    urdu = (SAMPLES / "ur.txt").read_text(encoding="utf-8").strip()
    body = f"<rss><channel><item><description>{urdu}</description></item></channel></rss>"
    assert "ملاقات" in decode_feed(body.encode("cp1256", "replace"), None)


def test_arabic_guess_needs_words_that_read_as_arabic():
    story = DOC.format(enc="x", t=TITLE).replace(' encoding="x"', "")
    assert looks_arabic(story)
    assert not looks_arabic("ëءث ذإزإضةشط خد×دادؤخہہ خدقط ثاس ءبيي تبي")  # KOI8-R read as windows-1256


def words(capitals: str, small: str) -> st.SearchStrategy[str]:
    """Text as it is written: words of small letters, some with a capital first."""
    word = st.tuples(st.sampled_from(["", *capitals]), st.text(alphabet=small, min_size=1, max_size=9))
    return st.lists(word.map("".join), min_size=8, max_size=60).map(" ".join)


CYRILLIC = words("АБВГДЕЖЗИКЛМНОПРСТУФХЧШЭЮЯ", "абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
GREEK = words("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώς")
THAI = st.lists(st.text(alphabet=[chr(c) for c in range(0x0E01, 0x0E3A)], min_size=3, max_size=20),
                min_size=3, max_size=20).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.one_of(CYRILLIC.map(lambda t: (t, "koi8-r")), CYRILLIC.map(lambda t: (t, "iso-8859-5")),
                 THAI.map(lambda t: (t, "tis-620")), GREEK.map(lambda t: (t, "cp1253"))))
def test_random_text_of_other_scripts_is_never_guessed_arabic(case):
    text, encoding = case
    body = f"<rss><channel><item><title>{text}</title></item></channel></rss>".encode(encoding)
    assert not ARABIC.search(decode_feed(body, None))


def test_declared_utf8_with_few_characters_and_a_stray_byte_is_utf8():
    # feedparser's own file: two curly quotes in UTF-8 and one byte that is not
    decoded = decode_feed((DATA / "feedparser" / "bozo_linenoise.xml").read_bytes(), None)
    assert "\u2019<>\u201d\ufffd" in decoded
