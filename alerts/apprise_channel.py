"""The Apprise channel: any service Apprise knows (Slack, Discord, Matrix, ntfy, …) as a destination.

An optional extra (`pip install 'raqib[apprise]'`): `apprise` is imported when the
channel is built, so Raqib without it works and says what to install when the config
asks for it.

Rules:
- Destinations are Apprise URLs or names from `channels.apprise.urls` (the names keep
  tokens, which Apprise URLs carry, out of watchlist files). Every URL is checked with
  Apprise when the config or a watchlist is loaded: an unknown scheme is a config error.
- Messages are plain text (feed text cannot inject markup into any service): title
  `WATCHLIST: TITLE`, body with outlet, time, link and matched terms. A digest is one
  notification grouped by watchlist, event and cluster with counts; an empty one is not sent.
- Apprise answers only success or failure, so every failure is temporary and the outbox
  retries it with backoff; after `max_attempts` (optional) it is permanent.
- Logs name the service scheme only, never the URL.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar

from monitor.display import display_url, one_line
from monitor.errors import ConfigError, DeliveryError
from monitor.models import Alert

from .channel import DELIVERY_OPTIONS, ENABLED, MAX_ATTEMPTS, Channel, ChannelOption
from .email import counts
from .render import group_alerts, lead, plain_lines

if TYPE_CHECKING:
    from monitor.config import Section
    from monitor.store import Store

log = logging.getLogger(__name__)

URL_KEYS = {"url", "mode", "quiet", "tz"}


def _apprise() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # apprise's plugins import the deprecated stdlib imghdr (a shim of theirs) when
            # they load, lazily on first use: load them now, once, with that warning silenced
            warnings.simplefilter("ignore", DeprecationWarning)
            import apprise
            apprise.Apprise.instantiate("json://localhost")
    except ImportError as exc:  # the optional extra is missing
        raise ConfigError("channel 'apprise' needs the apprise package",
                          hint="pip install 'raqib[apprise]'") from exc
    return apprise


class AppriseChannel(Channel):
    name: ClassVar[str] = "apprise"
    concurrency: ClassVar[int] = 4

    options: ClassVar[tuple[ChannelOption, ...]] = (
        ENABLED,
        ChannelOption("urls", "mapping", {}),  # name → Apprise URL or {url, mode, quiet, tz}
        ChannelOption("timeout", "duration", 30.0),
        MAX_ATTEMPTS,
        *DELIVERY_OPTIONS,
    )
    destination_table: ClassVar[str] = "urls"

    def __init__(self, section: Section, store: Store | None = None) -> None:
        self.apprise = _apprise()
        super().__init__(section, store)

    def configure(self) -> None:
        section = self.section
        self.timeout = self.values["timeout"]
        self.max_attempts = self.values["max_attempts"]
        for name, spec in self.values["urls"].items():
            spec = {"url": spec} if isinstance(spec, str) else spec
            if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
                raise section.error(f"channels.apprise.urls.{name}: expected an Apprise URL or {{url, mode}}", "urls")
            bad = set(spec) - URL_KEYS
            if bad:
                raise section.error(f"channels.apprise.urls.{name}: unknown key {sorted(bad)[0]!r} "
                                    f"(known: {', '.join(sorted(URL_KEYS))})", "urls")
            if not self._valid(spec["url"]):
                raise section.error(f"channels.apprise.urls.{name}: Apprise does not understand this URL "
                                    f"(scheme {_scheme(spec['url'])!r})", "urls")
            self.named[str(name)] = dict(spec)
        self.urls = self.named

    def __repr__(self) -> str:
        return f"<AppriseChannel urls={sorted(self.urls)}>"

    def _valid(self, url: str) -> bool:
        return self.apprise.Apprise.instantiate(url) is not None

    def check_destination(self, dest: str) -> None:
        if dest not in self.urls and not self._valid(dest):
            known = ", ".join(sorted(self.urls)) or "none configured"
            raise ConfigError(f"notify.apprise: {_scheme(dest)!r} is neither a URL Apprise understands nor "
                              f"a name of channels.apprise.urls (known: {known})")

    async def send(self, alert: Alert) -> str | None:
        title = f"{one_line(alert.watchlist_title or alert.watchlist)}: {lead(one_line(alert.title), 200)}"
        await self._notify(alert.destination, title, alert_text(alert), [alert])
        return None

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        if not alerts:
            return None  # an empty digest is never sent
        await self._notify(destination, f"رقيب — موجز ({counts(alerts=len(alerts))})", digest_text(alerts), alerts)
        return None

    async def _notify(self, destination: str, title: str, body: str, alerts: Sequence[Alert]) -> None:
        url = self.urls.get(destination, {}).get("url", destination)
        notifier = self.apprise.Apprise()
        if not notifier.add(url):
            raise DeliveryError(f"Apprise does not understand the URL (scheme {_scheme(url)!r})",
                                channel=self.name, destination=destination, permanent=True)
        result = await notifier.async_notify(body=body, title=title, body_format=self.apprise.NotifyFormat.TEXT,
                                             timeout=self.timeout)
        if result:
            log.debug("apprise delivered scheme=%s", _scheme(url))
            return
        attempt = max(a.attempts for a in alerts) + 1
        reason = f"Apprise {_scheme(url)} notification failed ({getattr(result, 'status', 'failure')!s})"
        if self.max_attempts is not None and attempt >= self.max_attempts:
            raise DeliveryError(f"gave up after {attempt} attempts: {reason}", channel=self.name,
                                destination=destination, permanent=True)
        raise DeliveryError(reason, channel=self.name, destination=destination)


def alert_text(alert: Alert) -> str:
    return "\n".join(plain_lines(alert, 400))


def digest_text(alerts: Sequence[Alert]) -> str:
    lines: list[str] = []
    for (_, title), events in group_alerts(alerts):
        count = sum(len(members) for clusters in events for members in clusters)
        stories = sum(len(clusters) for clusters in events)
        lines.append(f"{one_line(title)} ({counts(alerts=count, stories=stories)})")
        for clusters in events:
            for i, members in enumerate(clusters):  # an event's later clusters indented under its first
                first = members[0]
                indent = "   " if i else ""
                suffix = f" ({counts(alerts=len(members))})" if len(members) > 1 else ""
                lines.append(f"{indent}{'↳' if i else '-'} {one_line(first.title)}{suffix}")
                if first.url:
                    lines.append(f"{indent}  {display_url(first.url)}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _scheme(url: str) -> str:
    return url.partition("://")[0] if "://" in url else "?"
