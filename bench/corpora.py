"""The ANT and SaudiNewsNet stories for the matching scripts, without the reserved ones.

ANT stories published 10–20 May 2018 are kept for evaluation: they are skipped here, by
their `time` and by the date their `docno` ends with. SaudiNewsNet text is for counts and
for samples printed on screen, never for the repository.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from antcorpus import reserved
from antcorpus import stories as ant_stories

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "data" / "corpora"
__all__ = ["CORPORA", "reserved", "stories"]


def stories(corpora: Path = CORPORA) -> Iterator[tuple[str, str]]:
    """(source, text) of every usable story: "ant:<outlet>" or "snn:<outlet>"."""
    for path in sorted((corpora / "antcorpus").glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            yield f"ant:{path.name.split('.')[0]}", " \n ".join(
                doc.get(k) or "" for k in ("title", "abstract", "text"))
    for path in sorted((corpora / "saudinewsnet").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                for doc in json.loads(zf.read(name).decode("utf-8")):
                    yield f"snn:{doc.get('source', '?')}", " \n ".join(
                        doc.get(k) or "" for k in ("title", "content"))
