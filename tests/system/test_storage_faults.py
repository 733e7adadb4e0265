"""The database refuses writes (disk full): the daemon says so and recovers, losing nothing.

The daemon runs in-process on the test's event loop against a feed on 127.0.0.1, with
its metrics endpoint and a real NOTIFY_SOCKET. "Disk full" is SQLite's own
`PRAGMA max_page_count` on the daemon's store connection: the file may not grow, so
storing new stories fails with SQLITE_FULL exactly as on a full disk. While it lasts:
- the poller logs the failed write and pauses, /healthz answers 503 with the reason,
  and the systemd watchdog is withheld;
once space returns every story published meanwhile is stored and alerted exactly once,
/healthz is 200 again and the watchdog resumes.
"""
from __future__ import annotations

import asyncio
import io
import logging
import socket

import httpx
import pytest

from monitor.config import load_config
from raqib.daemon import Daemon
from tests.support import sql
from tests.support.daemon_harness import GrowingFeeds, NotifySocket, write_config, write_watchlist
from tests.support.feedserver import FeedServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(predicate, timeout: float, what: str):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate() if not asyncio.iscoroutinefunction(predicate) else await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.close()


async def test_disk_full_is_reported_and_nothing_is_lost_when_space_returns(tmp_path, server, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    notify = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")  # a ping every second
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    port = free_port()
    feeds = GrowingFeeds(server, 1)
    (name,) = feeds.names
    write_watchlist(tmp_path / "wl", "w", ["بوتين"])
    config = write_config(tmp_path, {name: feeds.url(name)}, watchlists=tmp_path / "wl",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                f"metrics: {{listen: '127.0.0.1:{port}'}}\nchannels:\n  console: {{}}\n")
    out = io.StringIO()
    daemon = Daemon(load_config(config), console_stream=out).open()
    daemon.poller.store_pause = 0.5  # retry sooner than the default 5 s
    task = asyncio.create_task(daemon.run())
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
    try:
        await until(lambda: notify.count("READY=1"), 10, "READY=1")
        await until(lambda: notify.count("WATCHDOG=1"), 10, "WATCHDOG=1")
        feeds.publish(name, "بوتين قبل امتلاء القرص")
        await until(lambda: "بوتين قبل امتلاء القرص" in out.getvalue(), 10, "the first alert")
        assert (await client.get("/healthz")).status_code == 200

        # the disk fills up: the file may not grow by a single page
        sql.cap_pages(daemon.store, sql.page_count(daemon.store))
        titles = [f"بوتين خبر رقم {i} " + "نص طويل " * 300 for i in range(20)]
        for t in titles:
            feeds.publish(name, t)

        async def unhealthy():
            r = await client.get("/healthz")
            return r if r.status_code == 503 else None
        answer = await until(unhealthy, 10, "/healthz 503")
        assert "cannot store stories" in answer.text and "full" in answer.text
        assert any("database write failed, polling paused" in r.getMessage() for r in caplog.records)
        notify.clear()
        withheld = len([r for r in caplog.records if "watchdog withheld" in r.getMessage()])
        await until(lambda: len([r for r in caplog.records if "watchdog withheld" in r.getMessage()])
                    >= withheld + 2, 10, "two withheld watchdog pings")
        assert notify.count("WATCHDOG=1") == 0
        assert any(m.startswith("STATUS=unhealthy: cannot store stories") for m in notify.messages)
        assert not any(t.split(" نص")[0] in out.getvalue() for t in titles)

        # space returns
        sql.cap_pages(daemon.store)
        await until(lambda: all(t.split(" نص")[0] in out.getvalue() for t in titles), 15,
                    "every story published while the disk was full to be alerted")
        assert (await client.get("/healthz")).status_code == 200
        await until(lambda: notify.count("WATCHDOG=1"), 10, "the watchdog to resume")
        assert any("healthy again, watchdog resumed" in r.getMessage() for r in caplog.records)
        for t in titles:
            assert out.getvalue().count(t.split(" نص")[0] + " ") == 1, t[:20]
        assert sql.story_count(daemon.store) == 1 + len(titles)
        assert sql.outbox_count(daemon.store, state=sql.Not("sent")) == 0
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)
        await client.aclose()
        notify.close()
