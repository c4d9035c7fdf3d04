"""dlib's face models: HOG face detector, 5-point landmarks and 128-d face descriptors."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from .._shared import require, to_uint8
from ._dlib_resnet import CHIP_SIZE

_MODELS: dict = {}
#: which network runs the descriptors: "torch_found" (looked up once), "torch_failed" (the port could not load)
_BACKEND: dict = {}
FEATURE = "cvtools.identify (faces)"


def models_dir() -> Path:
    """The folder holding face_recognition_models' ``.dat`` files.

    Found without importing the package (its ``__init__`` imports pkg_resources, which recent
    setuptools no longer ships).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f'{FEATURE} needs face_recognition_models: pip install "cvtools[face]"')
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def face_models():
    """``(dlib, detector, shape_predictor, recogniser)``, loaded once per process."""
    if not _MODELS:
        dlib = require("dlib", feature=FEATURE)
        d = models_dir()
        files = {"sp": d / "shape_predictor_5_face_landmarks.dat",
                 "rec": d / "dlib_face_recognition_resnet_model_v1.dat"}
        for f in files.values():
            if not f.is_file():
                raise ImportError(f"{FEATURE}: {f} is missing; reinstall face-recognition-models.")
        _MODELS.update(dlib=dlib, det=dlib.get_frontal_face_detector(),
                       sp=dlib.shape_predictor(str(files["sp"])),
                       rec=dlib.face_recognition_model_v1(str(files["rec"])))
    return _MODELS["dlib"], _MODELS["det"], _MODELS["sp"], _MODELS["rec"]


def as_rgb8(image) -> np.ndarray:
    """uint8 RGB, C-contiguous: what dlib accepts."""
    im = image if image.dtype == np.uint8 else to_uint8(image)
    if im.ndim == 2:
        im = np.repeat(im[..., None], 3, axis=2)
    elif im.shape[2] == 4:
        im = im[..., :3]
    return np.ascontiguousarray(im)


def detect_faces(rgb8, *, upsample: int = 1, threshold: float = 0.0):
    """dlib HOG + linear SVM frontal faces: ``(xyxy float32 (N, 4), scores float32 (N,))``."""
    _, det, _, _ = face_models()
    rects, scores, _ = det.run(rgb8, int(upsample), float(threshold))
    h, w = rgb8.shape[:2]
    boxes = np.array([[max(r.left(), 0), max(r.top(), 0), min(r.right() + 1, w), min(r.bottom() + 1, h)]
                      for r in rects], np.float32).reshape(-1, 4)
    return boxes, np.asarray(scores, np.float32).reshape(-1)


def describe_faces(rgb8, boxes, *, num_jitters: int = 0):
    """5-point landmarks ``(N, 5, 2)`` and aligned-face descriptors ``(N, 128)`` (float32).

    Each box is aligned with the 5 landmarks (eyes' corners and nose base) to a 150 x 150 chip
    (``dlib.get_face_chip``, padding 0.25) and embedded by dlib's face ResNet: run by torch when it
    is installed (the same weights, read from dlib's file; ~10x faster than dlib-bin, which has no
    BLAS), else by dlib itself. Both give the same descriptors to ~1e-6.
    """
    dlib, _, sp, rec = face_models()
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 5, 2), np.float32), np.zeros((0, 128), np.float32)
    shapes = dlib.full_object_detections()
    marks = np.empty((len(boxes), 5, 2), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        rect = dlib.rectangle(int(round(x1)), int(round(y1)), int(round(x2)) - 1, int(round(y2)) - 1)
        shape = sp(rgb8, rect)
        shapes.append(shape)
        marks[i] = [(shape.part(k).x, shape.part(k).y) for k in range(5)]
    if descriptor_backend() == "torch":
        chips = dlib.get_face_chips(rgb8, shapes, size=CHIP_SIZE, padding=0.25)
        try:
            return marks, _torch_descriptors(chips, int(num_jitters))
        except (ImportError, OSError, ValueError) as exc:
            if _forced_backend() == "torch":
                raise
            import warnings

            warnings.warn(f"face descriptors: the torch port of dlib's network failed ({exc}); using dlib "
                          f"(same descriptors, ~9x slower).", RuntimeWarning, stacklevel=2)
            _BACKEND["torch_failed"] = True
    desc = rec.compute_face_descriptor(rgb8, shapes, int(num_jitters))
    return marks, np.asarray([np.asarray(d) for d in desc], np.float32).reshape(len(boxes), 128)


def descriptor_backend() -> str:
    """What runs the face ResNet here: ``"torch"`` when torch is installed, else ``"dlib"``.

    ``CVTOOLS_FACE_BACKEND=dlib`` forces dlib (for comparisons).
    """
    forced = _forced_backend()
    if forced is not None:
        return forced
    if _BACKEND.get("torch_failed"):
        return "dlib"
    if "torch_found" not in _BACKEND:  # looked up once: this runs for every frame of a video
        _BACKEND["torch_found"] = importlib.util.find_spec("torch") is not None
    return "torch" if _BACKEND["torch_found"] else "dlib"


def _forced_backend() -> str | None:
    forced = os.environ.get("CVTOOLS_FACE_BACKEND", "").strip().lower()
    return forced if forced in ("dlib", "torch") else None


def _torch_descriptors(chips, num_jitters: int) -> np.ndarray:
    """Descriptors of 150 x 150 RGB chips; with ``num_jitters > 1`` the mean over dlib's jittered copies
    (as ``compute_face_descriptor`` does)."""
    import torch

    from ._dlib_resnet import torch_face_net

    net = torch_face_net(str(models_dir() / "dlib_face_recognition_resnet_model_v1.dat"))
    dlib = _MODELS["dlib"]
    groups = [[np.asarray(c)] if num_jitters <= 1 else [np.asarray(j) for j in dlib.jitter_image(c, num_jitters)]
              for c in chips]
    batch = np.stack([im for g in groups for im in g]).transpose(0, 3, 1, 2)
    with torch.inference_mode():
        out = net(torch.from_numpy(np.ascontiguousarray(batch)).float()).numpy()
    if num_jitters > 1:
        out = out.reshape(len(groups), -1, out.shape[-1]).mean(axis=1)
    return np.ascontiguousarray(out, np.float32)
