"""The copy level's cost per story as its window grows, with the same probes at every size.

Run:  .venv/bin/python bench/copy_growth.py [--sizes 20000,200000] [--probes 1500]
                                            [--code DIR ...] [--rounds 2]

bench/dedup.py draws a fresh set of probes for each window size, so its ratio between
sizes moves with the probes as much as with the window (x0.93 to x1.40 across runs).
Here every window gets the same probes: the ratio is the index's. Each window is built
by `Clusterer.rebuild` from bench/dedup.py's stories (the ANT corpus and SaudiNewsNet
read in place from ../shared/data, then synthetic ones), and the probes (held-out real
stories, some copies of stories in the window, most not) go through `Clusterer.add`
and stay in the index, as any story would.
Printed per size: CPU ms per probe and the verdicts (new/near/content/same), then the
ratio of the largest size to the smallest.

`--summary-leads N`: each probe's summary is its lead followed by N - 1 other stories'
leads (N = 40: about 10 KB), as a feed that carries the whole article in its description
gives it. The copy level reads 40 words of it; what the rest costs is what this shows.
With `--sizes 20000 --summary-leads 40 --code <checkout of 2b09832>` (before the lead
was read from the summary's start only), two rounds: 0.663 -> 0.322 and 0.660 -> 0.337
ms a probe, the same verdicts.

`--code DIR` measures another checkout of Raqib the same way (in a process of its own,
with its own code), in turn with this one, `--rounds` times: a before/after in one run,
each round alternating, since the machine is shared. Two checkouts that decide alike
print the same verdicts.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(sizes: list[int], probes: int, leads: int = 1) -> list[dict]:
    """In the checkout on sys.path: CPU ms per probe and verdict counts per size."""
    from bench.dedup import Window, corpus
    from monitor.dedup import Clusterer

    rows = corpus()
    random.Random(2018).shuffle(rows)
    held, real = rows[:probes], rows[probes:]
    if leads > 1:  # a description that carries the whole article: the lead, then other stories' leads
        held = [(title, " ".join([lead] + [real[(k * leads + j) % len(real)][1] for j in range(1, leads)]), url)
                for k, (title, lead, url) in enumerate(held)]
    window = Window(real, max(sizes) + probes)
    out = []
    for size in sizes:
        c = Clusterer.rebuild((i, i, *window.story(i), "x", window.when(i)) for i in range(size))
        when = window.when(size)
        kinds = {"new": 0, "near": 0, "content": 0, "same": 0}
        started = time.process_time()
        for k, (title, lead, url) in enumerate(held):
            kinds[c.add(f"p{k}", title=title, summary=lead, url=url, published=when).kind] += 1
        out.append({"size": size, "ms": (time.process_time() - started) / len(held) * 1000, "kinds": kinds})
        del c
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20000,200000")
    ap.add_argument("--probes", type=int, default=1500)
    ap.add_argument("--code", action="append", default=[], help="another checkout, measured in turn with this one")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--summary-leads", type=int, default=1,
                    help="each probe's summary: its lead then other stories' leads, this many in all")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # the checkout this process measures
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if args.child:
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
        sys.path.insert(0, args.child)
        print(json.dumps(measure(sizes, args.probes, args.summary_leads)))
        return
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); {args.probes} probes")
    print(f"{'round':>5} {'code':>12} " + " ".join(f"{f'{n} ms':>11}" for n in sizes) + f" {'ratio':>7}  verdicts")
    for round_ in range(1, args.rounds + 1):
        for code in [Path(c).resolve() for c in args.code] + [ROOT]:
            done = subprocess.run([sys.executable, __file__, "--child", str(code), "--sizes", args.sizes,
                                   "--probes", str(args.probes), "--summary-leads", str(args.summary_leads)],
                                  capture_output=True, text=True, check=True,
                                  cwd=code, env={**os.environ, "PYTHONPATH": str(code)})
            result = json.loads(done.stdout.strip().splitlines()[-1])
            verdicts = "; ".join("/".join(str(r["kinds"][k]) for k in ("new", "near", "content", "same"))
                                 for r in result)
            print(f"{round_:>5} {'this' if code == ROOT else code.name:>12} "
                  + " ".join(f"{r['ms']:>11.3f}" for r in result)
                  + f" {result[-1]['ms'] / result[0]['ms']:>6.2f}x  {verdicts}"
                  + f"   (load {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
