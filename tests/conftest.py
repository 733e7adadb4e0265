"""Suite-wide settings, and the two test tiers.

Tiers: a test is `slow` when it starts a daemon (a `raqib` subprocess, or the Daemon in
this process), a browser, PostgreSQL or any subprocess, or sleeps. `make test-fast` runs
the rest (`-m "not slow"`); `make test` runs everything.

The marker is put on by `pytest_collection_modifyitems`, not by hand, so a new test cannot
forget it:
- every test under tests/system/ is slow;
- so is a test whose code, the code of the fixtures it uses, or the code of any function of
  the test suite these call (followed through the names they use, transitively) reaches one
  of `SLOW_ROOTS`: the Daemon, a subprocess, PostgreSQL, Playwright, `time.sleep`.
A module may also say `pytestmark = pytest.mark.slow`.

What the names cannot show (a method of an object, a slow loop) the clock does: in a run
that deselects the slow tests, a test taking more than `FAST_LIMIT` seconds (setup, call
and teardown together) fails, naming the marker, so the fast tier stays fast.
"""
from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import psycopg
import pytest

from raqib.daemon import Daemon
from tests.support import daemon_harness, pg

# aiosmtpd logs every connection at INFO from its own thread, sometimes after pytest has
# closed the stream it captured; its chatter says nothing the email tests assert.
logging.getLogger("mail.log").setLevel(logging.WARNING)

TESTS = Path(__file__).resolve().parent
SYSTEM = TESTS / "system"
FAST_LIMIT = float(os.environ.get("RAQIB_FAST_LIMIT", "2.0"))  # seconds a test of the fast tier may take

# What makes a test slow, by identity: reaching one of these objects through the names the
# code uses. Modules count whatever attribute is used (`subprocess.run`, `psycopg.connect`).
SLOW_ROOTS: tuple[object, ...] = (Daemon, daemon_harness.Daemon, subprocess, psycopg, time.sleep)
SLOW_MODULE_PREFIXES = ("playwright",)  # the browser


@pytest.fixture
def restore_logging():
    """`raqib.cli.main` points the root logger at the test's captured stderr; undo that."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def _codes(code: types.CodeType):
    """A code object and those nested in it (inner functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _is_slow_object(obj: object) -> bool:
    if any(obj is root for root in SLOW_ROOTS):
        return True
    module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    return isinstance(module, str) and module.startswith(SLOW_MODULE_PREFIXES)


def _suite_function(obj: object):
    """The plain function behind `obj` when it is written in the test suite, else None."""
    func = inspect.unwrap(obj) if callable(obj) else None
    if isinstance(func, types.FunctionType) and func.__module__.split(".")[0] == "tests":
        return func
    return None


class _Reach:
    """Which suite functions reach a slow root, remembered across the session."""

    def __init__(self) -> None:
        self.known: dict[types.FunctionType, str | None] = {}

    def why(self, func: types.FunctionType) -> str | None:
        """The slow object `func` reaches (its name), or None."""
        func = inspect.unwrap(func)
        if func in self.known:
            return self.known[func]
        self.known[func] = None  # a cycle reaches nothing new
        found = None
        for code in _codes(func.__code__):
            scope = dict(func.__globals__)
            for name in code.co_names:  # `from tests.support.x import y` inside the function
                module = sys.modules.get(name)
                if module is not None and name.split(".")[0] == "tests":
                    scope.update((n, getattr(module, n)) for n in code.co_names if hasattr(module, n))
            for name in code.co_names:
                if name == "sleep" and scope.get("time") is time:  # time.sleep(...)
                    found = "time.sleep"
                elif name in scope:
                    obj = scope[name]
                    if _is_slow_object(obj):
                        found = getattr(obj, "__qualname__", getattr(obj, "__name__", name))
                    elif (inner := _suite_function(obj)) not in (None, func) and (why := self.why(inner)) is not None:
                        found = f"{name} → {why}"
                elif name in ("subprocess", "psycopg", "playwright"):  # imported inside the function
                    found = name
                if found:
                    break
            if found:
                break
        self.known[func] = found
        return found


def _slow_reason(item: pytest.Item, reach: _Reach) -> str | None:
    if Path(str(item.fspath)).resolve().is_relative_to(SYSTEM):
        return "tests/system"
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        funcs += [d.func for d in defs]
    for obj in funcs:
        func = _suite_function(obj) if obj is not None else None
        if func is not None and (why := reach.why(func)) is not None:
            return f"{func.__name__} → {why}"
    return None


def pytest_collection_modifyitems(config, items):
    reach = _Reach()
    for item in items:
        if item.get_closest_marker("slow") is None:
            why = _slow_reason(item, reach)
            if why is not None:
                item.add_marker(pytest.mark.slow(reason=why))


def _fast_run(config) -> bool:
    """True when this run deselects the slow tests (`-m "not slow"`)."""
    expr = (config.getoption("markexpr", "") or "").replace(" ", "")
    return "notslow" in expr


def _run_delay() -> float:
    """Seconds this thread has waited for a CPU, from the kernel's scheduler statistics (0
    where there are none): a busy machine's wait is no fault of the test."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


_START = pytest.StashKey[tuple[float, float]]()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_START] = (time.perf_counter(), _run_delay())
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In a fast run, a test not marked slow that took over FAST_LIMIT seconds (setup, call
    and teardown, less the time its thread waited for a CPU) fails at its teardown."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "teardown" or not report.passed or _START not in item.stash:
        return
    if not _fast_run(item.config) or item.get_closest_marker("slow") is not None:
        return
    started, delay_before = item.stash[_START]
    wall = time.perf_counter() - started
    waited = _run_delay() - delay_before
    if wall - waited > FAST_LIMIT:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} took {wall - waited:.1f} s ({wall:.1f} s, {waited:.1f} s of it waiting for a "
                           f"CPU), over the fast tier's {FAST_LIMIT:g} s: make it faster, or mark it slow "
                           "(pytest.mark.slow) if it starts a daemon, a browser or PostgreSQL, or sleeps")


def pytest_terminal_summary(terminalreporter):
    """One line, once, when PostgreSQL tests were skipped for want of a server (read from
    the skip reports, so it works when workers ran the tests)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any(pg.SKIP_REASON in str(getattr(r, "longrepr", "")) for r in skipped):
        terminalreporter.write_line(pg.ENABLE.format(url=pg.server_url()), yellow=True)
