"""MinHash signatures and LSH band keys, deterministic: CRC-32 item hashes and fixed
multipliers, so the same input gives the same bucket keys in every run (see
`monitor.dedup`, "Candidates").

A rebuild reads its items in bulk (`pair_items`, `word_items`): a word pair's CRC-32 is
worked out in numpy from its words' CRC-32s, each computed once: CRC-32 is affine over
GF(2), so crc("a b") is crc("a") carried through len(" b") zero bytes (a linear map,
`_carry`, read from per-byte tables) XOR crc(" b"), and crc(" b") is crc(" ") carried
through len("b") bytes XOR crc("b").
The values are those of `pair_hashes` and `item_hashes`; an item that comes twice is
kept twice, which changes no minimum."""
from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable
from itertools import chain

import numpy as np

MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15
_MIX2 = 0xC2B2AE3D27D4EB4F
_SHIFT = np.uint64(32)


def permutations(n: int, seed: int) -> tuple[tuple[int, int], ...]:
    out = []
    x = seed
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & _MASK64
        a = x | 1
        x = (x * 6364136223846793005 + 1442695040888963407) & _MASK64
        out.append((a, x))
    return tuple(out)


def item_hashes(items: Iterable[str]) -> list[int]:
    return [zlib.crc32(s.encode("utf-8")) for s in set(items)]


def pair_hashes(words: tuple[str, ...] | list[str]) -> list[int]:
    """`item_hashes` of the pairs of adjacent words ("a b"), without making them: each
    pair's CRC-32 runs on from its first word's over " b" (the same values)."""
    crc = zlib.crc32
    encoded = [w.encode("utf-8") for w in words]
    firsts = [crc(e) for e in encoded]
    return list({crc(b" " + encoded[i + 1], firsts[i]) for i in range(len(encoded) - 1)})


# -- items in bulk (a rebuild)

_CARRY_MAX = 64  # bytes a table carries the register over at once; longer runs take several steps
_SPACE = zlib.crc32(b" ")


@functools.lru_cache(maxsize=1)
def _carry_tables() -> np.ndarray:
    """t[n, k, v]: the CRC-32 register (v << 8k) carried through n zero bytes. The carry
    is linear, so a register's is the XOR of its four bytes' entries."""
    crc = zlib.crc32
    t = np.empty((_CARRY_MAX + 1, 4, 256), dtype=np.uint32)
    for n in range(_CARRY_MAX + 1):
        zeros = bytes(n)
        for k in range(4):
            t[n, k] = [crc(zeros, (v << (8 * k)) ^ MASK32) ^ MASK32 for v in range(256)]
    return t


@functools.lru_cache(maxsize=1)
def _spaced_tables() -> np.ndarray:
    """crc(" ") carried through n zero bytes, n up to `_CARRY_MAX`."""
    return _carry(np.full(_CARRY_MAX + 1, _SPACE, dtype=np.uint32), np.arange(_CARRY_MAX + 1))


def _carry(register: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each CRC-32 `register` (uint32) carried through `n` zero bytes: with crc(a) so
    carried through len(b) bytes, XOR crc(b) is crc(a + b)."""
    t = _carry_tables()
    while True:
        step = np.minimum(n, _CARRY_MAX)
        register = (t[step, 0, register & 0xFF] ^ t[step, 1, (register >> 8) & 0xFF]
                    ^ t[step, 2, (register >> 16) & 0xFF] ^ t[step, 3, register >> 24])
        n = n - step
        if not n.any():
            return register


def _word_codes(lists: Iterable[Iterable[str]], count: int) -> tuple[np.ndarray, np.ndarray]:
    """The CRC-32 (uint32) and UTF-8 length of each of `count` words, in order."""
    encoded = list(map(str.encode, chain.from_iterable(lists)))
    return (np.fromiter(map(zlib.crc32, encoded), dtype=np.uint32, count=count),
            np.fromiter(map(len, encoded), dtype=np.int64, count=count))


def word_items(lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """`item_hashes` of each list of words, as one array (uint64, a list's after the one
    before it) and each list's count (its words, repeats kept)."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    crc, _size = _word_codes(lists, int(counts.sum()))
    return crc.astype(np.uint64), counts


def pair_items(lists: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """What `pair_hashes` gives each list of two words or more (a list of one word: its
    `item_hashes`), as `word_items` gives them: one array and each list's count."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    n = int(lengths.sum())
    crc, size = _word_codes(lists, n)
    value = np.empty(n, dtype=np.uint32)
    if n > 1:  # word j with word j + 1 (across two lists too: dropped below)
        second = size[1:]
        # crc(" " + b) is crc(" ") carried through b's bytes, XOR crc(b)
        spaced = _spaced_tables()[np.minimum(second, _CARRY_MAX)]
        long = np.flatnonzero(second > _CARRY_MAX)
        if len(long):
            spaced[long] = _carry(np.full(len(long), _SPACE, dtype=np.uint32), second[long])
        value[:-1] = _carry(crc[:-1], second + 1) ^ spaced ^ crc[1:]
    ends = np.cumsum(lengths) - 1
    keep = np.ones(n, dtype=bool)
    keep[ends[lengths > 0]] = False  # a list's last word begins no pair of it
    alone = ends[lengths == 1]
    value[alone] = crc[alone]
    keep[alone] = True
    return value[keep].astype(np.uint64), np.where(lengths > 1, lengths - 1, lengths)


@functools.lru_cache(maxsize=16)
def _columns(perms: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The permutations' multipliers and offsets as columns, for numpy's broadcasting."""
    a = np.array([a & _MASK64 for a, _ in perms], dtype=np.uint64).reshape(-1, 1)
    b = np.array([b & _MASK64 for _, b in perms], dtype=np.uint64).reshape(-1, 1)
    return a, b


def minhash_bands(hs: list[int], perms: tuple[tuple[int, int], ...], rows: int, salt: int) -> list[int]:
    """Classic MinHash (one min per permutation: of ((a * h + b) mod 2**64) >> 32 over
    the items h), `rows` mins to a band, as `_band_keys` folds them: every permutation
    of every item in one numpy pass (uint64 arithmetic wraps modulo 2**64 as the masks
    do)."""
    if not hs:
        return []
    a, b = _columns(perms)
    work = a * np.array(hs, dtype=np.uint64)
    work += b
    work >>= _SHIFT
    mins = work.min(axis=1).tolist()
    keys = []
    for i in range(0, len(mins), rows):  # a few bands: plain integers beat numpy's calls here
        k = salt + i
        for v in mins[i:i + rows]:
            k = (k * _MIX2 + v) & _MASK64
        k = ((k ^ (k >> 31)) * _MIX) & _MASK64
        keys.append((k >> 32) or 1)
    return keys


def _band_keys(mins: np.ndarray, rows: int, salt: int) -> np.ndarray:
    """Band keys (one row a band) of signatures given as columns of mins (one row a
    permutation): each band's `rows` mins folded into a 64-bit accumulator from `salt`
    plus the band's first row, then finished to 32 bits, never 0 (0 marks an empty slot)."""
    perms = mins.shape[0]
    keys = np.empty(((perms + rows - 1) // rows, mins.shape[1]), dtype=np.uint64)
    mix2, mix = np.uint64(_MIX2), np.uint64(_MIX)
    for band, i in enumerate(range(0, perms, rows)):
        k = np.full(mins.shape[1], salt + i, dtype=np.uint64)
        for v in mins[i:i + rows]:
            k = k * mix2 + v
        k = (k ^ (k >> np.uint64(31))) * mix >> _SHIFT
        k[k == 0] = 1
        keys[band] = k
    return keys


def minhash_bands_flat(flat: np.ndarray, counts: np.ndarray, perms: tuple[tuple[int, int], ...], rows: int,
                       salt: int) -> np.ndarray:
    """`minhash_bands` of many item-hash lists given as one array (uint64) and each
    list's count, as one row of band keys (uint32) a list: each permutation is one numpy
    pass over the items of all of them (uint64 arithmetic wraps modulo 2**64 as the masks
    above do), each band one pass over their signatures. A list of no items has a row of
    zeros (a key is never 0)."""
    out = np.zeros((len(counts), (len(perms) + rows - 1) // rows), dtype=np.uint32)
    full = np.flatnonzero(counts)
    if not len(full):
        return out
    starts = np.zeros(len(full), dtype=np.int64)
    np.cumsum(counts[full][:-1], out=starts[1:])
    mins = np.empty((len(perms), len(full)), dtype=np.uint64)
    work = np.empty_like(flat)
    for p, (a, b) in enumerate(perms):
        np.multiply(flat, np.uint64(a & _MASK64), out=work)
        work += np.uint64(b & _MASK64)
        work >>= _SHIFT
        mins[p] = np.minimum.reduceat(work, starts)
    out[full] = _band_keys(mins, rows, salt).T
    return out
