"""The store's conformance suite: every test runs once on SQLite (a temporary file) and
once on PostgreSQL (a schema of its own, see tests/support/pg.py), and must see the same rows.
Tests named `test_pg_*` are about what only PostgreSQL does: leases shared by nodes."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from monitor.config import FeedConfig
from monitor.errors import StoreError
from monitor.store import FeedUpdate, Store
from tests.support import sql
from tests.support.pg import postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "raqib.db")
    else:
        yield from postgres_url(request.node.name)


@pytest.fixture
def store(database) -> Iterator[Store]:
    s = Store(database, node="node-a")
    yield s
    s.close()


@pytest.fixture
def pg(request) -> Iterator[str]:
    yield from postgres_url(request.node.name)


def story(store: Store, feed: str, guid: str, *, cluster: int | None = None, fetched: float | None = None,
          title: str = "عنوان") -> int:
    sid = store.stories.next_id()
    with store.transaction() as conn:
        store.stories.insert(conn, {"id": sid, "feed": feed, "guid": guid, "url": f"https://x.test/{guid}",
                                  "canonical_url": f"https://x.test/{guid}", "title": title, "summary": "ملخص",
                                  "published": None, "fetched": fetched or time.time(),
                                  "cluster": cluster or sid, "event": cluster or sid, "dedup_kind": "new" if cluster is None else "copy"})
    return sid


def alert(store: Store, cluster: int, *, destination: str = "d1", kind: str = "story", now: float = 1000.0) -> bool:
    with store.transaction() as conn:
        return store.outbox.enqueue(conn, channel="telegram", destination=destination, kind=kind, watchlist="wl",
                             cluster=cluster, story_id=cluster, payload={"title": "عنوان"}, now=now)


def test_schema_is_current_and_names_its_backend(store, database):
    state = store.schema_state()
    assert state.backend == ("postgresql" if database.startswith("postgresql") else "sqlite")
    assert state.missing == []
    assert "008_leases" in state.applied
    again = Store(database)  # migrating twice is a no-op
    assert again.schema_state().applied == state.applied
    again.close()


def test_feeds_follow_the_config_and_their_state_reads_back_typed(store):
    store.feeds.sync([FeedConfig("a", "https://a.test/rss", 300.0), FeedConfig("b", "https://b.test/rss")])
    store.feeds.update("a", FeedUpdate(etag='"x"', next_poll=1234.5, failures=2, healthy=0, last_success=99.25))
    a = store.feeds.get("a")
    assert a is not None
    assert (a.etag, a.next_poll, a.failures, a.healthy, a.interval) == ('"x"', 1234.5, 2, 0, 300.0)
    assert [f.name for f in store.feeds.due(2000.0)] == ["b", "a"]
    store.feeds.sync([FeedConfig("b", "https://b2.test/rss")])  # a removed, b moved
    feeds = {f.name: f for f in store.feeds.all()}
    assert feeds["a"].enabled == 0 and feeds["a"].disabled_reason == "removed from config"
    assert feeds["b"].url == "https://b2.test/rss"
    assert store.feeds.add_many([("c", "https://c.test"), ("d", "https://b2.test/rss")]) == ["c"]
    assert not store.feeds.add("c", "https://other.test")
    assert {f.name for f in store.feeds.as_configured([FeedConfig("z", "https://z.test")])} >= {"z", "c"}
    assert store.feeds.next_due() == 0


def test_story_ids_are_never_reused_after_pruning(store):
    first = story(store, "f", "g1", fetched=10.0)
    story(store, "f", "g2", cluster=first, fetched=11.0)
    assert store.stories.known_guids("f", ["g1", "g2", "g3"]) == {"g1", "g2"}
    with store.transaction() as conn:
        assert store.stories.cluster_feeds(conn, first) == ["f", "f"]
        assert store.stories.event_feeds(conn, first) == ["f", "f"]
        assert store.stories.event_lead(conn, first).id == first
        store.stories.add_cluster_watchlists(conn, first, ["wl", "wl"])
        assert store.stories.event_watchlists(conn, first) == {"wl"}
    assert store.stories.counts()["clusters"] == 1
    assert len(list(store.stories.since(0))) == 2
    pruned = store.prune(stories_before=100.0, outbox_before=100.0)
    assert pruned["stories"] == 2
    assert store.stories.next_id() > first + 1
    batch = store.stories.next_ids(3)
    assert len(batch) == 3 and batch == sorted(batch) and batch[0] > first + 1


def test_outbox_lifecycle_reads_the_same(store):
    sid = story(store, "f", "g1")
    assert alert(store, sid) and not alert(store, sid)  # one row per cluster/watchlist/destination/kind
    [row] = store.outbox.due(2000.0)
    assert row.state == "pending" and row.payload.startswith("{")
    assert store.outbox.claim([row.id]) == [row.id]
    assert store.outbox.claim([row.id]) == []  # already being sent
    store.outbox.mark_sent([row.id], 1500.0, ref="42")
    assert store.outbox.sent_story(sid, "wl", "telegram", "d1").ref == "42"
    for now in (1600.0, 1800.0):  # two more outlets: updates, the second no sooner than throttle after the first
        with store.transaction() as conn:
            store.outbox.queue_updates(conn, sid, sid, now, channels={"telegram"}, throttle=600.0)
        [update] = [r for r in sql.outbox_rows(store, kind="update")]
        store.outbox.mark_sent([update["id"]], 1700.0)
    assert update["next_try"] == 2300.0
    assert alert(store, sid, destination="d2")
    [d2] = [r.id for r in store.outbox.due(3000.0) if r.destination == "d2"]
    store.outbox.claim([d2])
    store.outbox.mark_retry([d2], 5000.0, "boom", held=True)
    store.outbox.claim([d2])
    store.outbox.mark_dead([d2], "gone")
    assert [r.id for r in store.outbox.dead_letters()] == [d2]
    assert store.outbox.retry_dead() == 1
    store.outbox.hold([d2], 9000.0, "quiet hours")
    assert store.outbox.release_held("telegram", "d2", 100.0) == 1
    counts = store.counts(2000.0)
    assert counts["outbox_pending"] == 1 and counts["dead"] == 0
    assert {r.kind for r in store.outbox.unsent()} == {"story"}
    assert store.alerts_raised() == 1  # updates are not alerts raised


def test_a_crash_mid_send_is_recovered_at_start(store, database):
    sid = story(store, "f", "g1")
    alert(store, sid)
    [row] = store.outbox.due(2000.0)
    store.outbox.claim([row.id], lease=0.0, now=time.time() - 1)  # a lease that already ran out
    store.close()
    again = Store(database, node="node-b")
    try:
        assert again.outbox.recover_sending() == 1
        assert [r.state for r in again.outbox.due(2000.0)] == ["pending"]
    finally:
        again.close()


def test_subscriptions_settings_terms_and_a_chat_that_moves(store):
    assert store.subscriptions.subscribe("telegram", "-1", "wl") and not store.subscriptions.subscribe("telegram", "-1", "wl")
    store.subscriptions.subscribe("telegram", "-2", "wl")  # the new id already has this one: it gives way
    assert store.subscriptions.unsubscribe("telegram", "-1", "other") == 0
    store.subscriptions.update_settings("telegram", "-1", lang="ar", quiet="22-07")
    assert store.subscriptions.update_settings("telegram", "-1", quiet=None) == {"lang": "ar"}
    assert store.subscriptions.add_personal_term("telegram", "-1", "كورسك") and not store.subscriptions.add_personal_term("telegram", "-1", "كورسك")
    sid = story(store, "f", "g1")
    alert(store, sid, destination="-1")
    alert(store, sid, destination="-2")  # the new id has this alert already: not moved, not twice
    store.subscriptions.move_destination("telegram", "-1", "-2")
    assert store.subscriptions.subscribers("wl") == [("telegram", "-2")]
    assert store.subscriptions.settings("telegram", "-2") == {"lang": "ar"}
    assert [r.term for r in store.subscriptions.personal_terms("telegram", "-2")] == ["كورسك"]
    assert sorted(r.destination for r in store.outbox.due(2000.0)) == ["-1", "-2"]
    assert store.subscriptions.remove_personal_term("telegram", "-2", "كورسك")
    assert store.subscriptions.unsubscribe("telegram", "-2") == 1 and store.subscriptions.of("telegram", "-2") == []


def test_a_failed_unit_of_work_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.stories.insert(conn, {"id": store.stories.next_id(), "feed": "f", "guid": "g", "fetched": 1.0,
                                  "cluster": 1})
        raise RuntimeError("crash between the story and its alert")
    assert store.stories.known_guids("f", ["g"]) == set()
    with pytest.raises(StoreError), store.transaction() as conn:
        sql.add_feed_without_url(conn, "no url")  # NOT NULL
    assert store.ping()


def test_readonly_opening_reads_and_refuses_writes(store, database):
    store.feeds.sync([FeedConfig("a", "https://a.test/rss")])
    ro = Store(database, readonly=True)
    try:
        assert [f.name for f in ro.feeds.all()] == ["a"]
        with pytest.raises(StoreError):
            ro.feeds.update("a", FeedUpdate(failures=1))
    finally:
        ro.close()


# -- PostgreSQL only: several nodes on one database -------------------------------------

def test_pg_due_feeds_are_leased_to_one_node_until_the_lease_ends_or_is_released(pg):
    a, b = Store(pg, node="a"), Store(pg, node="b")
    try:
        a.feeds.sync([FeedConfig(f"f{i}", f"https://f{i}.test") for i in range(10)])
        mine = {f.name for f in a.feeds.claim_due(100.0, limit=6, lease=60.0)}
        theirs = {f.name for f in b.feeds.claim_due(100.0, lease=60.0)}
        assert len(mine) == 6 and len(theirs) == 4 and not mine & theirs
        assert {f.name for f in b.feeds.claim_due(150.0)} == theirs  # a's feeds stay a's while it lives
        released = sorted(mine)[0]
        assert a.feeds.release([released]) == 1
        assert {f.name for f in b.feeds.claim_due(150.0)} == theirs | {released}
        assert {f.name for f in b.feeds.claim_due(161.0)} == mine | theirs  # a's lease ran out: a died
        assert b.feeds.release() == 10  # b stops: all its leases go back at once
        assert len(a.feeds.claim_due(162.0)) == 10
    finally:
        a.close()
        b.close()


def test_pg_two_nodes_claiming_the_same_alerts_split_them(pg):
    a, b = Store(pg, node="a"), Store(pg, node="b")
    try:
        for i in range(6):
            alert(a, 1000 + i)
        ids = [r.id for r in a.outbox.due(2000.0)]
        with a.transaction():  # a holds its claim open while b tries: b skips the locked rows
            got_a = a.outbox.claim(ids[:4])
            got_b = b.outbox.claim(ids)
        assert got_a == ids[:4] and got_b == ids[4:]
        assert b.outbox.recover_sending() == 0  # a is alive: its lease has not run out
        assert b.outbox.recover_sending(now=time.time() + 3600) == 6  # ... until it has
    finally:
        a.close()
        b.close()


def test_pg_story_ids_from_two_nodes_never_collide(pg):
    a, b = Store(pg, node="a"), Store(pg, node="b")
    try:
        ids = [a.stories.next_id() if i % 2 else b.stories.next_id() for i in range(20)]
        assert len(set(ids)) == 20
        batch_a, batch_b = a.stories.next_ids(5), b.stories.next_ids(5)
        assert batch_a == sorted(batch_a) and not set(batch_a) & set(batch_b) and not set(batch_a) & set(ids)
    finally:
        a.close()
        b.close()


def test_pg_a_connection_the_server_dropped_is_opened_again(pg):
    store = Store(pg)
    try:
        pid = sql.backend_pid(store)
        killer = Store(pg)
        sql.terminate_backend(killer, pid)
        killer.close()
        store.ping()  # the statement that finds the connection gone fails (a transaction cannot be replayed)
        assert store.ping() and store.feeds.all() == []
        assert sql.backend_pid(store) != pid
    finally:
        store.close()


def test_pg_an_unreachable_server_is_a_clear_error_within_the_timeout():
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        Store("postgresql://raqib:secret@127.0.0.1:9/raqib?connect_timeout=2")
    assert time.monotonic() - started < 10
    assert "cannot reach PostgreSQL at postgresql://raqib:***@127.0.0.1:9/raqib" in str(err.value)
    assert "secret" not in str(err.value) + (err.value.hint or "")


def test_search_candidates_narrow_alike_and_the_window_and_pruning_hold(store):
    from monitor.normalize import skeleton
    from monitor.store.desk import SearchWord

    now = time.time()
    a = story(store, "f", "a", fetched=now, title="والرئيس بوتين يزور كورسك")
    b = story(store, "g", "b", fetched=now, title="لبوتين تصريح جديد")
    c = story(store, "f", "c", fetched=now - 10 * 86400, title="بوتين قبل عشرة أيام")
    story(store, "f", "d", fetched=now, title="خبر عن الطقس")

    def ids(any_of, **kw) -> list[int]:
        return [r.id for r in store.desk.search_candidates(any_of, limit=50, **kw) or []]

    assert ids([[SearchWord("بوتين")]]) == [c, b, a]  # a token ending with it: لبوتين too; newest first
    assert ids([[SearchWord("بوتين", whole=True)]]) == [c, a]
    assert ids([[SearchWord("بوتين")]], since=now - 86400) == [b, a]
    assert ids([[SearchWord("بوتين"), SearchWord("كورسك")], [SearchWord("تصريح")]]) == [b, a]
    assert ids([[SearchWord(skeleton("بوتين"), skeleton=True)]], source="g") == [b]
    store.prune(stories_before=now - 5 * 86400, outbox_before=0)
    assert ids([[SearchWord("بوتين")]]) == [b, a]


def test_a_store_closed_while_another_thread_reads_fails_that_read_and_nothing_else(database):
    """A daemon stopping during its index rebuild closes the store from its store thread
    while the rebuild's thread is still reading pages of stories: the close waits for the
    statement under way, and the thread's next read fails as StoreError. (Closed under a
    running statement, the connection's memory was freed beneath it: a crash, not an error.)"""
    first = Store(database, node="node-a")
    with first.transaction() as conn:
        for n in range(1, 3001):
            first.stories.insert(conn, {
                "id": n, "feed": "f", "guid": f"g{n}", "url": f"https://x.test/{n}", "canonical_url": f"https://x.test/{n}",
                "title": f"عنوان الخبر رقم {n}", "summary": "ملخص " * 40, "published": None,
                "fetched": 1000.0 + n, "cluster": n, "event": n, "dedup_kind": "new"})
    first.close()
    for _ in range(12):
        s = Store(database, node="node-a")
        outcome: list[BaseException] = []
        reading = threading.Event()

        def read(s: Store = s, outcome: list[BaseException] = outcome, reading: threading.Event = reading) -> None:
            try:
                while True:
                    s.stories.after(0, 3000)
                    reading.set()
            except BaseException as exc:  # noqa: BLE001 - what the test looks at
                outcome.append(exc)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert reading.wait(10)
        s.close()
        reader.join(10)
        assert not reader.is_alive() and len(outcome) == 1 and isinstance(outcome[0], StoreError), outcome
