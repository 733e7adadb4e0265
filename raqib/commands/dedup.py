"""`raqib dedup`: JSON Lines stories in, each with its copy cluster and its event out
(the line format is in raqib/jsonl.py)."""
from __future__ import annotations

import argparse
import json
import sys

from ..jsonl import dedup_stream
from .common import open_input


def cmd_dedup(args: argparse.Namespace) -> int:
    with open_input(args.input) as stream:
        out = sys.stdout
        for result in dedup_stream(stream, explain=args.explain):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0
