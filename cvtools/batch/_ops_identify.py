"""The ``identify`` and ``classify`` operations: galleries and trained classifiers in batch runs."""
from __future__ import annotations

import os
from typing import Literal

import numpy as np  # noqa: F401  (the doctests use it)

from ._registry import PipelineError, check_range, register

_CACHE: dict = {}


def _face_detector_names() -> tuple[str, ...]:
    """The registered detectors that find faces only (registry metadata ``classes == ("face",)``)."""
    from ..detect import detectors

    return tuple(d.name for d in detectors() if d.classes == ("face",))


#: Checked when a pipeline is parsed; generated from ``cvtools.detect.detectors()``.
FaceDetectorName = Literal[_face_detector_names()]


def _cached(kind: str, path: str, build, settings=()):
    """Galleries and models are built once per process (per path and ``settings``), not per image."""
    if not path:
        raise ValueError(f"`{'gallery' if kind == 'gallery' else 'model'}` must name a "
                         f"{'folder' if kind == 'gallery' else 'model file'}; got an empty string.")
    ap = os.path.abspath(path)
    key = (kind, ap, os.path.getmtime(ap) if os.path.exists(ap) else None, settings)
    if key not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = build(ap)
    return _CACHE[key]


def _check_path(op: str, name: str, path: str, *, folder: bool) -> None:
    ok = os.path.isdir(path) if folder else os.path.isfile(path)
    if not path or not ok:
        what = "a folder of <name>/<image> files" if folder else "a model file saved by `cvtools train`"
        raise PipelineError(f"{op}: `{name}` must name {what}; got {path!r}"
                            f"{'' if not path else ' (not found)' if not os.path.exists(path) else ''}.")


def _check_identify(params: dict) -> dict:
    _check_path("identify", "gallery", params.get("gallery", ""), folder=True)
    check_range("identify", params, "threshold", low=0, low_open=True)
    check_range("identify", params, "min_inliers", low=4)  # a homography needs 4 point pairs
    return params


def _check_classify(params: dict) -> dict:
    _check_path("classify", "model", params.get("model", ""), folder=False)
    check_range("classify", params, "pad", low=0)
    detector = params.get("detector", "")
    if detector:
        from ..detect import detectors

        names = [d.name for d in detectors()]
        if detector not in names:
            raise PipelineError(f"classify: unknown `detector` {detector!r}; valid: {', '.join(names)}.")
    return params


# Not probed: a probe would build the gallery or load the model in the parent; checked in prepare.
@register("identify", extra="face", needs=("dlib",), prepare=_check_identify, probe=False)
def identify(image, *, gallery: str = "", kind: Literal["face", "object"] = "face", threshold: float = 0.6,
             detector: FaceDetectorName = "face", min_inliers: int = 12):
    """Draw the name of every face (or gallery object) found, from a gallery folder.

    Parameters
    ----------
    gallery : str
        Folder laid out as gallery/<name>/<image> (cvtools.identify.Gallery.from_folder).
    kind : str
        face (dlib descriptors) or object (SIFT + homography).
    threshold : float
        face: largest descriptor distance that still names a face; beyond it "unknown".
    detector : str
        face: the face detector of the gallery photos and the images (face = YuNet, faces from ~10 px;
        face-accurate, face-dlib-hog, face-haar, ...).
    min_inliers : int
        object: fewest RANSAC inliers for a match.

    Returns
    -------
    ndarray
        The image with boxes and names drawn, same dtype; gray input comes back RGB.
    """
    from ..identify import Gallery
    from ..viz import draw_detections

    opts = {"threshold": threshold, "detector": detector} if kind == "face" else {"min_inliers": min_inliers}
    g = _cached("gallery", gallery, lambda p: Gallery.from_folder(p, kind, **opts), settings=(kind, detector))
    g.threshold, g.min_inliers = float(threshold), int(min_inliers)
    return draw_detections(image, g.identify(image), show_scores=False)


@register("classify", prepare=_check_classify, probe=False)
def classify(image, *, model: str = "", detector: str = "", pad: float = 0.0):
    """Write the class a trained model gives the image (or each detection) on the image.

    Parameters
    ----------
    model : str
        A model file from `cvtools train` (cvtools.recognize.load).
    detector : str
        Empty: classify the whole image and write the label in the top-left corner. Otherwise a
        cvtools.detect name (e.g. face): classify each detection's crop and caption its box.
    pad : float
        With a detector: grow each box by this fraction of its size before cropping.

    Returns
    -------
    ndarray
        The image with the label(s) drawn, same dtype; gray input comes back RGB.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cvtools.recognize import train
    >>> rng = np.random.default_rng(0)
    >>> dark = [rng.integers(0, 60, (16, 16), dtype=np.uint8) for _ in range(4)]
    >>> bars = [np.tile(np.array([0, 255] * 8, np.uint8), (16, 1)) for _ in range(4)]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.npz"
    >>> _ = train((dark + bars, ["dark"] * 4 + ["bars"] * 4), image_size=16, val_split=0).save(path)
    >>> classify(bars[0], model=str(path)).shape
    (16, 16, 3)
    """
    from ..detect import Detections
    from ..detect import get as get_detector
    from ..recognize import classify_detections, load
    from ..viz import draw_detections

    clf = _cached("model", model, load)
    h, w = image.shape[:2]
    if detector:
        key = ("detector", detector)
        if key not in _CACHE:
            _CACHE[key] = get_detector(detector)
        found = classify_detections(image, _CACHE[key].detect(image), clf, pad=pad)
    else:
        found = classify_detections(image, Detections([[0, 0, w, h]]), clf)
    found = found.with_fields(labels=[f"{c} {s:.2f}" for c, s in zip(found["class"], found["class_score"])])
    return draw_detections(image, found, show_scores=False)
