"""ArticleReader: fetch the page behind a feed item and extract its main text, politely and safely.

Rules:
- One client for all pages: `monitor.fetch.Fetcher` (its guarded transport, size cap
  while streaming, deadline, decompression bound, redirects up to 5), with a User-Agent
  naming Raqib and its project URL and an Accept for HTML.
- Private addresses: a page is fetched only when its address is public, or when it is on
  the same scheme, host and port as its feed (`feed_url`): an admin who configured a
  feed on a private host may read that host's pages, but no item can point Raqib at any
  other private address. The rule holds for every redirect hop (a public page that
  redirects into the local network is refused at that hop; a hop back to the feed's own
  origin is allowed) and for robots.txt.
- Pacing, per host (name, any port): at most `per_host` fetches at once, and the starts
  of two fetches at least `interval` apart (robots.txt counts as a fetch); at most
  `concurrency` fetches at once in all. Two hosts never wait on each other. At most
  HOSTS_MAX hosts are remembered: past it, those idle and open again are forgotten.
- Back-off: a 429 or 503 closes its host for its Retry-After (seconds or a date; at most
  BACKOFF_MAX), else for a back-off that starts at max(2 × interval, 1 s) and doubles
  with each 429/503 in a row, up to BACKOFF_MAX; a success opens it again. A read whose
  host is closed for more than HOST_WAIT_MAX from now is not fetched ("the site asked
  us to wait ...").
- robots.txt (`robots: true`, the default): `monitor.article.robots` (cached per origin;
  fails closed when the file is unreachable, open when it is absent).
- One retry at most, and only for what may pass: a timeout, a connection failure, a 5xx
  or a 429 — never a 404 or other 4xx, a refused address, an oversized page, a robots
  refusal or a page without text. The retry waits for its turn on the host like any
  fetch; when that turn is more than RETRY_WAIT_MAX away, there is no retry.
- Extraction runs in the parse pool's worker processes (`monitor.article.extract`),
  within `extract_deadline`.
- `read` never raises for a page's problem: it returns an ArticleResult whose `reason`
  says what went wrong in words a desk understands. It is cancellable at any await
  (a cancelled read leaves nothing behind; `aclose` ends what is left). The one
  exception it lets through is the pool's ParsingStopped: the daemon is stopping.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from ..display import one_line
from ..errors import FetchError, ParseError
from ..fetch import Fetcher, FetchResult, origin_of
from ..guard import PublicOnlyBackend, Resolver, system_resolver
from ..settings import FulltextSettings
from .robots import RobotsCache

logger = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/raqib-monitor/raqib"
USER_AGENT = f"Raqib/0.1 (+{PROJECT_URL}; Arabic news monitor reading the article behind a feed item)"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
BACKOFF_MAX = 3600.0  # the longest a 429/503 closes a host (Retry-After included)
HOST_WAIT_MAX = 600.0  # a read whose host is closed longer than this is given up
RETRY_WAIT_MAX = 60.0  # no retry when the host's next turn is further away than this
MAX_REDIRECTS = 5
NO_TEXT = "no article text on the page"
ACCESS_REFUSED = "access refused"


def gives_no_text(reason: str) -> bool:
    """Whether a failed read says the site serves pages without readable text (a paywall,
    pages built by script), as opposed to the site or the network being down."""
    return reason == NO_TEXT or reason.startswith(ACCESS_REFUSED)
HOSTS_MAX = 4096  # hosts whose pacing is remembered; past it, the idle and open ones are forgotten


class Extractor(Protocol):
    """What the reader needs of the parse pool (`monitor.parse_pool.ParsePool.extract`)."""

    async def extract(self, url: str, body: bytes, charset: str | None, *, deadline: float) -> str: ...


@dataclass(frozen=True)
class ArticleResult:
    """What reading one article page gave."""

    url: str  # as asked
    final_url: str  # after redirects
    body: str  # paragraphs joined by "\n\n"; "" when it failed
    reason: str  # "" when ok; else the cause, in words a desk understands
    fetches: int  # HTTP page fetches made: 1, or 2 with the one retry (0: not fetched)

    @property
    def ok(self) -> bool:
        return bool(self.body) and not self.reason


class _Failed(Exception):
    """A page's problem, as the reason given to the desk; `retry` when another try may pass."""

    def __init__(self, reason: str, *, retry: bool = False, url: str = "", fetched: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.url = url
        self.fetched = fetched  # False: refused before any request was made


class _Host:
    """One host's pacing: its slots, when the next fetch may start, its back-off."""

    def __init__(self, per_host: int) -> None:
        self.slots = asyncio.Semaphore(per_host)
        self.next_start = 0.0
        self.backoff = 0.0
        self.closed_by = ""  # what closed it ("HTTP 429"), for the reason
        self.users = 0  # fetches holding or waiting for a turn


class ArticleReader:
    """Reads article pages (see the module docstring). One per daemon."""

    def __init__(self, settings: FulltextSettings, *, pool: Extractor, resolver: Resolver = system_resolver,
                 network: httpcore.AsyncNetworkBackend | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic, user_agent: str = USER_AGENT) -> None:
        """`resolver` and `network` are the guarded transport's DNS and network (as in
        monitor.guard), `transport` replaces the whole HTTP transport: test seams."""
        self.settings = settings
        self._pool = pool
        self._clock = clock
        self._fetcher = Fetcher(concurrency=settings.concurrency, per_host=settings.concurrency,
                                connect_timeout=settings.timeout, read_timeout=settings.timeout,
                                deadline=settings.deadline, max_bytes=settings.max_bytes,
                                max_redirects=MAX_REDIRECTS, user_agent=user_agent, transport=transport,
                                accept=PAGE_ACCEPT, backend=PublicOnlyBackend(resolver=resolver, inner=network))
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._robots = RobotsCache(self._fetch_robots, clock=clock)
        self._feed_origins: set[str] = set()  # feeds' own origins: their robots.txt may be private

    async def aclose(self) -> None:
        await self._robots.aclose()
        await self._fetcher.aclose()

    async def __aenter__(self) -> ArticleReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def read(self, url: str, *, feed_url: str) -> ArticleResult:
        """The article at `url` (an item of the feed at `feed_url`); never raises for the page's problem."""
        fetches = 0
        final_url = url
        try:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Failed("not a web address")
            private_origin = _origin(feed_url)
            if self.settings.robots:
                origin = _origin(url)
                if origin is None:
                    raise _Failed("not a web address")
                if origin == private_origin:
                    self._feed_origins.add(origin)
                refusal = await self._robots.refusal(origin, url)
                if refusal:
                    raise _Failed(refusal)
            for attempt in (1, 2):
                try:
                    fetches += 1
                    result = await self._fetch(url, private_origin)
                    break
                except _Failed as failed:
                    fetches -= not failed.fetched
                    if failed.url:
                        final_url = failed.url
                    if attempt == 2 or not failed.retry or not self._retry_soon(url):
                        raise
                    logger.info("article fetch retried url=%s reason=%s", url, failed.reason)
            final_url = result.url
            body = await self._extract(result)
        except _Failed as failed:
            logger.debug("article not read url=%s fetches=%d reason=%s", url, fetches, failed.reason)
            return ArticleResult(url=url, final_url=final_url, body="", reason=failed.reason, fetches=fetches)
        return ArticleResult(url=url, final_url=final_url, body=body, reason="", fetches=fetches)

    # -- fetching ---------------------------------------------------------------------------

    async def _fetch(self, url: str, private_origin: str | None) -> FetchResult:
        """One fetch of `url` in its host's turn; _Failed when it fails."""
        host = self._host(url)
        try:
            async with self._turn(host):
                try:
                    result = await self._fetcher.fetch("article", url, private_ok=False,
                                                       private_origin=private_origin)
                except FetchError as exc:
                    if exc.status in (429, 503):
                        self._back_off(host, exc)
                    raise
                host.backoff = 0.0
                return result
        except FetchError as exc:
            raise self._failure(exc) from None

    async def _fetch_robots(self, url: str) -> FetchResult:
        origin = _origin(url)
        private_origin = origin if origin in self._feed_origins else None
        async with self._turn(self._host(url)):
            return await self._fetcher.fetch("robots.txt", url, private_ok=False, private_origin=private_origin)

    def _host(self, url: str) -> _Host:
        name = (urlsplit(url).hostname or "").lower()
        host = self._hosts.get(name)
        if host is None:
            if len(self._hosts) >= HOSTS_MAX:
                self._forget_idle_hosts()
            host = self._hosts[name] = _Host(self.settings.per_host)
        return host

    def _forget_idle_hosts(self) -> None:
        """Drop the hosts nobody is fetching from and that are open again: their state is
        the state of a host never seen."""
        now = self._clock()
        for name, host in list(self._hosts.items()):
            if not host.users and host.next_start <= now:
                del self._hosts[name]

    def _turn(self, host: _Host) -> _Turn:
        return _Turn(self, host)

    def _back_off(self, host: _Host, exc: FetchError) -> None:
        if exc.retry_after is not None:
            wait = min(exc.retry_after, BACKOFF_MAX)
        else:
            wait = min(max(2 * host.backoff, 2 * self.settings.interval, 1.0), BACKOFF_MAX)
        host.backoff = wait
        host.closed_by = f"HTTP {exc.status}"
        host.next_start = max(host.next_start, self._clock() + wait)
        logger.info("article host backs off status=%s wait=%.1f", exc.status, wait)

    def _retry_soon(self, url: str) -> bool:
        return self._host(url).next_start - self._clock() <= RETRY_WAIT_MAX

    def _failure(self, exc: FetchError) -> _Failed:
        s = self.settings
        status = exc.status
        if exc.kind == "http" and status is not None:
            if status == 404:
                return _Failed("page not found (HTTP 404)", url=exc.url)
            if status in (401, 403):
                return _Failed(f"{ACCESS_REFUSED} (HTTP {status})", url=exc.url)
            if status == 429:
                return _Failed("the site asked us to slow down (HTTP 429)", retry=True, url=exc.url)
            if status >= 500:
                return _Failed(f"server error (HTTP {status})", retry=True, url=exc.url)
            return _Failed(f"the site answered HTTP {status}", url=exc.url)
        if exc.kind == "gone":
            return _Failed("page removed (HTTP 410)", url=exc.url)
        if exc.kind == "timeout":
            if "within" in exc.message:
                return _Failed(f"timed out after {s.deadline:g} s", retry=True)
            return _Failed(f"timed out (no answer within {s.timeout:g} s)", retry=True)
        if exc.kind == "too_large":
            return _Failed(f"page larger than {_size(s.max_bytes)}")
        if exc.kind == "blocked":
            return _Failed("private address refused")
        if exc.kind == "redirect_loop":
            return _Failed("too many redirects")
        if exc.kind == "tls":
            return _Failed("secure connection failed (TLS)")
        if exc.message.startswith("invalid URL"):
            return _Failed("not a web address")
        return _Failed(f"could not connect ({one_line(exc.message, 80)})", retry=True)

    async def _extract(self, result: FetchResult) -> str:
        try:
            body = await self._pool.extract(result.url, result.body or b"", result.charset,
                                            deadline=self.settings.extract_deadline)
        except ParseError as exc:
            raise _Failed(exc.message) from None
        if not body:
            raise _Failed(NO_TEXT)
        return body


class _Turn:
    """A fetch's turn on its host: a host slot, the interval (or back-off) since the last
    start, then a global slot."""

    def __init__(self, reader: ArticleReader, host: _Host) -> None:
        self._reader = reader
        self._host = host

    async def __aenter__(self) -> None:
        reader, host = self._reader, self._host
        host.users += 1
        try:
            await host.slots.acquire()
        except BaseException:
            host.users -= 1
            raise
        try:
            while True:
                now = reader._clock()
                wait = host.next_start - now
                if wait <= 0:
                    break
                if wait > HOST_WAIT_MAX:
                    raise _Failed(f"the site asked us to wait {wait:.0f} s ({host.closed_by})", fetched=False)
                await asyncio.sleep(wait)
            host.next_start = now + reader.settings.interval
            await reader._slots.acquire()
        except BaseException:
            host.slots.release()
            host.users -= 1
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._reader._slots.release()
        self._host.slots.release()
        self._host.users -= 1


def _origin(url: str) -> str | None:
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    if parts.scheme not in ("http", "https") or not parts.host:
        return None
    return origin_of(parts)


def _size(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"

