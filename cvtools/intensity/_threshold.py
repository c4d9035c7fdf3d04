"""Thresholding: fixed, Otsu, triangle, adaptive mean / Gaussian. Each returns the mask and the threshold."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import check_choice, check_image
from ._color import to_gray

METHODS = ("fixed", "otsu", "triangle", "adaptive-mean", "adaptive-gaussian")
_REPLICATE = cv2.BORDER_REPLICATE | cv2.BORDER_ISOLATED


def _hist256(gray: np.ndarray):
    """256-bin histogram over the data range and the bin centres (scikit-image's convention)."""
    lo, hi = float(np.nanmin(gray)), float(np.nanmax(gray))
    if gray.dtype == np.uint8:
        counts = np.bincount(gray.ravel(), minlength=256)
        return counts, np.arange(256, dtype=np.float64)
    if hi == lo:
        return None, None
    counts, edges = np.histogram(gray, bins=256, range=(lo, hi))
    return counts, (edges[:-1] + edges[1:]) / 2


def _otsu(counts, centers) -> float:
    # Otsu 1979: maximise the between-class variance w1 w2 (m1 - m2)^2 over the split point
    counts = counts.astype(np.float64)
    w1 = np.cumsum(counts)
    w2 = np.cumsum(counts[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = np.cumsum(counts * centers) / w1
        m2 = (np.cumsum((counts * centers)[::-1]) / w2[::-1])[::-1]
        between = w1[:-1] * w2[1:] * (m1[:-1] - m2[1:]) ** 2
    return float(centers[int(np.nanargmax(between))])


def _triangle(counts, centers) -> float:
    # Zack et al. 1977: the level farthest from the line joining the peak and the far end of the histogram
    nz = np.flatnonzero(counts)
    first, last = nz[0], nz[-1]
    peak = int(np.argmax(counts))
    n = len(counts)
    flip = peak - first < last - peak  # the longer tail is on the right: mirror so it is on the left
    if flip:
        counts = counts[::-1]
        first, peak = n - 1 - last, n - 1 - peak
    width = peak - first
    if width == 0:
        level = peak
    else:
        x = np.arange(width)
        # proportional to the distance of (x, h(x)) below the line from (0, 0) to (width, peak height)
        dist = float(counts[peak]) * x - width * counts[first + x].astype(np.float64)
        level = first + int(np.argmax(dist))
    if flip:
        level = n - 1 - level
    return float(centers[level])


def _number(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number; got {value!r} ({type(value).__name__}).")
    return float(value)


def threshold(image: np.ndarray, method: str = "otsu", *, value: float | None = None, block_size: int = 11,
              offset: float = 0.0) -> tuple[np.ndarray, float | np.ndarray]:
    """Binarise an image: ``mask = image > threshold``.

    * ``"fixed"``: the threshold is ``value`` (required), in the image's units.
    * ``"otsu"``: the level maximising the between-class variance (Otsu 1979).
    * ``"triangle"``: the level farthest from the line joining the histogram peak to its far end
      (Zack 1977), good for one dominant background peak.
    * ``"adaptive-mean"`` / ``"adaptive-gaussian"``: a threshold per pixel, the mean (box or Gaussian
      weighted, OpenCV's sigma for ``block_size``) of its ``block_size`` x ``block_size``
      neighbourhood minus ``offset``; edges are replicated. For uint8 the local mean is rounded to an
      integer first, exactly as ``cv2.adaptiveThreshold``.

    Otsu and triangle use OpenCV for uint8 (and Otsu for uint16) and otherwise a 256-bin histogram
    over the data range, returning a bin centre, as scikit-image. Colour images are converted to gray
    (:func:`to_gray`) first.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    method : {"fixed", "otsu", "triangle", "adaptive-mean", "adaptive-gaussian"}
        How the threshold is chosen.
    value : float, optional
        The threshold for ``"fixed"``.
    block_size : int
        Odd neighbourhood size >= 3 for the adaptive methods, at most ``2 max(H, W) + 1``.
    offset : float
        Subtracted from the local mean by the adaptive methods (image units).

    Returns
    -------
    mask : (H, W) ndarray of bool
        True where the image is above the threshold.
    threshold_used : float or (H, W) float32 ndarray
        The global threshold, or the per-pixel threshold surface for the adaptive methods.

    Examples
    --------
    >>> img = np.array([[10, 12, 200, 210]], np.uint8)
    >>> mask, t = threshold(img, "otsu")
    >>> mask.tolist(), t
    ([[False, False, True, True]], 12.0)
    >>> threshold(img, "fixed", value=100)[0].tolist()
    [[False, False, True, True]]
    """
    check_choice(method, METHODS, name="method")
    image = check_image(image)
    gray = np.ascontiguousarray(to_gray(image) if image.ndim == 3 else image)
    if method == "fixed":
        if value is None:
            raise ValueError("method='fixed' needs `value`, the threshold in image units; got None.")
        t = _number(value, "value")
        return _above(gray, t), t
    if method in ("otsu", "triangle"):
        if value is not None:
            raise ValueError(f"`value` applies only to method='fixed'; got value={value!r} with {method!r}.")
        if gray.dtype == np.uint8 or (gray.dtype == np.uint16 and method == "otsu"):
            flag = cv2.THRESH_OTSU if method == "otsu" else cv2.THRESH_TRIANGLE
            t, mask = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY | flag)
            return _as_bool(mask), float(t)
        counts, centers = _hist256(gray)
        if counts is None:  # constant image: nothing is above it
            t = float(gray.flat[0])
        else:
            t = _otsu(counts, centers) if method == "otsu" else _triangle(counts, centers)
        return _above(gray, t), t
    # adaptive
    if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral) \
            or block_size < 3 or block_size % 2 == 0:
        raise ValueError(f"`block_size` must be an odd integer >= 3; got {block_size!r}.")
    side = max(gray.shape)
    if block_size > 2 * side + 1:  # beyond, the block only adds copies of the edge pixels (and time)
        raise ValueError(f"`block_size` {block_size} is too large for a {gray.shape[0]}x{gray.shape[1]} image: at "
                         f"most {2 * side + 1} (twice its longer side plus one).")
    off = _number(offset, "offset")
    ksize = (int(block_size), int(block_size))
    src = gray if gray.dtype != np.uint16 else gray.astype(np.float32)
    if method == "adaptive-mean":
        local = cv2.boxFilter(src, -1, ksize, normalize=True, borderType=_REPLICATE)
    else:
        local = cv2.GaussianBlur(src, ksize, 0, borderType=_REPLICATE)
    if gray.dtype == np.uint8:
        # OpenCV's rule: src - round(mean) > -ceil(offset)
        cv_method = cv2.ADAPTIVE_THRESH_MEAN_C if method == "adaptive-mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
        mask = _as_bool(cv2.adaptiveThreshold(gray, 1, cv_method, cv2.THRESH_BINARY, block_size, off))
        surface = local.astype(np.float32)
        surface -= np.float32(off)
        return mask, surface
    surface = local.astype(np.float32) if local.dtype != np.float32 else local
    surface = surface - np.float32(off)
    if gray.dtype == np.float64:
        return gray > local - off, surface
    return gray > surface, surface


def _as_bool(mask01: np.ndarray) -> np.ndarray:
    """A 0/1 uint8 array seen as bool without a copy."""
    return mask01.view(np.bool_) if mask01.dtype == np.uint8 else mask01.astype(bool)


def _above(gray: np.ndarray, t: float) -> np.ndarray:
    if gray.dtype == np.uint8:
        return _as_bool(cv2.threshold(gray, t, 1, cv2.THRESH_BINARY)[1])
    return gray > t
