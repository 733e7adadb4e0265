"""The channel interface: how an alert leaves Raqib.

A channel is one small class that declares its limits as data and implements `send`.
The deliverer (`alerts.outbox`) decides *when* and *what* to send (retries, digests,
quiet hours, bursts); a channel only knows *how*.

- `send(alert)` delivers one alert and returns a reference (a message id) or None.
  It raises `DeliveryError`: `permanent=True` stops retries (address rejected, bot
  blocked), `retry_after` asks for a pause, `unsubscribe=True` deactivates the
  destination's subscriptions, `migrate_to` moves the destination.
- `send_digest(destination, alerts)` delivers several alerts as one message.
- `edit(alert, ref, sources)` updates an earlier message (only where `can_edit`).
- `session()` wraps a batch (one SMTP connection for many messages).
- `concurrency` is how many destinations may be served at once; within one destination
  alerts go in order.

To add a channel: a module with a `Channel` subclass, an entry in `REGISTRY`, and a
table-driven test file.
"""
from __future__ import annotations

import importlib
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, ClassVar, Protocol, Sequence

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.config import Section
    from monitor.models import Alert
    from monitor.store import Store
    from monitor.watchlists import Watchlist

class Services(Protocol):
    """What the running daemon offers to channels that talk back (the Telegram bot)."""

    store: "Store"

    def watchlists(self) -> "list[Watchlist]": ...
    async def reload(self) -> list[str]: ...  # re-read config and watchlists; returns problems
    def status(self) -> dict: ...  # feeds ok/failing, last poll, alerts today, outbox depth
    def personal_terms_changed(self, channel: str, destination: str) -> None: ...  # recompile that chat's own terms
    def wake_delivery(self) -> None: ...


REGISTRY: dict[str, str] = {
    "console": "alerts.console:ConsoleChannel",
    "telegram": "alerts.telegram:TelegramChannel",
    "email": "alerts.email:EmailChannel",
    "webhook": "alerts.webhook:WebhookChannel",
    "apprise": "alerts.apprise_channel:AppriseChannel",
}


class Channel:
    name: ClassVar[str] = ""
    body_maxlen: ClassVar[int | None] = None
    can_edit: ClassVar[bool] = False
    concurrency: ClassVar[int] = 1

    def __init__(self, section: "Section", store: "Store | None" = None) -> None:
        self.section = section
        self.store = store
        self.services: "Services | None" = None

    def attach(self, services: "Services") -> None:
        """The daemon hands over what interactive channels (the bot) need."""
        self.services = services

    async def start(self) -> None:
        """Open connections, start background work. Called once by the daemon."""

    async def close(self) -> None:
        """Release everything; called on shutdown."""

    async def send(self, alert: "Alert") -> str | None:
        raise NotImplementedError

    async def send_digest(self, destination: str, alerts: Sequence["Alert"]) -> str | None:
        ref = None
        for alert in alerts:
            ref = await self.send(alert)
        return ref

    async def edit(self, alert: "Alert", ref: str, sources: Sequence[str]) -> None:
        raise NotImplementedError(f"channel {self.name} cannot edit messages")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        yield

    def destination_defaults(self, destination: str) -> dict:
        """Delivery settings the config gives this destination (mode, quiet, tz)."""
        return {}

    def destinations_for(self, notify: Sequence[str]) -> list[str]:
        """Destinations a watchlist's `notify.<channel>` entry names (validated)."""
        return [str(d) for d in notify]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def delivery_defaults(section: "Section") -> dict[str, Any]:
    """The delivery settings every channel section accepts for all its destinations:
    `digest` (the mode), `quiet` and `tz` — the base a destination's own settings overlay."""
    out: dict[str, Any] = {k: section.get(k) for k in ("quiet", "tz") if section.get(k) is not None}
    out["mode"] = section.get("digest", "instant")
    return out


def max_attempts_of(section: "Section", channel: str) -> int | None:
    """`max_attempts` of a channel section: a whole number ≥ 1, or None when not given."""
    attempts = section.get("max_attempts")
    if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1):
        raise section.error(f"channels.{channel}.max_attempts: expected a whole number ≥ 1", "max_attempts")
    return attempts


def channel_class(name: str) -> type[Channel]:
    target = REGISTRY.get(name)
    if target is None:
        raise ConfigError(f"unknown channel {name!r} (known: {', '.join(sorted(REGISTRY))})")
    module, _, cls = target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"channel {name!r} is not available: {exc}",
                          hint="install the optional extra, e.g. pip install 'raqib[apprise]'") from exc
    return getattr(mod, cls)


def build_channels(sections: dict[str, Any], store: "Store | None") -> dict[str, Channel]:
    """Channels named in the config; the console channel when none is configured."""
    from monitor.config import Section

    chosen = dict(sections)
    if not chosen:
        chosen = {"console": Section({}, "<default>")}
    out: dict[str, Channel] = {}
    for name, section in chosen.items():
        if isinstance(section.values, dict) and section.values.get("enabled") is False:
            continue
        cls = channel_class(name)
        out[name] = cls(section, store)
    return out
