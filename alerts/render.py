"""Rendering helpers every channel shares: highlighting matched words, short leads, times,
where a name was found and the sentence around it.

Highlighting takes the match spans (offsets into the original field text), merges
overlaps, and wraps each span with the channel's markers; text outside and inside the
spans is passed through the channel's `escape` so feed text never reaches a markup
parser raw.

Feed text is untrusted: every renderer passes titles, summaries, source names, terms
and reasons through `monitor.display.visible` (or `one_line`), which removes bidi
overrides, isolates and other invisible controls that could make a title display as
something else; the marks a renderer adds itself (an RLM before a Latin line) come
after. Links become anchors only through `safe_url`. Times are the reader's: `when` prints
a story's publication time (else when it was first seen) in the destination's zone
(`alert.tz`, set with its outlets' names by `for_destination` before a channel renders),
and a source is named as people know the outlet (`outlet`: the feed's title, else its id). A digest is grouped once, by
`group_alerts`: by watchlist (first seen first), then by event (the same event told by
several outlets in their own words), then by story cluster (copies of one text). A feed-health
alert quotes what a server said: `bounded` keeps its title and summary on one line
and short (`HEALTH_TITLE`, `REASON_MAX` characters) whatever the daemon gave it.

Where and the sentence: `places` says, per matched term, where its first hit is («في
العنوان», «في المقدمة», «في نص الخبر، الفقرة 7»; in English "in the title", "in the
lead", "in the body, paragraph 7"). `under_title` decides what an alert shows under its
title, the same on every channel: the lead whole (matched words marked) when it fits in
the channel's `limit`, followed by the snippets from the body; else, in place of the cut
lead, the snippets from the lead and the body (each sentence once); a lead cut plainly
only when there is no snippet to show (the names are all in the title, or the row was
written before snippets). The title's own snippet is never shown: the title is, marked.
`marked` wraps a snippet's marks as `highlight` does a field's matches. A personal
watchlist (a chat's own terms) is headed by `personal_title(lang)`, one language a message.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.display import REASON_MAX, display_url, one_line, visible
from monitor.models import Alert, Match, alert_payload  # noqa: F401  (re-exported)
from monitor.pipeline import PERSONAL_PREFIX
from monitor.snippet import PayloadSnippet, distinct
from monitor.store import OutboxRow

from .plurals import count

HEALTH_TITLE = 300  # characters of a feed-health alert's title: labels, the feed's name, the reason
# A feed-health alert (`alerts.health`), in both languages: it goes to admins of any channel.
FEED_HEALTH = {
    False: "⚠️ مشكلة في المصدر / feed unhealthy: {feed} — {reason}",
    True: "✅ المصدر عاد للعمل / feed recovered: {feed} — {reason}",
}
FEED_HEALTH_HEADING = "feed health"  # the watchlist title a feed-health alert carries
PAGES_WITHOUT_TEXT = "its article pages give no text (a paywall, or pages built by script?); last: {reason}"

PLACES = {
    "ar": {"title": "في العنوان", "summary": "في المقدمة", "body": "في نص الخبر",
           "paragraph": "في نص الخبر، الفقرة {n}", "personal": "كلماتي"},
    "en": {"title": "in the title", "summary": "in the lead", "body": "in the body",
           "paragraph": "in the body, paragraph {n}", "personal": "My terms"},
}


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def highlight(text: str, matches: Sequence[Match], field: str, *, open_: str, close: str,
              escape: Callable[[str], str] = lambda s: s) -> str:
    """`text` with every matched span of `field` wrapped in open_/close, the rest escaped."""
    return wrap_spans(text, ((m.start, m.end) for m in matches if m.field == field), open_, close, escape)


def marked(snippet: PayloadSnippet, *, open_: str, close: str, escape: Callable[[str], str] = lambda s: s) -> str:
    """A snippet's text with its marks wrapped in open_/close, the rest escaped."""
    return wrap_spans(snippet["text"], ((s, e) for s, e in snippet["marks"]), open_, close, escape)


def wrap_spans(text: str, found: Iterable[tuple[int, int]], open_: str, close: str,
               escape: Callable[[str], str]) -> str:
    spans = merge_spans(found)
    pieces: list[str] = []
    at = 0
    for start, end in spans:
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        pieces.append(escape(text[at:start]))
        pieces.append(open_ + escape(text[start:end]) + close)
        at = end
    pieces.append(escape(text[at:]))
    return "".join(pieces)


def lead(text: str, limit: int = 280) -> str:
    """The first `limit` characters of `text`, cut at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,.،") + "…"


def where(field: str, paragraph: int = 0, lang: str = "ar") -> str:
    """Where a hit is, in words: «في العنوان», «في المقدمة», «في نص الخبر، الفقرة 7»."""
    labels = PLACES.get(lang, PLACES["ar"])
    if field == "body" and paragraph:
        return labels["paragraph"].format(n=paragraph)
    return labels.get(field, labels["body"])


def first_hits(matches: Sequence[Match]) -> list[Match]:
    """Each term's first hit (title, then lead, then body; by position), terms in the order
    they first appear in `matches`."""
    order = {"title": 0, "summary": 1, "body": 2}
    first: dict[str, Match] = {}
    for m in matches:
        best = first.get(m.term)
        if best is None or (order.get(m.field, 3), m.start) < (order.get(best.field, 3), best.start):
            first[m.term] = m
    return list(first.values())


def places(alert: Alert, lang: str = "ar") -> list[tuple[str, str]]:
    """(term, where its first hit is) per matched term, in the order of `matched_terms`."""
    return [(m.term, where(m.field, m.paragraph, lang)) for m in first_hits(alert.matches)]


def under_title(summary: str, snippets: Sequence[PayloadSnippet], limit: int) -> tuple[str, list[PayloadSnippet]]:
    """What shows under an alert's title (module rules): ("whole" | "cut" | "", snippets)."""
    snips = distinct([sn for sn in snippets if sn["field"] != "title"])
    if summary and lead(summary, limit) == " ".join(summary.split()) == summary:
        return "whole", [sn for sn in snips if sn["field"] == "body"]
    if snips:
        return "", snips
    return ("cut" if summary else ""), []


def feed_health_title(feed: str, healthy: bool, reason: str) -> str:
    """The title of a feed-health alert: the feed turned unhealthy, or recovered."""
    return FEED_HEALTH[healthy].format(feed=feed, reason=reason)


def personal_title(lang: str = "ar") -> str:
    return PLACES.get(lang, PLACES["ar"])["personal"]


def heading(alert: Alert, lang: str = "ar") -> str:
    """The watchlist as an alert names it: a chat's own terms in the reader's language."""
    if alert.watchlist.startswith(PERSONAL_PREFIX):
        return personal_title(lang)
    return alert.watchlist_title or alert.watchlist


def bounded(alert: Alert) -> Alert:
    """A feed-health alert with its title and summary on one line and short; others as they are."""
    if alert.kind != "health":
        return alert
    return dataclasses.replace(alert, title=one_line(alert.title, HEALTH_TITLE),
                               summary=one_line(alert.summary, REASON_MAX))


def matched_terms(alert: Alert) -> list[str]:
    seen: list[str] = []
    for m in alert.matches:
        if m.term not in seen:
            seen.append(m.term)
    return seen


def zone(name: str | None) -> tzinfo:
    """The IANA zone `name`; UTC for none or one this system does not know."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_time(moment: datetime | float, tz: str | None = None) -> str:
    """`moment` (aware, or Unix seconds) as `YYYY-MM-DD HH:MM ZONE` in `tz` (UTC when none):
    the one way every channel, the bot and the web view print a time."""
    where = zone(tz)
    if isinstance(moment, datetime):
        dt = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    else:
        dt = datetime.fromtimestamp(moment, UTC)
    label = tz if where is not UTC and tz else "UTC"
    return dt.astimezone(where).strftime("%Y-%m-%d %H:%M ") + label


def when(alert: Alert) -> str:
    """The story's time in the destination's zone (`alert.tz`, UTC when none), as
    `YYYY-MM-DD HH:MM ZONE`: its publication time, else when it was first seen."""
    stamp = alert.published or alert.seen
    if not stamp:
        return ""
    try:
        dt = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return local_time(dt, alert.tz)


def outlet(alert: Alert, name: str | None = None) -> str:
    """The outlet's name people read for feed `name` (the alert's own source by default):
    the feed's title when known, else its name."""
    name = alert.source if name is None else name
    return alert.outlets.get(name) or name


def outlets(alert: Alert, names: Iterable[str]) -> list[str]:
    return [outlet(alert, n) for n in names]


def for_destination(alert: Alert, *, tz: str | None, titles: Mapping[str, str]) -> Alert:
    """The alert as its destination reads it: times in its zone, outlets by their names."""
    return dataclasses.replace(alert, tz=tz or "", outlets=titles)


def alert_from_row(row: OutboxRow) -> Alert:
    """Decode one outbox row into an Alert."""
    payload = json.loads(row.payload)
    matches = tuple(Match(**m) for m in payload.get("matches", ()))
    return Alert(
        id=row.id, channel=row.channel, destination=row.destination, kind=row.kind,
        watchlist=row.watchlist, watchlist_title=payload.get("watchlist_title") or row.watchlist,
        story_id=row.story_id, cluster=row.cluster, title=payload.get("title", ""),
        url=payload.get("url", ""), summary=payload.get("summary", ""), source=payload.get("source", ""),
        published=payload.get("published"), matches=matches, sources=tuple(payload.get("sources", ())),
        attempts=row.attempts or 0, extra=payload.get("extra", {}),
        event=row.event if row.event is not None else row.cluster, seen=payload.get("seen"),
        snippets=tuple(payload_snippets(payload.get("snippets"))),
    )


def payload_snippets(value: object) -> list[PayloadSnippet]:
    """The payload's snippets that have the expected shape (a row written before them has none)."""
    out: list[PayloadSnippet] = []
    for sn in value if isinstance(value, list) else ():
        if isinstance(sn, dict) and isinstance(sn.get("text"), str) and isinstance(sn.get("term"), str):
            marks = [(int(m[0]), int(m[1])) for m in sn.get("marks") or ()
                     if isinstance(m, list) and len(m) == 2 and all(isinstance(x, int) for x in m)]
            out.append({"term": sn["term"], "field": str(sn.get("field") or ""),
                        "paragraph": int(sn.get("paragraph") or 0), "text": sn["text"], "marks": marks})
    return out


def plain_lines(alert: Alert, lead_chars: int) -> list[str]:
    """An alert as plain-text lines after its title: source and time, link, matched terms
    and where each was found, how far it spread, then the lead or the sentences around the
    names (`under_title`, names between «») — shared by the e-mail and Apprise channels."""
    alert = bounded(alert)
    lines = [" · ".join(one_line(p) for p in (outlet(alert), when(alert)) if p)]
    if alert.url:
        lines.append(display_url(alert.url))
    if alert.matches and alert.kind != "health":
        lines.append("الكلمات المطابقة: " + "، ".join(f"{one_line(t)} ({at})" for t, at in places(alert)))
    if alert.kind == "spread" and alert.sources:
        named = "، ".join(one_line(s) for s in outlets(alert, alert.sources))
        lines.append(f"نشرته {count(len(alert.sources), 'outlet')}: " + named)
    shown, snips = under_title(alert.summary, alert.snippets, lead_chars)
    if shown:
        lines += ["", lead(visible(alert.summary), lead_chars)]
    for sn in snips:
        lines += ["", marked(sn, open_="«", close="»", escape=visible)]
    return lines


def safe_url(url: str) -> str | None:
    """A story link fit for an href, or None: whitespace removed (never a newline inside an
    href), bidi and control characters encoded (`display_url`), and only http(s) with no
    quote or angle bracket left — the rule of every channel that makes links."""
    url = display_url("".join((url or "").split()))
    return url if re.match(r"^https?://[^\s\"<>]+$", url, re.I) else None


Group = tuple[tuple[str, str], list[list[list[Alert]]]]


def group_alerts(alerts: Sequence[Alert]) -> list[Group]:
    """Alerts by watchlist (first seen first), then by event within each watchlist, then
    by cluster within each event: [((name, title), [event: [cluster: [alert, ...]]])]."""
    by_list: dict[tuple[str, str], dict[int, dict[int, list[Alert]]]] = {}
    for alert in alerts:
        key = (alert.watchlist, alert.watchlist_title or alert.watchlist)
        event = alert.cluster if alert.event is None else alert.event
        by_list.setdefault(key, {}).setdefault(event, {}).setdefault(alert.cluster, []).append(alert)
    return [(key, [list(clusters.values()) for clusters in events.values()]) for key, events in by_list.items()]
