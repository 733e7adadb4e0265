"""The store: all of Raqib's state, and every SQL statement of the project.

`Store` is the one object callers use (`from monitor.store import Store`): the database
and, by composition, one part per table family (`store.feeds`, `store.outbox` …), each a
`Part` over the same connection and each module stating its own rules:

- `db`            the connection: opening (exclusive lock, read-only, damaged files),
                  named migrations, transactions, ping, backup; SQLite or PostgreSQL
                  (`database:` a path or a postgresql:// URL);
- `migrations`    the SQLite schema, as named migrations;
- `rows`          the rows the parts hand out (`FeedRow`, `OutboxRow` …) and the updates
                  they take (`FeedUpdate`): frozen dataclasses named for what they are;
- `part`          `Part`, what every table family reads and writes through;
- `postgres`      the PostgreSQL side of the dialect seam: the connection, the statement
                  translation, its migrations;
- `feeds`         `feeds`: fetch state, schedule, health;
- `stories`       `stories` and `cluster_watchlists`;
- `articles`      the article text of each story (`stories.body`) and its `BodyState`;
- `desk`          `story_search` (the search index) and the reads of `raqib try`, `raqib
                  search` and the web page;
- `outbox`        `outbox`: alerts to send, their `OutboxState` and the `held` mark;
- `subscriptions` `subscriptions`, `destinations` (settings) and `personal_terms`;
- `feedback`      `feedback` (an alert "not relevant") and `muted_events` (an event a
                  destination muted for a while);
- `nodes`         `nodes`: the daemons sharing the database, as each reports itself;
- `locks`         role locks (PostgreSQL advisory locks on a connection of their own),
                  not a table: which node does each singleton job;
- `web`           what the web view reads: alerts one per story and watchlist, a
                  story's outlets, counts per hour and day for its charts;
- `copy`          `raqib migrate-db`: every table into another database;
- `worker`        the daemon's store thread (`StoreThread`) and its inline stand-in.

What spans several families lives here: `counts` (what `raqib status`, the daemon's
/status and /metrics report) and `prune` (retention). One table has no family: `kv`,
small named values, which today holds only the write probe of `ping`.
"""
from __future__ import annotations

from pathlib import Path

from .articles import ArticleTable, BodyState
from .db import MIGRATIONS, Database, DatabaseLock, IngestLockBusy, Tx
from .desk import DeskReads, SearchWord, fill_search_index, unindex_stories
from .feedback import NOT_RELEVANT, FeedbackTables
from .feeds import FeedTable
from .locks import AdvisoryLocks, LocalLocks, RoleLocks
from .nodes import NodeTable
from .outbox import DEAD, PENDING, SENDING, SENT, OutboxState, OutboxTable
from .rows import (
    UNSET,
    AlertRef,
    AlertView,
    ArticleStory,
    ClusterMember,
    ClusterOutlet,
    DeadLetter,
    DeskStory,
    EventLead,
    FeedRow,
    FeedUpdate,
    FulltextHealth,
    NodeRow,
    OpenArticle,
    OutboxRow,
    PersonalTerm,
    SchemaState,
    SentStory,
    StoryAlert,
    StoryRef,
    StoryRow,
    StorySource,
    UnsentRow,
)
from .stories import StoryTable
from .subscriptions import SubscriptionTables, read_personal_terms
from .web import WebViews

__all__ = ["MIGRATIONS", "NOT_RELEVANT", "UNSET", "AdvisoryLocks", "AlertRef", "AlertView", "ArticleStory",
           "BodyState", "ClusterMember", "ClusterOutlet", "DatabaseLock", "DeadLetter", "DeskStory", "EventLead",
           "FeedRow", "FeedUpdate", "FulltextHealth", "IngestLockBusy", "LocalLocks", "NodeRow", "OpenArticle",
           "OutboxRow", "OutboxState", "PersonalTerm", "RoleLocks", "SchemaState", "SearchWord", "SentStory",
           "Store", "StoryAlert", "StoryRef", "StoryRow", "StorySource", "UnsentRow", "read_personal_terms"]

HOUR, DAY = 3600.0, 86400.0


class Store(Database):
    """All of Raqib's state: the database (opening, migrations, transactions, ping,
    backup, close) and its parts, one per table family, each holding the same
    connection: `feeds`, `stories`, `articles`, `outbox`, `subscriptions`, `feedback`,
    `nodes`, `desk` and `web`. Not shared across threads."""

    def __init__(self, path: str | Path | None = None, *, memory: bool = False, readonly: bool = False,
                 exclusive: bool = False, node: str | None = None) -> None:
        # the parts first: a migration may call on one (the search index fills itself)
        self.feeds = FeedTable(self)
        self.stories = StoryTable(self)
        self.articles = ArticleTable(self)
        self.outbox = OutboxTable(self)
        self.subscriptions = SubscriptionTables(self)
        self.feedback = FeedbackTables(self)
        self.nodes = NodeTable(self)
        self.desk = DeskReads(self)
        self.web = WebViews(self)
        super().__init__(path, memory=memory, readonly=readonly, exclusive=exclusive, node=node)

    def _after_migration(self, name: str, conn: Tx) -> None:
        if name == "006_story_search":
            fill_search_index(conn, postgres=self.postgres)

    def counts(self, now: float) -> dict[str, int]:
        """Stories stored and alerts sent in the last hour and day, alerts waiting
        (pending or being sent) and dead letters."""
        return {
            "stories_hour": self._scalar("SELECT COUNT(*) FROM stories WHERE fetched >= ?", (now - HOUR,)),
            "stories_day": self._scalar("SELECT COUNT(*) FROM stories WHERE fetched >= ?", (now - DAY,)),
            "alerts_hour": self._scalar(f"SELECT COUNT(*) FROM outbox WHERE state='{SENT}' AND sent_at >= ?",
                                        (now - HOUR,)),
            "alerts_day": self._scalar(f"SELECT COUNT(*) FROM outbox WHERE state='{SENT}' AND sent_at >= ?",
                                       (now - DAY,)),
            "outbox_pending": self._scalar(f"SELECT COUNT(*) FROM outbox WHERE state IN ('{PENDING}', '{SENDING}')"),
            "dead": self._scalar(f"SELECT COUNT(*) FROM outbox WHERE state='{DEAD}'"),
        }

    def alerts_raised(self) -> int:
        """Story and spread alerts sent, ever (`raqib demo`)."""
        return self._scalar(f"SELECT COUNT(*) FROM outbox WHERE state='{SENT}' AND kind IN ('story', 'spread')")

    def prune(self, *, stories_before: float, outbox_before: float) -> dict[str, int]:
        """Drop old stories (whole clusters whose newest member is old, out of the search
        index too) and old sent alerts."""
        with self.transaction() as conn:
            sent = conn.execute(f"DELETE FROM outbox WHERE state='{SENT}' AND COALESCE(sent_at, created) < ?",
                                (outbox_before,)).rowcount
            conn.execute("DELETE FROM cluster_watchlists WHERE cluster IN (SELECT cluster FROM stories "
                         "GROUP BY cluster HAVING MAX(fetched) < ?)", (stories_before,))
            conn.execute("DELETE FROM feed_days WHERE day < ?", (int(stories_before // DAY) - 1,))
            doomed = ("FROM stories WHERE cluster IN (SELECT cluster FROM stories GROUP BY cluster "
                      "HAVING MAX(fetched) < ?) AND id NOT IN (SELECT story_id FROM outbox "
                      f"WHERE state IN ('{PENDING}', '{SENDING}', '{DEAD}'))")
            unindex_stories(conn, conn.execute(f"SELECT id, title, summary, body {doomed}",
                                               (stories_before,)).fetchall())
            stories = conn.execute(f"DELETE {doomed}", (stories_before,)).rowcount
        return {"stories": stories, "outbox": sent}
