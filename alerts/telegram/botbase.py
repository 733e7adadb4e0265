"""What every handler of the bot stands on: replies in the chat's language (values
escaped, echoes one short line), who may do what (admins, access, a group's
administrators), the chat's watchlists and time zone; and the `ChatChannel` protocol,
what the bot needs of its channel."""
from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from monitor.display import one_line, visible
from monitor.errors import DeliveryError
from monitor.models import Watchlist
from monitor.normalize import normalize_text

from ..channel import Services
from ..render import local_time
from .texts import TEXTS

log = logging.getLogger(__name__)

ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: a group admin posting as the group
ECHO_MAX = 100  # characters of what a chat typed that a reply quotes back
ECHOED = frozenset({"name", "text", "term", "who"})  # reply values that quote what someone typed


def chat_of(update: Update) -> Chat:
    """The chat of an update a handler runs for (`RaqibBot._guard` lets no other through)."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("an update without a chat reached a command handler")
    return chat


def escape(text: object) -> str:
    return html.escape(visible(str(text)), quote=False)


Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


class ChatChannel(Protocol):
    """What the bot needs of its channel (`TelegramChannel`): its access settings, the
    running Application, and the one send path of every message (rate-limited, errors
    translated). The channel builds the bot; the bot never imports the channel."""

    @property
    def name(self) -> str: ...

    admins: set[str]
    allow: set[str]
    access: str
    defaults: dict[str, Any]
    clock: Callable[[], float]
    app: Any

    def lang_of(self, destination: str) -> str: ...

    def destination_defaults(self, destination: str) -> dict[str, Any]: ...

    async def send_html(self, destination: str, text: str, *, preview_url: str = "",
                        reply_markup: InlineKeyboardMarkup | None = None) -> list[int]: ...

    def translate(self, exc: Exception, destination: str) -> DeliveryError: ...


class BotBase:
    """The bot's state and the helpers its commands and buttons share (see `RaqibBot`)."""

    def __init__(self, channel: ChatChannel, services: Services) -> None:
        self.channel = channel
        self.services = services
        self.store = services.store
        self.name = channel.name

    def lang(self, dest: str) -> str:
        return self.channel.lang_of(dest)

    def t(self, dest: str, key: str, **values: object) -> str:
        text = TEXTS[self.lang(dest)][key]
        return text.format(**{k: escape(one_line(str(v), ECHO_MAX) if k in ECHOED else v)
                              for k, v in values.items()}) if values else text

    async def reply_to(self, dest: str, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
        """Send a reply the way alerts go (rate limiter, error translation); False if it was not."""
        try:
            await self.channel.send_html(dest, text, reply_markup=markup)
            return True
        except DeliveryError as exc:
            log.warning("telegram reply not delivered chat=%s error=%s", dest, exc.message)
            return False

    async def _answer(self, query: CallbackQuery, dest: str, text: str | None = None, show_alert: bool = False) -> None:
        """Answer a button press; a refusal from Telegram is logged, never raised."""
        try:
            await query.answer(text, show_alert=show_alert)
        except TelegramError as exc:
            log.warning("telegram button answer failed chat=%s error=%s", dest,
                        self.channel.translate(exc, dest).message)

    async def reply(self, update: Update, key: str, markup: InlineKeyboardMarkup | None = None,
                    **values: object) -> None:
        dest = str(chat_of(update).id)
        await self.reply_to(dest, self.t(dest, key, **values), markup)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        chat = chat_of(update)
        admins = self.channel.admins
        return (user is not None and str(user.id) in admins) or (chat.type == "private" and str(chat.id) in admins)

    def access_state(self, dest: str) -> str:
        """'yes', 'no' or 'pending' for a chat under the configured access mode."""
        if dest in self.channel.admins or self.channel.access == "open":
            return "yes"
        if self.channel.access == "allow":
            return "yes" if dest in self.channel.allow else "no"
        state = self.store.subscriptions.settings(self.name, dest).get("access")
        if state == "approved" or dest in self.channel.allow:
            return "yes"
        return "pending" if state == "pending" else ("denied" if state == "denied" else "no")

    async def may_change(self, update: Update) -> bool:
        """Access granted, and in groups the sender is one of its administrators."""
        dest = str(chat_of(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return False
        chat = chat_of(update)
        if (chat.type in ("group", "supergroup") and not self.is_admin(update)
                and not await self._group_admin(update)):
            await self.reply(update, "group_admins_only")
            return False
        return True

    async def _group_admin(self, update: Update) -> bool:
        chat, user = chat_of(update), update.effective_user
        message = update.effective_message
        sender_chat = getattr(message, "sender_chat", None) if message is not None else None
        if sender_chat is not None and sender_chat.id == chat.id:
            return True  # an anonymous administrator posts as the group itself
        if user is None or user.id == ANONYMOUS_ADMIN:
            return False
        try:
            member = await self.channel.app.bot.get_chat_member(chat_id=chat.id, user_id=user.id)
        except Exception as exc:
            log.warning("telegram admin check failed chat=%s error=%s", chat.id, type(exc).__name__)
            return False
        return member.status in ("creator", "administrator")

    async def _refuse(self, update: Update, state: str) -> None:
        dest = str(chat_of(update).id)
        if state == "pending":
            await self.reply(update, "pending")
        elif self.channel.access == "approve" and state != "denied":
            await self._request_access(update)
        elif state == "denied":
            await self.reply(update, "denied")
        else:
            await self.reply(update, "not_allowed", chat=dest)

    async def _request_access(self, update: Update) -> None:
        chat = chat_of(update)
        dest = str(chat.id)
        self.store.subscriptions.update_settings(self.name, dest, access="pending", requested=time.time())
        who = chat.title or " ".join(x for x in (chat.first_name, chat.last_name) if x) or dest
        if chat.username:
            who += f" @{chat.username}"
        for admin in sorted(self.channel.admins):
            markup = InlineKeyboardMarkup([[
                InlineKeyboardButton(self.t(admin, "approve_btn"), callback_data=f"approve:{dest}"),
                InlineKeyboardButton(self.t(admin, "deny_btn"), callback_data=f"deny:{dest}")]])
            try:
                await self.reply_to(admin, self.t(admin, "request", who=who, chat=dest), markup)
            except Exception as exc:
                log.warning("telegram access request not delivered admin=%s error=%s", admin, type(exc).__name__)
        log.info("telegram access requested chat=%s", dest)
        await self.reply(update, "requested")

    def find_watchlist(self, text: str) -> Watchlist | None:
        """The watchlist named `text`, by its name or its title, read with the matching
        rules' Arabic folding (hamza forms, ى/ي, ة/ه, diacritics, tatweel, case)."""
        wanted = " ".join(visible(text).split()).casefold()
        lists = self.services.watchlists()
        for wl in lists:
            if wl.name.casefold() == wanted:
                return wl
        folded = normalize_text(wanted)
        for wl in lists:
            if folded and normalize_text(wl.title or "") == folded:
                return wl
        return None

    def release_held(self, dest: str) -> None:
        """Alerts held by a mute or quiet hours may go now (as one digest)."""
        self.store.outbox.release_held(self.name, dest, time.time())
        self.services.wake_delivery()

    def zone_of(self, dest: str) -> str:
        """The chat's time zone: its own (/tz), else the config's for it, else UTC ("")."""
        own = self.store.subscriptions.settings(self.name, dest).get("tz")
        return str(own or self.channel.destination_defaults(dest).get("tz") or "")

    def _time(self, epoch: float, dest: str) -> str:
        return local_time(epoch, self.zone_of(dest))
