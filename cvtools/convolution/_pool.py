"""Pooling: the maximum, minimum or mean of each (strided) window."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import check_choice, restore_dtype
from ._correlate import _CV_DEPTH, _EXPONENT, _check_input, _finite, _numba, _raise_non_finite, _refuse_non_finite
from ._params import _int_pair, _out_size

POOL_MODES = ("max", "avg", "min")


def _pool_pads(padding, kh, kw):
    if type(padding) is int and 0 <= padding < min(kh, kw):  # the common case, without abstract-class checks
        return (padding,) * 4
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        pads = (padding,) * 4
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        pads = (padding[0], padding[0], padding[1], padding[1])
    elif isinstance(padding, (tuple, list)) and len(padding) == 4:
        pads = tuple(padding)
    else:
        raise TypeError(f"`padding` must be an int, (vertical, horizontal) or (top, bottom, left, right); "
                        f"got {padding!r}.")
    if not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0 for p in pads):
        raise ValueError(f"`padding` values must be ints >= 0; got {padding!r}.")
    t, b, l, r = (int(p) for p in pads)
    if max(t, b) >= kh or max(l, r) >= kw:
        raise ValueError(f"`padding` must be smaller than the window `size` ({kh}, {kw}) on every side, so "
                         f"each window holds at least one pixel; got {padding!r}.")
    return t, b, l, r


def _pool_mean_float(image, kh, kw, ho, wo):
    """Mean pooling of a float32/float64 image over non-overlapping windows (numba), refusing
    NaN/infinity from the result rows as they are written, and from the pixels past the last whole
    window (which no mean reads) on their own."""
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    flat = np.ascontiguousarray(image).reshape(h, w * channels)
    utype, exponent = _EXPONENT[image.dtype]
    out = np.empty((ho, wo * channels), image.dtype)
    finite = _numba("pool_mean_blocks")(flat, kh, kw, ho, wo, channels, out, out.view(utype), utype(exponent))
    # a non-finite mean: NaN/inf in the image, or finite values whose sum overflowed (accepted)
    if not finite or ((ho * kh < h or wo * kw < w)
                      and not (_finite(np.ascontiguousarray(flat[ho * kh:]))
                               and _finite(np.ascontiguousarray(flat[:ho * kh, wo * kw * channels:])))):
        _refuse_non_finite(image, image)
    return out


def _extreme(dtype, mode):
    if dtype.kind == "f":
        return -np.inf if mode == "max" else np.inf
    info = np.iinfo(dtype)
    return info.min if mode == "max" else info.max


def _pool_float(image, kh, kw, sy, sx, t, l, ho, wo, is_max):
    """Max/min pooling of a float32/float64 image computing only the kept windows (numba), and
    refusing NaN/infinity as it reads each row (a max can drop a NaN: the result cannot tell)."""
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    flat = np.ascontiguousarray(image).reshape(h, w * channels)
    utype, exponent = _EXPONENT[image.dtype]
    seen = np.zeros(h, np.bool_)
    status = np.zeros(1, np.int64)
    out = np.empty((ho, wo * channels), image.dtype)
    _numba("pool_extreme")(flat, kh, kw, sy, sx, t, l, ho, wo, channels, is_max, out, flat.view(utype), utype(exponent),
                 seen, status)
    unread = np.flatnonzero(~seen)  # rows between windows (stride > size)
    if status[0] or (unread.size and not _finite(np.ascontiguousarray(flat[unread]))):
        _raise_non_finite(image)
    return out


def pool2d(image: np.ndarray, size: int | tuple[int, int], *, stride: int | tuple[int, int] | None = None, mode: str = "max",
           padding: int | tuple[int, int] = 0) -> np.ndarray:
    """Pool each ``size`` window: its maximum, mean or minimum, every ``stride`` pixels.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image; any integer or float dtype. Channels are pooled independently.
    size : int or (int, int)
        Window (height, width).
    stride : int or (int, int), optional
        Step between windows; default ``size`` (non-overlapping windows).
    mode : {'max', 'avg', 'min'}
        Reduction over each window.
    padding : int, (int, int) or (int, int, int, int)
        Pixels added around the image (all sides, (vertical, horizontal), or (top, bottom, left,
        right)); each must be smaller than the window and at most the image side along its axis.
        Padded cells never win a max/min and are not counted in an average (PyTorch's
        ``count_include_pad=False``).

    Returns
    -------
    ndarray
        ``((H + pt + pb - kh) // sy + 1, (W + pl + pr - kw) // sx + 1[, C])``, the input dtype
        (averages of integers are rounded).

    Examples
    --------
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> pool2d(img, 2)
    array([[ 5,  7],
           [13, 15]], dtype=uint8)
    >>> pool2d(img.astype(np.float32), 2, mode="avg")
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    >>> pool2d(img, 3, stride=1, mode="min", padding=1).shape
    (4, 4)
    """
    image = _check_input(image, finite=False)  # checked below: on the smaller result where that is safe
    kh, kw = _int_pair(size, name="size")
    sy, sx = _int_pair((kh, kw) if stride is None else stride, name="stride")
    check_choice(mode, POOL_MODES, name="mode")
    t, b, l, r = _pool_pads(padding, kh, kw)
    h, w = image.shape[:2]
    if max(t, b) > h or max(l, r) > w:
        raise ValueError(f"`padding` {padding!r} is more than a {h}x{w} image needs: at most {h} rows (top, "
                         f"bottom) and {w} columns (left, right).")
    ho, wo = _out_size(h, kh, t, b, sy, 1), _out_size(w, kw, l, r, sx, 1)
    if ho < 1 or wo < 1:
        raise ValueError(f"the window {kh}x{kw} does not fit in the {h}x{w} image with padding "
                         f"{(t, b, l, r)}; use a smaller `size` or more `padding`.")
    out_shape = (ho, wo) + image.shape[2:]
    cv_ok = image.dtype in _CV_DEPTH and (image.ndim == 2 or image.shape[2] <= 4)
    ys, xs = slice(0, sy * (ho - 1) + 1, sy), slice(0, sx * (wo - 1) + 1, sx)

    if mode in ("max", "min"):
        if image.dtype in _EXPONENT:
            return _pool_float(image, kh, kw, sy, sx, t, l, ho, wo, mode == "max").reshape(out_shape)
        _refuse_non_finite(image, image)  # float16: a max can drop a NaN, check the input
        src = image
        if t or b or l or r:
            fill = _extreme(image.dtype, mode)
            src = np.pad(image, ((t, b), (l, r)) + ((0, 0),) * (image.ndim - 2), constant_values=fill)
        if (sy, sx) == (kh, kw) and not cv_ok:
            # non-overlapping windows: a reshape exposes each window as two axes
            blocks = src[:ho * kh, :wo * kw].reshape((ho, kh, wo, kw) + src.shape[2:])
            red = blocks.max(axis=(1, 3)) if mode == "max" else blocks.min(axis=(1, 3))
            return np.ascontiguousarray(red).reshape(out_shape)
        if cv_ok:
            op = cv2.dilate if mode == "max" else cv2.erode
            # OpenCV's running max/min (van Herk / Gil-Werman) over the full grid, then the kept
            # outputs: faster than any strided evaluation we tried
            res = op(src[:sy * (ho - 1) + kh, :sx * (wo - 1) + kw], np.ones((kh, kw), np.uint8),
                     anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
            return np.ascontiguousarray(res[ys, xs]).reshape(out_shape)
        win = np.lib.stride_tricks.sliding_window_view(src, (kh, kw), axis=(0, 1))[ys, xs]
        red = win.max(axis=(-2, -1)) if mode == "max" else win.min(axis=(-2, -1))
        return np.ascontiguousarray(red).reshape(out_shape)

    # average
    work = np.float64 if image.dtype.itemsize > 4 or image.dtype.kind in "iu" and image.dtype.itemsize >= 4 \
        else np.float32
    if not (t or b or l or r) and (sy, sx) == (kh, kw) and image.dtype in _EXPONENT:
        return _pool_mean_float(image, kh, kw, ho, wo).reshape(out_shape)
    if not (t or b or l or r) and (sy, sx) == (kh, kw) and cv_ok:
        # OpenCV's area resize is exactly the block mean for integer factors
        res = cv2.resize(image[:ho * kh, :wo * kw], (wo, ho), interpolation=cv2.INTER_AREA)
        # each pooled pixel has a positive weight in one mean: NaN/inf in the input show in the result,
        # but only pixels past the last whole window are not pooled
        _refuse_non_finite(res, image[:ho * kh, :wo * kw])
        if ho * kh < h or wo * kw < w:
            _refuse_non_finite(image, image)
        return res.reshape(out_shape)
    _refuse_non_finite(image, image)
    src = image.astype(work)
    if t or b or l or r:
        src = np.pad(src, ((t, b), (l, r)) + ((0, 0),) * (image.ndim - 2))
        mask = np.pad(np.ones((h, w), work), ((t, b), (l, r)))
    else:
        mask = None
    crop = (slice(0, sy * (ho - 1) + kh), slice(0, sx * (wo - 1) + kw))
    if src.ndim == 3 and src.shape[2] > 4:
        win = np.lib.stride_tricks.sliding_window_view(src[crop], (kh, kw), axis=(0, 1))[ys, xs]
        sums = win.sum(axis=(-2, -1))
    else:
        sums = cv2.boxFilter(src[crop], -1, (kw, kh), anchor=(0, 0), normalize=False,
                             borderType=cv2.BORDER_CONSTANT)[ys, xs]
    if mask is None:
        avg = sums / (kh * kw)
    else:
        counts = cv2.boxFilter(mask[crop], -1, (kw, kh), anchor=(0, 0), normalize=False,
                               borderType=cv2.BORDER_CONSTANT)[ys, xs]
        avg = sums / (counts[..., None] if sums.ndim == 3 else counts)
    return restore_dtype(np.ascontiguousarray(avg), image.dtype).reshape(out_shape)
