"""Classic detectors: HOG people, background-subtraction motion, colour/threshold blobs, templates."""
from __future__ import annotations

import numpy as np

from .._shared import as_uint8, check_choice, check_image, check_number, check_positive_int, check_unit, to_float32
from ._base import Detector, margin_to_score, register_detector, score_to_margin, to_gray_u8
from .._shared._detections import Detections, nms_indices

__all__ = ["PersonDetector", "MotionDetector", "BlobDetector", "TemplateDetector"]


@register_detector("person-hog", "standing people, OpenCV HOG + linear SVM (Dalal & Triggs 2005), multi-scale",
                   model="OpenCV HOGDescriptor default people SVM (64x128)", license="BSD (OpenCV)",
                   classes=("person",), speed="interactive")
class PersonDetector(Detector):
    """Pedestrians with OpenCV's HOG descriptor and its default people SVM (64x128 window).

    Parameters
    ----------
    min_height : float or None
        Smallest person box height to find, in input pixels. The image is resized by
        ``128 / min_height`` so that such a person fills the 64x128 window: shrunk (faster) for
        large values, enlarged for small people. None (default): 128 px, no resize.
    scale : float
        Pyramid step (> 1); 1.05 finds more, 1.2 is faster.
    win_stride : int
        Window step in pixels (4 or 8 are typical; 8 is 4x faster than 4).
    threshold : float
        Minimum score in [0, 1] (default 0.5: SVM margin 0, OpenCV's ``hitThreshold`` default); raise
        it for fewer false positives.
    iou_threshold : float
        Overlapping detections above this IoU are merged by non-maximum suppression.

    Notes
    -----
    Scores are the SVM margins ``m`` mapped to [0, 1] by ``1 / (1 + exp(-m / 0.5))`` (the margins are in
    ``data["raw_score"]``). Boxes include the detector's margin around the body (about 1/8 of the
    height above and below). The CNN detector ``person`` finds far more people in photographs; this one
    is the classic teaching example.
    """

    name = "person-hog"

    def __init__(self, *, min_height=None, scale: float = 1.05, win_stride: int = 8, threshold: float = 0.5,
                 iou_threshold: float = 0.5):
        import cv2

        self.min_height = None if min_height is None else check_number(min_height, name="min_height",
                                                                         minimum=0, strict=True)
        self.scale = check_number(scale, name="scale", minimum=1.0, strict=True)
        self.win_stride = check_positive_int(win_stride, name="win_stride")
        self.threshold = check_unit(threshold, name="threshold")
        self._margin = max(score_to_margin(self.threshold, spread=0.5), -10.0)
        self.iou_threshold = check_unit(iou_threshold, name="iou_threshold")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.options = {"min_height": min_height, "scale": scale, "win_stride": win_stride,
                        "threshold": threshold}

    def _detect(self, image: np.ndarray) -> Detections:
        import cv2

        gray = to_gray_u8(image)
        f = 1.0 if self.min_height is None else 128.0 / self.min_height
        if abs(f - 1.0) < 1e-3:
            f, small = 1.0, gray
        else:
            small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        if small.shape[0] < 128 or small.shape[1] < 64:
            return Detections.empty()
        s = self.win_stride
        rects, weights = self._hog.detectMultiScale(small, hitThreshold=self._margin, winStride=(s, s),
                                                    padding=(8, 8), scale=self.scale, groupThreshold=2)
        if len(rects) == 0:
            return Detections.empty()
        raw = np.asarray(weights, np.float32).reshape(-1)
        det = Detections.from_xywh(np.asarray(rects, np.float32), scores=margin_to_score(raw, spread=0.5),
                                   labels=["person"] * len(rects), data={"raw_score": raw})
        if f != 1.0:
            det = det.scale(1.0 / f)
        return det.nms(self.iou_threshold)


@register_detector("motion", "moving objects over a frame sequence, background subtraction (MOG2 / KNN)",
                   model="OpenCV MOG2 / KNN background subtraction (no trained model)", license="BSD (OpenCV)",
                   classes=("motion",), speed="real time")
class MotionDetector(Detector):
    """Moving regions in a video: background subtraction, morphology, connected regions.

    Stateful: feed frames of one sequence in order. The first ``warmup`` frames only train the
    background model and return no detections. :meth:`reset` forgets the background.

    Parameters
    ----------
    method : {"mog2", "knn"}
        OpenCV background subtractor (Zivkovic 2004/2006).
    history : int
        Frames that make up the background model.
    var_threshold : float or None
        Sensitivity (MOG2: squared Mahalanobis distance, default 16; KNN: squared distance, 400).
    min_area : float
        Smallest moving region, as a fraction of the frame area (default 0.001 = 0.1 %).
    learning_rate : float
        -1 lets OpenCV choose (1 / history); 0 freezes the background.
    warmup : int
        Frames used only to learn the background.
    shadows : bool
        Detect and ignore shadows (MOG2/KNN shadow labelling).

    Notes
    -----
    Scores are the fraction of foreground pixels inside each box; ``data["area"]`` is the
    region's pixel count and ``polygons`` its outline.
    """

    name = "motion"

    def __init__(self, *, method: str = "mog2", history: int = 200, var_threshold=None, min_area: float = 0.001,
                 learning_rate: float = -1.0, warmup: int = 1, shadows: bool = True):
        self.method = check_choice(method, ("mog2", "knn"), name="motion method")
        self.history = check_positive_int(history, name="history")
        self.var_threshold = None if var_threshold is None else check_number(var_threshold, name="var_threshold",
                                                                             minimum=0, strict=True)
        self.min_area = check_unit(min_area, name="min_area")
        self.learning_rate = check_number(learning_rate, name="learning_rate", minimum=-1.0)
        self.warmup = check_positive_int(warmup, name="warmup", minimum=0)
        self.shadows = bool(shadows)
        self.options = {"method": method, "history": history, "min_area": min_area}
        self.reset()

    def reset(self) -> None:
        """Forget the background model (start a new sequence)."""
        import cv2

        if self.method == "mog2":
            vt = 16.0 if self.var_threshold is None else self.var_threshold
            self._sub = cv2.createBackgroundSubtractorMOG2(self.history, vt, self.shadows)
        else:
            vt = 400.0 if self.var_threshold is None else self.var_threshold
            self._sub = cv2.createBackgroundSubtractorKNN(self.history, vt, self.shadows)
        self._shape = None
        self._seen = 0

    def foreground(self, image) -> np.ndarray:
        """Update the model with ``image`` and return its foreground mask (bool, shadows excluded)."""
        image = check_image(image)
        frame = as_uint8(image)
        if frame.ndim == 3:
            frame = np.ascontiguousarray(frame[:, :, :3])
        if self._shape is not None and frame.shape != self._shape:
            raise ValueError(f"`image` has shape {frame.shape} but this motion sequence has {self._shape}; "
                             "call reset() to start a new sequence.")
        self._shape = frame.shape
        self._seen += 1
        mask = self._sub.apply(frame, learningRate=self.learning_rate)
        return mask == 255

    def _detect(self, image: np.ndarray) -> Detections:
        import cv2

        fg = self.foreground(image)
        if self._seen <= self.warmup:
            return Detections.empty(polygons=True)
        m = fg.astype(np.uint8)
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, k)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
        return _regions(m, self.min_area * m.size, label="motion")


def _regions(mask: np.ndarray, min_area: float, *, label: str, max_area: float | None = None) -> Detections:
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores, polys, areas = [], [], [], []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        filled = float(np.count_nonzero(mask[y:y + h, x:x + w]))
        if filled < max(min_area, 1) or (max_area is not None and filled > max_area):
            continue
        boxes.append([x, y, x + w, y + h])
        scores.append(filled / float(w * h))
        polys.append(c.reshape(-1, 2).astype(np.float32))
        areas.append(filled)
    if not boxes:
        return Detections.empty(polygons=True)
    det = Detections(boxes, scores=scores, labels=[label] * len(boxes), polygons=polys,
                     data={"area": np.asarray(areas, np.float32)})
    return det.sort()


@register_detector("blob", "regions of a colour range or above a threshold (contours)",
                   model="threshold + contours (no trained model)", license="-", classes=(), speed="real time")
class BlobDetector(Detector):
    """Connected regions selected by a colour range or an intensity threshold.

    Parameters
    ----------
    lower, upper : sequence of float, optional
        Inclusive colour range. In ``color_space="rgb"`` the values are in the image's own units
        (0-255 for uint8, 0-1 for float); in ``"hsv"`` they are H in degrees [0, 360], S and V
        in [0, 1] whatever the dtype. Red hues wrap: ``lower=(340, .5, .3), upper=(20, 1, 1)``.
    color_space : {"rgb", "hsv", "gray"}
        Space of ``lower``/``upper``.
    threshold : float or "otsu"
        Without a colour range: gray level (0-1 scale) above which pixels are foreground;
        ``"otsu"`` (default) picks it by Otsu's method.
    invert : bool
        Select the pixels outside the range / below the threshold (dark objects on light).
    min_area, max_area : float
        Region size limits in pixels.

    Notes
    -----
    Scores are the fraction of each box covered by the region; ``polygons`` are outlines and
    ``data["area"]`` pixel counts.
    """

    name = "blob"

    def __init__(self, *, lower=None, upper=None, color_space: str = "rgb", threshold="otsu", invert: bool = False,
                 min_area: float = 20.0, max_area=None, label: str = "blob"):
        self.color_space = check_choice(color_space, ("rgb", "hsv", "gray"), name="color_space")
        if (lower is None) != (upper is None):
            raise ValueError("`lower` and `upper` must be given together.")
        self.lower = None if lower is None else np.asarray(lower, np.float32).reshape(-1)
        self.upper = None if upper is None else np.asarray(upper, np.float32).reshape(-1)
        if self.lower is not None and self.lower.shape != self.upper.shape:
            raise ValueError(f"`lower` and `upper` must have the same length; got {self.lower.shape[0]} and "
                             f"{self.upper.shape[0]}.")
        if isinstance(threshold, str):
            check_choice(threshold, ("otsu",), name="threshold")
        else:
            check_unit(threshold, name="threshold")
        self.threshold = threshold
        self.invert = bool(invert)
        self.min_area = check_number(min_area, name="min_area", minimum=0)
        self.max_area = None if max_area is None else check_number(max_area, name="max_area", minimum=0)
        self.label = str(label)
        self.options = {"lower": lower, "upper": upper, "color_space": color_space, "threshold": threshold}

    def mask(self, image) -> np.ndarray:
        """The boolean foreground mask this detector finds regions in."""
        import cv2

        image = check_image(image)
        if self.lower is not None:
            if self.color_space == "hsv":
                if image.ndim != 3:
                    raise ValueError(f"color_space='hsv' needs an RGB image; got shape {image.shape}.")
                hsv = cv2.cvtColor(to_float32(image[:, :, :3]), cv2.COLOR_RGB2HSV)
                lo, hi = self.lower, self.upper
                if lo.shape[0] != 3:
                    raise ValueError(f"`lower`/`upper` must have 3 values (H, S, V); got {lo.shape[0]}.")
                h = hsv[:, :, 0]
                hue = (h >= lo[0]) & (h <= hi[0]) if lo[0] <= hi[0] else (h >= lo[0]) | (h <= hi[0])
                sel = hue & np.all((hsv[:, :, 1:] >= lo[1:]) & (hsv[:, :, 1:] <= hi[1:]), axis=2)
            else:
                img = image if image.ndim == 2 else image[:, :, :3]
                if self.color_space == "gray" and img.ndim == 3:
                    img = cv2.cvtColor(to_float32(img), cv2.COLOR_RGB2GRAY)
                img = img[:, :, None] if img.ndim == 2 else img
                if self.lower.shape[0] != img.shape[2]:
                    raise ValueError(f"`lower`/`upper` must have {img.shape[2]} values for this image; "
                                     f"got {self.lower.shape[0]}.")
                sel = np.all((img >= self.lower) & (img <= self.upper), axis=2)
        else:
            gray = to_gray_u8(image)
            if self.threshold == "otsu":
                _, m = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
                sel = m.astype(bool)
            else:
                sel = to_float32(gray) > self.threshold
        return ~sel if self.invert else sel

    def _detect(self, image: np.ndarray) -> Detections:
        return _regions(self.mask(image), self.min_area, label=self.label, max_area=self.max_area)


def _window_var(img, integ, integ2, th, tw):
    """Variance of every th x tw window (top-left anchored, 'valid' positions) from integral images."""
    def wsum(ii):
        return ii[th:, tw:] - ii[:-th, tw:] - ii[th:, :-tw] + ii[:-th, :-tw]

    n = float(th * tw)
    m = wsum(integ) / n
    return wsum(integ2) / n - m * m


_METHODS = {"ccoeff_normed": "TM_CCOEFF_NORMED", "ccorr_normed": "TM_CCORR_NORMED", "sqdiff_normed": "TM_SQDIFF_NORMED"}


@register_detector("template", "every place an example patch appears, multi-scale template matching + NMS",
                   model="normalised cross-correlation (no trained model)", license="-", classes=(),
                   speed="interactive")
class TemplateDetector(Detector):
    """Multi-scale template matching (``cv2.matchTemplate``) with peak picking and NMS.

    Parameters
    ----------
    template : ndarray
        The patch to look for (any image dtype; matched in gray unless ``color=True``).
    scales : sequence of float
        Template scales to try (default 0.5 to 2 in 9 geometric steps).
    threshold : float
        Minimum normalised match score in [0, 1] (for ``sqdiff_normed``, 1 - distance).
    method : {"ccoeff_normed", "ccorr_normed", "sqdiff_normed"}
        OpenCV comparison method.
    iou_threshold : float
        Non-maximum suppression overlap.
    max_detections : int
        Keep at most this many (best first).
    color : bool
        Match RGB instead of gray.
    label : str
        Label of every detection.
    """

    name = "template"

    def __init__(self, *, template=None, scales=None, threshold: float = 0.8, method: str = "ccoeff_normed",
                 iou_threshold: float = 0.3, max_detections: int = 100, color: bool = False, label: str = "template"):
        if template is None:
            raise ValueError('`template` is required: cvtools.detect.get("template", template=patch).')
        self.template = check_image(template, name="template").copy()
        self.scales = tuple(np.geomspace(0.5, 2.0, 9)) if scales is None else tuple(float(s) for s in scales)
        if not self.scales or any(s <= 0 for s in self.scales):
            raise ValueError(f"`scales` must be positive numbers; got {scales!r}.")
        self.threshold = check_unit(threshold, name="threshold")
        self.method = check_choice(method, tuple(_METHODS), name="method")
        self.iou_threshold = check_unit(iou_threshold, name="iou_threshold")
        self.max_detections = check_positive_int(max_detections, name="max_detections")
        self.color = bool(color)
        self.label = str(label)
        self.options = {"scales": len(self.scales), "threshold": threshold, "method": method}

    def _prep(self, image):
        if self.color:
            img = to_float32(image)
            return img if img.ndim == 2 else np.ascontiguousarray(img[:, :, :3])
        return to_float32(to_gray_u8(image))

    def _detect(self, image: np.ndarray) -> Detections:
        import cv2

        img = self._prep(image)
        tpl0 = self._prep(self.template)
        if img.ndim != tpl0.ndim:
            raise ValueError("`template` and `image` must both be gray or both colour when color=True.")
        method = getattr(cv2, _METHODS[self.method])
        boxes, scores = [], []
        flat = img if img.ndim == 2 else img.mean(axis=2)
        integ, integ2 = cv2.integral2(flat.astype(np.float64))[:2]
        for s in self.scales:
            th, tw = max(int(round(tpl0.shape[0] * s)), 3), max(int(round(tpl0.shape[1] * s)), 3)
            if th > img.shape[0] or tw > img.shape[1]:
                continue
            tpl = cv2.resize(tpl0, (tw, th), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            res = cv2.matchTemplate(img, tpl, method)
            if self.method == "sqdiff_normed":
                res = 1.0 - res
            res = np.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0)
            if self.method != "sqdiff_normed":
                # Normalised correlation is undefined on flat windows (OpenCV returns 1 there).
                res[_window_var(flat, integ, integ2, th, tw) < 1e-6] = 0.0
            # Peaks: local maxima above the threshold (3x3 neighbourhood).
            peak = (res >= self.threshold) & (res >= cv2.dilate(res, np.ones((3, 3), np.uint8)))
            ys, xs = np.nonzero(peak)
            if len(xs) > 20 * self.max_detections:
                top = np.argsort(-res[ys, xs])[:20 * self.max_detections]
                ys, xs = ys[top], xs[top]
            boxes.append(np.column_stack([xs, ys, xs + tw, ys + th]).astype(np.float32))
            scores.append(res[ys, xs])
        if not boxes or sum(len(b) for b in boxes) == 0:
            return Detections.empty()
        b, sc = np.concatenate(boxes), np.concatenate(scores)
        keep = nms_indices(b, sc, self.iou_threshold)[: self.max_detections]
        return Detections(b[keep], scores=sc[keep], labels=[self.label] * len(keep))
