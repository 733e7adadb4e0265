"""Index snapshots: the copy index (`Clusterer`) and the event index (`EventGrouper`)
saved to one file, so that a restart loads them in a second or two instead of
rebuilding them from every stored story of the window.

The file, and what makes it trusted (anything else is refused: the caller rebuilds from
the store, which is always right):

- Layout: `MAGIC` (8 bytes), the length of the body (8 bytes, big-endian), the SHA-256
  of the body (32 bytes), then the body: a pickle of plain values only (dicts, lists,
  tuples, text, bytes, numbers; each array is a marker with its type code and length),
  then the arrays' bytes, in the order of their markers. It is read by an unpickler that
  refuses every class and function, so a file can carry data and nothing else; a short,
  long or altered file fails the length or the checksum before anything is unpickled.
  Arrays are written and read as they are, so neither writing nor reading holds a
  second copy of the index in memory.
- `fingerprint`: what the indexes were built with: the format version, the settings of
  both levels, and the source of the code that decides what is indexed (the dedup
  package, the Arabic fold, the variant skeletons, the group names' forms) with the
  shipped document frequencies and word forms, and the versions of what that code leans
  on to read words (PyStemmer, Babel's CLDR names, Python's Unicode tables). A snapshot
  written by other settings or another version of any of them is refused (an upgrade
  that changes one rebuilds once).
- `mark`: the newest story id the indexes hold, with a digest of that story (its id,
  cluster, event and title). The snapshot is trusted only if the store still holds that
  story with the same digest (a database restored from a backup, replaced, or a
  snapshot from another database fail this). Stories stored after `mark` are then read
  from the store and indexed (`catch_up`), as a node catches up with another's stories.
- Writing is atomic: the body goes to a temporary file beside the target
  (`NAME.tmp`), is flushed to disk (fsync), then renamed over the target and the folder
  is synced. A process killed at any point leaves the previous snapshot whole (or none)
  and at most a temporary file, which the next write replaces and `load` ignores.
- A snapshot is taken only of indexes that hold no story beyond `mark` (a story decided
  but never stored, when an ingest was cut short): such a state is not written.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import pickle
import unicodedata
from array import array
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from monitor.match import FORMS_RESOURCE

from .clusterer import Clusterer, DedupSettings
from .events import EventGrouper, EventSettings
from .frequencies import DF_RESOURCE

log = logging.getLogger(__name__)

MAGIC = b"RQIDX\x00\x00\x03"
FORMAT = 3
_HEAD = len(MAGIC) + 8 + 32
_ARRAY = "\x00array"  # a tagged (type code, bytes) pair in the body
_ARRAYS = "\x00arrays"  # a dict whose values are all arrays: keys, type code, lengths, bytes


@dataclass(frozen=True)
class Mark:
    """The newest story the indexes hold, as the store should still have it."""

    story: int
    digest: str


def story_digest(story_id: int, cluster: int | None, event: int | None, title: str | None) -> str:
    text = f"{story_id}\x1f{cluster if cluster is not None else story_id}\x1f" \
           f"{event if event is not None else cluster if cluster is not None else story_id}\x1f{title or ''}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_LIBRARIES = ("PyStemmer", "Babel")  # what the code leans on to read words (and Unicode's tables)


def _code_digest() -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    monitor = here.parent
    for path in sorted(here.glob("*.py")) + [monitor / "normalize.py", monitor / "match" / "variants.py",
                                             monitor / "match" / "forms.py"]:
        h.update(path.name.encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"?")
    for data in (DF_RESOURCE, FORMS_RESOURCE):
        h.update(resources.files("monitor.data").joinpath(data).read_bytes())
    # what the code leans on to read words: the stemmer, CLDR's names (places), Unicode's tables
    for library in _LIBRARIES:
        try:
            h.update(f"{library} {metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{library} ?".encode())
    h.update(f"unicode {unicodedata.unidata_version}".encode())
    return h.hexdigest()


_CODE: str | None = None


def fingerprint(dedup: DedupSettings, event: EventSettings) -> str:
    global _CODE
    if _CODE is None:
        _CODE = _code_digest()
    return hashlib.sha256(f"{FORMAT}\n{dedup!r}\n{event!r}\n{_CODE}".encode()).hexdigest()


# --------------------------------------------------------------------------- encoding


class _Arrays:
    """Collects the arrays of a state while it is encoded, in the order they are written."""

    def __init__(self) -> None:
        self.items: list[array[Any]] = []

    def put(self, a: array[Any]) -> tuple[str, str, int]:
        self.items.append(a)
        return (_ARRAY, a.typecode, len(a))


def _encode(state: dict[str, Any], arrays: _Arrays) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in state.items():
        if isinstance(value, array):
            out[name] = arrays.put(value)
        elif isinstance(value, dict) and value and all(isinstance(v, array) for v in value.values()):
            keys = list(value)
            code = value[keys[0]].typecode
            lengths = array("q", [len(value[k]) for k in keys])
            flat = array(code)
            for k in keys:
                flat.extend(value[k])
            out[name] = (_ARRAYS, keys, arrays.put(lengths), arrays.put(flat))
        else:
            out[name] = value
    return out


def _read_array(f: Any, marker: Any) -> array[Any]:
    if not (isinstance(marker, tuple) and len(marker) == 3 and marker[0] == _ARRAY):
        raise ValueError("snapshot: an array marker was expected")
    _tag, code, n = marker
    if not isinstance(n, int) or n < 0:
        raise ValueError("snapshot: an array length was expected")
    if not n:
        return array(code)
    a = array(code, [0]) * n  # read in place: no bytes object of the array's size beside it
    with memoryview(a) as view, view.cast("B") as raw:
        done = 0
        while done < len(raw):
            got = f.readinto(raw[done:])
            if not got:
                raise EOFError("snapshot: the file ends inside an array")
            done += got
    return a


def _decode(state: dict[str, Any], f: Any) -> dict[str, Any]:
    """The state with its arrays read from `f`, in the order `_encode` wrote them."""
    out: dict[str, Any] = {}
    for name, value in state.items():
        if isinstance(value, tuple) and value and value[0] == _ARRAY:
            out[name] = _read_array(f, value)
        elif isinstance(value, tuple) and value and value[0] == _ARRAYS:
            _tag, keys, lengths_m, flat_m = value
            lengths = _read_array(f, lengths_m)
            if not (isinstance(flat_m, tuple) and len(flat_m) == 3 and flat_m[0] == _ARRAY):
                raise ValueError("snapshot: an array marker was expected")
            if len(lengths) != len(keys) or sum(lengths) != flat_m[2]:
                raise ValueError(f"snapshot: {name} does not add up")
            d: dict[str, Any] = {}
            for key, n in zip(keys, lengths, strict=True):  # each read in place: no flat copy beside them
                d[key] = _read_array(f, (_ARRAY, flat_m[1], n))
            out[name] = d
        else:
            out[name] = value
    return out


class _PlainUnpickler(pickle.Unpickler):
    """Plain values only: no class, no function is ever looked up."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"snapshot: refused {module}.{name}")


class _Hashing(io.RawIOBase):
    """Writes through to a file, hashing and counting what passes."""

    def __init__(self, f: Any) -> None:
        self.f, self.hash, self.size = f, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        self.hash.update(view)
        self.size += len(view)
        self.f.write(view)
        return len(view)


def dump_state(f: Any, state: dict[str, Any]) -> None:
    """One index's `state()` to a binary stream, as a snapshot holds it (plain values,
    then the arrays as they are): how a rebuild in another process hands its index over."""
    arrays = _Arrays()
    pickle.dump(_encode(state, arrays), f, protocol=5)
    for a in arrays.items:
        a.tofile(f)


def load_state(f: Any) -> dict[str, Any]:
    """The state `dump_state` wrote, its arrays read in place. Raises ValueError when the
    stream holds anything but plain values, or ends early."""
    try:
        return _decode(_PlainUnpickler(f).load(), f)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is refused alike
        raise ValueError(f"unreadable index state: {exc!r}") from exc


# --------------------------------------------------------------------------- the file


def write(path: Path, clusterer: Clusterer, events: EventGrouper, mark: Mark, *, saved_at: float) -> int:
    """Write the snapshot atomically (see the module docstring); return its size in bytes.
    Read the indexes while nothing changes them (the caller holds the ingest lock). The
    arrays go to the file as they are (no copy of the index is made in memory)."""
    arrays = _Arrays()
    meta = {"fingerprint": fingerprint(clusterer.settings, events.settings), "mark": (mark.story, mark.digest),
            "saved_at": saved_at, "clusterer": _encode(clusterer.state(), arrays),
            "events": _encode(events.state(), arrays)}
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(_HEAD))  # filled in once the body is written
            body = _Hashing(f)
            buffered = io.BufferedWriter(body, 1 << 20)
            pickle.dump(meta, buffered, protocol=5)
            for a in arrays.items:
                a.tofile(buffered)
            buffered.flush()
            f.seek(0)
            f.write(MAGIC + body.size.to_bytes(8, "big") + body.hash.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError:
        pass  # a folder that cannot be synced (some filesystems): the rename stands
    return _HEAD + body.size


@dataclass
class Loaded:
    clusterer: Clusterer
    events: EventGrouper
    mark: Mark
    saved_at: float


def read(path: Path, dedup: DedupSettings, event: EventSettings) -> Loaded:
    """The snapshot at `path`, whole and written with these settings and this code.
    Raises FileNotFoundError when there is none, ValueError naming why it is refused.
    The body is checked (length, SHA-256) in one pass before anything of it is read."""
    with open(path, "rb") as f:
        head = f.read(_HEAD)
        if len(head) < _HEAD or head[:len(MAGIC)] != MAGIC:
            raise ValueError("not a snapshot of this format")
        size = int.from_bytes(head[len(MAGIC):len(MAGIC) + 8], "big")
        h, seen = hashlib.sha256(), 0
        while chunk := f.read(1 << 20):
            h.update(chunk)
            seen += len(chunk)
        if seen != size:
            raise ValueError(f"truncated or overlong: {seen} bytes of body, {size} expected")
        if h.digest() != head[len(MAGIC) + 8:]:
            raise ValueError("checksum does not match")
        f.seek(_HEAD)
        try:
            data = _PlainUnpickler(f).load()
        except Exception as exc:  # noqa: BLE001 - any failure to read it means: rebuild
            raise ValueError(f"unreadable body: {exc!r}") from exc
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint(dedup, event):
            raise ValueError("written with other settings or another version of the dedup code")
        try:
            story, digest = data["mark"]
            clusterer = Clusterer.from_state(_decode(data["clusterer"], f), dedup)
            events = EventGrouper.from_state(_decode(data["events"], f), event)
            if f.read(1):
                raise ValueError("bytes left over")
            return Loaded(clusterer, events, Mark(int(story), str(digest)), float(data["saved_at"]))
        except (KeyError, TypeError, ValueError, EOFError) as exc:
            raise ValueError(f"does not hold together: {exc}") from exc


def newest_id(clusterer: Clusterer, events: EventGrouper) -> int:
    """The newest story id either index holds (0 when both are empty)."""
    ids = [x for x in (clusterer.newest(), events.newest()) if isinstance(x, int)]
    return max(ids, default=0)

