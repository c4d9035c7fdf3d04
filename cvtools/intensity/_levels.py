"""numba kernels for float equalisation: 16-bit levels of a [0, 1] image, their histogram, the map.

A float image in [0, 1] is equalised on 65536 levels (precision 1/65535): one pass computes each
pixel's level and the histogram, the other maps every pixel through the 65536-entry table,
recomputing the level instead of storing it (reading the image twice is cheaper than writing and
re-reading a level image). The level is ``floor(clip(x, 0, 1) * 65535 + 0.5)`` computed in float64; NaN counts as 0.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _level(v) -> int:
    x = np.float64(v)
    if not x > 0.0:  # also NaN
        return 0
    if x >= 1.0:
        return 65535
    return int(x * 65535.0 + 0.5)


@njit(cache=True, nogil=True)
def level_histogram(flat):
    """Counts of the 65536 levels of ``flat`` (float32/float64, 1-D)."""
    # Four interleaved sub-histograms: neighbouring pixels often share a level, and incrementing one
    # counter back to back stalls on its own store; int32 keeps the four within the L2 cache.
    sub = np.zeros((4, 65536), np.int32)
    n = flat.shape[0]
    stop = n - n % 4
    for i in range(0, stop, 4):
        sub[0, _level(flat[i])] += 1
        sub[1, _level(flat[i + 1])] += 1
        sub[2, _level(flat[i + 2])] += 1
        sub[3, _level(flat[i + 3])] += 1
    for i in range(stop, n):
        sub[0, _level(flat[i])] += 1
    out = np.zeros(65536, np.int64)
    for s in range(4):
        for k in range(65536):
            out[k] += sub[s, k]
    return out


@njit(cache=True, nogil=True)
def map_levels(flat, table, out):
    """``out[i] = table[level(flat[i])]``."""
    for i in range(flat.shape[0]):
        out[i] = table[_level(flat[i])]
    return out
