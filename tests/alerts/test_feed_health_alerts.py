"""Feed-health alerts (`alerts.health`): each channel names its admins, and the admins of
every channel get one row per change, titled in both languages, the reason on one line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.channel import build_channels
from alerts.health import FeedHealthAlerts
from alerts.render import FEED_HEALTH, PAGES_WITHOUT_TEXT
from monitor.config import Section
from monitor.display import REASON_MAX
from monitor.store import Store

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
NOW = 1_700_000_000.0

CASES = [
    ({"console": {}}, [("console", "-")]),
    ({"telegram": {"token": TOKEN, "admins": [222, "111"]}}, [("telegram", "111"), ("telegram", "222")]),
    ({"telegram": {"token": TOKEN, "admins": 333}}, [("telegram", "333")]),  # one chat, not a list
    ({"telegram": {"token": TOKEN}}, []),  # no admins: nobody is told
    ({"email": {"host": "127.0.0.1", "from": "raqib@example.org"}}, []),
    ({"webhook": {"endpoints": {"ops": "https://hooks.example.org/x"}}}, []),
    ({"console": {}, "telegram": {"token": TOKEN, "admins": [5]}}, [("console", "-"), ("telegram", "5")]),
]


def _channels(sections: dict, store: Store | None = None):
    return build_channels({name: Section(values, "<test>") for name, values in sections.items()}, store)


@pytest.mark.parametrize(("sections", "admins"), CASES)
def test_each_channel_names_its_admins(sections, admins):
    channels = _channels(sections)
    assert FeedHealthAlerts(Store(memory=True), channels).admins() == admins


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "raqib.db")
    s.feeds.add("bbc", "https://feeds.example.org/bbc.xml")
    yield s
    s.close()


def test_a_change_queues_one_row_per_admin_and_tells_the_daemon(store):
    queued: list[bool] = []
    alerts = FeedHealthAlerts(store, _channels(CASES[-1][0], store), clock=lambda: NOW, on_queued=queued.append)
    alerts("bbc", False, "HTTP 500\u202e Internal\nServer Error " + "x" * 500)
    rows = store.outbox.due(NOW + 1)
    assert [(r.channel, r.destination, r.kind, r.watchlist) for r in rows] == [
        ("console", "-", "health", "feed:bbc:down"), ("telegram", "5", "health", "feed:bbc:down")]
    payload = json.loads(rows[0].payload)
    assert payload["title"].startswith(FEED_HEALTH[False].split("{")[0]) and "bbc" in payload["title"]
    assert "\n" not in payload["summary"] and "\u202e" not in payload["summary"]
    assert len(payload["summary"]) <= REASON_MAX and payload["url"] == "https://feeds.example.org/bbc.xml"
    assert rows[0].cluster == rows[1].cluster < 0  # a cluster of their own
    alerts("bbc", True, "polled successfully again")
    up = [r for r in store.outbox.due(NOW + 1) if r.watchlist == "feed:bbc:up"]
    assert len(up) == 2 and "recovered" in json.loads(up[0].payload)["title"]
    assert queued == [False, True]


def test_pages_without_text_are_told_like_a_dead_feed(store):
    alerts = FeedHealthAlerts(store, _channels({"console": {}}, store), clock=lambda: NOW)
    alerts.pages_without_text("bbc", "no article text on the page")
    [row] = store.outbox.due(NOW + 1)
    summary = json.loads(row.payload)["summary"]
    assert summary == PAGES_WITHOUT_TEXT.format(reason="no article text on the page")
    assert row.watchlist == "feed:bbc:down"
