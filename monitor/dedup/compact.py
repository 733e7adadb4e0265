"""The copy level's texts (title and lead of every story indexed) in one byte array.

Folded Arabic letters (U+0621-U+064A) take one byte each, at 0xC0-0xE9 (Latin-1
letters: neither spaces nor digits, and above ASCII, so word splitting, sorting and
every rapidfuzz score are the same on the compact form, read as Latin-1, as on the text
itself). A text with any other non-ASCII character is kept as UTF-8, marked as such.

`TextColumn` keeps the texts one after another in one `array("B")`, with each text's
end (an absolute offset: counted from the first byte the column ever held) and its
kind: no Python object per story. Against a list of `bytes` that is about 40 bytes a
story less, and, more than that, no small object that lives for the whole window among
the temporary ones of a rebuild: the memory a rebuild used for its temporaries goes
back to the allocator whole, instead of being held by scattered survivors.
"""
from __future__ import annotations

import codecs
from array import array
from typing import Any

_DECODING = "".join(
    chr(i) if i < 0x80 else chr(0x621 + i - 0xC0) if 0xC0 <= i < 0xC0 + 42 else "\ufffe"
    for i in range(256))
_ENCODING = codecs.charmap_build(_DECODING)
PACKED, UTF8 = 0, 1


def pack(text: str) -> tuple[bytes, int]:
    """The compact bytes of `text` and their kind (packed, or UTF-8 for other scripts)."""
    try:
        return codecs.charmap_encode(text, "strict", _ENCODING)[0], PACKED
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass"), UTF8


class TextColumn:
    """One text per story, in arrival order; cut at the front (see module docstring).

    `data` holds the texts, `ends[i]` where text i ends (absolute), `kinds[i]` its kind,
    `base` the absolute offset of `data[0]` (text 0 starts there)."""

    _STATE = ("data", "ends", "kinds", "base")

    def __init__(self) -> None:
        self.data = array("B")
        self.ends = array("q")
        self.kinds = array("b")
        self.base = 0

    def __len__(self) -> int:
        return len(self.ends)

    def append(self, packed: bytes, kind: int) -> None:
        self.data.frombytes(packed)
        self.ends.append(self.base + len(self.data))
        self.kinds.append(kind)

    def _bytes(self, i: int) -> array[int]:
        start = self.ends[i - 1] - self.base if i else 0
        return self.data[start:self.ends[i] - self.base]

    def compact(self, i: int) -> str | None:
        """Text i in its compact form read as Latin-1 (None when it is kept as UTF-8)."""
        if self.kinds[i] != PACKED:
            return None
        return codecs.latin_1_decode(self._bytes(i))[0]

    def text(self, i: int) -> str:
        """Text i as it was given."""
        if self.kinds[i] == PACKED:
            return codecs.charmap_decode(self._bytes(i), "strict", _DECODING)[0]
        return codecs.utf_8_decode(self._bytes(i), "surrogatepass", True)[0]

    def cut(self, n: int) -> None:
        """Drop the `n` oldest texts."""
        if n:
            end = self.ends[n - 1]
            del self.data[:end - self.base]
            del self.ends[:n]
            del self.kinds[:n]
            self.base = end

    # -- snapshots

    def state(self, prefix: str) -> dict[str, Any]:
        return {prefix + name: getattr(self, name) for name in self._STATE}

    def restore(self, state: dict[str, Any], prefix: str, what: str) -> None:
        """Take the values `state(prefix)` gave. ValueError when they do not hold together."""
        data, ends, kinds, base = (state[prefix + name] for name in self._STATE)
        for name, value, code in (("data", data, "B"), ("ends", ends, "q"), ("kinds", kinds, "b")):
            if not isinstance(value, array) or value.typecode != code:
                raise ValueError(f"{what}: {prefix}{name} is not an array of type {code}")
        if (not isinstance(base, int) or len(ends) != len(kinds)
                or (ends[-1] if ends else base) != base + len(data)
                or any(k not in (PACKED, UTF8) for k in set(kinds)) or not _rising(base, ends)):
            raise ValueError(f"{what}: {prefix}texts do not add up")
        self.data, self.ends, self.kinds, self.base = data, ends, kinds, base


def _rising(start: int, ends: array[int]) -> bool:
    """Whether every end is at or after the one before it (the first after `start`)."""
    last = start
    for end in ends:
        if end < last:
            return False
        last = end
    return True
