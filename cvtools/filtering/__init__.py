"""Filtering: smoothing, sharpening, denoising, derivatives and edges, morphology, synthetic noise.

Thin, dtype-honest wrappers over OpenCV's kernels (scipy / scikit-image where OpenCV lacks a
dtype or size). Every function takes an image (``(H, W)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA;
uint8, uint16, float32 or float64), never mutates it, and returns the same dtype for images; derivatives
and magnitudes are float32. Borders use numpy.pad's names: ``"reflect"`` (default), ``"constant"``
(zeros), ``"edge"``, ``"symmetric"``, ``"wrap"``.
"""
from ._edges import canny, gradient, laplacian, prewitt, scharr, sobel
from ._morphology import morphology, structuring_element
from ._noise import add_noise
from ._smooth import bilateral, box, denoise, gaussian, median, sharpen, unsharp_mask

__all__ = [
    "gaussian", "box", "median", "bilateral", "denoise", "unsharp_mask", "sharpen",
    "sobel", "scharr", "prewitt", "gradient", "laplacian", "canny",
    "morphology", "structuring_element", "add_noise",
]
