"""Dedup: fold the same story from many outlets into one cluster.

Every story joins exactly one cluster, named by the id of the cluster's first story.
`Clusterer.add` decides, in this order, and stops at the first rule that holds:

1. **same** — the story's canonical URL (`canonical_url`) equals that of a story still
   in the window: it is the same item seen again (re-fetched, moved between feeds). It is
   not indexed a second time and is not a new member of the cluster.
2. **content** — its normalised, stripped title and lead (`prepare`), as one text, hash
   to the same value as those of a story in the window (and hold at least four words):
   the same text republished under another link.
3. **near** — a fuzzy duplicate of a story in the window (below).
4. **new** — otherwise it opens a cluster of its own.

Text used for (2) and (3) (`monitor.dedup.text`): `monitor.normalize.normalize_text`
of the title and of the
lead (the summary, first `lead_words` words), then desk prefixes are stripped from the
title ("عاجل |", "بالفيديو:", "(فيديو)", "عام /", any one- or two-word segment before
" | " or " / ") and so is an outlet suffix ("... - سكاي نيوز عربية": a last segment of at
most four words without digits after " | ", " - ", " – " or " — ", when at least three
words remain). Words are runs of letters and digits; punctuation is ignored.

Near-duplicates (3) are found in two steps so that a story is compared with a handful
of candidates, never with the whole window:

* **Candidates** — MinHash/LSH. The title's content words (function words dropped) get
  a MinHash signature of `title_bands` x `title_rows` values, the lead's word bigrams
  one of `lead_bands` x `lead_rows` values. Each band is a bucket key; stories sharing a
  bucket are candidates. Title and lead are indexed apart because outlets often rewrite
  one and keep the other (the agency lead under a new headline, or the reverse). A
  bucket keeps its `bucket_cap` most recent stories (buckets of very common words do
  not grow with the window); candidates are ranked by how many buckets they share and
  the best `max_candidates` are verified. A full bucket is a stop-band (a band of words
  so common that it says little): a story that shares only that one bucket is no
  candidate (without this rule, the candidates verified per story grew with the window:
  a larger window fills more buckets to the cap). Hashes are deterministic (CRC-32 and fixed
  multipliers): the same input gives the same clusters in every run.
* **Verification** — rapidfuzz on the normalised text. Title score T: the larger of
  `token_sort_ratio` and `token_set_ratio`, but `token_set_ratio` counts only when the
  shorter title has at least `subset_ratio` of the longer one's words (a title whose
  words are a subset of another's scores 100 on `token_set_ratio` alone: that is the
  subset trap, "ترامب يهدد" inside a longer, different headline). Lead score L: the same
  on the two leads, cut to the same number of words. A pair is a duplicate when
  - T >= `title_alone` and (no lead on one side, or L >= `lead_floor`), or
  - L >= `lead_alone` and T >= `title_floor`, or
  - both have a lead and (T + L) / 2 >= `combined`;
  and the numbers guard holds: when both texts carry at least two numbers, at least
  `numbers_overlap` of the smaller set of numbers must appear in the other (daily market
  reports and casualty tolls share a template but not their figures).
  The score of a pair is (T + L) / 2, or T when one side has no lead.

A story that matches members of several clusters joins the cluster of its best-scoring
match; equal scores go to the oldest cluster (a match scoring 97 or more ends the search:
candidates are verified most-shared-buckets first). Clusters are never merged afterwards.

Exact lookups: for (1) the newest story indexed with that canonical URL must be within
the window; for (2) the oldest story within the window with that text is the match.

Time: a story's time is its `published` time, or the latest time seen so far when it
has none (arrival order). Only stories within `window_hours` of each other are compared;
`prune(now)` drops index entries older than `now - window`.

The package, one module per concern: `text` (what dedup reads of a story: normalised,
stripped words), `minhash` (signatures and band keys), `window` (the sliding window of
stories both levels keep), `clusterer` (the decision and the index), `events` (the event
level), `stems` (the term a word counts as there), `places` (countries, their people and
capitals as one term, from CLDR), `frequencies` (its document frequencies), `snapshot` (both indexes saved to a file and
read back, for restarts; `monitor.indexes` decides when). Canonical URLs are
`monitor.urls.canonical_url`.
"""
from .clusterer import Clusterer, DedupSettings, Verdict
from .events import EventGrouper, EventLink, EventSettings
from .text import Prepared, prepare
from .window import parse_time

__all__ = ["Clusterer", "DedupSettings", "EventGrouper", "EventLink", "EventSettings", "Prepared", "Verdict",
           "parse_time", "prepare"]
