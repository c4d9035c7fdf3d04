"""Generative modules: inpainting (fill a masked region) and style transfer.

torch and onnxruntime are imported only inside the methods that need them.
"""
from __future__ import annotations

import importlib

# public name -> private module that defines it (filled in by the inpainting and style modules)
_ATTRS = {
    "inpaint": "cvtools.generative._inpaint",
    "mask_from_color": "cvtools.generative._masks",
    "mask_from_boxes": "cvtools.generative._masks",
    "dilate_mask": "cvtools.generative._masks",
    "stylize": "cvtools.generative._style",
    "Stylizer": "cvtools.generative._style",
    "is_builtin_style": "cvtools.generative._style",
    "as_mask": "cvtools.generative._masks",
}

__all__ = sorted(_ATTRS)


def __getattr__(name: str):
    if name in _ATTRS:
        value = getattr(importlib.import_module(_ATTRS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cvtools.generative' has no attribute {name!r}")


def __dir__():
    return __all__
