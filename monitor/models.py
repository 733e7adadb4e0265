"""Plain records that travel through the pipeline. Frozen: stages return new ones.

`Term` and `Watchlist` live here, below both the watchlist loader (monitor.watchlists,
which reads them from YAML) and the matcher (monitor.match, which compiles them), so the
imports go one way: watchlists → match → models."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .snippet import PayloadSnippet
from .snippet import snippets as story_snippets

#: how a watchlist (or a destination) wants a later story of an already-alerted event:
#: a reply to the event's first message, folded into it by an edit, or an alert of its own
RELATED_MODES = ("reply", "edit", "alert")


@dataclass(frozen=True)
class Story:
    """One feed item, as the outlet wrote it (text is original, never normalised)."""

    feed: str  # the feed's short name: the outlet as users see it
    guid: str
    url: str
    title: str
    summary: str = ""
    published: datetime | None = None
    fetched: datetime | None = None
    # the article's main text, paragraphs separated by one blank line: what the feed itself
    # carried (content:encoded, an Atom content) or the page behind `url`; "" until read
    body: str = ""


@dataclass(frozen=True)
class Match:
    """Why a story matched: which term of which watchlist, where in the original field."""

    watchlist: str
    term: str
    field: str  # "title" | "summary" | "body"
    start: int
    end: int
    paragraph: int = 0  # in the body: the paragraph the hit is in, from 1; 0 in the title and summary


@dataclass(frozen=True)
class Term:
    """One term with its options; `text` as the user wrote it (for near: the parts joined by ' ~ ')."""

    text: str
    exact: bool = False
    variants: bool = False
    regex: bool = False
    near: tuple[str, ...] = ()
    within: int = 0
    line: int = 0
    fields: tuple[str, ...] = ()  # `in:` where it may match ("title", "summary", "body"); () the watchlist's


@dataclass(frozen=True)
class Watchlist:
    """A named set of terms and rules, and who hears when a story fires it."""

    name: str
    title: str
    terms: tuple[Term, ...]
    require: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    notify: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    when: str = "first"
    outlets: int = 0
    within_minutes: int = 0
    path: str = ""
    related: str = "reply"  # one of RELATED_MODES
    fields: tuple[str, ...] = ()  # `in:` where its terms may match ("title", "summary", "body"); () everywhere


@dataclass(frozen=True)
class Alert:
    """What a channel is asked to deliver: one outbox row, decoded."""

    id: int
    channel: str  # "console", "telegram", "email", "webhook", ...
    destination: str  # channel-specific address: chat id, e-mail address, URL, "-"
    kind: str  # "story" | "spread" | "update" | "digest" | "health"
    watchlist: str
    watchlist_title: str
    story_id: int
    cluster: int
    title: str
    url: str
    summary: str
    source: str
    published: str | None
    matches: tuple[Match, ...] = ()
    sources: tuple[str, ...] = ()
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # the payload's `extra` (JSON)
    event: int | None = None  # the story's event (the id of its first story); None: the cluster
    related: str = ""  # "reply": sent threaded under its event's first alert ("تغطية ذات صلة")
    # the sentence around each matched term's first hit (monitor.snippet): dicts of term,
    # field, paragraph, text and marks ([start, end] in text); () in rows written before them
    snippets: tuple[PayloadSnippet, ...] = ()
    seen: str | None = None  # when the story was first seen (ISO): its time when it has no `published`
    tz: str = ""  # the destination's time zone (IANA name) its times are shown in; "": UTC
    outlets: Mapping[str, str] = field(default_factory=dict)  # feed name → the outlet's name people read


def alert_payload(*, title: str, url: str, summary: str, source: str, published: str | None,
                  watchlist_title: str, matches: Sequence[Match], sources: Sequence[str] = (),
                  extra: dict[str, Any] | None = None, related: str | None = None, body: str = "",
                  seen: str | None = None) -> dict[str, Any]:
    """The JSON kept in an outbox row: everything a channel needs, frozen at match time.

    This is where the two sides meet: `monitor` writes it, `alerts` reads it back as an
    `Alert` (alerts.render.alert_from_row). The body itself is not kept here (the story
    row holds it); `snippets` are the sentences around the matched terms
    (`monitor.snippet.snippets`: [{"term", "field", "paragraph", "text", "marks"}]).
    """
    return {
        "title": title, "url": url, "summary": summary, "source": source, "published": published,
        **({"seen": seen} if seen else {}),  # when first seen: the story's time when it has no date
        "watchlist_title": watchlist_title,
        "matches": [asdict(m) for m in matches], "sources": list(sources), "extra": extra or {},
        **({"related": related} if related else {}),  # the watchlist's `related:` mode
        "snippets": story_snippets(title, summary, body, matches),
    }
