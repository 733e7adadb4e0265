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

import contextlib
import html
import json
import logging
import re
import time
from typing import Any

from telegram import BotCommand, CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from monitor.display import REASON_MAX, one_line
from monitor.watchlists import exclude_suggestion

from ..channel import Services
from ..plurals import count
from .botbase import ChatChannel, Context, Handler, chat_of, escape
from .commands import ChatCommands
from .texts import COMMANDS, TEXTS
from .updates import ChatUpdates, CommandBudget

log = logging.getLogger(__name__)

EVENT_MUTE = 24 * 3600.0  # "🔕 كتم هذا الحدث": an event muted for a day
_CHAT_ID = re.compile(r"^-?\d{1,20}$")


class RaqibBot(ChatCommands):
    """Command handlers on a PTB Application; state lives in the store. The chat commands
    are `ChatCommands`' (alerts/telegram/commands.py); the admins' and the buttons are here."""

    def __init__(self, channel: ChatChannel, services: Services) -> None:
        super().__init__(channel, services)
        self.budget = CommandBudget(channel.clock)
        self.updates = ChatUpdates(self)

    # -- wiring -------------------------------------------------------------------------------

    def install(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
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
            with contextlib.suppress(Exception):
                await self.reply_to(str(chat.id), self.t(str(chat.id), "error"))

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
            dest = str(chat_of(update).id)
            await self.reply(update, "reloaded", count=count(len(self.services.watchlists()), "watchlist",
                                                             self.lang(dest)))

    async def cmd_feeds(self, update: Update, context: Context) -> None:
        if not await self._admin(update):
            return
        dest = str(chat_of(update).id)
        feeds = [f for f in self.store.feeds.all() if f.enabled]
        lines = [self.t(dest, "feeds_head", n=len(feeds))]
        for f in feeds:
            ok = f.healthy and not f.failures
            line = f"{'✅' if ok else '⚠️'} <code>{escape(f.name)}</code>"
            title = f.config_title or f.title
            if title:  # the outlet as people know it, beside the id the config and the logs use
                line += f" {escape(one_line(str(title), 80))}"
            if f.last_success:
                line += " · " + escape(self._time(f.last_success, dest))
            if not ok and f.last_error:
                line += f" · {escape(one_line(str(f.last_error), REASON_MAX))}"
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
        dest = str(chat_of(update).id)
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
                                              story=escape(one_line(story, 300)), words=escape(", ".join(words))))

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:  # the CallbackQueryHandler passes nothing else
            return
        dest = str(chat_of(update).id)
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


def _story_title(payload: str) -> str:
    try:
        return str(json.loads(payload or "{}").get("title") or "")
    except (TypeError, ValueError):
        return ""


__all__ = ["RaqibBot", "ChatUpdates", "CommandBudget", "TEXTS", "COMMANDS"]
