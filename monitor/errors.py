"""Raqib's errors: one small tree, each carrying what a person needs to act.

    RaqibError
     ├── ConfigError        file, line: a config or watchlist file is wrong
     ├── FetchError         feed, url: a feed could not be fetched (network, HTTP, size)
     ├── ParseError         feed, url: the body is not a feed we can read
     ├── StoreError         the database refused (disk full, read-only, corrupt)
     └── DeliveryError      channel, destination, permanent, retry_after, held, unsubscribe,
                            migrate_to: an alert could not be sent

Third-party exceptions are translated at the boundary (`raise FetchError(...) from exc`).
"""
from __future__ import annotations


class RaqibError(Exception):
    """Base of every error Raqib raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(RaqibError):
    """A config or watchlist file is missing or wrong; names the file and line."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return where + super().__str__()


class FetchError(RaqibError):
    """A feed could not be fetched. `kind` is a short label for metrics (timeout, http, ...)."""

    def __init__(self, message: str, *, feed: str = "", url: str = "", kind: str = "network",
                 status: int | None = None, retry_after: float | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.feed = feed
        self.url = url
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"feed {self.feed or '?'} <{self.url}>: {super().__str__()}"


class ParseError(FetchError):
    """The body was fetched but is not a feed we can read."""

    def __init__(self, message: str, *, feed: str = "", url: str = "", hint: str = "") -> None:
        super().__init__(message, feed=feed, url=url, kind="parse", hint=hint)


class StoreError(RaqibError):
    """The database refused a read or write."""


class DeliveryError(RaqibError):
    """An alert could not be delivered. `permanent` errors are not retried."""

    def __init__(self, message: str, *, channel: str = "", destination: str = "",
                 permanent: bool = False, retry_after: float | None = None, hint: str = "",
                 unsubscribe: bool = False, migrate_to: str | None = None, held: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.channel = channel
        self.destination = destination
        self.permanent = permanent
        self.retry_after = retry_after
        self.held = held  # the wait is long (a Telegram RetryAfter): the alerts leave as one digest
        self.unsubscribe = unsubscribe  # the destination is gone (bot blocked, kicked)
        self.migrate_to = migrate_to  # the destination moved (Telegram group → supergroup)
