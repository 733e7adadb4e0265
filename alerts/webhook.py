"""The webhook channel: each alert (or digest) is one signed JSON POST to a URL.

Rules:
- Destinations are http(s) URLs or the names of `endpoints` in the config (a name keeps
  a URL that carries a token out of watchlist files and gives it its own secret).
- Targets must be public addresses (the rule of `monitor.urls`), so a watchlist file
  cannot aim Raqib at the local network or a cloud metadata address: an endpoint whose
  URL is a private address literal or a local name is a config error; `raqib check` also
  resolves the names that watchlists notify; and at send time the connection goes only
  to checked public addresses (`monitor.guard`, no DNS rebinding), a refusal being a
  permanent failure. `allow_private: true` on the channel lets it reach private
  addresses (a receiver on the same host or network).
- The body is UTF-8 JSON (schema in README_channels.md): `type` "alert" or "digest",
  `version` 1, `sent_at` (epoch seconds) and the alert(s). `alert_id` is the outbox row
  and stays the same across retries, so receivers can drop repeats (delivery is
  at-least-once).
- Signing: with a secret, `X-Raqib-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
  and `X-Raqib-Timestamp: <sent_at>`. The timestamp is inside the signed body too, so a
  receiver that checks both the signature and the age refuses replays.
- Answers: 2xx is delivered. 408, 429 and 5xx, timeouts and network errors are retried
  by the outbox with backoff; `Retry-After` (seconds or an HTTP date) is honoured on 429
  and 503. Redirects are not followed and, like every other 4xx, fail permanently: the
  URL or the receiver must be fixed, and `raqib outbox retry` sends the dead rows again.
- `max_attempts` (optional) makes the Nth failed attempt permanent, so a receiver that
  stays down shows up as dead rows with their last reason in `raqib status`.
- Logs show only the scheme and host of a URL (webhook URLs often carry tokens); the
  secret never appears in logs or `repr`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from monitor.errors import ConfigError, DeliveryError
from monitor.guard import BlockedAddress, PublicOnlyTransport
from monitor.models import Alert
from monitor.urls import private_target

from .channel import DELIVERY_OPTIONS, ENABLED, MAX_ATTEMPTS, Channel, ChannelOption
from .render import outlet, outlets, when
from .secrets import mask_destination

if TYPE_CHECKING:
    from monitor.config import Section
    from monitor.store import Store

log = logging.getLogger(__name__)

ENDPOINT_KEYS = {"url", "secret", "mode", "quiet", "tz"}
_URL = re.compile(r"^https?://[^/\s]+", re.I)
USER_AGENT = "raqib-webhook/1"
SCHEMA_VERSION = 1
MAX_RETRY_AFTER = 86400.0


class WebhookChannel(Channel):
    name: ClassVar[str] = "webhook"
    concurrency: ClassVar[int] = 4

    options: ClassVar[tuple[ChannelOption, ...]] = (
        ENABLED,
        ChannelOption("secret", "text", secret=True),  # signs every request; ≥ 16 characters
        ChannelOption("timeout", "duration", 10.0),
        ChannelOption("allow_private", "bool", False),
        MAX_ATTEMPTS,
        *DELIVERY_OPTIONS,
        ChannelOption("endpoints", "mapping", {}),  # name → URL or {url, secret, mode, quiet, tz}
    )
    destination_table: ClassVar[str] = "endpoints"

    def __init__(self, section: Section, store: Store | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        super().__init__(section, store)

    def configure(self) -> None:
        section = self.section
        secret = self.values["secret"]
        if secret is not None and len(secret) < 16:
            raise section.error("channels.webhook.secret: use a random string of at least 16 characters", "secret")
        self._secret = secret
        self.allow_private = self.values["allow_private"]
        self.timeout = self.values["timeout"]
        self.max_attempts = self.values["max_attempts"]
        for name, spec in self.values["endpoints"].items():
            spec = {"url": spec} if isinstance(spec, str) else spec
            if not isinstance(spec, dict) or not _URL.match(str(spec.get("url", ""))):
                raise section.error(f"channels.webhook.endpoints.{name}: expected an http(s) URL or "
                                    "{url, secret, mode}", "endpoints")
            bad = set(spec) - ENDPOINT_KEYS
            if bad:
                raise section.error(f"channels.webhook.endpoints.{name}: unknown key {sorted(bad)[0]!r} "
                                    f"(known: {', '.join(sorted(ENDPOINT_KEYS))})", "endpoints")
            problem = None if self.allow_private else private_target(str(spec["url"]), resolve=False)
            if problem:
                raise section.error(f"channels.webhook.endpoints.{name}: {problem} "
                                    "(allow_private: true under channels.webhook allows it)", "endpoints")
            if "secret" in spec and (not isinstance(spec["secret"], str) or len(spec["secret"]) < 16):
                raise section.error(f"channels.webhook.endpoints.{name}.secret: use a random string of at "
                                    "least 16 characters", "endpoints")
            self.named[str(name)] = dict(spec)
        self.endpoints = self.named

    def __repr__(self) -> str:
        return f"<WebhookChannel endpoints={sorted(self.endpoints)} secret={'***' if self._secret else 'none'}>"

    # -- configuration seen by the daemon ----------------------------------------------

    def check_destination(self, dest: str) -> None:
        """Each destination a watchlist names, checked as `raqib check` does: it must be
        an endpoint or an http(s) URL, and (unless allow_private) reach a public address,
        names resolved."""
        if dest not in self.endpoints and not _URL.match(dest):
            known = ", ".join(sorted(self.endpoints)) or "none configured"
            raise ConfigError(f"notify.webhook: {dest!r} is neither an http(s) URL nor an endpoint "
                              f"of channels.webhook.endpoints (known: {known})")
        problem = None if self.allow_private else private_target(self.endpoints.get(dest, {}).get("url", dest))
        if problem:
            raise ConfigError(f"notify.webhook: {problem}",
                              hint="webhooks go to public addresses only; allow_private: true under "
                                   "channels.webhook allows private ones")

    # -- lifecycle ----------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            transport = self._transport
            if transport is None and not self.allow_private:
                transport = PublicOnlyTransport()
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), follow_redirects=False, transport=transport,
                headers={"User-Agent": USER_AGENT})
        return self._client

    async def start(self) -> None:
        self._http()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- sending --------------------------------------------------------------------------

    async def send(self, alert: Alert) -> str | None:
        return await self._post(alert.destination, "alert", alert_json(alert), [alert])

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        if not alerts:
            return None  # an empty digest is never sent
        fields = {"count": len(alerts), "alerts": [alert_json(a) for a in alerts]}
        return await self._post(destination, "digest", fields, alerts)

    def _target(self, destination: str) -> tuple[str, str | None]:
        spec = self.endpoints.get(destination)
        if spec is not None:
            return spec["url"], spec.get("secret", self._secret)
        if not _URL.match(destination):
            raise DeliveryError(f"unknown webhook endpoint {destination!r}", channel=self.name,
                                destination=destination, permanent=True,
                                hint="name it under channels.webhook.endpoints or use a URL")
        return destination, self._secret

    async def _post(self, destination: str, kind: str, fields: Mapping[str, object],
                    alerts: Sequence[Alert]) -> str | None:
        url, secret = self._target(destination)
        sent_at = int(time.time())
        raw = json.dumps({"type": kind, "version": SCHEMA_VERSION, "sent_at": sent_at, **fields},
                         ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Raqib-Event": kind,
                   "X-Raqib-Delivery": ",".join(str(a.id) for a in alerts)}
        if secret:
            headers["X-Raqib-Timestamp"] = str(sent_at)
            headers["X-Raqib-Signature"] = "sha256=" + sign(secret, raw)
        attempt = max(a.attempts for a in alerts) + 1
        try:
            response = await self._http().post(url, content=raw, headers=headers)
        except BlockedAddress as exc:
            raise DeliveryError(f"refused: {exc}", channel=self.name, destination=destination, permanent=True,
                                hint="webhooks go to public addresses only; allow_private: true under "
                                     "channels.webhook allows private ones") from exc
        except httpx.TimeoutException as exc:
            raise self._error(f"timed out after {self.timeout:g}s ({type(exc).__name__})", destination,
                              attempt) from exc
        except httpx.HTTPError as exc:
            raise self._error(f"network error: {type(exc).__name__}: {exc}", destination, attempt) from exc
        status = response.status_code
        if 200 <= status < 300:
            log.debug("webhook delivered host=%s status=%d", mask_destination(url), status)
            return response.headers.get("X-Request-Id")
        reason = f"HTTP {status}"
        snippet = " ".join(response.text[:200].split())
        if snippet:
            reason += f": {snippet}"
        if 300 <= status < 400:
            raise DeliveryError(f"{reason} (redirects are not followed)", channel=self.name, destination=destination,
                                permanent=True, hint=f"update the URL to {response.headers.get('Location', '?')}")
        if status in (408, 429) or status >= 500:
            raise self._error(reason, destination, attempt,
                              retry_after=retry_after(response.headers.get("Retry-After")))
        raise DeliveryError(reason, channel=self.name, destination=destination, permanent=True)

    def _error(self, reason: str, destination: str, attempt: int, retry_after: float | None = None) -> DeliveryError:
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return DeliveryError(f"gave up after {attempt} attempts: {reason}", channel=self.name,
                                 destination=destination, permanent=True)
        return DeliveryError(reason, channel=self.name, destination=destination, retry_after=retry_after)


def alert_json(alert: Alert) -> dict[str, Any]:
    """One alert as the webhook schema has it (README, "Webhooks"). Each match says its
    field ("title", "summary" or "body"), its paragraph in the body (0 elsewhere) and the
    snippet of its term: the sentence around the term's first hit (`monitor.snippet`; ""
    for a row written before snippets); `snippets` has them with their marks."""
    snippet_of = {sn["term"]: sn["text"] for sn in alert.snippets}
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "watchlist": {"name": alert.watchlist, "title": alert.watchlist_title},
        "story": {"id": alert.story_id, "title": alert.title, "url": alert.url, "summary": alert.summary,
                  "source": alert.source, "outlet": outlet(alert), "published": alert.published,
                  "time": when(alert)},
        "cluster": {"id": alert.cluster, "sources": list(alert.sources), "outlets": outlets(alert, alert.sources)},
        "event": alert.cluster if alert.event is None else alert.event,
        "matches": [{"term": m.term, "field": m.field, "start": m.start, "end": m.end, "paragraph": m.paragraph,
                     "snippet": snippet_of.get(m.term, "")} for m in alert.matches],
        "snippets": [{"term": sn["term"], "field": sn["field"], "paragraph": sn["paragraph"], "text": sn["text"],
                      "marks": [list(mark) for mark in sn["marks"]]} for sn in alert.snippets],
    }


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the raw body: what `X-Raqib-Signature: sha256=…` carries."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature_header: str, timestamp_header: str, *,
           now: float | None = None, tolerance: float = 300.0) -> bool:
    """A receiver's check (also documented): signature matches and the message is fresh."""
    expected = "sha256=" + sign(secret, body)
    if not hmac.compare_digest(expected, signature_header or ""):
        return False
    try:
        stamp = int(timestamp_header)
        sent_at = json.loads(body).get("sent_at")
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    return sent_at == stamp and abs(now - stamp) <= tolerance


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER))

