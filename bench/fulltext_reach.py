"""How many stories naming a watched name Raqib finds: on the feed's text, and with the article.

On the ANT corpus (all five outlets, the reserved days 10-20 May 2018 left out), for the
20 frequently watched names below, with the project's own Matcher (one watchlist per
name; variants on for one-word names, so Sky News' بوتن and Al Arabiya's ترمب count):

- a story *names* a name when the Matcher finds it in its title, abstract or text;
- *feed text*: found in title + abstract (what the outlet's RSS carried);
- *full text*: found in title + abstract + the body extracted by
  `monitor.article.extract.extract_article` from a page built around the story's text
  (one of the five outlet layouts of scripts/build_article_pages.py, with furniture that
  names four names the story does not).

Prints, per name and over all (story, name) pairs: stories naming it, share matched on
feed text, share matched with full text (target ≥ 0.97), and how many furniture-only
names the full text let through (target 0).

Measured (all of it, 2026-12): 29,651 stories, 9,440 naming one of the names (13,405
story-name pairs): feed text 0.486, full text 0.999; furniture-only names let through:
1 in 9,440 pages. The pairs still missed are names that ANT's text itself holds in a line
such as "اقرأ أيضا| أول تعليق من محمد بن سلمان ..." (the outlet's own read-also box,
captured with the text), which extraction rightly drops.

Run: .venv/bin/python bench/fulltext_reach.py [--limit N]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from antcorpus import stories as ant_stories  # noqa: E402
from build_article_pages import NAMES, furniture, page  # noqa: E402

from monitor.article.extract import extract_article  # noqa: E402
from monitor.match import Matcher  # noqa: E402
from monitor.models import Term, Watchlist  # noqa: E402

ANT = ROOT.parent / "shared" / "data" / "corpora" / "antcorpus"
LAYOUTS = ("aljazeera", "alarabiya", "bbc", "skynews", "france24")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="stop after this many naming stories (0: all)")
    args = parser.parse_args()
    matcher = Matcher([Watchlist(name=n, title=n, terms=(Term(n, variants=" " not in n),)) for n in NAMES])

    def names(text: str) -> set[str]:
        return {m.watchlist for m in matcher.match(text)} if text else set()

    rng = random.Random(11)
    naming, feed_hits, full_hits, leaks = Counter(), Counter(), Counter(), Counter()
    stories = pages = 0
    cpu = 0.0
    for path in sorted(ANT.glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            title, abstract, text = doc.get("title") or "", doc.get("abstract") or "", doc.get("text") or ""
            stories += 1
            anywhere = names(title) | names(abstract) | names(text)
            if not anywhere:
                continue
            feed = names(title) | names(abstract)
            paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
            absent = [n for n in NAMES if n not in anywhere]
            planted = rng.sample(absent, min(4, len(absent)))
            html = page(LAYOUTS[pages % len(LAYOUTS)], title, abstract, paragraphs, doc.get("url") or "",
                        furniture(planted), "utf-8")
            start = time.process_time()
            body = extract_article(html.encode("utf-8"), "utf-8")
            cpu += time.process_time() - start
            pages += 1
            full = feed | names(body)
            for name in anywhere:
                naming[name] += 1
                feed_hits[name] += name in feed
                full_hits[name] += name in full
            for name in set(planted) & full:
                leaks[name] += 1
            if args.limit and pages >= args.limit:
                break
        if args.limit and pages >= args.limit:
            break

    print(f"ANT outside 10-20 May 2018: {stories:,} stories read, {pages:,} name one of {len(NAMES)} names "
          f"(pages built and extracted: {cpu * 1000 / max(1, pages):.1f} ms CPU a page)")
    print(f"{'name':>16} {'stories':>8} {'feed text':>10} {'full text':>10} {'furniture hits':>15}")
    for name in NAMES:
        n = naming[name]
        if not n:
            print(f"{name:>16} {0:>8}")
            continue
        print(f"{name:>16} {n:>8} {feed_hits[name] / n:>10.3f} {full_hits[name] / n:>10.3f} {leaks[name]:>15}")
    total = sum(naming.values())
    print(f"{'all (story, name)':>16} {total:>8} {sum(feed_hits.values()) / total:>10.3f} "
          f"{sum(full_hits.values()) / total:>10.3f} {sum(leaks.values()):>15}")


if __name__ == "__main__":
    main()
