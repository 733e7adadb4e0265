"""Document frequencies of terms for the event level's TF-IDF weights (`monitor.dedup.events`):
the table shipped in monitor/data (`DF_RESOURCE`, counts only, built by
`scripts/build_event_df.py`), updated online by every story that is not a copy."""
from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

DF_RESOURCE = "arabic_df.tsv.gz"


class DocumentFrequencies:
    """Document frequencies of terms: the shipped table plus every story seen since."""

    def __init__(self, df: dict[str, int] | None = None, documents: int = 0) -> None:
        self.df: dict[str, int] = df if df is not None else {}
        self.documents = documents

    @classmethod
    def shipped(cls) -> DocumentFrequencies:
        """The table in monitor/data (a fresh copy: it is updated online)."""
        df, n = shipped_table()
        return cls(dict(df), n)

    def idf(self, term: str) -> float:
        return math.log((self.documents + 1) / (self.df.get(term, 0) + 1)) + 1.0

    def update(self, seen: Iterable[str]) -> None:
        self.documents += 1
        df = self.df
        for term in seen:
            df[term] = df.get(term, 0) + 1

    def add(self, counts: Mapping[str, int], documents: int) -> None:
        """`documents` stories at once, `counts` the stories among them each term is in
        (a term new here comes in the order of `counts`)."""
        self.documents += documents
        df = self.df
        for term, k in counts.items():
            df[term] = df.get(term, 0) + k


@lru_cache(maxsize=1)
def shipped_table() -> tuple[dict[str, int], int]:
    data = resources.files("monitor.data").joinpath(DF_RESOURCE).read_bytes()
    df: dict[str, int] = {}
    documents = 0
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        if line.startswith("#"):
            if line.startswith("# documents\t"):
                documents = int(line.split("\t")[1])
            continue
        term, _, count = line.partition("\t")
        df[term] = int(count)
    return df, documents
