"""Hand-made image features for the classic recogniser and the novelty detectors."""
from __future__ import annotations

import numpy as np

from ._data import check_size, prepare_batch

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from collections.abc import Sequence

#: HOG settings used everywhere in cvtools.recognize (Dalal & Triggs 2005: 9 orientations, 2x2 blocks).
HOG_PARAMS = {"orientations": 9, "cells": 8, "cells_per_block": 2}


def hog_length(image_size) -> int:
    """Length of a :func:`hog_features` row for images resized to ``image_size = (h, w)``.

    skimage's HOG keeps whole cells only (``h // cell_h`` of them) and slides 2 x 2 blocks one cell
    at a time, 9 orientations each.

    >>> hog_length((32, 32))
    1764
    """
    cells = HOG_PARAMS["cells"]
    block = HOG_PARAMS["cells_per_block"]
    n = 1
    for side in image_size:
        n *= side // max(side // cells, 1) - block + 1
    return n * block * block * HOG_PARAMS["orientations"]


def hog_features(images: Sequence | np.ndarray, *, image_size: int | tuple[int, int] =64, channels: int = 1) -> np.ndarray:
    """Histogram-of-oriented-gradient descriptors, one row per image.

    Each image is resized to ``image_size`` and split into an 8 x 8 grid of cells (so the length
    does not depend on the size), 9 orientation bins, L2-Hys normalised 2 x 2 blocks
    (scikit-image's :func:`skimage.feature.hog`). With ``channels=3`` the gradient of the
    strongest colour channel is used at each pixel.

    Parameters
    ----------
    images : image, path, or sequence of them
        See :func:`cvtools.recognize.train` for what is accepted.
    image_size : int or (int, int)
        Size the images are resized to before the HOG (height, width).
    channels : {1, 3}
        Work on luma (1) or on colour (3).

    Returns
    -------
    (N, D) float32 ndarray

    Examples
    --------
    >>> f = hog_features(np.zeros((2, 32, 32), np.uint8), image_size=32)
    >>> f.shape, f.dtype.name
    ((2, 1764), 'float32')
    """
    from skimage.feature import hog

    size = check_size(image_size)
    batch = prepare_batch(images, size=size, channels=channels)
    cells = HOG_PARAMS["cells"]
    ppc = (max(size[0] // cells, 1), max(size[1] // cells, 1))
    rows = []
    for im in batch:
        rows.append(hog(im if channels == 3 else im[..., 0], orientations=HOG_PARAMS["orientations"],
                        pixels_per_cell=ppc, cells_per_block=(HOG_PARAMS["cells_per_block"],) * 2,
                        block_norm="L2-Hys", channel_axis=-1 if channels == 3 else None,
                        feature_vector=True))
    return np.asarray(rows, np.float32).reshape(len(batch), -1)
