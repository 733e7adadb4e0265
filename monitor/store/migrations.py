"""The SQLite schema: its named migrations, in order (see `monitor.store.db` for how
they are applied; `monitor.store.postgres` holds PostgreSQL's, under the same names).

A migration once released is never edited: a change is a new one.
"""
from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", """
    CREATE TABLE IF NOT EXISTS feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        configured_url TEXT,
        interval REAL,
        enabled INTEGER NOT NULL DEFAULT 1,
        disabled_reason TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        next_poll REAL NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_poll REAL,
        last_success REAL,
        last_error TEXT,
        last_error_at REAL,
        last_new_item REAL,
        items_seen INTEGER NOT NULL DEFAULT 0,
        avg_interval REAL,
        healthy INTEGER NOT NULL DEFAULT 1,
        title TEXT,
        source TEXT NOT NULL DEFAULT 'config'
    );
    CREATE TABLE IF NOT EXISTS stories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        feed TEXT NOT NULL,
        guid TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '',
        canonical_url TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        published REAL,
        fetched REAL NOT NULL,
        cluster INTEGER NOT NULL,
        dedup_kind TEXT NOT NULL DEFAULT 'new',
        UNIQUE (feed, guid)
    );
    CREATE INDEX IF NOT EXISTS stories_cluster ON stories (cluster);
    CREATE INDEX IF NOT EXISTS stories_canonical_url ON stories (canonical_url);
    CREATE INDEX IF NOT EXISTS stories_fetched ON stories (fetched);
    CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'story',
        watchlist TEXT NOT NULL,
        cluster INTEGER NOT NULL,
        story_id INTEGER NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created REAL NOT NULL,
        sent_at REAL,
        ref TEXT,
        UNIQUE (cluster, watchlist, channel, destination, kind)
    );
    CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_try);
    CREATE TABLE IF NOT EXISTS subscriptions (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        watchlist TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        PRIMARY KEY (channel, destination, watchlist)
    );
    CREATE TABLE IF NOT EXISTS destinations (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (channel, destination)
    );
    CREATE TABLE IF NOT EXISTS personal_terms (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        term TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (channel, destination, term)
    );
    CREATE TABLE IF NOT EXISTS cluster_watchlists (
        cluster INTEGER NOT NULL,
        watchlist TEXT NOT NULL,
        PRIMARY KEY (cluster, watchlist)
    );
    CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    """),
    ("002_feed_last_published", """
    ALTER TABLE feeds ADD COLUMN last_published REAL
    """),
    ("003_feed_bad_items", """
    ALTER TABLE feeds ADD COLUMN bad_items INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN bad_item_error TEXT
    """),
    ("004_outbox_held", """
    ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET held=1, last_error=LTRIM(SUBSTR(last_error, 6)) WHERE SUBSTR(last_error, 1, 5)='held:'
    """),
    # a story's event (the first story of the same event told by other outlets); an alert
    # row's event, and how a related story's alert went (`related`: reply or edit)
    ("005_story_event", """
    ALTER TABLE stories ADD COLUMN event INTEGER;
    UPDATE stories SET event=cluster;
    CREATE INDEX IF NOT EXISTS stories_event ON stories (event);
    ALTER TABLE outbox ADD COLUMN event INTEGER;
    UPDATE outbox SET event=cluster;
    ALTER TABLE outbox ADD COLUMN related TEXT;
    CREATE INDEX IF NOT EXISTS outbox_event ON outbox (event, watchlist, channel, destination)
    """),
    # The search index (monitor/store/desk.py); the rows of the stories already stored
    # are written by `desk.fill_search_index` (through `Store._after_migration`).
    ("006_story_search", """
    CREATE VIRTUAL TABLE IF NOT EXISTS story_search USING fts5(
        words, content='', tokenize='unicode61 remove_diacritics 0', detail=none, columnsize=0)
    """),
    # The web view's reads (monitor/store/web.py): alerts newest first, by watchlist or by
    # source, and stories per feed and day, counted as they are stored.
    ("007_desk_view", """
    CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created);
    CREATE INDEX IF NOT EXISTS outbox_watchlist_created ON outbox (watchlist, created, kind, cluster);
    CREATE INDEX IF NOT EXISTS outbox_source_created ON outbox (json_extract(payload, '$.source'), created);
    CREATE TABLE IF NOT EXISTS feed_days (
        feed TEXT NOT NULL,
        day INTEGER NOT NULL,
        stories INTEGER NOT NULL,
        PRIMARY KEY (feed, day)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO feed_days SELECT feed, CAST(fetched / 86400 AS INTEGER), COUNT(*) FROM stories
        GROUP BY 1, 2
    """),
    ("008_leases", """
    ALTER TABLE feeds ADD COLUMN leased_until REAL;
    ALTER TABLE feeds ADD COLUMN leased_by TEXT;
    ALTER TABLE outbox ADD COLUMN leased_until REAL;
    ALTER TABLE outbox ADD COLUMN leased_by TEXT
    """),
    ("009_nodes", """
    CREATE TABLE IF NOT EXISTS nodes (
        name TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started REAL NOT NULL,
        last_seen REAL NOT NULL,
        roles TEXT NOT NULL DEFAULT '',
        feeds_in_flight INTEGER NOT NULL DEFAULT 0,
        alerts_in_flight INTEGER NOT NULL DEFAULT 0,
        polls INTEGER NOT NULL DEFAULT 0
    )
    """),
    # the article behind each story (issue: read the whole story): its main text, how it
    # was got (`body_state`, see monitor/store/articles.py) and why not; per feed, whether
    # pages are read (`fulltext`) and whether the admins were told its pages give no text
    ("010_story_body", """
    ALTER TABLE stories ADD COLUMN body TEXT NOT NULL DEFAULT '';
    ALTER TABLE stories ADD COLUMN body_state TEXT NOT NULL DEFAULT '';
    ALTER TABLE stories ADD COLUMN body_reason TEXT;
    CREATE INDEX IF NOT EXISTS stories_body_open ON stories (body_state, fetched)
        WHERE body_state IN ('waiting', 'joined', 'late');
    ALTER TABLE feeds ADD COLUMN fulltext TEXT;
    ALTER TABLE feeds ADD COLUMN fulltext_flagged INTEGER NOT NULL DEFAULT 0
    """),
    # A desk's first day: the outlet's name the config gives a feed (`title:`), feedback on
    # an alert ("not relevant", counted per watchlist), and events a chat muted for a while.
    ("011_desk_first_day", """
    ALTER TABLE feeds ADD COLUMN config_title TEXT;
    CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        watchlist TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (channel, destination, watchlist, story_id, kind)
    );
    CREATE INDEX IF NOT EXISTS feedback_watchlist ON feedback (watchlist, kind);
    CREATE TABLE IF NOT EXISTS muted_events (
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        event INTEGER NOT NULL,
        until REAL NOT NULL,
        PRIMARY KEY (channel, destination, event)
    )
    """),
    # Bounds and agreement: new items a poll left for the next ones (`poll.max_new_items`),
    # and the hash of each node's watchlists and settings (nodes that disagree are reported).
    ("012_node_config", """
    ALTER TABLE feeds ADD COLUMN items_deferred INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE nodes ADD COLUMN config_hash TEXT NOT NULL DEFAULT ''
    """),
]
