"""Reading the whole story through the real daemon: a feed whose items carry only a lead,
and the labelled article pages behind them (tests/data/pages: ANT stories in the page
furniture of five outlets' layouts). A watched name found only in the article alerts,
with where it was found and its sentence; a name found only in the furniture (tickers,
"read also" boxes, most-read, related, comments, footers) never does."""
from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from monitor.config import load_config
from monitor.store import BodyState
from raqib.daemon import Daemon
from tests.support import sql
from tests.support.feedserver import FeedServer, feed_server  # noqa: F401

PAGES = Path(__file__).parents[1] / "data" / "pages"
MANIFEST = json.loads((PAGES / "manifest.json").read_text(encoding="utf-8"))


def rss(items: list[tuple[str, str, str, str]]) -> str:
    now = format_datetime(datetime.now(UTC))
    parts = [f"<item><guid>{escape(g)}</guid><title>{escape(t)}</title><link>{escape(link)}</link>"
             f"<description>{escape(d)}</description><pubDate>{now}</pubDate></item>" for g, t, d, link in items]
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>outlet</title>'
            + "".join(parts) + "</channel></rss>")


def config(tmp_path: Path, feed_url: str, names: list[str], extra: str = "") -> Path:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    for i, name in enumerate(names):
        (folder / f"w{i}.yaml").write_text(f"name: w{i}\ntitle: {name}\nterms: [{name}]\n", encoding="utf-8")
    path = tmp_path / "raqib.yaml"
    path.write_text(f"database: {tmp_path / 'raqib.db'}\nwatchlists: {folder}\n"
                    f'feeds:\n  - {{name: outlet, url: "{feed_url}"}}\n'
                    "poll: {backfill: 1d}\n"  # a new feed's first poll alerts what it published today
                    f"fulltext: {{wait: 30s, interval: 0.01s, per_host: 4}}\n{extra}"
                    "channels:\n  console: {}\n", encoding="utf-8")
    return path


async def settled(daemon: Daemon, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = sql.story_count(daemon.store, body_state=("waiting", "joined"))
        if not left and not daemon.articles.open:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("article pages not settled in time")


async def stop(daemon: Daemon) -> None:
    await daemon.articles.close()
    await daemon.article_reader.aclose()
    daemon.poller.parser.close()
    await daemon.fetcher.aclose()
    daemon.store.close()


@pytest.fixture
def pages_site(feed_server):  # noqa: F811
    items = []
    for page in MANIFEST["pages"]:
        path = f"/news/{page['file']}"
        feed_server.route(path, body=(PAGES / page["file"]).read_bytes(),
                          content_type=f"text/html; charset={page['charset']}" if page.get("charset") else "text/html")
        items.append((page["file"], page["title"], page["description"], feed_server.url(path)))
    feed_server.route("/feed.xml", text=rss(items))
    return feed_server


async def test_names_only_in_the_article_alert_and_names_only_in_the_furniture_never_do(tmp_path, pages_site):
    names = MANIFEST["names"]
    out = io.StringIO()
    daemon = Daemon(load_config(config(tmp_path, pages_site.url("/feed.xml"), names)), console_stream=out).open()
    try:
        await daemon.poller.poll_feed(daemon.store.feeds.get("outlet"))
        await settled(daemon)
        await daemon.deliverer.run_once()
        stories = {r["url"].rsplit("/", 1)[1]: r for r in sql.story_rows(
            daemon.store, "id", "cluster", "url", "body_state", "body")}
        rows = sql.outbox_rows(daemon.store, "cluster", "watchlist", "payload", kind="story")
        fired: dict[int, dict[str, dict]] = {}  # one alert a cluster: two pages of one ANT story are copies
        for r in rows:
            fired.setdefault(r["cluster"], {})[names[int(r["watchlist"][1:])]] = json.loads(r["payload"])
        found = missed = 0
        for page in MANIFEST["pages"]:
            story = stories[page["file"]]
            assert story["body_state"] in (BodyState.READ, BodyState.COPIED), page["file"]
            alerted = fired.get(story["cluster"], {})
            for name in page["furniture_only"]:
                assert name not in alerted, f"{page['file']}: {name} is only in the page furniture"
            for name in page["body_only"]:
                if name not in alerted:
                    missed += 1
                    continue
                found += 1
                payload = alerted[name]
                assert {m["field"] for m in payload["matches"]} == {"body"}, page["file"]
                snippet = next(s for s in payload["snippets"] if s["field"] == "body")
                assert snippet["paragraph"] >= 1
                s, e = snippet["marks"][0]
                assert snippet["text"][s:e] in story["body"]
        assert found >= 0.95 * (found + missed) and found > 20  # the floor: 95% of body-only mentions
        assert len({p["file"] for p in MANIFEST["pages"]}) == len(pages_site.routes) - 1
        hits = {path: route.hits for path, route in pages_site.routes.items() if path.startswith("/news/")}
        copies = [f for f, r in stories.items() if r["body_state"] == BodyState.COPIED]
        assert all(n == (0 if path.rsplit("/", 1)[1] in copies else 1) for path, n in hits.items())  # read once
    finally:
        await stop(daemon)


async def test_a_slow_page_holds_only_its_own_story_and_the_wait_then_alerts_on_the_feed_text(tmp_path):
    """The wait, and the late page: the title alerts when the wait runs out; the body's own
    name alerts when the page finally comes; the title's watchlist is not alerted twice."""
    with FeedServer() as server:
        body = ("<html><body><article><h1>عنوان</h1>" + "".join(
            f"<p>فقرة رقم {i} من نص الخبر الطويل عن الاجتماع الذي عقد أمس في العاصمة.</p>" for i in range(6))
            + "<p>وقال المسؤول إن القوات تتقدم في مقاطعة كورسك الروسية منذ أسابيع.</p></article></body></html>")
        server.route("/slow.html", body=body.encode(), content_type="text/html; charset=utf-8", delay=3.0)
        server.route("/fast.html", body=body.replace("كورسك", "بيلغورود").encode(),
                     content_type="text/html; charset=utf-8")
        server.route("/feed.xml", text=rss([
            ("1", "بوتين يترأس اجتماعا لمجلس الأمن", "عقد الرئيس اجتماعا أمس", server.url("/slow.html")),
            ("2", "اجتماع لمجلس الوزراء في موسكو لبحث الميزانية", "ناقش المجلس الموازنة",
             server.url("/fast.html"))]))
        tmp = tmp_path / "w"
        tmp.mkdir()
        path = config(tmp, server.url("/feed.xml"), ["بوتين", "كورسك", "بيلغورود"])
        path.write_text(path.read_text(encoding="utf-8").replace("wait: 30s", "wait: 1s"), encoding="utf-8")
        daemon = Daemon(load_config(path), console_stream=io.StringIO()).open()
        try:
            started = time.monotonic()
            await daemon.poller.poll_feed(daemon.store.feeds.get("outlet"))
            assert time.monotonic() - started < 2.5  # polling never waited for a page
            await asyncio.sleep(1.6)  # the fast page is read; the slow one's wait ran out
            watchlists = [r["watchlist"] for r in sql.outbox_rows(daemon.store, "watchlist", kind="story")]
            assert sorted(watchlists) == ["w0", "w2"]  # بوتين on the feed's text, بيلغورود in the fast page
            await settled(daemon)
            for _ in range(100):
                if sql.story_value(daemon.store, "body_state", guid="1") == BodyState.READ:
                    break
                await asyncio.sleep(0.1)
            watchlists = [r["watchlist"] for r in sql.outbox_rows(daemon.store, "watchlist", kind="story")]
            assert sorted(watchlists) == ["w0", "w1", "w2"]  # كورسك came late, بوتين not twice
            assert server.routes["/slow.html"].hits == 1 and server.routes["/fast.html"].hits == 1
        finally:
            await stop(daemon)


async def test_a_page_cut_short_by_a_stop_is_read_at_the_next_start(tmp_path):
    """SIGTERM mid-fetch: nothing was alerted for the held story; the next start reads its
    page again and alerts the name found only there."""
    with FeedServer() as server:
        body = ("<html><body><article>" + "".join(
            f"<p>فقرة رقم {i} من نص الخبر الطويل عن الاجتماع الذي عقد أمس في العاصمة الروسية.</p>" for i in range(5))
            + "<p>وأضاف أن الهجوم على مقاطعة كورسك مستمر منذ أسابيع.</p></article></body></html>")
        page = server.route("/page.html", body=body.encode(), content_type="text/html; charset=utf-8", delay=1.5)
        server.route("/feed.xml", text=rss([("1", "اجتماع لمجلس الأمن الروسي في موسكو", "عقد المجلس اجتماعا",
                                             server.url("/page.html"))]))
        path = config(tmp_path, server.url("/feed.xml"), ["كورسك"])
        first = Daemon(load_config(path), console_stream=io.StringIO()).open()
        try:
            await first.poller.poll_feed(first.store.feeds.get("outlet"))
            await asyncio.sleep(0.3)
            assert first.articles.open == 1
        finally:
            await stop(first)  # what the daemon's shutdown does with pages in flight
        second = Daemon(load_config(path), console_stream=io.StringIO()).open()
        try:
            assert sql.story_value(second.store, "body_state") == BodyState.WAITING
            assert sql.outbox_count(second.store) == 0
            assert await second.articles.resume() == 1
            await settled(second)
            for _ in range(50):
                if sql.story_value(second.store, "body_state") == BodyState.READ:
                    break
                await asyncio.sleep(0.1)
            assert [r["watchlist"] for r in sql.outbox_rows(second.store, "watchlist")] == ["w0"]
            assert page.hits == 2  # the read cut short, and the one after the restart
        finally:
            await stop(second)


async def test_a_feed_whose_pages_give_no_text_is_reported_once_and_a_dead_site_is_not(tmp_path):
    with FeedServer() as server:
        script_page = b"<html><head><script>render()</script></head><body><div id='app'></div></body></html>"
        items, dead = [], []
        for i in range(12):
            server.route(f"/app/{i}.html", body=script_page, content_type="text/html; charset=utf-8")
            items.append((f"a{i}", f"خبر رقم {i} عن اجتماع في موسكو والكرملين يعلق", "تفاصيل قليلة",
                          server.url(f"/app/{i}.html")))
            dead.append((f"d{i}", f"نبأ رقم {i} عن زيارة إلى القاهرة ولقاء مع الوزير", "تفاصيل",
                         server.url(f"/gone/{i}.html")))  # 404: the site answers, the page is not there
        server.route("/app.xml", text=rss(items))
        server.route("/dead.xml", text=rss(dead))
        tmp = tmp_path / "w"
        tmp.mkdir()
        path = config(tmp, server.url("/app.xml"), ["الكرملين"])
        path.write_text(path.read_text(encoding="utf-8").replace(
            "feeds:\n", f'feeds:\n  - {{name: dead, url: "{server.url("/dead.xml")}"}}\n'), encoding="utf-8")
        out = io.StringIO()
        daemon = Daemon(load_config(path), console_stream=out).open()
        try:
            for name in ("outlet", "dead"):
                await daemon.poller.poll_feed(daemon.store.feeds.get(name))
            await settled(daemon)
            await daemon.deliverer.run_once()
            told = [line for line in out.getvalue().splitlines() if "article pages give no text" in line]
            assert len(told) == 1 and "outlet" in told[0] and "no article text on the page" in told[0]
            feeds = {f.name: f for f in daemon.store.feeds.all()}
            assert feeds["outlet"].fulltext_flagged == 1 and feeds["dead"].fulltext_flagged == 0
            health = daemon.store.articles.fulltext_health(0)
            assert health["outlet"].rate == 0 and health["outlet"].problem == "no article text on the page"
            assert health["dead"].problem == "page not found (HTTP 404)"
            alerted = sql.outbox_count(daemon.store, kind="story")
            assert alerted == 12  # every story still alerted on its feed's text
        finally:
            await stop(daemon)
