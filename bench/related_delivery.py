"""Related coverage in delivery: what grouping a story under its event's first alert costs.

An SQLite outbox on disk (WAL, as the daemon runs it) holds `--history` sent alerts of
earlier days; then `--alerts` new alerts are queued for one destination, a share
`--related` of them later stories of an event whose first alert is among them. The real
Deliverer drains them through a channel that only returns a reference (no network), once
with the events and once with every row its own event, and prints per alert: the time of
a round, and of `Store.outbox.event_head` alone (the indexed look-up a related row adds).

    .venv/bin/python bench/related_delivery.py [--history 200000] [--alerts 2000] [--related 0.5]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.channel import Channel  # noqa: E402
from alerts.outbox import Deliverer  # noqa: E402
from monitor.config import Section  # noqa: E402
from monitor.models import alert_payload  # noqa: E402
from monitor.settings import DeliverySettings  # noqa: E402
from monitor.store import Store  # noqa: E402

NOW = 1_780_000_000.0


class ReferenceChannel(Channel):
    """Delivers nowhere, answering with a reference as Telegram or e-mail would."""

    name = "bench"

    def __init__(self) -> None:
        super().__init__(Section({}, "<bench>"))
        self.replies = 0

    async def send(self, alert):
        return f"d:{alert.id}"

    async def send_related(self, alert, ref, *, head=None):
        self.replies += 1
        return f"d:{alert.id}"


def fill(store: Store, history: int, alerts: int, related: float, events: bool) -> None:
    rng = random.Random(7)
    payload = alert_payload(title="بريطانيا تطرد 23 دبلوماسيا روسيا", url="https://news.example/1", summary="",
                            source="cnn", published=None, watchlist_title="روسيا", matches=[])
    with store.transaction() as conn:
        for i in range(1, history + 1):  # earlier days: sent, some of them events of several clusters
            event = i - rng.randrange(3) if events and i > 3 else i
            store.outbox.enqueue(conn, channel="bench", destination=f"d{i % 50}", kind="story", watchlist="w",
                          cluster=i, story_id=i, payload=payload, now=NOW - 86400, event=event)
        conn.execute("UPDATE outbox SET state='sent', sent_at=?, ref='d:' || id", (NOW - 86400,))
        heads: list[int] = []
        for j in range(alerts):
            cluster = history + 1 + j
            event = cluster
            if events and heads and rng.random() < related:
                event = rng.choice(heads[-50:])
            else:
                heads.append(cluster)
            store.outbox.enqueue(conn, channel="bench", destination="desk", kind="story", watchlist="w",
                          cluster=cluster, story_id=cluster, payload=payload, now=NOW, event=event)


async def drain(store: Store, channel: ReferenceChannel) -> float:
    deliverer = Deliverer(store, {"bench": channel}, settings=DeliverySettings(burst=10**9), batch=10**6,
                          clock=lambda: NOW)
    started = time.perf_counter()
    await deliverer.run_once()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=200_000)
    ap.add_argument("--alerts", type=int, default=2_000)
    ap.add_argument("--related", type=float, default=0.5)
    args = ap.parse_args()
    for events in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.db")
            fill(store, args.history, args.alerts, args.related, events)
            rows = store.outbox.due(NOW, limit=10**6)
            started = time.perf_counter()
            for row in rows:
                store.outbox.event_head(row)
            lookup = (time.perf_counter() - started) / len(rows)
            channel = ReferenceChannel()
            seconds = asyncio.run(drain(store, channel))
            label = "with events " if events else "events = clusters"
            print(f"{label:18} alerts={len(rows)} replies={channel.replies} history={args.history} "
                  f"round_ms_per_alert={1000 * seconds / len(rows):.3f} event_head_us={1e6 * lookup:.1f}")
            store.close()


if __name__ == "__main__":
    main()
