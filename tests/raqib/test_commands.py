"""`raqib/cli.py` dispatches each command to its module of raqib/commands/, imported only
when that command runs: every command of the parser has a module and a function, and
parsing (`raqib --help`) imports none of them, nor the daemon, the store or httpx."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from raqib.cli import COMMANDS, build_parser, command

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_of_the_parser_has_its_module_and_function() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)  # type: ignore[attr-defined]
    for name in COMMANDS:
        assert callable(command(name)), name


def test_parsing_the_command_line_imports_no_command() -> None:
    code = ("import sys\nfrom raqib.cli import build_parser\n"
            "build_parser().parse_args(['check'])\n"
            "heavy = ('raqib.commands.', 'raqib.daemon', 'monitor.store', 'monitor.match', 'httpx', 'telegram')\n"
            "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    done = subprocess.run([sys.executable, "-m", "raqib.cli", "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert name in done.stdout
