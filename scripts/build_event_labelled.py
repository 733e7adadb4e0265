"""Build tests/data/events/: a labelled set for the event level, from the ANT corpus.

Run:  .venv/bin/python scripts/build_event_labelled.py

Source: ANT corpus v2.1 (../shared/data/corpora/antcorpus, Apache-2.0; Chouigui, Ben
Khiroun, Elayeb, AJSE 2021): five outlets' RSS items (title, abstract as the summary,
url, time), read through bench/antcorpus.py: stories published 10-20 May 2018 are
reserved for evaluation and are never read. Six days were read story by story (UTC
days: 14 and 17 March, 11 April, 12 June, 16 July, 20 October 2018):

* `GROUPS`: one event told by several outlets in their own words (a copy the outlet
  filed in two sections stays in: the copy level folds it). A story is put in a group
  only when a reader would call it the same event without hesitation: a profile, an
  analysis or a live page around the event is left out of the set, and so is an outlet's
  second story of one event (an event holds one story per outlet).
* `SINGLETONS`: hard negatives, each its own event: same people, same topic, same day,
  a different event (the Kremlin's denial vs Britain's expulsions vs Russia's vow to
  answer; Russia's expulsion of 23 British diplomats on 17 March vs Britain's of 23
  Russian ones on 14 March; Trump's praise of the Saudi statement vs the arrests vs the
  UN's call; the arrest of an attacker's family vs the attack; Trump's "missiles are
  coming" vs Russia's answer to it; Bayern's and Real Madrid's quarter-finals; two
  statements of one minister on two subjects). An analysis or a
  picture story around a labelled event is no hard negative (a reader may well call it
  the same event): three such stories (Sky News Arabia's "Skripal poisoned relations"
  and "Iran complicates the Helsinki talks", Al Arabiya's picture of Putin dressing
  before Helsinki) were taken out of the singletons when a review found them there.
  The groups' events are hard negatives of each other too: Saada's sheikhs vs the
  army's new front in Saada, Bayern's and Barcelona's Champions League nights.

Writes `labelled.jsonl` (`{"id", "title", "summary", "url", "source", "published",
"event"}`, `event` the first id of its group, in time order) and `distractors.jsonl.gz`
(every other ANT story of those days, same fields without `event`: they belong to no
labelled event, and the tests feed them in between).
"""
from __future__ import annotations

import gzip
import json
import sys
from datetime import timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ANT = ROOT.parent / "shared" / "data" / "corpora" / "antcorpus"
OUT = ROOT / "tests" / "data" / "events"

from bench.antcorpus import stories as ant_stories  # noqa: E402

DAYS = ("2018-03-14", "2018-03-17", "2018-04-11", "2018-06-12", "2018-07-16", "2018-10-20")

GROUPS: list[tuple[str, ...]] = [
    # 14 March 2018
    ("BB-technology-81-20180314", "FR-internationalNews-417-20180314"),  # Hawking dies
    ("SK-internationalNews-335-20180314", "AL-internationalNews-463-20180314",
     "FR-internationalNews-424-20180314"),  # Merkel elected for a fourth term
    ("SK-internationalNews-339-20180314", "AL-internationalNews-464-20180314",
     "FR-internationalNews-426-20180314"),  # the Philippines leave the ICC
    ("CN-technology-58-20180314", "AL-technology-101-20180314"),  # Microsoft data centres in the Gulf
    ("SK-economy-135-20180314", "AL-economy-237-20180314", "BB-economy-67-20180314"),  # Google bans crypto ads
    ("SK-sport-258-20180314", "AL-sport-628-20180314"),  # Carragher suspended
    ("SK-sport-264-20180314", "AL-sport-631-20180314", "CN-sport-104-20180314"),  # Bayern beat Besiktas
    ("CN-sport-105-20180314", "AL-sport-633-20180315", "SK-sport-266-20180314"),  # Messi, Barcelona beat Chelsea
    ("AL-sport-632-20180314", "SK-sport-262-20180314"),  # Juventus beat Atalanta
    ("AL-sport-612-20180314", "SK-sport-259-20180314"),  # Kane back next month
    ("AL-sport-615-20180314", "SK-sport-260-20180314"),  # Bayern's doctor on Guardiola
    ("SK-middleEast-290-20180314", "CN-middleEast-265-20180314", "BB-middleEast-191-20180314",
     "FR-internationalNews-428-20180314", "FR-middleEast-151-20180314"),  # Erdogan: Afrin encircled today
    ("AL-internationalNews-465-20180314", "BB-internationalNews-150-20180314",
     "FR-internationalNews-427-20180314", "CN-internationalNews-122-20180314",
     "SK-internationalNews-350-20180314"),  # Britain expels 23 Russian diplomats
    ("AL-internationalNews-468-20180314", "FR-internationalNews-431-20180314",
     "SK-internationalNews-345-20180314"),  # Moscow: a hostile act, we will answer soon
    ("AL-internationalNews-467-20180314", "SK-internationalNews-344-20180314"),  # Kremlin denies a role
    ("SK-sport-256-20180314", "CN-middleEast-263-20180314"),  # Ronaldo's message to Ghouta's children
    ("BB-sport-72-20180314", "AL-sport-611-20180314"),  # Mourinho on United's exit
    # 17 March 2018
    ("SK-internationalNews-399-20180317", "AL-internationalNews-508-20180317",
     "BB-internationalNews-170-20180317", "CN-internationalNews-135-20180317",
     "FR-internationalNews-477-20180317"),  # Russia expels 23 British diplomats
    ("AL-internationalNews-512-20180317", "SK-internationalNews-414-20180317",
     "CN-internationalNews-138-20180317"),  # London answers Moscow's expulsions
    ("SK-internationalNews-405-20180317", "AL-internationalNews-504-20180317",
     "FR-internationalNews-474-20180317"),  # Xi elected for a new term
    ("SK-internationalNews-406-20180317", "AL-internationalNews-505-20180317",
     "CN-internationalNews-134-20180317", "BB-internationalNews-172-20180317"),  # McCabe fired
    ("SK-technology-182-20180317", "BB-technology-87-20180317"),  # Facebook, Cambridge Analytica
    ("BB-middleEast-205-20180317", "CN-middleEast-286-20180317"),  # two Israeli soldiers killed, ramming
    ("SK-middleEast-354-20180317", "FR-internationalNews-491-20180317",
     "FR-middleEast-171-20180317"),  # the attacker's relatives arrested
    ("CN-sport-115-20180317", "AL-sport-697-20180317", "SK-sport-311-20180317",
     "FR-internationalNews-489-20180317", "FR-sport-43-20180317"),  # Salah's four goals
    ("AL-sport-681-20180317", "SK-sport-312-20180317"),  # Tottenham knock Swansea out
    ("BB-sport-76-20180317", "SK-sport-300-20180317"),  # FIFA lifts Iraq's ban
    ("AL-internationalNews-510-20180317", "SK-internationalNews-401-20180317"),  # Kabul, foreign company attacked
    ("CN-sport-110-20180317", "AL-sport-679-20180317"),  # Omar Al Somah on Al Ahli
    ("SK-sport-314-20180317", "AL-sport-690-20180317"),  # Valverde on the treble
    ("AL-internationalNews-513-20180317", "FR-internationalNews-490-20180317",
     "FR-middleEast-170-20180317"),  # Hamas closes a company, Hamdallah inquiry
    ("AL-internationalNews-515-20180317", "FR-internationalNews-487-20180317"),  # Sweden - North Korea talks
    ("AL-sport-693-20180317", "SK-sport-310-20180317"),  # Al Ahly and Wydad qualify
    ("SK-middleEast-364-20180317", "AL-internationalNews-514-20180317"),  # Kuwait - Philippines labour deal
    ("AL-sport-678-20180317", "SK-sport-315-20180317"),  # Zidane would have avoided Juventus
    ("FR-internationalNews-492-20180317", "SK-internationalNews-420-20180317"),  # Russia votes
    ("SK-middleEast-362-20180317", "FR-internationalNews-484-20180317",
     "FR-middleEast-168-20180317"),  # Syrian army takes two Ghouta towns
    # 11 April 2018
    ("SK-middleEast-926-20180411", "FR-internationalNews-673-20180411", "CN-internationalNews-236-20180411",
     "BB-middleEast-331-20180411"),  # Algerian military plane crash
    ("SK-middleEast-943-20180411", "CN-middleEast-574-20180411", "FR-internationalNews-677-20180411",
     "FR-middleEast-258-20180411", "BB-middleEast-330-20180411"),  # Trump: missiles are coming
    ("AL-internationalNews-875-20180411", "SK-middleEast-918-20180411", "FR-internationalNews-670-20180411",
     "FR-middleEast-255-20180411"),  # a Russian envoy in Tehran
    ("SK-middleEast-920-20180411", "CN-middleEast-566-20180411"),  # Eurocontrol warns airlines
    ("SK-middleEast-946-20180411", "BB-middleEast-329-20180411", "CN-middleEast-571-20180411"),  # WHO on Douma
    ("BB-internationalNews-322-20180411", "FR-internationalNews-672-20180411",
     "SK-technology-394-20180411"),  # Zuckerberg before the Senate
    ("AL-economy-424-20180411", "SK-economy-334-20180411"),  # Japan's rare-earth find
    ("AL-economy-427-20180411", "SK-economy-332-20180411"),  # Egypt's sovereign fund
    ("SK-technology-390-20180411", "AL-economy-428-20180411"),  # the UAE's blockchain strategy
    ("CN-middleEast-583-20180411", "FR-internationalNews-684-20180411", "SK-middleEast-948-20180411",
     "BB-middleEast-333-20180411"),  # missiles and drones over Saudi Arabia intercepted
    ("CN-sport-207-20180411", "AL-sport-1247-20180411", "SK-sport-662-20180411"),  # Salah's tweet on Kane's goal
    ("AL-sport-1250-20180411", "SK-sport-667-20180411"),  # PSG's sponsorship deals
    ("SK-middleEast-951-20180411", "AL-internationalNews-881-20180412"),  # Kuwait Airways stops Beirut flights
    ("AL-sport-1248-20180412", "SK-sport-664-20180411", "CN-sport-208-20180411"),  # Real Madrid past Juventus
    ("CN-sport-206-20180411", "SK-sport-660-20180411", "AL-sport-1231-20180411"),  # Roma's president in a fountain
    ("AL-sport-1251-20180411", "SK-sport-659-20180411"),  # UEFA charges Guardiola
    # 12 June 2018
    ("SK-internationalNews-2098-20180612", "AL-internationalNews-1572-20180612",
     "FR-internationalNews-1770-20180612"),  # Trump and Kim sign a document
    ("SK-economy-769-20180612", "BB-internationalNews-640-20180612"),  # Ivanka and Kushner's income
    ("AL-internationalNews-1578-20180612", "SK-middleEast-2334-20180612"),  # Netanyahu questioned, submarines
    ("AL-internationalNews-1581-20180612", "FR-internationalNews-1777-20180612"),  # Macron on Italy's migrant ship
    ("BB-internationalNews-643-20180612", "AL-internationalNews-1583-20180612",
     "SK-internationalNews-2107-20180612"),  # Paris hostage taking
    ("SK-economy-770-20180612", "AL-economy-815-20180612"),  # Egypt's new electricity prices
    ("AL-culture-487-20180612", "BB-culture-198-20180612"),  # the film Karma allowed
    ("SK-middleEast-2327-20180612", "FR-internationalNews-1774-20180612",
     "FR-middleEast-621-20180612"),  # reinforcements near Hodeidah
    # 16 July 2018
    ("SK-internationalNews-2659-20180716", "AL-internationalNews-1954-20180716"),  # Helsinki: a minefield
    ("FR-internationalNews-2337-20180716", "SK-internationalNews-2669-20180716",
     "BB-internationalNews-820-20180716"),  # Helsinki press conference
    ("AL-internationalNews-1955-20180716", "AL-technology-355-20180716",
     "FR-internationalNews-2330-20180716"),  # Putin: 25 million cyber attacks
    ("FR-internationalNews-2327-20180716", "FR-middleEast-771-20180716",
     "SK-middleEast-2921-20180716"),  # Israeli strike near Aleppo
    ("AL-economy-1031-20180716", "BB-middleEast-742-20180716"),  # Egyptian citizenship for a deposit
    ("AL-internationalNews-1960-20180716", "SK-middleEast-2928-20180716"),  # Saada's sheikhs
    ("AL-internationalNews-1963-20180716", "SK-middleEast-2930-20180716"),  # new front in Saada
    ("SK-internationalNews-2679-20180716", "AL-internationalNews-1966-20180717"),  # a Brexit resignation
    # 20 October 2018
    ("SK-middleEast-3964-20181020", "SK-middleEast-3970-20181020",
     "CN-middleEast-1633-20181020"),  # Trump: the Saudi statement is credible
    ("BB-middleEast-1131-20181020", "CN-middleEast-1634-20181020"),  # who is Ahmed Asiri
    ("SK-middleEast-3969-20181020", "CN-middleEast-1635-20181020"),  # Saudi Arabia: death, 18 held
]

SINGLETONS: tuple[str, ...] = (
    "CN-internationalNews-121-20180314", "AL-internationalNews-470-20180315",
    "SK-middleEast-273-20180314", "AL-internationalNews-466-20180314",
    "CN-internationalNews-136-20180317",
    "SK-internationalNews-422-20180317", "SK-sport-304-20180317",
    "SK-internationalNews-2672-20180716", "SK-internationalNews-2673-20180716",
    "SK-internationalNews-2660-20180716", "AL-internationalNews-1958-20180716",
    "FR-internationalNews-1772-20180612", "AL-internationalNews-1588-20180613",
    "SK-internationalNews-2109-20180612", "AL-internationalNews-1575-20180612",
    "SK-middleEast-942-20180411", "SK-middleEast-968-20180411", "SK-sport-663-20180411",
    "AL-internationalNews-876-20180411", "SK-middleEast-941-20180411",
    "CN-middleEast-1632-20181020", "CN-middleEast-1637-20181020",
    "CN-middleEast-1639-20181020", "SK-middleEast-3965-20181020",
)


def record(doc: dict, when) -> dict:
    return {"id": doc["docno"], "title": doc.get("title") or "", "summary": doc.get("abstract") or "",
            "url": doc.get("url") or "", "source": doc["src"], "published": when.isoformat()}


def main() -> int:
    event_of = {docno: group[0] for group in GROUPS for docno in group}
    event_of.update({docno: docno for docno in SINGLETONS})
    assert len(event_of) == sum(map(len, GROUPS)) + len(SINGLETONS), "a story is in two groups"
    labelled, distractors = [], []
    for path in sorted(ANT.glob("*.jsonl.gz")):
        for doc in ant_stories(path):
            when = parsedate_to_datetime(doc["time"]).astimezone(timezone.utc)
            if when.strftime("%Y-%m-%d") not in DAYS and doc["docno"] not in event_of:
                continue
            rec = record(doc, when)
            if doc["docno"] in event_of:
                labelled.append(dict(rec, event=event_of[doc["docno"]]))
            else:
                distractors.append(rec)
    missing = set(event_of) - {r["id"] for r in labelled}
    assert not missing, f"not found: {sorted(missing)}"
    labelled.sort(key=lambda r: (r["published"], r["id"]))
    distractors.sort(key=lambda r: (r["published"], r["id"]))
    for event in {r["event"] for r in labelled}:
        first = min((r for r in labelled if r["event"] == event), key=lambda r: (r["published"], r["id"]))
        for r in labelled:
            if r["event"] == event:
                r["event"] = first["id"]
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "labelled.jsonl", "w", encoding="utf-8") as fh:
        for r in labelled:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    with gzip.GzipFile(OUT / "distractors.jsonl.gz", "wb", mtime=0) as gz:
        gz.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in distractors).encode("utf-8"))
    print(f"{len(labelled)} labelled stories in {len(GROUPS)} groups and {len(SINGLETONS)} singletons, "
          f"{len(distractors)} distractors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
