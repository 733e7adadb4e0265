"""The Telegram bot: people manage their own alerts by chat commands.

Rules:
- Replies are in Arabic unless the chat chose English (`/lang en`); the choice is kept
  in the chat's destination settings (`lang`). Every piece of user or feed text in a
  reply is HTML-escaped.
- Commands: /start, /help, /list (watchlists, ✓ for those followed, a button each to
  follow or stop), /subscribe NAME, /unsubscribe NAME|all, /mute DURATION (2h, 30m,
  1d), /unmute, /quiet HH:MM-HH:MM|off, /related reply|edit|alert|default, /status,
  /tz ZONE|default (the chat's time zone for every time shown: alerts, quiet hours,
  /status; an IANA name like Asia/Riyadh, or a few Arabic capitals by name),
  /watch TERM, /unwatch TERM, /lang ar|en. Admins (chat ids in `channels.telegram.admins`) also have /reload, /feeds,
  /approve CHATID and /deny CHATID.
- Access (`channels.telegram.access`): `open` lets anyone follow watchlists; `allow`
  only the chats in `allow` (and admins); `approve` sends a request to the admins, who
  answer with a button or /approve. Until then a chat can read /help and /lang only.
- In groups only the group's administrators (getChatMember; also an anonymous admin
  posting as the group) may change what the group receives. Channels are never
  self-served: their destinations come from the config and watchlist files, and
  commands posted in channels are ignored.
- Mute and quiet hours are destination settings (`muted_until` epoch seconds, `quiet`
  "HH:MM-HH:MM") that the deliverer's policy reads; unmuting or ending quiet hours
  releases what they held at once (as one digest). `/related` sets the chat's `related`
  (how other outlets' stories of an event already alerted come: reply, edit or alert;
  `default` removes it, so each watchlist's `related:` decides); without a word it
  tells the chat's current choice.
- Updates of one chat are handled one after another, in the order they came; different
  chats are handled side by side (`ChatUpdates`), so a chat waiting for its reply slot
  never holds the others up.
- Commands (and button presses) are counted per chat on arrival: `COMMAND_BURST` at once,
  then one every `COMMAND_EVERY` seconds (Telegram's 20 messages a minute for a group).
  What comes faster is dropped before any work is done, and the chat gets at most one
  short "slow down" notice every `NOTICE_EVERY` seconds. The configured admins are not
  counted.
- Replies go through the channel's `send_html`: the same rate limiter as alerts (one
  message a chat each ~1.1 s, 20 a minute in groups, RetryAfter honoured) and the same
  error translation; a reply that cannot be delivered is logged and dropped.
- Text a chat member typed and echoes back (a watchlist name, a term, a duration), and
  every other value put into a reply, loses bidi overrides and control characters
  (`monitor.display.visible`); echoes are also one short line (`ECHO_MAX` characters).
  Button data that is not ours is answered with nothing.
- Under every story alert: "🔕 كتم هذا الحدث" (the event sends this chat nothing more for
  `EVENT_MUTE`) and "ليس ذا صلة" (feedback, counted per watchlist; the admins get the story
  and an `exclude:` suggestion made of its words the watchlist does not name). Both act
  only on the chat's own alert, and in groups only for its administrators.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
from datetime import timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine, Protocol

from telegram import BotCommand, CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from monitor.config import parse_duration
from monitor.display import REASON_MAX, one_line, visible
from monitor.errors import ConfigError, DeliveryError
from monitor.models import RELATED_MODES
from monitor.normalize import normalize_text
from monitor.watchlists import exclude_suggestion, personal_term

from ..plurals import count
from ..policy import parse_quiet
from ..render import local_time, zone
from .texts import COMMANDS, LANGS, TEXTS

if TYPE_CHECKING:
    from monitor.watchlists import Watchlist

    from ..channel import Services

log = logging.getLogger(__name__)

MAX_TERMS = 50
MAX_TERM_LENGTH = 100
ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: a group admin posting as the group
COMMAND_BURST = 10  # commands one chat may send at once ...
COMMAND_EVERY = 3.0  # ... then one every this many seconds (20 a minute)
NOTICE_EVERY = 60.0  # at most one "slow down" notice a minute to one chat
ECHO_MAX = 100  # characters of what a chat typed that a reply quotes back
EVENT_MUTE = 24 * 3600.0  # "🔕 كتم هذا الحدث": an event muted for a day
ECHOED = frozenset({"name", "text", "term", "who"})  # reply values that quote what someone typed
_CHAT_ID = re.compile(r"^-?\d{1,20}$")

def _chat(update: Update) -> Chat:
    """The chat of an update a handler runs for (`RaqibBot._guard` lets no other through)."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("an update without a chat reached a command handler")
    return chat


def _e(text: Any) -> str:
    return html.escape(visible(str(text)), quote=False)


class CommandBudget:
    """Per chat, a bucket of `burst` commands refilled at one every `every` seconds.

    `take(chat)` says what to do with a command that just arrived: "run" it, "drop" it,
    or drop it and send the one "notice" allowed every `notice_every` seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, burst: int = COMMAND_BURST,
                 every: float = COMMAND_EVERY, notice_every: float = NOTICE_EVERY) -> None:
        self.clock = clock
        self.burst = burst
        self.every = every
        self.notice_every = notice_every
        self._chats: dict[str, list[float]] = {}  # chat → [tokens, when counted, last notice]

    def take(self, chat: str) -> str:
        now = self.clock()
        state = self._chats.get(chat)
        if state is None:
            if len(self._chats) >= 10_000:
                self._forget(now)
            state = self._chats[chat] = [float(self.burst), now, float("-inf")]
        tokens = min(float(self.burst), state[0] + (now - state[1]) / self.every)
        state[1] = now
        if tokens >= 1.0:
            state[0] = tokens - 1.0
            return "run"
        state[0] = tokens
        if now - state[2] >= self.notice_every:
            state[2] = now
            return "notice"
        return "drop"

    def _forget(self, now: float) -> None:
        """Chats whose bucket is full again and whose notice is old are as good as new."""
        full = self.burst * self.every
        for chat in [c for c, (_, at, notice) in self._chats.items()
                     if now - at >= full and now - notice >= self.notice_every]:
            del self._chats[chat]


class ChatUpdates(BaseUpdateProcessor):
    """How the Application runs updates: one chat's in arrival order, chats side by side,
    and a chat's commands over its budget dropped on arrival, before any work."""

    def __init__(self, bot: "RaqibBot", max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self.bot = bot
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = getattr(getattr(update, "effective_chat", None), "id", None)
        if chat is None:
            await coroutine
            return
        key = str(chat)
        verdict = self.bot.admit(update)  # counted now, on arrival, not when its turn comes
        if verdict != "run":
            coroutine.close()  # type: ignore[attr-defined]
            if verdict != "notice":
                return
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                if verdict == "run":
                    await coroutine
                else:
                    await self.bot.slow_down(key)
        finally:
            users[0] -= 1
            if not users[0]:
                self._locks.pop(key, None)


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
                        reply_markup: Any = None) -> list[int]: ...

    def translate(self, exc: Exception, destination: str) -> DeliveryError: ...


class RaqibBot:
    """Command handlers on a PTB Application; state lives in the store."""

    def __init__(self, channel: ChatChannel, services: "Services") -> None:
        self.channel = channel
        self.services = services
        self.store = services.store
        self.name = channel.name
        self.budget = CommandBudget(channel.clock)
        self.updates = ChatUpdates(self)

    # -- wiring -------------------------------------------------------------------------------

    def install(self, app: Application) -> None:
        chats = (filters.ChatType.PRIVATE | filters.ChatType.GROUPS) & filters.UpdateType.MESSAGE
        table: dict[str, Handler] = {
            "start": self.cmd_start, "help": self.cmd_help, "list": self.cmd_list,
            "subscribe": self.cmd_subscribe, "unsubscribe": self.cmd_unsubscribe, "mute": self.cmd_mute,
            "unmute": self.cmd_unmute, "quiet": self.cmd_quiet, "status": self.cmd_status, "tz": self.cmd_tz,
            "related": self.cmd_related,
            "watch": self.cmd_watch, "unwatch": self.cmd_unwatch, "lang": self.cmd_lang,
            "reload": self.cmd_reload, "feeds": self.cmd_feeds, "approve": self.cmd_approve,
            "deny": self.cmd_deny,
        }
        for command, handler in table.items():
            app.add_handler(CommandHandler(command, self._guard(handler), filters=chats))
        app.add_handler(CallbackQueryHandler(self._guard(self.on_button)))
        app.add_error_handler(self.on_error)

    async def on_started(self) -> None:
        try:
            bot = self.channel.app.bot
            await bot.set_my_commands([BotCommand(c, ar) for c, ar, _ in COMMANDS])
            await bot.set_my_commands([BotCommand(c, en) for c, _, en in COMMANDS], language_code="en")
        except Exception as exc:  # a menu is a nicety; the commands work without it
            log.warning("telegram command menu not set error=%s", type(exc).__name__)

    def _guard(self, handler: Handler) -> Handler:
        async def run(update: Update, context: Context) -> None:
            chat = update.effective_chat
            if chat is None or chat.type == "channel":
                return
            await handler(update, context)
        return run

    def admit(self, update: object) -> str:
        """"run", "drop" or "notice" for an update that just arrived (see CommandBudget)."""
        message = getattr(update, "message", None)
        command = message is not None and (getattr(message, "text", None) or "").startswith("/")
        if not command and getattr(update, "callback_query", None) is None:
            return "run"  # not something we answer: nothing to count
        chat = getattr(update, "effective_chat", None)
        user = getattr(update, "effective_user", None)
        if chat is None or getattr(chat, "type", "") == "channel":
            return "run"
        if user is not None and str(user.id) in self.channel.admins:
            return "run"
        verdict = self.budget.take(str(chat.id))
        if verdict != "run":
            log.info("telegram command dropped, too many chat=%s", chat.id)
        return verdict

    async def slow_down(self, dest: str) -> None:
        await self.reply_to(dest, self.t(dest, "slow_down"))

    async def on_error(self, update: object, context: Context) -> None:
        exc = context.error
        log.error("telegram command failed error=%s", f"{type(exc).__name__}: {exc}"[:300])
        chat = getattr(update, "effective_chat", None)
        if chat is not None:
            try:
                await self.reply_to(str(chat.id), self.t(str(chat.id), "error"))
            except Exception:
                pass

    # -- helpers ------------------------------------------------------------------------------

    def lang(self, dest: str) -> str:
        return self.channel.lang_of(dest)

    def t(self, dest: str, key: str, **values: Any) -> str:
        text = TEXTS[self.lang(dest)][key]
        return text.format(**{k: _e(one_line(str(v), ECHO_MAX) if k in ECHOED else v)
                              for k, v in values.items()}) if values else text

    async def reply_to(self, dest: str, text: str, markup: Any = None) -> bool:
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

    async def reply(self, update: Update, key: str, markup: Any = None, **values: Any) -> None:
        dest = str(_chat(update).id)
        await self.reply_to(dest, self.t(dest, key, **values), markup)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        chat = _chat(update)
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
        dest = str(_chat(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return False
        chat = _chat(update)
        if chat.type in ("group", "supergroup") and not self.is_admin(update):
            if not await self._group_admin(update):
                await self.reply(update, "group_admins_only")
                return False
        return True

    async def _group_admin(self, update: Update) -> bool:
        chat, user = _chat(update), update.effective_user
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
        dest = str(_chat(update).id)
        if state == "pending":
            await self.reply(update, "pending")
        elif self.channel.access == "approve" and state != "denied":
            await self._request_access(update)
        elif state == "denied":
            await self.reply(update, "denied")
        else:
            await self.reply(update, "not_allowed", chat=dest)

    async def _request_access(self, update: Update) -> None:
        chat = _chat(update)
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

    def find_watchlist(self, text: str) -> "Watchlist | None":
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

    # -- commands -------------------------------------------------------------------------------

    async def cmd_start(self, update: Update, context: Context) -> None:
        dest = str(_chat(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return
        await self.reply_to(dest, self.t(dest, "welcome") + self._help(update))

    def _help(self, update: Update) -> str:
        dest = str(_chat(update).id)
        text = self.t(dest, "help")
        if self.is_admin(update):
            text += self.t(dest, "help_admin")
        return text

    async def cmd_help(self, update: Update, context: Context) -> None:
        await self.reply_to(str(_chat(update).id), self._help(update))

    def _list_view(self, dest: str) -> tuple[str, Any]:
        lists = self.services.watchlists()
        if not lists:
            return self.t(dest, "list_empty"), None
        mine = set(self.store.subscriptions.of(self.name, dest))
        lines = [self.t(dest, "list_head")]
        buttons = []
        for wl in lists:
            title = wl.title or wl.name
            mark = "✓" if wl.name in mine else "▫️"
            lines.append(f"{mark} <b>{_e(title)}</b> — <code>{_e(wl.name)}</code>")
            data = f"{'unsub' if wl.name in mine else 'sub'}:{wl.name}"
            if len(data.encode("utf-8")) <= 64:
                label = self.t(dest, "btn_unfollow" if wl.name in mine else "btn_follow", title=title)
                buttons.append([InlineKeyboardButton(html.unescape(label)[:60], callback_data=data)])
        return "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None

    async def cmd_list(self, update: Update, context: Context) -> None:
        dest = str(_chat(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return
        text, markup = self._list_view(dest)
        await self.reply_to(dest, text, markup)

    async def _named(self, update: Update, context: Context, cmd: str) -> Any:
        dest = str(_chat(update).id)
        name = " ".join(context.args or [])
        if not name:
            lists = self.services.watchlists()
            await self.reply(update, "need_name", cmd=cmd, example=lists[0].name if lists else "russia")
            return None
        wl = self.find_watchlist(name)
        if wl is None:
            await self.reply_to(dest, self.t(dest, "unknown_list", name=name))
        return wl

    async def cmd_subscribe(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        wl = await self._named(update, context, "subscribe")
        if wl is None:
            return
        dest = str(_chat(update).id)
        if self.store.subscriptions.subscribe(self.name, dest, wl.name):
            log.info("telegram subscribed chat=%s watchlist=%s", dest, wl.name)
            await self.reply(update, "subscribed", title=wl.title or wl.name)
        else:
            await self.reply(update, "already", title=wl.title or wl.name)

    async def cmd_unsubscribe(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(_chat(update).id)
        if [a.lower() for a in (context.args or [])] == ["all"]:
            n = self.store.subscriptions.unsubscribe(self.name, dest)
            await self.reply(update, "unsubscribed_all", count=count(n, "watchlist", self.lang(dest)))
            return
        wl = await self._named(update, context, "unsubscribe")
        if wl is None:
            return
        if self.store.subscriptions.unsubscribe(self.name, dest, wl.name):
            log.info("telegram unsubscribed chat=%s watchlist=%s", dest, wl.name)
            await self.reply(update, "unsubscribed", title=wl.title or wl.name)
        else:
            await self.reply(update, "not_subscribed", title=wl.title or wl.name)

    async def cmd_mute(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(_chat(update).id)
        text = "".join(context.args or []) or "1h"
        try:
            seconds = parse_duration(text)
        except ConfigError:
            await self.reply(update, "bad_duration", text=text)
            return
        if seconds <= 0:
            await self.reply(update, "bad_duration", text=text)
            return
        until = time.time() + min(seconds, 366 * 86400.0)
        self.store.subscriptions.update_settings(self.name, dest, muted_until=until)
        await self.reply(update, "muted", until=self._time(until, dest))

    async def cmd_unmute(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(_chat(update).id)
        self.store.subscriptions.update_settings(self.name, dest, muted_until=None)
        self.release_held(dest)
        await self.reply(update, "unmuted")

    async def cmd_quiet(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(_chat(update).id)
        text = "".join(context.args or []).strip()
        if text.lower() in ("off", "0", "no", "لا", "إلغاء"):
            self.store.subscriptions.update_settings(self.name, dest, quiet="off")
            self.release_held(dest)
            await self.reply(update, "quiet_off")
            return
        try:
            start, end = parse_quiet(text)
        except ValueError:
            await self.reply(update, "bad_quiet")
            return
        quiet = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        self.store.subscriptions.update_settings(self.name, dest, quiet=quiet)
        await self.reply(update, "quiet_set", quiet=quiet, tz=self.zone_of(dest) or "UTC")

    async def cmd_tz(self, update: Update, context: Context) -> None:
        """`/tz Asia/Riyadh` sets the chat's zone for every time it is shown (alerts, quiet
        hours, digests, /status); `/tz default` goes back to the config's; `/tz` tells it."""
        dest = str(_chat(update).id)
        text = "".join(context.args or []).strip()[:ECHO_MAX]
        if not text:
            await self.reply(update, "tz_now", tz=self.zone_of(dest) or "UTC",
                             now=self._time(time.time(), dest))
            return
        if not await self.may_change(update):
            return
        if text.lower() in ("default", "off", "افتراضي"):
            self.store.subscriptions.update_settings(self.name, dest, tz=None)
            await self.reply(update, "tz_set", tz=self.zone_of(dest) or "UTC", now=self._time(time.time(), dest))
            return
        name = {"utc": "UTC", "riyadh": "Asia/Riyadh", "الرياض": "Asia/Riyadh", "القاهرة": "Africa/Cairo",
                "دبي": "Asia/Dubai", "بيروت": "Asia/Beirut", "عمّان": "Asia/Amman", "عمان": "Asia/Amman",
                "بغداد": "Asia/Baghdad", "الدوحة": "Asia/Qatar"}.get(text.lower(), text)
        if zone(name) is timezone.utc and name != "UTC":
            await self.reply(update, "bad_tz", text=text)
            return
        self.store.subscriptions.update_settings(self.name, dest, tz=name)
        await self.reply(update, "tz_set", tz=name, now=self._time(time.time(), dest))

    async def cmd_related(self, update: Update, context: Context) -> None:
        dest = str(_chat(update).id)
        choice = "".join(context.args or []).strip().lower()[:ECHO_MAX]
        if not choice:
            current = self.store.subscriptions.settings(self.name, dest).get("related")
            await self.reply(update, f"related_{current}" if current in RELATED_MODES else "related_default")
            return
        choice = {"رد": "reply", "ردّ": "reply", "تعديل": "edit", "تنبيه": "alert", "off": "default",
                  "افتراضي": "default"}.get(choice, choice)
        if choice not in (*RELATED_MODES, "default"):
            await self.reply(update, "bad_related")
            return
        if not await self.may_change(update):
            return
        self.store.subscriptions.update_settings(self.name, dest, related=None if choice == "default" else choice)
        await self.reply(update, f"related_{choice}")

    async def cmd_status(self, update: Update, context: Context) -> None:
        dest = str(_chat(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return
        s = self.services.status()
        failing = s.get("feeds_failing") or []
        last = s.get("last_poll")
        text = self.t(dest, "status", feeds_ok=s.get("feeds_ok", 0), feeds=s.get("feeds", 0),
                      failing="، ".join(failing[:10]) + (" …" if len(failing) > 10 else "") if failing
                      else self.t(dest, "none"),
                      last_poll=self._time(last, dest) if last else self.t(dest, "none"),
                      stories_day=s.get("stories_day", 0), alerts_day=s.get("alerts_day", 0),
                      pending=s.get("outbox_pending", 0))
        nodes = s.get("nodes") or []
        if len(nodes) > 1:  # several daemons share the database: say how many, and which one answers
            alive = [n["name"] + (f" ({', '.join(n['roles'])})" if n["roles"] else "") for n in nodes if n["alive"]]
            text += self.t(dest, "status_nodes", alive="، ".join(alive[:10]) or self.t(dest, "none"),
                           node=s.get("node", ""))
            differ = [n["name"] for n in nodes if n.get("config_differs")]
            if differ:
                text += self.t(dest, "status_config_differs", nodes="، ".join(differ[:10]))
        settings = self.store.subscriptions.settings(self.name, dest)
        muted = settings.get("muted_until")
        quiet = settings.get("quiet")
        n = len(self.store.subscriptions.of(self.name, dest))
        follows = (self.t(dest, "follows", count=count(n, "watchlist-object", self.lang(dest))) if n
                   else self.t(dest, "follows_none"))
        text += self.t(dest, "status_chat", follows=follows,
                       muted=self.t(dest, "status_muted", until=self._time(muted, dest))
                       if muted and muted > time.time() else "",
                       quiet=self.t(dest, "status_quiet", quiet=quiet) if quiet and quiet != "off" else "")
        await self.reply_to(dest, text)

    def _terms_of(self, dest: str) -> list[str]:
        return [r.term for r in self.store.subscriptions.personal_terms(self.name, dest)]

    async def cmd_watch(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(_chat(update).id)
        term = " ".join(context.args or [])
        if not term:
            terms = self._terms_of(dest)
            await self.reply_to(dest, self.t(dest, "terms", terms="، ".join(terms)) if terms
                                else self.t(dest, "no_terms"))
            return
        if len(term) > MAX_TERM_LENGTH:
            await self.reply(update, "bad_term", max=MAX_TERM_LENGTH)
            return
        try:
            term = personal_term(term).text  # the rule of every watchlist term
        except ConfigError:
            await self.reply(update, "term_no_words", term=term)
            return
        if len(self._terms_of(dest)) >= MAX_TERMS:
            await self.reply(update, "too_many_terms", max=MAX_TERMS)
            return
        if self.store.subscriptions.add_personal_term(self.name, dest, term):
            self.services.personal_terms_changed(self.name, dest)
            await self.reply(update, "watching", term=term)
        else:
            await self.reply(update, "already_watching", term=term)

    async def cmd_unwatch(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(_chat(update).id)
        term = " ".join(context.args or [])
        if self.store.subscriptions.remove_personal_term(self.name, dest, term):
            self.services.personal_terms_changed(self.name, dest)
            await self.reply(update, "unwatched", term=term)
        else:
            await self.reply(update, "not_watching", term=term)

    async def cmd_lang(self, update: Update, context: Context) -> None:
        dest = str(_chat(update).id)
        choice = "".join(context.args or []).strip().lower()
        choice = {"arabic": "ar", "عربي": "ar", "العربية": "ar", "english": "en"}.get(choice, choice)
        if choice not in LANGS:
            await self.reply(update, "bad_lang")
            return
        chat = _chat(update)
        if chat.type in ("group", "supergroup") and not self.is_admin(update) and not await self._group_admin(update):
            await self.reply(update, "group_admins_only")
            return
        self.store.subscriptions.update_settings(self.name, dest, lang=choice)
        await self.reply(update, "lang_set")

    # -- admin commands ------------------------------------------------------------------------

    async def _admin(self, update: Update) -> bool:
        if self.is_admin(update):
            return True
        await self.reply(update, "admins_only")
        return False

    async def cmd_reload(self, update: Update, context: Context) -> None:
        if not await self._admin(update):
            return
        problems = await self.services.reload()
        if problems:
            await self.reply(update, "reload_problems", problems="\n".join(problems[:20]))
        else:
            dest = str(_chat(update).id)
            await self.reply(update, "reloaded", count=count(len(self.services.watchlists()), "watchlist",
                                                             self.lang(dest)))

    async def cmd_feeds(self, update: Update, context: Context) -> None:
        if not await self._admin(update):
            return
        dest = str(_chat(update).id)
        feeds = [f for f in self.store.feeds.all() if f.enabled]
        lines = [self.t(dest, "feeds_head", n=len(feeds))]
        for f in feeds:
            ok = f.healthy and not f.failures
            line = f"{'✅' if ok else '⚠️'} <code>{_e(f.name)}</code>"
            title = f.config_title or f.title
            if title:  # the outlet as people know it, beside the id the config and the logs use
                line += f" {_e(one_line(str(title), 80))}"
            if f.last_success:
                line += " · " + _e(self._time(f.last_success, dest))
            if not ok and f.last_error:
                line += f" · {_e(one_line(str(f.last_error), REASON_MAX))}"
            lines.append(line)
        await self.reply_to(dest, "\n".join(lines))

    async def _decide(self, admin_dest: str, target: str, approve: bool) -> str:
        self.store.subscriptions.update_settings(self.name, target, access="approved" if approve else "denied")
        log.info("telegram access decided chat=%s approved=%s", target, approve)
        try:
            await self.reply_to(target, self.t(target, "approved" if approve else "denied"))
        except Exception as exc:
            log.warning("telegram decision not delivered chat=%s error=%s", target, type(exc).__name__)
        return self.t(admin_dest, "approved_admin" if approve else "denied_admin", chat=target)

    async def _approve_cmd(self, update: Update, context: Context, approve: bool) -> None:
        if not await self._admin(update):
            return
        dest = str(_chat(update).id)
        target = "".join(context.args or []).strip()
        if not _CHAT_ID.match(target):
            await self.reply(update, "need_chat", cmd="approve" if approve else "deny")
            return
        await self.reply_to(dest, await self._decide(dest, target, approve))

    async def cmd_approve(self, update: Update, context: Context) -> None:
        await self._approve_cmd(update, context, True)

    async def cmd_deny(self, update: Update, context: Context) -> None:
        await self._approve_cmd(update, context, False)

    # -- buttons --------------------------------------------------------------------------------

    async def _alert_button(self, update: Update, query: CallbackQuery, dest: str, action: str, arg: str) -> None:
        """The buttons under an alert: "🔕 كتم هذا الحدث" mutes its event here for `EVENT_MUTE`;
        "ليس ذا صلة" records the feedback and offers the admins an `exclude` built from the
        story's words the watchlist does not name. A button of another chat's alert (a
        forwarded message) does nothing."""
        row = self.store.outbox.row(int(arg)) if arg.isdigit() and len(arg) < 19 else None
        if row is None or row.channel != self.name or row.destination != dest:
            await self._answer(query, dest, html.unescape(self.t(dest, "button_gone")), show_alert=True)
            return
        if not await self.may_change(update):
            await self._answer(query, dest)
            return
        if action == "mute":
            until = time.time() + EVENT_MUTE
            self.store.feedback.mute_event(self.name, dest, int(row.event), until)
            log.info("telegram event muted chat=%s event=%s", dest, row.event)
            await self._answer(query, dest, html.unescape(self.t(dest, "event_muted", until=self._time(until, dest))))
            return
        wl = next((w for w in self.services.watchlists() if w.name == row.watchlist), None)
        title = (wl.title or wl.name) if wl is not None else row.watchlist
        first = self.store.feedback.add(self.name, dest, row.watchlist, int(row.story_id), time.time())
        log.info("telegram alert marked not relevant chat=%s watchlist=%s story=%s new=%s", dest,
                 row.watchlist, row.story_id, first)
        await self._answer(query, dest, html.unescape(self.t(dest, "feedback_thanks", title=title)))
        if not first:
            return
        story = _story_title(row.payload)
        words = exclude_suggestion(story, wl) if wl is not None else []
        for admin in sorted(self.channel.admins):
            key = "feedback_admin" if words else "feedback_admin_none"
            await self.reply_to(admin, self.t(admin, key, chat=dest, title=title, name=row.watchlist,
                                              story=_e(one_line(story, 300)), words=_e(", ".join(words))))

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:  # the CallbackQueryHandler passes nothing else
            return
        dest = str(_chat(update).id)
        action, _, arg = (query.data or "").partition(":")
        if action in ("approve", "deny"):
            if not self.is_admin(update):
                await self._answer(query, dest, self.t(dest, "admins_only"), show_alert=True)
                return
            if not _CHAT_ID.match(arg):
                await self._answer(query, dest)
                return
            note = await self._decide(dest, arg, action == "approve")
            await self._answer(query, dest, html.unescape(note))
            return
        if action in ("mute", "nr"):
            await self._alert_button(update, query, dest, action, arg)
            return
        if action not in ("sub", "unsub"):
            await self._answer(query, dest)
            return
        if not await self.may_change(update):
            await self._answer(query, dest)
            return
        wl = self.find_watchlist(arg)
        if wl is None:
            await self._answer(query, dest, html.unescape(self.t(dest, "unknown_list", name=arg)), show_alert=True)
            return
        if action == "sub":
            self.store.subscriptions.subscribe(self.name, dest, wl.name)
            note = self.t(dest, "subscribed", title=wl.title or wl.name)
        else:
            self.store.subscriptions.unsubscribe(self.name, dest, wl.name)
            note = self.t(dest, "unsubscribed", title=wl.title or wl.name)
        log.info("telegram %s by button chat=%s watchlist=%s", action, dest, wl.name)
        await self._answer(query, dest, html.unescape(note))
        text, markup = self._list_view(dest)
        try:
            await query.edit_message_text(text=text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except Exception as exc:  # the list is a convenience: the change is already made
            log.debug("telegram list not refreshed chat=%s error=%s", dest, type(exc).__name__)



def _story_title(payload: Any) -> str:
    try:
        return str(json.loads(payload or "{}").get("title") or "")
    except (TypeError, ValueError):
        return ""


__all__ = ["RaqibBot", "ChatUpdates", "CommandBudget", "TEXTS", "COMMANDS"]
