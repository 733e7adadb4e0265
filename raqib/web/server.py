"""The web view's HTTP server: uvicorn, inside the daemon's own asyncio loop.

`WebServer(view, listen).start()` binds the socket itself (so a taken port is a clear
error naming `web.listen`, and port 0 works for tests), then runs `uvicorn.Server.serve`
as a task of the loop: no extra process or thread. The daemon owns the signals:
uvicorn's own SIGINT/SIGTERM capture is turned off, and `stop()` tells the server to
finish (open connections get `GRACE` seconds) and closes the view's readers.

uvicorn is set for a small private server: h11 only, no websockets, no lifespan, no
proxy headers believed, no Server header, keep-alive 5 s, request headers at most
16 KiB, at most 64 connections at once; its access log is off (the daemon logs what
matters).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Iterator

import uvicorn

from monitor.errors import ConfigError

from .app import WebView

log = logging.getLogger(__name__)

GRACE = 3  # seconds


class _InLoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the daemon handles SIGTERM and SIGINT
        yield


class WebServer:
    def __init__(self, view: WebView, listen: str) -> None:
        self.view = view
        self.listen = listen
        self.server: _InLoopServer | None = None
        self.task: asyncio.Task | None = None
        self.sock: socket.socket | None = None

    @property
    def port(self) -> int:
        assert self.sock is not None
        return int(self.sock.getsockname()[1])

    def _bind(self) -> socket.socket:
        host, _, port = self.listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, int(port)), family=family, backlog=128)
        except OSError as exc:
            raise ConfigError(f"web.listen: cannot listen on {self.listen}: {exc.strerror or exc}",
                              hint="is another program using that port?") from None
        sock.setblocking(False)
        return sock

    async def start(self) -> None:
        self.sock = self._bind()
        config = uvicorn.Config(
            self.view.app, lifespan="off", log_config=None, access_log=False, server_header=False, http="h11",
            ws="none", proxy_headers=False, timeout_keep_alive=5, timeout_graceful_shutdown=GRACE,
            h11_max_incomplete_event_size=16 * 1024, limit_concurrency=64)
        self.server = _InLoopServer(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]), name="web")
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task.done():
            self.task.result()  # raises what stopped it
        log.info("web view listening address=%s", self.listen.rpartition(":")[0] + f":{self.port}")

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self.task), timeout=GRACE + 2)
            except asyncio.TimeoutError:
                self.task.cancel()
                log.warning("web view cut short at shutdown")
            except Exception:
                log.exception("web view failed")
        if self.sock is not None:
            self.sock.close()
        self.view.close()
