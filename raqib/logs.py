"""Logging: fixed messages with key=value context, or one JSON object per line.

A key=value line is `<UTC time>Z level=… logger=… msg="…"` with the message escaped as a
JSON string (newlines and quotes included), so one record is always one line.

Secrets never reach a log line: httpx and httpcore (which log request URLs, and a
Telegram bot token is part of the URL) are kept at WARNING, and a filter masks every
registered secret (tokens, passwords read from the config or environment) and anything
shaped like a bot token, in case a library puts one in an exception message (the one
masker, `alerts.secrets`).
"""
from __future__ import annotations

import json
import logging
import sys
import time

from alerts.secrets import SecretFilter, mask, register_secret

__all__ = ["SecretFilter", "mask", "register_secret", "setup_logging"]

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
