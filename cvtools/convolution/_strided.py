"""Strided correlation that computes only the outputs it keeps (numba).

``out[y, x] = sum_ij K[i, j] * padded[y*sy + i*dy, x*sx + j*dx]`` for every kept ``(y, x)``, read
straight from the unpadded image through row/column index maps (numpy.pad's rule for every border
mode; -1 reads a zero), without building the padded image.

Each padded row a kept output needs is converted to the working float type once, into a ring of
rows that stays in cache, split into its ``sx`` column phases and its channels: plane
``(r, c)`` of a ring row holds ``padded[row, r::sx, c]``. A kernel tap ``(i, j)`` then reads one
contiguous run of exactly the kept columns (plane ``((j*dx) % sx, c)`` from ``(j*dx) // sx`` on), so
the work is ``kh * kw`` vectorised multiply-adds per kept output, ``1 / (sy*sx)`` of the stride-1
work. Taps are applied eight (or four) at a time, so the accumulator row is loaded and stored once
per group rather than once per tap.

Two kernels share this machinery:

* :func:`strided_correlate`, any kernel;
* :func:`strided_separable`, a rank-1 kernel ``outer(col, row)``: the column pass runs on the kept
  rows only (every column phase), the row pass on the kept columns only, so a kept output costs
  ``sx*kh + kw`` multiply-adds instead of ``kh*kw`` (also used at stride 1, where it beats
  cv2.sepFilter2D for asymmetric factors on large images).

Also here: :func:`pool_extreme` (float max/min pooling at the kept windows only), :func:`pool_mean_blocks`
(float mean pooling over whole windows, its result checked as written),
:func:`fold_spectrum` (the FFT engine's decimation in frequency) and the NaN/infinity bit tests
(:func:`all_finite`, :func:`rows_finite`; float rows are tested as the kernels read them).

Accumulation is in the kernel's float dtype (float32 or float64, ``fastmath``); integer outputs of
up to 16 bits are rounded and saturated as each row is stored, wider ones by the caller.
"""
from __future__ import annotations

import numpy as np
from numba import njit, uintp


@njit(cache=True, fastmath=True, nogil=True)
def _edge(src, cmap, q, C, sx, dst, width):
    """Padded column ``q`` (outside the image: through the map) into its planes."""
    s = cmap[q]
    r = q % sx
    m = q // sx
    for c in range(C):
        dst[(r * C + c) * width + m] = src[s * C + c] if s >= 0 else 0


@njit(cache=True, fastmath=True, nogil=True)
def _fill(src, cmap, lo, hi, C, sx, dst, width):
    """Image row ``src`` (flattened ``(W*C,)``, any dtype) -> planes ``dst[(r*C + c)*width + m]``
    ``= padded[r + m*sx, c]``.

    ``cmap[q]`` is the source column of padded column ``q`` (-1: zero); the columns
    ``lo <= q < hi`` are the image itself (``q - lo``) and are copied without the map, with
    dedicated loops for the common ``sx == 2`` gray and colour cases (the compiler turns these into
    vector shuffles; one plane per channel keeps every store contiguous, which measured 5x faster
    than keeping the channels interleaved).
    """
    wp = cmap.shape[0]
    if hi <= lo:
        for q in range(wp):
            _edge(src, cmap, q, C, sx, dst, width)
        return
    for q in range(lo):
        _edge(src, cmap, q, C, sx, dst, width)
    for q in range(hi, wp):
        _edge(src, cmap, q, C, sx, dst, width)
    n = hi - lo
    n2 = n // 2
    o0 = (lo % 2) * C * width + lo // 2  # where column lo (and lo+1) go when sx == 2
    o1 = ((lo + 1) % 2) * C * width + (lo + 1) // 2
    if sx == 2 and C == 1:
        d0 = dst[o0:o0 + n2]
        d1 = dst[o1:o1 + n2]
        for k in range(n2):
            d0[k] = src[2 * k]
            d1[k] = src[2 * k + 1]
        if n % 2:
            dst[o0 + n2] = src[n - 1]
        return
    if sx == 2 and C == 3:
        a0, a1, a2 = dst[o0:o0 + n2], dst[o0 + width:o0 + width + n2], dst[o0 + 2 * width:o0 + 2 * width + n2]
        b0, b1, b2 = dst[o1:o1 + n2], dst[o1 + width:o1 + width + n2], dst[o1 + 2 * width:o1 + 2 * width + n2]
        for k in range(n2):
            a0[k] = src[6 * k]
            a1[k] = src[6 * k + 1]
            a2[k] = src[6 * k + 2]
            b0[k] = src[6 * k + 3]
            b1[k] = src[6 * k + 4]
            b2[k] = src[6 * k + 5]
        if n % 2:
            for c in range(3):
                dst[o0 + c * width + n2] = src[3 * (n - 1) + c]
        return
    if sx == 1:
        if C == 1:
            d = dst[lo:lo + n]
            for k in range(n):
                d[k] = src[k]
            return
        if C == 3:
            a0, a1, a2 = dst[lo:lo + n], dst[width + lo:width + lo + n], dst[2 * width + lo:2 * width + lo + n]
            for k in range(n):
                a0[k] = src[3 * k]
                a1[k] = src[3 * k + 1]
                a2[k] = src[3 * k + 2]
            return
    if C == 1 and (sx == 3 or sx == 4):
        # columns lo + sx*k + p, p < sx, go to plane (lo + p) % sx at index (lo + p) // sx + k
        nk = n // sx
        o = np.empty(4, np.int64)
        for p in range(sx):
            o[p] = ((lo + p) % sx) * width + (lo + p) // sx
        d0, d1, d2 = dst[o[0]:o[0] + nk], dst[o[1]:o[1] + nk], dst[o[2]:o[2] + nk]
        if sx == 3:
            for k in range(nk):
                d0[k] = src[3 * k]
                d1[k] = src[3 * k + 1]
                d2[k] = src[3 * k + 2]
        else:
            d3 = dst[o[3]:o[3] + nk]
            for k in range(nk):
                d0[k] = src[4 * k]
                d1[k] = src[4 * k + 1]
                d2[k] = src[4 * k + 2]
                d3[k] = src[4 * k + 3]
        for p in range(n - nk * sx):  # the last, incomplete group
            dst[o[p] + nk] = src[nk * sx + p]
        return
    step = sx * C
    for r in range(sx):
        q0 = lo + (r - lo) % sx  # first image column in phase r
        if q0 >= hi:
            continue
        cnt = (hi - q0 + sx - 1) // sx
        s0 = (q0 - lo) * C
        for c in range(C):
            o = (r * C + c) * width + q0 // sx
            d = dst[o:o + cnt]
            s = src[s0 + c:]
            for k in range(cnt):
                d[k] = s[k * step]


@njit(cache=True, fastmath=True, nogil=True)
def _taps(acc, ao, buf, offs, wts, n, wo, first):
    """``acc[ao:ao+wo] (+)= sum_t wts[t] * buf[offs[t]:offs[t] + wo]`` (``=`` when ``first``).

    Eight (then four, ...) taps per pass over the accumulator, so it is loaded and stored once per
    group; unsigned offsets spare numba's negative-index check, which would stop vectorisation.
    """
    a = uintp(ao)
    t = 0
    while t < n:
        m = min(8, n - t)
        if m == 8:
            o0, o1, o2, o3 = uintp(offs[t]), uintp(offs[t + 1]), uintp(offs[t + 2]), uintp(offs[t + 3])
            o4, o5, o6, o7 = uintp(offs[t + 4]), uintp(offs[t + 5]), uintp(offs[t + 6]), uintp(offs[t + 7])
            w0, w1, w2, w3 = wts[t], wts[t + 1], wts[t + 2], wts[t + 3]
            w4, w5, w6, w7 = wts[t + 4], wts[t + 5], wts[t + 6], wts[t + 7]
            if first:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] = (((w0 * buf[o0 + u] + w1 * buf[o1 + u]) + (w2 * buf[o2 + u] + w3 * buf[o3 + u]))
                                  + ((w4 * buf[o4 + u] + w5 * buf[o5 + u]) + (w6 * buf[o6 + u] + w7 * buf[o7 + u])))
            else:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] += (((w0 * buf[o0 + u] + w1 * buf[o1 + u]) + (w2 * buf[o2 + u] + w3 * buf[o3 + u]))
                                   + ((w4 * buf[o4 + u] + w5 * buf[o5 + u]) + (w6 * buf[o6 + u] + w7 * buf[o7 + u])))
        elif m >= 4:
            m = 4
            o0, o1, o2, o3 = uintp(offs[t]), uintp(offs[t + 1]), uintp(offs[t + 2]), uintp(offs[t + 3])
            w0, w1, w2, w3 = wts[t], wts[t + 1], wts[t + 2], wts[t + 3]
            if first:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] = (w0 * buf[o0 + u] + w1 * buf[o1 + u]) + (w2 * buf[o2 + u] + w3 * buf[o3 + u])
            else:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] += (w0 * buf[o0 + u] + w1 * buf[o1 + u]) + (w2 * buf[o2 + u] + w3 * buf[o3 + u])
        elif m >= 2:
            m = 2
            o0, o1 = uintp(offs[t]), uintp(offs[t + 1])
            w0, w1 = wts[t], wts[t + 1]
            if first:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] = w0 * buf[o0 + u] + w1 * buf[o1 + u]
            else:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] += w0 * buf[o0 + u] + w1 * buf[o1 + u]
        else:
            o0 = uintp(offs[t])
            w0 = wts[t]
            if first:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] = w0 * buf[o0 + u]
            else:
                for x in range(wo):
                    u = uintp(x)
                    acc[a + u] += w0 * buf[o0 + u]
        first = False
        t += m
    if first:  # no taps at all
        for x in range(wo):
            acc[a + uintp(x)] = 0


@njit(cache=True, fastmath=True, nogil=True)
def _taps4(acc, a0, a1, a2, a3, buf, offs, wts, n, wo):
    """``acc[a_b:a_b+wo] += sum_t wts[t, b] * buf[offs[t]:offs[t] + wo]`` for four output rows b.

    Four output rows of a tall kernel read mostly the same padded rows: each source run is loaded
    once for the four of them, eight sources per pass (a quarter of the cache traffic of one row
    at a time). ``n`` is a multiple of 8 (callers pad with zero weights).
    """
    a0, a1, a2, a3 = uintp(a0), uintp(a1), uintp(a2), uintp(a3)
    for t in range(0, n, 8):
        o0, o1, o2, o3 = uintp(offs[t]), uintp(offs[t + 1]), uintp(offs[t + 2]), uintp(offs[t + 3])
        o4, o5, o6, o7 = uintp(offs[t + 4]), uintp(offs[t + 5]), uintp(offs[t + 6]), uintp(offs[t + 7])
        w = wts[t:t + 8]
        w00, w01, w02, w03 = w[0, 0], w[0, 1], w[0, 2], w[0, 3]
        w10, w11, w12, w13 = w[1, 0], w[1, 1], w[1, 2], w[1, 3]
        w20, w21, w22, w23 = w[2, 0], w[2, 1], w[2, 2], w[2, 3]
        w30, w31, w32, w33 = w[3, 0], w[3, 1], w[3, 2], w[3, 3]
        w40, w41, w42, w43 = w[4, 0], w[4, 1], w[4, 2], w[4, 3]
        w50, w51, w52, w53 = w[5, 0], w[5, 1], w[5, 2], w[5, 3]
        w60, w61, w62, w63 = w[6, 0], w[6, 1], w[6, 2], w[6, 3]
        w70, w71, w72, w73 = w[7, 0], w[7, 1], w[7, 2], w[7, 3]
        for x in range(wo):
            u = uintp(x)
            s0, s1, s2, s3 = buf[o0 + u], buf[o1 + u], buf[o2 + u], buf[o3 + u]
            s4, s5, s6, s7 = buf[o4 + u], buf[o5 + u], buf[o6 + u], buf[o7 + u]
            acc[a0 + u] += (((w00 * s0 + w10 * s1) + (w20 * s2 + w30 * s3))
                             + ((w40 * s4 + w50 * s5) + (w60 * s6 + w70 * s7)))
            acc[a1 + u] += (((w01 * s0 + w11 * s1) + (w21 * s2 + w31 * s3))
                             + ((w41 * s4 + w51 * s5) + (w61 * s6 + w71 * s7)))
            acc[a2 + u] += (((w02 * s0 + w12 * s1) + (w22 * s2 + w32 * s3))
                             + ((w42 * s4 + w52 * s5) + (w62 * s6 + w72 * s7)))
            acc[a3 + u] += (((w03 * s0 + w13 * s1) + (w23 * s2 + w33 * s3))
                             + ((w43 * s4 + w53 * s5) + (w63 * s6 + w73 * s7)))


@njit(cache=True, nogil=True)
def _row_finite(bits, exponent):
    """No value of one image row (its unsigned bit patterns) has the NaN/infinity exponent."""
    m = bits.dtype.type(0)
    for t in range(bits.shape[0]):
        m = max(m, bits[t] & exponent)
    return m != exponent


@njit(cache=True, fastmath=True, nogil=True)
def _load_rows(image, y, sy, dy, kh, rmap, cmap, lo, hi, C, sx, ring, held, span, width, bits, exponent, seen,
               status):
    """Make sure the ring holds padded rows ``y*sy + i*dy`` (``i < kh``); ring slot = row % span.

    With a non-empty ``seen`` (float images), each image row is also checked for NaN/infinity the
    first time it is read, while it is in cache (``bits``: the image as unsigned integers): a bad
    row sets ``status[0]``, and ``seen`` tells the caller which rows no output read.
    """
    size = sx * C * width
    for i in range(kh):
        pr = y * sy + i * dy
        slot = pr % span
        if held[slot] != pr:
            dst = ring[slot * size:(slot + 1) * size]
            sr = rmap[pr]
            if sr >= 0:
                _fill(image[sr], cmap, lo, hi, C, sx, dst, width)
                if seen.shape[0] and not seen[sr]:
                    seen[sr] = True
                    if not _row_finite(bits[sr], exponent):
                        status[0] = 1
            else:
                dst[:] = 0
            held[slot] = pr


@njit(cache=True, fastmath=True, nogil=True)
def _store(acc, C, wo, o, convert, vmin, vmax):
    """Channel planes ``acc[c*wo:(c+1)*wo]`` -> interleaved output row ``o`` (``(wo*C,)``); with
    ``convert``, rounded half to even and clipped to ``[vmin, vmax]`` on the way (an integer ``o``:
    OpenCV's saturating conversion, without a pass of its own)."""
    if C == 1:
        if convert:
            for x in range(wo):
                o[x] = min(max(np.rint(acc[x]), vmin), vmax)
        else:
            for x in range(wo):
                o[x] = acc[x]
    elif C == 3:
        a0, a1, a2 = acc[:wo], acc[wo:2 * wo], acc[2 * wo:3 * wo]
        if convert:
            for x in range(wo):
                o[3 * x] = min(max(np.rint(a0[x]), vmin), vmax)
                o[3 * x + 1] = min(max(np.rint(a1[x]), vmin), vmax)
                o[3 * x + 2] = min(max(np.rint(a2[x]), vmin), vmax)
        else:
            for x in range(wo):
                o[3 * x] = a0[x]
                o[3 * x + 1] = a1[x]
                o[3 * x + 2] = a2[x]
    else:
        for c in range(C):
            a = acc[c * wo:(c + 1) * wo]
            if convert:
                for x in range(wo):
                    o[x * C + c] = min(max(np.rint(a[x]), vmin), vmax)
            else:
                for x in range(wo):
                    o[x * C + c] = a[x]


@njit(cache=True, nogil=True)
def _tap_tables(K, sy, dy, nb, span, block):
    """The tap tables of :func:`strided_correlate`: per output row ``b`` of a block its own taps
    (row offset ``d`` from the block start, column, weight), the shared sources ``(d, column)`` with
    their four weights (padded to a multiple of 8 with zeros), and every tap of one row (for rows
    left over after the blocks)."""
    kh, kw = K.shape
    shared = np.zeros(span, np.bool_)
    if block:
        for d in range(span):
            ok = True
            for b in range(nb):
                e = d - b * sy
                if e < 0 or e % dy != 0 or e // dy >= kh:
                    ok = False
            shared[d] = ok
    # per output row b of a block: the taps not shared (row offset d from the block start, column, weight)
    nt = 0
    for i in range(kh):
        for j in range(kw):
            if K[i, j] != 0:
                nt += 1
    own_d = np.empty((nb, max(nt, 1)), np.int64)
    own_j = np.empty((nb, max(nt, 1)), np.int64)
    own_w = np.empty((nb, max(nt, 1)), K.dtype)
    own_n = np.zeros(nb, np.int64)
    for b in range(nb):
        for i in range(kh):
            d = b * sy + i * dy
            if shared[d]:
                continue
            for j in range(kw):
                if K[i, j] != 0:
                    t = own_n[b]
                    own_d[b, t], own_j[b, t], own_w[b, t] = d, j, K[i, j]
                    own_n[b] = t + 1
    # shared sources: (d, column) with the four weights, padded to a multiple of 8 with zeros
    ns = 0
    for d in range(span):
        if shared[d]:
            ns += kw
    cap = ((ns + 7) // 8) * 8
    sh_d = np.zeros(max(cap, 1), np.int64)
    sh_j = np.zeros(max(cap, 1), np.int64)
    sh_w = np.zeros((max(cap, 1), 4), K.dtype)
    ns = 0
    for d in range(span):
        if not shared[d]:
            continue
        for j in range(kw):
            nonzero = False
            for b in range(nb):
                if K[(d - b * sy) // dy, j] != 0:
                    nonzero = True
            if nonzero:
                sh_d[ns], sh_j[ns] = d, j
                for b in range(nb):
                    sh_w[ns, b] = K[(d - b * sy) // dy, j]
                ns += 1
    ns = ((ns + 7) // 8) * 8
    # all taps of one row, for the rows left over after the blocks
    all_d = np.empty(max(nt, 1), np.int64)
    all_j = np.empty(max(nt, 1), np.int64)
    all_w = np.empty(max(nt, 1), K.dtype)
    t = 0
    for i in range(kh):
        for j in range(kw):
            if K[i, j] != 0:
                all_d[t], all_j[t], all_w[t] = i * dy, j, K[i, j]
                t += 1
    return own_d, own_j, own_w, own_n, sh_d, sh_j, sh_w, ns, all_d, all_j, all_w, nt


@njit(cache=True, fastmath=True, nogil=True)
def strided_correlate(image, K, sy, sx, dy, dx, ho, wo, C, rmap, cmap, lo, hi, out, block, convert, vmin, vmax,
                      bits, exponent, seen, status):
    """Fill ``out`` (``(ho, wo*C)``) with the strided correlation of ``image``.

    ``image`` is ``(H, W*C)`` (channels interleaved, any numeric dtype), ``K`` the kernel in the
    working float dtype (float32 or float64), ``rmap``/``cmap`` the padded-row/column -> image
    index maps (-1: zero) and ``lo:hi`` the padded columns that are the image itself. ``out`` is
    either that float dtype, or, with ``convert``, an integer dtype whose results are rounded half
    to even and clipped to ``[vmin, vmax]`` (:func:`_store`). ``bits``, ``exponent``, ``seen`` and
    ``status``: the NaN/infinity check of float images (:func:`_load_rows`). With ``block`` (tall kernels), output
    rows are computed four at a time: a padded row that all four read at some kernel row (offset
    ``d`` from the block's first row ``y*sy``, ``d = b*sy + i*dy`` for every ``b < 4``) is a
    "shared" source run through :func:`_taps4`; the other (row, output) pairs go one row at a time.
    """
    kh, kw = K.shape
    nb = 4 if block else 1
    span = (nb - 1) * sy + (kh - 1) * dy + 1  # padded rows one block reads: distinct ring slots
    width = (cmap.shape[0] + sx - 1) // sx
    size = sx * C * width  # one ring row: a plane per phase and channel
    ring = np.zeros(span * size, K.dtype)
    held = np.full(span, -1, np.int64)
    direct = C == 1 and not convert  # accumulate straight into out
    acc = np.zeros(nb * C * wo, K.dtype)  # channel planes of the block's rows (unless direct)
    pos = np.empty(kw, np.int64)  # offset of tap column j within a ring row (channel 0)
    for j in range(kw):
        pos[j] = ((j * dx) % sx) * C * width + (j * dx) // sx
    own_d, own_j, own_w, own_n, sh_d, sh_j, sh_w, ns, all_d, all_j, all_w, nt = _tap_tables(K, sy, dy, nb, span,
                                                                                         block)
    offs = np.empty(max(nt, ns, 1), np.int64)
    flat = out.reshape(-1)
    y = 0
    while y < ho:
        rows = nb if y + nb <= ho else 1
        if rows > 1:
            _load_rows(image, y, sy, 1, span, rmap, cmap, lo, hi, C, sx, ring, held, span, width, bits, exponent,
                       seen, status)
        else:
            _load_rows(image, y, sy, dy, kh, rmap, cmap, lo, hi, C, sx, ring, held, span, width, bits, exponent,
                       seen, status)
        for c in range(C):
            if rows == 1 and nb > 1:  # a leftover row of a blocked call: all its taps
                for t in range(nt):
                    offs[t] = ((y * sy + all_d[t]) % span) * size + pos[all_j[t]] + c * width
                if direct:
                    _taps(flat, y * wo, ring, offs, all_w, nt, wo, True)
                else:
                    _taps(acc, c * wo, ring, offs, all_w, nt, wo, True)
                continue
            for b in range(rows):
                m = own_n[b]
                for t in range(m):
                    offs[t] = ((y * sy + own_d[b, t]) % span) * size + pos[own_j[b, t]] + c * width
                if direct:
                    _taps(flat, (y + b) * wo, ring, offs, own_w[b], m, wo, True)
                else:
                    _taps(acc, (b * C + c) * wo, ring, offs, own_w[b], m, wo, True)
            if rows > 1 and ns > 0:
                for t in range(ns):
                    offs[t] = ((y * sy + sh_d[t]) % span) * size + pos[sh_j[t]] + c * width
                if direct:
                    _taps4(flat, y * wo, (y + 1) * wo, (y + 2) * wo, (y + 3) * wo, ring, offs, sh_w, ns, wo)
                else:
                    _taps4(acc, c * wo, (C + c) * wo, (2 * C + c) * wo, (3 * C + c) * wo, ring, offs, sh_w,
                           ns, wo)
        if not direct:
            for b in range(rows):
                _store(acc[b * C * wo:(b + 1) * C * wo], C, wo, out[y + b], convert, vmin, vmax)
        y += rows
    return out


@njit(cache=True, fastmath=True, nogil=True)
def strided_separable(image, col, row, sy, sx, dy, dx, ho, wo, C, rmap, cmap, lo, hi, out, convert, vmin, vmax,
                      bits, exponent, seen, status):
    """:func:`strided_correlate` for the rank-1 kernel ``outer(col, row)`` (same arguments).

    Column pass on the kept rows (all column phases), then row pass on the kept columns.
    """
    kh, kw = col.shape[0], row.shape[0]
    span = (kh - 1) * dy + 1
    width = (cmap.shape[0] + sx - 1) // sx
    size = sx * C * width
    ring = np.zeros(span * size, col.dtype)
    held = np.full(span, -1, np.int64)
    vert = np.zeros(size, col.dtype)
    direct = C == 1 and not convert
    acc = np.zeros(C * wo, col.dtype)
    voffs = np.empty(kh, np.int64)
    vw = col
    hbase = np.empty(kw, np.int64)
    hoffs = np.empty(kw, np.int64)
    hw = row
    for j in range(kw):
        hbase[j] = ((j * dx) % sx) * C * width + (j * dx) // sx
    flat = out.reshape(-1)
    for y in range(ho):
        _load_rows(image, y, sy, dy, kh, rmap, cmap, lo, hi, C, sx, ring, held, span, width, bits, exponent,
                   seen, status)
        for i in range(kh):
            voffs[i] = ((y * sy + i * dy) % span) * size
        _taps(vert, 0, ring, voffs, vw, kh, size, True)  # every plane of the ring row at once
        for c in range(C):
            for j in range(kw):
                hoffs[j] = hbase[j] + c * width
            if direct:
                _taps(flat, y * wo, vert, hoffs, hw, kw, wo, True)
            else:
                _taps(acc, c * wo, vert, hoffs, hw, kw, wo, True)
        if not direct:
            _store(acc, C, wo, out[y], convert, vmin, vmax)
    return out


@njit(cache=True, fastmath=True, nogil=True)
def fold_spectrum(pf, kf, sy, sx, n_full, out):
    """Half-spectrum of the ``(sy, sx)``-decimated correlation, from the full-size spectra.

    ``pf`` (``(C, M, N//2+1)``) is the real FFT of the padded image, ``kf`` (``(M, N//2+1)``) that
    of the kernel and ``n_full`` is ``N``. The correlation's spectrum is ``pf * conj(kf)``; keeping
    every ``sy``-th row and ``sx``-th column of a signal sums its spectrum over the ``sy*sx``
    aliases ``(a + p*M/sy, b + q*N/sx)``, divided by ``sy*sx``. Columns past ``N//2`` come from
    Hermitian symmetry: ``X[a, b] = conj(X[-a, N-b])``. ``out`` is ``(C, M/sy, (N/sx)//2 + 1)``.
    """
    n_ch, m_full, _ = pf.shape
    mo, no, nb = m_full // sy, n_full // sx, out.shape[2]
    half = n_full // 2
    scale = 1.0 / (sy * sx)
    for c in range(n_ch):
        for a in range(mo):
            o = out[c, a]
            o[:] = 0
            for p in range(sy):
                ap = a + p * mo
                am = (m_full - ap) % m_full
                x, k = pf[c, ap], kf[ap]
                xm, km = pf[c, am], kf[am]
                for q in range(sx):
                    b0 = q * no
                    split = min(max(half - b0 + 1, 0), nb)  # columns b0 + b <= N//2 are stored
                    for b in range(split):
                        o[b] += x[b0 + b] * np.conj(k[b0 + b])
                    for b in range(split, nb):
                        o[b] += np.conj(xm[n_full - b0 - b]) * km[n_full - b0 - b]
            for b in range(nb):
                o[b] *= scale
    return out


@njit(cache=True, nogil=True)
def all_finite(bits, exponent):
    """True when no value of a float array, seen as its unsigned bit patterns ``bits`` (1-D), has
    the all-ones ``exponent`` of NaN and infinity (one pass; no float arithmetic to overflow)."""
    m = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        m = max(m, bits[i] & exponent)
    return m != exponent


# ------------------------------------------------------------------------------------- pooling
@njit(cache=True, fastmath=True, nogil=True)
def _hpool(tmp, o, C, wo, sx, kw, l, w, is_max):
    """Horizontal max/min of the (vertically reduced) row ``tmp`` over each window, every ``sx``."""
    x_lo = min(-(-l // sx), wo)  # first window inside the row
    x_hi = max(min((w - kw + l) // sx + 1, wo), x_lo)  # one past the last inside
    if C == 1 and kw == 2 and sx == 2 and x_hi > x_lo:
        base = uintp(2 * x_lo - l)
        d = o[x_lo:x_hi]
        if is_max:
            for x in range(x_hi - x_lo):
                u = base + uintp(2 * x)
                d[x] = max(tmp[u], tmp[u + uintp(1)])
        else:
            for x in range(x_hi - x_lo):
                u = base + uintp(2 * x)
                d[x] = min(tmp[u], tmp[u + uintp(1)])
    elif C == 1 and kw == 3 and sx == 2 and x_hi > x_lo:
        base = uintp(2 * x_lo - l)
        d = o[x_lo:x_hi]
        if is_max:
            for x in range(x_hi - x_lo):
                u = base + uintp(2 * x)
                d[x] = max(max(tmp[u], tmp[u + uintp(1)]), tmp[u + uintp(2)])
        else:
            for x in range(x_hi - x_lo):
                u = base + uintp(2 * x)
                d[x] = min(min(tmp[u], tmp[u + uintp(1)]), tmp[u + uintp(2)])
    else:
        x_lo = x_hi = wo  # everything below
    for part in range(2):
        for x in range(0, x_lo) if part == 0 else range(x_hi, wo):
            c0 = x * sx - l
            clo, chi = max(c0, 0), min(c0 + kw, w)
            for c in range(C):
                m = tmp[clo * C + c]
                for q in range(clo + 1, chi):
                    v = tmp[q * C + c]
                    m = max(m, v) if is_max else min(m, v)
                o[x * C + c] = m


@njit(cache=True, fastmath=True, nogil=True)
def pool_extreme(image, kh, kw, sy, sx, t, l, ho, wo, C, is_max, out, bits, exponent, seen, status):
    """Max (``is_max``) or min pooling of ``image`` (``(H, W*C)``) into ``out`` (``(ho, wo*C)``).

    Window ``(y, x)`` covers rows ``y*sy - t + i`` and columns ``x*sx - l + j``; parts outside the
    image never win (each window holds at least one pixel). Rows are reduced vertically first
    (contiguous, vectorised), then across each window. Float images: every row is checked for
    NaN/infinity the first time it is read, as in :func:`_load_rows` (a max can drop a NaN, so the
    result cannot be checked instead).
    """
    h = image.shape[0]
    w = image.shape[1] // C
    tmp = np.empty(image.shape[1], image.dtype)
    for y in range(ho):
        r0 = y * sy - t
        first = True
        for r in range(max(r0, 0), min(r0 + kh, h)):
            row = image[r]
            if seen.shape[0] and not seen[r]:
                seen[r] = True
                if not _row_finite(bits[r], exponent):
                    status[0] = 1
            if first:
                for q in range(row.shape[0]):
                    tmp[q] = row[q]
                first = False
            elif is_max:
                for q in range(row.shape[0]):
                    tmp[q] = max(tmp[q], row[q])
            else:
                for q in range(row.shape[0]):
                    tmp[q] = min(tmp[q], row[q])
        _hpool(tmp, out[y], C, wo, sx, kw, l, w, is_max)
    return out


@njit(cache=True, nogil=True)
def rows_finite(bits, step, exponent):
    """:func:`all_finite` on rows ``0, step, 2*step, ...`` and the last row of ``bits`` (2-D)."""
    n = bits.shape[0]
    for r in range(0, n + step - 1, step):
        if not _row_finite(bits[min(r, n - 1)], exponent):
            return False
    return True


@njit(cache=True, nogil=True)
def pool_mean_blocks(image, kh, kw, ho, wo, C, out, bits, exponent):
    """Mean of each non-overlapping ``kh x kw`` window of a float image (rows ``(h, w*C)``), into
    ``out`` ``(ho, wo*C)``; True when no mean is NaN or infinite (``bits``: ``out``'s bit patterns).

    Every pooled pixel has a positive weight in one mean, so a NaN/infinity among them shows in the
    result: checking each output row right after writing it (in cache) replaces a pass over the
    image. 2x2 windows sum as ``(a + b) + (c + d)`` then scale, the order of OpenCV's vectorised
    INTER_AREA; no ``fastmath``, so that order and NaN stay as written.
    """
    scale = out.dtype.type(1.0) / out.dtype.type(kh * kw)
    m = bits.dtype.type(0)
    for y in range(ho):
        o = out[y]
        if kh == 2 and kw == 2 and C == 1:
            r0 = image[2 * y]
            r1 = image[2 * y + 1]
            for x in range(wo):
                o[x] = ((r0[2 * x] + r0[2 * x + 1]) + (r1[2 * x] + r1[2 * x + 1])) * scale
        elif kh == 2 and kw == 2:
            r0 = image[2 * y]
            r1 = image[2 * y + 1]
            for x in range(wo):
                a = 2 * x * C
                for c in range(C):
                    o[x * C + c] = ((r0[a + c] + r0[a + C + c]) + (r1[a + c] + r1[a + C + c])) * scale
        else:
            o[:] = 0
            for i in range(kh):
                row = image[y * kh + i]
                for x in range(wo):
                    a = x * kw * C
                    for c in range(C):
                        s = row[a + c]
                        for j in range(1, kw):
                            s += row[a + j * C + c]
                        o[x * C + c] += s
            for x in range(wo * C):
                o[x] *= scale
        b = bits[y]
        for x in range(wo * C):
            m = max(m, b[x] & exponent)
    return m != exponent


@njit(cache=True, fastmath=True, nogil=True)
def correlate3x3(image, K, rmap, cmap, zero, out, bits, exponent):
    """Stride-1 3x3 correlation of a one-channel float image, 'same' size, into ``out``; True when
    ``image`` (``bits``: its bit patterns) holds no NaN/infinity.

    The nine weights stay in registers and each output row is one vectorised pass over three image
    rows (``rmap``: padded row -> image row, -1 reads ``zero``); the two border columns go through
    ``cmap``. Each image row is tested for NaN/infinity in the iteration that reads it as the middle
    row, while it is in cache: no pass of its own. Measured faster than cv2.filter2D, whose result
    would need that pass.
    """
    H, W = image.shape
    k00, k01, k02 = K[0, 0], K[0, 1], K[0, 2]
    k10, k11, k12 = K[1, 0], K[1, 1], K[1, 2]
    k20, k21, k22 = K[2, 0], K[2, 1], K[2, 2]
    m = bits.dtype.type(0)
    for y in range(H):
        a = image[rmap[y]] if rmap[y] >= 0 else zero
        b = image[rmap[y + 1]] if rmap[y + 1] >= 0 else zero
        c = image[rmap[y + 2]] if rmap[y + 2] >= 0 else zero
        o = out[y]
        for x in range(1, W - 1):
            o[x] = (k00 * a[x - 1] + k01 * a[x] + k02 * a[x + 1]
                    + k10 * b[x - 1] + k11 * b[x] + k12 * b[x + 1]
                    + k20 * c[x - 1] + k21 * c[x] + k22 * c[x + 1])
        for px in (0, W - 1):
            s = K[0, 0] * 0
            for j in range(3):
                q = cmap[px + j]
                if q >= 0:
                    s += K[0, j] * a[q] + K[1, j] * b[q] + K[2, j] * c[q]
            o[px] = s
        row = bits[y]
        for x in range(W):
            m = max(m, row[x] & exponent)
    return m != exponent


@njit(cache=True, fastmath=True, nogil=True)
def correlate3x3_stride2(image, K, rmap, cmap, zero, out, bits, exponent, check_out):
    """:func:`correlate3x3` at stride 2 in both directions ('same' padding): output ``(y, x)`` reads
    padded rows ``2y .. 2y+2`` and columns ``2x .. 2x+2``.

    Each padded row is split once into its even and odd columns (a ring of three), so the nine
    multiply-adds of a kept output read contiguous runs and vectorise. NaN/infinity: with
    ``check_out`` (no zero tap: every pixel has a weight in a kept output, and ``nan * w`` or
    ``inf * w`` is never finite) each output row is tested as written (``bits``: ``out``'s bit
    patterns), a quarter of the image; otherwise each image row as it is split (``bits``: the
    image's). True when none was found.
    """
    H, W = image.shape
    ho, wo = out.shape
    k00, k01, k02 = K[0, 0], K[0, 1], K[0, 2]
    k10, k11, k12 = K[1, 0], K[1, 1], K[1, 2]
    k20, k21, k22 = K[2, 0], K[2, 1], K[2, 2]
    D = np.zeros((3, wo + 1), out.dtype)
    E = np.zeros((3, wo), out.dtype)
    held = np.full(3, -1, np.int64)
    finite = True
    for y in range(ho):
        for i in range(3):
            pr = 2 * y + i
            slot = pr % 3
            if held[slot] == pr:
                continue
            held[slot] = pr
            src = rmap[pr]
            r = image[src] if src >= 0 else zero
            # split by column parity: Ds[x] = padded[2x] (x <= wo), Es[x] = padded[2x + 1] (x < wo),
            # padded[p] = r[p - 1] inside the image, r[cmap[p]] (0 where -1) outside
            Ds, Es = D[slot], E[slot]
            last = min(W // 2, wo)
            for x in range(last):
                Es[x] = r[2 * x]
                Ds[x + 1] = r[2 * x + 1]
            for x in range(last, wo):
                Es[x] = r[2 * x]
            q = cmap[0]
            Ds[0] = r[q] if q >= 0 else 0
            for x in range(last + 1, wo + 1):
                q = cmap[2 * x]
                Ds[x] = r[q] if q >= 0 else 0
            if not check_out and src >= 0 and not _row_finite(bits[src], exponent):
                finite = False
        a, b, c = (2 * y) % 3, (2 * y + 1) % 3, (2 * y + 2) % 3
        da, db, dc = D[a], D[b], D[c]
        ea, eb, ec = E[a], E[b], E[c]
        o = out[y]
        for x in range(wo):
            o[x] = (k00 * da[x] + k01 * ea[x] + k02 * da[x + 1]
                    + k10 * db[x] + k11 * eb[x] + k12 * db[x + 1]
                    + k20 * dc[x] + k21 * ec[x] + k22 * dc[x + 1])
        if check_out and not _row_finite(bits[y], exponent):
            finite = False
    return finite
