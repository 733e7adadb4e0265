"""The desk at 200,000 stored stories: `raqib try` of a 50-term watchlist over 3 days,
and searches (a common word, a rare name, a phrase, exact, variants).

    .venv/bin/python bench/desk.py [--stories 200000] [--db /tmp/raqib-desk-bench.db] [--rebuild]

The store is built once (`build_store`, reused by other benches: the web page's) and kept
at --db: stories are real title + abstract from the ANT corpus
(../shared/data/corpora/antcorpus, read through bench/antcorpus.py, which skips the
stories reserved for evaluation), copied as often as needed to reach --stories, each
copy with its own id, GUID, outlet and time. Stories are spread evenly over the 30 days
before `NOW` (the retention Raqib keeps), so 3 days hold a tenth of them; one story in
five is another outlet's copy of the one before (the same cluster). They are written
through the real Store (`insert_story`: the row and its search-index row), in
transactions of 5,000.

The 50 terms of the try are words of the corpus, drawn evenly from its vocabulary (as
watched names are: most stories match none), one in ten a two-word phrase, in two
watchlists, one with `exclude: [كرة القدم]`; then the same with one variants term
(narrowed through the skeletons), and with one regex term (which the index cannot
narrow: every story of the window is read). Each figure is
the best of --repeat runs, wall time, one process.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.desk import search_stories, try_watchlist  # noqa: E402
from monitor.store import Store  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "corpora" / "antcorpus"
NOW = 1_780_000_000.0  # the store's clock: stories are fetched in the 30 days before it
SPAN = 30 * 86400.0
OUTLETS = ("aljazeera", "alarabiya", "bbc", "cnn", "france24", "skynews", "rt", "sputnik", "independent",
           "asharq", "alquds", "annahar")
WORD = re.compile(r"[\u0621-\u064a]{4,}")


def ant_texts() -> list[tuple[str, str, str]]:
    """(title, abstract, url) of every ANT story that may be read."""
    out = []
    for path in sorted(CORPUS.glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            out.append((doc.get("title") or "", doc.get("abstract") or "", doc.get("url") or ""))
    return out


def build_store(path: str | Path, stories: int = 200_000, *, now: float = NOW, seed: int = 5) -> Path:
    """A Raqib database at `path` holding `stories` stories fetched over the 30 days
    before `now` (see the module). An existing file is left as it is."""
    path = Path(path)
    if path.exists():
        return path
    texts = ant_texts()
    rng = random.Random(seed)
    rng.shuffle(texts)
    tmp = path.with_name(path.name + ".building")
    for leftover in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        leftover.unlink(missing_ok=True)
    store = Store(tmp)
    try:
        step = SPAN / stories
        cluster = 0
        title = summary = url = ""
        for start in range(0, stories, 5000):
            with store.transaction() as conn:
                for n in range(start, min(start + 5000, stories)):
                    story_id = n + 1
                    if n % 5 != 1:  # a new story; every fifth is another outlet's copy of the one before
                        cluster = story_id
                        title, summary, url = texts[(n - n // 5) % len(texts)]
                    fetched = now - SPAN + n * step
                    feed = OUTLETS[n % len(OUTLETS)]
                    store.stories.insert(conn, {
                        "id": story_id, "feed": feed, "guid": f"{feed}-{story_id}", "url": f"{url}#{story_id}",
                        "canonical_url": url, "title": title, "summary": summary,
                        "published": fetched - 600, "fetched": fetched, "cluster": cluster,
                        "dedup_kind": "new" if cluster == story_id else "near"})
    finally:
        store.close()
    tmp.rename(path)
    return path


def watchlist_text(texts: list[tuple[str, str, str]], terms: int, rng: random.Random) -> str:
    """A file of two watchlists, `terms` terms in all, drawn from the corpus words."""
    vocab = sorted({w for title, summary, _ in texts[:20000] for w in WORD.findall(title + " " + summary)})
    chosen = rng.sample(vocab, terms + 2)
    half = terms // 2
    lines = []
    for name, words in (("desk-a", chosen[:half]), ("desk-b", chosen[half:terms])):
        lines += [f"- name: {name}", "  terms:"]
        for i, w in enumerate(words):
            lines.append(f"    - {w} {rng.choice(vocab)}" if i % 10 == 9 else f"    - {w}")
        if name == "desk-a":
            lines.append("  exclude: [كرة القدم]")
    return "\n".join(lines) + "\n"


def best(repeat: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=200_000)
    ap.add_argument("--db", default="/tmp/raqib-desk-bench.db")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--terms", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    db = Path(args.db)
    if args.rebuild:
        for p in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
            p.unlink(missing_ok=True)
    t = time.perf_counter()
    built = not db.exists()
    build_store(db, args.stories)
    if built:
        print(f"built {args.stories:,} stories in {time.perf_counter() - t:.1f} s, "
              f"{db.stat().st_size / 2**20:.0f} MiB")
    store = Store(db, readonly=True)
    total = store._scalar("SELECT COUNT(*) FROM stories")
    print(f"store: {db} ({total:,} stories, {db.stat().st_size / 2**20:.0f} MiB)")
    texts = ant_texts()
    text = watchlist_text(texts, args.terms, random.Random(11))
    variants = text.replace("  terms:\n", "  terms:\n    - {term: تيليغرام, variants: true}\n", 1)
    regex = text.replace("  terms:\n", "  terms:\n    - {regex: 'تيليغرام|تلغرام'}\n", 1)
    for label, body in (("", text), (", one with variants", variants), (", one regex (no index)", regex)):
        seconds, report = best(args.repeat, lambda b=body: try_watchlist(store, b, file="bench.yaml", days=3, now=NOW))
        print(f"try, {args.terms} terms{label}, 3 days: {seconds * 1000:.0f} ms ({report.scanned:,} stories in the "
              f"window, {report.read:,} read, {report.alerts} alerts, {report.dropped_count} dropped)")
    queries = [("common word", "السعودية"), ("name", "بوتين"), ("rare name", "بابتشينكو"), ("phrase", "مجلس الأمن"),
               ("exact", '"أمل"'), ("two terms", "ترامب | ماكرون"), ("variants", "~تيليغرام"),
               ("common, 3 days", "السعودية")]
    for label, query in queries:
        days = 3 if "3 days" in label else None
        seconds, res = best(args.repeat, lambda q=query, d=days: search_stories(store, q, days=d, now=NOW))
        print(f"search {label} {query!r}: {seconds * 1000:.1f} ms ({len(res.hits)} hits, {res.scanned:,} read, "
              f"{'index' if res.narrowed else 'scan'}{'' if res.complete else ', more'})")
    store.close()


if __name__ == "__main__":
    main()
