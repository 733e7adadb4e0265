"""The web view at 200,000 stored stories: each page's time (median of --repeat) and the
try box's (a 50-term watchlist over 3 days).

    .venv/bin/python bench/web.py [--stories 200000] [--db /tmp/raqib-web-bench.db] [--repeat 15]
                                  [--stories-db /tmp/raqib-desk-bench.db]

The stories come from bench/desk.py's `build_store` (real ANT titles and abstracts, 30
days, one story in five another outlet's copy; its file is shared with bench/desk.py);
that database is copied to --db once and
given what the pages read beside stories: the outlets as feeds with their health (one
failing), and alerts, written through the real Store (`enqueue`, as the pipeline does):
one cluster in eight alerted one of the bench's two watchlists, sent to two destinations,
the payload marking the title's first word as the matched term.

The pages are asked through the real ASGI application (httpx.ASGITransport, no socket),
so a figure is the server's time: the guard, the reads in the reader thread, Jinja.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.desk import NOW, OUTLETS, ant_texts, build_store, watchlist_text  # noqa: E402
from monitor.models import Match, alert_payload  # noqa: E402
from monitor.store import FeedUpdate, Store  # noqa: E402
from monitor.watchlists import read_watchlist_text  # noqa: E402
from raqib.web import Desk, WebView  # noqa: E402

ALERT_EVERY = 8  # one cluster in eight raised an alert


def add_alerts(path: Path) -> None:
    """Feeds and alerts for the web pages (see the module); once per database."""
    store = Store(path)
    try:
        if store._scalar("SELECT COUNT(*) FROM outbox"):
            return
        store.feeds.add_many([(name, f"https://{name}.example/rss") for name in OUTLETS], source="config")
        for i, name in enumerate(OUTLETS):
            store.feeds.update(name, FeedUpdate(last_success=NOW - 300 * (i + 1), last_poll=NOW - 300,
                                               items_seen=20_000, avg_interval=600.0, title=f"{name} عربي"))
        store.feeds.update("rt", FeedUpdate(failures=3, last_error_at=NOW - 900,
                                           last_error="feed rt <https://rt.example/rss>: HTTP 503 Service Unavailable"))
        rows = store._query("SELECT id, cluster, feed, title, summary, url, fetched FROM stories WHERE id = cluster "
                            f"AND id % {ALERT_EVERY} = 0 ORDER BY id")
        for start in range(0, len(rows), 5000):
            with store.transaction() as conn:
                for n, r in enumerate(rows[start:start + 5000], start):
                    watchlist = ("desk-a", "desk-b")[n % 2]
                    word = (r["title"].split() or [""])[0]
                    matches = [Match(watchlist, word, "title", 0, len(word))] if word else []
                    payload = alert_payload(title=r["title"], url=r["url"], summary=r["summary"], source=r["feed"],
                                            published=None, watchlist_title=watchlist, matches=matches,
                                            sources=[r["feed"]])
                    for channel, dest in (("console", "-"), ("telegram", "@desk")):
                        store.outbox.enqueue(conn, channel=channel, destination=dest, kind="story", watchlist=watchlist,
                                      cluster=r["cluster"], story_id=r["id"], payload=payload, now=r["fetched"])
    finally:
        store.close()


def prepare(db: Path, stories_db: Path, stories: int) -> Path:
    if not db.exists():
        source = build_store(stories_db, stories)
        started = time.perf_counter()
        src = Store(source, readonly=True)
        src.backup(db)
        src.close()
        add_alerts(db)
        print(f"prepared {db} in {time.perf_counter() - started:.1f} s")
    return db


async def measure(db: Path, repeat: int) -> None:
    texts = ant_texts()
    yaml_text = watchlist_text(texts, 50, random.Random(11))
    watchlists, problems = read_watchlist_text(yaml_text, "bench.yaml")
    assert not problems, problems
    view = WebView(Desk(database=db, watchlists=lambda: watchlists, clock=lambda: NOW))
    store = Store(db, readonly=True)
    total = store._scalar("SELECT COUNT(*) FROM stories")
    alerts = store._scalar("SELECT COUNT(DISTINCT cluster) FROM outbox")
    story = store._scalar("SELECT story_id FROM outbox ORDER BY created DESC LIMIT 1")
    word = store._scalar("SELECT json_extract(payload, '$.matches[0].term') FROM outbox ORDER BY created DESC "
                         "LIMIT 1")
    store.close()
    day = time.strftime("%Y-%m-%d", time.gmtime(NOW - 86400))
    print(f"store: {db} ({total:,} stories, {alerts:,} alerts, {db.stat().st_size / 2**20:.0f} MiB); "
          f"median of {repeat}, ms")
    pages = [("alerts", "/"), ("alerts ?watchlist", "/?watchlist=desk-b"), ("alerts ?source", "/?source=cnn"),
             ("alerts ?day", f"/?day={day}"), ("story", f"/story/{story}"), ("watchlists", "/watchlists"),
             ("watchlist", "/watchlists/desk-a"), ("feeds", "/feeds"), ("search", f"/search?q={word}"),
             ("search, 3 days", f"/search?q={word}&days=3")]
    transport = httpx.ASGITransport(app=view.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for label, path in pages:
            times = []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                r = await client.get(path)
                times.append(time.perf_counter() - started)
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
            times = times[1:]  # the first opens the reader's connection
            print(f"  {label:<18} {statistics.median(times) * 1000:7.1f}   (max {max(times) * 1000:.1f}, "
                  f"{len(r.content) // 1024} KiB)")
        times = []
        for _ in range(max(3, repeat // 5)):
            started = time.perf_counter()
            r = await client.post("/try", data={"yaml": yaml_text, "days": "3", "file": "bench.yaml"},
                                  headers={"origin": "http://127.0.0.1"})
            times.append(time.perf_counter() - started)
            assert r.status_code == 200 and 'id="caught"' in r.text, r.text[:300]
        caught = r.text.split('class="count">', 1)[1].split("<", 1)[0]
        print(f"  {'try, 50 terms, 3d':<18} {statistics.median(times) * 1000:7.1f}   (max "
              f"{max(times) * 1000:.1f}, {caught} alerts)")
    view.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=200_000)
    ap.add_argument("--db", default="/tmp/raqib-web-bench.db")
    ap.add_argument("--stories-db", default="/tmp/raqib-desk-bench.db", help="bench/desk.py's store (built if missing)")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    asyncio.run(measure(prepare(Path(args.db), Path(args.stories_db), args.stories), args.repeat))


if __name__ == "__main__":
    main()
