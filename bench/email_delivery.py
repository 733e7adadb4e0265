"""How many e-mails per second the email channel sends: one SMTP connection for the batch
against a new connection per message, and the whole way through Store + Deliverer.

The server is aiosmtpd on 127.0.0.1 in a thread of this process (it shares the GIL with
the client, so figures are a floor for a real relay on another machine).

    .venv/bin/python bench/email_delivery.py [--messages 1000]
"""
from __future__ import annotations

import sys
from pathlib import Path

# this file is named like the standard library's `email`: run from bench/, the folder must
# not shadow it, so the repository root takes its place on the path
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _here]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

from alerts.email import EmailChannel  # noqa: E402
from alerts.outbox import Deliverer  # noqa: E402
from alerts.render import alert_payload  # noqa: E402
from monitor.config import Section  # noqa: E402
from monitor.models import Alert, Match  # noqa: E402
from monitor.settings import DeliverySettings  # noqa: E402
from monitor.store import Store  # noqa: E402

TITLE = "وزير الطاقة يعلن خطة جديدة لشركة أرامكو في الربع الثالث"
SUMMARY = "أعلن وزير الطاقة اليوم عن خطة جديدة لشركة أرامكو تشمل زيادة الإنتاج " * 4


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def alert(i: int) -> Alert:
    s = TITLE.index("أرامكو")
    return Alert(id=i, channel="email", destination=f"desk{i % 50}@example.org", kind="story", watchlist="energy",
                 watchlist_title="الطاقة", story_id=i, cluster=i, title=f"{TITLE} {i}",
                 url=f"https://www.alriyadh.com/{i}", summary=SUMMARY, source="alriyadh",
                 published="2025-10-09T08:00:00+00:00", matches=(Match("energy", "أرامكو", "title", s, s + 6),),
                 sources=("alriyadh",))


async def one_connection(ch: EmailChannel, n: int) -> float:
    started = time.perf_counter()
    async with ch.session():
        for i in range(n):
            await ch.send(alert(i))
    return time.perf_counter() - started


async def connection_per_message(ch: EmailChannel, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        await ch.send(alert(i))  # outside a session: connect, send, QUIT
    return time.perf_counter() - started


async def through_deliverer(ch: EmailChannel, n: int) -> float:
    store = Store(memory=True)
    with store.transaction() as conn:
        for i in range(n):
            a = alert(i)
            payload = alert_payload(title=a.title, url=a.url, summary=a.summary, source=a.source,
                                    published=a.published, watchlist_title=a.watchlist_title, matches=a.matches,
                                    sources=a.sources)
            store.outbox.enqueue(conn, channel="email", destination=a.destination, kind="story", watchlist="energy",
                          cluster=i, story_id=i, payload=payload, now=0.0)
    # burst above n: every alert is its own message, as in instant mode
    d = Deliverer(store, {"email": ch}, settings=DeliverySettings(burst=n + 1), batch=n)
    started = time.perf_counter()
    sent = 0
    while sent < n:
        sent += await d.run_once()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    n = args.messages
    counter = Counter()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ch = EmailChannel(Section({"host": "127.0.0.1", "port": port, "security": "none",
                                   "from": "Raqib <raqib@example.org>", "local_hostname": "raqib.bench"},
                                  "bench"), None)
        size = len(ch.build_message(alert(0)).as_bytes())
        print(f"messages: {n} (multipart, about {size} bytes each), server: aiosmtpd on 127.0.0.1")
        for label, run in (("one connection for the batch", one_connection),
                           ("a new connection per message", connection_per_message),
                           ("Store + Deliverer, one connection", through_deliverer)):
            before = counter.received
            seconds = await run(ch, n)
            got = counter.received - before
            print(f"{label:36s} {seconds:7.2f} s  {got / seconds:8.0f} msg/s  ({got} received)")
        await ch.close()
    finally:
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
