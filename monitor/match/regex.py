"""Regex terms: a power user's pattern compiled with RE2 (linear time whatever the
pattern), its non-ASCII letters folded like text, memory capped, a pattern that matches
the empty string refused, and RE2's complaint reported in words."""
from __future__ import annotations

import re2

from monitor.normalize import fold_char

REGEX_MAX_MEM = 8 << 20


def compile_regex(pattern: str) -> re2._Regexp:
    """Compile a power user's pattern with RE2, folding its non-ASCII letters like text."""
    folded = "".join(ch if ord(ch) < 0x80 else fold_char(ch) for ch in pattern)
    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.case_sensitive = False
    options.log_errors = False
    try:
        compiled = re2.compile(folded, options)
    except re2.error as exc:
        raise ValueError(_re2_problem(exc)) from None
    if compiled.search("") is not None:
        raise ValueError("it matches the empty string, so it would match every story")
    return compiled


def _re2_problem(exc: Exception) -> str:
    """RE2's complaint as words: it gives UTF-8 bytes, "problem: part of the pattern"."""
    raw = exc.args[0] if exc.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    problem, sep, where = text.partition(": ")
    problem = printable(problem.strip()) or "RE2 refuses this pattern"
    return f"{problem} in {quote(where)}" if sep and where else problem


def printable(text: str, limit: int = 60) -> str:
    """Text for a one-line message: control characters escaped, cut after `limit` characters."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def quote(text: str, limit: int = 60) -> str:
    """`printable(text)` between quotation marks, for naming a term or pattern in a message."""
    return f"“{printable(text, limit)}”"

