"""A local HTTP/1.1 feed server on 127.0.0.1 for tests and benchmarks.

A small asyncio server running in its own thread (its own event loop), so it serves
both synchronous tests and tests whose client runs on pytest-asyncio's loop. It speaks
just enough HTTP/1.1 for feed fetching: GET/HEAD, keep-alive, Content-Length bodies.

Use it in a test:

    from tests.support.feedserver import FeedServer, feed_server  # noqa: F401  (the fixture)

    def test_something(feed_server):
        feed_server.file("/bbc.xml", "tests/data/feeds/bbc-2018-04-10.xml", etag='"v1"')
        feed_server.route("/moved", status=301, location="/bbc.xml")
        feed_server.route("/slow", body=b"<rss/>", drip=0.2)      # one byte every 0.2 s
        feed_server.route("/big", length=100 * 2**20)             # 100 MB of filler, streamed
        feed_server.route("/gz", body=xml, gzip=True)            # Content-Encoding: gzip
        url = feed_server.url("/bbc.xml")
        ...
        assert feed_server.routes["/bbc.xml"].hits == 1
        assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'

Outside pytest: `with FeedServer() as server: ...`. `FeedServer(tls=context)` serves
HTTPS with that server-side SSL context. `FeedServer(hosts=["127.0.0.1",
"127.0.0.2"])` listens on several loopback addresses with one port (Linux routes all of
127.0.0.0/8 to the loopback interface), which gives clients distinct host names.

Route options (all keyword, all optional):
- body: bytes sent as the body (or `text`: str, encoded as UTF-8).
- status: the HTTP status (default 200); `location` adds a Location header.
- content_type: default "application/rss+xml; charset=utf-8"; None sends none.
- headers: extra response headers (dict).
- etag / last_modified: sent with 200s; a request whose If-None-Match (or, without it,
  If-Modified-Since) matches gets 304 with no body.
- gzip: compress `body` and send Content-Encoding: gzip. `raw_encoding`: send `body` as
  is with that Content-Encoding (for hand-made payloads such as a gzip bomb).
- length: stream this many filler bytes (spaces) instead of `body`, 64 KiB at a time,
  waiting for the client to take each chunk; `sent` counts what actually left.
- drip: seconds between pieces of `drip_size` bytes (default 1) of the body.
- delay: seconds to wait before answering (a network round trip and server think time).
- send_length: False leaves out Content-Length and closes the connection at the end.
- cookie_wall: a cookie ("name=value"); a request that does not send it back is answered
  with a 302 to the same path that sets it (a consent or anti-bot wall).

Every request is appended to `server.requests` (method, path, headers lower-cased, arrival
time), and `server.connections` counts the connections accepted; each route counts its `hits` and the body bytes it `sent`.
"""
from __future__ import annotations

import asyncio
import gzip as gzip_module
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

try:
    import pytest
except ImportError:  # used outside the test suite (bench/)
    pytest = None  # type: ignore[assignment]

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
            307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
            404: "Not Found", 410: "Gone", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_FILL = b" " * 65536


@dataclass
class Route:
    """What the server answers on one path. Mutable: tests may change it between requests."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    raw_encoding: str | None = None
    length: int | None = None
    drip: float | None = None
    drip_size: int = 1
    send_length: bool = True
    delay: float = 0.0
    cookie_wall: str | None = None
    hits: int = 0
    sent: int = 0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() on arrival


class FeedServer:
    """HTTP server on loopback serving the routes it is given. See the module docstring."""

    def __init__(self, hosts: list[str] | tuple[str, ...] = ("127.0.0.1",), port: int = 0,
                 record: bool = True, tls: ssl.SSLContext | None = None) -> None:
        self.hosts = list(hosts)
        self.tls = tls  # a server-side context: HTTPS on every host
        self.port = port
        self.record = record
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.connections = 0  # connections accepted
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.Task] = set()
        self._extra: list[asyncio.base_events.Server] = []

    # --- routes ---------------------------------------------------------------------------

    def route(self, path: str, *, text: str | None = None, **options: object) -> Route:
        if text is not None:
            options["body"] = text.encode("utf-8")
        route = Route(**options)  # type: ignore[arg-type]
        if route.gzip:
            route.body = gzip_module.compress(route.body, mtime=0)
        self.routes[path] = route
        return route

    def file(self, path: str, filename: str | Path, **options: object) -> Route:
        return self.route(path, body=Path(filename).read_bytes(), **options)

    def url(self, path: str, host: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{host or self.hosts[0]}:{self.port}{path}"

    # --- life -----------------------------------------------------------------------------

    def start(self) -> FeedServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._listen())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="feedserver", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _listen(self) -> None:
        socks = []
        port = self.port
        for host in self.hosts:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(1024)
            socks.append(sock)
        self.port = port
        self._server = await asyncio.start_server(self._handle_conn, sock=socks[0], backlog=1024, ssl=self.tls)
        self._extra = [await asyncio.start_server(self._handle_conn, sock=s, backlog=1024, ssl=self.tls)
                       for s in socks[1:]]

    def close(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            for server in [self._server, *self._extra]:
                if server is not None:
                    server.close()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- HTTP -----------------------------------------------------------------------------

    async def _handle_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self.connections += 1
        try:
            first = await reader.read(1)
            if first == b"\x16":
                # A TLS ClientHello on this plain socket: answer in plain HTTP, as real
                # servers do, which the client's TLS layer cannot read.
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                await writer.drain()
                return
            while True:
                try:
                    head = first + await reader.readuntil(b"\r\n\r\n")
                    first = b""
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                try:
                    lines = head.decode("latin-1").split("\r\n")
                    method, target, _version = lines[0].split(" ", 2)
                except ValueError:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    await writer.drain()
                    return
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, _, value = line.partition(":")
                        headers[key.strip().lower()] = value.strip()
                if self.record:
                    self.requests.append(Request(method, target, headers, time.monotonic()))
                keep = await self._respond(method, target, headers, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._conns.discard(task)
            writer.close()

    async def _respond(self, method: str, target: str, req: dict[str, str],
                       writer: asyncio.StreamWriter) -> bool:
        route = self.routes.get(target) or self.routes.get(target.split("?", 1)[0])
        if route is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return True
        route.hits += 1
        if route.delay:
            await asyncio.sleep(route.delay)
        wall = _wall(route, target, req)
        if wall:
            writer.write(wall)
            await writer.drain()
            return True
        status = route.status
        headers: list[tuple[str, str]] = [("Date", formatdate(usegmt=True))]
        body: bytes = route.body
        if status == 200 and _not_modified(route, req):
            status, body = 304, b""
        if route.etag:
            headers.append(("ETag", route.etag))
        if route.last_modified:
            headers.append(("Last-Modified", route.last_modified))
        if route.location:
            headers.append(("Location", route.location))
        if status != 304 and route.content_type:
            headers.append(("Content-Type", route.content_type))
        if status != 304 and (route.gzip or route.raw_encoding):
            headers.append(("Content-Encoding", route.raw_encoding or "gzip"))
        headers.extend(route.headers.items())
        size = route.length if route.length is not None and status != 304 else len(body)
        if route.send_length or status == 304:
            headers.append(("Content-Length", str(size)))
        else:
            headers.append(("Connection", "close"))
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        writer.write(head.encode("latin-1"))
        if method == "HEAD" or status == 304:
            await writer.drain()
            return True
        await _send_body(route, body, writer)
        return route.send_length


async def _send_body(route: Route, body: bytes, writer: asyncio.StreamWriter) -> None:
    if route.length is not None:
        left = route.length
        while left > 0:
            piece = _FILL[: min(left, len(_FILL))]
            writer.write(piece)
            await writer.drain()
            route.sent += len(piece)
            left -= len(piece)
    elif route.drip:
        for i in range(0, len(body), route.drip_size):
            writer.write(body[i:i + route.drip_size])
            await writer.drain()
            route.sent += len(body[i:i + route.drip_size])
            await asyncio.sleep(route.drip)
    else:
        writer.write(body)
        await writer.drain()
        route.sent += len(body)


def _wall(route: Route, target: str, req: dict[str, str]) -> bytes:
    """The cookie wall's answer to a request that did not send its cookie back (else b"")."""
    if not route.cookie_wall or route.cookie_wall in (req.get("cookie") or "").split("; "):
        return b""
    return (f"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n"
            f"Set-Cookie: {route.cookie_wall}; Path=/\r\n\r\n").encode("latin-1")


def _not_modified(route: Route, req: dict[str, str]) -> bool:
    inm = req.get("if-none-match")
    if inm is not None:
        if not route.etag:
            return False
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or route.etag in tags or route.etag.removeprefix("W/") in tags
    ims = req.get("if-modified-since")
    return bool(route.last_modified and ims and ims == route.last_modified)


def gzip_bomb(size: int, chunk: int = 1 << 20) -> bytes:
    """A gzip stream that inflates to `size` zero bytes (about 1000:1), built without
    holding `size` bytes in memory."""
    comp = __import__("zlib").compressobj(9, 8, 31)
    zeros = bytes(chunk)
    out = []
    for _ in range(size // chunk):
        out.append(comp.compress(zeros))
    out.append(comp.compress(bytes(size % chunk)))
    out.append(comp.flush())
    return b"".join(out)


def closed_port() -> int:
    """A loopback port with nothing listening on it (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _feed_server() -> Iterator[FeedServer]:
    """A started FeedServer on 127.0.0.1, closed after the test."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.close()


feed_server = pytest.fixture(_feed_server, name="feed_server") if pytest else None
