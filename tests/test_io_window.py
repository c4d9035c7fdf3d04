"""cvtools.io.show_window: the one place where cv2.imshow gets OpenCV's BGR order."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvtools._shared import CvtoolsError
from cvtools.io import WindowError, show_window


def test_show_window_hands_opencv_bgr_and_leaves_the_image_alone(monkeypatch):
    shown = []
    monkeypatch.setattr(cv2, "imshow", lambda title, image: shown.append((title, image.copy())))
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5)
    show_window(rgb, "t")
    show_window(gray)
    assert shown[0][0] == "t" and shown[1][0] == "cvtools"
    np.testing.assert_array_equal(shown[0][1], rgb[..., ::-1])  # blue-green-red, as OpenCV reads it
    np.testing.assert_array_equal(shown[1][1], gray)
    assert rgb[..., 0].min() == 200 and not rgb[..., 2].any()


def test_show_window_without_a_gui_is_a_clear_error(monkeypatch):
    def headless(title, image):
        raise cv2.error("OpenCV(4.10.0) window.cpp:1301: error: (-2:Unspecified error) The function is not "
                        "implemented. Rebuild the library with Windows, GTK+ 2.x or Cocoa support.")

    monkeypatch.setattr(cv2, "imshow", headless)
    with pytest.raises(WindowError, match="cannot open a window.*not implemented") as info:
        show_window(np.zeros((2, 2, 3), np.uint8))
    assert isinstance(info.value, CvtoolsError) and isinstance(info.value, RuntimeError)
    with pytest.raises(ValueError, match="`image` must be"):
        show_window(np.zeros((0, 3), np.uint8))
