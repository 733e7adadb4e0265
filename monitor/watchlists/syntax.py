"""The watchlist file format: a watchlist's keys, its terms and their options, `notify`
and `in:`, each problem named with its file and line (the rules are listed in
`monitor.watchlists`); `term_problem` is the rule for a word or phrase."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..config import parse_duration
from ..errors import ConfigError
from ..match import TOKEN_RE, compile_regex, printable, quote
from ..models import RELATED_MODES, Term, Watchlist
from ..normalize import normalize_text
from ..yamlfile import YDict, YList, kind_of, line_of, parse_yaml

log = logging.getLogger(__name__)

WATCHLIST_KEYS = {"name", "title", "terms", "require", "exclude", "notify", "when", "outlets",
                  "within", "related", "in"}
TERM_KEYS = {"term", "near", "regex", "exact", "variants", "within", "in"}
# `in:` names a place as a desk says it; the matcher's field name beside it
PLACES = {"title": "title", "lead": "summary", "body": "body"}
CHANNELS = {"console", "telegram", "email", "webhook", "apprise"}
WHEN = ("first", "spread")
DEFAULT_NEAR_WITHIN = 10
DEFAULT_SPREAD_OUTLETS = 3
DEFAULT_SPREAD_MINUTES = 60
_NAME = re.compile(r"^[\w-]+$")


class _Problems:
    """Collects every problem of one file; `strict` raises on the first."""

    def __init__(self, file: str, strict: bool) -> None:
        self.file = file
        self.strict = strict
        self.errors: list[ConfigError] = []

    def add(self, message: str, line: int | None, hint: str = "") -> None:
        err = ConfigError(message, file=self.file, line=line or None, hint=hint)
        if self.strict:
            raise err
        self.errors.append(err)


def _term_has_words(text: str) -> bool:
    return bool(TOKEN_RE.search(normalize_text(text)))


def term_problem(text: str) -> str | None:
    """Why a word or phrase can never be a term, or None when it can be one.

    The one rule for a watchlist's words and phrases and for a chat's own terms (Telegram
    /watch): something must be left to match once normalised (ـــ, !!! or 😀 alone leave
    nothing)."""
    text = text.strip()
    if not text:
        return "empty term"
    if not _term_has_words(text):
        return f"term {quote(text)} has no letters or digits once normalised"
    return None


def personal_term(text: str) -> Term:
    """A chat's own term (Telegram /watch), checked by the rule of every watchlist term;
    raises ConfigError saying why it can never match."""
    problem = term_problem(text)
    if problem:
        raise ConfigError(problem)
    return Term(text=text.strip())


def _parse_term(value: Any, line: int, where: str, problems: _Problems) -> Term | None:
    if isinstance(value, bool) or value is None:
        problems.add(f"{where}: expected a word, a phrase or a mapping, got {value!r}", line)
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str):
        problem = term_problem(value)
        if problem:
            problems.add(f"{where}: {problem}", line)
            return None
        return Term(text=value.strip(), line=line)
    if not isinstance(value, dict):
        problems.add(f"{where}: expected a word, a phrase or a mapping, got {kind_of(value)}", line)
        return None
    return _parse_term_mapping(value, line_of(value, line), where, problems)


def _parse_term_mapping(value: dict[Any, Any], line: int, where: str, problems: _Problems) -> Term | None:
    """A term written as a mapping: one of `term:`, `near:` or `regex:`, with its options."""
    ok = True
    for key in value:
        if key not in TERM_KEYS:
            problems.add(f"{where}: unknown key {key!r}", _key_line(value, key, line),
                         hint="a term takes term, near, regex, exact, variants, within, in")
            ok = False
    fields: tuple[str, ...] = ()
    if "in" in value:
        parsed = _parse_in(value["in"], _key_line(value, "in", line), f"{where}: in", problems)
        if parsed is None:
            ok = False
        else:
            fields = parsed
    kinds = [k for k in ("term", "near", "regex") if k in value]
    if len(kinds) != 1:
        problems.add(f"{where}: give exactly one of term, near or regex", line)
        return None
    flags: dict[str, Any] = {}
    for flag in ("exact", "variants"):
        if flag in value:
            if not isinstance(value[flag], bool):
                problems.add(f"{where}: {flag} must be true or false", _key_line(value, flag, line))
                ok = False
            flags[flag] = bool(value[flag])
    kind = kinds[0]
    if "within" in value and kind != "near":
        problems.add(f"{where}: within applies to near terms only", _key_line(value, "within", line))
        ok = False
    return _TERM_KINDS[kind](value, line, where, problems, fields=fields, flags=flags, ok=ok)


def _regex_term(value: dict[Any, Any], line: int, where: str, problems: _Problems, *,
                fields: tuple[str, ...], flags: dict[str, Any], ok: bool) -> Term | None:
    """`regex:`; `ok` is False when an earlier option of the mapping had a problem."""
    pattern = value["regex"]
    if flags:
        problems.add(f"{where}: exact/variants do not apply to regex terms", line)
        ok = False
    if not isinstance(pattern, str) or not pattern.strip():
        problems.add(f"{where}: regex must be a non-empty string", _key_line(value, "regex", line))
        return None
    try:
        compile_regex(pattern)
    except ValueError as exc:
        problems.add(f"{where}: bad regex {quote(pattern)}: {exc}", _key_line(value, "regex", line))
        return None
    return Term(text=pattern, regex=True, line=line, fields=fields) if ok else None


def _near_term(value: dict[Any, Any], line: int, where: str, problems: _Problems, *,
               fields: tuple[str, ...], flags: dict[str, Any], ok: bool) -> Term | None:
    """`near:` (two or more words or phrases) and its `within:`."""
    parts = value["near"]
    nline = _key_line(value, "near", line)
    if not isinstance(parts, list) or len(parts) < 2:
        problems.add(f"{where}: near needs a list of two or more terms", nline)
        return None
    texts = []
    for i, part in enumerate(parts):
        pline = parts.line_of(i) if isinstance(parts, YList) else nline
        if not isinstance(part, (str, int, float)) or isinstance(part, bool) or not str(part).strip():
            problems.add(f"{where}: near item {i + 1} must be a word or phrase", pline)
            ok = False
        elif not _term_has_words(str(part)):
            problems.add(f"{where}: near item {quote(str(part))} has no letters or digits once normalised",
                         pline)
            ok = False
        else:
            texts.append(str(part).strip())
    within = value.get("within", DEFAULT_NEAR_WITHIN)
    if isinstance(within, bool) or not isinstance(within, int) or within < 1:
        problems.add(f"{where}: within must be a whole number of words (1 or more), got {within!r}",
                     _key_line(value, "within", line))
        ok = False
    if not ok:
        return None
    return Term(text=" ~ ".join(texts), near=tuple(texts), within=within, line=line, fields=fields, **flags)


def _word_term(value: dict[Any, Any], line: int, where: str, problems: _Problems, *,
               fields: tuple[str, ...], flags: dict[str, Any], ok: bool) -> Term | None:
    """`term:` (a word or phrase)."""
    text = value["term"]
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        problems.add(f"{where}: term must be a non-empty word or phrase", _key_line(value, "term", line))
        return None
    problem = term_problem(text)
    if problem:
        problems.add(f"{where}: {problem}", line)
        return None
    return Term(text=text.strip(), line=line, fields=fields, **flags) if ok else None


_TERM_KINDS = {"regex": _regex_term, "near": _near_term, "term": _word_term}


def _parse_in(value: Any, line: int, where: str, problems: _Problems) -> tuple[str, ...] | None:
    """`in:` (a place or a list of them: title, lead, body) as field names in `PLACES`
    order; None (and a problem) when it names anything else or nothing."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        problems.add(f"{where}: expected title, lead or body, or a list of them, got {kind_of(value)}", line)
        return None
    for i, item in enumerate(items):
        if not isinstance(item, str) or item.strip().lower() not in PLACES:
            iline = items.line_of(i) if isinstance(items, YList) else line
            problems.add(f"{where}: unknown place {printable(str(item))!r}", iline,
                         hint="a story is read in three places: title, lead (the feed's summary) and body")
            return None
    named = {PLACES[item.strip().lower()] for item in items}
    return tuple(f for f in PLACES.values() if f in named)


def _key_line(mapping: Any, key: Any, default: int) -> int:
    return mapping.line_of(key) if isinstance(mapping, YDict) else default


def _parse_terms(doc: YDict, key: str, problems: _Problems, required: bool) -> tuple[Term, ...]:
    line = _key_line(doc, key, doc.line)
    if key not in doc or doc[key] is None:
        if required:
            problems.add(f"{key}: at least one term is needed", line)
        return ()
    value = doc[key]
    if isinstance(value, (str, dict)):
        value = YList([value])
        value.line = line
        value.item_lines = [line]
    if not isinstance(value, list):
        problems.add(f"{key}: expected a list of terms", line)
        return ()
    if required and not value:
        problems.add(f"{key}: at least one term is needed", line)
    out: list[Term] = []
    seen: set[Term] = set()  # a set, not `in out`: a file of 20,000 terms must load in linear time
    for i, item in enumerate(value):
        iline = value.line_of(i) if isinstance(value, YList) else line
        term = _parse_term(item, iline, key, problems)
        if term is not None and term not in seen:
            seen.add(term)
            out.append(term)
    return tuple(out)


def _parse_notify(value: Any, line: int, problems: _Problems) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        problems.add("notify: expected a mapping of channel to destinations", line)
        return MappingProxyType({})
    out: dict[str, tuple[str, ...]] = {}
    for channel, dests in value.items():
        cline = _key_line(value, channel, line)
        if channel not in CHANNELS:
            problems.add(f"notify: unknown channel {channel!r}", cline,
                         hint="known: " + ", ".join(sorted(CHANNELS)))
            continue
        if dests is None or dests is True:
            out[channel] = ()
            continue
        if isinstance(dests, (str, int)) and not isinstance(dests, bool):
            dests = [dests]
        if not isinstance(dests, list) or not all(
                isinstance(d, (str, int)) and not isinstance(d, bool) and str(d).strip() for d in dests):
            problems.add(f"notify: {channel}: expected a destination or a list of them", cline)
            continue
        out[channel] = tuple(str(d).strip() for d in dests)
    return MappingProxyType(out)


def _parse_name(doc: YDict, default_name: str | None, problems: _Problems) -> str:
    """`name:` (the file's name when it holds one watchlist); "" when missing."""
    name = doc.get("name", default_name)
    if name is None:
        problems.add("name: needed when a file holds several watchlists", doc.line)
        name = ""
    name = str(name).strip()
    if name and not _NAME.match(name):
        problems.add(f"name: {name!r} may hold only letters, digits, '-' and '_'", _key_line(doc, "name", doc.line))
    return name


def _parse_spread(doc: YDict, file: str, problems: _Problems) -> tuple[int, int]:
    """(`outlets:`, `within:` in minutes) of a `when: spread` watchlist."""
    outlets = doc.get("outlets", DEFAULT_SPREAD_OUTLETS)
    if isinstance(outlets, bool) or not isinstance(outlets, int) or outlets < 2:
        problems.add(f"outlets: expected a whole number of outlets, 2 or more, got {outlets!r}",
                     _key_line(doc, "outlets", doc.line))
    within_minutes = DEFAULT_SPREAD_MINUTES
    if "within" in doc:
        wline = _key_line(doc, "within", doc.line)
        try:
            seconds = parse_duration(doc["within"], file=file, line=wline, what="within")
        except ConfigError as exc:
            problems.add(exc.message, wline)
        else:
            if seconds < 60:
                problems.add("within: must be at least one minute (e.g. 60m)", wline)
            within_minutes = int(round(seconds / 60))
    return outlets, within_minutes


def _parse_watchlist(doc: Any, file: str, default_name: str | None, problems: _Problems) -> Watchlist | None:
    if not isinstance(doc, YDict):
        problems.add("a watchlist must be a mapping with at least `terms:`", line_of(doc, 1))
        return None
    before = len(problems.errors)
    for key in doc:
        if key not in WATCHLIST_KEYS:
            problems.add(f"unknown key {key!r}", _key_line(doc, key, doc.line),
                         hint="a watchlist takes " + ", ".join(sorted(WATCHLIST_KEYS)))
    name = _parse_name(doc, default_name, problems)
    title = doc.get("title", name)
    if not isinstance(title, (str, int, float)) or isinstance(title, bool) or not str(title).strip():
        problems.add("title: expected text", _key_line(doc, "title", doc.line))
        title = name
    terms = _parse_terms(doc, "terms", problems, required=True)
    require = _parse_terms(doc, "require", problems, required=False)
    exclude = _parse_terms(doc, "exclude", problems, required=False)
    notify = _parse_notify(doc.get("notify"), _key_line(doc, "notify", doc.line), problems)
    when = doc.get("when", "first")
    outlets, within_minutes = 0, 0
    if when not in WHEN:
        problems.add(f"when: expected first or spread, got {when!r}", _key_line(doc, "when", doc.line))
    elif when == "spread":
        outlets, within_minutes = _parse_spread(doc, file, problems)
    else:
        for key in ("outlets", "within"):
            if key in doc:
                problems.add(f"{key}: applies only with `when: spread`", _key_line(doc, key, doc.line))
    related = doc.get("related", "reply")
    if not isinstance(related, str) or related.strip().lower() not in RELATED_MODES:
        problems.add(f"related: expected reply, edit or alert, got {related!r}", _key_line(doc, "related", doc.line),
                     hint="how a later story of an already-alerted event comes: a reply to the first alert, "
                          "an edit of it, or an alert of its own")
        related = "reply"
    fields = _parse_in(doc["in"], _key_line(doc, "in", doc.line), "in", problems) if "in" in doc else ()
    if len(problems.errors) > before:
        return None
    return Watchlist(name=name, title=str(title).strip(), terms=terms, require=require, exclude=exclude,
                     notify=notify, when=when, outlets=outlets if when == "spread" else 0,
                     within_minutes=within_minutes, path=file, related=related.strip().lower(),
                     fields=fields or ())


def parse_file(path: Path, text: str | None, strict: bool,
                file: str | None = None) -> tuple[list[Watchlist], list[ConfigError]]:
    file = file or str(path)
    problems = _Problems(file, strict)
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.add(f"not UTF-8 text ({exc.reason} at byte {exc.start})", None)
        return [], problems.errors
    except OSError as exc:
        problems.add(f"cannot read: {exc.strerror}", None)
        return [], problems.errors
    try:
        return _parse_text(path, file, text, problems)
    except ConfigError as exc:
        if exc.file is None:
            exc.file = file
        if strict:
            raise
        return [], problems.errors + [exc]
    except Exception as exc:  # noqa: BLE001 - whatever a hostile file does, it is that file's problem
        log.debug("watchlist file could not be loaded file=%s", file, exc_info=True)
        err = ConfigError(_load_failure(exc), file=file)
        if strict:
            raise err from None
        return [], problems.errors + [err]


def _load_failure(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "cannot load: nested too deeply"
    if isinstance(exc, MemoryError):
        return "cannot load: too large to hold in memory"
    return f"cannot load: {type(exc).__name__}: {printable(str(exc), 200)}"


def _parse_text(path: Path, file: str, text: str, problems: _Problems) -> tuple[list[Watchlist], list[ConfigError]]:
    doc = parse_yaml(text, file)
    if doc is None:
        problems.add("empty watchlist file", 1, hint="a watchlist needs at least `terms:`")
        return [], problems.errors
    out: list[Watchlist] = []
    if isinstance(doc, list):
        if not doc:
            problems.add("empty list of watchlists", line_of(doc, 1))
        for item in doc:
            wl = _parse_watchlist(item, file, None, problems)
            if wl:
                out.append(wl)
    else:
        wl = _parse_watchlist(doc, file, path.stem if _NAME.match(path.stem) else "try", problems)
        if wl:
            out.append(wl)
    seen: dict[str, int] = {}
    for wl in out:
        if wl.name in seen:
            problems.add(f"duplicate watchlist name {wl.name!r}", None)
        seen[wl.name] = 1
    if problems.errors:
        return [], problems.errors
    return out, []
