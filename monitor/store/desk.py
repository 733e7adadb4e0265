"""Reads for the desk (`raqib try`, `raqib search`, the web page) and the story search index.

Table `story_search` (SQLite FTS5, migration `006_story_search`): one row per story, its
rowid the story's id, holding the story's words: the tokens of its normalised title and
summary (`monitor.normalize.tokenize`, the matcher's own tokens), each once and each
written backwards. The row is written with the story (`insert_story`, same transaction),
deleted with it (a trigger, so pruning needs nothing more), and written for every stored
story when a database of an earlier release upgrades.

Why backwards: a word of a watchlist or of a query matches a token that *ends* with it
(proclitics and the article come in front: لبوتين, والحكومة; للجنة ends with لجنة, the
bare form of اللجنة), and FTS5 finds tokens by how they *start* (`"نيتوب"*`). So:

- a `SearchWord` that is not `whole` narrows to the stories holding a token that ends
  with it (every written form of a word ends with its bare form, the word without its
  article);
- a `whole` one to the stories holding exactly that token (an exact term, the second
  word of a phrase);
- `search_candidates` takes alternatives, each a list of words that must all be there.

That is a superset of what the matcher accepts, never less; the matcher then decides
(tests/test_desk.py proves with hypothesis that narrowing loses no story the matcher
accepts). A word holding a character the FTS5 tokenizer does not read as a letter
(`unicode61` knows Unicode 6.1) cannot be looked up safely: `narrowable` says no, and the
caller scans instead; so does a database without the index (an earlier release read
read-only while its daemon still runs: `search_candidates` returns None).

The index is only as good as its words: a change to the fold (`monitor.normalize`) or to
what a token is must come with a migration that writes every row again (as 006's
backfill does), or stories stored before it could be missed.

Variant spellings (`variants: true`, `~name`) are not narrowed: every spelling shares a
skeleton, not letters a prefix query can find; those searches read the stories.

Newest first is by id, the order stories were stored. The time window is turned into
the smallest id fetched since then (through `stories_fetched`), so FTS5 walks only that
range of rowids.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..normalize import normalize_text, tokenize
from .db import Database

SEARCH_TABLE = "story_search"
STORY_COLUMNS = "s.id, s.cluster, s.feed, s.title, s.summary, s.url, s.published, s.fetched"
_BATCH = 500


@dataclass(frozen=True)
class SearchWord:
    """One word a candidate must hold: normalised, one token; `whole`: exactly this
    token, else any token ending with it (the word with proclitics in front)."""

    text: str
    whole: bool = False


def search_words(title: str, summary: str) -> str:
    """A story's row in the search index: its distinct tokens, each backwards."""
    tokens = tokenize(normalize_text(title + "\n" + summary))
    return " ".join(dict.fromkeys(t[::-1] for t in tokens))


def index_story(conn: sqlite3.Connection, story_id: int, title: str, summary: str) -> None:
    """Put a story in the search index (inside the transaction that stores it)."""
    conn.execute(f"INSERT INTO {SEARCH_TABLE}(rowid, words) VALUES (?, ?)", (story_id, search_words(title, summary)))


def narrowable(word: str) -> bool:
    """Whether FTS5's tokenizer reads `word` as one token, as Raqib does (letters and
    digits it knows: Latin and Arabic)."""
    return bool(word) and all(c < "\u0250" or "\u0620" <= c <= "\u06ff" for c in word) and word.isalnum()


def _fts_query(any_of: Sequence[Sequence[SearchWord]]) -> str:
    groups = []
    for words in any_of:
        parts = [f'"{w.text[::-1]}"' + ("" if w.whole else " *") for w in words]
        groups.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(groups)


class DeskReads(Database):
    """The desk's reads and the search index's writes (see the module)."""

    def _after_migration(self, name: str, conn: sqlite3.Connection) -> None:
        if name == "006_story_search":
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS stories_search_delete AFTER DELETE ON stories "
                         f"BEGIN DELETE FROM {SEARCH_TABLE} WHERE rowid = old.id; END")
            last = 0
            while True:  # every stored story, in batches
                rows = conn.execute("SELECT id, title, summary FROM stories WHERE id > ? ORDER BY id LIMIT ?",
                                    (last, _BATCH)).fetchall()
                if not rows:
                    break
                conn.executemany(f"INSERT INTO {SEARCH_TABLE}(rowid, words) VALUES (?, ?)",
                                 [(r[0], search_words(r[1], r[2])) for r in rows])
                last = rows[-1][0]
        super()._after_migration(name, conn)

    def has_search_index(self) -> bool:
        return bool(self._scalar("SELECT COUNT(*) FROM sqlite_master WHERE name=?", (SEARCH_TABLE,)))

    def first_id_since(self, since: float | None) -> int:
        """The smallest id of a story fetched at or after `since` (0 for none given; past
        the last id when there is none)."""
        if since is None:
            return 0
        # Through the index on fetched: the rows of the window alone, not every older id first.
        first = self._scalar("SELECT MIN(id) FROM stories INDEXED BY stories_fetched WHERE fetched >= ?", (since,))
        if first is None:
            return (self._scalar("SELECT MAX(id) FROM stories") or 0) + 1
        return int(first)

    def search_candidates(self, any_of: Sequence[Sequence[SearchWord]], since: float | None = None,
                          source: str | None = None, limit: int = 500, *,
                          before: int | None = None) -> list[dict] | None:
        """Stories that may match: those holding every word of one of the alternatives
        (see the module), fetched since `since`, from feed `source`, with an id below
        `before`; newest first, at most `limit`. None when this store cannot narrow (no
        index); the caller then reads `recent_stories` and lets the matcher decide."""
        if not any_of or not all(any_of) or not all(narrowable(w.text) for ws in any_of for w in ws):
            return None
        if not self.has_search_index():
            return None
        sql = (f"SELECT {STORY_COLUMNS} FROM {SEARCH_TABLE} f CROSS JOIN stories s ON s.id = f.rowid "
               f"WHERE {SEARCH_TABLE} MATCH ? AND f.rowid >= ?")
        params: list = [_fts_query(any_of), self.first_id_since(since)]
        if before is not None:
            sql += " AND f.rowid < ?"
            params.append(before)
        if since is not None:
            sql += " AND s.fetched >= ?"
            params.append(since)
        if source is not None:
            sql += " AND s.feed = ?"
            params.append(source)
        sql += " ORDER BY f.rowid DESC LIMIT ?"
        params.append(limit)
        return self._query(sql, params)

    def recent_stories(self, *, since: float | None = None, source: str | None = None, limit: int = 500,
                       before: int | None = None) -> list[dict]:
        """Stories fetched since `since` (from `source`, with an id below `before`), newest first."""
        sql = f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.id >= ?"
        params: list = [self.first_id_since(since)]
        if before is not None:
            sql += " AND s.id < ?"
            params.append(before)
        if since is not None:
            sql += " AND s.fetched >= ?"
            params.append(since)
        if source is not None:
            sql += " AND s.feed = ?"
            params.append(source)
        sql += " ORDER BY s.id DESC LIMIT ?"
        params.append(limit)
        return self._query(sql, params)

    def window_stories(self, since: float, until: float | None = None) -> Iterator[tuple]:
        """Stories fetched in [since, until), oldest first (a cluster's first story before
        its copies), as tuples in the order of `STORY_COLUMNS`."""
        sql = f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.id >= ? AND s.fetched >= ?"
        params: list = [self.first_id_since(since), since]
        if until is not None:
            sql += " AND s.fetched < ?"
            params.append(until)
        try:
            yield from self.conn.execute(sql + " ORDER BY s.id", params)
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc

    def earlier_members(self, clusters: Sequence[int], before: int) -> list[tuple]:
        """Members of these clusters with an id below `before` (stored before a window),
        oldest first, as tuples in the order of `STORY_COLUMNS`."""
        out: list[tuple] = []
        ids = sorted(set(clusters))
        try:
            for i in range(0, len(ids), _BATCH):
                chunk = ids[i:i + _BATCH]
                marks = ",".join("?" * len(chunk))
                out += self.conn.execute(f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.cluster IN ({marks}) "
                                         f"AND s.id < ?", (*chunk, before)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "database read failed") from exc
        return sorted(out)

    def count_window(self, since: float, until: float | None = None) -> int:
        """Stories fetched in [since, until)."""
        if until is None:
            return int(self._scalar("SELECT COUNT(*) FROM stories WHERE fetched >= ?", (since,)))
        return int(self._scalar("SELECT COUNT(*) FROM stories WHERE fetched >= ? AND fetched < ?", (since, until)))

    def cluster_members(self, clusters: Sequence[int]) -> dict[int, list[dict]]:
        """Every stored member of these clusters, first first: id, feed, url, published, fetched."""
        out: dict[int, list[dict]] = {}
        ids = list(dict.fromkeys(clusters))
        for i in range(0, len(ids), _BATCH):
            chunk = ids[i:i + _BATCH]
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT cluster, id, feed, url, published, fetched FROM stories "
                                   f"WHERE cluster IN ({marks}) ORDER BY id", chunk):
                out.setdefault(row.pop("cluster"), []).append(row)
        return out

    def story_sources(self) -> list[str]:
        """The feeds that have stories stored, by name."""
        return [r["feed"] for r in self._query("SELECT DISTINCT feed FROM stories ORDER BY feed")]
