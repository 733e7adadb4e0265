"""Process CPU seconds the Matcher spends on one case of bench/match.py, best of three.

    .venv/bin/python bench/match_cpu.py [--terms 10000] [--draw dense|even] [--stories 6000]

bench/match.py reports stories per wall-clock second, which another job on a shared
machine moves by a quarter from run to run. This counts only the CPU time of this
process, over the same stories three times, and prints the best: to compare two trees,
run it from each, alternating. The stories and terms are those of bench/match.py (same
seeds, the reserved ANT days skipped).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.match import draw_terms, load_stories  # noqa: E402
from monitor.match import Matcher  # noqa: E402
from monitor.models import Watchlist  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terms", type=int, default=10000)
    ap.add_argument("--draw", choices=("dense", "even"), default="dense")
    ap.add_argument("--stories", type=int, default=6000)
    args = ap.parse_args(argv)
    stories = load_stories(args.stories)
    terms = draw_terms(stories, args.terms, random.Random(args.terms), args.draw == "dense")
    matcher = Matcher([Watchlist(name=f"w{i:05d}", title=f"w{i}", terms=tuple(terms[i:i + 10]))
                       for i in range(0, len(terms), 10)])
    for title, abstract in stories[:500]:  # warm the memos
        matcher.match(title, abstract)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for title, abstract in stories:
            matcher.match(title, abstract)
        best = min(best, time.process_time() - started)
    print(f"{args.terms} terms, {args.draw}: {len(stories)} stories in {best:.3f} CPU s "
          f"({len(stories) / best:,.0f} stories per CPU second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
