"""Polling with full text on and off: does reading the pages slow polling down?

The real Daemon (in this process, SQLite in a temporary folder, the console channel
into a buffer) polls N feeds served on 127.0.0.1 (tests/support/feedserver.py), each with five
new items of real Arabic text (../shared/data/feeds, or the copies in tests/data) whose
links lead to article pages answered after 50 ms. The same cycle runs with
`fulltext: never` (the feeds' text alone) and with `auto` (every page read: the reader's
pacing, extraction in the parse workers), alternating, in one run. Printed per mode: the
wall time until every poll returned (what polling throughput is), feeds polled a second,
and, with full text, how long until every page was read and settled.

    .venv/bin/python bench/fulltext_poll.py [--feeds 200] [--rounds 2]
"""
from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from raqib.daemon import Daemon  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402

FEEDS = ROOT.parent / "shared" / "data" / "feeds"
if not FEEDS.is_dir():
    FEEDS = ROOT / "tests" / "data" / "feeds"
_ITEM = re.compile(r"<item>.*?<title>(.*?)</title>.*?<description>(.*?)</description>", re.S)


def items() -> list[tuple[str, str]]:
    out = []
    for path in sorted(FEEDS.glob("*.xml")):
        out += _ITEM.findall(path.read_text(encoding="utf-8"))
    return out


def page(title: str, lead: str) -> bytes:
    paragraphs = "".join(f"<p>{lead} فقرة {i} من نص الخبر.</p>" for i in range(12))
    return (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body><nav>الرئيسية سياسة اقتصاد'
            f"</nav><article><h1>{title}</h1>{paragraphs}</article><footer>جميع الحقوق محفوظة</footer>"
            "</body></html>").encode()


async def cycle(server: FeedServer, n: int, mode: str, pool: list[tuple[str, str]], round_no: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "w"
        folder.mkdir()
        (folder / "w.yaml").write_text("name: w\nterms: [بوتين, ترامب, الأسد]\n", encoding="utf-8")
        lines = [f"database: {Path(tmp) / 'raqib.db'}", f"watchlists: {folder}", "feeds:"]
        now = format_datetime(datetime.now(UTC))
        for f in range(n):
            entries = []
            for k in range(5):
                title, lead = pool[(f * 5 + k + round_no * 7) % len(pool)]
                path = f"/{mode}{round_no}/p{f}-{k}.html"
                server.route(path, body=page(title, lead), content_type="text/html; charset=utf-8", delay=0.05)
                entries.append(f"<item><guid>{mode}{round_no}-{f}-{k}</guid><title>{title} {f}-{k}</title>"
                               f"<link>{escape(server.url(path))}</link><description>{lead}</description>"
                               f"<pubDate>{now}</pubDate></item>")
            server.route(f"/{mode}{round_no}/f{f}.xml", text='<?xml version="1.0" encoding="utf-8"?><rss '
                         'version="2.0"><channel><title>t</title>' + "".join(entries) + "</channel></rss>")
            lines.append(f'  - {{name: f{f}, url: "{server.url(f"/{mode}{round_no}/f{f}.xml")}", fulltext: {mode}}}')
        lines += ["poll: {backfill: 1d}",  # a new feed's items alert (and so are read) on its first poll
                  "fulltext: {wait: 120s, interval: 0.05s, per_host: 4, concurrency: 16}",
                  "channels:", "  console: {}"]
        (Path(tmp) / "raqib.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        daemon = Daemon(load_config(Path(tmp) / "raqib.yaml"), console_stream=io.StringIO()).open()
        try:
            feeds = daemon.store.feeds.all()
            started = time.monotonic()
            cpu = time.process_time()
            await asyncio.gather(*(daemon.poller.poll_feed(f) for f in feeds))
            polled = time.monotonic() - started
            poll_cpu = time.process_time() - cpu
            while daemon.articles.open:
                await asyncio.sleep(0.05)
            settled = time.monotonic() - started
            return {"polled": polled, "poll_cpu": poll_cpu, "settled": settled,
                    "read": daemon.articles.read, "failed": daemon.articles.failed}
        finally:
            await daemon.articles.close()
            await daemon.article_reader.aclose()
            daemon.poller.parser.close()
            await daemon.fetcher.aclose()
            daemon.store.close()


async def run(n: int, rounds: int) -> None:
    pool = items()
    hosts = [f"127.0.0.{i}" for i in range(1, 11)]
    with FeedServer(hosts=hosts) as server:
        results: dict[str, list[dict]] = {"never": [], "auto": []}
        for r in range(rounds):
            for mode in ("never", "auto"):
                results[mode].append(await cycle(server, n, mode, pool, r))
    for mode, runs in results.items():
        best = min(runs, key=lambda x: x["polled"])
        line = (f"fulltext {mode:5}: {n} feeds polled in {best['polled']:.2f} s wall ({n / best['polled']:.0f} feeds/s,"
                f" poll CPU {best['poll_cpu']:.2f} s)")
        if mode == "auto":
            line += f"; every page read {best['settled']:.2f} s after the start ({best['read']} read, " \
                    f"{best['failed']} failed)"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    asyncio.run(run(args.feeds, args.rounds))


if __name__ == "__main__":
    main()
