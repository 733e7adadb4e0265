"""Soak benchmark: the real daemon, 1,000 local feeds, a steady stream of new stories.

    .venv/bin/python bench/soak.py                       # 180 s, 1,000 feeds, poll every 15 s
    .venv/bin/python bench/soak.py --seconds 120 --feeds 1000 --rate 2 --interval 15

Parts, all on 127.0.0.1:
- a feed server in its own process (asyncio, HTTP/1.1 keep-alive): feed i carries the
  20 newest of its items published so far; item j appears at T0 + j/rate on a feed chosen
  at random; ETag per feed state, so unchanged feeds answer 304 as real outlets do;
- the real daemon (`python -m raqib.cli run`) as a subprocess, with a fresh SQLite file,
  polling every `--interval` seconds (jitter ±10%, adaptive off), delivering through the
  Telegram channel (the real python-telegram-bot client and rate limiter) to the fake Bot
  API of tests/support/fake_telegram.py, or with `--channel webhook` through the webhook channel;
- the receiving end in this process, recording when each alert arrives.
Titles are random letters (no two fold together); half of them carry one of ten watched
names, and each name's watchlist alerts its own chat — ten desks, each well inside
Telegram's one-message-a-second limit per chat.

Printed: the daemon's RSS every 10 s, CPU seconds per hour of this traffic (measured
after the warm-up), and p50/p95/max latency from an item appearing in its feed to its
alert reaching the receiver, with the target p95 ≤ interval + 2 s.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import html
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
TERMS = ["بوتين", "زيلينسكي", "كورسك", "دوروف", "ماكرون", "نتنياهو", "أردوغان", "خامنئي", "بلينكن", "غوتيريش"]
TOKEN = "777000:AAsoakBenchTokenForRaqib_abcdefghij"
WINDOW = 20


def title_of(j: int) -> str:
    rng = random.Random(j)
    words = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 7))) for _ in range(7)]
    if j % 2 == 0:
        words.insert(rng.randint(0, 7), TERMS[(j // 2) % len(TERMS)])
    return " ".join(words)


def schedule(feeds: int, rate: float, seconds: float, seed: int = 1) -> list[list[int]]:
    """Per feed, the item numbers j it publishes (item j appears at T0 + j / rate)."""
    rng = random.Random(seed)
    per_feed: list[list[int]] = [[] for _ in range(feeds)]
    for j in range(int(rate * (seconds + 60))):
        per_feed[rng.randrange(feeds)].append(j)
    return per_feed


def feed_server(port_out, feeds: int, rate: float, seconds: float, t0: float) -> None:
    per_feed = schedule(feeds, rate, seconds)
    times = [[t0 + j / rate for j in items] for items in per_feed]
    cache: dict[tuple[int, int], bytes] = {}

    def body(i: int, count: int) -> bytes:
        key = (i, count)
        if key not in cache:
            items = per_feed[i][max(0, count - WINDOW):count]
            parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>feed {i}</title>'
                     f"<link>http://news.example/{i}</link><description>soak</description>"]
            for j in reversed(items):
                url = f"http://news.example/{i}/{j}"
                parts.append(f"<item><title>{escape(title_of(j))}</title><link>{url}</link><guid>{url}</guid>"
                             f"<pubDate>{formatdate(t0 + j / rate, usegmt=True)}</pubDate></item>")
            parts.append("</channel></rss>\n")
            cache[key] = "".join(parts).encode()
        return cache[key]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                path = line.split()[1].decode()
                try:
                    i = int(path.rsplit("/", 1)[1].split(".")[0])
                    count = bisect.bisect_right(times[i], time.time())
                except (ValueError, IndexError):
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                etag = f'"{i}-{count}"'
                if headers.get("if-none-match") == etag:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode())
                else:
                    data = body(i, count)
                    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                                 f"ETag: {etag}\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.put(server.sockets[0].getsockname()[1])
        await asyncio.sleep(seconds + 120)

    asyncio.run(main())


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                now = time.time()
                for a in doc["alerts"] if doc.get("type") == "digest" else [doc]:
                    me.count += 1
                    me.arrived.setdefault(a["story"]["url"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"


class TelegramReceiver:
    """The fake Bot API; an alert has arrived when its sendMessage reached the server."""

    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.support.fake_telegram import FakeTelegram

        self.fake = FakeTelegram(long_poll=1.0)
        self.fake.start()
        self.href = re.compile(r'href="([^"]+)"')

    @property
    def arrived(self) -> dict[str, float]:
        offset = time.time() - time.monotonic()  # the fake stamps calls with monotonic time
        out: dict[str, float] = {}
        for call in self.fake.calls_of("sendMessage"):
            for link in self.href.findall(call.params.get("text", "")):
                out.setdefault(html.unescape(link), call.at + offset)
        return out

    @property
    def count(self) -> int:
        return len(self.fake.calls_of("sendMessage"))

    def close(self) -> None:
        self.fake.stop()


def proc_stats(pid: int) -> tuple[float, float]:
    """(RSS MiB, CPU seconds user+system) of a process."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / tick


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=2.0, help="new stories per second, all feeds together")
    ap.add_argument("--interval", type=float, default=15.0, help="poll interval, seconds")
    ap.add_argument("--warmup", type=float, default=45.0)
    ap.add_argument("--channel", choices=("telegram", "webhook"), default="telegram")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="raqib-soak-"))
    t0 = time.time() + 5.0
    ports: mp.Queue = mp.Queue()
    server = mp.Process(target=feed_server, args=(ports, args.feeds, args.rate, args.seconds, t0), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    (tmp / "wl").mkdir()
    env_extra: dict[str, str] = {}
    if args.channel == "telegram":
        receiver = TelegramReceiver()
        channel_lines = ["channels:", f'  telegram: {{api_url: "{receiver.fake.api_url}", polling: false}}']
        env_extra["RAQIB_TELEGRAM_TOKEN"] = TOKEN
        notify = [f"notify:\n  telegram: [{1000 + k}]\n" for k in range(len(TERMS))]
    else:
        receiver = Receiver()
        channel_lines = ["channels:", "  webhook: {timeout: 10s, allow_private: true}"]
        notify = [f"notify:\n  webhook: [\"{receiver.url}\"]\n"] * len(TERMS)
    for k, term in enumerate(TERMS):
        (tmp / "wl" / f"soak{k}.yaml").write_text(f"name: soak{k}\ntitle: soak {k}\nterms: [{term}]\n{notify[k]}",
                                                  encoding="utf-8")
    lines = [f"database: {tmp / 'raqib.db'}", f"watchlists: {tmp / 'wl'}",
             f"poll: {{interval: {args.interval}s, min_interval: {args.interval}s, adaptive: false, "
             f"concurrency: 100, per_host: 100, backfill: 1h}}",  # items before a first poll alert too
             "fulltext: {mode: never}",  # news.example pages cannot be read: no wait for them
             "delivery: {burst: 100000}", *channel_lines, "feeds:"]
    lines += [f'  - {{name: f{i:04d}, url: "http://127.0.0.1:{port}/feed/{i}.xml"}}' for i in range(args.feeds)]
    (tmp / "raqib.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAQIB_LOG_LEVEL": "WARNING", **env_extra}
    log = open(tmp / "daemon.log", "wb")  # noqa: SIM115 (the daemon writes it; closed when it stops)
    daemon = subprocess.Popen([sys.executable, "-m", "raqib.cli", "run", "--config", str(tmp / "raqib.yaml")],
                              stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=str(ROOT))
    print(f"soak: delivering through {args.channel}; {args.feeds} feeds, {args.rate:g} new stories/s "
          f"({args.rate * 3600:.0f}/h, half alerting), "
          f"poll every {args.interval:g} s, {args.seconds:g} s, daemon pid {daemon.pid}")
    print(f"{'t (s)':>6} {'RSS MiB':>8} {'CPU s':>7} {'alerts':>7}")
    samples: list[tuple[float, float, float]] = []
    start = time.time()
    try:
        while time.time() - start < args.seconds:
            time.sleep(10.0 - (time.time() - start) % 10.0)
            if daemon.poll() is not None:
                print("daemon exited early:", (tmp / "daemon.log").read_text()[-2000:])
                return 1
            rss, cpu = proc_stats(daemon.pid)
            t = time.time() - start
            samples.append((t, rss, cpu))
            print(f"{t:6.0f} {rss:8.1f} {cpu:7.1f} {len(receiver.arrived):7d}", flush=True)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
        server.terminate()
        if isinstance(receiver, TelegramReceiver):
            receiver.close()
        else:
            receiver.httpd.shutdown()
    end = start + args.seconds
    warm = [s for s in samples if s[0] >= args.warmup]
    if len(warm) >= 2:
        (ta, ra, ca), (tb, rb, cb) = warm[0], warm[-1]
        cpu_per_hour = (cb - ca) / (tb - ta) * 3600
        print(f"RSS after warm-up: {ra:.1f} → {rb:.1f} MiB (max {max(s[1] for s in warm):.1f}); "
              f"growth {rb - ra:+.1f} MiB over {tb - ta:.0f} s")
        print(f"CPU: {cpu_per_hour:.0f} CPU-seconds per hour of this traffic "
              f"({args.rate * 3600:.0f} stories/h, {args.feeds * 3600 / args.interval:.0f} polls/h)")
    # latency: items that appeared after the warm-up and early enough to be polled before the end
    latencies, missing = [], 0
    per_feed = schedule(args.feeds, args.rate, args.seconds)
    for i, items in enumerate(per_feed):
        for j in items:
            appeared = t0 + j / args.rate
            if j % 2 or appeared < start + args.warmup or appeared > end - args.interval * 1.2 - 3:
                continue
            got = receiver.arrived.get(f"http://news.example/{i}/{j}")
            if got is None:
                missing += 1
            else:
                latencies.append(got - appeared)
    target = args.interval + 2
    p95 = percentile(latencies, 0.95)
    print(f"latency feed → receiver over {len(latencies)} alerts: p50 {percentile(latencies, 0.5):.2f} s, "
          f"p95 {p95:.2f} s, max {max(latencies, default=float('nan')):.2f} s "
          f"(target p95 ≤ {target:g} s: {'met' if p95 <= target else 'NOT met'}); missing {missing}")
    print(f"alerts received {receiver.count} (distinct {len(receiver.arrived)}); daemon exit status {code}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
