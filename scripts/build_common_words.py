"""Build monitor/data/arabic_words.tsv.gz: word counts and lexicalised proclitic readings.

    .venv/bin/python scripts/build_common_words.py [--corpora ../shared/data/corpora] [--out PATH]

Reads the ANT corpus (title, abstract, text; stories published 10-20 May 2018 are reserved
for evaluation and skipped, see bench/antcorpus.py) and SaudiNewsNet (title, content), normalises
and tokenises them exactly as the matcher does, and writes, for every word seen at least
`--min-count` times, one line:

    word <TAB> count <TAB> clitic lengths at which the word is lexical ("" when none)

Only counts are shipped, never text.

**Lexical readings.** A token such as كامل can be read as ك + امل ("like hope"), but in
real text it is the word "complete". For a token T = c + rest, with c a clitic sequence
(و ف ب ل ك and the combinations وب ول وك فب فل فك; a ل before the article is written لل,
so للX is also read as ل + الX), two expectations of count(T) under the clitic reading
are formed from how c behaves on ordinary words (words seen at least 200 times):

    e1 = r_c * count(rest)             r_c: median of count(c+w) / count(w)
    e2 = s_c * sum of count(d+rest)    over the sibling clitics d in و ب ل other than c;
                                       s_c: upper quartile of count(c+w) / that sum

T is *lexical at len(c)* when count(T) >= 20 and count(T) > K * max(e1, e2, 1), K = 10:
the clitic reading explains less than a tenth of what is seen. The sibling test is what
separates بروس (ب+روس: و+روس 5, ل+روس 4, yet بروس 56) from بروسيا (ب 653 beside و 1177,
ل 481). Measured on the corpora: كامل, كريم, كمال, بروس, كيف, بيان, بسبب are lexical at
1; لمصر, بمصر, ولبنان, بموسكو, لبوتين, وروسيا, بروسيا, للحكومه, بالعقوبات are not. The
article ال alone is never judged: names that nearly always carry it (النيل, العراق) would
be lost. The ratios are printed when the script runs.
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.match import CLITICS, TOKEN_RE  # noqa: E402
from monitor.normalize import normalize_text  # noqa: E402

K = 10
MIN_LEXICAL = 20
RATIO_MIN_COUNT = 200
SIBLINGS = ("و", "ب", "ل")
SIBLING_MIN = 30


def iter_texts(corpora: Path):
    for path in sorted((corpora / "antcorpus").glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            yield " \n ".join(doc.get(k) or "" for k in ("title", "abstract", "text"))
    for path in sorted((corpora / "saudinewsnet").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                for doc in json.loads(zf.read(name).decode("utf-8")):
                    yield " \n ".join(doc.get(k) or "" for k in ("title", "content"))


def count_words(corpora: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for n, text in enumerate(iter_texts(corpora), 1):
        counts.update(TOKEN_RE.findall(normalize_text(text)))
        if n % 10000 == 0:
            print(f"  {n} documents, {len(counts)} distinct words", file=sys.stderr)
    return counts


def surface(clitic: str, word: str) -> str:
    """How `clitic` + `word` is written (ل + الX is written للX)."""
    if clitic.endswith("ل") and word.startswith("ال"):
        return clitic[:-1] + "لل" + word[2:]
    return clitic + word


def readings(token: str, clitic: str) -> list[str]:
    """What remains of `token` when `clitic` is read off its front (ل + ال is written لل)."""
    if not token.startswith(clitic) or len(token) - len(clitic) < 2:
        return []
    rest = token[len(clitic):]
    out = [rest]
    if clitic.endswith("ل") and rest.startswith("ل") and len(rest) > 2:
        out.append("ا" + rest)  # لل + X is ل + الX
    return out


def sibling_count(counts: Counter[str], clitic: str, rest: str) -> int:
    return sum(counts.get(surface(d, rest), 0) for d in SIBLINGS if d != clitic)


def clitic_ratios(counts: Counter[str]) -> tuple[dict[str, float], dict[str, float]]:
    base = [w for w, n in counts.items() if n >= RATIO_MIN_COUNT and len(w) >= 3]
    bare: dict[str, float] = {}
    sibling: dict[str, float] = {}
    for clitic in CLITICS:
        bare[clitic] = statistics.median(counts.get(surface(clitic, w), 0) / counts[w] for w in base)
        if len(clitic) == 1:
            values = [counts.get(surface(clitic, w), 0) / sib for w in base
                      if (sib := sibling_count(counts, clitic, w)) >= SIBLING_MIN]
            sibling[clitic] = statistics.quantiles(values, n=4)[2] if len(values) > 1 else 0.0
    return bare, sibling


def lexical_lengths(token: str, counts: Counter[str],
                    ratios: tuple[dict[str, float], dict[str, float]]) -> list[int]:
    n = counts[token]
    if n < MIN_LEXICAL:
        return []
    bare, sibling = ratios
    out = []
    for clitic in CLITICS:
        rests = readings(token, clitic)
        if not rests:
            continue
        e1 = max(bare[clitic] * counts.get(rest, 0) for rest in rests)
        e2 = 0.0
        if clitic in sibling:
            e2 = max(sibling[clitic] * sibling_count(counts, clitic, rest) for rest in rests)
        if n > K * max(e1, e2, 1.0):
            out.append(len(clitic))
    return sorted(set(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "data" / "corpora")
    ap.add_argument("--out", type=Path, default=ROOT / "monitor" / "data" / "arabic_words.tsv.gz")
    ap.add_argument("--min-count", type=int, default=30)
    args = ap.parse_args(argv)
    counts = count_words(args.corpora)
    ratios = clitic_ratios(counts)
    print("clitic ratios r_c: " + ", ".join(f"{c}={r:.4f}" for c, r in ratios[0].items())
          + "; s_c: " + ", ".join(f"{c}={r:.4f}" for c, r in ratios[1].items()), file=sys.stderr)
    rows = []
    for word, n in counts.most_common():
        if n < MIN_LEXICAL:
            break
        lex = lexical_lengths(word, counts, ratios)
        if n < args.min_count and not lex:
            continue
        rows.append(f"{word}\t{n}\t{','.join(map(str, lex))}\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:  # mtime=0: reproducible bytes
        fh.write(("# word\tcount\tlexical clitic lengths; built by scripts/build_common_words.py\n"
                  + "".join(rows)).encode("utf-8"))
    lexical = sum(1 for r in rows if not r.endswith("\t\n"))
    print(f"wrote {args.out}: {len(rows)} words, {lexical} with lexical readings, "
          f"{args.out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
