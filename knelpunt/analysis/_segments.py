"""Range queries over a sequence of segments, for many ranges at once.

Both run in O((n + q) log n) with NumPy: a measure over every wait of a log
would otherwise join each wait with all the work its resource did meanwhile,
which grows with the square of the log.
"""

from __future__ import annotations

from typing import Final

import numpy as np

_NONE: Final = np.iinfo(np.int64).max


def covering_min(lo: np.ndarray, hi: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per position below ``size``: the least of ``values`` whose range ``lo`` to
    ``hi`` (exclusive) covers it, or the int64 maximum where none does.

    A segment tree: each range marks the O(log n) nodes that make it up, then every
    leaf takes the least mark on its way to the root.
    """
    leaves = 1 << max(size - 1, 0).bit_length()
    tree = np.full(2 * leaves, _NONE, dtype=np.int64)
    keep = lo < hi
    lo, hi, values = lo[keep] + leaves, hi[keep] + leaves, values[keep]
    while len(lo):
        left = (lo & 1) == 1
        np.minimum.at(tree, lo[left], values[left])
        lo = lo + left
        right = (hi & 1) == 1
        hi = hi - right
        np.minimum.at(tree, hi[right], values[right])
        lo, hi = lo >> 1, hi >> 1
        keep = lo < hi
        lo, hi, values = lo[keep], hi[keep], values[keep]
    first = 2
    while first < 2 * leaves:
        nodes = tree[first : 2 * first]
        np.minimum(nodes, np.repeat(tree[first // 2 : first], 2), out=nodes)
        first *= 2
    return tree[leaves : leaves + size]


def weight_below(
    values: np.ndarray, weights: np.ndarray, lo: np.ndarray, hi: np.ndarray, limit: np.ndarray
) -> np.ndarray:
    """Per query: the sum of ``weights`` at the positions ``lo`` to ``hi`` (exclusive)
    whose value is below ``limit`` (values and limits are ints >= 0).

    A wavelet matrix: one level per bit of the values, from the highest; on each,
    the positions are stably ordered by that bit and each query follows its limit's
    bit, taking the weight of the values whose bit is 0 where the limit's is 1.
    """
    total = np.zeros(len(lo), dtype=np.int64)
    bits = int(max(values.max(initial=0), limit.max(initial=0))).bit_length()
    for bit in reversed(range(bits)):
        zero = ((values >> bit) & 1) == 0
        zeros_before = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(zero, out=zeros_before[1:])
        weight_before = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(np.where(zero, weights, 0), out=weight_before[1:])
        zeros = zeros_before[-1]
        take = ((limit >> bit) & 1) == 1
        total += np.where(take, weight_before[hi] - weight_before[lo], 0)
        lo = np.where(take, zeros + lo - zeros_before[lo], zeros_before[lo])
        hi = np.where(take, zeros + hi - zeros_before[hi], zeros_before[hi])
        values = np.concatenate((values[zero], values[~zero]))
        weights = np.concatenate((weights[zero], weights[~zero]))
    return total


def ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``first[i], first[i] + 1, ...`` (``count[i]`` of them) for each ``i`` in turn."""
    offset = np.repeat(first - (np.cumsum(count) - count), count)
    return np.asarray(offset + np.arange(len(offset)), dtype=np.int64)
