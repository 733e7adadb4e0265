"""Feed text to Story records, with feedparser.

Rules:
- Input is text already decoded by `monitor.decode` (its XML declaration says utf-8).
  It is handed to feedparser as UTF-8 bytes in a file object, with a Content-Type of
  application/xml; charset=utf-8, so feedparser neither re-guesses the encoding nor takes
  the text for a file name or a URL (which it would do with a plain str).
- A DOCTYPE with an internal subset is removed before parsing: feeds have no use for
  one, and that is where entity bombs live. (feedparser also drops unsafe ENTITY
  declarations, and the bundled expat has its own billion-laughs guard; this makes the
  guard not depend on either.) A character reference to a surrogate or past U+10FFFF
  (&#xD800;) becomes U+FFFD: feedparser raises on it.
- Not a feed: feedparser found no feed version and no entries (an HTML page, junk): a
  ParseError. Malformed XML that feedparser still reads (its "bozo" flag) is named in
  `malformed` and its items kept. A valid feed with no items gives no stories.
- One item never costs the others: an entry that fails to become a Story is left out
  and its reason kept in `bad_items` ("item 3: ValueError: ..."). When feedparser itself
  raises on the whole feed (it does, on a <gml:pos> outside a georss:where for one),
  the channel is read without its items and each <item>/<entry> alone, inside the
  feed's root element; the items it still cannot read are the bad ones.
- Per entry: title and summary are HTML stripped to plain text, entities decoded,
  whitespace collapsed; summary falls back to the first content block. The article the
  item carries itself (RSS content:encoded, Atom <content>: its first content block of
  HTML or text) becomes `body`: paragraphs of plain text one blank line apart
  (`html_to_paragraphs`: the same linear scan, a paragraph at each block tag, at most
  MAX_BODY_HTML characters read and MAX_BODY bytes kept, cut at a paragraph's end). A
  body taken from the same block the summary fell back to is kept too; an item without
  content has none. HTML stripping is
  one linear scan of at most MAX_HTML (64 KB) characters (`html_to_text`), so no field
  can make it slow. url is the entry's
  link resolved against the feed URL, else its guid when that is an http(s) URL. guid is
  the entry's id, else its link, else a hash of title and summary ("sha1:..."). Entries
  with neither a title nor a summary nor a link are skipped.
- published: feedparser's published then updated date; if it could not read either,
  the raw text goes through an Arabic-aware reader: Arabic-Indic digits, Arabic day names
  (الاثنين ...), month names (يناير ...; Levantine كانون الثاني، شباط ...; Maghrebi
  جانفي، أفريل ...) and ص/م are mapped to their English forms and the result parsed as an
  RFC 822 or ISO date. Without a zone, dates are taken as UTC. All datetimes are aware (UTC).
  A date past the year 9999 is no date.
- ttl_seconds: the RSS <ttl> (minutes) when present and positive.
"""
from __future__ import annotations

import asyncio
import calendar
import email.utils
import hashlib
import html
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from .errors import ParseError
from .models import Story
from .normalize import normalize_text

# feedparser asks xml.sax for libxml2's driver before expat: an import that failed on every
# parse (about 0.1 ms). Expat is the reader Raqib is tested with: it alone is asked for.
feedparser.api.PREFERRED_XML_PARSERS = []
_HEADERS = {"content-type": "application/xml; charset=utf-8"}
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_ENTITY = re.compile(r"<!ENTITY", re.I)
_SUBSET_END = re.compile(r"\]\s*>")
_PROLOG_LIMIT = 65536  # a DOCTYPE further in than this is not a feed's prolog
_REASON_LIMIT = 300  # characters of an error kept as a reason
Entry = dict[str, Any]  # one item as feedparser read it: raw feed data, any key may be missing
_BAD_CHARREF = re.compile(r"&#([xX][0-9a-fA-F]{1,16}|[0-9]{1,20});")
_ROOT = re.compile(r"<((?:[\w.-]+:)?(?:rss|feed|RDF))\b")
_ITEM_OPEN = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)[\s>]")
_ITEM_CLOSE = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title, its stories in feed order, and its <ttl> if any.

    `bad_items` says why each item that could not be read was left out ("item 3:
    KeyError: 'where'"); `malformed` names what feedparser found wrong with the XML
    when it read it anyway (its bozo exception), else "".
    """

    title: str
    stories: list[Story]
    ttl_seconds: float | None
    bad_items: tuple[str, ...] = ()
    malformed: str = ""
    entries: int = 0  # the items feedparser found (read, bad or empty)
    items: tuple[bytes, ...] = ()  # keys of the items done once this is ingested (`monitor.feed_items`)


def parse_feed(feed: str, text: str, url: str, fetched: datetime) -> ParsedFeed:
    """Parse a decoded feed into stories; raise ParseError when it is not a feed."""
    return parse_prepared(feed, prepare_text(text), url, fetched)


def prepare_text(text: str) -> str:
    """The text as it is parsed: no DOCTYPE subset, no character reference feedparser
    cannot take (see the module docstring)."""
    text = _strip_doctype_subset(text)
    return _BAD_CHARREF.sub(_replace_charref, text) if "&#" in text else text


def parse_prepared(feed: str, text: str, url: str, fetched: datetime) -> ParsedFeed:
    """`parse_feed` of a text `prepare_text` gave."""
    try:
        result = _feedparser(text, url)
    except Exception as exc:  # feedparser is meant not to raise; one odd item still makes it
        return _parse_items_apart(feed, text, url, fetched, exc)
    entries = result.get("entries") or []
    if not result.get("version") and not entries:
        reason = result.get("bozo_exception")
        raise ParseError("not a feed (no RSS/Atom/RDF root and no items)", feed=feed, url=url,
                         hint=f"the server sent something else: {reason}" if reason
                         else "the server sent something else, an HTML page perhaps")
    stories: list[Story] = []
    bad: list[str] = []
    for number, entry in enumerate(entries, 1):
        def read_entry(entry: Entry = entry) -> Entry:
            return entry
        _add_story(stories, bad, number, read_entry, feed, url, fetched)
    channel = result.get("feed") or {}
    malformed = type(result.get("bozo_exception")).__name__ if result.get("bozo") else ""
    return ParsedFeed(title=html_to_text(channel.get("title", "")), stories=stories,
                      ttl_seconds=_ttl(channel.get("ttl")), bad_items=tuple(bad), malformed=malformed,
                      entries=len(entries))


async def parse_feed_async(feed: str, text: str, url: str, fetched: datetime) -> ParsedFeed:
    """parse_feed in a worker thread, so the event loop keeps serving other feeds. No
    deadline: the poller parses through `monitor.parse_pool`, which has one."""
    return await asyncio.to_thread(parse_feed, feed, text, url, fetched)


def _feedparser(text: str, url: str) -> feedparser.FeedParserDict:
    return feedparser.parse(io.BytesIO(text.encode("utf-8")),
                            response_headers={**_HEADERS, "content-location": url},
                            sanitize_html=False, resolve_relative_uris=False)


def _add_story(stories: list[Story], bad: list[str], number: int, read_entry: Callable[[], Entry],
               feed: str, url: str, fetched: datetime) -> None:
    """Read one item into `stories`; if anything about it fails, say why in `bad` instead."""
    try:
        story = _story(feed, read_entry(), url, fetched)
    except Exception as exc:  # one item's fault must not cost the others
        bad.append(f"item {number}: {type(exc).__name__}: {exc}"[:_REASON_LIMIT])
        return
    if story is not None:
        stories.append(story)


def _parse_items_apart(feed: str, text: str, url: str, fetched: datetime, exc: Exception) -> ParsedFeed:
    """feedparser failed on the whole feed: read the channel without its items, then each
    item alone (inside the feed's root element, for its namespaces); an item that still
    fails is left out and said why."""
    spans = item_spans(text)
    failed = ParseError(f"feed could not be parsed: {type(exc).__name__}: {exc}"[:_REASON_LIMIT],
                        feed=feed, url=url)
    if not spans:
        raise failed from exc
    envelope = text[:spans[0][0]] + text[spans[-1][1]:]
    try:
        channel = _feedparser(envelope, url).get("feed") or {}
    except Exception:
        channel = {}
    root = _ROOT.search(text, 0, spans[0][0])
    root_end = -1 if root is None else text.find(">", root.end(), spans[0][0])
    if root is None or root_end < 0:
        raise failed from exc
    opening = text[:root_end + 1]
    closing = f"</{root.group(1)}>"

    def read(start: int, stop: int) -> Entry:
        entries = _feedparser(opening + text[start:stop] + closing, url).get("entries") or []
        if not entries:
            raise ValueError("not an item feedparser can read")
        return entries[0]

    stories: list[Story] = []
    bad: list[str] = []
    for number, (start, stop) in enumerate(spans, 1):
        _add_story(stories, bad, number, partial(read, start, stop), feed, url, fetched)
    return ParsedFeed(title=html_to_text(channel.get("title", "")), stories=stories,
                      ttl_seconds=_ttl(channel.get("ttl")), bad_items=tuple(bad),
                      malformed=type(exc).__name__)


def item_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each <item>...</item> or <entry>...</entry>, in order; an item
    left open ends the search. Each search starts where the last one ended."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        start = _ITEM_OPEN.search(text, pos)
        if start is None:
            return spans
        stop = _ITEM_CLOSE.search(text, start.end())
        if stop is None:
            return spans
        spans.append((start.start(), stop.end()))
        pos = stop.end()


def _replace_charref(m: re.Match[str]) -> str:
    """A character reference to a surrogate, or past U+10FFFF, becomes U+FFFD: feedparser
    raises on them and they cannot be stored."""
    digits = m.group(1)
    try:
        code = int(digits[1:], 16) if digits[0] in "xX" else int(digits)
    except ValueError:
        return m.group()
    return "&#xFFFD;" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else m.group()


def _strip_doctype_subset(text: str) -> str:
    # str.find and searches that move only forward: hostile prologs cost linear time.
    head = text[:_PROLOG_LIMIT]
    doctype = _DOCTYPE.search(head)
    if doctype is None and _ENTITY.search(head) is None:
        return text
    if doctype is not None:
        gt, bracket = head.find(">", doctype.end()), head.find("[", doctype.end())
        if bracket >= 0 and (gt < 0 or bracket < gt):
            close = _SUBSET_END.search(head, bracket)
            if close is not None:
                head = head[:doctype.start()] + head[close.end():]
    # An unterminated or odd subset: drop ENTITY declarations wherever they stand.
    parts, pos = [], 0
    for entity in _ENTITY.finditer(head):
        if entity.start() < pos:
            continue
        parts.append(head[pos:entity.start()])
        gt = head.find(">", entity.end())
        pos = len(head) if gt < 0 else gt + 1
        if gt < 0:
            break
    parts.append(head[pos:])
    return "".join(parts) + text[_PROLOG_LIMIT:]


def _story(feed: str, entry: Entry, base: str, fetched: datetime) -> Story | None:
    title = html_to_text(entry.get("title", ""))
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    summary = html_to_text(summary)
    body = html_to_paragraphs(_content(entry))
    link = (entry.get("link") or "").strip()
    if link:
        link = urljoin(base, link)
    guid = (entry.get("id") or "").strip()
    if not link and guid and urlsplit(guid).scheme in ("http", "https"):
        link = guid
    if not guid:
        guid = link
    if not (title or summary or link):
        return None
    if not guid:
        guid = "sha1:" + hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()
    return Story(feed=feed, guid=guid, url=link, title=title, summary=summary,
                 published=_published(entry), fetched=fetched, body=body)


def _content(entry: Entry) -> str:
    """The article an entry carries: its first content block that is HTML or text."""
    for block in entry.get("content") or ():
        kind = (block.get("type") or "text/html").lower()
        if kind in ("text/html", "application/xhtml+xml", "text/plain", "html", "xhtml", "text"):
            return block.get("value") or ""
    return ""


def _published(entry: Entry) -> datetime | None:
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, OSError, ValueError):  # a year past 9999: not a date
                return None
    for key in ("published", "updated", "created", "date"):
        raw = entry.get(key)
        if raw:
            when = parse_date(raw)
            if when is not None:
                return when
    return None


def _ttl(value: object) -> float | None:
    try:
        minutes = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60.0 if minutes > 0 else None


# --- dates -------------------------------------------------------------------------------

_MONTHS = {
    "Jan": ["يناير", "كانون الثاني", "جانفي", "جانفييه"],
    "Feb": ["فبراير", "شباط", "فيفري", "فبراير"],
    "Mar": ["مارس", "آذار", "اذار"],
    "Apr": ["أبريل", "ابريل", "إبريل", "نيسان", "أفريل", "افريل"],
    "May": ["مايو", "أيار", "ايار", "ماي"],
    "Jun": ["يونيو", "يونية", "حزيران", "جوان"],
    "Jul": ["يوليو", "يولية", "تموز", "جويلية", "جويلة", "يوليوز"],
    "Aug": ["أغسطس", "اغسطس", "آب", "اب", "أوت", "اوت", "غشت"],
    "Sep": ["سبتمبر", "أيلول", "ايلول", "شتنبر"],
    "Oct": ["أكتوبر", "اكتوبر", "تشرين الأول", "تشرين الاول", "أكتوبر"],
    "Nov": ["نوفمبر", "تشرين الثاني", "نونبر"],
    "Dec": ["ديسمبر", "كانون الأول", "كانون الاول", "دجنبر"],
}
_DAYS = {
    "Sun": ["الأحد", "الاحد", "أحد"],
    "Mon": ["الاثنين", "الإثنين", "الأثنين", "اثنين"],
    "Tue": ["الثلاثاء", "ثلاثاء"],
    "Wed": ["الأربعاء", "الاربعاء", "أربعاء"],
    "Thu": ["الخميس", "خميس"],
    "Fri": ["الجمعة", "جمعة"],
    "Sat": ["السبت", "سبت"],
}


def _word_table() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for english, names in (*_MONTHS.items(), *_DAYS.items()):
        for name in names:
            table[normalize_text(name)] = english
    # Longest first, so "كانون الثاني" wins over a shorter overlap.
    words = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(w) for w in words) + r")(?![\w])")
    return pattern, table


_WORDS, _WORD_TABLE = _word_table()
_AMPM = re.compile(r"(\d{1,2}:\d{2}(?::\d{2})?)\s*(ص|م|صباحا|مساء|مساءا)(?![\w])")


def parse_date(raw: str) -> datetime | None:
    """Read a date as outlets write it, in English or Arabic; None if it cannot be read."""
    text = normalize_text(raw).replace("،", ",").strip()
    if not text:
        return None

    def ampm(m: re.Match[str]) -> str:
        hour, rest = m.group(1).split(":", 1)
        hour_n = int(hour) % 12 + (0 if m.group(2).startswith("ص") else 12)
        return f"{hour_n:02d}:{rest}"

    text = _AMPM.sub(ampm, text)
    text = re.sub(r"\s[-–|]\s", " ", text)
    text = _WORDS.sub(lambda m: _WORD_TABLE[m.group(1)], text)
    text = re.sub(r"\s+", " ", text)
    when = None
    try:
        parsed = email.utils.parsedate_tz(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None and parsed[0] > 1900:
        try:
            stamp = email.utils.mktime_tz(parsed)
            when = datetime.fromtimestamp(stamp, tz=UTC)
        except (OverflowError, ValueError):
            when = None
    if when is None:
        parsed_struct = feedparser.datetimes._parse_date(text)  # the same readers feedparser uses
        # Its last-resort readers may invent a date; keep it only if its year is in the text.
        if parsed_struct and str(parsed_struct.tm_year) in text:
            when = datetime.fromtimestamp(calendar.timegm(parsed_struct), tz=UTC)
    if when is None:
        try:
            iso = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            return None
        when = iso if iso.tzinfo else iso.replace(tzinfo=UTC)
        when = when.astimezone(UTC)
    return when


# --- HTML to text ------------------------------------------------------------------------

MAX_HTML = 65536  # characters of an HTML fragment read; a title or a lead never needs more
MAX_BODY_HTML = 1 << 20  # characters of an item's content read for its body
MAX_BODY = 256 * 1024  # bytes (UTF-8) of body kept, cut at a paragraph's end
_BLOCK = {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
          "h6", "blockquote", "section", "article", "figure", "figcaption", "hr", "table"}
_SKIP = {"script", "style", "noscript", "template", "iframe", "object"}
_RAW = {"script": re.compile(r"</script", re.I), "style": re.compile(r"</style", re.I)}
_SPACES = re.compile(r"\s+")
_PARAGRAPH = "\u2029"  # what a block tag yields in html_to_paragraphs (Unicode's paragraph separator)
_TAG_NAME = re.compile(r"[A-Za-z][^\s/>]*")
_TAG_STOP = re.compile("[>\"']")
_ATTR = re.compile(r"""([^\s/>"'=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']*)))?""")


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, spaces collapsed.

    A linear scan (see `_html_parts`): the time is proportional to the input, whatever
    it holds, and only the first MAX_HTML characters are read.
    """
    if not value:
        return ""
    value = value[:MAX_HTML]
    text = _unescape(value) if "<" not in value else "".join(_html_parts(value))
    return _SPACES.sub(" ", text).strip()


def html_to_paragraphs(value: str, limit: int = MAX_BODY) -> str:
    """Paragraphs of plain text of an HTML fragment (or of plain text), one blank line apart.

    The scan of `html_to_text` with each block tag (p, br, div, li, h1 ...) ending a
    paragraph (a line break in the source is a space); within one, spaces are collapsed;
    empty ones are dropped. Plain text is cut into paragraphs at its line breaks. At most
    MAX_BODY_HTML characters are read and `limit` bytes of UTF-8 kept: the paragraphs that
    fit whole, else the first one cut.
    """
    if not value:
        return ""
    value = value[:MAX_BODY_HTML]
    if "<" not in value:
        lines = _unescape(value).splitlines()
    else:  # a line break in HTML source is a space; a block tag ends a paragraph
        lines = "".join(_html_parts(value, _PARAGRAPH)).split(_PARAGRAPH)
    return fit_paragraphs(lines, limit)


def fit_paragraphs(lines: Iterable[str], limit: int = MAX_BODY) -> str:
    """`lines` as paragraphs one blank line apart: spaces collapsed, empty ones dropped, at
    most `limit` bytes of UTF-8 (the paragraphs that fit whole, else the first one cut)."""
    paragraphs: list[str] = []
    size = 0
    for line in lines:
        paragraph = _SPACES.sub(" ", line).strip()
        if not paragraph:
            continue
        cost = len(paragraph.encode("utf-8")) + 2 * bool(paragraphs)
        if size + cost > limit:
            cut = paragraph.encode("utf-8")[:limit].decode("utf-8", "ignore").strip() if not paragraphs else ""
            if cut:  # a cut may end on a space
                paragraphs.append(cut)
            break
        paragraphs.append(paragraph)
        size += cost
    return "\n\n".join(paragraphs)


def _html_parts(value: str, block: str = " ") -> Iterator[str]:
    """The text pieces of an HTML fragment, in order; one pass, no step looks back.

    Every construct is found with `str.find` or a regex that cannot backtrack, from the
    current position forward, and the position only moves on; a construct that never ends
    (a tag, comment or quote open to the end) is taken as text to the end, as Python's
    html.parser does. Tags: block tags give a space, <img> its alt text, script and style
    are skipped to their end tag, noscript/template/iframe/object to theirs (nested), every
    other tag is dropped. Comments, <!...> and <?...> are dropped; <![CDATA[...]]> is text.
    Quotes in a tag are honoured (a > inside an attribute value does not end it) until
    one is found open to the end of the text; from there on tags end at the first >.
    A block tag yields `block` (a space; a line break for `html_to_paragraphs`).
    """
    return _HtmlScan(value, block).parts()


class _HtmlScan:
    """One pass of `_html_parts`: the position (it only moves on), how many skipped
    elements are open, and whether quotes in a tag are still honoured."""

    def __init__(self, value: str, block: str) -> None:
        self.value, self.block = value, block
        self.pos, self.end, self.skip, self.quotes = 0, len(value), 0, True

    def parts(self) -> Iterator[str]:
        value, end = self.value, self.end
        while self.pos < end:
            lt = value.find("<", self.pos)
            if lt < 0:
                lt = end
            if lt > self.pos and not self.skip:
                yield _unescape(value[self.pos:lt])
            if lt >= end:
                return
            nxt = value[lt + 1:lt + 2]
            if _letter(nxt) or nxt == "/" and _letter(value[lt + 2:lt + 3]):
                yield from self._tag(lt, closing=nxt == "/")
            elif value.startswith("<!--", lt):
                yield from self._dropped(lt, "-->", lt + 4)
            elif value.startswith("<![CDATA[", lt):
                close = value.find("]]>", lt + 9)
                stop = end if close < 0 else close
                if not self.skip:
                    yield value[lt + 9:stop]
                self.pos = stop + 3
            elif nxt in ("!", "?", "/"):  # <!DOCTYPE>, <![if]>, <?php?>, </>, </ x>: dropped
                yield from self._dropped(lt, ">", lt + 2)
            else:  # a lone "<" (a < b, <3, </ 5): text
                if not self.skip:
                    yield "<"
                self.pos = lt + 1

    def _rest(self, lt: int) -> Iterator[str]:
        """A construct open to the end: text to the end, as html.parser leaves it."""
        if not self.skip:
            yield _unescape(self.value[lt:])
        self.pos = self.end

    def _dropped(self, lt: int, closer: str, start: int) -> Iterator[str]:
        """A comment or other markup from `lt` to `closer` (searched from `start`): dropped."""
        close = self.value.find(closer, start)
        if close < 0:
            yield from self._rest(lt)
        else:
            self.pos = close + len(closer)

    def _tag(self, lt: int, closing: bool) -> Iterator[str]:
        name_m = _TAG_NAME.match(self.value, lt + 1 + closing)
        if name_m is None:  # cannot be: the character there is an ASCII letter
            raise AssertionError(f"no tag name at offset {lt + 1 + closing}")
        stop, self.quotes = _tag_end(self.value, name_m.end(), self.quotes)
        if stop < 0:
            yield from self._rest(lt)
            return
        name = name_m.group().lower()
        self.pos = stop
        if closing:
            yield from self._end_tag(name)
        else:
            yield from self._start_tag(name, name_m.end(), stop)

    def _end_tag(self, name: str) -> Iterator[str]:
        if name in _SKIP and self.skip:
            self.skip -= 1
        elif name in _BLOCK and not self.skip:
            yield self.block

    def _start_tag(self, name: str, attrs: int, stop: int) -> Iterator[str]:
        """The tag `name` whose attributes run from `attrs` to `stop` (just past its >)."""
        if name in _SKIP and self.value[stop - 2:stop] == "/>":
            return  # <iframe/>: nothing inside
        if name in _RAW:  # its text is not HTML: straight to its end tag
            m = _RAW[name].search(self.value, self.pos)
            if m is None:
                self.pos = self.end
                return
            self.pos = m.start()
            self.skip += 1  # the end tag, read next, takes it off again
        elif name in _SKIP:
            self.skip += 1
        elif self.skip:
            return
        elif name in _BLOCK:
            yield self.block
        elif name == "img":
            alt = _alt(self.value, attrs, stop)
            if alt:
                yield f" {alt} "


def _tag_end(value: str, pos: int, quotes: bool) -> tuple[int, bool]:
    """(index just past the > that ends the tag whose attributes start at `pos`, or -1;
    whether quotes are still honoured)."""
    if quotes:
        at = pos
        while True:
            m = _TAG_STOP.search(value, at)
            if m is None:
                break
            if m.group() == ">":
                return m.end(), True
            close = value.find(m.group(), m.end())
            if close < 0:
                break
            at = close + 1
        quotes = False  # a quote open to the end: from here on, tags end at the first >
    close = value.find(">", pos)
    return (close + 1 if close >= 0 else -1), quotes


def _alt(value: str, start: int, stop: int) -> str:
    """The alt attribute of the tag in value[start:stop] (the last one, as html.parser)."""
    alt = ""
    for m in _ATTR.finditer(value, start, stop):
        if m.group(1).lower() == "alt":
            alt = next((g for g in m.groups()[1:] if g is not None), "")
    return _unescape(alt)


def _letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text
