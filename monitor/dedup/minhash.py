"""MinHash signatures and LSH band keys, deterministic: CRC-32 item hashes and fixed
multipliers, so the same input gives the same bucket keys in every run (see
`monitor.dedup`, "Candidates")."""
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


def minhash_bands_bulk(signatures: list[list[int]], perms: tuple[tuple[int, int], ...], rows: int,
                       salt: int) -> list[list[int]]:
    """`minhash_bands` of many item-hash lists at once, the same keys bit for bit: each
    permutation is one numpy pass over the items of all of them (uint64 arithmetic wraps
    modulo 2**64 as the masks above do), each band one pass over their signatures."""
    full = [n for n, hs in enumerate(signatures) if hs]
    out: list[list[int]] = [[] for _ in signatures]
    if not full:
        return out
    lengths = np.fromiter((len(signatures[n]) for n in full), dtype=np.int64, count=len(full))
    starts = np.zeros(len(full), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    flat = np.fromiter(chain.from_iterable(signatures[n] for n in full), dtype=np.uint64,
                       count=int(lengths.sum()))
    mins = np.empty((len(perms), len(full)), dtype=np.uint64)
    work = np.empty_like(flat)
    for p, (a, b) in enumerate(perms):
        np.multiply(flat, np.uint64(a & _MASK64), out=work)
        work += np.uint64(b & _MASK64)
        work >>= _SHIFT
        mins[p] = np.minimum.reduceat(work, starts)
    keys = _band_keys(mins, rows, salt)
    for n, column in zip(full, keys.T.tolist(), strict=True):
        out[n] = column
    return out
