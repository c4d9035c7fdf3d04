"""Gaussian and Laplacian pyramids (Burt & Adelson 1983)."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from ._correlate import _CV_DEPTH, _check_input, _refuse_non_finite, _rows_finite, _to_dtype, correlate2d
from ._params import _check_border

#: The 5-tap binomial kernel [1, 4, 6, 4, 1] / 16 (outer product), OpenCV's pyrDown kernel.
BINOMIAL5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
_CV_PYR_BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "symmetric": cv2.BORDER_REFLECT,
                   "edge": cv2.BORDER_REPLICATE}


def _levels(levels):
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral):
        raise TypeError(f"`levels` must be an int >= 1; got {levels!r}.")
    if levels < 1:
        raise ValueError(f"`levels` must be >= 1 (the first level is the image itself); got {levels}.")
    return int(levels)


def _reduce(image, border):
    if image.dtype in _CV_DEPTH and border in _CV_PYR_BORDERS and (image.ndim == 2 or image.shape[2] <= 4):
        out = cv2.pyrDown(image, borderType=_CV_PYR_BORDERS[border])
        return out.reshape(out.shape[:2] + image.shape[2:])
    return correlate2d(image, BINOMIAL5, stride=2, padding="same", border=border)


def _expand(image, shape):
    out = cv2.pyrUp(image, dstsize=(shape[1], shape[0]))
    return out.reshape(tuple(shape[:2]) + image.shape[2:])


def gaussian_pyramid(image: np.ndarray, levels: int = 4, *, border: str = "reflect") -> list[np.ndarray]:
    """Gaussian pyramid: the image, then repeatedly blurred and halved.

    Each level is the previous one correlated with the 5x5 binomial kernel
    ``outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256`` and sampled at every second pixel
    (``correlate2d(level, BINOMIAL5, stride=2)``; OpenCV's ``pyrDown``), so a level of size H
    gives ``ceil(H / 2)``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image; any integer or float dtype.
    levels : int
        Number of images returned, the input included (>= 1).
    border : {'reflect', 'constant', 'edge', 'symmetric', 'wrap'}
        numpy.pad mode used at the image borders.

    Returns
    -------
    list of ndarray
        ``levels`` images, each the dtype of ``image``.

    Examples
    --------
    >>> pyr = gaussian_pyramid(np.zeros((64, 48), np.uint8), 4)
    >>> [p.shape for p in pyr]
    [(64, 48), (32, 24), (16, 12), (8, 6)]
    """
    image = _check_input(image, finite=False)
    levels = _levels(levels)
    border = _check_border(border)
    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(_reduce(pyramid[-1], border))
    # every pixel has a positive weight in level 1 (a 5x5 window every 2 pixels), on two or three
    # consecutive rows of it: NaN/inf in the image show on its even rows or its last, an eighth of
    # the image to read (a non-finite level from a finite image is an overflow, and passes)
    if levels > 1 and pyramid[1].dtype.kind == "f":
        if not _rows_finite(pyramid[1], 2):
            _refuse_non_finite(image, image)
    else:
        _refuse_non_finite(image, image)
    return pyramid


def laplacian_pyramid(image: np.ndarray, levels: int = 4) -> list[np.ndarray]:
    """Laplacian pyramid: band-pass details plus a small low-pass residual; exactly invertible.

    ``L[i] = G[i] - expand(G[i + 1])`` for the Gaussian levels ``G`` (computed in float), and the
    last level is ``G[-1]``; ``expand`` is OpenCV's ``pyrUp`` (zero insertion then 4x the binomial
    kernel, reflect border). :func:`reconstruct_laplacian` inverts it.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image; any integer or float dtype.
    levels : int
        Number of levels (>= 1).

    Returns
    -------
    list of ndarray
        float32 levels (float64 for float64 input), in the input's units (uint8 stays 0-255;
        nothing is rescaled). Detail levels are signed.

    Examples
    --------
    >>> img = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    >>> pyr = laplacian_pyramid(img, 3)
    >>> [p.shape for p in pyr]
    [(32, 32), (16, 16), (8, 8)]
    >>> bool(np.allclose(reconstruct_laplacian(pyr), img, atol=1e-5))
    True
    """
    image = _check_input(image)
    levels = _levels(levels)
    work = np.float64 if image.dtype == np.float64 or image.dtype.itemsize > 4 else np.float32
    gauss = gaussian_pyramid(image.astype(work), levels)
    pyramid = [g - _expand(gauss[i + 1], g.shape) for i, g in enumerate(gauss[:-1])]
    pyramid.append(gauss[-1])
    return pyramid


def reconstruct_laplacian(pyramid: list[np.ndarray], *, dtype: np.dtype | type | str | None = None) -> np.ndarray:
    """Collapse a :func:`laplacian_pyramid` back into the image.

    Parameters
    ----------
    pyramid : list of ndarray
        Levels as returned by :func:`laplacian_pyramid` (possibly edited, e.g. for blending).
    dtype : dtype, optional
        Cast the result (integers are rounded and saturated); default: the levels' float dtype.

    Returns
    -------
    ndarray
        The reconstructed image.

    Examples
    --------
    >>> img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> out = reconstruct_laplacian(laplacian_pyramid(img, 3), dtype=np.uint8)
    >>> bool((out == img).all())
    True
    """
    if not isinstance(pyramid, (list, tuple)) or not pyramid:
        raise TypeError(f"`pyramid` must be a non-empty list of arrays; got {type(pyramid).__name__}.")
    levels = [np.asarray(p) for p in pyramid]
    for i in range(len(levels) - 1):
        h, w = levels[i].shape[:2]
        if levels[i + 1].shape[0] != (h + 1) // 2 or levels[i + 1].shape[1] != (w + 1) // 2:
            raise ValueError(f"`pyramid` level {i + 1} has shape {levels[i + 1].shape}; expected half of level "
                             f"{i} ({levels[i].shape}), rounded up.")
    out = levels[-1]
    for lev in reversed(levels[:-1]):
        out = _expand(out, lev.shape) + lev
    return out if dtype is None else _to_dtype(out, np.dtype(dtype))
