"""Mask helpers for inpainting: a mask is a boolean ``(H, W)`` array, True where pixels are to be filled."""
from __future__ import annotations

import numbers

import numpy as np

from cvtools._shared import check_image, dtype_max

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from collections.abc import Sequence
    from numpy.typing import ArrayLike

__all__ = ["mask_from_color", "mask_from_boxes", "dilate_mask", "as_mask"]


def as_mask(mask: ArrayLike, shape: tuple[int, ...] | None = None, *, name: str = "mask") -> np.ndarray:
    """Validate ``mask`` (bool, or integer/float where non-zero means "fill") and return it as bool.

    Parameters
    ----------
    mask : (H, W) array_like
        Boolean, or uint8/uint16/float where any non-zero value marks a pixel to fill. A trailing axis
        of size 1 is dropped; a 3- or 4-channel mask counts a pixel when any channel is non-zero.
    shape : tuple, optional
        The image shape the mask must match in height and width.

    Returns
    -------
    (H, W) bool ndarray (a new array).

    Examples
    --------
    >>> as_mask(np.array([[0, 255], [1, 0]], np.uint8)).tolist()
    [[False, True], [True, False]]
    """
    if not isinstance(mask, np.ndarray):
        if isinstance(mask, (str, bytes)) or not hasattr(mask, "__len__"):
            raise TypeError(f"`{name}` must be a numpy array; got {type(mask).__name__}.")
        mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] in (1, 3, 4):
        mask = mask.any(axis=2)
    if mask.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (H, W); got shape {mask.shape}.")
    if mask.dtype != np.bool_ and mask.dtype.kind not in "uif":
        raise TypeError(f"`{name}` has dtype {mask.dtype}; valid: bool, uint8, uint16, int, float.")
    if mask.dtype.kind == "f" and np.isnan(mask).any():
        raise ValueError(f"`{name}` contains NaN values.")
    if shape is not None and tuple(mask.shape) != tuple(shape[:2]):
        raise ValueError(f"`{name}` has shape {mask.shape} but the image is {tuple(shape)}; "
                         f"their height and width must match.")
    return mask.astype(bool, copy=True)


def mask_from_color(image: np.ndarray, color: Sequence[float] | float, *, tolerance: float = 0.0) -> np.ndarray:
    """Mask of the pixels whose colour is within ``tolerance`` of ``color`` (e.g. a painted-over region).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16 or float image.
    color : number or sequence
        The colour in the image's own units (0-255 for uint8, 0-1 for float), one value per channel
        (an RGBA image may be given an RGB colour: alpha is then ignored).
    tolerance : float
        Largest allowed absolute difference per channel, in the image's units.

    Returns
    -------
    (H, W) bool ndarray.

    Examples
    --------
    >>> img = np.zeros((2, 3, 3), np.uint8); img[0, 1] = (255, 255, 255)
    >>> mask_from_color(img, (255, 255, 255)).astype(int).tolist()
    [[0, 1, 0], [0, 0, 0]]
    """
    image = check_image(image)
    if tolerance < 0:
        raise ValueError(f"`tolerance` must be >= 0; got {tolerance}.")
    col = np.atleast_1d(np.asarray(color, dtype=np.float64))
    chans = 1 if image.ndim == 2 else image.shape[2]
    img = image.astype(np.float64)
    if image.ndim == 2:
        img = img[..., None]
    if col.size == 1:
        col = np.repeat(col, chans)
    if chans == 4 and col.size == 3:
        img = img[..., :3]
    elif col.size != chans:
        raise ValueError(f"`color` has {col.size} values but the image has {chans} channels.")
    if (col < 0).any() or (col > dtype_max(image.dtype) + tolerance).any():
        raise ValueError(f"`color` {tuple(col.tolist())} is outside the image's range "
                         f"0-{dtype_max(image.dtype)}.")
    return (np.abs(img - col) <= tolerance + 1e-12).all(axis=2)


def mask_from_boxes(shape: tuple[int, ...], boxes: ArrayLike, *, padding: float = 0.0, ellipse: bool = False) -> np.ndarray:
    """Mask covering boxes (``xyxy`` pixels, or a :class:`cvtools.detect.Detections`), grown by ``padding``.

    Parameters
    ----------
    shape : tuple
        The image shape ``(H, W[, C])`` (or the image itself).
    boxes : (N, 4) array_like or Detections
        Boxes as ``x1, y1, x2, y2`` float pixels (x2/y2 exclusive edges), or anything with ``.xyxy``.
    padding : float
        Growth on every side: a fraction of the box size when < 1 (0.1 = 10 %), else pixels.
    ellipse : bool
        Fill the ellipse inscribed in each (padded) box instead of the box (rounder for faces).

    Returns
    -------
    (H, W) bool ndarray.

    Examples
    --------
    >>> mask_from_boxes((4, 6), [[1, 1, 3, 2]]).astype(int).tolist()
    [[0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    """
    if isinstance(shape, np.ndarray) and shape.ndim >= 2 and shape.size > 3:
        shape = shape.shape
    h, w = int(shape[0]), int(shape[1])
    xyxy = getattr(boxes, "xyxy", boxes)
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4) if np.size(xyxy) else np.zeros((0, 4))
    if not np.isfinite(xyxy).all():
        raise ValueError("`boxes` contain NaN or infinite coordinates.")
    if not isinstance(padding, numbers.Real) or padding < 0:
        raise ValueError(f"`padding` must be a number >= 0; got {padding!r}.")
    mask = np.zeros((h, w), bool)
    yy, xx = np.mgrid[0:h, 0:w]
    for x1, y1, x2, y2 in xyxy:
        if x2 < x1 or y2 < y1:
            raise ValueError(f"box {(x1, y1, x2, y2)} has x2 < x1 or y2 < y1; boxes are xyxy.")
        if padding < 1:
            px, py = padding * (x2 - x1), padding * (y2 - y1)
        else:
            px = py = float(padding)
        x1, y1, x2, y2 = x1 - px, y1 - py, x2 + px, y2 + py
        if ellipse:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            rx, ry = max((x2 - x1) / 2, 0.5), max((y2 - y1) / 2, 0.5)
            mask |= ((xx + 0.5 - cx) / rx) ** 2 + ((yy + 0.5 - cy) / ry) ** 2 <= 1
        else:
            c0, r0 = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
            c1, r1 = min(int(np.ceil(x2)), w), min(int(np.ceil(y2)), h)
            if c1 > c0 and r1 > r0:
                mask[r0:r1, c0:c1] = True
    return mask


def dilate_mask(mask: ArrayLike, radius: int = 1) -> np.ndarray:
    """Grow a mask by ``radius`` pixels (a disc), e.g. to cover the anti-aliased rim of a scratch or logo.

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True
    >>> int(dilate_mask(m, 1).sum())
    5
    """
    import cv2

    mask = as_mask(mask)
    if isinstance(radius, bool) or not isinstance(radius, numbers.Integral) or radius < 0:
        raise ValueError(f"`radius` must be an integer >= 0; got {radius!r}.")
    if radius == 0:
        return mask
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    k = (yy ** 2 + xx ** 2 <= radius ** 2).astype(np.uint8)  # a Euclidean disc
    return cv2.dilate(mask.astype(np.uint8), k) > 0
