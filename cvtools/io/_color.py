"""Channel order swaps between cvtools (RGB/RGBA) and OpenCV's codecs (BGR/BGRA)."""
from __future__ import annotations

import cv2
import numpy as np

_CV_DTYPES = (np.uint8, np.uint16, np.float32)


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Swap OpenCV's BGR(A) to RGB(A); gray passes through. Never modifies its input.

    >>> bgr_to_rgb(np.array([[[1, 2, 3]]], np.uint8))
    array([[[3, 2, 1]]], dtype=uint8)
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        return image
    if image.dtype in _CV_DTYPES:
        code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        return cv2.cvtColor(image, code)
    order = [2, 1, 0] if image.shape[2] == 3 else [2, 1, 0, 3]
    return np.ascontiguousarray(image[..., order])


rgb_to_bgr = bgr_to_rgb  # the swap is its own inverse
