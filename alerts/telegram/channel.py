"""The Telegram channel: alerts as right-to-left HTML messages, through python-telegram-bot.

Rules:
- The token comes from, in order: `token` in the config written as `${VAR}`, the
  environment variable `RAQIB_TELEGRAM_TOKEN`, or the file `telegram_token` in
  `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`). A token written literally in the
  YAML is refused (ConfigError naming the line): the file is read by people and tools
  that should not hold it. The token is never logged and never shown in `repr`; httpx
  and httpcore (which log request URLs, and the token is part of every URL) are held at
  WARNING.
- `api_url` is the Bot API server (default https://api.telegram.org; a self-hosted
  server works too); PTB's base URL is `api_url + "/bot"`.
- Destinations are chat ids ("123", "-100123…") or public channel names ("@desk").
- Every request — alerts, edits, command replies, button answers — goes through the
  one `limiter.BotRateLimiter` installed on the PTB Application (Telegram's limits, a
  RetryAfter pausing the chat); when the channel closes, requests still waiting for a
  slot fail at once (TimedOut): an alert stays in the outbox, a reply is dropped, and
  shutdown is never held.
- Messages are HTML made by `render` (feed text cleaned and escaped, right to left) and
  split by `render.split_html` to Telegram's 4,096 UTF-16 units.
- `send` returns "chat_id:message_id" of the first part; `edit` rewrites that message to
  add "also reported by …" and the related stories folded into it; "message is not
  modified" counts as success.
- `send_related` sends a later story of an event as a reply to the event's first alert
  ("chat_id:message_id"): `reply_parameters` with `allow_sending_without_reply`, so a
  deleted original still lets the story through.
- `send_digest` is one message (split when long), grouped by watchlist then by story
  cluster; it returns no reference, so later cluster updates never overwrite a digest.
- Errors become DeliveryError: RetryAfter → `retry_after` (and the chat is paused in
  the limiter), Forbidden (blocked, kicked) → permanent and unsubscribe, ChatMigrated
  → `migrate_to` the new id, BadRequest → permanent, InvalidToken → temporary with a
  hint (fixing the token must not kill queued alerts), NetworkError/TimedOut → retried.
- With `polling: true` (default) `start()` runs the bot (`bot.RaqibBot`, built here) inside the
  daemon's event loop: initialize, start, updater.start_polling; `close()` stops it. Of
  several nodes on one database only the one holding the bot role polls (`take_updates`).
  When the Bot API cannot be reached at start, start-up retries in the background.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ApplicationBuilder
from telegram.request import HTTPXRequest

from monitor.errors import ConfigError, DeliveryError
from monitor.models import Alert
from monitor.yamlfile import shown

from ..channel import DELIVERY_OPTIONS, ENABLED, Channel, ChannelOption
from ..render import safe_url
from ..secrets import SecretFilter, describe, register_secret
from .bot import RaqibBot
from .limiter import PAUSE_WAIT, RATE_DEFAULTS, BotRateLimiter, retry_seconds
from .render import render_alert, render_digest, split_html
from .texts import LABELS, LANGS

if TYPE_CHECKING:
    from monitor.config import Section
    from monitor.store import Store

log = logging.getLogger(__name__)

HELD_AFTER = 60.0  # a RetryAfter this long marks the alerts held: they leave as one digest
ACCESS_MODES = ("open", "allow", "approve")
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_DEST = re.compile(r"^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,})$")


def read_token(section: Section) -> str | None:
    """The bot token from ${VAR} in the config, RAQIB_TELEGRAM_TOKEN, or the credential file."""
    value = section.get("token")
    if value:
        if _literal_in_file(section, "token"):
            raise section.error("channels.telegram.token: a token written in the config sits in plain sight; "
                                "write token: ${RAQIB_TELEGRAM_TOKEN} and set that variable, or use the "
                                "systemd credential telegram_token", "token")
        return str(value).strip()
    value = os.environ.get("RAQIB_TELEGRAM_TOKEN")
    if value and value.strip():
        return value.strip()
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        path = Path(creds) / "telegram_token"
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise section.error(f"channels.telegram: cannot read the credential {path}: {exc.strerror}",
                                "token") from None
    return None


def _literal_in_file(section: Section, key: str) -> bool:
    """True when the config file's line for `key` holds the value itself, not ${VAR}."""
    try:
        lines = Path(section.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, TypeError):
        return False  # not from a file people edit (built in code)
    line = section.line_of(key)
    if not 0 < line <= len(lines):
        return False
    return "${" not in lines[line - 1]


class _Where(TypedDict):
    """Where a delivery failed: what every DeliveryError of this channel names."""

    channel: str
    destination: str


def chat_ref(destination: str) -> int | str:
    return destination if destination.startswith("@") else int(destination)



class TelegramChannel(Channel):
    name: ClassVar[str] = "telegram"
    can_edit: ClassVar[bool] = True
    concurrency: ClassVar[int] = 30

    options: ClassVar[tuple[ChannelOption, ...]] = (
        ENABLED,
        ChannelOption("token", "text", secret=True),  # as ${VAR}; else RAQIB_TELEGRAM_TOKEN or the credential
        ChannelOption("api_url", "text", "https://api.telegram.org"),
        ChannelOption("admins", "any", []),  # chat ids (one, or a list)
        ChannelOption("access", "text", "open", choices=ACCESS_MODES),
        ChannelOption("allow", "any", []),  # chat ids, for access: allow
        ChannelOption("channels", "any", []),  # [@name, -100…] or {@name: [watchlists]}
        ChannelOption("lang", "text", "ar", choices=LANGS),
        ChannelOption("link_preview", "bool", False),
        ChannelOption("polling", "bool", True),
        *DELIVERY_OPTIONS,
        ChannelOption("rate", "mapping", dict(RATE_DEFAULTS)),
        ChannelOption("timeout", "duration", 20.0),
        ChannelOption("poll_timeout", "duration", 10.0),
    )

    def __init__(self, section: Section, store: Store | None = None, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[object]] | None = None) -> None:
        self.clock = clock or time.monotonic
        self._sleep = sleep or asyncio.sleep
        self.app: Any = None  # python-telegram-bot's Application, built on first use
        self.bot_handlers: RaqibBot | None = None
        self._ready = False
        self._init_lock = asyncio.Lock()
        self._starter: asyncio.Task[None] | None = None
        self._closing = False
        self.updates_on = True  # False while another node holds the bot role (getUpdates)
        super().__init__(section, store)

    def configure(self) -> None:
        section, values = self.section, self.values
        for noisy in ("httpx", "httpcore"):  # they log request URLs, and the URL holds the token
            lg = logging.getLogger(noisy)
            if lg.getEffectiveLevel() < logging.WARNING or lg.level < logging.WARNING:
                lg.setLevel(logging.WARNING)
        # PTB 22 reports durations (RetryAfter.retry_after) as timedelta when opted in, and
        # warns on every access otherwise; opt in (retry_seconds reads both forms)
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        token = read_token(section)
        if not token:
            raise section.error("channels.telegram: no bot token: set RAQIB_TELEGRAM_TOKEN, write "
                                "token: ${RAQIB_TELEGRAM_TOKEN}, or use the systemd credential telegram_token",
                                "token")
        if not _TOKEN.match(token):
            raise section.error("channels.telegram.token: this does not look like a bot token "
                                "(digits, a colon, then letters; ask @BotFather)", "token")
        self._token = token
        _install_token_mask(token)
        api_url = values["api_url"].rstrip("/")
        if not re.match(r"^https?://[^\s/]+", api_url):
            raise section.error(f"channels.telegram.api_url: expected an http(s) URL, got {api_url!r}", "api_url")
        self.api_url = api_url
        self.admins = self._chat_ids("admins")
        self.access = values["access"]
        self.allow = self._chat_ids("allow")
        self.configured = self._configured_channels(values["channels"])
        self.link_preview = values["link_preview"]
        self.lang = values["lang"]
        self.polling = values["polling"]
        self.timeout = values["timeout"]
        self.poll_timeout = values["poll_timeout"]
        rate = {**RATE_DEFAULTS, **values["rate"]}
        try:
            if set(rate) != set(RATE_DEFAULTS):
                raise TypeError
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in rate.values()):
                raise TypeError
            per_second = float(rate["global"])
            chat_interval = float(rate["chat_interval"])
            group_per_minute = int(rate["group_per_minute"])
            if per_second <= 0 or chat_interval < 0 or group_per_minute <= 0:
                raise ValueError
        except TypeError:
            raise section.error("channels.telegram.rate: expected {global, chat_interval, group_per_minute}",
                                "rate") from None
        except ValueError:
            raise section.error("channels.telegram.rate: positive numbers expected", "rate") from None
        self.rate_limiter = BotRateLimiter(per_second=per_second, chat_interval=chat_interval,
                                           group_per_minute=group_per_minute, clock=self.clock, sleep=self._sleep)
        self.limiter = self.rate_limiter.limiter

    def admin_destinations(self) -> tuple[str, ...]:
        """The `admins` chats: they hear of feed health as of people's requests."""
        return tuple(sorted(self.admins))

    def _chat_ids(self, key: str) -> set[str]:
        raw = self.values[key]
        if not isinstance(raw, list):
            raw = [raw]
        out = set()
        for item in raw:
            text = str(item).strip()
            if isinstance(item, bool) or not isinstance(item, (int, str)) or not re.match(r"^-?\d+$", text):
                raise self.section.error(f"channels.telegram.{key}: {shown(item)} is not a chat id (a number; "
                                         "send /start to the bot to see yours)", key)
            out.add(text)
        return out

    def _configured_channels(self, raw: object) -> dict[str, list[str]]:
        problem = self.section.error("channels.telegram.channels: expected a list of channels (@name or -100…) "
                                     "or a mapping channel → [watchlists]", "channels")
        if isinstance(raw, dict):
            configured = {}
            for k, v in raw.items():
                if v is not None and (not isinstance(v, list) or not all(isinstance(w, str) for w in v)):
                    raise self.section.error(f"channels.telegram.channels.{k}: expected a list of watchlist "
                                             f"names, got {shown(v)}", "channels")
                configured[str(k)] = [str(w) for w in (v or [])]
        elif isinstance(raw, list):
            configured = {str(k): [] for k in raw}
        else:
            raise problem
        for dest in configured:
            if not _DEST.match(dest):
                raise self.section.error(f"channels.telegram.channels: {dest!r} is not a chat id or @channel",
                                         "channels")
        return configured

    def __repr__(self) -> str:
        return f"<TelegramChannel {self.api_url} token=*** access={self.access}>"

    # -- configuration seen by the daemon ------------------------------------------------

    def check_destination(self, dest: str) -> None:
        if not _DEST.match(dest):
            raise ConfigError(f"notify.telegram: {dest!r} is not a chat id or @channel name")

    def lang_of(self, destination: str) -> str:
        if self.store is None:
            return self.lang
        lang = self.store.subscriptions.settings(self.name, destination).get("lang")
        return lang if lang in LANGS else self.lang

    # -- lifecycle --------------------------------------------------------------------------

    def _build(self) -> Any:
        request = HTTPXRequest(connection_pool_size=self.concurrency + 4, connect_timeout=self.timeout,
                               read_timeout=self.timeout, write_timeout=self.timeout, pool_timeout=self.timeout)
        polling = HTTPXRequest(connection_pool_size=2, connect_timeout=self.timeout,
                               read_timeout=self.timeout, write_timeout=self.timeout, pool_timeout=self.timeout)
        builder = (ApplicationBuilder().token(self._token).base_url(self.api_url + "/bot")
                   .base_file_url(self.api_url + "/file/bot").request(request).get_updates_request(polling)
                   .job_queue(None).rate_limiter(self.rate_limiter))
        if self.bot_handlers is not None:  # one chat's commands in order, chats side by side
            builder = builder.concurrent_updates(self.bot_handlers.updates)
        if not self.polling:
            builder = builder.updater(None)
        return builder.build()

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        async with self._init_lock:
            if self._ready:
                return
            if self.app is None:
                if self.polling and self.services is not None:
                    self.bot_handlers = RaqibBot(self, self.services)
                self.app = self._build()
                if self.bot_handlers is not None:
                    self.bot_handlers.install(self.app)
            await self.app.initialize()
            self._ready = True

    async def start(self) -> None:
        """Start the bot in this event loop; when Telegram is unreachable, keep trying."""
        if self.configured and self.store is not None:
            self._sync_configured()
        try:
            await self._start_once()
        except Exception as exc:  # unreachable or refused: retry in the background
            log.warning("telegram start failed, retrying in the background error=%s", describe(exc))
            self._starter = asyncio.create_task(self._keep_starting())

    async def _start_once(self) -> None:
        await self._ensure_ready()
        if not self.polling or not self.updates_on or self.app.updater is None:
            return
        if not self.app.running:
            await self.app.start()
        if not self.app.updater.running:
            await self.app.updater.start_polling(poll_interval=0.0, timeout=timedelta(seconds=self.poll_timeout),
                                                 bootstrap_retries=0, allowed_updates=["message", "callback_query"],
                                                 error_callback=self._polling_error)
            if self.bot_handlers is not None:
                await self.bot_handlers.on_started()
            log.info("telegram bot polling access=%s admins=%d", self.access, len(self.admins))

    async def _keep_starting(self) -> None:
        delay = 2.0
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._start_once()
                return
            except Exception as exc:
                log.warning("telegram start failed error=%s retry_in=%.0f", describe(exc), delay)
                delay = min(delay * 2, 300.0)

    @property
    def takes_updates(self) -> bool:
        return bool(self.polling)

    async def take_updates(self, on: bool) -> None:
        """Take the bot's updates (this node holds the bot role) or leave them to another
        node; alerts are sent either way."""
        self.updates_on = on
        app = self.app
        if not on:
            if app is not None and app.updater is not None and app.updater.running:
                await app.updater.stop()
                log.info("telegram bot polling stopped: the bot role is elsewhere")
            return
        if self._closing or (self._starter is not None and not self._starter.done()):
            return  # the background starter takes them once Telegram answers
        try:
            await self._start_once()
        except Exception as exc:
            log.warning("telegram start failed, retrying in the background error=%s", describe(exc))
            self._starter = asyncio.create_task(self._keep_starting())

    def _polling_error(self, exc: Exception) -> None:
        log.warning("telegram polling failed error=%s", describe(exc))

    async def close(self) -> None:
        self._closing = True
        self.rate_limiter.close()  # requests waiting for a slot give up: shutdown is never held
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starter
        app = self.app
        if app is None:
            return
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if self._ready:
                await app.shutdown()
        except Exception as exc:
            log.warning("telegram shutdown failed error=%s", describe(exc))
        self._ready = False

    def _sync_configured(self) -> None:
        """Channels listed with watchlists in the config follow exactly those watchlists."""
        store = self.store
        if store is None:
            return
        for dest, lists in self.configured.items():
            if not lists:
                continue
            current = set(store.subscriptions.of(self.name, dest))
            for wl in lists:
                if wl not in current:
                    store.subscriptions.subscribe(self.name, dest, wl)
            for wl in current - set(lists):
                store.subscriptions.unsubscribe(self.name, dest, wl)

    # -- sending ------------------------------------------------------------------------------

    async def send(self, alert: Alert) -> str | None:
        text = render_alert(alert, lang=self.lang_of(alert.destination))
        ids = await self.send_html(alert.destination, text, preview_url=alert.url, reply_markup=self.buttons(alert))
        return f"{alert.destination}:{ids[0]}"

    def buttons(self, alert: Alert) -> InlineKeyboardMarkup | None:
        """Under a story alert: mute its event for a day, and "not relevant" (feedback).
        The data names the outbox row; the bot checks it belongs to the chat pressing."""
        if alert.kind not in ("story", "spread") or not alert.id:
            return None
        L = LABELS.get(self.lang_of(alert.destination), LABELS["ar"])
        return InlineKeyboardMarkup([[InlineKeyboardButton(L["mute_event"], callback_data=f"mute:{alert.id}"),
                                      InlineKeyboardButton(L["not_relevant"], callback_data=f"nr:{alert.id}")]])

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        if not alerts:
            return None
        await self.send_html(destination, render_digest(alerts, lang=self.lang_of(destination)))
        return None  # a digest is never edited by a cluster update

    async def send_related(self, alert: Alert, ref: str, *, head: Alert | None = None) -> str | None:
        destination, _, message_id = ref.rpartition(":")
        reply = None
        if destination == alert.destination and message_id.isdigit():
            reply = ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)
        text = render_alert(alert, lang=self.lang_of(alert.destination))
        ids = await self.send_html(alert.destination, text, preview_url=alert.url, reply_parameters=reply,
                                   reply_markup=self.buttons(alert))
        return f"{alert.destination}:{ids[0]}"

    async def edit(self, alert: Alert, ref: str, sources: Sequence[str], *,
                   related: Sequence[Alert] = ()) -> None:
        destination, _, message_id = ref.rpartition(":")
        text = split_html(render_alert(alert, lang=self.lang_of(destination), also=sources, related=related))[0]
        await self._ensure_ready_or_retry(destination)
        self._check_paused(destination)
        try:  # paced by the Application's rate limiter
            await self.app.bot.edit_message_text(text=text, chat_id=chat_ref(destination),
                                                 message_id=int(message_id), parse_mode=ParseMode.HTML,
                                                 link_preview_options=self._preview(alert.url))
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            raise self.translate(exc, destination) from None
        except Exception as exc:
            raise self.translate(exc, destination) from None

    async def send_html(self, destination: str, text: str, *, preview_url: str = "",
                        reply_markup: InlineKeyboardMarkup | None = None,
                        reply_parameters: ReplyParameters | None = None) -> list[int]:
        """Send HTML to a chat, split as needed; message ids back. Alerts and command
        replies both come here: paced by the Application's rate limiter, errors translated."""
        await self._ensure_ready_or_retry(destination)
        self._check_paused(destination)
        ids = []
        parts = split_html(text)
        if not parts:
            raise DeliveryError("nothing to send: the message is empty", channel=self.name,
                                destination=destination, permanent=True)
        for i, part in enumerate(parts):
            try:
                msg = await self.app.bot.send_message(
                    chat_id=chat_ref(destination), text=part, parse_mode=ParseMode.HTML,
                    link_preview_options=self._preview(preview_url if i == 0 else ""),
                    reply_markup=reply_markup if i == len(parts) - 1 else None,
                    reply_parameters=reply_parameters if i == 0 else None)
            except Exception as exc:
                raise self.translate(exc, destination) from None
            ids.append(msg.message_id)
        return ids

    def _check_paused(self, destination: str) -> None:
        """A chat under a long RetryAfter fails fast instead of holding a sender for hours."""
        left = self.limiter.paused_for(destination)
        if left > PAUSE_WAIT:
            raise self._retry_error(destination, left)

    def _retry_error(self, destination: str, seconds: float) -> DeliveryError:
        # held: the rows waited long, so they go out as one digest
        return DeliveryError(f"Telegram asks to wait {seconds:.0f}s", channel=self.name,
                             destination=destination, retry_after=seconds, held=seconds >= HELD_AFTER)

    async def _ensure_ready_or_retry(self, destination: str) -> None:
        try:
            await self._ensure_ready()
        except Exception as exc:
            raise self.translate(exc, destination) from None

    def _preview(self, url: str) -> LinkPreviewOptions:
        if not self.link_preview or not safe_url(url):
            return LinkPreviewOptions(is_disabled=True)
        return LinkPreviewOptions(url=safe_url(url), prefer_small_media=True)

    def translate(self, exc: Exception, destination: str) -> DeliveryError:
        what = describe(exc)
        common: _Where = {"channel": self.name, "destination": destination}
        if isinstance(exc, ChatMigrated):
            return DeliveryError(f"chat moved to {exc.new_chat_id}", migrate_to=str(exc.new_chat_id), **common)
        if isinstance(exc, RetryAfter):
            seconds = retry_seconds(exc)
            self.limiter.pause(destination, seconds)
            return self._retry_error(destination, seconds)
        if isinstance(exc, Forbidden):
            return DeliveryError(f"Telegram refused: {what}", permanent=True, unsubscribe=True, **common,
                                 hint="the bot was blocked, kicked or never allowed in this chat")
        if isinstance(exc, InvalidToken):
            return DeliveryError(f"Telegram rejected the bot token: {what}", **common,
                                 hint="check RAQIB_TELEGRAM_TOKEN or the credential telegram_token")
        if isinstance(exc, BadRequest):
            if "chat not found" in what.lower():
                return DeliveryError(f"Telegram: {what}", permanent=True, unsubscribe=True, **common)
            return DeliveryError(f"Telegram refused the message: {what}", permanent=True, **common)
        if isinstance(exc, (TimedOut, NetworkError)):
            return DeliveryError(f"Telegram unreachable: {what}", **common)
        if isinstance(exc, TelegramError):
            return DeliveryError(f"Telegram error: {what}", **common)
        if isinstance(exc, (OSError, asyncio.TimeoutError)):
            return DeliveryError(f"Telegram unreachable: {what}", **common)
        raise exc


_MASK = SecretFilter()
_PTB_LOGGERS = ("telegram", "telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Updater",
                "telegram.ext.Application", "telegram.request", "telegram.ext.BaseUpdateProcessor",
                "telegram.ext._utils.networkloop")


def _install_token_mask(token: str) -> None:
    """The token joins the secrets, and PTB's loggers mask them before any handler sees a record."""
    register_secret(token)
    for name in _PTB_LOGGERS:
        logger = logging.getLogger(name)
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)

