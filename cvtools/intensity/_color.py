"""Gray and colour-space conversions between RGB and gray, HSV, CIE Lab and YCrCb.

Ranges (documented once, used everywhere):

=========  =====================================================================  ==============
space      channels and ranges                                                    dtype
=========  =====================================================================  ==============
gray       ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601), same range as input  input dtype
ycrcb      ``Y, Cr, Cb`` (OpenCV order), full range, chroma offset by half-range    input dtype
           (128 for uint8, 32768 for uint16, 0.5 for floats)
hsv        ``H`` in degrees [0, 360), ``S`` and ``V`` in [0, 1]                     float32
lab        CIE L*a*b* (sRGB, D65): ``L`` in [0, 100], ``a``, ``b`` about [-128, 127]  float32
           (exact sRGB curve, then OpenCV's linear RGB -> Lab; within 0.03 of skimage)
=========  =====================================================================  ==============

HSV and Lab are measurements, not images, so they are float32 whatever the input dtype (OpenCV's
uint8 encodings, such as H in [0, 180), are never used). Converting HSV or Lab back to RGB gives
float32 RGB in [0, 1]; gray and YCrCb go back to the dtype they came in.
"""
from __future__ import annotations

import cv2
import numpy as np

from .._shared import check_choice, check_image, to_float32

SPACES = ("rgb", "gray", "hsv", "lab", "ycrcb")

# OpenCV's RGB <-> YCrCb coefficients (BT.601), used for float64 which cv2.cvtColor does not take
_KR, _KG, _KB = 0.299, 0.587, 0.114
_CR, _CB = 0.713, 0.564
_R_CR, _G_CR, _G_CB, _B_CB = 1.403, -0.714, -0.344, 1.773


def _rgb(image: np.ndarray) -> np.ndarray:
    """The RGB part of an RGB/RGBA image, contiguous for OpenCV."""
    if image.shape[2] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert an RGB(A) image to gray (luma ``0.299 R + 0.587 G + 0.114 B``, ITU-R BT.601).

    Gray input is returned as a copy; alpha is dropped. The dtype is kept (integers rounded).

    Parameters
    ----------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        uint8, uint16, float32 or float64.

    Returns
    -------
    (H, W) ndarray
        Same dtype as ``image``.

    Examples
    --------
    >>> to_gray(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8))
    array([[ 76, 150,  29]], dtype=uint8)
    """
    image = check_image(image)
    if image.ndim == 2:
        return image.copy()
    if image.shape[2] == 1:
        return image[..., 0].copy()
    if image.dtype == np.float64:
        rgb = image[..., :3]
        return rgb[..., 0] * _KR + rgb[..., 1] * _KG + rgb[..., 2] * _KB
    code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(np.ascontiguousarray(image), code)


def _half(dtype) -> float:
    return {np.dtype(np.uint8): 128.0, np.dtype(np.uint16): 32768.0}.get(np.dtype(dtype), 0.5)


def _rgb_to_ycrcb(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.float64:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y = rgb[..., 0] * _KR + rgb[..., 1] * _KG + rgb[..., 2] * _KB
    return np.stack([y, (rgb[..., 0] - y) * _CR + 0.5, (rgb[..., 2] - y) * _CB + 0.5], axis=-1)


def _ycrcb_to_rgb(ycc: np.ndarray) -> np.ndarray:
    if ycc.dtype != np.float64:
        return cv2.cvtColor(np.ascontiguousarray(ycc), cv2.COLOR_YCrCb2RGB)
    y, cr, cb = ycc[..., 0], ycc[..., 1] - 0.5, ycc[..., 2] - 0.5
    return np.stack([y + _R_CR * cr, y + _G_CR * cr + _G_CB * cb, y + _B_CB * cb], axis=-1)


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Exact sRGB decoding to linear float32 (OpenCV's built-in sRGB curve is a coarse spline)."""
    def curve(x):
        return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.04045) + 0.055) / 1.055) ** 2.4)

    if rgb.dtype == np.uint8:
        return cv2.LUT(rgb, curve(np.arange(256) / 255.0).astype(np.float32))
    if rgb.dtype == np.uint16:
        return curve(np.arange(65536) / 65535.0).astype(np.float32)[rgb]
    return curve(rgb.astype(np.float32, copy=False)).astype(np.float32, copy=False)


def _linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    out = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.maximum(lin, 0.0031308) ** (1 / 2.4) - 0.055)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def _to_rgb(image: np.ndarray, source: str) -> np.ndarray:
    if source == "rgb":
        return _rgb(image)
    if source == "gray":
        if image.ndim == 3:
            image = image[..., 0]
        if image.dtype == np.float64:
            return np.repeat(image[..., None], 3, axis=2)
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    if source == "ycrcb":
        return _ycrcb_to_rgb(_rgb(image))
    # hsv / lab: float quantities in, float32 RGB in [0, 1] out
    x = np.ascontiguousarray(image[..., :3], dtype=np.float32)
    if source == "lab":
        return _linear_to_srgb(cv2.cvtColor(x, cv2.COLOR_Lab2LRGB))
    out = cv2.cvtColor(x, cv2.COLOR_HSV2RGB_FULL)
    return np.clip(out, 0.0, 1.0, out=out)


def convert_color(image: np.ndarray, to: str = "gray", *, source: str = "rgb") -> np.ndarray:
    """Convert between RGB and gray, HSV, CIE Lab or YCrCb.

    See the module docstring for the channel ranges: gray and YCrCb keep the input dtype; HSV and
    Lab are float32 (H in degrees [0, 360), S, V in [0, 1]; L in [0, 100], a, b about [-128, 127]);
    HSV/Lab back to RGB gives float32 in [0, 1]. Conversions between two non-RGB spaces go through
    RGB. An alpha channel is dropped.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        An image in the ``source`` space (gray may be (H, W)).
    to : {"gray", "hsv", "lab", "ycrcb", "rgb"}
        The target space.
    source : {"rgb", "gray", "hsv", "lab", "ycrcb"}
        The space ``image`` is in.

    Returns
    -------
    ndarray
        (H, W) for gray, else (H, W, 3).

    Examples
    --------
    >>> px = np.array([[[255, 0, 0]]], np.uint8)
    >>> convert_color(px, "hsv").round(4)
    array([[[0., 1., 1.]]], dtype=float32)
    >>> convert_color(np.array([[[0.0, 1.0, 1.0]]], np.float32), "rgb", source="hsv")
    array([[[1., 0., 0.]]], dtype=float32)
    """
    check_choice(to, SPACES, name="to")
    check_choice(source, SPACES, name="source")
    hsv_lab = source in ("hsv", "lab")
    image = check_image(image, dtypes=(np.float32, np.float64) if hsv_lab else
                        (np.uint8, np.uint16, np.float32, np.float64))
    if source != "gray" and (image.ndim != 3 or image.shape[2] not in (3, 4)):
        raise ValueError(f"`image` in source space {source!r} must be (H, W, 3) or (H, W, 4); "
                         f"got shape {image.shape}" + (" (for a gray image pass source='gray')." if
                                                       image.ndim == 2 or image.shape[2] == 1 else "."))
    if source == "gray" and image.ndim == 3 and image.shape[2] != 1:
        raise ValueError(f"`image` in source space 'gray' must be (H, W) or (H, W, 1); got shape {image.shape}.")
    if to == source:
        return image[..., :3].copy() if image.ndim == 3 and to != "gray" else image.copy()
    rgb = _to_rgb(image, source)
    if to == "rgb":
        return rgb if rgb is not image else rgb.copy()
    if to == "gray":
        return to_gray(rgb)
    if to == "ycrcb":
        return _rgb_to_ycrcb(rgb)
    if to == "lab":
        return cv2.cvtColor(_srgb_to_linear(rgb), cv2.COLOR_LRGB2Lab)
    return cv2.cvtColor(to_float32(rgb), cv2.COLOR_RGB2HSV)
