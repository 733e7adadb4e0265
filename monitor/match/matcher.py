"""The Matcher: every watchlist compiled together, matching a story by the rules of
`monitor.match` (the term rules are written there).

How it is compiled
------------------
Plain and exact terms (and the first word of phrases) are expanded once into every
written form they may take — a word has at most 27 proclitic forms, and a group name's
forms (ـيون، ـيين، ـية، ـيات) as many each — minus the forms refused as lexical, into one
dict form → (one-word plans, phrases by second word). A plan whose word is a particle
written with ي (علي) is marked at compile time; only the hits of marked plans are looked
at again, after the scan, and dropped where the token was written with a final ى: the
fields that hit nothing, and the plans that are not marked, pay nothing.
Matching a field first decides, without leaving C, whether anything can hit: the field is
encoded one byte per character (`monitor.normalize.encode`; text with a character
outside that alphabet takes the `str` path below), one `bytes.translate` folds it and
blanks everything that is not a letter, `split()` gives the tokens and one set test
against the forms (as bytes) says yes or no. Variant words are tested the same way by
their skeleton (`skeleton`: long vowels, hamza seats and ه dropped, one letter per letter
class), which every spelling their rules allow shares, for each proclitic prefix. Most
fields stop there: no offsets, no objects. Only a field that may hit is decoded,
tokenised with offsets (one `re.split`), and its hit tokens looked up; a variant
candidate is then checked by its pattern and the corpus guards. The cost per story is
independent of the number of terms (a hash lookup per token), and a body costs what its
length costs: one translate and one set test, then, when it may hit, one split; the set test is faster
than pyahocorasick here because the automaton would also report every term inside
longer words, which must then be thrown away. Offsets map back to the original text
only for hits: they are the same when nothing was removed, otherwise they step over the
removed characters. Regex terms run one RE2 search each over the normalised field.

A compiled matcher changes in place (`Matcher.update`): words, phrases and patterns are
shared between watchlists and counted, so adding or removing a watchlist costs what that
watchlist holds, not what all of them hold. An update compiles everything new before it
changes anything: a term that fails leaves the matcher as it was. `MatcherGroup` answers
for several matchers over different watchlists as one (the watchlist files' and the
chats' own terms).
"""
from __future__ import annotations

import logging
import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import compress, product
from typing import Iterable, Sequence

import re2

from monitor.models import Match, Term, Watchlist
from monitor.normalize import FOLDED, REMOVED, decode, encode, normalize_text

from .compounds import compound_spellings
from .forms import form_data, words_with_maqsura, written_with_maqsura
from .lexicon import ARTICLE, NO_PREFIX, SPLITS_BY_FIRST, bare, has_article, tokenize, word_data, written_forms
from .regex import compile_regex
from .variants import PREFIX_SKELETONS, skeleton, skeletons, variant_pattern
from .views import DIGIT_VIEW, EMPTY_SKELETON, LETTER, LETTER_VIEW, Field, field_skeletons, token_skeletons

log = logging.getLogger(__name__)

FIELDS = ("title", "summary", "body")
BODY = 2
ALL_FIELDS = 0b111  # a term that may match in every field (bit i: FIELDS[i])
MAX_MATCHES_PER_REGEX = 50
VARIANT_GUARD_RATIO = 20
VARIANT_GUARD_MIN = 500
VARIANT_NOUN_MIN = 30
VARIANT_NOUN_RATIO = 5
VARIANT_ARTICLE_SHARE = 5  # a variant seen with the article a fifth as often as without is a noun
VARIANT_MEMO_SIZE = 50_000  # tokens whose variant reading is remembered (cleared when full)


# -- compiled terms ---------------------------------------------------------------------

# A hit of a word, phrase or regex: field (0 title, 1 summary, 2 body), start and end in the
# normalised field text, then the token indices it covers (end exclusive).
_Hit = tuple[int, int, int, int, int]


@dataclass
class _Plan:
    """A compiled word or phrase (also a near part); `words` are normalised tokens."""

    text: str
    words: tuple[str, ...]
    exact: bool
    variants: bool
    patterns: tuple[re.Pattern[str], ...] = ()  # variants: one fullmatch pattern per word
    has_article: bool = False
    # The term's other compound spellings (عبدالله beside عبد الله), each a plan of its own
    # whose hits count as this plan's.
    others: tuple["_Plan", ...] = ()
    # A group name's forms matched beside the word (monitor/match/forms.py), as (written
    # word, kind): ("الحوثيين", "plural").
    forms: tuple[tuple[str, str], ...] = ()
    # Words (by index) the term writes with a final ي whose token, when written with a
    # final ى, must not be a particle (علي is not على).
    guard: tuple[int, ...] = ()


@dataclass
class _TermRule:
    """A term as a watchlist sees it: one plan, near parts, or a regex."""

    term: Term
    plans: tuple[int, ...] = ()
    regex: int = -1
    mask: int = ALL_FIELDS  # the fields it may match in (`in:`), bit i for FIELDS[i]


def _spellings(text: str) -> list[tuple[str, ...]]:
    """A term's normalised words in each compound spelling, the all-apart one first."""
    words = tuple(tokenize(normalize_text(text)))
    if not words:
        raise ValueError(f"term {text!r} has no letters or digits once normalised")
    return compound_spellings(words, word_data().counts)


def _plan_for(text: str, words: tuple[str, ...], exact: bool, variants: bool) -> _Plan:
    patterns: tuple[re.Pattern[str], ...] = ()
    if variants:
        patterns = tuple(re.compile(variant_pattern(bare(w) if i == 0 else w)) for i, w in enumerate(words))
    data = form_data()
    forms = data.forms(words[0]) if len(words) == 1 and not exact and not variants else ()
    own = words_with_maqsura(text)
    # A variant spelling may reach a particle the word is not (عالي → علي): every word
    # ending in ي is checked; a plain word only when it is a particle itself.
    guard = tuple(k for k, w in enumerate(words) if w.endswith("ي") and w not in own
                  and (variants or data.particle(bare(w) if k == 0 else w)))
    return _Plan(text, words, exact, variants, patterns, has_article=has_article(words[0]), forms=forms,
                 guard=guard)



_PlanKey = tuple[str, bool, bool]


@dataclass(frozen=True)
class Verdict:
    """What `Matcher.explain` says of one watchlist whose terms matched a story.

    `fired` as `match` decides it; `matches` the hits of its terms and require terms (as
    `match` reports them when it fires); `rule` is "" when it fired, else "exclude" (an
    exclude term matched: `stopped_by` holds where) or "require" (no require term did)."""

    watchlist: str
    fired: bool
    matches: tuple[Match, ...]
    rule: str = ""
    stopped_by: tuple[Match, ...] = ()


class Matcher:
    """All watchlists compiled together; `match` says which fire on a story, and why.

    `update(remove=names, add=watchlists)` changes the set in place in time proportional
    to the watchlists it names, not to all of them (a chat's own terms change without
    recompiling every watchlist file). It is all or nothing: every new term is compiled
    before anything changes, so a term that does not compile raises ValueError and the
    matcher stays as it was. Compiled words, phrases and patterns are shared between
    watchlists and counted; the last watchlist to drop one takes its forms out.
    """

    def __init__(self, watchlists: Sequence[Watchlist] = ()) -> None:
        self._data = word_data()
        self._slots: dict[str, list[int]] = {}  # watchlist name -> its slot(s)
        self._free_slots: list[int] = []
        self._sorted: tuple[Watchlist, ...] | None = ()
        # Per slot: the watchlist and its rules (terms, require, exclude), its name, its
        # near/regex terms, and None or its require and exclude rules (plain ones as plan ids).
        self._rules: list[tuple[Watchlist, list[_TermRule], list[_TermRule], list[_TermRule]] | None] = []
        self._names: list[str] = []
        self._generic_terms: list[list[_TermRule]] = []
        self._checks: list[tuple | None] = []
        self._plans: list[_Plan | None] = []
        self._plan_keys: list[_PlanKey | None] = []
        self._plan_refs: list[int] = []
        self._plan_ids: dict[_PlanKey, int] = {}
        self._free_plans: list[int] = []
        self._regexes: dict[int, re2._Regexp] = {}
        self._regex_ids: dict[str, int] = {}
        self._regex_texts: dict[int, str] = {}
        self._regex_refs: dict[int, int] = {}
        self._next_regex = 0
        # Written form of a first word -> (one-word plans, phrases by their second word),
        # each as (plan id, where the span starts in the token).
        self._forms: dict[str, tuple[list[tuple[int, int]], dict[str, list[tuple[int, int]]]]] = {}
        self._keys = self._forms.keys()
        # The same keys as `encode`d bytes, for the byte path (a form with a character
        # outside the alphabet cannot occur in text that has none).
        self._byte_keys: set[bytes] = set()
        self._digit_keys = 0  # forms that start with a digit
        # Plain rules (a word or phrase) are looked up from the plans that hit; near and
        # regex rules are evaluated per watchlist, for the watchlists a hit may fire.
        self._term_refs: dict[int, list[tuple[int, str, int]]] = {}  # plan -> (slot, term, mask)
        self._generic_by_plan: dict[int, set[int]] = {}
        self._generic_by_regex: dict[int, set[int]] = {}
        self._variant_ids: set[int] = set()
        # Plan ids of a term's other compound spellings -> the term's plan id.
        self._owner: dict[int, int] = {}
        self._subs: dict[int, list[int]] = {}
        # Variant words by the skeletons of their written forms, proclitics included.
        self._skeletons: dict[str, list[int]] = {}
        self._skeleton_keys = self._skeletons.keys()
        self._byte_skeletons: set[bytes] = set()
        self._variant_every_field = 0  # variant words of digits: no field view shows them
        # A word of vowels and hamza seats alone (هاواي) has an empty skeleton, as have the
        # tokens it may be written as: the field view drops them, a regex finds them.
        self._empty_skeleton = False
        # token -> [(plan id, span offset)] of the variant words it is a first word of.
        self._variant_memo: dict[str, list[tuple[int, int]]] = {}
        # Per field, how many rules may match in it: a field no rule reads is not scanned.
        self._readers = [0] * len(FIELDS)
        self._form_data = form_data()
        self._guarded: set[int] = set()  # plans with a word that must not be a particle written ى
        if watchlists:
            self.update(add=watchlists)

    @property
    def watchlists(self) -> tuple[Watchlist, ...]:
        """The watchlists compiled in, sorted by name."""
        if self._sorted is None:
            self._sorted = tuple(sorted((r[0] for r in self._rules if r is not None), key=lambda w: w.name))
        return self._sorted

    def update(self, *, remove: Iterable[str] = (), add: Sequence[Watchlist] = ()) -> None:
        """Take out the watchlists named in `remove` and compile in `add` (see the class)."""
        fresh_plans: dict[_PlanKey, _Plan] = {}
        fresh_regexes: dict[str, re2._Regexp] = {}
        # A term's key is its words with every compound apart: عبدالله and عبد الله share one
        # (a word it writes with a final ى is marked: على is not علي, see _plan_for).
        norm: dict[str, str] = {}
        for wl in add:  # everything that can fail, before anything changes
            for term in (*wl.terms, *wl.require, *wl.exclude):
                if term.regex:
                    if term.text not in self._regex_ids and term.text not in fresh_regexes:
                        fresh_regexes[term.text] = compile_regex(term.text)
                    continue
                for part in term.near or (term.text,):
                    spellings = None
                    folded = norm.get(part)
                    if folded is None:
                        spellings = _spellings(part)
                        own = words_with_maqsura(part)
                        folded = norm[part] = " ".join(w + "\x00" * (w in own) for w in spellings[0])
                    key = (folded, term.exact, term.variants)
                    if key not in self._plan_ids and key not in fresh_plans:
                        spellings = spellings or _spellings(part)
                        plan, *others = (_plan_for(part, words, term.exact, term.variants) for words in spellings)
                        plan.others = tuple(others)
                        fresh_plans[key] = plan
        old = [slot for name in dict.fromkeys(remove) for slot in self._slots.pop(name, ())]
        for wl in add:
            rules = [[self._rule(t, norm, fresh_plans, fresh_regexes) for t in group]
                     for group in (wl.terms, wl.require, wl.exclude)]
            self._attach(wl, *rules)
        for slot in old:  # after the new ones took their references: shared plans stay
            self._detach(slot)
        self._sorted = None

    def _attach(self, wl: Watchlist, terms: list[_TermRule], require: list[_TermRule],
                exclude: list[_TermRule]) -> None:
        if self._free_slots:
            index = self._free_slots.pop()
        else:
            index = len(self._rules)
            self._rules.append(None)
            self._names.append("")
            self._generic_terms.append([])
            self._checks.append(None)
        self._slots.setdefault(wl.name, []).append(index)
        for rule in (*terms, *require, *exclude):
            rule.mask = field_mask(rule.term.fields or wl.fields)
            self._count_readers(rule.mask, 1)
        generic = []
        for rule in terms:
            if rule.regex >= 0:
                self._generic_by_regex.setdefault(rule.regex, set()).add(index)
                generic.append(rule)
            elif rule.term.near:
                self._generic_by_plan.setdefault(rule.plans[0], set()).add(index)
                generic.append(rule)
            else:
                self._term_refs.setdefault(rule.plans[0], []).append((index, rule.term.text, rule.mask))
        plain_req = [(r.term.text, r.plans[0], r.mask) for r in require if _plain(r)]
        generic_req = [r for r in require if not _plain(r)]
        plain_ex = [(r.plans[0], r.mask) for r in exclude if _plain(r)]
        generic_ex = [r for r in exclude if not _plain(r)]
        self._rules[index] = (wl, terms, require, exclude)
        self._names[index] = wl.name
        self._generic_terms[index] = generic
        self._checks[index] = ((plain_req, generic_req, plain_ex, generic_ex)
                               if (plain_req or generic_req or plain_ex or generic_ex) else None)

    def _detach(self, index: int) -> None:
        entry = self._rules[index]
        assert entry is not None
        _, terms, require, exclude = entry
        for rule in (*terms, *require, *exclude):
            self._count_readers(rule.mask, -1)
        for rule in terms:
            if rule.regex >= 0:
                _discard(self._generic_by_regex, rule.regex, index)
            elif rule.term.near:
                _discard(self._generic_by_plan, rule.plans[0], index)
            elif rule.plans[0] in self._term_refs:  # two terms of one plan (أمل, امل): one pass takes both
                refs = [ref for ref in self._term_refs[rule.plans[0]] if ref[0] != index]
                if refs:
                    self._term_refs[rule.plans[0]] = refs
                else:
                    del self._term_refs[rule.plans[0]]
        for rule in (*terms, *require, *exclude):
            if rule.regex >= 0:
                self._release_regex(rule.regex)
            for pid in rule.plans:
                self._release_plan(pid)
        self._rules[index] = None
        self._names[index] = ""
        self._generic_terms[index] = []
        self._checks[index] = None
        self._free_slots.append(index)

    def _count_readers(self, mask: int, step: int) -> None:
        for order in range(len(FIELDS)):
            if mask >> order & 1:
                self._readers[order] += step

    def _rule(self, term: Term, norm: dict[str, str], fresh_plans: dict[_PlanKey, _Plan],
              fresh_regexes: dict[str, re2._Regexp]) -> _TermRule:
        if term.regex:
            rid = self._regex_ids.get(term.text)
            if rid is None:
                rid = self._next_regex
                self._next_regex += 1
                self._regexes[rid] = fresh_regexes[term.text]
                self._regex_ids[term.text] = rid
                self._regex_texts[rid] = term.text
                self._regex_refs[rid] = 0
            self._regex_refs[rid] += 1
            return _TermRule(term, regex=rid)
        parts = term.near or (term.text,)
        return _TermRule(term, plans=tuple(self._use_plan((norm[p], term.exact, term.variants), fresh_plans)
                                           for p in parts))

    def _use_plan(self, key: _PlanKey, fresh: dict[_PlanKey, _Plan]) -> int:
        pid = self._plan_ids.get(key)
        if pid is not None:
            self._plan_refs[pid] += 1
            return pid
        plan = fresh[key]
        pid = self._new_pid(plan, key)
        self._plan_ids[key] = pid
        self._index(pid, plan, add=True)
        for other in plan.others:  # ids of their own, never named by a term: hits go to pid
            sub = self._new_pid(other, None)
            self._owner[sub] = pid
            self._subs.setdefault(pid, []).append(sub)
            self._index(sub, other, add=True)
        return pid

    def _new_pid(self, plan: _Plan, key: _PlanKey | None) -> int:
        if self._free_plans:
            pid = self._free_plans.pop()
            self._plans[pid], self._plan_keys[pid], self._plan_refs[pid] = plan, key, 1
        else:
            pid = len(self._plans)
            self._plans.append(plan)
            self._plan_keys.append(key)
            self._plan_refs.append(1)
        return pid

    def _index(self, pid: int, plan: _Plan, add: bool) -> None:
        if plan.guard:
            if add:
                self._guarded.add(pid)
            else:
                self._guarded.discard(pid)
        if plan.variants:
            self._index_variant(pid, plan, add)
        else:
            self._index_forms(pid, plan, add)

    def _release_plan(self, pid: int) -> None:
        self._plan_refs[pid] -= 1
        if self._plan_refs[pid]:
            return
        plan, key = self._plans[pid], self._plan_keys[pid]
        assert plan is not None and key is not None
        for sub in self._subs.pop(pid, ()):
            sub_plan = self._plans[sub]
            assert sub_plan is not None
            self._index(sub, sub_plan, add=False)
            del self._owner[sub]
            self._plans[sub] = self._plan_keys[sub] = None
            self._free_plans.append(sub)
        self._index(pid, plan, add=False)
        del self._plan_ids[key]
        self._plans[pid] = self._plan_keys[pid] = None
        self._free_plans.append(pid)

    def _release_regex(self, rid: int) -> None:
        self._regex_refs[rid] -= 1
        if not self._regex_refs[rid]:
            del self._regex_refs[rid], self._regexes[rid], self._regex_ids[self._regex_texts.pop(rid)]

    def _index_forms(self, pid: int, plan: _Plan, add: bool) -> None:
        """Put a word or phrase's written forms in (or take them out of) the forms index."""
        forms, byte_keys = self._forms, self._byte_keys
        second = plan.words[1] if len(plan.words) > 1 else None
        written = written_forms(plan.words[0], plan.exact, self._data)
        for word, _ in plan.forms:
            written += written_forms(word, plan.exact, self._data, defined=True)
        for form, offset in written:
            entry = forms.get(form)
            if add:
                if entry is None:
                    entry = forms[form] = ([], {})
                    raw = encode(form)
                    if raw is not None:
                        byte_keys.add(raw)
                    if form[0].isdecimal():  # what \d matches
                        self._digit_keys += 1
                if second is None:
                    entry[0].append((pid, offset))
                else:
                    entry[1].setdefault(second, []).append((pid, offset))
                continue
            assert entry is not None  # taking out a plan's forms: they are in
            singles, phrases = entry
            if second is None:
                singles.remove((pid, offset))
            else:
                phrases[second].remove((pid, offset))
                if not phrases[second]:
                    del phrases[second]
            if not singles and not phrases:
                del forms[form]
                raw = encode(form)
                if raw is not None:
                    byte_keys.discard(raw)
                if form[0].isdecimal():
                    self._digit_keys -= 1

    def _index_variant(self, pid: int, plan: _Plan, add: bool) -> None:
        """Put a variant word's skeletons in (or take them out of) the skeleton index."""
        word = bare(plan.words[0])
        cores = skeletons(word)
        step = 1 if add else -1
        if add:
            self._variant_ids.add(pid)
        else:
            self._variant_ids.discard(pid)
        if not LETTER.match(word):
            self._variant_every_field += step
        for key in {prefix + core for prefix in PREFIX_SKELETONS for core in cores}:
            pids = self._skeletons.get(key)
            if add:
                if pids is None:
                    pids = self._skeletons[key] = []
                    raw = encode(key)
                    if raw:
                        self._byte_skeletons.add(raw)
                if pid not in pids:
                    pids.append(pid)
            elif pids is not None and pid in pids:
                pids.remove(pid)
                if not pids:
                    del self._skeletons[key]
                    raw = encode(key)
                    if raw:
                        self._byte_skeletons.discard(raw)
        self._empty_skeleton = "" in self._skeletons
        self._variant_memo.clear()  # remembered readings may name this word, or miss it

    # -- matching -------------------------------------------------------------------------

    def _found(self, title: str, summary: str = "", body: str = "") -> tuple[
            dict[int, list[_Hit]], dict[int, list[_Hit]], list[Field | None],
            dict[int, list[tuple[str, list[_Hit]]]]] | None:
        """Scan the story once: the plan and regex hits, the fields scanned, and per watchlist
        slot the terms that matched with their hits (None when nothing matched at all).
        `match` and `explain` decide from this the same way."""
        plan_hits: dict[int, list[_Hit]] = {}
        regex_hits: dict[int, list[_Hit]] = {}
        fields: list[Field | None] = [None, None, None]  # title, summary, body
        readers = self._readers
        for order, text in enumerate((title, summary, body)):
            if text and readers[order]:
                self._scan(order, text, plan_hits, regex_hits, fields)
        if self._guarded and not self._guarded.isdisjoint(plan_hits):
            self._drop_particles(plan_hits, fields)
        if not plan_hits and not regex_hits:
            return None
        if self._owner:  # hits of another compound spelling are the term's own
            for sub in [pid for pid in plan_hits if pid in self._owner]:
                plan_hits.setdefault(self._owner[sub], []).extend(plan_hits.pop(sub))
        # Which watchlists have a term that matched, and with which hits.
        found: dict[int, list[tuple[str, list[_Hit]]]] = {}
        term_refs = self._term_refs
        for pid, hits in plan_hits.items():
            refs = term_refs.get(pid)
            if refs:
                for index, label, mask in refs:
                    own = hits if mask == ALL_FIELDS else _masked(hits, mask)
                    if not own:
                        continue
                    entry = found.get(index)
                    if entry is None:
                        found[index] = [(label, own)]
                    else:
                        entry.append((label, own))
        if self._generic_by_plan or self._generic_by_regex:
            generic: set[int] = set()
            for pid in plan_hits:
                generic.update(self._generic_by_plan.get(pid, ()))
            for rid in regex_hits:
                generic.update(self._generic_by_regex.get(rid, ()))
            for index in generic:
                for rule in self._generic_terms[index]:
                    for label, hit in self._rule_hits(rule, plan_hits, regex_hits, fields):
                        found.setdefault(index, []).append((label, [hit]))
        return plan_hits, regex_hits, fields, found

    def match(self, title: str, summary: str = "", body: str = "") -> list[Match]:
        """The matches of every watchlist that fires on this story (see module rules)."""
        scanned = self._found(title, summary, body)
        if scanned is None:
            return []
        plan_hits, regex_hits, fields, found = scanned
        # (watchlist name, field, start, end, term, watchlist index): sorted, then Match.
        rows: set[tuple[str, int, int, int, str, int]] = set()
        names, checks = self._names, self._checks
        for index, entries in found.items():
            check = checks[index]
            if check is not None:
                plain_req, generic_req, plain_ex, generic_ex = check
                if plain_req or generic_req:
                    needed = _plain_hits(plain_req, plan_hits)
                    for rule in generic_req:
                        needed += [(label, [hit])
                                   for label, hit in self._rule_hits(rule, plan_hits, regex_hits, fields)]
                    if not needed:
                        continue
                    entries = entries + needed
                if any(pid in plan_hits and (mask == ALL_FIELDS or _masked(plan_hits[pid], mask))
                       for pid, mask in plain_ex) or any(
                        self._rule_hits(r, plan_hits, regex_hits, fields) for r in generic_ex):
                    continue
            name = names[index]
            for label, hits in entries:
                for order, start, end, _, _ in hits:
                    fld = fields[order]
                    assert fld is not None  # a hit's field was scanned
                    if fld.same:
                        rows.add((name, order, start, end, label, index))
                    else:
                        s, e = fld.span(start, end)
                        rows.add((name, order, s, e, label, index))
        body_field = fields[BODY]
        at = body_field.paragraph if body_field is not None else int
        return [Match(name, label, FIELDS[order], start, end, at(start) if order == BODY else 0)
                for name, order, start, end, label, _ in sorted(rows)]

    def explain(self, title: str, summary: str = "", body: str = "") -> list[Verdict]:
        """Why each watchlist whose `terms` match this story fires or not: one Verdict per
        such watchlist, sorted by name. `match` says which fire; this also names the rule
        that stopped the others (an `exclude` term that matched, or no `require` term).
        It scans the story as `match` does and is as fast when nothing matches; it is a
        separate path so that `match` itself pays nothing for it (`raqib try` uses it)."""
        scanned = self._found(title, summary, body)
        if scanned is None:
            return []
        plan_hits, regex_hits, fields, found = scanned

        def spans(name: str, entries: list[tuple[str, list[_Hit]]]) -> tuple[Match, ...]:
            rows: set[tuple[int, int, int, str]] = set()
            for label, hits in entries:
                for order, start, end, _, _ in hits:
                    fld = fields[order]
                    assert fld is not None  # a hit's field was scanned
                    s, e = (start, end) if fld.same else fld.span(start, end)
                    rows.add((order, s, e, label))
            return tuple(Match(name, label, FIELDS[order], s, e, _paragraph(fields, order, s))
                         for order, s, e, label in sorted(rows))

        out: list[Verdict] = []
        for index, entries in found.items():
            name, check = self._names[index], self._checks[index]
            reason = ""
            stopped_by: list[tuple[str, list[_Hit]]] = []
            if check is not None:
                plain_req, generic_req, _, generic_ex = check
                entry = self._rules[index]
                assert entry is not None  # a live slot
                ex = _plain_hits([(r.term.text, r.plans[0], r.mask) for r in entry[3] if _plain(r)], plan_hits)
                for rule_ in generic_ex:
                    ex += [(label, [hit]) for label, hit in self._rule_hits(rule_, plan_hits, regex_hits, fields)]
                if plain_req or generic_req:
                    needed = _plain_hits(plain_req, plan_hits)
                    for rule_ in generic_req:
                        needed += [(label, [hit])
                                   for label, hit in self._rule_hits(rule_, plan_hits, regex_hits, fields)]
                    if needed:
                        entries = entries + needed
                    else:
                        reason = "require"
                if not reason and ex:
                    reason, stopped_by = "exclude", ex
            out.append(Verdict(name, not reason, spans(name, entries), reason, spans(name, stopped_by)))
        out.sort(key=lambda v: v.watchlist)
        return out

    def _drop_particles(self, plan_hits: dict[int, list[_Hit]], fields: list[Field | None]) -> None:
        """Take out the hits of a guarded plan whose guarded word stands on a particle
        written with a final ى (monitor/match/forms.py): علي on على or وعلى."""
        particle = self._form_data.particle
        for pid in [pid for pid in plan_hits if pid in self._guarded]:
            plan = self._plan(pid)
            kept = []
            for hit in plan_hits[pid]:
                order, start, _, first, _ = hit
                fld = fields[order]
                assert fld is not None  # a hit's field was scanned
                for k in plan.guard:
                    i = first + k
                    end = fld.bounds[2 * i + 1]
                    stem = fld.norm[start:end] if k == 0 else fld.tokens[i]
                    if ((particle(stem) or particle(ARTICLE[0] + stem))
                            and written_with_maqsura(fld.text, fld.span(end - 1, end)[1])):
                        break
                else:
                    kept.append(hit)
            if kept:
                plan_hits[pid] = kept
            else:
                del plan_hits[pid]

    def form_of(self, match: Match, text: str) -> str:
        """The kind of form ("plural", "feminine", "feminine plural") a match of a plain
        term stands on, or "" when it is the word itself (or the term has no forms).
        `text` is the field the match was found in, as given to `match`."""
        found = normalize_text(text[match.start:match.end])
        for slot in self._slots.get(match.watchlist, ()):
            entry = self._rules[slot]
            assert entry is not None  # a live slot
            for rule in (*entry[1], *entry[2]):
                for part, pid in zip(rule.term.near or (rule.term.text,), rule.plans, strict=False):
                    if part != match.term:
                        continue
                    for word, kind in self._plan(pid).forms:
                        # للحوثيين: the span of الحوثيين starts at its article's ل (للبنانيين:
                        # at the word's own ل, three lams written two)
                        if found == word or (has_article(word) and found in (word[1:], word[2:])):
                            return kind
        return ""

    def _rule_hits(self, rule: _TermRule, plan_hits: dict[int, list[_Hit]],
                   regex_hits: dict[int, list[_Hit]], fields: list[Field | None]) -> list[tuple[str, _Hit]]:
        mask = rule.mask
        if rule.regex >= 0:
            return [(rule.term.text, h) for h in regex_hits.get(rule.regex, ()) if mask >> h[0] & 1]
        if not rule.term.near:
            hits = plan_hits.get(rule.plans[0])
            return [(rule.term.text, h) for h in hits if mask >> h[0] & 1] if hits else []
        return _near_hits(rule, plan_hits, fields)

    def _scan(self, order: int, text: str, plan_hits: dict[int, list[_Hit]],
              regex_hits: dict[int, list[_Hit]], fields: list[Field | None]) -> None:
        raw = encode(text)
        if raw is not None:
            # The byte path: decide from the bytes whether anything can hit at all.
            letters = raw.translate(LETTER_VIEW, REMOVED)
            forms = not self._byte_keys.isdisjoint(letters.split())
            if not forms and self._digit_keys:
                forms = not self._byte_keys.isdisjoint(raw.translate(DIGIT_VIEW, REMOVED).split())
            variant = bool(self._variant_ids) and (
                not self._byte_skeletons.isdisjoint(field_skeletons(raw)) or self._variant_every_field
                or (self._empty_skeleton and EMPTY_SKELETON.search(letters) is not None))
            if not (forms or variant or self._regexes):
                return
            fld = Field(text, raw, decode(raw.translate(FOLDED, REMOVED)))
        else:
            fld = Field(text, None, normalize_text(text))
            forms = not self._keys.isdisjoint(fld.tokens)
            variant = bool(self._variant_ids) and not self._skeleton_keys.isdisjoint(token_skeletons(fld.tokens))
        fields[order] = fld
        tokens, bounds = fld.tokens, fld.bounds
        if forms:
            last = len(tokens) - 1
            looked_up = list(map(self._forms.get, tokens))
            for i, entry in compress(enumerate(looked_up), looked_up):
                assert entry is not None  # compress kept only the tokens that are forms
                singles, phrases = entry
                start = bounds[2 * i]
                for pid, offset in singles:
                    hit = (order, start + offset, bounds[2 * i + 1], i, i + 1)
                    hits = plan_hits.get(pid)
                    if hits is None:
                        plan_hits[pid] = [hit]
                    else:
                        hits.append(hit)
                if phrases and i < last and tokens[i + 1] in phrases:
                    for pid, offset in phrases[tokens[i + 1]]:
                        j = _phrase_end(self._plan(pid), tokens, i)
                        if j:
                            plan_hits.setdefault(pid, []).append((order, start + offset, bounds[2 * j - 1], i, j))
        if variant:
            self._scan_variants(order, fld, plan_hits)
        norm = fld.norm
        for rid, rx in self._regexes.items():
            found = []
            for m in rx.finditer(norm):
                if m.end() > m.start():
                    found.append((m.start(), m.end()))
                    if len(found) >= MAX_MATCHES_PER_REGEX:
                        break
            if found:
                ends = bounds[1::2]
                for s, e in found:
                    ts = bisect_right(ends, s)
                    te = max(ts + 1, bisect_right(ends, e - 1) + 1)
                    regex_hits.setdefault(rid, []).append((order, s, e, ts, te))

    def _scan_variants(self, order: int, fld: Field, plan_hits: dict[int, list[_Hit]]) -> None:
        tokens, bounds = fld.tokens, fld.bounds
        index, memo = self._skeletons, self._variant_memo
        for i, sk in enumerate(token_skeletons(tokens)):
            pids = index.get(sk)
            if pids is None:
                continue
            tok = tokens[i]
            found = memo.get(tok)
            if found is None:
                if len(memo) >= VARIANT_MEMO_SIZE:
                    memo.clear()
                found = memo[tok] = self._variant_forms(tok, pids)
            for pid, offset in found:
                j = _phrase_end(self._plan(pid), tokens, i)
                if j:
                    plan_hits.setdefault(pid, []).append((order, bounds[2 * i] + offset, bounds[2 * j - 1], i, j))

    def _variant_forms(self, tok: str, pids: list[int]) -> list[tuple[int, int]]:
        """The variant words (of `pids`) that token `tok` is written form of, each with
        where its span starts: the first proclitic reading that works wins."""
        data = self._data
        out: list[tuple[int, int]] = []
        done: set[int] = set()
        for split in NO_PREFIX + SPLITS_BY_FIRST.get(tok[0], ()):
            if not tok.startswith(split.prefix) or len(tok) - len(split.prefix) < 2:
                continue
            stem = tok[len(split.prefix):]
            if data.refuses(tok, split.clitics, stem):
                continue
            for pid in pids:
                if pid in done:
                    continue
                plan = self._plan(pid)
                if plan.exact and split.prefix:
                    continue
                if plan.has_article and not split.article:
                    continue  # a term with ال keeps it
                if not plan.patterns[0].fullmatch(stem):
                    continue
                word = bare(plan.words[0])
                if len(stem) < len(word) and skeleton(stem) != skeleton(word):
                    continue  # a spelling by the letter rules of long names loses no letter
                if not self._variant_allowed(stem, word):
                    continue
                done.add(pid)
                out.append((pid, split.offset_article if plan.has_article else split.offset_plain))
        return out

    def _plan(self, pid: int) -> _Plan:
        """The plan of a live id (ids in the indexes are never freed ones)."""
        plan = self._plans[pid]
        assert plan is not None
        return plan

    def _variant_allowed(self, stem: str, word: str) -> bool:
        if stem == word:
            return True
        counts = self._data.counts
        seen = counts.get(stem, 0)
        if seen >= VARIANT_GUARD_MIN and seen > VARIANT_GUARD_RATIO * max(counts.get(word, 0), 1):
            return False
        # An ordinary Arabic noun takes the article; a foreign name seldom does. Judged on
        # the variant itself, whatever the token carries in front (الفصل is "the
        # semester", never فيصل, though الفيصل is common too).
        defined = counts.get(ARTICLE + stem, 0)
        if defined < VARIANT_NOUN_MIN:
            return True
        return not (defined > VARIANT_NOUN_RATIO * (counts.get(ARTICLE + word, 0) + 1)
                    or defined * VARIANT_ARTICLE_SHARE >= seen)


class MatcherGroup:
    """Matchers over watchlists of different names, answering as one Matcher: the same
    matches, in the same order (sorted by watchlist name first)."""

    def __init__(self, *parts: Matcher) -> None:
        self.parts = parts

    @property
    def watchlists(self) -> tuple[Watchlist, ...]:
        return tuple(sorted((wl for part in self.parts for wl in part.watchlists), key=lambda w: w.name))

    def match(self, title: str, summary: str = "", body: str = "") -> list[Match]:
        out: list[Match] = []
        found = 0
        for part in self.parts:
            matches = part.match(title, summary, body)
            if matches:
                out.extend(matches)
                found += 1
        if found > 1:
            out.sort(key=lambda m: m.watchlist)  # stable: each part's own order stays
        return out


def _discard(index: dict[int, set[int]], key: int, slot: int) -> None:
    slots = index[key]
    slots.discard(slot)
    if not slots:
        del index[key]


def _plain(rule: _TermRule) -> bool:
    return rule.regex < 0 and not rule.term.near


def _phrase_end(plan: _Plan, tokens: list[str], i: int) -> int:
    """Token index just past the phrase starting at token i, or 0 when it does not follow."""
    n = len(plan.words)
    if n == 1:
        return i + 1
    if i + n > len(tokens):
        return 0
    for k in range(1, n):
        tok = tokens[i + k]
        if plan.variants:
            if not plan.patterns[k].fullmatch(tok):
                return 0
        elif tok != plan.words[k]:
            return 0
    return i + n


def _near_hits(rule: _TermRule, plan_hits: dict[int, list[_Hit]],
               fields: list[Field | None]) -> list[tuple[str, _Hit]]:
    parts = [_masked(plan_hits.get(pid, []), rule.mask) for pid in rule.plans]
    if not all(parts):
        return []
    within = rule.term.within
    out: list[tuple[str, _Hit]] = []
    # Parts must be in one field; in the body, in one paragraph too.
    places: dict[tuple[int, int], list[list[_Hit]]] = {}
    for k, hits in enumerate(parts):
        for h in hits:
            place = (h[0], _paragraph(fields, h[0], _original_start(fields, h)) if h[0] == BODY else 0)
            places.setdefault(place, [[] for _ in parts])[k].append(h)
    for _, choices in sorted(places.items()):
        if not all(choices):
            continue
        total = 1
        for c in choices:
            total *= len(c)
        if total > 10_000:  # a pathological story: keep the first occurrences only
            choices = [c[:8] for c in choices]
        for combo in product(*choices):
            if all(_gap(a, b) <= within for k, a in enumerate(combo) for b in combo[k + 1:]):
                for text, hit in zip(rule.term.near, combo, strict=True):
                    if (text, hit) not in out:
                        out.append((text, hit))
    return out


def _masked(hits: list[_Hit], mask: int) -> list[_Hit]:
    """The hits in the fields of `mask`."""
    return hits if mask == ALL_FIELDS else [h for h in hits if mask >> h[0] & 1]


def _plain_hits(rules: list[tuple[str, int, int]], plan_hits: dict[int, list[_Hit]]) -> list[tuple[str, list[_Hit]]]:
    """(label, hits) of the plain rules (label, plan id, mask) that hit in their fields."""
    out = []
    for label, pid, mask in rules:
        hits = plan_hits.get(pid)
        if hits and mask != ALL_FIELDS:
            hits = _masked(hits, mask)
        if hits:
            out.append((label, hits))
    return out


def field_mask(names: Iterable[str]) -> int:
    """The mask of field names ("title", "summary", "body"); every field when none."""
    mask = 0
    for name in names:
        mask |= 1 << FIELDS.index(name)
    return mask or ALL_FIELDS


def _original_start(fields: list[Field | None], hit: _Hit) -> int:
    fld = fields[hit[0]]
    assert fld is not None  # a hit's field was scanned
    return hit[1] if fld.same else fld.span(hit[1], hit[2])[0]


def _paragraph(fields: list[Field | None], order: int, start: int) -> int:
    """The body paragraph of an original offset; 0 in the title and summary."""
    if order != BODY:
        return 0
    fld = fields[order]
    assert fld is not None  # a hit's field was scanned
    return fld.paragraph(start)


def _gap(a: _Hit, b: _Hit) -> int:
    """Words between two hits (0 when adjacent; overlapping hits count as 0)."""
    if a[4] <= b[3]:
        return b[3] - a[4]
    if b[4] <= a[3]:
        return a[3] - b[4]
    return 0
