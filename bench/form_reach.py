"""What the forms of group names and the ى guard add and remove on ANT: stories that gain
a match and stories that lose one, with samples to read.

    .venv/bin/python bench/form_reach.py [--samples 30] [--each 2] [--seed 1] [--terms الحوثي,علي,...]

Each term is a watchlist of its own, and the shipped watchlists (watchlists/) are added
as they are. Two matchers are compiled from the same code: one with the rules of
monitor/match/forms.py off (no suffix is a form, no word is a particle), one as shipped.
Every ANT story outside the reserved days (bench/antcorpus.py) is matched on its title
and description (`abstract`), as a feed gives them. Printed: per watchlist, the stories
that fire only with the rules (gained, by the kind of form that made them fire) and only
without them (lost); then a seeded sample of each (`--samples` of all, then `--each` of
every watchlist, so the small ones are read too), the matched or lost word marked «…»,
to read by hand (on screen only).
"""
from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpora  # noqa: E402
from antcorpus import stories as ant_stories  # noqa: E402

from monitor.match import Matcher, forms  # noqa: E402
from monitor.models import Match, Term, Watchlist  # noqa: E402
from monitor.watchlists import load_watchlists  # noqa: E402

# The group names and demonyms, other demonyms desks watch, names that end in ي
# beside a particle written ى (علي / على), names written with ى, and the words that must
# gain nothing (مالي, ماي, تركي).
TERMS = ("الحوثي", "إسرائيلي", "الإسرائيلي", "الفلسطيني", "اليمني", "الصومالي", "الأردني", "السوري", "العراقي",
         "المصري", "الإيراني", "السعودي", "الأمريكي", "الليبي", "اللبناني", "القطري", "الكردي", "الروسي", "علي",
         "متي", "آلي", "مصطفي", "موسى", "يحيي", "عيسى", "مالي", "ماي", "تركي", "الشيعي", "المسيحي")


def matchers(watchlists: list[Watchlist]) -> tuple[Matcher, Matcher]:
    """(rules off, rules on), compiled from the same code."""
    suffixes, particle_min = forms.SUFFIXES, forms.PARTICLE_MIN
    forms.SUFFIXES, forms.PARTICLE_MIN = {}, 1 << 62  # read when a matcher is compiled
    forms.form_data.cache_clear()
    try:
        off = Matcher(watchlists)
    finally:
        forms.SUFFIXES, forms.PARTICLE_MIN = suffixes, particle_min
        forms.form_data.cache_clear()
    return off, Matcher(watchlists)


def fired(matches: list[Match]) -> dict[str, list[Match]]:
    out: dict[str, list[Match]] = defaultdict(list)
    for m in matches:
        out[m.watchlist].append(m)
    return out


def marked(text: str, matches: list[Match], field: str) -> str:
    spans = sorted((m.start, m.end) for m in matches if m.field == field)
    out, at = [], 0
    for s, e in spans:
        if s < at:
            continue
        out += [text[at:s], "«", text[s:e], "»"]
        at = e
    out.append(text[at:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terms", default=",".join(TERMS))
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--each", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    watchlists = [Watchlist(f"t:{t}", t, (Term(t),)) for t in args.terms.split(",")]
    watchlists += list(load_watchlists(ROOT / "watchlists"))
    off, on = matchers(watchlists)
    gained: dict[str, list[tuple[str, dict, list[Match]]]] = defaultdict(list)
    lost: dict[str, list[tuple[str, dict, list[Match]]]] = defaultdict(list)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    fired_before: Counter[str] = Counter()
    total = 0
    for path in sorted((corpora.CORPORA / "antcorpus").glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            title, abstract = doc.get("title") or "", doc.get("abstract") or ""
            total += 1
            before, after = fired(off.match(title, abstract)), fired(on.match(title, abstract))
            texts = {"title": title, "summary": abstract}
            fired_before.update(before.keys())
            for name in after.keys() - before.keys():
                gained[name].append((doc.get("docno", "?"), texts, after[name]))
                kinds[name].update({on.form_of(m, texts[m.field]) or "word" for m in after[name]})
            for name in before.keys() - after.keys():
                lost[name].append((doc.get("docno", "?"), texts, before[name]))
    print(f"{total} ANT stories (reserved days skipped), {len(watchlists)} watchlists")
    print(f"stories that gain a match: {len({d for v in gained.values() for d, _, _ in v})}; "
          f"that lose one: {len({d for v in lost.values() for d, _, _ in v})}")
    print(f"\n{'watchlist':<24} {'before':>7} {'gained':>7} {'lost':>6}  gained by")
    for name in sorted(gained.keys() | lost.keys()):
        by = ", ".join(f"{k} {n}" for k, n in kinds[name].most_common())
        print(f"{name:<24} {fired_before[name]:>7} {len(gained[name]):>7} {len(lost[name]):>6}  {by}")
    rng = random.Random(args.seed)
    for label, table in (("gained", gained), ("lost", lost)):
        pool = [(name, *row) for name, rows in sorted(table.items()) for row in rows]
        sample = rng.sample(pool, min(args.samples, len(pool)))
        drawn = {(name, docno) for name, docno, _, _ in sample}
        for name, rows in sorted(table.items()):
            rest = [(name, *row) for row in rows if (name, row[0]) not in drawn]
            sample += rng.sample(rest, min(args.each, len(rest)))
        print(f"\n== a sample of {len(sample)} of {len(pool)} {label} (story, watchlist): read by hand")
        for k, (name, docno, texts, ms) in enumerate(sample, 1):
            words = ", ".join(sorted({f"{texts[m.field][m.start:m.end]}"
                                      + (f" [{on.form_of(m, texts[m.field])}]" if label == "gained" else "")
                                      for m in ms}))
            print(f"{k:>2}. {docno} {name}: {words}")
            for field in ("title", "summary"):
                if any(m.field == field for m in ms):
                    print(f"    {field}: {marked(texts[field], ms, field)[:300]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
