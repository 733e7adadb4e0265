"""The `raqib` command line: its parser, and a table from each command to the module that
runs it. What each command takes and prints is in the README, "Commands"; `raqib match`
and `raqib dedup` read and write JSON Lines in raqib/jsonl.py.

Exit status: 0 success, 1 bad input or config (a message on stderr naming the file and
line), 2 usage error.

The global options (`--config/-c`, `--log-level`, `--log-format`) are accepted anywhere
on the line: before the command, after it, or after a sub-command (`raqib feeds import
--config X f.opml`); given twice, the last one counts. Commands that only read (status,
feeds, feeds export, outbox, backup, try, search) open the database read-only, so they work beside a
running daemon and on a read-only mount.

Each command is a module of raqib/commands/, imported only when that command runs:
`raqib --help`, `check`, `match` and `dedup` do not pay for importing the daemon, the
channels and httpx.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from monitor.errors import RaqibError

from .logs import setup_logging

# command -> "module of raqib.commands:function" that runs it, given the parsed arguments
COMMANDS: dict[str, str] = {
    "run": "run:cmd_run",
    "check": "check:cmd_check",
    "match": "match:cmd_match",
    "dedup": "dedup:cmd_dedup",
    "try": "try_:cmd_try",
    "search": "search:cmd_search",
    "demo": "demo:cmd_demo",
    "status": "status:cmd_status",
    "feeds": "feeds:cmd_feeds",
    "outbox": "outbox:cmd_outbox",
    "web": "web:cmd_web_password",
    "backup": "backup:cmd_backup",
    "index": "index:cmd_index",
    "migrate-db": "migrate_db:cmd_migrate_db",
}


def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs command `name`, its module imported now."""
    module, function = COMMANDS[name].split(":")
    return getattr(importlib.import_module(f"raqib.commands.{module}"), function)


def _global_options() -> argparse.ArgumentParser:
    """Options every (sub-)command accepts. Their default is "not given" (SUPPRESS), so
    a value given before the command is not reset by a sub-parser that did not see it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", default=argparse.SUPPRESS,
                        help="config file (default: $RAQIB_CONFIG or ./raqib.yaml)")
    common.add_argument("--log-level", default=argparse.SUPPRESS,
                        help="DEBUG, INFO, WARNING or ERROR (default: $RAQIB_LOG_LEVEL or INFO)")
    common.add_argument("--log-format", choices=("kv", "json"), default=argparse.SUPPRESS,
                        help="log lines as key=value or JSON (default: $RAQIB_LOG_FORMAT or kv)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(prog="raqib", description="Watch Arabic news feeds and alert people.",
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_parser_with(common))
    p = sub.add_parser("run", help="run the daemon")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p = sub.add_parser("check", help="validate the config and every watchlist")
    p = sub.add_parser("match", help="match JSON Lines stories against watchlists")
    p.add_argument("watchlists", help="a watchlist YAML file or a folder of them")
    p.add_argument("input", nargs="?", help="JSON Lines of stories (default: stdin)")
    p = sub.add_parser("dedup", help="give JSON Lines stories their copy cluster and their event")
    p.add_argument("input", nargs="?", help="JSON Lines of stories (default: stdin)")
    p.add_argument("--explain", action="store_true",
                   help="say why each story is in its event (kind, of, score, terms)")
    p = sub.add_parser("try", help="what a watchlist file would have alerted on among the stored stories")
    p.add_argument("watchlist", help="a watchlist YAML file (one watchlist or a list)")
    p.add_argument("--days", type=float, default=3.0, help="stories of the last N days (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p = sub.add_parser("search", help="stored stories matching a word, phrase or \"exact\" term")
    p.add_argument("query", help='a term as in a watchlist: word, phrase, "exact", ~variants; '
                                 'A + B for both, A -C for A without C, A | B for either')
    p.add_argument("--days", type=float, default=None, help="only stories of the last N days")
    p.add_argument("--source", default=None, help="only stories of this feed")
    p.add_argument("--limit", type=int, default=100, help="at most N stories (default 100, at most 1000)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p = sub.add_parser("demo", help="run the real daemon on bundled Arabic feeds served locally")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--watchlists", help="watchlists to use (default: ./watchlists or the bundled ones)")
    p.add_argument("--keep", action="store_true", help="keep the demo's temporary folder")
    p.add_argument("--serve", action="store_true",
                   help="keep the feeds, the daemon and the web view running until Ctrl-C; prints the address")
    p.add_argument("--port", type=int, default=0, help="the web view's port with --serve (default: a free one)")
    p = sub.add_parser("status", help="feeds, stories, alerts and the outbox at a glance")
    p = sub.add_parser("feeds", help="list feeds and their health; import/export OPML")
    fsub = p.add_subparsers(dest="feeds_command", parser_class=_parser_with(common))
    fi = fsub.add_parser("import", help="add the feeds of an OPML file")
    fi.add_argument("file")
    fi.add_argument("--allow-private", action="store_true",
                    help="accept feeds on loopback or private addresses")
    fi.add_argument("--strict", action="store_true", help="one bad outline imports nothing")
    fsub.add_parser("export", help="print all feeds as OPML")
    for change, what in (("remove", "forget"), ("disable", "stop polling"), ("enable", "poll again")):
        fc = fsub.add_parser(change, help=f"{what} a feed added by an import or the bot (not one of the config)")
        fc.add_argument("name")
    p = sub.add_parser("outbox", help="list undelivered alerts; retry dead ones")
    osub = p.add_subparsers(dest="outbox_command", parser_class=_parser_with(common))
    orr = osub.add_parser("retry", help="queue dead alerts again")
    orr.add_argument("ids", nargs="*", type=int)
    p = sub.add_parser("web", help="the web view's helpers: `raqib web password`")
    wsub = p.add_subparsers(dest="web_command", required=True, parser_class=_parser_with(common))
    wsub.add_parser("password", help="print the hash of a password for web.auth")
    p = sub.add_parser("backup", help="online backup of the database (pg_dump on PostgreSQL)")
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="overwrite FILE when it exists")
    sub.add_parser("index", help="build the dedup indexes for the next start now, while the daemon runs "
                                 "(after an upgrade: the restart then takes seconds)")
    p = sub.add_parser("migrate-db", help="move all state to another database (SQLite to PostgreSQL)")
    p.add_argument("--from", dest="source", required=True, help="the database now in use (a SQLite file)")
    p.add_argument("--to", dest="target", required=True, help="the new one, e.g. postgresql://raqib@db/raqib")
    p.add_argument("--replace", action="store_true", help="delete what the target already holds first")
    p.add_argument("--batch", type=int, default=1000, help="rows per batch (default 1000)")
    return parser


def _parser_with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """The parser class sub-commands are made with: each one takes the global options."""
    class SubParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["parents"] = [*kwargs.get("parents", ()), common]
            super().__init__(*args, **kwargs)
    return SubParser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)
    args.log_level = getattr(args, "log_level", None) or os.environ.get("RAQIB_LOG_LEVEL", "INFO")
    args.log_format = getattr(args, "log_format", None) or os.environ.get("RAQIB_LOG_FORMAT", "kv")
    setup_logging(args.log_level, args.log_format)
    try:
        return int(command(args.command)(args) or 0)
    except RaqibError as exc:
        print(f"raqib: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
