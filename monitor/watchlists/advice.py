"""What `raqib check` and the bot suggest about watchlists that load: a term that reads
like a logical expression (`operator_warning`), and words to `exclude` from a story a
chat found not relevant (`exclude_suggestion`)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..match import quote
from ..models import Term, Watchlist
from ..normalize import normalize_text
from .load import watchlist_files
from .syntax import parse_file

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
    for file in watchlist_files(path):
        good, _errs = parse_file(file, None, strict=False)
        for wl in good:
            for term in (*wl.terms, *wl.require, *wl.exclude):
                why = operator_warning(term)
                if why:
                    out.append(f"{file}:{term.line}: warning: {why}")
    return out
