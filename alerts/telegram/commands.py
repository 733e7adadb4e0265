"""The chat commands anyone may send (the rules are in alerts/telegram/bot.py): /start,
/help, /list, /subscribe, /unsubscribe, /mute, /unmute, /quiet, /tz, /related, /status,
/watch, /unwatch and /lang."""
from __future__ import annotations

import html
import logging
import time
from datetime import UTC

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from monitor.config import parse_duration
from monitor.errors import ConfigError
from monitor.models import RELATED_MODES, Watchlist
from monitor.watchlists import personal_term

from ..plurals import count
from ..policy import parse_quiet
from ..render import zone
from .botbase import ECHO_MAX, BotBase, Context, chat_of, escape
from .texts import LANGS

log = logging.getLogger(__name__)

MAX_TERMS = 50
MAX_TERM_LENGTH = 100


class ChatCommands(BotBase):
    """The handlers of the commands every chat has."""

    async def cmd_start(self, update: Update, context: Context) -> None:
        dest = str(chat_of(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return
        await self.reply_to(dest, self.t(dest, "welcome") + self._help(update))

    def _help(self, update: Update) -> str:
        dest = str(chat_of(update).id)
        text = self.t(dest, "help")
        if self.is_admin(update):
            text += self.t(dest, "help_admin")
        return text

    async def cmd_help(self, update: Update, context: Context) -> None:
        await self.reply_to(str(chat_of(update).id), self._help(update))

    def _list_view(self, dest: str) -> tuple[str, InlineKeyboardMarkup | None]:
        lists = self.services.watchlists()
        if not lists:
            return self.t(dest, "list_empty"), None
        mine = set(self.store.subscriptions.of(self.name, dest))
        lines = [self.t(dest, "list_head")]
        buttons = []
        for wl in lists:
            title = wl.title or wl.name
            mark = "✓" if wl.name in mine else "▫️"
            lines.append(f"{mark} <b>{escape(title)}</b> — <code>{escape(wl.name)}</code>")
            data = f"{'unsub' if wl.name in mine else 'sub'}:{wl.name}"
            if len(data.encode("utf-8")) <= 64:
                label = self.t(dest, "btn_unfollow" if wl.name in mine else "btn_follow", title=title)
                buttons.append([InlineKeyboardButton(html.unescape(label)[:60], callback_data=data)])
        return "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None

    async def cmd_list(self, update: Update, context: Context) -> None:
        dest = str(chat_of(update).id)
        state = self.access_state(dest)
        if state != "yes":
            await self._refuse(update, state)
            return
        text, markup = self._list_view(dest)
        await self.reply_to(dest, text, markup)

    async def _named(self, update: Update, context: Context, cmd: str) -> Watchlist | None:
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
        if self.store.subscriptions.subscribe(self.name, dest, wl.name):
            log.info("telegram subscribed chat=%s watchlist=%s", dest, wl.name)
            await self.reply(update, "subscribed", title=wl.title or wl.name)
        else:
            await self.reply(update, "already", title=wl.title or wl.name)

    async def cmd_unsubscribe(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
        self.store.subscriptions.update_settings(self.name, dest, muted_until=None)
        self.release_held(dest)
        await self.reply(update, "unmuted")

    async def cmd_quiet(self, update: Update, context: Context) -> None:
        if not await self.may_change(update):
            return
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
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
        if zone(name) is UTC and name != "UTC":
            await self.reply(update, "bad_tz", text=text)
            return
        self.store.subscriptions.update_settings(self.name, dest, tz=name)
        await self.reply(update, "tz_set", tz=name, now=self._time(time.time(), dest))

    async def cmd_related(self, update: Update, context: Context) -> None:
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
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
        dest = str(chat_of(update).id)
        term = " ".join(context.args or [])
        if self.store.subscriptions.remove_personal_term(self.name, dest, term):
            self.services.personal_terms_changed(self.name, dest)
            await self.reply(update, "unwatched", term=term)
        else:
            await self.reply(update, "not_watching", term=term)

    async def cmd_lang(self, update: Update, context: Context) -> None:
        dest = str(chat_of(update).id)
        choice = "".join(context.args or []).strip().lower()
        choice = {"arabic": "ar", "عربي": "ar", "العربية": "ar", "english": "en"}.get(choice, choice)
        if choice not in LANGS:
            await self.reply(update, "bad_lang")
            return
        chat = chat_of(update)
        if chat.type in ("group", "supergroup") and not self.is_admin(update) and not await self._group_admin(update):
            await self.reply(update, "group_admins_only")
            return
        self.store.subscriptions.update_settings(self.name, dest, lang=choice)
        await self.reply(update, "lang_set")
