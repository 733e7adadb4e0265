"""OPML import and export: the feed lists other readers give and take.

Import rules (`parse_opml`):
- Parsed with the standard library's expat, with any DOCTYPE or ENTITY declaration
  refused: OPML never needs a DTD, so this shuts out entity bombs and external entities
  in two handlers, with no extra dependency (defusedxml would do the same, and more
  than OPML needs).
- The root must be <opml>. Every <outline> with an xmlUrl (any letter case) is a feed,
  however deeply nested in category outlines. Its name is its title, else its text, else
  the URL's host, with runs of white space made one space; names are made unique by
  appending "-2", "-3", ... in file order (in linear time: each name remembers the last
  number it was given).
- URLs must be absolute http(s) with a host and, if given, a port from 1 to 65535;
  anything else is a ConfigError naming the file and line. `read_opml` reports every
  such outline and keeps the good ones; `parse_opml` raises the first. A URL listed
  twice is kept once (the first).
- Malformed XML is a ConfigError naming the file and line.

Export (`export_opml`) writes OPML 2.0 with one <outline type="rss"> per feed; what it
writes, `parse_opml` reads back unchanged.
"""
from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import NoReturn
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from .errors import ConfigError

_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str
    line: int


def parse_opml(data: bytes | str, source: str = "<opml>") -> list[tuple[str, str]]:
    """The (name, url) of every feed in an OPML document, in file order; the first bad
    outline is a ConfigError."""
    feeds, problems = read_opml(data, source)
    if problems:
        raise problems[0]
    return [(f.name, f.url) for f in feeds]


def feed_url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed URL at all (not http(s), no host, a bad port), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"not a valid URL (a bad host or port): {url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"feed URL must be http(s): {url!r}"
    if port == 0:
        return f"not a valid URL (port 0): {url!r}"
    return None


def read_opml(data: bytes | str, source: str = "<opml>") -> tuple[list[OpmlFeed], list[ConfigError]]:
    """Every feed of an OPML document in file order, and a ConfigError (file and line) for
    every outline whose URL cannot be a feed. A document that is not OPML raises."""
    # For text, the declared encoding no longer applies: it is read as the UTF-8 we send.
    parser = xml.parsers.expat.ParserCreate("utf-8" if isinstance(data, str) else None)
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[tuple[str, str, int]] = []
    problems: list[ConfigError] = []
    seen_root: list[str] = []

    def refuse(*_args: object) -> NoReturn:
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
        problem = feed_url_problem(url)
        if problem:
            problems.append(ConfigError(problem, file=source, line=parser.CurrentLineNumber))
            return
        name = (lowered.get("title") or lowered.get("text") or urlsplit(url).hostname or "").strip()
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
    return _unique(found), problems


def _unique(found: list[tuple[str, str, int]]) -> list[OpmlFeed]:
    """One feed per URL (the first outline naming it), each under a name of its own: a
    name met again is numbered (name-2, name-3 ...)."""
    feeds: list[OpmlFeed] = []
    urls: set[str] = set()
    names: set[str] = set()
    last_number: dict[str, int] = {}  # numbers below it are taken, and stay taken
    for name, url, line in found:
        if url in urls:
            continue
        urls.add(url)
        unique = name
        if unique in names:
            n = last_number.get(name, 1)
            while unique in names:
                n += 1
                unique = f"{name}-{n}"
            last_number[name] = n
        names.add(unique)
        feeds.append(OpmlFeed(unique, url, line))
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
