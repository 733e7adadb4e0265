"""Logging: fixed messages with key=value context, or one JSON object per line.

A key=value line is `<UTC time>Z level=… logger=… msg="…"` with the message escaped as a
JSON string (newlines and quotes included), so one record is always one line.

Secrets never reach a log line: httpx and httpcore (which log request URLs, and a
Telegram bot token is part of the URL) are kept at WARNING, and a filter masks every
registered secret (tokens, passwords read from the config or environment) and anything
shaped like a bot token, in case a library puts one in an exception message.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time

_SECRETS: set[str] = set()
# a Telegram bot token, also inside URLs (".../bot123456:AA.../getUpdates")
_BOT_TOKEN = re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])")


def register_secret(value: str | None) -> None:
    """Mask `value` wherever it would appear in a log line."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def mask(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return _BOT_TOKEN.sub("***", text)


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        # the message quoted and escaped as a JSON string: one record is always one line
        message = json.dumps(record.getMessage(), ensure_ascii=False)
        line = f"{stamp}Z level={record.levelname.lower()} logger={record.name} msg={message}"
        if record.exc_text:
            line += " exc=" + json.dumps(record.exc_text)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": record.created, "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "kv") -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_raqib", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._raqib = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(SecretFilter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
