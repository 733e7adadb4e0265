"""The console channel: one line per alert on standard output, the zero-config default.

Format (stable, scripts read it): `TIME  WATCHLIST  SOURCE  TITLE  LINK`, separated by
two spaces, where TITLE is the story's title as the outlet wrote it. A spread alert adds
`[spread: N outlets]` before the link; a digest prints a header line and then one line
per alert.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import ClassVar, Sequence, TextIO

from monitor.models import Alert

from .channel import Channel


class ConsoleChannel(Channel):
    name: ClassVar[str] = "console"

    def __init__(self, section, store=None, stream: TextIO | None = None) -> None:
        super().__init__(section, store)
        self.stream = stream

    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def line(self, alert: Alert) -> str:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        title = " ".join(alert.title.split())
        parts = [now, alert.watchlist, alert.source, title]
        if alert.kind == "spread":
            parts.append(f"[spread: {len(alert.sources)} outlets: {', '.join(alert.sources)}]")
        elif alert.kind == "health":
            parts = [now, "feed-health", alert.source, title]
        parts.append(alert.url)
        return "  ".join(p for p in parts if p)

    async def send(self, alert: Alert) -> str | None:
        out = self._out()
        out.write(self.line(alert) + "\n")
        out.flush()
        return None

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        out = self._out()
        out.write(f"-- digest: {len(alerts)} alerts --\n")
        for alert in alerts:
            out.write(self.line(alert) + "\n")
        out.flush()
        return None
