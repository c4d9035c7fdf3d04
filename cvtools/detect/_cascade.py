"""OpenCV Haar/LBP cascade detectors (Viola & Jones 2001), with the cascades shipped in opencv-python."""
from __future__ import annotations

import os

import numpy as np

from .._shared import check_number, check_positive_int, check_unit
from ._base import Detector, auto_min_size, margin_to_score, options_like, register_detector, to_gray_u8
from .._shared._detections import Detections

__all__ = ["CascadeDetector", "CASCADES"]

#: detector name -> (cascade file in cv2.data.haarcascades, label, window size (w, h), default min size rule)
CASCADES = {
    "face-haar": ("haarcascade_frontalface_default.xml", "face", (24, 24)),
    "eyes": ("haarcascade_eye.xml", "eye", (20, 20)),
    "smile": ("haarcascade_smile.xml", "smile", (36, 18)),
    "upper-body": ("haarcascade_upperbody.xml", "upper-body", (22, 18)),
    "full-body": ("haarcascade_fullbody.xml", "person", (14, 28)),
    "cat-face": ("haarcascade_frontalcatface_extended.xml", "cat-face", (24, 24)),
    "plate": ("haarcascade_russian_plate_number.xml", "plate", (60, 20)),
}


def _cascade_path(filename: str) -> str:
    import cv2

    return os.path.join(cv2.data.haarcascades, filename)


class CascadeDetector(Detector):
    """A Haar cascade run with ``cv2.CascadeClassifier.detectMultiScale``.

    Parameters
    ----------
    cascade : str
        A cascade file name in ``cv2.data.haarcascades`` or a path to a cascade XML.
    label : str
        The label given to every detection.
    scale_factor : float
        Pyramid step (> 1). 1.1 finds more, 1.2 (default) is about twice as fast.
    min_neighbors : int
        How many overlapping raw hits a detection needs (OpenCV's default, 3); higher means fewer
        false positives and fewer faces (``smile`` uses 15: its raw hits are very noisy).
    min_size : float or None
        Smallest object width in pixels. None: 10 % of the image's shorter side, clipped to
        [32, 48] px (48 px on 640x480). The image is shrunk so that this size maps to the cascade's
        window before scanning, which is what makes large ``min_size`` fast; boxes are mapped back.
    max_size : float or None
        Largest object width in pixels (None: no limit).
    in_faces : bool
        For ``eyes`` and ``smile``: search only inside faces found by ``face-haar`` (upper half
        for eyes, lower half for smiles), which removes most false positives.
    threshold : float
        Minimum score in [0, 1] (default 0: every detection the cascade accepts).

    Notes
    -----
    Scores are the cascade's final-stage weights ``w`` (``detectMultiScale3`` level weights) mapped to
    [0, 1] by ``1 / (1 + exp(-w / 2))``; the weights are in ``data["raw_score"]``. They rank the
    detections but are not calibrated probabilities.
    """

    def __init__(self, cascade: str, *, label: str, window=(24, 24), name: str = "cascade",
                 scale_factor: float = 1.2, min_neighbors: int = 3, min_size=None, max_size=None,
                 in_faces: bool = False, region: str | None = None, threshold: float = 0.0):
        import cv2

        path = cascade if os.path.isfile(cascade) else _cascade_path(cascade)
        self._clf = cv2.CascadeClassifier(path)
        if self._clf.empty():
            raise ValueError(f"`cascade` {cascade!r} could not be loaded as an OpenCV cascade.")
        self.name = name
        self.label = str(label)
        self.window = tuple(int(w) for w in window)
        self.scale_factor = check_number(scale_factor, name="scale_factor", minimum=1.0, strict=True)
        self.min_neighbors = check_positive_int(min_neighbors, name="min_neighbors", minimum=0)
        if min_size is not None:
            auto_min_size((1, 1), min_size)
        if max_size is not None:
            check_number(max_size, name="max_size", minimum=0, strict=True)
        self.min_size = min_size
        self.max_size = max_size
        self.threshold = check_unit(threshold, name="threshold")
        self.in_faces = bool(in_faces)
        self.region = region
        self._faces = CascadeDetector(CASCADES["face-haar"][0], label="face", name="face-haar") \
            if self.in_faces else None
        self.options = {"scale_factor": self.scale_factor, "min_neighbors": self.min_neighbors,
                        "min_size": min_size, "max_size": max_size, "threshold": threshold}

    def _scan(self, gray: np.ndarray, min_size: float) -> Detections:
        import cv2

        # Shrink so the smallest wanted object maps onto the cascade window: same scales, fewer pixels.
        f = min(1.0, self.window[0] / float(min_size))
        if min(gray.shape) * f < 1:  # shrinks to nothing (cv2.resize would fail): no room for the window
            return Detections.empty()
        small = gray if f >= 0.999 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        min_w = max(self.window[0], int(round(min_size * f)))
        min_h = max(self.window[1], int(round(min_w * self.window[1] / self.window[0])))
        kw = {}
        if self.max_size is not None:
            mx = int(round(self.max_size * f))
            kw["maxSize"] = (mx, int(round(mx * self.window[1] / self.window[0])))
        if small.shape[0] < min_h or small.shape[1] < min_w:
            return Detections.empty()
        rects, _, weights = self._clf.detectMultiScale3(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_w, min_h),
            outputRejectLevels=True, **kw)
        if len(rects) == 0:
            return Detections.empty()
        raw = np.asarray(weights, np.float32).reshape(-1)
        det = Detections.from_xywh(np.asarray(rects, np.float32), scores=margin_to_score(raw, spread=SCORE_SPREAD),
                                   labels=[self.label] * len(rects), data={"raw_score": raw})
        if self.threshold > 0:
            det = det[det.scores >= self.threshold]
        return det.scale(1.0 / f) if f < 0.999 else det

    def _detect(self, image: np.ndarray) -> Detections:
        gray = to_gray_u8(image)
        if not self.in_faces:
            return self._scan(gray, auto_min_size(gray.shape, self.min_size))
        faces = self._faces._detect(gray)
        parts = []
        for x1, y1, x2, y2 in faces.xyxy.round().astype(int):
            h = y2 - y1
            ys, ye = (y1, y1 + int(h * 0.6)) if self.region == "upper" else (y1 + int(h * 0.5), y2)
            roi = gray[max(ys, 0):ye, max(x1, 0):x2]
            if roi.size == 0:
                continue
            # Inside a face the part is a known fraction of its width.
            frac = 0.15 if self.region == "upper" else 0.25
            mins = max(float(self.window[0]), (x2 - x1) * frac) if self.min_size is None else self.min_size
            parts.append(self._scan(np.ascontiguousarray(roi), mins).offset(max(x1, 0), max(ys, 0)))
        return Detections.merge(parts) if parts else Detections.empty()


def _factory(name):
    filename, label, window = CASCADES[name]

    def make(**options):
        if name in ("eyes", "smile"):
            options.setdefault("in_faces", True)
            options.setdefault("region", "upper" if name == "eyes" else "lower")
            if name == "smile":
                options.setdefault("min_neighbors", 15)
        options.setdefault("cascade", filename)
        options.setdefault("label", label)
        return CascadeDetector(options.pop("cascade"), window=window, name=name, **options)

    make.__doc__ = CascadeDetector.__doc__
    make.__signature__ = options_like(CascadeDetector, drop=("window", "name"),
                                      defaults={"cascade": filename, "label": label})
    return make


_DESCRIPTIONS = {
    "face-haar": "frontal faces, OpenCV Haar cascade (fast, more false positives than dlib)",
    "eyes": "eyes, Haar cascade, searched inside Haar faces by default",
    "smile": "smiles, Haar cascade, searched inside Haar faces by default",
    "upper-body": "head and shoulders, Haar cascade",
    "full-body": "standing people, Haar cascade",
    "cat-face": "frontal cat faces, Haar cascade",
    "plate": "licence plates (Russian layout), Haar cascade",
}

#: Cascade weight per logistic unit when weights are mapped to [0, 1] (weight 5 becomes 0.92).
SCORE_SPREAD = 2.0

for _name in CASCADES:
    register_detector(_name, _DESCRIPTIONS[_name], model=f"OpenCV cascade {CASCADES[_name][0]}",
                      license="BSD-3-Clause / Intel License (OpenCV data)", classes=(CASCADES[_name][1],),
                      speed="real time")(_factory(_name))
