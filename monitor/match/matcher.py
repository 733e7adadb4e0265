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

The compiled terms are in `plans` (a term's plan and rule) and `compiled` (the indexes and
how they change); the hits of phrases and near terms in `hits`.
"""
from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass
from itertools import compress

from monitor.models import Match, Watchlist
from monitor.normalize import FOLDED, REMOVED, decode, encode, normalize_text

from .compiled import CompiledTerms
from .forms import written_with_maqsura
from .hits import masked, near_hits, paragraph, phrase_end, plain, plain_hits
from .lexicon import ARTICLE, NO_PREFIX, SPLITS_BY_FIRST, bare, has_article
from .plans import ALL_FIELDS, BODY, FIELDS, Hit, TermRule
from .textviews import DIGIT_VIEW, EMPTY_SKELETON, LETTER_VIEW, Field, field_skeletons, token_skeletons
from .variants import skeleton

log = logging.getLogger(__name__)

MAX_MATCHES_PER_REGEX = 50
VARIANT_GUARD_RATIO = 20
VARIANT_GUARD_MIN = 500
VARIANT_NOUN_MIN = 30
VARIANT_NOUN_RATIO = 5
VARIANT_ARTICLE_SHARE = 5  # a variant seen with the article a fifth as often as without is a noun
VARIANT_MEMO_SIZE = 50_000  # tokens whose variant reading is remembered (cleared when full)


@dataclass(frozen=True)
class MatchVerdict:
    """What `Matcher.explain` says of one watchlist whose terms matched a story.

    `fired` as `match` decides it; `matches` the hits of its terms and require terms (as
    `match` reports them when it fires); `rule` is "" when it fired, else "exclude" (an
    exclude term matched: `stopped_by` holds where) or "require" (no require term did)."""

    watchlist: str
    fired: bool
    matches: tuple[Match, ...]
    rule: str = ""
    stopped_by: tuple[Match, ...] = ()


class Matcher(CompiledTerms):
    """All watchlists compiled together; `match` says which fire on a story, and why.

    `update(remove=names, add=watchlists)` changes the set in place in time proportional
    to the watchlists it names, not to all of them (a chat's own terms change without
    recompiling every watchlist file). It is all or nothing: every new term is compiled
    before anything changes, so a term that does not compile raises ValueError and the
    matcher stays as it was. Compiled words, phrases and patterns are shared between
    watchlists and counted; the last watchlist to drop one takes its forms out.
    """

    def _found(self, title: str, summary: str = "", body: str = "") -> tuple[
            dict[int, list[Hit]], dict[int, list[Hit]], list[Field | None],
            dict[int, list[tuple[str, list[Hit]]]]] | None:
        """Scan the story once: the plan and regex hits, the fields scanned, and per watchlist
        slot the terms that matched with their hits (None when nothing matched at all).
        `match` and `explain` decide from this the same way."""
        plan_hits: dict[int, list[Hit]] = {}
        regex_hits: dict[int, list[Hit]] = {}
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
        found = self._terms_found(plan_hits)
        if self._generic_by_plan or self._generic_by_regex:
            self._generic_found(found, plan_hits, regex_hits, fields)
        return plan_hits, regex_hits, fields, found

    def _terms_found(self, plan_hits: dict[int, list[Hit]]) -> dict[int, list[tuple[str, list[Hit]]]]:
        """Which watchlists (by slot) have a plain term that matched, and with which hits
        (those in the fields the term reads)."""
        found: dict[int, list[tuple[str, list[Hit]]]] = {}
        term_refs = self._term_refs
        for pid, hits in plan_hits.items():
            refs = term_refs.get(pid)
            if refs:
                for index, label, mask in refs:
                    own = hits if mask == ALL_FIELDS else masked(hits, mask)
                    if not own:
                        continue
                    entry = found.get(index)
                    if entry is None:
                        found[index] = [(label, own)]
                    else:
                        entry.append((label, own))
        return found

    def _generic_found(self, found: dict[int, list[tuple[str, list[Hit]]]], plan_hits: dict[int, list[Hit]],
                       regex_hits: dict[int, list[Hit]], fields: list[Field | None]) -> None:
        """Add to `found` the generic terms (near, regex, ...) that matched, with their hits."""
        generic: set[int] = set()
        for pid in plan_hits:
            generic.update(self._generic_by_plan.get(pid, ()))
        for rid in regex_hits:
            generic.update(self._generic_by_regex.get(rid, ()))
        for index in generic:
            for rule in self._generic_terms[index]:
                for label, hit in self._rule_hits(rule, plan_hits, regex_hits, fields):
                    found.setdefault(index, []).append((label, [hit]))

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
                    needed = plain_hits(plain_req, plan_hits)
                    for rule in generic_req:
                        needed += [(label, [hit])
                                   for label, hit in self._rule_hits(rule, plan_hits, regex_hits, fields)]
                    if not needed:
                        continue
                    entries = entries + needed
                if any(pid in plan_hits and (mask == ALL_FIELDS or masked(plan_hits[pid], mask))
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

    def explain(self, title: str, summary: str = "", body: str = "") -> list[MatchVerdict]:
        """Why each watchlist whose `terms` match this story fires or not: one MatchVerdict per
        such watchlist, sorted by name. `match` says which fire; this also names the rule
        that stopped the others (an `exclude` term that matched, or no `require` term).
        It scans the story as `match` does and is as fast when nothing matches; it is a
        separate path so that `match` itself pays nothing for it (`raqib try` uses it)."""
        scanned = self._found(title, summary, body)
        if scanned is None:
            return []
        plan_hits, regex_hits, fields, found = scanned

        def spans(name: str, entries: list[tuple[str, list[Hit]]]) -> tuple[Match, ...]:
            rows: set[tuple[int, int, int, str]] = set()
            for label, hits in entries:
                for order, start, end, _, _ in hits:
                    fld = fields[order]
                    assert fld is not None  # a hit's field was scanned
                    s, e = (start, end) if fld.same else fld.span(start, end)
                    rows.add((order, s, e, label))
            return tuple(Match(name, label, FIELDS[order], s, e, paragraph(fields, order, s))
                         for order, s, e, label in sorted(rows))

        out: list[MatchVerdict] = []
        for index, entries in found.items():
            name, check = self._names[index], self._checks[index]
            reason = ""
            stopped_by: list[tuple[str, list[Hit]]] = []
            if check is not None:
                plain_req, generic_req, _, generic_ex = check
                entry = self._rules[index]
                assert entry is not None  # a live slot
                ex = plain_hits([(r.term.text, r.plans[0], r.mask) for r in entry[3] if plain(r)], plan_hits)
                for rule_ in generic_ex:
                    ex += [(label, [hit]) for label, hit in self._rule_hits(rule_, plan_hits, regex_hits, fields)]
                if plain_req or generic_req:
                    needed = plain_hits(plain_req, plan_hits)
                    for rule_ in generic_req:
                        needed += [(label, [hit])
                                   for label, hit in self._rule_hits(rule_, plan_hits, regex_hits, fields)]
                    if needed:
                        entries = entries + needed
                    else:
                        reason = "require"
                if not reason and ex:
                    reason, stopped_by = "exclude", ex
            out.append(MatchVerdict(name, not reason, spans(name, entries), reason, spans(name, stopped_by)))
        out.sort(key=lambda v: v.watchlist)
        return out

    def _drop_particles(self, plan_hits: dict[int, list[Hit]], fields: list[Field | None]) -> None:
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

    def _rule_hits(self, rule: TermRule, plan_hits: dict[int, list[Hit]],
                   regex_hits: dict[int, list[Hit]], fields: list[Field | None]) -> list[tuple[str, Hit]]:
        mask = rule.mask
        if rule.regex >= 0:
            return [(rule.term.text, h) for h in regex_hits.get(rule.regex, ()) if mask >> h[0] & 1]
        if not rule.term.near:
            hits = plan_hits.get(rule.plans[0])
            return [(rule.term.text, h) for h in hits if mask >> h[0] & 1] if hits else []
        return near_hits(rule, plan_hits, fields)

    def _scan(self, order: int, text: str, plan_hits: dict[int, list[Hit]],
              regex_hits: dict[int, list[Hit]], fields: list[Field | None]) -> None:
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
        if forms:
            self._scan_forms(order, fld, plan_hits)
        if variant:
            self._scan_variants(order, fld, plan_hits)
        if self._regexes:
            self._scan_regexes(order, fld, regex_hits)

    def _scan_forms(self, order: int, fld: Field, plan_hits: dict[int, list[Hit]]) -> None:
        """The words and phrases of the plans written in the field, as they are written."""
        tokens, bounds = fld.tokens, fld.bounds
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
                    j = phrase_end(self._plan(pid), tokens, i)
                    if j:
                        plan_hits.setdefault(pid, []).append((order, start + offset, bounds[2 * j - 1], i, j))

    def _scan_regexes(self, order: int, fld: Field, regex_hits: dict[int, list[Hit]]) -> None:
        """The regex terms' matches in the field's normalised text (at most
        MAX_MATCHES_PER_REGEX each), with the tokens they cover."""
        norm, bounds = fld.norm, fld.bounds
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

    def _scan_variants(self, order: int, fld: Field, plan_hits: dict[int, list[Hit]]) -> None:
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
                j = phrase_end(self._plan(pid), tokens, i)
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


