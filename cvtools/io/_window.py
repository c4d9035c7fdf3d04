"""Showing an image in an OpenCV window: the RGB -> BGR swap of ``cv2.imshow`` done here, in ``io``."""
from __future__ import annotations

import cv2
import numpy as np

from .._shared import CvtoolsError
from ._color import rgb_to_bgr


class WindowError(CvtoolsError, RuntimeError):
    """No OpenCV window can open here (a headless OpenCV build, or no display)."""


def show_window(image: np.ndarray, title: str = "cvtools") -> None:
    """Show an RGB(A) or gray image in the OpenCV window ``title`` (created on first use).

    ``cv2.imshow`` takes OpenCV's BGR order; this is the one place that swaps for it. As with
    ``cv2.imshow``, the window is drawn when the caller's event loop runs (``cv2.waitKey``).

    Parameters
    ----------
    image : (H, W), (H, W, 3) RGB or (H, W, 4) RGBA ndarray
        The image; not modified.
    title : str
        The window's title, which also names it.

    Raises
    ------
    WindowError
        When OpenCV cannot open a window (headless build: "The function is not implemented").

    Examples
    --------
    >>> try:  # a headless OpenCV (opencv-python-headless) has no windows
    ...     show_window(np.zeros((4, 4, 3), np.uint8), "example")
    ... except WindowError as exc:
    ...     print("no window:", "cvtools.io.show_window" in str(exc))
    no window: True
    """
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"`image` must be a non-empty (H, W) or (H, W, C) array; got "
                         f"{getattr(image, 'shape', type(image).__name__)}.")
    try:
        cv2.imshow(str(title), rgb_to_bgr(np.ascontiguousarray(image)))
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WindowError(f"cvtools.io.show_window: OpenCV cannot open a window ({reason}).") from exc
