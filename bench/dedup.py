"""Dedup cost per story as the window grows, peak memory, and brute force beside it.

Run:  .venv/bin/python bench/dedup.py [--sizes 10000,100000,200000]

Stories come from the ANT corpus and SaudiNewsNet, read in place from ../shared/data
(about 62k articles). To reach 200k distinct stories, each pass k > 0 over the corpus
makes chimeras:
halves of two real titles, halves of two other stories' leads. Real Arabic text, each
chimera sharing buckets with its four parents (so candidates are verified), few of them
duplicates. The window is made long enough that nothing is pruned, so the index holds
every story added. At each size, 2,000 more stories are timed through Clusterer.add.
Brute force: rapidfuzz token_sort_ratio of the title against every title in the window
(process.extractOne, C loop), on a sample of 20 stories. Memory: process RSS growth while
filling, and the Python heap an index holds per story (tracemalloc, on 20k stories in a
separate pass, as tracemalloc slows Python down). Also timed: Clusterer.rebuild of 100k
stored rows.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sys
import time
import tracemalloc
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from rapidfuzz import fuzz, process  # noqa: E402

from monitor.dedup import Clusterer, DedupSettings  # noqa: E402

_spec = importlib.util.spec_from_file_location("dedup_eval", os.path.join(HERE, "dedup_eval.py"))
dedup_eval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dedup_eval)

SETTINGS = DedupSettings(window_hours=24 * 365 * 100)


def corpus() -> list[tuple[str, str, str]]:
    rows = [(s["title"], s["summary"], s["url"]) for s in dedup_eval.load_ant()]
    rows += [(s["title"], s["summary"], s["url"]) for s in dedup_eval.load_saudinewsnet()]
    return rows


def stream(rows: list[tuple[str, str, str]]):
    n = len(rows)
    k = 0
    base = datetime(2018, 1, 1, tzinfo=timezone.utc).timestamp()
    i = 0
    while True:
        for j in range(n):
            title, _, url = rows[j]
            lead = rows[j][1]
            if k:  # chimeras: halves of two titles, halves of two other stories' leads
                a, b = title.split(), rows[(j + 104729 * k) % n][0].split()
                title = " ".join(a[: len(a) // 2 + 1] + b[len(b) // 2 + 1:])
                a = rows[(j + 7919 * k) % n][1].split()
                b = rows[(j + 15485863 * k) % n][1].split()
                lead = " ".join(a[: len(a) // 2] + b[len(b) // 2:])
            when = datetime.fromtimestamp(base + i, timezone.utc)
            yield i, title, lead, (url + f"?k={k}" if k else url), when
            i += 1
        k += 1


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,200000")
    ap.add_argument("--measure", type=int, default=2000)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    t0 = time.perf_counter()
    rows = corpus()
    print(f"corpus: {len(rows)} articles loaded in {time.perf_counter() - t0:.1f}s; "
          f"RSS {rss_mb():.0f} MB before indexing")
    rss0 = rss_mb()

    c = Clusterer(SETTINGS)
    titles: list[str] = []
    it = stream(rows)
    print(f"\n{'window':>8} {'ms/story':>9} {'kinds (new/near/content/same)':>31} "
          f"{'brute ms/story':>15} {'RSS MB':>7}")
    for size in sizes:
        while len(c) < size:
            i, title, lead, url, when = next(it)
            c.add(i, title=title, summary=lead, url=url, published=when)
            titles.append(title)
        kinds = {"new": 0, "near": 0, "content": 0, "same": 0}
        t1 = time.perf_counter()
        batch = [next(it) for _ in range(args.measure)]
        t1 = time.perf_counter()
        for i, title, lead, url, when in batch:
            kinds[c.add(i, title=title, summary=lead, url=url, published=when).kind] += 1
        per = (time.perf_counter() - t1) * 1000 / len(batch)
        titles.extend(b[1] for b in batch)
        sample = batch[:20]
        t2 = time.perf_counter()
        for _, title, *_ in sample:
            process.extractOne(title, titles[:size], scorer=fuzz.token_sort_ratio,
                               score_cutoff=90)
        brute = (time.perf_counter() - t2) * 1000 / len(sample)
        k = "/".join(str(kinds[x]) for x in ("new", "near", "content", "same"))
        print(f"{size:>8} {per:>9.3f} {k:>31} {brute:>15.1f} {rss_mb():>7.0f}")
    print(f"\nRSS growth while indexing {len(c)} stories: {rss_mb() - rss0:.0f} MB "
          f"(process peak {rss_mb():.0f} MB, corpus text included)")
    del c, titles

    # Python heap held by an index of 20k stories (tracemalloc slows Python down a lot).
    it = stream(rows)
    items = [next(it) for _ in range(100_000)]
    tracemalloc.start()
    c = Clusterer(SETTINGS)
    for i, title, lead, url, when in items[:20_000]:
        c.add(i, title=title, summary=lead, url=url, published=when)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"tracemalloc: an index of {len(c)} stories holds {current / 2**20:.1f} MB "
          f"({current / len(c):.0f} bytes a story; x200k = {current / len(c) * 2e5 / 2**20:.0f} MB)")
    del c

    stored = [(i, i, title, lead, url, "bench", when) for i, title, lead, url, when in
              items[:100_000]]
    t3 = time.perf_counter()
    rebuilt = Clusterer.rebuild(stored, SETTINGS)
    print(f"rebuild of {len(rebuilt)} stored rows: {time.perf_counter() - t3:.1f}s")
    print(f"total bench time {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
