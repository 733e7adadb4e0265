"""Lifecycle of the real daemon process: systemd notify, SIGTERM, SIGHUP, watchlist edits.

Each test runs `python -m raqib.cli run` as a subprocess against feeds on 127.0.0.1 with
a unix datagram socket standing in for systemd's NOTIFY_SOCKET:
- READY=1 after start-up, WATCHDOG=1 while healthy when WATCHDOG_USEC asks for it,
  STOPPING=1 on SIGTERM;
- SIGTERM stops polling, lets the send in flight finish (the row ends `sent`, not
  `sending`), checkpoints the WAL and exits 0;
- SIGHUP re-reads the config (a feed added there is polled);
- a watchlist edit with an error is reported with file:line and the last good version
  keeps matching;
- a second daemon on the same database exits 1 naming the database and the first one's
  pid, and the alert the first is still sending reaches its receiver once.
"""
from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import sql
from tests.support.daemon_harness import (
    Daemon,
    GrowingFeeds,
    NotifySocket,
    Receiver,
    wait_for,
    write_config,
    write_watchlist,
)
from tests.support.feedserver import FeedServer


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.close()


@pytest.fixture()
def notify():
    n = NotifySocket()
    yield n
    n.close()


def test_sigterm_finishes_the_send_in_flight_checkpoints_and_speaks_sd_notify(tmp_path, server, notify):
    receiver = Receiver(delay=1.5)  # the receiver takes its time answering
    try:
        feeds = GrowingFeeds(server, 1)
        write_watchlist(tmp_path / "wl", "w", ["بوتين"], notify={"webhook": [receiver.url]})
        config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                              extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                    "channels:\n  webhook: {timeout: 10s, allow_private: true}\n")
        daemon = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"})
        wait_for(lambda: notify.count("READY=1"), 15, what="READY=1")
        wait_for(lambda: notify.count("WATCHDOG=1"), 10, what="WATCHDOG=1")
        assert notify.count("STOPPING=1") == 0
        feeds.publish()
        wait_for(lambda: receiver.alerts, 10, what="the alert reaching the receiver")
        daemon.signal(signal.SIGTERM)  # while the receiver still holds the request
        assert daemon.proc.wait(30) == 0, daemon.stderr()[-2000:]
        assert notify.count("STOPPING=1") == 1
        log = daemon.stderr()
        assert "raqib stopped" in log
        db = tmp_path / "state" / "raqib.db"
        wal = db.with_name("raqib.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and closed
        with sqlite3.connect(db) as conn:
            assert sql.integrity(conn) == "ok"
            assert sql.outbox_rows(conn, "state") == [{"state": "sent"}]
        assert len(receiver.alerts) == 1
    finally:
        receiver.close()


def test_without_watchdog_usec_no_watchdog_pings(tmp_path, server, notify):
    feeds = GrowingFeeds(server, 1)
    write_watchlist(tmp_path / "wl", "w", ["بوتين"])
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                          extra="channels:\n  console: {}\n")
    daemon = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path})
    wait_for(lambda: notify.count("READY=1"), 15, what="READY=1")
    assert daemon.stop() == 0
    assert notify.count("STOPPING=1") == 1
    assert notify.count("WATCHDOG=1") == 0


def test_sighup_reloads_feeds_and_a_broken_watchlist_keeps_its_last_good_version(tmp_path, server, notify):
    feeds = GrowingFeeds(server, 2)
    first, second = feeds.names
    wl = write_watchlist(tmp_path / "wl", "russia", ["بوتين"])
    extra = "poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\nchannels:\n  console: {}\n"
    config = write_config(tmp_path, {first: feeds.url(first)}, watchlists=tmp_path / "wl", extra=extra)
    daemon = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path})
    try:
        wait_for(lambda: notify.count("READY=1"), 15, what="READY=1")
        feeds.publish(first, "بوتين يزور موسكو الأولى")
        wait_for(lambda: "بوتين يزور موسكو الأولى" in daemon.stdout(), 10, what="first alert")

        # SIGHUP: a feed added to the config is polled
        feeds.publish(second, "بوتين في الخبر الثاني")
        write_config(tmp_path, {first: feeds.url(first), second: feeds.url(second)},
                     watchlists=tmp_path / "wl", extra=extra)
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: "بوتين في الخبر الثاني" in daemon.stdout(), 10, what="alert from the added feed")
        assert server.routes[f"/{second}.xml"].hits >= 1

        # a broken edit (it would switch the term to كورسك): reported with file:line, old terms stay
        wl.write_text("name: russia\ntitle: russia\nterms:\n  - كورسك\n  - [unclosed\n", encoding="utf-8")
        wait_for(lambda: re.search(rf"watchlist has errors.*{re.escape(str(wl))}:\d+:", daemon.stderr()), 10,
                 what="the watchlist error logged with file:line")
        feeds.publish(first, "بوتين بعد التعديل المكسور")
        feeds.publish(first, "كورسك لا تطلق تنبيها")
        wait_for(lambda: "بوتين بعد التعديل المكسور" in daemon.stdout(), 10, what="alert with the old terms")
        assert daemon.stop() == 0
        assert "كورسك لا تطلق تنبيها" not in daemon.stdout()
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()


def test_sighup_with_a_broken_config_keeps_running_on_the_last_good_one(tmp_path, server, notify):
    feeds = GrowingFeeds(server, 1)
    (name,) = feeds.names
    write_watchlist(tmp_path / "wl", "russia", ["بوتين"])
    extra = "poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\nchannels:\n  console: {}\n"
    config = write_config(tmp_path, {name: feeds.url(name)}, watchlists=tmp_path / "wl", extra=extra)
    daemon = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path})
    try:
        wait_for(lambda: notify.count("READY=1"), 15, what="READY=1")
        config.write_text(config.read_text(encoding="utf-8") + "surprise: 1\n", encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: re.search(rf"config reload failed.*{re.escape(str(config))}:\d+:", daemon.stderr()), 10,
                 what="the config error logged with file:line")
        feeds.publish(name, "بوتين ما زال يعمل")
        wait_for(lambda: "بوتين ما زال يعمل" in daemon.stdout(), 10, what="alert after the failed reload")
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()


def test_status_shows_feeds_alerts_outbox_and_dead_letters(tmp_path, server):
    """`raqib status` on the database a daemon left: what an operator reads first."""
    import subprocess
    import sys

    feeds = GrowingFeeds(server, 2)
    good, bad = feeds.names
    server.route(f"/{bad}.xml", status=500, body=b"oops")
    write_watchlist(tmp_path / "wl", "w", ["بوتين"], notify={"webhook": ["http://127.0.0.1:9/nobody"]})
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                "health: {failures: 1}\n"
                                "channels:\n  console: {}\n  webhook: {max_attempts: 1, allow_private: true}\n")
    feeds.publish(good, "بوتين في الحالة")
    daemon = Daemon(config, tmp_path / "logs")
    wait_for(lambda: "بوتين في الحالة" in daemon.stdout(), 15, what="the console alert")
    db = tmp_path / "state" / "raqib.db"

    def dead() -> int:
        with sqlite3.connect(db) as c:
            return sql.outbox_count(c, state="dead")
    wait_for(dead, 10, what="the webhook alert to die")
    wait_for(lambda: "feed unhealthy: outlet01" in daemon.stdout(), 10, what="the feed health alert")
    assert daemon.stop() == 0
    out = subprocess.run([sys.executable, "-m", "raqib.cli", "status", "--config", str(config)],
                         capture_output=True, text=True, cwd=str(Path(__file__).parents[2]), timeout=30)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert re.search(r"feeds\s+2 enabled, 1 ok, 1 failing \(outlet01\)", text), text
    assert re.search(r"last poll\s+\d+ s ago", text), text
    assert re.search(r"stories\s+1 last hour, 1 last day", text), text
    assert re.search(r"alerts sent\s+2 last hour, 2 last day", text), text  # the story and the health alert
    assert re.search(r"outbox\s+0 waiting", text), text
    assert re.search(r"dead letters\s+1", text), text
    assert re.search(r"dead #\d+ webhook:http://127\.0\.0\.1:9/nobody after 1 attempts: .*", text), text


def test_a_second_daemon_on_the_same_database_refuses_to_start_and_nothing_is_sent_twice(tmp_path, server, notify):
    receiver = Receiver(delay=4)  # the first daemon is mid-send when the second starts
    feeds = GrowingFeeds(server, 1)
    write_watchlist(tmp_path / "wl", "w", ["بوتين"], notify={"webhook": [receiver.url]})
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                "channels:\n  webhook: {timeout: 20s, allow_private: true}\n")
    db = tmp_path / "state" / "raqib.db"
    first = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path})
    second = None
    try:
        wait_for(lambda: notify.count("READY=1"), 15, what="READY=1")
        url = feeds.publish()
        wait_for(lambda: receiver.alerts, 10, what="the alert reaching the receiver")
        second = Daemon(config, tmp_path / "logs", tag="second")
        assert second.proc.wait(20) == 1
        err = second.stderr()
        assert f"database {db} is in use by another raqib daemon (pid {first.pid})" in err, err
        assert "Traceback" not in err
        # read commands still work beside the running daemon
        status = subprocess.run([sys.executable, "-m", "raqib.cli", "status", "--config", str(config)],
                                capture_output=True, text=True, cwd=str(Path(__file__).parents[2]), timeout=30)
        assert status.returncode == 0 and "outbox" in status.stdout, status.stderr

        def sent() -> bool:
            with sqlite3.connect(db) as c:
                return sql.outbox_rows(c, "state") == [{"state": "sent"}]
        wait_for(sent, 15, what="the first daemon to finish its send")
        assert first.stop() == 0
        assert receiver.urls() == [url]  # once, by the first daemon
        assert "UNIQUE constraint" not in first.stderr()
    finally:
        for d in (first, second):
            if d is not None and d.proc.poll() is None:
                d.kill()
        receiver.close()
