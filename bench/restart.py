"""Restart benchmark: the real daemon, N stories stored, the time from the process start
to the first new alert.

Run:  .venv/bin/python bench/restart.py [--sizes 20000,200000] [--code DIR ...]

What it does:

* A SQLite database with N stories, all within the dedup window (fetched over the last
  70 hours), built once per N with the store's own `insert_story` and kept in /tmp
  (`raqib-restart-N.v2.db`); every run starts from a fresh copy of it. The stories are
  those of bench/dedup.py (the ANT corpus and SaudiNewsNet read in place from
  ../shared/data, then synthetic ones of real word runs), so the rebuild reads real text.
* A feed served on 127.0.0.1 (tests/support/feedserver.py) carries one new story with the term
  of the one watchlist; the console channel prints its alert on the daemon's stdout.
* `raqib run` is started as a process (`python -m raqib.cli run --config ...`); the
  figure is the wall time from Popen to the alert's line on its stdout. The daemon's
  peak RSS (VmHWM) is read before it is stopped with SIGTERM.
* Per N: "cold" (no index snapshot: the indexes are rebuilt from the store), then the
  daemon is stopped (it writes its snapshot) and started again with one more new story:
  "snapshot". Then an upgrade: the dedup settings change (`dedup.max_candidates`, which
  changes the snapshot's fingerprint as new dedup code does), `raqib index` is run first
  (its wall time printed; an operator runs it while the old daemon still works), and the
  daemon started again: "prepared". `--code DIR` runs the same cold start with another
  checkout of Raqib (an earlier release, for a before/after in one run; it has no
  snapshot, so cold only).

The machine's load average is printed with the figures: wall times on a shared machine
move with it.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.dedup import Window, corpus  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.urls import canonical_url  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402

TERM = "بوتين"
HOURS = 70


def build(n: int, path: Path) -> None:
    if path.exists():
        return
    rows = corpus()
    window = Window(rows, n)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    store = Store(tmp)
    now = time.time()
    start = now - HOURS * 3600
    done = 0
    while done < n:
        with store.transaction() as conn:
            for i in range(done, min(n, done + 10_000)):
                title, lead, url = window.story(i)
                t = start + (now - start - 600) * i / n
                store.stories.insert(conn, {"id": i + 1, "feed": f"outlet{i % 40}", "guid": f"g{i}",
                                          "url": url or f"https://x.example/{i}",
                                          "canonical_url": canonical_url(url or f"https://x.example/{i}"),
                                          "title": title, "summary": lead, "published": t, "fetched": t,
                                          "cluster": i + 1, "event": i + 1, "dedup_kind": "new"})
        done = min(n, done + 10_000)
    store.close()
    tmp.rename(path)


def rss(items: list[tuple[str, str]]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>new</title>']
    when = format_datetime(datetime.now(UTC))
    for title, url in items:
        out.append(f"<item><title>{escape(title)}</title><link>{url}</link><guid>{url}</guid>"
                   f"<pubDate>{when}</pubDate><description>{escape(title)}</description></item>")
    return "".join(out) + "</channel></rss>"


def start_to_alert(code: Path, config: Path, marker: str, timeout: float = 900.0) -> tuple[float, float, str]:
    """Seconds from Popen to the alert line with `marker`; peak RSS MB; how the indexes came."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(code)}
    env.pop("NOTIFY_SOCKET", None)
    log = config.with_suffix(".log")
    with open(log, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "raqib.cli", "run", "--config", str(config)], cwd=code,
                                stdout=subprocess.PIPE, stderr=err, env=env)
        took = float("nan")
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in iter(proc.stdout.readline, b""):
            if marker.encode() in line:
                took = time.perf_counter() - t0
                break
            if time.monotonic() > deadline:
                break
        peak = 0.0
        try:
            for row in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if row.startswith("VmHWM:"):
                    peak = int(row.split()[1]) / 1024
        except OSError:
            pass
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    text = log.read_text(errors="replace")
    source = "snapshot" if "source=snapshot" in text else "rebuild"
    if source == "snapshot" and re.search(r"index snapshot loaded path=\S+\.index\.[0-9a-f]{16} ", text):
        source = "prepared"
    return took, peak, source


def prepare(code: Path, config: Path) -> float:
    """Wall seconds of `raqib index` (the indexes built ahead of the restart)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "raqib.cli", "index", "--config", str(config)], cwd=code, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20000,200000")
    ap.add_argument("--code", action="append", default=[], help="another checkout to time (cold start)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    server = FeedServer().start()
    work = Path(tempfile.mkdtemp(prefix="raqib-restart-"))
    (work / "wl").mkdir()
    (work / "wl" / "w.yaml").write_text(f"name: w\nterms: [{TERM}]\n", encoding="utf-8")
    print(f"{'stored':>8} {'code':>10} {'start':>9} {'s to alert':>11} {'peak RSS MB':>12}")
    count = 0
    try:
        for n in (int(x) for x in args.sizes.split(",")):
            cached = Path(tempfile.gettempdir()) / f"raqib-restart-{n}.v2.db"
            build(n, cached)
            runs = [(Path(c).resolve(), "cold") for c in args.code] + [(ROOT, "cold"), (ROOT, "snapshot"),
                                                                        (ROOT, "prepared")]
            for code, kind in runs:
                db = work / "raqib.db"
                if kind == "cold":
                    for p in work.glob("raqib.db*"):
                        p.unlink()
                    shutil.copyfile(cached, db)
                count += 1
                marker = f"{TERM} خبر جديد رقم {count}"
                feed = f"/new{count}.xml"  # a feed never polled: due at once
                server.route(feed, text=rss([(marker, f"https://new.example/{count}")]))
                config = work / "raqib.yaml"
                config.write_text(f"database: {db}\nwatchlists: {work / 'wl'}\nallow_private_feeds: true\n"
                                  f"feeds:\n  - {{name: new{count}, url: \"{server.url(feed)}\"}}\n"
                                  # a feed's first poll alerts what it published in the last hour
                                  # (poll.backfill; by default a new feed's backlog alerts nothing)
                                  "poll: {backfill: 1h}\n"
                                  "channels:\n  console: {}\n"
                                  + ("dedup: {max_candidates: 41}\n" if kind == "prepared" else ""), encoding="utf-8")
                if kind == "prepared":
                    print(f"{n:>8} {'this':>10} {'index':>9} {prepare(code, config):>11.1f}   (raqib index, "
                          f"run before the restart)", flush=True)
                took, peak, source = start_to_alert(code, config, marker)
                label = "this" if code == ROOT else code.name
                print(f"{n:>8} {label:>10} {source if code == ROOT else 'rebuild':>9} {took:>11.1f} {peak:>12.0f}"
                      f"   (load {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
