"""Intensity transforms: point operations, histograms, equalisation, thresholds, colour spaces.

The scikit-image ``exposure`` / ``color`` analogue, at OpenCV speed. Every function takes an image
(``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA; uint8, uint16, float32 or float64) and
never mutates it. Image-valued results keep the input dtype (no silent rescaling); other
quantities (z-scores, HSV, Lab) are float32.
"""
from ._color import convert_color, to_gray
from ._histogram import clahe, equalize, histogram, match_histograms
from ._point import bit_plane, contrast_stretch, gamma, invert, log_transform, normalize
from ._threshold import threshold

__all__ = [
    "invert", "log_transform", "gamma", "contrast_stretch", "normalize", "bit_plane",
    "histogram", "equalize", "clahe", "match_histograms",
    "threshold", "to_gray", "convert_color",
]
