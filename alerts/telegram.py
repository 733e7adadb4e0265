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
- Rate limits, kept by our own limiter (PTB's retries nothing and knows no per-chat
  limit): at most `rate.global` messages per second overall (29), one message per
  `rate.chat_interval` seconds in one chat (1.1), and at most `rate.group_per_minute`
  (20) per 61 seconds in a group, supergroup or channel (negative ids and @names). The
  defaults sit a little under Telegram's 30/s, 1/s and 20/min because requests reach
  Telegram a few milliseconds apart from when they left. A wait is an `await` on an
  injectable clock, never a blocking sleep.
- One path for every request: the limiter is installed on the PTB Application as its
  rate limiter (`BotRateLimiter`, a `telegram.ext.BaseRateLimiter`), so alerts, edits,
  command replies and button answers are all paced by it. Requests that put something
  in a chat (send*, edit*, copy*, forward*) take that chat's slot, then an overall one;
  other requests (getChatMember, answerCallbackQuery, ...) are not paced. A RetryAfter
  from Telegram pauses the chat for everything sent to it; a request to a chat paused
  longer than `PAUSE_WAIT` seconds fails at once with RetryAfter instead of waiting.
  When the channel closes, requests still waiting for a slot fail at once (TimedOut):
  an alert stays in the outbox, a reply is dropped, and shutdown is never held.
- Messages use HTML parse mode. Every piece of feed text goes through
  `monitor.display.visible` (bidi overrides, isolates and invisible controls removed:
  a title cannot display as something else) and `html.escape`; only http(s) links
  become anchors. An alert reads: watchlist, title (matched words in bold, linked),
  source · time, a short lead, the matched terms. Lines that would start with a
  left-to-right character begin with U+200F (RIGHT-TO-LEFT MARK) so Arabic reads right
  to left in every client; that mark is the renderer's own, added after cleaning.
- A message longer than 4,096 UTF-16 code units of visible text (Telegram counts after
  entity parsing, in UTF-16) is split: at a line break where possible, else at a space,
  never inside a tag or an entity; open tags are closed and reopened across the cut. A
  run longer than half a message (a giant word, thousands of spaces) is cut inside, so
  every cut moves forward and splitting takes time linear in the text.
- `send` returns "chat_id:message_id" of the first part; `edit` rewrites that message to
  add "also reported by …"; "message is not modified" counts as success.
- `send_digest` is one message (split when long), grouped by watchlist then by story
  cluster; it returns no reference, so later cluster updates never overwrite a digest.
- Errors become DeliveryError: RetryAfter → `retry_after` (and the chat is paused in
  the limiter), Forbidden (blocked, kicked) → permanent and unsubscribe, ChatMigrated
  → `migrate_to` the new id, BadRequest → permanent, InvalidToken → temporary with a
  hint (fixing the token must not kill queued alerts), NetworkError/TimedOut → retried.
- With `polling: true` (default) `start()` runs the bot (alerts.bot) inside the
  daemon's event loop: initialize, start, updater.start_polling; `close()` stops it.
  When the Bot API cannot be reached at start, start-up retries in the background.
"""
from __future__ import annotations

import asyncio
import functools
import html
import logging
import os
import re
import time
import warnings
from collections import deque
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, ClassVar, Sequence

from telegram.error import RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from monitor.display import display_url, visible
from monitor.errors import ConfigError, DeliveryError
from monitor.models import Alert

from .channel import Channel
from .render import bounded, highlight, lead, matched_terms, when

log = logging.getLogger(__name__)

MAX_UNITS = 4096
PAUSE_WAIT = 5.0  # a chat paused longer than this fails fast (the outbox waits, not a sender)
HELD_AFTER = 60.0  # a RetryAfter this long marks the alerts held: they leave as one digest
RLM = "\u200f"
SECTION_KEYS = {
    "enabled", "token", "api_url", "admins", "access", "allow", "channels", "link_preview", "lang",
    "polling", "rate", "timeout", "digest", "quiet", "tz", "poll_timeout",
}
ACCESS_MODES = ("open", "allow", "approve")
LANGS = ("ar", "en")
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_DEST = re.compile(r"^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,})$")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_STRONG_LTR = re.compile(r"[A-Za-z0-9\u00c0-\u024f]")

LABELS = {
    "ar": {"also": "نقلته أيضاً: ", "terms": "الكلمات: ", "spread": "🔥 ينتشر: نشرته {n} مصادر: ",
           "digest": "🗞 ملخص: {n} تنبيه", "more_sources": "مصادر", "read": "اقرأ الخبر",
           "health": "حالة المصادر", "update": "تحديث"},
    "en": {"also": "Also reported by: ", "terms": "Terms: ", "spread": "🔥 Spreading: {n} outlets: ",
           "digest": "🗞 Digest: {n} alerts", "more_sources": "outlets", "read": "Read",
           "health": "Feed health", "update": "Update"},
}


# -- rate limits ------------------------------------------------------------------------


class RateLimiter:
    """Telegram's limits as reservations on a clock: per chat first, then overall.

    Per chat: one message every `chat_interval` seconds; in groups and channels also at
    most `group_per_minute` in any 60 seconds. Overall: at most `per_second` a second,
    spaced evenly. Reservations are made without awaiting in between, so concurrent
    senders never share a slot; waits go through `sleep` (asyncio.sleep by default).
    """

    def __init__(self, *, per_second: float = 29.0, chat_interval: float = 1.1, group_per_minute: int = 20,
                 group_window: float = 61.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
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


class BotRateLimiter(BaseRateLimiter):
    """`RateLimiter` as python-telegram-bot's rate limiter: every Bot API request of the
    Application passes here (getUpdates excepted), alerts and command replies alike."""

    PACED = ("send", "edit", "copy", "forward")  # requests that put something in a chat

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, **limits: Any) -> None:
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
                              endpoint: str, data: dict[str, Any], rate_limit_args: Any) -> Any:
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


# -- rendering --------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _esc(text: str) -> str:
    """Untrusted text for HTML: bidi overrides and invisible controls removed, then escaped."""
    return html.escape(visible(text), quote=False)


def _safe_url(url: str) -> str | None:
    # no whitespace inside an href (and never a newline); bidi and control characters encoded
    url = display_url("".join((url or "").split()))
    return url if re.match(r"^https?://[^\s\"<>]+$", url, re.I) else None


def _bold(text: str, alert: Alert, field: str) -> str:
    return highlight(text, alert.matches, field, open_="<b>", close="</b>", escape=_esc)


def rtl(lines: Sequence[str]) -> str:
    """Join lines; a line whose first strong character is left-to-right gets an RLM."""
    if not any(_ARABIC.search(line) for line in lines):
        return "\n".join(lines)
    out = []
    for line in lines:
        plain = _TAG.sub("", line)
        first = next((ch for ch in plain if _ARABIC.match(ch) or _STRONG_LTR.match(ch)), "")
        out.append(RLM + line if first and not _ARABIC.match(first) else line)
    return "\n".join(out)


def render_alert(alert: Alert, *, lang: str = "ar", also: Sequence[str] = ()) -> str:
    """One alert as Telegram HTML."""
    L = LABELS.get(lang, LABELS["ar"])
    alert = bounded(alert)
    title = " ".join(alert.title.split()) if "\n" in alert.title else alert.title
    title_html = _bold(title, alert, "title") if title == alert.title else _esc(title)
    url = _safe_url(alert.url)
    if url:
        title_html = f'<a href="{html.escape(url, quote=True)}">{title_html}</a>'
    head = "⚠️ " + _esc(alert.watchlist_title or alert.watchlist) if alert.kind == "health" \
        else "📌 " + _esc(alert.watchlist_title or alert.watchlist)
    lines = [head, f"<b>{title_html}</b>" if not url else title_html]
    meta = " · ".join(_esc(m) for m in (alert.source, when(alert)) if m)
    if meta:
        lines.append(f"<i>{meta}</i>")
    if alert.kind == "spread" and alert.sources:
        lines.append(_esc(L["spread"].format(n=len(alert.sources)) + "، ".join(alert.sources)))
    others = [s for s in also if s and s != alert.source]
    if others:
        lines.append(_esc(L["also"] + "، ".join(others)))
    if alert.summary:
        summary = alert.summary
        short = lead(summary, 280)
        if short == " ".join(summary.split()) and short == summary:
            lines += ["", _bold(summary, alert, "summary")]
        else:  # offsets refer to the whole summary: a cut lead is escaped plainly
            lines += ["", _esc(short)]
    terms = matched_terms(alert)
    if terms and alert.kind != "health":
        lines.append(_esc(L["terms"]) + "، ".join(f"<b>{_esc(t)}</b>" for t in terms))
    return rtl(lines)


def render_digest(alerts: Sequence[Alert], *, lang: str = "ar") -> str:
    """Several alerts as one message: by watchlist, then one entry per story cluster."""
    L = LABELS.get(lang, LABELS["ar"])
    groups: dict[tuple[str, str], dict[int, list[Alert]]] = {}
    for alert in alerts:
        key = (alert.watchlist, alert.watchlist_title or alert.watchlist)
        groups.setdefault(key, {}).setdefault(alert.cluster, []).append(alert)
    lines = [f"<b>{_esc(L['digest'].format(n=len(alerts)))}</b>"]
    for (_name, title), clusters in groups.items():
        lines += ["", f"📌 <b>{_esc(title)}</b> ({len(clusters)})"]
        for members in clusters.values():
            first = members[0]
            text = " ".join(first.title.split())
            short = lead(text, 160)
            entry = _bold(text, first, "title") if short == text == first.title else _esc(short)
            url = _safe_url(first.url)
            if url:
                entry = f'<a href="{html.escape(url, quote=True)}">{entry}</a>'
            outlets: list[str] = []
            for a in members:
                for s in (a.source, *a.sources):
                    if s and s not in outlets:
                        outlets.append(s)
            tail = " — " + _esc("، ".join(outlets[:3])) if outlets else ""
            if len(outlets) > 3:
                tail += f" +{len(outlets) - 3}"
            lines.append("• " + entry + tail)
    return rtl(lines)


# a tag never holds "<": a stray "<" is text, and scanning for ">" stops at the next "<"
# (so thousands of stray "<" cost linear time, not quadratic)
_TAG = re.compile(r"<[^<>]*>")
_TOKENS = re.compile(r"<[^<>]*>|&#?\w{1,32};|\n|[^\S\n]+|[^\s<&]+|[<&]")


def split_html(text: str, limit: int = MAX_UNITS) -> list[str]:
    """Cut HTML into parts of at most `limit` visible UTF-16 units, never inside a tag or
    an entity; prefer line breaks, then spaces; tags open at a cut are closed and reopened.

    Every text run longer than half the limit (a giant word, a run of thousands of
    spaces) is first cut into pieces that fit, so each cut moves forward and the whole
    split takes time linear in the text. A stray `<` or `&` is sent escaped."""
    if limit < 2:
        raise ValueError("split_html: the limit must leave room for one character (2 UTF-16 units)")
    if utf16_len(html.unescape(_TAG.sub("", text))) <= limit:
        return [text]
    piece = max(2, limit // 2)
    tokens: list[tuple[str, int]] = []  # (token, visible units)
    for tok in _TOKENS.findall(text):
        if tok == "<":
            tokens.append(("&lt;", 1))
        elif tok == "&":
            tokens.append(("&amp;", 1))
        elif tok.startswith("<"):
            tokens.append((tok, 0))
        elif tok.startswith("&"):
            tokens.append((tok, _entity_units(tok)))
        else:
            units = utf16_len(tok)
            if units > piece:  # a giant word or whitespace run: cut by code points
                tokens.extend(_hard_pieces(tok, piece))
            else:
                tokens.append((tok, units))
    parts: list[str] = []
    stack: list[str] = []  # open tags at the start of the current part
    cur: list[tuple[str, int]] = []
    size = 0
    i = 0
    while i < len(tokens):
        tok, n = tokens[i]
        if size + n <= limit or not cur:
            cur.append((tok, n))
            size += n
            i += 1
            continue
        # overflow: cut at the last line break past half, else the last space, else here;
        # every token fits in an empty part, so the part cut off always holds some text
        head, cur = _cut(cur, limit)
        opened = _open_after(stack, head)
        parts.append("".join(stack) + "".join(t for t, _ in head) + "".join(_close(t) for t in reversed(opened)))
        stack = opened
        size = sum(n for _, n in cur)
    opened_text = "".join(stack) + "".join(t for t, _ in cur) + \
        "".join(_close(t) for t in reversed(_open_after(stack, cur)))
    if opened_text.strip():
        parts.append(opened_text)
    return [p.strip("\n") or p for p in parts if _TAG.sub("", p).strip()]


@functools.lru_cache(maxsize=1024)
def _entity_units(entity: str) -> int:
    return utf16_len(html.unescape(entity))


def _hard_pieces(tok: str, size: int) -> list[tuple[str, int]]:
    """`tok` in slices of at most `size` UTF-16 units (size ≥ 2), never inside a character."""
    out = []
    j = 0
    while j < len(tok):
        end = j + size
        chunk = tok[j:end]
        units = utf16_len(chunk)
        while units > size:  # astral characters count twice: give back half the excess
            end -= max(1, (units - size) // 2)
            chunk = tok[j:end]
            units = utf16_len(chunk)
        out.append((chunk, units))
        j = end
    return out


def _cut(cur: list[tuple[str, int]], limit: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(the part to send, what carries over): cut at the last line break past half the
    limit, else the last space past half, else after everything; the break itself is
    dropped, tags opened just before the cut move to the next part and tags closed just
    after it stay in this one."""
    total, best_line, best_space = 0, -1, -1
    for idx, (tok, n) in enumerate(cur):
        if idx > 0 and total >= limit // 2:
            if tok == "\n":
                best_line = idx
            elif n and tok.isspace():
                best_space = idx
        total += n
    at = best_line if best_line > 0 else best_space
    head, rest = (cur[:at], cur[at + 1:]) if at > 0 else (cur, [])
    while rest and rest[0][0].startswith("</"):
        head, rest = head + [rest[0]], rest[1:]
    k = len(head)
    while k and head[k - 1][0].startswith("<") and not head[k - 1][0].startswith("</"):
        k -= 1
    if any(n for _, n in head[:k]):
        head, rest = head[:k], head[k:] + rest
    return head, rest


def _open_after(stack: list[str], tokens: list[tuple[str, int]]) -> list[str]:
    opened = list(stack)
    for tok, _ in tokens:
        if tok.startswith("</"):
            name = _tag_name(tok)
            for j in range(len(opened) - 1, -1, -1):
                if _tag_name(opened[j]) == name:
                    del opened[j]
                    break
        elif tok.startswith("<") and not tok.endswith("/>"):
            opened.append(tok)
    return opened


@functools.lru_cache(maxsize=1024)
def _tag_name(tok: str) -> str:
    m = re.match(r"</?\s*([A-Za-z0-9-]+)", tok)
    return m.group(1).lower() if m else ""


def _close(tok: str) -> str:
    return f"</{_tag_name(tok)}>"


# -- configuration ------------------------------------------------------------------------


def read_token(section) -> str | None:
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


def _literal_in_file(section, key: str) -> bool:
    """True when the config file's line for `key` holds the value itself, not ${VAR}."""
    try:
        lines = Path(section.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, TypeError):
        return False  # not from a file people edit (built in code)
    line = section.line_of(key)
    if not 0 < line <= len(lines):
        return False
    return "${" not in lines[line - 1]


def chat_ref(destination: str) -> int | str:
    return destination if destination.startswith("@") else int(destination)


def retry_seconds(exc: Any) -> float:
    """RetryAfter.retry_after in seconds (an int, or a timedelta with PTB_TIMEDELTA)."""
    from telegram.warnings import PTBDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# -- the channel ----------------------------------------------------------------------------


class TelegramChannel(Channel):
    name: ClassVar[str] = "telegram"
    body_maxlen: ClassVar[int | None] = MAX_UNITS
    can_edit: ClassVar[bool] = True
    concurrency: ClassVar[int] = 30

    def __init__(self, section, store=None, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[Any]] | None = None) -> None:
        super().__init__(section, store)
        from .outbox import policy_from_settings  # late: outbox imports channel

        unknown = set(section.values) - SECTION_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise section.error(f"channels.telegram: unknown key {key!r} (known: {', '.join(sorted(SECTION_KEYS))})",
                                key)
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
        api_url = str(section.get("api_url", "https://api.telegram.org")).rstrip("/")
        if not re.match(r"^https?://[^\s/]+", api_url):
            raise section.error(f"channels.telegram.api_url: expected an http(s) URL, got {api_url!r}", "api_url")
        self.api_url = api_url
        self.admins = self._chat_ids(section, "admins")
        self.access = str(section.get("access", "open")).lower()
        if self.access not in ACCESS_MODES:
            raise section.error(f"channels.telegram.access: expected open, allow or approve, got {self.access!r}",
                                "access")
        self.allow = self._chat_ids(section, "allow")
        raw_channels = section.get("channels") or []
        if isinstance(raw_channels, dict):
            self.configured = {str(k): [str(w) for w in (v or [])] for k, v in raw_channels.items()}
        elif isinstance(raw_channels, list):
            self.configured = {str(k): [] for k in raw_channels}
        else:
            raise section.error("channels.telegram.channels: expected a list of channels (@name or -100…) "
                                "or a mapping channel → [watchlists]", "channels")
        for dest, lists in self.configured.items():
            if not _DEST.match(dest):
                raise section.error(f"channels.telegram.channels: {dest!r} is not a chat id or @channel", "channels")
        self.link_preview = bool(section.get("link_preview", False))
        self.lang = str(section.get("lang", "ar")).lower()
        if self.lang not in LANGS:
            raise section.error(f"channels.telegram.lang: expected ar or en, got {self.lang!r}", "lang")
        self.polling = bool(section.get("polling", True))
        self.timeout = section.duration("timeout", 20.0)
        self.poll_timeout = section.duration("poll_timeout", 10.0)
        rate = section.get("rate") or {}
        if not isinstance(rate, dict) or set(rate) - {"global", "chat_interval", "group_per_minute"}:
            raise section.error("channels.telegram.rate: expected {global, chat_interval, group_per_minute}", "rate")
        try:
            per_second = float(rate.get("global", 29))
            chat_interval = float(rate.get("chat_interval", 1.1))
            group_per_minute = int(rate.get("group_per_minute", 20))
            if per_second <= 0 or chat_interval < 0 or group_per_minute <= 0:
                raise ValueError
        except (TypeError, ValueError):
            raise section.error("channels.telegram.rate: positive numbers expected", "rate") from None
        self.defaults: dict[str, Any] = {k: section.get(k) for k in ("quiet", "tz") if section.get(k) is not None}
        if section.get("digest") is not None:
            self.defaults["mode"] = section.get("digest")
        try:
            policy_from_settings(self.defaults)
        except ValueError as exc:
            raise section.error(f"channels.telegram: {exc}", "digest") from exc
        self.clock = clock or time.monotonic
        self.rate_limiter = BotRateLimiter(per_second=per_second, chat_interval=chat_interval,
                                           group_per_minute=group_per_minute, clock=self.clock,
                                           sleep=sleep or asyncio.sleep)
        self.limiter = self.rate_limiter.limiter
        self.app: Any = None
        self.bot_handlers: Any = None
        self._ready = False
        self._init_lock = asyncio.Lock()
        self._starter: asyncio.Task | None = None
        self._closing = False

    @staticmethod
    def _chat_ids(section, key: str) -> set[str]:
        raw = section.get(key) or []
        if not isinstance(raw, list):
            raw = [raw]
        out = set()
        for item in raw:
            text = str(item).strip()
            if isinstance(item, bool) or not re.match(r"^-?\d+$", text):
                raise section.error(f"channels.telegram.{key}: {item!r} is not a chat id (a number; "
                                    "send /start to the bot to see yours)", key)
            out.add(text)
        return out

    def __repr__(self) -> str:
        return f"<TelegramChannel {self.api_url} token=*** access={self.access}>"

    # -- configuration seen by the daemon ------------------------------------------------

    def destinations_for(self, notify: Sequence[str]) -> list[str]:
        out = []
        for item in notify:
            dest = str(item).strip()
            if not _DEST.match(dest):
                raise ConfigError(f"notify.telegram: {dest!r} is not a chat id or @channel name")
            out.append(dest)
        return out

    def destination_defaults(self, destination: str) -> dict[str, Any]:
        return dict(self.defaults)

    def lang_of(self, destination: str) -> str:
        if self.store is None:
            return self.lang
        lang = self.store.destination_settings(self.name, destination).get("lang")
        return lang if lang in LANGS else self.lang

    # -- lifecycle --------------------------------------------------------------------------

    def _build(self) -> Any:
        from telegram.ext import ApplicationBuilder
        from telegram.request import HTTPXRequest

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
                    from .bot import RaqibBot
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
            log.warning("telegram start failed, retrying in the background error=%s", _describe(exc))
            self._starter = asyncio.create_task(self._keep_starting())

    async def _start_once(self) -> None:
        await self._ensure_ready()
        if not self.polling or self.app.updater is None:
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
                log.warning("telegram start failed error=%s retry_in=%.0f", _describe(exc), delay)
                delay = min(delay * 2, 300.0)

    def _polling_error(self, exc: Exception) -> None:
        log.warning("telegram polling failed error=%s", _describe(exc))

    async def close(self) -> None:
        self._closing = True
        self.rate_limiter.close()  # requests waiting for a slot give up: shutdown is never held
        if self._starter is not None:
            self._starter.cancel()
            try:
                await self._starter
            except (asyncio.CancelledError, Exception):
                pass
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
            log.warning("telegram shutdown failed error=%s", _describe(exc))
        self._ready = False

    def _sync_configured(self) -> None:
        """Channels listed with watchlists in the config follow exactly those watchlists."""
        for dest, lists in self.configured.items():
            if not lists:
                continue
            current = set(self.store.subscriptions_of(self.name, dest))
            for wl in lists:
                if wl not in current:
                    self.store.subscribe(self.name, dest, wl)
            for wl in current - set(lists):
                self.store.unsubscribe(self.name, dest, wl)

    # -- sending ------------------------------------------------------------------------------

    async def send(self, alert: Alert) -> str | None:
        text = render_alert(alert, lang=self.lang_of(alert.destination))
        ids = await self.send_html(alert.destination, text, preview_url=alert.url)
        return f"{alert.destination}:{ids[0]}"

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        if not alerts:
            return None
        await self.send_html(destination, render_digest(alerts, lang=self.lang_of(destination)))
        return None  # a digest is never edited by a cluster update

    async def edit(self, alert: Alert, ref: str, sources: Sequence[str]) -> None:
        from telegram.constants import ParseMode
        from telegram.error import BadRequest

        destination, _, message_id = ref.rpartition(":")
        text = split_html(render_alert(alert, lang=self.lang_of(destination), also=sources))[0]
        await self._ensure_ready_or_retry(destination)
        self._check_paused(destination)
        try:  # paced by the Application's rate limiter
            await self.app.bot.edit_message_text(text=text, chat_id=chat_ref(destination),
                                                 message_id=int(message_id), parse_mode=ParseMode.HTML,
                                                 link_preview_options=self._preview(alert.url))
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            raise self._translate(exc, destination) from None
        except Exception as exc:
            raise self._translate(exc, destination) from None

    async def send_html(self, destination: str, text: str, *, preview_url: str = "",
                        reply_markup: Any = None) -> list[int]:
        """Send HTML to a chat, split as needed; message ids back. Alerts and command
        replies both come here: paced by the Application's rate limiter, errors translated."""
        from telegram.constants import ParseMode

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
                    reply_markup=reply_markup if i == len(parts) - 1 else None)
            except Exception as exc:
                raise self._translate(exc, destination) from None
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
            raise self._translate(exc, destination) from None

    def _preview(self, url: str) -> Any:
        from telegram import LinkPreviewOptions

        if not self.link_preview or not _safe_url(url):
            return LinkPreviewOptions(is_disabled=True)
        return LinkPreviewOptions(url=_safe_url(url), prefer_small_media=True)

    def _translate(self, exc: Exception, destination: str) -> DeliveryError:
        from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError,
                                    RetryAfter, TelegramError, TimedOut)

        what = _describe(exc)
        common = {"channel": self.name, "destination": destination}
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


class _TokenMask(logging.Filter):
    """Masks bot tokens in records of PTB's loggers (the Bot logs its API URL at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        masked = message
        for token in self.tokens:
            masked = masked.replace(token, "***")
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_MASK = _TokenMask()
_PTB_LOGGERS = ("telegram", "telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Updater",
                "telegram.ext.Application", "telegram.request", "telegram.ext.BaseUpdateProcessor",
                "telegram.ext._utils.networkloop")


def _install_token_mask(token: str) -> None:
    _MASK.tokens.add(token)
    for name in _PTB_LOGGERS:
        logger = logging.getLogger(name)
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)


def _describe(exc: BaseException) -> str:
    """An exception as text without the token (HTTP client messages may quote the URL)."""
    text = f"{type(exc).__name__}: {exc}"
    return re.sub(r"\d{3,}:[A-Za-z0-9_-]{20,}", "***", text)
