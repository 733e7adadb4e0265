"""Build monitor/data/arabic_df.tsv.gz: the document frequencies of the event level's terms.

    .venv/bin/python scripts/build_event_df.py [--corpora ../shared/data/corpora] [--out PATH]

Reads the ANT corpus through bench/antcorpus.py (stories published 10-20 May 2018 are
reserved for evaluation and skipped), makes of every story what the event level reads
of it (`monitor.dedup.events.terms`: title and the summary's first words; ANT's
abstract is the RSS description, the summary Raqib sees), and writes how many stories
hold each term, for every term held by at least `--min-df` stories (the terms of a story
are those it gives with `dedup.event.places` on and off, so that either setting finds the
frequencies of its own terms: a country's term, and the terms its words give alone):

    # documents <TAB> N
    term <TAB> document frequency

Only counts are shipped, never text. A term that is not in the table counts as seen in
no story (the highest idf). Run it again whenever `terms` changes (the stemmer, the
skeletons, the stop words): the table is keyed by terms, not by words.
"""
from __future__ import annotations

import argparse
import gzip
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.dedup.events import EventSettings, terms  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "data" / "corpora")
    ap.add_argument("--out", type=Path, default=ROOT / "monitor" / "data" / "arabic_df.tsv.gz")
    ap.add_argument("--min-df", type=int, default=2)
    args = ap.parse_args(argv)
    s = EventSettings()
    df: Counter[str] = Counter()
    documents = 0
    for path in sorted((args.corpora / "antcorpus").glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            seen: set[str] = set()
            for places in (True, False):  # the terms of either setting of dedup.event.places
                counts, _in_title, _surface = terms(doc.get("title") or "", doc.get("abstract") or "",
                                                    title_weight=s.title_weight, summary_words=s.summary_words,
                                                    places=places)
                seen.update(counts)
            df.update(seen)
            documents += 1
    rows = [f"{term}\t{n}\n" for term, n in sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= args.min_df]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:  # mtime=0: reproducible bytes
        fh.write((f"# term\tdocument frequency; built by scripts/build_event_df.py\n# documents\t{documents}\n"
                  + "".join(rows)).encode("utf-8"))
    print(f"wrote {args.out}: {documents} documents, {len(rows)} terms (of {len(df)}), "
          f"{args.out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
