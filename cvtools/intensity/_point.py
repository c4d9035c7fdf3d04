"""Point (pixel-wise) intensity transforms: negative, log, gamma, contrast stretching, normalisation,
bit planes.

Integer images go through a look-up table (``cv2.LUT`` for uint8, numpy indexing for uint16), which
is exact and as fast as OpenCV gets; float images use the closed-form expression.
"""
from __future__ import annotations

import cv2
import numpy as np

from .._shared import check_choice, check_image, dtype_max

_INT_LUT_SIZE = {np.dtype(np.uint8): 256, np.dtype(np.uint16): 65536}


def _apply_curve(image: np.ndarray, curve) -> np.ndarray:
    """Apply ``curve(x)`` (x in [0, 1] -> [0, 1], float64 in and out) to an image, keeping its dtype.

    Integers use an exact rounded look-up table; floats evaluate ``curve`` directly.
    """
    dtype = image.dtype
    if dtype in _INT_LUT_SIZE:
        top = dtype_max(dtype)
        levels = np.arange(_INT_LUT_SIZE[dtype], dtype=np.float64) / top
        lut = np.clip(np.rint(curve(levels) * top), 0, top).astype(dtype)
        if dtype == np.uint8:
            out = cv2.LUT(np.ascontiguousarray(image), lut)
            return out.reshape(image.shape)
        return lut[image]
    return curve(image).astype(dtype, copy=False)


def invert(image: np.ndarray) -> np.ndarray:
    """The negative of an image: ``max - image`` (255 - x for uint8, 65535 - x for uint16, 1 - x for floats).

    Every channel is inverted, alpha included (use ``image[..., :3]`` to keep alpha out).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> invert(np.array([[0, 100, 255]], np.uint8))
    array([[255, 155,   0]], dtype=uint8)
    """
    image = check_image(image)
    if image.dtype.kind == "u":
        # bitwise NOT of an unsigned integer is exactly max - x, and OpenCV vectorises it
        return cv2.bitwise_not(np.ascontiguousarray(image)).reshape(image.shape)
    return np.subtract(image.dtype.type(1.0), image)


def log_transform(image: np.ndarray) -> np.ndarray:
    """Logarithmic transform ``s = c * log(1 + r)`` that brightens dark regions.

    The constant ``c`` maps the full range onto itself: ``c = max / log(1 + max)`` with ``max`` = 255
    (uint8), 65535 (uint16), 1.0 (floats). Float values below 0 give NaN below -1, so pass images in
    [0, 1].

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.

    Returns
    -------
    ndarray
        Same shape and dtype; integers are rounded.

    Examples
    --------
    >>> log_transform(np.array([[0, 15, 255]], np.uint8))
    array([[  0, 128, 255]], dtype=uint8)
    """
    image = check_image(image)
    if image.dtype.kind == "f":
        return np.log1p(image) * image.dtype.type(1.0 / np.log(2.0))
    top = float(dtype_max(image.dtype))
    # evaluated on the dtype's own scale: uint8 uses log(1 + 0..255) / log(256)
    return _apply_curve(image, lambda x: np.log1p(x * top) / np.log1p(top))


def gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    """Power-law (gamma) transform ``s = max * (r / max) ** gamma``.

    ``gamma < 1`` brightens, ``gamma > 1`` darkens. Negative float values are treated as 0.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    gamma : float
        The exponent; must be > 0.

    Returns
    -------
    ndarray
        Same shape and dtype; integers are rounded.

    Examples
    --------
    >>> gamma(np.array([[0, 64, 255]], np.uint8), 0.5)
    array([[  0, 128, 255]], dtype=uint8)
    """
    image = check_image(image)
    g = _check_gamma(gamma)
    if image.dtype.kind == "f":
        return np.power(np.maximum(image, 0), image.dtype.type(g))
    return _apply_curve(image, lambda x: np.power(x, g))


def _check_gamma(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`gamma` must be a positive number; got {value!r} ({type(value).__name__}).")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"`gamma` must be a finite number > 0; got {value}.")
    return float(value)


def _out_range(dtype, out_range):
    if out_range is None:
        return 0.0, float(dtype_max(dtype))
    try:
        lo, hi = (float(v) for v in out_range)
    except (TypeError, ValueError):
        raise TypeError(f"`out_range` must be a pair (low, high); got {out_range!r}.") from None
    if not hi > lo:
        raise ValueError(f"`out_range` must have high > low; got {out_range!r}.")
    return lo, hi


def _linear_map(image, in_lo, in_hi, out_lo, out_hi, per_channel_axis=None):
    """Map [in_lo, in_hi] linearly to [out_lo, out_hi], clip, keep dtype (in_* may be per channel)."""
    dtype = image.dtype
    in_lo = np.asarray(in_lo, np.float64)
    in_hi = np.asarray(in_hi, np.float64)
    span = np.where(in_hi > in_lo, in_hi - in_lo, 1.0)
    scale = (out_hi - out_lo) / span
    shift = out_lo - in_lo * scale
    if dtype == np.uint8 and scale.ndim == 0:
        # one exact rounded LUT for the whole image: fastest path
        lut = np.clip(np.rint(np.arange(256) * scale + shift), out_lo, out_hi)
        lut = np.clip(lut, 0, 255).astype(np.uint8)
        return cv2.LUT(np.ascontiguousarray(image), lut).reshape(image.shape)
    work = np.float32 if dtype in (np.uint8, np.uint16, np.float32) else np.float64
    out = image.astype(work) * scale.astype(work) + shift.astype(work)
    np.clip(out, out_lo, out_hi, out=out)
    if dtype.kind == "u":
        info = np.iinfo(dtype)
        np.rint(out, out=out)
        np.clip(out, info.min, info.max, out=out)
    return out.astype(dtype, copy=False)


def _percentiles(image: np.ndarray, qs) -> np.ndarray:
    """``numpy.percentile`` (linear method), from a histogram for integer images (no sort)."""
    if image.dtype.kind != "u":
        return np.percentile(image, qs)
    counts = np.bincount(image.ravel(), minlength=_INT_LUT_SIZE[image.dtype])
    cdf = np.cumsum(counts)
    pos = np.asarray(qs, np.float64) / 100.0 * (image.size - 1)
    below = np.floor(pos)
    # the k-th smallest value (0-based) is the first level whose cumulative count exceeds k
    v0 = np.searchsorted(cdf, below, side="right")
    v1 = np.searchsorted(cdf, np.minimum(below + 1, image.size - 1), side="right")
    return v0 + (pos - below) * (v1 - v0)


def contrast_stretch(image: np.ndarray, *, low: float = 2, high: float = 98, per_channel: bool = False) -> np.ndarray:
    """Stretch contrast so that the ``low``-th and ``high``-th percentiles span the full range.

    Values below/above the percentiles saturate at 0 / max. By default the percentiles are taken over
    all channels together (colours keep their balance); ``per_channel=True`` stretches each channel
    on its own.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    low, high : float
        Percentiles in [0, 100] with ``low < high``.
    per_channel : bool
        Compute the percentiles for each channel separately.

    Returns
    -------
    ndarray
        Same shape and dtype, spanning [0, max] (max = 255, 65535 or 1.0).

    Examples
    --------
    >>> contrast_stretch(np.array([[50, 75, 150]], np.uint8), low=0, high=100)
    array([[  0,  64, 255]], dtype=uint8)
    """
    image = check_image(image)
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not 0 <= v <= 100:
            raise ValueError(f"`{name}` must be a percentile in [0, 100]; got {v!r}.")
    if not low < high:
        raise ValueError(f"`low` must be < `high`; got low={low}, high={high}.")
    if per_channel and image.ndim == 3:
        lo, hi = np.stack([_percentiles(image[..., c], (low, high)) for c in range(image.shape[2])], axis=1)
    else:
        lo, hi = _percentiles(image, (low, high))
    return _linear_map(image, lo, hi, 0.0, float(dtype_max(image.dtype)))


def normalize(image: np.ndarray, method: str = "minmax", *, out_range: tuple[float, float] | None = None,
              per_channel: bool = False, eps: float = 1e-12) -> np.ndarray:
    """Min-max or z-score normalisation.

    * ``"minmax"``: ``(x - min) / (max - min)`` mapped to ``out_range`` (default: the dtype's full
      range, 0-255 / 0-65535 / 0-1). The result is still an image, so it keeps the input dtype
      (integers are rounded). A constant image maps to ``out_range[0]``.
    * ``"zscore"``: ``(x - mean) / std``, zero mean and unit variance. The result is not an image
      (it has negative values), so it is float32 (float64 stays float64). A constant image gives 0.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    method : {"minmax", "zscore"}
        The normalisation.
    out_range : (low, high), optional
        Only for ``"minmax"``: the target range, in the image's own units.
    per_channel : bool
        Normalise each channel with its own statistics (default: one set over all channels).
    eps : float
        Guard against dividing by a zero spread.

    Returns
    -------
    ndarray
        ``"minmax"``: same dtype as ``image``; ``"zscore"``: float32 (float64 for float64 input).

    Examples
    --------
    >>> normalize(np.array([[10, 20, 30]], np.uint8))
    array([[  0, 128, 255]], dtype=uint8)
    >>> normalize(np.array([[1.0, 2.0, 3.0]]), "zscore").round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    image = check_image(image)
    check_choice(method, ("minmax", "zscore"), name="method")
    axis = (0, 1) if per_channel and image.ndim == 3 else None
    if method == "minmax":
        lo_out, hi_out = _out_range(image.dtype, out_range)
        if axis is None:
            # cv2.normalize: (x - min) * (hi - lo) / (max - min) + lo, rounded and saturated; a
            # constant image gives lo
            src = np.ascontiguousarray(image)
            out = cv2.normalize(src, None, lo_out, hi_out, cv2.NORM_MINMAX)
            return out.reshape(image.shape)
        lo, hi = image.min(axis=axis), image.max(axis=axis)
        lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        constant = (hi - lo) <= eps
        hi = np.where(constant, lo + 1.0, hi)
        return _linear_map(image, lo, hi, lo_out, hi_out)
    if out_range is not None:
        raise ValueError("`out_range` applies only to method='minmax'; z-scores have no fixed range.")
    work = np.float64 if image.dtype == np.float64 else np.float32
    x = image.astype(work)
    if axis is None and work == np.float32:
        mean, std = cv2.meanStdDev(x.reshape(x.shape[0], -1))
        mean, std = float(mean[0, 0]), float(std[0, 0])
    else:
        mean = x.mean(axis=axis, dtype=np.float64)
        std = x.std(axis=axis, dtype=np.float64)
    std = np.where(std > eps, std, 1.0)
    x -= np.asarray(mean, work)
    x *= np.asarray(1.0 / std, work)
    return x


def bit_plane(image: np.ndarray, bit: int) -> np.ndarray:
    """Bit plane ``bit`` of an integer image: ``(image >> bit) & 1`` as a boolean mask.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8 (bits 0-7) or uint16 (bits 0-15). Float images have no bit planes: convert with
        :func:`cvtools.to_uint8` first.
    bit : int
        0 is the least significant bit.

    Returns
    -------
    ndarray of bool
        Same shape as ``image``.

    Examples
    --------
    >>> bit_plane(np.array([[1, 2, 3, 128]], np.uint8), 0)
    array([[ True, False,  True, False]])
    """
    image = check_image(image, dtypes=(np.uint8, np.uint16))
    nbits = image.dtype.itemsize * 8
    if isinstance(bit, bool) or not isinstance(bit, (int, np.integer)):
        raise TypeError(f"`bit` must be an integer in [0, {nbits - 1}]; got {bit!r}.")
    if not 0 <= bit < nbits:
        raise ValueError(f"`bit` must be in [0, {nbits - 1}] for {image.dtype}; got {bit}.")
    return ((image >> image.dtype.type(bit)) & image.dtype.type(1)).astype(bool)
