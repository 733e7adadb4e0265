"""Process CPU seconds the Matcher spends on one case of bench/match.py, best of three.

    .venv/bin/python bench/match_cpu.py [--terms 10000] [--draw dense|even] [--stories 6000] [--no-body]
                                        [--forms on|both] [--against TREE]

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

`--forms both` adds a watchlist of bench/form_reach.py's terms (group names, and علي and
آلي, which stand on على and إلى in most stories), compiles everything twice, with the
rules of monitor/match/forms.py off (no group name's forms, no particle guard) and on,
and times the two in turns, best of seven each, within one run: the cost of those rules,
as a ratio.

`--against TREE` (another checkout of the project, e.g. `git archive main | tar -x -C
/tmp/base`) compiles the same terms with TREE's `monitor` package too, imported apart
from this one, and times the two in turns, best of seven each: before and after a
change in one run.
"""
from __future__ import annotations

import argparse
import importlib
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.form_reach import TERMS, matchers  # noqa: E402
from bench.match import draw_terms, load_stories  # noqa: E402
from monitor.match import Matcher  # noqa: E402
from monitor.models import Term, Watchlist  # noqa: E402


def other_matcher(tree: Path, watchlists: list[Watchlist]) -> Any:
    """A Matcher of the `monitor` package of another checkout, over the same watchlists.
    Its modules are imported under their own names and then taken out of sys.modules
    again, so this tree's stay in force for everything else."""
    mine = {k: v for k, v in sys.modules.items() if k == "monitor" or k.startswith("monitor.")}
    for k in mine:
        del sys.modules[k]
    sys.path.insert(0, str(tree))
    try:
        match = importlib.import_module("monitor.match")
        models = importlib.import_module("monitor.models")
        other = [models.Watchlist(name=wl.name, title=wl.title, terms=tuple(
            models.Term(t.text, exact=t.exact, variants=t.variants) for t in wl.terms)) for wl in watchlists]
        return match.Matcher(other)
    finally:
        sys.path.remove(str(tree))
        for k in [k for k in sys.modules if k == "monitor" or k.startswith("monitor.")]:
            del sys.modules[k]
        sys.modules.update(mine)


def best_of(matchers: dict[str, Matcher], stories: list[tuple[str, str]], rounds: int = 3) -> dict[str, float]:
    """Best CPU seconds of `rounds` passes per matcher, the matchers timed in turns (the
    order reversed every other round: the one timed second pays for the garbage of the
    first)."""
    for matcher in matchers.values():
        for title, abstract in stories[:500]:  # warm the memos
            matcher.match(title, abstract)
    best = dict.fromkeys(matchers, float("inf"))
    order = list(matchers.items())
    for _ in range(rounds):
        order.reverse()
        for name, matcher in order:
            started = time.process_time()
            for title, abstract in stories:
                matcher.match(title, abstract)
            best[name] = min(best[name], time.process_time() - started)
    return best


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
    ap.add_argument("--forms", choices=("on", "both"), default="on")
    ap.add_argument("--against", type=Path, help="another checkout to time in turns with this one")
    args = ap.parse_args(argv)
    stories = load_stories(args.stories)
    terms = draw_terms(stories, args.terms, random.Random(args.terms), args.draw == "dense")
    watchlists = [Watchlist(name=f"w{i:05d}", title=f"w{i}", terms=tuple(terms[i:i + 10]))
                  for i in range(0, len(terms), 10)]
    if args.forms == "both":
        # and bench/form_reach.py's terms, so that both rules are at work: علي and آلي
        # stand on على and إلى in most stories, each such hit looked at again
        watchlists.append(Watchlist(name="forms", title="forms", terms=tuple(Term(t) for t in TERMS)))
        off, on = matchers(watchlists)
        timed = {"forms off": off, "forms on": on}
    elif args.against:
        timed = {f"{args.against}": other_matcher(args.against.resolve(), watchlists), "this tree": Matcher(watchlists)}
    else:
        timed = {"": Matcher(watchlists)}
    best = best_of(timed, stories, 3 if len(timed) == 1 else 7)
    for name, seconds in best.items():
        print(f"{args.terms} terms, {args.draw}{', ' + name if name else ''}: {len(stories)} stories in "
              f"{seconds:.3f} CPU s ({len(stories) / seconds:,.0f} stories per CPU second)")
    if len(best) == 2:
        (before, b), (after, a) = best.items()
        print(f"{after} / {before}: {a / b:.3f} of the CPU time")
        return 0
    if args.no_body:
        return 0
    matcher, without = timed[""], best[""]
    full = load_stories(args.stories, body=True)
    assert [s[:2] for s in full] == stories  # the same stories, in the same order
    words = sum(len(b.split()) for _, _, b in full) / len(full)
    with_body = best_of_three(matcher, full)
    hits = sum(len(matcher.match(*s)) for s in stories) / len(stories)
    hits_body = sum(len(matcher.match(*s)) for s in full) / len(full)
    print(f"{args.terms} terms, {args.draw}, with body ({words:,.0f} words a story): {len(full)} stories "
          f"in {with_body:.3f} CPU s ({len(full) / with_body:,.0f} stories per CPU second); "
          f"{1e6 * without / len(stories):,.0f} µs a story without the body, {1e6 * with_body / len(full):,.0f} µs "
          f"with it: {with_body / without:.1f}×; matches a story {hits:,.1f} without, {hits_body:,.1f} with")
    return 0


if __name__ == "__main__":
    sys.exit(main())
