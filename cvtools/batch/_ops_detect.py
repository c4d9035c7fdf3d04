"""Detection as a pipeline operation: draw what a detector finds on the image."""
from __future__ import annotations

import functools
from typing import Literal

from ._registry import check_range, register

#: Registered detectors left out: ``motion`` keeps state across frames and ``template`` needs a patch.
_EXCLUDED = ("motion", "template")


def _detector_names() -> tuple[str, ...]:
    """Every registered detector usable on single images with default options (the registry decides)."""
    from ..detect import detectors

    return tuple(d.name for d in detectors() if d.name not in _EXCLUDED)


#: Checked when a pipeline is parsed; generated from ``cvtools.detect.detectors()``.
DetectorName = Literal[_detector_names()]


@functools.lru_cache(maxsize=8)
def _detector(name: str, min_size):
    """``(detector, filter_width)``: ``min_size`` goes to detectors that take it (cascades, dlib), else the
    detections narrower than it are dropped afterwards (the CNNs find faces from ~10 px at any size)."""
    from ..detect import get

    if min_size is None:
        return get(name), None
    try:
        return get(name, min_size=min_size), None
    except TypeError:  # the detector has no min_size option
        return get(name), float(min_size)


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
        Detector name, as listed by `cvtools detect --list` (face = YuNet, face-accurate, objects,
        person, face-haar, face-dlib-hog, qr, barcode, aruco, ...; blob uses Otsu's threshold). The
        stateful ``motion`` and the ``template`` detector (which needs a patch) are not available here.
    min_size : float, optional
        Smallest object width in pixels: the cascade and dlib detectors look for nothing smaller (and
        run faster); for the others, narrower detections are dropped. Default: the detector's own.
    labels : bool
        Draw captions (label, score, decoded text).
    scores : bool
        Include scores in captions.
    """
    from ..viz import draw_detections

    det, min_width = _detector(detector, min_size)
    found = det.detect(image)
    if min_width is not None and len(found):
        found = found[(found.xyxy[:, 2] - found.xyxy[:, 0]) >= min_width]
    return draw_detections(image, found, labels=labels, show_scores=scores)
