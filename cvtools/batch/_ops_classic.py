"""Classic image operations (intensity, filtering, convolution) exposed to pipelines by name.

Each op is generated from the library function it wraps: the defaults and the parameter
descriptions come from that function's signature and numpydoc docstring, so they cannot drift.
The library functions are not annotated, so the types the pipeline parser checks are given here,
once, next to the function. Ops whose natural result is not a storable image (a boolean mask, a
float gradient magnitude) convert it to uint8, as documented in each op's summary.
"""
from __future__ import annotations

import inspect
from typing import Literal

import numpy as np

from .._shared import dtype_max
from ._registry import register

Border = Literal["reflect", "constant", "edge", "symmetric", "wrap"]
IntOrPair = int | tuple[int, int]


def _expose(name: str, func, types: dict, *, summary: str | None = None, post=None, pre=None,
            skip: tuple = (), fixed: dict | None = None) -> None:
    """Register ``func`` as op ``name``: its defaults and docs, the ``types`` given here."""
    sig = inspect.signature(func)
    items = list(sig.parameters.values())
    params = [items[0].replace(annotation=inspect.Parameter.empty)]
    annotations = {}
    for p in items[1:]:
        if p.name in skip or (fixed and p.name in fixed):
            continue
        if p.name not in types:
            raise TypeError(f"op {name!r}: give a type for parameter {p.name!r} of {func.__name__}.")
        params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=types[p.name]))
        annotations[p.name] = types[p.name]
    fixed = dict(fixed or {})

    def op(image, **kwargs):
        if pre is not None:
            kwargs = pre(kwargs)
        out = func(image, **fixed, **kwargs)
        return post(out, image) if post is not None else out

    doc = inspect.getdoc(func) or ""
    if summary is not None:
        first, _, rest = doc.partition("\n")
        doc = summary + ("\n" + rest if rest else "")
    op.__name__ = op.__qualname__ = name.replace("-", "_")
    op.__doc__ = doc
    op.__signature__ = sig.replace(parameters=params, return_annotation=inspect.Signature.empty)
    op.__annotations__ = annotations
    register(name)(op)


def _mask_u8(result, image) -> np.ndarray:
    mask = result[0] if isinstance(result, tuple) else result
    return np.asarray(mask, dtype=np.uint8) * np.uint8(255)


def _magnitude_u8(magnitude, image) -> np.ndarray:
    # 255 = the Sobel magnitude of a full-range step edge (4 x full range for the 3x3 kernel).
    scale = 255.0 / (4.0 * float(dtype_max(image.dtype)))
    return np.clip(np.rint(np.asarray(magnitude, np.float64) * scale), 0, 255).astype(np.uint8)


def _load() -> None:
    from .. import filtering, intensity

    # -- intensity ---------------------------------------------------------------------------
    _expose("invert", intensity.invert, {})
    _expose("gamma", intensity.gamma, {"gamma": float})
    _expose("normalize", intensity.normalize, {
        "method": Literal["minmax", "zscore"], "out_range": tuple[float, float] | None,
        "per_channel": bool, "eps": float})
    _expose("contrast_stretch", intensity.contrast_stretch,
            {"low": float, "high": float, "per_channel": bool})
    _expose("equalize", intensity.equalize, {})
    _expose("clahe", intensity.clahe, {"clip_limit": float, "tile_size": IntOrPair})
    _expose("threshold", intensity.threshold, {
        "method": Literal["fixed", "otsu", "triangle", "adaptive-mean", "adaptive-gaussian"],
        "value": float | None, "block_size": int, "offset": float},
        summary="Binarise an image (``image > threshold``); the op writes a uint8 mask, 0 or 255.",
        post=_mask_u8)
    _expose("grayscale", intensity.to_gray, {})

    # -- filtering ---------------------------------------------------------------------------
    _expose("gaussian", filtering.gaussian,
            {"sigma": float | tuple[float, float], "border": Border, "truncate": float})
    _expose("box", filtering.box, {"size": IntOrPair, "border": Border})
    _expose("median", filtering.median, {"size": IntOrPair})
    _expose("bilateral", filtering.bilateral,
            {"diameter": int, "sigma_color": float | None, "sigma_space": float | None})
    _expose("denoise", filtering.denoise,
            {"strength": float | None, "template_size": int, "search_size": int})
    _expose("sharpen", filtering.sharpen, {"amount": float, "border": Border})
    _expose("unsharp", filtering.unsharp_mask, {"sigma": float, "amount": float, "border": Border})
    _expose("sobel", filtering.sobel, {"border": Border}, skip=("axis",),
            summary="Sobel gradient magnitude per channel; the op writes uint8, 255 = a full-range "
                    "step edge (values above saturate).",
            post=_magnitude_u8)
    _expose("canny", filtering.canny, {"low": float | None, "high": float | None, "sigma": float},
            summary="Canny edges (one pixel wide); the op writes a uint8 mask, 0 or 255.",
            post=_mask_u8)

    def _kernel_array(kwargs):
        if kwargs.get("kernel") is not None:
            kwargs = {**kwargs, "kernel": np.asarray(kwargs["kernel"], dtype=np.uint8)}
        return kwargs

    _expose("morphology", filtering.morphology, {
        "op": Literal["erode", "dilate", "open", "close", "gradient", "tophat", "blackhat"],
        "shape": Literal["rect", "ellipse", "cross"], "size": IntOrPair,
        "kernel": list[list[int]] | None, "iterations": int}, pre=_kernel_array)
    _expose("noise", filtering.add_noise, {
        "kind": Literal["gaussian", "salt-and-pepper", "poisson"], "amount": float | None,
        "seed": int | None})

# -- convolution -------------------------------------------------------------------------
def convolve(image, *, kernel: str | list[list[float]],
             kernel_params: dict | None = None, border: Border = "reflect", normalize: bool = False):
    """Convolve with a named kernel of cvtools.convolution.kernels or an explicit matrix.

    The result keeps the input dtype: integers are rounded and saturate, so negative responses
    (edge kernels) clip to 0 for uint8; convert to float32 first (``convert:dtype=float32``)
    and write TIFF to keep them.

    Parameters
    ----------
    kernel : str or list of list of float
        A kernel name (``"box"``, ``"gaussian"``, ``"sobel"``, ``"laplacian"``, ``"sharpen"``,
        ``"emboss"``, ``"motion_blur"``...) or a matrix such as ``[[0,1,0],[1,-4,1],[0,1,0]]``.
    kernel_params : dict, optional
        Parameters of a named kernel, e.g. ``{'size': 15, 'angle': 30}`` for ``motion_blur``.
    border : {"reflect", "constant", "edge", "symmetric", "wrap"}
        How the image is extended past its edges.
    normalize : bool
        Divide the kernel by its sum (when the sum is not 0) so flat areas keep their level.

    Examples
    --------
    >>> img = np.zeros((3, 3), np.uint8); img[1, 1] = 8
    >>> convolve(img, kernel=[[0, 1, 0], [1, 1, 1], [0, 1, 0]], normalize=True, border="constant")[1].tolist()
    [2, 2, 2]
    """
    from ..convolution import convolve2d, kernels

    if isinstance(kernel, str):
        k = kernels.get_kernel(kernel, **(kernel_params or {}))
    else:
        if kernel_params:
            raise ValueError("`kernel_params` applies to a named kernel only; got a matrix `kernel`.")
        k = np.asarray(kernel, dtype=np.float64)
        if k.ndim != 2 or k.size == 0:
            raise ValueError(f"`kernel` must be a non-empty 2-D matrix; got shape {k.shape}.")
    k = np.asarray(k, dtype=np.float64)
    if normalize:
        total = float(k.sum())
        if abs(total) > 1e-12:
            k = k / total
    return convolve2d(image, k, border=border, output_dtype=image.dtype)


def _check_convolve(params: dict) -> dict:
    """Build a named kernel once when the pipeline is built, so a bad name or parameter is a usage error."""
    from ..convolution import kernels
    from ._registry import PipelineError

    kernel = params["kernel"]
    if isinstance(kernel, str):
        try:
            kernels.get_kernel(kernel, **(params.get("kernel_params") or {}))
        except (ValueError, TypeError, KeyError) as exc:
            raise PipelineError(f"convolve: {exc.args[0] if exc.args else exc}") from None
    elif params.get("kernel_params"):
        raise PipelineError("convolve: `kernel_params` applies to a named kernel only; got a matrix `kernel`.")
    return params


register("convolve", prepare=_check_convolve)(convolve)
_load()
