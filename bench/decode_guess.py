"""How well `monitor.decode.looks_arabic` tells Arabic from other scripts read as Arabic.

An undeclared body is only decoded as windows-1256 (or any guess giving Arabic letters)
when the result looks like Arabic. This prints, for real Arabic (ANT corpus titles and
title + abstract, read from ../shared/data/corpora/antcorpus; stories published 10-20 May
2018 are reserved for evaluation and skipped, see bench/antcorpus.py) how often it is accepted
and the share of common words; for the paragraphs of tests/data/decode/ encoded in their
legacy encodings and read as windows-1256 or ISO-8859-6, whether any is accepted; and
the same for feedparser's chardet test files. Run from the repository root:

    .venv/bin/python bench/decode_guess.py [--ant DIR] [--sample N]

The word list was built from the ANT and SaudiNewsNet corpora, so ANT is not held out:
take its figures as an upper bound for Arabic text in general.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.antcorpus import stories as ant_stories  # noqa: E402
from monitor.decode import _ARABIC_LETTER, _LETTERS, _common_word, looks_arabic  # noqa: E402
from monitor.normalize import normalize_text  # noqa: E402

ENCODINGS = {"ru": ["koi8-r", "cp1251", "iso-8859-5", "cp866", "mac_cyrillic"], "uk": ["koi8-u", "cp1251"],
             "el": ["cp1253", "iso-8859-7"], "he": ["cp1255", "iso-8859-8"], "th": ["tis-620", "cp874"],
             "tr": ["cp1254", "iso-8859-9"], "fr": ["latin-1", "cp1252"], "pl": ["cp1250", "iso-8859-2"],
             "de": ["latin-1"], "fa": ["cp1256"], "ur": ["cp1256"]}


def common_share(text: str) -> float | None:
    words = known = 0
    for m in _LETTERS.finditer(normalize_text(text)):
        token = m.group()
        if len(token) >= 3 and len(_ARABIC_LETTER.findall(token)) == len(token):
            words += 1
            known += _common_word(token)
    return known / words if words else None


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ant", type=Path, default=ROOT.parent / "shared" / "data" / "corpora" / "antcorpus")
    ap.add_argument("--chardet", type=Path,
                    default=ROOT.parent / "shared" / "data" / "feedparser-tests" / "illformed" / "chardet")
    ap.add_argument("--sample", type=int, default=5000)
    args = ap.parse_args()

    titles: list[str] = []
    docs: list[str] = []
    for path in sorted(args.ant.glob("*.jsonl.gz")):
        for d in ant_stories(path):
            titles.append(d["title"])
            docs.append(f"{d['title']} {d.get('abstract') or ''}")
    rng = random.Random(1)
    if titles:
        print(f"real Arabic, ANT corpus ({len(titles)} articles, {args.sample} sampled):")
        for name, texts in (("title alone", titles), ("title + abstract", docs)):
            texts = rng.sample(texts, min(args.sample, len(texts)))
            accepted = sum(looks_arabic(t) for t in texts)
            shares = sorted(s for s in map(common_share, texts) if s is not None)
            print(f"  {name:17} accepted {accepted / len(texts):7.2%}   common-word share "
                  f"p0.1 {pct(shares, 0.001):.2f}  p1 {pct(shares, 0.01):.2f}  "
                  f"p5 {pct(shares, 0.05):.2f}  median {pct(shares, 0.5):.2f}")
    else:
        print(f"(no ANT corpus under {args.ant}; skipped)")

    print("other scripts read as Arabic (accepted = a guess would give Arabic):")
    tried = accepted_wrongly = 0
    for lang, encodings in ENCODINGS.items():
        text = (ROOT / "tests" / "data" / "decode" / f"{lang}.txt").read_text(encoding="utf-8")
        for encoding in encodings:
            body = text.encode(encoding, "replace")
            for as_ in ("cp1256", "iso-8859-6"):
                read = body.decode(as_, "replace")
                share = common_share(read)
                accepted = looks_arabic(read)
                if lang not in ("fa", "ur"):  # written in Arabic script: accepting them is right
                    tried += 1
                    accepted_wrongly += accepted
                print(f"  {lang} {encoding:13} as {as_:11} accepted {accepted!s:5}  share "
                      + ("-" if share is None else f"{share:.2f}"))
    for path in sorted(args.chardet.glob("*.xml")):
        body = path.read_bytes()
        for as_ in ("cp1256", "iso-8859-6"):
            read = body.decode(as_, "replace")
            share = common_share(read)
            accepted = looks_arabic(read)
            tried += 1
            accepted_wrongly += accepted
            print(f"  {path.name:16} as {as_:11} accepted {accepted!s:5}  share "
                  + ("-" if share is None else f"{share:.2f}"))
    print(f"non-Arabic readings accepted as Arabic: {accepted_wrongly} of {tried}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
