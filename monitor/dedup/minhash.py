"""MinHash signatures and LSH band keys, deterministic: CRC-32 item hashes and fixed
multipliers, so the same input gives the same bucket keys in every run (see
`monitor.dedup`, "Candidates")."""
from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Iterable
from itertools import chain

import numpy as np

MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15
_MIX2 = 0xC2B2AE3D27D4EB4F


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


def _finish(k: int) -> int:
    """A 32-bit bucket key from a 64-bit accumulator; never 0 (0 marks an empty slot)."""
    k = ((k ^ (k >> 31)) * _MIX) & _MASK64
    return (k >> 32) or 1


_LITTLE = sys.byteorder == "little"


def _minhashes(hs: list[int], perms: tuple[tuple[int, int], ...],
               lanes_by_size: dict[int, list[tuple[int, int]]]) -> list[int]:
    """min over h of ((a * h + b) mod 2**64) >> 32, for each permutation (a, b).

    For more than a few items, all items of a permutation are computed by one big-integer
    multiply-add: the items sit in 128-bit lanes of one integer (a * h + b < 2**97 never
    carries into the next lane), and bits 32-63 of every lane are read back as an array.
    `lanes_by_size` caches, per number of items, each b repeated in every lane."""
    n = len(hs)
    if n < 8 or not _LITTLE:
        return [min([((a * h + b) & _MASK64) >> 32 for h in hs]) for a, b in perms]
    lanes = lanes_by_size.get(n)
    if lanes is None:
        ones = array("Q", bytes(16 * n))
        ones[0::2] = array("Q", [1]) * n
        one = int.from_bytes(ones, "little")
        lanes = lanes_by_size[n] = [(a, b * one) for a, b in perms]
    items = array("Q", bytes(16 * n))
    items[0::2] = array("Q", hs)
    packed = int.from_bytes(items, "little")
    size = 16 * n
    return [min(memoryview((a * packed + b).to_bytes(size, "little")).cast("I")[1::4])
            for a, b in lanes]


def minhash_bands(hs: list[int], perms: tuple[tuple[int, int], ...], rows: int,
                   salt: int, lanes_by_size: dict[int, list[tuple[int, int]]]) -> list[int]:
    """Classic MinHash (one min per permutation), `rows` mins to a band."""
    if not hs:
        return []
    mins = _minhashes(hs, perms, lanes_by_size)
    keys = []
    for i in range(0, len(mins), rows):
        k = salt + i
        for v in mins[i:i + rows]:
            k = (k * _MIX2 + v) & _MASK64
        keys.append(_finish(k))
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
    shift = np.uint64(32)
    mins = np.empty((len(perms), len(full)), dtype=np.uint64)
    work = np.empty_like(flat)
    for p, (a, b) in enumerate(perms):
        np.multiply(flat, np.uint64(a & _MASK64), out=work)
        work += np.uint64(b & _MASK64)
        work >>= shift
        mins[p] = np.minimum.reduceat(work, starts)
    keys = np.empty((len(perms) // rows + (len(perms) % rows > 0), len(full)), dtype=np.uint64)
    mix2, mix = np.uint64(_MIX2), np.uint64(_MIX)
    for band, i in enumerate(range(0, len(perms), rows)):
        k = np.full(len(full), salt + i, dtype=np.uint64)
        for v in mins[i:i + rows]:
            k = k * mix2 + v
        k = (k ^ (k >> np.uint64(31))) * mix >> shift
        k[k == 0] = 1
        keys[band] = k
    for n, column in zip(full, keys.T.tolist(), strict=True):
        out[n] = column
    return out
