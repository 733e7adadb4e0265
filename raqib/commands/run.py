"""`raqib run`: the daemon, until SIGTERM, SIGINT or `--seconds`."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from monitor.memory import map_large_blocks
from monitor.parse_pool import start_forkserver

from ..daemon import load_daemon
from .common import config_path


def cmd_run(args: argparse.Namespace) -> int:
    # until the event loop installs its own handlers, SIGTERM during start-up is a clean exit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    map_large_blocks()  # the process runs for months: what it frees goes back (monitor.memory)
    start_forkserver()  # its imports go on while the daemon starts (monitor.parse_pool)
    daemon = load_daemon(config_path(args))
    asyncio.run(daemon.run(seconds=args.seconds))
    if daemon.fatal:
        print(f"raqib: {daemon.fatal}", file=sys.stderr)
        return 1
    return 0
