"""Routing: one alert per cluster, spread alerts, cluster updates, subscribers and personal terms."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.dedup import Clusterer
from monitor.match import Matcher
from monitor.models import Story
from monitor.pipeline import Pipeline
from monitor.store import Store
from monitor.watchlists import Term, Watchlist
from tests.support import sql

T0 = datetime(2024, 9, 5, 14, 0, tzinfo=UTC)
TITLE = "بوتين يدعم هاريس لرئاسة أميركا ويؤكد استعداده لمفاوضات مع أوكرانيا"
LEAD = "أكد الرئيس الروسي فلاديمير بوتين الخميس دعمه للمرشحة الديمقراطية كامالا هاريس في الانتخابات"


class Registry:
    def __init__(self, watchlists):
        self.watchlists = list(watchlists)
        self.matcher = Matcher(self.watchlists)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def story(feed: str, guid: str, title: str = TITLE, minutes: int = 0, summary: str = LEAD) -> Story:
    return Story(feed=feed, guid=guid, url=f"https://{feed}.example/{guid}", title=title, summary=summary,
                 published=T0 + timedelta(minutes=minutes))


def pipeline(watchlists, channels=("console",), clock=None):
    store = Store(memory=True)
    return Pipeline(store, Registry(watchlists), Clusterer(), channels=channels,
                    clock=clock or Clock(T0.timestamp())), store


def outbox(store):
    return sql.outbox_rows(store, "channel", "destination", "kind", "watchlist", "story_id", "state")


RUSSIA = Watchlist(name="russia", title="روسيا", terms=(Term(text="بوتين"),),
                   notify={"telegram": ("@desk",)})


def test_a_story_retold_by_other_outlets_is_one_alert_per_destination():
    p, store = pipeline([RUSSIA], channels=("console", "telegram"))
    p.ingest("agency", [story("agency", "1")])
    p.ingest("paper", [story("paper", "9", title="عاجل | " + TITLE, minutes=20)])
    p.ingest("tv", [story("tv", "4", title=TITLE + " - تلفزيون", minutes=30)])
    rows = outbox(store)
    stories = [r for r in rows if r["kind"] == "story"]
    assert [(r["channel"], r["destination"]) for r in stories] == [("telegram", "@desk"), ("console", "-")]
    assert all(r["story_id"] == 1 for r in stories)
    # the editable channel is asked (once) to add the other sources to its message
    updates = [r for r in rows if r["kind"] == "update"]
    assert [(r["channel"], r["destination"]) for r in updates] == [("telegram", "@desk")]
    assert sql.cluster_count(store) == 1


def test_re_polling_the_same_items_adds_nothing():
    p, store = pipeline([RUSSIA])
    first = p.ingest("agency", [story("agency", "1"), story("agency", "2", title="خبر آخر عن الطقس", summary="")])
    again = p.ingest("agency", [story("agency", "1"), story("agency", "2", title="خبر آخر عن الطقس", summary="")])
    assert (first.new, again.new) == (2, 0)
    assert len(outbox(store)) == 1


def test_spread_alert_fires_once_when_enough_outlets_carry_the_story_in_time():
    spread = Watchlist(name="big", title="كبير", terms=(Term(text="بوتين"),), when="spread", outlets=3,
                       within_minutes=60)
    clock = Clock(T0.timestamp())
    p, store = pipeline([spread], clock=clock)
    p.ingest("agency", [story("agency", "1")])
    clock.t += 600
    p.ingest("paper", [story("paper", "2", title="عاجل | " + TITLE, minutes=10)])
    assert outbox(store) == []  # two outlets: not big yet, and no first-story alert either
    clock.t += 600
    p.ingest("tv", [story("tv", "3", title=TITLE + " (فيديو)", minutes=20)])
    clock.t += 60
    p.ingest("radio", [story("radio", "4", title="بالفيديو: " + TITLE, minutes=21)])
    rows = outbox(store)
    assert [(r["kind"], r["watchlist"], r["story_id"]) for r in rows] == [("spread", "big", 1)]


def test_spread_needs_the_outlets_within_the_window():
    spread = Watchlist(name="big", title="كبير", terms=(Term(text="بوتين"),), when="spread", outlets=2,
                       within_minutes=30)
    clock = Clock(T0.timestamp())
    p, store = pipeline([spread], clock=clock)
    p.ingest("agency", [story("agency", "1")])
    clock.t += 3 * 3600  # the second outlet comes three hours later
    p.ingest("paper", [story("paper", "2", title="عاجل | " + TITLE, minutes=180)])
    assert outbox(store) == []


SKRIPAL = {s["source"]: s for s in map(json.loads, (Path(__file__).parents[1] / "data" / "events" / "labelled.jsonl")
                                       .read_text(encoding="utf-8").splitlines())
           if s["id"] in ("SK-internationalNews-344-20180314", "FR-internationalNews-427-20180314",
                          "CN-internationalNews-122-20180314")}


def ant(source: str, minutes: int) -> Story:
    s = SKRIPAL[source]
    return Story(feed=source.lower(), guid=s["url"], url=s["url"], title=s["title"], summary=s["summary"],
                 published=T0 + timedelta(minutes=minutes))


def test_spread_counts_the_outlets_of_the_event_not_of_the_copy_cluster():
    """France 24 and CNN tell the expulsion of 23 diplomats in their own words: two clusters,
    one event, two outlets — a spread of two fires; Sky News' Kremlin denial is another event."""
    spread = Watchlist(name="big", title="كبير", terms=(Term(text="روسيا"), Term(text="موسكو")), when="spread",
                       outlets=2, within_minutes=60, notify={"telegram": ("@desk",)})
    clock = Clock(T0.timestamp())
    p, store = pipeline([spread], channels=("telegram",), clock=clock)
    p.ingest("skynews", [ant("skynews", 0)])
    clock.t += 600
    p.ingest("france24", [ant("france24", 10)])
    assert outbox(store) == []  # two outlets, but of two events
    clock.t += 300
    p.ingest("cnn", [ant("CNN", 15)])
    stories = sql.story_rows(store, "id", "cluster", "event")
    assert len({s["cluster"] for s in stories}) == 3 and stories[2]["event"] == stories[1]["id"]
    [row] = sql.outbox_rows(store, "kind", "cluster", "event", "story_id", "payload")
    assert (row["kind"], row["cluster"], row["event"], row["story_id"]) == ("spread", stories[1]["id"],
                                                                            stories[1]["id"], stories[1]["id"])
    assert json.loads(row["payload"])["sources"] == ["france24", "cnn"]
    clock.t += 60
    p.ingest("cnn", [ant("CNN", 16)])  # a re-poll adds nothing
    assert len(outbox(store)) == 1


def test_subscribers_and_personal_terms_are_routed_to_their_own_destinations():
    personal = Watchlist(name="personal:telegram:42", title="كلماتي", terms=(Term(text="هاريس"),),
                         notify={"telegram": ("42",)})
    plain = Watchlist(name="russia", title="روسيا", terms=(Term(text="بوتين"),))
    p, store = pipeline([plain, personal], channels=("console", "telegram"))
    store.subscriptions.subscribe("telegram", "7", "russia")
    store.subscriptions.subscribe("email", "a@b.example", "russia")  # email is not configured: not routed
    p.ingest("agency", [story("agency", "1")])
    got = {(r["watchlist"], r["channel"], r["destination"]) for r in outbox(store)}
    assert got == {("russia", "telegram", "7"), ("russia", "console", "-"),
                   ("personal:telegram:42", "telegram", "42")}
