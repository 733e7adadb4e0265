"""The watchlists in force (`WatchlistRegistry`), kept in step with the files while
people edit them; a file that fails keeps its last good version."""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError
from ..match import Matcher, MatcherGroup
from ..models import Watchlist
from .load import compile_failure, missing_error, watchlist_files
from .syntax import parse_file

log = logging.getLogger(__name__)

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
            errors.append(missing_error(self.path))
            # keep everything in force: a folder being swapped, an unmounted disk
            return Reload(files, self._file_order, None, False, errors)
        changed = force
        now = time.time()
        try:
            present = watchlist_files(self.path)
        except OSError as exc:
            errors.append(ConfigError(f"cannot list: {exc.strerror}", file=str(self.path)))
            return Reload(files, self._file_order, None, False, errors)
        for gone in set(files) - set(present):
            del files[gone]
            changed = True
            log.info("watchlist file removed file=%s", gone)
        others_taken: dict[str, Path] = {}
        for file, state in files.items():
            for wl in state.good:
                others_taken[wl.name] = file
        fresh: dict[Path, _FileState | None] = {}  # file -> its last good state, for files read anew
        for file in present:
            if _take_file(file, files, fresh, others_taken, errors, now=now, force=force):
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
                err = ConfigError(compile_failure(exc), file=str(file))
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
            err = ConfigError(compile_failure(exc), file=name)
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


def _take_file(file: Path, files: dict[Path, _FileState], fresh: dict[Path, _FileState | None],
               others_taken: dict[str, Path], errors: list[ConfigError], *, now: float, force: bool) -> bool:
    """Bring `files[file]` up to date with the disk (a file unchanged since it was read is not
    read again); whether it was read anew and taken. Its problems go to `errors`; once taken,
    its last good state goes to `fresh` and its watchlists' names to `others_taken`."""
    try:
        st = file.stat()
    except OSError as exc:
        errors.append(ConfigError(f"cannot read: {exc.strerror}", file=str(file)))
        return False
    sig = (st.st_mtime_ns, st.st_size)
    old = files.get(file)
    if old is not None and old.stat == sig and now - st.st_mtime > 2 and not force:
        errors.extend(old.errors)  # still refused: still a problem
        return False
    try:
        data = file.read_bytes()
    except OSError as exc:
        errors.append(ConfigError(f"cannot read: {exc.strerror}", file=str(file)))
        return False
    digest = hashlib.sha256(data).hexdigest()
    if old is not None and old.digest == digest and not force:
        files[file] = replace(old, stat=sig)
        errors.extend(old.errors)
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        err = ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(file))
        errors.append(err)
        files[file] = _last_good(old, sig, digest, [err])
        return False
    good, errs = parse_file(file, text, strict=False)
    if not errs:
        errs = _duplicates(file, good, others_taken)
    if errs:
        errors.extend(errs)
        files[file] = _last_good(old, sig, digest, errs)
        log.warning("watchlist file refused, last good version stays file=%s problems=%d",
                    file, len(errs))
        return False
    files[file] = _FileState(sig, digest, good)
    fresh[file] = old
    for wl in good:
        others_taken[wl.name] = file
    return True


def _duplicates(file: Path, good: list[Watchlist], others_taken: dict[str, Path]) -> list[ConfigError]:
    """A problem for each watchlist of `file` whose name another file already holds."""
    errs: list[ConfigError] = []
    for wl in good:
        holder = others_taken.get(wl.name)
        if holder is not None and holder != file:
            errs.append(ConfigError(f"duplicate watchlist name {wl.name!r} (also in {holder})", file=str(file)))
    return errs
