"""Reading model files safely: data only, bounded sizes, every declared field checked before use.

A model file is a ``.npz`` (a zip of ``.npy`` arrays) written by :meth:`Classifier.save`. It may come
from anyone, so :func:`read_model_file` never trusts what it declares:

* it is read with :mod:`zipfile` and :mod:`numpy.lib.format` directly, never with ``pickle``;
* the sizes the zip's central directory and each ``.npy`` header declare are checked against the
  limits below *before* anything is decompressed or allocated (a 1.6 MB zip bomb declaring 1.9 GB
  is refused without inflating it), and each array must fill its entry exactly;
* the JSON header must be a small, shallow object.

The classifiers then check their own fields (shapes, finiteness, bounds) in ``_from_saved``;
anything wrong raises :class:`ModelFileError` ("not a valid cvtools model file: ...").
"""
from __future__ import annotations

import json

import numpy as np

from .._shared import CvtoolsError
from .._shared._npz import MAX_ARRAYS, Invalid, check_array, check_no_extra, read_npz  # noqa: F401
from . import _data

#: Largest model file, and largest total of its arrays uncompressed, in bytes (512 MiB).
MAX_MODEL_BYTES = 2 ** 29
#: Largest JSON header (``__meta__``), in bytes (4 MiB).
MAX_META_BYTES = 2 ** 22
#: Deepest nesting of lists/objects in the JSON header.
MAX_META_DEPTH = 32
#: Largest ``image_size`` side a model may declare (images are resized to it before prediction).
MAX_IMAGE_SIDE = _data.MAX_IMAGE_SIDE
#: Most classes a model may declare.
MAX_CLASSES = 100_000


class ModelFileError(CvtoolsError, ValueError):
    """A file is not a valid cvtools model file: not a ``.npz`` written by :meth:`Classifier.save`,
    corrupt, inconsistent, or declaring more than the documented limits allow."""


ModelFileError.__module__ = "cvtools.recognize"


def model_file_error(path, reason: str) -> ModelFileError:
    return ModelFileError(f"`path` {str(path)!r} is not a valid cvtools model file: {reason}")


def read_model_file(path) -> tuple[dict, dict]:
    """``(meta, arrays)`` of a model file (see :func:`read_npz`), or :class:`Invalid`."""
    arrays = read_npz(path, max_bytes=MAX_MODEL_BYTES, entry_limits={"__meta__": MAX_META_BYTES})
    raw = arrays.pop("__meta__", None)
    if raw is None:
        raise Invalid("it has no __meta__ header (expected a .npz written by Classifier.save)")
    if raw.ndim != 1 or raw.dtype != np.uint8 or raw.nbytes > MAX_META_BYTES:
        raise Invalid(f"the __meta__ header must be at most {MAX_META_BYTES:,} bytes of JSON; got a "
                      f"{raw.dtype} array of shape {raw.shape}")
    return _parse_meta(raw), arrays


def _parse_meta(raw: np.ndarray) -> dict:
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except RecursionError:
        raise Invalid(f"its JSON header is nested too deeply (at most {MAX_META_DEPTH} levels)") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Invalid(f"its JSON header cannot be parsed: {exc}") from None
    if not isinstance(meta, dict):
        raise Invalid(f"its JSON header must be an object; got {type(meta).__name__}")
    stack = [(meta, 1)]
    while stack:  # iterative: a hostile header cannot exhaust the interpreter's stack here
        obj, depth = stack.pop()
        if depth > MAX_META_DEPTH:
            raise Invalid(f"its JSON header is nested too deeply (at most {MAX_META_DEPTH} levels)")
        children = obj.values() if isinstance(obj, dict) else obj
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return meta


# ----------------------------------------------------------------------------------- field checks
def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_common(meta: dict, *, format_name: str, format_version: int) -> dict:
    """Validate the fields every model has; return them normalised (classes, image_size, channels, info)."""
    if meta.get("format") != format_name:
        raise Invalid(f"format {meta.get('format')!r}; expected {format_name!r}")
    version = meta.get("version")
    if not is_int(version) or version < 1:
        raise Invalid(f"version must be an integer >= 1; got {version!r}")
    if version > format_version:
        raise Invalid(f"it was written by a newer cvtools (model format {version}; this one reads up to "
                      f"{format_version})")
    classes = meta.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise Invalid(f"`classes` must be a list of names; got {_short(classes)}")
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise Invalid(f"a classifier needs 2 to {MAX_CLASSES:,} classes; got {len(classes)}")
    if len(set(classes)) != len(classes):
        raise Invalid("`classes` has duplicate names")
    size = meta.get("image_size")
    if (not isinstance(size, list) or len(size) != 2 or not all(is_int(v) for v in size)
            or not all(8 <= v <= MAX_IMAGE_SIDE for v in size)):
        raise Invalid(f"`image_size` must be [height, width], integers in 8..{MAX_IMAGE_SIDE}; got {_short(size)}")
    channels = meta.get("channels")
    if not is_int(channels) or channels not in (1, 3):
        raise Invalid(f"`channels` must be 1 or 3; got {_short(channels)}")
    info = meta.get("info", {})
    if info is None:
        info = {}
    if not isinstance(info, dict):
        raise Invalid(f"`info` must be an object; got {type(info).__name__}")
    return {"classes": classes, "image_size": tuple(size), "channels": channels, "info": info}


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
