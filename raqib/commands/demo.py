"""`raqib demo`: the real daemon on bundled Arabic feeds served locally (raqib/demo.py)."""
from __future__ import annotations

import argparse

from ..demo import run_demo


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(seconds=args.seconds, watchlists=args.watchlists, keep=args.keep, serve=args.serve,
                    port=args.port)
