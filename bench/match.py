"""Stories per second of the watchlist matcher, beside a plain `re` alternation.

    .venv/bin/python bench/match.py [--stories 20000] [--seconds 4]

Stories are real: title + abstract from the ANT corpus (../shared/data/corpora/antcorpus),
read through bench/antcorpus.py: stories published 10-20 May 2018 are reserved for
evaluation and skipped.
Terms are drawn from the same text (random words of three letters or more, one in ten a
two-word phrase, a few with `variants: true`) and spread over watchlists of ten terms.
Two draws: "even" takes distinct words evenly from the vocabulary (as watched names are:
most stories match nothing), "dense" takes words as they run in the text, function
words included (most stories match several terms; every hit costs offsets).
Two `re` baselines run in the same process over the same stories:
* "re raw" is what RSS filters do: one pattern `\\b(?:t1|t2|…)\\b`, findall over the raw
  title and abstract (no Arabic folding, no proclitics: it does much less work);
* "re job" does the same job in the plain way: `normalize_text` on both fields, then one
  pattern `\\b[وف]?(?:[بك]?(?:ال)?|لل?)(?:t1|t2|…)\\b` over the normalised text (words of
  a phrase joined by `\\W+`), findall. It still does less than the matcher: no lexical
  refusals, no variant spellings, no offsets into the original text, no Match records.
Raqib's figure is `Matcher.match(title, abstract)` with its full output (Match records
with original offsets). Each figure is measured over as many stories as fit in
--seconds, one core.
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
from monitor.match import Matcher  # noqa: E402
from monitor.normalize import normalize_text  # noqa: E402
from monitor.watchlists import Term, Watchlist  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "corpora" / "antcorpus"
WORD = re.compile(r"[\u0621-\u064a]{3,}")


def load_stories(limit: int, *, body: bool = False) -> list:
    """`limit` ANT stories as (title, abstract), the same draw every time; with `body`,
    (title, abstract, body): the text's lines as paragraphs, as `Story.body` holds them."""
    stories: list = []
    files = sorted(CORPUS.glob("*.jsonl.gz"))
    per_file = limit // len(files) + 1
    for path in files:
        for n, doc in enumerate(ant_stories(path)):
            if n >= per_file:
                break
            story = (doc.get("title") or "", doc.get("abstract") or "")
            if body:
                story += ("\n\n".join(line.strip() for line in (doc.get("text") or "").split("\n") if line.strip()),)
            stories.append(story)
    random.Random(7).shuffle(stories)
    return stories[:limit]


def draw_terms(stories: list[tuple[str, str]], count: int, rng: random.Random, dense: bool) -> list[Term]:
    """Terms from the stories: distinct words drawn evenly (like names people watch: most
    stories match nothing), or, when `dense`, words drawn as they occur in running text
    (function words included: most stories match several terms)."""
    texts = [WORD.findall(t + " " + a) for t, a in stories]
    vocabulary = sorted({w for words in texts for w in words})
    terms: dict[str, Term] = {}
    while len(terms) < count:
        if dense:
            words = rng.choice(texts)
            if len(words) < 2:
                continue
            i = rng.randrange(len(words) - 1)
        else:
            words = vocabulary
            i = rng.randrange(len(words) - 1)
        roll = rng.random()
        if roll < 0.1:
            text = words[i] + " " + words[i + 1]
            terms.setdefault(text, Term(text))
        elif roll < 0.12:
            terms.setdefault(words[i], Term(words[i], variants=True))
        else:
            terms.setdefault(words[i], Term(words[i]))
    return list(terms.values())


def same_job_pattern(terms: list[Term]) -> re.Pattern[str]:
    """One alternation of the normalised terms, proclitics allowed in front, whole words."""
    alternatives = sorted({r"\W+".join(re.escape(w) for w in normalize_text(t.text).split()) for t in terms},
                          key=len, reverse=True)
    return re.compile(r"\b[وف]?(?:[بك]?(?:ال)?|لل?)(?:" + "|".join(alternatives) + r")\b")


def rate(fn, stories: list[tuple[str, str]], seconds: float) -> tuple[float, float]:
    done, hits = 0, 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for title, abstract in stories:
            hits += bool(fn(title, abstract))
            done += 1
            if done % 200 == 0 and time.perf_counter() > deadline:
                return done / (time.perf_counter() - start), hits / done
        if time.perf_counter() > deadline:
            return done / (time.perf_counter() - start), hits / done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=2.5)
    args = ap.parse_args(argv)
    stories = load_stories(args.stories)
    chars = sum(len(t) + len(a) for t, a in stories) / len(stories)
    print(f"{len(stories)} ANT stories (title + abstract, {chars:.0f} characters on average), one core")
    print(f"{'terms':>6} {'draw':>5}  {'compile s':>9}  {'raqib stories/s':>15}  {'hit %':>5}  "
          f"{'re raw /s':>10}  {'hit %':>5}  {'× raw':>6}  {'re job /s':>10}  {'hit %':>5}  {'× job':>6}")
    for dense in (False, True):
        for count in (10, 1000, 10000):
            rng = random.Random(count)
            terms = draw_terms(stories, count, rng, dense)
            watchlists = [Watchlist(name=f"w{i:05d}", title=f"w{i}", terms=tuple(terms[i:i + 10]))
                          for i in range(0, len(terms), 10)]
            t0 = time.perf_counter()
            matcher = Matcher(watchlists)
            compile_s = time.perf_counter() - t0
            ours, our_hits = rate(matcher.match, stories, args.seconds)
            pattern = re.compile(r"\b(?:" + "|".join(re.escape(t.text) for t in terms) + r")\b")
            raw, raw_hits = rate(lambda a, b, pattern=pattern: pattern.findall(a) + pattern.findall(b),
                                 stories, args.seconds)
            job = same_job_pattern(terms)
            fair, fair_hits = rate(lambda a, b, job=job: (job.findall(normalize_text(a))
                                                          + job.findall(normalize_text(b))),
                                   stories, args.seconds)
            print(f"{count:>6} {'dense' if dense else 'even':>5}  {compile_s:>9.2f}  {ours:>15,.0f}  "
                  f"{100 * our_hits:>5.0f}  {raw:>10,.0f}  {100 * raw_hits:>5.0f}  {ours / raw:>5.1f}x  "
                  f"{fair:>10,.0f}  {100 * fair_hits:>5.0f}  {ours / fair:>5.1f}x")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
