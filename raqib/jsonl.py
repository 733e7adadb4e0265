"""The JSON Lines commands, `raqib match` and `raqib dedup`: stories read as JSON Lines,
one JSON object written per story. The contracts (fields in, fields out, order) are in
the README's "Commands" section; here is how a line is read and what a bad one raises.
The matching and the folding themselves are `monitor.match` and `monitor.dedup`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TypedDict

from monitor.dedup import Clusterer, DedupSettings, EventGrouper, EventSettings, parse_time
from monitor.errors import ConfigError
from monitor.match import Matcher
from monitor.models import Match


def match_stream(matcher: Matcher, lines: Iterable[str], source: str = "<stdin>") -> Iterator[dict[str, object]]:
    """`raqib match`: one output dict per input story line, in input order (README, Commands).

    Input: JSON Lines `{"id", "title", "summary"?, "body"?}` (a body's paragraphs apart
    by blank lines). Blank lines are skipped. A line that is not a JSON object with an id
    and a string title raises ConfigError(file=source, line=N); the lines before it have
    been yielded already. A match in the title or summary prints exactly as it did before
    bodies were read; one in the body adds `"paragraph": N`. A match on a group name's form
    (monitor/match/forms.py) also says which: `"form": "plural"`, "feminine" or
    "feminine plural"; other matches carry no such key.
    """
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            story = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=source, line=n) from None
        if not isinstance(story, dict):
            raise ConfigError("expected a JSON object {\"id\", \"title\", \"summary\"?}", file=source, line=n)
        if "id" not in story:
            raise ConfigError("story has no \"id\"", file=source, line=n)
        title = story.get("title")
        summary = story.get("summary")
        if title is None:
            title = ""
        if summary is None:
            summary = ""
        body = story.get("body")
        if body is None:
            body = ""
        if not isinstance(title, str) or not isinstance(summary, str) or not isinstance(body, str):
            raise ConfigError("title, summary and body must be strings", file=source, line=n)
        texts = {"title": title, "summary": summary, "body": body}
        yield {"id": story["id"], "matches": [_match_out(matcher, m, texts[m.field])
                                              for m in matcher.match(title, summary, body)]}


def _match_out(matcher: Matcher, m: Match, text: str) -> dict[str, object]:
    out: dict[str, object] = {"watchlist": m.watchlist, "term": m.term, "field": m.field, "start": m.start,
                              "end": m.end}
    if m.field == "body":
        out["paragraph"] = m.paragraph
    form = matcher.form_of(m, text)
    if form:
        out["form"] = form
    return out


class _StoryIn(TypedDict):
    """One input line of `raqib dedup`, checked."""

    id: str | int
    title: str
    summary: str
    url: str
    source: str
    published: datetime | None
    body: str


def _story(line: str, number: int) -> _StoryIn:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not JSON: {exc.msg}", file="<input>", line=number) from exc
    if not isinstance(obj, dict):
        raise ConfigError("a story must be a JSON object", file="<input>", line=number)
    if "id" not in obj or not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool):
        raise ConfigError('a story needs an "id" (string or integer)', file="<input>", line=number)
    if not isinstance(obj.get("title"), str):
        raise ConfigError('a story needs a "title" string', file="<input>", line=number)
    for name in ("summary", "url", "source", "body"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise ConfigError(f'"{name}" must be a string', file="<input>", line=number)
    published = obj.get("published")
    if published is not None:
        if not isinstance(published, str):
            raise ConfigError('"published" must be an ISO 8601 or RFC 822 string', file="<input>", line=number)
        try:
            published = parse_time(published)
        except (ValueError, TypeError, IndexError) as exc:
            raise ConfigError(f'"published" is not an ISO 8601 or RFC 822 time: {obj["published"]!r}',
                              file="<input>", line=number) from exc
    return {"id": obj["id"], "title": obj["title"], "summary": obj.get("summary") or "",
            "url": obj.get("url") or "", "source": obj.get("source") or "",
            "published": published, "body": obj.get("body") or ""}


def dedup_stream(lines: Iterable[str], settings: DedupSettings | None = None,
                 event_settings: EventSettings | None = None, *, explain: bool = False
                 ) -> Iterator[dict[str, object]]:
    """`raqib dedup` (README, Commands): JSON Lines of stories in arrival order in, one
    {"id": ..., "cluster": ID_OF_FIRST_STORY_IN_ITS_CLUSTER, "event": ID_OF_FIRST_STORY_IN_ITS_EVENT}
    per story out, in order. With `explain`, each line also says why the story is in its
    event: "kind" ("new", "copy" or "related"), "of" (the story or cluster it followed),
    "score" (the cosine of a related story) and "terms" (the words that carried it).

    Blank lines are skipped. A bad line raises ConfigError(file="<input>", line=N)."""
    clusterer = Clusterer(settings or DedupSettings())
    grouper = EventGrouper(event_settings or EventSettings())
    since_prune = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        s = _story(line, number)
        verdict = clusterer.add(s["id"], title=s["title"], summary=s["summary"], url=s["url"],
                                published=s["published"])
        link = grouper.add(s["id"], cluster=verdict.cluster, title=s["title"], summary=s["summary"],
                           source=s["source"], published=s["published"], body=s["body"])
        out: dict[str, object] = {"id": s["id"], "cluster": verdict.cluster, "event": link.event}
        if explain:
            out.update(kind=link.kind, of=link.of, score=link.score, terms=list(link.terms))
        yield out
        since_prune += 1
        if since_prune >= 1000 and clusterer.latest is not None:
            since_prune = 0
            clusterer.prune(clusterer.latest)
            grouper.prune(clusterer.latest)
