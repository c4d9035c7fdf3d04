"""Inpainting: fill a masked region from the rest of the image.

One entry point, :func:`inpaint`, over six methods:

=============  ==========================================================  ===============================
method         idea                                                        good for
=============  ==========================================================  ===============================
``telea``      fast marching, weighted average of the rim (OpenCV)        thin scratches, speed
``ns``         Navier-Stokes isophote transport (OpenCV)                   thin scratches
``biharmonic`` smoothest surface through the rim (scikit-image)            smooth images, small holes
``fsr``        sparse Fourier model of each block's surroundings           the best PSNR; default (auto)
``exemplar``   copies patches of the image itself (Criminisi + PatchMatch) texture, object removal
``dip``        a randomly initialised U-Net fitted to the known pixels     a learned prior, no weights
=============  ==========================================================  ===============================
"""
from __future__ import annotations

import inspect
import sys

import numpy as np

from cvtools._shared import check_choice, check_image, dtype_max, restore_dtype, to_float32

from ._masks import as_mask

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from numpy.typing import ArrayLike
    from typing import Any

__all__ = ["inpaint", "METHODS"]

METHODS = ("auto", "telea", "ns", "biharmonic", "fsr", "exemplar", "dip")


def _progress_bar(total: int, desc: str, progress, unit: str = "px"):
    """A tqdm bar on stderr (off when stderr is not a terminal), or a no-op."""
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not progress or total <= 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, unit=unit, leave=False)


# --- the methods: each takes a float64 (H, W, C) image in the image's own 0-1 units and a bool hole


def _telea_ns(img, hole, *, flag, radius: float = 3.0):
    import cv2

    if radius <= 0:
        raise ValueError(f"`radius` must be > 0; got {radius}.")
    m8 = hole.astype(np.uint8)
    out = np.empty_like(img)
    if img.shape[2] == 3:  # OpenCV's 3-channel path needs 8 bits; 16-bit precision per channel otherwise
        src = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
        res = cv2.inpaint(src, m8, float(radius), flag).astype(np.float64) / 255
        # keep the known pixels exact (no 8-bit rounding outside the hole)
        out[:] = img
        out[hole] = res[hole]
        return out
    # OpenCV's float path assumes 0-255 values, so other cases go through 16 bits per channel
    for c in range(img.shape[2]):
        ch = np.clip(np.rint(img[..., c] * 65535), 0, 65535).astype(np.uint16)
        out[..., c] = cv2.inpaint(ch, m8, float(radius), flag).astype(np.float64) / 65535
    return out


def _telea(img, hole, *, radius: float = 3.0, progress=None):
    """OpenCV's fast-marching method (Telea 2004). ``radius``: neighbourhood considered, pixels."""
    import cv2

    return _telea_ns(img, hole, flag=cv2.INPAINT_TELEA, radius=radius)


def _ns(img, hole, *, radius: float = 3.0, progress=None):
    """OpenCV's Navier-Stokes method (Bertalmio et al. 2001). ``radius``: neighbourhood, pixels."""
    import cv2

    return _telea_ns(img, hole, flag=cv2.INPAINT_NS, radius=radius)


def _biharmonic(img, hole, *, progress=None):
    """scikit-image's biharmonic inpainting (Damelin and Hoang 2018)."""
    from skimage.restoration import inpaint_biharmonic

    return inpaint_biharmonic(img, hole, channel_axis=-1)


def _fsr(img, hole, *, passes="auto", quality: str = "fast", progress=None):
    """Frequency-selective reconstruction (see :mod:`cvtools.generative._fsr`).

    ``passes``: 1, 2 or ``"auto"``; two reconstructions on block grids shifted by half a block are
    averaged (less blocking, about +0.3 dB, twice the time); ``"auto"`` runs two when the hole covers
    at most 20 % of the image. ``quality``: ``"fast"``, or ``"best"`` (more iterations per block and
    smaller blocks inside large holes; several times slower).
    """
    from ._fsr import fsr_fill, LEVELS

    check_choice(quality, ("fast", "best"), name="quality")
    if passes == "auto":
        passes = 2 if hole.mean() <= 0.2 else 1
    if passes not in (1, 2) or isinstance(passes, bool):
        raise ValueError(f"`passes` must be 1, 2 or 'auto'; got {passes!r}.")
    kw = {}
    levels = LEVELS
    if quality == "best":
        kw = dict(max_iter=200, iter_const=2000.0)
        levels = (LEVELS[0], (4, 64, 0.8))
    outs = [fsr_fill(img, hole, levels=levels, shift=s, progress=progress, **kw)
            for s in (0, levels[0][0] // 2)[:passes]]
    return sum(outs) / len(outs)


def _exemplar(img, hole, *, patch_size: int = 9, seed: int = 0, progress=None, **kw):
    """Patch-based synthesis (see :mod:`cvtools.generative._exemplar`)."""
    from ._exemplar import exemplar_fill

    return exemplar_fill(img, hole, patch_size=patch_size, seed=seed, progress=progress, **kw)


def _dip(img, hole, *, progress=None, **kw):
    """Deep Image Prior (see :mod:`cvtools.generative._dip`)."""
    from ._dip import dip_fill

    return dip_fill(img, hole, progress=progress, **kw)


_IMPL = {"telea": _telea, "ns": _ns, "biharmonic": _biharmonic, "fsr": _fsr, "exemplar": _exemplar,
         "dip": _dip}


def _options_of(method: str) -> list[str]:
    if method == "exemplar":
        from ._exemplar import exemplar_fill as fn
    elif method == "dip":
        from ._dip import dip_fill as fn
    else:
        fn = _IMPL[method]
    params = inspect.signature(fn).parameters
    return [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY and n != "progress"]


def inpaint(image: np.ndarray, mask: ArrayLike, method: str = "auto", *, alpha: str = "fill", progress: bool | None = None, **options: Any) -> np.ndarray:
    """Fill the masked pixels of an image so that the region looks as if nothing was ever there.

    Parameters
    ----------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        Gray, RGB or RGBA; uint8, uint16, float32 or float64 (floats in 0-1). NaN is refused.
    mask : (H, W) array_like
        bool, or uint8/uint16/float where non-zero marks a pixel to fill; same height and width.
    method : str
        ``"auto"`` (= ``"fsr"``), ``"telea"``, ``"ns"``, ``"biharmonic"``, ``"fsr"``, ``"exemplar"``
        or ``"dip"``.
    alpha : str
        For RGBA images: ``"fill"`` inpaints the alpha channel like the colours; ``"keep"`` leaves
        the alpha values as they are (also inside the hole).
    progress : bool, optional
        Show a progress bar on stderr; by default only when stderr is a terminal.
    **options
        Method options: telea/ns ``radius``; fsr ``passes``, ``quality``; exemplar ``patch_size``,
        ``seed``, ``search``, ``scales``, ``guide_weight``; dip ``iterations``, ``time_budget``,
        ``seed``, ``device``, ``lr``, ``patience``, ``depth``, ``width``, ``guide``, ``threads``,
        ``input_channels``, ``reg_noise``.

    Returns
    -------
    ndarray
        A new image, same shape and dtype; pixels outside the mask are unchanged.

    Raises
    ------
    ValueError
        Mask shape differs from the image's (both shapes are named), the mask covers every pixel,
        the image holds NaN or infinity, an unknown method or option value.
    TypeError
        Wrong types, or an option the method does not take.

    Examples
    --------
    >>> img = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))
    >>> mask = np.zeros((32, 32), bool); mask[12:20, 12:20] = True
    >>> out = inpaint(img, mask, "biharmonic")
    >>> bool(np.abs(out - img).max() < 0.01), out.dtype
    (True, dtype('float32'))
    """
    image = check_image(image, allow_nan=False)
    method = check_choice(method, METHODS, name="method")
    check_choice(alpha, ("fill", "keep"), name="alpha")
    hole = as_mask(mask, image.shape)
    if method == "auto":
        method = "fsr"
    valid = _options_of(method)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"inpaint(method={method!r}) got unknown option(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(valid) or 'none'}.")
    if not hole.any():
        return image.copy()
    if hole.all():
        raise ValueError("`mask` covers every pixel of the image; nothing is left to fill from.")

    dtype = image.dtype
    img = image.astype(np.float64) if dtype == np.float64 else to_float32(image).astype(np.float64)
    if img.ndim == 2:
        img = img[..., None]
    keep_alpha = img.shape[2] == 4 and alpha == "keep"
    work = img[..., :3] if keep_alpha else img

    if method == "dip":
        from ._dip import dip_fill

        total, unit = options.get("iterations", inspect.signature(dip_fill).parameters["iterations"].default), "it"
    else:
        passes = options.get("passes", "auto")
        two = passes == 2 or (passes == "auto" and hole.mean() <= 0.2)
        total, unit = int(hole.sum()) * (2 if method == "fsr" and two else 1), "px"
    # the diffusion methods take milliseconds to a second: no bar for them
    bar = _progress_bar(total, f"inpaint[{method}]", progress, unit) if method in ("fsr", "exemplar", "dip") else None
    tick = None if bar is None else bar.update
    try:
        out = _IMPL[method](np.ascontiguousarray(work), hole, progress=tick, **options)
    finally:
        if bar is not None:
            bar.close()
    out = np.asarray(out, dtype=np.float64)
    # no overshoot past what the image itself holds (ringing of Fourier/polynomial models)
    known = work[~hole]
    out = np.clip(out, known.min(0), known.max(0))
    result = img.copy()
    result[..., :work.shape[2]][hole] = out[hole]
    if image.ndim == 2:
        result = result[..., 0]
    top = dtype_max(dtype)
    if dtype.kind == "f":
        final = image.copy()
        final[hole] = result[hole].astype(dtype)
        return final
    final = image.copy()
    final[hole] = restore_dtype(result[hole] * top, dtype)
    return final
