"""Feed-health alerts: the admins are told once when a feed turns unhealthy and once when
it recovers (the poller decides when, `monitor.poller`; the article queue flags a feed
whose pages give no text, `monitor.reading`).

Rules:
- Who is told: every channel's admins (`Channel.admin_destinations`: the console's one
  destination, Telegram's `admins` chats; a channel without admins tells nobody).
- What: one alert row per admin (`kind` health) titled in both languages
  (`alerts.render.FEED_HEALTH`), with the feed's URL and the reason as its summary. The
  reason may quote a server (an HTTP reason phrase, an error message): it is made one
  short line of visible text (`REASON_MAX`) before it goes anywhere.
- The rows of one change are written in one transaction, under a watchlist naming the
  feed and the direction (`feed:NAME:down`, `feed:NAME:up`) and a cluster of their own
  (negative, from the time), so they never fold into a story's alerts.
- `FeedHealthAlerts.__call__` is a store call (the daemon runs it on its store thread);
  `on_queued(healthy)` is called after the rows are written (metrics, waking delivery).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from monitor.display import REASON_MAX, one_line
from monitor.models import alert_payload
from monitor.store import Store

from .channel import Channel
from .render import FEED_HEALTH_HEADING, PAGES_WITHOUT_TEXT, feed_health_title

log = logging.getLogger(__name__)
KIND = "health"


class FeedHealthAlerts:
    def __init__(self, store: Store, channels: Mapping[str, Channel], *, clock: Callable[[], float] = time.time,
                 on_queued: Callable[[bool], None] | None = None) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.on_queued = on_queued

    def admins(self) -> list[tuple[str, str]]:
        """(channel, destination) of every admin, channel by channel."""
        return [(name, dest) for name, ch in self.channels.items() for dest in ch.admin_destinations()]

    def __call__(self, feed: str, healthy: bool, reason: str) -> None:
        """Queue the alert of a feed's health change for every admin."""
        now = self.clock()
        reason = one_line(reason, REASON_MAX)
        row = self.store.feeds.get(feed)
        payload = alert_payload(title=feed_health_title(feed, healthy, reason), url=row.url if row else "",
                                summary=reason, source=feed, published=None, watchlist_title=FEED_HEALTH_HEADING,
                                matches=())
        targets = self.admins()
        event = int(now * 1000)
        with self.store.transaction() as conn:
            for channel, dest in targets:
                self.store.outbox.enqueue(conn, channel=channel, destination=dest, kind=KIND,
                                   watchlist=f"feed:{feed}:{'up' if healthy else 'down'}", cluster=-event,
                                   story_id=0, payload=payload, now=now)
        log.info("feed health alert queued feed=%s healthy=%s admins=%d", feed, healthy, len(targets))
        if self.on_queued:
            self.on_queued(healthy)

    def pages_without_text(self, feed: str, reason: str) -> None:
        """A feed whose article pages give no text lately: told once, like a dead feed."""
        self(feed, False, PAGES_WITHOUT_TEXT.format(reason=reason))
