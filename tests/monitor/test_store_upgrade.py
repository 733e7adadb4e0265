"""A database written by release 0.1 upgrades in place and keeps everything people chose.

tests/data/release-0.1.db was made by scripts/build_release_db.py with the code of that
release (its docstring says how and what is in it). A copy is opened with today's Store:
its migrations run, and the outbox (a row in every state, two held ones), subscriptions,
destination settings and personal terms are all there; the rows 0.1 marked held with a
"held: " prefix in `last_error` are held rows now, with the reason alone. A read-only
look (`raqib outbox` while the old daemon still runs) shows the same before migrating.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.store import MIGRATIONS, OutboxState, Store
from tests.support import sql

RELEASE_DB = Path(__file__).parents[1] / "data" / "release-0.1.db"
NOW = 1_775_000_000.0  # the builder's clock

EXPECTED_OUTBOX = {  # watchlist, kind → state, held, last_error
    ("pending", "story"): (OutboxState.PENDING, 0, None),
    ("quiet", "story"): (OutboxState.PENDING, 1, "quiet hours, mute or digest mode"),
    ("retry-after", "story"): (OutboxState.PENDING, 1, "Telegram asks to wait 120s"),
    ("sending", "story"): (OutboxState.SENDING, 0, None),
    ("dead", "story"): (OutboxState.DEAD, 0, "bot was blocked by the user"),
    ("sent", "story"): (OutboxState.SENT, 0, None),
    ("sent", "update"): (OutboxState.PENDING, 0, None),
}


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "raqib.db"
    shutil.copyfile(RELEASE_DB, path)
    return path


def outbox(store: Store) -> dict[tuple[str, str], tuple[str, int, str | None]]:
    return {(r["watchlist"], r["kind"]): (r["state"], r["held"], r["last_error"])
            for r in sql.outbox_rows(store)}


def test_the_release_database_is_what_release_0_1_wrote(old_db):
    store = Store(old_db, readonly=True)  # a copy: even a read-only look leaves -shm beside the file
    try:
        applied = sql.migrations(store)
        assert applied == ["001_initial", "002_feed_last_published", "003_feed_bad_items"]
        columns = sql.columns(store, "outbox")
        assert "held" not in columns
    finally:
        store.close()


def test_a_release_0_1_database_migrates_in_place_and_keeps_its_state(old_db):
    store = Store(old_db)
    try:
        applied = sql.migrations(store)
        assert applied == sorted(name for name, _ in MIGRATIONS)
        assert outbox(store) == EXPECTED_OUTBOX
        assert [f.name for f in store.feeds.all()] == ["agency", "paper"]
        assert store.feeds.get("paper").interval == 600.0
        assert store.stories.known_guids("agency", ["g1", "g2", "g3"]) == {"g1", "g2"}
        assert [s.feed for s in store.stories.cluster_sources(1)] == ["agency", "paper"]
        assert store.subscriptions.of("telegram", "100") == ["oil", "russia"]
        assert store.subscriptions.of("telegram", "200") == []  # left before the upgrade
        assert store.subscriptions.subscribers("oil") == [("telegram", "100")]
        assert store.subscriptions.settings("telegram", "100") == {"lang": "ar", "quiet": "22:00-07:00",
                                                                 "mode": "daily@08:00"}
        assert store.subscriptions.settings("telegram", "200") == {"muted_until": NOW + 86400}
        assert [t.term for t in store.subscriptions.personal_terms("telegram", "100")] == ["OPEC+", "خامنئي"]
        assert store.counts(NOW) == {"stories_hour": 3, "stories_day": 3, "alerts_hour": 1, "alerts_day": 1,
                                     "outbox_pending": 5, "dead": 1}
    finally:
        store.close()


def test_held_rows_of_release_0_1_are_held_and_released_as_such(old_db):
    store = Store(old_db)
    try:
        assert store.outbox.recover_sending() == 1  # the row 0.1 left mid-send goes back to the queue
        assert store.outbox.release_held("telegram", "200", NOW) == 1  # the quiet-hours row, no other
        assert store.outbox.release_held("telegram", "100", NOW) == 0  # a pending row that was never held
        due = {(r.watchlist, r.kind): r.held for r in store.outbox.due(NOW)}
        assert due == {("pending", "story"): 0, ("quiet", "story"): 1, ("sending", "story"): 0,
                       ("sent", "update"): 0}  # the RetryAfter row still waits its 120 s
        store.outbox.mark_sent([r.id for r in store.outbox.due(NOW)], NOW)
        assert outbox(store)[("quiet", "story")] == (OutboxState.SENT, 0, None)  # a sent row is never held
    finally:
        store.close()


def test_reading_a_release_0_1_database_before_it_migrates_shows_held_rows_the_same(old_db):
    before = Store(old_db, readonly=True)
    try:
        unsent_before = before.outbox.unsent()
    finally:
        before.close()
    after = Store(old_db)
    try:
        assert after.outbox.unsent() == unsent_before
        assert [(r.watchlist, r.held) for r in unsent_before if r.held] == [("quiet", 1), ("retry-after", 1)]
    finally:
        after.close()


def test_migrating_twice_changes_nothing(old_db):
    Store(old_db).close()
    first = old_db.read_bytes()
    store = Store(old_db)
    try:
        assert outbox(store) == EXPECTED_OUTBOX
    finally:
        store.close()
    assert len(old_db.read_bytes()) == len(first)


def test_a_release_0_1_database_gains_events_equal_to_clusters_and_prunes_as_before(old_db):
    store = Store(old_db)
    try:
        stories = sql.story_rows(store, "id", "cluster", "event")
        assert stories and all(s["event"] == s["cluster"] for s in stories)
        alerts = sql.outbox_rows(store, "cluster", "event", "related")
        assert alerts and all(a["event"] == a["cluster"] and a["related"] is None for a in alerts)
        indexes = sql.index_names(store)
        assert {"stories_event", "outbox_event"} <= indexes
        assert [r.event for r in store.stories.since(0)] == [s["event"] for s in stories]
        # an old row is nobody's related story: it goes as it always did
        assert all(store.outbox.event_head(r) is None for r in store.outbox.due(NOW + 10**6))
        pruned = store.prune(stories_before=NOW + 10**6, outbox_before=NOW + 10**6)
        assert pruned["outbox"] == 1  # the sent alert; stories of unsent alerts stay
    finally:
        store.close()
