"""The attacks of the second round against the real daemon, a subprocess on 127.0.0.1,
each bounded in time: a wrong-password flood, idle sockets past the descriptor limit,
a feed of 26,000 items beside a normal one, abandoned heavy tries, and (PostgreSQL) a
node frozen with SIGSTOP while it holds the ingest lock, and a node whose watchlists
differ. What each asserts is the figure the README's guarantees table states."""
from __future__ import annotations

import base64
import contextlib
import http.client
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlencode

import psycopg

from raqib.web.auth import hash_password
from tests.support import pg, sql
from tests.support.daemon_harness import (
    ROOT,
    Daemon,
    GrowingFeeds,
    Receiver,
    closed_by_peer,
    idle_sockets,
    random_title,
    rss,
    wait_for,
    write_config,
    write_watchlist,
)
from tests.support.feedserver import FeedServer
from tests.support.pg import pg_url  # noqa: F401  (the fixture)

WEBHOOK = "channels:\n  webhook: {timeout: 5s, allow_private: true}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str = "/feeds", headers: dict | None = None, timeout: float = 10.0,
        method: str = "GET", body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def status_of(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def start_web_daemon(tmp_path: Path, extra: str = "", feeds: dict | None = None) -> tuple[Daemon, int]:
    port = free_port()
    write_watchlist(tmp_path / "watchlists", "w", ["بوتين"])
    config = write_config(tmp_path, feeds or {}, watchlists=tmp_path / "watchlists",
                          extra=f"web:\n  listen: 127.0.0.1:{port}\n" + extra)
    daemon = Daemon(config, tmp_path / "logs")
    wait_for(lambda: "web view listening" in daemon.stderr() or daemon.proc.poll() is not None, 30, 0.1,
             "the web view")
    assert daemon.proc.poll() is None, daemon.stderr()[-2000:]
    return daemon, port


def basic(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"desk:{password}".encode()).decode()}


def test_a_wrong_password_flood_keeps_memory_bounded_and_the_desk_answered(tmp_path):
    daemon, port = start_web_daemon(tmp_path, f"  auth: '{hash_password('the desk password')}'\n")
    try:
        assert get(port, headers=basic("the desk password")) == 200  # the desk logged in before
        stop = threading.Event()
        answers: list[int] = []

        def flood(i: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                with contextlib.suppress(OSError):
                    answers.append(get(port, headers=basic(f"guess {i} {n}"), timeout=30))

        threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(48)]
        for t in threads:
            t.start()
        waits = []
        try:
            for _ in range(8):
                time.sleep(1)
                started = time.monotonic()
                assert get(port, headers=basic("the desk password")) == 200
                waits.append(time.monotonic() - started)
        finally:
            stop.set()
            for t in threads:
                t.join(35)
        peak = status_of(daemon.pid, "VmHWM") / 1024
        threads_now = status_of(daemon.pid, "Threads")
        assert peak < 400, f"peak RSS {peak:.0f} MiB"
        assert max(waits) < 5, waits
        assert answers.count(503) > 0 and set(answers) <= {401, 503}
        print(f"flood: {len(answers)} answers, peak RSS {peak:.0f} MiB, threads {threads_now}, "
              f"desk waits max {max(waits):.2f} s")
    finally:
        assert daemon.stop(20) == 0


def test_idle_sockets_past_the_descriptor_limit_leave_pages_answering_and_are_closed(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    server = FeedServer().start()
    feeds = GrowingFeeds(server, 1)
    receiver = Receiver()
    write_watchlist(tmp_path / "watchlists", "w", ["بوتين"], notify={"webhook": [receiver.url]})
    idle: list[socket.socket] = []
    daemon = None
    try:
        # the daemon as systemd starts it: 1,024 descriptors (soft), the hard limit higher
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        port = free_port()
        config = write_config(tmp_path, {feeds.names[0]: feeds.url(feeds.names[0])},
                              watchlists=tmp_path / "watchlists",
                              extra=f"web:\n  listen: 127.0.0.1:{port}\npoll: {{interval: 1s, min_interval: 1s, "
                                    f"adaptive: false, backfill: 1h}}\n" + WEBHOOK)
        daemon = Daemon(config, tmp_path / "logs", args=())
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))  # this process holds 1,100
        wait_for(lambda: "web view listening" in daemon.stderr(), 30, 0.1, "the web view")
        assert "file descriptor limit raised from=1024" in daemon.stderr()
        idle_sockets(port, 1100, idle)
        time.sleep(1)
        started = time.monotonic()
        assert get(port) == 200
        page = time.monotonic() - started
        url = feeds.publish()  # polling and delivery go on meanwhile
        wait_for(lambda: url in receiver.urls(), 15, 0.1, "the story alerted beside the idle sockets")

        wait_for(lambda: closed_by_peer(idle) == len(idle), 30, 0.5, "every idle socket closed by the daemon")
        log_size = Path(daemon.stderr_path).stat().st_size
        assert page < 5 and log_size < 200_000, (page, log_size)
        assert "Traceback" not in daemon.stderr()
    finally:
        for s in idle:
            s.close()
        if daemon is not None:
            daemon.stop(20)
        receiver.close()
        server.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_26000_item_feed_does_not_delay_a_normal_feeds_alerts(tmp_path):
    server = FeedServer().start()
    feeds = GrowingFeeds(server, 1)
    receiver = Receiver()
    rng = random.Random(4)
    now = time.time()
    big = [{"title": "خبر عن الطقس رقم " + str(i) + " " + random_title(rng, "المطر"), "url": f"http://big.example/{i}",
            "published": now - 26000 + i, "summary": "تفاصيل " * 20} for i in range(26000)]
    server.route("/big.xml", body=rss("big", big))
    write_watchlist(tmp_path / "watchlists", "w", ["بوتين"], notify={"webhook": [receiver.url]})
    config = write_config(tmp_path, {feeds.names[0]: feeds.url(feeds.names[0]), "big": server.url("/big.xml")},
                          watchlists=tmp_path / "watchlists",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, max_bytes: 20MB, "
                                "backfill: 1h}\n"
                                + WEBHOOK)
    daemon = Daemon(config, tmp_path / "logs")
    try:
        wait_for(lambda: "feed has more new items than one poll takes feed=big" in daemon.stderr(), 60, 0.2,
                 "the big feed's first poll")
        delays = []
        for _ in range(5):
            url = feeds.publish()
            published = time.monotonic()
            wait_for(lambda: url in receiver.urls(), 15, 0.05, "a normal story alerted")
            delays.append(time.monotonic() - published)
        assert max(delays) < 15, delays
        assert "left=25500" in daemon.stderr()  # 500 taken a poll, the rest counted
        print(f"normal story alert delays beside the big feed: {[round(d, 2) for d in delays]}")
    finally:
        daemon.stop(30)
        receiver.close()
        server.close()


def test_abandoned_heavy_tries_leave_a_search_answered(tmp_path):
    db = tmp_path / "state" / "raqib.db"
    db.parent.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", FILL, str(db), "20000"], check=True, cwd=str(ROOT),
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    daemon, port = start_web_daemon(tmp_path)
    try:
        heavy = urlencode({"yaml": "name: h\nterms:\n  - {regex: '(?:ت|ص|ر|ي|ح|ا|ن|م|و)+(?:ات)'}\n", "days": "30"})
        for _ in range(12):  # each client sends its try and hangs up at once
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall((f"POST /try HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
                       f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(heavy)}\r\n\r\n"
                       f"{heavy}").encode())
            s.close()
        time.sleep(0.5)
        cpu = os.times()
        started = time.monotonic()
        assert get(port, "/search?" + urlencode({"q": "بوتين"}), timeout=30) == 200
        took = time.monotonic() - started
        assert took < 10, took
        assert daemon.stderr().count("web request abandoned by its client") >= 1
        print(f"search after 12 abandoned tries answered in {took:.2f} s ({os.times().elapsed - cpu.elapsed:.2f})")
    finally:
        assert daemon.stop(20) == 0


FILL = """
import sys, time
from monitor.store import Store
store = Store(sys.argv[1])
now = time.time()
with store.transaction() as conn:
    for i in range(1, int(sys.argv[2]) + 1):
        store.stories.insert(conn, {"feed": f"f{i % 7}", "guid": f"g{i}", "url": f"https://x.example/{i}",
                                  "title": f"تصريحات ومفاوضات بوتين رقم {i}", "summary": "اجتماعات الحكومة",
                                  "fetched": now - 86400 + i, "cluster": i})
store.close()
"""


# -- PostgreSQL: a frozen node, and nodes that disagree ------------------------------------

def two_nodes(tmp_path: Path, pg_url: str, feeds: dict[str, str], receiver: Receiver,
              watchlists: tuple[Path, Path] | None = None) -> tuple[Daemon, Daemon]:
    made = []
    for i, name in enumerate(("node-a", "node-b")):
        folder = watchlists[i] if watchlists else tmp_path / "watchlists"
        lines = [f"database: '{pg_url}'", f"watchlists: {folder}",
                 # backfill: a story published as the nodes start, before a feed's first poll, still alerts
                 "poll: {interval: 1s, min_interval: 1s, adaptive: false, lease: 5s, parse_workers: 1, backfill: 1h}",
                 # these nodes are about the ingest lock; a churning feed's pages would only add load
                 "fulltext: {mode: never}",
                 "delivery: {lease: 5s, backoff: 0.2s, backoff_max: 1s}",
                 f"node: {{name: {name}, role_retry: 1s, heartbeat: 0.5s}}",
                 "channels:", "  webhook: {timeout: 5s, allow_private: true}", "feeds:"]
        lines += [f'  - {{name: {n}, url: "{u}"}}' for n, u in feeds.items()]
        config = tmp_path / f"{name}.yaml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        made.append(Daemon(config, tmp_path / "logs", tag=name))
    return made[0], made[1]


def schema_of(url: str) -> str:
    return unquote(url).rpartition("search_path=")[2]


def test_a_node_frozen_holding_the_ingest_lock_does_not_stop_the_other_from_alerting(tmp_path, pg_url):
    server = FeedServer().start()
    feeds = GrowingFeeds(server, 4)
    receiver = Receiver()
    churn = {"n": 0}
    stop_churn = threading.Event()

    def renew() -> None:  # a feed whose items are all new at every poll keeps both nodes ingesting
        rng = random.Random(1)
        while not stop_churn.wait(0.3):
            churn["n"] += 1
            items = [{"title": random_title(rng, "المطر"), "url": f"http://churn.example/{churn['n']}/{i}",
                      "published": time.time() - i, "summary": ""} for i in range(200)]
            server.routes["/churn.xml"].body = rss("churn", items)

    server.route("/churn.xml", body=rss("churn", []))
    write_watchlist(tmp_path / "watchlists", "w", ["بوتين"], notify={"webhook": [receiver.url]})
    urls = {n: feeds.url(n) for n in feeds.names} | {"churn": server.url("/churn.xml")}
    a, b = two_nodes(tmp_path, pg_url, urls, receiver)
    schema = schema_of(pg_url)
    threading.Thread(target=renew, daemon=True).start()
    frozen_at = None
    try:
        wait_for(lambda: "node started" in a.stderr() and "node started" in b.stderr(), 30, 0.1, "both nodes")
        first = feeds.publish()
        wait_for(lambda: first in receiver.urls(), 20, 0.1, "the first story alerted")
        with psycopg.connect(pg_url.partition("?")[0], autocommit=True) as watch:
            b_pids = set()
            for _ in range(400):  # freeze node-b at a moment it holds the ingest lock
                b.signal(signal.SIGSTOP)
                time.sleep(0.3)
                rows = pg.ingest_holders(watch, schema)
                holders = [r for r in rows if r[1] == "idle in transaction" and float(r[2]) > 0.25]
                if holders:
                    b_pids = {r[0] for r in holders}
                    frozen_at = time.monotonic()
                    break
                b.signal(signal.SIGCONT)
                time.sleep(random.uniform(0.05, 0.4))
            assert frozen_at is not None, "node-b was never caught holding the ingest lock"
            published = {}
            for _ in range(12):
                url = feeds.publish()
                published[url] = time.monotonic()
                time.sleep(0.5)
            # node-a alerts every one within the bound: the frozen session is ended after
            # idle_in_transaction_session_timeout (10 s), the feeds node-b held come back
            # after their lease (5 s here), and node-a polls each second
            try:
                wait_for(lambda: set(published) <= set(receiver.urls()), 40, 0.1, "every story alerted by node-a")
            except AssertionError:  # what node-a was waiting for, and whether node-b's session was ended
                for name, node in (("node-a", a), ("node-b", b)):
                    said = [line for line in node.stderr().splitlines()
                            if "level=info" not in line or "ingest" in line or "lease" in line]
                    print(f"--- {name}, the last lines of its log but routine ones:", *said[-30:], sep="\n")
                print("frozen node's sessions still open:", pg.live_sessions(watch, list(b_pids)))
                raise
            late = max(time.monotonic() - t for t in published.values())
            released = pg.live_sessions(watch, list(b_pids))
            assert released == 0  # the server ended the frozen node's session
            [roles] = [r["roles"] for r in sql.node_rows(watch, "roles", schema=schema, name="node-a")]
        assert late < 35, late
        wait_for(lambda: "role taken" in a.stderr(), 30, 0.2, "node-a taking the frozen node's roles")
        print(f"frozen node: last of 12 stories alerted {late:.1f} s after publication; node-a roles {roles}")
    finally:
        stop_churn.set()
        b.signal(signal.SIGCONT)
        for d in (a, b):
            if d.proc.poll() is None:
                d.signal(signal.SIGTERM)
        for d in (a, b):
            d.stop(30)
        receiver.close()
        server.close()


def test_a_node_with_other_watchlists_is_reported_on_postgresql(tmp_path, pg_url):
    server = FeedServer().start()
    feeds = GrowingFeeds(server, 1)
    receiver = Receiver()
    first, second = tmp_path / "wl-a", tmp_path / "wl-b"
    write_watchlist(first, "w", ["بوتين", "زيلينسكي"], notify={"webhook": [receiver.url]})
    write_watchlist(second, "w", ["بوتين"], notify={"webhook": [receiver.url]})  # an older copy: one term less
    a, b = two_nodes(tmp_path, pg_url, {n: feeds.url(n) for n in feeds.names}, receiver, (first, second))
    try:
        wait_for(lambda: "nodes disagree on watchlists or settings" in a.stderr() + b.stderr(), 30, 0.2,
                 "the disagreement reported")
        with psycopg.connect(pg_url.partition("?")[0]) as conn:
            hashes = sql.node_rows(conn, "name", "config_hash", schema=schema_of(pg_url))
        assert len({r["config_hash"] for r in hashes}) == 2, hashes
        status = subprocess.run([sys.executable, "-m", "raqib.cli", "status", "--config", str(a.stdout_path.parent.parent / "node-a.yaml")],
                                capture_output=True, text=True, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)},
                                timeout=60)
        assert "with different watchlists or settings" in status.stdout, status.stdout + status.stderr
    finally:
        for d in (a, b):
            d.stop(30)
        receiver.close()
        server.close()
