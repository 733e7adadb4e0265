"""`raqib status`: feeds, stories, alerts, the outbox and the nodes at a glance."""
from __future__ import annotations

import argparse
import time

from monitor.config import load_config
from monitor.settings import read_settings
from monitor.store import Store

from ..feedhealth import ago
from ..roles import describe_node, node_states
from .common import config_path


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(config_path(args))
    store = Store(config.database, readonly=True)
    now = time.time()
    feeds = store.feeds.all()
    enabled = [f for f in feeds if f.enabled]
    failing = [f for f in enabled if not f.healthy or f.failures]
    c = store.counts(now)
    rows = [
        ("feeds", f"{len(enabled)} enabled, {len(enabled) - len(failing)} ok, {len(failing)} failing"
                  + (f" ({', '.join(f.name for f in failing)})" if failing else "")),
        ("last poll", ago(max((f.last_poll or 0 for f in feeds), default=0), now)),
        ("stories", f"{c['stories_hour']} last hour, {c['stories_day']} last day"),
        ("alerts sent", f"{c['alerts_hour']} last hour, {c['alerts_day']} last day"),
        ("outbox", f"{c['outbox_pending']} waiting"),
        ("dead letters", str(c["dead"])),
    ]
    nodes = node_states(store.nodes.all(), now, read_settings(config).node.heartbeat)
    if nodes:
        differ = sum(1 for n in nodes if n["config_differs"])
        rows.append(("nodes", f"{sum(1 for n in nodes if n['alive'])} running"
                              + (f", {differ} with different watchlists or settings" if differ else "")))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for n in nodes:
        print(f"  node {describe_node(n, now)}")
    for d in store.outbox.dead_letters(10):
        print(f"  dead #{d.id} {d.channel}:{d.destination} after {d.attempts} attempts: "
              f"{d.last_error}")
    store.close()
    return 0
