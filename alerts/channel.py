"""The channel interface: how an alert leaves Raqib.

A channel is one small class that declares its limits as data and implements `send`.
The deliverer (`alerts.outbox`) decides *when* and *what* to send (retries, digests,
quiet hours, bursts); a channel only knows *how*.

- `send(alert)` delivers one alert and returns a reference (a message id) or None.
  It raises `DeliveryError`: `permanent=True` stops retries (address rejected, bot
  blocked), `retry_after` asks for a pause, `unsubscribe=True` deactivates the
  destination's subscriptions, `migrate_to` moves the destination.
- `send_digest(destination, alerts)` delivers several alerts as one message.
- `send_related(alert, ref, head=...)` delivers a later story of an event as a reply to
  the event's first alert (`head`, and `ref`, what `send` returned for it); by default a
  plain `send`.
- `edit(alert, ref, sources, related=...)` updates an earlier message (only where
  `can_edit`): the outlets that carried the same text, and the related stories (other
  outlets' own words) folded into it.
- `session()` wraps a batch (one SMTP connection for many messages).
- `take_updates(on)` starts or stops taking commands (the Telegram bot's `getUpdates`):
  the daemon calls it as this node takes or gives up the bot role.
- `concurrency` is how many destinations may be served at once; within one destination
  alerts go in order.
- `admin_destinations()` names who hears of the program's own trouble (a feed unhealthy or
  recovered, `alerts.health`): none by default; the console's one stream, Telegram's
  `admins` chats.

Options are data: a channel declares each option of its config section once, as a
`ChannelOption` (name, kind, default, required, secret, choices or a lower bound). The base
checks the section against them before the channel sees it — an unknown key, a value of
the wrong kind or outside its choices, a missing required option is a `ConfigError`
naming `file:line` and `channels.<name>.<key>` — fills the defaults, never shows a secret
option in `repr`, and checks the delivery settings (`digest`, `quiet`, `tz`) of the
channel and of each destination its `destination_table` names. The README's channel
reference is tested against these declarations, so every default is written once.

To add a channel: a module with a `Channel` subclass (its `options` and `configure`),
an entry in `REGISTRY`, and a table-driven test file.
"""
from __future__ import annotations

import copy
import importlib
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from monitor.config import Section
from monitor.errors import ConfigError
from monitor.models import RELATED_MODES
from monitor.yamlfile import shown

from .policy import policy_from_settings

if TYPE_CHECKING:
    from monitor.models import Alert, Watchlist
    from monitor.store import Store


class Services(Protocol):
    """What the running daemon offers to channels that talk back (the Telegram bot)."""

    store: Store

    def watchlists(self) -> list[Watchlist]: ...
    async def reload(self) -> list[str]: ...  # re-read config and watchlists; returns problems
    def status(self) -> dict[str, Any]: ...  # feeds ok/failing, last poll, alerts today, outbox depth
    def personal_terms_changed(self, channel: str, destination: str) -> None: ...  # recompile that chat's own terms
    def wake_delivery(self) -> None: ...


REGISTRY: dict[str, str] = {
    "console": "alerts.console:ConsoleChannel",
    "telegram": "alerts.telegram:TelegramChannel",
    "email": "alerts.email:EmailChannel",
    "webhook": "alerts.webhook:WebhookChannel",
    "apprise": "alerts.apprise_channel:AppriseChannel",
}


KINDS = ("bool", "text", "int", "number", "duration", "list", "mapping", "any")
KIND_WORDS = {"bool": "true or false", "text": "text", "int": "a whole number", "number": "a number",
              "list": "a list", "mapping": "a mapping"}


@dataclass(frozen=True)
class ChannelOption:
    """One option of a channel's config section, as the README's reference lists it."""

    name: str
    kind: str  # one of KINDS
    default: object = None
    required: bool = False
    secret: bool = False
    choices: tuple[str, ...] = ()  # allowed values of a text option, compared lower-cased
    low: float | None = None  # smallest allowed value of an int, number or duration
    high: float | None = None  # largest allowed value of an int or number
    help: str = ""  # what a missing required option is, for its error message

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: unknown kind {self.kind!r}")


#: the delivery settings every channel but the console accepts for all its destinations
DELIVERY_OPTIONS: tuple[ChannelOption, ...] = (
    ChannelOption("digest", "text", "instant"),  # the default mode: instant | hourly | daily@HH:MM
    ChannelOption("quiet", "any"),  # "22:00-07:00" or off
    ChannelOption("tz", "text"),  # IANA zone name; UTC when not given
    ChannelOption("related", "text", choices=RELATED_MODES),  # reply | edit | alert; else each watchlist's related:
)
ENABLED = ChannelOption("enabled", "bool", True)
MAX_ATTEMPTS = ChannelOption("max_attempts", "int", low=1)
DESTINATION_KEYS = ("mode", "quiet", "tz", "related")  # what a named destination may set for itself


def read_options(section: Section, channel: str, options: Sequence[ChannelOption]) -> dict[str, Any]:
    """The section's values checked against `options`, defaults filled in; a ConfigError
    naming the file, line and `channels.<channel>.<key>` for the first problem."""
    values = section.values
    if not isinstance(values, Mapping):
        raise section.error(f"channels.{channel}: expected a mapping of options, got {shown(values)}")
    known = {o.name: o for o in options}
    for key in values:
        if key not in known:
            raise section.error(f"channels.{channel}: unknown key {shown(key)} (known: {', '.join(sorted(known))})",
                                str(key))
    out: dict[str, Any] = {}
    for opt in options:
        raw = values.get(opt.name)
        if raw is None:
            if opt.required:
                what = f" ({opt.help})" if opt.help else ""
                raise section.error(f"channels.{channel}: `{opt.name}`{what} is required", opt.name)
            out[opt.name] = copy.deepcopy(opt.default)
            continue
        out[opt.name] = _checked(section, channel, opt, raw)
    return out


def _checked(section: Section, channel: str, opt: ChannelOption, raw: Any) -> Any:
    where = f"channels.{channel}.{opt.name}"
    if opt.kind == "duration":
        value: Any = section.duration(opt.name, 0.0)
    elif opt.kind == "any":
        return raw
    else:
        ok = {"bool": isinstance(raw, bool),
              "text": isinstance(raw, str),
              "int": isinstance(raw, int) and not isinstance(raw, bool),
              "number": isinstance(raw, (int, float)) and not isinstance(raw, bool)
              and math.isfinite(float(raw)),
              "list": isinstance(raw, list),
              "mapping": isinstance(raw, Mapping)}[opt.kind]
        if not ok:
            shown_raw = "a secret" if opt.secret else shown(raw)
            raise section.error(f"{where}: expected {KIND_WORDS[opt.kind]}, got {shown_raw}", opt.name)
        value = raw
    if opt.choices:
        value = str(value).strip().lower()
        if value not in opt.choices:
            raise section.error(f"{where}: expected {' or '.join(opt.choices)}, got {shown(raw)}", opt.name)
    if opt.low is not None and value < opt.low:
        raise section.error(f"{where}: expected at least {opt.low:g}, got {shown(raw)}", opt.name)
    if opt.high is not None and value > opt.high:
        raise section.error(f"{where}: expected at most {opt.high:g}, got {shown(raw)}", opt.name)
    return value


class Channel:
    """The base of every channel: options read once, delivery settings, destinations."""

    name: ClassVar[str] = ""
    can_edit: ClassVar[bool] = False
    concurrency: ClassVar[int] = 1
    options: ClassVar[tuple[ChannelOption, ...]] = (ENABLED,)
    destination_table: ClassVar[str] = ""  # the option naming destinations with their own settings

    def __init__(self, section: Section, store: Store | None = None) -> None:
        self.section = section
        self.store = store
        self.services: Services | None = None
        self.values = read_options(section, self.name, self.options)
        self.defaults: dict[str, object] = {}
        if "digest" in self.values:
            self.defaults = {k: self.values[k] for k in ("quiet", "tz", "related") if self.values[k] is not None}
            self.defaults["mode"] = self.values["digest"]
        self.named: dict[str, dict[str, Any]] = {}  # destination table: name → its settings
        self.configure()
        self._check_policies()

    def configure(self) -> None:
        """Read the checked options (`self.values`) into the channel's own fields."""

    def _check_policies(self) -> None:
        if "digest" not in self.values:
            return
        for name in [None, *self.named]:
            try:
                policy_from_settings(self.destination_defaults(name) if name else self.defaults)
            except ValueError as exc:
                where = f"{self.destination_table}.{name}" if name else "digest"
                raise self.section.error(f"channels.{self.name}.{where}: {exc}",
                                         self.destination_table if name else "digest") from exc

    def attach(self, services: Services) -> None:
        """The daemon hands over what interactive channels (the bot) need."""
        self.services = services

    async def start(self) -> None:
        """Open connections, start background work. Called once by the daemon."""

    async def close(self) -> None:
        """Release everything; called on shutdown."""

    @property
    def takes_updates(self) -> bool:
        """Whether this channel reads people's commands (and so needs the bot role)."""
        return False

    async def take_updates(self, on: bool) -> None:
        """Start (True) or stop (False) taking incoming updates (commands): one node of
        several does, the one holding the bot role. Sending is not affected."""

    async def send(self, alert: Alert) -> str | None:
        raise NotImplementedError

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        ref = None
        for alert in alerts:
            ref = await self.send(alert)
        return ref

    async def send_related(self, alert: Alert, ref: str, *, head: Alert | None = None) -> str | None:
        return await self.send(alert)

    async def edit(self, alert: Alert, ref: str, sources: Sequence[str], *,
                   related: Sequence[Alert] = ()) -> None:
        raise NotImplementedError(f"channel {self.name} cannot edit messages")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        yield

    def named_key(self, destination: str) -> str:
        """How a destination is looked up in the destination table."""
        return destination

    def admin_destinations(self) -> tuple[str, ...]:
        """The destinations of this channel's admins, told of feed health (`alerts.health`)."""
        return ()

    def destination_defaults(self, destination: str) -> dict[str, object]:
        """Delivery settings the config gives this destination (mode, quiet, tz): the
        channel's defaults, overlaid with its entry in the destination table."""
        spec = self.named.get(self.named_key(destination), {})
        return {**self.defaults, **{k: spec[k] for k in DESTINATION_KEYS if k in spec}}

    def destinations_for(self, notify: Sequence[str]) -> list[str]:
        """Destinations a watchlist's `notify.<channel>` entry names, each checked by
        `check_destination` (a ConfigError names the first bad one)."""
        out = []
        for item in notify:
            dest = str(item).strip()
            self.check_destination(dest)
            out.append(dest)
        return out

    def check_destination(self, destination: str) -> None:
        """Raise ConfigError when this channel cannot deliver to `destination`."""

    def __repr__(self) -> str:
        shown_values = []
        for opt in self.options:
            value = self.values.get(opt.name)
            if opt.name == "enabled" or value is None or opt.name not in self.section.values:
                continue
            if opt.secret:
                value = "***"
            elif isinstance(value, Mapping):
                value = sorted(value)  # names only: the values may hold URLs with tokens
            shown_values.append(f"{opt.name}={value}")
        return f"<{type(self).__name__} {self.name}{''.join(' ' + v for v in shown_values)}>"


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


def build_channel(name: str, section: Section, store: Store | None) -> Channel:
    """One channel from its config section; every problem with the section, whatever its
    kind, is a ConfigError naming the file and line (`raqib check` and `raqib run` alike)."""
    try:
        return channel_class(name)(section, store)
    except ConfigError as exc:
        if exc.file is None:
            exc.file, exc.line = section.file, section.line
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # a value of a kind the channel did not expect: still a problem in this file, not a crash
        raise ConfigError(f"channels.{name}: a value is not of the kind expected ({exc})",
                          file=section.file, line=section.line) from exc


def build_channels(sections: Mapping[str, Section], store: Store | None) -> dict[str, Channel]:
    """Channels named in the config; the console channel when none is configured."""
    chosen = dict(sections)
    if not chosen:
        chosen = {"console": Section({}, "<default>")}
    out: dict[str, Channel] = {}
    for name, section in chosen.items():
        if isinstance(section.values, Mapping) and section.values.get("enabled") is False:
            continue
        out[name] = build_channel(name, section, store)
    return out
