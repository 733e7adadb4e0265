"""The desk's view of the store: try a watchlist before saving it, search what was seen.

No I/O but the store's reads; nothing is written or sent. `raqib try`, `raqib search`
and the web page all call these two functions and show what they return.

try_watchlist(store, text, file=, days=, now=, limit=) -> TryReport
    The watchlist file's text is read and compiled exactly as `raqib check` and the
    daemon read a file (`monitor.watchlists.read_watchlist_text`: one watchlist or a
    list; a broken file gives the same `file:line: message` problems, in
    `TryReport.problems`, and nothing else). Raqib's Matcher then reads every story
    fetched in the last `days`, oldest first, as the pipeline did when it stored them:

    - one cluster is one alert: a watchlist's alert is the first member of a cluster
      that fires it; the cluster's other outlets come with it (`StoryHit.outlets`). A
      cluster one of whose members stored before the window fires the watchlist was
      alerted on then, and is not reported;
    - a story whose terms match but that an `exclude` term or a missing `require` stops
      is reported once per cluster and watchlist as `Dropped`, naming the rule (and the
      exclude term, with where it matched), unless another member of the cluster fired;
    - alerts per day (UTC days unless `tz` is given), the terms that fired most (in how
      many alerts each term matched), the terms and require terms that fired in none.

    `when: spread` watchlists are tried as if `when: first` (what they would match, not
    when they would be sent). Unless a term is a regex, the store's search index picks
    the stories a term may match (as for a search, it can only narrow) and the Matcher
    reads those alone; a regex term makes it read every story of the window. At most
    `limit` hits and `limit` dropped stories are kept (the newest; the counts cover
    them all).

search_stories(store, query, days=, source=, limit=, now=) -> SearchResult
    Stored stories that match a query, newest first (by the order they were stored),
    with the matched spans. A query is written like a watchlist term:

        بوتين              a word: with proclitics and the article (لبوتين, والبوتين), never
                           inside another word (البروتين, عبوتين)
        بافيل دوروف         a phrase: the words in order
        "أمل"               in double quotes: exact (أمل, never الأمل or وأمل)
        ~تيليغرام           a tilde in front: variant spellings too (تلغرام, تليجرام)
        بوتين | زيلينسكي     several terms, any of them
        بوتين + سوريا        both, anywhere in the story (`&` reads as `+`)
        بوتين -سوريا         the first without the second (-"كرة القدم" for a phrase)

    At most 10 terms in all. `+` binds tighter than `|`: `A + B | C` is (A and B) or C.
    `SearchResult.reading` says how the query was read, in words.

    A query is at most 500 characters. The store narrows the candidates with its search
    index (SQLite FTS5; `Store.desk.search_candidates`, which can only narrow), and the
    Matcher decides, so search and alerts never disagree. A query the index cannot
    narrow (letters outside Arabic and Latin) is answered by reading the
    newest stories of the window. Either way at most `SCAN_LIMIT` stories are read:
    `SearchResult.complete` is then False when older stories were left unread.

The records (frozen dataclasses; times are Unix seconds):

    StoryHit  id, cluster, feed (the outlet), title, summary, url, published (or None),
              fetched, watchlist ("" in a search), matches (models.Match: watchlist
              ("search" in a search), term, field "title"|"summary", start, end: offsets
              into the original title or summary, the term's own letters without the
              proclitics in front),
              terms (the distinct terms that matched, in order of appearance), outlets
              (the other feeds of the cluster, first first, each once; the story's own
              feed left out).
    Dropped   story (a StoryHit: what its terms matched), rule ("exclude" | "require"),
              terms (the exclude terms that matched; for "require", the watchlist's
              require terms, none of which did), stopped_by (Match spans of the exclude
              terms).
    TryReport file, watchlists (names), since, until, days, problems (ConfigErrors;
              empty when the file is good), hits (newest first), dropped (newest first),
              per_day ((YYYY-MM-DD, alerts) for every day of the window, oldest first),
              top_terms ((watchlist, term, alerts) most first), never_fired ((watchlist,
              term) in file order), scanned (stories in the window), alerts (all hits,
              even past `limit`), dropped_count, read (stories the Matcher read),
              narrowed (the search index chose them: no regex term).
    SearchResult query, terms (the parsed terms, as models.Term), hits (newest first),
              scanned (stories the Matcher read), narrowed (the index was used),
              complete (False when the limit or the scan bound stopped it early),
              since (None for every stored day), source.

Budgets: both take a `Budget` (the web view always gives one; the command line none):
a deadline in seconds, the stories the Matcher may read, and (try) the terms it may
compile, and a `cancelled` event the caller sets when its client has gone. The budget
is checked at every story read; when it stops the work, the answer carries what was
found so far and says why (`stopped`: "time", "stories", "terms" or "cancelled"; a
search is then not `complete`). A search reads at most `SCAN_LIMIT` stories (or the
budget's), narrowed by the index or not.

Both functions raise ConfigError for input they refuse (a query, `days` out of range):
its message names what was wrong.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .errors import ConfigError
from .match import Matcher
from .models import Match, Term, Watchlist
from .query import MAX_QUERY, Clause, describe_query, parse_clauses, parse_query, query_words
from .store import ClusterMember, DeskStory, SearchWord, Store
from .watchlists import read_watchlist_text

DAY = 86400.0
#: a stories row as the store reads it: id, cluster, feed, title, summary, url, published, fetched[, body]
Row = tuple[Any, ...]
SCAN_LIMIT = 50_000  # stories a search reads when the index cannot narrow it
CANDIDATE_BATCH = 400
TRY_BATCH = 5000
MAX_DAYS = 3650.0
_SEARCH = "search"


@dataclass
class Budget:
    """What a try or a search may cost (see the module); `started` when the work begins."""

    seconds: float = 10.0
    stories: int = SCAN_LIMIT
    terms: int = 200
    cancelled: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    def stop(self, read: int) -> str:
        """Why the work must stop now, after `read` stories ("" to go on)."""
        if self.cancelled.is_set():
            return "cancelled"
        if read >= self.stories:
            return "stories"
        if time.monotonic() - self.started >= self.seconds:
            return "time"
        return ""


def _unbounded() -> Budget:
    return Budget(seconds=float("inf"), stories=SCAN_LIMIT, terms=10**9)


@dataclass(frozen=True)
class StoryHit:
    """A stored story and what matched in it (see the module for every field)."""

    id: int
    cluster: int
    feed: str
    title: str
    summary: str
    url: str
    published: float | None
    fetched: float
    watchlist: str = ""
    matches: tuple[Match, ...] = ()
    terms: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    body: str = ""  # the article's text when it was read (not in the JSON output: it is long)


def _without_bodies(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for h in hits:
        h.get("story", h).pop("body", None)
    return hits


@dataclass(frozen=True)
class Dropped:
    """A story a watchlist's terms matched but a rule stopped."""

    story: StoryHit
    rule: str  # "exclude" | "require"
    terms: tuple[str, ...]
    stopped_by: tuple[Match, ...] = ()


@dataclass(frozen=True)
class TryReport:
    """What a watchlist would have alerted on among the stored stories (see the module)."""

    file: str
    watchlists: tuple[str, ...]
    since: float
    until: float
    days: float
    problems: tuple[ConfigError, ...] = ()
    hits: tuple[StoryHit, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    per_day: tuple[tuple[str, int], ...] = ()
    top_terms: tuple[tuple[str, str, int], ...] = ()
    never_fired: tuple[tuple[str, str], ...] = ()
    scanned: int = 0
    alerts: int = 0
    dropped_count: int = 0
    read: int = 0
    narrowed: bool = False
    stopped: str = ""  # why the budget stopped it early ("" when it read the whole window)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (`raqib try --json`): the fields above, problems
        as {file, line, message, text}."""
        out = asdict(replace(self, problems=()))
        _without_bodies(out["hits"])
        _without_bodies(out["dropped"])
        out["problems"] = [{"file": p.file, "line": p.line, "message": p.message, "text": str(p)}
                           for p in self.problems]
        _body_only_paragraphs(out)
        return out


@dataclass(frozen=True)
class SearchResult:
    """The stored stories a query matches, newest first (see the module)."""

    query: str
    terms: tuple[Term, ...]
    hits: tuple[StoryHit, ...] = ()
    scanned: int = 0
    narrowed: bool = False
    complete: bool = True
    since: float | None = None
    source: str | None = None
    reading: str = ""  # how the query was read, in words (`describe_query`)
    stopped: str = ""  # why the budget stopped it early, if it did

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (`raqib search --json`)."""
        out = asdict(self)
        _without_bodies(out["hits"])
        return _body_only_paragraphs(out)


def _body_only_paragraphs(out: dict[str, Any]) -> dict[str, Any]:
    """A match's `paragraph` only where it says something (in the body), as `raqib match` prints it."""
    for hit in out.get("hits", ()):
        for m in hit.get("matches", ()):
            if m.get("field") != "body":
                m.pop("paragraph", None)
    return out


# -- try ------------------------------------------------------------------------------------

def try_watchlist(store: Store, text: str, *, file: str = "<try>", days: float = 3.0, now: float | None = None,
                  limit: int = 500, tz: tzinfo | None = None, budget: Budget | None = None) -> TryReport:
    """What the watchlist file `text` would have alerted on in the last `days` (see the module)."""
    budget = budget or _unbounded()
    now = time.time() if now is None else now
    days = _days(days)
    since = now - days * DAY
    watchlists, problems = read_watchlist_text(text, file)
    if problems:
        return TryReport(file, (), since, now, days, problems=tuple(problems))
    compiled = sum(len(wl.terms) + len(wl.require) + len(wl.exclude) for wl in watchlists)
    if compiled > budget.terms:
        return TryReport(file, tuple(wl.name for wl in watchlists), since, now, days, stopped="terms")
    matcher = Matcher(watchlists)
    by_name = {wl.name: wl for wl in watchlists}
    fired: dict[tuple[str, int], StoryHit] = {}  # (watchlist, cluster) -> the alert
    dropped: dict[tuple[str, int], Dropped] = {}
    explain = matcher.explain
    words = query_words([t for wl in watchlists for t in wl.terms])
    candidates = None if words is None else _window_candidates(store, words, since, now, budget.stories)
    narrowed = candidates is not None
    rows: Iterable[Row] = store.desk.window_stories(since, now) if candidates is None else candidates
    read = 0
    stopped = "stories" if candidates is not None and len(candidates) >= budget.stories else ""
    for row in rows:
        why = budget.stop(read)
        if why:
            stopped = why
            break
        read += 1
        verdicts = explain(*_fields(row))
        if not verdicts:
            continue
        cluster = row[1]
        for v in verdicts:
            key = (v.watchlist, cluster)
            if key in fired:
                continue
            story = _hit(row, v.watchlist, v.matches)
            if v.fired:
                fired[key] = story
                dropped.pop(key, None)
            elif key not in dropped:
                wl = by_name[v.watchlist]
                if v.rule == "exclude":
                    terms = tuple(dict.fromkeys(m.term for m in v.stopped_by))
                else:
                    terms = tuple(t.text for t in wl.require)
                dropped[key] = Dropped(story, v.rule, terms, v.stopped_by)
    # A cluster that began before the window was alerted on then, if a member of that
    # time fired: it is not this window's alert (nor its drop).
    first = store.desk.first_id_since(since)
    older = {cluster for _, cluster in (*fired, *dropped) if cluster < first}
    if older:
        for row in store.desk.earlier_members(sorted(older), first):
            for v in explain(*_fields(row)):
                if v.fired:
                    fired.pop((v.watchlist, row[1]), None)
                    dropped.pop((v.watchlist, row[1]), None)
    hits = sorted(fired.values(), key=lambda h: h.id, reverse=True)
    drops = sorted(dropped.values(), key=lambda d: d.story.id, reverse=True)
    kept = hits[:max(0, limit)]
    kept_drops = drops[:max(0, limit)]
    members = store.desk.cluster_members([h.cluster for h in kept] + [d.story.cluster for d in kept_drops])
    kept = [_with_outlets(h, members) for h in kept]
    kept_drops = [Dropped(_with_outlets(d.story, members), d.rule, d.terms, d.stopped_by) for d in kept_drops]
    return TryReport(
        file=file, watchlists=tuple(wl.name for wl in watchlists), since=since, until=now, days=days,
        hits=tuple(kept), dropped=tuple(kept_drops), per_day=_per_day(hits, since, now, tz),
        top_terms=_top_terms(hits), never_fired=_never_fired(watchlists, hits),
        scanned=store.desk.count_window(since, now) if narrowed else read, read=read, narrowed=narrowed,
        alerts=len(hits), dropped_count=len(drops), stopped=stopped)


def _window_candidates(store: Store, words: list[list[SearchWord]], since: float, until: float,
                       most: int) -> list[Row] | None:
    """The stories of [since, until) the index says a term may match, oldest first (the
    newest `most` of them); None when the store cannot narrow."""
    out: list[Row] = []
    before: int | None = None
    while True:
        batch = store.desk.search_candidates(words, since=since, limit=min(TRY_BATCH, most - len(out)), before=before)
        if batch is None:
            return None
        out.extend(_row(r) for r in batch if r.fetched < until)
        if len(batch) < TRY_BATCH or len(out) >= most:
            break
        before = batch[-1].id
    out.reverse()
    return out


def _days(days: float) -> float:
    if not days > 0 or days > MAX_DAYS:  # also refuses NaN
        raise ConfigError(f"days: expected a number of days above 0 and at most {MAX_DAYS:g}, got {days!r}")
    return float(days)


def _hit(row: Row, watchlist: str, matches: Sequence[Match]) -> StoryHit:
    return StoryHit(id=row[0], cluster=row[1], feed=row[2], title=row[3], summary=row[4], url=row[5],
                    published=row[6], fetched=row[7], watchlist=watchlist, matches=tuple(matches),
                    terms=tuple(dict.fromkeys(m.term for m in matches)), body=_body(row))


def _body(row: Row) -> str:
    return (row[8] or "") if len(row) > 8 else ""


def _fields(row: Row) -> tuple[str, ...]:
    """What a stored story is matched on: title, summary and, once read, its article text."""
    body = _body(row)
    return (row[3], row[4], body) if body else (row[3], row[4])


def _with_outlets(hit: StoryHit, members: Mapping[int, Sequence[ClusterMember]]) -> StoryHit:
    feeds = dict.fromkeys(m.feed for m in members.get(hit.cluster, ()))
    feeds.pop(hit.feed, None)
    return StoryHit(**{**hit.__dict__, "outlets": tuple(feeds)})


def _per_day(hits: Iterable[StoryHit], since: float, until: float, tz: tzinfo | None) -> tuple[tuple[str, int], ...]:
    zone = tz or UTC
    counts = Counter(datetime.fromtimestamp(h.fetched, zone).date() for h in hits)
    day = datetime.fromtimestamp(since, zone).date()
    last = datetime.fromtimestamp(until, zone).date()
    out = []
    while day <= last:
        out.append((day.isoformat(), counts.get(day, 0)))
        day += timedelta(days=1)
    return tuple(out)


def _top_terms(hits: Iterable[StoryHit]) -> tuple[tuple[str, str, int], ...]:
    counts = Counter((h.watchlist, term) for h in hits for term in h.terms)
    return tuple((wl, term, n) for (wl, term), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _never_fired(watchlists: Sequence[Watchlist], hits: Iterable[StoryHit]) -> tuple[tuple[str, str], ...]:
    seen = {(h.watchlist, term) for h in hits for term in h.terms}
    return tuple((wl.name, t.text) for wl in watchlists for t in (*wl.terms, *wl.require)
                 if (wl.name, t.text) not in seen)


# -- search ---------------------------------------------------------------------------------

def search_stories(store: Store, query: str, *, days: float | None = None, source: str | None = None,
                   limit: int = 100, now: float | None = None, budget: Budget | None = None) -> SearchResult:
    """The stored stories `query` matches, newest first (see the module)."""
    clauses = parse_clauses(query)
    budget = budget or _unbounded()
    terms = parse_query(query)
    now = time.time() if now is None else now
    since = None if days is None else now - _days(days) * DAY
    limit = max(1, min(int(limit), 1000))
    every = list(dict.fromkeys(t for c in clauses for t in (*c.all, *c.none)))
    # one watchlist a term, so a story's matches say which terms it holds
    matcher = Matcher([Watchlist(name=f"{_SEARCH}:{i}", title=_SEARCH, terms=(t,)) for i, t in enumerate(every)])
    index = {t: f"{_SEARCH}:{i}" for i, t in enumerate(every)}
    # the index narrows on one wanted term of each clause: a story holding all of them holds it
    words = query_words([c.all[0] for c in clauses])
    found: list[StoryHit] = []
    scanned = 0
    before: int | None = None
    narrowed = False
    complete = True
    stopped = ""
    read_limit = min(SCAN_LIMIT, budget.stories)
    while True:
        if scanned >= read_limit:  # narrowed or not: a short word's candidates can be most of the store
            complete, stopped = False, "stories"
            break
        batch = None
        # the first page about as large as the answer (the index picks few the matcher
        # refuses), the next ones larger
        size = min(CANDIDATE_BATCH, limit + 20) if before is None else CANDIDATE_BATCH
        if words is not None:
            batch = store.desk.search_candidates(words, since=since, source=source, limit=size, before=before)
            narrowed = batch is not None
        if batch is None:
            size = min(CANDIDATE_BATCH * 5, read_limit - scanned)
            batch = store.desk.recent_stories(since=since, source=source, before=before, limit=size)
        for row in batch:
            stopped = budget.stop(scanned)
            if stopped:
                break
            scanned += 1
            matches = _clause_matches(clauses, index, matcher.match(*_fields(_row(row))))
            if matches:
                found.append(_hit(_row(row), "", matches))
                if len(found) > limit:
                    break
        if len(found) > limit:
            complete = False
            found = found[:limit]
            break
        if stopped:
            complete = False
            break
        if len(batch) < size:
            break
        before = batch[-1].id
    members = store.desk.cluster_members([h.cluster for h in found])
    return SearchResult(query=query, terms=terms, hits=tuple(_with_outlets(h, members) for h in found),
                        scanned=scanned, narrowed=narrowed, complete=complete, since=since, source=source,
                        reading=describe_query(clauses), stopped=stopped)


def _clause_matches(clauses: Sequence[Clause], index: dict[Term, str], matches: Sequence[Match]) -> list[Match]:
    """The spans of the wanted terms of every clause the story satisfies (none: no hit),
    each named `search` as before."""
    held = {m.watchlist for m in matches}
    out: list[Match] = []
    for c in clauses:
        if all(index[t] in held for t in c.all) and not any(index[t] in held for t in c.none):
            names = {index[t] for t in c.all}
            out += [replace(m, watchlist=_SEARCH) for m in matches if m.watchlist in names]
    return sorted(set(out), key=lambda m: (m.field, m.start, m.end, m.term))


def _row(row: DeskStory) -> Row:
    return (row.id, row.cluster, row.feed, row.title, row.summary, row.url, row.published, row.fetched,
            row.body or "")


__all__ = ["MAX_QUERY", "Budget", "Clause", "Dropped", "SearchResult", "StoryHit", "TryReport", "describe_query",
           "parse_clauses", "parse_query", "query_words", "search_stories", "try_watchlist"]
