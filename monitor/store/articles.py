"""The article behind each story: its main text in `stories.body`, and how it was got.

`stories.body_state` says where a story is on the way to its text (`BodyState`):

    ''        no page is read for it: the feed's `fulltext: never`, or no link
    feed      the feed carried the article itself (content:encoded, an Atom content, or a
              long description); `body` holds it when it came apart from the summary
    waiting   its page is being read by the node that stored it; nothing matched or
              alerted yet (at most `fulltext.wait`)
    joined    a copy whose cluster's page is being read: it waits for that text, reads none
    late      the wait ran out: matched and alerted on the feed's text; a page that comes
              later is still matched, and alerts only what the feed's text did not
    read      the page was read: `body` is its main text
    copied    `body` is its cluster's text, never fetched for this story
    failed    the page could not be read; `body_reason` says why in words

Every change of state is conditional on the state it leaves (`set_body`), so the page
that arrives, the wait that runs out and a node sweeping up after a dead one never act
on a story twice: one of them moves it, the others find it moved and do nothing.

`fulltext_health` reads a feed's figures from its stories (no counters to keep in step):
pages tried and read, the newest problem in words, the median length of what was read.
Bodies are bounded when stored (`MAX_BODY`) and go with their story at pruning.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from statistics import median
from typing import Any

from .db import Tx
from .part import Part
from .rows import ArticleStory, FulltextHealth, OpenArticle


class BodyState:
    NONE = ""
    FEED = "feed"
    WAITING = "waiting"
    JOINED = "joined"
    LATE = "late"
    READ = "read"
    COPIED = "copied"
    FAILED = "failed"

    HELD = (WAITING, JOINED)  # nothing matched yet: alerts wait for the page
    OPEN = (WAITING, JOINED, LATE)  # a page may still come
    HAS_TEXT = (FEED, READ, COPIED)  # a cluster member with one of these has text to share
    TRIED = (READ, FAILED, LATE)  # a page was asked for (health figures)


MAX_BODY = 100_000  # characters of article text kept per story (a long report is ~20,000)
_STORY = ("id, feed, guid, url, title, summary, published, fetched, cluster, COALESCE(event, cluster) AS event, "
          "dedup_kind, body, body_state")


class ArticleTable(Part):
    def cluster_texts(self, clusters: Iterable[int]) -> dict[int, tuple[str, str]]:
        """For each cluster: (state, body) of what its members know of the article —
        (`read`|`feed`|`copied`, text) when one has text to share, (`waiting`, '') when a
        page is still being read for it, (`failed`, '') when one was tried and failed;
        clusters with none of these are left out."""
        wanted = sorted({int(c) for c in clusters})
        out: dict[int, tuple[str, str]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                    f"SELECT cluster, body_state, body FROM stories WHERE cluster IN ({marks}) "
                    "AND body_state <> '' ORDER BY id", chunk):
                cluster, state = int(row["cluster"]), row["body_state"]
                have = out.get(cluster)
                if state in BodyState.HAS_TEXT and (row["body"] or state == BodyState.FEED):
                    if have is None or have[0] not in BodyState.HAS_TEXT:
                        out[cluster] = (state, row["body"] or "")
                elif state in (BodyState.WAITING, BodyState.LATE):
                    if have is None or have[0] == BodyState.FAILED:
                        out[cluster] = (BodyState.WAITING, "")
                elif state == BodyState.FAILED and have is None:
                    out[cluster] = (BodyState.FAILED, "")
        return out

    def story_for_article(self, story_id: int) -> ArticleStory | None:
        """One story with its cluster's members still waiting on a page (`members`)."""
        rows = self._typed(ArticleStory, f"SELECT {_STORY} FROM stories WHERE id=?", (story_id,))
        if not rows:
            return None
        story = rows[0]
        members = self._typed(
            ArticleStory, f"SELECT {_STORY} FROM stories WHERE cluster=? AND id<>? "
            "AND body_state IN ('waiting', 'joined', 'late') ORDER BY id", (story.cluster, story_id))
        return replace(story, members=tuple(members))

    def set_body(self, conn: Tx, story_id: int, *, state: str, leaving: Sequence[str], body: str | None = None,
                 reason: str | None = None) -> bool:
        """Move a story to `state` if it is in one of `leaving` (inside the caller's
        transaction); False when another path moved it first. `body` None keeps the text."""
        marks = ",".join("?" * len(leaving))
        sets, params = "body_state=?, body_reason=?", [state, reason]
        if body is not None:
            sets += ", body=?"
            params.append(body[:MAX_BODY])
        cur = conn.execute(f"UPDATE stories SET {sets} WHERE id=? AND body_state IN ({marks})",
                           (*params, story_id, *leaving))
        return bool(cur.rowcount)

    def open(self, *, states: Sequence[str], fetched_before: float, fetched_after: float = 0.0,
                      limit: int = 1000) -> list[OpenArticle]:
        """Stories whose page may still come (`states` among `BodyState.OPEN`), stored in
        [fetched_after, fetched_before), oldest first, with their feed's URL (`feed_url`)."""
        marks = ",".join("?" * len(states))
        return self._typed(
            OpenArticle, "SELECT s.id, s.feed, s.url, s.cluster, s.fetched, s.body_state, f.url AS feed_url "
            f"FROM stories s LEFT JOIN feeds f ON f.name = s.feed WHERE s.body_state IN ({marks}) AND s.fetched >= ? "
            "AND s.fetched < ? ORDER BY s.fetched LIMIT ?", (*states, fetched_after, fetched_before, limit))

    def fulltext_health(self, since: float, feed: str | None = None) -> dict[str, FulltextHealth]:
        """Per feed, over the stories stored since `since`: `tried` (pages asked for and
        settled), `read`, `rate` (read / tried, None when none tried), `problem` (the
        newest reason a page gave no text) and `median_chars` (of the bodies read)."""
        where = "fetched >= ?"
        params: list[Any] = [since]
        if feed is not None:
            where += " AND feed=?"
            params.append(feed)
        counts: dict[str, list[int]] = {}  # feed → [tried, read]
        for row in self._query(
                f"SELECT feed, body_state, COUNT(*) AS n FROM stories WHERE {where} "
                "AND body_state IN ('read', 'failed', 'late') GROUP BY feed, body_state", params):
            entry = counts.setdefault(row["feed"], [0, 0])
            entry[0] += int(row["n"])
            if row["body_state"] == BodyState.READ:
                entry[1] += int(row["n"])
        out: dict[str, FulltextHealth] = {}
        for name, (tried, read) in counts.items():
            problem = self._query(
                "SELECT body_reason FROM stories WHERE feed=? AND body_state='failed' AND fetched >= ? "
                "ORDER BY id DESC LIMIT 1", (name, since))
            lengths = [len(r["body"]) for r in self._query(
                "SELECT body FROM stories WHERE feed=? AND body_state='read' AND fetched >= ? "
                "ORDER BY id DESC LIMIT 200", (name, since))]
            out[name] = FulltextHealth(tried=tried, read=read, rate=read / tried if tried else None,
                                       problem=problem[0]["body_reason"] if problem else None,
                                       median_chars=int(median(lengths)) if lengths else None)
        return out

    def recent_page_outcomes(self, feed: str, n: int) -> list[tuple[str, str]]:
        """(state, reason) of the last `n` pages asked for on this feed, newest first."""
        return [(r["body_state"], r["body_reason"] or "") for r in self._query(
            "SELECT body_state, body_reason FROM stories WHERE feed=? AND body_state IN ('read', 'failed') "
            "ORDER BY id DESC LIMIT ?", (feed, n))]

    def flag_fulltext(self, feed: str, flagged: bool) -> bool:
        """Mark (or clear) that the admins were told this feed's pages give no text; True
        when it changed (so they are told once per episode)."""
        with self.transaction() as conn:
            return bool(conn.execute("UPDATE feeds SET fulltext_flagged=? WHERE name=? AND fulltext_flagged<>?",
                                     (int(flagged), feed, int(flagged))).rowcount)
