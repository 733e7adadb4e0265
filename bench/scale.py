"""Scale-out benchmark: 1, 2 and 4 nodes on one PostgreSQL beside one node on SQLite.

    .venv/bin/python bench/scale.py                              # 20,000 feeds, 60 s per setup
    .venv/bin/python bench/scale.py --feeds 2000 --seconds 20 --warmup 15 --interval 10  # a short run
    .venv/bin/python bench/scale.py --nodes 1,4 --no-sqlite

Every setup gets a fresh database (a SQLite file, or a PostgreSQL schema of its own on
RAQIB_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/test), a fresh feed
server process (bench/soak.py's: feed i carries its 20 newest items, item j appears at
T0 + j/rate on a random feed, ETag per state so unchanged feeds answer 304), `--nodes`
real daemons (`raqib run`) and the webhook receiver of bench/soak.py. After `--warmup`
seconds the run is measured for `--seconds`:

- polls/s       polls finished by all nodes (their rows in `nodes`) per second;
- CPU/1k polls  CPU seconds per 1,000 polls of everything the setup runs: the daemons,
                their parse workers, and the PostgreSQL backends serving them;
- p95 latency   from an item appearing in its feed to its alert at the receiver (items
                that appeared in the measured window, early enough to be polled);
- connections   PostgreSQL sessions the nodes hold (pg_stat_activity; 0 for SQLite);
- rows/story    rows inserted, updated and deleted in stories, outbox and
                cluster_watchlists per story stored, and rows/poll those of feeds per
                poll (leases, fetch state), from pg_stat_user_tables (not for SQLite).

With 2 shared cores the machine saturates long before the nodes do: polls/s stops
growing with nodes once the cores are busy. The figures that say whether the design
scales are the cost per poll and per story, which should stay flat as nodes are added.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from soak import TERMS, Receiver, feed_server, percentile, schedule  # noqa: E402

STORY_TABLES = ("stories", "outbox", "cluster_watchlists")  # what a story writes (rows/story)
POSTGRES = os.environ.get("RAQIB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pids: list[int]) -> set[int]:
    """The processes and all their children (parse workers)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    out = set(pids)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in out and pid not in out:
                out.add(pid)
                grew = True
    return out


class Setup:
    def __init__(self, backend: str, nodes: int, args: argparse.Namespace) -> None:
        self.backend, self.nodes, self.args = backend, nodes, args
        self.tmp = Path(tempfile.mkdtemp(prefix="raqib-scale-"))
        self.schema = f"scale_{secrets.token_hex(4)}"
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds at the start of the measurement

    @property
    def database(self) -> str:
        if self.backend == "sqlite":
            return str(self.tmp / "raqib.db")
        return f"{POSTGRES}?options={quote(f'-csearch_path={self.schema}')}"

    def backends(self, conn: psycopg.Connection, baseline: set[int]) -> set[int]:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type='client backend' "
                            "AND pid <> pg_backend_pid()").fetchall()
        return {r[0] for r in rows} - baseline

    def run(self) -> dict:  # noqa: C901 (one scenario read top to bottom)
        a = self.args
        t0 = time.time() + 3.0
        total = a.warmup + a.seconds
        ports: mp.Queue = mp.Queue()
        server = mp.Process(target=feed_server, args=(ports, a.feeds, a.rate, total + 30, t0), daemon=True)
        server.start()
        port = ports.get(timeout=60)
        receiver = Receiver()
        (self.tmp / "wl").mkdir()
        for k, term in enumerate(TERMS):
            (self.tmp / "wl" / f"scale{k}.yaml").write_text(
                f"name: scale{k}\ntitle: scale {k}\nterms: [{term}]\nnotify:\n  webhook: [\"{receiver.url}\"]\n",
                encoding="utf-8")
        lines = [f"database: {self.database}", f"watchlists: {self.tmp / 'wl'}",
                 f"poll: {{interval: {a.interval}s, min_interval: {a.interval}s, adaptive: false, "
                 f"concurrency: 100, per_host: 100, backfill: 1h}}",  # items before a first poll alert too
                 # the items link to news.example, which no node can read: waiting for those pages
                 # (fulltext.wait) would be measured instead of polling and alerting
                 "fulltext: {mode: never}",
                 "delivery: {burst: 100000}", 'node: {name: "${RAQIB_NODE}", heartbeat: 1s}',
                 "channels:", "  webhook: {timeout: 10s, allow_private: true}", "feeds:"]
        lines += [f'  - {{name: f{i:05d}, url: "http://127.0.0.1:{port}/feed/{i}.xml"}}' for i in range(a.feeds)]
        (self.tmp / "raqib.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        admin = None
        baseline: set[int] = set()
        if self.backend == "postgresql":
            admin = psycopg.connect(POSTGRES, autocommit=True)
            admin.execute(f"CREATE SCHEMA {self.schema}")
            baseline = {r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity").fetchall()}
        procs: list[subprocess.Popen] = []
        try:
            for i in range(self.nodes):
                env = {**os.environ, "PYTHONPATH": str(ROOT), "RAQIB_LOG_LEVEL": "WARNING", "RAQIB_NODE": f"n{i}"}
                log = open(self.tmp / f"n{i}.log", "wb")  # noqa: SIM115 (the node writes it; closed when it stops)
                procs.append(subprocess.Popen([sys.executable, "-m", "raqib.cli", "run", "--config",
                                               str(self.tmp / "raqib.yaml")],
                                              stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=str(ROOT)))
            time.sleep(max(0.0, t0 + a.warmup - time.time()))
            start = time.time()
            polls0, pids = self.polls(), self.pids(procs, admin, baseline)
            self.cpu = {pid: cpu_seconds(pid) for pid in pids}
            writes0, feed_writes0 = self.writes(admin), self.writes(admin, tables=("feeds",))
            stories0 = self.stories()
            connections = 0
            while time.time() - start < a.seconds:
                time.sleep(min(5.0, a.seconds - (time.time() - start)))
                if admin is not None:
                    connections = max(connections, len(self.backends(admin, baseline)))
                for pid in self.pids(procs, admin, baseline):
                    self.cpu.setdefault(pid, 0.0)  # a process born meanwhile: all its CPU counts
                for p in procs:
                    if p.poll() is not None:
                        raise RuntimeError(f"a node exited early: {(self.tmp / 'n0.log').read_text()[-2000:]}")
            elapsed = time.time() - start
            cpu = sum(max(0.0, cpu_seconds(pid) - before) for pid, before in self.cpu.items())
            polls = self.polls() - polls0
            stories = self.stories() - stories0
            writes = self.writes(admin) - writes0 if admin is not None else None
            feed_writes = self.writes(admin, tables=("feeds",)) - feed_writes0 if admin is not None else None
            end = start + elapsed
            latencies = []
            for i, items in enumerate(schedule(a.feeds, a.rate, total + 30)):
                for j in items:
                    appeared = t0 + j / a.rate
                    if j % 2 or appeared < start or appeared > end - a.interval * 1.2 - 3:
                        continue
                    got = receiver.arrived.get(f"http://news.example/{i}/{j}")
                    if got is not None:
                        latencies.append(got - appeared)
            return {"setup": f"{self.backend} x{self.nodes}", "polls_s": polls / elapsed,
                    "cpu_1k": cpu / polls * 1000 if polls else float("nan"),
                    "cpu_story": cpu / stories if stories else float("nan"),
                    "p95": percentile(latencies, 0.95), "alerts": len(latencies), "connections": connections,
                    "rows_story": writes / stories if writes is not None and stories else None,
                    "rows_poll": feed_writes / polls if feed_writes is not None and polls else None,
                    "stories": stories}
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
            server.terminate()
            receiver.httpd.shutdown()
            if admin is not None:
                admin.execute(f"DROP SCHEMA {self.schema} CASCADE")
                admin.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def pids(self, procs: list[subprocess.Popen], admin, baseline: set[int]) -> set[int]:
        pids = descendants([p.pid for p in procs])
        if admin is not None:
            pids |= self.backends(admin, baseline)
        return pids

    def _read(self, sql: str) -> int:
        """One number from the setup's database; 0 before the table exists."""
        try:
            if self.backend == "sqlite":
                path = self.tmp / "raqib.db"
                if not path.exists():
                    return 0
                with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as lite:
                    row = lite.execute(sql).fetchone()
            else:
                with psycopg.connect(self.database) as pg:
                    row = pg.execute(sql).fetchone()
        except (sqlite3.Error, psycopg.Error):
            return 0
        return int(row[0] or 0) if row else 0

    def polls(self) -> int:
        return self._read("SELECT SUM(polls) FROM nodes")

    def stories(self) -> int:
        return self._read("SELECT COUNT(*) FROM stories")

    def writes(self, admin, *, tables: tuple[str, ...] = STORY_TABLES) -> int:
        """Rows inserted, updated and deleted so far in these tables of the setup's schema."""
        if admin is None:
            return 0
        row = admin.execute("SELECT SUM(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables "
                            "WHERE schemaname = %s AND relname = ANY(%s)", (self.schema, list(tables))).fetchone()
        return int(row[0] or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=60.0, help="measured seconds per setup")
    ap.add_argument("--warmup", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=60.0, help="poll interval of every feed, seconds")
    ap.add_argument("--rate", type=float, default=5.0, help="new stories per second, all feeds together")
    ap.add_argument("--nodes", default="1,2,4", help="PostgreSQL node counts to run")
    ap.add_argument("--no-sqlite", action="store_true", help="leave out the single-node SQLite setup")
    args = ap.parse_args()
    if args.warmup + args.seconds < 2 * args.interval:
        # every feed is due at the start and polled in the warm-up: the next polls, and with
        # them the alerts, come an interval later
        ap.error(f"warm-up + seconds ({args.warmup + args.seconds:g}) must cover two poll intervals "
                 f"({2 * args.interval:g} s), or the measured window sees no second poll")
    setups = [] if args.no_sqlite else [("sqlite", 1)]
    setups += [("postgresql", int(n)) for n in args.nodes.split(",") if n.strip()]
    print(f"scale: {args.feeds} feeds polled every {args.interval:g} s "
          f"({args.feeds / args.interval:.0f} polls/s asked), {args.rate:g} new stories/s (half alerting), "
          f"{args.warmup:g} s warm-up then {args.seconds:g} s measured per setup; {os.cpu_count()} CPUs")
    header = (f"{'setup':<14} {'polls/s':>8} {'CPU s/1k polls':>15} {'CPU s/story':>12} {'p95 s':>7} "
              f"{'alerts':>7} {'PG conns':>9} {'rows/story':>11} {'rows/poll':>10}")
    print(header)
    for backend, n in setups:
        r = Setup(backend, n, args).run()
        rows = "-" if r["rows_story"] is None else f"{r['rows_story']:.1f}"
        per_poll = "-" if r["rows_poll"] is None else f"{r['rows_poll']:.2f}"
        print(f"{r['setup']:<14} {r['polls_s']:8.1f} {r['cpu_1k']:15.2f} {r['cpu_story']:12.3f} {r['p95']:7.2f} "
              f"{r['alerts']:7d} {r['connections']:9d} {rows:>11} {per_poll:>10}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
