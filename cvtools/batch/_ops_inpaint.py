"""The ``inpaint`` operation: fill masked regions in batch runs, with one mask per image from a folder.

The mask of each input is found by file name in ``mask_dir``: for ``photos/cat.jpg`` the op tries
``<mask_dir>/cat.<ext>`` and the same stem with a ``_mask``/``-mask``/``.mask`` suffix (``cat_mask.png``),
for any image extension; when the runner also publishes the input's path relative to the input root
(``a/cat.jpg``), ``<mask_dir>/a/cat.<ext>`` is tried first. Non-zero mask pixels are filled. Instead of
masks, ``remove=<detector>`` fills what a ``cvtools.detect`` detector finds (``remove=face``: every face,
YuNet), as ``cvtools inpaint --remove``.

Which input is being processed is per-file context the op cannot see in its arguments, so the runner
publishes it through :data:`current_source` (a :class:`contextvars.ContextVar` holding the input path
and, optionally, its path relative to the input root), defined in the registry. :func:`source` reads it.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

from ._registry import PipelineError, check_range, current_source, register


_MASK_EXTS = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".pgm", ".ppm")
_MASK_CACHE: dict = {}


def source():
    """The ``(path, relative path or None)`` of the input being processed, or None outside a batch run."""
    return current_source.get()


def find_mask(mask_dir, src, rel=None) -> Path:
    """The mask file in ``mask_dir`` matching input ``src`` by name; raises FileNotFoundError."""
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise FileNotFoundError(f"`mask_dir` {str(mask_dir)!r} is not a folder.")
    src = Path(src)
    stems = []
    if rel:
        r = Path(rel)
        stems.append(r.parent / r.stem)
    stems.append(Path(src.stem))
    tried = []
    for stem in stems:
        for suffix in ("", "_mask", "-mask", ".mask"):
            for ext in _MASK_EXTS:
                cand = mask_dir / (str(stem) + suffix + ext)
                tried.append(cand.name)
                if cand.is_file():
                    return cand
    raise FileNotFoundError(f"no mask for {src.name!r} in {str(mask_dir)!r} (looked for {src.stem}.png, "
                            f"{src.stem}_mask.png and other image extensions).")


def _read_mask(path: Path):
    from ..io import read

    key = (str(path), os.path.getmtime(path))
    if key not in _MASK_CACHE:
        if len(_MASK_CACHE) > 4:
            _MASK_CACHE.clear()
        m = read(path)
        _MASK_CACHE[key] = m
    return _MASK_CACHE[key]


@functools.lru_cache(maxsize=4)
def _detector(name: str):
    from ..detect import get

    return get(name)


def _check(params: dict) -> dict:
    mask_dir, mask, remove = params.get("mask_dir", ""), params.get("mask", ""), params.get("remove", "")
    if sum(map(bool, (mask_dir, mask, remove))) > 1:
        raise PipelineError("inpaint: give one of `mask_dir`, `mask` or `remove`.")
    if not mask_dir and not mask and not remove:
        raise PipelineError("inpaint: needs `mask_dir` (a folder of masks), `mask` (one file) or `remove` "
                            "(a detector, e.g. face).")
    if remove:
        from ..detect import detectors

        names = [d.name for d in detectors()]
        if remove not in names:
            raise PipelineError(f"inpaint: unknown `remove` detector {remove!r}; valid: {', '.join(names)}.")
    check_range("inpaint", params, "padding", low=0)
    if mask_dir and not os.path.isdir(mask_dir):
        raise PipelineError(f"inpaint: `mask_dir` {mask_dir!r} is not a folder.")
    if mask and not os.path.isfile(mask):
        raise PipelineError(f"inpaint: `mask` file {mask!r} does not exist.")
    check_range("inpaint", params, "dilate", low=0)
    check_range("inpaint", params, "threshold", low=0)
    return params


# Not probed: the mask is found per input file; checked in prepare.
@register("inpaint", prepare=_check, probe=False)
def inpaint_op(image, *, mask_dir: str = "", mask: str = "", remove: str = "", padding: float = 0.15,
               method: Literal["auto", "telea", "ns", "biharmonic", "fsr", "exemplar", "dip"] = "auto",
               dilate: int = 0, threshold: int = 0, seed: int = 0):
    """Fill the masked pixels of each image (cvtools.generative.inpaint).

    Parameters
    ----------
    mask_dir : str
        Folder of masks matched to each input by file name (cat.jpg -> cat.png or cat_mask.png, any
        image extension); non-zero pixels are filled.
    mask : str
        One mask file used for every image (when mask_dir is not given).
    remove : str
        Instead of masks: fill the boxes a cvtools.detect detector finds in each image (face = YuNet,
        every face; face-accurate, objects, person, qr, ...), as `cvtools inpaint --remove`.
    padding : float
        With remove: grow each box by this fraction of its size (< 1) or pixels (>= 1); default 0.15
        (with face: 99.8% of dlib's 68 landmarks of dlib's PASCAL faces inside, all of them on 95% of
        the faces).
    method : str
        auto (= fsr), telea, ns, biharmonic, fsr, exemplar or dip.
    dilate : int
        Grow the mask by this many pixels first (covers anti-aliased rims).
    threshold : int
        Mask pixels above this value are filled (127 for anti-aliased grey masks).
    seed : int
        Random seed of the exemplar and dip methods.
    """
    from ..generative import dilate_mask, inpaint
    from ..generative import as_mask

    if sum(map(bool, (mask_dir, mask, remove))) > 1:
        raise ValueError("give one of `mask_dir`, `mask` or `remove`.")
    if remove:
        from ..generative import mask_from_boxes

        m = mask_from_boxes(image.shape, _detector(remove).detect(image).xyxy, padding=padding)
        if dilate:
            m = dilate_mask(m, int(dilate))
        options = {"seed": int(seed)} if method in ("exemplar", "dip") else {}
        return inpaint(image, m, method, progress=False, **options) if m.any() else image.copy()
    if mask_dir:
        ctx = source()
        if ctx is None:
            raise ValueError("`mask_dir` needs the batch runner's per-file context (the input's file name); "
                             "outside a batch run pass `mask` instead.")
        path = find_mask(mask_dir, ctx[0], ctx[1])
    elif mask:
        path = Path(mask)
        if not path.is_file():
            raise FileNotFoundError(f"`mask` file {mask!r} does not exist.")
    else:
        raise ValueError("the inpaint operation needs `mask_dir` (a folder of masks) or `mask` (one file).")
    m = _read_mask(path)
    if m.ndim == 3:
        m = m[..., :3].max(axis=2)
    m = as_mask(m > threshold)
    if m.shape != image.shape[:2]:
        raise ValueError(f"mask {path.name!r} has shape {m.shape} but the image is {image.shape}; "
                         f"their height and width must match.")
    if dilate:
        m = dilate_mask(m, int(dilate))
    options = {"seed": int(seed)} if method in ("exemplar", "dip") else {}
    return inpaint(image, m, method, progress=False, **options)
