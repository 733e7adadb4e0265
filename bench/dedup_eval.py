"""Pairwise precision and recall of `raqib dedup` (raqib.jsonl.dedup_stream).

Run:  .venv/bin/python bench/dedup_eval.py [--no-saudinewsnet]

(a) tests/data/dedup_labelled.jsonl — ANT corpus stories and hand-made variants,
    labelled by reading them (`group`: stories of one group are the same story).
    ANT stories published 10-20 May 2018 are reserved for evaluation: `load_ant` skips
    them (bench/antcorpus.py), and the labelled file holds none (March and April only).
(b) SaudiNewsNet, read in place from ../shared/data/corpora/saudinewsnet (never copied).
    Each article becomes a story: title, summary = the first 300 characters of its
    content cut at a word (what an RSS description carries), url, source, published =
    date_extracted (UTC), in order of date_extracted.
    Silver labels, judged on the FULL content with a criterion separate from the one
    under test: two articles are the same story when their contents share word
    5-gram shingles with containment >= 0.6 of the smaller shingle set and Jaccard
    >= 0.3 (each content having at least 15 shingles; shingles found in more than 40
    articles — boilerplate such as share buttons — are ignored), and they were
    extracted within 72 hours of each other. Groups are the connected components.
    This is what an agency story republished with small edits (a new first line, a
    desk prefix, a dropped sentence) looks like; rewritten coverage of the same event
    is not counted as the same story.

`--body` runs (a) again with the article body (ANT's `text`, read in place by id): the
copy level reading the body instead of the feed's lead, or after it. SaudiNewsNet is not
run with the body: its silver labels are drawn from the full content itself.

Beside the method under test, two baselines in the same run: exact match of the raw
title, and rapidfuzz `ratio >= 90` on raw titles against every story of the previous
72 hours (a story joins the cluster of its best match).

Pairwise: a pair of stories is predicted positive when both land in one cluster, and
gold positive when both belong to one labelled group.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# bench/ holds scripts named like stdlib modules (email.py): keep it off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from rapidfuzz import fuzz, process  # noqa: E402

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.dedup import DedupSettings  # noqa: E402
from monitor.normalize import normalize_text  # noqa: E402
from raqib.jsonl import dedup_stream  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data", "corpora")
LABELLED = os.path.join(ROOT, "tests", "data", "dedup_labelled.jsonl")
WINDOW = 72 * 3600.0


# --------------------------------------------------------------------------- corpora


def lead_of(text: str, chars: int = 300) -> str:
    text = " ".join((text or "").split())
    if len(text) <= chars:
        return text
    cut = text.rfind(" ", 0, chars)
    return text[: cut if cut > 0 else chars]


def load_saudinewsnet() -> list[dict]:
    """All SaudiNewsNet articles as stories (with `content`), in order of extraction."""
    rows = []
    for path in sorted(glob.glob(os.path.join(SHARED, "saudinewsnet", "*.zip"))):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                rows.extend(json.loads(z.read(name)))
    rows.sort(key=lambda r: r["date_extracted"])
    stories = []
    for i, r in enumerate(rows):
        when = datetime.strptime(r["date_extracted"], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=UTC)
        stories.append({"id": i, "title": r["title"] or "", "summary": lead_of(r["content"]),
                        "url": r["url"], "source": r["source"], "published": when.isoformat(),
                        "content": r["content"] or "", "_ts": when.timestamp()})
    return stories


def load_ant() -> list[dict]:
    """ANT corpus articles as stories (with `text`), in order of publication; reserved days skipped."""
    import email.utils

    stories = []
    for path in sorted(glob.glob(os.path.join(SHARED, "antcorpus", "*.jsonl.gz"))):
        for r in ant_stories(path):
            try:
                when = email.utils.parsedate_to_datetime(r["time"])
            except (TypeError, ValueError):
                continue
            stories.append({"id": r["docno"], "title": r["title"] or "",
                            "summary": r["abstract"] or "", "url": r["url"],
                            "source": r["src"], "published": when.isoformat(),
                            "text": r["text"] or "", "_ts": when.timestamp()})
    stories.sort(key=lambda s: s["_ts"])
    return stories


# --------------------------------------------------------------------------- silver labels

_WORD = re.compile(r"\w+")


def silver_groups(stories: list[dict], field: str = "content") -> list[int]:
    """Group index per story by the full-content criterion in the module docstring."""
    shingles = []
    df: Counter = Counter()
    for s in stories:
        words = _WORD.findall(normalize_text(s[field]))
        sh = {hash(" ".join(words[i:i + 5])) for i in range(len(words) - 4)}
        shingles.append(sh)
        df.update(sh)
    postings: dict[int, list[int]] = defaultdict(list)
    kept = []
    for i, sh in enumerate(shingles):
        k = {h for h in sh if df[h] <= 40}
        kept.append(k)
        for h in k:
            postings[h].append(i)
    parent = list(range(len(stories)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, sh in enumerate(kept):
        if len(shingles[i]) < 15:
            continue
        shared: Counter = Counter()
        for h in sh:
            for j in postings[h]:
                if j > i:
                    shared[j] += 1
        for j in shared:
            if len(shingles[j]) < 15 or abs(stories[i]["_ts"] - stories[j]["_ts"]) > WINDOW:
                continue
            a, b = len(shingles[i]), len(shingles[j])
            inter = len(shingles[i] & shingles[j])
            if inter >= 0.6 * min(a, b) and inter >= 0.3 * (a + b - inter):
                parent[find(i)] = find(j)
    return [find(i) for i in range(len(stories))]


# --------------------------------------------------------------------------- methods

_DEFAULT_SETTINGS = DedupSettings()


def run_dedup(stories: list[dict], settings: DedupSettings = _DEFAULT_SETTINGS) -> list:
    lines = (json.dumps({k: s[k] for k in ("id", "title", "summary", "url", "source",
                                           "published") if k in s}, ensure_ascii=False)
             for s in stories)
    return [out["cluster"] for out in dedup_stream(lines, settings)]


def run_exact_title(stories: list[dict]) -> list:
    first: dict[str, object] = {}
    out = []
    for s in stories:
        key = s["title"].strip()
        out.append(first.setdefault(key, s["id"]) if key else s["id"])
    return out


def run_ratio90(stories: list[dict]) -> list:
    titles: list[str] = []
    clusters: list = []
    times: list[float] = []
    start = 0
    out = []
    for s in stories:
        while start < len(times) and times[start] < s["_ts"] - WINDOW:
            start += 1
        cluster = s["id"]
        if s["title"].strip() and start < len(titles):
            hit = process.extractOne(s["title"], titles[start:], scorer=fuzz.ratio,
                                     score_cutoff=90)
            if hit is not None:
                cluster = clusters[start + hit[2]]
        titles.append(s["title"])
        clusters.append(cluster)
        times.append(s["_ts"])
        out.append(cluster)
    return out


# --------------------------------------------------------------------------- scoring


def pairwise(pred: list, gold: list) -> dict:
    def pairs(counter: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    tp = pairs(Counter(zip(pred, gold, strict=True)))
    p_pairs, g_pairs = pairs(Counter(pred)), pairs(Counter(gold))
    precision = tp / p_pairs if p_pairs else 1.0
    recall = tp / g_pairs if g_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp,
            "predicted_pairs": p_pairs, "gold_pairs": g_pairs}


def report(name: str, stories: list[dict], gold: list, with_ratio: bool = True) -> dict:
    print(f"\n{name}: {len(stories)} stories, {len(set(gold))} groups, "
          f"{pairwise(gold, gold)['gold_pairs']} same-story pairs")
    print(f"  {'method':<28} {'precision':>9} {'recall':>7} {'F1':>6} {'pairs':>8} {'time':>7}")
    results = {}
    methods = [("raqib dedup", run_dedup), ("exact title", run_exact_title)]
    if with_ratio:
        methods.append(("rapidfuzz ratio>=90 title", run_ratio90))
    for label, method in methods:
        t0 = time.perf_counter()
        pred = method(stories)
        took = time.perf_counter() - t0
        m = pairwise(pred, gold)
        results[label] = m
        print(f"  {label:<28} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} "
              f"{m['predicted_pairs']:>8} {took:>6.1f}s")
    return results


def load_labelled(path: str = LABELLED) -> list[dict]:
    stories = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                s = json.loads(line)
                s["_ts"] = datetime.fromisoformat(s["published"]).timestamp()
                stories.append(s)
    return stories


def ant_texts(ids: set[str]) -> dict[str, str]:
    """ANT's article text by docno (read in place, reserved days skipped)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(SHARED, "antcorpus", "*.jsonl.gz"))):
        for r in ant_stories(path):
            if r["docno"] in ids:
                out[r["docno"]] = r.get("text") or ""
    return out


def report_body(stories: list[dict], gold: list) -> None:
    """The copy level with the article body (issue: does the body help copies?): each
    labelled story (and each hand-made variant, `ID~vN`, of it) given its ANT text; the
    body replacing the feed's lead, or read after it."""
    texts = ant_texts({s["id"].split("~")[0] for s in stories})
    print(f"\n(a') the same set with the article body ({sum(1 for s in stories if texts.get(s['id'].split('~')[0]))}"
          f" of {len(stories)} stories have an ANT text)")
    print(f"  {'what the copy level reads':<36} {'precision':>9} {'recall':>7} {'F1':>6} {'pairs':>8}")
    for label, lead in (("title + lead (today)", lambda s, b: s["summary"]),
                        ("title + body as the lead", lambda s, b: b or s["summary"]),
                        ("title + lead + body", lambda s, b: (s["summary"] + " " + b).strip())):
        variant = [dict(s, summary=lead(s, texts.get(s["id"].split("~")[0], ""))) for s in stories]
        m = pairwise(run_dedup(variant), gold)
        print(f"  {label:<36} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['predicted_pairs']:>8}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-saudinewsnet", action="store_true")
    ap.add_argument("--body", action="store_true", help="(a) again with each story's ANT text as its body")
    args = ap.parse_args()
    if os.path.exists(LABELLED):
        stories = load_labelled()
        report("(a) labelled ANT set tests/data/dedup_labelled.jsonl", stories,
               [s["group"] for s in stories])
        if args.body:
            report_body(stories, [s["group"] for s in stories])
    if not args.no_saudinewsnet:
        t0 = time.perf_counter()
        stories = load_saudinewsnet()
        gold = silver_groups(stories)
        print(f"\nsilver labels for SaudiNewsNet built in {time.perf_counter() - t0:.1f}s")
        res = report("(b) SaudiNewsNet, silver labels (full-content overlap)", stories, gold)
        was = {i for i, s in enumerate(stories) if s["source"] == "was"}
        groups_with_was = {gold[i] for i in was}
        sizes = Counter(gold)
        print(f"  groups with a Saudi Press Agency story: "
              f"{sum(1 for g in groups_with_was if sizes[g] > 1)} of {len(was)} SPA stories "
              f"republished")
        del res


if __name__ == "__main__":
    main()
