"""CNN face detection with YuNet (Wu, Peng & Yu 2023, "YuNet: A Tiny Millisecond-level Face Detector").

YuNet is an anchor-free network of about 75k parameters that OpenCV runs natively
(``cv2.FaceDetectorYN``, in the headless build): a box, a score and five landmarks per face. The
shipped files are YuNet-n (default) and YuNet-s from the authors' training repository.

Why YuNet-n by default (``python benchmarks/eval_detect.py --only wider``, 323 WIDER FACE val images, one
thread): AP 0.870 / 0.870 / 0.842 (easy / medium / hard) against YuNet-s's 0.879 / 0.865 / 0.808, i.e. it
finds clearly more small faces for about 1.4x the time (110 vs 80 ms on those ~1024x700 photos). Small
faces are where the classic detectors fail, so the default buys accuracy there; ``model="s"`` is the fast
choice.

``face-accurate`` runs the same network several times (test-time augmentation) and fuses the results,
see :class:`AccurateFaceDetector`.
"""
from __future__ import annotations

import threading

import numpy as np

from .._shared import check_choice, check_number, check_positive_int, check_unit, to_rgb_uint8
from ._base import Detector, register_detector
from .._shared._detections import Detections
from ._models import model_path

__all__ = ["YuNetFaceDetector", "AccurateFaceDetector", "LANDMARK_NAMES"]

#: The five points of ``Detections.landmarks`` for YuNet faces, in order; "right"/"left" are the
#: person's own (the right eye appears on the image's left in a frontal photo).
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner")

_MODEL_FILES = {"n": "yunet_n_640_640.onnx", "s": "yunet_s_640_640.onnx"}
_META = {"model": "YuNet-n (75k parameters; model='s' for YuNet-s), cv2.FaceDetectorYN",
         "license": "Apache-2.0 (YuNet, Shiqi Yu)", "classes": ("face",)}


def _resize(bgr: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    h, w = bgr.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR if factor > 1 else cv2.INTER_AREA)


#: Images are padded (right and bottom, black) to at least this size: YuNet returns garbage rows
#: (infinite boxes, score 1) for inputs smaller than its 32-px stride grid.
MIN_INPUT = 64
#: A shorter side below this cannot hold a face YuNet finds (its smallest is about 10 px).
MIN_SIDE = 10


class _YuNet:
    """One ``cv2.FaceDetectorYN`` per thread (its input size is per-call state), raw rows out."""

    def __init__(self, model: str, score: float, nms: float, top_k: int):
        self._args = (model_path(_MODEL_FILES[model]), score, nms, top_k)
        self._local = threading.local()

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        """(N, 15) rows ``x, y, w, h, 5 landmark (x, y), score`` in ``bgr``'s pixels."""
        import cv2

        net = getattr(self._local, "net", None)
        if net is None:
            path, score, nms, top_k = self._args
            net = self._local.net = cv2.FaceDetectorYN.create(path, "", (320, 320), score, nms, top_k)
        h, w = bgr.shape[:2]
        if min(h, w) < MIN_SIDE:
            return np.zeros((0, 15), np.float32)
        if h < MIN_INPUT or w < MIN_INPUT:
            bgr = cv2.copyMakeBorder(bgr, 0, max(0, MIN_INPUT - h), 0, max(0, MIN_INPUT - w), cv2.BORDER_CONSTANT)
        net.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = net.detect(np.ascontiguousarray(bgr))
        if faces is None:
            return np.zeros((0, 15), np.float32)
        faces = np.asarray(faces, np.float32)
        return faces[np.isfinite(faces).all(1)]


def _rows_to_arrays(rows: np.ndarray, fx: float, fy: float, shape, *, flipped: bool = False):
    """(xyxy, scores, landmarks) in the original image's pixels from YuNet rows found on an image resized by
    (fx, fy) (and mirrored, when ``flipped``)."""
    rows = rows.astype(np.float64)
    f = np.array([fx, fy])
    xyxy = np.c_[rows[:, 0:2], rows[:, 0:2] + rows[:, 2:4]] / np.r_[f, f]
    pts = rows[:, 4:14].reshape(-1, 5, 2) / f
    if flipped:
        w = shape[1]
        xyxy = np.c_[w - xyxy[:, 2], xyxy[:, 1], w - xyxy[:, 0], xyxy[:, 3]]
        # Mirroring swaps the person's left and right: eyes and mouth corners trade places.
        pts = pts[:, [1, 0, 2, 4, 3]]
        pts[:, :, 0] = w - pts[:, :, 0]
    return xyxy, np.clip(rows[:, 14], 0, 1), pts


def _faces(xyxy, scores, pts) -> Detections:
    if len(xyxy) == 0:
        return Detections(np.zeros((0, 4), np.float32), landmarks=np.zeros((0, 5, 2), np.float32))
    return Detections(xyxy, scores=scores, labels="face", landmarks=pts)


class _YuNetBase(Detector):
    def __init__(self, *, threshold: float, iou_threshold: float, model: str, max_side: int, top_k: int):
        self.threshold = check_unit(threshold, name="threshold")
        self.iou_threshold = check_unit(iou_threshold, name="iou_threshold")
        self.model = check_choice(model, tuple(_MODEL_FILES), name="model")
        self.max_side = check_positive_int(max_side, name="max_side")
        self.top_k = check_positive_int(top_k, name="top_k")
        self.options = {"threshold": threshold, "iou_threshold": iou_threshold, "model": model,
                        "max_side": max_side}
        self._net = _YuNet(self.model, self.threshold, self.iou_threshold, self.top_k)

    def _bgr(self, image: np.ndarray) -> np.ndarray:
        from ..io import rgb_to_bgr

        return rgb_to_bgr(to_rgb_uint8(image))

    def _base_factor(self, shape) -> float:
        """1, or the shrink that brings the longer side down to ``max_side``."""
        return min(1.0, self.max_side / max(shape[0], shape[1]))

    def _pass(self, bgr: np.ndarray, factor: float, *, flip: bool = False):
        """(xyxy, scores, landmarks) of one network run on ``bgr`` resized by ``factor`` (and mirrored)."""
        img = bgr[:, ::-1] if flip else bgr
        if abs(factor - 1.0) > 1e-6:
            img = _resize(img, factor)
        fx, fy = img.shape[1] / bgr.shape[1], img.shape[0] / bgr.shape[0]
        return _rows_to_arrays(self._net(img), fx, fy, bgr.shape, flipped=flip)


@register_detector("face", "faces of any pose down to ~10 px, YuNet CNN (OpenCV), 5 landmarks",
                   speed="real time", **_META)
class YuNetFaceDetector(_YuNetBase):
    """Faces with YuNet through ``cv2.FaceDetectorYN``: boxes, scores in [0, 1] and 5 landmarks.

    Parameters
    ----------
    threshold : float
        Minimum score in [0, 1] (default 0.7). Use a low value (0.02) for PR curves and AP. Measured on
        323 WIDER FACE val photos (one pass): 0.6 keeps 86 % precision, 0.7 92 %, 0.8 97 %, 0.9 99 % with
        recall 0.74 / 0.69 / 0.58 / 0.22 of all annotated faces (small faces score lower). Animal faces
        can score up to ~0.87 (two dogs in dlib's ``dogs.jpg``); 0.9 removes them.
    iou_threshold : float
        Non-maximum suppression overlap (default 0.45, YuNet's evaluation setting; 0.3 costs 0.005-0.008
        WIDER AP by merging neighbours in crowds).
    model : {"n", "s"}
        ``"n"``: YuNet-n (default, more small faces); ``"s"``: YuNet-s (about 1.4x faster).
    max_side : int
        The network runs on the image at its own size up to this longer side (default 2560 px);
        larger images are shrunk to it, so their smallest findable face grows in proportion (YuNet
        finds faces from about 10 px of the image it sees). Use ``face-accurate`` or a larger
        ``max_side`` for crowds in very large photos.
    top_k : int
        Most faces kept per image (default 5000).

    Notes
    -----
    ``landmarks`` are ``(N, 5, 2)`` points in :data:`LANDMARK_NAMES` order. Any image the data contract
    allows is accepted (gray, RGB, RGBA; uint8, uint16, float); boxes are in its pixels. An image too
    small to hold a face gives no detections.

    Examples
    --------
    >>> det = YuNetFaceDetector()
    >>> len(det.detect(np.zeros((48, 64, 3), np.uint8)))
    0
    """

    name = "face"

    def __init__(self, *, threshold: float = 0.7, iou_threshold: float = 0.45, model: str = "n",
                 max_side: int = 2560, top_k: int = 5000):
        super().__init__(threshold=threshold, iou_threshold=iou_threshold, model=model, max_side=max_side,
                         top_k=top_k)

    def _detect(self, image: np.ndarray) -> Detections:
        bgr = self._bgr(image)
        det = _faces(*self._pass(bgr, self._base_factor(bgr.shape)))
        return det.clip(bgr.shape[1], bgr.shape[0]).sort()


def fuse_boxes(detections: list[Detections], *, iou_threshold: float, weights=None,
               min_score: float = 0.0) -> Detections:
    """Weighted box fusion of several passes over one image (Solovyev et al. 2021, simplified).

    Boxes are taken in falling score order; each one not yet used gathers every unused box overlapping
    it above ``iou_threshold``. The cluster becomes one box: coordinates and landmarks are the
    score-weighted means of its members, and its score the weighted mean over the passes of each pass's
    best score in the cluster (0 for a pass that missed it), so a face that every pass finds outranks one
    that a single pass found. A fused score never exceeds its cluster's best member, so clustering stops
    at the first seed below ``min_score``: the result is that of fusing everything and dropping the
    clusters scored below ``min_score``, without the work.

    Examples
    --------
    >>> a = Detections([[0, 0, 10, 10]], scores=[0.9], labels="face", landmarks=np.zeros((1, 5, 2)))
    >>> b = Detections([[2, 0, 12, 10]], scores=[0.6], labels="face", landmarks=np.ones((1, 5, 2)))
    >>> fused = fuse_boxes([a, b], iou_threshold=0.45)
    >>> [round(float(v), 2) for v in fused.xyxy[0]], round(float(fused.scores[0]), 3)
    ([0.8, 0.0, 10.8, 10.0], 0.75)
    """
    passes = [(d.xyxy, d.scores, d.landmarks if d.landmarks is not None else np.zeros((len(d), 5, 2)))
              for d in detections]
    return _faces(*_fuse(passes, iou_threshold=iou_threshold, weights=weights, min_score=min_score))


def _fuse(passes, *, iou_threshold: float, weights=None, min_score: float = 0.0):
    """:func:`fuse_boxes` on (xyxy, scores, landmarks) arrays per pass; returns the same three arrays."""
    weights = np.ones(len(passes)) if weights is None else np.asarray(weights, np.float64)
    b = np.concatenate([np.asarray(p[0], np.float64).reshape(-1, 4) for p in passes])
    s = np.concatenate([np.asarray(p[1], np.float64).reshape(-1) for p in passes])
    lm = np.concatenate([np.asarray(p[2], np.float64).reshape(-1, 5, 2) for p in passes])
    src = np.concatenate([np.full(len(p[1]), k) for k, p in enumerate(passes)])
    order = np.argsort(-s, kind="stable")
    b, s, lm, src = b[order], s[order], lm[order], src[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    used = np.zeros(len(b), bool)
    boxes, scores, points = [], [], []
    for i in range(len(b)):
        if used[i]:
            continue
        if s[i] < min_score:
            break
        rest = np.flatnonzero(~used)
        iw = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-12)
        members = np.union1d(rest[iou > iou_threshold], [i])
        used[members] = True
        w = s[members]
        boxes.append((b[members] * w[:, None]).sum(0) / w.sum())
        points.append((lm[members] * w[:, None, None]).sum(0) / w.sum())
        best = np.zeros(len(weights))
        np.maximum.at(best, src[members], w)
        scores.append(float((best * weights).sum() / weights.sum()))
    boxes = np.array(boxes).reshape(-1, 4)
    scores = np.array(scores)
    points = np.array(points).reshape(-1, 5, 2)
    keep = scores >= min_score
    return boxes[keep], scores[keep], points[keep]


@register_detector("face-accurate", "faces incl. tiny ones, YuNet with test-time augmentation (~3x slower)",
                   speed="interactive", **_META)
class AccurateFaceDetector(_YuNetBase):
    """YuNet with test-time augmentation: two passes over the image, fused into one set of faces.

    Parameters
    ----------
    threshold : float
        Minimum fused score in [0, 1] (default 0.65). On 323 WIDER FACE val photos (IoU >= 0.5 with any
        annotated face) 0.65 keeps the precision of ``face`` at its default 0.7 (92 %) at recall 0.73
        instead of 0.69; 0.7 gives 94 % at 0.70, 0.5 gives 84 % at 0.78.
    iou_threshold : float
        Non-maximum suppression within a pass and the overlap above which boxes of different passes are
        one face (default 0.45).
    upscale : float
        Enlargement of the mirrored pass (default 1.3): faces from about 10 / 1.3 = 8 px are found.
    downscale : float
        Reduction of an optional third pass (default 1: off). 0.5 adds a pass for faces that fill the
        frame: WIDER AP easy / medium +0.011 / +0.005 more, hard 0.002 less, for 0.3x the time of ``face``.
    model, max_side, top_k
        As for ``face``.

    Notes
    -----
    Passes: the image as it is and its mirror image enlarged by ``upscale`` (optionally a copy reduced by
    ``downscale``), each run at score 0.02, then fused by weighted box fusion (:func:`fuse_boxes`; a
    reduced pass weighs 0.3, it sees no small face). Chosen on the WIDER FACE val subset against a
    single YuNet-n pass (numbers in docs/detection.md): AP easy / medium / hard +0.010 / +0.014 / +0.027,
    for about 3x the time of ``face`` at 640x480 (1 + 1.3**2 = 2.7x the pixels; the enlarged pass costs
    a little more than its pixels). Mirroring the enlarged pass rather than the original adds a view at
    no extra cost; the plain mean of the passes' scores (not the maximum) is what ranks one-pass false
    positives below faces every pass sees.
    """

    name = "face-accurate"
    #: Each pass's score below this is not considered (as the WIDER evaluation runs YuNet).
    PASS_THRESHOLD = 0.02
    #: Weight of the reduced pass in the fused score.
    DOWNSCALE_WEIGHT = 0.3

    def __init__(self, *, threshold: float = 0.65, iou_threshold: float = 0.45, upscale: float = 1.3,
                 downscale: float = 1.0, model: str = "n", max_side: int = 2560, top_k: int = 5000):
        check_unit(threshold, name="threshold")
        super().__init__(threshold=min(float(threshold), self.PASS_THRESHOLD), iou_threshold=iou_threshold,
                         model=model, max_side=max_side, top_k=top_k)
        self.threshold = float(threshold)
        self.upscale = check_number(upscale, name="upscale", minimum=1.0)
        self.downscale = check_number(downscale, name="downscale", minimum=0.0, strict=True)
        if self.downscale > 1:
            raise ValueError(f"`downscale` must be in (0, 1]; got {downscale!r}.")
        self.options = {**self.options, "threshold": threshold, "upscale": upscale, "downscale": downscale}

    def _detect(self, image: np.ndarray) -> Detections:
        bgr = self._bgr(image)
        f = self._base_factor(bgr.shape)
        passes, weights = [self._pass(bgr, f), self._pass(bgr, f * self.upscale, flip=True)], [1.0, 1.0]
        if self.downscale < 1:
            passes.append(self._pass(bgr, f * self.downscale))
            weights.append(self.DOWNSCALE_WEIGHT)
        det = _faces(*_fuse(passes, iou_threshold=self.iou_threshold, weights=weights, min_score=self.threshold))
        return det.clip(bgr.shape[1], bgr.shape[0]).sort()
