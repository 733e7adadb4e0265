"""Webhook channel against a real HTTP server on 127.0.0.1, through Store + Deliverer.

The receiver is on loopback, so the channel is configured with `allow_private: true`
except where the test is that private targets are refused without it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alerts.outbox import Deliverer
from alerts.policy import policy_from_settings
from alerts.render import alert_payload
from alerts.webhook import WebhookChannel, retry_after, verify
from monitor.config import FeedConfig, Section
from monitor.errors import ConfigError
from monitor.models import Match
from monitor.settings import DeliverySettings
from monitor.store import FeedUpdate, Store
from tests.support import sql

NOW = 1_760_000_000.0
SECRET = "a-shared-secret-of-32-characters"
TITLE = "أرامكو تعلن نتائج الربع الثالث"


class Receiver:
    """A scripted HTTP receiver: per path, a list of (status, headers, delay) answers; the last repeats."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, dict, float]]] = {}
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers), body))
                answers = receiver.script.get(self.path, [(200, {}, 0.0)])
                status, headers, delay = answers.pop(0) if len(answers) > 1 else answers[0]
                if delay:
                    time.sleep(delay)
                payload = b"ok" if status < 300 else f"status {status}".encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def bodies(self, path: str) -> list[dict]:
        return [json.loads(b) for p, _, b in self.requests if p == path]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def channel(**values) -> WebhookChannel:
    return WebhookChannel(Section({"secret": SECRET, "timeout": 2, "allow_private": True, **values}, "raqib.yaml", 3),
                          None)


def enqueue(store: Store, destination: str, cluster: int = 1, *, kind: str = "story", created: float = NOW,
            event: int | None = None) -> None:
    start = TITLE.index("أرامكو")
    payload = alert_payload(title=TITLE, url="https://www.alriyadh.com/1", summary="ملخص <b>الخبر</b>",
                            source="alriyadh", published="2025-10-09T08:00:00+00:00", watchlist_title="الطاقة",
                            matches=[Match("energy", "أرامكو", "title", start, start + 6)],
                            sources=["alriyadh", "okaz"])
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="webhook", destination=destination, kind=kind, watchlist="energy",
                      cluster=cluster, story_id=cluster, payload=payload, now=created, event=event)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def deliverer(store: Store, ch: WebhookChannel, clock: Clock | None = None, **settings) -> Deliverer:
    policy = lambda c, d: policy_from_settings(ch.destination_defaults(d))  # noqa: E731
    return Deliverer(store, {"webhook": ch}, settings=DeliverySettings(**settings), policy_for=policy,
                     clock=clock or (lambda: NOW))


def the_row(store: Store) -> dict:
    [row] = sql.outbox_rows(store)
    return row


async def test_signed_json_alert_follows_the_documented_schema(receiver):
    store = Store(memory=True)
    store.feeds.sync([FeedConfig("alriyadh", "https://www.alriyadh.com/rss", title="جريدة الرياض"),
                      FeedConfig("okaz", "https://www.okaz.com.sa/rss")])
    store.feeds.update("okaz", FeedUpdate(title="عكاظ"))  # the feed's own <title>, read at its first poll
    enqueue(store, receiver.url + "/hook")
    ch = channel(tz="Asia/Riyadh")
    try:
        assert await deliverer(store, ch).run_once() == 1
    finally:
        await ch.close()
    [(path, headers, raw)] = receiver.requests
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Raqib-Signature"] == expected
    assert verify(SECRET, raw, headers["X-Raqib-Signature"], headers["X-Raqib-Timestamp"])
    assert not verify("another-secret-of-enough-length", raw, headers["X-Raqib-Signature"],
                      headers["X-Raqib-Timestamp"])
    assert not verify(SECRET, raw.replace("الطاقة".encode(), "الرياضة".encode()),
                      headers["X-Raqib-Signature"], headers["X-Raqib-Timestamp"])
    assert not verify(SECRET, raw, headers["X-Raqib-Signature"], headers["X-Raqib-Timestamp"],
                      now=int(headers["X-Raqib-Timestamp"]) + 3600)  # a replay an hour later
    body = json.loads(raw)
    assert "الطاقة".encode() in raw  # Arabic as UTF-8, not \\u escapes
    assert body["type"] == "alert" and body["version"] == 1
    assert body["sent_at"] == int(headers["X-Raqib-Timestamp"])
    assert body["alert_id"] == the_row(store)["id"] and body["kind"] == "story"
    assert body["watchlist"] == {"name": "energy", "title": "الطاقة"}
    assert body["story"] == {"id": 1, "title": TITLE, "url": "https://www.alriyadh.com/1",
                             "summary": "ملخص <b>الخبر</b>", "source": "alriyadh", "outlet": "جريدة الرياض",
                             "published": "2025-10-09T08:00:00+00:00", "time": "2025-10-09 11:00 Asia/Riyadh"}
    assert body["cluster"] == {"id": 1, "sources": ["alriyadh", "okaz"], "outlets": ["جريدة الرياض", "عكاظ"]}
    [m] = body["matches"]
    assert TITLE[m["start"]:m["end"]] == m["term"] == "أرامكو" and m["field"] == "title"
    assert the_row(store)["state"] == "sent"


async def test_503_then_200_is_retried_and_delivered_with_the_same_alert_id(receiver):
    receiver.script["/flaky"] = [(503, {}, 0.0), (200, {}, 0.0)]
    store = Store(memory=True)
    enqueue(store, receiver.url + "/flaky")
    clock = Clock()
    ch = channel()
    d = deliverer(store, ch, clock)
    try:
        assert await d.run_once() == 0
        row = the_row(store)
        assert row["state"] == "pending" and row["attempts"] == 1 and row["last_error"].startswith("HTTP 503")
        clock.now = row["next_try"]
        assert await d.run_once() == 1
    finally:
        await ch.close()
    assert the_row(store)["state"] == "sent"
    first, second = receiver.bodies("/flaky")
    assert first["alert_id"] == second["alert_id"]


async def test_a_receiver_that_stays_down_is_dead_after_max_attempts_with_the_reason(receiver):
    receiver.script["/down"] = [(500, {}, 0.0)]
    store = Store(memory=True)
    enqueue(store, receiver.url + "/down")
    clock = Clock()
    ch = channel(max_attempts=3)
    d = deliverer(store, ch, clock)
    try:
        for attempt in (1, 2):
            assert await d.run_once() == 0
            row = the_row(store)
            assert row["state"] == "pending" and row["attempts"] == attempt
            clock.now = row["next_try"]
        assert await d.run_once() == 0
    finally:
        await ch.close()
    row = the_row(store)
    assert row["state"] == "dead" and row["attempts"] == 3
    assert row["last_error"].startswith("gave up after 3 attempts: HTTP 500")
    assert len(receiver.requests) == 3


@pytest.mark.parametrize("status, headers, words", [
    (410, {}, "HTTP 410"),
    (404, {}, "HTTP 404"),
    (301, {"Location": "https://elsewhere.example/hook"}, "redirects are not followed"),
])
async def test_4xx_and_redirects_fail_at_once(receiver, status, headers, words):
    receiver.script["/x"] = [(status, headers, 0.0)]
    store = Store(memory=True)
    enqueue(store, receiver.url + "/x")
    ch = channel()
    try:
        assert await deliverer(store, ch).run_once() == 0
    finally:
        await ch.close()
    row = the_row(store)
    assert row["state"] == "dead" and row["attempts"] == 1 and words in row["last_error"]


async def test_429_waits_as_long_as_retry_after_says(receiver):
    receiver.script["/limited"] = [(429, {"Retry-After": "120"}, 0.0)]
    store = Store(memory=True)
    enqueue(store, receiver.url + "/limited")
    ch = channel()
    try:
        assert await deliverer(store, ch).run_once() == 0
    finally:
        await ch.close()
    row = the_row(store)
    assert row["state"] == "pending" and row["next_try"] == NOW + 120 and "HTTP 429" in row["last_error"]


async def test_408_is_retried_not_dropped(receiver):
    receiver.script["/slowpoke"] = [(408, {}, 0.0)]
    store = Store(memory=True)
    enqueue(store, receiver.url + "/slowpoke")
    ch = channel()
    try:
        await deliverer(store, ch).run_once()
    finally:
        await ch.close()
    assert the_row(store)["state"] == "pending"


async def test_a_timeout_and_a_refused_connection_are_retried(receiver):
    receiver.script["/sleepy"] = [(200, {}, 1.0)]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/nobody"
    store = Store(memory=True)
    enqueue(store, receiver.url + "/sleepy", 1)
    enqueue(store, closed, 2)
    ch = channel(timeout=0.2)
    try:
        assert await deliverer(store, ch).run_once() == 0
    finally:
        await ch.close()
    rows = {r["cluster"]: r for r in sql.outbox_rows(store)}
    assert rows[1]["state"] == "pending" and "timed out" in rows[1]["last_error"]
    assert rows[2]["state"] == "pending" and "network error" in rows[2]["last_error"]


async def test_named_endpoint_with_its_own_secret_and_hourly_digest(receiver):
    own = "endpoint-secret-0123456789abcdef"
    ch = channel(endpoints={"newsroom": {"url": receiver.url + "/newsroom", "secret": own, "mode": "hourly"}})
    assert ch.destinations_for(["newsroom", "https://example.org/x"]) == ["newsroom", "https://example.org/x"]
    store = Store(memory=True)
    clock = Clock()
    for cluster in (1, 2, 3):
        enqueue(store, "newsroom", cluster, created=clock.now)
    d = deliverer(store, ch, clock)
    try:
        assert await d.run_once() == 0  # held until the top of the hour
        clock.now = (NOW // 3600 + 1) * 3600
        assert await d.run_once() == 3
    finally:
        await ch.close()
    [(path, headers, raw)] = receiver.requests
    assert path == "/newsroom"
    assert verify(own, raw, headers["X-Raqib-Signature"], headers["X-Raqib-Timestamp"])
    body = json.loads(raw)
    assert body["type"] == "digest" and body["count"] == 3 and headers["X-Raqib-Event"] == "digest"
    assert [a["cluster"]["id"] for a in body["alerts"]] == [1, 2, 3]


async def test_without_a_secret_nothing_is_signed(receiver):
    store = Store(memory=True)
    enqueue(store, receiver.url + "/open")
    ch = WebhookChannel(Section({"allow_private": True}, "raqib.yaml"), None)
    try:
        await deliverer(store, ch).run_once()
    finally:
        await ch.close()
    [(_, headers, _)] = receiver.requests
    assert "X-Raqib-Signature" not in headers and the_row(store)["state"] == "sent"


def test_unknown_destination_name_in_a_watchlist_is_a_config_error():
    ch = channel(endpoints={"newsroom": "https://example.org/hook"})
    with pytest.raises(ConfigError, match="newsroom"):
        ch.destinations_for(["newsrom"])


@pytest.mark.parametrize("values, words", [
    ({"secret": "short"}, "secret"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"endpoints": {"x": "ftp://example.org"}}, "endpoints.x"),
    ({"endpoints": {"x": {"url": "https://example.org", "mode": "weekly"}}}, "weekly"),
    ({"retries": 3}, "retries"),
    ({"allow_private": "yes"}, "allow_private"),
])
def test_bad_config_names_the_file_and_line(values, words):
    with pytest.raises(ConfigError) as err:
        WebhookChannel(Section(values, "raqib.yaml", 12), None)
    assert words in str(err.value) and "raqib.yaml:12" in str(err.value)


async def test_private_targets_are_refused_at_send_time_unless_allowed(receiver):
    port = receiver.url.rsplit(":", 1)[1]
    targets = [receiver.url + "/hook", f"http://127.1:{port}/by-name"]  # 127.1 is a name resolving to loopback
    store = Store(memory=True)
    for cluster, url in enumerate(targets, 1):
        enqueue(store, url, cluster)
    ch = channel(allow_private=False)
    try:
        assert await deliverer(store, ch).run_once() == 0
    finally:
        await ch.close()
    assert receiver.requests == []
    for row in sql.outbox_rows(store):
        assert row["state"] == "dead" and row["last_error"].startswith("refused: "), row
        assert "127.0.0.1" in row["last_error"] and "allow_private: true" in row["last_error"]


def test_endpoints_and_notify_urls_on_private_addresses_are_config_errors():
    with pytest.raises(ConfigError) as err:
        WebhookChannel(Section({"endpoints": {"meta": "http://100.100.100.200/latest"}}, "raqib.yaml", 12), None)
    assert "raqib.yaml:12" in str(err.value) and "allow_private" in str(err.value)
    ch = WebhookChannel(Section({}, "raqib.yaml"), None)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[2002:7f00:1::]/", "http://127.1:8080/x"):
        with pytest.raises(ConfigError, match="allow_private"):
            ch.destinations_for([url])
    allowed = WebhookChannel(Section({"allow_private": True, "endpoints": {"lan": "http://10.0.0.5/hook"}},
                                     "raqib.yaml"), None)
    assert allowed.destinations_for(["lan", "http://127.1:8080/x"]) == ["lan", "http://127.1:8080/x"]


def test_secret_is_not_in_repr():
    assert SECRET not in repr(channel())


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after("120") == 120.0
    assert retry_after("999999999") == 86400.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: now
    assert retry_after("soon") is None and retry_after(None) is None


async def test_alerts_and_digests_carry_their_event_as_the_readme_documents(receiver):
    store = Store(memory=True)
    enqueue(store, receiver.url + "/hook", 1)  # the event's first story: its event is itself
    enqueue(store, receiver.url + "/hook", 4, event=1)  # another outlet's own words on it
    ch = channel()
    try:
        assert await deliverer(store, ch).run_once() == 2
        enqueue(store, receiver.url + "/digest", 5, event=1)
        enqueue(store, receiver.url + "/digest", 6)
        assert await deliverer(store, ch, burst=1).run_once() == 2
    finally:
        await ch.close()
    bodies = [json.loads(raw) for _, _, raw in receiver.requests]
    assert [(b["cluster"]["id"], b["event"]) for b in bodies[:2]] == [(1, 1), (4, 1)]
    assert [(a["cluster"]["id"], a["event"]) for a in bodies[2]["alerts"]] == [(5, 1), (6, 6)]
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert '"event": 1001' in readme
