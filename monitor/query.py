"""A search query as people write it (the syntax is in monitor/desk.py): its clauses and
terms, how it was read in words, and the words the store's search index may narrow on."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .match import bare, compound_spellings, form_data, skeletons, word_data
from .models import Term
from .normalize import normalize_text, tokenize
from .store import SearchWord
from .watchlists import term_problem

MAX_QUERY = 500
MAX_QUERY_TERMS = 10


@dataclass(frozen=True)
class Clause:
    """One alternative of a query: every term of `all` must match, none of `none`."""

    all: tuple[Term, ...]
    none: tuple[Term, ...] = ()


_TOKEN = re.compile(r'-?"[^"]*"?|[^\s"]+')


def parse_clauses(query: str) -> tuple[Clause, ...]:
    """The alternatives of a search query (the syntax is in monitor/desk.py); ConfigError says why not."""
    if len(query) > MAX_QUERY:
        raise ConfigError(f"query: at most {MAX_QUERY} characters, got {len(query)}")
    hint = 'write a word, a phrase, "exact", ~variants, A + B for both, -C for not, A | B for either'
    parts = [p.strip() for p in _outside_quotes(query, "|")]
    parts = [p for p in parts if p]
    if not parts:
        raise ConfigError("query: empty", hint=hint)
    clauses: list[Clause] = []
    count = 0
    for part in parts:
        wanted: list[Term] = []
        unwanted: list[Term] = []
        for chunk in (c.strip() for c in _outside_quotes(part.replace("&", "+"), "+")):
            more, less = _chunk_terms(chunk, hint)
            wanted += more
            unwanted += less
        if not wanted:
            if unwanted:
                raise ConfigError(f"query: {part!r} only leaves out: say what to find too",
                                  hint="write A -C: stories with A, without C")
            continue
        count += len(wanted) + len(unwanted)
        clause = Clause(tuple(dict.fromkeys(wanted)), tuple(dict.fromkeys(unwanted)))
        if clause not in clauses:
            clauses.append(clause)
    if not clauses:
        raise ConfigError("query: empty", hint=hint)
    if count > MAX_QUERY_TERMS:
        raise ConfigError(f"query: at most {MAX_QUERY_TERMS} terms, got {count}")
    return tuple(clauses)


def _chunk_terms(chunk: str, hint: str) -> tuple[list[Term], list[Term]]:
    """The wanted and unwanted terms of one `+` part: runs of plain words are phrases, a
    quoted text is exact, a `-` in front leaves a word (or a quoted text) out."""
    wanted: list[Term] = []
    unwanted: list[Term] = []
    phrase: list[str] = []
    variants = False
    for token in [*_TOKEN.findall(chunk), None]:
        negated = token is not None and token.startswith("-") and len(token) > 1
        body = "" if token is None else token[1:] if negated else token
        quoted = body.startswith('"')
        if token is None or negated or quoted:
            if phrase:
                wanted.append(_term(" ".join(phrase), hint, variants=variants))
            phrase, variants = [], False
            if token is None:
                break
            (unwanted if negated else wanted).append(_term(body.strip('"'), hint, exact=quoted))
        elif not phrase and body.startswith("~"):
            variants, phrase = True, [body[1:]] if body[1:] else []
        else:
            phrase.append(body)
    return wanted, unwanted


def _outside_quotes(text: str, sep: str) -> list[str]:
    """`text` cut at every `sep` that is not inside double quotes."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def _term(text: str, hint: str, *, exact: bool = False, variants: bool = False) -> Term:
    text = " ".join(text.split())
    problem = term_problem(text)
    if problem:
        raise ConfigError(f"query: {problem}", hint=hint)
    return Term(text=text, exact=exact, variants=variants)


def parse_query(query: str) -> tuple[Term, ...]:
    """The terms a query looks for (every clause's wanted terms, each once)."""
    return tuple(dict.fromkeys(t for c in parse_clauses(query) for t in c.all))


def describe_query(clauses: Sequence[Clause]) -> str:
    """How a query was read, in words (`raqib search` prints it first)."""
    def one(term: Term) -> str:
        words = len(term.text.split())
        if term.exact:
            return f'"{term.text}" (exactly{", these words in this order" if words > 1 else ""})'
        if term.variants:
            return f"~{term.text} (and its other spellings)"
        return f"{term.text} (these words in this order)" if words > 1 else term.text

    parts = []
    for c in clauses:
        text = " AND ".join(one(t) for t in c.all)
        if c.none:
            text += " AND NOT " + " AND NOT ".join(one(t) for t in c.none)
        parts.append(f"({text})" if len(clauses) > 1 and (len(c.all) > 1 or c.none) else text)
    return " OR ".join(parts)


def query_words(terms: Sequence[Term]) -> list[list[SearchWord]] | None:
    """What the store's index may narrow on for these terms: alternatives of words that a
    story must all hold (see monitor/store/desk.py), or None when a term cannot be
    narrowed (a regex; a variant word of digits or of vowels alone, which the matcher
    looks for in every field). Every compound spelling of a term is an alternative of its
    own, and so is each form of a group name (الحوثيين for الحوثي); a variant word's first
    word is looked up by each of its skeletons."""
    counts = word_data().counts
    out: list[list[SearchWord]] = []

    def add(group: list[SearchWord]) -> None:
        if group not in out:
            out.append(group)

    for term in terms:
        if term.regex:
            return None
        for part in term.near or (term.text,):
            words = tuple(tokenize(normalize_text(part)))
            for spelling in compound_spellings(words, counts):
                if term.variants:
                    word = bare(spelling[0])
                    cores = skeletons(word)
                    if not word[0].isalpha() or "" in cores:
                        return None
                    for core in sorted(cores):
                        add([SearchWord(core, skeleton=True)])
                    continue
                first = spelling[0] if term.exact else bare(spelling[0])
                add([SearchWord(first, whole=term.exact)] + [SearchWord(w, whole=True) for w in spelling[1:]])
                if len(spelling) == 1 and not term.exact:  # the matcher's rule: one plain word
                    for form, _ in form_data().forms(spelling[0]):
                        add([SearchWord(bare(form))])
    return out
