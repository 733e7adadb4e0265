"""`raqib check`: the config, its channels, the database's schema, the chats' own terms and
every watchlist, read as `raqib run` reads them; each problem printed with its file and line."""
from __future__ import annotations

import argparse
from pathlib import Path

from alerts.channel import Channel, build_channel
from monitor.config import Config, load_config
from monitor.dburl import is_postgres, safe_url
from monitor.errors import ConfigError, StoreError
from monitor.settings import settings_problems
from monitor.store import Store, read_personal_terms
from monitor.watchlists import check_watchlists, load_watchlists, term_problem, watchlist_warnings

from .common import config_path


def cmd_check(args: argparse.Namespace) -> int:
    problems: list[ConfigError] = []
    path = config_path(args)
    watchlists_path: Path | None = None
    config = None
    try:
        config = load_config(path)
        watchlists_path = config.watchlists
    except ConfigError as exc:
        problems.append(exc)
    if config is not None:
        problems.extend(settings_problems(config))  # the same reading `raqib run` does
    channels: dict[str, Channel] = {}
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


def _check_channels(config: Config, built: dict[str, Channel]) -> list[ConfigError]:
    problems: list[ConfigError] = []
    for name, section in config.channels.items():
        try:
            built[name] = build_channel(name, section, None)  # as `raqib run` builds it
        except ConfigError as exc:
            problems.append(exc)
    return problems


def _check_database(config: Config, notes: list[str], problems: list[ConfigError]) -> bool:
    """Which backend `database:` selects and whether its schema is current (the daemon
    applies missing migrations at start). A PostgreSQL server that does not answer within
    the connect timeout is a problem; a SQLite file not there yet is not. True when the
    database could be read."""
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


def _check_notify(path: Path, channels: dict[str, Channel], warnings: list[str]) -> list[ConfigError]:
    """Each watchlist's `notify:` destinations, as their channel understands them."""
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
