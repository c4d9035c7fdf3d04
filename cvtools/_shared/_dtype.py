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


def as_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 with :func:`to_rgb_uint8`'s value rule, channels unchanged; no copy for uint8.

    >>> as_uint8(np.array([[0.0, 0.5, np.nan]], np.float32))
    array([[  0, 128,   0]], dtype=uint8)
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * np.uint8(255)
    if image.dtype.kind == "f":
        import cv2

        f = image if image.dtype in (np.float32, np.float64) else image.astype(np.float32)
        # OpenCV rounds half to even as np.rint does, ~10x faster; values are clamped to [0, 1] first
        # (convertScaleAbs takes |x|, and saturates +-inf to 0); NaN passes the clamp and becomes 0.
        f = np.ascontiguousarray(f)
        shape = f.shape
        if f.size == 0:
            return np.zeros(shape, np.uint8)
        flat = f.reshape(shape[0], -1) if f.ndim > 1 else f.reshape(1, -1)
        out = cv2.convertScaleAbs(cv2.min(cv2.max(flat, 0.0), 1.0), alpha=255.0)
        return out.reshape(shape)
    raise TypeError(f"`image` has dtype {image.dtype}; valid: uint8, uint16, float16/32/64, bool.")


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """C-contiguous ``(H, W, 3)`` uint8 RGB from any cvtools image: the one conversion for 8-bit consumers.

    The rule (the same as :func:`to_uint8` for values, plus channels):

    * uint8 is kept (no copy when already contiguous RGB); uint16 is scaled by 255/65535 and rounded;
      floats are taken as [0, 1]: multiplied by 255, rounded half to even, clipped to 0-255, NaN -> 0;
      bool becomes 0/255.
    * gray ``(H, W)`` or ``(H, W, 1)`` is repeated to three channels; RGBA drops its alpha (it is not
      composited onto a background).

    Parameters
    ----------
    image : (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) ndarray
        uint8, uint16, float16/32/64 or bool.

    Returns
    -------
    (H, W, 3) uint8 ndarray

    Examples
    --------
    >>> to_rgb_uint8(np.array([[0.0, 1.0]], np.float32))[0].tolist()
    [[0, 0, 0], [255, 255, 255]]
    >>> to_rgb_uint8(np.full((1, 1, 4), 65535, np.uint16)).tolist()
    [[[255, 255, 255]]]
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"`image` must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {image.shape}.")
    img = as_uint8(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])
