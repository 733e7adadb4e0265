"""robots.txt: may Raqib read this page? Asked once per host, remembered a while.

Rules (RFC 9309, with its choices where it leaves one):
- The file is https?://host:port/robots.txt of the page's own origin, fetched by the
  article reader's own guarded client (the same private-address rule, redirects
  followed up to 5 hops, the same pacing as the host's pages).
- Read as UTF-8 (bad bytes replaced), at most ROBOTS_MAX bytes parsed (RFC 9309 asks for
  at least 500 KiB); the groups for the product token `Raqib`, else `*`, decide
  (Python's urllib.robotparser: the first matching Allow/Disallow line of the group in
  file order; a page not named is allowed).
- 2xx: the file decides. 4xx but 429 (absent, forbidden, gone): everything is allowed.
  A file larger than the page cap: taken as absent (allowed).
- Fail closed: 429, 5xx, a timeout, a connection failure — the file is unreachable, so
  the host's pages are not read (RFC 9309 2.3.1.4) until it is asked again after
  UNREACHABLE_TTL (10 minutes). robots.txt on a refused (private) address refuses the
  host's pages for the same reason.
- Kept per origin for FOUND_TTL (24 h) when read or absent; at most ROBOTS_HOSTS
  origins, the least recently asked dropped first. Concurrent questions about one origin
  share one fetch.
"""
from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from ..errors import FetchError
from ..fetch import FetchResult

PRODUCT = "Raqib"
ROBOTS_MAX = 512 * 1024
FOUND_TTL = 24 * 3600.0
UNREACHABLE_TTL = 600.0
ROBOTS_HOSTS = 2048

Fetch = Callable[[str], Awaitable[FetchResult]]  # robots.txt URL -> result; FetchError when it fails


DISALLOWED = "robots.txt disallows it"
UNREACHABLE = "robots.txt could not be read (the site is down or refuses), so its pages are not read for now"
BLOCKED = "private address refused"


class _Verdict:
    """A host's robots.txt as read: a parser, or everything allowed, or everything refused
    for `reason`."""

    def __init__(self, parser: urllib.robotparser.RobotFileParser | None, refused: str = "") -> None:
        self.parser = parser
        self.refused = refused

    def refusal(self, url: str) -> str:
        if self.parser is None:
            return self.refused
        return "" if self.parser.can_fetch(PRODUCT, url) else DISALLOWED


class RobotsCache:
    """robots.txt per origin (see the module docstring)."""

    def __init__(self, fetch: Fetch, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, _Verdict]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[_Verdict]] = {}  # origin -> the fetch under way

    async def refusal(self, origin: str, url: str) -> str:
        """Why robots.txt of `origin` (scheme://host:port) does not let Raqib read `url`
        (DISALLOWED, UNREACHABLE, or BLOCKED when robots.txt itself is on a refused
        address), or "" when it does."""
        return (await self._verdict(origin)).refusal(url)

    async def _verdict(self, origin: str) -> _Verdict:
        cached = self._cache.get(origin)
        if cached is not None and cached[0] > self._clock():
            self._cache.move_to_end(origin)
            return cached[1]
        task = self._pending.get(origin)
        if task is None:
            # its own task: one asker cancelled does not cancel the others' answer
            task = self._pending[origin] = asyncio.ensure_future(self._remember(origin))
        return await asyncio.shield(task)

    async def _remember(self, origin: str) -> _Verdict:
        try:
            verdict, ttl = await self._read(origin)
        finally:
            del self._pending[origin]
        self._cache[origin] = (self._clock() + ttl, verdict)
        self._cache.move_to_end(origin)
        while len(self._cache) > ROBOTS_HOSTS:
            self._cache.popitem(last=False)
        return verdict

    async def aclose(self) -> None:
        """Stop the fetches of robots.txt still running."""
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, origin: str) -> tuple[_Verdict, float]:
        try:
            result = await self._fetch(f"{origin}/robots.txt")
        except FetchError as exc:
            status = getattr(exc, "status", None)
            if exc.kind in ("http", "gone") and status is not None and 400 <= status < 500 and status != 429:
                return _Verdict(None), FOUND_TTL
            if exc.kind == "too_large":
                return _Verdict(None), FOUND_TTL
            return _Verdict(None, BLOCKED if exc.kind == "blocked" else UNREACHABLE), UNREACHABLE_TTL
        text = (result.body or b"")[:ROBOTS_MAX].decode("utf-8", "replace")
        parser = urllib.robotparser.RobotFileParser()
        await asyncio.to_thread(parser.parse, text.splitlines())
        return _Verdict(parser), FOUND_TTL
