"""The daemon's own process never imports trafilatura or lxml.

Article extraction runs only in the parse worker processes (`monitor.parse_worker`,
preloaded by the pool's forkserver); in the daemon's process those two libraries would be
about 11 MB of memory it never uses, held for as long as it runs. One import of the
extractor anywhere on the daemon's way (a module that `raqib.daemon` imports, or the
pool itself) brings them back, and nothing else would show it: each check runs in a fresh
interpreter, since this one has imported them for the other tests.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "tests" / "data" / "pages" / "aljazeera-1.html"
EXTRACTOR = "('trafilatura', 'lxml')"  # top-level packages the daemon's process must not load
LOADED = f"print(sorted(m for m in sys.modules if m.split('.')[0] in {EXTRACTOR}))\n"


def run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_importing_the_daemon_and_its_run_command_loads_no_extractor() -> None:
    assert run("import sys\nimport raqib.daemon\nimport raqib.commands.run\n" + LOADED) == ["[]"]


def test_the_pool_extracts_in_its_workers_and_its_own_process_stays_without_the_extractor() -> None:
    code = ("import asyncio, sys\nfrom pathlib import Path\nfrom monitor.parse_pool import ParsePool\n"
            "pool = ParsePool(1)\n"
            f"text = asyncio.run(pool.extract('https://www.aljazeera.net/news/1', Path({str(PAGE)!r}).read_bytes(),"
            " None, deadline=60))\n"
            "pool.close()\nprint(len(text) > 200)\n" + LOADED)
    assert run(code) == ["True", "[]"]
