"""Reading the article behind a feed item: what it costs.

Prints:
1. Extraction CPU per page (`monitor.article.extract.extract_article`: decode, furniture
   out, trafilatura), median and p99, in this process, on two sets: the labelled pages
   (tests/data/pages, 4-9 KB each) and heavy pages built from ANT stories (outside the
   reserved days) in the same five layouts plus what real outlets' pages carry around an
   article: 60 KB of inline script, a 300-link menu, inline SVG icons, 40 most-read and
   related items (about 150 KB a page). Target: median ≤ 10 ms.
   The same pages through readability-lxml (`Document(html).summary()`, then its text),
   when installed (pip install -e '.[bench]'): its CPU, and on the labelled pages how
   many body-only names it keeps and furniture-only names it lets through.
2. The reader's throughput (`ArticleReader.read`, extraction in a real ParsePool)
   against a local server answering each page after 50 ms, the pages spread over 8 host
   names: with no interval between fetches to one host (the client's own ceiling) and
   with the default pacing (1 at a time per host, 2 s apart).
3. Body bytes per story: the UTF-8 size of the extracted body of the heavy pages
   (median, p90), beside the size of ANT's own text for the same stories.
4. CPU added per new story: the daemon process's CPU per page read (fetch, pacing,
   robots) and the workers' CPU per page (decode and extraction), from the throughput
   run.

Run: .venv/bin/python bench/fulltext.py [--stories N]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

import httpcore

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from antcorpus import stories as ant_stories  # noqa: E402
from build_article_pages import NAMES, furniture, page  # noqa: E402

from monitor.article import ArticleReader  # noqa: E402
from monitor.article.extract import extract_article  # noqa: E402
from monitor.match import Matcher  # noqa: E402
from monitor.models import Term, Watchlist  # noqa: E402
from monitor.parse_pool import ParsePool  # noqa: E402
from monitor.settings import FulltextSettings  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402

ANT = ROOT.parent / "shared" / "data" / "corpora" / "antcorpus"
PAGES = ROOT / "tests" / "data" / "pages"
LAYOUTS = {"aljazeera": "cnn", "alarabiya": "alarabia", "bbc": "bbc", "skynews": "skynews", "france24": "france24"}
PUBLIC = "93.184.216.34"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def heavy(layout: str, story: dict, rng: random.Random) -> str:
    """A page as heavy as a real outlet's around one ANT story."""
    paragraphs = [p.strip() for p in story["text"].split("\n") if p.strip()]
    chosen = rng.sample(NAMES, 6)
    text = page(layout, story["title"], story["abstract"], paragraphs, "https://news.example/x",
                furniture(chosen), "utf-8")
    script = "<script>" + "var cfg={a:1,b:[1,2,3],c:'إعلان'};function f(x){return x*2}\n" * 1000 + "</script>"
    menu = "<nav class='mega-menu'><ul>" + "".join(
        f"<li><a href='/section/{i}'>قسم {i} أخبار العالم</a></li>" for i in range(300)) + "</ul></nav>"
    icons = "".join("<svg viewBox='0 0 24 24'><path d='M12 2L2 7l10 5 10-5-10-5z'/></svg>" for _ in range(100))
    lists = "<aside class='sidebar'><ol>" + "".join(
        f"<li><a href='/n/{i}'>عنوان خبر رقم {i} في الشريط الجانبي</a></li>" for i in range(40)) + "</ol></aside>"
    return text.replace("<body>", "<body>" + menu + icons, 1).replace("</body>", lists + script + "</body>", 1)


def load(n: int, seed: int = 7) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    out: list[tuple[str, dict]] = []
    per = n // len(LAYOUTS)
    for layout, src in LAYOUTS.items():
        docs = [d for d in ant_stories(ANT / f"{src}.jsonl.gz") if d["text"].count("\n") >= 2 and d["abstract"]]
        out += [(layout, d) for d in rng.sample(docs, per)]
    return out


def cpu_ms(fn, pages: list[bytes]) -> list[float]:
    times = []
    for body in pages:
        start = time.process_time()
        fn(body)
        times.append((time.process_time() - start) * 1000)
    return times


def readability_text(body: bytes) -> str:
    from lxml import html as lxml_html
    from readability import Document

    summary = Document(body.decode("utf-8", "replace")).summary(html_partial=True)
    return "\n".join(t.strip() for t in lxml_html.fromstring(summary).itertext() if t.strip())


def labelled_scores(extract) -> tuple[int, int, int, int]:
    manifest = json.loads((PAGES / "manifest.json").read_text(encoding="utf-8"))
    matcher = Matcher([Watchlist(name=n, title=n, terms=(Term(n, variants=" " not in n),)) for n in manifest["names"]])
    kept = body_total = leaked = furniture_total = 0
    for p in manifest["pages"]:
        raw = (PAGES / p["file"]).read_bytes()
        if p["encoding"] != "utf-8":
            raw = raw.decode(p["encoding"]).encode("utf-8")  # readability decodes on its own terms
        found = {m.watchlist for m in matcher.match(extract(raw))}
        kept += len(set(p["body_only"]) & found)
        body_total += len(p["body_only"])
        leaked += len(set(p["furniture_only"]) & found)
        furniture_total += len(p["furniture_only"])
    return kept, body_total, leaked, furniture_total


class DNS:
    async def __call__(self, host: str, port: int) -> list[str]:
        return [PUBLIC]


class Network(httpcore.AsyncNetworkBackend):
    def __init__(self, port: int) -> None:
        self.port = port
        self.real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return await self.real.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


async def throughput(server: FeedServer, pool: ParsePool, urls: list[str], settings: FulltextSettings
                     ) -> tuple[float, float, int]:
    """(pages a second, daemon CPU ms per page, pages read)."""
    async with ArticleReader(settings, pool=pool, resolver=DNS(), network=Network(server.port)) as reader:
        wall, cpu = time.monotonic(), time.process_time()
        results = await asyncio.gather(*(reader.read(u, feed_url="http://feeds.example/rss") for u in urls))
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    ok = sum(r.ok for r in results)
    return ok / wall, cpu * 1000 / max(1, ok), ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stories", type=int, default=250)
    args = parser.parse_args()
    stories = load(args.stories)
    rng = random.Random(3)
    labelled = [p.read_bytes() for p in sorted(PAGES.glob("*.html"))]
    heavy_pages = [heavy(layout, d, rng).encode("utf-8") for layout, d in stories]
    for body in labelled[:3]:
        extract_article(body, None)  # imports and first-use caches out of the figures

    print("1. extraction CPU per page (ms, this process)")
    for name, pages in (("labelled pages", labelled), ("heavy pages", heavy_pages)):
        t = cpu_ms(lambda b: extract_article(b, None), pages)
        size = statistics.median(len(b) for b in pages) / 1024
        print(f"   trafilatura  {name:15} n={len(pages):4} median {statistics.median(t):6.2f}  "
              f"p99 {pct(t, 0.99):6.2f}  (page median {size:.0f} KiB)")
    try:
        import readability  # noqa: F401
    except ImportError:
        print("   readability-lxml not installed (pip install -e '.[bench]')")
    else:
        for name, pages in (("labelled pages", labelled), ("heavy pages", heavy_pages)):
            t = cpu_ms(readability_text, pages)
            print(f"   readability  {name:15} n={len(pages):4} median {statistics.median(t):6.2f}  "
                  f"p99 {pct(t, 0.99):6.2f}")
        for name, fn in (("trafilatura+cleaning", lambda b: extract_article(b, "utf-8")),
                         ("readability-lxml", readability_text)):
            kept, total, leaked, ftotal = labelled_scores(fn)
            print(f"   labelled pages, {name:21}: body-only names kept {kept}/{total}, "
                  f"furniture-only names let through {leaked}/{ftotal}")

    print("2. reader throughput, 50 ms a page, 8 hosts, extraction in 2 worker processes")
    server = FeedServer(record=False).start()
    pool = ParsePool(2)
    try:
        urls = []
        for i, body in enumerate(heavy_pages[:200]):
            server.route(f"/p/{i}", body=body, content_type="text/html; charset=utf-8", delay=0.05)
            urls.append(f"http://h{i % 8}.example:{server.port}/p/{i}")
        server.route("/robots.txt", text="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        asyncio.run(throughput(server, pool, urls[:8], FulltextSettings(interval=0.0)))  # workers started
        rate, loop_ms, ok = asyncio.run(throughput(server, pool, urls, FulltextSettings(interval=0.0)))
        print(f"   no interval, per_host 1, concurrency 8: {rate:6.1f} pages/s ({ok} pages)")
        paced, _, ok2 = asyncio.run(throughput(server, pool, urls[:24], FulltextSettings()))
        print(f"   default pacing (2 s a host):            {paced:6.1f} pages/s ({ok2} pages; ceiling 8 hosts / 2 s)")
        worker = cpu_ms(lambda b: extract_article(b, None), heavy_pages[:200])
    finally:
        pool.close()
        server.close()

    bodies = [len(extract_article(b, None).encode("utf-8")) for b in heavy_pages]
    source = [len(d["text"].encode("utf-8")) for _, d in stories]
    print("3. body bytes per story (UTF-8)")
    print(f"   extracted body median {statistics.median(bodies):,.0f}  p90 {pct(bodies, 0.9):,.0f}   "
          f"(ANT text of the same stories: median {statistics.median(source):,.0f})")
    print("4. CPU added per new story read")
    print(f"   daemon process {loop_ms:.2f} ms a page (fetch, pacing, robots, handing to the worker)")
    print(f"   worker process {statistics.median(worker):.2f} ms a page median (decode + extraction)")


if __name__ == "__main__":
    main()
