"""Strided correlation that computes only the outputs it keeps (numba).

``out[y, x] = sum_ij K[i, j] * padded[y*sy + i*dy, x*sx + j*dx]`` for every kept ``(y, x)``, read
straight from the unpadded image through row/column index maps (numpy.pad's rule for every border
mode; -1 reads a zero), without building the padded image. Each input row a kept output needs is
converted to float32 once, into a small ring of rows that stays in cache:

* ``split`` layout: the row is split into its ``sx`` column phases (``row[r::sx]``), so that every
  kernel tap reads a contiguous run of exactly the kept columns (``kw * wo`` multiply-adds per
  kernel row: the minimum, vectorised);
* ``full`` layout: the row is kept whole and every column is computed, the kept ones picked at the
  end (``sx`` times the multiply-adds, but no splitting): cheaper for narrow kernels, where splitting
  the row costs more than the work it saves.

Accumulation is float32 (``fastmath``); the caller rounds/saturates to the output dtype.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True, nogil=True)
def _fill_edge(src, cmap, q, C, d, m):
    s = cmap[q]
    for c in range(C):
        d[m * C + c] = src[s * C + c] if s >= 0 else 0.0


@njit(cache=True, fastmath=True, nogil=True)
def _fill_row(src, cmap, lo, hi, C, sx, split, dst):
    """Row ``src`` (flattened ``(W*C,)``, any dtype) -> float32 ``dst`` in the chosen layout.

    ``cmap[q]`` is the source column of padded column ``q`` (-1: zero); columns ``lo <= q < hi`` map
    to ``q - lo`` (the inside of the image) and are copied without the map.
    """
    wp = cmap.shape[0]
    if not split:
        d = dst[0]
        for q in range(0, lo):
            _fill_edge(src, cmap, q, C, d, q)
        base = lo * C
        for t in range((hi - lo) * C):
            d[base + t] = src[t]
        for q in range(hi, wp):
            _fill_edge(src, cmap, q, C, d, q)
        return
    for r in range(sx):
        d = dst[r]
        count = (wp - r + sx - 1) // sx
        m_lo = min(max((lo - r + sx - 1) // sx, 0), count)  # first phase column inside the image
        m_hi = min(max((hi - r + sx - 1) // sx, m_lo), count)
        for m in range(m_lo):
            _fill_edge(src, cmap, r + m * sx, C, d, m)
        first = r + m_lo * sx - lo  # source column of phase column m_lo
        if C == 1:
            for m in range(m_hi - m_lo):
                d[m_lo + m] = src[first + m * sx]
        else:
            for m in range(m_hi - m_lo):
                s = (first + m * sx) * C
                t = (m_lo + m) * C
                for c in range(C):
                    d[t + c] = src[s + c]
        for m in range(m_hi, count):
            _fill_edge(src, cmap, r + m * sx, C, d, m)


@njit(cache=True, fastmath=True, nogil=True)
def strided_correlate(image, K, sy, sx, dy, dx, ho, wo, C, rmap, cmap, lo, hi, split, out):
    """Fill ``out`` (``(ho, wo*C)`` float32) with the strided correlation of ``image`` (``(H, W*C)``)."""
    kh, kw = K.shape
    wp = cmap.shape[0]
    if split:
        phases, width = sx, ((wp + sx - 1) // sx) * C
        n = wo * C
    else:
        phases, width = 1, wp * C
        n = ((wo - 1) * sx + 1) * C
    ring = np.zeros((kh, phases, width), np.float32)
    held = np.full(kh, -1, np.int64)
    acc = np.zeros(n, np.float32)
    for y in range(ho):
        acc[:] = 0.0
        for i in range(kh):
            pr = y * sy + i * dy
            slot = pr % kh
            if held[slot] != pr:
                sr = rmap[pr]
                if sr >= 0:
                    _fill_row(image[sr], cmap, lo, hi, C, sx, split, ring[slot])
                else:
                    ring[slot, :, :] = 0.0
                held[slot] = pr
            for j in range(kw):
                w = K[i, j]
                if w == 0.0:
                    continue
                off = j * dx
                if split:
                    src = ring[slot, off % sx, (off // sx) * C:(off // sx) * C + n]
                else:
                    src = ring[slot, 0, off * C:off * C + n]
                for t in range(n):
                    acc[t] += w * src[t]
        o = out[y]
        if split:
            for t in range(n):
                o[t] = acc[t]
        else:
            step = sx * C
            for x in range(wo):
                for c in range(C):
                    o[x * C + c] = acc[x * step + c]
    return out
