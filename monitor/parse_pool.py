"""Feed parsing in worker processes, each parse under a deadline.

Why processes: parsing is CPU work on text a stranger wrote. `html_to_text` is linear
and reads a bounded amount, but feedparser has slow paths of its own (its loose parser
takes about 10 s for 1 MB of nested tags, and the body cap allows 10 MB). A thread
running such a parse can be neither stopped nor kept from the CPU: it would hold up the
other feeds' parses and the daemon's shutdown. A process can be killed.

Rules:
- At most `size` worker processes (default twice the CPUs, at least 2, at most 8), each
  owned by one thread of the pool and started when that thread first needs it, from a
  forkserver that has imported `monitor.parse` already: a worker starts in milliseconds
  and inherits none of the daemon's threads, sockets or SQLite connections.
- Jobs wait in arrival order for a free worker; the deadline counts from when the job
  reaches its worker.
- A parse past its deadline: the worker is killed (SIGKILL) and a new one started for
  the next job; the job fails with ParseError "parsing took longer than N s", which the
  poller records on the feed like any failure (backoff, retried later). A worker that
  dies (out of memory, killed) fails its job the same way, with how it died.
- `close()` (at shutdown) cancels waiting jobs and kills the workers; a job in progress
  then ends with ParsingStopped, which is not the feed's fault: nothing of that poll was
  stored, so the feed is fetched and parsed again later. A worker killed by SIGTERM
  (systemd stops the whole service at once) counts as stopped too. Workers ignore
  SIGINT, so Ctrl-C in a terminal reaches the daemon alone, which then stops them.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from .errors import ParseError
from .parse import ParsedFeed, parse_feed

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["monitor.parse"])


class ParsingStopped(Exception):
    """The pool was closed (the daemon is stopping) before this parse finished."""


class _Worker:
    def __init__(self) -> None:
        self.conn, child = _CONTEXT.Pipe(duplex=True)
        self.process = _CONTEXT.Process(target=_serve, args=(child,), name="raqib-parse", daemon=True)
        self.process.start()
        child.close()

    def stop(self) -> None:
        """Kill the process (from any thread); its pipe is left to the thread that owns it."""
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join(5)

    def kill(self) -> None:
        """Kill the process and close its pipe (from the thread that owns it)."""
        self.stop()
        self.conn.close()

    def how_it_ended(self) -> str:
        self.process.join(1)
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit status {code}"


class ParsePool:
    """parse_feed in worker processes; see the module docstring."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or min(8, max(2, 2 * (os.cpu_count() or 1)))
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="raqib-parse")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._closed = False
        weakref.finalize(self, _kill_all, self._workers, self._lock)

    async def parse(self, feed: str, text: str, url: str, fetched: datetime, *,
                    deadline: float) -> ParsedFeed:
        """parse_feed(feed, text, url, fetched) in a worker, within `deadline` seconds."""
        if self._closed:
            raise ParsingStopped()
        try:
            future = asyncio.get_running_loop().run_in_executor(
                self._executor, self._run, (feed, text, url, fetched), deadline)
        except RuntimeError:  # the executor was shut down meanwhile
            raise ParsingStopped() from None
        try:
            return await future
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                raise ParsingStopped() from None  # close() cancelled the waiting job
            raise

    def close(self) -> None:
        """Cancel waiting parses and kill the workers; parses in progress end with ParsingStopped."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        _kill_all(self._workers, self._lock)

    # -- in the pool's threads ----------------------------------------------------------

    def _run(self, job: tuple, deadline: float) -> ParsedFeed:
        feed, url = job[0], job[2]
        worker = self._worker()
        try:
            worker.conn.send(job)
            finished = worker.conn.poll(deadline)
            reply = worker.conn.recv() if finished else None
        except (EOFError, OSError):
            finished, reply = True, None
        if reply is None:
            self._discard(worker)
            ended = "" if not finished else worker.how_it_ended()
            if self._closed or ended == f"killed by {signal.SIGTERM.name}":
                raise ParsingStopped()
            if not finished:
                raise ParseError(f"parsing took longer than {deadline:g}s and was stopped", feed=feed,
                                 url=url, hint="the feed is too large or too odd to read in time; "
                                 "it is tried again later")
            raise ParseError(f"the parser process died ({ended})", feed=feed, url=url,
                             hint="out of memory perhaps; the feed is tried again later")
        kind, *value = reply
        if kind == "ok":
            return value[0]
        if kind == "parse":
            raise ParseError(value[0], feed=feed, url=url, hint=value[1])
        raise ParseError(f"feed could not be parsed: {value[0]}", feed=feed, url=url)

    def _worker(self) -> _Worker:
        worker = getattr(self._local, "worker", None)
        if worker is not None and worker.process.exitcode is None:
            return worker
        if worker is not None:
            self._discard(worker)
        with self._lock:
            if self._closed:
                raise ParsingStopped()
            worker = _Worker()
            self._workers.add(worker)
        self._local.worker = worker
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        if getattr(self._local, "worker", None) is worker:
            self._local.worker = None
        worker.kill()


def _kill_all(workers: set[_Worker], lock: threading.Lock) -> None:
    with lock:
        doomed = list(workers)
        workers.clear()
    for worker in doomed:
        worker.stop()


def _serve(conn) -> None:
    """A worker: parse each job received, answer ("ok", ParsedFeed) or ("parse", message,
    hint) or ("error", description); exit when the daemon's end of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple = ("ok", parse_feed(*job))
        except ParseError as exc:
            reply = ("parse", exc.message, exc.hint)
        except Exception as exc:  # reported to the daemon, which records it on the feed
            reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
