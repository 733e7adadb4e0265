"""Feed decoding and parsing in worker processes, each under a deadline.

Why processes: parsing is CPU work on text a stranger wrote. `html_to_text` is linear
and reads a bounded amount, but feedparser has slow paths of its own (its loose parser
takes about 10 s for 1 MB of nested tags, and the body cap allows 10 MB). A thread
running such a parse can be neither stopped nor kept from the CPU: it would hold up the
other feeds' parses and the daemon's shutdown. A process can be killed.

A job is the body as fetched (bytes and the HTTP charset): the worker decodes it
(`monitor.decode`, whose charset guess over a large undeclared body is seconds of CPU)
and parses it, so neither ever runs on the daemon's event loop. An article job
(`extract`) is a fetched article page: the worker decodes it and extracts its main text
(`monitor.article.extract`), under the same deadline and kill rules; a page past its
deadline or one that kills its worker fails with ParseError, as a feed does. What a
worker does with a job is `monitor.parse_worker`.

Rules:
- At most `size` worker processes (default twice the CPUs, at least 2, at most 8), each
  owned by one thread of the pool and started when that thread first needs it, from a
  forkserver that has imported `monitor.parse_worker` already (the parser, the decoder
  and the extractor with it): a worker starts in milliseconds and inherits none of the
  daemon's threads, sockets or SQLite connections. The pool's threads only wait on
  their workers, and are daemon threads: an exiting interpreter never waits for a parse.
- This module never imports `monitor.parse_worker`, nor the extractor: a worker's target
  (`_work`) looks the worker module up by name in the worker. trafilatura and lxml,
  about 11 MB of memory the daemon's own process would never use, stay out of it
  (tests/raqib/test_daemon_imports.py checks it).
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
- A feed's stories come back in messages of `CHUNK` (`monitor.parse_worker._send`,
  `_receive`): unpickling 26,000 stories at once holds the interpreter for a few hundred
  milliseconds, which the event loop would wait out; a chunk takes a few.
"""
from __future__ import annotations

import asyncio
import dataclasses
import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import queue
import signal
import threading
import time
import weakref
from concurrent.futures import Future
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, TypeAlias

from .errors import ParseError
from .models import Story
from .parse import ParsedFeed

WORKER = "monitor.parse_worker"  # what a worker process runs; named, never imported here
CHUNK = 1000  # stories per message from a worker

_CONTEXT = multiprocessing.get_context("forkserver")
# What the forkserver imports before it forks anything: the workers' module, and the one
# whose process rebuilds the event index at a start with no snapshot (`monitor.indexes`),
# forked at once then instead of importing the store and dedup first (half a second of
# the restart's critical path)
_CONTEXT.set_forkserver_preload([WORKER, "monitor.indexes"])


def start_forkserver() -> None:
    """Start the forkserver now, if it is not running: it imports what it preloads while
    the daemon starts, and the first worker or rebuild process is forked at once."""
    multiprocessing.forkserver.ensure_running()

#: ("feed", feed, body, charset, url, fetched, done) or ("article", url, body, charset)
Job = tuple[Any, ...]
#: ("ok", ParsedFeed or the article's text), ("parse", message, hint) or ("error", description)
Reply = tuple[Any, ...]
Pipe: TypeAlias = "Connection[Any, Any]"  # a worker's end or the pool's: pickled jobs, replies and chunks of stories


class ParsingStopped(Exception):
    """The pool was closed (the daemon is stopping) before this parse finished."""


class _Worker:
    def __init__(self) -> None:
        self.conn, child = _CONTEXT.Pipe(duplex=True)
        self.process = _CONTEXT.Process(target=_work, args=(child,), name="raqib-parse", daemon=True)
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
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Job, float] | None] = queue.SimpleQueue()
        self._threads = 0  # threads started, each owning one worker process at a time
        self._idle = 0  # threads waiting for a job
        self._waiting = 0  # jobs queued and not yet taken
        self._local = threading.local()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._closed = False
        weakref.finalize(self, _kill_all, self._workers, self._lock)

    async def parse(self, feed: str, body: bytes, charset: str | None, url: str, fetched: datetime, *,
                    deadline: float, done: bytes = b"") -> ParsedFeed:
        """The fetched `body` decoded (`charset` from HTTP, if any) and parsed in a worker,
        within `deadline` seconds; the items whose keys are in `done` are not read again
        (`monitor.feed_items`)."""
        return await self._submit(("feed", feed, body, charset, url, fetched, done), deadline)

    async def extract(self, url: str, body: bytes, charset: str | None, *, deadline: float) -> str:
        """The main text of the article page `body` (fetched from `url`), decoded and extracted
        in a worker within `deadline` seconds: paragraphs one blank line apart, "" if none."""
        return await self._submit(("article", url, body, charset), deadline)

    async def _submit(self, job: Job, deadline: float) -> Any:  # a ParsedFeed, or an article's text
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise ParsingStopped()
            self._jobs.put((future, job, deadline))
            self._waiting += 1
            if self._waiting > self._idle and self._threads < self.size:
                self._threads += 1
                # daemon threads: an interpreter exiting never waits for one
                threading.Thread(target=self._serve_jobs, name="raqib-parse", daemon=True).start()
        return await asyncio.wrap_future(future)  # cancelled here, a job not begun is dropped

    def close(self) -> None:
        """Cancel waiting parses and kill the workers; parses in progress end with ParsingStopped."""
        with self._lock:
            self._closed = True
            threads = self._threads
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is None:
                continue
            with self._lock:
                self._waiting -= 1
            if item[0].set_running_or_notify_cancel():
                item[0].set_exception(ParsingStopped())
        for _ in range(threads):
            self._jobs.put(None)
        _kill_all(self._workers, self._lock)

    # -- in the pool's threads ----------------------------------------------------------

    def _serve_jobs(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            item = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if item is not None:
                    self._waiting -= 1
            if item is None:
                return
            future, job, deadline = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._run(job, deadline))
            except BaseException as exc:  # handed to the waiting coroutine
                future.set_exception(exc)

    def _run(self, job: Job, deadline: float) -> ParsedFeed | str:
        article = job[0] == "article"
        feed, url = ("", job[1]) if article else (job[1], job[4])
        worker = self._worker()
        try:
            worker.conn.send(job)
            finished = self._wait(worker, deadline)
            reply = _receive(worker.conn) if finished else None
        except (EOFError, OSError):
            finished, reply = True, None
        if reply is None:
            self._discard(worker)
            ended = "" if not finished else worker.how_it_ended()
            if self._stopping() or ended == f"killed by {signal.SIGTERM.name}":
                raise ParsingStopped()
            if not finished and article:
                raise ParseError(f"extracting the text took longer than {deadline:g}s and was stopped",
                                 url=url, hint="the page is too large or too odd to read in time")
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

    def _wait(self, worker: _Worker, deadline: float) -> bool:
        """Whether the worker answered (or died) within the deadline. Looks every half
        second whether the pool was closed or the main thread has ended: then it stops
        waiting at once."""
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0 or self._stopping():
                return False
            if worker.conn.poll(min(left, 0.5)):
                return True

    def _stopping(self) -> bool:
        return self._closed or not threading.main_thread().is_alive()

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


def _work(conn: Pipe) -> None:
    """A worker process's target: `serve` of the module named `WORKER`, looked up by name in
    the worker (where the forkserver has imported it already), so that this module, and the
    daemon with it, never imports the extractor's trafilatura and lxml."""
    importlib.import_module(WORKER).serve(conn)


def _receive(conn: Pipe) -> Reply:
    """What `monitor.parse_worker._send` sent, put back together: ("ok", ParsedFeed) or the worker's error."""
    reply = conn.recv()
    if reply[0] != "chunked":
        return reply
    _, parsed, count = reply
    stories: list[Story] = []
    for _ in range(count):
        stories += conn.recv()
    return ("ok", dataclasses.replace(parsed, stories=stories))
