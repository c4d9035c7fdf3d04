"""Smoothing and sharpening: box, Gaussian, median, bilateral, non-local means, unsharp mask, sharpen."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import BORDERS, check_choice, dtype_max, require, restore_dtype
from ..io import bgr_to_rgb, rgb_to_bgr
from ._common import (check_radius, fold_kernel, nonneg, odd_size, positive, prep, same_shape, separable,
                      window_limit, with_border)

# exp(-x**2 / 2) is exactly 0.0 in float64 beyond x = 38.6: taps past 38.7 sigma weigh nothing
_ZERO_BEYOND = 38.7


def _sigma_pair(sigma) -> tuple[float, float]:
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
        s = positive(sigma, "sigma")
        return s, s
    try:
        sy, sx = sigma
    except (TypeError, ValueError):
        raise TypeError(f"`sigma` must be a number or a pair (sigma_y, sigma_x); got {sigma!r}.") from None
    return positive(sy, "sigma"), positive(sx, "sigma")


def _check_border(border):
    return check_choice(border, tuple(BORDERS), name="border")


def gaussian(image: np.ndarray, sigma: float = 1.0, *, border: str = "reflect", truncate: float = 4.0) -> np.ndarray:
    """Blur an image with a Gaussian kernel (``cv2.GaussianBlur``).

    The kernel has radius ``int(truncate * sigma + 0.5)`` per axis, as ``scipy.ndimage.gaussian_filter``,
    so results agree with scipy to rounding. Every channel is filtered (alpha included).

    A kernel longer than the image is folded onto it first (taps that the border maps to the same
    pixel are added together), which gives the same result, to rounding, at the cost of a kernel the
    size of the image: ``sigma=1e4`` on a 32x32 image takes milliseconds. Taps beyond 38.7 sigma
    weigh exactly 0 and are dropped, so any ``truncate`` works; the radius left may be at most
    2**24 pixels (``sigma`` up to about 400,000).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    sigma : float or (sigma_y, sigma_x)
        Standard deviation in pixels; > 0.
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        How the image is extended past its edges (numpy.pad names; "constant" pads with 0).
    truncate : float
        Kernel radius in standard deviations.

    Returns
    -------
    ndarray
        Same shape and dtype (integers rounded).

    Examples
    --------
    >>> img = np.zeros((5, 5), np.float32); img[2, 2] = 1
    >>> round(float(gaussian(img, 1.0)[2, 2]), 3)
    0.159
    >>> float(gaussian(img, 1e6).max()) == float(gaussian(img, 1e6).min())  # wider than the image: flat
    True
    """
    image = prep(image)
    sy, sx = _sigma_pair(sigma)
    truncate = positive(truncate, "truncate")
    _check_border(border)
    ry, rx = (min(int(truncate * s + 0.5), int(_ZERO_BEYOND * s) + 1) for s in (sy, sx))
    h, w = image.shape[:2]
    if ry >= h or rx >= w:
        check_radius(max(ry, rx), f"`sigma` {sigma!r} with `truncate` {truncate!r}")
        ky, kx = (fold_kernel(lambda j, s=s: np.exp(-0.5 * (j / s) ** 2), r, n, border)
                  for s, r, n in ((sy, ry, h), (sx, rx, w)))
        return same_shape(separable(image, ky, kx, border), image)
    ksize = (2 * rx + 1, 2 * ry + 1)
    out = with_border(lambda im, b: cv2.GaussianBlur(im, ksize, sigmaX=sx, sigmaY=sy, borderType=b),
                      image, border, (ry, rx))
    return same_shape(out, image)


def box(image: np.ndarray, size: int | tuple[int, int] = 3, *, border: str = "reflect") -> np.ndarray:
    """Mean filter over a ``size`` x ``size`` window (``cv2.blur``).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    size : int or (rows, cols)
        Odd window size. A window longer than the image is folded onto it (as in :func:`gaussian`):
        same result, bounded cost; its radius may be at most 2**24.
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        How the image is extended past its edges.

    Returns
    -------
    ndarray
        Same shape and dtype (integers rounded).

    Examples
    --------
    >>> box(np.array([[0, 0, 9, 0, 0]], np.uint8), (1, 3))
    array([[0, 3, 3, 3, 0]], dtype=uint8)
    """
    image = prep(image)
    h, w = odd_size(size)
    _check_border(border)
    if h // 2 >= image.shape[0] or w // 2 >= image.shape[1]:  # longer than the image: fold it (see gaussian)
        check_radius(max(h, w) // 2, f"`size` {size!r}")
        ky, kx = (fold_kernel(np.ones_like, k // 2, n, border) for k, n in ((h, image.shape[0]), (w, image.shape[1])))
        return same_shape(separable(image, ky, kx, border), image)
    out = with_border(lambda im, b: cv2.blur(im, (w, h), borderType=b), image, border, (h // 2, w // 2))
    return same_shape(out, image)


def median(image: np.ndarray, size: int = 3) -> np.ndarray:
    """Median filter over a ``size`` x ``size`` window, per channel; edges are replicated.

    OpenCV's ``medianBlur`` runs uint8 at any size and uint16/float32 at sizes 3 and 5; the other
    combinations (uint16/float32 above 5, any float64, rectangular windows) use
    ``scipy.ndimage.median_filter`` with the same edge rule, which is exact but slower.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    size : int or (rows, cols)
        Odd window size (1 returns a copy); at most ``2 H + 1`` rows and ``2 W + 1`` columns (a
        larger window only adds more copies of the edge pixels, which changes the median, so it is
        refused rather than cut).

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> median(np.array([[1, 1, 200, 1, 1]], np.uint8), (1, 3))
    array([[1, 1, 1, 1, 1]], dtype=uint8)
    """
    image = prep(image)
    h, w = odd_size(size)
    window_limit((h, w), image, "size")
    if h == w == 1:
        return image.copy()
    if h == w and (image.dtype == np.uint8 or (image.dtype in (np.uint16, np.float32) and h <= 5)):
        return same_shape(cv2.medianBlur(image, h), image)
    ndi = require("scipy.ndimage", feature="cvtools.filtering.median")
    window = (h, w) + (1,) * (image.ndim - 2)
    return ndi.median_filter(image, size=window, mode="nearest")


def bilateral(image: np.ndarray, *, diameter: int = 9, sigma_color: float | None = None,
              sigma_space: float | None = None) -> np.ndarray:
    """Edge-preserving bilateral filter (``cv2.bilateralFilter``; Tomasi & Manduchi 1998).

    Each output pixel averages its disc of neighbours with weights
    ``exp(-d^2 / 2 sigma_space^2) * exp(-dI^2 / 2 sigma_color^2)``, where ``dI`` is the intensity
    difference (summed absolute difference over RGB). Colour images are filtered jointly; alpha is kept.
    uint8 and float32 run natively, uint16/float64 through float32.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    diameter : int
        Diameter of the pixel neighbourhood, from 1 to ``2 max(H, W) + 1`` (the cost grows with its
        square; OpenCV reflects the image past its edges).
    sigma_color : float, optional
        Range sigma in the image's intensity units; default 10% of full range (25.5 for uint8).
    sigma_space : float, optional
        Spatial sigma in pixels; default ``diameter / 3``.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> step = np.repeat(np.array([[0, 0, 0, 255, 255, 255]], np.uint8), 4, axis=0)
    >>> bilateral(step, diameter=3)[0].tolist()  # the edge survives
    [0, 0, 0, 255, 255, 255]
    """
    image = prep(image)
    if isinstance(diameter, bool) or not isinstance(diameter, numbers.Integral) or diameter < 1:
        raise ValueError(f"`diameter` must be an integer >= 1; got {diameter!r}.")
    side = max(image.shape[:2])
    if diameter > 2 * side + 1:
        raise ValueError(f"`diameter` {diameter} is too large for a {image.shape[0]}x{image.shape[1]} image: at "
                         f"most {2 * side + 1} (twice its longer side plus one).")
    sc = 0.1 * dtype_max(image.dtype) if sigma_color is None else positive(sigma_color, "sigma_color")
    ss = diameter / 3.0 if sigma_space is None else positive(sigma_space, "sigma_space")
    work = image
    if image.ndim == 3 and image.shape[2] == 4:
        work = np.ascontiguousarray(image[..., :3])
    elif image.ndim == 3 and image.shape[2] == 1:
        work = image[..., 0]
    if work.dtype not in (np.uint8, np.float32):
        work = work.astype(np.float32)
    out = cv2.bilateralFilter(work, int(diameter), float(sc), float(ss))
    if out.dtype != image.dtype:
        out = restore_dtype(out, image.dtype)
    if image.ndim == 3 and image.shape[2] == 4:
        out = np.concatenate([out, image[..., 3:]], axis=2)
    return same_shape(out, image)


def denoise(image: np.ndarray, *, strength: float | None = None, template_size: int = 7,
            search_size: int = 21) -> np.ndarray:
    """Non-local means denoising (Buades et al. 2005).

    Each pixel becomes a weighted mean of the pixels in its ``search_size`` window whose
    ``template_size`` patches look like its own. uint8 uses OpenCV's fast implementation
    (``fastNlMeansDenoising``; colour images via ``fastNlMeansDenoisingColored``, which works in Lab);
    uint16 and float images use ``skimage.restoration.denoise_nl_means`` (slower). Alpha is kept.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    strength : float, optional
        The filter parameter ``h`` in the image's intensity units; larger removes more noise and
        detail. Default 10/255 of full range (10 for uint8); about the noise standard deviation works well.
    template_size : int
        Odd patch size, at most ``2 max(H, W) + 1``.
    search_size : int
        Odd search window size, at most ``2 max(H, W) + 1``.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.full((32, 32), 128, np.uint8)
    >>> noisy = np.clip(clean + rng.normal(0, 10, clean.shape), 0, 255).astype(np.uint8)
    >>> float(denoise(noisy).std()) < float(noisy.std()) / 2
    True
    """
    image = prep(image)
    top = dtype_max(image.dtype)
    h = 10.0 / 255.0 * top if strength is None else positive(strength, "strength")
    t = odd_size(template_size, "template_size")[0]
    s = odd_size(search_size, "search_size")[0]
    side = max(image.shape[:2])
    for name, v in (("template_size", t), ("search_size", s)):
        if v > 2 * side + 1:
            raise ValueError(f"`{name}` {v} is too large for a {image.shape[0]}x{image.shape[1]} image: at most "
                             f"{2 * side + 1} (twice its longer side plus one).")
    alpha = None
    work = image
    if image.ndim == 3 and image.shape[2] == 4:
        alpha, work = image[..., 3:], np.ascontiguousarray(image[..., :3])
    elif image.ndim == 3 and image.shape[2] == 1:
        work = image[..., 0]
    if work.dtype == np.uint8:
        if work.ndim == 2:
            out = cv2.fastNlMeansDenoising(work, None, h, t, s)
        else:
            # The Colored variant converts BGR to Lab: OpenCV's channel order, so through io's swap.
            out = bgr_to_rgb(cv2.fastNlMeansDenoisingColored(rgb_to_bgr(work), None, h, h, t, s))
    else:
        restoration = require("skimage.restoration", feature="cvtools.filtering.denoise")
        x = work.astype(np.float64) / top if work.dtype == np.uint16 else work
        res = restoration.denoise_nl_means(x, h=h / top, patch_size=t, patch_distance=s // 2,
                                           fast_mode=True, channel_axis=-1 if x.ndim == 3 else None,
                                           preserve_range=True)
        out = restore_dtype(res * top, image.dtype) if work.dtype == np.uint16 else res.astype(image.dtype)
    if alpha is not None:
        out = np.concatenate([out, alpha], axis=2)
    return same_shape(out, image)


def unsharp_mask(image: np.ndarray, *, sigma: float = 1.0, amount: float = 1.0, border: str = "reflect") -> np.ndarray:
    """Sharpen by adding back the detail a Gaussian blur removes: ``image + amount * (image - blur)``.

    Integer results saturate; float results are not clipped.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    sigma : float
        Gaussian sigma of the blur, in pixels.
    amount : float
        How much detail to add (>= 0; 0 returns the image).
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        Border of the blur.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> unsharp_mask(np.array([[10, 10, 10, 50, 50, 50]], np.uint8), sigma=1.0, amount=1.0)
    array([[10,  8,  0, 62, 52, 50]], dtype=uint8)
    """
    image = prep(image)
    a = nonneg(amount, "amount")
    blurred = gaussian(image, sigma, border=border)
    out = cv2.addWeighted(image, 1.0 + a, blurred, -a, 0.0)
    return same_shape(out, image)


def sharpen(image: np.ndarray, *, amount: float = 1.0, border: str = "reflect") -> np.ndarray:
    """Laplacian sharpening: ``image - amount * laplacian(image)`` with the 4-neighbour 3x3 kernel.

    Equivalent to correlating with ``[[0, -a, 0], [-a, 1 + 4a, -a], [0, -a, 0]]``. Integer results
    saturate; float results are not clipped.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    amount : float
        Strength (>= 0).
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        How the image is extended past its edges.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> sharpen(np.array([[10, 10, 50, 50]], np.uint8))
    array([[10,  0, 90, 50]], dtype=uint8)
    """
    image = prep(image)
    a = nonneg(amount, "amount")
    _check_border(border)
    kernel = np.array([[0, -a, 0], [-a, 1 + 4 * a, -a], [0, -a, 0]], np.float64)  # (float32 overflows past 8e37)
    out = with_border(lambda im, b: cv2.filter2D(im, -1, kernel, borderType=b), image, border, (1, 1))
    return same_shape(out, image)
