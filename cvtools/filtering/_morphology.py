"""Grey-level and binary morphology with OpenCV: erosion, dilation and their combinations."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import check_choice
from ._common import odd_size, prep, same_shape

SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}
OPS = {"erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE, "open": cv2.MORPH_OPEN,
       "close": cv2.MORPH_CLOSE, "gradient": cv2.MORPH_GRADIENT, "tophat": cv2.MORPH_TOPHAT,
       "blackhat": cv2.MORPH_BLACKHAT}


def structuring_element(shape="rect", size=3):
    """A structuring element (footprint) of 0/1 values.

    Parameters
    ----------
    shape : {"rect", "ellipse", "cross"}
        The element's shape (OpenCV's ``getStructuringElement``).
    size : int or (rows, cols)
        Odd size (>= 1).

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
    return cv2.getStructuringElement(SHAPES[shape], (w, h))


def morphology(image, op, *, shape="rect", size=3, kernel=None, iterations=1):
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
        Odd element size.
    kernel : 2-D array, optional
        A custom element (non-zero = inside, odd sides); overrides ``shape`` and ``size``.
    iterations : int
        How many times erosion/dilation are applied inside the operation.

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
    if kernel is None:
        element = structuring_element(shape, size)
    else:
        element = np.asarray(kernel)
        if element.ndim != 2 or element.shape[0] % 2 == 0 or element.shape[1] % 2 == 0:
            raise ValueError(f"`kernel` must be 2-D with odd sides; got shape {element.shape}.")
        element = (element != 0).astype(np.uint8)
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 1:
        raise ValueError(f"`iterations` must be an integer >= 1; got {iterations!r}.")
    work = image.view(np.uint8) if image.dtype == np.bool_ else image
    out = cv2.morphologyEx(work, OPS[op], element, iterations=int(iterations))
    if image.dtype == np.bool_:
        out = out.view(np.bool_)
    return same_shape(out, image)
