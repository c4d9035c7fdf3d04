"""One border vocabulary (numpy.pad's names), mapped once to OpenCV's and scipy's."""
from __future__ import annotations

import cv2

from ._validate import check_choice

#: numpy.pad mode -> (OpenCV border flag, scipy.ndimage mode)
BORDERS = {
    "constant": (cv2.BORDER_CONSTANT, "constant"),
    "edge": (cv2.BORDER_REPLICATE, "nearest"),
    "reflect": (cv2.BORDER_REFLECT_101, "mirror"),
    "symmetric": (cv2.BORDER_REFLECT, "reflect"),
    "wrap": (cv2.BORDER_WRAP, "wrap"),
}


def cv2_border(border: str) -> int:
    """OpenCV's border flag for a numpy.pad mode name.

    >>> cv2_border("reflect") == cv2.BORDER_REFLECT_101
    True
    """
    return BORDERS[check_choice(border, tuple(BORDERS), name="border")][0]


def scipy_mode(border: str) -> str:
    """scipy.ndimage's mode name for a numpy.pad mode name.

    >>> scipy_mode("symmetric")
    'reflect'
    """
    return BORDERS[check_choice(border, tuple(BORDERS), name="border")][1]
