"""Grey-level and binary morphology with OpenCV: erosion, dilation and their combinations."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import check_choice
from .._shared._element import element as _element
from ._common import odd_size, prep, same_shape

def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}
OPS = {"erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE, "open": cv2.MORPH_OPEN,
       "close": cv2.MORPH_CLOSE, "gradient": cv2.MORPH_GRADIENT, "tophat": cv2.MORPH_TOPHAT,
       "blackhat": cv2.MORPH_BLACKHAT}


#: Most cells a structuring element may have (the default image pixel limit, 2**28).
MAX_ELEMENT_CELLS = 2 ** 28


def structuring_element(shape: str = "rect", size: int | tuple[int, int] = 3) -> np.ndarray:
    """A structuring element (footprint) of 0/1 values.

    Parameters
    ----------
    shape : {"rect", "ellipse", "cross"}
        The element's shape (OpenCV's ``getStructuringElement``).
    size : int or (rows, cols)
        Odd size (>= 1), at most :data:`MAX_ELEMENT_CELLS` (2**28) cells.

    Returns
    -------
    (rows, cols) ndarray of uint8
        1 inside the element, 0 outside.

    Examples
    --------
    >>> structuring_element("cross", 3)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]], dtype=uint8)
    """
    check_choice(shape, tuple(SHAPES), name="shape")
    h, w = odd_size(size)
    if h * w > MAX_ELEMENT_CELLS:
        raise ValueError(f"`size` {size!r} makes an element of {h * w:,} cells; at most {MAX_ELEMENT_CELLS:,}.")
    return _element(shape, (h, w))


def morphology(image: np.ndarray, op: str, *, shape: str = "rect", size: int | tuple[int, int] = 3,
               kernel: np.ndarray | None = None, iterations: int = 1) -> np.ndarray:
    """Morphological operation with a flat structuring element.

    ``erode`` (local minimum), ``dilate`` (local maximum), ``open`` (erode then dilate: removes small
    bright details), ``close`` (dilate then erode: fills small dark gaps), ``gradient`` (dilate - erode:
    outlines), ``tophat`` (image - open: small bright details), ``blackhat`` (close - image: small
    dark details). Pixels outside the image are ignored (they never win the min/max). Every channel
    is processed separately. Boolean masks are supported and stay boolean.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        bool, uint8, uint16, float32 or float64.
    op : {"erode", "dilate", "open", "close", "gradient", "tophat", "blackhat"}
        The operation.
    shape : {"rect", "ellipse", "cross"}
        Element shape (see :func:`structuring_element`).
    size : int or (rows, cols)
        Odd element size. Only the part that can reach from one pixel of the image to another
        (``2 H - 1`` x ``2 W - 1``) is used, which changes nothing since outside pixels are ignored.
    kernel : 2-D array, optional
        A custom element (non-zero = inside, odd sides); overrides ``shape`` and ``size``.
    iterations : int
        How many times erosion/dilation are applied inside the operation. With ``shape`` elements
        the result stops changing after ``H + W`` iterations, so more are cut to that (same
        result, bounded cost); with a custom ``kernel`` at most ``H + W`` are accepted.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 9
    >>> morphology(img, "dilate", shape="cross")[1:4, 1:4]
    array([[0, 9, 0],
           [9, 9, 9],
           [0, 9, 0]], dtype=uint8)
    """
    check_choice(op, tuple(OPS), name="op")
    image = prep(image, dtypes=(np.bool_, np.uint8, np.uint16, np.float32, np.float64))
    h, w = image.shape[:2]
    reach = (2 * h - 1, 2 * w - 1)  # offsets beyond these never join two pixels of the image
    if kernel is None:
        check_choice(shape, tuple(SHAPES), name="shape")
        element = _element(shape, odd_size(size), crop=reach)
    else:
        try:
            element = np.asarray(kernel)
        except ValueError:
            raise ValueError(f"`kernel` must be a 2-D array with odd sides; got a ragged sequence "
                             f"{_short(kernel)}.") from None
        if element.dtype.kind not in "biuf":
            raise TypeError(f"`kernel` must hold numbers (non-zero = inside); got dtype {element.dtype}.")
        if element.ndim != 2 or element.shape[0] % 2 == 0 or element.shape[1] % 2 == 0:
            raise ValueError(f"`kernel` must be 2-D with odd sides; got shape {element.shape}.")
        y0, x0 = (max(0, (k - c) // 2) for k, c in zip(element.shape, reach))
        element = (element[y0:element.shape[0] - y0, x0:element.shape[1] - x0] != 0).astype(np.uint8)
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 1:
        raise ValueError(f"`iterations` must be an integer >= 1; got {iterations!r}.")
    if iterations > h + w:
        if kernel is not None:
            raise ValueError(f"`iterations` {iterations} is more than a {h}x{w} image needs: at most "
                             f"{h + w} with a custom `kernel`.")
        # rect/ellipse/cross elements contain their centre and a cross: after (H - 1) + (W - 1)
        # steps every pixel already reaches all it ever can (paths stay inside the image)
        iterations = h + w
    work = image.view(np.uint8) if image.dtype == np.bool_ else image
    out = cv2.morphologyEx(work, OPS[op], element, iterations=int(iterations))
    if image.dtype == np.bool_:
        out = out.view(np.bool_)
    return same_shape(out, image)
