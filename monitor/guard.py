"""Outbound HTTP that can reach only public addresses (no SSRF, no DNS rebinding).

Rules:
- `PublicOnlyTransport` is httpx's own transport with one change: its connections are
  made by `PublicOnlyBackend`, which resolves the host name itself, checks every address
  it resolves to (`monitor.urls.is_private_address`) and connects to a checked address.
  The Host header and TLS SNI and certificate check still use the name. So what was
  checked is what is connected to: a name that answers a public address to a first
  lookup and 127.0.0.1 to a second has no second lookup to answer.
- If any address of a name is not public, the connection is refused (`BlockedAddress`):
  a name with one private address among public ones is treated as private. An address
  literal is checked as it is; local names (localhost, *.local ...) are refused.
- Fail closed: a name that does not resolve (or not in time) is a connection error,
  never a connection to something unchecked.
- Every hop of a redirect is a new request on the same transport, so each is checked.
- `BlockedAddress` passes through httpx unchanged; callers turn it into their own error
  (a feed's FetchError `blocked`, a webhook's permanent DeliveryError).
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from .aionet import AsyncioBackend, Transport
from .urls import is_private_address, literal_target_problem

Resolver = Callable[[str, int], Awaitable[list[str]]]  # host, port → addresses; OSError when none


class BlockedAddress(Exception):
    """A request would have reached a private, loopback or reserved address."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives `host`, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv4 or IPv6 sockaddr starts with the address as text; no other family is asked for.
    return [address for *_, sockaddr in infos if isinstance(address := sockaddr[0], str)]


async def public_addresses(host: str, port: int, timeout: float | None = None,
                           resolver: Resolver = system_resolver) -> list[str]:
    """The addresses `host` resolves to, all of them public; else BlockedAddress (some are
    not) or httpcore.ConnectError / ConnectTimeout (no answer)."""
    problem = literal_target_problem(host)
    if problem:
        raise BlockedAddress(problem)
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        answer = await asyncio.wait_for(resolver(host, port), timeout)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"no DNS answer for {host} within {timeout:g}s") from None
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(a.split("%")[0] for a in answer))
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no address")
    for address in addresses:
        if is_private_address(ipaddress.ip_address(address)):
            raise BlockedAddress(f"{host} resolves to a private, loopback or reserved address ({address})")
    return addresses


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """A network backend (`inner`, asyncio's by default) that connects only to checked public addresses."""

    def __init__(self, *, resolver: Resolver = system_resolver,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._resolver = resolver
        self._inner = inner or AsyncioBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for address in await public_addresses(host, port, timeout, self._resolver):
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # the next address of the name, as a resolver-driven connect would
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are local")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PublicOnlyTransport(Transport):
    """httpx's transport whose connections go only to public addresses."""

    def __init__(self, *, limits: httpx.Limits = Transport.NO_LIMITS, verify: bool = True,
                 trust_env: bool = True, backend: PublicOnlyBackend | None = None) -> None:
        super().__init__(limits=limits, verify=verify, trust_env=trust_env, backend=backend or PublicOnlyBackend())
