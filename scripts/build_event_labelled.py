"""Build tests/data/events/: a labelled set for the event level, from the ANT corpus.

Run:  .venv/bin/python scripts/build_event_labelled.py

Source: ANT corpus v2.1 (../shared/data/corpora/antcorpus, Apache-2.0; Chouigui, Ben
Khiroun, Elayeb, AJSE 2021): five outlets' RSS items (title, abstract as the summary,
url, time), read through bench/antcorpus.py: stories published 10-20 May 2018 are
reserved for evaluation and are never read. Nineteen days were read story by story
(UTC days of 2018, `DAYS`): six first (14 and 17 March, 11 April, 12 June, 16 July, 20
October), then thirteen more so that thresholds can be chosen on some days and measured
on others (26 January; 20 and 27 February; 5 and 26 March; 4 and 24 April; 7 and 27 May;
5 June; 10 July; 14 August; 11 September). For the thirteen, every story of the day was
read in groups of candidates (stories of two outlets sharing words, title, abstract and
the text's first sixty words, at a cosine far below the event level's: a wide net, not
the method under test) and the titles, abstracts and, where needed, the text decided:

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
  army's new front in Saada, Bayern's and Barcelona's Champions League nights. The
  thirteen later days add the kinds desks meet most: a statement and its reply
  (Washington's answer to Abbas's speech, Ankara's to Prague freeing Saleh Muslim,
  Nasrallah's to Hariri, Tusk's to Trump), two stages of one tournament or story line
  (a match's preview and its result: Chelsea-Barcelona, France-Belgium; Liverpool's and
  Barcelona's quarter-finals; Abbas to speak and Abbas's speech; the cave rescue begun
  and ended; the Holy Sepulchre's taxes frozen and the church reopened), the same place
  with another incident (two fronts in Saada, missiles at Marib and at Jazan, two
  shootings in Pakistan, three Davos stories) and recurring templates told of other
  actors ("Kuwait/Bahrain/Qatar/Washington/Guterres/Amnesty condemns the Houthi
  missiles", UEFA's bans of Buffon and of Guardiola, Egypt's parliament passing two
  other bills, Human Rights Watch on Sinai and on Jordan, two diet studies).

Writes `labelled.jsonl` (`{"id", "title", "summary", "url", "source", "published",
"event"}`, `event` the first id of its group, in time order) and `distractors.jsonl.gz`
(every other ANT story of those days, same fields without `event`: they belong to no
labelled event, and the tests feed them in between).
"""
from __future__ import annotations

import gzip
import json
import sys
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ANT = ROOT.parent / "shared" / "data" / "corpora" / "antcorpus"
OUT = ROOT / "tests" / "data" / "events"

from bench.antcorpus import stories as ant_stories  # noqa: E402

DAYS = ("2018-01-26", "2018-02-20", "2018-02-27", "2018-03-05", "2018-03-14", "2018-03-17", "2018-03-26",
        "2018-04-04", "2018-04-11", "2018-04-24", "2018-05-07", "2018-05-27", "2018-06-05", "2018-06-12",
        "2018-07-10", "2018-07-16", "2018-08-14", "2018-09-11", "2018-10-20")

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
    # 20 February 2018
    ("AL-sport-142-20180221", "CN-sport-30-20180220", "SK-sport-53-20180220"),  # Chelsea 1-1 Barcelona
    ("SK-internationalNews-48-20180220", "BB-middleEast-55-20180220"),  # Iran: police and dervishes clash
    ("BB-middleEast-53-20180220", "CN-middleEast-36-20180220", "FR-internationalNews-33-20180220",
     "FR-middleEast-27-20180220"),  # Turkey warns Damascus off Afrin
    ("CN-middleEast-43-20180220", "BB-middleEast-62-20180220"),  # pro-government forces reach Afrin
    ("AL-internationalNews-115-20180220", "FR-internationalNews-37-20180220",
     "FR-middleEast-28-20180220"),  # Abbas to address the Security Council (before)
    ("AL-internationalNews-126-20180220", "CN-middleEast-42-20180220",
     "BB-middleEast-59-20180220"),  # Abbas's speech: an international peace conference
    ("SK-sport-41-20180220", "AL-sport-124-20180220"),  # Drogba's son joins Guingamp
    ("FR-internationalNews-31-20180220", "FR-middleEast-26-20180220", "CN-middleEast-32-20180220",
     "BB-middleEast-54-20180220"),  # over 100 killed in Ghouta
    ("CN-middleEast-35-20180220", "BB-middleEast-63-20180220"),  # Khaled Ali resigns from his party
    ("FR-internationalNews-32-20180220", "FR-middleEast-25-20180220", "SK-internationalNews-44-20180220",
     "BB-middleEast-56-20180220"),  # the Iranian airliner's wreckage found
    ("CN-middleEast-44-20180220", "BB-middleEast-60-20180220"),  # Moscow: dozens of Russians hurt in Syria
    ("AL-sport-138-20180220", "CN-sport-25-20180220"),  # Coutinho's house burgled
    ("SK-sport-51-20180220", "AL-sport-134-20180220"),  # Modric and Marcelo may miss Paris
    ("AL-sport-136-20180220", "CN-sport-26-20180220"),  # Esteghlal beat Al Hilal
    ("SK-internationalNews-63-20180220", "AL-internationalNews-139-20180221"),  # Mueller charges a lawyer
    # 27 February 2018
    ("BB-middleEast-103-20180227", "CN-middleEast-116-20180227"),  # Russia's veto on Iran and Yemen
    ("SK-middleEast-115-20180227", "AL-internationalNews-255-20180227", "BB-middleEast-108-20180227",
     "CN-middleEast-127-20180227"),  # Israel suspends the churches' taxes
    ("SK-middleEast-134-20180227", "AL-internationalNews-261-20180228"),  # the Holy Sepulchre reopens
    ("SK-sport-138-20180227", "AL-sport-283-20180227"),  # Neymar's fracture
    ("SK-sport-146-20180227", "BB-sport-53-20180227", "CN-sport-51-20180227"),  # Neymar's slim chance
    ("AL-sport-302-20180228", "SK-sport-155-20180227"),  # Espanyol beat Real Madrid
    ("AL-internationalNews-250-20180227", "SK-internationalNews-162-20180227"),  # far-right terror threat
    ("CN-middleEast-120-20180227", "BB-middleEast-110-20180227",
     "SK-middleEast-131-20180227"),  # Ghouta shelled despite the Russian pause
    ("AL-sport-287-20180227", "SK-sport-131-20180227"),  # Lukaku's all-star match
    ("SK-internationalNews-156-20180227", "AL-internationalNews-243-20180227"),  # Prague frees Saleh Muslim
    ("AL-sport-282-20180227", "SK-sport-145-20180227"),  # Buffon ready to return
    ("AL-internationalNews-242-20180227", "BB-middleEast-106-20180227"),  # Sudan's new chief of staff
    ("SK-middleEast-116-20180227", "CN-middleEast-118-20180227"),  # North Korea's shipments to Syria
    ("CN-sport-53-20180227", "SK-sport-144-20180227"),  # UEFA's new rules
    # 5 March 2018
    ("BB-internationalNews-100-20180305", "FR-internationalNews-257-20180305"),  # Italy's exit polls
    ("AL-culture-130-20180305", "BB-culture-61-20180305", "FR-culture-22-20180305",
     "FR-internationalNews-258-20180305"),  # the Oscars
    ("AL-economy-166-20180305", "BB-middleEast-134-20180305"),  # Sinai land for Neom
    ("AL-internationalNews-355-20180305", "CN-internationalNews-67-20180305"),  # US embassy in Ankara shut
    ("BB-middleEast-133-20180305", "FR-internationalNews-261-20180305",
     "FR-middleEast-107-20180305"),  # an aid convoy enters Ghouta
    ("FR-internationalNews-272-20180305", "FR-middleEast-110-20180305"),  # the convoy leaves under fire
    ("FR-internationalNews-260-20180305", "FR-middleEast-105-20180305", "BB-middleEast-135-20180305",
     "CN-middleEast-183-20180305"),  # Saddam's assets seized
    ("FR-internationalNews-263-20180305", "CN-internationalNews-66-20180305"),  # Seoul's envoys in Pyongyang
    ("CN-sport-69-20180305", "BB-sport-61-20180305"),  # Salah, player of the month
    ("AL-sport-435-20180305", "CN-sport-72-20180305"),  # Al Gharafa hold Al Ahli
    # 26 March 2018
    ("AL-internationalNews-622-20180326", "SK-middleEast-556-20180326",
     "CN-middleEast-377-20180326"),  # Kuwait condemns the Houthi missiles
    ("SK-middleEast-560-20180326", "AL-internationalNews-624-20180326"),  # London: Iran, stop arming them
    ("BB-middleEast-251-20180326", "AL-internationalNews-647-20180327"),  # London asks for an inquiry
    ("CN-middleEast-375-20180326", "SK-middleEast-563-20180326"),  # Bahrain condemns
    ("AL-internationalNews-637-20180326", "CN-middleEast-387-20180326"),  # the coalition shows Iran's missiles
    ("SK-internationalNews-603-20180326", "BB-internationalNews-231-20180326",
     "AL-internationalNews-634-20180326", "CN-internationalNews-184-20180326"),  # Russian diplomats expelled
    ("BB-middleEast-253-20180326", "SK-middleEast-579-20180326"),  # Egypt's first polling day closes
    ("SK-internationalNews-591-20180326", "AL-internationalNews-625-20180326",
     "CN-internationalNews-182-20180326"),  # Kemerovo mall fire
    ("SK-internationalNews-595-20180326", "AL-internationalNews-626-20180326"),  # Netanyahu questioned again
    ("SK-middleEast-568-20180326", "AL-internationalNews-642-20180326"),  # "rock bombs"
    ("AL-sport-880-20180326", "SK-sport-440-20180326"),  # Uruguay beat Wales
    ("CN-sport-151-20180326", "AL-sport-892-20180326", "SK-sport-441-20180326",
     "FR-sport-52-20180326"),  # Elneny's new Arsenal contract
    ("SK-middleEast-574-20180326", "CN-middleEast-386-20180326"),  # Qatari jets near UAE airliners
    # 4 April 2018
    ("SK-economy-273-20180404", "CN-economy-75-20180404", "BB-economy-91-20180404"),  # China's tariffs on $50bn
    ("SK-sport-567-20180404", "AL-sport-1101-20180405"),  # Liverpool 3-0 Manchester City (the night's
    # round-ups, CNN's and the BBC's, tell both quarter-finals: left out)
    ("AL-sport-1098-20180405", "SK-sport-568-20180404"),  # Barcelona 4-1 Roma
    ("SK-sport-564-20180404", "AL-sport-1079-20180404"),  # Klopp on Lallana
    ("SK-internationalNews-776-20180404", "CN-internationalNews-214-20180404",
     "AL-internationalNews-783-20180404", "BB-internationalNews-287-20180404"),  # the OPCW meets on Skripal
    ("AL-internationalNews-788-20180404", "SK-internationalNews-792-20180404"),  # Moscow asks for the UNSC
    ("SK-internationalNews-774-20180404", "BB-internationalNews-288-20180404"),  # Eurocontrol's fault
    ("CN-internationalNews-215-20180404", "SK-internationalNews-775-20180404"),  # Marine helicopter crash
    ("SK-internationalNews-782-20180404", "BB-internationalNews-289-20180404"),  # the YouTube shooter's motive
    ("AL-internationalNews-780-20180404", "SK-middleEast-777-20180404"),  # the UAE complains of Qatar
    ("FR-middleEast-199-20180404", "SK-middleEast-770-20180404"),  # the Ankara summit opens
    ("SK-internationalNews-779-20180404", "CN-middleEast-477-20180404",
     "BB-middleEast-286-20180404"),  # Putin: IS still dangerous
    ("FR-middleEast-197-20180404", "CN-middleEast-481-20180404"),  # the summit's statement
    ("CN-middleEast-484-20180404", "BB-culture-98-20180404"),  # Saudi Arabia's first cinema licence
    ("SK-economy-276-20180404", "CN-economy-74-20180404", "BB-economy-93-20180404"),  # Bahrain's oil field
    ("AL-technology-142-20180404", "SK-technology-331-20180404"),  # NASA's quiet supersonic plane
    ("AL-sport-1081-20180404", "SK-sport-566-20180404"),  # Ray Wilkins dies
    ("SK-middleEast-775-20180404", "CN-middleEast-483-20180404",
     "BB-middleEast-289-20180404"),  # US troops stay in Syria a while
    ("AL-internationalNews-790-20180404", "SK-middleEast-779-20180404"),  # the Nile dam talks in Khartoum
    ("AL-sport-1095-20180404", "SK-sport-570-20180404"),  # Milan 0-0 Inter
    # 24 April 2018
    ("BB-middleEast-395-20180424", "FR-internationalNews-887-20180424",
     "FR-middleEast-350-20180424"),  # Human Rights Watch on Sinai
    ("BB-middleEast-394-20180424", "CN-middleEast-707-20180424"),  # Abdulmalik al-Houthi vows revenge
    ("SK-sport-853-20180424", "CN-sport-245-20180424", "BB-sport-127-20180424"),  # Liverpool 5-2 Roma
    ("SK-sport-844-20180424", "BB-sport-125-20180424"),  # Di Francesco before the match
    ("SK-technology-493-20180424", "BB-technology-168-20180424"),  # the soldier's transplant
    ("SK-internationalNews-1123-20180424", "AL-technology-202-20180424"),  # Facebook removes IS content
    ("FR-internationalNews-885-20180424", "BB-internationalNews-395-20180424",
     "CN-internationalNews-279-20180424"),  # Toronto: the van driver held
    ("SK-internationalNews-1139-20180424", "BB-internationalNews-398-20180424",
     "FR-internationalNews-901-20180424", "CN-middleEast-710-20180424"),  # Trump: Iran deal terrible
    ("SK-internationalNews-1145-20180424", "FR-internationalNews-903-20180424",
     "CN-middleEast-714-20180424"),  # Macron and Trump: a wider deal
    ("SK-internationalNews-1132-20180424", "BB-middleEast-396-20180424"),  # Rouhani warns Trump
    ("SK-middleEast-1231-20180424", "CN-middleEast-713-20180424"),  # Jubeir on Qatar paying
    ("SK-middleEast-1208-20180424", "CN-middleEast-708-20180424"),  # Lavrov: the US will not leave Syria
    ("BB-middleEast-397-20180424", "SK-middleEast-1222-20180424", "FR-internationalNews-898-20180424",
     "FR-middleEast-352-20180424"),  # Hisham Geneina sentenced
    ("FR-internationalNews-895-20180424", "FR-sport-76-20180424", "SK-sport-850-20180424",
     "BB-sport-126-20180424"),  # Henri Michel dies
    ("BB-middleEast-402-20180424", "SK-middleEast-1229-20180424"),  # Israel drops the deportations
    ("BB-internationalNews-396-20180424", "SK-internationalNews-1144-20180424"),  # the Korean summit's menu
    # 7 May 2018
    ("AL-internationalNews-1038-20180507", "SK-internationalNews-1414-20180507"),  # Trump-Kim in Singapore
    ("AL-internationalNews-1041-20180507", "BB-middleEast-463-20180507"),  # London urges Trump to stay
    ("SK-internationalNews-1419-20180507", "AL-internationalNews-1042-20180507"),  # Paris and Berlin stay
    ("CN-middleEast-832-20180507", "SK-internationalNews-1422-20180507"),  # Trump on Kerry's "shadow diplomacy"
    ("SK-internationalNews-1426-20180507", "CN-middleEast-834-20180507"),  # Trump gives his decision's date
    ("SK-middleEast-1482-20180507", "CN-middleEast-830-20180507",
     "AL-internationalNews-1045-20180507"),  # Hariri: 21 seats
    ("BB-economy-126-20180507", "SK-economy-490-20180507"),  # Air France may disappear
    ("SK-middleEast-1476-20180507", "AL-internationalNews-1037-20180507",
     "CN-middleEast-828-20180507"),  # "US Embassy" signs in Jerusalem
    ("SK-internationalNews-1427-20180507", "CN-middleEast-835-20180507"),  # the embassy opening's delegation
    ("FR-internationalNews-1116-20180507", "FR-middleEast-418-20180507",
     "CN-middleEast-826-20180507"),  # Amnesty on Egypt's solitary confinement
    ("SK-middleEast-1480-20180507", "CN-middleEast-829-20180507", "BB-middleEast-464-20180507",
     "AL-internationalNews-1047-20180507"),  # Steinitz threatens Assad
    ("FR-internationalNews-1115-20180507", "SK-internationalNews-1415-20180507",
     "AL-internationalNews-1040-20180507"),  # Putin sworn in
    ("SK-sport-1050-20180507", "AL-sport-1450-20180507"),  # the final's referee
    ("SK-sport-1054-20180507", "SK-sport-1089-20180507", "AL-sport-1453-20180507"),  # Ribery extends
    ("SK-technology-600-20180507", "SK-technology-628-20180507",
     "AL-technology-228-20180507"),  # the WhatsApp "text bomb"
    # 27 May 2018
    ("AL-internationalNews-1348-20180527", "FR-internationalNews-1466-20180527",
     "SK-internationalNews-1805-20180527"),  # Moon: Kim hopes the summit ends the standoff
    ("CN-internationalNews-407-20180527", "SK-internationalNews-1814-20180527",
     "FR-internationalNews-1483-20180527", "AL-internationalNews-1359-20180527"),  # US officials in the North
    ("SK-internationalNews-1801-20180527", "SK-internationalNews-1804-20180527",
     "FR-internationalNews-1468-20180527"),  # storm Alberto: emergency declared
    ("AL-internationalNews-1349-20180527", "SK-middleEast-1973-20180527", "CN-middleEast-1030-20180527",
     "FR-internationalNews-1473-20180527", "FR-middleEast-536-20180527"),  # two killed by tank fire in Gaza
    ("SK-middleEast-1975-20180527", "CN-middleEast-1031-20180527", "BB-middleEast-541-20180527",
     "FR-internationalNews-1478-20180527", "FR-middleEast-538-20180527"),  # Russians killed in Deir ez-Zor
    ("CN-sport-310-20180527", "AL-sport-1719-20180527", "SK-sport-1359-20180527",
     "FR-internationalNews-1482-20180527", "FR-sport-117-20180527"),  # Salah: I will be in Russia
    ("SK-sport-1360-20180527", "AL-sport-1723-20180527", "CN-sport-312-20180527"),  # Sisi called Salah
    ("SK-sport-1351-20180527", "AL-sport-1712-20180527"),  # Klopp on Ramos
    ("SK-sport-1350-20180527", "CN-sport-305-20180527"),  # Ramos's message to Salah
    ("SK-sport-1363-20180527", "AL-sport-1726-20180528"),  # Real Madrid's parade
    ("SK-middleEast-1976-20180527", "AL-internationalNews-1351-20180527",
     "CN-middleEast-1033-20180527"),  # Abbas stays in hospital
    ("FR-economy-41-20180527", "FR-internationalNews-1467-20180527", "BB-economy-145-20180527",
     "CN-economy-128-20180527"),  # Qatar bans the boycotting states' goods
    ("SK-middleEast-1977-20180527", "FR-internationalNews-1484-20180527"),  # Libya's rivals to meet in Paris
    ("SK-sport-1355-20180527", "FR-internationalNews-1479-20180527",
     "FR-sport-116-20180527"),  # Dimitrov beats Safwat
    ("FR-internationalNews-1485-20180527", "SK-internationalNews-1816-20180527"),  # Conte gives up
    # 5 June 2018
    ("AL-internationalNews-1483-20180605", "SK-internationalNews-1984-20180605"),  # Trump appeals the Twitter ruling
    ("FR-internationalNews-1647-20180605", "FR-sport-135-20180605",
     "SK-sport-1483-20180605"),  # Tunisia's coach admits the iftar trick
    ("SK-sport-1487-20180605", "FR-internationalNews-1654-20180605", "FR-sport-136-20180605",
     "AL-sport-1838-20180606"),  # Iran first to arrive in Russia
    ("AL-internationalNews-1486-20180605", "CN-middleEast-1116-20180605",
     "SK-middleEast-2166-20180605"),  # Razzaz asked to form a government
    ("BB-middleEast-582-20180605", "AL-internationalNews-1494-20180606"),  # Jordan's protests go on
    ("SK-middleEast-2174-20180605", "CN-middleEast-1121-20180605", "FR-internationalNews-1653-20180605",
     "FR-middleEast-588-20180605"),  # Egypt's government resigns
    ("CN-middleEast-1114-20180605", "SK-middleEast-2162-20180605"),  # a missile at Yanbu intercepted
    ("AL-sport-1830-20180605", "SK-sport-1484-20180605"),  # UEFA bans Buffon
    ("SK-sport-1485-20180605", "AL-sport-1833-20180605"),  # Ramos denies hurting Salah on purpose
    ("SK-internationalNews-1971-20180605", "CN-internationalNews-435-20180605"),  # Putin's Austrian interview
    ("SK-middleEast-2158-20180605", "CN-middleEast-1113-20180605"),  # Amnesty on Raqqa
    ("CN-middleEast-1115-20180605", "SK-internationalNews-1977-20180605", "BB-middleEast-586-20180605",
     "FR-internationalNews-1651-20180605", "FR-middleEast-587-20180605"),  # Iran to raise enrichment
    ("FR-culture-90-20180605", "FR-internationalNews-1644-20180605",
     "BB-culture-189-20180605"),  # a Van Gogh sold in Paris
    ("SK-sport-1482-20180605", "AL-sport-1826-20180605"),  # FIFA's complaint against Viagogo
    ("AL-economy-749-20180605", "SK-economy-731-20180605"),  # Egypt's parliament passes the budget
    ("AL-sport-1831-20180605", "SK-sport-1486-20180605"),  # Arsenal sign Lichtsteiner
    ("SK-economy-733-20180605", "AL-economy-752-20180605"),  # Abu Dhabi's 50 billion dirhams
    ("AL-internationalNews-1493-20180606", "CN-middleEast-1122-20180605"),  # Hariri on the crown prince
    ("AL-sport-1836-20180606", "SK-sport-1489-20180605"),  # Argentina call off Israel
    # 10 July 2018
    ("SK-sport-2121-20180710", "AL-sport-2301-20180710", "FR-internationalNews-2246-20180710",
     "FR-sport-242-20180710"),  # France beat Belgium (the semi-final)
    ("BB-sport-274-20180710", "FR-internationalNews-2235-20180710",
     "FR-sport-240-20180710"),  # France and Belgium tonight (before the semi-final)
    ("SK-sport-2108-20180710", "AL-sport-2294-20180710"),  # Torres to Sagan Tosu
    ("SK-sport-2110-20180710", "AL-sport-2296-20180710", "FR-internationalNews-2242-20180710",
     "FR-sport-241-20180710", "BB-sport-275-20180710"),  # Ronaldo to Juventus
    ("SK-sport-2102-20180710", "AL-sport-2290-20180710"),  # Sampaoli stays
    ("FR-internationalNews-2247-20180710", "AL-internationalNews-1886-20180711",
     "SK-internationalNews-2576-20180710"),  # Peshawar rally bombing
    ("SK-middleEast-2834-20180710", "BB-middleEast-718-20180710"),  # IS claims the Daraa attack
    ("SK-internationalNews-2556-20180710", "FR-internationalNews-2232-20180710"),  # Kavanaugh named
    ("SK-internationalNews-2561-20180710", "FR-internationalNews-2233-20180710"),  # Japan's floods
    ("SK-internationalNews-2563-20180710", "BB-internationalNews-776-20180710",
     "FR-internationalNews-2234-20180710"),  # the cave: the last rescue begins
    ("SK-internationalNews-2568-20180710", "FR-internationalNews-2238-20180710",
     "BB-internationalNews-778-20180710"),  # the cave: all out
    ("SK-economy-940-20180710", "FR-economy-62-20180710", "FR-internationalNews-2240-20180710"),  # China's loans
    ("SK-economy-941-20180710", "AL-economy-992-20180710"),  # Kuwait's emir at the China forum
    ("AL-economy-989-20180710", "SK-internationalNews-2570-20180710"),  # Turkish bonds fall
    ("SK-internationalNews-2574-20180710", "FR-internationalNews-2245-20180710"),  # Trump wants NATO arrears
    # 14 August 2018
    ("SK-middleEast-3401-20180814", "CN-middleEast-1209-20180814",
     "CN-middleEast-1211-20180814"),  # King Salman receives Sisi in Neom
    ("SK-middleEast-3380-20180814", "CN-middleEast-1198-20180814"),  # Pompeo calls the crown prince
    ("SK-middleEast-3382-20180814", "CN-middleEast-1197-20180814",
     "CN-middleEast-1229-20180814"),  # the Hajj security parade
    ("BB-sport-313-20180814", "SK-sport-2482-20180814"),  # Salah's phone at the wheel
    ("SK-middleEast-3381-20180814", "BB-middleEast-887-20180814"),  # UN: up to 30,000 IS fighters left
    ("CN-internationalNews-493-20180814", "CN-internationalNews-500-20180814",
     "SK-internationalNews-3008-20180814"),  # Trump insults Omarosa
    ("CN-economy-174-20180814", "CN-economy-199-20180814", "SK-internationalNews-2986-20180814",
     "BB-internationalNews-970-20180814", "FR-internationalNews-2714-20180814",
     "FR-middleEast-928-20180814"),  # Erdogan: boycott US electronics
    ("CN-internationalNews-486-20180814", "CN-internationalNews-507-20180814",
     "SK-internationalNews-3001-20180814"),  # Turkey lets US diplomats visit Brunson
    ("SK-middleEast-3403-20180814", "FR-internationalNews-2716-20180814",
     "FR-middleEast-929-20180814"),  # Cavusoglu and Lavrov on Idlib
    ("SK-economy-1181-20180814", "BB-economy-216-20180814",
     "FR-internationalNews-2708-20180814"),  # Vienna, the most liveable city
    ("SK-economy-1179-20180814", "CN-economy-185-20180814", "CN-economy-198-20180814"),  # SNC-Lavalin hit
    ("SK-internationalNews-2988-20180814", "CN-internationalNews-480-20180814",
     "CN-internationalNews-510-20180814", "FR-internationalNews-2696-20180814",
     "BB-internationalNews-963-20180814"),  # a car hits Westminster's barriers
    ("FR-internationalNews-2707-20180814", "FR-sport-294-20180814",
     "SK-sport-2492-20180814"),  # La Liga free on Facebook
    ("SK-internationalNews-3002-20180814", "CN-internationalNews-495-20180814",
     "CN-internationalNews-499-20180814"),  # cars torched in Sweden
    ("SK-internationalNews-3005-20180814", "SK-internationalNews-3007-20180814",
     "FR-internationalNews-2709-20180814", "CN-internationalNews-489-20180814",
     "CN-internationalNews-505-20180814"),  # Genoa's bridge collapses
    ("BB-technology-356-20180814", "SK-technology-1328-20180814"),  # e-cigarettes and immune cells
    # 11 September 2018
    ("CN-internationalNews-597-20180911", "BB-internationalNews-1079-20180911",
     "SK-internationalNews-3209-20180911"),  # Russia's Vostok drills begin
    ("CN-middleEast-1349-20180911", "SK-middleEast-3627-20180911",
     "BB-middleEast-994-20180911"),  # the SDF attack IS's last pocket
    ("SK-internationalNews-3205-20180911", "BB-internationalNews-1082-20180911"),  # Ethiopia-Eritrea border opens
    ("CN-economy-303-20180911", "SK-economy-1316-20180911"),  # the SEC suspends two crypto notes
    ("CN-internationalNews-604-20180911", "BB-internationalNews-1084-20180911"),  # the ICC answers Bolton
    ("SK-middleEast-3634-20180911", "BB-middleEast-993-20180911"),  # MENA's site hacked
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
    # 20 February 2018: the match's previews, the Asian Champions League's other matches, the
    # Afrin day's other statements, Washington's answer to Abbas, Gates's two remarks,
    # Florida's two stories, Al Hilal's coach sacked after the defeat
    "CN-sport-24-20180220", "SK-sport-44-20180220", "AL-sport-139-20180220", "CN-sport-27-20180220",
    "CN-internationalNews-22-20180220", "CN-middleEast-40-20180220", "AL-internationalNews-129-20180221",
    "AL-economy-60-20180220", "SK-technology-39-20180220", "FR-internationalNews-35-20180220",
    "CN-internationalNews-21-20180220", "AL-sport-146-20180221",
    # 27 February 2018: the church accounts seized before the climb-down, Ronaldo rested before
    # the defeat, Neymar and Brazil's squad, Washington on Russia's role; Turkey's answers to
    # Prague, Muslim's own answer and Prague's reply to Ankara (statement and reply)
    "SK-middleEast-97-20180227", "SK-sport-147-20180227", "SK-sport-153-20180227",
    "SK-middleEast-114-20180227", "CN-middleEast-121-20180227", "BB-middleEast-107-20180227",
    "SK-middleEast-117-20180227", "AL-internationalNews-259-20180228",
    # 5 March 2018: Salvini's claim after the vote, two other moments of the crown prince's
    # Cairo visit, Khairy Ramadan held and then freed (two stages)
    "FR-internationalNews-265-20180305", "CN-middleEast-187-20180305", "CN-middleEast-185-20180305",
    "CN-middleEast-178-20180305", "BB-middleEast-136-20180305",
    # 26 March 2018: the template "X condemns the Houthi missiles" told of other speakers
    # (Qatar, Washington, Guterres, Amnesty, Yemen's government, Gargash), another missile
    # at Marib; Moscow's answer to the expulsions; Puigdemont's arrest protested and his
    # detention ordered; another friendly's result
    "CN-middleEast-383-20180326", "CN-middleEast-381-20180326", "SK-middleEast-573-20180326",
    "SK-middleEast-576-20180326", "AL-internationalNews-627-20180326", "AL-internationalNews-631-20180326",
    "AL-internationalNews-630-20180326", "SK-internationalNews-602-20180326",
    "BB-internationalNews-230-20180326", "SK-internationalNews-605-20180326", "AL-sport-895-20180327",
    # 4 April 2018: Beijing's warning before its tariffs, the quarter-final's other match the
    # night before, Moscow's demands after the lab's finding, another US military crash
    # (same template, another incident), two answers to the tanker attack, two missiles at
    # two places
    "SK-economy-268-20180404", "SK-sport-560-20180404", "SK-internationalNews-784-20180404",
    "SK-internationalNews-791-20180404", "SK-internationalNews-789-20180404", "SK-economy-275-20180404",
    "AL-internationalNews-786-20180404", "AL-internationalNews-787-20180404", "SK-middleEast-778-20180404",
    # 24 April 2018: the same watchdog's report on Jordan, Klopp's word before the match,
    # Tehran's NPT threat beside Rouhani's warning
    "BB-middleEast-398-20180424", "BB-sport-124-20180424", "CN-middleEast-712-20180424",
    # 7 May 2018: Rouhani among the other voices on the nuclear deal, two Saada fronts
    # (same place, other fighting), Nasrallah's reply to Hariri, Paraguay's embassy, UEFA's
    # other announcement, WhatsApp's other news
    "SK-internationalNews-1416-20180507", "SK-middleEast-1474-20180507", "AL-internationalNews-1043-20180507",
    "CN-middleEast-831-20180507", "SK-middleEast-1486-20180507", "AL-sport-1455-20180507",
    "AL-technology-227-20180507",
    # 27 May 2018: two shootings in Pakistan (same country, other incidents), two diet
    # studies (the same template)
    "AL-internationalNews-1357-20180527", "SK-internationalNews-1809-20180527", "SK-technology-772-20180527",
    "BB-technology-240-20180527",
    # 5 June 2018: shrapnel at Dhahran (another missile), UEFA's other ban, Washington's and
    # Macron's answers to Tehran, two other bills of Egypt's parliament (same template)
    "SK-middleEast-2177-20180605", "SK-sport-1477-20180605", "SK-middleEast-2178-20180605",
    "FR-internationalNews-1656-20180605", "BB-economy-158-20180605", "SK-economy-734-20180605",
    # 10 July 2018: Tusk's reply to Trump, Trump on meeting Putin, two judges' rulings on
    # migrant children (the same template)
    "AL-internationalNews-1881-20180710", "SK-internationalNews-2571-20180710",
    "SK-internationalNews-2557-20180710", "BB-internationalNews-777-20180710",
    # 14 August 2018: Omarosa's recording, the statement Trump's insult answered
    "BB-internationalNews-964-20180814",
    # 11 September 2018: Palestine's new complaint to the court the same day, Netanyahu on the
    # PLO office; 26 January 2018: three Davos stories (same place, other news)
    "SK-middleEast-3632-20180911", "CN-middleEast-1355-20180911",
    "BB-economy-29-20180126", "FR-economy-8-20180126", "FR-economy-7-20180126",
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
            when = parsedate_to_datetime(doc["time"]).astimezone(UTC)
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
