"""`raqib feeds`: the feeds and their health; `import` and `export` OPML; `remove`,
`disable` and `enable` a feed added at run time."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.opml import export_opml, read_opml
from monitor.store import Store
from monitor.urls import canonical_url, check_feed_url

from ..feedhealth import PAGES_DAYS, format_feeds_table, with_pages
from .common import config_path

FEED_CHANGES = ("remove", "disable", "enable")


def cmd_feeds(args: argparse.Namespace) -> int:
    config = load_config(config_path(args))
    store = Store(config.database, readonly=args.feeds_command not in ("import", *FEED_CHANGES))
    try:
        if args.feeds_command == "import":
            return _feeds_import(store, args, allow_private=args.allow_private or config.allow_private_feeds)
        if args.feeds_command in FEED_CHANGES:
            return _feeds_change(store, config, args)
        if args.feeds_command == "export":
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


def _feeds_import(store: Store, args: argparse.Namespace, *, allow_private: bool = False) -> int:
    """Every outline is checked, each refusal named with its line, and the good ones are
    added in one transaction: an outline whose URL cannot be a feed, or that points at a
    private address, is left out; a feed already present (the same URL in canonical form)
    is reported, not added twice; a host that does not resolve now is added and reported
    (the address is checked again at every fetch). `--strict`: one bad outline adds
    nothing. Exit 1 when an outline was refused, 0 otherwise."""
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


def _feeds_change(store: Store, config: Config, args: argparse.Namespace) -> int:
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
