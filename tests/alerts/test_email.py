"""Email channel against a real SMTP server (aiosmtpd on 127.0.0.1), through Store + Deliverer."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.email import EmailChannel
from alerts.outbox import Deliverer
from alerts.policy import policy_from_settings
from alerts.render import alert_payload
from monitor.config import FeedConfig, Section
from monitor.errors import ConfigError
from monitor.models import Alert, Match
from monitor.settings import DeliverySettings
from monitor.store import Store
from tests.support import sql

NOW = 1_760_000_000.0
TITLE = "وزير الطاقة السعودي يعلن <script>alert(1)</script> خطة أرامكو"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps what it accepted; answers chosen codes for chosen recipients."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = answers or {}
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.raw: list[bytes] = []
        self.connections = 0
        self.drop_on_mail: set[int] = set()  # message numbers whose MAIL FROM closes the connection
        self.mails = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if not session.ssl:  # after STARTTLS the client greets again on the same connection
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails += 1
        if self.mails in self.drop_on_mail:
            server.transport.close()
            return "421 closing"
        if address in self.answers:
            return self.answers[address]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        self.raw.append(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def channel(port: int, **extra) -> EmailChannel:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "from": "رقيب <raqib@example.org>",
              "timeout": 5, "local_hostname": "raqib.test", **extra}
    return EmailChannel(Section(values, "raqib.yaml", 1), None)


def enqueue(store: Store, destination: str, cluster: int, *, title: str = TITLE, kind: str = "story",
            watchlist: str = "energy", watchlist_title: str = "الطاقة", created: float = NOW,
            source: str = "alriyadh", summary: str = "أعلن الوزير خطة جديدة لأرامكو اليوم",
            event: int | None = None, related: str | None = None) -> None:
    start = title.index("أرامكو")
    matches = [Match(watchlist, "أرامكو", "title", start, start + len("أرامكو")),
               Match(watchlist, "أرامكو", "summary", summary.find("أرامكو"), summary.find("أرامكو") + 6)]
    payload = alert_payload(title=title, url=f"https://www.alriyadh.com/{cluster}", summary=summary,
                            source=source, published="2025-10-09T08:00:00+00:00", watchlist_title=watchlist_title,
                            matches=matches, sources=[source], related=related)
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="email", destination=destination, kind=kind, watchlist=watchlist,
                      cluster=cluster, story_id=cluster, payload=payload, now=created, event=event)


def rows(store: Store) -> dict[str, dict]:
    return {r["destination"]: r for r in sql.outbox_rows(store)}


def deliverer(store: Store, ch: EmailChannel, **settings) -> Deliverer:
    return Deliverer(store, {"email": ch}, settings=DeliverySettings(**settings), clock=lambda: NOW)


async def test_one_alert_is_a_multipart_rtl_message_with_encoded_arabic_subject(smtp):
    inbox, port = smtp
    store = Store(memory=True)
    enqueue(store, "desk@example.org", 1)
    assert await deliverer(store, channel(port)).run_once() == 1

    [msg] = inbox.to("desk@example.org")
    raw_subject = msg.get("Subject")  # decoded by the default policy
    assert raw_subject == "رقيب — الطاقة: " + TITLE  # every character and space intact
    # on the wire the subject is RFC 2047 encoded ASCII, and decodes back to the Arabic
    head = inbox.raw[0].split(b"\r\n\r\n", 1)[0].decode("ascii")  # the wire form is pure ASCII
    unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ")
    subject_line = next(line for line in unfolded.split("\r\n") if line.startswith("Subject:"))
    assert "=?utf-8?" in subject_line.lower()
    assert str(make_header(decode_header(subject_line[len("Subject:"):]))) == raw_subject

    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert TITLE in plain and "https://www.alriyadh.com/1" in plain
    assert '<html dir="rtl" lang="ar">' in page
    assert "<mark>أرامكو</mark>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="https://www.alriyadh.com/1">' in page
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["Content-Language"] == "ar" and msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe"] == "<mailto:raqib@example.org?subject=unsubscribe>"
    state = rows(store)["desk@example.org"]
    assert state["state"] == "sent" and state["ref"] == msg["Message-ID"]


async def test_550_for_one_recipient_kills_that_row_and_the_others_are_sent(smtp):
    inbox, port = smtp
    inbox.answers["gone@example.org"] = "550 5.1.1 <gone@example.org>: no such user"
    store = Store(memory=True)
    for i, dest in enumerate(["a@example.org", "gone@example.org", "b@example.org", "c@example.org"]):
        enqueue(store, dest, i + 1)
    assert await deliverer(store, channel(port)).run_once() == 3

    state = rows(store)
    assert state["gone@example.org"]["state"] == "dead"
    assert "550" in state["gone@example.org"]["last_error"]
    assert {d for d, r in state.items() if r["state"] == "sent"} == {"a@example.org", "b@example.org",
                                                                     "c@example.org"}
    assert sorted(r[0][0] for r in inbox.messages) == ["a@example.org", "b@example.org", "c@example.org"]
    assert inbox.connections == 1  # the whole batch shared one SMTP connection


async def test_4xx_is_retried_later_with_the_reason_kept(smtp):
    inbox, port = smtp
    inbox.answers["busy@example.org"] = "451 4.3.0 mailbox busy, try later"
    store = Store(memory=True)
    enqueue(store, "busy@example.org", 1)
    d = deliverer(store, channel(port))
    assert await d.run_once() == 0
    row = rows(store)["busy@example.org"]
    assert row["state"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"]
    assert row["next_try"] >= NOW

    del inbox.answers["busy@example.org"]
    d.clock = lambda: NOW + 7200  # later than any backoff of a first attempt
    assert await d.run_once() == 1
    assert rows(store)["busy@example.org"]["state"] == "sent"


async def test_server_down_keeps_every_alert_pending():
    store = Store(memory=True)
    for i in range(3):
        enqueue(store, f"r{i}@example.org", i + 1)
    assert await deliverer(store, channel(free_port())).run_once() == 0
    state = rows(store)
    assert {r["state"] for r in state.values()} == {"pending"}
    assert all("cannot reach SMTP server" in r["last_error"] for r in state.values())


async def test_a_dropped_connection_mid_batch_is_reopened(smtp):
    inbox, port = smtp
    inbox.drop_on_mail = {2}  # the server hangs up when the second message starts
    store = Store(memory=True)
    for i in range(3):
        enqueue(store, f"r{i}@example.org", i + 1)
    assert await deliverer(store, channel(port)).run_once() == 3
    assert len(inbox.messages) == 3
    assert inbox.connections == 2


async def test_list_unsubscribe_url_from_config_names_the_recipient(smtp):
    inbox, port = smtp
    store = Store(memory=True)
    enqueue(store, "desk+ar@example.org", 1)
    ch = channel(port, unsubscribe="https://raqib.example.org/unsubscribe?to={address}")
    await deliverer(store, ch).run_once()
    [msg] = inbox.messages
    assert msg[1]["List-Unsubscribe"].strip() == "<https://raqib.example.org/unsubscribe?to=desk%2Bar%40example.org>"


async def test_a_javascript_link_is_not_made_clickable(smtp):
    inbox, port = smtp
    store = Store(memory=True)
    payload = alert_payload(title="خبر عن أرامكو", url="javascript:alert(1)", summary="", source="x",
                            published=None, watchlist_title="الطاقة", matches=[])
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="email", destination="d@example.org", kind="story", watchlist="energy",
                      cluster=1, story_id=1, payload=payload, now=NOW)
    await deliverer(store, channel(port)).run_once()
    page = inbox.messages[0][1].get_body(("html",)).get_content()
    assert "javascript:" not in page.split("<body", 1)[1].split("<hr>")[0].replace("&quot;", "")
    assert "href=\"javascript" not in page


async def test_a_malformed_address_is_dead_at_once_and_the_rest_goes(smtp):
    inbox, port = smtp
    store = Store(memory=True)
    enqueue(store, "not an address@example.org", 1)
    enqueue(store, "ok@example.org", 2)
    assert await deliverer(store, channel(port)).run_once() == 1
    state = rows(store)
    assert state["not an address@example.org"]["state"] == "dead"
    assert "not a valid e-mail address" in state["not an address@example.org"]["last_error"]
    assert state["ok@example.org"]["state"] == "sent"


async def test_a_refused_sender_waits_for_a_config_fix_instead_of_killing_alerts(smtp):
    inbox, port = smtp
    inbox.answers["raqib@example.org"] = "553 5.7.1 sender not allowed"
    store = Store(memory=True)
    enqueue(store, "a@example.org", 1)
    enqueue(store, "b@example.org", 2)
    assert await deliverer(store, channel(port)).run_once() == 0
    assert {r["state"] for r in rows(store).values()} == {"pending"}
    assert all("refused the sender: 553" in r["last_error"] for r in rows(store).values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإىةـ،؛؟0123456789:()-<>&\"'", min_size=1,
                        max_size=12), min_size=1, max_size=30))
def test_any_arabic_subject_survives_encoding_and_folding(words):
    ch = channel(25)
    title = " ".join(words)
    alert = Alert(id=1, channel="email", destination="d@example.org", kind="story", watchlist="w",
                  watchlist_title="الطاقة", story_id=1, cluster=1, title=title, url="", summary="", source="s",
                  published=None)
    msg = ch.build_message(alert)
    wire = msg.as_bytes(policy=email.policy.SMTP)
    head = wire.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    back = email.message_from_bytes(wire, policy=email.policy.default)
    assert back["Subject"] == ch.subject(alert)


@pytest.mark.parametrize("values, words", [
    ({"port": 25, "from": "raqib@example.org"}, "host"),
    ({"host": "smtp.example.org", "from": "not an address"}, "from"),
    ({"host": "smtp.example.org", "from": "r@example.org", "security": "ssl"}, "security"),
    ({"host": "smtp.example.org", "from": "r@example.org", "digest": "weekly"}, "digest"),
    ({"host": "smtp.example.org", "from": "r@example.org", "recipients": {"d@example.org": {"mode": "daily@25:00"}}},
     "recipients"),
    ({"host": "smtp.example.org", "from": "r@example.org", "recipients": {"d@example.org": {"tz": "Mars/Base"}}},
     "Mars/Base"),
    ({"host": "smtp.example.org", "from": "r@example.org", "colour": "red"}, "colour"),
])
def test_bad_config_is_an_error_naming_file_and_key(values, words):
    with pytest.raises(ConfigError) as err:
        EmailChannel(Section(values, "raqib.yaml", 7), None)
    assert words in str(err.value) and "raqib.yaml:7" in str(err.value)


def test_password_comes_from_the_systemd_credential_and_never_shows(tmp_path, monkeypatch):
    (tmp_path / "smtp_password").write_text("s3cret-pw\n")
    monkeypatch.delenv("RAQIB_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    ch = EmailChannel(Section({"host": "smtp.example.org", "from": "r@example.org", "username": "raqib"},
                              "raqib.yaml"), None)
    assert ch._password == "s3cret-pw"
    assert "s3cret" not in repr(ch)
    monkeypatch.setenv("RAQIB_SMTP_PASSWORD", "from-env")
    ch = EmailChannel(Section({"host": "smtp.example.org", "from": "r@example.org", "username": "raqib"},
                              "raqib.yaml"), None)
    assert ch._password == "from-env"
    monkeypatch.delenv("RAQIB_SMTP_PASSWORD")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="no password"):
        EmailChannel(Section({"host": "smtp.example.org", "from": "r@example.org", "username": "raqib"},
                             "raqib.yaml"), None)


def test_destination_defaults_give_per_recipient_modes():
    ch = EmailChannel(Section({"host": "h.example.org", "from": "r@example.org", "digest": "hourly",
                               "tz": "Asia/Riyadh",
                               "recipients": {"Desk@Example.org": {"mode": "daily@08:00"}}}, "raqib.yaml"), None)
    assert ch.destination_defaults("desk@example.org") == {"mode": "daily@08:00", "tz": "Asia/Riyadh"}
    assert ch.destination_defaults("other@example.org") == {"mode": "hourly", "tz": "Asia/Riyadh"}


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1: with `cryptography` when installed, else the openssl tool."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor the openssl tool is available for a test certificate")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        return cert, key
    import ipaddress
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


async def test_starttls_with_login_over_a_verified_certificate(tmp_path):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"pw-123", handled=False)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        store = Store(memory=True)
        enqueue(store, "desk@example.org", 1)
        ch = channel(controller.port, security="starttls", ca_file=str(cert), username="raqib", password="pw-123")
        assert await deliverer(store, ch).run_once() == 1
        assert logins == [(b"raqib", b"pw-123")]
        assert len(inbox.to("desk@example.org")) == 1

        # a wrong password is not a dead alert: it waits for the fix
        enqueue(store, "desk@example.org", 2)
        ch = channel(controller.port, security="starttls", ca_file=str(cert), username="raqib", password="wrong")
        assert await deliverer(store, ch).run_once() == 0
        row = sql.outbox_rows(store, cluster=2)[0]
        assert row["state"] == "pending" and "login refused" in row["last_error"]

        # without the CA the certificate is not trusted, and nothing is sent in the clear
        enqueue(store, "desk@example.org", 3)
        ch = channel(controller.port, security="starttls", username="raqib", password="pw-123")
        assert await deliverer(store, ch).run_once() == 0
        assert len(inbox.messages) == 1
        row = sql.outbox_rows(store, cluster=3)[0]
        assert row["state"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
    finally:
        controller.stop()


async def test_messages_of_one_event_share_a_thread_and_another_event_starts_its_own(smtp):
    inbox, port = smtp
    store = Store(memory=True)
    enqueue(store, "desk@example.org", 1)  # the event's first story
    enqueue(store, "desk@example.org", 2, title="أرامكو: خطة الوزير تبدأ الشهر المقبل", source="okaz", event=1)
    enqueue(store, "desk@example.org", 3, title="أرامكو تعلن أرباح الربع الثالث", source="sabq")  # another event
    enqueue(store, "desk@example.org", 4, title="خطة أرامكو في عيون المحللين", source="aleqt", event=1)
    enqueue(store, "news@example.org", 5, title="أرامكو توقع اتفاقا", watchlist="deals", related="alert")
    enqueue(store, "news@example.org", 6, title="اتفاق أرامكو بالأرقام", watchlist="deals", related="alert",
            event=5)  # this watchlist asks for alerts of their own: no thread
    assert await deliverer(store, channel(port)).run_once() == 6

    first, second, other, third = inbox.to("desk@example.org")
    head = first["Message-ID"]
    assert first["In-Reply-To"] is None and first["References"] is None
    for later in (second, third):
        assert later["In-Reply-To"] == head and later["References"] == head
        assert later["Message-ID"] != head
        assert later["Subject"] == "Re: " + first["Subject"]  # clients that thread by subject group it too
        assert later.get_body(("plain",)).get_content().startswith("تغطية ذات صلة · ")
    plain = second.get_body(("plain",)).get_content()
    assert plain.replace("\r\n", "\n").startswith("تغطية ذات صلة · okaz\n\nأرامكو: خطة الوزير تبدأ الشهر المقبل")
    assert "تغطية ذات صلة · okaz" in second.get_body(("html",)).get_content()
    assert other["In-Reply-To"] is None and "أرباح الربع الثالث" in other["Subject"]
    assert [m["In-Reply-To"] for m in inbox.to("news@example.org")] == [None, None]
    assert sql.outbox_value(store, "ref", cluster=1) == head


async def test_a_recipients_time_zone_and_the_outlets_name_are_in_the_message(smtp):
    inbox, port = smtp
    store = Store(memory=True)
    store.feeds.sync([FeedConfig("alriyadh", "https://www.alriyadh.com/rss", title="جريدة الرياض")])
    enqueue(store, "desk@example.org", 1)
    ch = channel(port, recipients={"desk@example.org": {"tz": "Asia/Riyadh"}})
    d = Deliverer(store, {"email": ch}, clock=lambda: NOW,
                  policy_for=lambda c, dest: policy_from_settings(ch.destination_defaults(dest)))
    assert await d.run_once() == 1
    [msg] = inbox.to("desk@example.org")
    plain = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert "جريدة الرياض · 2025-10-09 11:00 Asia/Riyadh" in plain  # 08:00 UTC
    assert "جريدة الرياض · 2025-10-09 11:00 Asia/Riyadh" in page
    assert "alriyadh ·" not in plain and "UTC" not in plain
