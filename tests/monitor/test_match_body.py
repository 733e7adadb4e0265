"""The body as a third field: same rules and offsets, paragraph numbers, `in:`, require /
exclude / near across fields, `raqib match` with bodies, `raqib check` on `in:`."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import Matcher, MatcherGroup, tokenize
from monitor.models import Match, Term, Watchlist
from monitor.normalize import normalize_text
from monitor.watchlists import read_watchlist_text
from raqib.cli import main

BODY = ("قالت وزارة الدفاع إن الهجوم بدأ فجرا.\n\n"
        "وأضافت أن القوات تقدمت قرب الحدود.\n\n"
        "وفي كورسك، أعلن الحاكم حالة الطوارئ. وقال بوتين إن الرد سيكون حازما.\n\n"
        "أما دوروف فقد غادر فرنسا.")


def wl(name: str, *terms: Term | str, **kw) -> Watchlist:
    return Watchlist(name=name, title=name, terms=tuple(Term(t) if isinstance(t, str) else t for t in terms), **kw)


def test_a_name_only_in_the_body_is_found_with_its_offsets_and_paragraph():
    m = Matcher([wl("ru", "كورسك", "دوروف")])
    found = m.match("عنوان بلا اسم", "مقدمة بلا اسم", BODY)
    assert [(x.term, x.field, BODY[x.start:x.end], x.paragraph) for x in found] == [
        ("كورسك", "body", "كورسك", 3), ("دوروف", "body", "دوروف", 4)]
    # the title and the lead keep paragraph 0, and the order is title, summary, body
    found = m.match("دوروف في باريس", "كورسك", BODY)
    assert [(x.field, x.paragraph) for x in found] == [("title", 0), ("summary", 0), ("body", 3), ("body", 4)]


def test_paragraphs_are_counted_across_blank_lines_of_spaces_and_leading_blanks():
    body = "\n\n  \nالأولى هنا\n \t \n\n\nالثانية\nسطر من الثانية فيه كورسك\n\nالثالثة كورسك"
    found = Matcher([wl("ru", "كورسك")]).match("", "", body)
    assert [x.paragraph for x in found] == [2, 3]
    assert all(body[x.start:x.end] == "كورسك" for x in found)


def test_the_body_keeps_the_arabic_rules_proclitics_marks_and_refusals():
    body = "فقرة.\n\nوصل لموسكو أمس، ومُوسْكُو تردّ.\n\nكامل الوفد"
    found = Matcher([wl("ru", "موسكو", "أمل")]).match("", "", body)
    assert [body[x.start:x.end] for x in found] == ["موسكو", "مُوسْكُو"]  # لموسكو: the span is موسكو; كامل is no أمل


def test_in_restricts_a_watchlist_and_a_term_wins_over_it():
    headline = wl("headline", "كورسك", Term("دوروف", fields=("title", "summary", "body")), fields=("title", "summary"))
    m = Matcher([headline])
    found = m.match("عنوان", "", BODY)
    assert [(x.term, x.field) for x in found] == [("دوروف", "body")]  # كورسك's body hit is not read
    assert [(x.term, x.field) for x in m.match("كورسك تحت النار", "", BODY)] == [
        ("كورسك", "title"), ("دوروف", "body")]
    only_title = Matcher([wl("t", Term("بوتين", fields=("title",)))])
    assert only_title.match("", "بوتين", BODY) == []
    assert [x.field for x in only_title.match("بوتين يرد", "بوتين", BODY)] == ["title"]


def test_require_and_exclude_work_across_the_three_fields_and_obey_in():
    rule = wl("r", "كورسك", require=(Term("بوتين"),), exclude=(Term("كرة القدم"),))
    m = Matcher([rule])
    # the term in the title, the required word in the body
    assert [(x.term, x.field) for x in m.match("معارك في كورسك", "", BODY)] == [
        ("كورسك", "title"), ("كورسك", "body"), ("بوتين", "body")]
    # an exclude word in the body drops it
    assert m.match("معارك في كورسك", "", BODY + "\n\nوفي كرة القدم فاز الفريق.") == []
    # an exclude term limited to the title does not see the body
    narrow = Matcher([wl("r", "كورسك", exclude=(Term("كرة القدم", fields=("title",)),))])
    assert narrow.match("", "", BODY + "\n\nكرة القدم") != []
    assert narrow.match("كرة القدم", "", BODY) == []
    # a require term limited to the lead is not met by the body
    lead_only = Matcher([wl("r", "كورسك", require=(Term("بوتين", fields=("summary",)),))])
    assert lead_only.match("", "", BODY) == []
    assert lead_only.match("", "بوتين", BODY) != []
    # a watchlist's in: holds for its exclude terms too
    heads = Matcher([wl("h", "كورسك", exclude=(Term("دوروف"),), fields=("title",))])
    assert [x.field for x in heads.match("كورسك", "", BODY)] == ["title"]
    # explain names the rule that stopped it, and where
    [verdict] = m.explain("", "", BODY + "\n\nكرة القدم")
    assert verdict.rule == "exclude" and [(x.field, x.paragraph) for x in verdict.stopped_by] == [("body", 5)]


def test_near_holds_within_one_paragraph_of_the_body_not_across():
    near = wl("n", Term("كورسك ~ بوتين", near=("كورسك", "بوتين"), within=10))
    m = Matcher([near])
    assert [(x.term, x.paragraph) for x in m.match("", "", BODY)] == [("كورسك", 3), ("بوتين", 3)]
    apart = "ذكرت كورسك هنا.\n\nبوتين في الفقرة التالية"
    assert m.match("", "", apart) == []
    assert m.match("", "", apart.replace("\n\n", " ")) != []  # one paragraph: close enough
    assert m.match("كورسك", "بوتين", "") == []  # two fields are never near


def test_a_regex_term_runs_over_the_body_with_original_offsets():
    body = "مقدمة.\n\nقصفٌ على بيلغورود ليلا"
    found = Matcher([wl("x", Term("بيلغورود|كورسك", regex=True))]).match("", "", body)
    assert [(body[x.start:x.end], x.paragraph) for x in found] == [("بيلغورود", 2)]


def test_a_field_no_term_reads_is_not_matched_and_groups_pass_the_body_on():
    title_only = Matcher([wl("t", "بوتين", fields=("title",))])
    everywhere = Matcher([wl("u", "دوروف")])
    group = MatcherGroup(title_only, everywhere)
    assert [(x.watchlist, x.field) for x in group.match("بوتين", "", BODY)] == [("t", "title"), ("u", "body")]
    assert title_only.explain("", "", BODY) == []


_MARKS = st.sampled_from(["", "\u064e", "\u0651", "\u0640", "\u200c", "\u064b\u0652"])


@st.composite
def marked_word(draw, word: str) -> str:
    """`word` with harakat, tatweel and zero-width marks sprinkled after its letters."""
    return "".join(ch + draw(_MARKS) for ch in word)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), paragraphs=st.lists(st.sampled_from(
    ["قال المتحدث", "في بيان رسمي", "وأضاف أن", "مساء الأحد", "ٱلْعَاصِمَة", "NATO", "٢٠٢٤"]), min_size=1, max_size=6),
    seps=st.lists(st.sampled_from([" ", "  ", "\n", "،", " - ", "\u200f "]), min_size=8, max_size=8))
def test_body_offsets_always_point_at_the_term_whatever_marks_and_spacing(data, paragraphs, seps):
    """However the body is marked and spaced, each hit's offsets cut the term (with its
    marks) out of the original body, and its paragraph is the one it was put in."""
    m = Matcher([wl("ru", "كورسك", "بافيل دوروف")])
    parts, expected = [], []
    for n, para in enumerate(paragraphs, 1):
        words = para.split()
        if data.draw(st.booleans()):
            words.insert(data.draw(st.integers(0, len(words))), data.draw(st.sampled_from(["ل", "و", "ب", ""]))
                         + data.draw(marked_word("كورسك")))
            expected.append(("كورسك", n))
        if data.draw(st.booleans()):
            words.append(data.draw(marked_word("بافيل")) + data.draw(st.sampled_from(seps))
                         + data.draw(marked_word("دوروف")))
            expected.append(("بافيل دوروف", n))
        sep = data.draw(st.sampled_from(seps))
        parts.append(sep.join(words))
    blank = data.draw(st.sampled_from(["\n\n", "\n \n", "\n\n\n", "\r\n\r\n"]))
    body = blank.join(parts)
    found = m.match("", "", body)
    assert sorted((x.term, x.paragraph) for x in found) == sorted(expected)
    for x in found:
        assert x.field == "body"
        assert tokenize(normalize_text(body[x.start:x.end])) == tokenize(normalize_text(x.term))
        assert not body[x.start].isspace() and not body[x.end - 1].isspace()


def test_raqib_match_reads_bodies_and_keeps_title_and_summary_lines_as_they_were(tmp_path, capsys):
    folder = tmp_path / "wl"
    folder.mkdir()
    (folder / "ru.yaml").write_text("name: ru\nterms: [بوتين, كورسك]\n", encoding="utf-8")
    stories = tmp_path / "in.jsonl"
    stories.write_text(
        json.dumps({"id": 1, "title": "رسالة لبوتين", "summary": "كورسك"}, ensure_ascii=False) + "\n"
        + json.dumps({"id": 2, "title": "عنوان", "body": "أولى.\n\nوفي كورسك قتال."}, ensure_ascii=False) + "\n"
        + json.dumps({"id": 3, "title": "بلا", "body": None}) + "\n", encoding="utf-8")
    assert main(["match", str(folder), str(stories)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the title/summary line is byte for byte what it always was: no paragraph key
    assert lines[0] == ('{"id": 1, "matches": [{"watchlist": "ru", "term": "بوتين", "field": "title", "start": 7, '
                        '"end": 12}, {"watchlist": "ru", "term": "كورسك", "field": "summary", "start": 0, "end": 5}]}')
    assert lines[1] == ('{"id": 2, "matches": [{"watchlist": "ru", "term": "كورسك", "field": "body", "start": 11, '
                        '"end": 16, "paragraph": 2}]}')
    assert lines[2] == '{"id": 3, "matches": []}'
    stories.write_text(json.dumps({"id": 4, "title": "x", "body": ["not", "text"]}) + "\n", encoding="utf-8")
    assert main(["match", str(folder), str(stories)]) == 1
    assert f"{stories}:1: " in capsys.readouterr().err


def test_in_is_validated_with_file_and_line(tmp_path, capsys):
    text = ("name: a\nin: [title, lead]\nterms:\n  - بوتين\n  - {term: كورسك, in: [body, headline]}\n"
            "exclude:\n  - {term: كرة, in: []}\n")
    watchlists, problems = read_watchlist_text(text, file="a.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (5, "terms: in: unknown place 'headline'"), (7, "exclude: in: expected title, lead or body, or a list of them,"
                                                       " got a list")]
    assert "title, lead (the feed's summary) and body" in str(problems[0])
    good = "name: a\nin: lead\nterms:\n  - بوتين\n  - {term: كورسك, in: [Body, title]}\n  - {regex: 'x+y', in: title}\n"
    [w], problems = read_watchlist_text(good, file="a.yaml")
    assert problems == []
    assert w.fields == ("summary",)
    assert [t.fields for t in w.terms] == [(), ("title", "body"), ("title",)]
    wl_dir = tmp_path / "wl"
    wl_dir.mkdir()
    (wl_dir / "a.yaml").write_text(text, encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {wl_dir}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{wl_dir / 'a.yaml'}:5: terms: in: unknown place 'headline'" in out
    assert f"{wl_dir / 'a.yaml'}:7: exclude: in:" in out


def test_a_match_record_says_its_paragraph():
    assert Match("w", "t", "body", 1, 2, 7).paragraph == 7
    assert Match("w", "t", "title", 1, 2).paragraph == 0
