"""cvtools: a computer-vision toolbox.

Honest image I/O, classic processing (intensity, filtering, convolution), a detection ->
recognition -> identification stack with metrics, and generative modules (inpainting, style
transfer). Works offline.

The data contract, used by every function:

* an image is a numpy array ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA;
* dtypes are uint8 (0-255), uint16 (0-65535) or float32/float64 (0-1), and are never rescaled
  silently: image-valued outputs keep the input dtype, other quantities are float32;
  :func:`to_float32` and :func:`to_uint8` convert explicitly;
* boxes are ``xyxy`` float pixels, x right and y down.

Submodules are imported on first use, so ``import cvtools`` is fast and pulls in no heavy
dependency (torch, dlib, onnxruntime, dask, albumentations).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "io", "intensity", "filtering", "convolution", "detect", "recognize", "identify", "metrics", "viz",
    "generative", "batch", "cli", "demo", "transform", "datasets",
}

# public name -> module that defines it
_ATTRS = {
    "read": "cvtools.io",
    "write": "cvtools.io",
    "iter_images": "cvtools.io",
    "to_float32": "cvtools._shared",
    "to_uint8": "cvtools._shared",
    "to_uint16": "cvtools._shared",
    "CvtoolsError": "cvtools._shared",
    "CvtoolsWarning": "cvtools._shared",
    "ImageReadError": "cvtools._shared",
    "ImageWriteError": "cvtools._shared",
    "VideoOpenError": "cvtools._shared",
    "VideoWriteError": "cvtools._shared",
    "UsageError": "cvtools._shared",
    "CvtoolsRuntimeWarning": "cvtools._shared",
    "ImageMetadataWarning": "cvtools._shared",
    "Detections": "cvtools.detect",
    "Pipeline": "cvtools.batch",
}

__all__ = sorted(_ATTRS) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"cvtools.{name}")
    if name in _ATTRS:
        value = getattr(importlib.import_module(_ATTRS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cvtools' has no attribute {name!r}")


def __dir__():
    return __all__
