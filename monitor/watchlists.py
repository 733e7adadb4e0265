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
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from .config import parse_duration
from .errors import ConfigError
from .match import TOKEN_RE, Matcher, MatcherGroup, compile_regex, printable, quote
from .models import RELATED_MODES, Term, Watchlist  # defined below match and here; importable from here too
from .normalize import normalize_text
from .yamlfile import YDict, YList, kind_of, line_of, parse_yaml

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
_SUFFIXES = (".yaml", ".yml")


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
    line = line_of(value, line)
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
    if kind == "regex":
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
    if kind == "near":
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


def _parse_watchlist(doc: Any, file: str, default_name: str | None, problems: _Problems) -> Watchlist | None:
    if not isinstance(doc, YDict):
        problems.add("a watchlist must be a mapping with at least `terms:`", line_of(doc, 1))
        return None
    before = len(problems.errors)
    for key in doc:
        if key not in WATCHLIST_KEYS:
            problems.add(f"unknown key {key!r}", _key_line(doc, key, doc.line),
                         hint="a watchlist takes " + ", ".join(sorted(WATCHLIST_KEYS)))
    name = doc.get("name", default_name)
    if name is None:
        problems.add("name: needed when a file holds several watchlists", doc.line)
        name = ""
    name = str(name).strip()
    if name and not _NAME.match(name):
        problems.add(f"name: {name!r} may hold only letters, digits, '-' and '_'", _key_line(doc, "name", doc.line))
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


def _parse_file(path: Path, text: str | None, strict: bool,
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


def load_watchlist_file(path: str | os.PathLike[str]) -> list[Watchlist]:
    """Read one watchlist file; the first problem raises ConfigError(file=, line=)."""
    return _parse_file(Path(path), None, strict=True)[0]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file()
                      and not p.name.startswith("."))
    return [path]


def _missing(path: Path) -> ConfigError:
    return ConfigError("no such watchlist file or folder", file=str(path))


def load_watchlists(path: str | os.PathLike[str]) -> list[Watchlist]:
    """Every watchlist in a YAML file or a folder of *.yaml/*.yml; raises on the first problem."""
    path = Path(path)
    if not path.exists():
        raise _missing(path)
    out: list[Watchlist] = []
    where: dict[str, str] = {}
    for file in _files(path):
        for wl in load_watchlist_file(file):
            if wl.name in where:
                raise ConfigError(f"duplicate watchlist name {wl.name!r} (also in {where[wl.name]})",
                                  file=str(file))
            where[wl.name] = str(file)
            out.append(wl)
    return out


def check_watchlists(path: str | os.PathLike[str]) -> list[ConfigError]:
    """All problems in a watchlist file or folder, each with file and line."""
    path = Path(path)
    if not path.exists():
        return [_missing(path)]
    errors: list[ConfigError] = []
    where: dict[str, str] = {}
    for file in _files(path):
        good, errs = _check_file(file, None)
        errors.extend(errs)
        for wl in good:
            if wl.name in where:
                errors.append(ConfigError(f"duplicate watchlist name {wl.name!r} (also in {where[wl.name]})",
                                          file=str(file)))
            where.setdefault(wl.name, str(file))
    return errors


_OPERATOR_WORDS = ("AND", "OR", "و", "أو", "او")
_OPERATOR_SIGNS = ("&", "|", "+")


def operator_warning(term: Term) -> str | None:
    """Why a term reads as something its writer likely did not mean: a logical word
    (AND, OR, و, أو) standing alone, or &, | or +, is not an operator in a term — the
    term is one phrase with it inside. None when the term has none."""
    if term.regex:
        return None
    words = term.text.split()
    found = [w for w in words if w in _OPERATOR_WORDS] + [c for c in _OPERATOR_SIGNS if c in term.text]
    if not found or len(words) < 2 and not any(c in term.text for c in _OPERATOR_SIGNS):
        return None
    parts = [w for w in re.split(r"\s+(?:AND|OR|و|أو|او)\s+|[&|+]", term.text) if w.strip()]
    parts = [" ".join(p.split()) for p in parts]
    example = f"require: [{parts[1]}]" if len(parts) > 1 else "require: [...]"
    return (f"term {quote(term.text)} has {quote(found[0])}, which is not an operator: the term is one phrase "
            f"with it inside. For both, keep {quote(parts[0])} and add {example}; for either, list "
            f"{' and '.join(quote(p) for p in parts[:3])} as terms of their own")


_COMMON = frozenset(normalize_text(w) for w in (
    "في", "من", "على", "إلى", "الى", "عن", "مع", "بعد", "قبل", "حول", "بين", "خلال", "منذ", "حتى", "لدى", "عند",
    "التي", "الذي", "الذين", "هذا", "هذه", "ذلك", "تلك", "كان", "كانت", "يكون", "قد", "لقد", "لم", "لن", "ما",
    "ماذا", "كيف", "أن", "إن", "أنه", "إنه", "أو", "ثم", "كما", "كل", "بعض", "غير", "أي", "وفق", "أمام", "رغم",
    "عاجل", "فيديو", "صور", "تقرير", "قال", "قالت", "يقول", "أعلن", "أعلنت", "اليوم", "أمس", "الجديد", "جديد"))


def exclude_suggestion(title: str, watchlist: Watchlist, limit: int = 3) -> list[str]:
    """Words of a story someone found not relevant, to offer as the watchlist's `exclude`:
    the title's words of four letters or more, in order, without those the watchlist
    already names (terms, require, exclude; compared after normalising) nor common words."""
    named = {w for t in (*watchlist.terms, *watchlist.require, *watchlist.exclude)
             for w in normalize_text(t.text).split()}
    out: list[str] = []
    seen: set[str] = set()
    for word in re.findall(r"[^\W\d_]{4,}", title):
        norm = normalize_text(word)
        bare = norm[2:] if norm.startswith("ال") and len(norm) > 4 else norm
        if norm in named or bare in named or norm in _COMMON or bare in seen:
            continue
        seen.add(bare)
        out.append(word)
        if len(out) == limit:
            break
    return out


def watchlist_warnings(path: str | os.PathLike[str]) -> list[str]:
    """`file:line: warning: ...` for every term that looks like a logical expression
    (`operator_warning`); `raqib check` prints them and still passes."""
    path = Path(path)
    if not path.exists():
        return []
    out: list[str] = []
    for file in _files(path):
        good, _errs = _parse_file(file, None, strict=False)
        for wl in good:
            for term in (*wl.terms, *wl.require, *wl.exclude):
                why = operator_warning(term)
                if why:
                    out.append(f"{file}:{term.line}: warning: {why}")
    return out


def _check_file(path: Path, text: str | None, file: str | None = None) -> tuple[list[Watchlist], list[ConfigError]]:
    good, errs = _parse_file(path, text, strict=False, file=file)
    if good:
        try:
            Matcher(good)  # as the daemon compiles it
        except Exception as exc:  # noqa: BLE001 - reported like any other problem of the file
            errs, good = [ConfigError(_compile_failure(exc), file=file or str(path))], []
    return good, errs


def read_watchlist_text(text: str, file: str = "<try>") -> tuple[list[Watchlist], list[ConfigError]]:
    """The watchlists of one file's text, read and compiled exactly as `raqib check` and
    the daemon read a file (one watchlist or a list of them), or every problem of it as
    `file:line: message` (then no watchlist). `file` names it in those messages; its stem
    is the default name (`try` when the stem is not a valid name, as for "<try>")."""
    return _check_file(Path(file), text, file)


@dataclass(frozen=True)
class _FileState:
    stat: tuple[int, int]
    digest: str
    good: list[Watchlist]
    errors: list[ConfigError] = field(default_factory=list)


@dataclass
class Reload:
    """What `WatchlistRegistry.prepare` found, for `apply` to put in force."""

    files: dict[Path, _FileState]
    order: list[Watchlist]  # the files' watchlists in force, file by file
    matcher: Matcher | None  # the files' new matcher; None when nothing changed
    changed: bool
    errors: list[ConfigError]


class WatchlistRegistry:
    """The watchlists in force and their compiled matcher, kept in step with the files.

    Every file is a source, and so is every synthetic watchlist (`put_extra`: a chat's
    own /watch terms). Each source is compiled on its own: one that fails to read, parse,
    validate or compile is reported and keeps its last good version (none, for a new
    one), so no file and no term can break matching for the others.

    `refresh()` is cheap when nothing changed (one stat per file). A file whose mtime or
    size changed, or was modified in the last two seconds (an edit inside one timestamp
    tick), is read and hashed; only a different hash counts as a change. A deleted file's
    watchlists go. A watchlist whose name is taken by another file is refused and the
    file keeps its last good version. A synthetic watchlist whose name is taken by a file
    is dropped with a warning.

    `refresh()` is `apply(prepare())`. `prepare` reads, parses and compiles and changes
    nothing, so the daemon runs it in a worker thread while the event loop serves on;
    `apply` puts the result in force at once. The files share one matcher, compiled anew
    when one of them changes; the synthetic watchlists share another, changed in place
    one watchlist at a time. `matcher` answers for both.
    """

    def __init__(self, path: str | os.PathLike[str], extra: Sequence[Watchlist] = ()) -> None:
        self.path = Path(path)
        self._files: dict[Path, _FileState] = {}
        self._file_order: list[Watchlist] = []
        self._file_matcher = Matcher(())
        self._extra: dict[str, Watchlist] = {}
        self._extra_matcher = Matcher(())
        self.matcher = MatcherGroup(self._file_matcher, self._extra_matcher)
        self.watchlists: list[Watchlist] = []
        self.errors: list[ConfigError] = []
        self.refresh(force=True)
        self.set_extra(extra)

    def refresh(self, force: bool = False) -> tuple[bool, list[ConfigError]]:
        """Re-read what changed on disk; returns (whether the watchlists changed, problems now)."""
        return self.apply(self.prepare(force))

    def prepare(self, force: bool = False) -> Reload:
        """Read, parse and compile what changed on disk, without putting anything in force."""
        errors: list[ConfigError] = []
        files = dict(self._files)
        if not self.path.exists():
            errors.append(_missing(self.path))
            # keep everything in force: a folder being swapped, an unmounted disk
            return Reload(files, self._file_order, None, False, errors)
        changed = force
        now = time.time()
        try:
            present = _files(self.path)
        except OSError as exc:
            errors.append(ConfigError(f"cannot list: {exc.strerror}", file=str(self.path)))
            return Reload(files, self._file_order, None, False, errors)
        for gone in set(files) - set(present):
            del files[gone]
            changed = True
            log.info("watchlist file removed file=%s", gone)
        others_taken = {}
        for file, state in files.items():
            for wl in state.good:
                others_taken[wl.name] = file
        fresh: dict[Path, _FileState | None] = {}  # file -> its last good state, for files read anew
        for file in present:
            try:
                st = file.stat()
            except OSError as exc:
                errors.append(ConfigError(f"cannot read: {exc.strerror}", file=str(file)))
                continue
            sig = (st.st_mtime_ns, st.st_size)
            old = files.get(file)
            if old is not None and old.stat == sig and now - st.st_mtime > 2 and not force:
                errors.extend(old.errors)  # still refused: still a problem
                continue
            try:
                data = file.read_bytes()
            except OSError as exc:
                errors.append(ConfigError(f"cannot read: {exc.strerror}", file=str(file)))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if old is not None and old.digest == digest and not force:
                files[file] = replace(old, stat=sig)
                errors.extend(old.errors)
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                err = ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(file))
                errors.append(err)
                files[file] = _last_good(old, sig, digest, [err])
                continue
            good, errs = _parse_file(file, text, strict=False)
            if not errs:
                for wl in good:
                    holder = others_taken.get(wl.name)
                    if holder is not None and holder != file:
                        errs.append(ConfigError(f"duplicate watchlist name {wl.name!r} (also in {holder})",
                                                file=str(file)))
            if errs:
                errors.extend(errs)
                files[file] = _last_good(old, sig, digest, errs)
                log.warning("watchlist file refused, last good version stays file=%s problems=%d",
                            file, len(errs))
                continue
            files[file] = _FileState(sig, digest, good)
            fresh[file] = old
            for wl in good:
                others_taken[wl.name] = file
            changed = True
        if not changed:
            return Reload(files, self._file_order, None, False, errors)
        matcher, order = self._compile(files, fresh, errors)
        return Reload(files, order, matcher, True, errors)

    def _compile(self, files: dict[Path, _FileState], fresh: dict[Path, _FileState | None],
                 errors: list[ConfigError]) -> tuple[Matcher, list[Watchlist]]:
        """One matcher for every file, compiled file by file: a file that does not compile
        is reported and its last good version goes in instead."""
        matcher = Matcher(())
        order: list[Watchlist] = []
        names: set[str] = set()
        for file in sorted(files):
            state = files[file]
            wanted = [wl for wl in state.good if wl.name not in names]
            try:
                matcher.update(add=wanted)
            except Exception as exc:  # noqa: BLE001 - one file never breaks the others
                log.debug("watchlist file does not compile file=%s", file, exc_info=True)
                err = ConfigError(_compile_failure(exc), file=str(file))
                errors.append(err)
                old = fresh.get(file)
                wanted = [wl for wl in old.good if wl.name not in names] if old else []
                try:
                    matcher.update(add=wanted)
                except Exception:  # noqa: BLE001
                    wanted = []
                files[file] = _last_good(old, state.stat, state.digest, [err])
                log.warning("watchlist file refused, last good version stays file=%s problems=1", file)
            else:
                if file in fresh:
                    log.info("watchlist file loaded file=%s watchlists=%d", file, len(wanted))
            names.update(wl.name for wl in wanted)
            order.extend(wanted)
        return matcher, order

    def apply(self, reload: Reload) -> tuple[bool, list[ConfigError]]:
        """Put what `prepare` found in force; returns (whether the watchlists changed, problems)."""
        self._files = reload.files
        if reload.matcher is not None:
            self._file_matcher = reload.matcher
            self._file_order = reload.order
            taken = {wl.name for wl in reload.order}
            clashes = [name for name in self._extra if name in taken]
            for name in clashes:
                log.warning("synthetic watchlist dropped, name taken name=%s", name)
                self._extra_matcher.update(remove=[name])
                del self._extra[name]
            self.matcher = MatcherGroup(self._file_matcher, self._extra_matcher)
            self._publish()
        self.errors = reload.errors
        return reload.changed, reload.errors

    def set_extra(self, extra: Sequence[Watchlist]) -> None:
        """Replace every synthetic watchlist (see `put_extra`)."""
        wanted = {wl.name: wl for wl in extra}
        for name in [n for n in self._extra if n not in wanted]:
            self.put_extra(name, None)
        for name, wl in wanted.items():
            self.put_extra(name, wl)

    def put_extra(self, name: str, watchlist: Watchlist | None) -> ConfigError | None:
        """Put in force, replace or (with None) drop one synthetic watchlist, in place: the
        time taken depends on this watchlist alone. One that does not compile is reported
        (the returned error) and its last good version stays."""
        if watchlist is not None and any(wl.name == name for wl in self._file_order):
            log.warning("synthetic watchlist dropped, name taken name=%s", name)
            watchlist = None
        if watchlist is None and name not in self._extra:
            return None
        try:
            self._extra_matcher.update(remove=[name] if name in self._extra else (),
                                       add=[watchlist] if watchlist is not None else ())
        except Exception as exc:  # noqa: BLE001 - one watchlist never breaks the others
            log.debug("synthetic watchlist does not compile name=%s", name, exc_info=True)
            err = ConfigError(_compile_failure(exc), file=name)
            log.error("watchlist refused, its last good version stays name=%s error=%s", name, err.message)
            return err
        if watchlist is None:
            del self._extra[name]
        else:
            self._extra[name] = watchlist
        self._publish()
        return None

    def _publish(self) -> None:
        self.watchlists = self._file_order + list(self._extra.values())


def _last_good(old: _FileState | None, sig: tuple[int, int], digest: str,
               errors: list[ConfigError]) -> _FileState:
    # Remember the bad version's signature so it is not re-parsed every tick;
    # its watchlists stay those of the last good version (none for a new file).
    return _FileState(sig, digest, old.good if old else [], list(errors))


def _compile_failure(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "cannot compile: nested too deeply"
    if isinstance(exc, MemoryError):
        return "cannot compile: too large to hold in memory"
    if isinstance(exc, ValueError):
        return f"cannot compile: {printable(str(exc), 200)}"
    return f"cannot compile: {type(exc).__name__}: {printable(str(exc), 200)}"
