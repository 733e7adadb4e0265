"""Fetching feeds: one shared httpx.AsyncClient, polite and bounded.

Rules:
- Concurrency: a request first takes its host's slot (`per_host`, keyed by host name,
  port ignored), then a global slot (`concurrency`), so a queue on one busy host never
  holds global slots. The connection pool is sized to the global limit; at most
  `per_host` idle connections are kept alive between requests.
- Time: `connect_timeout` and `read_timeout` (per socket read) are httpx's; `deadline`
  is the wall clock for the whole request (redirects, headers and body) once the slots
  are held, so a server that drips a byte at a time cannot hold a slot for ever.
- Size: the body is read as a stream and the cap (`max_bytes`) applies to the decoded
  body, after gzip/deflate, which Raqib decompresses itself with a bound on the output
  (a gzip bomb stops at the cap, never inflating one network chunk to gigabytes). A
  Content-Length above the cap fails before any body is read.
- Redirects: followed up to `max_redirects`; beyond that (or a loop) is `redirect_loop`.
  When the chain starts with 301/308 hops, the target of the last of those unbroken
  permanent hops is reported as `permanent_url`: the feed's new address.
- Conditional GET: `etag` / `last_modified` are sent as If-None-Match /
  If-Modified-Since. 304 gives status "not_modified" (keeping the old validators unless
  the server sent new ones). A 200 whose body hashes (SHA-256) to `body_hash` gives
  "unchanged". The body is handed on as bytes with the charset HTTP declared: decoding
  (`monitor.decode`, which may run a charset guess over megabytes) is CPU work on a
  stranger's bytes, done with the parse in a worker process, never on the event loop.
- Errors are FetchError with `kind`: timeout (connect, read or the deadline), network
  (refused, DNS, reset), tls, http (any other non-2xx; `retry_after` from Retry-After in
  seconds or an HTTP date, on 429 and 503), too_large, redirect_loop, gone (410: the
  feed should be disabled). An HTTP reason phrase is the server's text: it is quoted as
  one short line (`monitor.display.one_line`, `REASON_MAX` characters).
- Private addresses: a fetch with `private_ok=False` (feeds added at run time, by OPML
  or a bot admin) refuses every request — the first and each redirect hop — whose host
  is or resolves to anything but a public address (kind `blocked`; the rule is in
  `monitor.urls`), so a public feed cannot redirect Raqib into the local network.
  `private_origin` (an article page, `monitor.article`) excepts one origin from that
  refusal: a hop whose scheme, host and port are exactly it (the page's feed's own) may
  reach its private address; every other hop is checked as above. Such
  requests go through `monitor.guard.PublicOnlyTransport`, which connects to the very
  addresses it checked (no DNS rebinding) and fails closed when the name does not
  resolve. Behind an HTTP(S)_PROXY from the environment the proxy connects, so the name
  is resolved and checked before the request is handed to it.
- Cookies: kept for one fetch's redirect chain only (a cookie wall that sets one and
  redirects to the same address is passed), never from one fetch to the next (`_ChainCookies`).
- The network under httpx is asyncio's own (`monitor.aionet`), not anyio's.
- Freshness hints: `max_age` from Cache-Control max-age (none on no-store/no-cache),
  else Expires minus Date (or now).
"""
from __future__ import annotations

import asyncio
import contextvars
import email.utils
import functools
import hashlib
import http.cookiejar
import logging
import ssl
import time
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from .aionet import Transport
from .display import REASON_MAX, one_line
from .errors import FetchError
from .guard import BlockedAddress, PublicOnlyBackend, PublicOnlyTransport, public_addresses
from .settings import PollSettings
from .urls import literal_target_problem

logger = logging.getLogger(__name__)

ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
          "text/xml;q=0.9, */*;q=0.5")


@dataclass(frozen=True)
class FetchResult:
    """What one poll of a feed brought back."""

    status: str  # "ok" | "not_modified" (304) | "unchanged" (200, same body hash)
    url: str  # final URL after redirects
    permanent_url: str | None  # the feed's new URL when 301/308 hops moved it
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    body: bytes | None  # the body as received (decompressed), only for "ok"
    charset: str | None  # the charset the Content-Type header declared, if any
    max_age: float | None  # seconds, from Cache-Control max-age or Expires
    elapsed: float  # seconds, from holding the slots to the end of the body


class _TooLarge(Exception):
    pass


_CHAIN: contextvars.ContextVar[http.cookiejar.CookieJar | None] = contextvars.ContextVar("raqib_fetch_cookies",
                                                                                         default=None)


class _ChainCookies(http.cookiejar.CookieJar):
    """The client's cookie jar: what it holds is the cookies of the current fetch's
    redirect chain (`_CHAIN`: a jar of its own per fetch, in a context variable, so
    concurrent fetches never share one), which `_keep_redirect_cookies` fills from the
    redirects along it and which goes with that fetch.

    A site behind a cookie wall sets a cookie and redirects to the same address, which it
    serves to a client that sends the cookie back: a fetcher that keeps none loops until
    `max_redirects`. A jar kept from one fetch to the next (httpx's own) would send one
    server's cookies back to it on every poll, grow with whatever names servers set
    (httpcore reads up to 100 KiB of headers an answer: thousands of cookies), and have
    httpx copy the whole of it into every request to every feed once it holds one cookie.
    Nothing is read from an answer that is not a redirect: its cookies would go with the
    fetch unused, and reading them costs about 40 us an answer."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        jar = _CHAIN.get()
        if jar is not None:
            jar.set_cookie(cookie)

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass  # `_keep_redirect_cookies` does, for redirects alone

    def add_cookie_header(self, request: Any) -> None:
        jar = _CHAIN.get()
        if jar is not None:
            jar.add_cookie_header(request)

    def __iter__(self) -> Iterator[http.cookiejar.Cookie]:
        jar = _CHAIN.get()
        return iter(jar) if jar is not None else iter(())

    def __len__(self) -> int:
        jar = _CHAIN.get()
        return len(jar) if jar is not None else 0


async def _keep_redirect_cookies(response: httpx.Response) -> None:
    """httpx response hook (it runs before a redirect is followed): the cookies a redirect
    sets, into the fetch's jar (`_ChainCookies`)."""
    jar = _CHAIN.get()
    if jar is not None and response.has_redirect_location and "set-cookie" in response.headers:
        httpx.Cookies(jar).extract_cookies(response)


async def _guard_private(request: httpx.Request, *, via_proxy: bool = False) -> None:
    """httpx request hook for fetches marked `private_ok=False`: address literals and local
    names are refused before anything is sent; behind a proxy (which resolves the name
    itself) the name is resolved and checked here. Direct connections are checked by the
    transport, at connect time."""
    if _hop_private_ok(request):
        return
    host = request.url.host
    problem = literal_target_problem(host)
    if problem:
        raise BlockedAddress(problem)
    if via_proxy and not urllib.request.proxy_bypass(host):
        try:
            await public_addresses(host, request.url.port or (443 if request.url.scheme == "https" else 80), 10.0)
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc


def origin_of(url: str | httpx.URL) -> str:
    """scheme://host:port of `url`, the port written out (80, 443 by default), host lower-cased."""
    url = httpx.URL(url) if isinstance(url, str) else url
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host.lower()}:{port}"


def _hop_private_ok(request: httpx.Request) -> bool:
    """Whether this request (one hop) may reach a private address: it is not marked
    `private_ok=False`, or it goes to the `private_origin` it was allowed."""
    if request.extensions.get("raqib_private_ok", True):
        return True
    allowed = request.extensions.get("raqib_private_origin")
    return allowed is not None and allowed == origin_of(request.url)


class _PrivacyRouter(httpx.AsyncBaseTransport):
    """Requests that may reach private addresses (feeds from the config) go through the
    plain transport, the others through the public-only one."""

    def __init__(self, plain: httpx.AsyncBaseTransport, public_only: httpx.AsyncBaseTransport) -> None:
        self._plain = plain
        self._public_only = public_only

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await (self._plain if _hop_private_ok(request) else self._public_only).handle_async_request(request)

    async def aclose(self) -> None:
        await self._plain.aclose()
        await self._public_only.aclose()


class Fetcher:
    """Fetches feeds concurrently over one shared client. Use one per process. Its bounds
    default to the `poll` options' defaults; the article reader passes `fulltext`'s."""

    def __init__(self, *, concurrency: int = PollSettings.concurrency, per_host: int = PollSettings.per_host,
                 connect_timeout: float = 10.0, read_timeout: float = PollSettings.timeout,
                 deadline: float = PollSettings.deadline, max_bytes: int = PollSettings.max_bytes,
                 max_redirects: int = 5, user_agent: str = "Raqib/0.1 (+feed monitor)",
                 transport: httpx.AsyncBaseTransport | None = None, accept: str = ACCEPT,
                 backend: PublicOnlyBackend | None = None) -> None:
        self.concurrency = concurrency
        self.per_host = per_host
        self.deadline = deadline
        self.max_bytes = max_bytes
        self._slots = asyncio.Semaphore(concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        # Few idle connections are kept: polls of one host come in bursts of `per_host`, and
        # feeds are polled minutes apart, so an idle connection to any other host is rarely
        # used again; and httpcore's pool walks its idle connections once per connection on
        # every request it queues or ends (the largest CPU cost of a 304 with 50 kept).
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=min(concurrency, per_host))
        if transport is None:
            transport = _PrivacyRouter(Transport(limits=limits),
                                       PublicOnlyTransport(limits=limits, backend=backend))
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                                  pool=deadline),
            limits=limits,
            follow_redirects=True,
            max_redirects=max_redirects,
            headers={"User-Agent": user_agent, "Accept": accept,
                     "Accept-Encoding": "gzip, deflate"},
            trust_env=True,
            cookies=_ChainCookies(),
            event_hooks={"request": [functools.partial(_guard_private,
                                                       via_proxy=bool(urllib.request.getproxies()))],
                         "response": [_keep_redirect_cookies]},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(self, feed: str, url: str, *, etag: str | None = None,
                    last_modified: str | None = None, body_hash: str | None = None,
                    private_ok: bool = True, private_origin: str | None = None) -> FetchResult:
        """Fetch one feed; raise FetchError (see the module docstring) when it fails."""
        host = (urlsplit(url).hostname or "").lower()
        host_slot = self._host_slots.get(host)
        if host_slot is None:
            host_slot = self._host_slots[host] = asyncio.Semaphore(self.per_host)
        async with host_slot, self._slots:
            start = time.monotonic()
            chain = _CHAIN.set(http.cookiejar.CookieJar())  # this fetch's cookies, gone with it
            try:
                async with asyncio.timeout(self.deadline):
                    result = await self._fetch(feed, url, etag, last_modified, body_hash, start,
                                               private_ok, private_origin)
            except TimeoutError as exc:
                raise FetchError(f"no complete answer within {self.deadline:g}s", feed=feed,
                                 url=url, kind="timeout",
                                 hint="the server is too slow or drips its answer") from exc
            finally:
                _CHAIN.reset(chain)
        logger.debug("feed fetched feed=%s status=%s elapsed=%.3f", feed, result.status,
                     result.elapsed)
        return result

    async def _fetch(self, feed: str, url: str, etag: str | None, last_modified: str | None,
                     body_hash: str | None, start: float, private_ok: bool = True,
                     private_origin: str | None = None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            extensions = {"raqib_private_ok": private_ok, "raqib_private_origin": private_origin}
            async with self._client.stream("GET", url, headers=headers, extensions=extensions) as response:
                final_url = str(response.url)
                permanent = _permanent_target(url, response)
                code = response.status_code
                if code == 304:
                    return FetchResult(
                        status="not_modified", url=final_url, permanent_url=permanent,
                        etag=response.headers.get("etag") or etag,
                        last_modified=response.headers.get("last-modified") or last_modified,
                        body_hash=body_hash, body=None, charset=None, max_age=_max_age(response.headers),
                        elapsed=time.monotonic() - start)
                _check_status(feed, final_url, response)
                body = await self._read_capped(response)
        except FetchError:
            raise
        except BlockedAddress as exc:
            raise FetchError(f"refused: {exc}", feed=feed, url=url, kind="blocked",
                             hint="feeds added at run time may not reach private addresses "
                                  "(allow_private_feeds: true in the config allows it)") from exc
        except _TooLarge as exc:
            raise FetchError(f"body larger than {self.max_bytes} bytes", feed=feed, url=url,
                             kind="too_large", hint="raise max_bytes if this feed is genuine") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError("too many redirects (or a redirect loop)", feed=feed, url=url,
                             kind="redirect_loop") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out ({type(exc).__name__})", feed=feed, url=url,
                             kind="timeout") from exc
        except httpx.ConnectError as exc:
            kind = "tls" if _is_tls(exc) else "network"
            raise FetchError(f"cannot connect: {exc}", feed=feed, url=url, kind=kind) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            kind = "tls" if _is_tls(exc) else "network"
            raise FetchError(f"{type(exc).__name__}: {exc}", feed=feed, url=url, kind=kind) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}", feed=feed, url=url, kind="http") from exc

        digest = hashlib.sha256(body).hexdigest()
        new_etag = response.headers.get("etag")
        new_modified = response.headers.get("last-modified")
        max_age = _max_age(response.headers)
        if body_hash is not None and digest == body_hash:
            return FetchResult(status="unchanged", url=final_url, permanent_url=permanent,
                               etag=new_etag, last_modified=new_modified, body_hash=digest,
                               body=None, charset=None, max_age=max_age, elapsed=time.monotonic() - start)
        return FetchResult(status="ok", url=final_url, permanent_url=permanent, etag=new_etag,
                           last_modified=new_modified, body_hash=digest, body=body,
                           charset=response.charset_encoding,
                           max_age=max_age, elapsed=time.monotonic() - start)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = self.max_bytes
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise _TooLarge()
        coding = response.headers.get("content-encoding", "identity").strip().lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            inflate = _Inflater(coding)
            chunks = bytearray()
            async for raw in response.aiter_raw():
                inflate.feed(raw, limit - len(chunks) + 1, chunks)
                if len(chunks) > limit:
                    raise _TooLarge()
            inflate.finish(limit - len(chunks) + 1, chunks)
            if len(chunks) > limit:
                raise _TooLarge()
            return bytes(chunks)
        chunks = bytearray()
        # aiter_bytes: identity or an encoding httpx decodes that we did not ask for.
        async for data in response.aiter_bytes():
            chunks += data
            if len(chunks) > limit:
                raise _TooLarge()
        return bytes(chunks)


class _Inflater:
    """gzip/deflate with a bound on how much one call may produce.

    Data after the end of the first compressed stream is ignored, as httpx does.
    """

    def __init__(self, coding: str) -> None:
        self._coding = coding
        # 47: gzip or zlib header, detected. "deflate" is meant to be zlib-wrapped but
        # some servers send it raw; the first chunk tells.
        self._obj = zlib.decompressobj(47 if coding != "deflate" else 15)
        self._started = False

    def feed(self, data: bytes, room: int, out: bytearray) -> None:
        try:
            self._feed(data, room, out)
        except zlib.error as exc:
            if self._coding != "deflate" or self._started:
                raise httpx.DecodingError(f"bad {self._coding} body: {exc}") from exc
            self._obj = zlib.decompressobj(-15)
            try:
                self._feed(data, room, out)
            except zlib.error as exc2:
                raise httpx.DecodingError(f"bad {self._coding} body: {exc2}") from exc2
        self._started = True

    def _feed(self, data: bytes, room: int, out: bytearray) -> None:
        # With a max_length, zlib stops when the output is full and keeps the rest of the
        # input in unconsumed_tail; so memory stays bounded by `room`.
        while data and room > 0 and not self._obj.eof:
            piece = self._obj.decompress(data, room)
            out += piece
            room -= len(piece)
            data = self._obj.unconsumed_tail

    def finish(self, room: int, out: bytearray) -> None:
        if room > 0 and not self._obj.eof:
            try:
                out += self._obj.flush(room)
            except zlib.error as exc:
                raise httpx.DecodingError(f"bad {self._coding} body: {exc}") from exc


def _check_status(feed: str, url: str, response: httpx.Response) -> None:
    """Raise the FetchError an answer's status means: 410 (gone), anything else not 2xx (a
    304 is handled before)."""
    code = response.status_code
    if code == 410:
        raise FetchError("the feed is gone (HTTP 410)", feed=feed, url=url,
                         kind="gone", status=code,
                         hint="the publisher removed it; disable or replace the feed")
    if not 200 <= code < 300:
        retry_after = None
        if code in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        # the reason phrase is the server's text: one short line, no controls
        reason = one_line(response.reason_phrase, REASON_MAX)
        raise FetchError(f"HTTP {code} {reason}".rstrip(), feed=feed,
                         url=url, kind="http", status=code,
                         retry_after=retry_after)


def _permanent_target(url: str, response: httpx.Response) -> str | None:
    target = None
    for hop in response.history:
        if hop.status_code not in (301, 308):
            break
        nxt = hop.headers.get("location")
        if not nxt:
            break
        target = str(hop.url.join(nxt))
    return target if target and target != url else None


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen) or "TLS" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _max_age(headers: httpx.Headers) -> float | None:
    cache_control = headers.get("cache-control", "").lower()
    directives = {}
    for part in cache_control.split(","):
        key, _, val = part.strip().partition("=")
        directives[key.strip()] = val.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    if directives.get("max-age", "").isdigit():
        return float(directives["max-age"])
    expires = headers.get("expires")
    if not expires:
        return None
    try:
        when = email.utils.parsedate_to_datetime(expires)
    except (TypeError, ValueError, IndexError):
        return None
    base = None
    if headers.get("date"):
        try:
            base = email.utils.parsedate_to_datetime(headers["date"])
        except (TypeError, ValueError, IndexError):
            base = None
    if base is None:
        base = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    return max(0.0, (when - base).total_seconds())
