"""Process CPU seconds the Matcher spends on one case of bench/match.py, best of three.

    .venv/bin/python bench/match_cpu.py [--terms 10000] [--draw dense|even] [--stories 6000] [--no-body]

bench/match.py reports stories per wall-clock second, which another job on a shared
machine moves by a quarter from run to run. This counts only the CPU time of this
process, over the same stories three times, and prints the best: to compare two trees,
run it from each, alternating. The stories and terms are those of bench/match.py (same
seeds, the reserved ANT days skipped).

The body figure matches the same stories with their article text as the third field
(`Matcher.match(title, abstract, body)`; ANT's one-line paragraphs joined by blank lines,
as `Story.body` holds them), and prints the words of body per story, the CPU per story
with and without the body, their ratio (what reading the whole story costs) and the
matches per story with and without it: the terms are drawn from the stories' own words,
so a body hits many of them, and each hit is a Match with its offsets and paragraph.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.antcorpus import stories as ant_stories  # noqa: E402
from bench.match import CORPUS, draw_terms, load_stories  # noqa: E402
from monitor.match import Matcher  # noqa: E402
from monitor.models import Watchlist  # noqa: E402


def load_bodies(limit: int) -> list[tuple[str, str, str]]:
    """The stories of `load_stories(limit)` (same draw, same order), each with its body."""
    stories = []
    files = sorted(CORPUS.glob("*.jsonl.gz"))
    per_file = limit // len(files) + 1
    for path in files:
        for n, doc in enumerate(ant_stories(path)):
            if n >= per_file:
                break
            body = "\n\n".join(line.strip() for line in (doc.get("text") or "").split("\n") if line.strip())
            stories.append((doc.get("title") or "", doc.get("abstract") or "", body))
    random.Random(7).shuffle(stories)
    return stories[:limit]


def best_of_three(matcher: Matcher, stories: list) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for story in stories:
            matcher.match(*story)
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terms", type=int, default=10000)
    ap.add_argument("--draw", choices=("dense", "even"), default="dense")
    ap.add_argument("--stories", type=int, default=6000)
    ap.add_argument("--no-body", action="store_true", help="only the title and abstract figure")
    args = ap.parse_args(argv)
    stories = load_stories(args.stories)
    terms = draw_terms(stories, args.terms, random.Random(args.terms), args.draw == "dense")
    matcher = Matcher([Watchlist(name=f"w{i:05d}", title=f"w{i}", terms=tuple(terms[i:i + 10]))
                       for i in range(0, len(terms), 10)])
    for title, abstract in stories[:500]:  # warm the memos
        matcher.match(title, abstract)
    best = best_of_three(matcher, stories)
    print(f"{args.terms} terms, {args.draw}: {len(stories)} stories in {best:.3f} CPU s "
          f"({len(stories) / best:,.0f} stories per CPU second)")
    if args.no_body:
        return 0
    full = load_bodies(args.stories)
    assert [s[:2] for s in full] == stories  # the same stories, in the same order
    words = sum(len(b.split()) for _, _, b in full) / len(full)
    with_body = best_of_three(matcher, full)
    hits = sum(len(matcher.match(*s)) for s in stories) / len(stories)
    hits_body = sum(len(matcher.match(*s)) for s in full) / len(full)
    print(f"{args.terms} terms, {args.draw}, with body ({words:,.0f} words a story): {len(full)} stories "
          f"in {with_body:.3f} CPU s ({len(full) / with_body:,.0f} stories per CPU second); "
          f"{1e6 * best / len(stories):,.0f} µs a story without the body, {1e6 * with_body / len(full):,.0f} µs "
          f"with it: {with_body / best:.1f}×; matches a story {hits:,.1f} without, {hits_body:,.1f} with")
    return 0


if __name__ == "__main__":
    sys.exit(main())
