"""Counters and a latency histogram, exposed as Prometheus text on 127.0.0.1.

`metrics: {listen: "127.0.0.1:9311"}` in the config starts a tiny HTTP server (asyncio
streams, no dependency) with `/healthz` (200 "ok" while the daemon is healthy — the
database answers, stories can be stored, polling makes progress — else 503 with the
reasons, one a line) and `/metrics` (Prometheus text format 0.0.4). Only loopback addresses are accepted
unless `allow_remote: true`.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Protocol

from monitor.pipeline import IngestResult
from monitor.settings import MetricsSettings

log = logging.getLogger(__name__)

OK_OUTCOMES = frozenset({"new", "unchanged", "not_modified", "ok"})
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
HELP = {
    "raqib_polls_total": "Feed polls by outcome (new, unchanged, not_modified, or the error kind).",
    "raqib_poll_errors_total": "Failed feed polls by error kind (network, timeout, http, parse, store ...).",
    "raqib_stories_total": "New stories stored.",
    "raqib_duplicates_folded_total": "New stories folded into an existing story cluster.",
    "raqib_matches_total": "Watchlist term matches in new stories.",
    "raqib_alerts_queued_total": "Alerts written to the outbox.",
    "raqib_alerts_total": "Alerts by channel and outcome (sent, retry, dead).",
    "raqib_feed_health_changes_total": "Feed health transitions.",
    "raqib_delivery_latency_seconds": "Seconds from an alert being queued to it being sent.",
}


class Metrics:
    """Counters fed by the stages' callbacks: `on_ingest` (pipeline), `on_poll` (poller),
    `on_result` (deliverer); the daemon counts feed health changes itself."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += value

    def ingest_done(self, result: IngestResult) -> None:
        """What one feed's new items added (the pipeline's `on_ingest`)."""
        if result.new:
            self.inc("raqib_stories_total", result.new)
        if result.duplicates:
            self.inc("raqib_duplicates_folded_total", result.duplicates)
        if result.matches:
            self.inc("raqib_matches_total", result.matches)
        if result.alerts:
            self.inc("raqib_alerts_queued_total", result.alerts)

    def poll_done(self, feed: str, outcome: str, seconds: float) -> None:
        self.inc("raqib_polls_total", outcome=outcome)
        if outcome not in OK_OUTCOMES:
            self.inc("raqib_poll_errors_total", kind=outcome)

    def delivery_done(self, channel: str, outcome: str, latency: float | None) -> None:
        self.inc("raqib_alerts_total", channel=channel, outcome=outcome)
        if latency is not None:
            self.latency_sum += latency
            self.latency_count += 1
            for i, bound in enumerate(LATENCY_BUCKETS):
                if latency <= bound:
                    self.buckets[i] += 1
                    break
            else:
                self.buckets[-1] += 1

    def render(self, gauges: dict[str, float] | None = None) -> str:
        lines: list[str] = []
        names = sorted({n for n, _ in self.counters})
        for name in names:
            if name in HELP:
                lines.append(f"# HELP {name} {HELP[name]}")
            lines.append(f"# TYPE {name} counter")
            for (n, labels), value in sorted(self.counters.items()):
                if n == name:
                    lines.append(f"{name}{_labels(labels)} {value:g}")
        h = "raqib_delivery_latency_seconds"
        lines += [f"# HELP {h} {HELP[h]}", f"# TYPE {h} histogram"]
        cumulative = 0
        for bound, count in zip(LATENCY_BUCKETS, self.buckets, strict=False):  # the last bucket is +Inf
            cumulative += count
            lines.append(f'{h}_bucket{{le="{bound:g}"}} {cumulative}')
        lines.append(f'{h}_bucket{{le="+Inf"}} {self.latency_count}')
        lines.append(f"{h}_sum {self.latency_sum:g}")
        lines.append(f"{h}_count {self.latency_count}")
        typed: set[str] = set()
        for name, value in sorted((gauges or {}).items()):
            family = name.partition("{")[0]  # a gauge may carry labels: raqib_node_role{role="prune"}
            if family not in typed:
                typed.add(family)
                lines.append(f"# TYPE {family} gauge")
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Observed(Protocol):
    """What the server reads from the process it watches (the daemon)."""

    metrics: Metrics

    async def health(self) -> tuple[bool, list[str]]: ...

    async def gauges(self) -> dict[str, float]: ...


def status_gauges(s: Mapping[str, Any], index_stories: int) -> dict[str, float]:
    """The gauges of /metrics from the daemon's status and the size of its dedup index.
    Across nodes: this node's roles (1 held, 0 not) and its leases, and the nodes alive."""
    nodes = {f'raqib_node_role{{role="{_escape(role)}"}}': float(role in s.get("roles", ()))
             for role in s.get("all_roles", ())}
    if "nodes" in s:
        nodes["raqib_nodes_alive"] = sum(1 for n in s["nodes"] if n["alive"])
        nodes["raqib_nodes_config_differs"] = sum(1 for n in s["nodes"] if n.get("config_differs"))
        nodes["raqib_node_feeds_in_flight"] = s.get("feeds_in_flight", 0)
        nodes["raqib_node_alerts_in_flight"] = s.get("alerts_in_flight", 0)
    return {
        **nodes,
        "raqib_feeds": s["feeds"],
        "raqib_feeds_failing": len(s["feeds_failing"]),
        "raqib_outbox_pending": s["outbox_pending"] or 0,
        "raqib_outbox_dead": s["dead"] or 0,
        "raqib_stories_last_hour": s["stories_hour"] or 0,
        "raqib_last_poll_timestamp_seconds": s["last_poll"] or 0,
        "raqib_dedup_index_stories": index_stories,
    }


async def serve_metrics(listen: str, daemon: Observed, *,
                        allow_remote: bool = MetricsSettings.allow_remote) -> asyncio.Server:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host not in ("127.0.0.1", "::1", "localhost") and not allow_remote:
        raise ValueError(f"metrics.listen must be a loopback address, got {host!r} "
                         "(set metrics.allow_remote: true to override)")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else "/"
            if path == "/healthz":
                ok, problems = await daemon.health()
                status, body = ("200 OK", "ok\n") if ok else ("503 Service Unavailable",
                                                            "".join(p + "\n" for p in problems))
                ctype = "text/plain; charset=utf-8"
            elif path == "/metrics":
                status, body = "200 OK", daemon.metrics.render(await daemon.gauges())
                ctype = "text/plain; version=0.0.4; charset=utf-8"
            else:
                status, body, ctype = "404 Not Found", "not found\n", "text/plain; charset=utf-8"
            data = body.encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + data)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("metrics request failed")
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, int(port))
    log.info("metrics listening address=%s", listen)
    return server
