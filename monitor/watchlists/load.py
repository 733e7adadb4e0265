"""Watchlist files and folders read whole: `load_watchlists` stops at the first problem,
`check_watchlists` reports them all, compiling each file as the daemon does, and
`read_watchlist_text` reads text that is not (yet) in a file."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from ..match import Matcher, printable
from ..models import Watchlist
from .syntax import parse_file

_SUFFIXES = (".yaml", ".yml")


def load_watchlist_file(path: str | os.PathLike[str]) -> list[Watchlist]:
    """Read one watchlist file; the first problem raises ConfigError(file=, line=)."""
    return parse_file(Path(path), None, strict=True)[0]


def watchlist_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file()
                      and not p.name.startswith("."))
    return [path]


def missing_error(path: Path) -> ConfigError:
    return ConfigError("no such watchlist file or folder", file=str(path))


def load_watchlists(path: str | os.PathLike[str]) -> list[Watchlist]:
    """Every watchlist in a YAML file or a folder of *.yaml/*.yml; raises on the first problem."""
    path = Path(path)
    if not path.exists():
        raise missing_error(path)
    out: list[Watchlist] = []
    where: dict[str, str] = {}
    for file in watchlist_files(path):
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
        return [missing_error(path)]
    errors: list[ConfigError] = []
    where: dict[str, str] = {}
    for file in watchlist_files(path):
        good, errs = check_file(file, None)
        errors.extend(errs)
        for wl in good:
            if wl.name in where:
                errors.append(ConfigError(f"duplicate watchlist name {wl.name!r} (also in {where[wl.name]})",
                                          file=str(file)))
            where.setdefault(wl.name, str(file))
    return errors


def check_file(path: Path, text: str | None, file: str | None = None) -> tuple[list[Watchlist], list[ConfigError]]:
    good, errs = parse_file(path, text, strict=False, file=file)
    if good:
        try:
            Matcher(good)  # as the daemon compiles it
        except Exception as exc:  # noqa: BLE001 - reported like any other problem of the file
            errs, good = [ConfigError(compile_failure(exc), file=file or str(path))], []
    return good, errs


def read_watchlist_text(text: str, file: str = "<try>") -> tuple[list[Watchlist], list[ConfigError]]:
    """The watchlists of one file's text, read and compiled exactly as `raqib check` and
    the daemon read a file (one watchlist or a list of them), or every problem of it as
    `file:line: message` (then no watchlist). `file` names it in those messages; its stem
    is the default name (`try` when the stem is not a valid name, as for "<try>")."""
    return check_file(Path(file), text, file)


def compile_failure(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "cannot compile: nested too deeply"
    if isinstance(exc, MemoryError):
        return "cannot compile: too large to hold in memory"
    if isinstance(exc, ValueError):
        return f"cannot compile: {printable(str(exc), 200)}"
    return f"cannot compile: {type(exc).__name__}: {printable(str(exc), 200)}"
