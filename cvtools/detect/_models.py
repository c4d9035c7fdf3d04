"""The network files shipped in ``cvtools/detect/models/``: where they are and that they are intact.

Every file is checked against the sha256 recorded here before a detector loads it (once per process and
file state), so a truncated copy or a swapped file is reported by name instead of giving wrong boxes.
Nothing is ever downloaded; provenance and licences are in ``models/LICENSES.md``.
"""
from __future__ import annotations

import os
import threading

from .._shared import CvtoolsError, sha256_file

__all__ = ["MODELS", "ModelIntegrityError", "model_path"]

#: file name -> sha256 of the files in ``models/`` (see ``models/LICENSES.md``).
MODELS = {
    "yunet_n_640_640.onnx": "25a606a145a5b6d7271ae138fbd00eba91dad8b83222ae3f2c7ecd0f4a7b0e31",
    "yunet_s_640_640.onnx": "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    "yolox_nano.onnx": "d39bee73564e338080378b0ad567fbb40e818b55bbfaf971de82a0267ed16b8a",
}

_MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
_VERIFIED: dict[tuple, str] = {}
_LOCK = threading.Lock()


class ModelIntegrityError(CvtoolsError, OSError):
    """A model file is missing, unreadable or not the expected file (its sha256 differs)."""


def model_path(name: str, *, directory: str | None = None) -> str:
    """The path of the shipped model file ``name``, after checking its sha256.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`, e.g. ``"yunet_n_640_640.onnx"``.
    directory : str, optional
        Look for the file there instead of the package's ``models/`` folder (the checksum is the same).

    Raises
    ------
    ModelIntegrityError
        The file is missing or its sha256 differs from the recorded one (the message names the file and
        both digests).

    Examples
    --------
    >>> os.path.basename(model_path("yunet_n_640_640.onnx"))
    'yunet_n_640_640.onnx'
    """
    if name not in MODELS:
        raise ValueError(f"unknown model file {name!r}; valid: {', '.join(sorted(MODELS))}.")
    path = os.path.join(directory or _MODELS_DIR, name)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ModelIntegrityError(f"model file {path} is missing ({exc.strerror}); expected sha256 {MODELS[name]}. "
                             "Reinstall cvtools: the file ships inside the package.") from None
    key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
    with _LOCK:
        if _VERIFIED.get(key) == MODELS[name]:
            return path
    digest = sha256_file(path)
    if digest != MODELS[name]:
        raise ModelIntegrityError(f"model file {path} is corrupt or not the expected file: sha256 {digest}, "
                             f"expected {MODELS[name]}. Reinstall cvtools to restore it.")
    with _LOCK:
        _VERIFIED[key] = digest
    return path
