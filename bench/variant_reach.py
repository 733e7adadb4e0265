"""What each variant rule newly reaches on the corpora: words, occurrences and samples.

    .venv/bin/python bench/variant_reach.py [--names شولتس,فاغنر,...] [--samples 6]

For each of the rules named in `monitor.match.variants.RULES` (s/z, j/z, gh/h, sh/s,
fa/wa), a matcher with that rule alone and one with none of them match every distinct
word of ANT + SaudiNewsNet (reserved ANT stories skipped, see bench/corpora.py) against
the same `variants: true` names; the words the rule's matcher finds and the other does
not are what the rule newly reaches, after the proclitic refusals and the corpus guards,
as the daemon would match them. Printed: per rule, the number of such words, their
occurrences, each word with its count and name, and sample occurrences in context (on
screen only: SaudiNewsNet's text is never written to the repository).
"""
from __future__ import annotations

import argparse
import bisect
import pickle
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpora  # noqa: E402

from monitor.match import TOKEN_RE, Matcher, variants  # noqa: E402
from monitor.models import Term, Watchlist  # noqa: E402
from monitor.normalize import normalize_text  # noqa: E402

# Transliterated names as outlets write them (the issue's, the watchlists' and the news's).
NAMES = ("شولتس", "شولتز", "غوتيريش", "غوتيريس", "لوغانسك", "لوهانسك", "فاغنر", "واغنر", "بريغوجين",
         "بريغوزين", "بوتين", "ترامب", "ماكرون", "زيلينسكي", "ميركل", "جونسون", "نتنياهو", "تيليغرام",
         "بيسكوف", "لافروف", "شويغو", "بومبيو", "بولتون", "تيلرسون", "غوغل", "فيسبوك", "تويتر",
         "مايكروسوفت", "كوشنر", "ماتيس", "هايلي", "سكريبال", "سالزبوري", "دونيتسك", "خاشقجي",
         "فيصل", "سيئول", "غزة", "زيد", "هامبورغ", "موتسارت", "شتاينماير", "فولفسبورغ", "واشنطن",
         "بيونغيانغ", "كيم", "سوتشي", "استانا", "هلسنكي", "مولر", "ستورمي", "جيروزاليم")
CACHE = Path("/tmp/raqib_corpus_counts.pickle")


def word_counts() -> Counter[str]:
    if CACHE.exists():
        return pickle.loads(CACHE.read_bytes())
    counts: Counter[str] = Counter()
    for _, text in corpora.stories():
        counts.update(TOKEN_RE.findall(normalize_text(text)))
    CACHE.write_bytes(pickle.dumps(counts))
    return counts


def reached(names: list[str], rules: frozenset[str], vocabulary: list[str]) -> set[tuple[str, str]]:
    """(word, name) for each word matched for each name, with `rules` on."""
    variants.RULES = rules  # read when a term is compiled
    try:
        matcher = Matcher([Watchlist(f"n{i}", name, (Term(name, variants=True),)) for i, name in enumerate(names)])
    finally:
        variants.RULES = ALL
    out: set[tuple[str, str]] = set()
    for k in range(0, len(vocabulary), 2000):
        chunk = vocabulary[k:k + 2000]
        text = " ".join(chunk)
        starts = {}
        at = 0
        for w in chunk:
            starts[at] = w
            at += len(w) + 1
        bounds = sorted(starts)
        for m in matcher.match(text):
            i = bounds[bisect.bisect_right(bounds, m.start) - 1]
            out.add((starts[i], m.term))
    return out


ALL = variants.RULES


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", default=",".join(NAMES))
    ap.add_argument("--samples", type=int, default=6)
    args = ap.parse_args(argv)
    names = args.names.split(",")
    counts = word_counts()
    vocabulary = sorted(counts)
    print(f"{len(vocabulary)} distinct words, {sum(counts.values())} tokens (reserved ANT stories skipped)")
    base = reached(names, frozenset(), vocabulary)
    new_by_rule: dict[str, dict[str, str]] = {}
    for rule in sorted(ALL):
        found = reached(names, frozenset({rule}), vocabulary)
        new_by_rule[rule] = dict(sorted(found - base))
        new = new_by_rule[rule]
        print(f"\n== {rule}: {len(new)} words newly reached, {sum(counts[w] for w in new)} occurrences")
        for w, name in sorted(new.items(), key=lambda x: -counts[x[0]]):
            print(f"   {w}\t{counts[w]}\t({name})")
    if args.samples:
        wanted = {w: rule for rule, new in new_by_rule.items() for w in new}
        shown: dict[str, int] = defaultdict(int)
        print("\n== samples (on screen only)")
        for source, text in corpora.stories():
            norm = normalize_text(text)
            for m in TOKEN_RE.finditer(norm):
                rule = wanted.get(m.group())
                if rule is None or shown[rule] >= args.samples:
                    continue
                shown[rule] += 1
                context = re.sub(r"\s+", " ", norm[max(0, m.start() - 40):m.end() + 40])
                print(f"[{rule}] {source}: {m.group()} ({new_by_rule[rule][m.group()]}): …{context}…")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
