"""Apprise channel (optional extra), delivering through Apprise's json:// service to a real
HTTP server on 127.0.0.1, through Store + Deliverer."""
from __future__ import annotations

import json
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

with warnings.catch_warnings():  # apprise imports the deprecated imghdr module
    warnings.simplefilter("ignore", DeprecationWarning)
    pytest.importorskip("apprise", reason="the apprise extra is not installed (pip install 'raqib[apprise]')")

from alerts.apprise_channel import AppriseChannel  # noqa: E402
from alerts.outbox import Deliverer  # noqa: E402
from alerts.policy import policy_from_settings  # noqa: E402
from alerts.render import alert_payload  # noqa: E402
from monitor.config import Section  # noqa: E402
from monitor.errors import ConfigError  # noqa: E402
from monitor.models import Match  # noqa: E402
from monitor.store import Store  # noqa: E402
from tests.support import sql  # noqa: E402

NOW = 1_760_000_000.0


@pytest.fixture
def receiver():
    got: list[tuple[str, dict]] = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((self.path, json.loads(body)))
            self.send_response(status["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", got, status
    finally:
        server.shutdown()
        server.server_close()


def enqueue(store: Store, destination: str, cluster: int, created: float = NOW) -> None:
    title = f"أرامكو تعلن نتائج الربع {cluster}"
    payload = alert_payload(title=title, url=f"https://www.alriyadh.com/{cluster}", summary="", source="alriyadh",
                            published=None, watchlist_title="الطاقة",
                            matches=[Match("energy", "أرامكو", "title", 0, 6)], sources=["alriyadh"])
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="apprise", destination=destination, kind="story", watchlist="energy",
                      cluster=cluster, story_id=cluster, payload=payload, now=created)


def deliverer(store: Store, ch: AppriseChannel, clock=lambda: NOW) -> Deliverer:
    return Deliverer(store, {"apprise": ch}, clock=clock,
                     policy_for=lambda c, d: policy_from_settings(ch.destination_defaults(d)))


async def test_alert_goes_out_through_an_apprise_url(receiver):
    host, got, _ = receiver
    store = Store(memory=True)
    ch = AppriseChannel(Section({"urls": {"desk": f"json://{host}/desk"}}, "raqib.yaml"), None)
    enqueue(store, "desk", 1)
    assert await deliverer(store, ch).run_once() == 1
    [(path, body)] = got
    assert path == "/desk"
    assert body["title"] == "الطاقة: أرامكو تعلن نتائج الربع 1"
    assert "https://www.alriyadh.com/1" in body["message"] and "أرامكو" in body["message"]
    assert sql.outbox_rows(store, "state")[0]["state"] == "sent"


async def test_failure_is_retried_then_dead_after_max_attempts(receiver):
    host, got, status = receiver
    status["code"] = 500
    store = Store(memory=True)
    ch = AppriseChannel(Section({"max_attempts": 2, "urls": {"desk": f"json://{host}/desk"}}, "raqib.yaml"), None)
    enqueue(store, "desk", 1)
    now = [NOW]
    d = deliverer(store, ch, clock=lambda: now[0])
    assert await d.run_once() == 0
    row = sql.outbox_rows(store)[0]
    assert row["state"] == "pending" and "json" in row["last_error"]
    assert host not in row["last_error"]  # URLs (and their tokens) stay out of the reason
    now[0] = row["next_try"]
    assert await d.run_once() == 0
    row = sql.outbox_rows(store)[0]
    assert row["state"] == "dead" and row["last_error"].startswith("gave up after 2 attempts")
    assert len(got) == 2


async def test_digest_is_one_notification_with_counts(receiver):
    host, got, _ = receiver
    store = Store(memory=True)
    ch = AppriseChannel(Section({"digest": "hourly"}, "raqib.yaml"), None)
    url = f"json://{host}/direct"
    for cluster in (1, 2):
        enqueue(store, url, cluster)
    now = [NOW]
    d = deliverer(store, ch, clock=lambda: now[0])
    assert await d.run_once() == 0
    now[0] = (NOW // 3600 + 1) * 3600
    assert await d.run_once() == 2
    [(_, body)] = got
    assert "التنبيهات: 2" in body["title"] and "الطاقة (التنبيهات: 2، الأخبار: 2)" in body["message"]


def test_urls_apprise_does_not_know_are_config_errors():
    with pytest.raises(ConfigError, match="raqib.yaml:4.*nosuchservice"):
        AppriseChannel(Section({"urls": {"x": "nosuchservice://token"}}, "raqib.yaml", 4), None)
    ch = AppriseChannel(Section({"urls": {"desk": "json://127.0.0.1/x"}}, "raqib.yaml"), None)
    assert ch.destinations_for(["desk", "ntfy://raqib-alerts"]) == ["desk", "ntfy://raqib-alerts"]
    with pytest.raises(ConfigError, match="neither"):
        ch.destinations_for(["dsek"])
