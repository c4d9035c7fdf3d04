"""The ``stylize`` operation: style transfer in batch runs and pipelines."""
from __future__ import annotations

import os
from typing import Literal

import numpy as np  # noqa: F401  (the doctest's namespace)

from ._registry import PipelineError, check_range, register

_STYLE_CACHE: dict = {}


def _style(style, method: str):
    """A built-in spec (7, "3:0.5+12:0.5") for fast, else the style image read once per process."""
    if style is None or style == "":
        return None
    if isinstance(style, int):
        return style
    from ..generative import is_builtin_style

    spec = style.replace("+", ",")  # "," separates a pipeline step's parameters, so blends use "+"
    if method == "fast" and is_builtin_style(spec):
        return int(spec) if spec.strip().isdigit() else spec
    from ..io import read

    key = (os.path.abspath(style), os.path.getmtime(style) if os.path.exists(style) else None)
    if key not in _STYLE_CACHE:
        if len(_STYLE_CACHE) > 8:
            _STYLE_CACHE.clear()
        _STYLE_CACHE[key] = read(style)
    return _STYLE_CACHE[key]


def _check(params: dict) -> dict:
    check_range("stylize", params, "strength", low=0, high=1)
    check_range("stylize", params, "size", low=0)
    check_range("stylize", params, "iterations", low=1)
    style, method = params.get("style", ""), params.get("method", "color")
    if method != "npr" and style in ("", None):
        raise PipelineError(f"stylize: method {method!r} needs `style` (an image file"
                            f"{', or a built-in style index' if method == 'fast' else ''}).")
    if isinstance(style, str) and style and not (method == "fast" and _builtin(style)) \
            and not os.path.isfile(style):
        raise PipelineError(f"stylize: `style` {style!r} is not an image file"
                            f"{' (nor a built-in style index or blend)' if method == 'fast' else ''}.")
    return params


def _builtin(style: str) -> bool:
    from ..generative import is_builtin_style

    return is_builtin_style(style.replace("+", ","))


# Not probed: the fast and neural methods load or train networks; checked in prepare.
@register("stylize", prepare=_check, probe=False)
def stylize(image, *, style: str | int = "",
            method: Literal["color", "npr", "fast", "neural"] = "color", strength: float = 1.0,
            preserve_color: bool = False, mode: Literal["reinhard", "histogram"] = "reinhard",
            effect: Literal["cartoon", "pencil", "stylization", "edge-preserving", "detail", "oil"] = "cartoon",
            size: int = 0, iterations: int = 100, seed: int = 0):
    """Render the image in the style of a painting (cvtools.generative.stylize).

    Parameters
    ----------
    style : str or int
        A style image file (methods color, fast, neural), or for method fast a built-in style
        index 0-25 or a blend such as ``3:0.5+12:0.5``; empty for method npr.
    method : str
        color (colour statistics), npr (painterly effects, no style), fast (feed-forward networks,
        needs the style extra), neural (Gatys optimisation, needs the torch extra; slow).
    strength : float
        0 to 1: how much style.
    preserve_color : bool
        Keep the image's own colours (luminance transfer).
    mode : str
        color: reinhard or histogram.
    effect : str
        npr: cartoon, pencil, stylization, edge-preserving, detail or oil.
    size : int
        fast and neural: longest side processed (0: the method's default).
    iterations : int
        neural: optimisation steps.
    seed : int
        neural: random seed.

    Returns
    -------
    ndarray
        Same shape and dtype as the image.

    Examples
    --------
    >>> img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    >>> stylize(img, method="npr", effect="oil").shape
    (40, 40, 3)
    """
    from ..generative import stylize as _stylize

    options: dict = {}
    if method == "color":
        options["mode"] = mode
    elif method == "npr":
        options["effect"] = effect
    elif method in ("fast", "neural") and size:
        options["size"] = int(size)
    if method == "neural":
        options.update(iterations=int(iterations), seed=int(seed))
    return _stylize(image, _style(style, method), method=method, strength=strength,
                    preserve_color=preserve_color, **options)

