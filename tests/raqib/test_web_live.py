"""The web view for a live desk: paging ("أقدم"), what is new since the last visit, a
meta-refresh switch (no script), times in `web.tz`, outlets by their names, and the
story page's related coverage (the same event in other outlets' own words).

The stories go through the real pipeline into a SQLite file; the web view reads it
through httpx's ASGI transport, as a browser would.
"""
from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.config import FeedConfig
from monitor.dedup import Clusterer
from monitor.dedup.events import EventGrouper
from monitor.match import Matcher
from monitor.models import Story, Term, Watchlist
from monitor.pipeline import Pipeline
from monitor.store import Store
from raqib.web import Desk, WebView

ORIGIN = "http://127.0.0.1"
T0 = datetime(2024, 9, 5, 14, 30, tzinfo=UTC)
RUSSIA = Watchlist(name="russia", title="روسيا", terms=(Term(text="بوتين"),))
LABELLED = Path(__file__).parents[1] / "data" / "events" / "labelled.jsonl"
SKRIPAL = {"FR-internationalNews-427-20180314", "CN-internationalNews-122-20180314"}  # one event, two outlets


class Registry:
    def __init__(self, watchlists):
        self.watchlists = watchlists
        self.matcher = Matcher(watchlists)


def fill(path: Path, n: int, start: int = 0, clock: list[float] | None = None) -> None:
    """`n` stories of the agency, a minute apart, each alerted to the console and one chat
    (two outbox rows, one alert on the page)."""
    store = Store(path)
    try:
        store.feeds.sync([FeedConfig("agency", "https://agency.example/rss", title="وكالة الأنباء")])
        now = clock or [T0.timestamp()]
        watchlist = Watchlist(name=RUSSIA.name, title=RUSSIA.title, terms=RUSSIA.terms, notify={"telegram": ("42",)})
        pipeline = Pipeline(store, Registry([watchlist]), Clusterer(), channels=("console", "telegram"),
                            clock=lambda: now[0])
        for i in range(start, start + n):
            now[0] += 60
            title = f"بوتين يلتقي الوفد رقم {i} في موسكو لبحث ملف {'ابجدهوزحطيكلمنسعفصقرشتثخذضظغ'[i % 28] * 3}"
            pipeline.ingest("agency", [Story(feed="agency", guid=f"g{i}", url=f"https://agency.example/{i}",
                                             title=title, published=T0 + timedelta(minutes=i))])
    finally:
        store.close()


@pytest.fixture
async def client(tmp_path):
    fill(tmp_path / "raqib.db", 60)
    view = WebView(Desk(database=tmp_path / "raqib.db", watchlists=lambda: [RUSSIA], tz="Asia/Riyadh"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=view.app), base_url=ORIGIN) as c:
        yield c
    view.close()


def cards(html: str) -> list[str]:
    return re.findall(r'<h3 dir="auto"><a href="https://agency\.example/(\d+)"', html)


async def test_paging_older_shows_the_rest_once(client):
    first = (await client.get("/")).text
    shown = cards(first)
    assert len(shown) == 50 and shown[0] == "59"
    older = re.search(r'<a rel="next" href="([^"]+)">أقدم</a>', first)
    assert older
    second = (await client.get(older[1].replace("&amp;", "&"))).text
    rest = cards(second)
    assert rest == [str(i) for i in range(9, -1, -1)]  # each alert once: two rows each, one card
    assert 'rel="next"' not in second


async def test_times_are_in_web_tz_and_outlets_by_their_names(client):
    html = (await client.get("/")).text
    card = html.split('<article class="alert">')[-1]  # the oldest on the page: story 10, 14:40 UTC
    assert '<span class="source">وكالة الأنباء</span>' in card
    assert "<time>2024-09-05 17:40</time>" in card
    assert '<option value="agency">وكالة الأنباء</option>' in html
    # the day filter takes the day the cards print, in the same zone
    assert len(cards((await client.get("/", params={"day": "2024-09-05"})).text)) == 50
    assert cards((await client.get("/", params={"day": "2024-09-04"})).text) == []


async def test_new_since_the_last_visit_and_the_refresh_switch(client, tmp_path):
    first = await client.get("/")
    assert "جديد منذ زيارتك الأخيرة" not in first.text  # a first visit marks nothing
    assert "seen=" in first.headers["set-cookie"]
    client.cookies.set("seen", first.headers["set-cookie"].split("seen=")[1].split(";")[0])
    fill(tmp_path / "raqib.db", 2, start=60, clock=[T0.timestamp() + 3600])
    again = (await client.get("/")).text
    assert "جديد منذ زيارتك الأخيرة: 2" in again
    assert again.count('<div class="new"') == 2
    assert '<meta http-equiv="refresh"' not in again
    assert '<a href="/?refresh=60">تحديث تلقائي كل دقيقة</a>' in again
    live = (await client.get("/", params={"refresh": "60"})).text
    assert '<meta http-equiv="refresh" content="60">' in live
    assert '<a href="/?">أوقف التحديث التلقائي</a>' in live
    assert (await client.get("/", params={"refresh": "1"})).status_code == 400  # at least 10 s


SKRIPAL_WATCHLIST = Watchlist(name="skripal", title="سكريبال", terms=(Term(text="سكريبال"),))


def fill_event(path: Path) -> dict[str, int]:
    """France 24's and CNN Arabic's own words on one event (Britain expels 23 Russian
    diplomats, 14 March 2018): two clusters of one event. Returns their story ids."""
    stories = {s["source"]: s for s in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())
               if s["id"] in SKRIPAL}
    store = Store(path)
    now = [datetime.fromisoformat(stories["france24"]["published"]).timestamp()]
    pipeline = Pipeline(store, Registry([SKRIPAL_WATCHLIST]), Clusterer(), channels=("console",),
                        clock=lambda: now[0], events=EventGrouper())
    ids = {}
    try:
        for source in ("france24", "CNN"):
            s = stories[source]
            now[0] = datetime.fromisoformat(s["published"]).timestamp()
            pipeline.ingest(source.lower(), [Story(feed=source.lower(), guid=s["id"], url=s["url"], title=s["title"],
                                                   summary=s["summary"],
                                                   published=datetime.fromisoformat(s["published"]))])
            ids[source] = store.stories.last_id()
    finally:
        store.close()
    return ids


async def test_the_story_page_lists_the_events_related_coverage(tmp_path):
    ids = fill_event(tmp_path / "raqib.db")
    skripal = SKRIPAL_WATCHLIST
    view = WebView(Desk(database=tmp_path / "raqib.db", watchlists=lambda: [skripal]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=view.app), base_url=ORIGIN) as c:
            page = (await c.get(f"/story/{ids['france24']}")).text
    finally:
        view.close()
    assert "تغطية ذات صلة: الحدث نفسه بأقلام مصادر أخرى (1)" in page
    related = page.split('class="outlets related"')[1]
    assert '<td class="source">cnn</td>' in related
    assert f'<a href="/story/{ids["CNN"]}">' in related and "تطرد 23 دبلوماسيا" in related
    assert re.search(r"<td><time>2018-03-14 \d\d:\d\d</time></td>", related)


async def test_the_watchlists_page_counts_alerts_in_arabic_and_the_not_relevant_feedback(tmp_path):
    fill(tmp_path / "raqib.db", 12, clock=[time.time() - 3600])
    store = Store(tmp_path / "raqib.db")
    store.feedback.add("telegram", "42", "russia", 1, 0.0)
    store.feedback.add("telegram", "43", "russia", 2, 0.0)
    store.close()
    view = WebView(Desk(database=tmp_path / "raqib.db", watchlists=lambda: [RUSSIA]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=view.app), base_url=ORIGIN) as c:
            page = (await c.get("/watchlists")).text
    finally:
        view.close()
    assert "russia · 12 تنبيهاً في 7 أيام" in page
    assert '<span class="feedback">ليس ذا صلة: بلاغان</span>' in page
