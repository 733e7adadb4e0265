"""Hostile YAML: every config or watchlist file loads or is refused with file:line, quickly.

Alias bombs ("billion laughs"), deep nesting, values a tag promises but does not deliver,
control characters, oversized files, and random text and bytes. Loading returns a value
or raises ConfigError naming the file; no other exception escapes, and no call takes
long. `tests/data/hostile_yaml/` holds the nasty cases found so far; each file's first
line says what `raqib check` must report (`# expect: LINE: words`, or `# expect
watchlist: ...` for what only a watchlist reading reports).
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.watchlists import WatchlistRegistry, check_watchlists
from monitor.yamlfile import MAX_BYTES, MAX_DEPTH, load_yaml, parse_yaml
from raqib.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parents[1] / "data" / "hostile_yaml"
CASES = sorted(CORPUS.glob("*.yaml"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])


def laughs(levels: int, width: int = 9) -> str:
    """The classic alias bomb: each level a list of `width` aliases of the one before."""
    text = "a: &a [" + ",".join(["lol"] * width) + "]\n"
    prev = "a"
    for i in range(levels):
        name = chr(ord("b") + i)
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]\n"
        prev = name
    return text


def test_a_billion_laughs_config_is_refused_at_once_by_check_and_run(tmp_path):
    """324 bytes that expand to 9**9 values: check and run both say where, in well under the
    time the expansion would take (minutes and gigabytes before)."""
    config = tmp_path / "raqib.yaml"
    config.write_text(laughs(8), encoding="utf-8")
    assert len(config.read_bytes()) < 330
    for command in ("check", "run"):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "raqib.cli", command, "--config", str(config)],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert time.monotonic() - started < 30
        assert done.returncode == 1, done.stderr
        output = done.stdout + done.stderr
        assert re.search(re.escape(str(config)) + r":\d+: aliases expand the document to more than", output), output
        assert "Traceback" not in output


async def test_a_reload_of_an_alias_bomb_is_refused_and_the_daemon_keeps_its_config(tmp_path):
    """SIGHUP and /reload read the config again: the same bound applies there."""
    from raqib.daemon import Daemon

    (tmp_path / "wl").mkdir()
    (tmp_path / "wl" / "w.yaml").write_text("name: w\nterms: [بوتين]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    good = (f"database: {tmp_path / 'x.db'}\nwatchlists: {tmp_path / 'wl'}\n"
            "feeds: [{name: a, url: 'https://a.example/rss'}]\nchannels: {console: {}}\n")
    config.write_text(good, encoding="utf-8")
    daemon = Daemon(load_config(config)).open()
    try:
        config.write_text(good + laughs(9), encoding="utf-8")
        started = time.monotonic()
        problems = await daemon.reload()
        assert time.monotonic() - started < 10
        assert len(problems) == 1 and problems[0].startswith(f"{config}:")
        assert "aliases expand the document" in problems[0]
        assert [f.name for f in daemon.config.feeds] == ["a"]
    finally:
        daemon.store.close()


def test_aliases_within_bounds_still_work(tmp_path):
    """Anchors and merge keys are ordinary YAML: sharing a mapping or a list is fine."""
    config = tmp_path / "raqib.yaml"
    config.write_text("database: x.db\n"
                      "feeds:\n"
                      "  - &base {name: a, url: 'https://a.example/rss', interval: 10m}\n"
                      "  - {<<: *base, name: b, url: 'https://b.example/rss'}\n", encoding="utf-8")
    loaded = load_config(config)
    assert [(f.name, f.interval) for f in loaded.feeds] == [("a", 600.0), ("b", 600.0)]


def test_deep_nesting_is_a_line_not_a_recursion_error(tmp_path, capsys):
    """`terms:` then 3,000 `[` and 3,000 `]`: check names the file and line, and the registry
    keeps loading the other files."""
    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "a.yaml").write_text("name: deep\nterms: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    (wl / "b.yaml").write_text("name: fine\nterms: [بوتين]\n", encoding="utf-8")
    problems = check_watchlists(wl)
    assert [str(p) for p in problems] == [f"{wl / 'a.yaml'}:2: lists and mappings nested more than "
                                          f"{MAX_DEPTH} levels deep"]
    registry = WatchlistRegistry(wl)
    assert [w.name for w in registry.watchlists] == ["fine"]
    assert [e.file for e in registry.errors] == [str(wl / "a.yaml")]
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {wl}\n" + "poll:\n  " + "- " * 5000 + "x\n",
                      encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{config}:4: lists and mappings nested more than {MAX_DEPTH} levels deep" in out


def test_fifty_levels_are_allowed_fifty_one_are_not():
    assert parse_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, "f") is not None
    with pytest.raises(ConfigError, match="nested more than"):
        parse_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "f")


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.write(b"terms:\n")
        f.write(b"  - word\n" * (MAX_BYTES // 9 + 10))
    with pytest.raises(ConfigError) as err:
        load_yaml(big)
    assert str(err.value).startswith(f"{big}: file too large")
    assert [p.message.split(" (")[0] for p in check_watchlists(big)] == ["file too large"]


def test_values_a_tag_promises_but_does_not_deliver_name_their_line(tmp_path, capsys):
    """A date that does not exist, a 5,000-digit integer: once ValueError tracebacks."""
    wl = tmp_path / "w.yaml"
    wl.write_text("name: w\nterms:\n  - بوتين\n  - 2024-02-30\n", encoding="utf-8")
    assert [str(p) for p in check_watchlists(wl)] == [f"{wl}:4: cannot read '2024-02-30' as a date"]
    with pytest.raises(ConfigError) as err:
        parse_yaml("a: 1\nb: " + "9" * 5000 + "\n", "f.yaml")
    assert str(err.value).startswith("f.yaml:2: cannot read '999") and "as a whole number" in str(err.value)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_hostile_corpus(case, tmp_path, capsys):
    """Each nasty file, read as a config and as a watchlist: a ConfigError naming it, with the
    line and words its first line promises; `raqib check` prints the same, no traceback."""
    first = case.read_text(encoding="utf-8").splitlines()[0]
    m = re.match(r"# expect( watchlist)?: (\d+): (.+)$", first)
    assert m, f"{case.name}: the first line must say what is expected"
    only_watchlist, line, words = bool(m.group(1)), int(m.group(2)), m.group(3)
    started = time.monotonic()
    wl_problems = check_watchlists(case)
    assert wl_problems and all(p.file == str(case) for p in wl_problems)
    assert any(p.line == line and words in str(p) for p in wl_problems), [str(p) for p in wl_problems]
    with pytest.raises(ConfigError) as err:
        load_config(case)
    assert err.value.file == str(case)
    if not only_watchlist:
        assert err.value.line == line and words in str(err.value), str(err.value)
    assert time.monotonic() - started < 20
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {case}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{case}:{line}: " in out and words in out and "Traceback" not in out


# -- fuzzing ----------------------------------------------------------------------------

FRAGMENTS = ["[", "]", "{", "}", ", ", ": ", ":", "- ", "-", "? ", "\n", "  ", "    ", "\t", "&a ", "&b ",
             "*a", "*b", "*c", "&c ", "<<: ", "!!str ", "!!int ", "!!float ", "!!binary ", "!!set ",
             "!!timestamp ", "!!omap ", "!!python/name:os.system ", "!foo ", "'", '"', "|", ">", "|-", "# c",
             "a", "b", "بوتين", "ـــ", "2024-02-30", "2024-01-01", "1e400", "1.0e+400", ".inf", "-.nan",
             "9" * 60, "0x", "0o9", "1_0", "~", "null", "yes", "terms", "name", "feeds", "poll", "interval",
             "database", "watchlists", "notify", "regex", "near", "%YAML 1.1\n", "%TAG ! tag:x,1:\n", "---\n",
             "...\n", "\\", "\\x", "\\u", "\x00", "\x07", "\u202e", "\ufeff", "\r\n", "${HOME}", "${X:-y}",
             "${NOPE}"]
yamlish = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)
alias_bombs = st.builds(lambda levels, width: laughs(levels, width),
                        st.integers(min_value=1, max_value=12), st.integers(min_value=2, max_value=12))
nesting = st.builds(lambda depth, opener, closer: "terms: " + opener * depth + "a" + closer * depth,
                    st.integers(min_value=1, max_value=400), st.sampled_from(["[", "{a: ", "- ", "? "]),
                    st.sampled_from(["]", "}", ""]))


def _lines(text: str) -> int:
    return len(re.split("\r\n|[\n\r\x85\u2028\u2029]", text))  # YAML's line breaks


def _loads_or_refuses(path: Path, text: str) -> None:
    started = time.monotonic()
    try:
        load_config(path, env={"HOME": "/home/x"})
    except ConfigError as exc:
        assert exc.file == str(path), str(exc)
        assert exc.line is None or 1 <= exc.line <= _lines(text) + 1, str(exc)
    for problem in check_watchlists(path):
        assert isinstance(problem, ConfigError)
        assert problem.file == str(path), str(problem)
        assert problem.line is None or 1 <= problem.line <= _lines(text) + 1, str(problem)
    assert time.monotonic() - started < 10


@FUZZ
@given(st.one_of(yamlish, alias_bombs, nesting))
def test_fuzz_yaml_text(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _loads_or_refuses(path, text)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_bytes(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    _loads_or_refuses(path, data.decode("utf-8", "replace"))


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                max_size=4),
                    max_leaves=40))
def test_fuzz_structures(tmp_path, value):
    """Random documents written by a YAML dumper: read back as config and as watchlists."""
    import yaml

    text = yaml.safe_dump({"terms": value, "poll": value, "feeds": value}, allow_unicode=True)
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _loads_or_refuses(path, text)
