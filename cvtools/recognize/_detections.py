"""Label detection crops with a trained classifier."""
from __future__ import annotations

import numpy as np

from .._shared import check_image

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from .._shared._detections import Detections
    from ._model import Classifier
    from numpy.typing import ArrayLike


def crop_boxes(image: np.ndarray, xyxy: ArrayLike, *, pad: float = 0.0) -> list[np.ndarray]:
    """Crops of ``image`` for each ``xyxy`` box, grown by ``pad`` x the box size on each side and
    clipped to the image (a box fully outside gives a 1 x 1 crop at the nearest border).

    The crops are views of ``image`` (no copy).

    >>> img = np.arange(100).reshape(10, 10)
    >>> [c.shape for c in crop_boxes(img, [[2, 2, 5, 4], [8, 8, 20, 20]])]
    [(2, 3), (2, 2)]
    """
    h, w = image.shape[:2]
    crops = []
    for x1, y1, x2, y2 in np.asarray(xyxy, np.float64).reshape(-1, 4):
        bw, bh = x2 - x1, y2 - y1
        x1, x2 = x1 - pad * bw, x2 + pad * bw
        y1, y2 = y1 - pad * bh, y2 + pad * bh
        c1 = int(np.clip(np.floor(x1), 0, w - 1))
        r1 = int(np.clip(np.floor(y1), 0, h - 1))
        c2 = int(np.clip(np.ceil(x2), c1 + 1, w))
        r2 = int(np.clip(np.ceil(y2), r1 + 1, h))
        crops.append(image[r1:r2, c1:c2])
    return crops


def classify_detections(image: np.ndarray, detections: Detections, classifier: Classifier, *, pad: float = 0.0) -> Detections:
    """Classify the crop of every detection: a copy of ``detections`` with ``data["class"]``
    (the predicted label) and ``data["class_score"]`` (its probability, float32).

    Parameters
    ----------
    image : (H, W) or (H, W, 3|4) ndarray
        The image the detections were found in.
    detections : cvtools.detect.Detections
        Boxes in ``image`` pixels.
    classifier : Classifier
        From :func:`cvtools.recognize.train` or :func:`cvtools.recognize.load`.
    pad : float
        Grow each box by this fraction of its size on every side before cropping (context).

    Returns
    -------
    cvtools.detect.Detections

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> from cvtools.recognize import train
    >>> rng = np.random.default_rng(0)
    >>> dark = [rng.integers(0, 60, (16, 16), dtype=np.uint8) for _ in range(4)]
    >>> bars = [np.tile(np.array([0, 255] * 8, np.uint8), (16, 1)) for _ in range(4)]
    >>> clf = train((dark + bars, ["dark"] * 4 + ["bars"] * 4), image_size=16, val_split=0)
    >>> scene = np.zeros((16, 48), np.uint8); scene[:, :16] = dark[0]; scene[:, 32:] = bars[0]
    >>> det = classify_detections(scene, Detections([[0, 0, 16, 16], [32, 0, 48, 16]]), clf)
    >>> det["class"].tolist()
    ['dark', 'bars']
    """
    image = check_image(image)
    if not hasattr(detections, "xyxy") or not hasattr(detections, "with_fields"):
        raise TypeError(f"`detections` must be a cvtools.detect.Detections; got {type(detections).__name__}.")
    if not hasattr(classifier, "predict"):
        raise TypeError(f"`classifier` must be a trained cvtools.recognize.Classifier; "
                        f"got {type(classifier).__name__}.")
    if len(detections) == 0:
        return detections.with_fields(data={"class": np.array([], dtype=object),
                                            "class_score": np.zeros(0, np.float32)})
    labels, scores = classifier.predict(crop_boxes(image, detections.xyxy, pad=pad))
    return detections.with_fields(data={"class": labels.astype(object), "class_score": scores})
