"""Every outbound request rides on monitor.aionet (httpcore's network layer on asyncio's
streams) and on a fetcher that keeps no cookies: real servers on 127.0.0.1, HTTPS with a
certificate authority made for the test."""
from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from monitor.errors import FetchError
from monitor.fetch import Fetcher
from tests.support.feedserver import FeedServer, feed_server  # noqa: F401  (the fixture)

FEED = (Path(__file__).parent.parent / "data" / "feeds" / "hostile" / "empty.xml").read_bytes()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[FeedServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with FeedServer(tls=context) as server:
        yield server


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's authority trusted, as an operator's SSL_CERT_FILE makes it."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))


async def test_a_feed_over_https_is_read_and_its_certificate_checked(https_server, trusted, monkeypatch):
    https_server.route("/rss", body=FEED, etag='"v1"')
    async with Fetcher(connect_timeout=2, read_timeout=2, deadline=5) as fetcher:
        first = await fetcher.fetch("tls", https_server.url("/rss", scheme="https"))
        again = await fetcher.fetch("tls", https_server.url("/rss", scheme="https"), etag=first.etag)
    assert first.status == "ok" and first.body == FEED
    assert again.status == "not_modified"

    monkeypatch.delenv("SSL_CERT_FILE")  # the same server, its authority unknown
    async with Fetcher(connect_timeout=2, read_timeout=2, deadline=5) as fetcher:
        with pytest.raises(FetchError) as err:
            await fetcher.fetch("tls", https_server.url("/rss", scheme="https"))
    assert err.value.kind == "tls"


async def test_a_certificate_for_another_name_is_refused(ca, trusted):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("news.example").configure_cert(context)
    with FeedServer(tls=context) as server:
        server.route("/rss", body=FEED)
        async with Fetcher(connect_timeout=2, read_timeout=2, deadline=5) as fetcher:
            with pytest.raises(FetchError) as err:
                await fetcher.fetch("tls", server.url("/rss", scheme="https"))
    assert err.value.kind == "tls"


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


@pytest.mark.parametrize("scheme", ["https", "http"])  # a TLS handshake, an answer: never sent
async def test_a_server_that_never_answers_times_out_in_time(silent_port, scheme):
    async with Fetcher(connect_timeout=0.5, read_timeout=0.5, deadline=3) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as err:
            await fetcher.fetch("mute", f"{scheme}://127.0.0.1:{silent_port}/rss")
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 2.5


@pytest.fixture
async def hanging_up_server() -> AsyncIterator[tuple[int, list[int]]]:
    """Answers one request a connection with keep-alive, then, the connection idle, says
    "408 Request Timeout" unasked and hangs up (as some servers do). Counts connections."""
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n"
              % len(FEED)) + FEED
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], connections
    server.close()


async def test_a_kept_connection_the_server_hung_up_on_is_not_used_again(hanging_up_server):
    port, connections = hanging_up_server
    async with Fetcher(connect_timeout=1, read_timeout=1, deadline=3, per_host=2) as fetcher:
        for _ in range(3):
            result = await fetcher.fetch("idle", f"http://127.0.0.1:{port}/rss")
            assert result.status == "ok" and result.body == FEED
            await asyncio.sleep(0.2)  # the server has spoken and hung up meanwhile
    assert len(connections) == 3


async def test_a_kept_connection_is_used_again(feed_server):
    feed_server.route("/a", body=FEED)
    feed_server.route("/b", body=FEED)
    async with Fetcher(connect_timeout=1, read_timeout=1, deadline=3) as fetcher:
        for path in ("/a", "/b", "/a"):
            assert (await fetcher.fetch("kept", feed_server.url(path))).status == "ok"
    assert [r.path for r in feed_server.requests] == ["/a", "/b", "/a"]
    assert feed_server.connections == 1


async def test_no_cookie_is_kept_from_one_fetch_to_the_next(feed_server):
    # A server that sets a cookie on every answer, and another feed on the same host.
    feed_server.route("/rss", body=FEED, headers={"Set-Cookie": "session=abc; Path=/"})
    feed_server.route("/other", body=FEED, headers={"Set-Cookie": "track=1; Path=/; Max-Age=3600"})
    async with Fetcher(connect_timeout=1, read_timeout=1, deadline=3) as fetcher:
        for path in ("/rss", "/other", "/rss", "/other"):
            await fetcher.fetch("cookies", feed_server.url(path))
    assert [r.headers.get("cookie") for r in feed_server.requests] == [None] * 4


async def test_a_cookie_wall_is_passed_and_its_cookie_goes_with_that_fetch_alone(feed_server):
    # A site that answers only a client sending its cookie back, else sets it and redirects
    # to the same address; a second wall on the same host; and a plain feed there.
    feed_server.route("/walled", body=FEED, cookie_wall="consent=yes")
    feed_server.route("/walled-too", body=FEED, cookie_wall="bot-check=1")
    feed_server.route("/plain", body=FEED)
    async with Fetcher(connect_timeout=1, read_timeout=1, deadline=3) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch("wall", feed_server.url(path))
                                         for path in ("/walled", "/walled-too", "/plain")))
        assert [r.status for r in results] == ["ok"] * 3 and {r.body for r in results} == {FEED}
        again = await fetcher.fetch("wall", feed_server.url("/walled"))
        assert again.status == "ok" and again.body == FEED
    sent = {}
    for r in feed_server.requests:
        sent.setdefault(r.path, []).append(r.headers.get("cookie"))
    # each wall: its first request bare, the redirected one with its own cookie alone; the
    # next fetch of it starts bare again; the plain feed never gets a cookie
    assert sent == {"/walled": [None, "consent=yes", None, "consent=yes"],
                    "/walled-too": [None, "bot-check=1"], "/plain": [None]}


def test_connections_refused_name_the_failure_and_hold_nothing():
    """A port nobody listens on: a network error, every time, and no socket left open."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def run() -> list[str]:
        kinds = []
        async with Fetcher(connect_timeout=1, read_timeout=1, deadline=3) as fetcher:
            for _ in range(20):
                try:
                    await fetcher.fetch("refused", f"http://127.0.0.1:{port}/rss")
                except FetchError as exc:
                    kinds.append(exc.kind)
        return kinds

    before = len(list(Path("/proc/self/fd").iterdir()))
    assert asyncio.run(run()) == ["network"] * 20
    assert len(list(Path("/proc/self/fd").iterdir())) <= before + 2
