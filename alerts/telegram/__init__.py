"""Telegram: the channel and its bot, one module per concern.

    texts.py    what the bot and alerts say (ar/en message tables, command menu, labels)
    render.py   alerts and digests as Telegram HTML; split_html to 4,096 UTF-16 units
    limiter.py  Telegram's rate limits, installed on the PTB Application for every request
    bot.py      command and button handlers (typed), on a small ChatChannel protocol
    channel.py  TelegramChannel: options, token, lifecycle, send/edit, error translation;
                it builds the bot, so imports go one way: channel → bot → texts
"""
from .channel import TelegramChannel, read_token
from .limiter import BotRateLimiter, RateLimiter
from .render import render_alert, render_digest, split_html, utf16_len

__all__ = ["BotRateLimiter", "RateLimiter", "TelegramChannel", "read_token", "render_alert", "render_digest",
           "split_html", "utf16_len"]
