"""What the pipeline and the article queue need of the parts they are handed, as protocols:
each part is typed by what is used of it, and mypy checks the real one at the daemon's
call site (`WatchlistRegistry`, `MatcherGroup`, `StoreThread`)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ParamSpec, Protocol, TypeVar

from .models import Match, Watchlist

P = ParamSpec("P")
T = TypeVar("T")


class StoryMatcher(Protocol):
    """The compiled watchlists (monitor.match `Matcher`, `MatcherGroup`): what a story fires."""

    def match(self, title: str, summary: str = "", body: str = "") -> list[Match]: ...


class WatchlistSource(Protocol):
    """What the pipeline needs from the watchlist registry: the current set and matcher."""

    @property
    def watchlists(self) -> Sequence[Watchlist]: ...

    @property
    def matcher(self) -> StoryMatcher: ...


class Run(Protocol):
    """Where store calls run: `await run(fn, *args)` is `fn(*args)` on the store thread
    (monitor.store.worker `StoreThread`, or `inline` in the caller's thread)."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]: ...
