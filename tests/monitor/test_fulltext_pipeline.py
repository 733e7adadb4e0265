"""Stories that wait for their article's page: held, settled with the page's text, or
matched on the feed's text when the wait runs out; copies take their cluster's text."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from monitor.dedup import Clusterer
from monitor.desk import search_stories, try_watchlist
from monitor.models import Story
from monitor.pipeline import Pipeline
from monitor.reading import SWEEP_EVERY, SWEEP_GRACE, ArticleQueue, PageResult
from monitor.settings import FulltextSettings
from monitor.store import BodyState, Store
from monitor.store.worker import StoreThread, inline
from monitor.watchlists import Term, Watchlist
from tests.monitor.test_pipeline import Clock, Registry
from tests.support import sql
from tests.support.pg import postgres_url

T0 = datetime(2024, 9, 5, 14, 0, tzinfo=UTC)
TITLE = "الكرملين يعلن نتائج اجتماع مجلس الأمن الروسي بشأن الوضع على الحدود"
LEAD = "عقد مجلس الأمن الروسي اجتماعا طارئا الخميس برئاسة الرئيس لبحث التطورات الأخيرة"
BODY = ("عقد مجلس الأمن الروسي اجتماعا طارئا الخميس.\n\n"
        "وقال المتحدث إن الاجتماع تناول الوضع الأمني.\n\n"
        "وأضاف أن القوات تواصل عملياتها في مقاطعة كورسك الحدودية منذ أسابيع.")

KURSK = Watchlist(name="kursk", title="كورسك", terms=(Term(text="كورسك"),))
KREMLIN = Watchlist(name="kremlin", title="الكرملين", terms=(Term(text="الكرملين"),))


def story(feed: str, guid: str, *, title: str = TITLE, summary: str = LEAD, url: str | None = None,
          body: str = "", minutes: int = 0) -> Story:
    return Story(feed=feed, guid=guid, url=url or f"https://{feed}.example/{guid}", title=title, summary=summary,
                 published=T0 + timedelta(minutes=minutes), body=body)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Every test on SQLite and on PostgreSQL (a schema of its own): the same states and rows."""
    if request.param == "sqlite":
        store = Store(tmp_path / "raqib.db")
        yield store
        store.close()
        return
    for url in postgres_url(request.node.name):
        store = Store(url)
        yield store
        store.close()


def pipeline(store, watchlists=(KURSK, KREMLIN)):
    return Pipeline(store, Registry(watchlists), Clusterer(), channels=("console",),
                    clock=Clock(T0.timestamp())), store


def alerts(store):
    return sql.outbox_rows(store, "watchlist", "story_id", "kind", "payload", kind="story")


def state(store, story_id):
    return sql.story_rows(store, "body_state", "body", "body_reason", id=story_id)[0]


async def test_a_story_waits_for_its_page_and_alerts_on_a_name_only_in_the_body(backend):
    p, store = pipeline(backend)
    result = p.ingest("agency", [story("agency", "1")], fulltext="auto")
    assert result.to_read == [(1, "https://agency.example/1")] and result.held == 1
    assert alerts(store) == []  # nothing routed while the page is read
    assert state(store, 1)["body_state"] == BodyState.WAITING
    queued = await p.settle(1, BODY, "", inline)
    rows = alerts(store)
    assert sorted(r["watchlist"] for r in rows) == ["kremlin", "kursk"] and queued == 2
    kursk = next(r for r in rows if r["watchlist"] == "kursk")
    assert '"field": "body"' in kursk["payload"] and '"paragraph": 3' in kursk["payload"]
    assert state(store, 1)["body_state"] == BodyState.READ and "كورسك" in state(store, 1)["body"]


async def test_when_the_wait_runs_out_the_feed_text_alerts_and_a_late_page_adds_only_what_is_new(backend):
    p, store = pipeline(backend)
    p.ingest("agency", [story("agency", "1")], fulltext="auto")
    assert await p.expire(1, inline) == 1  # the title names the Kremlin
    assert [r["watchlist"] for r in alerts(store)] == ["kremlin"]
    assert state(store, 1)["body_state"] == BodyState.LATE
    assert await p.settle(1, BODY, "", inline) == 1  # كورسك, only in the body, still alerts
    assert [r["watchlist"] for r in alerts(store)] == ["kremlin", "kursk"]  # the Kremlin not twice
    assert await p.expire(1, inline) == 0 and await p.settle(1, BODY, "", inline) == 0  # each acts once


async def test_a_page_that_fails_leaves_the_story_matched_on_its_feed_text_with_the_reason(backend):
    p, store = pipeline(backend)
    p.ingest("agency", [story("agency", "1")], fulltext="always")
    assert await p.settle(1, "", "page not found (HTTP 404)", inline) == 1
    assert [r["watchlist"] for r in alerts(store)] == ["kremlin"]
    assert dict(state(store, 1)) == {"body_state": BodyState.FAILED, "body": "",
                                     "body_reason": "page not found (HTTP 404)"}


async def test_a_copy_stored_while_its_clusters_page_settles_is_settled_with_it(backend):
    """The page's answer and a copy's poll meet in the store thread: the copy stored as waiting on
    the page between the page's story being read and its answer written is settled with it, not
    left waiting for ever. Here the copy alone names كورسك, so it fires what the first cannot."""
    p, store = pipeline(backend)
    run = StoreThread()
    try:
        first = await p.ingest_off_loop("agency", [story("agency", "1")], run, fulltext="always")
        assert first.to_read == [(1, "https://agency.example/1")]
        copy = story("paper", "7", title="عاجل | " + TITLE, summary=LEAD + " قرب كورسك", minutes=2)
        polled = asyncio.ensure_future(p.ingest_off_loop("paper", [copy], run, fulltext="always"))
        await asyncio.sleep(0)  # the copy's poll makes its first store call before the page's answer
        await p.settle(1, "", "page not found (HTTP 404)", run)
        await polled
    finally:
        run.close()
    assert state(store, 2)["body_state"] != BodyState.JOINED
    assert sorted((r["watchlist"], r["story_id"]) for r in alerts(store)) == [("kremlin", 1), ("kursk", 2)]


async def test_a_copy_waits_for_its_clusters_page_and_takes_its_text_without_reading_one(backend):
    p, store = pipeline(backend)
    p.ingest("agency", [story("agency", "1")], fulltext="auto")
    copy = p.ingest("paper", [story("paper", "7", title="عاجل | " + TITLE, minutes=5)], fulltext="auto")
    assert copy.to_read == [] and state(store, 2)["body_state"] == BodyState.JOINED
    await p.settle(1, BODY, "", inline)
    assert state(store, 2)["body_state"] == BodyState.COPIED and state(store, 2)["body"] == BODY
    assert sorted(r["watchlist"] for r in alerts(store)) == ["kremlin", "kursk"]  # one alert a cluster
    later = p.ingest("tv", [story("tv", "3", title=TITLE + " - تلفزيون", minutes=9)], fulltext="auto")
    assert later.to_read == [] and state(store, 3)["body_state"] == BodyState.COPIED  # read before: copied


async def test_a_known_story_or_a_known_page_is_never_read_again(backend):
    p, store = pipeline(backend)
    p.ingest("agency", [story("agency", "1")], fulltext="auto")
    await p.settle(1, "", "timed out after 30 s", inline)
    again = p.ingest("agency", [story("agency", "1")], fulltext="auto")
    assert again.new == 0 and again.to_read == []
    same_page = p.ingest("wire", [story("wire", "x", url="https://agency.example/1", minutes=3)], fulltext="auto")
    assert same_page.new == 1 and same_page.to_read == []


def test_what_the_feed_carries_is_matched_at_once(backend):
    p, store = pipeline(backend)
    carried = p.ingest("agency", [story("agency", "1", body=BODY)], fulltext="auto")
    assert carried.to_read == [] and state(store, 1)["body_state"] == BodyState.FEED
    assert sorted(r["watchlist"] for r in alerts(store)) == ["kremlin", "kursk"]
    auto = p.ingest("paper", [story("paper", "2", title="خبر عن الطقس في الرياض",
                                    summary=" ".join(f"طقس{i}" for i in range(160)))], fulltext="auto")
    always = p.ingest("tv", [story("tv", "3", title="خبر عن الأسواق في دبي",
                                   summary=" ".join(f"سوق{i}" for i in range(160)))], fulltext="always")
    never = p.ingest("web", [story("web", "4", title="خبر عن الرياضة في القاهرة")], fulltext="never")
    assert (auto.to_read, [sid for sid, _ in always.to_read], never.to_read) == ([], [3], [])
    assert state(store, 4)["body_state"] == BodyState.NONE


async def test_search_and_try_find_a_name_that_only_the_article_holds(backend):
    """The article's words are indexed when the page comes (the row written before it had
    only the title and lead), so search narrows to it and try alerts on it."""
    p, store = pipeline(backend)
    p.ingest("agency", [story("agency", "1")], fulltext="auto")
    now = T0.timestamp() + 60
    assert search_stories(store, "كورسك", now=now).hits == ()
    await p.settle(1, BODY, "", inline)
    found = search_stories(store, "كورسك", now=now)
    assert [h.id for h in found.hits] == [1] and found.narrowed
    assert {(m.field, m.paragraph) for m in found.hits[0].matches} == {("body", 3)}
    tried = try_watchlist(store, "name: k\nterms: [كورسك]\n", days=1, now=now)
    assert [h.id for h in tried.hits] == [1]
    assert "body" not in found.to_dict()["hits"][0]  # the JSON output keeps the article out: it is long


class NeverAsked:
    """The page reader of a node that holds no page of the story: never called."""

    async def read(self, url: str, *, feed_url: str) -> PageResult:
        raise AssertionError(f"{url} read by a node that did not store it")


async def test_a_story_held_by_a_node_that_died_alerts_soon_after_its_wait_on_another_node(backend):
    """Node A stores a story to wait for its page, then dies before reading it; node B's
    periodic sweep matches it on the feed's text shortly after its wait ran out, once."""
    node_a, store = pipeline(backend)
    node_a.ingest("agency", [story("agency", "1")], fulltext="always")
    node_b, _ = pipeline(backend)
    clock = Clock(T0.timestamp())
    queue = ArticleQueue(NeverAsked(), node_b, store, settings=FulltextSettings(wait=60.0), run=inline, clock=clock)
    clock.t += 60.0  # the wait ran out: node A would have matched it now
    assert await queue.sweep() == 0 and alerts(store) == []  # node A may still be doing it
    clock.t += SWEEP_GRACE + 0.1
    assert await queue.sweep() == 1  # swept up within SWEEP_EVERY of this, well before a minute more
    assert [r["watchlist"] for r in alerts(store)] == ["kremlin"]
    assert state(store, 1)["body_state"] == BodyState.LATE
    assert await queue.sweep() == 0 and len(alerts(store)) == 1
    assert SWEEP_GRACE + SWEEP_EVERY <= 15.0
