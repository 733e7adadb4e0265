"""How many real hits the refusal of two-letter proclitic readings loses, before and after.

    .venv/bin/python bench/proclitic_refusals.py [--top 25]

Every distinct word of ANT + SaudiNewsNet (reserved ANT stories skipped) that can be read
as a two-letter proclitic (وب ول وك فب فل فك) in front of a word seen 30 times or more is
judged by `WordData.refuses` as a term of that word would be. Printed: how many readings
and occurrences are refused, the most frequent ones, and for each whether the token
without its first letter (ولحزب → لحزب) is itself an ordinary, unrefused reading — the
case the refusal gets wrong (و + لحزب is "and for the party", not a word of its own).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from variant_reach import word_counts  # noqa: E402

from monitor.match import word_data  # noqa: E402

TWO = ("وب", "ول", "وك", "فب", "فل", "فك")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    counts = word_counts()
    data = word_data()
    refused = []
    for token, n in counts.items():
        for c in TWO:
            rest = token[2:]
            if token.startswith(c) and len(rest) >= 2 and data.counts.get(rest, 0) >= 30 \
                    and data.refuses(token, c, rest):
                refused.append((n, token, c, rest))
    restored = sorted(((n, t) for t, n in counts.items() if len(t) > 3 and 2 in data.lexical.get(t, ())
                       and data._conjunction_on_reading(t)), reverse=True)
    print(f"flagged lexical at 2 but read as و/ف + an ordinary reading: {len(restored)} words, "
          f"{sum(n for n, _ in restored)} occurrences: " + ", ".join(f"{t} {n}" for n, t in restored[:args.top]))
    refused.sort(reverse=True)
    print(f"two-letter readings refused: {len(refused)} words, {sum(r[0] for r in refused)} occurrences")
    for n, token, c, rest in refused[:args.top]:
        one = token[1:]
        print(f"  {token}\t{n}\t{c} + {rest}\t{one}: {data.counts.get(one, 0)}, "
              f"lexical at {sorted(data.lexical.get(one, ()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
