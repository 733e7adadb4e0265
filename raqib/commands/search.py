"""`raqib search`: the stored stories a term matches, newest first."""
from __future__ import annotations

import argparse
import json
import sys

from monitor.config import load_config
from monitor.desk import SearchResult, search_stories
from monitor.store import Store

from .common import config_path
from .storylines import Marks, story_lines


def cmd_search(args: argparse.Namespace) -> int:
    config = load_config(config_path(args))
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
    print(format_search(result, Marks.for_stream(sys.stdout)))
    return 0


def format_search(result: SearchResult, marks: Marks) -> str:
    """`raqib search` for people: the stories newest first, matched words marked."""
    out: list[str] = [f"read as: {result.reading}", ""] if result.reading else []
    for hit in result.hits:
        out += story_lines(hit, marks)
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
