"""Secrets kept out of logs, reprs and messages: one registry, one token pattern, one way
to show a destination.

Rules:
- `register_secret(value)` adds a value (a bot token, an SMTP password, a webhook
  secret; at least 4 characters) that `mask` replaces by `***` wherever it appears.
- `mask` also replaces anything shaped like a Telegram bot token (digits, a colon, 20 or
  more URL-safe characters — the shape `alerts.telegram` accepts), also inside URLs
  (".../bot123456:AA.../getUpdates"), in case a library quotes one in an error.
- `SecretFilter` applies `mask` to a log record's message and traceback; the daemon puts
  it on its log handler, the Telegram channel on python-telegram-bot's loggers (so
  records that reach other handlers are masked too).
- `mask_destination` shows a destination in logs: a URL cut to its scheme and host (URLs
  may carry tokens), an e-mail address with its local part shortened; chat ids as they
  are.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

_SECRETS: set[str] = set()
BOT_TOKEN = re.compile(r"(?<![0-9])\d{3,}:[A-Za-z0-9_-]{20,}")


def register_secret(value: str | None) -> None:
    """Mask `value` wherever it would appear in a log line."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def mask(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return BOT_TOKEN.sub("***", text)


def describe(exc: BaseException) -> str:
    """An exception as `Type: message`, masked (HTTP client messages may quote the URL)."""
    return mask(f"{type(exc).__name__}: {exc}")


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is left to the handler to report
            return True
        masked = mask(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def mask_destination(destination: str) -> str:
    """Destinations in logs: URLs cut to scheme and host, e-mail local parts shortened."""
    if "://" in destination:
        parts = urlsplit(destination)
        try:
            host = parts.hostname or "?"
        except ValueError:
            host = "?"
        return f"{parts.scheme}://{host}/…"
    if "@" in destination and not destination.startswith("@"):
        local, _, domain = destination.partition("@")
        return f"{local[:2]}…@{domain}"
    return destination
