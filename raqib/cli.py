"""The `raqib` command line. What each command takes and prints is in the README, "Commands";
`raqib match` and `raqib dedup` read and write JSON Lines in raqib/jsonl.py.

Exit status: 0 success, 1 bad input or config (a message on stderr naming the file and
line), 2 usage error.

The global options (`--config/-c`, `--log-level`, `--log-format`) are accepted anywhere
on the line: before the command, after it, or after a sub-command (`raqib feeds import
--config X f.opml`); given twice, the last one counts. Commands that only read (status,
feeds, feeds export, outbox, backup, try, search) open the database read-only, so they work beside a
running daemon and on a read-only mount.

Each command imports what it runs when it runs: `raqib check`, `match` and `dedup` start
in about 0.1 s instead of the 0.5 s that importing the daemon, the channels and httpx
costs. No import loop is behind this: nothing imports this module.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence, TextIO

from alerts.channel import build_channel
from monitor.errors import ConfigError, RaqibError, StoreError

from .feedhealth import PAGES_DAYS, ago, format_feeds_table, with_pages
from .logs import setup_logging

DEFAULT_CONFIG = "raqib.yaml"


def _config_path(args: argparse.Namespace) -> str:
    if getattr(args, "config", None):
        return args.config
    env = os.environ.get("RAQIB_CONFIG")
    if env:
        return env
    return DEFAULT_CONFIG


def cmd_run(args: argparse.Namespace) -> int:
    from .daemon import load_daemon

    # until the event loop installs its own handlers, SIGTERM during start-up is a clean exit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    daemon = load_daemon(_config_path(args))
    asyncio.run(daemon.run(seconds=args.seconds))
    if daemon.fatal:
        print(f"raqib: {daemon.fatal}", file=sys.stderr)
        return 1
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.settings import settings_problems
    from monitor.watchlists import check_watchlists, watchlist_warnings

    problems: list[ConfigError] = []
    path = _config_path(args)
    watchlists_path: Path | None = None
    config = None
    try:
        config = load_config(path)
        watchlists_path = config.watchlists
    except ConfigError as exc:
        problems.append(exc)
    if config is not None:
        problems.extend(settings_problems(config))  # the same reading `raqib run` does
    channels: dict = {}
    warnings: list[str] = []
    notes: list[str] = []
    if config is not None:
        problems.extend(_check_channels(config, channels))
        reached = _check_database(config, notes, problems)
        if reached:
            problems.extend(_check_personal_terms(config.database, warnings))
    if watchlists_path is not None:
        wl_problems = check_watchlists(watchlists_path)
        problems.extend(wl_problems)
        if not wl_problems and config is not None:
            problems.extend(_check_notify(watchlists_path, channels, warnings))
        warnings.extend(watchlist_warnings(watchlists_path))
    for p in problems:
        print(str(p))
    for w in warnings:
        print(w)
    if problems:
        for n in notes:
            print(n)
        return 1
    print(f"ok: {path}" + (f" and watchlists in {watchlists_path}" if watchlists_path else ""))
    for n in notes:  # after the "ok:" line scripts look for first
        print(n)
    return 0


def _check_channels(config, built: dict) -> list[ConfigError]:
    problems: list[ConfigError] = []
    for name, section in config.channels.items():
        try:
            built[name] = build_channel(name, section, None)  # as `raqib run` builds it
        except ConfigError as exc:
            problems.append(exc)
    return problems


def _check_database(config, notes: list[str], problems: list[ConfigError]) -> bool:
    """Which backend `database:` selects and whether its schema is current (the daemon
    applies missing migrations at start). A PostgreSQL server that does not answer within
    the connect timeout is a problem; a SQLite file not there yet is not. True when the
    database could be read."""
    from monitor.dburl import is_postgres
    from monitor.store import Store

    if not is_postgres(config.database) and not Path(config.database).exists():
        notes.append(f"database: sqlite {config.database} (not created yet: raqib run creates it)")
        return False
    try:
        store = Store(config.database, readonly=True)
        try:
            state = store.schema_state()
        finally:
            store.close()
    except StoreError as exc:
        problems.append(ConfigError(f"database: {exc}", file=config.path))
        return False
    if state.missing:
        schema = (f"schema not current: {len(state.missing)} migrations to apply "
                  f"({', '.join(state.missing)}); raqib run applies them at start")
    else:
        schema = f"schema current ({len(state.applied)} migrations)"
    notes.append(f"database: {state.backend} {state.where}: {schema}")
    return True


def _check_personal_terms(database: Path | str, warnings: list[str]) -> list[ConfigError]:
    """Chats' own terms stored in the database (read-only; none if there is no database
    yet) by the rule of every watchlist term: one that can never match is a problem."""
    from monitor.dburl import safe_url
    from monitor.errors import StoreError
    from monitor.store import read_personal_terms
    from monitor.watchlists import term_problem

    where = safe_url(database) if isinstance(database, str) else str(database)  # never a password
    try:
        rows = read_personal_terms(database)
    except StoreError as exc:
        warnings.append(f"{where}: warning: chats' own terms not checked: {exc}")
        return []
    problems: list[ConfigError] = []
    for row in rows:
        problem = term_problem(row.term)
        if problem:
            problems.append(ConfigError(
                f"{row.channel} chat {row.destination}: own term: {problem}", file=where,
                hint="the daemon skips it; the chat can remove it with /unwatch"))
    return problems


def _check_notify(path: Path, channels: dict, warnings: list[str]) -> list[ConfigError]:
    """Each watchlist's `notify:` destinations, as their channel understands them."""
    from monitor.watchlists import load_watchlists

    problems: list[ConfigError] = []
    for wl in load_watchlists(path):
        line = _line_of_key(wl.path, "notify")
        for channel, dests in (wl.notify or {}).items():
            if channel not in channels:
                if dests:
                    warnings.append(f"{wl.path}:{line}: warning: notify.{channel} names destinations but the "
                                    f"{channel} channel is not configured: they get nothing")
                continue
            try:
                channels[channel].destinations_for(dests)
            except ConfigError as exc:
                exc.file, exc.line = wl.path, line
                problems.append(exc)
    return problems


def _line_of_key(file: str, key: str) -> int | None:
    try:
        for number, text in enumerate(Path(file).read_text(encoding="utf-8").splitlines(), 1):
            if text.lstrip().startswith(f"{key}:"):
                return number
    except OSError:
        pass
    return None


def cmd_match(args: argparse.Namespace) -> int:
    from monitor.match import Matcher
    from monitor.watchlists import load_watchlists

    from .jsonl import match_stream

    matcher = Matcher(load_watchlists(args.watchlists))
    with _open_input(args.input) as stream:
        out = sys.stdout
        source = args.input if args.input and args.input != "-" else "<stdin>"
        for result in match_stream(matcher, stream, source=source):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def cmd_dedup(args: argparse.Namespace) -> int:
    from .jsonl import dedup_stream

    with _open_input(args.input) as stream:
        out = sys.stdout
        for result in dedup_stream(stream, explain=args.explain):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


class _open_input:
    """A named file, or stdin for '-' or nothing; read as UTF-8."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.handle: TextIO | None = None

    def __enter__(self):
        if not self.path or self.path == "-":
            sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
            return sys.stdin
        try:
            self.handle = open(self.path, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read input: {exc.strerror}", file=self.path) from None
        return self.handle

    def __exit__(self, *exc) -> None:
        if self.handle:
            self.handle.close()


def cmd_try(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.desk import try_watchlist
    from monitor.store import Store
    from monitor.yamlfile import MAX_BYTES

    text = _read_text(Path(args.watchlist), MAX_BYTES)
    config = load_config(_config_path(args))
    store = Store(config.database, readonly=True)
    try:
        report = try_watchlist(store, text, file=args.watchlist, days=args.days, tz=_local_zone())
    finally:
        store.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 1 if report.problems else 0
    if report.problems:
        for problem in report.problems:
            print(str(problem))
        return 1
    print(format_try(report, _Marks.for_stream(sys.stdout)))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.desk import search_stories
    from monitor.store import Store

    config = load_config(_config_path(args))
    store = Store(config.database, readonly=True)
    try:
        result = search_stories(store, args.query, days=args.days, source=args.source, limit=args.limit)
        sources = store.desk.story_sources() if args.source is not None and not result.hits else None
    finally:
        store.close()
    if sources is not None and args.source not in sources:
        print(f"raqib: warning: no stories stored from a feed named {args.source!r}"
              + (f" (feeds with stories: {', '.join(sources[:20])})" if sources else ""), file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(format_search(result, _Marks.for_stream(sys.stdout)))
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


def _local_zone():
    return datetime.now().astimezone().tzinfo


class _Marks:
    """How matched words stand out: bold colour on a terminal, «…» in a file or a pipe."""

    def __init__(self, open_: str, close: str) -> None:
        self.open, self.close = open_, close

    @classmethod
    def for_stream(cls, stream: TextIO) -> "_Marks":
        tty = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("NO_COLOR") is None
        return cls("\x1b[1;33m", "\x1b[0m") if tty else cls("«", "»")


def _local_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).astimezone(_local_zone()).strftime("%Y-%m-%d %H:%M")


def _shown(text: str, matches, field: str, marks: _Marks, width: int = 0) -> str:
    """A title or summary on one line with its matched spans marked; with `width`, only
    the part around the first match (feed text: invisible and control characters dropped)."""
    from alerts.render import highlight
    from monitor.display import ELLIPSIS, visible
    from monitor.models import Match

    spans = [m for m in matches if m.field == field]
    prefix = suffix = ""
    if width and len(text) > width:
        first = min((m.start for m in spans), default=0)
        start = max(0, first - width // 3)
        end = min(len(text), start + width)
        prefix, suffix = (ELLIPSIS if start else ""), (ELLIPSIS if end < len(text) else "")
        spans = [Match(m.watchlist, m.term, m.field, m.start - start, m.end - start) for m in spans
                 if m.start >= start and m.end <= end]
        text = text[start:end]
    marked = highlight(text, spans, field, open_=marks.open, close=marks.close, escape=visible)
    return prefix + " ".join(marked.split()) + suffix


def _story_lines(hit, marks: _Marks, note: str = "", matches=None) -> list[str]:
    from monitor.display import display_url, one_line

    matches = hit.matches if matches is None else matches
    head = f"{_local_time(hit.published or hit.fetched)}  {one_line(hit.feed, 60)}"  # its own time, as alerts show it
    if hit.outlets:
        head += f"  (also: {', '.join(one_line(o, 60) for o in hit.outlets)})"
    if note:
        head += f"  {note}"
    lines = [head, "  " + _shown(hit.title, matches, "title", marks)]
    if any(m.field == "summary" for m in matches):
        lines.append("  " + _shown(hit.summary, matches, "summary", marks, width=160))
    if hit.url:
        lines.append("  " + display_url(hit.url))
    return lines


def format_try(report, marks: _Marks) -> str:
    """`raqib try` for people: each alert, each dropped story and its rule, alerts per day,
    the terms that fired most and those that never did."""
    from monitor.display import one_line

    several = len(report.watchlists) > 1
    out = [f"{', '.join(report.watchlists)}: {report.alerts} alert{'s' if report.alerts != 1 else ''} "
           f"among the {report.scanned:,} stories of the last {report.days:g} day{'s' if report.days != 1 else ''}; "
           f"{report.dropped_count} dropped by a rule. Nothing was saved or sent."]
    if report.alerts > len(report.hits):
        out.append(f"(the newest {len(report.hits)} shown)")
    for hit in report.hits:
        terms = ", ".join(one_line(t, 80) for t in hit.terms)
        out.append("")
        out += _story_lines(hit, marks, note=(f"[{hit.watchlist}] " if several else "") + f"term: {terms}")
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
        out += _story_lines(story, marks, note=(f"[{story.watchlist}] " if several else "") + rule, matches=matches)
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


def format_search(result, marks: _Marks) -> str:
    """`raqib search` for people: the stories newest first, matched words marked."""
    out: list[str] = [f"read as: {result.reading}", ""] if result.reading else []
    for hit in result.hits:
        out += _story_lines(hit, marks)
        out.append("")
    n = len(result.hits)

    summary = f"{n} stor{'y' if n == 1 else 'ies'}"
    if not result.complete:
        summary += " (the newest; more match: narrow with --days or --source, or raise --limit)" \
            if result.narrowed or n else " (only the newest stories were read)"
    out.append(summary)
    phrases = [t.text for t in result.terms if len(t.text.split()) > 1 and not t.exact]
    if not n and phrases:  # the commonest surprise: several words are one phrase
        out.append(f"no story has «{phrases[0]}» as a phrase; for all of these words anywhere in a story, "
                   f"write: {' + '.join(phrases[0].split())}")
    return "\n".join(out)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(seconds=args.seconds, watchlists=args.watchlists, keep=args.keep, serve=args.serve,
                    port=args.port)


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.settings import read_settings
    from monitor.store import Store

    from .roles import describe_node, node_states

    config = load_config(_config_path(args))
    store = Store(config.database, readonly=True)
    now = time.time()
    feeds = store.feeds.all()
    enabled = [f for f in feeds if f.enabled]
    failing = [f for f in enabled if not f.healthy or f.failures]
    c = store.counts(now)
    rows = [
        ("feeds", f"{len(enabled)} enabled, {len(enabled) - len(failing)} ok, {len(failing)} failing"
                  + (f" ({', '.join(f.name for f in failing)})" if failing else "")),
        ("last poll", ago(max((f.last_poll or 0 for f in feeds), default=0), now)),
        ("stories", f"{c['stories_hour']} last hour, {c['stories_day']} last day"),
        ("alerts sent", f"{c['alerts_hour']} last hour, {c['alerts_day']} last day"),
        ("outbox", f"{c['outbox_pending']} waiting"),
        ("dead letters", str(c["dead"])),
    ]
    nodes = node_states(store.nodes.all(), now, read_settings(config).node.heartbeat)
    if nodes:
        differ = sum(1 for n in nodes if n["config_differs"])
        rows.append(("nodes", f"{sum(1 for n in nodes if n['alive'])} running"
                              + (f", {differ} with different watchlists or settings" if differ else "")))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for n in nodes:
        print(f"  node {describe_node(n, now)}")
    for d in store.outbox.dead_letters(10):
        print(f"  dead #{d.id} {d.channel}:{d.destination} after {d.attempts} attempts: "
              f"{d.last_error}")
    store.close()
    return 0


FEED_CHANGES = ("remove", "disable", "enable")


def cmd_feeds(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.store import Store

    config = load_config(_config_path(args))
    store = Store(config.database, readonly=args.feeds_command not in ("import", *FEED_CHANGES))
    try:
        if args.feeds_command == "import":
            return _feeds_import(store, args, allow_private=args.allow_private or config.allow_private_feeds)
        if args.feeds_command in FEED_CHANGES:
            return _feeds_change(store, config, args)
        if args.feeds_command == "export":
            from monitor.opml import export_opml

            known = {f.name: f.url for f in store.feeds.all() if f.enabled}
            for f in config.feeds:
                known.setdefault(f.name, f.url)
            sys.stdout.write(export_opml(sorted(known.items())))
            return 0
        now = time.time()
        pages = store.articles.fulltext_health(now - PAGES_DAYS * 86400.0)
        print(format_feeds_table(with_pages(store.feeds.as_configured(config.feeds), pages), now))
        return 0
    finally:
        store.close()


REPORTED = 100  # lines printed per kind of note on an import; then how many more


def _feeds_import(store, args, *, allow_private: bool = False) -> int:
    """Every outline is checked, each refusal named with its line, and the good ones are
    added in one transaction: an outline whose URL cannot be a feed, or that points at a
    private address, is left out; a feed already present (the same URL in canonical form)
    is reported, not added twice; a host that does not resolve now is added and reported
    (the address is checked again at every fetch). `--strict`: one bad outline adds
    nothing. Exit 1 when an outline was refused, 0 otherwise."""
    from urllib.parse import urlsplit

    from monitor.opml import read_opml
    from monitor.urls import canonical_url, check_feed_url

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    feeds, problems = read_opml(data, str(path))
    notes: dict[str, list[str]] = {"refused": [str(p) for p in problems], "skipped": [], "present": [],
                                   "unresolved": []}
    if problems and args.strict:
        _print_notes(notes)
        raise ConfigError(f"{len(problems)} outline(s) with a bad feed URL; nothing imported (--strict)",
                          file=str(path))
    verdicts: dict[tuple[str, str, int | None], str | None] = {}  # one look-up per host
    known = store.feeds.urls()
    names = {f.name for f in store.feeds.all()}
    accepted: list[tuple[str, str]] = []
    for feed in feeds:
        where = f"{path}:{feed.line}: {feed.name} <{feed.url}>"
        canon = canonical_url(feed.url)
        if canon in known:
            notes["present"].append(f"{where}: already present as {known[canon]}, not added again")
            continue
        if feed.name in names:
            notes["present"].append(f"{where}: the name {feed.name} is taken by another feed, not added")
            continue
        parts = urlsplit(feed.url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        if key not in verdicts:
            verdicts[key] = check_feed_url(feed.url, allow_private=allow_private)
        verdict = verdicts[key]
        if verdict == "the host name does not resolve":
            notes["unresolved"].append(f"{where}: imported, but the host name does not resolve now "
                                       "(checked again at every fetch)")
        elif verdict:
            notes["skipped"].append(f"{path}:{feed.line}: skipped {feed.name} <{feed.url}>: {verdict}")
            continue
        known[canon] = feed.name
        names.add(feed.name)
        accepted.append((feed.name, feed.url))
    added = store.feeds.add_many(accepted, source="opml")
    _print_notes(notes)
    print(f"imported {len(added)} feeds, skipped {len(feeds) + len(problems) - len(added)}"
          + (f" ({len(problems)} bad outline(s) named above)" if problems else ""))
    return 1 if problems else 0


def _print_notes(notes: dict[str, list[str]]) -> None:
    for lines in notes.values():
        for line in lines[:REPORTED]:
            print(line, file=sys.stderr)
        if len(lines) > REPORTED:
            print(f"... and {len(lines) - REPORTED} more like it", file=sys.stderr)


def _feeds_change(store, config, args) -> int:
    """`raqib feeds remove|disable|enable NAME`: feeds added at run time (OPML, the bot);
    a feed of the config file is refused, naming its line there."""
    name = args.name
    configured = {f.name: f for f in config.feeds}
    if name in configured:
        hint = ("delete its entry there" if args.feeds_command == "remove"
                else f"set enabled: {'true' if args.feeds_command == 'enable' else 'false'} there")
        raise ConfigError(f"feed {name} is defined in the config file, not by an import: "
                          f"{args.feeds_command} it there", file=str(config.path), line=configured[name].line,
                          hint=f"{hint}, then `systemctl reload raqib` (or SIGHUP)")
    if store.feeds.get(name) is None:
        known = sorted(f.name for f in store.feeds.all())
        close = [k for k in known if name.lower() in k.lower() or k.lower() in name.lower()][:5]
        raise ConfigError(f"no feed named {name}" + (f" (did you mean: {', '.join(close)}?)" if close else ""),
                          hint="`raqib feeds` lists them")
    if args.feeds_command == "remove":
        store.feeds.remove(name)
        print(f"feed {name} removed; its stories stay until retention prunes them")
    elif args.feeds_command == "disable":
        store.feeds.set_enabled(name, False, reason="disabled by raqib feeds disable")
        print(f"feed {name} disabled; the daemon stops polling it at its next round")
    else:
        store.feeds.set_enabled(name, True)
        print(f"feed {name} enabled; the daemon polls it at its next round")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.store import Store

    config = load_config(_config_path(args))
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
                  f"next={datetime.fromtimestamp(r.next_try, timezone.utc):%Y-%m-%d %H:%M:%S}"
                  + (f" error={error}" if error else ""))
        print(f"{len(rows)} alerts not yet sent")
        return 0
    finally:
        store.close()


def cmd_backup(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.dburl import is_postgres
    from monitor.store import Store

    config = load_config(_config_path(args))
    if is_postgres(config.database):
        if Path(args.file).exists() and not args.force:
            raise StoreError(f"{args.file} exists; nothing was written",
                             hint="pass --force to overwrite it, or name another file")
        return _pg_dump(str(config.database), args.file)
    if not Path(config.database).exists():
        raise StoreError(f"no database at {config.database} to back up",
                         hint="raqib run creates it; check `database:` in the config")
    store = Store(config.database, readonly=True)
    try:
        store.backup(args.file, overwrite=args.force)
    finally:
        store.close()
    print(f"backup written to {args.file}")
    return 0


def _pg_dump(url: str, target: str) -> int:
    """PostgreSQL is backed up by its own tool: run `pg_dump` when it is installed (the
    password goes by environment, not on the command line), else say what to run."""
    import shutil
    import subprocess
    from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

    from monitor.store.db import pg_dump_command

    exe = shutil.which("pg_dump")
    if exe is None:
        raise StoreError("raqib backup copies SQLite files; a PostgreSQL database is backed up with pg_dump, "
                         "which is not installed here",
                         hint=f"on a machine with the PostgreSQL client tools run: {pg_dump_command(url, target)}")
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = (parts.username or "") + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    command = [exe, "--format=custom", f"--file={target}"]
    for option in parse_qs(parts.query).get("options", []):  # a URL that selects a schema dumps that schema
        for word in option.split():
            if word.startswith("-csearch_path="):
                command.append(f"--schema={word.split('=', 1)[1].split(',')[0]}")
    done = subprocess.run([*command, url], env=env, stderr=subprocess.PIPE, text=True, timeout=24 * 3600)
    if done.returncode != 0:
        raise StoreError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()[:500]}",
                         hint=f"the command was: {pg_dump_command(url, target)}")
    os.chmod(target, 0o600)
    print(f"backup written to {target} (pg_dump custom format; restore with pg_restore)")
    return 0


def cmd_migrate_db(args: argparse.Namespace) -> int:
    from monitor.dburl import is_postgres
    from monitor.store import Store
    from monitor.store.copy import copy_database

    if not is_postgres(args.source) and not Path(args.source).exists():
        raise StoreError(f"no database at {args.source} to move", hint="--from names the SQLite file of `database:`")
    source = Store(args.source, readonly=True)
    try:
        target = Store(args.target)  # created and migrated if new
        try:
            counts = copy_database(source, target, replace=args.replace, batch=args.batch)
        finally:
            target.close()
    finally:
        source.close()
    for table, n in counts.items():
        print(f"{table}: {n}")
    print(f"moved {sum(counts.values())} rows from {source.where} to {target.where}; "
          f"point `database:` at the new one and start raqib")
    return 0


def cmd_web_password(args: argparse.Namespace) -> int:
    """Read a password (asked twice on a terminal, else one line of stdin) and print the
    scrypt hash `web.auth` takes; the password itself is never stored or printed."""
    import getpass

    from .web.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password for the web view: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ; nothing printed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 12:
        raise ConfigError("a web password needs at least 12 characters")
    print(hash_password(password))
    return 0


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
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("check", help="validate the config and every watchlist")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("match", help="match JSON Lines stories against watchlists")
    p.add_argument("watchlists", help="a watchlist YAML file or a folder of them")
    p.add_argument("input", nargs="?", help="JSON Lines of stories (default: stdin)")
    p.set_defaults(func=cmd_match)
    p = sub.add_parser("dedup", help="give JSON Lines stories their copy cluster and their event")
    p.add_argument("input", nargs="?", help="JSON Lines of stories (default: stdin)")
    p.add_argument("--explain", action="store_true",
                   help="say why each story is in its event (kind, of, score, terms)")
    p.set_defaults(func=cmd_dedup)
    p = sub.add_parser("try", help="what a watchlist file would have alerted on among the stored stories")
    p.add_argument("watchlist", help="a watchlist YAML file (one watchlist or a list)")
    p.add_argument("--days", type=float, default=3.0, help="stories of the last N days (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.set_defaults(func=cmd_try)
    p = sub.add_parser("search", help="stored stories matching a word, phrase or \"exact\" term")
    p.add_argument("query", help='a term as in a watchlist: word, phrase, "exact", ~variants; '
                                 'A + B for both, A -C for A without C, A | B for either')
    p.add_argument("--days", type=float, default=None, help="only stories of the last N days")
    p.add_argument("--source", default=None, help="only stories of this feed")
    p.add_argument("--limit", type=int, default=100, help="at most N stories (default 100, at most 1000)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("demo", help="run the real daemon on bundled Arabic feeds served locally")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--watchlists", help="watchlists to use (default: ./watchlists or the bundled ones)")
    p.add_argument("--keep", action="store_true", help="keep the demo's temporary folder")
    p.add_argument("--serve", action="store_true",
                   help="keep the feeds, the daemon and the web view running until Ctrl-C; prints the address")
    p.add_argument("--port", type=int, default=0, help="the web view's port with --serve (default: a free one)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("status", help="feeds, stories, alerts and the outbox at a glance")
    p.set_defaults(func=cmd_status)
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
    p.set_defaults(func=cmd_feeds)
    p = sub.add_parser("outbox", help="list undelivered alerts; retry dead ones")
    osub = p.add_subparsers(dest="outbox_command", parser_class=_parser_with(common))
    orr = osub.add_parser("retry", help="queue dead alerts again")
    orr.add_argument("ids", nargs="*", type=int)
    p.set_defaults(func=cmd_outbox)
    p = sub.add_parser("web", help="the web view's helpers: `raqib web password`")
    wsub = p.add_subparsers(dest="web_command", required=True, parser_class=_parser_with(common))
    wsub.add_parser("password", help="print the hash of a password for web.auth")
    p.set_defaults(func=cmd_web_password)
    p = sub.add_parser("backup", help="online backup of the database (pg_dump on PostgreSQL)")
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="overwrite FILE when it exists")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("migrate-db", help="move all state to another database (SQLite to PostgreSQL)")
    p.add_argument("--from", dest="source", required=True, help="the database now in use (a SQLite file)")
    p.add_argument("--to", dest="target", required=True, help="the new one, e.g. postgresql://raqib@db/raqib")
    p.add_argument("--replace", action="store_true", help="delete what the target already holds first")
    p.add_argument("--batch", type=int, default=1000, help="rows per batch (default 1000)")
    p.set_defaults(func=cmd_migrate_db)
    return parser


def _parser_with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """The parser class sub-commands are made with: each one takes the global options."""
    class SubParser(argparse.ArgumentParser):
        def __init__(self, *args, **kwargs) -> None:
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
        return int(args.func(args) or 0)
    except RaqibError as exc:
        print(f"raqib: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
