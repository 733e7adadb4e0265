"""The metrics endpoint of a running daemon: /healthz and Prometheus /metrics.

The daemon runs in-process against feeds on 127.0.0.1: two outlets carry the same
story (one folded duplicate), a third feed answers 404 (an error of kind http), alerts
go to the console (sent) and to a webhook nobody listens on (dead after one attempt).
The counters must say exactly that.
"""
from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from raqib.daemon import Daemon
from raqib.metrics import serve_metrics
from tests.support.daemon_harness import GrowingFeeds, write_config, write_watchlist
from tests.support.feedserver import FeedServer
from tests.system.test_storage_faults import free_port, until

TITLE = "بوتين يدعو إلى محادثات سلام في جنيف الأسبوع المقبل مع الوفد الأوكراني"


def metric(text: str, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name + (f"{{{inner}}}" if labels else "")) + r" ([0-9.e+-]+)$"
    m = re.search(pattern, text, re.M)
    assert m, f"{name} {labels} not in metrics:\n{text}"
    return float(m.group(1))


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.close()


async def test_metrics_count_polls_errors_stories_duplicates_matches_and_alerts(tmp_path, server):
    port = free_port()
    feeds = GrowingFeeds(server, 2)
    a, b = feeds.names
    server.route("/gone.xml", status=404, body=b"no")
    write_watchlist(tmp_path / "wl", "w", ["بوتين", "جنيف"], notify={"webhook": ["http://127.0.0.1:9/x"]})
    config = write_config(tmp_path, {a: feeds.url(a), b: feeds.url(b), "broken": server.url("/gone.xml")},
                          watchlists=tmp_path / "wl",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                f"metrics: {{listen: '127.0.0.1:{port}'}}\n"
                                "channels:\n  console: {}\n  webhook: {max_attempts: 1, allow_private: true}\n")
    feeds.publish(a, TITLE)
    feeds.publish(b, "عاجل | " + TITLE)
    out = io.StringIO()
    daemon = Daemon(load_config(config), console_stream=out).open()
    task = asyncio.create_task(daemon.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            async def settled():
                try:
                    r = await client.get("/metrics")
                except httpx.ConnectError:  # not listening yet
                    return None
                t = r.text
                # the stories wait for their pages: their matches are counted when those settle,
                # which the delivery of their alert may overtake by a moment
                return t if ('raqib_alerts_total{channel="webhook",outcome="dead"} 1' in t
                             and "raqib_duplicates_folded_total 1" in t and "raqib_matches_total 4" in t) else None
            text = await until(settled, 15, "the alerts to settle")
            health = await client.get("/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")
            assert (await client.get("/nope")).status_code == 404
        assert r"text/plain; version=0.0.4" in (await _headers(port))["content-type"]
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)
    assert metric(text, "raqib_polls_total", outcome="new") == 2
    assert metric(text, "raqib_poll_errors_total", kind="http") >= 1
    assert metric(text, "raqib_stories_total") == 2
    assert metric(text, "raqib_duplicates_folded_total") == 1
    assert metric(text, "raqib_matches_total") == 4  # two terms in each of the two stories
    assert metric(text, "raqib_alerts_total", channel="console", outcome="sent") == 1
    assert metric(text, "raqib_alerts_total", channel="webhook", outcome="dead") == 1
    assert metric(text, "raqib_delivery_latency_seconds_count") == 1
    assert metric(text, "raqib_delivery_latency_seconds_bucket", le="+Inf") == 1
    assert metric(text, "raqib_outbox_dead") == 1
    assert metric(text, "raqib_feeds") == 3
    assert "# TYPE raqib_delivery_latency_seconds histogram" in text
    assert out.getvalue().count("بوتين يدعو") == 1  # one alert for the two outlets


async def _headers(port: int) -> httpx.Headers:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/metrics")).headers


def test_metrics_endpoint_refuses_a_public_address(tmp_path):
    """The config naming a public address is refused at start-up with its line; the server
    itself refuses one too."""
    write_watchlist(tmp_path / "wl", "w", ["بوتين"])
    config = write_config(tmp_path, {}, watchlists=tmp_path / "wl",
                          extra="metrics: {listen: '0.0.0.0:9311'}\nchannels:\n  console: {}\n")
    with pytest.raises(ConfigError, match=r"raqib.yaml:\d+: metrics.listen: 0.0.0.0 is not a loopback address"):
        Daemon(load_config(config), console_stream=io.StringIO())
    config = write_config(tmp_path, {}, watchlists=tmp_path / "wl", extra="channels:\n  console: {}\n")
    daemon = Daemon(load_config(config), console_stream=io.StringIO()).open()
    try:
        with pytest.raises(ValueError, match="loopback"):
            asyncio.run(serve_metrics("0.0.0.0:9311", daemon))
    finally:
        daemon.store.close()
