"""Watchlist files: read, validate, and keep the ones in force while people edit them.

A watchlist file is YAML, one watchlist per file (a list of watchlists is accepted too):

    name: russia-ukraine        # optional; defaults to the file name without .yaml
    title: روسيا وأوكرانيا        # optional; defaults to the name
    terms:                      # any of these (OR); at least one
      - بوتين                    # a word: whole word, proclitics و ف ب ل ك ال allowed
      - بافيل دوروف              # a phrase: words in order
      - {term: تيليغرام, variants: true}
      - {term: أمل, exact: true}
      - {near: [بوتين, زيلينسكي], within: 10}
      - {regex: "كورسك|بيلغورود"}
    require: [...]              # if given, one of these must also appear (AND)
    exclude: [...]              # drop the story if any of these appears (NOT)
    notify: {telegram: ["@desk"], email: ["desk@example.org"]}
    when: first                 # first (default) | spread
    outlets: 3                  # for when: spread — this many outlets ...
    within: 60m                 # ... within this time
    related: reply              # reply (default) | edit | alert: a later story of an
                                # already-alerted event (other outlets' own words)
    in: [title, lead]           # optional: where its terms may match (title, lead, body);
                                # a term's own `in:` wins ({term: X, in: [title]})

Rules checked (each problem names file and line): YAML syntax; the top level must be a
mapping (or a list of mappings); unknown keys; `terms` present and not empty; every term a
non-empty string or a mapping with exactly one of term/near/regex plus known options; a
term that normalises to no word at all; `near` with two or more terms and `within` a whole
number of words ≥ 1 (default 10); `regex` compiled by RE2 (it may not match the empty
string); `when` one of first/spread, `outlets` a whole number ≥ 2, `within` a duration of at
least a minute, both only with `when: spread`; `related` one of reply/edit/alert; `in:` (on
the watchlist or a term) a place or a non-empty list of places among title, lead, body; `notify`
a mapping of known channel names to a destination or a list of them; names unique across
all files (`[\\w-]+`).

`term_problem` is the rule for a word or phrase, and a chat's own terms (Telegram /watch,
`personal_term`) are checked by it too. A file that cannot be loaded or compiled at all
(nested too deeply, too large, anything) is reported as that file's problem; it never
stops the other files. Loading is linear in the size of the file (terms are de-duplicated
through a set).

`load_watchlists` stops at the first problem (for the `raqib match` command);
`check_watchlists` reports them all, compiling each file as the daemon does (for `raqib
check`); `read_watchlist_text` does the same for text not (yet) in a file (`raqib try`
and the web page's try box). `WatchlistRegistry` re-reads changed, added and deleted files; a file that fails
keeps its last good version in force.
"""
from monitor.models import RELATED_MODES, Term, Watchlist  # defined below match; importable from here too

from .advice import exclude_suggestion, operator_warning, watchlist_warnings
from .load import check_watchlists, load_watchlist_file, load_watchlists, read_watchlist_text
from .registry import Reload, WatchlistRegistry
from .syntax import (
    CHANNELS,
    DEFAULT_NEAR_WITHIN,
    DEFAULT_SPREAD_MINUTES,
    DEFAULT_SPREAD_OUTLETS,
    PLACES,
    TERM_KEYS,
    WATCHLIST_KEYS,
    WHEN,
    personal_term,
    term_problem,
)

__all__ = [
    "CHANNELS", "DEFAULT_NEAR_WITHIN", "DEFAULT_SPREAD_MINUTES", "DEFAULT_SPREAD_OUTLETS", "PLACES", "RELATED_MODES",
    "TERM_KEYS", "WATCHLIST_KEYS", "WHEN", "Reload", "Term", "Watchlist", "WatchlistRegistry", "check_watchlists",
    "exclude_suggestion", "load_watchlist_file", "load_watchlists", "operator_warning", "personal_term",
    "read_watchlist_text", "term_problem", "watchlist_warnings",
]
