"""Stored stories as `raqib try` and `raqib search` print them for people: the story's own
time, its feed, its title with the matched words marked, the part of its summary around
the first match, and its link."""
from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from alerts.render import highlight
from monitor.desk import StoryHit
from monitor.display import ELLIPSIS, display_url, one_line, visible
from monitor.models import Match


def local_zone() -> tzinfo | None:
    return datetime.now().astimezone().tzinfo


class Marks:
    """How matched words stand out: bold colour on a terminal, «…» in a file or a pipe."""

    def __init__(self, open_: str, close: str) -> None:
        self.open, self.close = open_, close

    @classmethod
    def for_stream(cls, stream: TextIO) -> Marks:
        tty = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("NO_COLOR") is None
        return cls("\x1b[1;33m", "\x1b[0m") if tty else cls("«", "»")


def local_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def _shown(text: str, matches: Sequence[Match], field: str, marks: Marks, width: int = 0) -> str:
    """A title or summary on one line with its matched spans marked; with `width`, only
    the part around the first match (feed text: invisible and control characters dropped)."""
    spans = [m for m in matches if m.field == field]
    prefix = suffix = ""
    if width and len(text) > width:
        first = min((m.start for m in spans), default=0)
        start = max(0, first - width // 3)
        end = min(len(text), start + width)
        prefix, suffix = (ELLIPSIS if start else ""), (ELLIPSIS if end < len(text) else "")
        spans = [Match(m.watchlist, m.term, m.field, m.start - start, m.end - start) for m in spans
                 if m.start >= start and m.end <= end]
        text = text[start:end]
    marked = highlight(text, spans, field, open_=marks.open, close=marks.close, escape=visible)
    return prefix + " ".join(marked.split()) + suffix


def story_lines(hit: StoryHit, marks: Marks, note: str = "", matches: Sequence[Match] | None = None) -> list[str]:
    matches = hit.matches if matches is None else matches
    head = f"{local_time(hit.published or hit.fetched)}  {one_line(hit.feed, 60)}"  # its own time, as alerts show it
    if hit.outlets:
        head += f"  (also: {', '.join(one_line(o, 60) for o in hit.outlets)})"
    if note:
        head += f"  {note}"
    lines = [head, "  " + _shown(hit.title, matches, "title", marks)]
    if any(m.field == "summary" for m in matches):
        lines.append("  " + _shown(hit.summary, matches, "summary", marks, width=160))
    if hit.url:
        lines.append("  " + display_url(hit.url))
    return lines
