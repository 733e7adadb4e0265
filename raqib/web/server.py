"""The web view's HTTP server: uvicorn, inside the daemon's own asyncio loop.

`WebServer(view, listen).start()` binds the socket itself (so a taken port is a clear
error naming `web.listen`, and port 0 works for tests), then runs `uvicorn.Server.serve`
as a task of the loop: no extra process or thread. The daemon owns the signals:
uvicorn's own SIGINT/SIGTERM capture is turned off, and `stop()` tells the server to
finish (open connections get `GRACE` seconds) and closes the view's readers.

uvicorn is set for a small private server: h11 only, no websockets, no lifespan, no
proxy headers believed, no Server header, keep-alive 5 s, request headers at most
16 KiB; its access log is off (the daemon logs what matters).

Connections (`BoundedH11`, uvicorn's h11 protocol with these rules), so no client holds
the server by holding sockets, authenticated or not:
- a connection with no request in progress is closed `IDLE_TIMEOUT` seconds after it
  opened or after its last answer, however many bytes it trickles meanwhile (a request
  whose headers have not all arrived is not in progress);
- at most `MAX_CONNECTIONS` at once and `PER_ADDRESS` from one client address; a new
  connection over either bound closes the longest-idle connection (of that address for
  the second) to make room, and is itself closed when every other one is busy. Idle
  sockets therefore never crowd out a request, and the descriptors the view holds stay
  bounded far under the process's limit;
- the loop's "socket.accept() out of system resource" (descriptors exhausted elsewhere)
  is one WARNING a minute, without a traceback.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.errors import ConfigError

from .app import WebView

log = logging.getLogger(__name__)
Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]  # a loop exception handler

GRACE = 3  # seconds
IDLE_TIMEOUT = 10.0  # seconds a connection may stay open without a request in progress
MAX_CONNECTIONS = 256
PER_ADDRESS = 128
ACCEPT_WARNING_EVERY = 60.0  # seconds between two "out of descriptors" warnings


class BoundedH11(H11Protocol):
    """uvicorn's h11 protocol with idle closing and connection caps (see the module)."""

    idle_since: float

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle()
        self._make_room()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle()

    def connection_lost(self, exc: Exception | None) -> None:
        handle = getattr(self, "_idle_timer", None)
        if handle is not None:
            handle.cancel()
        super().connection_lost(exc)

    @property
    def busy(self) -> bool:
        """A request is in progress (its headers arrived and its answer is not complete)."""
        return self.cycle is not None and not self.cycle.response_complete

    def _idle(self) -> None:
        self.idle_since = time.monotonic()
        handle = getattr(self, "_idle_timer", None)
        if handle is not None:
            handle.cancel()
        self._idle_timer = self.loop.call_later(IDLE_TIMEOUT, self._idle_expired)

    def _idle_expired(self) -> None:
        if not self.busy:
            self.close()  # a request in progress is bounded by its own deadline; `_idle` re-arms after it

    def close(self) -> None:
        if not self.transport.is_closing():
            if self.conn.our_state not in (h11.ERROR, h11.CLOSED, h11.MUST_CLOSE):
                with contextlib.suppress(h11.LocalProtocolError):
                    self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    def _make_room(self) -> None:
        others = [c for c in self.connections if c is not self and isinstance(c, BoundedH11)
                  and not c.transport.is_closing()]
        mine = [c for c in others if c.client and self.client and c.client[0] == self.client[0]]
        for pool, bound in ((mine, PER_ADDRESS), (others, MAX_CONNECTIONS)):
            if len(pool) + 1 <= bound:
                continue
            idle = sorted((c for c in pool if not c.busy), key=lambda c: c.idle_since)
            if not idle:
                self.close()
                return
            idle[0].close()
            if idle[0] in others:
                others.remove(idle[0])
            if idle[0] in mine:
                mine.remove(idle[0])


class _AcceptWarnings:
    """The loop's exception handler, with "socket.accept() out of system resource" cut
    to one line a minute (asyncio retries the accept by itself a second later)."""

    def __init__(self, previous: Handler | None) -> None:
        self.previous = previous
        self.last = 0.0
        self.dropped = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            now = time.monotonic()
            self.dropped += 1
            if now - self.last >= ACCEPT_WARNING_EVERY:
                self.last = now
                log.warning("web view cannot accept connections: out of file descriptors error=%s times=%d",
                            context.get("exception"), self.dropped)
                self.dropped = 0
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


class _InLoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the daemon handles SIGTERM and SIGINT
        yield


class WebServer:
    def __init__(self, view: WebView, listen: str) -> None:
        self.view = view
        self.listen = listen
        self.server: _InLoopServer | None = None
        self.task: asyncio.Task[None] | None = None
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
            self.view.app, lifespan="off", log_config=None, access_log=False, server_header=False, http=BoundedH11,
            ws="none", proxy_headers=False, timeout_keep_alive=5, timeout_graceful_shutdown=GRACE,
            h11_max_incomplete_event_size=16 * 1024, limit_concurrency=None)
        loop = asyncio.get_running_loop()
        if not isinstance(loop.get_exception_handler(), _AcceptWarnings):
            loop.set_exception_handler(_AcceptWarnings(loop.get_exception_handler()))
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
            except TimeoutError:
                self.task.cancel()
                log.warning("web view cut short at shutdown")
            except Exception:
                log.exception("web view failed")
        if self.sock is not None:
            self.sock.close()
        self.view.close()
