"""A feed's health in words: what `raqib feeds` prints and the web view's Feeds page shows.

Rules (one reading for both):
- A disabled feed is DISABLED (with its reason); an enabled one is UNHEALTHY when the
  poller marked it so, failing while its last polls failed, new before its first
  success, else ok. Items its last parse could not read are added ("ok, 1 bad item"),
  and new items its last poll left for the next ones (`poll.max_new_items`: "ok, 25500
  items waiting").
- Marks make trouble stand out in a column: ✗ disabled, !! unhealthy, ! failing.
- "every" is the feed's usual interval between new items, in minutes, once known.
- The last error is the poll's own message, else why items were left out.
- Full text (`pages`), over the stories of the last `PAGES_DAYS` days whose article page
  was asked for: the share read, the median length of what was read, and the newest
  reason a page gave no text ("pages 92%, 2,340 chars; last: no article text on the
  page"); "-" when none was asked for (the feed carries its articles, or `fulltext:
  never`). A feed whose pages all gave no text lately is flagged ("no text!").
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.store import FeedRow, FulltextHealth

DISABLED, UNHEALTHY, FAILING, NEW, OK = "disabled", "unhealthy", "failing", "new", "ok"
PAGES_DAYS = 7


@dataclass(frozen=True)
class FeedHealth:
    name: str
    status: str  # DISABLED | UNHEALTHY | FAILING | NEW | OK
    mark: str
    state: str  # the status in words, as `raqib feeds` prints it
    disabled_reason: str
    bad_items: int
    deferred: int  # new items left for the next polls
    last_success: float | None
    failures: int
    items: int
    every_minutes: float | None
    last_error: str
    last_error_at: float | None
    pages: str = "-"  # full text in words (see the module docstring)
    pages_rate: float | None = None  # the share of pages read
    pages_chars: int | None = None  # the median length of what was read
    pages_problem: str = ""  # the newest reason a page gave no text


def pages_in_words(stats: FulltextHealth | None, flagged: bool = False) -> str:
    """A feed's full-text figures (`Store.articles.fulltext_health`, one feed's entry) in words."""
    if not stats or not stats.tried:
        return "-"
    out = f"pages {(stats.rate or 0.0) * 100:.0f}%"
    if stats.median_chars:
        out += f", {stats.median_chars:,} chars"
    if stats.problem:
        out += f"; last: {stats.problem}"
    return ("no text! " if flagged else "") + out


def feed_health(f: FeedRow, pages: FulltextHealth | None = None) -> FeedHealth:
    """One row of the feeds table (as `Store.feeds.all()` returns it, with its full-text
    figures when read) in words."""
    if not f.enabled:
        status, mark = DISABLED, "✗"
        state = "DISABLED" + (f" ({f.disabled_reason})" if f.disabled_reason else "")
    elif not f.healthy:
        status, mark, state = UNHEALTHY, "!!", "UNHEALTHY"
    elif f.failures:
        status, mark, state = FAILING, "!", "failing"
    elif not f.last_success:
        status, mark, state = NEW, "", "new"
    else:
        status, mark, state = OK, "", "ok"
    bad = (f.bad_items or 0) if f.enabled else 0
    if bad:
        state += f", {bad} bad item{'s' if bad > 1 else ''}"
    deferred = (f.items_deferred or 0) if f.enabled else 0
    if deferred:
        state += f", {deferred} item{'s' if deferred > 1 else ''} waiting"
    return FeedHealth(
        name=f.name, status=status, mark=mark, state=state, disabled_reason=f.disabled_reason or "",
        bad_items=bad, deferred=deferred, last_success=f.last_success, failures=f.failures, items=f.items_seen,
        every_minutes=f.avg_interval / 60 if f.avg_interval else None,
        last_error=cause(f.name, f.last_error or f.bad_item_error or ""),
        last_error_at=f.last_error_at if f.last_error else None,
        pages=pages_in_words(pages, bool(f.fulltext_flagged)),
        pages_rate=pages.rate if pages else None, pages_chars=pages.median_chars if pages else None,
        pages_problem=(pages.problem if pages else None) or "")


def cause(name: str, error: str) -> str:
    """A feed's last error as its cause in words: without the feed's name and URL, which
    errors stored by earlier versions repeated before it ("feed NAME <URL>: ...")."""
    prefix = f"feed {name} <"
    if error.startswith(prefix) and ">: " in error:
        return error.split(">: ", 1)[1]
    return error


def ago(ts: float, now: float) -> str:
    if not ts:
        return "never"
    seconds = max(0.0, now - ts)  # a time written just after `now`, or by a clock ahead of ours
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


FeedPages = tuple[FeedRow, FulltextHealth | None]  # a feed row and its full-text figures


def with_pages(feeds: Sequence[FeedRow], stats: dict[str, FulltextHealth]) -> list[FeedPages]:
    """The feed rows with their full-text figures (`Store.articles.fulltext_health`)."""
    return [(f, stats.get(f.name)) for f in feeds]


def format_feeds_table(feeds: Sequence[FeedPages], now: float) -> str:
    """One line per feed; unhealthy, failing or disabled feeds are marked so they stand out,
    and a feed being polled right now by one of several nodes says which."""
    header = ("", "feed", "state", "last success", "failures", "items", "every", "full text", "last error")
    rows = [header]
    for f, pages in feeds:
        h = feed_health(f, pages)
        every = f"{h.every_minutes:.0f} min" if h.every_minutes else "-"
        state = h.state
        if f.leased_by and (f.leased_until or 0) > now:  # PostgreSQL: the node polling it
            state += f", polling on {f.leased_by}"
        rows.append((h.mark, h.name, state, ago(h.last_success or 0, now), str(h.failures), str(h.items),
                     every, h.pages[:70], h.last_error[:70]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
