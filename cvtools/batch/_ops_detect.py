"""Detection as a pipeline operation: draw what a detector finds on the image."""
from __future__ import annotations

import functools
from typing import Literal

from ._registry import check_range, register

#: Detectors that make sense on single images with default options (checked when a pipeline is parsed).
DetectorName = Literal["face", "face-haar", "face-dlib-hog", "face-dlib-cnn", "eyes", "smile", "person",
                       "upper-body", "full-body", "cat-face", "plate", "qr", "barcode", "aruco", "blob"]


@functools.lru_cache(maxsize=8)
def _detector(name: str, min_size):
    from ..detect import get

    opts = {} if min_size is None or name not in _MIN_SIZE_DETECTORS else {"min_size": min_size}
    return get(name, **opts)


_MIN_SIZE_DETECTORS = {"face", "face-haar", "face-dlib-hog", "face-dlib-cnn", "eyes", "smile", "upper-body",
                       "full-body", "cat-face", "plate"}


def _check(params: dict) -> dict:
    check_range("detect", params, "min_size", low=0, low_open=True)
    return params


@register("detect", prepare=_check, probe=False)  # probing would load a detector in the parent
def detect(image, *, detector: DetectorName = "face", min_size: float | None = None, labels: bool = True,
           scores: bool = True):
    """Draw the boxes and labels a detector finds (cvtools.detect) on the image.

    Parameters
    ----------
    detector : str
        Detector name, as listed by `cvtools detect --list` (face, face-haar, qr, barcode, aruco,
        person, eyes, ...; blob uses Otsu's threshold). The stateful ``motion`` and the
        ``template`` detector (which needs a patch) are not available here.
    min_size : float, optional
        Smallest object width in pixels, for face and cascade detectors (default: automatic).
    labels : bool
        Draw captions (label, score, decoded text).
    scores : bool
        Include scores in captions.
    """
    from ..viz import draw_detections

    det = _detector(detector, min_size).detect(image)
    out = draw_detections(image, det, labels=labels, show_scores=scores)
    return out
