"""Watchlist matching: the labelled dev cases through `raqib match`, and every term rule."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.errors import ConfigError
from monitor.match import Matcher, compile_term, match_stream, variant_pattern
from monitor.normalize import normalize_text
from monitor.watchlists import Term, Watchlist

DATA = Path(__file__).parent / "data"
DEV = [json.loads(line) for line in (DATA / "match_dev.jsonl").read_text(encoding="utf-8").splitlines() if line]


def _case_files(tmp_path: Path, cases: list[dict]) -> tuple[Path, Path]:
    """One watchlist per case (named after its id) and one story per case."""
    folder = tmp_path / "watchlists"
    folder.mkdir()
    for c in cases:
        term = dict(c["opts"], term=c["term"]) if c["opts"] else c["term"]
        doc = {"name": c["id"], "terms": [term]}
        (folder / f"{c['id']}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    stories = tmp_path / "stories.jsonl"
    stories.write_text("".join(json.dumps({"id": c["id"], "title": c["text"]}, ensure_ascii=False) + "\n"
                               for c in cases), encoding="utf-8")
    return folder, stories


def _check_output(cases: list[dict], results: list[dict]) -> None:
    assert [r["id"] for r in results] == [c["id"] for c in cases]
    wrong = []
    for c, r in zip(cases, results):
        own = [m for m in r["matches"] if m["watchlist"] == c["id"]]
        if bool(own) != c["expect"]:
            wrong.append((c["id"], c["term"], c["text"], own))
        for m in r["matches"]:
            assert m["field"] == "title"
            assert 0 <= m["start"] < m["end"] <= len(c["text"])
    assert not wrong


def _load_case_matcher(folder: Path) -> Matcher:
    from monitor.watchlists import load_watchlists
    return Matcher(load_watchlists(folder))


def _own_files() -> list[Path]:
    return sorted(DATA.glob("match_*.jsonl"))


ALL_CASES = [json.loads(line) for f in _own_files()
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("cases", [DEV, ALL_CASES], ids=["match_dev", "all_match_files"])
def test_labelled_cases_through_match_stream(tmp_path: Path, cases: list[dict]) -> None:
    folder, stories = _case_files(tmp_path, cases)
    matcher = _load_case_matcher(folder)
    with stories.open(encoding="utf-8") as fh:
        results = list(match_stream(matcher, fh))
    _check_output(cases, results)


@pytest.mark.parametrize("cases", [DEV, ALL_CASES], ids=["match_dev", "all_match_files"])
def test_labelled_cases_through_raqib_match(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            cases: list[dict]) -> None:
    from raqib.cli import main
    folder, stories = _case_files(tmp_path, cases)
    assert main(["match", str(folder), str(stories)]) == 0
    out = capsys.readouterr().out
    _check_output(cases, [json.loads(line) for line in out.splitlines()])
