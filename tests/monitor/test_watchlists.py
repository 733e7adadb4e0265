"""Watchlist files: format, every validation problem with its line, and hot reload."""
from __future__ import annotations

import functools
import gzip
import os
import time
from importlib import resources
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.match import form_data
from monitor.watchlists import (
    Term,
    Watchlist,
    WatchlistRegistry,
    check_watchlists,
    load_watchlist_file,
    load_watchlists,
)

FULL = """\
name: russia-ukraine
title: روسيا وأوكرانيا
terms:
  - بوتين
  - بافيل دوروف
  - {term: تيليغرام, variants: true}
  - {term: أمل, exact: true}
  - near: [بوتين, زيلينسكي]
    within: 5
  - {regex: "كورسك|بيلغورود"}
require: [روسيا]
exclude: [كرة القدم]
notify:
  telegram: ["@desk", -1001234]
  email: desk@example.org
  console: true
when: spread
outlets: 4
within: 2h
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_loads(tmp_path: Path) -> None:
    [wl] = load_watchlist_file(write(tmp_path, "ru.yaml", FULL))
    assert wl.name == "russia-ukraine" and wl.title == "روسيا وأوكرانيا"
    assert wl.terms[0] == Term("بوتين", line=4)
    assert wl.terms[2] == Term("تيليغرام", variants=True, line=6)
    assert wl.terms[3].exact and wl.terms[5].regex
    assert wl.terms[4] == Term("بوتين ~ زيلينسكي", near=("بوتين", "زيلينسكي"), within=5, line=8)
    assert [t.text for t in wl.require] == ["روسيا"] and [t.text for t in wl.exclude] == ["كرة القدم"]
    assert dict(wl.notify) == {"telegram": ("@desk", "-1001234"), "email": ("desk@example.org",), "console": ()}
    assert (wl.when, wl.outlets, wl.within_minutes) == ("spread", 4, 120)
    assert wl.path == str(tmp_path / "ru.yaml")


def test_defaults_name_from_file_and_list_form(tmp_path: Path) -> None:
    [wl] = load_watchlist_file(write(tmp_path, "egypt.yml", "terms: [مصر]\n"))
    assert (wl.name, wl.title, wl.when, wl.outlets, dict(wl.notify)) == ("egypt", "egypt", "first", 0, {})
    many = load_watchlist_file(write(tmp_path, "many.yaml", "- {name: a, terms: [x1]}\n- {name: b, terms: [y1]}\n"))
    assert [w.name for w in many] == ["a", "b"]


@pytest.mark.parametrize("text, line, message", [
    ("terms: [مصر\n", 2, "YAML syntax"),
    ("terms: [مصر]\ncolour: red\n", 2, "unknown key 'colour'"),
    ("title: x\nterms: []\n", 2, "at least one term"),
    ("title: x\n", 1, "at least one term"),
    ("terms:\n  - مصر\n  - \"ًٌ\"\n", 3, "no letters or digits"),
    ("terms:\n  - مصر\n  - {term: x, colour: red}\n", 3, "unknown key 'colour'"),
    ("terms:\n  - {regex: \"(unclosed\"}\n", 2, "bad regex"),
    ("terms:\n  - {regex: \"a*\"}\n", 2, "empty string"),
    ("terms:\n  - {near: [a1]}\n", 2, "two or more"),
    ("terms:\n  - {near: [a1, b1], within: 0}\n", 2, "within"),
    ("terms: [مصر]\nwhen: often\n", 2, "first or spread"),
    ("terms: [مصر]\nwhen: spread\noutlets: 1\n", 3, "outlets"),
    ("terms: [مصر]\nwhen: spread\nwithin: soon\n", 3, "within"),
    ("terms: [مصر]\noutlets: 3\n", 2, "when: spread"),
    ("terms: [مصر]\nwhen: first\nrelated: thread\n", 3, "related: expected reply, edit or alert"),
    ("terms: [مصر]\nrelated: [reply]\n", 2, "related: expected reply, edit or alert"),
    ("terms: [مصر]\nnotify: {pager: [x]}\n", 2, "unknown channel"),
    ("terms: [مصر]\nnotify: {email: [{a: b}]}\n", 2, "destination"),
    ("name: bad name!\nterms: [مصر]\n", 1, "may hold only"),
    ("", 1, "empty watchlist file"),
    ("- just a string\n", 1, "mapping"),
])
def test_problems_name_file_and_line(tmp_path: Path, text: str, line: int | None, message: str) -> None:
    path = write(tmp_path, "w.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_watchlists(path)
    assert err.value.file == str(path) and err.value.line == line and message in str(err.value)
    problems = check_watchlists(tmp_path)
    assert problems and problems[0].line == line and message in str(problems[0])


def test_check_reports_every_problem_in_every_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "terms:\n  - مصر\n  - {term: x, colour: red}\nwhen: often\n")
    write(tmp_path, "b.yaml", "name: a\nterms: [مصر]\n")
    write(tmp_path, "c.yaml", "terms: [مصر\n")
    write(tmp_path, "notes.txt", "not a watchlist")
    problems = check_watchlists(tmp_path)
    assert [(Path(p.file).name, p.line) for p in problems] == [("a.yaml", 3), ("a.yaml", 4), ("c.yaml", 2)]
    write(tmp_path, "a.yaml", "terms: [مصر]\n")
    problems = check_watchlists(tmp_path)
    assert [(Path(p.file).name, "duplicate" in str(p)) for p in problems] == [("b.yaml", True), ("c.yaml", False)]


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_watchlists(tmp_path / "nope")
    assert check_watchlists(tmp_path / "nope")[0].file == str(tmp_path / "nope")


def _touch_later(path: Path, text: str) -> None:
    # A different mtime whatever the file system's timestamp granularity.
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 5_000_000_000, before + 5_000_000_000))


def names(reg: WatchlistRegistry) -> list[str]:
    return [w.name for w in reg.watchlists]


def test_registry_hot_reload_keeps_last_good_version(tmp_path: Path) -> None:
    write(tmp_path, "egypt.yaml", "terms: [مصر]\n")
    reg = WatchlistRegistry(tmp_path)
    assert names(reg) == ["egypt"] and reg.matcher.match("لمصر")
    assert reg.refresh() == (False, [])

    _touch_later(tmp_path / "egypt.yaml", "terms: [لبنان]\n")
    changed, errors = reg.refresh()
    assert changed and not errors
    assert reg.matcher.match("ولبنان") and not reg.matcher.match("لمصر")

    _touch_later(tmp_path / "egypt.yaml", "terms: [لبنان\n")  # broken: last good stays
    changed, errors = reg.refresh()
    assert not changed and errors[0].file == str(tmp_path / "egypt.yaml") and errors[0].line == 2
    assert reg.matcher.match("ولبنان")
    assert reg.refresh()[1]  # still reported while the file stays broken

    write(tmp_path, "russia.yaml", "terms: [بوتين]\n")  # added
    changed, errors = reg.refresh()
    assert changed and names(reg) == ["egypt", "russia"] and len(errors) == 1

    (tmp_path / "egypt.yaml").unlink()  # deleted
    changed, errors = reg.refresh()
    assert changed and not errors and names(reg) == ["russia"]
    assert reg.matcher.match("لبوتين") and not reg.matcher.match("ولبنان")


def test_registry_refuses_a_name_taken_by_another_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "terms: [مصر]\n")
    reg = WatchlistRegistry(tmp_path)
    write(tmp_path, "b.yaml", "name: a\nterms: [لبنان]\n")
    changed, errors = reg.refresh()
    assert not changed and "duplicate" in str(errors[0]) and names(reg) == ["a"]
    assert reg.matcher.match("مصر") and not reg.matcher.match("لبنان")


def test_registry_extra_watchlists(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "terms: [مصر]\n")
    chat = Watchlist(name="chat-42", title="chat 42", terms=(Term("بوتين"),), notify={"telegram": ("42",)})
    reg = WatchlistRegistry(tmp_path, extra=[chat])
    assert names(reg) == ["a", "chat-42"]
    assert [m.watchlist for m in reg.matcher.match("مصر وبوتين")] == ["a", "chat-42"]
    reg.set_extra([Watchlist(name="a", title="clash", terms=(Term("x1"),))])
    assert names(reg) == ["a"] and reg.watchlists[0].title == "a"


def test_registry_on_a_single_file(tmp_path: Path) -> None:
    path = write(tmp_path, "one.yaml", "- {name: a, terms: [مصر]}\n- {name: b, terms: [لبنان]}\n")
    reg = WatchlistRegistry(path)
    assert names(reg) == ["a", "b"]


def vocabulary(count: int) -> list[str]:
    """Distinct Arabic words of four letters or more, from the word counts shipped with Raqib;
    none a group name, whose forms would be other words of the list (الامريكي, الامريكيه)."""
    words = _words()
    assert len(words) >= count, "not enough words"
    return words[:count]


@functools.lru_cache(maxsize=1)
def _words() -> list[str]:
    raw = resources.files("monitor").joinpath("data/arabic_words.tsv.gz").read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    forms = form_data().forms
    return [w for w in (line.split("\t", 1)[0] for line in lines if line and not line.startswith("#"))
            if len(w) >= 4 and not forms(w)][:30_000]


def test_a_file_that_cannot_be_loaded_is_its_own_problem(tmp_path: Path) -> None:
    # 600 nested lists: reading them runs out of recursion; the file before it and the
    # file after it in name order still load, and keep reloading.
    write(tmp_path, "a.yaml", "terms: [مصر]\n")
    deep = write(tmp_path, "b.yaml", "terms: " + "[" * 600 + "]" * 600 + "\n")
    write(tmp_path, "c.yaml", "terms: [بوتين]\n")
    reg = WatchlistRegistry(tmp_path)
    assert names(reg) == ["a", "c"]
    [err] = reg.errors
    assert err.file == str(deep) and "nested" in str(err)
    _touch_later(tmp_path / "c.yaml", "terms: [كورسك]\n")  # a later file still reloads
    changed, errors = reg.refresh()
    assert changed and [e.file for e in errors] == [str(deep)]
    assert reg.matcher.match("كورسك") and not reg.matcher.match("بوتين")
    [problem] = check_watchlists(tmp_path)
    assert str(problem).startswith(f"{deep}") and "nested" in str(problem)
    with pytest.raises(ConfigError) as failed:
        load_watchlists(tmp_path)
    assert failed.value.file == str(deep)


def test_a_file_of_fifteen_thousand_terms_loads_in_linear_time(tmp_path: Path) -> None:
    words = vocabulary(15_000)
    path = write(tmp_path, "big.yaml", "terms:\n" + "".join(f"  - {w}\n" for w in words))
    started = time.monotonic()
    [wl] = load_watchlist_file(path)
    # de-duplicating by comparing each term with all before it took about half a minute here
    assert time.monotonic() - started < 10
    assert [t.text for t in wl.terms] == words


@pytest.mark.parametrize("pattern, problem, fragment", [
    ("كورسك(", "missing )", "كورسك("),
    ("(?<=بوتين)x", "invalid perl operator", "(?<="),
    ("a{1001}", "invalid repetition size", "{1001}"),
    ("[ي-ا]", "invalid character class range", "ي-ا"),
])
def test_re2_errors_read_as_text_with_file_and_line(tmp_path: Path, pattern: str, problem: str,
                                                    fragment: str) -> None:
    path = write(tmp_path, "w.yaml", f"terms:\n  - بوتين\n  - {{regex: '{pattern}'}}\n")
    [err] = check_watchlists(path)
    where, message = str(err).split(": ", 1)
    assert where == f"{path}:3" and message.startswith("terms: bad regex ")
    assert problem in message and fragment in message
    assert "b'" not in message and "\\x" not in message and "re2" not in message.lower()


def test_related_is_reply_unless_the_file_says_edit_or_alert(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "terms: [مصر]\n")
    write(tmp_path, "b.yaml", "terms: [مصر]\nrelated: Edit\n")
    write(tmp_path, "c.yaml", "terms: [مصر]\nrelated: alert\n")
    assert {w.name: w.related for w in load_watchlists(tmp_path)} == {"a": "reply", "b": "edit", "c": "alert"}
