"""Dedup stays global when several nodes write one database: a node about to decide a
story's cluster first indexes what the others stored since it last looked.

Two pipelines, each with its own dedup index, share one database (two connections to one
SQLite file here; on PostgreSQL the same steps run under the ingest advisory lock, see
tests/test_cluster_nodes.py). Without the catch-up the second node, never having seen
the first node's story, would open a second cluster and queue a second alert."""
from __future__ import annotations

import sql
from test_pipeline import LEAD, RUSSIA, T0, TITLE, Clock, Registry, story

from monitor.dedup import Clusterer
from monitor.pipeline import Pipeline
from monitor.store import Store


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
        rows = sql.rows(store_a, "SELECT feed, cluster FROM stories ORDER BY id")
        assert [r["cluster"] for r in rows if r["feed"] != "radio"] == [rows[0]["cluster"]] * 3
        stories = sql.rows(store_a, "SELECT destination FROM outbox WHERE kind='story'")
        assert stories == [{"destination": "@desk"}]  # one alert, whichever node saw which copy
        assert b.caught_up == 1 and a.caught_up == 2  # each node indexed exactly what the other stored
    finally:
        store_a.close()
        store_b.close()
