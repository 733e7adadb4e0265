"""Feed bytes to text, without ever garbling Arabic.

feedparser decodes bytes itself, but it gives up on a whole UTF-8 feed over a couple of
stray bytes (and then reads it as iso-8859-2), and it lets a wrong HTTP charset override
a correct XML declaration. So Raqib decodes first and hands feedparser clean UTF-8.

Rules, tried in this order; the first that applies wins:

1. A byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) decides.
2. Strict UTF-8: the body decodes as UTF-8 without a single error.
3. Mostly UTF-8, read with U+FFFD for each invalid sequence: the invalid sequences are
   at most 5% of the non-ASCII characters or, when the XML declaration or the HTTP
   charset says UTF-8, no more than the valid multi-byte characters. A UTF-8 feed with a
   few stray bytes keeps its Arabic, even a short declared one (ten Arabic letters and
   one stray byte), while a windows-1256 body does not pass for UTF-8: its Arabic
   letters (0xC1 and up) almost never form valid sequences (measured on the five sample
   feeds written in windows-1256: 0.3-0.7% as many valid characters as invalid ones,
   3.2% in the worst single item; Thai in TIS-620, whose vowels do form some, 29%).
4. The charset in the XML declaration, if it is not UTF-8 and the body decodes with it
   without error.
5. The HTTP charset (Content-Type), likewise.
   In 4 and 5 a Latin-1 family label (iso-8859-1, windows-1252, us-ascii) is a common
   server default, so it is set aside when the body reads as Arabic in windows-1256
   (most of its high bytes Arabic letters there, and the text looks like Arabic, below).
6. A guess: windows-1256 when most high bytes are Arabic letters in it and the text
   looks like Arabic; else charset-normalizer's best guess; else UTF-8 with replacement;
   else ASCII with replacement. A guess with Arabic letters that does not look like
   Arabic is passed over.

A guess never makes Arabic out of bytes that are not: KOI8-R and ISO-8859-5 Cyrillic,
TIS-620 Thai and Greek use the same high bytes as windows-1256's Arabic letters and read
as Arabic-looking strings that could fire a watchlist. Text "looks like Arabic"
(`looks_arabic`, over its first 256 K characters and 3,000 Arabic-script words) when,
after normalising: it has at least 5 words of three letters or more written in Arabic
letters alone; at most 10% of its Arabic-script words run into letters of another
script; harakat and tatweel are at most 20% of its Arabic letters; and at least 60% of
those words are common Arabic news words (monitor/data/arabic_words.tsv.gz, also with a
proclitic و ف ب ك ل ال taken off), or at least 30% are and Persian/Urdu letters
(پ چ ژ گ ک ٹ ڈ ڑ ں ے) make up 2% of its letters (Persian and Urdu are written in
windows-1256 too). Measured by bench/decode_guess.py: ANT corpus articles, title and
abstract, are accepted 99.96% of the time (common-word share p1 0.80, median 0.97; a
title alone 95.6%, short titles having fewer than five words; a feed is judged whole);
none of 56 readings of Cyrillic, Greek, Hebrew, Thai, Latin and CJK text as windows-1256
or ISO-8859-6 is (share at most 0.25, or too many harakat, or mixed words).

A web page (`decode_page`, for the article behind an item) is read by the same rules, its
`<meta charset>` (or `<meta http-equiv="Content-Type" content="...; charset=...">`, in
its first 4 KiB) taking the XML declaration's place in 3 and 4.

Whatever the source, the result is cleaned for XML: the BOM is dropped, characters XML
forbids (C0 controls other than tab/CR/LF, U+FFFE, U+FFFF) are removed, and the XML
declaration's encoding is rewritten to utf-8, so it never contradicts the text when the
text is handed on as UTF-8.
"""
from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

from .match import word_data
from .normalize import normalize_text

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL_BYTES = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_XML_DECL_TEXT = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[A-Za-z0-9._:-]*\2")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LATIN_DEFAULTS = {"iso8859-1", "cp1252", "ascii"}
# windows-1256 bytes that are Arabic letters (and tatweel) there.
_CP1256_ARABIC = frozenset(
    b for b in range(0x80, 0x100)
    if "\u0600" <= bytes([b]).decode("cp1256", "replace") <= "\u06ff"
)
_LOW_BYTES = bytes(range(0x80))
# Arabic-script letters (and tatweel), in the Arabic, Arabic Supplement and presentation blocks.
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f"
                            "\u08a0-\u08c9\ufb50-\ufdfb\ufe70-\ufefc]")
_PERSIAN_LETTER = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u0679\u0688\u0691\u06ba\u06d2]")
_LETTERS = re.compile(r"[^\W\d_]+")
_MARKS = re.compile("[\u064b-\u0652\u0640]")  # harakat and tatweel
_PROCLITICS = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ك", "ل")
_SAMPLE_WORDS = 3000
_SAMPLE_CHARS = 1 << 18
_NOT_CP1256_ARABIC = bytes(b for b in range(0x100) if b not in _CP1256_ARABIC)


def decode_feed(body: bytes, http_charset: str | None) -> str:
    """Decode a fetched feed body to text, by the rules in the module docstring."""
    text, how = _decode(body, http_charset, _xml_declared(body))
    if how not in ("bom", "utf-8"):
        logger.info("feed body not strict utf-8 decoded_as=%s http_charset=%s", how, http_charset)
    return _clean(text)


def decode_page(body: bytes, http_charset: str | None) -> str:
    """Decode a fetched web page to text: the rules above, its meta charset as the declaration."""
    text, how = _decode(body, http_charset, _meta_declared(body))
    if how not in ("bom", "utf-8"):
        logger.info("page body not strict utf-8 decoded_as=%s http_charset=%s", how, http_charset)
    return _clean(text)


_META_CHARSET = re.compile(rb"""<meta\b[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
_META_SCAN = 4096


def _meta_declared(body: bytes) -> str | None:
    m = _META_CHARSET.search(body, 0, _META_SCAN)
    return m.group(1).decode("ascii") if m else None


def _decode(body: bytes, http_charset: str | None, declared: str | None) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, "replace"), "bom"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    says_utf8 = "utf-8" in (_codec(declared), _codec(http_charset))
    if bad * 20 <= non_ascii or says_utf8 and bad * 2 <= non_ascii:
        return text, "utf-8-replace"

    cp1256 = body.decode("cp1256", "replace") if _reads_as_cp1256_arabic(body) else None
    arabic_1256 = cp1256 is not None and looks_arabic(cp1256)
    for label, source in ((declared, "xml"), (http_charset, "http")):
        codec = _codec(label)
        if codec is None or codec == "utf-8":
            continue
        if codec in _LATIN_DEFAULTS and arabic_1256:
            continue
        try:
            return body.decode(codec), f"{source}:{codec}"
        except UnicodeDecodeError:
            continue
    if arabic_1256 and cp1256 is not None:
        return cp1256, "cp1256-detected"
    guess = _detect(body)
    if guess is not None and _arabic_only_if_it_reads_so(guess[0]):
        return guess
    if _arabic_only_if_it_reads_so(text):
        return text, "utf-8-replace-fallback"
    return body.decode("ascii", "replace"), "ascii-fallback"


def _arabic_only_if_it_reads_so(text: str) -> bool:
    return _ARABIC_LETTER.search(text) is None or looks_arabic(text)


def looks_arabic(text: str) -> bool:
    """Whether text reads as Arabic (or Persian/Urdu) words, by the rules in the module docstring."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_ARABIC_LETTER.findall(sample))
    persian = len(_PERSIAN_LETTER.findall(sample))  # before normalising folds ک ی away
    if len(_MARKS.findall(sample)) * 5 > letters:
        return False
    words = known = mixed = script_words = 0
    for m in _LETTERS.finditer(normalize_text(sample)):
        token = m.group()
        arabic = len(_ARABIC_LETTER.findall(token))
        if not arabic:
            continue
        script_words += 1
        if arabic != len(token):
            mixed += 1
        elif len(token) >= 3:
            words += 1
            known += _common_word(token)
        if script_words >= _SAMPLE_WORDS:
            break
    if words < 5 or mixed * 10 > script_words:
        return False
    share = known / words
    return share >= 0.6 or share >= 0.3 and persian * 50 >= letters


def _common_word(word: str) -> bool:
    counts = word_data().counts
    if word in counts:
        return True
    return any(word.startswith(p) and len(word) - len(p) >= 3 and word[len(p):] in counts
               for p in _PROCLITICS)


def _reads_as_cp1256_arabic(body: bytes) -> bool:
    high = len(body.translate(None, _LOW_BYTES))
    if not high:
        return False
    arabic = len(body.translate(None, _NOT_CP1256_ARABIC))
    return arabic * 10 >= high * 6


def _detect(body: bytes) -> tuple[str, str] | None:
    best = from_bytes(body).best()
    if best is None:
        return None
    return str(best), f"detected:{best.encoding}"


def _xml_declared(body: bytes) -> str | None:
    m = _XML_DECL_BYTES.match(body[:512])
    return m.group(1).decode("ascii") if m else None


def _codec(label: str | None) -> str | None:
    """The Python codec name for a charset label, or None if unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None


def _clean(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    if _XML_FORBIDDEN.search(text):
        text = _XML_FORBIDDEN.sub("", text)
    return _XML_DECL_TEXT.sub(r"\1\2utf-8\2", text, count=1)
