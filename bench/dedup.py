"""Dedup cost per story as the window grows, memory, brute force beside it, rebuild time.

Run:  .venv/bin/python bench/dedup.py [--sizes 10000,100000,200000] [--probes 1500]

What it does, and why it is a fair test:

* Real stories. The ANT corpus and SaudiNewsNet, read in place from ../shared/data
  (about 61k articles; only title, lead and link are kept in memory: SaudiNewsNet leads
  are the first 300 characters of the content, ANT leads its abstract), shuffled with a
  fixed seed. `3 x --probes` of them are held out as probes; the rest open the window.
  ANT stories published 10-20 May 2018 are reserved for evaluation and skipped
  (bench/antcorpus.py).
* Beyond the real stories, synthetic ones, built so that they are NOT near-duplicates
  of each other or of real stories (a window of 200k near-duplicates would measure
  verification, not the index): each synthetic title is five 2-word runs taken from five
  random real titles, each lead ten 4-word runs from ten random real leads, plus a link
  of its own. Word and word-pair frequencies are those of real Arabic news, so common
  words and agency boilerplate fill buckets as they do in real feeds; what is missing
  is the topical burstiness of a real window, which the 56k real stories supply.
* Timestamps are spread over 72 hours and the default settings are used (72 h window):
  every story of the window is within reach of every probe, nothing is pruned.
* Cost per story: at each window size, a fresh set of probes (real held-out stories,
  the same number each time, drawn from the same shuffled pool; some are duplicates of
  stories in the window, most are not) goes through Clusterer.add; the probes stay in
  the index afterwards (like any story would), so each size gets its own probe set.
* Brute force: rapidfuzz token_sort_ratio of the probe's title against every title of
  the window (process.extractOne, C loop, score_cutoff 90), on 20 probes: what comparing
  with the whole window costs before any lead is looked at.
* Memory: process peak RSS (ru_maxrss; it includes the interpreter, rapidfuzz and the
  61k-story corpus kept for the probes), RSS growth while indexing, and the bytes the
  index itself holds (deep size of its containers and their elements).
* Rebuild: Clusterer.rebuild of 100k stored rows (the first 100k stories of the window),
  what a restart without a snapshot costs; then the snapshot of both rebuilt indexes
  (monitor.dedup.snapshot) is written and read back: what a restart with one costs.
* Cost per story is printed as wall time and as this process's CPU time (both levels);
  the closing line gives the ratio between the largest and the smallest window.
* The event level, beside the copy level: every story, window and probe alike, also
  goes through EventGrouper.add with the cluster the Clusterer gave it (as the pipeline
  does) and an outlet of its own (one of 14, by its number). Its cost is printed as
  wall time and as this process's CPU time (less swayed by other work on a shared
  machine, as in bench/match_cpu.py). Its window is set to 72 h
  here so that every story is in it (the default is 24 h: the bench measures the window
  sizes it names, not the hours they take). Printed: its own ms per probe (the copy
  level's time not included), the bytes of its index per story (columns, term arrays,
  inverted index, vocabulary and the online document frequencies), and
  EventGrouper.rebuild of the same stored rows.

Where the copy level's growth from 20k to 200k comes from (2,000 probes, windows built
with Clusterer.rebuild, CPU ms per probe): 0.334 -> 0.462 (x1.38). Preparing the text
and its bands costs the same at both sizes (0.105 -> 0.108); walking the buckets doubles
(0.020 -> 0.041); verification grows x1.77 (0.207 -> 0.365), for 6.2 candidates a probe
against 10.5 at about 33 us each. The real stories' candidates are as many at both
sizes (12,315 and 12,306); what grows is 8,753 candidates among the synthetic stories,
nearly all sharing a single bucket with the probe (6,554 one title band, 1,426 one lead
band), of which none verifies; more of the real ones verify at 200k (1,420 against 557),
for the 200k window holds 56k real stories against 20k and so more copies of the probes.
Cutting the candidates changes what folds (bands, candidates and verification timed
alone, base x1.48; near verdicts at 200k against 540): at most 12 candidates x1.43, 4
folds lost; at most 8 x1.32, 7 lost; bucket_cap 32 x1.49, 1 lost; 24 x1.37, 2 lost. No
cap reaches x1.3 without losing folds, and verification that is cheaper per candidate
moves the ratio little (at 15 us a candidate, x1.40): it is the count of single-bucket
candidates that grows with the window.

The same 1,500 probes at both sizes (bench/copy_growth.py --code <previous checkout>
--rounds 2: windows built with Clusterer.rebuild, CPU ms per probe, the previous release
and this one in turn): before 0.407 -> 0.503 and 0.343 -> 0.479 (x1.24, x1.39); after
0.341 -> 0.441 and 0.301 -> 0.435 (x1.29, x1.45), every verdict the same (and every
score, checked apart on the same probes). The ratio moves by 0.2 between two rounds of
one run; the cost at 200k is under 0.5 ms in each. What went: 35 us a story of MinHash
(one numpy pass over all items and permutations instead of one big-integer pass a
permutation), the lead's word pairs built as joined strings, and each text's different
words counted again for every score. What grows is still the verification of
single-bucket candidates (about 30 us each at 200k: building the candidate's view about
7 us, its word pairs 5, the lead's token_ratio 10, the title's 3).
"""
from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from array import array
from datetime import UTC, datetime
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# bench/ holds scripts named like stdlib modules (email.py): keep it off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from rapidfuzz import fuzz, process  # noqa: E402

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.dedup import Clusterer, DedupSettings, EventGrouper, EventSettings, snapshot  # noqa: E402
from monitor.dedup.compact import TextColumn  # noqa: E402
from monitor.dedup.window import Window as IndexWindow  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data", "corpora")
SPAN = 72 * 3600.0 * 0.99  # timestamps of the whole run fit in one default window
BASE = datetime(2018, 4, 1, tzinfo=UTC).timestamp()


def lead_of(text: str, chars: int = 300) -> str:
    text = " ".join((text or "").split())
    if len(text) <= chars:
        return text
    cut = text.rfind(" ", 0, chars)
    return text[: cut if cut > 0 else chars]


def corpus() -> list[tuple[str, str, str]]:
    """(title, lead, url) of every ANT and SaudiNewsNet article; nothing else kept."""
    rows = []
    for path in sorted(glob.glob(os.path.join(SHARED, "antcorpus", "*.jsonl.gz"))):
        for r in ant_stories(path):
            rows.append((r["title"] or "", r["abstract"] or "", r["url"] or ""))
    for path in sorted(glob.glob(os.path.join(SHARED, "saudinewsnet", "*.zip"))):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                for r in json.loads(z.read(name)):
                    rows.append((r["title"] or "", lead_of(r["content"]), r["url"] or ""))
    return rows


class Window:
    """Story i of the window: real stories first, then synthetic ones (pure function of i)."""

    def __init__(self, real: list[tuple[str, str, str]], total: int) -> None:
        self.real = real
        self.total = total
        # Stories whose title / lead is long enough to give a run (words are split when
        # a run is drawn: millions of word strings kept here would weigh on the process).
        self.titles = [t for t, _, _ in real if len(t.split()) >= 2]
        self.leads = [s for _, s, _ in real if len(s.split()) >= 4]

    def when(self, i: int) -> datetime:
        return datetime.fromtimestamp(BASE + SPAN * i / self.total, UTC)

    def story(self, i: int) -> tuple[str, str, str]:
        if i < len(self.real):
            return self.real[i]
        rng = random.Random(i)
        title: list[str] = []
        for _ in range(5):
            w = self.titles[rng.randrange(len(self.titles))].split()
            j = rng.randrange(len(w) - 1)
            title += w[j:j + 2]
        lead: list[str] = []
        for _ in range(10):
            w = self.leads[rng.randrange(len(self.leads))].split()
            j = rng.randrange(len(w) - 3)
            lead += w[j:j + 4]
        return " ".join(title), " ".join(lead), f"https://synthetic.example/{i}"


def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def deep_size(obj: object) -> int:
    """Bytes held by an object's containers and their elements (shared elements once),
    and by the columns it keeps in objects of their own (its window, its texts)."""
    seen: set[int] = set()

    def size(o: object) -> int:
        if id(o) in seen:
            return 0
        seen.add(id(o))
        n = sys.getsizeof(o)
        if isinstance(o, (list, tuple, set, frozenset)):
            n += sum(size(x) for x in o)
        elif isinstance(o, dict):
            n += sum(size(k) + size(v) for k, v in o.items())
        return n

    return sum(deep_size(v) if isinstance(v, (TextColumn, IndexWindow)) else size(v)
               for k, v in vars(obj).items() if k != "settings" and
               isinstance(v, (list, dict, array, set, TextColumn, IndexWindow)))


OUTLETS = 14
EVENT_SETTINGS = EventSettings(window_hours=72.0)


def event_bytes(g: EventGrouper) -> int:
    return deep_size(g) + deep_size(g.frequencies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,200000")
    ap.add_argument("--probes", type=int, default=1500)
    ap.add_argument("--rebuild", type=int, default=100_000)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    t0 = time.perf_counter()
    rows = corpus()
    random.Random(2018).shuffle(rows)
    held = len(sizes) * args.probes
    probes, real = rows[:held], rows[held:]
    window = Window(real, max(sizes) + held)
    gc.collect()
    rss0 = rss_now_mb()
    print(f"corpus: {len(rows)} real stories loaded in {time.perf_counter() - t0:.1f}s "
          f"({len(real)} open the window, {held} held out as probes); "
          f"RSS {rss0:.0f} MB before indexing")

    settings = DedupSettings()
    c = Clusterer(settings)
    g = EventGrouper(EVENT_SETTINGS)
    i = 0
    print(f"\n{'window':>8} {'ms/story':>9} {'new/near/content/same':>22} "
          f"{'brute ms/story':>15} {'index MB':>9} {'RSS +MB':>8} {'peak RSS MB':>12}"
          f" {'CPU ms':>7} | {'event ms/story':>14} {'CPU ms':>7} {'new/copy/related':>17} {'event B/story':>13}")
    results = []
    for n, size in enumerate(sizes):
        while len(c) < size:
            title, lead, url = window.story(i)
            when = window.when(i)
            v = c.add(i, title=title, summary=lead, url=url, published=when)
            g.add(i, cluster=v.cluster, title=title, summary=lead, source=f"outlet{i % OUTLETS}",
                  published=when)
            i += 1
        kinds = {"new": 0, "near": 0, "content": 0, "same": 0}
        events = {"new": 0, "copy": 0, "related": 0}
        batch = probes[n * args.probes:(n + 1) * args.probes]
        when = window.when(i)
        per = per_event = cpu_event = cpu_copy = 0.0
        for k, (title, lead, url) in enumerate(batch):
            c1 = time.process_time()
            t1 = time.perf_counter()
            v = c.add(f"p{n}-{k}", title=title, summary=lead, url=url, published=when)
            t2 = time.perf_counter()
            c2 = time.process_time()
            cpu_copy += c2 - c1
            link = g.add(f"p{n}-{k}", cluster=v.cluster, title=title, summary=lead,
                         source=f"outlet{k % OUTLETS}", published=when)
            cpu_event += time.process_time() - c2
            per_event += time.perf_counter() - t2
            per += t2 - t1
            kinds[v.kind] += 1
            events[link.kind] += 1
        per = per * 1000 / len(batch)
        per_event = per_event * 1000 / len(batch)
        cpu_event = cpu_event * 1000 / len(batch)
        cpu_copy = cpu_copy * 1000 / len(batch)
        index_mb = deep_size(c) / 2**20
        grown = rss_now_mb() - rss0
        peak = rss_peak_mb()
        titles = [window.story(j)[0] for j in range(i)]
        t2 = time.perf_counter()
        for title, _, _ in batch[:20]:
            process.extractOne(title, titles, scorer=fuzz.token_sort_ratio, score_cutoff=90)
        brute = (time.perf_counter() - t2) * 1000 / 20
        del titles
        k = "/".join(str(kinds[x]) for x in ("new", "near", "content", "same"))
        e = "/".join(str(events[x]) for x in ("new", "copy", "related"))
        print(f"{size:>8} {per:>9.3f} {k:>22} {brute:>15.1f} {index_mb:>9.0f} "
              f"{grown:>8.0f} {peak:>12.0f} {cpu_copy:>7.3f} | {per_event:>14.3f} {cpu_event:>7.3f} {e:>17} "
              f"{event_bytes(g) / len(g):>13.0f}")
        results.append((size, per, cpu_copy, cpu_event))
    print(f"\nindex of {len(c)} stories: {deep_size(c) / len(c):.0f} bytes a story; "
          f"event index of {len(g)} stories: {event_bytes(g) / len(g):.0f} bytes a story")
    del c, g
    gc.collect()

    stored = []
    for j in range(args.rebuild):
        title, lead, url = window.story(j)
        stored.append((j, j, title, lead, url, "bench", window.when(j)))
    t3 = time.perf_counter()
    rebuilt = Clusterer.rebuild(stored, settings)
    took = time.perf_counter() - t3
    print(f"rebuild of {len(rebuilt)} stored rows: {took:.1f}s "
          f"({took * 1e6 / len(rebuilt):.0f} us a row)")
    rows_e = [(j, j, j, title, lead, f"outlet{j % OUTLETS}", when)
              for j, _c, title, lead, _url, _s, when in stored]
    del stored
    t3 = time.perf_counter()
    regrouped = EventGrouper.rebuild(rows_e, EVENT_SETTINGS)
    took = time.perf_counter() - t3
    print(f"event rebuild of {len(regrouped)} stored rows: {took:.1f}s "
          f"({took * 1e6 / len(regrouped):.0f} us a row)")
    last, first = results[-1], results[0]
    print(f"per-story cost {last[0] // 1000}k / {first[0] // 1000}k window: x{last[1] / first[1]:.2f} "
          f"(copy level, wall); CPU: copy x{last[2] / first[2]:.2f}, event x{last[3] / first[3]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.index"
        t3 = time.perf_counter()
        snapshot.write(path, rebuilt, regrouped, snapshot.Mark(0, ""), saved_at=time.time())
        took = time.perf_counter() - t3
        t3 = time.perf_counter()
        snapshot.read(path, settings, EVENT_SETTINGS)
        print(f"snapshot of both indexes ({len(rebuilt)} stories): {path.stat().st_size / 2**20:.0f} MB, "
              f"written in {took:.1f}s, read in {time.perf_counter() - t3:.1f}s")
    print(f"peak RSS of this bench process {rss_peak_mb():.0f} MB (the corpus, the windows above, both "
          f"rebuilt indexes and the snapshot read beside them; the daemon's own: bench/restart.py)")
    print(f"total bench time {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
