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
    # two interleaved sub-histograms halve the store-to-load stalls on repeated levels
    sub = np.zeros((2, 65536), np.int64)
    n = flat.shape[0]
    for i in range(0, n - 1, 2):
        sub[0, _level(flat[i])] += 1
        sub[1, _level(flat[i + 1])] += 1
    if n % 2:
        sub[0, _level(flat[n - 1])] += 1
    return sub[0] + sub[1]


@njit(cache=True, nogil=True)
def map_levels(flat, table, out):
    """``out[i] = table[level(flat[i])]``."""
    for i in range(flat.shape[0]):
        out[i] = table[_level(flat[i])]
    return out
