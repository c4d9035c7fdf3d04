"""Up-sampling: by interpolation (upsample) and by transposed (fractionally strided) convolution."""
from __future__ import annotations

import math
import numbers

import cv2
import numpy as np

from .._shared import check_choice, restore_dtype
from ._correlate import _CV_DEPTH, _Plan, _check_input, _check_output_dtype
from ._params import _as_kernel, _int_pair

#: interpolation name -> OpenCV flag. 'nearest' is pixel-centre exact (PyTorch 'nearest-exact',
#: scikit-image order 0); OpenCV's plain INTER_NEAREST is shifted by half a pixel when shrinking.
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST_EXACT,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}


def _factor_pair(factor):
    items = tuple(factor) if isinstance(factor, (tuple, list)) else (factor, factor)
    if len(items) != 2 or not all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in items):
        raise TypeError(f"`factor` must be a number or (vertical, horizontal) numbers > 0; got {factor!r}.")
    if not all(f > 0 and math.isfinite(f) for f in items):
        raise ValueError(f"`factor` must be > 0; got {factor!r}.")
    return float(items[0]), float(items[1])


def _check_pixels(h: int, w: int, what: str) -> None:
    """The one pixel limit: no result bigger than an image cvtools reads (``cvtools.io.get_max_pixels``)."""
    from ..io import get_max_pixels

    limit = get_max_pixels()
    if limit is not None and h * w > limit:
        raise ValueError(f"{what} would make a {w}x{h} image ({h * w:,} pixels), more than the pixel limit "
                         f"{limit:,}; raise it with cvtools.io.set_max_pixels() or CVTOOLS_MAX_PIXELS.")


def upsample(image: np.ndarray, factor: int | tuple[int, int] | None = None, *, size: tuple[int, int] | None = None,
             method: str = "nearest") -> np.ndarray:
    """Resize ``image`` by interpolation: by a scale ``factor`` or to an exact ``size``.

    Pixel centres are aligned (``align_corners=False`` in PyTorch terms): output pixel ``x``
    samples the input at ``(x + 0.5) / factor - 0.5``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image; any integer or float dtype.
    factor : float or (float, float), optional
        Scale (vertical, horizontal); the output is ``floor(H * fy) x floor(W * fx)`` (at least 1, at
        most the read pixel limit :func:`cvtools.io.get_max_pixels`, 2**28 by default).
        Factors below 1 shrink (use ``method='area'`` for that).
    size : (int, int), optional
        Output ``(height, width)``, instead of ``factor``.
    method : {'nearest', 'bilinear', 'bicubic', 'area', 'lanczos'}
        Interpolation (OpenCV's kernels: bicubic a=-0.75, Lanczos over 8x8 pixels).

    Returns
    -------
    ndarray
        The resized image, same dtype (integers rounded and saturated; float bicubic/Lanczos may
        overshoot the input range).

    Examples
    --------
    >>> img = np.array([[0, 10], [20, 30]], np.uint8)
    >>> upsample(img, 2)
    array([[ 0,  0, 10, 10],
           [ 0,  0, 10, 10],
           [20, 20, 30, 30],
           [20, 20, 30, 30]], dtype=uint8)
    >>> upsample(img.astype(np.float32), size=(2, 4), method="bilinear")[0]
    array([ 0. ,  2.5,  7.5, 10. ], dtype=float32)
    """
    image = _check_input(image)
    check_choice(method, tuple(INTERPOLATIONS), name="method")
    h, w = image.shape[:2]
    if (factor is None) == (size is None):
        raise ValueError("give exactly one of `factor` and `size`; got "
                         + ("both." if factor is not None else "neither."))
    if size is not None:
        ho, wo = _int_pair(tuple(size) if isinstance(size, (tuple, list)) else size, name="size")
    else:
        fy, fx = _factor_pair(factor)
        ho, wo = max(1, math.floor(h * fy + 1e-9)), max(1, math.floor(w * fx + 1e-9))
    _check_pixels(ho, wo, f"`size` {size!r}" if size is not None else f"`factor` {factor!r}")
    if image.dtype in _CV_DEPTH:
        src = image
    else:
        src = image.astype(np.float32 if image.dtype == np.float16 else np.float64)
    out = cv2.resize(src, (wo, ho), interpolation=INTERPOLATIONS[method])
    if out.dtype != image.dtype:
        out = restore_dtype(out, image.dtype)
    return out.reshape((ho, wo) + image.shape[2:])


def transposed_conv2d(image: np.ndarray, kernel: np.ndarray, *, stride: int | tuple[int, int] = 2, padding: int | tuple[int, int] = 0,
                      output_padding: int | tuple[int, int] = 0, output_dtype: np.dtype | type | str | None = None) -> np.ndarray:
    """Transposed ("fractionally strided") convolution, per channel, as ``torch.conv_transpose2d``.

    Each input pixel stamps ``pixel * kernel`` onto the output at ``stride`` spacing and the
    overlaps add up; equivalently, insert ``stride - 1`` zeros between pixels and convolve with
    ``kernel`` ('full'), then crop ``padding`` from each side. It is the adjoint (transpose) of the
    strided :func:`correlate2d` with the same kernel, which is where the name comes from.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input; any integer or float dtype.
    kernel : (kh, kw) array_like
        Stamped weights (e.g. a bilinear kernel ``outer([.5, 1, .5], [.5, 1, .5])`` for stride 2).
    stride : int or (int, int)
        Up-sampling step, >= 1.
    padding : int or (int, int)
        Rows/columns cropped from each side of the full result.
    output_padding : int or (int, int)
        Extra rows/columns added at the bottom/right (< stride), to reach an even size.
    output_dtype : dtype, optional
        Default: the input dtype (integers rounded and saturated).

    Returns
    -------
    ndarray
        ``((H - 1) * sy - 2 * py + kh + opy, (W - 1) * sx - 2 * px + kw + opx[, C])``; the full
        (uncropped) result may have at most the read pixel limit (:func:`cvtools.io.get_max_pixels`).

    Examples
    --------
    >>> x = np.array([[1.0, 2.0]], np.float32)
    >>> transposed_conv2d(x, [[1.0, 1.0, 1.0]], stride=2)
    array([[1., 1., 3., 2., 2.]], dtype=float32)
    """
    image = _check_input(image)
    k = _as_kernel(kernel)
    sy, sx = _int_pair(stride, name="stride")
    py, px = _int_pair(padding, name="padding", minimum=0)
    oy, ox = _int_pair(output_padding, name="output_padding", minimum=0)
    if oy >= sy or ox >= sx:
        raise ValueError(f"`output_padding` must be smaller than `stride` {(sy, sx)}; got {output_padding!r}.")
    kh, kw = k.shape
    h, w = image.shape[:2]
    hf, wf = (h - 1) * sy + kh, (w - 1) * sx + kw  # the uncropped ('full') result
    _check_pixels(hf + kh - 1 + oy, wf + kw - 1 + ox, f"`stride` {stride!r} with a {kh}x{kw} kernel")
    ho, wo = hf - 2 * py + oy, wf - 2 * px + ox
    if ho < 1 or wo < 1:
        raise ValueError(f"`padding` {padding!r} crops away the whole {hf}x{wf} result.")
    plan = _Plan(image.dtype, _check_output_dtype(output_dtype, image.dtype))
    # zero-insert, surrounded by K-1 zeros, then a valid correlation with the flipped kernel
    up = np.zeros((hf + kh - 1 + oy, wf + kw - 1 + ox) + image.shape[2:], plan.float)
    up[kh - 1:kh - 1 + (h - 1) * sy + 1:sy, kw - 1:kw - 1 + (w - 1) * sx + 1:sx] = image
    kf = np.ascontiguousarray(k[::-1, ::-1]).astype(plan.float)
    if up.ndim == 3 and up.shape[2] > 4:
        full = np.stack([cv2.filter2D(up[..., c], -1, kf, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
                         for c in range(up.shape[2])], axis=-1)
    else:
        full = cv2.filter2D(up, -1, kf, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    full = full.reshape(up.shape)
    out = np.ascontiguousarray(full[py:py + ho, px:px + wo])
    return plan.finish(out)
