"""A random sample of the event level's links on SaudiNewsNet, to read by eye.

Run:  .venv/bin/python bench/event_sample_saudinewsnet.py [--n 50] [--seed 2015]

SaudiNewsNet (../shared/data/corpora/saudinewsnet, CC BY-NC-SA 4.0: read in place, its
text is never copied into the project) goes through `raqib.jsonl.dedup_stream` (the copy
level, then the event level, default settings) in order of extraction, each article a
story as bench/dedup_eval.py makes it (title; summary = the first 300 characters of the
content; source = the paper). Of the links that are not copies (kind "related": another
paper's own words joined an event), `--n` are drawn with a fixed seed and printed: both
titles, both leads, the score and the terms that carried it. A person reads them and
counts the links that join truly different events.

What reading the sample found (default settings: threshold 0.35, title_floor 0.2,
max_candidates 32; seed 2015; 31,030 stories: 7,951 copies, 3,201 related links, 19,878
events of which 4,310 hold more than one story). Counts and kinds only, no SaudiNewsNet
text (READING, printed at the end of a run):
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, ROOT)

from bench.dedup_eval import load_saudinewsnet  # noqa: E402
from raqib.jsonl import dedup_stream  # noqa: E402

READING = """Read by a person, 50 related links:
- 30 join the same event in two papers' own words (an attack, a court ruling, a
  ministry statement, a match, a festival's opening, a death abroad).
- 11 join truly different events:
  * 5 templates of recurring news: the stock market's close on two different days,
    two clubs ending their training camps, two clubs leaving for camps, Eid
    celebrations in two regions, two universities' job openings;
  * 5 same topic or occasion, another event: two announcements about one football
    Super Cup (twice), two incidents at one festival, two activities of one city's
    education office, two officials' statements at one FIFA gathering;
  * 1 same people, another event: one politician's plans vs a foreign state freezing
    his assets.
- 9 borderline (a desk may want them together or apart): two countries condemning one
  attack, two opinion columns on one statement, different quotes from one official's
  press statements (twice), two follow-ups of one incident (visits to the injured,
  twice), a government's denial of a rumour vs the debate about it, two activities of
  one visiting delegation, two quotes from one press conference.
So 11 of 50 (22%) are wrong on a reader's strict reading, 20 of 50 (40%) counting the
borderline ones; no link joins unrelated subjects. SaudiNewsNet is 14 Saudi papers'
local news (many regional, club and ministry stories that repeat a template), harder
for the title floor and the one-story-per-outlet rule than the five international
outlets of ANT."""


def main(argv: list[str] | None = None) -> int:
    import json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2015)
    args = ap.parse_args(argv)
    stories = load_saudinewsnet()
    by_id = {s["id"]: s for s in stories}
    lines = [json.dumps({k: s[k] for k in ("id", "title", "summary", "url", "source", "published")},
                        ensure_ascii=False) for s in stories]
    out = list(dedup_stream(lines, explain=True))
    kinds = Counter(o["kind"] for o in out)
    related = [o for o in out if o["kind"] == "related"]
    events = Counter(o["event"] for o in out)
    print(f"{len(out)} stories: {dict(kinds)}; {len(events)} events, "
          f"{sum(1 for n in events.values() if n > 1)} with more than one story")
    for n, o in enumerate(random.Random(args.seed).sample(related, min(args.n, len(related))), 1):
        a, b = by_id[o["id"]], by_id[o["of"]]
        print(f"\n#{n} score={o['score']} terms={','.join(o['terms'])}")
        print(f"  {a['source']:>10} {a['published'][:16]} {a['title']}\n             {a['summary'][:160]}")
        print(f"  {b['source']:>10} {b['published'][:16]} {b['title']}\n             {b['summary'][:160]}")
    print("\n" + READING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
