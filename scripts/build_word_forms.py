"""Build monitor/data/arabic_forms.tsv.gz: the counts behind the forms of group names and
demonyms and behind the ى guard (the rules that read them are in monitor/match/forms.py).

    .venv/bin/python scripts/build_word_forms.py [--corpora ../shared/data/corpora] [--out PATH]

Reads the same corpora as scripts/build_common_words.py (ANT title, abstract and text
without the stories reserved for evaluation; SaudiNewsNet title and content), normalised
and tokenised as the matcher reads them, and writes two kinds of line (only counts,
never text):

    f <TAB> stem <TAB> n n' <TAB> ون n n' <TAB> ين n n' <TAB> ه n n' <TAB> ات n n'

for every stem ending in ي (no article) seen at least `--min-count` times in all its
written forms: n is how often the stem (or stem + suffix) is seen without the article,
n' with it, each summed over every proclitic reading (والحوثيين, للحوثيين and الحوثيين
all count for الحوثي + ين with the article). The feminine ة is folded to ه.

    y <TAB> word <TAB> count <TAB> written with final ى <TAB> governed

for every word ending in ي seen at least `--min-count` times: how often it was written
with ى (U+0649) before the fold, and how often it is seen after a preposition ب ل ك or
with the article, whatever و/ف stands before them (what a noun or a name takes and a
particle does not).
"""
from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from build_common_words import iter_texts  # noqa: E402

from monitor.match.lexicon import SPLITS  # noqa: E402
from monitor.normalize import TOKEN_RE, normalize_text  # noqa: E402

SUFFIXES = ("ون", "ين", "ه", "ات")
# A raw Arabic word ending in ى, harakat and tatweel allowed anywhere in it.
MAQSURA = re.compile("[\u0621-\u064a\u064b-\u065f\u0640\u0670]*\u0649[\u064b-\u065f\u0640\u0670]*"
                     "(?![\u0621-\u064a\u064b-\u065f\u0640\u0670])")


def count(corpora: Path) -> tuple[Counter[str], Counter[str]]:
    counts: Counter[str] = Counter()
    maqsura: Counter[str] = Counter()
    for n, text in enumerate(iter_texts(corpora), 1):
        counts.update(TOKEN_RE.findall(normalize_text(text)))
        maqsura.update(normalize_text(m) for m in MAQSURA.findall(text))
        if n % 20000 == 0:
            print(f"  {n} documents, {len(counts)} distinct words", file=sys.stderr)
    return counts, maqsura


def readings(token: str) -> list[tuple[str, bool]]:
    """What may stand after the proclitics of `token`, and whether the article was read."""
    out = [(token, False)]
    for split in SPLITS:
        if split.prefix and token.startswith(split.prefix) and len(token) - len(split.prefix) >= 2:
            rest = token[len(split.prefix):]
            if split.prefix.endswith("لل") and rest.startswith("ل"):
                continue  # لل + لX: not a reading we count (للجنة is read as لل + جنة)
            out.append((rest, split.article))
    return out


def form_rows(counts: Counter[str], min_count: int) -> list[str]:
    # (stem, suffix) -> [without article, with article]
    table: dict[tuple[str, str], list[int]] = {}
    for token, n in counts.items():
        for rest, article in readings(token):
            if article and rest.startswith("ال"):
                continue
            for suffix in ("",) + SUFFIXES:
                if rest.endswith("ي" + suffix) and len(rest) - len(suffix) >= 2:
                    stem = rest[:len(rest) - len(suffix)] if suffix else rest
                    if not article and stem.startswith("ال"):
                        continue  # read with the article by its own split
                    table.setdefault((stem, suffix), [0, 0])[1 if article else 0] += n
    rows = []
    for (stem, suffix), (plain, defined) in sorted(table.items()):
        if suffix or plain + defined < min_count:
            continue
        cells = [f"{plain} {defined}"]
        for s in SUFFIXES:
            p, d = table.get((stem, s), (0, 0))
            cells.append(f"{s} {p} {d}")
        rows.append("f\t" + stem + "\t" + "\t".join(cells) + "\n")
    return rows


def governed(counts: Counter[str], word: str) -> int:
    """How often `word` is seen after a preposition ب ل ك or with the article (any و/ف
    before them): what a noun or a name takes and a particle does not."""
    total = 0
    for split in SPLITS:
        if split.article or split.clitics[-1:] in ("ب", "ل", "ك"):
            total += counts.get(split.prefix + word, 0)  # لل + X is ل + الX
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "data" / "corpora")
    ap.add_argument("--out", type=Path, default=ROOT / "monitor" / "data" / "arabic_forms.tsv.gz")
    ap.add_argument("--min-count", type=int, default=30)
    args = ap.parse_args(argv)
    counts, maqsura = count(args.corpora)
    rows = form_rows(counts, args.min_count)
    rows += [f"y\t{w}\t{counts[w]}\t{maqsura[w]}\t{governed(counts, w)}\n" for w in sorted(counts)
             if w.endswith("ي") and counts[w] >= args.min_count]
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:  # mtime=0: reproducible bytes
        fh.write(("# f: stem, then (suffix) count without and with the article; y: word, count, written with"
                  " final alif maqsura; built by scripts/build_word_forms.py\n" + "".join(rows)).encode("utf-8"))
    print(f"wrote {args.out}: {len(rows)} rows, {args.out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
