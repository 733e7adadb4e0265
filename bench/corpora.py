"""The ANT and SaudiNewsNet stories for the matching scripts, without the reserved ones.

ANT stories published 10–20 May 2018 are kept for evaluation: they are skipped here, by
their `time` and by the date their `docno` ends with. SaudiNewsNet text is for counts and
for samples printed on screen, never for the repository.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import zipfile
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "data" / "corpora"
RESERVED = (dt.date(2018, 5, 10), dt.date(2018, 5, 20))
_DOCNO_DATE = re.compile(r"(\d{8})$")


def reserved(doc: dict) -> bool:
    """True for an ANT story published 10–20 May 2018 (or of unknown date)."""
    dates = []
    try:
        dates.append(parsedate_to_datetime(doc["time"]).date())
    except (KeyError, TypeError, ValueError):
        pass
    m = _DOCNO_DATE.search(doc.get("docno") or "")
    if m:
        dates.append(dt.datetime.strptime(m.group(1), "%Y%m%d").date())
    return not dates or any(RESERVED[0] <= d <= RESERVED[1] for d in dates)


def stories(corpora: Path = CORPORA) -> Iterator[tuple[str, str]]:
    """(source, text) of every usable story: "ant:<outlet>" or "snn:<outlet>"."""
    for path in sorted((corpora / "antcorpus").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                if reserved(doc):
                    continue
                yield f"ant:{path.name.split('.')[0]}", " \n ".join(
                    doc.get(k) or "" for k in ("title", "abstract", "text"))
    for path in sorted((corpora / "saudinewsnet").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                for doc in json.loads(zf.read(name).decode("utf-8")):
                    yield f"snn:{doc.get('source', '?')}", " \n ".join(
                        doc.get(k) or "" for k in ("title", "content"))
