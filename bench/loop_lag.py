"""Event-loop lag while the daemon polls, with its store on SQLite or PostgreSQL.

    .venv/bin/python bench/loop_lag.py                                   # SQLite, then PostgreSQL
    .venv/bin/python bench/loop_lag.py --database postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/loop_lag.py --feeds 300 --seconds 20 --inline  # store calls on the loop

The real Daemon runs in this process against `--feeds` RSS feeds on loopback
(tests/support/feedserver.py, its own thread), polled every 2 s; a story carrying a watchlist
term is published every `--every` seconds, so polls store stories and queue console
alerts all along. A ticker on the daemon's loop sleeps 10 ms at a time; its lag is how
much later than asked each tick woke. Printed per database: polls, stories stored,
alerts sent, and the ticker's p50 / p99 / max lag after `--warmup` seconds of start-up.
`--inline` runs the same store calls on the loop instead of the store thread, to show
what the thread saves. PostgreSQL runs
in a fresh schema of the server's database (dropped afterwards).

`--big N` adds one feed of N distinct items (near-identical titles, like a feed that
renews its GUIDs), polled beside the others: the lag then shows whether one feed's
ingest holds the loop. `--ingest N` measures ingest throughput instead: N new stories,
in feeds of 500, through `Pipeline.ingest_off_loop` and the store thread on SQLite
(stories per second of wall time and of CPU time).

Before and after in one run: `--compare DIR` runs every measurement with this tree and
with the tree in DIR (an older checkout, e.g. `git archive BASE | tar -x -C DIR`),
alternating, each in its own process, and prints both:

    .venv/bin/python bench/loop_lag.py --compare /tmp/before --database sqlite --big 26000 --ingest 5000
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("RAQIB_BENCH_TREE") or HERE.parent).resolve()  # the code measured
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the helpers, here or in an older tree

from daemon_harness import GrowingFeeds, random_title, rss, write_watchlist  # noqa: E402
from feedserver import FeedServer  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.store.worker import inline  # noqa: E402
from raqib.daemon import Daemon  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def big_feed(n: int) -> bytes:
    rng = random.Random(26)
    now = time.time()
    return rss("big", [{"title": f"خبر عن الطقس رقم {i} " + random_title(rng, "المطر"), "url": f"http://big.example/{i}",
                        "published": now - n + i, "summary": "تفاصيل " * 20} for i in range(n)])


async def run_once(database: str, tmp: Path, feeds: int, seconds: float, every: float, on_loop: bool,
                   warmup: float, big: int = 0) -> dict:
    with FeedServer() as server:
        growing = GrowingFeeds(server, feeds)
        write_watchlist(tmp / "wl", "w", ["بوتين"])
        lines = [f"database: '{database}'", f"watchlists: {tmp / 'wl'}", "feeds:"]
        lines += [f'  - {{name: {n}, url: "{growing.url(n)}"}}' for n in growing.names]
        if big:
            server.route("/big.xml", body=big_feed(big))
            lines.append(f'  - {{name: big, url: "{server.url("/big.xml")}"}}')
        lines += ["poll: {interval: 2s, min_interval: 1s, adaptive: false, backfill: 1h, max_bytes: 50MB}",
                  "channels:", "  console: {}"]
        config = tmp / "raqib.yaml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        daemon = Daemon(load_config(config), console_stream=io.StringIO()).open()
        if on_loop:
            daemon.poller.on_store = daemon.deliverer.on_store = inline
        lags: list[float] = []
        begin = time.perf_counter()

        async def ticker() -> None:
            while True:
                asked = time.perf_counter()
                await asyncio.sleep(0.01)
                if asked - begin > warmup:  # start-up (parse workers spawning, first full poll) apart
                    lags.append(time.perf_counter() - asked - 0.01)

        async def publisher() -> None:
            while True:
                growing.publish()
                await asyncio.sleep(every)

        tasks = [asyncio.create_task(ticker()), asyncio.create_task(publisher())]
        await daemon.run(seconds=seconds)
        for t in tasks:
            t.cancel()
        polls = daemon.poller.polls
    from monitor.store import Store

    store = Store(database, readonly=True)
    try:
        counts = store.stories.counts()
        sent = store.alerts_raised()
    finally:
        store.close()
    lags.sort()
    return {"polls": polls, "stories": counts["stories"], "alerts": sent,
            "p50": lags[len(lags) // 2] * 1000, "p99": lags[int(len(lags) * 0.99)] * 1000, "max": lags[-1] * 1000}


async def ingest_throughput(n: int, tmp: Path) -> dict:
    """N new stories in feeds of 500 through the daemon's driver (`ingest_off_loop`, the
    store thread), on SQLite: stories per second of wall and of CPU time."""
    from monitor.dedup import Clusterer
    from monitor.models import Story
    from monitor.pipeline import Pipeline
    from monitor.store import Store
    from monitor.store.worker import StoreThread
    from monitor.watchlists import WatchlistRegistry

    write_watchlist(tmp / "wl", "w", ["بوتين", "زيلينسكي", "الكرملين"])
    store = Store(tmp / "ingest.db")
    thread = StoreThread()
    pipeline = Pipeline(store, WatchlistRegistry(tmp / "wl"), Clusterer(), channels=("console",))
    rng = random.Random(5)
    start = datetime.now(UTC) - timedelta(hours=6)
    stories = [Story(feed=f"f{i // 500}", guid=f"g{i}", url=f"https://news.example/{i}",
                     title=random_title(rng, "بوتين" if i % 10 == 0 else "الطقس"),
                     summary=random_title(rng, "المطر"), published=start + timedelta(seconds=i)) for i in range(n)]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, n, 500):
        await pipeline.ingest_off_loop(f"f{i // 500}", stories[i:i + 500], thread)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stored = store.stories.counts()["stories"]
    thread.close()
    store.close()
    return {"stories": stored, "wall": wall, "cpu": cpu}


def pg_schema(url: str) -> tuple[str, str]:
    import psycopg
    from pg import with_schema

    schema = f"raqib_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return with_schema(url, schema), schema


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", action="append", help="sqlite, or a postgresql:// URL (default: both)")
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--every", type=float, default=0.1, help="seconds between published stories")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of start-up left out of the lag figures")
    ap.add_argument("--inline", action="store_true", help="also run with the store calls on the loop")
    ap.add_argument("--big", type=int, default=0, help="add one feed of this many items")
    ap.add_argument("--ingest", type=int, default=0, help="measure ingest throughput of this many stories")
    ap.add_argument("--compare", metavar="DIR", help="run every measurement with this tree and DIR, alternating")
    ap.add_argument("--rounds", type=int, default=1, help="with --compare: alternations")
    args = ap.parse_args()
    if args.compare:
        compare(args)
        return
    import logging

    logging.basicConfig(level=logging.WARNING)
    tree = "this tree" if not os.environ.get("RAQIB_BENCH_TREE") else f"tree {ROOT}"
    if args.ingest:
        with tempfile.TemporaryDirectory() as tmp:
            r = asyncio.run(ingest_throughput(args.ingest, Path(tmp)))
        print(f"[{tree}] ingest sqlite stories={r['stories']} wall={r['wall']:.2f} s cpu={r['cpu']:.2f} s "
              f"throughput={r['stories'] / r['wall']:.0f} stories/s ({r['stories'] / r['cpu']:.0f} per CPU second)")
        return
    for database in args.database or ["sqlite", PG_DEFAULT]:
        for on_loop in ([False, True] if args.inline else [False]):
            with tempfile.TemporaryDirectory() as tmp:
                schema = None
                url = str(Path(tmp) / "raqib.db") if database == "sqlite" else database
                if url.startswith("postgres"):
                    url, schema = pg_schema(database)
                try:
                    r = asyncio.run(run_once(url, Path(tmp), args.feeds, args.seconds, args.every, on_loop,
                                             args.warmup, args.big))
                finally:
                    if schema:
                        from pg import drop_schema
                        drop_schema(database, schema)
            where = "sqlite" if database == "sqlite" else "postgresql"
            mode = "store calls on the loop" if on_loop else "store thread"
            big = f" big={args.big}" if args.big else ""
            print(f"[{tree}] {where:<10} {mode:<23} feeds={args.feeds}{big} seconds={args.seconds:g} "
                  f"polls={r['polls']} stories={r['stories']} alerts={r['alerts']}  loop lag (10 ms ticker): "
                  f"p50={r['p50']:.1f} ms p99={r['p99']:.1f} ms max={r['max']:.1f} ms")


def compare(args: argparse.Namespace) -> None:
    """This tree and `--compare DIR`, alternating, each measurement in a process of its own."""
    passed = [a for a in sys.argv[1:]]
    i = passed.index("--compare")
    del passed[i:i + 2]
    for flag in ("--rounds",):
        if flag in passed:
            j = passed.index(flag)
            del passed[j:j + 2]
    runs = []
    if args.ingest:
        runs.append([a for k, a in enumerate(passed) if not (a == "--big" or (k and passed[k - 1] == "--big"))])
    lag = [a for k, a in enumerate(passed) if not (a == "--ingest" or (k and passed[k - 1] == "--ingest"))]
    runs.append(lag)
    for _ in range(args.rounds):
        for run in runs:
            for tree in (Path(args.compare).resolve(), HERE.parent):
                env = {**os.environ, "RAQIB_BENCH_TREE": str(tree), "PYTHONPATH": str(tree)}
                subprocess.run([sys.executable, str(Path(__file__).resolve()), *run], env=env, check=False)


if __name__ == "__main__":
    main()
