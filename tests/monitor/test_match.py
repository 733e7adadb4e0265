"""Watchlist matching: the labelled dev cases through `raqib match`, and every term rule."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.errors import ConfigError
from monitor.match import Matcher, variant_pattern
from monitor.models import Term, Watchlist
from monitor.normalize import normalize_text
from monitor.watchlists import load_watchlists
from raqib.jsonl import match_stream

DATA = Path(__file__).parents[1] / "data"
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
    for c, r in zip(cases, results, strict=True):
        own = [m for m in r["matches"] if m["watchlist"] == c["id"]]
        if bool(own) != c["expect"]:
            wrong.append((c["id"], c["term"], c["text"], own))
        for m in r["matches"]:
            assert m["field"] == "title"
            assert 0 <= m["start"] < m["end"] <= len(c["text"])
    assert not wrong


def _load_case_matcher(folder: Path) -> Matcher:
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


# -- rules beyond single terms ------------------------------------------------------------

def wl(name: str, *terms: Term | str, require: tuple = (), exclude: tuple = ()) -> Watchlist:
    def t(x: Term | str) -> Term:
        return x if isinstance(x, Term) else Term(x)
    return Watchlist(name=name, title=name, terms=tuple(map(t, terms)),
                     require=tuple(map(t, require)), exclude=tuple(map(t, exclude)))


def spans(matches, text_by_field):
    return [(m.watchlist, m.term, m.field, text_by_field[m.field][m.start:m.end]) for m in matches]


def test_spans_point_into_the_original_text_without_the_proclitics() -> None:
    title = "\u200fرسالةٌ لِبُوتِينَ من واشنطن"
    summary = "وقال مصدر للحكومة إن موسكــو ترد."
    m = Matcher([wl("a", "بوتين", "موسكو", "الحكومة")])
    got = spans(m.match(title, summary), {"title": title, "summary": summary})
    assert got == [("a", "بوتين", "title", "بُوتِينَ"), ("a", "الحكومة", "summary", "لحكومة"),
                   ("a", "موسكو", "summary", "موسكــو")]


def test_every_occurrence_is_reported_in_order_title_first() -> None:
    m = Matcher([wl("b", "مصر"), wl("a", "مصر")])
    got = m.match("مصر ومصر", "لمصر")
    assert [(x.watchlist, x.field, x.start) for x in got] == [
        ("a", "title", 0), ("a", "title", 5), ("a", "summary", 1),
        ("b", "title", 0), ("b", "title", 5), ("b", "summary", 1)]


def test_require_and_exclude() -> None:
    m = Matcher([wl("w", "بوتين", require=("أوكرانيا", "كييف"), exclude=("كرة القدم",))])
    assert m.match("بوتين يتحدث") == []
    got = m.match("بوتين يتحدث", "عن أوكرانيا")
    assert [(x.term, x.field) for x in got] == [("بوتين", "title"), ("أوكرانيا", "summary")]
    assert m.match("بوتين يتحدث عن كييف", "ويشاهد كرة القدم") == []


def test_near_within_words() -> None:
    near = Term("بوتين ~ زيلينسكي", near=("بوتين", "زيلينسكي"), within=3)
    m = Matcher([wl("n", near)])
    assert [x.term for x in m.match("لقاء بين بوتين وزيلينسكي")] == ["بوتين", "زيلينسكي"]
    assert m.match("زيلينسكي قال أمس إن بوتين")  # three words between: still within 3
    assert m.match("زيلينسكي قال أمس في كييف إن بوتين") == []
    assert m.match("بوتين في موسكو", "زيلينسكي في كييف") == []  # not in the same field


def test_regex_terms_run_on_normalised_text() -> None:
    m = Matcher([wl("r", Term("كورسك|بيلغورود", regex=True)), wl("s", Term(r"\bopec\+?", regex=True))])
    assert [(x.watchlist, x.start, x.end) for x in m.match("معارك في كُورسك", "OPEC+ meeting")] == [
        ("r", 9, 15), ("s", 0, 5)]
    assert Matcher([wl("h", Term("أمل", regex=True))]).match("كامل")  # regex is not word-bound


def test_regex_that_would_backtrack_forever_in_re_is_linear() -> None:
    m = Matcher([wl("r", Term("(a+)+$", regex=True))])
    assert m.match("a" * 5000 + "!") == []  # re would take longer than the universe has


def test_bad_regex_is_refused() -> None:
    with pytest.raises(ValueError):
        Matcher([wl("r", Term("(unclosed", regex=True))])
    with pytest.raises(ValueError):
        Matcher([wl("r", Term("x*", regex=True))])


def test_written_forms_hit_with_their_spans_and_lexical_words_do_not() -> None:
    m = Matcher([wl("hope", "أمل"), wl("gov", "الحكومة"), wl("exact", Term("أمل", exact=True))])

    def starts(title: str) -> list[tuple[str, int, int]]:
        return [(x.watchlist, x.start, x.end) for x in m.match(title)]

    assert starts("لأمل") == [("hope", 1, 4)]
    assert starts("والأمل") == [("hope", 3, 6)]
    assert starts("أمل") == [("exact", 0, 3), ("hope", 0, 3)]
    assert starts("كامل") == [] and starts("وكامل") == []
    assert starts("للحكومة") == [("gov", 1, 7)]


def test_variant_patterns_keep_vowel_clusters() -> None:
    assert re_full(variant_pattern("كييف"), "كييف") and not re_full(variant_pattern("كييف"), "كيف")
    assert re_full(variant_pattern("تيليغرام"), "تلجرام")


def re_full(pattern: str, text: str) -> bool:
    import re
    return re.fullmatch(pattern, normalize_text(text)) is not None


def test_match_stream_contract(tmp_path: Path) -> None:
    m = Matcher([wl("egypt", "مصر")])
    lines = ['{"id": 1, "title": "لمصر", "summary": null}\n', "\n", '{"id": "b", "title": "مصرف"}\n']
    assert list(match_stream(m, lines)) == [
        {"id": 1, "matches": [{"watchlist": "egypt", "term": "مصر", "field": "title", "start": 1, "end": 4}]},
        {"id": "b", "matches": []}]


@pytest.mark.parametrize("line, message", [
    ("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ('{"title": "x"}', "no \"id\""),
    ('{"id": 1, "title": 5}', "must be strings")])
def test_match_stream_bad_line_names_line(line: str, message: str) -> None:
    m = Matcher([wl("egypt", "مصر")])
    out = match_stream(m, ['{"id": 0, "title": "مصر"}', line], source="in.jsonl")
    assert next(out)["id"] == 0
    with pytest.raises(ConfigError) as err:
        next(out)
    assert err.value.file == "in.jsonl" and err.value.line == 2 and message in str(err.value)


def test_many_watchlists_share_terms_and_report_their_own_text() -> None:
    m = Matcher([wl("a", "أمل"), wl("b", "امل"), wl("c", Term("أمل", exact=True))])
    assert [(x.watchlist, x.term) for x in m.match("والأمل")] == [("a", "أمل"), ("b", "امل")]
    assert [(x.watchlist, x.term) for x in m.match("أمل")] == [("a", "أمل"), ("b", "امل"), ("c", "أمل")]


def test_real_story_with_proclitics_and_curly_quotes() -> None:
    text = (DATA / "match_story_kursk.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    m = Matcher([wl("ru", "كورسك", "دوروف", "بوتين")])
    got = m.match(title, body)
    assert all(normalize_text((title if x.field == "title" else body)[x.start:x.end]) == normalize_text(x.term)
               for x in got)
    whole = {}
    for x in got:
        if x.field == "summary":
            s = x.start
            while s > 0 and body[s - 1].isalpha():
                s -= 1
            whole[body[s:x.end]] = whole.get(body[s:x.end], 0) + 1
    assert whole == {"بوتين": 8, "كورسك": 4, "لكورسك": 1, "دوروف": 3, "ودوروف": 1, "بدوروف": 1}
