"""The console channel: one line per alert on standard output, the zero-config default.

Format (stable, scripts read it): `TIME  WATCHLIST  SOURCE  TITLE  LINK`, separated by
two spaces, where TIME is the story's time (published, else first seen) as every channel
prints it (`YYYY-MM-DD HH:MM UTC`, `alerts.render.when`; a feed-health alert: when it is
printed), SOURCE the outlet as people know it (the feed's title, else its name) and
TITLE the story's title as the outlet wrote it. A spread alert adds
`[spread: N outlets]` before the link; a later story of an event already alerted
(another outlet's own words) adds `[event: ID]` before the link, ID being the event's
first story; a digest prints a header line and then one line per alert, in the one
digest order (`alerts.render.group_alerts`: by watchlist, then event, then cluster). Every field is
shown with `monitor.display.one_line` (the link with `display_url`): whitespace runs
and line breaks become one space, bidi overrides and control characters are removed, so
feed text can neither break the one-line format nor make a line display as something
else.

A story alert whose names are found past its title adds, under its line (in a digest
too), one line per sentence around a name (`monitor.snippet`): two spaces, `↳`, where it
was found («في المقدمة», «في نص الخبر، الفقرة 7»), a colon and the sentence, each name in
bold on a terminal and between «» otherwise. These lines start with a space, so a script
reading alert lines skips them by that.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, TextIO

from monitor.display import display_url, one_line, visible
from monitor.models import Alert

from .channel import Channel
from .render import bounded, group_alerts, marked, outlet, outlets, when, where

if TYPE_CHECKING:
    from monitor.config import Section
    from monitor.store import Store

DESTINATION = "-"  # the console's one destination: its stream


class ConsoleChannel(Channel):
    name: ClassVar[str] = "console"
    BOLD: ClassVar[tuple[str, str]] = ("\x1b[1m", "\x1b[0m")
    QUOTED: ClassVar[tuple[str, str]] = ("«", "»")

    def __init__(self, section: Section, store: Store | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream
        super().__init__(section, store)

    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def admin_destinations(self) -> tuple[str, ...]:
        """Whoever reads the console (its one destination) hears of feed health."""
        return (DESTINATION,)

    def line(self, alert: Alert) -> str:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        alert = bounded(alert)
        title = one_line(alert.title)
        parts = [when(alert) or now, one_line(alert.watchlist), one_line(outlet(alert)), title]
        if alert.kind == "spread":
            named = ", ".join(one_line(s) for s in outlets(alert, alert.sources))
            parts.append(f"[spread: {len(alert.sources)} outlets: {named}]")
        elif alert.kind == "health":
            parts = [now, "feed-health", one_line(alert.source), title]
        if alert.event is not None and alert.event != alert.cluster and alert.kind == "story":
            parts.append(f"[event: {alert.event}]")
        parts.append(display_url(alert.url))
        return "  ".join(p for p in parts if p)

    def block(self, alert: Alert, terminal: bool) -> str:
        """The alert's line and, under it, its names' sentences; one newline at the end."""
        return "\n".join([self.line(alert), *self.snippet_lines(alert, terminal)]) + "\n"

    def snippet_lines(self, alert: Alert, terminal: bool = False) -> list[str]:
        """The sentences around the names found past the title (module rules)."""
        if alert.kind == "health":
            return []
        open_, close = self.BOLD if terminal else self.QUOTED
        seen: set[str] = set()
        out = []
        for sn in alert.snippets:
            if sn["field"] == "title":
                continue
            text = marked(sn, open_=open_, close=close, escape=visible)
            if text in seen:
                continue
            seen.add(text)
            out.append(f"  ↳ {where(sn['field'], sn['paragraph'])}: {text}")
        return out

    def _terminal(self) -> bool:
        try:
            return self._out().isatty()
        except (AttributeError, ValueError):
            return False

    async def send(self, alert: Alert) -> str | None:
        out = self._out()
        out.write(self.block(alert, self._terminal()))
        out.flush()
        return None

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        out = self._out()
        terminal = self._terminal()
        out.write(f"-- digest: {len(alerts)} alerts --\n")
        for _watchlist, events in group_alerts(alerts):
            for clusters in events:
                for members in clusters:
                    for alert in members:
                        out.write(self.block(alert, terminal))
        out.flush()
        return None
