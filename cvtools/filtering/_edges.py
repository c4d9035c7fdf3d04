"""Derivatives and edges: Sobel, Scharr, Prewitt, gradient magnitude/direction, Laplacian, Canny.

Derivative outputs are float32 in the image's own intensity units per pixel (a uint8 step of 10
gives a Sobel response of 40), never rescaled. x runs right (columns) and y down (rows).
"""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import BORDERS, check_choice, dtype_max
from ._common import nonneg, prep, same_shape, with_border

OPERATORS = ("sobel", "scharr", "prewitt")
_PREWITT_D = np.array([-1, 0, 1], np.float32)
_PREWITT_S = np.array([1, 1, 1], np.float32)
_PREWITT_2D = np.outer(_PREWITT_S, _PREWITT_D)


def _derivative(image: np.ndarray, operator: str, dx: int, border: str) -> np.ndarray:
    """First derivative along x (dx=1) or y (dx=0) as float32."""
    depth = cv2.CV_64F if image.dtype == np.float64 else cv2.CV_32F
    dy = 1 - dx
    if operator == "sobel":
        def fn(im, b):
            return cv2.Sobel(im, depth, dx, dy, ksize=3, borderType=b)
    elif operator == "scharr":
        def fn(im, b):
            return cv2.Scharr(im, depth, dx, dy, borderType=b)
    elif image.dtype.kind == "u":
        # separable passes win for integer input (widened once); a single 3x3 pass wins for floats
        kx, ky = (_PREWITT_D, _PREWITT_S) if dx else (_PREWITT_S, _PREWITT_D)

        def fn(im, b):
            return cv2.sepFilter2D(im, depth, kx, ky, borderType=b)
    else:
        k2 = _PREWITT_2D if dx else _PREWITT_2D.T

        def fn(im, b):
            return cv2.filter2D(im, depth, k2, borderType=b)
    out = with_border(fn, image, border, (1, 1))
    return same_shape(out.astype(np.float32, copy=False), image)


def _derivative_op(image, axis, border, operator):
    image = prep(image)
    check_choice(border, tuple(BORDERS), name="border")
    if axis is None:
        gx = _derivative(image, operator, 1, border)
        gy = _derivative(image, operator, 0, border)
        return same_shape(cv2.magnitude(gx, gy), image)
    if axis not in (0, 1) or isinstance(axis, bool):
        raise ValueError(f"`axis` must be 0 (d/dy, rows), 1 (d/dx, columns) or None (magnitude); got {axis!r}.")
    return _derivative(image, operator, 1 if axis == 1 else 0, border)


_DERIV_DOC = """{title}

    With ``axis=None`` the gradient magnitude ``sqrt(gx^2 + gy^2)``; with ``axis=1`` the derivative
    along x (columns, positive where intensity grows to the right), ``axis=0`` along y (rows,
    downwards). Kernel: {kernel}. Each channel separately.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    axis : {{None, 0, 1}}
        Which derivative; None for the magnitude.
    border : {{"reflect", "constant", "edge", "symmetric", "wrap"}}
        How the image is extended past its edges.

    Returns
    -------
    ndarray of float32
        Same shape as ``image``, in the image's intensity units (not rescaled).

    Examples
    --------
    >>> ramp = np.tile(np.arange(5, dtype=np.uint8), (5, 1))
    >>> {name}(ramp, axis=1)[2].tolist()
    {example}
    """


def sobel(image: np.ndarray, *, axis: int | None = None, border: str = "reflect") -> np.ndarray:
    return _derivative_op(image, axis, border, "sobel")


def scharr(image: np.ndarray, *, axis: int | None = None, border: str = "reflect") -> np.ndarray:
    return _derivative_op(image, axis, border, "scharr")


def prewitt(image: np.ndarray, *, axis: int | None = None, border: str = "reflect") -> np.ndarray:
    return _derivative_op(image, axis, border, "prewitt")


sobel.__doc__ = _DERIV_DOC.format(
    title="Sobel derivative or gradient magnitude (``cv2.Sobel``, 3x3).",
    kernel="``[-1, 0, 1]`` across, smoothed by ``[1, 2, 1]`` along (not normalised)",
    name="sobel", example="[0.0, 8.0, 8.0, 8.0, 0.0]")
scharr.__doc__ = _DERIV_DOC.format(
    title="Scharr derivative or gradient magnitude (``cv2.Scharr``), more rotation-invariant than Sobel.",
    kernel="``[-1, 0, 1]`` across, smoothed by ``[3, 10, 3]`` along (not normalised)",
    name="scharr", example="[0.0, 32.0, 32.0, 32.0, 0.0]")
prewitt.__doc__ = _DERIV_DOC.format(
    title="Prewitt derivative or gradient magnitude.",
    kernel="``[-1, 0, 1]`` across, averaged by ``[1, 1, 1]`` along (not normalised)",
    name="prewitt", example="[0.0, 6.0, 6.0, 6.0, 0.0]")


def gradient(image: np.ndarray, operator: str = "sobel", *, border: str = "reflect") -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude and direction.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64. Colour images give one gradient per channel.
    operator : {"sobel", "scharr", "prewitt"}
        The derivative kernels (see :func:`sobel`).
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        How the image is extended past its edges.

    Returns
    -------
    magnitude : ndarray of float32
        ``sqrt(gx^2 + gy^2)``, same shape as ``image``, in its intensity units.
    direction : ndarray of float32
        ``atan2(gy, gx)`` in radians in [0, 2 pi] (``cv2.cartToPolar``, accurate to about 2e-4 rad; an
        angle just below 0 can round to exactly 2 pi in float32); with y pointing down, pi/2 means
        intensity grows downwards. 0 where the gradient is 0.

    Examples
    --------
    >>> ramp = np.tile(np.arange(5, dtype=np.float32), (5, 1)).T   # grows downwards
    >>> mag, ang = gradient(ramp)
    >>> float(mag[2, 2]), round(float(ang[2, 2]), 3)
    (8.0, 1.571)
    """
    image = prep(image)
    check_choice(operator, OPERATORS, name="operator")
    check_choice(border, tuple(BORDERS), name="border")
    gx = _derivative(image, operator, 1, border)
    gy = _derivative(image, operator, 0, border)
    mag, ang = cv2.cartToPolar(gx, gy)
    return same_shape(mag, image), same_shape(ang, image)


def laplacian(image: np.ndarray, *, ksize: int = 1, border: str = "reflect") -> np.ndarray:
    """Laplacian ``d2/dx2 + d2/dy2`` (``cv2.Laplacian``).

    ``ksize=1`` is the 3x3 4-neighbour kernel ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` (as
    ``scipy.ndimage.laplace``); larger odd ``ksize`` sums Sobel second derivatives of that aperture.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    ksize : int
        Aperture: 1, 3, 5, ..., 31.
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        How the image is extended past its edges.

    Returns
    -------
    ndarray of float32
        Same shape, in the image's intensity units.

    Examples
    --------
    >>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 10
    >>> laplacian(img)[2].tolist()
    [0.0, 10.0, -40.0, 10.0, 0.0]
    """
    image = prep(image)
    if isinstance(ksize, bool) or not isinstance(ksize, numbers.Integral) or ksize < 1 or ksize % 2 == 0 \
            or ksize > 31:
        raise ValueError(f"`ksize` must be an odd integer in [1, 31]; got {ksize!r}.")
    check_choice(border, tuple(BORDERS), name="border")
    depth = cv2.CV_64F if image.dtype == np.float64 else cv2.CV_32F
    r = max(1, ksize // 2)
    out = with_border(lambda im, b: cv2.Laplacian(im, depth, ksize=int(ksize), borderType=b),
                      image, border, (r, r))
    return same_shape(out.astype(np.float32, copy=False), image)


def canny(image: np.ndarray, *, low: float | None = None, high: float | None = None, sigma: float = 1.0) -> np.ndarray:
    """Canny edge detector (Gaussian smoothing, Sobel gradient, non-maximum suppression, hysteresis).

    Thresholds are on the L2 Sobel gradient magnitude of the smoothed image, in the image's own
    intensity units (a uint8 step of height h gives about 4h), the convention of
    ``skimage.feature.canny`` with thresholds given in image units. uint8 runs ``cv2.GaussianBlur`` and
    ``cv2.Canny`` directly; other dtypes are smoothed in float32 and their gradients passed to
    ``cv2.Canny`` as 16-bit derivatives scaled to full precision. Colour images are converted to gray.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    low, high : float, optional
        Hysteresis thresholds; default 10% and 20% of the dtype's full range (25.5 and 51 for uint8).
    sigma : float
        Gaussian smoothing sigma in pixels; 0 disables smoothing (see :func:`gaussian` for its bound).

    Returns
    -------
    (H, W) ndarray of bool
        True on edge pixels (one pixel wide).

    Examples
    --------
    >>> img = np.zeros((9, 9), np.uint8); img[:, 5:] = 200
    >>> canny(img).any(axis=0).nonzero()[0].tolist()
    [4]
    """
    image = prep(image)
    if image.ndim == 3:
        from ..intensity import to_gray
        image = to_gray(image)
    s = nonneg(sigma, "sigma")
    top = dtype_max(image.dtype)
    lo = 0.1 * top if low is None else nonneg(low, "low")
    hi = 0.2 * top if high is None else nonneg(high, "high")
    if lo > hi:
        raise ValueError(f"`low` must be <= `high`; got low={lo}, high={hi}.")
    from ._smooth import gaussian  # bounded for any sigma: a kernel wider than the image is folded

    if image.dtype == np.uint8:
        smoothed = gaussian(image, s) if s > 0 else image
        edges = cv2.Canny(smoothed, lo, hi, L2gradient=True)
        return edges.astype(bool)
    x = image.astype(np.float32, copy=False)
    if s > 0:
        x = gaussian(x, s)
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
    peak = float(max(np.abs(gx).max(), np.abs(gy).max()))
    if peak == 0:
        return np.zeros(image.shape, bool)
    scale = 32000.0 / peak
    dx = np.rint(gx * scale).astype(np.int16)
    dy = np.rint(gy * scale).astype(np.int16)
    return cv2.Canny(dx, dy, lo * scale, hi * scale, L2gradient=True).astype(bool)
