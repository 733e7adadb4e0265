"""What each page shows, read from the store in one go and shaped for its template.

Every function here takes the store first and runs in the web view's reader thread
(`raqib.web.reader`), never on the daemon's loop; it returns plain records, with feed
text already escaped and highlighted (`Markup`), so a template never meets raw feed text
but through Jinja's autoescape.

Highlighting: the spans of an alert come from its outbox payload (the matches frozen at
match time); those of a try or a search from the desk engine. Text is cleaned with
`monitor.display.visible` piece by piece and escaped, the matched spans wrapped in
`<mark>` (`alerts.render.highlight`, the rule every channel uses). Links go through
`alerts.render.safe_url`: a link that is not plain http(s) is shown as no link.

Where and the sentence, as on every channel: a card shows each matched term with where
its first hit is (title, lead, body paragraph N) and, under the title, the lead whole or
in place of a cut lead the sentence around each name (`alerts.render.under_title`), so a
name past the shown text is still seen marked. An alert's snippets come from its
payload; a search or try card's are made from the story's text and matches
(`monitor.snippet`). The story page shows the body, when the story has one, paragraph by
paragraph, with every hit its alerts recorded marked.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from markupsafe import Markup, escape

from alerts.render import first_hits, highlight, payload_snippets, safe_url, under_title, zone
from alerts.render import marked as mark_snippet
from monitor.desk import Budget, SearchResult, StoryHit, TryReport, search_stories, try_watchlist
from monitor.display import one_line, visible
from monitor.models import Match, Watchlist
from monitor.pipeline import PERSONAL_PREFIX
from monitor.snippet import PayloadSnippet, paragraph_starts, snippets
from monitor.store import AlertView, ClusterOutlet, Store

from ..feedhealth import PAGES_DAYS, FeedHealth, feed_health, with_pages
from . import charts

HOUR, DAY = 3600.0, 86400.0
ALERTS_PAGE = 50
WATCHLIST_ALERTS = 10
CARD_ALERTS = 3  # a watchlist's last alerts on the Watchlists page
CHART_HOURS = 168  # 7 days, one bar an hour
SPARK_DAYS = 14
SUMMARY_CHARS = 400
MAX_WATCHLIST_FILE = 64 * 1024


def _esc(text: str) -> str:
    return str(escape(visible(text)))


def marked(text: str, matches: Sequence[Match], field: str, limit: int | None = None) -> Markup:
    """`text` escaped, with the matched spans of `field` in <mark>; cut at `limit` characters."""
    text = text or ""
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    out = highlight(text, matches, field, open_="<mark>", close="</mark>", escape=_esc)
    return Markup(out + ("…" if cut else ""))  # noqa: S704 - every piece of feed text is escaped above


# (term, field, paragraph) of a term's first hit; (field, paragraph, sentence) of a snippet
Place = tuple[str, str, int]
Snippet = tuple[str, int, Markup]


def _places(matches: Sequence[Match]) -> tuple[Place, ...]:
    return tuple((one_line(m.term, 80), m.field, m.paragraph) for m in first_hits(matches))


def lead_and_snippets(summary: str, matches: Sequence[Match], found: Sequence[PayloadSnippet],
                      limit: int = SUMMARY_CHARS) -> tuple[Markup, tuple[Snippet, ...]]:
    """The card's lead (whole, cut, or none) and the sentences shown with it (module rules)."""
    shown, snips = under_title(summary or "", found, limit)
    text = Markup("")
    if shown == "whole":
        text = marked(summary, matches, "summary")
    elif shown:
        text = marked(summary, matches, "summary", limit)
    return text, tuple((sn["field"], sn["paragraph"],
                        Markup(mark_snippet(sn, open_="<mark>", close="</mark>", escape=_esc)))  # noqa: S704
                       for sn in snips)


def body_paragraphs(body: str, matches: Sequence[Match]) -> tuple[Markup, ...]:
    """The body's paragraphs (`monitor.snippet` rules), escaped, every body hit in <mark>."""
    if not body.strip():
        return ()
    starts = paragraph_starts(body)
    ends = [*starts[1:], len(body)]
    hits = [m for m in matches if m.field == "body"]
    out = []
    for start, end in zip(starts, ends, strict=True):
        text = body[start:end].strip()
        if not text:
            continue
        lead_space = len(body[start:end]) - len(body[start:end].lstrip())
        offset = start + lead_space
        shifted = [Match(m.watchlist, m.term, "body", m.start - offset, m.end - offset)
                   for m in hits if m.end > offset and m.start < offset + len(text)]
        out.append(Markup(highlight(text, shifted, "body", open_="<mark>", close="</mark>",  # noqa: S704
                                    escape=_esc)))
    return tuple(out)


def stamp(ts: float | None, tz: str = "") -> str:
    """`YYYY-MM-DD HH:MM` in the web view's zone (`web.tz`, UTC when none), or empty."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, zone(tz)).strftime("%Y-%m-%d %H:%M")


def day_range(day: str, tz: str = "") -> tuple[float, float]:
    """The Unix seconds a day `YYYY-MM-DD` spans in the web view's zone: the day a card prints."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=zone(tz))
    end = datetime.combine(start.date() + timedelta(days=1), start.timetz())
    return start.timestamp(), end.timestamp()


def _published(value: object, tz: str = "") -> str:
    """A payload's `published` (ISO text) or a story's (Unix seconds) as `stamp` shows it."""
    if isinstance(value, (int, float)):
        return stamp(float(value), tz)
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return one_line(value, 40)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")
    return ""


def _outlet(titles: dict[str, str], name: str) -> str:
    return one_line(titles.get(name) or name, 80)


@dataclass(frozen=True)
class AlertItem:
    story_id: int
    cluster: int
    watchlist: str
    watchlist_title: str
    kind: str
    source: str  # the feed's name (links and filters)
    when: str  # when the alert was raised (web.tz)
    published: str  # the story's time: published, else first seen (web.tz)
    title: Markup
    summary: Markup
    url: str | None
    terms: tuple[str, ...]
    also: tuple[str, ...]  # the cluster's other outlets, by their names
    places: tuple[Place, ...] = ()
    snippets: tuple[Snippet, ...] = ()
    outlet: str = ""  # the outlet as people know it (the feed's title, else its name)
    created: float = 0.0
    id: int = 0


def _alert_item(row: AlertView, outlets: Sequence[ClusterOutlet], tz: str = "",
                titles: dict[str, str] | None = None) -> AlertItem:
    titles = titles or {}
    try:
        payload = json.loads(row.payload)
    except (TypeError, ValueError):
        payload = {}
    matches = []
    for m in payload.get("matches") or ():
        try:
            matches.append(Match(**m))
        except TypeError:
            continue
    source = row.feed or payload.get("source") or ""
    terms = tuple(dict.fromkeys(m.term for m in matches))
    summary, snips = lead_and_snippets(payload.get("summary", ""), matches, payload_snippets(payload.get("snippets")))
    return AlertItem(
        story_id=row.story_id, cluster=row.cluster, watchlist=row.watchlist,
        watchlist_title=one_line(payload.get("watchlist_title") or row.watchlist, 120), kind=row.kind,
        source=one_line(source, 80), when=stamp(row.created, tz),
        published=_published(payload.get("published") or payload.get("seen"), tz),
        title=marked(payload.get("title", ""), matches, "title"),
        summary=summary, url=safe_url(payload.get("url", "")), terms=tuple(one_line(t, 80) for t in terms),
        also=tuple(_outlet(titles, o.feed) for o in outlets if o.feed != source),
        places=_places(matches), snippets=snips,
        outlet=_outlet(titles, source), created=row.created, id=row.id)


@dataclass(frozen=True)
class AlertsPage:
    items: tuple[AlertItem, ...]
    sources: tuple[str, ...]
    source_titles: tuple[tuple[str, str], ...] = ()  # (feed name, outlet name) for the filter
    older: str = ""  # the cursor of the next page ("created:id"), "" at the end


def alerts_page(store: Store, *, watchlist: str | None, source: str | None, day: str | None,
                limit: int = ALERTS_PAGE, tz: str = "", before: tuple[float, int] | None = None) -> AlertsPage:
    story_since, story_until = day_range(day, tz) if day else (None, None)
    rows = store.web.latest_alerts(limit=limit + 1, watchlist=watchlist, source=source, story_since=story_since,
                               story_until=story_until, hidden_prefix=PERSONAL_PREFIX, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    outlets = store.web.cluster_outlets([r.cluster for r in rows])
    titles = store.feeds.titles()
    names = tuple(f.name for f in store.feeds.all())
    return AlertsPage(items=tuple(_alert_item(r, outlets.get(r.cluster, ()), tz, titles) for r in rows),
                      sources=names, source_titles=tuple((n, _outlet(titles, n)) for n in names),
                      older=f"{rows[-1].created!r}:{rows[-1].id}" if more and rows else "")


@dataclass(frozen=True)
class Outlet:
    story_id: int
    feed: str
    title: Markup
    url: str | None
    fetched: str
    published: str
    after: float  # seconds after the first copy
    current: bool


@dataclass(frozen=True)
class StoryPage:
    story_id: int
    title: Markup
    summary: Markup
    url: str | None
    feed: str
    fetched: str  # the story's time: published, else first seen (web.tz)
    outlets: tuple[Outlet, ...]
    timeline: charts.Timeline
    alerted: tuple[tuple[str, str], ...]  # (watchlist, title)
    body: tuple[Markup, ...] = ()  # the article's paragraphs, hits marked
    related: tuple[Outlet, ...] = ()  # the event's other outlets' own words on it


def story_page(store: Store, story_id: int, tz: str = "", rtl: bool = False) -> StoryPage | None:
    story = store.web.story(story_id)
    if story is None:
        return None
    members = store.stories.cluster_sources(story.cluster)
    alerts = store.web.story_alerts(story.cluster, hidden_prefix=PERSONAL_PREFIX)
    matches: list[Match] = []
    alerted = []
    for a in alerts:
        try:
            payload = json.loads(a.payload)
        except (TypeError, ValueError):
            payload = {}
        alerted.append((a.watchlist, one_line(payload.get("watchlist_title") or a.watchlist, 120)))
        if payload.get("title") == story.title:
            for m in payload.get("matches") or ():
                try:
                    matches.append(Match(**m))
                except TypeError:
                    continue
    first = min((m.fetched for m in members), default=story.fetched)
    titles = store.feeds.titles()
    outlets = tuple(Outlet(
        story_id=m.id, feed=_outlet(titles, m.feed), title=marked(m.title, (), "title"),
        url=safe_url(m.url), fetched=stamp(m.fetched, tz), published=_published(m.published, tz),
        after=m.fetched - first, current=m.id == story_id) for m in members)
    timeline = charts.timeline([m.fetched for m in members], [_outlet(titles, m.feed)[:40] for m in members],
                               rtl=rtl)
    related = tuple(Outlet(
        story_id=r.id, feed=_outlet(titles, r.feed), title=marked(r.title, (), "title"),
        url=safe_url(r.url), fetched=stamp(r.fetched, tz), published=_published(r.published, tz),
        after=r.fetched - first, current=False)
        for r in store.web.related_coverage(story.event, story.cluster))
    return StoryPage(story_id=story_id, title=marked(story.title, matches, "title"),
                     summary=marked(story.summary, matches, "summary"), url=safe_url(story.url),
                     feed=_outlet(titles, story.feed), fetched=stamp(story.published or story.fetched, tz),
                     outlets=outlets, timeline=timeline, alerted=tuple(alerted), related=related,
                     body=body_paragraphs(story.body or "", matches))


def hours_since(now: float, hours: int = CHART_HOURS) -> float:
    """The start of the first of the last `hours` whole hours (the current one counts)."""
    return (now // HOUR) * HOUR - (hours - 1) * HOUR


def _hour_labels(since: float, hours: int, tz: str = "") -> list[str]:
    return [stamp(since + i * HOUR, tz) for i in range(hours)]


@dataclass(frozen=True)
class WatchlistCard:
    name: str
    title: str
    terms: int
    path: str
    chart: charts.BarChart
    latest: tuple[AlertItem, ...] = ()
    not_relevant: int = 0  # alerts people marked "not relevant" (Telegram's button)


def watchlists_page(store: Store, watchlists: Sequence[Watchlist], now: float,
                    latest: int = CARD_ALERTS, tz: str = "") -> tuple[WatchlistCard, ...]:
    since = hours_since(now)
    names = [w.name for w in watchlists]
    counts = store.web.alerts_per_hour(since, CHART_HOURS, names)
    labels = _hour_labels(since, CHART_HOURS, tz)
    titles = store.feeds.titles()
    feedback = store.feedback.counts()
    cards = []
    for w in watchlists:
        rows = store.web.latest_alerts(limit=latest, watchlist=w.name) if latest else []
        cards.append(WatchlistCard(name=w.name, title=one_line(w.title or w.name, 120), terms=len(w.terms),
                                   path=w.path, chart=charts.bars(counts.get(w.name, [0] * CHART_HOURS), labels),
                                   latest=tuple(_alert_item(r, (), tz, titles) for r in rows),
                                   not_relevant=feedback.get(w.name, 0)))
    return tuple(cards)


@dataclass(frozen=True)
class WatchlistPage:
    card: WatchlistCard
    alerts: tuple[AlertItem, ...]
    text: str  # the watchlist file, for the try box


def read_watchlist_file(path: str) -> str:
    """The watchlist's file as text for the try box (at most MAX_WATCHLIST_FILE bytes)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_WATCHLIST_FILE + 1)
    except OSError:
        return ""
    return data[:MAX_WATCHLIST_FILE].decode("utf-8", "replace")


def watchlist_page(store: Store, watchlist: Watchlist, now: float, tz: str = "") -> WatchlistPage:
    card = watchlists_page(store, [watchlist], now, latest=0, tz=tz)[0]
    titles = store.feeds.titles()
    rows = store.web.latest_alerts(limit=WATCHLIST_ALERTS, watchlist=watchlist.name)
    outlets = store.web.cluster_outlets([r.cluster for r in rows])
    return WatchlistPage(card=card, alerts=tuple(_alert_item(r, outlets.get(r.cluster, ()), tz, titles)
                                                 for r in rows),
                         text=read_watchlist_file(watchlist.path))


@dataclass(frozen=True)
class FeedLine:
    health: FeedHealth
    title: str  # the feed's own title (from the feed, or the config's note)
    spark: charts.Sparkline
    last_error: str
    last_error_at: str


def feeds_page(store: Store, now: float, tz: str = "") -> tuple[FeedLine, ...]:
    since = (now // DAY) * DAY - (SPARK_DAYS - 1) * DAY
    per_day = store.web.stories_per_day(since, SPARK_DAYS)
    out = []
    for row, pages in with_pages(store.feeds.all(), store.articles.fulltext_health(now - PAGES_DAYS * DAY)):
        health = feed_health(row, pages)
        spark = charts.sparkline(per_day.get(row.name, [0] * SPARK_DAYS))
        title = row.config_title or row.title or ""  # the outlet's name, as alerts give it
        out.append(FeedLine(health=health, title=one_line(title, 120), spark=spark,
                            last_error=one_line(health.last_error, 300), last_error_at=stamp(health.last_error_at, tz)))
    return tuple(out)


@dataclass(frozen=True)
class HitItem:
    story_id: int
    feed: str
    title: Markup
    summary: Markup
    url: str | None
    when: str
    terms: tuple[str, ...]
    also: tuple[str, ...]
    watchlist: str
    places: tuple[Place, ...] = ()
    snippets: tuple[Snippet, ...] = ()
    outlet: str = ""  # the outlet as people know it


def hit_item(hit: StoryHit, tz: str = "", titles: dict[str, str] | None = None) -> HitItem:
    titles = titles or {}
    body = getattr(hit, "body", "") or ""  # a stored story's body, where the search engine gives it
    summary, snips = lead_and_snippets(hit.summary, hit.matches, snippets(hit.title, hit.summary, body, hit.matches))
    return HitItem(story_id=hit.id, feed=one_line(hit.feed, 80), title=marked(hit.title, hit.matches, "title"),
                   summary=summary, url=safe_url(hit.url),
                   when=stamp(hit.published or hit.fetched, tz), terms=tuple(one_line(t, 80) for t in hit.terms),
                   also=tuple(_outlet(titles, o) for o in hit.outlets), watchlist=hit.watchlist,
                   places=_places(hit.matches), snippets=snips, outlet=_outlet(titles, hit.feed))


@dataclass(frozen=True)
class SearchPage:
    result: SearchResult
    hits: tuple[HitItem, ...]
    seconds: float


def search_page(store: Store, *, query: str, days: float | None, source: str | None, limit: int,
                now: float, tz: str = "", budget: Budget | None = None) -> SearchPage:
    started = time.monotonic()
    if budget is not None:
        budget.started = started  # the budget counts the work, not the wait for a reader
    result = search_stories(store, query, days=days, source=source, limit=limit, now=now, budget=budget)
    titles = store.feeds.titles()
    return SearchPage(result=result, hits=tuple(hit_item(h, tz, titles) for h in result.hits),
                      seconds=time.monotonic() - started)


@dataclass(frozen=True)
class TryPage:
    report: TryReport
    hits: tuple[HitItem, ...]
    dropped: tuple[tuple[HitItem, str, tuple[str, ...]], ...]  # (story, rule, terms)
    per_day: charts.BarChart
    seconds: float


def try_page(store: Store, text: str, *, file: str, days: float, now: float, limit: int,
             tz: str = "", budget: Budget | None = None) -> TryPage:
    started = time.monotonic()
    if budget is not None:
        budget.started = started
    report = try_watchlist(store, text, file=file, days=days, now=now, limit=limit, budget=budget)
    titles = store.feeds.titles()
    dropped = tuple((hit_item(_with_stops(d.story, d.stopped_by), tz, titles), d.rule, d.terms)
                    for d in report.dropped)
    per_day = charts.bars([n for _, n in report.per_day], [d for d, _ in report.per_day], width=420, height=50)
    return TryPage(report=report, hits=tuple(hit_item(h, tz, titles) for h in report.hits), dropped=dropped,
                   per_day=per_day, seconds=time.monotonic() - started)


def _with_stops(story: StoryHit, stops: Sequence[Match]) -> StoryHit:
    """A dropped story with the exclude term's spans marked too."""
    return replace(story, matches=(*story.matches, *stops))


def file_label(path: str) -> str:
    return Path(path).name if path else ""
