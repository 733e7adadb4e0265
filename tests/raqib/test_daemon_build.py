"""Building a `Daemon` has no side effects: it reads the config's settings and nothing more.
The store is opened, migrated and its parts built by `open()` (which `run()` calls)."""
from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import threading
from pathlib import Path

from monitor.config import load_config
from monitor.store import Store
from raqib.daemon import Daemon


def _sockets() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def _config(tmp_path: Path) -> Path:
    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "w.yaml").write_text("name: w\nterms: [بوتين]\n", encoding="utf-8")
    path = tmp_path / "raqib.yaml"
    path.write_text(f"database: {tmp_path / 'raqib.db'}\nwatchlists: {wl}\n"
                    "feeds:\n  - {name: bbc, url: 'https://feeds.example.org/bbc.xml'}\n"
                    "metrics: {listen: 127.0.0.1:1}\n"
                    "channels:\n  console: {}\n",
                    encoding="utf-8")
    return path


def test_building_a_daemon_creates_no_file_and_opens_no_socket_thread_or_process(tmp_path):
    config = load_config(_config(tmp_path))
    files = sorted(tmp_path.rglob("*"))
    threads, sockets, children = set(threading.enumerate()), _sockets(), multiprocessing.active_children()
    daemon = Daemon(config, console_stream=io.StringIO())
    assert sorted(tmp_path.rglob("*")) == files  # no database, no WAL, no snapshot
    assert set(threading.enumerate()) == threads
    assert _sockets() == sockets
    assert multiprocessing.active_children() == children
    assert not daemon.opened and daemon.settings.metrics.listen == "127.0.0.1:1"
    # a second daemon on the same file can be built too: no lock is taken before open()
    Daemon(config, console_stream=io.StringIO())

    daemon.open()
    try:
        assert (tmp_path / "raqib.db").exists()
        assert daemon.store.feeds.get("bbc") is not None  # the feed list synced
        assert [w.name for w in daemon.watchlists()] == ["w"]
        assert daemon.open() is daemon  # once
    finally:
        daemon.parse_pool.close()
        daemon.store.close()
    again = Store(tmp_path / "raqib.db")
    try:
        assert again.feeds.get("bbc") is not None
    finally:
        again.close()
