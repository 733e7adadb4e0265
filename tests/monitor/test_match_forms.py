"""The forms of group names and the ى guard (monitor/match/forms.py), on the labelled
cases of tests/data/match_forms.jsonl (each with the corpus counts that justify it) and
on random text."""
from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.desk import search_stories
from monitor.match import Matcher, form_data
from monitor.models import Term, Watchlist
from monitor.store import Store
from raqib.jsonl import match_stream

CASES = [json.loads(line) for line in
         (Path(__file__).parents[1] / "data" / "match_forms.jsonl").read_text(encoding="utf-8").splitlines() if line]
KEYS = ["watchlist", "term", "field", "start", "end"]


def _rows() -> dict[str, list[int]]:
    """The shipped counts as the cases cite them: f:stem, f:stem+suffix, y:word."""
    raw = resources.files("monitor").joinpath("data/arabic_forms.tsv.gz").read_bytes()
    out: dict[str, list[int]] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line.startswith("#"):
            continue
        kind, word, *cells = line.split("\t")
        if kind == "y":
            out[f"y:{word}"] = [int(c) for c in cells]
            continue
        out[f"f:{word}"] = [int(c) for c in cells[0].split()]
        for cell in cells[1:]:
            suffix, plain, defined = cell.split()
            out[f"f:{word}+{suffix}"] = [int(plain), int(defined)]
    return out


def _term(case: dict) -> Term:
    return Term(case["term"], exact=case["opts"].get("exact", False), variants=case["opts"].get("variants", False))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_form_and_maqsura_cases(case: dict) -> None:
    matcher = Matcher([Watchlist(case["id"], case["id"], (_term(case),))])
    line = json.dumps({"id": case["id"], "title": case["text"]}, ensure_ascii=False)
    (result,) = match_stream(matcher, [line])
    assert bool(result["matches"]) == case["expect"], (case["term"], case["text"], result["matches"])
    forms = [m.get("form") for m in result["matches"]]
    if "form" in case:
        assert case["form"] in forms
    if case["opts"].get("exact"):
        assert not any(forms)


def test_the_cited_counts_are_the_shipped_ones() -> None:
    rows = _rows()
    cited = {key: value for case in CASES for key, value in case["evidence"].items()}
    assert cited
    assert {key: rows.get(key) for key in cited} == cited


def test_a_form_hit_says_so_and_any_other_hit_prints_as_before() -> None:
    matcher = Matcher([Watchlist("yemen", "yemen", (Term("الحوثي"), Term("صنعاء")))])
    line = json.dumps({"id": 1, "title": "الحوثي في صنعاء", "summary": "وقال الحوثيون إن الجماعة الحوثية ترفض"},
                      ensure_ascii=False)
    (result,) = match_stream(matcher, [line])
    assert [list(m) for m in result["matches"]] == [KEYS, KEYS, KEYS + ["form"], KEYS + ["form"]]
    assert [(m["field"], m.get("form")) for m in result["matches"]] == [
        ("title", None), ("title", None), ("summary", "plural"), ("summary", "feminine")]


def test_taking_a_watchlist_out_takes_its_forms_out() -> None:
    matcher = Matcher([Watchlist("a", "a", (Term("الحوثي"),)), Watchlist("b", "b", (Term("اليمني"),))])
    text = "الحوثيون والحكومة اليمنية"
    assert [m.watchlist for m in matcher.match(text)] == ["a", "b"]
    matcher.update(remove=["a"])
    assert [m.watchlist for m in matcher.match(text)] == ["b"]
    matcher.update(add=[Watchlist("a", "a", (Term("الحوثي", exact=True),))])
    assert [m.watchlist for m in matcher.match(text)] == ["b"]


def test_search_finds_a_story_that_holds_only_a_form() -> None:
    """The search index narrows on each form too, so search (and try) agree with alerts."""
    store = Store(memory=True)
    titles = ["هجوم للحوثيين على مأرب", "الجماعة الحوثية ترفض", "حوثيين في صنعاء", "الحوثيات"]
    with store.transaction() as conn:
        for i, title in enumerate(titles, 1):
            store.stories.insert(conn, {"id": i, "feed": "f", "guid": str(i), "title": title, "summary": "",
                                      "fetched": 1e9, "cluster": i})
    found = search_stories(store, "الحوثي", now=1e9 + 1)
    assert found.narrowed
    assert sorted(h.id for h in found.hits) == [1, 2]
    assert sorted(h.id for h in search_stories(store, "حوثي", now=1e9 + 1).hits) == [1, 2, 3]


PARTICLES = sorted(form_data().particles)
# Words that end in ي a desk may watch, the particles themselves among them.
WORDS = ["علي", "الحوثي", "مصطفي", "متي", "لدي", "سوي", "حتي", "آلي", "فعلي", "يحيي", "عالي", "تركي", "مالي",
         "اليمني", "موسي", *PARTICLES]
LETTERS = "ابتثجحخدذرسشصضطظعغفقكلمنهوي"


@settings(max_examples=200, deadline=None)
@given(word=st.one_of(st.none(), st.sampled_from(WORDS),
                     st.text(LETTERS, min_size=1, max_size=5).map(lambda w: w + "ي")),
       particle=st.sampled_from(PARTICLES), clitic=st.sampled_from(["", "و", "ف"]),
       mark=st.sampled_from(["", "\u064e", "\u0651", "\u0640"]), exact=st.booleans(), variants=st.booleans())
def test_a_term_never_matches_a_particle_written_with_final_maqsura(
        word: str | None, particle: str, clitic: str, mark: str, exact: bool, variants: bool) -> None:
    word = particle if word is None else word  # None: the particle itself, as a term writes it with ي
    token = clitic + particle[:-1] + "ى" + mark
    text = f"قال المتحدث {token} الوفد"
    start = text.index(token)
    matcher = Matcher([Watchlist("w", "w", (Term(word, exact=exact, variants=variants),))])
    for m in matcher.match(text):
        assert m.end <= start or m.start >= start + len(token), (word, token)
