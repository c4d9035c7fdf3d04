"""The ``augment`` operation: a random albumentations transform described by a YAML/JSON spec.

Needs the ``augment`` extra (albumentations), imported only when the op is used.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ._registry import PipelineError, register

_CACHE: dict[str, object] = {}


def _albumentations():
    from .._shared import require

    # albumentations checks PyPI for a newer version on import unless told not to; cvtools works offline.
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    return require("albumentations", feature="the 'augment' operation", extra="augment")


def load_spec(spec):
    """Read an augmentation spec: a YAML/JSON file path, or already-loaded data (returned as is)."""
    if not isinstance(spec, str):
        return spec
    path = Path(spec).expanduser()
    if not path.is_file():
        raise PipelineError(f"augment: spec file {spec!r} not found (give a YAML/JSON file).")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:
        raise PipelineError(f"augment: cannot parse {spec!r}: {exc}") from None


def _transform(A, entry):
    """One albumentations transform from ``"Name"``, ``{"Name": {params}}`` or ``{"name": N, **params}``."""
    if isinstance(entry, str):
        name, params = entry, {}
    elif isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry.values())), (dict, type(None))):
        name, params = next(iter(entry.items()))
        params = dict(params or {})
    elif isinstance(entry, dict) and ("name" in entry or "transform" in entry):
        params = dict(entry)
        name = params.pop("name", None) or params.pop("transform")
    else:
        raise PipelineError(f"augment: cannot read a transform from {entry!r}; write 'HorizontalFlip', "
                            f"{{'Rotate': {{'limit': 15}}}} or {{'name': 'Rotate', 'limit': 15}}.")
    cls = getattr(A, str(name), None)
    if not isinstance(cls, type):
        raise PipelineError(f"augment: {name!r} is not an albumentations transform "
                            f"(albumentations {A.__version__}); see https://albumentations.ai/docs/.")
    if isinstance(params.get("transforms"), list):  # OneOf, SomeOf, Sequential...
        params["transforms"] = [_transform(A, t) for t in params["transforms"]]
    try:
        return cls(**params)
    except Exception as exc:
        raise PipelineError(f"augment: {name}({', '.join(f'{k}={v!r}' for k, v in params.items())}) "
                            f"failed: {exc}") from None


def build_transform(spec):
    """An ``albumentations.Compose`` from a spec (cached per process).

    The spec is a list of transforms (``["HorizontalFlip", {"Rotate": {"limit": 15}}, ...]``), a
    mapping with such a list under ``transforms``, or albumentations' own serialised form
    (``A.to_dict(transform)``, with a ``transform`` key).
    """
    key = json.dumps(spec, sort_keys=True, default=str)
    compose = _CACHE.get(key)
    if compose is not None:
        return compose
    A = _albumentations()
    if isinstance(spec, dict) and "transform" in spec and "__version__" in spec:
        try:
            compose = A.from_dict(spec)
        except Exception as exc:
            raise PipelineError(f"augment: cannot load the serialised albumentations spec: {exc}") from None
    else:
        items = spec.get("transforms") if isinstance(spec, dict) else spec
        if not isinstance(items, list) or not items:
            raise PipelineError("augment: the spec must be a non-empty list of transforms (or a mapping "
                                "with one under 'transforms').")
        compose = A.Compose([_transform(A, t) for t in items])
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = compose
    return compose


def _prepare(params: dict) -> dict:
    spec = load_spec(params["spec"])
    build_transform(spec)  # validate now, before any file is touched
    return {**params, "spec": spec}


# Not probed: importing albumentations takes seconds; the spec is checked in prepare.
@register("augment", extra="augment", needs=("albumentations",), prepare=_prepare, probe=False)
def augment(image, *, spec: str | list | dict, seed: int | None = None):
    """Random augmentation with albumentations, from a YAML/JSON spec; reproducible with ``seed``.

    Parameters
    ----------
    spec : str or list or dict
        A YAML/JSON file (read once, when the pipeline is built, so its content is part of the
        pipeline), or the spec itself: a list of albumentations transforms such as
        ``[{"HorizontalFlip": {"p": 0.5}}, {"Rotate": {"limit": 15}}]``.
    seed : int, optional
        Random seed: the same seed and image give the same result. In a batch run it is derived
        per file and copy from ``--seed`` unless given here.

    Returns
    -------
    ndarray
        The augmented image; uint8 and float32 are supported (float64 is computed in float32).

    Examples
    --------
    >>> img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    >>> augment(img, spec=[{"HorizontalFlip": {"p": 1.0}}], seed=0)[0].tolist()  # doctest: +SKIP
    [3, 2, 1, 0]
    """
    compose = build_transform(load_spec(spec))
    if image.dtype not in (np.uint8, np.float32, np.float64):
        raise TypeError(f"augment supports uint8 and float images; got {image.dtype} "
                        f"(convert first, e.g. convert:dtype=uint8).")
    work = image.astype(np.float32) if image.dtype == np.float64 else image
    if seed is not None:
        compose.set_random_seed(int(seed))
    out = compose(image=np.ascontiguousarray(work))["image"]
    out = np.ascontiguousarray(out)
    if image.dtype == np.float64:
        out = out.astype(np.float64)
    return out
