"""The console channel: one line per alert (time, watchlist, outlet, title, link), the
sentences around names found past the title under it, and a digest as its lines."""
from __future__ import annotations

import asyncio
import io

import pytest

from alerts.console import ConsoleChannel
from monitor.config import Section
from monitor.models import Alert

BASE = dict(id=1, channel="console", destination="-", watchlist="russia-ukraine", watchlist_title="روسيا وأوكرانيا",
            story_id=7, cluster=7, title="بوتين يزور كورسك", url="https://news.example/a/1?utm_source=x",
            summary="", source="agency-a", published="2026-12-07T10:00:00+00:00")
SNIPPET = {"term": "دوروف", "field": "body", "paragraph": 3, "text": "وقال دوروف إن القناة لن تغلق",
           "marks": [[5, 10]]}

CASES = [
    # (what the alert is, its fields, what its lines must show, what they must not)
    ("a story", {"kind": "story"}, ["2026-12-07 10:00", "russia-ukraine", "agency-a", "بوتين يزور كورسك",
                                    "https://news.example/a/1"], ["↳"]),
    ("a story found in its body", {"kind": "story", "snippets": (SNIPPET,)},
     ["بوتين يزور كورسك", "↳", "«دوروف»", "الفقرة 3"], []),
    ("a spread", {"kind": "spread", "sources": ("agency-a", "paper-b", "site-c")},
     ["[spread: 3 outlets: agency-a, paper-b, site-c]"], []),
    ("a related story", {"kind": "story", "event": 3}, ["[event: 3]"], []),
    ("a feed's health", {"kind": "health", "title": "feed bbc failing", "source": "bbc", "snippets": (SNIPPET,)},
     ["feed-health", "bbc", "feed bbc failing"], ["↳", "russia-ukraine"]),
    ("a title with control characters", {"kind": "story", "title": "بوتين\n\u202eيزور"}, ["بوتين"], ["\u202e"]),
]


def _lines(alert: Alert) -> str:
    out = io.StringIO()
    channel = ConsoleChannel(Section({}, "raqib.yaml"), stream=out)
    asyncio.run(channel.send(alert))
    return out.getvalue()


@pytest.mark.parametrize("what, fields, shown, hidden", CASES, ids=[c[0] for c in CASES])
def test_an_alert_on_the_console(what, fields, shown, hidden):
    text = _lines(Alert(**{**BASE, **fields}))
    assert text.endswith("\n") and "\n" not in text.split("\n", 1)[0]  # the alert's own line first
    for part in shown:
        assert part in text, f"{what}: {part!r} missing from {text!r}"
    for part in hidden:
        assert part not in text, f"{what}: {part!r} shown in {text!r}"


def test_a_digest_is_its_alerts_lines_under_a_head():
    out = io.StringIO()
    channel = ConsoleChannel(Section({}, "raqib.yaml"), stream=out)
    alerts = [Alert(**{**BASE, "kind": "story", "id": i, "story_id": i, "cluster": i, "title": f"خبر {i}"})
              for i in (1, 2)]
    asyncio.run(channel.send_digest("-", alerts))
    lines = out.getvalue().splitlines()
    assert lines[0] == "-- digest: 2 alerts --"
    assert any("خبر 1" in line for line in lines) and any("خبر 2" in line for line in lines)


def test_the_console_is_who_hears_of_feed_health():
    assert ConsoleChannel(Section({}, "raqib.yaml")).admin_destinations() == ("-",)


def test_a_digest_shows_each_story_s_names_in_their_sentences_too():
    """A burst of alerts becomes a digest; a name found only in a story's body is still
    shown in its sentence, under that story's line."""
    out = io.StringIO()
    channel = ConsoleChannel(Section({}, "raqib.yaml"), stream=out)
    alerts = [Alert(**{**BASE, "kind": "story", "id": 1, "story_id": 1, "cluster": 1, "title": "خبر 1",
                       "snippets": (SNIPPET,)}),
              Alert(**{**BASE, "kind": "story", "id": 2, "story_id": 2, "cluster": 2, "title": "خبر 2"})]
    asyncio.run(channel.send_digest("-", alerts))
    lines = out.getvalue().splitlines()
    first = next(n for n, line in enumerate(lines) if "خبر 1" in line)
    assert lines[first + 1].startswith("  ↳ ") and "«دوروف»" in lines[first + 1] and "الفقرة 3" in lines[first + 1]
    assert sum(line.startswith("  ↳ ") for line in lines) == 1
