"""How the bot's Application runs updates: one chat's in the order they came, different
chats side by side, and each chat's commands counted on arrival against a budget
(`COMMAND_BURST` at once, then one every `COMMAND_EVERY` seconds; at most one "slow down"
notice every `NOTICE_EVERY` seconds), so a chat over it costs no work."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from telegram.ext import BaseUpdateProcessor

COMMAND_BURST = 10  # commands one chat may send at once ...
COMMAND_EVERY = 3.0  # ... then one every this many seconds (20 a minute)
NOTICE_EVERY = 60.0  # at most one "slow down" notice a minute to one chat


class Admission(Protocol):
    """What `ChatUpdates` asks of the bot: whether an update may run, and the notice."""

    def admit(self, update: object) -> str: ...

    async def slow_down(self, dest: str) -> None: ...


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

    def __init__(self, bot: Admission, max_concurrent_updates: int = 64) -> None:
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
