"""Reads for the desk (`raqib try`, `raqib search`, the web page) and the story search index.

Table `story_search` (SQLite FTS5, migration `006_story_search`): one row per story, its
rowid the story's id, holding the story's words: the tokens of its normalised title and
summary (`monitor.normalize.tokenize`, the matcher's own tokens) and their skeletons,
each once and each written backwards. The row is written with the story
(`stories.insert`, same transaction), taken out as it is pruned (`unindex_stories`, in
`Store.prune`'s transaction), and written for every stored story when a database of an
earlier release upgrades.

The table keeps no copy of what it indexes (`content=''`: the words are as large as the
stories' own text): taking a story out gives FTS5 the words again, computed from the
story as it is deleted. Were they ever not the words once written, the story's old
entries would stay behind: harmless, as an entry only proposes a candidate and a
candidate is read from `stories`, where it no longer is.

Why backwards: a word of a watchlist or of a query matches a token that *ends* with it
(proclitics and the article come in front: لبوتين, والحكومة; للجنة ends with لجنة, the
bare form of اللجنة), and FTS5 finds tokens by how they *start* (`"نيتوب"*`). So:

- a `SearchWord` that is not `whole` narrows to the stories holding a token that ends
  with it (every written form of a word ends with its bare form, the word without its
  article);
- a `whole` one to the stories holding exactly that token (an exact term, the second
  word of a phrase);
- a `skeleton` one to the stories holding a token whose skeleton ends with it (below);
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

Variant spellings (`variants: true`, `~name`): every spelling the variant rules allow
has a token whose skeleton (`monitor.normalize.skeleton`: long vowels, hamza seats and ه
dropped, one letter per letter class) is a proclitic's skeleton followed by one of the
word's skeletons. So the row also holds each token's skeleton, backwards, behind
`SKELETON_MARK`, and a `skeleton` SearchWord finds the skeletons that end with it.

Newest first is by id, the order stories were stored. The time window is turned into
the smallest id fetched since then (through `stories_fetched`), so FTS5 walks only that
range of rowids.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..normalize import normalize_text, skeleton_words, tokenize
from .db import Tx
from .part import Part
from .rows import ClusterMember, DeskStory, row_of

SEARCH_TABLE = "story_search"
STORY_COLUMNS = "s.id, s.cluster, s.feed, s.title, s.summary, s.url, s.published, s.fetched, s.body"
# a story as `window_stories` and `earlier_members` read it, in the order of `STORY_COLUMNS`:
# id, cluster, feed, title, summary, url, published, fetched, body
StoryTuple = tuple[int, int, str, str, str, str, float | None, float, str]
_OLD_STORY_COLUMNS = STORY_COLUMNS.replace("s.body", "'' AS body")  # a database not yet upgraded (read-only)
_BATCH = 500


SKELETON_MARK = "\ue000"  # in front of a skeleton in the index: a token character no token holds


@dataclass(frozen=True)
class SearchWord:
    """One word a candidate must hold: normalised, one token; `whole`: exactly this
    token, else any token ending with it (the word with proclitics in front). With
    `skeleton`, `text` is a skeleton and the story must hold a token whose skeleton
    ends with it (a variant spelling)."""

    text: str
    whole: bool = False
    skeleton: bool = False


def search_words(title: str, summary: str, body: str = "") -> str:
    """A story's row in the search index: its distinct tokens and their distinct
    skeletons (marked), each backwards; the article's words too once it was read."""
    tokens = " ".join(dict.fromkeys(tokenize(normalize_text(title + "\n" + summary + "\n" + body))))
    if not tokens:
        return ""
    skeletons = dict.fromkeys(skeleton_words(tokens)[::-1].split(" "))
    skeletons.pop("", None)
    return " ".join((tokens[::-1], *(SKELETON_MARK + k for k in skeletons)))


def index_story(conn: Tx, story_id: int, title: str, summary: str, body: str = "") -> None:
    """Put a story in the search index (inside the transaction that stores it)."""
    words = search_words(title, summary, body)
    if getattr(conn, "postgres", False):
        conn.execute(f"INSERT INTO {SEARCH_TABLE} (id, words) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                     (story_id, words))
        return
    conn.execute(f"INSERT INTO {SEARCH_TABLE}(rowid, words) VALUES (?, ?)", (story_id, words))


def reindex_story(conn: Tx, story_id: int, title: str, summary: str, old_body: str, body: str) -> None:
    """A story's index row again, now that its article text came (inside the transaction
    that stores the text): the contentless SQLite index forgets a row by its old words."""
    if getattr(conn, "postgres", False):
        conn.execute(f"UPDATE {SEARCH_TABLE} SET words=? WHERE id=?", (search_words(title, summary, body), story_id))
        return
    unindex_stories(conn, [(story_id, title, summary, old_body)])
    index_story(conn, story_id, title, summary, body)


def unindex_stories(conn: Tx, rows: Iterable[Sequence[Any]]) -> None:
    """Take stories (id, title, summary[, body]) out of the search index, before they are
    deleted (inside the transaction that deletes them)."""
    if getattr(conn, "postgres", False):
        conn.execute(f"DELETE FROM {SEARCH_TABLE} WHERE id = ANY(?)", ([r[0] for r in rows],))
        return
    conn.executemany(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, words) VALUES ('delete', ?, ?)",
                     [(r[0], search_words(r[1], r[2], r[3] if len(r) > 3 else "")) for r in rows])


def clear_index(conn: Tx) -> None:
    """Empty the search index (`raqib migrate-db --replace`): a contentless FTS5 table
    refuses DELETE and is emptied by its `delete-all` command."""
    if getattr(conn, "postgres", False):
        conn.execute(f"DELETE FROM {SEARCH_TABLE}")
        return
    conn.execute(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('delete-all')")


def narrowable(word: str) -> bool:
    """Whether FTS5's tokenizer reads `word` as one token, as Raqib does (letters and
    digits it knows: Latin and Arabic)."""
    return bool(word) and all(c < "\u0250" or "\u0620" <= c <= "\u06ff" for c in word) and word.isalnum()


def _fts_query(any_of: Sequence[Sequence[SearchWord]]) -> str:
    groups = []
    for words in any_of:
        parts = [f'"{SKELETON_MARK if w.skeleton else ""}{w.text[::-1]}"' + ("" if w.whole else " *") for w in words]
        groups.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(groups)


def _like_query(any_of: Sequence[Sequence[SearchWord]]) -> tuple[str, list[Any]]:
    """The FTS5 query of `_fts_query` said with LIKE over a PostgreSQL row's words (each
    word a space-separated token, backwards): a token starting with the word backwards
    (`' ' || words LIKE '% drow%'`), or exactly it for a `whole` word. The same superset:
    the matcher decides. `narrowable` words hold no LIKE wildcard."""
    groups, params = [], []
    for words in any_of:
        parts = []
        for w in words:
            token = (SKELETON_MARK if w.skeleton else "") + w.text[::-1]
            parts.append("(' ' || f.words || ' ') LIKE ?")
            params.append(f"% {token} %" if w.whole else f"% {token}%")
        groups.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(groups), params


def fill_search_index(conn: Tx, *, postgres: bool) -> None:
    """Every stored story into the search index, in batches (migration `006_story_search`)."""
    into = f"INSERT INTO {SEARCH_TABLE} (id, words)" if postgres else f"INSERT INTO {SEARCH_TABLE}(rowid, words)"
    last = 0
    while True:
        rows = conn.execute("SELECT id, title, summary FROM stories WHERE id > ? ORDER BY id LIMIT ?",
                            (last, _BATCH)).fetchall()
        if not rows:
            break
        conn.executemany(f"{into} VALUES (?, ?)",
                         [(r[0], search_words(r[1], r[2], r[3] if len(r) > 3 else "")) for r in rows])
        last = rows[-1][0]


class DeskReads(Part):
    """The desk's reads and the search index's writes (see the module)."""

    def _story_columns(self) -> str:
        """`STORY_COLUMNS`, or on a database read before its upgrade (no article text yet)
        the same with an empty body."""
        known = getattr(self, "_body_column", None)
        if known is None:
            known = self._body_column = self._has_column("stories", "body")
        return STORY_COLUMNS if known else _OLD_STORY_COLUMNS

    def has_search_index(self) -> bool:
        if self.postgres:
            return bool(self._scalar(f"SELECT to_regclass('{SEARCH_TABLE}') IS NOT NULL"))
        return bool(self._scalar("SELECT COUNT(*) FROM sqlite_master WHERE name=?", (SEARCH_TABLE,)))

    def first_id_since(self, since: float | None) -> int:
        """The smallest id of a story fetched at or after `since` (0 for none given; past
        the last id when there is none)."""
        if since is None:
            return 0
        # Through the index on fetched: the rows of the window alone, not every older id first.
        indexed = "" if self.postgres else " INDEXED BY stories_fetched"
        first = self._scalar(f"SELECT MIN(id) FROM stories{indexed} WHERE fetched >= ?", (since,))
        if first is None:
            return (self._scalar("SELECT MAX(id) FROM stories") or 0) + 1
        return int(first)

    def search_candidates(self, any_of: Sequence[Sequence[SearchWord]], since: float | None = None,
                          source: str | None = None, limit: int = 500, *,
                          before: int | None = None) -> list[DeskStory] | None:
        """Stories that may match: those holding every word of one of the alternatives
        (see the module), fetched since `since`, from feed `source`, with an id below
        `before`; newest first, at most `limit`. None when this store cannot narrow (no
        index); the caller then reads `recent_stories` and lets the matcher decide."""
        if not any_of or not all(any_of) or not all(narrowable(w.text) for ws in any_of for w in ws):
            return None
        if not self.has_search_index():
            return None
        if self.postgres:
            match, params = _like_query(any_of)
            sql = (f"SELECT {self._story_columns()} FROM {SEARCH_TABLE} f JOIN stories s ON s.id = f.id "
                   f"WHERE ({match}) AND f.id >= ?")
            params.append(self.first_id_since(since))
        else:
            sql = (f"SELECT {self._story_columns()} FROM {SEARCH_TABLE} f CROSS JOIN stories s ON s.id = f.rowid "
                   f"WHERE {SEARCH_TABLE} MATCH ? AND f.rowid >= ?")
            params = [_fts_query(any_of), self.first_id_since(since)]
        more, more_params = _newest_first("f.id" if self.postgres else "f.rowid", before=before, since=since,
                                          source=source, limit=limit)
        return self._typed(DeskStory, sql + more, params + more_params)

    def recent_stories(self, *, since: float | None = None, source: str | None = None, limit: int = 500,
                       before: int | None = None) -> list[DeskStory]:
        """Stories fetched since `since` (from `source`, with an id below `before`), newest first."""
        more, more_params = _newest_first("s.id", before=before, since=since, source=source, limit=limit)
        return self._typed(DeskStory, f"SELECT {self._story_columns()} FROM stories s WHERE s.id >= ?" + more,
                           [self.first_id_since(since), *more_params])

    def window_stories(self, since: float, until: float | None = None) -> Iterator[StoryTuple]:
        """Stories fetched in [since, until), oldest first (a cluster's first story before
        its copies), as tuples in the order of `STORY_COLUMNS`."""
        sql = f"SELECT {self._story_columns()} FROM stories s WHERE s.id >= ? AND s.fetched >= ?"
        params: list[Any] = [self.first_id_since(since), since]
        if until is not None:
            sql += " AND s.fetched < ?"
            params.append(until)
        try:
            yield from self.conn.execute(sql + " ORDER BY s.id", params)
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc

    def earlier_members(self, clusters: Sequence[int], before: int) -> list[StoryTuple]:
        """Members of these clusters with an id below `before` (stored before a window),
        oldest first, as tuples in the order of `STORY_COLUMNS`."""
        out: list[StoryTuple] = []
        ids = sorted(set(clusters))
        try:
            for i in range(0, len(ids), _BATCH):
                chunk = ids[i:i + _BATCH]
                marks = ",".join("?" * len(chunk))
                out += self.conn.execute(f"SELECT {self._story_columns()} FROM stories s WHERE s.cluster IN ({marks}) "
                                         f"AND s.id < ?", (*chunk, before)).fetchall()
        except self.errors as exc:
            raise self._error(exc, "database read failed") from exc
        return sorted(out)

    def count_window(self, since: float, until: float | None = None) -> int:
        """Stories fetched in [since, until)."""
        if until is None:
            return int(self._scalar("SELECT COUNT(*) FROM stories WHERE fetched >= ?", (since,)))
        return int(self._scalar("SELECT COUNT(*) FROM stories WHERE fetched >= ? AND fetched < ?", (since, until)))

    def cluster_members(self, clusters: Sequence[int]) -> dict[int, list[ClusterMember]]:
        """Every stored member of these clusters, first first: id, feed, url, published, fetched."""
        out: dict[int, list[ClusterMember]] = {}
        ids = list(dict.fromkeys(clusters))
        for i in range(0, len(ids), _BATCH):
            chunk = ids[i:i + _BATCH]
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT cluster, id, feed, url, published, fetched FROM stories "
                                   f"WHERE cluster IN ({marks}) ORDER BY id", chunk):
                out.setdefault(row["cluster"], []).append(row_of(ClusterMember, row))
        return out

    def story_sources(self) -> list[str]:
        """The feeds that have stories stored, by name."""
        return [r["feed"] for r in self._query("SELECT DISTINCT feed FROM stories ORDER BY feed")]


def _newest_first(id_column: str, *, before: int | None, since: float | None, source: str | None,
                  limit: int) -> tuple[str, list[Any]]:
    """The filters and order that search candidates and recent stories share: an id below
    `before`, fetched since `since`, from `source`; newest first, at most `limit`."""
    sql = ""
    params: list[object] = []
    if before is not None:
        sql += f" AND {id_column} < ?"
        params.append(before)
    if since is not None:
        sql += " AND s.fetched >= ?"
        params.append(since)
    if source is not None:
        sql += " AND s.feed = ?"
        params.append(source)
    sql += f" ORDER BY {id_column} DESC LIMIT ?"
    params.append(limit)
    return sql, params
