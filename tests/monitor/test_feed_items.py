"""A feed's items read at an earlier poll are not read again, and nothing new is lost."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.feed_items import parse_new_items
from monitor.parse import parse_feed

DATA = Path(__file__).parents[1] / "data"
TEXT = (DATA / "feeds" / "bbc-2018-04-10.xml").read_text("utf-8")
HEAD = TEXT[:TEXT.index("<item>")]
ITEMS = re.findall(r"<item>.*?</item>", TEXT, re.S)[:40]
WHEN = datetime(2018, 4, 10, tzinfo=UTC)


def feed(items: list[str], build: str = "Tue, 10 Apr 2018 10:00:00 GMT") -> str:
    return HEAD.replace("<channel>", f"<channel><lastBuildDate>{build}</lastBuildDate>", 1) + "\n".join(items) + \
        "\n</channel>\n</rss>\n"


def polled(text: str, done: bytes = b"") -> tuple[list[tuple[str, str]], bytes]:
    """(guid, title) of the stories read, and what the poller keeps for the next poll."""
    parsed = parse_new_items("bbc", text, "https://bbc.example/feed", WHEN, done)
    return [(s.guid, s.title) for s in parsed.stories], b"".join(parsed.items)


def test_only_the_new_items_of_a_feed_sent_again_are_read():
    first, done = polled(feed(ITEMS[2:]))
    assert len(first) == 38 and len(done) == 38 * 8
    # two new items on top, and the feed's build date changed: the body is not the same
    again, done = polled(feed(ITEMS, build="Tue, 10 Apr 2018 11:00:00 GMT"), done)
    everything = [(s.guid, s.title) for s in parse_feed("bbc", feed(ITEMS), "https://bbc.example/feed", WHEN).stories]
    assert again == everything[:2]
    assert len(done) == 40 * 8
    nothing, done = polled(feed(ITEMS, build="Tue, 10 Apr 2018 12:00:00 GMT"), done)
    assert nothing == [] and len(done) == 40 * 8
    # an item edited in place is another item: read again (its known guid is the pipeline's to skip)
    edited = ITEMS[:5] + [ITEMS[5].replace("<title>", "<title>محدث: ", 1)] + ITEMS[6:]
    assert [t for _g, t in polled(feed(edited), done)[0]] == ["محدث: " + everything[5][1]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 39), max_size=40), st.lists(st.integers(0, 39), max_size=40),
       st.sets(st.integers(0, 39), max_size=5))
def test_no_story_of_a_feed_is_lost_whatever_it_carried_before(before, now, edited):
    """Whatever the previous poll carried, the stories read now and those read then hold
    every story the feed now carries, and nothing else is read."""
    def items(numbers: list[int], edit: set[int]) -> list[str]:
        return [ITEMS[n].replace("</title>", " (2)</title>", 1) if n in edit else ITEMS[n] for n in numbers]
    then, done = polled(feed(items(before, set())))
    read, _ = polled(feed(items(now, edited)), done)
    full = [(s.guid, s.title) for s in parse_feed("bbc", feed(items(now, edited)), "https://x.example/", WHEN).stories]
    assert set(full) <= set(read) | set(then)
    assert set(read) <= set(full)


def test_a_feed_that_is_not_well_formed_is_read_whole_every_time():
    broken = feed(ITEMS[:10]).replace("</title>", " & co</title>", 1)  # a bare ampersand: feedparser's bozo
    first, done = polled(broken)
    assert len(first) == 10 and done == b""  # nothing kept: next time it is all read again
    _, clean_done = polled(feed(ITEMS[:10]))
    again, _ = polled(broken, clean_done)  # even told the items were read, a text read badly is read whole
    assert again == first


def test_an_item_whose_text_holds_an_item_end_is_not_lost():
    """A description quoting "</item>" in CDATA splits the item in the wrong place: the
    text with the item cut out no longer reads cleanly, so the whole feed is read."""
    trap = ITEMS[3].replace("<description>", "<description><![CDATA[ quoting </item> here ]]>", 1)
    items = ITEMS[:3] + [trap] + ITEMS[4:12]
    full = [(s.guid, s.title) for s in parse_feed("bbc", feed(items), "https://bbc.example/feed", WHEN).stories]
    _, done = polled(feed(items))
    assert len(done) == 12 * 8  # the first item ends early, yet every item was found: kept
    again, _ = polled(feed([ITEMS[20]] + items), done)
    assert set(full) <= set(again) | set(polled(feed(items))[0])
    assert (parse_feed("bbc", feed([ITEMS[20]]), "https://bbc.example/feed", WHEN).stories[0].guid
            in {g for g, _t in again})


def test_a_text_that_is_a_feed_by_its_items_alone_is_still_read_when_they_are_cut_out():
    """No RSS/Atom/RDF root: feedparser takes it for a feed because it has items. With
    them all cut out (nothing new, a comment changed) what is left is no feed; the poll
    must not fail for that."""
    text = '<?xml version="1.0"?><news><item><title>بوتين</title><link>http://a.example/1</link></item><!-- 1 --></news>'
    first, done = polled(text)
    assert first and done
    again, kept = polled(text.replace("<!-- 1 -->", "<!-- 2 -->"), done)
    assert again == first and kept == done  # read whole, as it would have been without the keys
