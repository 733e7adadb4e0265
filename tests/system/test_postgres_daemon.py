"""The whole daemon on PostgreSQL, as a process: a feed polled, its story stored, the alert
delivered to a webhook receiver, the state in the server; a restart on the same database
sends nothing twice; `raqib status` and `raqib search` read it."""
from __future__ import annotations

import signal
import subprocess
import sys

from monitor.store import Store
from tests.support import sql
from tests.support.daemon_harness import ROOT, Daemon, GrowingFeeds, Receiver, wait_for, write_config, write_watchlist
from tests.support.feedserver import feed_server  # noqa: F401  (a fixture)
from tests.support.pg import pg_url  # noqa: F401  (a fixture)


def test_the_daemon_on_postgresql_polls_stores_and_delivers_once(tmp_path, feed_server, pg_url):
    receiver = Receiver()
    try:
        feeds = GrowingFeeds(feed_server, 2)
        write_watchlist(tmp_path / "wl", "w", ["بوتين"], notify={"webhook": [receiver.url]})
        config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                              database=pg_url,
                              extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                    "channels:\n  webhook: {timeout: 10s, allow_private: true}\n")
        daemon = Daemon(config, tmp_path / "logs")
        first = feeds.publish(feeds.names[0])
        wait_for(lambda: receiver.urls() == [first], 20, what=f"the alert reaching the receiver: {daemon.stderr()}")
        daemon.signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0, daemon.stderr()[-2000:]
        assert "database=postgresql://" in daemon.stderr()
        store = Store(pg_url, readonly=True)
        try:
            assert sql.outbox_rows(store, "state") == [{"state": "sent"}]
            feed = store.feeds.get(feeds.names[0])
            assert feed is not None and feed.last_success and feed.leased_by is None  # lease given back
        finally:
            store.close()
        again = Daemon(config, tmp_path / "logs", tag="again")  # restart: nothing sent twice, new ones go
        second = feeds.publish(feeds.names[1])
        wait_for(lambda: receiver.urls() == [first, second], 20, what="the second alert, and only it")
        assert again.stop() == 0
        status = subprocess.run([sys.executable, "-m", "raqib.cli", "status", "--config", str(config)],
                                capture_output=True, text=True, cwd=str(ROOT), timeout=30)
        assert status.returncode == 0, status.stderr
        search = subprocess.run([sys.executable, "-m", "raqib.cli", "search", "بوتين", "--json", "--config",
                                 str(config)], capture_output=True, text=True, cwd=str(ROOT), timeout=30)
        assert search.returncode == 0, search.stderr
        assert first in search.stdout and second in search.stdout  # narrowed on the server, matched here
    finally:
        receiver.close()
