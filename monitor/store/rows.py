"""The rows the store hands out and the updates it takes: frozen dataclasses (and one
named tuple, `StoryRef`), one per shape a read returns, named for what they are.

Rules:
- A row's fields are the columns its read selects, with the column's name; a renamed
  column is a type error in every consumer, not a KeyError at run time.
- Integers stay integers (`enabled`, `healthy`, `held` are 0 or 1 as stored), so a row
  says what the database says.
- A column a read-only database of an earlier release lacks reads as the field's
  default (`row_of`).
- An update (`FeedUpdate`) writes only the fields given; `UNSET` is "leave as it is",
  None is NULL.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    R = TypeVar("R", bound=DataclassInstance)
else:
    R = TypeVar("R")


_DEFAULTS: dict[type, tuple[tuple[str, Any], ...]] = {}


def row_of(cls: type[R], values: Mapping[str, Any]) -> R:
    """A row from a mapping of column → value: columns it has no field for are left out,
    fields it has no column for take their default (None when they have none)."""
    spec = _DEFAULTS.get(cls)
    if spec is None:
        spec = _DEFAULTS[cls] = tuple(
            (f.name, None if f.default is dataclasses.MISSING else f.default) for f in fields(cls))
    return cls(**{name: values.get(name, default) for name, default in spec})


def column_names(cls: type[R]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# -- feeds ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One row of `feeds` (see `monitor.store.feeds`)."""

    name: str
    url: str
    configured_url: str | None = None
    interval: float | None = None
    enabled: int = 1
    disabled_reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll: float = 0.0
    failures: int = 0
    last_poll: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    last_new_item: float | None = None
    items_seen: int = 0
    avg_interval: float | None = None
    healthy: int = 1
    title: str | None = None
    source: str = "config"
    last_published: float | None = None
    bad_items: int = 0
    bad_item_error: str | None = None
    leased_until: float | None = None
    leased_by: str | None = None
    fulltext: str | None = None
    fulltext_flagged: int = 0
    config_title: str | None = None
    items_deferred: int = 0


class Unset(Enum):
    """A field of an update left as it is (None writes NULL)."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What a poll (or a health check) changes in a feed's row: the fields given, only."""

    url: str | Unset = UNSET
    enabled: int | Unset = UNSET
    disabled_reason: str | None | Unset = UNSET
    etag: str | None | Unset = UNSET
    last_modified: str | None | Unset = UNSET
    body_hash: str | None | Unset = UNSET
    next_poll: float | Unset = UNSET
    failures: int | Unset = UNSET
    last_poll: float | None | Unset = UNSET
    last_success: float | None | Unset = UNSET
    last_error: str | None | Unset = UNSET
    last_error_at: float | None | Unset = UNSET
    last_new_item: float | None | Unset = UNSET
    items_seen: int | Unset = UNSET
    avg_interval: float | None | Unset = UNSET
    healthy: int | Unset = UNSET
    title: str | None | Unset = UNSET
    last_published: float | None | Unset = UNSET
    bad_items: int | Unset = UNSET
    bad_item_error: str | None | Unset = UNSET
    leased_until: float | None | Unset = UNSET
    leased_by: str | None | Unset = UNSET
    items_deferred: int | Unset = UNSET

    def columns(self) -> dict[str, Any]:
        """Column → value of the fields given."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not UNSET}


# -- stories -------------------------------------------------------------------------------


class StoryRef(NamedTuple):
    """A stored story as the dedup indexes learn it (`stories.since`, `stories.after`).
    A named tuple, not a dataclass: a rebuild reads hundreds of thousands, and a tuple is
    made in one step from the database's row (the columns in this order)."""

    id: int
    cluster: int
    event: int
    title: str
    summary: str
    url: str
    canonical_url: str  # as the pipeline stored it ('' in rows stored before it was kept)
    feed: str
    published: float | None
    fetched: float


@dataclass(frozen=True, slots=True)
class StorySource:
    """A story as one outlet's telling of a cluster or an event: who, where, when."""

    id: int
    feed: str
    url: str
    title: str
    published: float | None
    fetched: float


@dataclass(frozen=True, slots=True)
class EventLead:
    """An event's first story still stored (`event_lead`)."""

    id: int
    cluster: int
    feed: str
    title: str
    summary: str
    url: str
    published: float | None
    fetched: float
    body: str


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One stored story with its article (`stories.story`, the web page of a story)."""

    id: int
    feed: str
    guid: str
    url: str
    title: str
    summary: str
    published: float | None
    fetched: float
    cluster: int
    event: int
    body: str = ""
    body_state: str = ""
    body_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleStory:
    """A story whose page is read (`articles.story_for_article`), with the members of its
    cluster still waiting on a page (`members`, themselves without members)."""

    id: int
    feed: str
    guid: str
    url: str
    title: str
    summary: str
    published: float | None
    fetched: float
    cluster: int
    event: int
    dedup_kind: str
    body: str
    body_state: str
    members: tuple[ArticleStory, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenArticle:
    """A story whose page may still come (`articles.open_articles`), with its feed's URL."""

    id: int
    feed: str
    url: str
    cluster: int
    fetched: float
    body_state: str
    feed_url: str | None


@dataclass(frozen=True, slots=True)
class ClusterMember:
    """A stored member of a cluster (`desk.cluster_members`)."""

    id: int
    feed: str
    url: str
    published: float | None
    fetched: float


@dataclass(frozen=True, slots=True)
class DeskStory:
    """A story as the desk reads it (`search_candidates`, `recent_stories`)."""

    id: int
    cluster: int
    feed: str
    title: str
    summary: str
    url: str
    published: float | None
    fetched: float
    body: str = ""


@dataclass(frozen=True, slots=True)
class FulltextHealth:
    """A feed's full-text figures over a period (`articles.fulltext_health`)."""

    tried: int = 0
    read: int = 0
    rate: float | None = None
    problem: str | None = None
    median_chars: int | None = None


# -- outbox --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of `outbox` (see `monitor.store.outbox`); `payload` is JSON text."""

    id: int
    channel: str
    destination: str
    kind: str
    watchlist: str
    cluster: int
    story_id: int
    payload: str
    state: str
    attempts: int
    next_try: float
    last_error: str | None
    created: float
    sent_at: float | None = None
    ref: str | None = None
    held: int = 0
    event: int | None = None
    related: str | None = None
    leased_until: float | None = None
    leased_by: str | None = None


@dataclass(frozen=True, slots=True)
class SentStory:
    """The sent `story` alert of a cluster (`outbox.sent_story`): its reference, how it went."""

    ref: str
    related: str | None
    event: int


@dataclass(frozen=True, slots=True)
class UnsentRow:
    """A row not sent yet, as `raqib outbox` lists it."""

    id: int
    channel: str
    destination: str
    kind: str
    watchlist: str
    state: str
    attempts: int
    next_try: float
    last_error: str | None
    held: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    channel: str
    destination: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AlertRef:
    """An outbox row as a button on its alert names it (`feedback.outbox_row`)."""

    id: int
    channel: str
    destination: str
    kind: str
    watchlist: str
    cluster: int
    story_id: int
    event: int
    payload: str


# -- subscriptions, nodes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonalTerm:
    channel: str
    destination: str
    term: str


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One row of `nodes`: a daemon as it last reported itself."""

    name: str
    host: str
    pid: int
    started: float
    last_seen: float
    roles: str
    feeds_in_flight: int
    alerts_in_flight: int
    polls: int
    config_hash: str = ""


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Which backend, where, and the migrations applied and missing (`raqib check`)."""

    backend: str
    where: str
    applied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# -- the web view --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as the web view lists it (`web.latest_alerts`); `payload` is JSON text,
    `feed` the source its payload names."""

    id: int
    watchlist: str
    cluster: int
    story_id: int
    kind: str
    payload: str
    created: float
    feed: str | None


@dataclass(frozen=True, slots=True)
class ClusterOutlet:
    """A feed that carried a cluster (`web.cluster_outlets`): its first copy and when."""

    feed: str
    story_id: int
    fetched: float


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """A watchlist that alerted on a cluster, with its newest row's payload (`web.story_alerts`)."""

    watchlist: str
    kind: str
    payload: str
    created: float
