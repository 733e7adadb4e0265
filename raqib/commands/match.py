"""`raqib match`: JSON Lines stories in, each with the watchlists and terms it matched out
(the line format is in raqib/jsonl.py)."""
from __future__ import annotations

import argparse
import json
import sys

from monitor.match import Matcher
from monitor.watchlists import load_watchlists

from ..jsonl import match_stream
from .common import open_input


def cmd_match(args: argparse.Namespace) -> int:
    matcher = Matcher(load_watchlists(args.watchlists))
    with open_input(args.input) as stream:
        out = sys.stdout
        source = args.input if args.input and args.input != "-" else "<stdin>"
        for result in match_stream(matcher, stream, source=source):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0
