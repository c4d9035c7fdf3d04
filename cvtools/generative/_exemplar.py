"""Exemplar-based inpainting: fill a hole with patches copied from the image itself.

Criminisi, Pérez and Toyama, "Region filling and object removal by exemplar-based image inpainting",
IEEE TIP 2004: the fill front is processed in order of *priority* = confidence x data term, where the
data term is large where a strong edge (isophote) hits the front head-on — so structure lines are
continued into the hole before flat texture fills around them. Each step copies the missing pixels of
the best-matching source patch (sum of squared differences over the known pixels of the target patch).

The best match is found PatchMatch-style (Barnes, Shechtman, Finkelstein and Goldman, SIGGRAPH 2009)
instead of exhaustively: candidates are the sources already used by neighbouring filled pixels
(coherence, which also keeps copied texture contiguous), random samples over the whole image, and a
random search around the best so far with a radius halving down to one pixel.

For large holes the fill runs coarse to fine: at the coarsest level of a Gaussian pyramid the hole is
a few patches wide; each finer level starts from the upsampled source offsets and also scores the
upsampled coarse result inside the hole, which carries the global layout down the pyramid.
"""
from __future__ import annotations

import heapq

import numpy as np

from numba import njit


@njit(cache=True, nogil=True)
def _ssd(img, unk, guide, use_guide, lam, ty, tx, sy, sx, r, best):
    H, W, C = img.shape
    s = 0.0
    for dy in range(-r, r + 1):
        y = ty + dy
        if y < 0 or y >= H:
            continue
        for dx in range(-r, r + 1):
            x = tx + dx
            if x < 0 or x >= W:
                continue
            if not unk[y, x]:
                for c in range(C):
                    d = img[y, x, c] - img[sy + dy, sx + dx, c]
                    s += d * d
            elif use_guide:
                for c in range(C):
                    d = guide[y, x, c] - img[sy + dy, sx + dx, c]
                    s += lam * d * d
        if s >= best:
            return s
    return s


@njit(cache=True, nogil=True)
def _priority(gray, unk, conf, y, x, r):
    H, W = unk.shape
    # confidence: share of trusted information in the patch (Criminisi eq. 2)
    csum = 0.0
    n = 0
    gbest = 0.0
    gy_b = 0.0
    gx_b = 0.0
    for dy in range(-r, r + 1):
        yy = y + dy
        if yy < 1 or yy >= H - 1:
            continue
        for dx in range(-r, r + 1):
            xx = x + dx
            if xx < 1 or xx >= W - 1:
                continue
            n += 1
            if not unk[yy, xx]:
                csum += conf[yy, xx]
                # strongest gradient among known pixels with known neighbours (the isophote to continue)
                if not (unk[yy - 1, xx] or unk[yy + 1, xx] or unk[yy, xx - 1] or unk[yy, xx + 1]):
                    gy = 0.5 * (gray[yy + 1, xx] - gray[yy - 1, xx])
                    gx = 0.5 * (gray[yy, xx + 1] - gray[yy, xx - 1])
                    m = gy * gy + gx * gx
                    if m > gbest:
                        gbest = m
                        gy_b = gy
                        gx_b = gx
    c = csum / max(n, 1)
    # normal of the fill front from the unknown-indicator's gradient
    ny = 0.0
    nx = 0.0
    for dy in range(-1, 2):
        for dx in range(-1, 2):
            yy = y + dy
            xx = x + dx
            if 0 <= yy < H and 0 <= xx < W and unk[yy, xx]:
                ny += dy
                nx += dx
    nn = np.sqrt(ny * ny + nx * nx)
    d = 0.0
    if nn > 0:
        # isophote = gradient rotated by 90 degrees; data term |isophote . n| (Criminisi eq. 3)
        d = abs(-gx_b * ny / nn + gy_b * nx / nn)
    return c * (d + 0.02)


@njit(cache=True, nogil=True)
def _is_front(unk, y, x):
    H, W = unk.shape
    if not unk[y, x]:
        return False
    if y > 0 and not unk[y - 1, x]:
        return True
    if y < H - 1 and not unk[y + 1, x]:
        return True
    if x > 0 and not unk[y, x - 1]:
        return True
    if x < W - 1 and not unk[y, x + 1]:
        return True
    return False


@njit(cache=True, nogil=True)
def _criminisi(img, unk, gray, valid, vy, vx, off, guide, use_guide, lam, r, n_random, seed):
    """Fill ``img`` where ``unk`` in place; ``off`` (H, W, 2) holds source offsets (may carry hints)."""
    H, W, C = img.shape
    np.random.seed(seed)
    conf = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            if not unk[y, x]:
                conf[y, x] = 1.0
    version = np.zeros((H, W), np.int64)
    heap = [(0.0, 0, 0, 0)]
    heap.pop()
    for y in range(H):
        for x in range(W):
            if _is_front(unk, y, x):
                heapq.heappush(heap, (-_priority(gray, unk, conf, y, x, r), y, x, 0))
    nv = vy.shape[0]
    filled = 0
    while len(heap) > 0:
        negp, y, x, ver = heapq.heappop(heap)
        if not unk[y, x] or ver != version[y, x]:
            continue
        # --- candidate sources
        best = 1e300
        by = -1
        bx = -1
        # hints: offsets of filled neighbours (coherence) and the coarse level's offset here
        for dy in range(-r, r + 1):
            yy = y + dy
            if yy < 0 or yy >= H:
                continue
            for dx in range(-r, r + 1):
                xx = x + dx
                if xx < 0 or xx >= W:
                    continue
                oy = off[yy, xx, 0]
                ox = off[yy, xx, 1]
                if oy == -32768:
                    continue
                sy = y + oy
                sx = x + ox
                if 0 <= sy < H and 0 <= sx < W and valid[sy, sx]:
                    s = _ssd(img, unk, guide, use_guide, lam, y, x, sy, sx, r, best)
                    if s < best:
                        best = s
                        by = sy
                        bx = sx
        for _ in range(n_random):
            k = np.random.randint(nv)
            s = _ssd(img, unk, guide, use_guide, lam, y, x, vy[k], vx[k], r, best)
            if s < best:
                best = s
                by = vy[k]
                bx = vx[k]
        # random search around the best with a halving radius (PatchMatch)
        rad = max(H, W)
        while rad >= 1:
            for _ in range(2):
                sy = by + np.random.randint(-rad, rad + 1)
                sx = bx + np.random.randint(-rad, rad + 1)
                if 0 <= sy < H and 0 <= sx < W and valid[sy, sx]:
                    s = _ssd(img, unk, guide, use_guide, lam, y, x, sy, sx, r, best)
                    if s < best:
                        best = s
                        by = sy
                        bx = sx
            rad //= 2
        # --- copy the missing pixels of the patch
        c = 0.0
        n = 0
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                yy = y + dy
                xx = x + dx
                if 0 <= yy < H and 0 <= xx < W:
                    n += 1
                    if not unk[yy, xx]:
                        c += conf[yy, xx]
        c /= max(n, 1)
        for dy in range(-r, r + 1):
            yy = y + dy
            if yy < 0 or yy >= H:
                continue
            for dx in range(-r, r + 1):
                xx = x + dx
                if xx < 0 or xx >= W or not unk[yy, xx]:
                    continue
                for ch in range(C):
                    img[yy, xx, ch] = img[by + dy, bx + dx, ch]
                gray[yy, xx] = gray[by + dy, bx + dx]
                unk[yy, xx] = False
                conf[yy, xx] = c
                off[yy, xx, 0] = by - y
                off[yy, xx, 1] = bx - x
                filled += 1
        # --- refresh the priorities of the front around the patch
        for yy in range(max(0, y - 2 * r - 1), min(H, y + 2 * r + 2)):
            for xx in range(max(0, x - 2 * r - 1), min(W, x + 2 * r + 2)):
                if _is_front(unk, yy, xx):
                    version[yy, xx] += 1
                    heapq.heappush(heap, (-_priority(gray, unk, conf, yy, xx, r), yy, xx, version[yy, xx]))
    return filled


def _valid_sources(hole: np.ndarray, r: int) -> np.ndarray:
    """Centres whose whole patch lies inside the image and outside the hole."""
    import cv2

    H, W = hole.shape
    k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    bad = cv2.dilate(hole.astype(np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    valid = ~bad
    valid[:r] = False
    valid[H - r:] = False
    valid[:, :r] = False
    valid[:, W - r:] = False
    return valid


def exemplar_fill(image, hole, *, patch_size: int = 9, seed: int = 0, search: int = 40, scales=None,
                  guide_weight: float = 0.5, progress=None) -> np.ndarray:
    """Criminisi-order patch filling with PatchMatch search, coarse to fine for large holes.

    ``patch_size`` odd patch side in pixels; ``search`` random candidates per step; ``scales`` pyramid
    levels (None: enough that the widest part of the hole is a few patches wide at the coarsest).
    """
    import cv2

    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 3 \
            or patch_size % 2 == 0:
        raise ValueError(f"`patch_size` must be an odd integer >= 3; got {patch_size!r}.")
    if isinstance(search, bool) or not isinstance(search, (int, np.integer)) or search < 1:
        raise ValueError(f"`search` must be an integer >= 1; got {search!r}.")
    r = patch_size // 2
    H, W = hole.shape
    if scales is None:
        width = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3).max()
        scales = 1
        while width / 2 ** (scales - 1) > 2 * patch_size and min(H, W) / 2 ** scales >= 4 * patch_size:
            scales += 1
    elif isinstance(scales, bool) or not isinstance(scales, (int, np.integer)) or scales < 1:
        raise ValueError(f"`scales` must be an integer >= 1 or None; got {scales!r}.")
    # pyramid (level 0 = full size)
    imgs = [np.ascontiguousarray(image, dtype=np.float64)]
    holes = [hole]
    for _ in range(scales - 1):
        h, w = holes[-1].shape
        nh, nw = (h + 1) // 2, (w + 1) // 2
        imgs.append(cv2.resize(imgs[-1], (nw, nh), interpolation=cv2.INTER_AREA).reshape(nh, nw, -1))
        holes.append(cv2.resize(holes[-1].astype(np.uint8), (nw, nh), interpolation=cv2.INTER_AREA) > 0)
    off = None
    result = None
    for lev in range(scales - 1, -1, -1):
        img = imgs[lev].copy()
        hl = holes[lev]
        h, w = hl.shape
        # tiny image or huge hole: shrink the patch until whole source patches exist; as a last resort
        # accept sources whose patch overlaps the hole (never ones whose patch leaves the image)
        rl = min(r, (min(h, w) - 1) // 2)
        valid = _valid_sources(hl, rl) if rl >= 1 else np.zeros_like(hl)
        while not valid.any() and rl > 1:
            rl -= 1
            valid = _valid_sources(hl, rl)
        if not valid.any():
            rl = max(rl, 0)
            valid = ~hl.copy()
            valid[:rl] = valid[h - rl:] = False
            valid[:, :rl] = valid[:, w - rl:] = False
            if not valid.any():
                raise ValueError(f"the image ({h}x{w} at this scale) is too small for patch-based filling.")
        vy, vx = np.nonzero(valid)
        if result is None:
            guide = np.zeros_like(img)
            use_guide = False
            offs = np.full((h, w, 2), -32768, np.int64)
        else:
            guide = cv2.resize(result, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
            use_guide = True
            up = np.repeat(np.repeat(off, 2, 0), 2, 1)[:h, :w]
            offs = np.where(up == -32768, -32768, up * 2)
            offs[~hl] = -32768
        img[hl] = 0.0 if not use_guide else guide[hl]
        gray = img.mean(axis=2)
        unk = hl.copy()
        filled = _criminisi(img, unk, gray, valid, vy.astype(np.int64), vx.astype(np.int64), offs, guide,
                            use_guide, float(guide_weight), rl, int(search), int(seed) + lev)
        if progress is not None and lev == 0:
            progress(int(filled))
        result = img
        off = offs
    return result
