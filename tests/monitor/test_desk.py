"""The desk: `raqib try` and `raqib search` on real Arabic stories stored by the real Pipeline.

The store is filled once per module by `Pipeline.ingest` from real feeds: the two e2e
feeds (the agency story about Putin and its copy, the football story an exclude rule
drops, a story about البروتين), three ANT corpus stories (tests/data/desk/ant.xml: two
say لبوتين, one البروتينات) and BBC Arabic of 10 April 2018, ingested ten days earlier
than the rest (for --days).

- try: one alert per cluster with its other outlets; an exclude rule drops a story and is
  named with the term and where it matched; a require rule is named; terms that never
  fired; alerts per day; a file of several watchlists; a broken file gives the lines of
  `raqib check`; nothing is written.
- search: بوتين finds لبوتين (the span is the name, not the ل) and never البروتين; exact and
  variant queries; --source and --days; --json; a bad query exits 1; on a terminal the
  matched words are coloured and a title's own escape sequences are dropped.
- The search index only narrows: for random stories and queries (hypothesis), search
  returns every story the matcher accepts, and try (which reads only the stories the
  index picks) the alerts and exclude drops of the matcher reading every story.
- A release 0.1 database upgrades in place with its stories indexed; read-only before the
  upgrade, search still answers (by reading the stories).
- Every command is in the README's command table.
"""
from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.dedup import Clusterer
from monitor.desk import search_stories, try_watchlist
from monitor.match import Matcher
from monitor.models import Term, Watchlist
from monitor.parse import parse_feed
from monitor.pipeline import Pipeline
from monitor.store import Store
from monitor.watchlists import check_watchlists
from raqib.cli import build_parser, main
from tests.support import sql

DATA = Path(__file__).parents[1] / "data"
NOW = time.time()
DAY = 86400.0
RUSSIA = (DATA / "e2e" / "watchlists" / "russia.yaml").read_text(encoding="utf-8")  # exclude: كرة القدم

pytestmark = pytest.mark.usefixtures("restore_logging")


class _Registry:
    watchlists: list = []
    matcher = Matcher([])


def _ingest(store: Store, feeds: list[tuple[Path, float]]) -> None:
    clock = [0.0]
    pipeline = Pipeline(store, _Registry(), Clusterer(), channels=(), clock=lambda: clock[0])
    for path, at in feeds:
        clock[0] = at
        parsed = parse_feed(path.stem, path.read_text(encoding="utf-8"), f"https://{path.stem}.example/",
                            datetime.fromtimestamp(at, UTC))
        pipeline.ingest(path.stem, parsed.stories)


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Path:
    """A config and its database, filled by the pipeline from real feeds."""
    folder = tmp_path_factory.mktemp("desk")
    store = Store(folder / "raqib.db")
    _ingest(store, [(DATA / "feeds" / "bbc-2018-04-10.xml", NOW - 10 * DAY),
                    (DATA / "desk" / "ant.xml", NOW - 2 * DAY),
                    (DATA / "e2e" / "agency-a.xml", NOW - DAY),
                    (DATA / "e2e" / "paper-b.xml", NOW - DAY + 900)])
    store.close()
    (folder / "raqib.yaml").write_text(f"database: {folder / 'raqib.db'}\nwatchlists: {folder}\n", encoding="utf-8")
    return folder


@pytest.fixture
def store(desk):
    s = Store(desk / "raqib.db", readonly=True)
    yield s
    s.close()


def marked(text: str, match) -> str:
    return text[match.start:match.end]


# -- try ------------------------------------------------------------------------------------

def test_try_drops_a_story_by_its_exclude_rule_and_names_the_rule(store):
    report = try_watchlist(store, RUSSIA, file="russia.yaml", days=3, now=NOW)
    assert report.problems == ()
    titles = [h.title for h in report.hits]
    agency = next(h for h in report.hits if h.feed == "agency-a")
    assert agency.outlets == ("paper-b",)  # its copy is the same alert, not another one
    assert not any(h.feed == "paper-b" and "هاريس" in h.title for h in report.hits)
    assert sum("لبوتين" in t for t in titles) == 2
    [drop] = report.dropped
    assert drop.story.feed == "paper-b" and drop.story.title.startswith("مباراة كرة القدم")
    assert drop.rule == "exclude" and drop.terms == ("كرة القدم",)
    assert [marked(drop.story.title, m) for m in drop.stopped_by] == ["كرة القدم"]
    assert [marked(drop.story.title, m) for m in drop.story.matches] == ["بوتين"]
    assert report.dropped_count == 1 and report.alerts == len(report.hits) == 3


def test_try_does_not_report_a_cluster_alerted_on_before_the_window(store):
    since_between = (DAY - 450) / DAY  # after the agency story, before paper-b's copy of it
    report = try_watchlist(store, RUSSIA, days=since_between, now=NOW)
    assert not any("هاريس" in h.title for h in report.hits)  # its alert went out with the agency story
    assert [d.story.feed for d in report.dropped] == ["paper-b"]  # the football story is news of its own


def test_try_names_a_require_rule_and_the_terms_that_never_fired(store):
    text = "name: putin-ukraine\nterms: [بوتين, كورسك]\nrequire: [أوكرانيا, كييف]\n"
    report = try_watchlist(store, text, days=3, now=NOW)
    assert [h.feed for h in report.hits] == ["agency-a"]
    assert [m.term for m in report.hits[0].matches if m.field == "title"] == ["بوتين", "أوكرانيا"]
    dropped = {d.story.title: d for d in report.dropped}
    japan = next(d for t, d in dropped.items() if t.startswith("رئيس الوزراء الياباني"))
    assert japan.rule == "require" and japan.terms == ("أوكرانيا", "كييف")
    assert report.never_fired == (("putin-ukraine", "كورسك"), ("putin-ukraine", "كييف"))
    assert report.top_terms == (("putin-ukraine", "أوكرانيا", 1), ("putin-ukraine", "بوتين", 1))
    days = dict(report.per_day)
    assert sum(days.values()) == 1
    assert days[datetime.fromtimestamp(NOW - DAY, UTC).date().isoformat()] == 1


def test_try_reads_only_the_days_asked_and_a_file_of_several_watchlists(store):
    text = ("- name: putin\n  terms: [بوتين]\n- name: oil\n  terms: [أسعار النفط, {regex: 'OPEC|أوبك'}]\n")
    three = try_watchlist(store, text, days=3, now=NOW)
    eleven = try_watchlist(store, text, days=11, now=NOW)
    assert three.watchlists == ("putin", "oil")
    assert {h.watchlist for h in three.hits} == {"putin", "oil"}
    assert not three.narrowed and three.read == three.scanned  # a regex term: every story is read
    narrowed = try_watchlist(store, "name: putin\nterms: [بوتين]\n", days=3, now=NOW)
    assert narrowed.narrowed and narrowed.read < narrowed.scanned == three.scanned
    assert [h.id for h in narrowed.hits] == [h.id for h in three.hits if h.watchlist == "putin"]
    assert not any(h.feed == "bbc-2018-04-10" for h in three.hits)
    assert any(h.feed == "bbc-2018-04-10" for h in eleven.hits)  # BBC was stored ten days ago
    assert eleven.scanned > three.scanned + 100


def test_a_broken_watchlist_gets_the_lines_of_raqib_check(desk, tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nterms:\n  - بوتين\n  - {term: أمل, exact: yes please}\nwhen: later\n",
                    encoding="utf-8")
    expected = [str(p) for p in check_watchlists(path)]
    assert len(expected) == 2 and all(line.startswith(f"{path}:") for line in expected)
    assert main(["try", str(path), "--config", str(desk / "raqib.yaml")]) == 1
    assert capsys.readouterr().out.splitlines() == expected


def test_raqib_try_shows_the_stories_marked_and_saves_nothing(desk, tmp_path, capsys):
    path = tmp_path / "russia.yaml"
    path.write_text(RUSSIA, encoding="utf-8")
    before = (desk / "raqib.db").read_bytes()
    assert main(["try", str(path), "--days", "3", "--config", str(desk / "raqib.yaml")]) == 0
    out = capsys.readouterr().out
    assert "ل«بوتين»" in out  # not a terminal: «» marks the matched words
    assert "agency-a  (also: paper-b)" in out
    assert "exclude: كرة القدم" in out and "مباراة «كرة القدم»" in out
    assert re.search(r"terms that never fired:\n  كورسك\n  دوروف\n  بافيل دوروف", out)
    assert (desk / "raqib.db").read_bytes() == before
    assert sql.outbox_count(Store(desk / "raqib.db", readonly=True)) == 0


def test_raqib_try_json(desk, tmp_path, capsys):
    path = tmp_path / "russia.yaml"
    path.write_text(RUSSIA, encoding="utf-8")
    assert main(["try", str(path), "--json", "--config", str(desk / "raqib.yaml")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["watchlists"] == ["russia-ukraine"]
    hit = report["hits"][0]
    assert set(hit) == {"id", "cluster", "feed", "title", "summary", "url", "published", "fetched", "watchlist",
                        "matches", "terms", "outlets"}
    assert set(hit["matches"][0]) == {"watchlist", "term", "field", "start", "end"}
    assert report["dropped"][0]["rule"] == "exclude"
    path.write_text("terms: []\n", encoding="utf-8")
    assert main(["try", str(path), "--json", "--config", str(desk / "raqib.yaml")]) == 1
    problem = json.loads(capsys.readouterr().out)["problems"][0]
    assert (problem["file"], problem["line"]) == (str(path), 1)


# -- search ---------------------------------------------------------------------------------

def test_search_finds_lbutin_for_butin_but_never_albrotin(store):
    result = search_stories(store, "بوتين", now=NOW)
    assert result.narrowed and result.complete
    titles = [h.title for h in result.hits]
    with_l = [h for h in result.hits if "لبوتين" in h.title]
    assert len(with_l) == 2
    for hit in with_l:
        [m] = [m for m in hit.matches if m.field == "title"]
        assert marked(hit.title, m) == "بوتين" and hit.title[m.start - 1] == "ل"
    assert not any("البروتين" in h.title + h.summary and "بوتين" not in h.title + h.summary for h in result.hits)
    assert all("بروتين" not in t for t in titles)
    protein = search_stories(store, "البروتين", now=NOW)
    assert [h.feed for h in protein.hits] == ["agency-a"]  # البروتينات is another word
    assert [h.fetched for h in result.hits] == sorted((h.fetched for h in result.hits), reverse=True)


def test_search_exact_and_variant_queries(store):
    assert search_stories(store, '"بوتين"', now=NOW).hits  # بوتين alone is in many
    assert not any("لبوتين" in h.title and " بوتين" not in h.title + h.summary
                   for h in search_stories(store, '"بوتين"', now=NOW).hits)
    variants = search_stories(store, "~بوتن", now=NOW)  # بوتين is a spelling of بوتن
    assert variants.narrowed and len(variants.hits) == len(search_stories(store, "بوتين", now=NOW).hits)


def test_search_by_source_and_days_from_the_command_line(desk, capsys):
    config = str(desk / "raqib.yaml")
    assert main(["search", "بوتين", "--json", "--config", config]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert {h["feed"] for h in everything["hits"]} >= {"agency-a", "paper-b", "ant", "bbc-2018-04-10"}
    assert set(everything) >= {"query", "terms", "hits", "scanned", "narrowed", "complete"}
    assert main(["search", "بوتين", "--source", "ant", "--json", "--config", config]) == 0
    assert {h["feed"] for h in json.loads(capsys.readouterr().out)["hits"]} == {"ant"}
    assert main(["search", "بوتين", "--days", "5", "--json", "--config", config]) == 0
    assert "bbc-2018-04-10" not in {h["feed"] for h in json.loads(capsys.readouterr().out)["hits"]}
    assert main(["search", "بوتين", "--source", "ant", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "يقول ل«بوتين» إن" in out and out.rstrip().endswith("2 stories")
    assert main(["search", "بوتين", "--source", "aljazeera", "--config", config]) == 0
    assert "no stories stored from a feed named 'aljazeera' (feeds with stories: agency-a, ant," in capsys.readouterr().err
    assert main(["search", "!!!", "--config", config]) == 1
    assert "no letters or digits" in capsys.readouterr().err


def test_search_operators_both_not_and_phrase_and_how_the_query_was_read(store, desk, capsys):
    putin = search_stories(store, "بوتين", now=NOW).hits
    both = search_stories(store, "بوتين + هاريس", now=NOW)
    assert both.reading == "بوتين AND هاريس"
    assert both.hits and len(both.hits) < len(putin)
    for hit in both.hits:
        text = hit.title + " " + hit.summary
        assert "هاريس" in text and "بوتين" in text
        assert {m.term for m in hit.matches} == {"بوتين", "هاريس"}
    assert [h.id for h in search_stories(store, "بوتين & هاريس", now=NOW).hits] == [h.id for h in both.hits]
    without = search_stories(store, "بوتين -هاريس", now=NOW)
    assert without.reading == "بوتين AND NOT هاريس"
    assert {h.id for h in without.hits} == {h.id for h in putin} - {h.id for h in both.hits}
    phrase = search_stories(store, '"بوتين هاريس" | ~بوتن -"كرة القدم"', now=NOW)
    assert phrase.reading == ('"بوتين هاريس" (exactly, these words in this order) OR '
                              '(~بوتن (and its other spellings) AND NOT "كرة القدم" (exactly, these words in this order))')
    config = str(desk / "raqib.yaml")
    assert main(["search", "بوتين هاريس", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("read as: بوتين هاريس (these words in this order)\n")
    assert out.rstrip().endswith("no story has «بوتين هاريس» as a phrase; for all of these words anywhere in a "
                                 "story, write: بوتين + هاريس")
    assert main(["search", "--config", config, "--", "-هاريس"]) == 1
    assert "only leaves out: say what to find too" in capsys.readouterr().err


def test_matched_words_are_coloured_on_a_terminal_and_feed_text_cannot_colour_it(tmp_path):
    folder = tmp_path / "state"
    store = Store(folder / "raqib.db")
    with store.transaction() as conn:
        store.stories.insert(conn, {"feed": "bbc", "guid": "1", "url": "https://x.example/1", "fetched": NOW,
                                  "cluster": 1, "title": "رسالة لبوتين \x1b[2J\x1b]0;pwned\x07من واشنطن"})
    store.close()
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {folder / 'raqib.db'}\nwatchlists: {tmp_path}\n", encoding="utf-8")
    parent, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run([sys.executable, "-m", "raqib.cli", "search", "بوتين", "--config", str(config)],
                          stdout=child, stderr=subprocess.PIPE, env=env, timeout=60, cwd=Path(__file__).parents[2])
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(parent)
    assert proc.returncode == 0, proc.stderr
    text = out.decode("utf-8")
    assert "ل\x1b[1;33mبوتين\x1b[0m" in text
    assert "\x1b[2J" not in text and "\x1b]0" not in text and "\x07" not in text  # the feed's own escapes are dropped


# -- the index only narrows -----------------------------------------------------------------

WORDS = ["بوتين", "البوتين", "لبوتين", "وبوتين", "بُوتِين", "بوتـــين", "عبوتين", "البروتين", "بوتينا", "الحكومة",
         "للحكومة", "حكومة", "اللجنة", "للجنة", "لجنة", "عبد", "الله", "عبدالله", "لعبدالله", "أمل", "الأمل", "كامل",
         "بأمل", "2024", "بـ2024", "NATO", "nato", "مصر", "لمصر", "مصرف", "نيل", "النيل", "وبالنيل", "ألبانيا",
         "لألبانيا", "كرة", "القدم", "تيليغرام", "تلغرام", "بتليجرام", "تيلغرام", "ترامب", "ترمب", "لترمب", "بوتن",
         "البطن", "بطن", "فيصل", "الفصل", "كييف", "كيف", "بكييف", "شولتس", "شولتز", "غوتيريش", "جوتيريز", "هاواي",
         "عبدالفتاح", "السيسي", "فاغنر", "واغنر", "الحوثي", "الحوثيين", "للحوثيين", "الحوثية", "حوثيين", "علي",
         "على", "وعلى", "عليه"]
QUERIES = ["بوتين", "البوتين", '"بوتين"', "الحكومة", "اللجنة", "لجنة", "عبد الله", "عبدالله", "أمل", '"أمل"',
           "2024", "NATO", "مصر", "نيل", "ألبانيا", "كرة القدم", "بوتين | مصر", "القدم", "تيليغرام", "~تيليغرام",
           "~ترمب", "~بوتن", "~فيصل", "~كييف", "~شولتس", "~غوتيريش", "~عبد الفتاح السيسي", "~فاغنر", "~ترامب | مصر", "الحوثي", "حوثي", "علي", "على"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stories=st.lists(st.tuples(st.lists(st.sampled_from(WORDS), max_size=6),
                                  st.lists(st.sampled_from(WORDS), max_size=6)), min_size=1, max_size=12),
       query=st.sampled_from(QUERIES), sep=st.sampled_from([" ", "، ", "\n", "-"]), exclude=st.sampled_from(WORDS))
def test_the_index_narrows_but_never_loses_a_story_the_matcher_accepts(stories, query, sep, exclude):
    store = Store(memory=True)
    with store.transaction() as conn:
        for i, (title, summary) in enumerate(stories, 1):
            store.stories.insert(conn, {"id": i, "feed": "f", "guid": str(i), "title": sep.join(title),
                                      "summary": sep.join(summary), "fetched": NOW, "cluster": i})
    found = search_stories(store, query, now=NOW, limit=1000)
    assert found.narrowed
    terms = found.terms
    matcher = Matcher([Watchlist(name="q", title="q", terms=terms)])
    accepted = {i for i, (title, summary) in enumerate(stories, 1) if matcher.match(sep.join(title), sep.join(summary))}
    assert {h.id for h in found.hits} == accepted
    # try picks its stories through the index too: the same ones the matcher fires on
    # when it reads them all, and the same ones dropped by the exclude rule
    text = "name: q\nterms:\n" + "".join(f"  - {{term: {json.dumps(t.text)}, exact: {json.dumps(t.exact)}, variants: {json.dumps(t.variants)}}}\n"
                                          for t in terms) + f"exclude: [{json.dumps(exclude)}]\n"
    report = try_watchlist(store, text, days=1, now=NOW + 1)
    assert report.narrowed and report.scanned == len(stories)
    full = Matcher([Watchlist(name="q", title="q", terms=terms, exclude=(Term(exclude),))])
    fired = {i for i, (title, summary) in enumerate(stories, 1) if full.match(sep.join(title), sep.join(summary))}
    assert {h.id for h in report.hits} == fired
    assert {d.story.id for d in report.dropped} == accepted - fired


EXPLAINED = [
    Watchlist(name="a", title="a", terms=(Term("بوتين"), Term("عبد الله")), exclude=(Term("كرة القدم"),)),
    Watchlist(name="b", title="b", terms=(Term("مصر"), Term("كامل|2024", regex=True)),
              require=(Term("الحكومة"), Term("nato", regex=True))),
    Watchlist(name="c", title="c", terms=(Term("بوتين ~ مصر", near=("بوتين", "مصر"), within=2),),
              exclude=(Term("النيل ~ أمل", near=("النيل", "أمل"), within=1), Term("لجنة", regex=True))),
    Watchlist(name="d", title="d", terms=(Term("أمل", exact=True), Term("تيليغرام", variants=True)),
              require=(Term("القدم ~ كرة", near=("القدم", "كرة"), within=3),)),
]


@settings(max_examples=60, deadline=None)
@given(title=st.lists(st.sampled_from(WORDS), max_size=8), summary=st.lists(st.sampled_from(WORDS), max_size=8))
def test_explain_agrees_with_match(title, summary):
    """Matcher.explain (try's path) fires exactly the watchlists match fires, with the same
    matches, whatever mix of near, regex, require and exclude rules they hold."""
    matcher = Matcher(EXPLAINED)
    t, s = " ".join(title), " ".join(summary)
    matches = matcher.match(t, s)
    verdicts = matcher.explain(t, s)
    assert {v.watchlist for v in verdicts if v.fired} == {m.watchlist for m in matches}
    for v in verdicts:
        if v.fired:
            assert list(v.matches) == [m for m in matches if m.watchlist == v.watchlist]
        else:
            assert v.rule in ("exclude", "require") and (v.rule == "require" or v.stopped_by)


# -- upgrade --------------------------------------------------------------------------------

def test_a_release_0_1_database_upgrades_and_its_stories_are_searched(tmp_path):
    path = tmp_path / "raqib.db"
    shutil.copyfile(DATA / "release-0.1.db", path)
    before = Store(path, readonly=True)  # the old daemon still runs: nothing migrated, no index
    try:
        old = search_stories(before, "عنوان")
        assert not old.narrowed and len(old.hits) == 3
        tried = try_watchlist(before, "terms: [عنوان]\n", days=3650)
        assert not tried.narrowed and tried.alerts == 2  # two clusters: g1 and its copy p1, g2
    finally:
        before.close()
    store = Store(path)
    try:
        assert "006_story_search" in sql.migrations(store)
        result = search_stories(store, "عنوان")
        assert result.narrowed and [h.id for h in result.hits] == [3, 2, 1]
        kept = sql.story_count(store)
        store.prune(stories_before=time.time() + DAY, outbox_before=0)  # pruned stories leave the index
        left = sql.story_count(store)
        assert left < kept
        indexed = sql.search_hits(store, '"ناونع"')
        assert indexed == left  # عنوان, backwards
    finally:
        store.close()


def test_every_command_is_in_the_readme():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands"):]
    table = table[:table.index("\n## ")]
    documented = set(re.findall(r"^\| `raqib ([a-z][a-z-]*)", table, re.M))
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == documented  # type: ignore[attr-defined]
