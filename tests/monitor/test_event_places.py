"""Places at the event level (monitor.dedup.places): a country told by its name, its
people or its capital is one term, from CLDR's Arabic names and the corpus word table."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.dedup import EventSettings
from monitor.dedup.events import terms
from raqib.jsonl import dedup_stream

DATA = Path(__file__).parents[1] / "data" / "events"


def _shared(a: str, b: str, places: bool = True) -> set[str]:
    return set(terms(a, places=places)[0]) & set(terms(b, places=places)[0])


@pytest.mark.parametrize(("a", "b"), [
    ("الأردن يرفض القرار", "الحكومة الأردنية ترفض القرار"),  # name and nisba
    ("وفد فلسطيني في القاهرة", "الفلسطينيون يطالبون مصر"),  # nisba forms; a capital and its country
    ("اجتماع في الرياض", "المملكة العربية السعودية تستضيف"),  # a capital and a name of three words
    ("انفجار في دمشق", "انفجار في سوريا"),
    ("مظاهرات في باريس", "مظاهرات في فرنسا"),
])
def test_a_country_its_people_and_its_capital_share_a_term(a, b):
    assert len(_shared(a, b)) > len(_shared(a, b, places=False))


@pytest.mark.parametrize(("a", "b"), [
    ("الأردن", "رد"),  # the stemmer alone gives الأردن the term of رد ("reply")
    ("الولايات المتحدة", "المملكة المتحدة"),  # a name of several words is one term
    ("كوريا الشمالية", "كوريا الجنوبية"),
    ("تقرير مالي", "باماكو"),  # مالي is "financial" far more than Mali: not read as a place
])
def test_other_places_and_words_do_not(a, b):
    rest = " تفرض عقوبات جديدة"
    assert _shared(a + rest, b + rest) == set(terms(rest)[0])


def test_a_capital_for_its_country_joins_one_event_on_real_stories():
    # "a man holds two hostages in Paris" and "hostages held in the heart of the French capital"
    ids = ("BB-internationalNews-643-20180612", "AL-internationalNews-1583-20180612")
    with open(DATA / "labelled.jsonl", encoding="utf-8") as fh:
        rows = sorted((r for line in fh if (r := json.loads(line))["id"] in ids), key=lambda r: r["published"])
    lines = [json.dumps({k: r[k] for k in ("id", "title", "summary", "url", "source", "published")},
                        ensure_ascii=False) for r in rows]
    on, off = (list(dedup_stream(lines, event_settings=EventSettings(places=p))) for p in (True, False))
    assert on[0]["event"] == on[1]["event"]
    assert off[0]["event"] != off[1]["event"]
