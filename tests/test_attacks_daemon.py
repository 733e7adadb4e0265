"""The attacks of the second round against the real daemon, a subprocess on 127.0.0.1,
each bounded in time: a wrong-password flood, idle sockets past the descriptor limit,
a feed of 26,000 items beside a normal one, abandoned heavy tries, and (PostgreSQL) a
node frozen with SIGSTOP while it holds the ingest lock, and a node whose watchlists
differ. What each asserts is the figure the README's guarantees table states."""
from __future__ import annotations

import base64
import http.client
import os
import random
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from daemon_harness import (
    ROOT,
    Daemon,
    GrowingFeeds,
    Receiver,
    random_title,
    rss,
    wait_for,
    write_config,
    write_watchlist,
)
from feedserver import FeedServer

from raqib.web.auth import hash_password
from tests.pg import pg_url  # noqa: F401  (the fixture)

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
                try:
                    answers.append(get(port, headers=basic(f"guess {i} {n}"), timeout=30))
                except OSError:
                    pass

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
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))  # this process holds 1,100
    server = FeedServer().start()
    feeds = GrowingFeeds(server, 1)
    receiver = Receiver()
    write_watchlist(tmp_path / "watchlists", "w", ["بوتين"], notify={"webhook": [receiver.url]})
    idle: list[socket.socket] = []
    daemon = None
    try:
        # the daemon as systemd starts it: 1,024 descriptors
        port = free_port()
        config = write_config(tmp_path, {feeds.names[0]: feeds.url(feeds.names[0])},
                              watchlists=tmp_path / "watchlists",
                              extra=f"web:\n  listen: 127.0.0.1:{port}\npoll: {{interval: 1s, min_interval: 1s, "
                                    f"adaptive: false}}\n" + WEBHOOK)
        daemon = Daemon(config, tmp_path / "logs", args=())
        subprocess.run(["prlimit", f"--pid={daemon.pid}", "--nofile=1024:1024"], check=True)
        assert "Max open files            1024                 1024" in Path(f"/proc/{daemon.pid}/limits").read_text()
        wait_for(lambda: "web view listening" in daemon.stderr(), 30, 0.1, "the web view")
        for _ in range(1100):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            idle.append(s)
        time.sleep(1)
        started = time.monotonic()
        assert get(port) == 200
        page = time.monotonic() - started
        url = feeds.publish()  # polling and delivery go on meanwhile
        wait_for(lambda: url in receiver.urls(), 15, 0.1, "the story alerted beside the idle sockets")

        def closed() -> int:
            n = 0
            for s in idle:
                try:
                    n += s.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    n += 1
            return n

        wait_for(lambda: closed() == len(idle), 30, 0.5, "every idle socket closed by the daemon")
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
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, max_bytes: 20MB}\n"
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
        store.insert_story(conn, {"feed": f"f{i % 7}", "guid": f"g{i}", "url": f"https://x.example/{i}",
                                  "title": f"تصريحات ومفاوضات بوتين رقم {i}", "summary": "اجتماعات الحكومة",
                                  "fetched": now - 86400 + i, "cluster": i})
store.close()
"""
