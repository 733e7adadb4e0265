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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

DISABLED, UNHEALTHY, FAILING, NEW, OK = "disabled", "unhealthy", "failing", "new", "ok"


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


def feed_health(f: dict) -> FeedHealth:
    """One row of the feeds table (a dict as `Store.feeds()` returns) in words."""
    if not f["enabled"]:
        status, mark = DISABLED, "✗"
        state = "DISABLED" + (f" ({f['disabled_reason']})" if f["disabled_reason"] else "")
    elif not f["healthy"]:
        status, mark, state = UNHEALTHY, "!!", "UNHEALTHY"
    elif f["failures"]:
        status, mark, state = FAILING, "!", "failing"
    elif not f["last_success"]:
        status, mark, state = NEW, "", "new"
    else:
        status, mark, state = OK, "", "ok"
    bad = (f.get("bad_items") or 0) if f["enabled"] else 0
    if bad:
        state += f", {bad} bad item{'s' if bad > 1 else ''}"
    deferred = (f.get("items_deferred") or 0) if f["enabled"] else 0
    if deferred:
        state += f", {deferred} item{'s' if deferred > 1 else ''} waiting"
    return FeedHealth(
        name=f["name"], status=status, mark=mark, state=state, disabled_reason=f["disabled_reason"] or "",
        bad_items=bad, deferred=deferred, last_success=f["last_success"], failures=f["failures"], items=f["items_seen"],
        every_minutes=f["avg_interval"] / 60 if f["avg_interval"] else None,
        last_error=f["last_error"] or f.get("bad_item_error") or "",
        last_error_at=f.get("last_error_at") if f["last_error"] else None)


def ago(ts: float, now: float) -> str:
    if not ts:
        return "never"
    seconds = now - ts
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def format_feeds_table(feeds: Sequence[dict], now: float) -> str:
    """One line per feed; unhealthy, failing or disabled feeds are marked so they stand out,
    and a feed being polled right now by one of several nodes says which."""
    header = ("", "feed", "state", "last success", "failures", "items", "every", "last error")
    rows = [header]
    for f in feeds:
        h = feed_health(f)
        every = f"{h.every_minutes:.0f} min" if h.every_minutes else "-"
        state = h.state
        if f.get("leased_by") and (f.get("leased_until") or 0) > now:  # PostgreSQL: the node polling it
            state += f", polling on {f['leased_by']}"
        rows.append((h.mark, h.name, state, ago(h.last_success or 0, now), str(h.failures), str(h.items),
                     every, h.last_error[:70]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
