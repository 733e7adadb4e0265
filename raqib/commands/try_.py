"""`raqib try`: what a watchlist file would have alerted on among the stored stories, and
what its rules dropped; nothing is saved or sent. (`try_`: `try` is a Python keyword.)"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from monitor.config import load_config
from monitor.desk import TryReport, try_watchlist
from monitor.display import one_line
from monitor.errors import ConfigError
from monitor.store import Store
from monitor.yamlfile import MAX_BYTES

from .common import config_path
from .storylines import Marks, local_zone, story_lines


def cmd_try(args: argparse.Namespace) -> int:
    text = _read_text(Path(args.watchlist), MAX_BYTES)
    config = load_config(config_path(args))
    store = Store(config.database, readonly=True)
    try:
        report = try_watchlist(store, text, file=args.watchlist, days=args.days, tz=local_zone())
    finally:
        store.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 1 if report.problems else 0
    if report.problems:
        for problem in report.problems:
            print(str(problem))
        return 1
    print(format_try(report, Marks.for_stream(sys.stdout)))
    return 0


def _read_text(path: Path, limit: int) -> str:
    """A file people edit, read as UTF-8, refused past `limit` bytes (as the YAML reader does)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    if len(data) > limit:
        raise ConfigError(f"file too large (more than {limit:,} bytes)", file=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None


def format_try(report: TryReport, marks: Marks) -> str:
    """`raqib try` for people: each alert, each dropped story and its rule, alerts per day,
    the terms that fired most and those that never did."""
    several = len(report.watchlists) > 1
    out = [f"{', '.join(report.watchlists)}: {report.alerts} alert{'s' if report.alerts != 1 else ''} "
           f"among the {report.scanned:,} stories of the last {report.days:g} day{'s' if report.days != 1 else ''}; "
           f"{report.dropped_count} dropped by a rule. Nothing was saved or sent."]
    if report.alerts > len(report.hits):
        out.append(f"(the newest {len(report.hits)} shown)")
    for hit in report.hits:
        terms = ", ".join(one_line(t, 80) for t in hit.terms)
        out.append("")
        out += story_lines(hit, marks, note=(f"[{hit.watchlist}] " if several else "") + f"term: {terms}")
    if report.dropped:
        out += ["", "dropped:"]
    for drop in report.dropped:
        story = drop.story
        if drop.rule == "exclude":
            rule = "exclude: " + ", ".join(one_line(t, 80) for t in drop.terms)
            matches = drop.stopped_by
        else:
            rule = "require: none of " + ", ".join(one_line(t, 80) for t in drop.terms)
            matches = story.matches
        out.append("")
        out += story_lines(story, marks, note=(f"[{story.watchlist}] " if several else "") + rule, matches=matches)
    out += ["", "alerts per day:"]
    most = max((n for _, n in report.per_day), default=0)
    for day, n in report.per_day:
        bar = "█" * (round(20 * n / most) if most else 0)
        out.append(f"  {day}  {n:>5}  {bar}".rstrip())
    if report.top_terms:
        out += ["", "terms that fired most:"]
        out += [f"  {n:>5}  {(wl + ': ') if several else ''}{one_line(term, 80)}"
                for wl, term, n in report.top_terms[:10]]
    if report.never_fired:
        out += ["", "terms that never fired:"]
        out += [f"  {(wl + ': ') if several else ''}{one_line(term, 80)}" for wl, term in report.never_fired]
    return "\n".join(out)
