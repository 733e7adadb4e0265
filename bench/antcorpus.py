"""The ANT corpus as the benches and scripts read it: without the days reserved for evaluation.

Stories published 10-20 May 2018 (both days included) are reserved for evaluation and no
tool of the project reads them: every bench and script that opens the ANT corpus
(../shared/data/corpora/antcorpus) reads it through `stories()` here. A story's `time` is
RFC 822 ("Sun, 18 Feb 2018 21:35:43 +0400", "... GMT"); it is reserved when its date falls
in those days in its own zone or in UTC (01:00 +0400 on 21 May is 20 May in UTC: skipped).
A story's `docno` ends with its date (YYYYMMDD) too: a story is reserved when either date
falls in those days. A story with neither date readable is skipped too: its day is unknown.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

RESERVED_FIRST = date(2018, 5, 10)
RESERVED_LAST = date(2018, 5, 20)
_DOCNO_DATE = re.compile(r"(\d{8})$")


def reserved(doc: dict) -> bool:
    """True when `doc` is a reserved story (or its day cannot be told)."""
    days: set[date] = set()
    try:
        when = parsedate_to_datetime(doc.get("time") or "")
        days.add(when.date())
        if when.tzinfo is not None:
            days.add(when.astimezone(UTC).date())
    except (TypeError, ValueError):
        pass
    m = _DOCNO_DATE.search(doc.get("docno") or "")
    if m:
        with contextlib.suppress(ValueError):
            days.add(datetime.strptime(m.group(1), "%Y%m%d").date())
    return not days or any(RESERVED_FIRST <= day <= RESERVED_LAST for day in days)


def stories(path: str | Path) -> Iterator[dict]:
    """The stories of one ANT corpus file (`*.jsonl.gz`), in file order, reserved ones left out."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if not reserved(doc):
                yield doc
