"""Telegram delivery benchmark: 1,000 alerts to 200 chats through the fake Bot API.

The real deliverer, the real TelegramChannel with its real rate limiter (real clock),
the real python-telegram-bot client, and the fake Bot API server from tests/ on
127.0.0.1. Prints throughput and the highest rates the server observed: overall
messages in any one second, messages to one chat in any one second, and messages to
one group in any one minute. Telegram's limits: 30/s overall, ~1/s per chat, 20/min per
group. Expect ~35-60 s of real time (30 messages a second is the ceiling).

    .venv/bin/python bench/telegram.py [--alerts 1000] [--chats 200] [--groups 50] [--latency 0.02]
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this file's folder comes first on sys.path and its name would shadow
# the `telegram` package: put the repository there instead
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alerts.outbox import Deliverer  # noqa: E402
from alerts.telegram import TelegramChannel  # noqa: E402
from monitor.config import Section  # noqa: E402
from monitor.models import Match, alert_payload  # noqa: E402
from monitor.settings import DeliverySettings  # noqa: E402
from monitor.store import Store  # noqa: E402
from tests.support.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "111222333:AAbenchTokenNotReal_abcdefghijklmn"


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        j = bisect.bisect_left(times, t + window)  # [t, t + window)
        best = max(best, j - i)
    return best


async def run(args: argparse.Namespace) -> None:
    os.environ["RAQIB_TELEGRAM_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram(latency=args.latency) as tg:
        store = Store(Path(tmp) / "bench.db")
        privates = [str(10_000 + i) for i in range(args.chats - args.groups)]
        groups = [str(-1001_000_000_000 - i) for i in range(args.groups)]
        chats = privates + groups
        now = time.time()
        with store.transaction() as conn:
            for i in range(args.alerts):
                dest = chats[i % len(chats)]
                title = f"عاجل {i}: بوتين يلتقي وفداً في كورسك <تحديث> & تفاصيل"
                payload = alert_payload(title=title, url=f"https://news.example/{i}", summary="ملخص الخبر " * 20,
                                        source="aljazeera", published=None, watchlist_title="روسيا وأوكرانيا",
                                        matches=[Match("russia", "بوتين", "title", title.index("بوتين"),
                                                       title.index("بوتين") + 5)])
                store.outbox.enqueue(conn, channel="telegram", destination=dest, kind="story", watchlist="russia",
                              cluster=i + 1, story_id=i + 1, payload=payload, now=now)
        channel = TelegramChannel(Section({"api_url": tg.api_url, "polling": False}, "<bench>"), store)
        deliverer = Deliverer(store, {"telegram": channel}, settings=DeliverySettings(burst=10), batch=500)
        started = time.monotonic()
        sent = 0
        while store.outbox.due(time.time(), limit=1):
            sent += await deliverer.run_once()
        elapsed = time.monotonic() - started
        await channel.close()
        calls = tg.calls_of("sendMessage")
        times = [c.at for c in calls]
        per_chat: dict[str, list[float]] = {}
        for c in calls:
            per_chat.setdefault(str(c.params["chat_id"]), []).append(c.at)
        chat_1s = max(max_in_window(t, 1.0) for t in per_chat.values())
        group_60s = max((max_in_window(per_chat.get(g, []), 60.0) for g in groups), default=0)
        dead = store.counts(time.time())["dead"]
        print(f"alerts: {args.alerts}  chats: {len(chats)} ({len(privates)} private, {len(groups)} groups)  "
              f"server latency: {args.latency * 1000:.0f} ms")
        print(f"sent: {sent} alerts in {len(calls)} messages, dead: {dead}, elapsed: {elapsed:.1f} s")
        print(f"throughput: {len(calls) / elapsed:.1f} messages/s")
        print(f"max overall in any 1 s: {max_in_window(times, 1.0)} (limit 30)")
        print(f"max to one chat in any 1 s: {chat_1s} (limit 1)")
        print(f"max to one group in any 60 s: {group_60s} (limit 20)")
        store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--alerts", type=int, default=1000)
    p.add_argument("--chats", type=int, default=200)
    p.add_argument("--groups", type=int, default=50)
    p.add_argument("--latency", type=float, default=0.02, help="seconds the fake server takes per sendMessage")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
