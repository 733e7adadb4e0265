"""What the process-level tests share: the real daemon as a subprocess, a systemd notify
socket, a webhook receiver and feeds that grow, all on 127.0.0.1.

- `spawn(config, ...)` starts `python -m raqib.cli run --config config` with its own
  environment (NOTIFY_SOCKET, WATCHDOG_USEC ...), stdout and stderr going to files.
- `NotifySocket` binds a unix datagram socket as systemd does and collects what the
  daemon sends (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...).
- `Receiver` is an HTTP server that takes the webhook channel's POSTs and records every
  alert it was given (digests unpacked), in arrival order. It listens on loopback, so
  the webhook channel pointing at it needs `allow_private: true`.
- `GrowingFeeds` publishes RSS items over time on a tests/support/feedserver.py server; every
  item title is unique random letters plus a watchlist term, so no two fold together.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
TERM = "بوتين"


def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.05, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or predicate}")
        time.sleep(step)


async def until(predicate: Callable[[], object], seconds: float = 20.0) -> None:
    """`wait_for` for a test on the event loop: the loop runs while it waits."""
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never met")


def idle_sockets(port: int, n: int, into: list[socket.socket]) -> None:
    """Open `n` non-blocking connections to 127.0.0.1:`port` that never send a byte,
    appended to `into` as they open (so the caller closes them whatever happens)."""
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        into.append(s)


def closed_by_peer(sockets: Iterable[socket.socket]) -> int:
    """How many of these non-blocking client sockets the server has closed (a read gives
    EOF or an error; one with nothing to read is still open)."""
    closed = 0
    for s in sockets:
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="rq")  # short: unix socket paths are ≤ 107 bytes
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.extend(data.decode().split("\n"))

    def count(self, line: str) -> int:
        return sum(1 for m in list(self.messages) if m == line)

    def clear(self) -> None:
        self.messages.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass


class Receiver:
    """HTTP receiver for the webhook channel; `alerts` holds every alert body received."""

    def __init__(self, delay: float = 0.0) -> None:
        receiver = self
        self.delay = delay
        self.alerts: list[dict] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                doc = json.loads(body)
                with receiver.lock:
                    receiver.alerts.extend(doc["alerts"] if doc.get("type") == "digest" else [doc])
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def urls(self) -> list[str]:
        with self.lock:
            return [a["story"]["url"] for a in self.alerts]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def random_title(rng: random.Random, term: str = TERM) -> str:
    words = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 7))) for _ in range(6)]
    words.insert(rng.randint(0, 6), term)
    return " ".join(words)


def rss(name: str, items: list[dict]) -> bytes:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{name}</title>'
           f"<link>http://news.example/{name}</link><description>{name}</description>"]
    for it in reversed(items):  # newest first, as feeds are
        out.append(f"<item><title>{escape(it['title'])}</title><link>{escape(it['url'])}</link>"
                   f"<guid>{escape(it['url'])}</guid><pubDate>{formatdate(it['published'], usegmt=True)}</pubDate>"
                   f"<description>{escape(it.get('summary', ''))}</description></item>")
    out.append("</channel></rss>\n")
    return "".join(out).encode("utf-8")


class GrowingFeeds:
    """`feeds` RSS feeds on a FeedServer; `publish()` adds the next item to one of them."""

    def __init__(self, server, feeds: int, seed: int = 8, term: str = TERM) -> None:
        self.server = server
        self.names = [f"outlet{i:02d}" for i in range(feeds)]
        self.items: dict[str, list[dict]] = {n: [] for n in self.names}
        self.rng = random.Random(seed)
        self.term = term
        self.published: list[str] = []
        self.appeared: dict[str, float] = {}
        for n in self.names:
            server.route(f"/{n}.xml", body=rss(n, []))

    def url(self, name: str) -> str:
        return self.server.url(f"/{name}.xml")

    def publish(self, feed: str | None = None, title: str | None = None) -> str:
        name = feed or self.names[len(self.published) % len(self.names)]
        url = f"http://news.example/{name}/{len(self.published)}"
        self.items[name].append({"title": title or random_title(self.rng, self.term), "url": url,
                                 "published": time.time(), "summary": ""})
        self.server.routes[f"/{name}.xml"].body = rss(name, self.items[name])
        self.published.append(url)
        self.appeared[url] = time.time()
        return url


def write_config(tmp: Path, feeds: dict[str, str], *, watchlists: Path, extra: str = "",
                 database: str | None = None) -> Path:
    """A config of these feeds; `database` (a postgresql:// URL) instead of state/raqib.db."""
    lines = [f"database: '{database or tmp / 'state' / 'raqib.db'}'", f"watchlists: {watchlists}", "feeds:"]
    lines += [f'  - {{name: {n}, url: "{u}"}}' for n, u in feeds.items()]
    path = tmp / "raqib.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def write_watchlist(folder: Path, name: str, terms: list[str], notify: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = [f"name: {name}", f"title: {name}", "terms:"] + [f"  - {t}" for t in terms]
    if notify:
        body.append("notify:")
        body += [f"  {ch}: [{', '.join(json.dumps(d) for d in dests)}]" for ch, dests in notify.items()]
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


class Daemon:
    """The real daemon in a subprocess; logs in `stderr_path`, console alerts in `stdout_path`."""

    def __init__(self, config: Path, log_dir: Path, *, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), tag: str = "run") -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / f"{tag}.out"
        self.stderr_path = log_dir / f"{tag}.err"
        full_env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC",
                                                                     "WATCHDOG_PID")}
        full_env.update(env or {})
        full_env["PYTHONPATH"] = str(ROOT)
        full_env["PYTHONUNBUFFERED"] = "1"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "raqib.cli", *args, "run", "--config", str(config)],
                                         stdout=out, stderr=err, env=full_env, cwd=str(ROOT))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)
