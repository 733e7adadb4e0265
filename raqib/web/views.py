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
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from markupsafe import Markup, escape

from alerts.render import highlight, safe_url
from monitor.desk import Budget, SearchResult, StoryHit, TryReport, search_stories, try_watchlist
from monitor.display import one_line, visible
from monitor.models import Match, Watchlist
from monitor.pipeline import PERSONAL_PREFIX
from monitor.store import Store

from ..feedhealth import FeedHealth, feed_health
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


def stamp(ts: float | None) -> str:
    """`YYYY-MM-DD HH:MM` in UTC, or empty."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _published(value: object) -> str:
    """A payload's `published` (ISO text) or a story's (Unix seconds) as `stamp` shows it."""
    if isinstance(value, (int, float)):
        return stamp(float(value))
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return one_line(value, 40)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return ""


@dataclass(frozen=True)
class AlertItem:
    story_id: int
    cluster: int
    watchlist: str
    watchlist_title: str
    kind: str
    source: str
    when: str  # when the alert was raised (UTC)
    published: str
    title: Markup
    summary: Markup
    url: str | None
    terms: tuple[str, ...]
    also: tuple[str, ...]  # the cluster's other outlets


def _alert_item(row: dict, outlets: Sequence[dict]) -> AlertItem:
    try:
        payload = json.loads(row["payload"])
    except (TypeError, ValueError):
        payload = {}
    matches = []
    for m in payload.get("matches") or ():
        try:
            matches.append(Match(**m))
        except TypeError:
            continue
    source = row.get("feed") or payload.get("source") or ""
    terms = tuple(dict.fromkeys(m.term for m in matches))
    return AlertItem(
        story_id=row["story_id"], cluster=row["cluster"], watchlist=row["watchlist"],
        watchlist_title=one_line(payload.get("watchlist_title") or row["watchlist"], 120), kind=row["kind"],
        source=one_line(source, 80), when=stamp(row["created"]), published=_published(payload.get("published")),
        title=marked(payload.get("title", ""), matches, "title"),
        summary=marked(payload.get("summary", ""), matches, "summary", SUMMARY_CHARS),
        url=safe_url(payload.get("url", "")), terms=tuple(one_line(t, 80) for t in terms),
        also=tuple(one_line(o["feed"], 80) for o in outlets if o["feed"] != source))


@dataclass(frozen=True)
class AlertsPage:
    items: tuple[AlertItem, ...]
    sources: tuple[str, ...]


def alerts_page(store: Store, *, watchlist: str | None, source: str | None, day: float | None,
                limit: int = ALERTS_PAGE) -> AlertsPage:
    rows = store.latest_alerts(limit=limit, watchlist=watchlist, source=source, since=day,
                               until=None if day is None else day + DAY, hidden_prefix=PERSONAL_PREFIX)
    outlets = store.cluster_outlets([r["cluster"] for r in rows])
    return AlertsPage(items=tuple(_alert_item(r, outlets.get(r["cluster"], ())) for r in rows),
                      sources=tuple(f["name"] for f in store.feeds()))


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
    fetched: str
    outlets: tuple[Outlet, ...]
    timeline: charts.Timeline
    alerted: tuple[tuple[str, str], ...]  # (watchlist, title)


def story_page(store: Store, story_id: int) -> StoryPage | None:
    story = store.story(story_id)
    if story is None:
        return None
    members = store.cluster_sources(story["cluster"])
    alerts = store.story_alerts(story["cluster"], hidden_prefix=PERSONAL_PREFIX)
    matches: list[Match] = []
    alerted = []
    for a in alerts:
        try:
            payload = json.loads(a["payload"])
        except (TypeError, ValueError):
            payload = {}
        alerted.append((a["watchlist"], one_line(payload.get("watchlist_title") or a["watchlist"], 120)))
        if payload.get("title") == story["title"]:
            for m in payload.get("matches") or ():
                try:
                    matches.append(Match(**m))
                except TypeError:
                    continue
    first = min((m["fetched"] for m in members), default=story["fetched"])
    outlets = tuple(Outlet(
        story_id=m["id"], feed=one_line(m["feed"], 80), title=marked(m["title"], (), "title"),
        url=safe_url(m["url"]), fetched=stamp(m["fetched"]), published=_published(m["published"]),
        after=m["fetched"] - first, current=m["id"] == story_id) for m in members)
    timeline = charts.timeline([m["fetched"] for m in members], [one_line(m["feed"], 40) for m in members])
    return StoryPage(story_id=story_id, title=marked(story["title"], matches, "title"),
                     summary=marked(story["summary"], matches, "summary"), url=safe_url(story["url"]),
                     feed=one_line(story["feed"], 80), fetched=stamp(story["fetched"]), outlets=outlets,
                     timeline=timeline, alerted=tuple(alerted))


def hours_since(now: float, hours: int = CHART_HOURS) -> float:
    """The start of the first of the last `hours` whole hours (the current one counts)."""
    return (now // HOUR) * HOUR - (hours - 1) * HOUR


def _hour_labels(since: float, hours: int) -> list[str]:
    return [stamp(since + i * HOUR) for i in range(hours)]


@dataclass(frozen=True)
class WatchlistCard:
    name: str
    title: str
    terms: int
    path: str
    chart: charts.BarChart
    latest: tuple[AlertItem, ...] = ()


def watchlists_page(store: Store, watchlists: Sequence[Watchlist], now: float,
                    latest: int = CARD_ALERTS) -> tuple[WatchlistCard, ...]:
    since = hours_since(now)
    names = [w.name for w in watchlists]
    counts = store.alerts_per_hour(since, CHART_HOURS, names)
    labels = _hour_labels(since, CHART_HOURS)
    cards = []
    for w in watchlists:
        rows = store.latest_alerts(limit=latest, watchlist=w.name) if latest else []
        cards.append(WatchlistCard(name=w.name, title=one_line(w.title or w.name, 120), terms=len(w.terms),
                                   path=w.path, chart=charts.bars(counts.get(w.name, [0] * CHART_HOURS), labels),
                                   latest=tuple(_alert_item(r, ()) for r in rows)))
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


def watchlist_page(store: Store, watchlist: Watchlist, now: float) -> WatchlistPage:
    card = watchlists_page(store, [watchlist], now, latest=0)[0]
    rows = store.latest_alerts(limit=WATCHLIST_ALERTS, watchlist=watchlist.name)
    outlets = store.cluster_outlets([r["cluster"] for r in rows])
    return WatchlistPage(card=card, alerts=tuple(_alert_item(r, outlets.get(r["cluster"], ())) for r in rows),
                         text=read_watchlist_file(watchlist.path))


@dataclass(frozen=True)
class FeedLine:
    health: FeedHealth
    title: str  # the feed's own title (from the feed, or the config's note)
    spark: charts.Sparkline
    last_error: str
    last_error_at: str


def feeds_page(store: Store, now: float) -> tuple[FeedLine, ...]:
    since = (now // DAY) * DAY - (SPARK_DAYS - 1) * DAY
    per_day = store.stories_per_day(since, SPARK_DAYS)
    out = []
    for row in store.feeds():
        health = feed_health(row)
        spark = charts.sparkline(per_day.get(row["name"], [0] * SPARK_DAYS))
        out.append(FeedLine(health=health, title=one_line(row.get("title") or "", 120), spark=spark,
                            last_error=one_line(health.last_error, 300), last_error_at=stamp(health.last_error_at)))
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


def hit_item(hit: StoryHit) -> HitItem:
    return HitItem(story_id=hit.id, feed=one_line(hit.feed, 80), title=marked(hit.title, hit.matches, "title"),
                   summary=marked(hit.summary, hit.matches, "summary", SUMMARY_CHARS), url=safe_url(hit.url),
                   when=stamp(hit.published or hit.fetched), terms=tuple(one_line(t, 80) for t in hit.terms),
                   also=tuple(one_line(o, 80) for o in hit.outlets), watchlist=hit.watchlist)


@dataclass(frozen=True)
class SearchPage:
    result: SearchResult
    hits: tuple[HitItem, ...]
    seconds: float


def search_page(store: Store, *, query: str, days: float | None, source: str | None, limit: int,
                now: float, budget: Budget | None = None) -> SearchPage:
    started = time.monotonic()
    if budget is not None:
        budget.started = started  # the budget counts the work, not the wait for a reader
    result = search_stories(store, query, days=days, source=source, limit=limit, now=now, budget=budget)
    return SearchPage(result=result, hits=tuple(hit_item(h) for h in result.hits),
                      seconds=time.monotonic() - started)


@dataclass(frozen=True)
class TryPage:
    report: TryReport
    hits: tuple[HitItem, ...]
    dropped: tuple[tuple[HitItem, str, tuple[str, ...]], ...]  # (story, rule, terms)
    per_day: charts.BarChart
    seconds: float


def try_page(store: Store, text: str, *, file: str, days: float, now: float, limit: int,
             budget: Budget | None = None) -> TryPage:
    started = time.monotonic()
    if budget is not None:
        budget.started = started
    report = try_watchlist(store, text, file=file, days=days, now=now, limit=limit, budget=budget)
    dropped = tuple((hit_item(_with_stops(d.story, d.stopped_by)), d.rule, d.terms) for d in report.dropped)
    per_day = charts.bars([n for _, n in report.per_day], [d for d, _ in report.per_day], width=420, height=50)
    return TryPage(report=report, hits=tuple(hit_item(h) for h in report.hits), dropped=dropped,
                   per_day=per_day, seconds=time.monotonic() - started)


def _with_stops(story: StoryHit, stops: Sequence[Match]) -> StoryHit:
    """A dropped story with the exclude term's spans marked too."""
    return replace(story, matches=(*story.matches, *stops))


def file_label(path: str) -> str:
    return Path(path).name if path else ""
