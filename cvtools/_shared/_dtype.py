"""Explicit dtype conversions. cvtools never rescales silently; these are the explicit ways to do it."""
from __future__ import annotations

import numpy as np


def dtype_max(dtype) -> float:
    """The value of full intensity for ``dtype``: 255, 65535, or 1.0 for floats.

    >>> dtype_max(np.uint8), dtype_max(np.uint16), dtype_max(np.float32)
    (255, 65535, 1.0)
    """
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255
    if dtype == np.uint16:
        return 65535
    if dtype.kind == "f":
        return 1.0
    if dtype == np.bool_:
        return 1
    raise TypeError(f"no intensity range is defined for dtype {dtype}; valid: uint8, uint16, float32, float64.")


def to_float32(image) -> np.ndarray:
    """Convert an image to float32 in [0, 1].

    uint8 is divided by 255, uint16 by 65535; float input is cast to float32 unchanged (not clipped,
    not rescaled); bool becomes 0.0/1.0.

    >>> to_float32(np.array([[0, 128, 255]], np.uint8)).round(3)
    array([[0.   , 0.502, 1.   ]], dtype=float32)
    """
    image = np.asarray(image)
    if image.dtype == np.bool_:
        return image.astype(np.float32)
    if image.dtype.kind == "f":
        return image.astype(np.float32, copy=False)
    if image.dtype in (np.uint8, np.uint16):
        return image.astype(np.float32) * np.float32(1.0 / dtype_max(image.dtype))
    raise TypeError(f"`image` has dtype {image.dtype}; valid: uint8, uint16, float32, float64, bool.")


def _to_int(image, dtype) -> np.ndarray:
    image = np.asarray(image)
    top = dtype_max(dtype)
    if image.dtype == dtype:
        return image.copy()
    if image.dtype == np.bool_:
        return image.astype(dtype) * dtype(top)
    if image.dtype.kind == "f":
        return np.clip(np.rint(image * top), 0, top).astype(dtype)
    if image.dtype == np.uint8 and dtype == np.uint16:
        return image.astype(np.uint16) * np.uint16(257)
    if image.dtype == np.uint16 and dtype == np.uint8:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise TypeError(f"`image` has dtype {image.dtype}; valid: uint8, uint16, float32, float64, bool.")


def to_uint8(image) -> np.ndarray:
    """Convert an image to uint8 (0-255), rounding and clipping.

    Floats are taken as [0, 1] (values outside are clipped); uint16 is scaled by 255/65535.

    >>> to_uint8(np.array([[0.0, 0.5, 1.2]], np.float32))
    array([[  0, 128, 255]], dtype=uint8)
    """
    return _to_int(image, np.uint8)


def to_uint16(image) -> np.ndarray:
    """Convert an image to uint16 (0-65535), rounding and clipping; floats are taken as [0, 1].

    >>> to_uint16(np.array([[0, 255]], np.uint8))
    array([[    0, 65535]], dtype=uint16)
    """
    return _to_int(image, np.uint16)


def restore_dtype(result, dtype) -> np.ndarray:
    """Cast a float computation back to an image dtype: round and saturate for integers.

    >>> restore_dtype(np.array([-3.0, 12.6, 300.0]), np.uint8)
    array([  0,  13, 255], dtype=uint8)
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.rint(result), info.min, info.max).astype(dtype)
    return np.asarray(result).astype(dtype, copy=False)
