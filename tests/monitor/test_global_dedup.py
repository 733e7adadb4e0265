"""Dedup stays global when several nodes write one database: a node about to decide a
story's cluster first indexes what the others stored since it last looked.

Two pipelines, each with its own dedup index, share one database (two connections to one
SQLite file here; on PostgreSQL the same steps run under the ingest advisory lock, see
tests/system/test_cluster_nodes.py). Without the catch-up the second node, never having seen
the first node's story, would open a second cluster and queue a second alert."""
from __future__ import annotations

import asyncio

import pytest

from monitor.dedup import Clusterer
from monitor.errors import StoreError
from monitor.pipeline import Pipeline
from monitor.store import Store
from monitor.store.worker import inline
from tests.monitor.test_pipeline import LEAD, RUSSIA, T0, TITLE, Clock, Registry, story
from tests.support import pg, sql
from tests.support.pg import pg_url  # noqa: F401  (the fixture)


def node(path, clock) -> tuple[Pipeline, Store]:
    store = Store(path)
    return Pipeline(store, Registry([RUSSIA]), Clusterer(), channels=("telegram",), clock=clock), store


def test_a_copy_reaching_another_node_joins_the_cluster_the_first_node_stored(tmp_path):
    clock = Clock(T0.timestamp())
    a, store_a = node(tmp_path / "shared.db", clock)
    b, store_b = node(tmp_path / "shared.db", clock)
    try:
        a.ingest("agency", [story("agency", "1")])
        b.ingest("paper", [story("paper", "7", title="عاجل | " + TITLE, minutes=2)])  # the agency's copy
        b.ingest("radio", [story("radio", "3", title="ماكرون يزور الجزائر", summary="زيارة رسمية", minutes=3)])
        a.ingest("tv", [story("tv", "5", title=TITLE + " - تلفزيون", minutes=4, summary=LEAD)])
        rows = sql.story_rows(store_a, "feed", "cluster", "event")
        assert [r["cluster"] for r in rows if r["feed"] != "radio"] == [rows[0]["cluster"]] * 3
        assert [r["event"] for r in rows if r["feed"] != "radio"] == [rows[0]["cluster"]] * 3  # one event too
        stories = sql.outbox_rows(store_a, "destination", kind="story")
        assert stories == [{"destination": "@desk"}]  # one alert, whichever node saw which copy
        assert b.caught_up == 1 and a.caught_up == 2  # each node indexed exactly what the other stored
    finally:
        store_a.close()
        store_b.close()


def test_on_postgresql_a_failed_write_gives_the_ingest_lock_back_and_nodes_stay_one_cluster(pg_url):
    clock = Clock(T0.timestamp())
    a, store_a = node(pg_url, clock)
    b, store_b = node(pg_url, clock)
    try:
        bad = story("agency", "0", title="ماكرون يزور الجزائر\x00")  # PostgreSQL refuses NUL in text
        with pytest.raises(StoreError):
            asyncio.run(a.ingest_off_loop("agency", [bad], inline))
        assert pg.ingest_lock_free(pg_url)  # else every other node's ingest would wait for ever
        asyncio.run(a.ingest_off_loop("agency", [story("agency", "1")], inline))
        assert pg.ingest_lock_free(pg_url)
        asyncio.run(b.ingest_off_loop("paper", [story("paper", "7", title="عاجل | " + TITLE, minutes=2)], inline))
        rows = sql.story_rows(store_a, "feed", "cluster", "event")
        assert [(r["cluster"], r["event"]) for r in rows] == [(rows[0]["cluster"], rows[0]["cluster"])] * 2
        assert sql.outbox_rows(store_a, "destination", kind="story") == [{"destination": "@desk"}]
        assert b.caught_up == 1
    finally:
        store_a.close()
        store_b.close()
