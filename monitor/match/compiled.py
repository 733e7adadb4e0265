"""Every watchlist's terms compiled into the indexes a `Matcher` reads: the written forms
of words and phrases, the skeletons of variant words, the RE2 patterns, and per watchlist
its rules.

A compiled matcher changes in place (`Matcher.update`): words, phrases and patterns are
shared between watchlists and counted, so adding or removing a watchlist costs what that
watchlist holds, not what all of them hold. An update compiles everything new before it
changes anything: a term that fails leaves the matcher as it was. `MatcherGroup` answers
for several matchers over different watchlists as one (the watchlist files' and the
chats' own terms).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import re2

from monitor.models import Term, Watchlist
from monitor.normalize import encode

from .forms import form_data, words_with_maqsura
from .hits import plain
from .lexicon import bare, word_data, written_forms
from .plans import FIELDS, PlanKey, TermPlan, TermRule, field_mask, plan_for, term_spellings
from .regex import compile_regex
from .textviews import LETTER
from .variants import PREFIX_SKELETONS, skeletons


class CompiledTerms:
    """The compiled watchlists and their indexes; `update` changes them in place (see
    `Matcher`, which matches stories against them)."""

    def __init__(self, watchlists: Sequence[Watchlist] = ()) -> None:
        self._data = word_data()
        self._slots: dict[str, list[int]] = {}  # watchlist name -> its slot(s)
        self._free_slots: list[int] = []
        self._sorted: tuple[Watchlist, ...] | None = ()
        # Per slot: the watchlist and its rules (terms, require, exclude), its name, its
        # near/regex terms, and None or its require and exclude rules (plain ones as plan ids).
        self._rules: list[tuple[Watchlist, list[TermRule], list[TermRule], list[TermRule]] | None] = []
        self._names: list[str] = []
        self._generic_terms: list[list[TermRule]] = []
        self._checks: list[tuple[Any, ...] | None] = []
        self._plans: list[TermPlan | None] = []
        self._plan_keys: list[PlanKey | None] = []
        self._plan_refs: list[int] = []
        self._plan_ids: dict[PlanKey, int] = {}
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
        fresh_plans: dict[PlanKey, TermPlan] = {}
        fresh_regexes: dict[str, re2._Regexp] = {}
        # A term's key is its words with every compound apart: عبدالله and عبد الله share one
        # (a word it writes with a final ى is marked: على is not علي, see plan_for).
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
                        spellings = term_spellings(part)
                        own = words_with_maqsura(part)
                        folded = norm[part] = " ".join(w + "\x00" * (w in own) for w in spellings[0])
                    key = (folded, term.exact, term.variants)
                    if key not in self._plan_ids and key not in fresh_plans:
                        spellings = spellings or term_spellings(part)
                        plan, *others = (plan_for(part, words, term.exact, term.variants) for words in spellings)
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

    def _attach(self, wl: Watchlist, terms: list[TermRule], require: list[TermRule],
                exclude: list[TermRule]) -> None:
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
        plain_req = [(r.term.text, r.plans[0], r.mask) for r in require if plain(r)]
        generic_req = [r for r in require if not plain(r)]
        plain_ex = [(r.plans[0], r.mask) for r in exclude if plain(r)]
        generic_ex = [r for r in exclude if not plain(r)]
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

    def _rule(self, term: Term, norm: dict[str, str], fresh_plans: dict[PlanKey, TermPlan],
              fresh_regexes: dict[str, re2._Regexp]) -> TermRule:
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
            return TermRule(term, regex=rid)
        parts = term.near or (term.text,)
        return TermRule(term, plans=tuple(self._use_plan((norm[p], term.exact, term.variants), fresh_plans)
                                           for p in parts))

    def _use_plan(self, key: PlanKey, fresh: dict[PlanKey, TermPlan]) -> int:
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

    def _new_pid(self, plan: TermPlan, key: PlanKey | None) -> int:
        if self._free_plans:
            pid = self._free_plans.pop()
            self._plans[pid], self._plan_keys[pid], self._plan_refs[pid] = plan, key, 1
        else:
            pid = len(self._plans)
            self._plans.append(plan)
            self._plan_keys.append(key)
            self._plan_refs.append(1)
        return pid

    def _index(self, pid: int, plan: TermPlan, add: bool) -> None:
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

    def _index_forms(self, pid: int, plan: TermPlan, add: bool) -> None:
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

    def _index_variant(self, pid: int, plan: TermPlan, add: bool) -> None:
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

    def _plan(self, pid: int) -> TermPlan:
        """The plan of a live id (ids in the indexes are never freed ones)."""
        plan = self._plans[pid]
        assert plan is not None
        return plan


def _discard(index: dict[int, set[int]], key: int, slot: int) -> None:
    """Take `slot` out of `key`'s set; gone already when a watchlist names one regex or
    one near pair twice (the set holds the slot once)."""
    slots = index.get(key)
    if slots is None:
        return
    slots.discard(slot)
    if not slots:
        del index[key]
