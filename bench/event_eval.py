"""Pairwise precision and recall of the event level (`raqib dedup`'s "event").

Run:  .venv/bin/python bench/event_eval.py [--threshold 0.3] [--no-distractors]

The labelled set is tests/data/events/labelled.jsonl (scripts/build_event_labelled.py:
five days of the ANT corpus read story by story, groups of one event told by several
outlets in their own words and same-topic hard negatives). Stories go through
`raqib.jsonl.dedup_stream` (the copy level, then the event level), in time order:

(a) the labelled stories alone;
(b) with every ANT story of those days fed in between, read in place from
    ../shared/data/corpora/antcorpus through bench/antcorpus.py (the reserved days
    10-20 May 2018 are never read): distractors that can pull a labelled story into
    another event or take its outlet's place in one;
(c) with the distractor slice shipped in tests/data/events/distractors.jsonl.gz (what
    the test reads; the same stories as (b) when the labelled days are unchanged).

Pairwise: two labelled stories form a gold pair when they share a label, a predicted
pair when they end in one event; only pairs of labelled stories count. Copies of one
cluster are in one event by construction and count as pairs like any other.
Also printed: the copy level alone (the cluster as the event), the baseline the event
level is measured beside, and each wrong link with its score and terms.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import sys
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from itertools import combinations

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.dedup import EventSettings  # noqa: E402
from raqib.jsonl import dedup_stream  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "events")
ANT = os.path.join(ROOT, "..", "shared", "data", "corpora", "antcorpus")


def load_labelled() -> list[dict]:
    with open(os.path.join(DATA, "labelled.jsonl"), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ant_distractors(labelled: list[dict]) -> list[dict]:
    days = {r["published"][:10] for r in labelled}
    ids = {r["id"] for r in labelled}
    out = []
    for path in sorted(glob.glob(os.path.join(ANT, "*.jsonl.gz"))):
        for doc in ant_stories(path):
            when = parsedate_to_datetime(doc["time"]).astimezone(timezone.utc)
            if when.strftime("%Y-%m-%d") in days and doc["docno"] not in ids:
                out.append({"id": doc["docno"], "title": doc.get("title") or "",
                            "summary": doc.get("abstract") or "", "url": doc.get("url") or "",
                            "source": doc["src"], "published": when.isoformat()})
    return out


def shipped_distractors() -> list[dict]:
    with gzip.open(os.path.join(DATA, "distractors.jsonl.gz"), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def pairwise(labelled: list[dict], predicted: dict) -> tuple[float, float, int, int, int]:
    gold = {r["id"]: r["event"] for r in labelled}
    tp = fp = fn = 0
    for a, b in combinations(sorted(gold), 2):
        same_gold = gold[a] == gold[b]
        same_pred = predicted[a] == predicted[b]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def run(stories: list[dict], settings: EventSettings) -> tuple[dict, float]:
    stories = sorted(stories, key=lambda r: (r["published"], str(r["id"])))
    lines = [json.dumps({k: r[k] for k in ("id", "title", "summary", "url", "source", "published")},
                        ensure_ascii=False) for r in stories]
    start = time.perf_counter()
    out = {o["id"]: o for o in dedup_stream(lines, event_settings=settings, explain=True)}
    return out, (time.perf_counter() - start) / max(1, len(lines)) * 1000


def report(name: str, labelled: list[dict], stories: list[dict], settings: EventSettings,
           show: bool) -> tuple[float, float]:
    out, ms = run(stories, settings)
    p, r, tp, fp, fn = pairwise(labelled, {k: o["event"] for k, o in out.items()})
    cp, cr, *_ = pairwise(labelled, {k: o["cluster"] for k, o in out.items()})
    print(f"{name}: {len(stories)} stories, {len(labelled)} labelled; event level P={p:.3f} R={r:.3f} "
          f"(tp={tp} fp={fp} fn={fn}); copy level alone P={cp:.3f} R={cr:.3f}; {ms:.2f} ms/story")
    if show:
        gold = {x["id"]: x["event"] for x in labelled}
        title = {x["id"]: x["title"] for x in stories}
        for x in labelled:
            o = out[x["id"]]
            if o["kind"] == "related" and gold.get(o["of"]) != x["event"]:
                print(f"  wrong link {x['id']} -> {o['of']} score={o['score']} terms={o['terms']}\n"
                      f"    {x['title']}\n    {title.get(o['of'], '?')}")
    return p, r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=float, default=EventSettings().threshold)
    ap.add_argument("--no-distractors", action="store_true", help="skip (b), which reads ../shared")
    ap.add_argument("--show", action="store_true", help="print every wrong link of a labelled story")
    args = ap.parse_args(argv)
    settings = EventSettings(threshold=args.threshold)
    labelled = load_labelled()
    print(f"threshold={settings.threshold}")
    report("(a) labelled alone", labelled, labelled, settings, args.show)
    if not args.no_distractors:
        report("(b) + every ANT story of those days", labelled, labelled + ant_distractors(labelled), settings,
               args.show)
    report("(c) + the shipped distractor slice", labelled, labelled + shipped_distractors(), settings, False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
