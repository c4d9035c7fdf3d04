"""Flat structuring elements (the footprints of morphology), shared by ``filtering`` and ``generative``."""
from __future__ import annotations

import numpy as np

# OpenCV's MORPH_RECT, MORPH_CROSS, MORPH_ELLIPSE (cv2 is imported only when an element is built)
_CV2_SHAPES = {"rect": 0, "cross": 1, "ellipse": 2}


def element(shape: str, size: tuple[int, int], crop: tuple[int, int] | None = None) -> np.ndarray:
    """The centre ``crop`` (rows, cols; odd) of the ``size`` element, without building all of it.

    Follows OpenCV's ``getStructuringElement`` row by row (the ellipse's half-width per row is
    ``round(c * sqrt(r^2 - dy^2) / r)``), so it equals the centre of OpenCV's element exactly.
    """
    kh, kw = size
    ch, cw = (kh, kw) if crop is None else (min(crop[0], kh), min(crop[1], kw))
    if (ch, cw) == (kh, kw) and kh * kw <= 2 ** 24:
        import cv2

        return cv2.getStructuringElement(_CV2_SHAPES[shape], (kw, kh))
    r, c = kh // 2, kw // 2
    dy = np.arange(-(ch // 2), ch // 2 + 1)
    dx = np.arange(-(cw // 2), cw // 2 + 1)
    if shape == "rect":
        return np.ones((ch, cw), np.uint8)
    if shape == "cross":
        return ((dy[:, None] == 0) | (dx[None, :] == 0)).astype(np.uint8)
    # OpenCV: inv_r2 = 0 when r = 0, so a one-row "ellipse" is its centre pixel alone
    half = np.rint(c * np.sqrt(np.maximum(r * r - dy.astype(np.float64) ** 2, 0) / (r * r))) if r else \
        np.zeros(len(dy))
    return (np.abs(dx)[None, :] <= half[:, None]).astype(np.uint8)
