"""CNN object detection with YOLOX-nano (Ge et al. 2021, "YOLOX: Exceeding YOLO Series in 2021").

An anchor-free single-stage detector for the 80 COCO classes (0.91 M parameters, COCO val AP 25.8). The
shipped ONNX file takes a 416x416 BGR image in 0-255, letterboxed (resized to fit, top-left aligned,
padded with grey 114), and returns the raw head outputs of its three grids (strides 8, 16, 32):
per cell ``dx, dy, log w, log h`` and the sigmoid objectness and class probabilities.

Runtime: onnxruntime when installed (``pip install "cvtools[onnx]"``; about 3.6x faster here), else
OpenCV's own ``cv2.dnn``, so ``objects`` works on a core install. Both give the same boxes (the test
compares them). onnxruntime stays an extra rather than a core dependency because the core install is kept
to numpy/OpenCV-level packages; the output does not depend on the choice, only the speed does.
"""
from __future__ import annotations

import threading

import numpy as np

from .._shared import check_choice, check_positive_int, check_unit, is_available, to_rgb_uint8
from ._base import Detector, options_like, register_detector
from .._shared._detections import Detections, nms_indices
from ._models import model_path

__all__ = ["ObjectDetector", "COCO_CLASSES"]

#: The 80 COCO class names in YOLOX's (and COCO's category-id) order.
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
PAD_VALUE = 114
_MODEL = "yolox_nano.onnx"
_META = {"model": "YOLOX-nano (0.91 M parameters, COCO), onnxruntime or cv2.dnn",
         "license": "Apache-2.0 (YOLOX, Megvii)"}

_SESSIONS: dict = {}
_LOCK = threading.Lock()


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Cell offsets (N, 2) and strides (N, 1) of the three output grids, in the network's row order."""
    cells, strides = [], []
    for s in STRIDES:
        n = INPUT_SIZE // s
        ys, xs = np.mgrid[0:n, 0:n]
        cells.append(np.c_[xs.ravel(), ys.ravel()])
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


_CELLS, _CELL_STRIDES = _grid()


def letterbox(bgr: np.ndarray) -> tuple[np.ndarray, float]:
    """The (1, 3, 416, 416) float32 network input and the resize ratio (YOLOX's ``preproc``)."""
    import cv2

    h, w = bgr.shape[:2]
    r = min(INPUT_SIZE / h, INPUT_SIZE / w)
    nh, nw = max(1, int(h * r)), max(1, int(w * r))
    canvas = np.full((INPUT_SIZE, INPUT_SIZE, 3), PAD_VALUE, np.uint8)
    canvas[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32), r


def decode(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N, 4) xyxy in network pixels, scores (N,) and class indices (N,) from the raw (N, 85) rows.

    A box's class is its most probable one and its score objectness x that class's probability (YOLOX's
    ``postprocess``).
    """
    xy = (raw[:, 0:2] + _CELLS) * _CELL_STRIDES
    wh = np.exp(np.minimum(raw[:, 2:4], 20.0)) * _CELL_STRIDES
    cls = raw[:, 5:]
    idx = cls.argmax(1)
    scores = raw[:, 4] * cls[np.arange(len(cls)), idx]
    return np.c_[xy - wh / 2, xy + wh / 2], scores, idx


def _session(backend: str, threads: int | None):
    key = (backend, threads)
    with _LOCK:
        if key in _SESSIONS:
            return _SESSIONS[key]
    path = model_path(_MODEL)
    if backend == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        run = (lambda x, _s=sess, _n=name: _s.run(None, {_n: x})[0])
    else:
        import cv2

        net = cv2.dnn.readNetFromONNX(path)
        lock = threading.Lock()  # a cv2.dnn.Net holds its input between setInput and forward

        def run(x, _net=net, _lock=lock):
            with _lock:
                _net.setInput(x)
                return _net.forward()
    with _LOCK:
        return _SESSIONS.setdefault(key, run)


@register_detector("objects", "80 COCO object classes (people, vehicles, animals, ...), YOLOX-nano CNN",
                   classes=COCO_CLASSES, speed="real time", **_META)
class ObjectDetector(Detector):
    """The 80 COCO classes with YOLOX-nano; ``labels`` are COCO class names.

    Parameters
    ----------
    classes : sequence of str, optional
        Keep only these COCO class names (e.g. ``["person", "car"]``, or ``"person,car"``); default all 80.
    threshold : float
        Minimum score in [0, 1] (objectness x class probability; default 0.3). YOLOX's COCO evaluation uses
        0.01, for the whole precision-recall curve.
    iou_threshold : float
        Class-wise non-maximum suppression overlap (default 0.65, YOLOX's).
    max_detections : int
        Most boxes returned per image, the highest-scoring (default 300).
    backend : {"auto", "onnxruntime", "opencv"}
        ``"auto"`` (default): onnxruntime when installed, else ``cv2.dnn``; same boxes, different speed.
        The detector's ``backend`` attribute says which one runs.
    threads : int, optional
        Threads onnxruntime may use (default: its own choice, every core).

    Notes
    -----
    The image is letterboxed to 416x416 whatever its size, so objects smaller than about 1/40 of the
    image's longer side are rarely found. ``data["class_id"]`` holds the 0-based COCO class index.

    Examples
    --------
    >>> det = ObjectDetector(classes=["person", "dog"])
    >>> len(det.detect(np.full((240, 320, 3), 128, np.uint8)))
    0
    """

    name = "objects"

    def __init__(self, *, classes=None, threshold: float = 0.3, iou_threshold: float = 0.65,
                 max_detections: int = 300, backend: str = "auto", threads: int | None = None):
        self.threshold = check_unit(threshold, name="threshold")
        self.iou_threshold = check_unit(iou_threshold, name="iou_threshold")
        self.max_detections = check_positive_int(max_detections, name="max_detections")
        backend = check_choice(backend, ("auto", "onnxruntime", "opencv"), name="backend")
        if backend == "auto":
            backend = "onnxruntime" if is_available("onnxruntime") else "opencv"
        elif backend == "onnxruntime":
            from .._shared import require

            require("onnxruntime", feature='cvtools.detect.get("objects", backend="onnxruntime")')
        self.backend = backend
        self.threads = None if threads is None else check_positive_int(threads, name="threads")
        if classes is None:
            self.classes = None
            self._keep = None
        else:
            if isinstance(classes, str):  # "person,car" from the command line
                classes = [c.strip() for c in classes.split(",") if c.strip()]
            classes = list(classes)
            unknown = [c for c in classes if c not in COCO_CLASSES]
            if unknown or not classes:
                raise ValueError(f"`classes` must be COCO class names; unknown: {unknown or classes!r}; "
                                 f"valid: {', '.join(COCO_CLASSES)}.")
            self.classes = tuple(dict.fromkeys(classes))
            self._keep = np.array([COCO_CLASSES.index(c) for c in self.classes])
        self.options = {"classes": self.classes, "threshold": threshold, "iou_threshold": iou_threshold,
                        "backend": self.backend}
        self._run = _session(self.backend, self.threads)

    def _detect(self, image: np.ndarray) -> Detections:
        from ..io import rgb_to_bgr

        bgr = rgb_to_bgr(to_rgb_uint8(image))
        x, r = letterbox(bgr)
        raw = np.asarray(self._run(x), np.float32).reshape(-1, 5 + len(COCO_CLASSES))
        boxes, scores, idx = decode(raw)
        ok = scores >= self.threshold
        if self._keep is not None:
            ok &= np.isin(idx, self._keep)
        boxes, scores, idx = boxes[ok] / r, scores[ok], idx[ok]
        if len(boxes) == 0:
            return Detections.empty()
        keep = nms_indices(boxes, scores, self.iou_threshold, classes=idx)[: self.max_detections]
        h, w = bgr.shape[:2]
        det = Detections(boxes[keep], scores=scores[keep], labels=[COCO_CLASSES[i] for i in idx[keep]],
                         data={"class_id": idx[keep].astype(np.int32)})
        return det.clip(w, h)


@register_detector("person", "people, YOLOX-nano CNN restricted to COCO's person class",
                   classes=("person",), speed="real time", **_META)
def make_person(**options) -> ObjectDetector:
    """``objects`` restricted to people (options as :class:`ObjectDetector`, without ``classes``).

    Examples
    --------
    >>> make_person().classes
    ('person',)
    """
    if "classes" in options:
        raise TypeError('detector "person" takes no `classes` option; use get("objects", classes=[...]).')
    det = ObjectDetector(classes=["person"], **options)
    det.name = "person"
    return det


make_person.__signature__ = options_like(ObjectDetector, drop=("classes",))
