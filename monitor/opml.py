"""OPML import and export: the feed lists other readers give and take.

Import rules (`parse_opml`):
- Parsed with the standard library's expat, with any DOCTYPE or ENTITY declaration
  refused: OPML never needs a DTD, so this shuts out entity bombs and external entities
  in two handlers, with no extra dependency (defusedxml would do the same, and more
  than OPML needs).
- The root must be <opml>. Every <outline> with an xmlUrl (any letter case) is a feed,
  however deeply nested in category outlines. Its name is its title, else its text, else
  the URL's host, with runs of white space made one space; names are made unique by appending "-2", "-3", ... in file order.
- URLs must be absolute http(s); anything else is a ConfigError naming the file and
  line. A URL listed twice is kept once (the first).
- Malformed XML is a ConfigError naming the file and line.

Export (`export_opml`) writes OPML 2.0 with one <outline type="rss"> per feed; what it
writes, `parse_opml` reads back unchanged.
"""
from __future__ import annotations

import re
import xml.parsers.expat
from email.utils import formatdate
from typing import Iterable
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr, escape

from .errors import ConfigError


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _Refused(Exception):
    pass


def parse_opml(data: bytes | str, source: str = "<opml>") -> list[tuple[str, str]]:
    """The (name, url) of every feed in an OPML document, in file order."""
    # For text, the declared encoding no longer applies: it is read as the UTF-8 we send.
    parser = xml.parsers.expat.ParserCreate("utf-8" if isinstance(data, str) else None)
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[tuple[str, str, int]] = []
    seen_root: list[str] = []

    def refuse(*_args: object) -> None:
        raise _Refused()

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not seen_root:
            seen_root.append(tag)
            if tag.lower() != "opml":
                raise ConfigError(f"not an OPML file (root element <{tag}>)", file=source,
                                  line=parser.CurrentLineNumber)
        if tag.lower() != "outline":
            return
        lowered = {k.lower(): v for k, v in attrs.items()}
        url = (lowered.get("xmlurl") or "").strip()
        if not url:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"feed URL must be http(s): {url!r}", file=source,
                              line=parser.CurrentLineNumber)
        name = (lowered.get("title") or lowered.get("text") or parts.hostname).strip()
        found.append((" ".join(name.split()), url, parser.CurrentLineNumber))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    try:
        if isinstance(data, str):
            parser.Parse(data.encode("utf-8"), True)
        else:
            parser.Parse(data, True)
    except _Refused:
        raise ConfigError("OPML may not contain a DOCTYPE or entity declarations", file=source,
                          line=parser.CurrentLineNumber) from None
    except xml.parsers.expat.ExpatError as exc:
        raise ConfigError(f"not well-formed XML: {xml.parsers.expat.errors.messages[exc.code]}",
                          file=source, line=exc.lineno) from None
    if not seen_root:
        raise ConfigError("empty OPML file", file=source)

    feeds: list[tuple[str, str]] = []
    urls: set[str] = set()
    names: set[str] = set()
    for name, url, _line in found:
        if url in urls:
            continue
        urls.add(url)
        unique, n = name, 1
        while unique in names:
            n += 1
            unique = f"{name}-{n}"
        names.add(unique)
        feeds.append((unique, url))
    return feeds


def export_opml(feeds: Iterable[tuple[str, str]], title: str = "Raqib feeds") -> str:
    """An OPML 2.0 document listing (name, url) feeds."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_XML_FORBIDDEN.sub('', title))}</title>",
        f"    <dateCreated>{formatdate(usegmt=True)}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for name, url in feeds:
        lines.append(f"    <outline type=\"rss\" text={_attr(name)} title={_attr(name)} "
                     f"xmlUrl={_attr(url)}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _attr(value: str) -> str:
    # Characters XML cannot carry at all are dropped; newlines and tabs are escaped, as
    # attribute normalisation would otherwise turn them into spaces.
    value = _XML_FORBIDDEN.sub("", value)
    return quoteattr(value, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
