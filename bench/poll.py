"""Poll benchmark: one full polling cycle over N feeds served on loopback.

    .venv/bin/python bench/poll.py                 # N = 100, 1000, 5000
    .venv/bin/python bench/poll.py --sizes 1000 --naive-sample 50

The feeds are real Arabic items (../shared/data/feeds: Al Arabiya, BBC Arabic, CNN
Arabic, France 24, Sky News Arabia), each feed a 40-item window of one outlet's items, as
live feeds carry. The server (tests/support/feedserver.py) runs in a separate process, listening
on one port of 127.0.0.1 ... 127.0.0.K (20 feeds a host), so per-host limits act as they
would against real outlets, and its CPU is measured apart from the client's.

The mix is that of a steady state: 60% of feeds answer 304 to the ETag the poller kept,
35% have no validators and send the same body again (skipped by hash before decoding),
5% have two new items (decoded and parsed: the poller kept the keys of the previous
body's items, so only the two new ones are read, as `monitor.feed_items` does in the
daemon; `--read-all` reads every item, as before it). A cycle is Fetcher + decode +
parse (parse skipped for 304/unchanged), as the daemon runs it, from a cold start (no
open connections: between real polls minutes apart, keep-alive connections are gone).

The naive baseline is sequential `feedparser.parse(url)` per feed (no validators, so a
full download and parse each time), measured on a sample of feeds and extrapolated to N
(printed as such). Printed: wall seconds, feeds/s, client CPU seconds per 1,000 polls,
the server's CPU, and the speed-up over naive. `--profile N` runs one cycle under
cProfile before each timed one and prints its N costliest functions by their own time
(the event loop's thread; the parses run in another, and the timed cycle then finds
the process warm).

Where a poll's CPU goes (`--sizes 5000 --latency 0 --profile 8`): no function of ours
is in the top; the cost is spread over httpx, httpcore, h11 and asyncio, each a few
per cent. Before monitor.aionet, the top five were socket.close (3.3%), sniffio's
current_async_library (2.2%, 28 calls a poll), asyncio's current_task (1.9%, 74 a poll)
and anyio's cancel scope __enter__/__exit__ (1.8% and 1.6%, 14 a poll): anyio's connect
ran a task group (happy eyeballs) for one address, and each read and write entered a
cancel scope. After it: sha256 of the bodies (3.7%), socket.close, httpcore's pool
walking its connections, socket.connect, asyncio's handles. httpx's cookie handling
took 40 us an answer (a jar shared by every feed; now one that keeps nothing, 17 us).
Four rounds in turn with the previous tree on a shared 2-core machine, CPU ms a poll:
2.13/2.16/2.15/1.99 before, 2.09/2.05/1.63/1.88 after (means 2.11 and 1.91). Alone, a
304 (`--latency 0`, the 304 feeds only) went from 1.3 to 1.1 ms. What is left is httpx
and httpcore's own work a request (a Request, a URL parse, a pool, an h11 connection,
a Response) and the kernel's socket calls; a raw asyncio stream does a 304 in about a
fifth of that.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import multiprocessing as mp
import pstats
import random
import re
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/ holds other scripts whose names may shadow the standard library (email.py).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from monitor.decode import decode_feed  # noqa: E402
from monitor.feed_items import parse_new_items  # noqa: E402
from monitor.fetch import Fetcher  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402

FEEDS_DIR = ROOT.parent / "shared" / "data" / "feeds"
if not FEEDS_DIR.is_dir():
    FEEDS_DIR = ROOT / "tests" / "data" / "feeds"
WINDOW = 40
FEEDS_PER_HOST = 20
NEW_SHARE, ETAG_SHARE = 0.05, 0.60


def build_bodies() -> list[tuple[bytes, bytes]]:
    """(current, previous) feed bodies: windows of real items; previous lacks the 2 newest."""
    bodies = []
    for path in sorted(FEEDS_DIR.glob("*.xml")):
        text = path.read_text("utf-8")
        head = text[: text.index("<item>")]
        items = re.findall(r"<item>.*?</item>", text, re.S)
        for offset in range(0, max(1, len(items) - WINDOW - 2), 8)[:20]:
            cur = head + "\n".join(items[offset:offset + WINDOW]) + "\n</channel>\n</rss>\n"
            old = head + "\n".join(items[offset + 2:offset + 2 + WINDOW]) + "\n</channel>\n</rss>\n"
            bodies.append((cur.encode("utf-8"), old.encode("utf-8")))
    return bodies


def plan(n: int, bodies: list, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    feeds = []
    hosts = max(1, n // FEEDS_PER_HOST)
    for i in range(n):
        kind = rng.random()
        kind = "new" if kind < NEW_SHARE else "etag" if kind < NEW_SHARE + ETAG_SHARE else "same"
        feeds.append({"path": f"/feed/{i}.xml", "host": f"127.0.0.{1 + i % hosts}",
                      "body": i % len(bodies), "kind": kind,
                      "etag": f'"{i}-v2"' if kind == "etag" else None})
    return feeds


def serve(conn, feeds: list[dict], bodies: list, delay: float) -> None:
    hosts = sorted({f["host"] for f in feeds}, key=lambda h: int(h.rsplit(".", 1)[1]))
    server = FeedServer(hosts=hosts, record=False)
    for f in feeds:
        server.route(f["path"], body=bodies[f["body"]][0], etag=f["etag"], delay=delay)
    server.start()
    conn.send(server.port)
    conn.recv()  # until told to stop
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(usage.ru_utime + usage.ru_stime)
    server.close()


async def cycle(feeds: list[dict], hashes: list, port: int, done: list[bytes] | None = None) -> dict:

    counts = {"ok": 0, "not_modified": 0, "unchanged": 0, "error": 0, "stories": 0}
    fetched = datetime.now(UTC)

    async def one(fetcher: Fetcher, f: dict) -> None:
        url = f"http://{f['host']}:{port}{f['path']}"
        known = hashes[f["body"]][1 if f["kind"] == "new" else 0]
        try:
            r = await fetcher.fetch(f["path"], url, etag=f["etag"], body_hash=known)
            counts[r.status] += 1
            if r.status == "ok":
                kept = done[f["body"]] if done is not None else b""  # the previous body's items, read then
                parsed = await asyncio.to_thread(parse_new_items, f["path"], decode_feed(r.body, r.charset), r.url,
                                                 fetched, kept)
                counts["stories"] += len(parsed.stories)
        except Exception as exc:  # a benchmark counts failures rather than stopping
            counts["error"] += 1
            counts.setdefault("first_error", repr(exc))

    async with Fetcher(concurrency=50, per_host=4) as fetcher:
        await asyncio.gather(*(one(fetcher, f) for f in feeds))
    return counts


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    """The `top` functions by their own time (the event loop's thread; parses run in another)."""
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    print(f"  profile of one cycle, top {top} by own time ({total:.2f} s in all, profiled):")
    for (path, line, name), (_cc, calls, own, _cum, _callers) in rows:
        where = "/".join(Path(path).parts[-2:]) if path != "~" else "built-in"
        print(f"    {own / total:>5.1%} {own:>6.2f} s {calls:>8} calls  {where}:{line} {name}")


def naive(feeds: list[dict], port: int, sample: int) -> tuple[float, float]:
    import feedparser

    chosen = random.Random(7).sample(feeds, min(sample, len(feeds)))
    wall, cpu = time.perf_counter(), time.process_time()
    for f in chosen:
        feedparser.parse(f"http://{f['host']}:{port}{f['path']}")
    return ((time.perf_counter() - wall) / len(chosen), (time.process_time() - cpu) / len(chosen))


def run(n: int, bodies: list, naive_sample: int, delay: float, read_all: bool = False, profile: int = 0) -> dict:
    feeds = plan(n, bodies)
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(child, feeds, bodies, delay),
                                           daemon=True)
    proc.start()
    if not parent.poll(60):
        proc.kill()
        raise SystemExit("feed server did not start")
    port = parent.recv()
    try:
        # What the poller kept from the previous cycle (not timed).
        hashes = [(hashlib.sha256(cur).hexdigest(), hashlib.sha256(old).hexdigest())
                  for cur, old in bodies]
        when = datetime.now(UTC)
        done = None if read_all else [b"".join(parse_new_items("f", decode_feed(old, None), "http://x/", when).items)
                                      for _cur, old in bodies]
        if profile:  # a cycle of its own, profiled, before the one timed (a profiler slows what it watches)
            profiler = cProfile.Profile()
            profiler.runcall(asyncio.run, cycle(feeds, hashes, port, done))
            print_profile(profiler, profile)
        wall, cpu = time.perf_counter(), time.process_time()
        counts = asyncio.run(cycle(feeds, hashes, port, done))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        naive_wall, naive_cpu = naive(feeds, port, naive_sample)
    finally:
        parent.send("stop")
        server_cpu = parent.recv() if parent.poll(30) else float("nan")
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    return {"n": n, "wall": wall, "cpu": cpu, "counts": counts, "server_cpu": server_cpu,
            "naive_wall_per_feed": naive_wall, "naive_cpu_per_feed": naive_cpu,
            "naive_sample": min(naive_sample, n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--naive-sample", type=int, default=100,
                    help="feeds fetched the naive way per size, extrapolated to N")
    ap.add_argument("--read-all", action="store_true", help="read every item of a changed body (no kept keys)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="before each timed cycle, profile one and print its N costliest functions")
    ap.add_argument("--latency", default="0,0.05",
                    help="server delays before each answer, in seconds, one table each")
    args = ap.parse_args()
    bodies = build_bodies()
    avg = sum(len(c) for c, _ in bodies) / len(bodies)
    print(f"feeds: {len(bodies)} distinct {WINDOW}-item bodies from {FEEDS_DIR}, "
          f"avg {avg / 1024:.0f} KiB; mix: {ETAG_SHARE:.0%} 304, "
          f"{1 - ETAG_SHARE - NEW_SHARE:.0%} unchanged, {NEW_SHARE:.0%} new items")
    for delay in (float(x) for x in args.latency.split(",")):
        print(f"\nserver answers after {delay * 1000:.0f} ms"
              + (" (loopback only: no network latency)" if not delay
                 else " (a network round trip and server time, as over the internet)"))
        table(args, bodies, delay)
    print(f"\nnaive = sequential feedparser.parse(url), no validators (full download and "
          f"parse each time), timed on {args.naive_sample} sampled feeds per row and "
          f"extrapolated to N; speed-up = naive wall / cycle wall.")


def table(args: argparse.Namespace, bodies: list, delay: float) -> None:
    print(f"{'N':>6} {'wall s':>8} {'feeds/s':>9} {'CPU s/1k':>9} {'server CPU s':>12} "
          f"{'naive s (extrap.)':>18} {'speed-up':>9}  outcome")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n, bodies, args.naive_sample, delay, args.read_all, args.profile)
        c = r["counts"]
        naive_total = r["naive_wall_per_feed"] * n
        outcome = (f"304={c['not_modified']} same={c['unchanged']} ok={c['ok']} "
                   f"stories={c['stories']} errors={c['error']}")
        if c.get("first_error"):
            outcome += f" first_error={c['first_error'][:120]}"
        print(f"{n:>6} {r['wall']:>8.2f} {n / r['wall']:>9.0f} {r['cpu'] / n * 1000:>9.2f} "
              f"{r['server_cpu']:>12.2f} {naive_total:>18.1f} {naive_total / r['wall']:>8.1f}x  "
              f"{outcome}", flush=True)


if __name__ == "__main__":
    main()
