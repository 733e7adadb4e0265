"""Event-loop lag while the daemon polls, with its store on SQLite or PostgreSQL.

    .venv/bin/python bench/loop_lag.py                                   # SQLite, then PostgreSQL
    .venv/bin/python bench/loop_lag.py --database postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/loop_lag.py --feeds 300 --seconds 20 --inline  # store calls on the loop

The real Daemon runs in this process against `--feeds` RSS feeds on loopback
(tests/feedserver.py, its own thread), polled every 2 s; a story carrying a watchlist
term is published every `--every` seconds, so polls store stories and queue console
alerts all along. A ticker on the daemon's loop sleeps 10 ms at a time; its lag is how
much later than asked each tick woke. Printed per database: polls, stories stored,
alerts sent, and the ticker's p50 / p99 / max lag after `--warmup` seconds of start-up.
`--inline` runs the same store calls on the loop instead of the store thread, to show
what the thread saves. PostgreSQL runs
in a fresh schema of the server's database (dropped afterwards).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from daemon_harness import GrowingFeeds, write_watchlist  # noqa: E402
from feedserver import FeedServer  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.store.worker import inline  # noqa: E402
from raqib.daemon import Daemon  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


async def run_once(database: str, tmp: Path, feeds: int, seconds: float, every: float, on_loop: bool,
                   warmup: float) -> dict:
    with FeedServer() as server:
        growing = GrowingFeeds(server, feeds)
        write_watchlist(tmp / "wl", "w", ["بوتين"])
        lines = [f"database: '{database}'", f"watchlists: {tmp / 'wl'}", "feeds:"]
        lines += [f'  - {{name: {n}, url: "{growing.url(n)}"}}' for n in growing.names]
        lines += ["poll: {interval: 2s, min_interval: 1s, adaptive: false, backfill: 1h}", "channels:", "  console: {}"]
        config = tmp / "raqib.yaml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        daemon = Daemon(load_config(config), console_stream=io.StringIO())
        if on_loop:
            daemon.poller.db = daemon.deliverer.db = inline
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
        counts = store.story_counts()
        sent = store.alerts_raised()
    finally:
        store.close()
    lags.sort()
    return {"polls": polls, "stories": counts["stories"], "alerts": sent,
            "p50": lags[len(lags) // 2] * 1000, "p99": lags[int(len(lags) * 0.99)] * 1000, "max": lags[-1] * 1000}


def pg_schema(url: str) -> tuple[str, str]:
    import psycopg

    from tests.pg import with_schema

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
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    for database in args.database or ["sqlite", PG_DEFAULT]:
        for on_loop in ([False, True] if args.inline else [False]):
            with tempfile.TemporaryDirectory() as tmp:
                schema = None
                url = str(Path(tmp) / "raqib.db") if database == "sqlite" else database
                if url.startswith("postgres"):
                    url, schema = pg_schema(database)
                try:
                    r = asyncio.run(run_once(url, Path(tmp), args.feeds, args.seconds, args.every, on_loop,
                                                 args.warmup))
                finally:
                    if schema:
                        from tests.pg import drop_schema
                        drop_schema(database, schema)
            where = "sqlite" if database == "sqlite" else "postgresql"
            mode = "store calls on the loop" if on_loop else "store thread"
            print(f"{where:<10} {mode:<23} feeds={args.feeds} seconds={args.seconds:g} polls={r['polls']} "
                  f"stories={r['stories']} alerts={r['alerts']}  loop lag (10 ms ticker): "
                  f"p50={r['p50']:.1f} ms p99={r['p99']:.1f} ms max={r['max']:.1f} ms")


if __name__ == "__main__":
    main()
