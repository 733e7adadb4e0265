"""`raqib outbox`: the alerts not yet delivered; `retry` queues dead ones again."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime

from monitor.config import load_config
from monitor.store import Store

from .common import config_path


def cmd_outbox(args: argparse.Namespace) -> int:
    config = load_config(config_path(args))
    store = Store(config.database, readonly=args.outbox_command != "retry")
    try:
        if args.outbox_command == "retry":
            n = store.outbox.retry_dead(args.ids or None)
            print(f"{n} dead alerts queued again")
            return 0
        rows = store.outbox.unsent()
        for r in rows:
            error = ("held: " if r.held else "") + (r.last_error or "")
            print(f"#{r.id} {r.state:<8} {r.channel}:{r.destination} {r.kind} "
                  f"{r.watchlist} attempts={r.attempts} "
                  f"next={datetime.fromtimestamp(r.next_try, UTC):%Y-%m-%d %H:%M:%S}"
                  + (f" error={error}" if error else ""))
        print(f"{len(rows)} alerts not yet sent")
        return 0
    finally:
        store.close()
