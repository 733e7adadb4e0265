"""Build tests/data/dedup_labelled.jsonl: labelled dedup cases from the ANT corpus.

Run:  .venv/bin/python scripts/build_dedup_labelled.py

Source: ANT corpus v2.1 (../shared/data/corpora/antcorpus, Apache-2.0; Chouigui, Ben
Khiroun, Elayeb, AJSE 2021): five outlets' RSS items (title, abstract as the summary,
url, time), read through bench/antcorpus.py: stories published 10-20 May 2018 are
reserved for evaluation and skipped. Two slices were read story by story and labelled:

* the Skripal poisoning, 6-14 March 2018 (Skripal items of those days);
* the US/UK/French strikes on Syria, 14 April 2018 (items up to 11:20 GMT whose title
  or lead mentions a strike, an attack, missiles, Syria or Douma; a few unrelated items
  that match those words stay in as singletons), and Al Arabiya's "France: we will
  strike again" of 13:46 that pairs with Sky News Arabia's.

`GROUPS` lists the stories told more than once: each tuple is one story as several
outlets (or one outlet in two sections) carried it. Every other story of the slices is
its own group. Same-topic different stories are kept apart on purpose: the Kremlin's
denial on 12 March vs on 14 March, Mattis' two statements, Russia's "no casualties" vs
"Syrian defences intercepted most missiles", a roundup of reactions vs one country's
reaction, the Syrian army's "110 missiles" vs "we downed 13".

Hand-made variants follow, each in the group of the story it copies, as desks republish:
a desk prefix ("عاجل | ", "بالفيديو: ", "عام / "), the outlet's name after the title,
the lead's first sentence dropped, tracking parameters on the link (utm_*, fbclid), an
AMP link, and the same title with a different first line. Variants are published 7-53
minutes after the original, under made-up source names.
"""
from __future__ import annotations

import json
import os
import random
import re
import sys
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
ANT = os.path.join(ROOT, "..", "shared", "data", "corpora", "antcorpus")
OUT = os.path.join(ROOT, "tests", "data", "dedup_labelled.jsonl")

from bench.antcorpus import stories as ant_stories  # noqa: E402

SKRIPAL = [
    "FR-internationalNews-277-20180306", "BB-internationalNews-104-20180306",
    "CN-sport-73-20180306", "CN-sport-76-20180307", "AL-internationalNews-395-20180307",
    "FR-internationalNews-305-20180307", "CN-sport-79-20180307", "SK-sport-228-20180311",
    "SK-internationalNews-269-20180312", "CN-internationalNews-100-20180312",
    "FR-internationalNews-383-20180312", "AL-internationalNews-441-20180312",
    "SK-internationalNews-295-20180312", "AL-internationalNews-447-20180312",
    "CN-internationalNews-104-20180312", "FR-internationalNews-392-20180312",
    "AL-internationalNews-457-20180313", "FR-internationalNews-405-20180313",
    "FR-internationalNews-418-20180314", "AL-internationalNews-467-20180314",
    "SK-internationalNews-344-20180314", "AL-internationalNews-466-20180314",
    "CN-sport-102-20180314", "FR-internationalNews-427-20180314",
    "CN-internationalNews-122-20180314", "CN-internationalNews-121-20180314",
    "FR-internationalNews-431-20180314", "CN-internationalNews-126-20180314",
]

GROUPS = [
    # Skripal
    ("skripal-nsc-meeting", ["SK-internationalNews-269-20180312",
                             "CN-internationalNews-100-20180312",
                             "FR-internationalNews-383-20180312"]),
    ("skripal-may-moscow-behind", ["AL-internationalNews-447-20180312",
                                   "CN-internationalNews-104-20180312",
                                   "FR-internationalNews-392-20180312"]),
    ("skripal-kremlin-denies-14", ["AL-internationalNews-467-20180314",
                                   "SK-internationalNews-344-20180314"]),
    ("skripal-23-diplomats", ["FR-internationalNews-427-20180314",
                              "CN-internationalNews-122-20180314"]),
    # strikes on Syria, 14 April 2018
    ("strikes-launched", ["SK-middleEast-1021-20180414", "BB-internationalNews-332-20180414",
                          "AL-internationalNews-911-20180414", "CN-middleEast-607-20180414",
                          "FR-internationalNews-724-20180414", "FR-middleEast-276-20180414",
                          "BB-middleEast-346-20180414"]),
    ("strikes-macron", ["FR-internationalNews-725-20180414", "FR-middleEast-275-20180414"]),
    ("strikes-uk-tornado-homs", ["BB-middleEast-345-20180414",
                                 "FR-internationalNews-727-20180414",
                                 "FR-middleEast-278-20180414"]),
    ("strikes-110-missiles", ["CN-middleEast-617-20180414", "CN-middleEast-615-20180414"]),
    ("strikes-russia-no-casualties", ["FR-internationalNews-729-20180414",
                                      "FR-middleEast-280-20180414",
                                      "SK-middleEast-1023-20180414"]),
    ("strikes-france-again", ["AL-internationalNews-913-20180414",
                              "SK-middleEast-1039-20180414"]),
    ("strikes-reactions", ["FR-internationalNews-726-20180414", "FR-middleEast-277-20180414"]),
    ("strikes-live", ["FR-internationalNews-728-20180414", "FR-middleEast-279-20180414"]),
    ("strikes-assad-video", ["SK-middleEast-1029-20180414", "CN-middleEast-616-20180414"]),
    ("strikes-targets", ["SK-middleEast-1017-20180414", "CN-middleEast-612-20180414"]),
    ("strikes-weapons", ["SK-middleEast-1035-20180414", "CN-middleEast-613-20180414"]),
]

STRIKE_WORDS = re.compile(r"ضرب|غار|هجوم|صواريخ|سوري|دوما")
OUTLETS = ["سكاي نيوز عربية", "العربية نت", "فرانس 24", "بي بي سي عربي", "الرأي"]


def load() -> dict[str, dict]:
    items = {}
    for name in sorted(os.listdir(ANT)):
        if not name.endswith(".jsonl.gz"):
            continue
        for r in ant_stories(os.path.join(ANT, name)):
            try:
                r["_when"] = parsedate_to_datetime(r["time"])
            except (TypeError, ValueError):
                continue
            items[r["docno"]] = r
    return items


def story(r: dict, group: str, *, sid: str | None = None, title: str | None = None,
          summary: str | None = None, url: str | None = None, source: str | None = None,
          when: datetime | None = None) -> dict:
    return {"id": sid or r["docno"], "title": r["title"] if title is None else title,
            "summary": r["abstract"] if summary is None else summary,
            "url": r["url"] if url is None else url, "source": source or r["src"],
            "published": (when or r["_when"]).isoformat(), "group": group}


def variants(base: dict, rng: random.Random) -> list[dict]:
    """Hand-made republications of one story (see module docstring)."""
    t, s, u = base["title"], base["summary"], base["url"]
    when = datetime.fromisoformat(base["published"])
    sep = "&" if "?" in u else "?"
    sentences = re.split(r"(?<=[.!؟])\s+", s.strip())
    dropped = " ".join(sentences[1:]) if len(sentences) > 1 else s.split("،", 1)[-1].strip()
    out = [
        dict(title="عاجل | " + t, summary=s, url=u + f"{sep}utm_source=twitter&utm_medium=social"),
        dict(title="بالفيديو: " + t, summary=s, url=u.replace("://www.", "://m.") + "#player"),
        dict(title=t + " - " + rng.choice(OUTLETS), summary=s, url=u + f"{sep}fbclid=IwAR0x"),
        dict(title="عام / " + t, summary=dropped, url="https://news.example.org/" +
             base["id"].lower() + "/amp"),
        dict(title=t, summary="(أ ف ب) - " + s, url="https://wire.example.net/a/" + base["id"]),
    ]
    chosen = rng.sample(out, 3)
    result = []
    for n, v in enumerate(chosen, 1):
        result.append({"id": f"{base['id']}~v{n}", "title": v["title"], "summary": v["summary"],
                       "url": v["url"], "source": f"desk-{rng.randint(1, 9)}",
                       "published": (when + timedelta(minutes=rng.randint(7, 53))).isoformat(),
                       "group": base["group"]})
    return result


def main() -> None:
    items = load()
    rng = random.Random(20180414)
    group_of = {doc: g for g, docs in GROUPS for doc in docs}
    chosen = list(SKRIPAL) + ["AL-internationalNews-913-20180414"]
    for doc, r in items.items():
        w = r["_when"]
        if (w.date().isoformat() == "2018-04-14" and w.hour * 60 + w.minute <= 11 * 60 + 20
                and STRIKE_WORDS.search(r["title"] + " " + r["abstract"][:110])):
            chosen.append(doc)
    missing = [d for d in group_of if d not in chosen]
    assert not missing, missing
    stories = [story(items[d], group_of.get(d, d)) for d in dict.fromkeys(chosen)]
    extra = []
    for base in rng.sample(stories, 40):
        extra.extend(variants(base, rng))
    stories.extend(extra)
    stories.sort(key=lambda s: (s["published"], s["id"]))
    with open(OUT, "w", encoding="utf-8") as f:
        for s in stories:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    print(f"wrote {len(stories)} stories ({len(extra)} variants) to {OUT}")


if __name__ == "__main__":
    main()
