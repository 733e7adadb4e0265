"""Feed text to Story records, with feedparser.

Rules:
- Input is text already decoded by `monitor.decode` (its XML declaration says utf-8).
  It is handed to feedparser as UTF-8 bytes in a file object, with a Content-Type of
  application/xml; charset=utf-8, so feedparser neither re-guesses the encoding nor takes
  the text for a file name or a URL (which it would do with a plain str).
- A DOCTYPE with an internal subset is removed before parsing: feeds have no use for
  one, and that is where entity bombs live. (feedparser also drops unsafe ENTITY
  declarations, and the bundled expat has its own billion-laughs guard; this makes the
  guard not depend on either.)
- Not a feed: feedparser found no feed version and no entries (an HTML page, junk): a
  ParseError. Malformed XML that feedparser still reads (its "bozo" flag) is logged and
  its items kept. A valid feed with no items gives no stories.
- Per entry: title and summary are HTML stripped to plain text, entities decoded,
  whitespace collapsed; summary falls back to the first content block. url is the entry's
  link resolved against the feed URL, else its guid when that is an http(s) URL. guid is
  the entry's id, else its link, else a hash of title and summary ("sha1:..."). Entries
  with neither a title nor a summary nor a link are skipped.
- published: feedparser's published then updated date; if it could not read either,
  the raw text goes through an Arabic-aware reader: Arabic-Indic digits, Arabic day names
  (الاثنين ...), month names (يناير ...; Levantine كانون الثاني، شباط ...; Maghrebi
  جانفي، أفريل ...) and ص/م are mapped to their English forms and the result parsed as an
  RFC 822 or ISO date. Without a zone, dates are taken as UTC. All datetimes are aware (UTC).
- ttl_seconds: the RSS <ttl> (minutes) when present and positive.
"""
from __future__ import annotations

import asyncio
import calendar
import email.utils
import hashlib
import html
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import feedparser

from .errors import ParseError
from .models import Story
from .normalize import normalize_text

logger = logging.getLogger(__name__)

_HEADERS = {"content-type": "application/xml; charset=utf-8"}
_DOCTYPE_SUBSET = re.compile(r"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.S | re.I)
_PROLOG_LIMIT = 65536  # a DOCTYPE further in than this is not a feed's prolog


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title, its stories in feed order, and its <ttl> if any."""

    title: str
    stories: list[Story]
    ttl_seconds: float | None


def parse_feed(feed: str, text: str, url: str, fetched: datetime) -> ParsedFeed:
    """Parse a decoded feed into stories; raise ParseError when it is not a feed."""
    data = _strip_doctype_subset(text).encode("utf-8")
    try:
        result = feedparser.parse(io.BytesIO(data), response_headers={**_HEADERS, "content-location": url},
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser is meant not to raise; junk still finds ways
        raise ParseError(f"feed could not be parsed: {type(exc).__name__}: {exc}", feed=feed,
                         url=url) from exc
    entries = result.get("entries") or []
    if not result.get("version") and not entries:
        reason = result.get("bozo_exception")
        raise ParseError("not a feed (no RSS/Atom/RDF root and no items)", feed=feed, url=url,
                         hint=f"the server sent something else: {reason}" if reason
                         else "the server sent something else, an HTML page perhaps")
    if result.get("bozo"):
        logger.info("feed malformed but readable feed=%s url=%s error=%s items=%d", feed, url,
                    type(result.get("bozo_exception")).__name__, len(entries))
    stories = []
    for entry in entries:
        story = _story(feed, entry, url, fetched)
        if story is not None:
            stories.append(story)
    channel = result.get("feed") or {}
    return ParsedFeed(title=html_to_text(channel.get("title", "")), stories=stories,
                      ttl_seconds=_ttl(channel.get("ttl")))


async def parse_feed_async(feed: str, text: str, url: str, fetched: datetime) -> ParsedFeed:
    """parse_feed in a worker thread, so the event loop keeps serving other feeds."""
    return await asyncio.to_thread(parse_feed, feed, text, url, fetched)


def _strip_doctype_subset(text: str) -> str:
    head = text[:_PROLOG_LIMIT]
    if "<!DOCTYPE" not in head.upper() and "<!ENTITY" not in head.upper():
        return text
    head = _DOCTYPE_SUBSET.sub("", head, count=1)
    # An unterminated or odd subset: drop ENTITY declarations wherever they stand.
    head = re.sub(r"<!ENTITY[^>]*>", "", head, flags=re.I)
    return head + text[_PROLOG_LIMIT:]


def _story(feed: str, entry: dict, base: str, fetched: datetime) -> Story | None:
    title = html_to_text(entry.get("title", ""))
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    summary = html_to_text(summary)
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
        guid = "sha1:" + hashlib.sha1(f"{title}\n{summary}".encode("utf-8")).hexdigest()
    return Story(feed=feed, guid=guid, url=link, title=title, summary=summary,
                 published=_published(entry), fetched=fetched)


def _published(entry: dict) -> datetime | None:
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
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
            when = datetime.fromtimestamp(stamp, tz=timezone.utc)
        except (OverflowError, ValueError):
            when = None
    if when is None:
        parsed_struct = feedparser.datetimes._parse_date(text)  # the same readers feedparser uses
        # Its last-resort readers may invent a date; keep it only if its year is in the text.
        if parsed_struct and str(parsed_struct.tm_year) in text:
            when = datetime.fromtimestamp(calendar.timegm(parsed_struct), tz=timezone.utc)
    if when is None:
        try:
            iso = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            return None
        when = iso if iso.tzinfo else iso.replace(tzinfo=timezone.utc)
        when = when.astimezone(timezone.utc)
    return when


# --- HTML to text ------------------------------------------------------------------------

_BLOCK = {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
          "h6", "blockquote", "section", "article", "figure", "figcaption", "hr", "table"}
_SKIP = {"script", "style", "noscript", "template", "iframe", "object"}
_SPACES = re.compile(r"\s+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, spaces collapsed."""
    if not value:
        return ""
    if "<" not in value:
        text = html.unescape(value) if "&" in value else value
    else:
        collector = _TextCollector()
        collector.feed(value)
        collector.close()
        text = "".join(collector.parts)
    return _SPACES.sub(" ", text).strip()
