"""Resize, crop, rotate, flip and pad: dtype and channels kept, inputs never modified."""
from __future__ import annotations

import math
import numbers
from typing import Literal

import cv2
import numpy as np

from .._shared import check_choice, check_image, cv2_border, BORDERS

#: Interpolation names -> OpenCV flags ("auto" picks area for shrinking, linear otherwise).
RESIZE_METHODS = {
    "auto": None,
    "nearest": cv2.INTER_NEAREST_EXACT,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}

_ROTATE_METHODS = ("nearest", "linear", "cubic", "lanczos")


def check_output_size(h: int, w: int, what: str) -> None:
    """Refuse a result larger than the pixel limit images are read with (``cvtools.io.get_max_pixels``,
    2**28 by default), before anything is allocated."""
    from ..io import get_max_pixels

    limit = get_max_pixels()
    if limit is not None and h * w > limit:
        raise ValueError(f"{what} would make a {w}x{h} image ({h * w:,} pixels), more than the pixel limit "
                         f"{limit:,}; raise it with cvtools.io.set_max_pixels() or CVTOOLS_MAX_PIXELS.")


def _round_size(x: float) -> int:
    return max(1, int(math.floor(x + 0.5)))


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def resized_shape(shape: tuple[int, ...], *, scale: float | None = None, width: int | None = None,
                  height: int | None = None, size: tuple[int, int] | None = None,
                  max_side: int | None = None) -> tuple[int, int]:
    """The ``(height, width)`` that :func:`resize` produces for an image of ``shape``.

    >>> resized_shape((1080, 1920), scale=0.5)
    (540, 960)
    >>> resized_shape((1080, 1920), width=640)
    (360, 640)
    >>> resized_shape((1080, 1920), max_side=640), resized_shape((300, 400), max_side=640)
    ((360, 640), (300, 400))
    """
    h, w = int(shape[0]), int(shape[1])
    given = [n for n, v in (("scale", scale), ("width/height", width if width is not None else height),
                            ("size", size), ("max_side", max_side)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"resize needs exactly one of `scale`, `width`/`height`, `size` or `max_side`; "
                         f"got {', '.join(given) if given else 'none'}.")
    if max_side is not None:
        if not (_is_int(max_side) and max_side >= 1):
            raise ValueError(f"`max_side` must be an integer >= 1; got {max_side!r}.")
        if max(h, w) <= max_side:  # shrink only: never enlarges
            return h, w
        if h >= w:
            return int(max_side), _round_size(w * max_side / h)
        return _round_size(h * max_side / w), int(max_side)
    if scale is not None:
        if not _is_number(scale) or not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"`scale` must be a number > 0; got {scale!r}.")
        return _round_size(h * scale), _round_size(w * scale)
    if size is not None:
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or not all(_is_int(v) and v >= 1 for v in size)):
            raise ValueError(f"`size` must be (width, height), two integers >= 1; got {size!r}.")
        return int(size[1]), int(size[0])
    for name, v in (("width", width), ("height", height)):
        if v is not None and not (_is_int(v) and v >= 1):
            raise ValueError(f"`{name}` must be an integer >= 1; got {v!r}.")
    if width is not None and height is not None:
        return int(height), int(width)
    if width is not None:
        return _round_size(h * width / w), int(width)
    return int(height), _round_size(w * height / h)


def resize(image: np.ndarray, *, scale: float | None = None, width: int | None = None, height: int | None = None,
           size: tuple[int, int] | None = None, max_side: int | None = None,
           method: Literal["auto", "nearest", "linear", "cubic", "area", "lanczos"] = "auto") -> np.ndarray:
    """Resize an image by a scale factor, to a width and/or height, to an exact size, or shrink it to fit.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image; uint8, uint16, float32 or float64.
    scale : float, optional
        Multiply both sides by this factor; the new sides are rounded to the nearest integer (min 1).
    width : int, optional
        New width in pixels; alone, the height follows to keep the aspect ratio.
    height : int, optional
        New height in pixels; alone, the width follows to keep the aspect ratio.
    size : tuple of int, optional
        Exact ``(width, height)``.
    max_side : int, optional
        Shrink only: scale so that the longer side is ``max_side`` pixels (aspect ratio kept); an
        image already that small or smaller is returned unchanged (a copy), never enlarged.
    method : {"auto", "nearest", "linear", "cubic", "area", "lanczos"}
        Interpolation. ``"auto"`` uses area averaging when both sides shrink (no aliasing) and
        bilinear otherwise.

    Returns
    -------
    ndarray
        The resized image, same dtype and channels (uint8/uint16 saturate). A result of more pixels
        than the read limit (:func:`cvtools.io.get_max_pixels`, 2**28 by default) is refused with
        ``ValueError`` before anything is allocated.

    Examples
    --------
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> resize(img, scale=0.5)
    array([[ 3,  5],
           [11, 13]], dtype=uint8)
    >>> resize(img, max_side=2).shape, resize(img, max_side=100).shape
    ((2, 2), (4, 4))
    """
    image = check_image(image)
    check_choice(method, tuple(RESIZE_METHODS), name="method")
    h, w = image.shape[:2]
    nh, nw = resized_shape(image.shape, scale=scale, width=width, height=height, size=size, max_side=max_side)
    given = next(f"`{n}` {v!r}" for n, v in (("scale", scale), ("width", width), ("height", height), ("size", size),
                                              ("max_side", max_side)) if v is not None)
    check_output_size(nh, nw, given)
    if (nh, nw) == (h, w):
        return image.copy()
    flag = RESIZE_METHODS[method]
    if flag is None:
        flag = cv2.INTER_AREA if nh <= h and nw <= w else cv2.INTER_LINEAR
    out = cv2.resize(image, (nw, nh), interpolation=flag)
    if out.ndim == 2 and image.ndim == 3:  # OpenCV drops a trailing axis of size 1
        out = out[..., None]
    return out


def crop(image: np.ndarray, *, box: tuple[float, float, float, float] | None = None, width: int | None = None,
         height: int | None = None) -> np.ndarray:
    """Cut out a rectangle: an ``xyxy`` box, or a centred ``width`` x ``height`` window.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image.
    box : tuple of float, optional
        ``(x0, y0, x1, y1)`` in pixels (x right, y down; x1, y1 exclusive), rounded to the nearest
        integer; must lie inside the image.
    width : int, optional
        Width of a centred crop (default: the full width when only ``height`` is given).
    height : int, optional
        Height of a centred crop (default: the full height when only ``width`` is given).

    Returns
    -------
    ndarray
        A new array (not a view of ``image``).

    Examples
    --------
    >>> img = np.arange(20, dtype=np.uint8).reshape(4, 5)
    >>> crop(img, box=(1, 1, 3, 3))
    array([[ 6,  7],
           [11, 12]], dtype=uint8)
    >>> crop(img, width=3, height=2)
    array([[ 6,  7,  8],
           [11, 12, 13]], dtype=uint8)
    """
    image = check_image(image)
    h, w = image.shape[:2]
    if box is not None:
        if width is not None or height is not None:
            raise ValueError("give either `box` or `width`/`height` to crop, not both.")
        if not isinstance(box, (tuple, list)) or len(box) != 4 or not all(_is_number(v) for v in box):
            raise ValueError(f"`box` must be (x0, y0, x1, y1), four numbers; got {box!r}.")
        x0, y0, x1, y1 = (int(math.floor(float(v) + 0.5)) for v in box)
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"`box` {tuple(box)} must satisfy 0 <= x0 < x1 <= {w} and 0 <= y0 < y1 <= {h} "
                             f"(the image is {w}x{h}).")
    else:
        if width is None and height is None:
            raise ValueError("crop needs `box`, or `width` and/or `height` for a centred crop.")
        cw = w if width is None else width
        ch = h if height is None else height
        for name, v, limit in (("width", cw, w), ("height", ch, h)):
            if not _is_int(v) or not 1 <= v <= limit:
                raise ValueError(f"`{name}` must be an integer in 1..{limit} (the image is {w}x{h}); got {v!r}.")
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        x1, y1 = x0 + cw, y0 + ch
    return np.ascontiguousarray(image[y0:y1, x0:x1]).copy()


def _border_value(value, image) -> tuple:
    if not _is_number(value):
        raise TypeError(f"`value` must be a number; got {value!r}.")
    if image.dtype.kind == "u":
        top = np.iinfo(image.dtype).max
        if not 0 <= value <= top:
            raise ValueError(f"`value` must be in 0..{top} for a {image.dtype} image; got {value!r}.")
    return (float(value),) * 4


def rotate(image: np.ndarray, angle: float, *, expand: bool = False,
           method: Literal["nearest", "linear", "cubic", "lanczos"] = "linear",
           border: Literal["constant", "edge", "reflect", "symmetric", "wrap"] = "constant",
           value: float = 0.0) -> np.ndarray:
    """Rotate an image about its centre, counter-clockwise by ``angle`` degrees.

    Multiples of 90 degrees are exact (pixels moved, not interpolated) when the result keeps all
    pixels: with ``expand=True``, for 180 degrees, or for a square image.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image.
    angle : float
        Degrees, counter-clockwise as seen on screen.
    expand : bool
        Enlarge the output so the whole rotated image fits (default: keep the input's size,
        cutting the corners).
    method : {"nearest", "linear", "cubic", "lanczos"}
        Interpolation for angles that are not multiples of 90.
    border : {"constant", "edge", "reflect", "symmetric", "wrap"}
        How uncovered pixels are filled (numpy.pad names).
    value : float
        Fill value for ``border="constant"``.

    Returns
    -------
    ndarray
        Same dtype and channels as ``image``.

    Examples
    --------
    >>> img = np.array([[1, 2], [3, 4]], np.uint8)
    >>> rotate(img, 90)
    array([[2, 4],
           [1, 3]], dtype=uint8)
    """
    image = check_image(image)
    if not _is_number(angle) or not math.isfinite(angle):
        raise TypeError(f"`angle` must be a finite number of degrees; got {angle!r}.")
    check_choice(method, _ROTATE_METHODS, name="method")
    check_choice(border, tuple(BORDERS), name="border")
    if not isinstance(expand, (bool, np.bool_)):
        raise TypeError(f"`expand` must be True or False; got {expand!r}.")
    h, w = image.shape[:2]
    fill = _border_value(value, image)
    if float(angle) % 90 == 0:
        k = int(round(float(angle) / 90)) % 4
        if k == 0:
            return image.copy()
        if expand or k == 2 or h == w:
            return np.ascontiguousarray(np.rot90(image, k))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    m = cv2.getRotationMatrix2D((cx, cy), float(angle), 1.0)
    nw, nh = w, h
    if expand:
        c, s = abs(m[0, 0]), abs(m[0, 1])
        nw = max(1, int(math.ceil(w * c + h * s - 1e-6)))
        nh = max(1, int(math.ceil(w * s + h * c - 1e-6)))
        check_output_size(nh, nw, f"rotate by {angle!r} degrees with expand=True")
        m[0, 2] += (nw - 1) / 2.0 - cx
        m[1, 2] += (nh - 1) / 2.0 - cy
    flags = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
             "lanczos": cv2.INTER_LANCZOS4}[method]
    out = cv2.warpAffine(image, m, (nw, nh), flags=flags, borderMode=cv2_border(border), borderValue=fill)
    if out.ndim == 2 and image.ndim == 3:
        out = out[..., None]
    return out


def flip(image: np.ndarray, direction: Literal["horizontal", "vertical", "both"] = "horizontal") -> np.ndarray:
    """Mirror an image left-right (``"horizontal"``), upside down (``"vertical"``) or both.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image.
    direction : {"horizontal", "vertical", "both"}
        ``"horizontal"`` swaps left and right; ``"vertical"`` swaps top and bottom.

    Returns
    -------
    ndarray
        A new array.

    Examples
    --------
    >>> flip(np.array([[1, 2, 3]], np.uint8))
    array([[3, 2, 1]], dtype=uint8)
    """
    image = check_image(image)
    check_choice(direction, ("horizontal", "vertical", "both"), name="direction")
    if direction == "horizontal":
        out = image[:, ::-1]
    elif direction == "vertical":
        out = image[::-1]
    else:
        out = image[::-1, ::-1]
    return np.ascontiguousarray(out)


def pad(image: np.ndarray, width: int | tuple[int, ...], *,
        border: Literal["constant", "edge", "reflect", "symmetric", "wrap"] = "constant",
        value: float = 0.0) -> np.ndarray:
    """Add a border around an image.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image.
    width : int or tuple of int
        Pixels to add: one number for every side, ``(vertical, horizontal)``, or
        ``(top, bottom, left, right)``.
    border : {"constant", "edge", "reflect", "symmetric", "wrap"}
        How the new pixels are filled, with numpy.pad's meaning.
    value : float
        Fill value for ``border="constant"``.

    Returns
    -------
    ndarray
        Same dtype and channels, ``top + H + bottom`` by ``left + W + right`` (at most the read pixel
        limit, as :func:`resize`).

    Examples
    --------
    >>> pad(np.array([[1, 2]], np.uint8), (0, 0, 1, 2), border="edge")
    array([[1, 1, 2, 2, 2]], dtype=uint8)
    """
    image = check_image(image)
    check_choice(border, tuple(BORDERS), name="border")
    widths = (width,) if _is_int(width) else tuple(width) if isinstance(width, (tuple, list)) else None
    if widths is None or len(widths) not in (1, 2, 4) or not all(_is_int(v) and v >= 0 for v in widths):
        raise ValueError(f"`width` must be an integer >= 0, (vertical, horizontal) or "
                         f"(top, bottom, left, right); got {width!r}.")
    if len(widths) == 1:
        top = bottom = left = right = int(widths[0])
    elif len(widths) == 2:
        top = bottom = int(widths[0])
        left = right = int(widths[1])
    else:
        top, bottom, left, right = (int(v) for v in widths)
    check_output_size(top + image.shape[0] + bottom, left + image.shape[1] + right, f"`width` {width!r}")
    spec = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    if border == "constant":
        fill = _border_value(value, image)[0]
        return np.pad(image, spec, mode="constant", constant_values=np.asarray(fill).astype(image.dtype))
    return np.pad(image, spec, mode=border)
