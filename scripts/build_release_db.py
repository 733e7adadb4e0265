"""Build tests/data/release-0.1.db: a database as release 0.1 wrote it, for the upgrade test.

Run it with the code of that release first on the path, never with the current tree:

    git archive <release commit> | tar -x -C /tmp/old
    .venv/bin/python scripts/build_release_db.py /tmp/old tests/data/release-0.1.db

It opens a new database with that release's `Store` (which applies that release's
migrations) and fills it through the store's public methods, with the values that
release's deliverer and Telegram channel wrote:

- feeds `agency` and `paper` (synced from a config), three stories in two clusters;
- one outbox row in each state: pending; held by quiet hours (`hold` with the
  deliverer's reason "held: quiet hours, mute or digest mode"); held by a long Telegram
  RetryAfter (`mark_retry` with "held: Telegram asks to wait 120s"); sending (claimed,
  as a crash leaves it); dead (after three attempts); sent (with its message ref);
  and a pending `update` row;
- Telegram subscriptions (one left, so inactive), destination settings (language,
  quiet hours, digest mode, a mute) and personal terms.

Every time is fixed (`NOW` and offsets from it), so the file is the same on every run
but for SQLite's page layout. tests/monitor/test_store_upgrade.py opens a copy with today's
Store and checks that all of it is there.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

NOW = 1_775_000_000.0  # 2026-03-31, a fixed clock


@dataclass
class FeedConfig:
    name: str
    url: str
    interval: float | None = None
    enabled: bool = True


def build(old_tree: Path, target: Path) -> None:
    sys.path.insert(0, str(old_tree))
    from monitor.store import Store  # the old release's store, by design: imported once its tree is on the path

    if target.exists():
        target.unlink()
    store = Store(target)
    store.sync_feeds([FeedConfig("agency", "https://agency.example/rss"),
                      FeedConfig("paper", "https://paper.example/feed", interval=600.0)])
    store.update_feed("agency", last_poll=NOW - 60, last_success=NOW - 60, items_seen=3)

    stories = [(1, "agency", "g1", 1, "new"), (2, "paper", "p1", 1, "same-story"), (3, "agency", "g2", 3, "new")]
    with store.transaction() as conn:
        for sid, feed, guid, cluster, kind in stories:
            store.insert_story(conn, {
                "id": sid, "feed": feed, "guid": guid, "url": f"https://{feed}.example/{guid}",
                "canonical_url": f"https://{feed}.example/{guid}", "title": f"عنوان {guid}",
                "summary": "", "published": NOW - 3600 + sid, "fetched": NOW - 600 + sid,
                "cluster": cluster, "dedup_kind": kind})

    def alert(destination: str, watchlist: str, cluster: int = 1, kind: str = "story") -> int:
        with store.transaction() as conn:
            store.enqueue(conn, channel="telegram", destination=destination, kind=kind, watchlist=watchlist,
                          cluster=cluster, story_id=cluster, payload={"title": f"alert {watchlist}"},
                          now=NOW - 500)
        return int(store.conn.execute("SELECT MAX(id) FROM outbox").fetchone()[0])

    alert("100", "pending")
    store.hold([alert("200", "quiet")], NOW + 7200, "held: quiet hours, mute or digest mode")
    store.mark_retry([alert("300", "retry-after")], NOW + 120, "held: Telegram asks to wait 120s")
    store.claim([alert("400", "sending")])
    dead = alert("500", "dead")
    for _ in range(3):
        store.claim([dead])
        store.mark_retry([dead], NOW - 100, "connection reset")
    store.claim([dead])
    store.mark_dead([dead], "bot was blocked by the user")
    sent = alert("600", "sent")
    store.claim([sent])
    store.mark_sent([sent], NOW - 400, "600:77")
    alert("600", "sent", kind="update")

    store.subscribe("telegram", "100", "russia")
    store.subscribe("telegram", "100", "oil")
    store.subscribe("telegram", "200", "oil")
    store.unsubscribe("telegram", "200", "oil")
    store.update_destination_settings("telegram", "100", lang="ar", quiet="22:00-07:00", mode="daily@08:00")
    store.update_destination_settings("telegram", "200", muted_until=NOW + 86400)
    store.add_personal_term("telegram", "100", "خامنئي")
    store.add_personal_term("telegram", "100", "OPEC+")
    store.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build(Path(sys.argv[1]), Path(sys.argv[2]))
