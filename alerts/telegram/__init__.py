"""Telegram: the channel and its bot, one module per concern.

    texts.py    what the bot and alerts say (ar/en message tables, command menu, labels)
    render.py   alerts and digests as Telegram HTML; split_html to 4,096 UTF-16 units
    limiter.py  Telegram's rate limits, installed on the PTB Application for every request
    updates.py  how updates run: one chat's in order, chats side by side, a command budget per chat
    botbase.py  what every handler stands on: replies, access and admin checks, ChatChannel protocol
    commands.py the chat commands anyone may send (/list, /subscribe, /mute, /watch ...)
    bot.py      RaqibBot: the wiring, the admins' commands and the buttons under alerts
    channel.py  TelegramChannel: options, token, lifecycle, send/edit, error translation;
                it builds the bot, so imports go one way: channel → bot → commands → botbase → texts
"""
from .channel import TelegramChannel, read_token
from .limiter import BotRateLimiter, RateLimiter
from .render import render_alert, render_digest, split_html, utf16_len

__all__ = ["BotRateLimiter", "RateLimiter", "TelegramChannel", "read_token", "render_alert", "render_digest",
           "split_html", "utf16_len"]
