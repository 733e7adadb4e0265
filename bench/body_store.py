"""What the article text costs in the database: bytes per 100,000 stories, SQLite and PostgreSQL.

Stores N ANT stories (outside the reserved days, cycled with fresh GUIDs when N is larger
than the corpus) twice — once with their article text as `stories.body` (what a daemon
reading pages keeps), once without — through the project's own `Store.stories.insert`
(which also writes the search index, now holding the body's words), and prints the
difference scaled to 100,000 stories. On PostgreSQL (when a server answers at
RAQIB_TEST_POSTGRES or postgresql://postgres@127.0.0.1:5432/test) the same into two
schemas of their own, measured with pg_total_relation_size.

    .venv/bin/python bench/body_store.py [--stories 20000]
"""
from __future__ import annotations

import argparse
import itertools
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antcorpus import stories as ant_stories  # noqa: E402

from monitor.store import Store  # noqa: E402
from monitor.store.articles import MAX_BODY  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "antcorpus"
PG = os.environ.get("RAQIB_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"


def corpus() -> list[dict]:
    docs = []
    for path in sorted(CORPUS.glob("*.jsonl.gz")):
        docs.extend(ant_stories(path))
    return docs


def paragraphs(text: str) -> str:
    return "\n\n".join(p.strip() for p in (text or "").splitlines() if p.strip())


def fill(store: Store, docs: list[dict], n: int, with_body: bool) -> float:
    started = time.process_time()
    rows = itertools.islice(itertools.cycle(docs), n)
    batch: list[dict] = []
    for i, doc in enumerate(rows, 1):
        batch.append({"id": i, "feed": doc.get("src") or "ant", "guid": f"{doc['docno']}-{i}", "url": doc["url"],
                      "canonical_url": doc["url"], "title": doc["title"] or "", "summary": doc.get("abstract") or "",
                      "published": None, "fetched": 1.5e9 + i, "cluster": i, "event": i, "dedup_kind": "new",
                      "body": paragraphs(doc.get("text") or "")[:MAX_BODY] if with_body else "",
                      "body_state": "read" if with_body else ""})
        if len(batch) == 1000:
            with store.transaction() as conn:
                for row in batch:
                    store.stories.insert(conn, row)
            batch = []
    if batch:
        with store.transaction() as conn:
            for row in batch:
                store.stories.insert(conn, row)
    return time.process_time() - started


def sqlite_size(docs: list[dict], n: int, with_body: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raqib.db"
        store = Store(path)
        cpu = fill(store, docs, n, with_body)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
        return sum(p.stat().st_size for p in Path(tmp).iterdir()), cpu


def postgres_size(docs: list[dict], n: int, with_body: bool) -> int | None:
    try:
        import psycopg
    except ImportError:
        return None
    schema = f"bench_body_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error:
        return None
    url = PG + ("&" if "?" in PG else "?") + f"options=-csearch_path%3D{schema}"
    try:
        store = Store(url)
        fill(store, docs, n, with_body)
        size = sum(int(store._scalar(f"SELECT pg_total_relation_size('{table}')") or 0)
                   for table in ("stories", "story_search", "feed_days"))
        store.close()
        return size
    finally:
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=20_000)
    args = parser.parse_args()
    docs = corpus()
    n = args.stories
    bodies = [len(paragraphs(d.get("text") or "")) for d in docs]
    bodies.sort()
    print(f"ANT stories outside the reserved days: {len(docs)}; body characters median {bodies[len(bodies) // 2]}, "
          f"p90 {bodies[len(bodies) * 9 // 10]}")
    with_body, cpu_with = sqlite_size(docs, n, True)
    without, cpu_without = sqlite_size(docs, n, False)
    scale = 100_000 / n
    print(f"SQLite, {n} stories: {without / 1e6:.1f} MB without bodies, {with_body / 1e6:.1f} MB with")
    print(f"SQLite per 100,000 stories: bodies add {(with_body - without) * scale / 1e6:.0f} MB "
          f"({(with_body - without) / n:.0f} bytes a story); storing cost {cpu_without * 1e3 / n:.2f} -> "
          f"{cpu_with * 1e3 / n:.2f} ms CPU a story")
    pg_with = postgres_size(docs, n, True)
    pg_without = postgres_size(docs, n, False) if pg_with is not None else None
    if pg_with is None or pg_without is None:
        print("PostgreSQL: no server answered, skipped")
    else:
        print(f"PostgreSQL per 100,000 stories: bodies add {(pg_with - pg_without) * scale / 1e6:.0f} MB "
              f"({(pg_with - pg_without) / n:.0f} bytes a story; {pg_with * scale / 1e6:.0f} MB in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
