"""sd_notify speaks systemd's protocol over a real datagram socket, and is silent without one."""
from __future__ import annotations

import os
import socket

from raqib import sdnotify


def test_notify_sends_datagrams_to_the_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sdnotify.notify("READY=1", "STATUS=watching 3 feeds")
        assert server.recv(4096) == b"READY=1\nSTATUS=watching 3 feeds"
        assert sdnotify.notify("WATCHDOG=1")
        assert server.recv(4096) == b"WATCHDOG=1"


def test_notify_is_a_no_op_without_systemd(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 60
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert sdnotify.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    monkeypatch.delenv("WATCHDOG_PID")
    assert sdnotify.watchdog_interval() is None
