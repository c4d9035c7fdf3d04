"""Argument checks and the OpenCV calling convention shared by the filtering modules."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import check_image, cv2_border

BORDER_NAMES = "'constant', 'edge', 'reflect', 'symmetric', 'wrap'"


def prep(image, **kw) -> np.ndarray:
    """Validate and return a C-contiguous image (a copy only when the input is a strided view)."""
    image = check_image(image, **kw)
    return image if image.flags.c_contiguous else np.ascontiguousarray(image)


def same_shape(out: np.ndarray, image: np.ndarray) -> np.ndarray:
    """OpenCV drops a trailing axis of length 1; put it back."""
    return out if out.shape == image.shape else out.reshape(image.shape)


def positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0; got {value!r}.")
    return float(value)


def nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0; got {value!r}.")
    return float(value)


def odd_size(size, name: str = "size", minimum: int = 1) -> tuple[int, int]:
    """``size`` as (rows, cols) of odd integers >= minimum; an int means a square."""
    pair = (size, size) if isinstance(size, numbers.Integral) and not isinstance(size, bool) else size
    try:
        pair = tuple(pair)
    except TypeError:
        raise TypeError(f"`{name}` must be an odd int or a pair of odd ints; got {size!r}.") from None
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in pair):
        raise TypeError(f"`{name}` must be an odd int or a pair of odd ints; got {size!r}.")
    if any(v < minimum or v % 2 == 0 for v in pair):
        raise ValueError(f"`{name}` must be odd and >= {minimum}; got {size!r}.")
    return int(pair[0]), int(pair[1])


def with_border(fn, image: np.ndarray, border: str, radius: tuple[int, int]) -> np.ndarray:
    """Run ``fn(image, cv2_flag)``; for 'wrap' (which OpenCV's filters lack) pad periodically first.

    OpenCV's filters reject BORDER_WRAP, so the image is padded with ``numpy.pad(mode="wrap")`` by the
    kernel radius, filtered (the padded ring makes any border flag exact) and cropped back.
    """
    flag = cv2_border(border)
    if border != "wrap":
        return fn(image, flag)
    ry, rx = radius
    pad = ((ry, ry), (rx, rx)) + ((0, 0),) * (image.ndim - 2)
    out = fn(np.pad(image, pad, mode="wrap"), cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(out[ry:ry + image.shape[0], rx:rx + image.shape[1]])


# ----------------------------------------------------------------------- kernels larger than the image
#: Largest 1-D kernel radius (pixels) :func:`gaussian` and :func:`box` build; what reaches past the
#: image is folded onto it first, so filtering costs no more than a kernel the size of the image.
MAX_KERNEL_RADIUS = 2 ** 24
_CHUNK = 1 << 20
_PERIOD = {"reflect": lambda n: 2 * n - 2, "symmetric": lambda n: 2 * n, "wrap": lambda n: n}


def fold_kernel(weight, radius: int, n: int, border: str) -> np.ndarray:
    """A symmetric 1-D kernel, radius at most ``n``, that filters an axis of ``n`` pixels exactly as
    the kernel ``weight(|j|)`` for ``|j| <= radius`` (normalised to sum 1) does under ``border``.

    The border makes the extended line periodic for "reflect" (period 2n - 2), "symmetric" (2n)
    and "wrap" (n), so the weights of taps one period apart can be added together; for "edge" and
    "constant" every tap beyond ``n`` lands on the edge value (or 0) whichever pixel is filtered, so
    the tails are added onto the taps at +-n. Either way the result is the same (to rounding) as
    with the unfolded kernel, at a cost bounded by the image. ``weight`` gets arrays of
    non-negative offsets, at most 2**20 at a time.
    """
    total = 0.0
    if border in _PERIOD:
        period = _PERIOD[border](n)
        if period <= 0:  # a 1-pixel axis under "reflect": every tap reads that pixel
            return np.ones(1)
        acc = np.zeros(period)
        for a in range(0, radius + 1, _CHUNK):
            j = np.arange(a, min(radius, a + _CHUNK - 1) + 1)
            w = np.asarray(weight(j), np.float64)
            acc += np.bincount(j % period, w, minlength=period)
            pos = j > 0
            acc += np.bincount(-j[pos] % period, w[pos], minlength=period)
            total += w.sum() + w[pos].sum()
        r = period // 2
        k = acc[np.arange(-r, r + 1) % period]
        if period % 2 == 0:  # offsets -r and +r are the same tap of the period: half each
            k[0] /= 2
            k[-1] /= 2
        return k / total
    r = min(radius, n)
    k = np.asarray(weight(np.abs(np.arange(-r, r + 1))), np.float64).copy()
    tail = 0.0
    for a in range(r + 1, radius + 1, _CHUNK):
        tail += float(np.asarray(weight(np.arange(a, min(radius, a + _CHUNK - 1) + 1)), np.float64).sum())
    k[0] += tail
    k[-1] += tail
    return k / k.sum()


def check_radius(radius: int, what: str) -> int:
    if radius > MAX_KERNEL_RADIUS:
        raise ValueError(f"{what} is a kernel radius of {radius:,} pixels; at most {MAX_KERNEL_RADIUS:,} "
                         "are supported.")
    return radius


def separable(image: np.ndarray, ky: np.ndarray, kx: np.ndarray, border: str) -> np.ndarray:
    """Correlate with ``ky`` down the rows and ``kx`` along the columns (odd, centred kernels)."""
    return with_border(lambda im, b: cv2.sepFilter2D(im, -1, kx, ky, borderType=b), image, border,
                       (len(ky) // 2, len(kx) // 2))


def window_limit(size, image: np.ndarray, name: str, what: str = "window") -> None:
    """A ``size`` (rows, cols) may reach at most one image side past each edge: 2H+1 x 2W+1."""
    h, w = image.shape[:2]
    if size[0] > 2 * h + 1 or size[1] > 2 * w + 1:
        raise ValueError(f"`{name}` {size[0] if size[0] == size[1] else tuple(size)} is too large for a {h}x{w} "
                         f"image: a {what} may be at most {2 * h + 1} rows and {2 * w + 1} columns "
                         "(twice the image plus one).")
