"""Feed bytes to text, without ever garbling Arabic.

feedparser decodes bytes itself, but it gives up on a whole UTF-8 feed over a couple of
stray bytes (and then reads it as iso-8859-2), and it lets a wrong HTTP charset override
a correct XML declaration. So Raqib decodes first and hands feedparser clean UTF-8.

Rules, tried in this order; the first that applies wins:

1. A byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) decides.
2. Strict UTF-8: the body decodes as UTF-8 without a single error.
3. Mostly UTF-8: at most 5% of the non-ASCII characters are invalid sequences; those
   become U+FFFD. A UTF-8 feed with a few stray bytes keeps its Arabic, while a
   windows-1256 body (whose Arabic letters, 0xC1 and up, almost never form valid UTF-8)
   does not pass for UTF-8.
4. The charset in the XML declaration, if it is not UTF-8 and the body decodes with it
   without error.
5. The HTTP charset (Content-Type), likewise.
   In 4 and 5 a Latin-1 family label (iso-8859-1, windows-1252, us-ascii) is a common
   server default, so it is taken only when the body does not read as Arabic in
   windows-1256 (most of its high bytes being Arabic letters there).
6. windows-1256 when most high bytes are Arabic letters in it; else charset-normalizer's
   best guess; else UTF-8 with replacement.

Whatever the source, the result is cleaned for XML: the BOM is dropped, characters XML
forbids (C0 controls other than tab/CR/LF, U+FFFE, U+FFFF) are removed, and the XML
declaration's encoding is rewritten to utf-8, so it never contradicts the text when the
text is handed on as UTF-8.
"""
from __future__ import annotations

import codecs
import logging
import re

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
_NOT_CP1256_ARABIC = bytes(b for b in range(0x100) if b not in _CP1256_ARABIC)


def decode_feed(body: bytes, http_charset: str | None) -> str:
    """Decode a fetched feed body to text, by the rules in the module docstring."""
    text, how = _decode(body, http_charset)
    if how not in ("bom", "utf-8"):
        logger.info("feed body not strict utf-8 decoded_as=%s http_charset=%s", how, http_charset)
    return _clean(text)


def _decode(body: bytes, http_charset: str | None) -> tuple[str, str]:
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
    if bad * 20 <= non_ascii:
        return text, "utf-8-replace"

    arabic_1256 = _reads_as_cp1256_arabic(body)
    declared = _xml_declared(body)
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
    if arabic_1256:
        return body.decode("cp1256", "replace"), "cp1256-detected"
    guess = _detect(body)
    if guess is not None:
        return guess
    return text, "utf-8-replace-fallback"


def _reads_as_cp1256_arabic(body: bytes) -> bool:
    high = len(body.translate(None, _LOW_BYTES))
    if not high:
        return False
    arabic = len(body.translate(None, _NOT_CP1256_ARABIC))
    return arabic * 10 >= high * 6


def _detect(body: bytes) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes

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
