"""Frequency-selective reconstruction (FSR), vectorised over many blocks at once.

The image is cut into blocks; every block that holds missing pixels is extrapolated from a larger
*area* around it by complex-valued frequency selective extrapolation (Seiler and Kaup, "Complex-valued
frequency selective extrapolation for fast image and video signal extrapolation", IEEE SPL 2010):
the known pixels of the area, weighted by an isotropic window ``rho ** distance`` that trusts pixels
near the block most, are approximated by a sparse sum of 2-D Fourier basis functions chosen one at
a time — the one that removes the most weighted residual energy — and the model is then read off
inside the missing pixels.

The refinements of Genser, Seiler, Schilling and Kaup ("Rapid frequency selective reconstruction for
image resolution enhancement", ICIP 2017; "Spectral constrained frequency selective extrapolation
for rapid image error concealment", IWSSIP 2018) are used: blocks are processed in order of how many
of their neighbours are still unknown, pixels already reconstructed are re-used for later blocks
with a reduced weight, the expansion coefficients are damped by an orthogonality-deficiency
compensation factor ``gamma``, low frequencies are preferred by a frequency weighting, and the number
of iterations per block follows the standard deviation of its known pixels.

Speed comes from doing each wave of independent blocks together: the weighting-function spectra and
the initial residual spectra are batched numpy FFTs, the iterations are a small numba kernel over the
half spectrum (the signal is real, so each selected basis function brings its complex conjugate), and
only blocks that touch the mask are ever processed.
"""
from __future__ import annotations

import numpy as np

try:  # numba is a core dependency; the pure-numpy fallback keeps the module importable without it
    from numba import njit, prange
except ImportError:  # pragma: no cover
    njit = None


def _fse_kernel_py(Rw, Wp, widx, fw2, n_iter, gamma, G):  # pragma: no cover - reference / fallback
    nb, C, F, H = Rw.shape
    half = F // 2
    for b in range(nb):
        wb = widx[b]
        w0 = Wp[wb, 0, 0].real
        if w0 <= 0:
            continue
        inv = gamma / w0
        for _ in range(n_iter[b]):
            s = (np.abs(Rw[b]) ** 2).sum(0) * fw2
            bu, bv = np.unravel_index(int(np.argmax(s)), s.shape)
            selfconj = (bu == 0 or bu == half) and (bv == 0 or bv == half)
            for c in range(C):
                a = Rw[b, c, bu, bv] * inv
                if selfconj:
                    a = complex(a.real, 0.0)
                    G[b, c, bu, bv] += a * F * F
                    Rw[b, c] -= a * Wp[wb, F - bu:2 * F - bu, F - bv:F - bv + H]
                else:
                    G[b, c, bu, bv] += a * F * F
                    if bv == 0 or bv == half:
                        G[b, c, (F - bu) % F, bv] += np.conj(a) * F * F
                    Rw[b, c] -= (a * Wp[wb, F - bu:2 * F - bu, F - bv:F - bv + H]
                                 + np.conj(a) * Wp[wb, bu:bu + F, bv:bv + H])


if njit is not None:
    @njit(cache=True, fastmath=True, nogil=True, parallel=True)
    def _fse_kernel(Rw, Wp, widx, fw2, n_iter, gamma, G):  # pragma: no cover - compiled
        nb, C, F, H = Rw.shape
        half = F // 2
        FF = F * F
        for b in prange(nb):
            wb = widx[b]
            w0 = Wp[wb, 0, 0].real
            if w0 <= 0:
                continue
            inv = gamma / w0
            for _ in range(n_iter[b]):
                # select the basis function that removes the most (frequency-weighted) residual energy
                best = -1.0
                bu = 0
                bv = 0
                for u in range(F):
                    for v in range(H):
                        s = 0.0
                        for c in range(C):
                            z = Rw[b, c, u, v]
                            s += z.real * z.real + z.imag * z.imag
                        s *= fw2[u, v]
                        if s > best:
                            best = s
                            bu = u
                            bv = v
                selfconj = (bu == 0 or bu == half) and (bv == 0 or bv == half)
                for c in range(C):
                    a = Rw[b, c, bu, bv] * inv
                    if selfconj:
                        a = complex(a.real, 0.0)
                        G[b, c, bu, bv] += a * FF
                        for u in range(F):
                            for v in range(H):
                                Rw[b, c, u, v] -= a * Wp[wb, F + u - bu, F + v - bv]
                    else:
                        G[b, c, bu, bv] += a * FF
                        ac = a.conjugate()
                        if bv == 0 or bv == half:
                            G[b, c, (F - bu) % F, bv] += ac * FF
                        # the residual loses a*W(l-k) + conj(a)*W(l+k) (Seiler & Kaup 2010, eq. 9 for a real signal)
                        for u in range(F):
                            for v in range(H):
                                Rw[b, c, u, v] -= a * Wp[wb, F + u - bu, F + v - bv] + ac * Wp[wb, u + bu, v + bv]
else:  # pragma: no cover
    _fse_kernel = _fse_kernel_py


_FW_CACHE: dict = {}
_DIST_CACHE: dict = {}


def _freq_weight2(F: int) -> np.ndarray:
    """Squared frequency weighting over the half spectrum: 1 - |f| sqrt(2) / F (Genser et al. 2018)."""
    if F not in _FW_CACHE:
        H = F // 2 + 1
        y = np.arange(F)
        y2 = F / 2 - np.abs(y - F / 2)
        x2 = np.arange(H, dtype=np.float64)
        fw = 1.0 - np.sqrt(y2[:, None] ** 2 + x2[None, :] ** 2) * np.sqrt(2) / F
        _FW_CACHE[F] = np.ascontiguousarray((fw ** 2).astype(np.float32))
    return _FW_CACHE[F]


def _distance(F: int, B: int) -> np.ndarray:
    key = (F, B)
    if key not in _DIST_CACHE:
        o = (F - B) / 2
        c = o + B / 2
        yy, xx = np.mgrid[0:F, 0:F]
        _DIST_CACHE[key] = np.sqrt((yy + 0.5 - c) ** 2 + (xx + 0.5 - c) ** 2)
    return _DIST_CACHE[key]


def _independent(cands: np.ndarray, shape) -> np.ndarray:
    """Greedy maximal set of candidate blocks (flat indices, raster order) of which no two touch."""
    blocked = np.zeros(shape, bool)
    keep = []
    nby, nbx = shape
    for i in cands:
        y, x = divmod(int(i), nbx)
        if blocked[y, x]:
            continue
        keep.append(i)
        blocked[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = True
    return np.asarray(keep, dtype=np.int64)


def _nen(todo: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Number of 8-neighbours of each block that are still unknown (outside the image counts)."""
    t = np.pad(todo, 1, constant_values=False) | outside
    n = np.zeros(t.shape, np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                n += np.roll(np.roll(t, dy, 0), dx, 1)
    return n[1:-1, 1:-1]


def _extract(arr, ys, xs, size):
    iy = ys[:, None] + np.arange(size)[None, :]
    ix = xs[:, None] + np.arange(size)[None, :]
    return arr[iy[:, :, None], ix[:, None, :]], (iy, ix)


def _extrapolate(rec, wmask, by, bx, *, pad, B, F, rho, gamma, iter_const, min_iter, max_iter, joint):
    """Run FSE on the blocks (by, bx) with an F x F area each; returns the (n, B, B, C) models."""
    C = rec.shape[2]
    o = (F - B) // 2
    f, _ = _extract(rec, pad + by * B - o, pad + bx * B - o, F)        # (n, F, F, C)
    wm, _ = _extract(wmask, pad + by * B - o, pad + bx * B - o, F)     # (n, F, F)
    w = wm * (rho ** _distance(F, B))[None]
    # iterations from the spread of the known pixels (Genser et al., IWSSIP 2017)
    kn = wm > 0
    cnt = np.maximum(kn.sum((1, 2)), 1)
    mean = (f * kn[..., None]).sum((1, 2)) / cnt[:, None]
    var = ((f - mean[:, None, None, :]) ** 2 * kn[..., None]).sum((1, 2)) / cnt[:, None]
    sigma = np.sqrt(var.max(axis=1))
    n_iter = np.clip(np.rint(iter_const * sigma), min_iter, max_iter).astype(np.int64)
    W = np.fft.fft2(w).astype(np.complex64)
    Wp = np.ascontiguousarray(np.tile(W, (1, 2, 2)))
    Rw = np.fft.rfft2(np.moveaxis(f * w[..., None], -1, 1)).astype(np.complex64)  # (n, C, F, F//2+1)
    n = len(by)
    if joint:  # one basis function per iteration for all channels (multichannel FSE)
        widx = np.arange(n, dtype=np.int64)
        its = n_iter
    else:
        Rw = Rw.reshape(n * C, 1, F, F // 2 + 1)
        widx = np.repeat(np.arange(n, dtype=np.int64), C)
        its = np.repeat(n_iter, C)
    Rw = np.ascontiguousarray(Rw)
    G = np.zeros_like(Rw)
    _fse_kernel(Rw, Wp, widx, _freq_weight2(F), its, np.float32(gamma), G)
    g = np.fft.irfft2(G.reshape(n, C, F, F // 2 + 1), s=(F, F))         # (n, C, F, F)
    return np.moveaxis(g[:, :, o:o + B, o:o + B], 1, -1)


#: (block size, area size, rho) per level: blocks that hold known pixels are done at the first level;
#: the inside of large holes is grown inwards with the smaller blocks of the later levels.
LEVELS = ((8, 32, 0.7), (8, 64, 0.8))


def _kernel_threads():
    """numba threads for the kernel: a quarter of the cores (1 on small or shared machines, where
    spinning worker threads cost more than they bring)."""
    import os

    return max(1, (os.cpu_count() or 1) // 4)


def fsr_fill(image: np.ndarray, hole: np.ndarray, *, levels=LEVELS, gamma: float = 0.5,
             reuse_weight: float = 0.5, iter_const: float = 1000.0, min_iter: int = 20,
             max_iter: int = 100, joint: bool = True, shift: int = 0, min_known: float = 0.25,
             progress=None) -> np.ndarray:
    """Fill ``hole`` in a float image ``(H, W, C)`` (values 0-1) by FSR; returns a new float64 image.

    ``levels`` lists ``(block, area, rho)``; a block is processed at the first level where it holds
    at least one known pixel (the last level takes the rest). ``shift`` moves the block grid.
    ``progress`` is an optional callable ``progress(n_missing_pixels_filled)``.
    """
    try:
        import numba

        old_threads = numba.get_num_threads()
        numba.set_num_threads(min(old_threads, _kernel_threads()))
    except (ImportError, ValueError):  # pragma: no cover
        numba = None
    try:
        return _fsr_fill(image, hole, levels=levels, gamma=gamma, reuse_weight=reuse_weight,
                         iter_const=iter_const, min_iter=min_iter, max_iter=max_iter, joint=joint, shift=shift,
                         min_known=min_known, progress=progress)
    finally:
        if numba is not None:
            numba.set_num_threads(old_threads)


def _fsr_fill(image, hole, *, levels, gamma, reuse_weight, iter_const, min_iter, max_iter, joint, shift,
              min_known, progress):
    Himg, Wimg, C = image.shape
    Bmax = max(lv[0] for lv in levels)
    pad = max(lv[1] for lv in levels) + Bmax + shift
    PH = -(-(Himg + 2 * pad) // Bmax) * Bmax
    PW = -(-(Wimg + 2 * pad) // Bmax) * Bmax
    y0 = x0 = pad + shift  # the image's corner on the padded canvas; blocks start at (pad, pad)
    rec = np.zeros((PH, PW, C), np.float64)
    rec[y0:y0 + Himg, x0:x0 + Wimg] = image
    missing = np.zeros((PH, PW), bool)
    missing[y0:y0 + Himg, x0:x0 + Wimg] = hole
    wmask = np.zeros((PH, PW), np.float64)  # 1 known, 0 missing or outside, reuse_weight reconstructed
    wmask[y0:y0 + Himg, x0:x0 + Wimg] = ~hole
    rec[missing] = 0.0
    known0 = wmask == 1

    for li, (B, F, rho) in enumerate(levels):
        last = li == len(levels) - 1
        nby = (PH - 2 * pad) // B + 1
        nbx = (PW - 2 * pad) // B + 1
        sub = lambda a: a[pad:pad + nby * B, pad:pad + nbx * B].reshape(nby, B, nbx, B)  # noqa: E731
        todo = sub(missing).any(axis=(1, 3))
        if not last:
            todo &= sub(known0).mean(axis=(1, 3)) >= min_known
        if not todo.any():
            continue
        outside = np.ones((nby + 2, nbx + 2), bool)
        outside[1:-1, 1:-1] = False
        while todo.any():
            nen = np.where(todo, _nen(todo, outside), 99).ravel()
            order = np.argsort(nen, kind="stable")[: int(todo.sum())]
            cands = order[nen[order] == nen[order[0]]]
            sel = _independent(cands, (nby, nbx))
            by, bx = np.divmod(sel, nbx)
            # a block whose area holds nothing known yet waits for its neighbours
            o = (F - B) // 2
            wm, _ = _extract(wmask, pad + by * B - o, pad + bx * B - o, F)
            ok = wm.reshape(len(sel), -1).max(1) > 0
            if not ok.any():
                raise ValueError("the mask leaves no known pixel to reconstruct from.")
            by, bx = by[ok], bx[ok]
            g = _extrapolate(rec, wmask, by, bx, pad=pad, B=B, F=F, rho=rho, gamma=gamma,
                             iter_const=iter_const, min_iter=min_iter, max_iter=max_iter, joint=joint)
            cur, (iy, ix) = _extract(rec, pad + by * B, pad + bx * B, B)
            miss, _ = _extract(missing, pad + by * B, pad + bx * B, B)
            cur[miss] = g[miss]
            rec[iy[:, :, None], ix[:, None, :]] = cur
            wb, _ = _extract(wmask, pad + by * B, pad + bx * B, B)
            wb[miss] = reuse_weight
            wmask[iy[:, :, None], ix[:, None, :]] = wb
            missing[iy[:, :, None], ix[:, None, :]] = False
            todo[by, bx] = False
            if progress is not None:
                progress(int(miss.sum()))
    return rec[y0:y0 + Himg, x0:x0 + Wimg]
