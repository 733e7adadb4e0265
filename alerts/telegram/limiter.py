"""Telegram's rate limits, kept by Raqib for every request of the bot.

Rules:
- At most `rate.global` messages per second overall (29), one message per
  `rate.chat_interval` seconds in one chat (1.1), and at most `rate.group_per_minute`
  (20) per 61 seconds in a group, supergroup or channel (negative ids and @names). The
  defaults sit a little under Telegram's 30/s, 1/s and 20/min because requests reach
  Telegram a few milliseconds apart from when they left. A wait is an `await` on an
  injectable clock, never a blocking sleep.
- One path for every request: `BotRateLimiter` is installed on the PTB Application as its
  rate limiter (a `telegram.ext.BaseRateLimiter`), so alerts, edits, command replies and
  button answers are all paced by it. Requests that put something in a chat (send*,
  edit*, copy*, forward*) take that chat's slot, then an overall one; other requests
  (getChatMember, answerCallbackQuery, ...) are not paced. A RetryAfter from Telegram
  pauses the chat for everything sent to it; a request to a chat paused longer than
  `PAUSE_WAIT` seconds fails at once with RetryAfter instead of waiting. When the channel
  closes, requests still waiting for a slot fail at once (TimedOut).
"""
from __future__ import annotations

import asyncio
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

PAUSE_WAIT = 5.0  # a chat paused longer than this fails fast (the outbox waits, not a sender)
RATE_DEFAULTS = {"global": 29, "chat_interval": 1.1, "group_per_minute": 20}


class RateLimiter:
    """Telegram's limits as reservations on a clock: per chat first, then overall.

    Per chat: one message every `chat_interval` seconds; in groups and channels also at
    most `group_per_minute` in any 60 seconds. Overall: at most `per_second` a second,
    spaced evenly. Reservations are made without awaiting in between, so concurrent
    senders never share a slot; waits go through `sleep` (asyncio.sleep by default).
    """

    def __init__(self, *, per_second: float = 29.0, chat_interval: float = 1.1, group_per_minute: int = 20,
                 group_window: float = 61.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.spacing = 1.0 / per_second
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.clock = clock
        self.sleep = sleep
        self._global_next = 0.0
        self._chat_next: dict[str, float] = {}
        self._group_times: dict[str, deque[float]] = {}

    @staticmethod
    def is_group(chat: str) -> bool:
        return chat.startswith("-") or chat.startswith("@")

    def pause(self, chat: str, seconds: float) -> None:
        """Telegram said RetryAfter: nothing more to this chat until then."""
        until = self.clock() + seconds + self.chat_interval
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0), until)

    def paused_for(self, chat: str) -> float:
        """Seconds this chat is still paused by a RetryAfter (0 when it is not)."""
        return max(0.0, self._chat_next.get(chat, 0.0) - self.chat_interval - self.clock())

    async def acquire(self, chat: str) -> float:
        """Wait for this chat's next slot, then for an overall slot; returns the send time."""
        now = self.clock()
        t = max(now, self._chat_next.get(chat, 0.0))
        window = None
        if self.is_group(chat):
            window = self._group_times.setdefault(chat, deque(maxlen=self.group_per_minute))
            if len(window) >= self.group_per_minute:
                t = max(t, window[0] + self.group_window)
            window.append(t)
        self._chat_next[chat] = t + self.chat_interval
        if t > now:
            await self.sleep(t - now)
        now = self.clock()
        g = max(now, self._global_next)
        self._global_next = g + self.spacing
        if g > now:
            await self.sleep(g - now)
        # the overall wait may have pushed this send later than its chat slot
        self._chat_next[chat] = max(self._chat_next[chat], g + self.chat_interval)
        if window is not None and window:
            window[-1] = max(window[-1], g)
        if len(self._chat_next) > 50_000:
            self._forget(g)
        return g

    def _forget(self, now: float) -> None:
        for chat in [c for c, t in self._chat_next.items() if t < now - self.group_window]:
            self._chat_next.pop(chat, None)
            self._group_times.pop(chat, None)


class BotRateLimiter(BaseRateLimiter[None]):
    """`RateLimiter` as python-telegram-bot's rate limiter: every Bot API request of the
    Application passes here (getUpdates excepted), alerts and command replies alike."""

    PACED = ("send", "edit", "copy", "forward")  # requests that put something in a chat

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep, **limits: Any) -> None:
        self._sleep = sleep
        self._closing: asyncio.Event | None = None
        self._closed = False
        self.limiter = RateLimiter(clock=clock, sleep=self._wait, **limits)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        self.close()

    def close(self) -> None:
        """From now on paced requests fail at once, and those waiting for a slot stop waiting."""
        self._closed = True
        if self._closing is not None:
            self._closing.set()

    async def _wait(self, seconds: float) -> None:
        if self._closed:
            raise TimedOut("Raqib is stopping")
        if self._closing is None:
            self._closing = asyncio.Event()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({sleeper, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, closing):
                task.cancel()
        if not sleeper.done() or sleeper.cancelled():
            raise TimedOut("Raqib is stopping")

    async def process_request(self, callback: Callable[..., Awaitable[Any]], args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any], rate_limit_args: None) -> Any:
        chat = data.get("chat_id")
        if chat is None or not endpoint.startswith(self.PACED):
            return await callback(*args, **kwargs)
        chat = str(chat)
        if self._closed:
            raise TimedOut("Raqib is stopping")
        while True:  # a RetryAfter met by another request while this one waited counts too
            left = self.limiter.paused_for(chat)
            if left > PAUSE_WAIT:  # Telegram asked us to wait longer than any caller should block
                raise RetryAfter(timedelta(seconds=max(1, round(left))))
            await self.limiter.acquire(chat)
            if self.limiter.paused_for(chat) <= 0:
                break
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            self.limiter.pause(chat, retry_seconds(exc))
            raise


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds (an int, or a timedelta with PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

