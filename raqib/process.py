"""What the daemon asks of its process: a higher limit on open files, every secret the
config or the environment holds registered with the log filter (`raqib.logs`), and work
in a thread of its own (`in_thread`), awaited on the loop.

Secrets: values the config holds under secret-looking keys (`SECRET_KEYS`: password,
secret, token …), a PostgreSQL URL's password, `SECRET_ENV` (`RAQIB_SMTP_PASSWORD`,
`RAQIB_TELEGRAM_TOKEN` …) and systemd credential files are registered with the log
filter, so no log line carries them.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from monitor.config import Config

from .logs import register_secret

log = logging.getLogger(__name__)
DESCRIPTORS = 65_536  # the soft descriptor limit the daemon asks for, within the hard one
SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey")
SECRET_ENV = ("RAQIB_SMTP_PASSWORD", "RAQIB_TELEGRAM_TOKEN", "RAQIB_WEBHOOK_SECRET", "RAQIB_WEB_AUTH")
T = TypeVar("T")


def raise_descriptor_limit() -> None:
    """Raise the soft limit on open files towards the hard one (systemd starts services
    with 1,024 soft and 524,288 hard, for programs to raise): a burst of sockets on the
    web view, accepted before they are closed, must not leave feeds unable to connect."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = DESCRIPTORS if hard == resource.RLIM_INFINITY else min(hard, DESCRIPTORS)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            log.info("file descriptor limit raised from=%d to=%d", soft, wanted)
        except (ValueError, OSError) as exc:
            log.warning("file descriptor limit not raised limit=%d error=%s", soft, exc)


def register_config_secrets(config: Config) -> int:
    """Hand every secret the config or the environment holds to the log filter."""
    found: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k).lower())
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and any(k in key for k in SECRET_KEYS):
            found.append(value)

    for section in config.sections.values():
        walk(section.values)
    if isinstance(config.database, str):  # a PostgreSQL URL's password
        found.append(unquote(urlsplit(config.database).password or ""))
    found.extend(os.environ.get(name, "") for name in SECRET_ENV)
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and os.path.isdir(creds):
        for entry in os.scandir(creds):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                found.append(Path(entry.path).read_text(encoding="utf-8").strip())
    for value in found:
        register_secret(value)
    return len([v for v in found if v])


def shared_database(database: object) -> bool:
    """Whether `database` is a PostgreSQL URL (several nodes may share it) rather than a file."""
    return str(database).startswith(("postgresql://", "postgres://"))


async def in_thread(fn: Callable[[], T], *, name: str) -> T:
    """`fn()` in a daemon thread of its own, awaited on the loop. Not the default executor:
    asyncio.run waits for that at exit, and a stop must not wait for a long compile."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not done.done():
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

    def run() -> None:
        outcome: tuple[bool, object]
        try:
            outcome = (True, fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await done
