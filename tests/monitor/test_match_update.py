"""A matcher changed in place (`Matcher.update`) answers exactly as one compiled afresh,
whatever the order of additions and removals; a failed update changes nothing; any text
a person may send as a term either is refused by the term rule or compiles."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ConfigError
from monitor.match import Matcher, MatcherGroup
from monitor.watchlists import Term, Watchlist, personal_term

DATA = Path(__file__).parents[1] / "data"
KURSK = (DATA / "match_story_kursk.txt").read_text(encoding="utf-8")
CASES = [json.loads(line) for line in (DATA / "match_rules.jsonl").read_text(encoding="utf-8").splitlines()
         if line.strip()] + [json.loads(line) for line in (DATA / "match_dev.jsonl").read_text(encoding="utf-8")
                             .splitlines() if line.strip()]
STORIES = [(c["text"], "") for c in CASES] + [(line, KURSK) for line in KURSK.splitlines()[:3] if line.strip()]
WORDS = sorted({w for title, summary in STORIES for w in re.findall(r"[\u0621-\u064a]{3,}", title + " " + summary)})


def _term(rng: random.Random) -> Term:
    word, other = rng.choice(WORDS), rng.choice(WORDS)
    kind = rng.random()
    if kind < 0.15:
        return Term(f"{word} {other}")
    if kind < 0.3:
        return Term(word, variants=True)
    if kind < 0.4:
        return Term(word, exact=True)
    if kind < 0.5:
        return Term(f"{word} ~ {other}", near=(word, other), within=rng.choice([1, 5, 20]))
    if kind < 0.55:
        return Term(word[:3] + ".", regex=True)
    return Term(word)


def _pool(seed: int, size: int = 24) -> list[Watchlist]:
    rng = random.Random(seed)
    return [Watchlist(name=f"w{i:02d}", title=f"w{i}", terms=tuple(_term(rng) for _ in range(rng.randint(1, 6))),
                      require=tuple(_term(rng) for _ in range(rng.choice([0, 0, 0, 1, 2]))),
                      exclude=tuple(_term(rng) for _ in range(rng.choice([0, 0, 0, 1]))))
            for i in range(size)]


def _answers(matcher) -> list:
    return [matcher.match(title, summary) for title, summary in STORIES]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000),
       steps=st.lists(st.tuples(st.sets(st.integers(0, 23), max_size=8), st.sets(st.integers(0, 23), max_size=8)),
                      min_size=1, max_size=6))
def test_updates_in_place_answer_as_a_fresh_compile(seed: int, steps: list[tuple[set[int], set[int]]]) -> None:
    pool = _pool(seed)
    matcher = Matcher(())
    present: set[int] = set()
    for drop, put in steps:
        # `put` replaces what is there under the same name; `drop` goes unless put back
        matcher.update(remove=[pool[i].name for i in sorted(drop | put) if i in present],
                       add=[pool[i] for i in sorted(put)])
        present = (present - drop) | put
    final = [pool[i] for i in sorted(present)]
    assert [w.name for w in matcher.watchlists] == [w.name for w in final]
    fresh = Matcher(final)
    assert _answers(matcher) == _answers(fresh)
    # and split over two matchers answering as one (the registry's files + chats' own terms)
    half = len(final) // 2
    assert _answers(MatcherGroup(Matcher(final[half:]), Matcher(final[:half]))) == _answers(fresh)


@pytest.mark.parametrize("term", [Term("كور.", regex=True), Term("بوتين ~ كورسك", near=("بوتين", "كورسك"), within=5)])
def test_a_watchlist_naming_one_regex_or_near_pair_twice_is_taken_out_whole(term: Term) -> None:
    twice = Watchlist(name="twice", title="t", terms=(term, term))
    other = Watchlist(name="other", title="o", terms=(term,))
    story = "بوتين يزور كورسك"
    matcher = Matcher([twice, other])
    assert {m.watchlist for m in matcher.match(story)} == {"twice", "other"}
    matcher.update(remove=["twice"])
    assert [w.name for w in matcher.watchlists] == ["other"]
    assert {m.watchlist for m in matcher.match(story)} == {"other"}
    matcher.update(remove=["other"], add=[twice])
    assert {m.watchlist for m in matcher.match(story)} == {"twice"}
    matcher.update(remove=["twice"])  # the rule's last holder, named twice in it
    assert matcher.watchlists == () and matcher.match(story) == []
    matcher.update(add=[twice])
    assert {m.watchlist for m in matcher.match(story)} == {"twice"}


def test_a_watchlist_whose_terms_share_a_plan_comes_out_whole() -> None:
    twice = Watchlist(name="hope", title="h", terms=(Term("أمل"), Term("امل")))
    matcher = Matcher([twice])
    assert {m.term for m in matcher.match("لأمل")} == {"أمل", "امل"}
    matcher.update(remove=["hope"])
    assert matcher.watchlists == () and matcher.match("لأمل") == []


def test_an_update_that_does_not_compile_changes_nothing() -> None:
    pool = _pool(7)
    matcher = Matcher(pool[:10])
    before = _answers(matcher)
    broken = Watchlist(name="broken", title="b", terms=(Term("بوتين"), Term("ـــ")))
    with pytest.raises(ValueError):
        matcher.update(remove=[pool[0].name], add=[pool[11], broken])
    assert [w.name for w in matcher.watchlists] == [w.name for w in pool[:10]]
    assert _answers(matcher) == before


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.text(alphabet="ـًٌٍَُِّْ!؟،.😀 \u200f\u202eابت123", max_size=12))
def test_any_text_is_refused_by_the_term_rule_or_compiles(text: str) -> None:
    try:
        term = personal_term(text)
    except ConfigError as exc:
        assert "term" in str(exc)
        return
    Matcher([Watchlist(name="personal:telegram:1", title="t", terms=(term,))])
