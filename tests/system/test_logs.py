"""Logs: key=value or JSON lines, and no secret in them even at DEBUG.

The real daemon runs at DEBUG with an SMTP password from the environment, a webhook
secret, and feeds whose URLs carry those secrets and a Telegram-shaped bot token (so
that the URL-logging paths — failed polls, redirects — have something to leak). Every
line of its standard error is read back: the secrets must appear nowhere.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.support.daemon_harness import Daemon, GrowingFeeds, NotifySocket, wait_for, write_config, write_watchlist
from tests.support.feedserver import FeedServer

PASSWORD = "s3cret-SMTP-pa55word"
HOOK_SECRET = "hook-secret-0123456789abcdef"
BOT_TOKEN = "7312456789:AAHf3kz-Q1w2e3r4t5y6u7i8o9p0asdfghj"


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.close()


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_no_secret_reaches_the_log_at_debug(tmp_path, server, fmt):
    notify = NotifySocket()
    feeds = GrowingFeeds(server, 1)
    (name,) = feeds.names
    server.route(f"/bot{BOT_TOKEN}/feed.xml", status=404, body=b"no")
    server.route("/moved", status=301, location=f"/bot{BOT_TOKEN}/feed.xml")
    write_watchlist(tmp_path / "wl", "w", ["بوتين"], notify={"email": ["desk@example.org"],
                                                           "webhook": ["http://127.0.0.1:9/hook"]})
    config = write_config(
        tmp_path,
        {name: feeds.url(name), "tokened": server.url(f"/bot{BOT_TOKEN}/feed.xml"),
         "keyed": server.url("/missing.xml") + "?key=${SMTP_PASS}", "moved": server.url("/moved")},
        watchlists=tmp_path / "wl",
        extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
              "delivery: {max_attempts: 1}\n"
              "channels:\n"
              "  console: {}\n"
              f"  webhook: {{secret: '{HOOK_SECRET}', allow_private: true}}\n"
              "  email: {host: 127.0.0.1, port: 9, security: none, from: raqib@example.org,\n"
              "          username: raqib, password: '${SMTP_PASS}'}\n")
    feeds.publish(name, "بوتين في سجل التصحيح")
    daemon = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path, "SMTP_PASS": PASSWORD},
                    args=("--log-level", "DEBUG", "--log-format", fmt))
    try:
        wait_for(lambda: notify.count("READY=1"), 15, what="READY=1")
        wait_for(lambda: "بوتين في سجل التصحيح" in daemon.stdout(), 10, what="the console alert")
        wait_for(lambda: daemon.stderr().count("alert failed for good") >= 2, 20, what="email and webhook to fail")
        wait_for(lambda: "feed=keyed" in daemon.stderr() and "feed=tokened" in daemon.stderr(), 10,
                 what="the failing feeds to be logged")
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()
        notify.close()
    log = daemon.stderr()
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) > 10
    assert "level=debug" in log or '"level": "debug"' in log  # DEBUG was really on
    for secret in (PASSWORD, HOOK_SECRET, BOT_TOKEN, BOT_TOKEN.split(":")[1]):
        assert secret not in log, f"secret leaked: {[line for line in lines if secret in line][:2]}"
    assert "***" in log  # the URLs were logged, masked
    for line in lines:
        if fmt == "json":
            doc = json.loads(line)
            assert {"time", "level", "logger", "msg"} <= set(doc)
        else:
            assert re.match(r'^\S+Z level=\w+ logger=[\w.]+ msg=".*"', line), line
