"""httpcore's network layer on asyncio's own streams, for every outbound HTTP request.

httpcore, under httpx, reaches the network through a backend; on asyncio its default is
anyio's, whose connect runs a task group (happy eyeballs) and whose every read and write
enters a cancel scope. On a poll answered 304, most of the work is those layers, not the
HTTP: `AsyncioBackend` does the same on `asyncio.open_connection`, with `asyncio.timeout`.

Rules (what httpcore expects of a backend, as anyio's does it):
- `connect_tcp` connects within `timeout` (ConnectTimeout), trying the name's addresses
  as asyncio does, IPv6 and IPv4 raced 250 ms apart (happy eyeballs); any OSError is a
  ConnectError. TCP_NODELAY is set, then the socket options httpcore passes.
- `read` returns at most `max_bytes`, b"" once the peer has closed; `write` sends all
  of a buffer; each within `timeout` (ReadTimeout / WriteTimeout), an OSError being a
  ReadError / WriteError.
- `start_tls` upgrades the connection in place (TLS handshake within `timeout`,
  ConnectTimeout; an SSL or OS error is a ConnectError, and the connection is closed).
- `aclose` drops the connection at once, as anyio's non-standard TLS close does: no
  close_notify is waited for, so a peer that never answers one holds nothing.
- `get_extra_info` answers "ssl_object", "client_addr", "server_addr", "socket" and
  "is_readable" (an idle kept-alive connection the peer closed or wrote to is not reused).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import ssl
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

from .urls import is_address_literal

HAPPY_EYEBALLS = 0.25  # seconds before the next address is tried beside the first (RFC 8305)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection, as httpcore reads and writes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError, "read timed out"):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError, "write timed out"):
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.transport.abort()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError, "TLS handshake timed out"):
                async with asyncio.timeout(timeout):
                    await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except BaseException:  # failed, timed out or cancelled: no half-open connection is left
            await self.aclose()
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        writer = self._writer
        if info == "ssl_object":
            return writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return writer.get_extra_info("sockname")
        if info == "server_addr":
            return writer.get_extra_info("peername")
        if info == "socket":
            return writer.get_extra_info("socket")
        if info == "is_readable":
            # asyncio reads what arrives into the reader at once: an idle connection whose
            # peer closed or sent anything shows it there, not on the socket.
            reader = self._reader
            return (writer.is_closing() or reader.at_eof() or reader.exception() is not None
                    or len(getattr(reader, "_buffer", b"")) > 0)
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio streams (see the module docstring)."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError, f"no connection to {host}:{port} in time"):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=None if is_address_literal(host) else HAPPY_EYEBALLS)
        sock = writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@contextlib.contextmanager
def _mapped(on_timeout: type[Exception], on_error: type[Exception], what: str) -> Iterator[None]:
    """A TimeoutError raised as `on_timeout`, any other OSError (ssl.SSLError is one) as `on_error`:
    the exceptions httpcore maps to httpx's."""
    try:
        yield
    except TimeoutError as exc:
        raise on_timeout(str(exc) or what) from exc
    except OSError as exc:
        raise on_error(str(exc) or type(exc).__name__) from exc


def ssl_context(*, verify: bool = True, trust_env: bool = True) -> ssl.SSLContext:
    """httpx's client SSL context for these arguments, made once a process for each
    certificate authority setting (SSL_CERT_FILE, SSL_CERT_DIR): reading the CA bundle
    costs about 50 ms, and every transport made its own (two a fetcher, two fetchers a
    daemon, one a webhook channel: a fifth of a start). Connections share a context safely."""
    where = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else (None, None)
    return _ssl_context(verify, trust_env, *where)


@functools.lru_cache(maxsize=8)
def _ssl_context(verify: bool, trust_env: bool, _cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=verify, trust_env=trust_env)


class Transport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool built on `backend` (asyncio's by default)."""

    NO_LIMITS = httpx.Limits()  # no cap on connections or keep-alive (callers pass their own)

    def __init__(self, *, limits: httpx.Limits = NO_LIMITS, verify: bool = True, trust_env: bool = True,
                 backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        context = ssl_context(verify=verify, trust_env=trust_env)
        super().__init__(limits=limits, verify=context, trust_env=trust_env)
        # httpx builds its connection pool from its arguments, with no way to name a
        # network backend: the same pool, built again with ours (httpx is pinned).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend or AsyncioBackend(),
        )
