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
