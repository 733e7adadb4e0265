"""The email channel: one message per alert (or per digest) to one address, over SMTP.

Rules:
- Destinations are e-mail addresses, named in a watchlist's `notify: {email: [...]}`.
  Every outbox row is one address, so a rejected address fails only its own row.
- Transport is aiosmtplib. `security`: `starttls` (default, port 587, the upgrade is
  required, not opportunistic), `tls` (implicit TLS, port 465) or `none` (port 25,
  loopback relays only). Certificates are verified; `ca_file` adds a private CA.
- The password comes from, in order: `password` in the config (usually `${VAR}`), the
  environment variable `RAQIB_SMTP_PASSWORD`, or the file `smtp_password` in
  `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`). It is never logged or shown in
  `repr`.
- A deliverer batch (`session()`) shares one SMTP connection; a connection that drops
  mid-batch is reopened once per message. When the server cannot be reached the rest
  of the batch fails fast with the same (temporary) error instead of waiting again.
- Errors: a 5xx answer to RCPT or DATA (address unknown, message refused) is permanent
  for that row; 4xx answers, refused connections, timeouts and drops are temporary (the
  outbox retries with backoff). A failed login is temporary too: fixing the password and
  restarting must not leave alerts dead.
- Messages are multipart/alternative: plain text first, then HTML with `dir="rtl"` and
  `lang="ar"`; matched words are wrapped in `<mark>` (in plain text, snippets put them
  between «»); each matched term says where it was found («في نص الخبر، الفقرة 7»); under
  the title comes the lead whole, or in place of a cut lead the sentence around each name
  (`alerts.render.under_title`, `LEAD_CHARS`); every piece of feed text goes
  through `html.escape` after `monitor.display.visible` (bidi overrides and invisible
  controls removed, in the subject too); only http(s) links become anchors. The subject (Arabic) is
  RFC 2047 encoded by the standard library's `email.header.Header`, which keeps every
  space (the default policy's folder loses some on Python 3.11, see `_EncodedHeader`). Headers: From, To,
  Subject, Date, Message-ID (domain of the From address), List-Unsubscribe (config
  `unsubscribe`, `{address}` is replaced by the URL-encoded recipient; default a mailto:
  to the From address) and `Auto-Submitted: auto-generated` (RFC 3834, so vacation
  responders stay quiet).
- Threads: messages of one event share a thread. `send` returns the message's
  Message-ID, which the outbox keeps as the alert's reference; a later story of the same
  event (`send_related`, another outlet's own words) carries `In-Reply-To` and
  `References` naming the event's first message, and that message's subject after "Re: "
  (clients that thread by subject too, like Gmail, group it then); its body opens with
  "تغطية ذات صلة" and its outlet, then its own title, link and lead.
- A digest groups alerts by watchlist, then by event, then by cluster (one entry per
  story cluster with the number of alerts it caused and the outlets that carried it; an
  event's later clusters are listed under its first), with counts in the subject and
  headings. An empty digest is never sent.
- Per-destination delivery mode: `digest` gives the default (`instant`, `hourly`,
  `daily@HH:MM`), `recipients.<address>` overrides `mode`, `quiet` and `tz` for one
  address; `destination_defaults(address)` returns these for the daemon to overlay with
  the `destinations` table.
"""
from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

import aiosmtplib

from monitor.display import display_url, one_line, visible
from monitor.errors import ConfigError, DeliveryError
from monitor.models import Alert

from .channel import DELIVERY_OPTIONS, ENABLED, Channel, ChannelOption
from .plurals import count
from .render import (
    bounded,
    group_alerts,
    heading,
    highlight,
    lead,
    marked,
    outlet,
    outlets,
    places,
    plain_lines,
    safe_url,
    under_title,
    when,
)

if TYPE_CHECKING:
    from monitor.config import Section
    from monitor.store import Store

log = logging.getLogger(__name__)

SECURITY = {"starttls": 587, "tls": 465, "none": 25}
RECIPIENT_KEYS = {"mode", "quiet", "tz", "related"}
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")

KIND_LABEL = {"spread": "ينتشر", "update": "تحديث", "health": "حالة المصادر"}
RELATED_LABEL = "تغطية ذات صلة"
_MSGID = re.compile(r"^<[^<>\s]{1,900}>$")


class EmailChannel(Channel):
    name: ClassVar[str] = "email"
    concurrency: ClassVar[int] = 1  # one SMTP connection per batch; messages go one after another

    options: ClassVar[tuple[ChannelOption, ...]] = (
        ENABLED,
        ChannelOption("host", "text", required=True, help="the SMTP server"),
        ChannelOption("port", "int", low=1, high=65535),  # default by security: 587, 465 or 25
        ChannelOption("security", "text", "starttls", choices=tuple(SECURITY)),
        ChannelOption("username", "text"),
        ChannelOption("password", "text", secret=True),  # else RAQIB_SMTP_PASSWORD or the credential smtp_password
        ChannelOption("from", "text", required=True, help='an address like "Raqib <raqib@example.org>"'),
        ChannelOption("timeout", "duration", 30.0),
        *DELIVERY_OPTIONS,
        ChannelOption("recipients", "mapping", {}),  # address → {mode, quiet, tz}
        ChannelOption("unsubscribe", "text"),  # default: mailto:<from>?subject=unsubscribe
        ChannelOption("ca_file", "text"),
        ChannelOption("local_hostname", "text"),
        ChannelOption("subject_prefix", "text", "رقيب"),
    )
    destination_table: ClassVar[str] = "recipients"

    def __init__(self, section: Section, store: Store | None = None) -> None:
        self._smtp: aiosmtplib.SMTP | None = None
        self._batch = 0
        self._batch_error: DeliveryError | None = None
        self._lock = asyncio.Lock()
        super().__init__(section, store)

    def configure(self) -> None:
        section, values = self.section, self.values
        self.host = values["host"]
        if not self.host.strip():
            raise section.error("channels.email: `host` (the SMTP server) is required", "host")
        self.security = values["security"]
        self.port = values["port"] if values["port"] is not None else SECURITY[self.security]
        sender = values["from"]
        if not _ADDRESS.match(parseaddr(sender)[1] or ""):
            raise section.error('channels.email: `from` must be an address like "Raqib <raqib@example.org>"',
                                "from")
        self.sender = sender
        self.sender_address = parseaddr(sender)[1]
        self.domain = self.sender_address.rpartition("@")[2]
        self.username = values["username"]
        self._password = _password(section)
        if self.username and not self._password:
            raise section.error("channels.email: a username is set but no password: set `password`, "
                                "RAQIB_SMTP_PASSWORD or the systemd credential smtp_password", "username")
        self.timeout = values["timeout"]
        self.local_hostname = values["local_hostname"]
        self.subject_prefix = values["subject_prefix"]
        self.unsubscribe = values["unsubscribe"] or f"mailto:{self.sender_address}?subject=unsubscribe"
        if not re.match(r"^(mailto:|https://)", str(self.unsubscribe)):
            raise section.error("channels.email.unsubscribe: expected a mailto: or https:// URL", "unsubscribe")
        ca_file = values["ca_file"]
        if ca_file is not None and not Path(ca_file).is_file():
            raise section.error(f"channels.email.ca_file: no such file {ca_file!r}", "ca_file")
        self.ca_file = ca_file or None
        for address, settings in values["recipients"].items():
            settings = settings or {}
            if not _ADDRESS.match(str(address)) or not isinstance(settings, dict):
                raise section.error(f"channels.email.recipients: {address!r} must be an address mapped to "
                                    "{mode, quiet, tz}", "recipients")
            bad = set(settings) - RECIPIENT_KEYS
            if bad:
                raise section.error(f"channels.email.recipients.{address}: unknown key {sorted(bad)[0]!r} "
                                    f"(known: {', '.join(sorted(RECIPIENT_KEYS))})", "recipients")
            self.named[str(address).lower()] = dict(settings)
        self.recipients = self.named

    def __repr__(self) -> str:
        return f"<EmailChannel {self.host}:{self.port} {self.security} user={self.username or '-'} password=***>"

    # -- configuration seen by the daemon ----------------------------------------------

    def check_destination(self, address: str) -> None:
        if not _ADDRESS.match(address):
            raise ConfigError(f"notify.email: {address!r} is not an e-mail address")

    def named_key(self, destination: str) -> str:
        return destination.lower()

    # -- connection ---------------------------------------------------------------------

    def _client(self) -> aiosmtplib.SMTP:
        context = None
        if self.security != "none":
            context = ssl.create_default_context(cafile=self.ca_file)
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, username=self.username or None,
            password=self._password if self.username else None, timeout=self.timeout,
            use_tls=self.security == "tls", start_tls=self.security == "starttls",
            tls_context=context, local_hostname=self.local_hostname)

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        if self._batch_error is not None:
            raise self._batch_error
        smtp = self._client()
        try:
            await smtp.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            err = DeliveryError(f"SMTP login refused: {exc.code} {exc.message}", channel=self.name,
                                hint="check channels.email username and password")
        except aiosmtplib.SMTPResponseException as exc:
            err = DeliveryError(f"SMTP server refused the connection: {exc.code} {exc.message}", channel=self.name)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            err = DeliveryError(f"cannot reach SMTP server {self.host}:{self.port}: {type(exc).__name__}: {exc}",
                                channel=self.name)
        else:
            self._smtp = smtp
            log.debug("smtp connected host=%s port=%d security=%s", self.host, self.port, self.security)
            return smtp
        log.warning("smtp connection failed host=%s port=%d error=%s", self.host, self.port, err.message)
        if self._batch:
            self._batch_error = err
        raise err

    async def _disconnect(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            smtp.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """One SMTP connection for every message of the deliverer's batch."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if self._batch == 0:
                self._batch_error = None
                await self._disconnect()

    async def close(self) -> None:
        await self._disconnect()

    # -- sending --------------------------------------------------------------------------

    async def send(self, alert: Alert) -> str | None:
        return await self._deliver(alert.destination, lambda: self.build_message(alert))

    async def send_related(self, alert: Alert, ref: str, *, head: Alert | None = None) -> str | None:
        return await self._deliver(alert.destination, lambda: self.build_message(alert, thread=ref, head=head))

    async def send_digest(self, destination: str, alerts: Sequence[Alert]) -> str | None:
        if not alerts:
            return None  # an empty digest is never sent
        return await self._deliver(destination, lambda: self.build_digest(destination, alerts))

    async def _deliver(self, recipient: str, build: Callable[[], EmailMessage]) -> str:
        try:
            msg = build()
        except (ValueError, HeaderParseError) as exc:  # an address no server would take
            raise DeliveryError(f"not a valid e-mail address: {exc}", channel=self.name,
                                destination=recipient, permanent=True) from exc
        async with self._lock:
            try:
                await self._transmit(msg, recipient)
            finally:
                if not self._batch:
                    await self._disconnect()
        return str(msg["Message-ID"])

    async def _transmit(self, msg: EmailMessage, recipient: str) -> None:
        for attempt in (1, 2):
            smtp = await self._connect()
            try:
                await smtp.send_message(msg, sender=self.sender_address, recipients=[recipient])
                return
            except aiosmtplib.SMTPServerDisconnected as exc:
                # the server dropped an idle or busy connection: reopen once
                await self._disconnect()
                if attempt == 2:
                    raise DeliveryError(f"SMTP connection dropped: {exc}", channel=self.name,
                                        destination=recipient) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0]
                raise DeliveryError(f"SMTP refused the address: {refused.code} {refused.message}",
                                    channel=self.name, destination=recipient,
                                    permanent=refused.code >= 500) from exc
            except aiosmtplib.SMTPSenderRefused as exc:
                # about our From, not this alert: waiting for a config fix beats killing every row
                raise DeliveryError(f"SMTP refused the sender: {exc.code} {exc.message}", channel=self.name,
                                    destination=recipient, hint="check channels.email.from") from exc
            except aiosmtplib.SMTPResponseException as exc:
                raise DeliveryError(f"SMTP refused the message: {exc.code} {exc.message}",
                                    channel=self.name, destination=recipient,
                                    permanent=exc.code >= 500) from exc
            except aiosmtplib.SMTPNotSupported as exc:  # e.g. a non-ASCII address without SMTPUTF8
                raise DeliveryError(f"SMTP server cannot take this message: {exc}", channel=self.name,
                                    destination=recipient, permanent=True) from exc
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                await self._disconnect()
                raise DeliveryError(f"SMTP send failed: {type(exc).__name__}: {exc}", channel=self.name,
                                    destination=recipient) from exc

    # -- building messages ----------------------------------------------------------------

    def _envelope(self, to: str, subject: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = Address(addr_spec=to)
        msg["Subject"] = _EncodedHeader("Subject", subject)
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(idstring="raqib", domain=self.domain)
        msg["List-Unsubscribe"] = f"<{self.unsubscribe.replace('{address}', quote(to, safe=''))}>"
        msg["Auto-Submitted"] = "auto-generated"
        return msg

    def subject(self, alert: Alert) -> str:
        label = RELATED_LABEL if alert.related == "reply" else KIND_LABEL.get(alert.kind)
        title = lead(one_line(alert.title), 120)
        parts = [self.subject_prefix, one_line(heading(alert), 120)]
        if label:
            parts.append(label)
        return " — ".join(p for p in parts if p) + ": " + title

    def build_message(self, alert: Alert, *, thread: str | None = None, head: Alert | None = None) -> EmailMessage:
        """One alert; `thread` the Message-ID of its event's first message (`head`), if any."""
        alert = bounded(alert)
        threaded = bool(thread and _MSGID.match(thread))
        subject = "Re: " + self.subject(head) if threaded and head is not None else self.subject(alert)
        msg = self._envelope(alert.destination, subject)
        if threaded:
            msg["In-Reply-To"] = thread
            msg["References"] = thread
        text, body = _alert_text(alert), _alert_html(alert)
        if alert.related == "reply":  # another outlet's own words on the event of the thread
            opening = " · ".join(one_line(p) for p in (RELATED_LABEL, outlet(alert)) if p)
            text, body = f"{opening}\n\n{text}", f'<p class="related">{html.escape(opening)}</p>\n{body}'
        msg.set_content(text + _footer_text(self.unsubscribe), cte="8bit")
        msg.add_alternative(_page(f"{html.escape(one_line(heading(alert)))}", body,
                                  self.unsubscribe), subtype="html", cte="8bit")
        msg["Content-Language"] = "ar"  # after the body: set_content drops Content-* headers
        return msg

    def build_digest(self, destination: str, alerts: Sequence[Alert]) -> EmailMessage:
        groups = group_alerts(alerts)
        stories = sum(len(clusters) for _, events in groups for clusters in events)
        subject = f"{self.subject_prefix} — موجز ({counts(alerts=len(alerts), stories=stories)})"
        msg = self._envelope(destination, subject)
        total = counts(alerts=len(alerts), stories=stories, watchlists=len(groups))
        text: list[str] = [f"موجز رقيب — {total}", ""]
        blocks: list[str] = [f"<h1>موجز رقيب</h1>\n<p>{total}</p>"]
        for (_name, title), events in groups:
            title = one_line(title)
            count = sum(len(members) for clusters in events for members in clusters)
            tally = counts(alerts=count, stories=sum(len(clusters) for clusters in events))
            text.append(f"== {title} ({tally}) ==")
            blocks.append(f"<h2>{html.escape(title)} <small>({tally})</small></h2><ol>")
            for clusters in events:
                items: list[str] = []
                for i, members in enumerate(clusters):
                    first = members[0]
                    outlets = _outlets(members)
                    entry = _alert_text(first, compact=True)
                    if i:  # related coverage of the event's first story, indented under it
                        entry = "\n".join("   " + line for line in entry.splitlines())
                        if i == 1:
                            text.append(f"   {RELATED_LABEL}:")
                    text.append(entry)
                    extra = ""
                    if len(members) > 1 or len(outlets) > 1:
                        tally_line = counts(alerts=len(members), outlets=len(outlets))
                        text.append(f"{'   ' if i else ''}   {tally_line} ({'، '.join(outlets)})")
                        extra = f'<p class="count">{tally_line} ({html.escape("، ".join(outlets))})</p>'
                    items.append(f"{_alert_html(first, compact=True)}{extra}")
                text.append("")
                related = ""
                if len(items) > 1:
                    related = (f'<p class="related">{html.escape(RELATED_LABEL)}:</p><ul>'
                               + "".join(f"<li>{item}</li>" for item in items[1:]) + "</ul>")
                blocks.append(f"<li>{items[0]}{related}</li>")
            blocks.append("</ol>")
        msg.set_content("\n".join(text) + _footer_text(self.unsubscribe), cte="8bit")
        msg.add_alternative(_page(html.escape(subject), "\n".join(blocks), self.unsubscribe),
                            subtype="html", cte="8bit")
        msg["Content-Language"] = "ar"
        return msg


LEAD_CHARS = 600  # a lead longer than this is cut, or replaced by the sentences around the names
COUNT_LABELS = {"alerts": "التنبيهات", "stories": "الأخبار", "outlets": "المصادر", "watchlists": "قوائم الرصد"}


def counts(**numbers: int) -> str:
    """`التنبيهات: 4، الأخبار: 3`: label-and-number, which needs no Arabic number agreement."""
    return "، ".join(f"{COUNT_LABELS[k]}: {v}" for k, v in numbers.items())


class _EncodedHeader(str):
    """A header the standard library's `Header` encodes, not the default policy's folder.

    Python before the fix of CPython gh-144156 drops the space at a fold between two
    encoded words, so long Arabic subjects lost spaces ("التنبيهات: 4" arrived as
    "التنبيهات:4"). `Header.encode` keeps every space inside the encoded words. The
    policy hands any header value with a `name` to its own `fold`.
    """

    name: str

    def __new__(cls, name: str, value: str) -> _EncodedHeader:
        self = super().__new__(cls, value)
        self.name = name
        return self

    def fold(self, *, policy: Policy) -> str:
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


def _outlets(alerts: Sequence[Alert]) -> list[str]:
    out: list[str] = []
    for alert in alerts:
        for name in outlets(alert, (alert.source, *alert.sources)):
            name = one_line(name)
            if name and name not in out:
                out.append(name)
    return out


def _alert_text(alert: Alert, *, compact: bool = False) -> str:
    alert = bounded(alert)
    title = one_line(alert.title)
    if not compact:
        return "\n".join([title, *plain_lines(alert, LEAD_CHARS)])
    lines = ["- " + title, "  " + " · ".join(one_line(m) for m in (outlet(alert), when(alert)) if m)]
    if alert.url:
        lines.append("  " + display_url(alert.url))
    return "\n".join(lines)


def _footer_text(unsubscribe: str) -> str:
    return f"\n\n--\nرقيب · لإيقاف هذه الرسائل: {unsubscribe}\n"


def _escape(text: str) -> str:
    return html.escape(visible(text))


def _mark(text: str, alert: Alert, field: str) -> str:
    return highlight(text, alert.matches, field, open_="<mark>", close="</mark>", escape=_escape)


def _alert_html(alert: Alert, *, compact: bool = False) -> str:
    alert = bounded(alert)
    title = _mark(alert.title, alert, "title")
    url = safe_url(alert.url)
    if url:
        title = f'<a href="{html.escape(url, quote=True)}">{title}</a>'
    tag = "strong" if compact else "h1"
    parts = [f"<{tag}>{title}</{tag}>"]
    meta = " · ".join(html.escape(one_line(m)) for m in (outlet(alert), when(alert)) if m)
    if meta:
        parts.append(f'<p class="meta">{meta}</p>')
    if not compact:
        if alert.matches and alert.kind != "health":
            parts.append("<p>الكلمات المطابقة: " + "، ".join(f"<mark>{_escape(t)}</mark> ({_escape(at)})"
                                                          for t, at in places(alert)) + "</p>")
        if alert.kind == "spread" and alert.sources:
            named = "، ".join(outlets(alert, alert.sources))
            parts.append(f"<p>نشرته {count(len(alert.sources), 'outlet')}: {_escape(named)}</p>")
        shown, snips = under_title(alert.summary, alert.snippets, LEAD_CHARS)
        if shown == "whole":
            parts.append(f"<p>{_mark(alert.summary, alert, 'summary')}</p>")
        elif shown:  # highlight offsets refer to the whole text: a cut lead is escaped plainly
            parts.append(f"<p>{_escape(lead(alert.summary, LEAD_CHARS))}</p>")
        for sn in snips:
            parts.append(f'<p class="snippet">{marked(sn, open_="<mark>", close="</mark>", escape=_escape)}</p>')
    return "\n".join(parts)


def _page(title: str, body: str, unsubscribe: str) -> str:
    link = html.escape(unsubscribe, quote=True)
    return (
        '<!DOCTYPE html>\n<html dir="rtl" lang="ar">\n<head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n"
        '<body dir="rtl" lang="ar" style="font-family: Tahoma, Arial, sans-serif; text-align: right;">\n'
        f"{body}\n"
        f'<hr><p style="font-size: small; color: #666;">رقيب · <a href="{link}">إيقاف هذه الرسائل</a></p>\n'
        "</body>\n</html>\n"
    )


def _password(section: Section) -> str | None:
    value = section.get("password")
    if value:
        return str(value)
    value = os.environ.get("RAQIB_SMTP_PASSWORD")
    if value:
        return value
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        path = Path(creds) / "smtp_password"
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise section.error(f"channels.email: cannot read the credential {path}: {exc}", "password") from exc
    return None
