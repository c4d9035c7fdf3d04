"""Argument parsing shared by the convolution functions, and the output-size formula."""
from __future__ import annotations

import numbers

import numpy as np

from .._shared import BORDERS, check_choice

_PADDING_NAMES = ("same", "valid", "full")


def _int_pair(value, *, name: str, minimum: int = 1) -> tuple[int, int]:
    """``value`` as a (vertical, horizontal) pair of ints >= ``minimum``."""
    if type(value) is int and value >= minimum:  # the common cases, without the abstract-class checks
        return value, value
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int \
            and min(value) >= minimum:
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        items = tuple(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        items = (value, value)
    else:
        raise TypeError(f"`{name}` must be an int or a pair (vertical, horizontal) of ints >= {minimum}; "
                        f"got {value!r}.")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"`{name}` must be an int or a pair of ints >= {minimum}; got {value!r}.")
        if v < minimum:
            raise ValueError(f"`{name}` must be >= {minimum}; got {value!r}.")
    return int(items[0]), int(items[1])


def _check_border(border) -> str:
    if not isinstance(border, str):
        raise TypeError(f"`border` must be a string; got {border!r}; valid: "
                        + ", ".join(repr(b) for b in BORDERS) + ".")
    return check_choice(border, tuple(BORDERS), name="border")


def _pads(padding, kernel_shape, dilation) -> tuple[int, int, int, int]:
    """Resolve ``padding`` to explicit (top, bottom, left, right) pixel counts.

    'same' pads D*(K-1) in total per axis, the larger half first (top/left), like OpenCV's
    default anchor, scipy.ndimage and scipy.signal's 'same' for even-sized kernels.
    """
    kh, kw = kernel_shape
    dy, dx = dilation
    if type(padding) is tuple and len(padding) == 4 and all(type(p) is int and p >= 0 for p in padding):
        return padding  # already resolved (the common internal call), without abstract-class checks
    if isinstance(padding, str):
        check_choice(padding, _PADDING_NAMES, name="padding")
        if padding == "valid":
            return 0, 0, 0, 0
        ty, tx = dy * (kh - 1), dx * (kw - 1)
        if padding == "full":
            return ty, ty, tx, tx
        return ty - ty // 2, ty // 2, tx - tx // 2, tx // 2
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"`padding` must be >= 0; got {padding}.")
        p = int(padding)
        return p, p, p, p
    if isinstance(padding, (tuple, list)) and len(padding) in (2, 4):
        if all(isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0 for p in padding):
            if len(padding) == 2:
                return int(padding[0]), int(padding[0]), int(padding[1]), int(padding[1])
            return tuple(int(p) for p in padding)  # type: ignore[return-value]
    raise ValueError(f"`padding` must be 'same', 'valid', 'full', an int >= 0, (vertical, horizontal) or "
                     f"(top, bottom, left, right) ints >= 0; got {padding!r}.")


def _kernel_shape(kernel_shape) -> tuple[int, int]:
    if isinstance(kernel_shape, numbers.Integral) and not isinstance(kernel_shape, bool):
        kernel_shape = (kernel_shape, kernel_shape)
    try:
        kh, kw = (int(v) for v in kernel_shape)
    except (TypeError, ValueError):
        raise TypeError(f"`kernel_shape` must be an int or (height, width); got {kernel_shape!r}.") from None
    if kh < 1 or kw < 1:
        raise ValueError(f"`kernel_shape` must be positive; got {kernel_shape!r}.")
    return kh, kw


def _out_size(n: int, k: int, before: int, after: int, stride: int, dilation: int) -> int:
    return (n + before + after - dilation * (k - 1) - 1) // stride + 1


def output_shape(input_shape: tuple[int, ...], kernel_shape: tuple[int, ...], stride: int | tuple[int, int] = 1,
                 padding: str | int | tuple[int, int] = "same", dilation: int | tuple[int, int] = 1) -> tuple:
    """Shape of the output of :func:`correlate2d` / :func:`convolve2d`.

    Per axis: ``(H + P_total - D * (K - 1) - 1) // S + 1`` where ``P_total`` is the padding added on
    both sides, ``D`` the dilation, ``K`` the kernel size and ``S`` the stride.

    Parameters
    ----------
    input_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``; a channel axis is passed through.
    kernel_shape : int or (int, int)
        Kernel ``(height, width)``.
    stride, dilation : int or (int, int)
        As in :func:`correlate2d`.
    padding : {'same', 'valid', 'full'}, int, (int, int) or (int, int, int, int)
        As in :func:`correlate2d`.

    Returns
    -------
    tuple of int
        The output shape, same length as ``input_shape``.

    Raises
    ------
    ValueError
        If the (dilated) kernel does not fit in the padded input.

    Examples
    --------
    >>> output_shape((5, 5), 3, padding="valid")
    (3, 3)
    >>> output_shape((1080, 1920, 3), 3, stride=2, padding=1)
    (540, 960, 3)
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"`input_shape` must be (H, W) or (H, W, C); got {input_shape!r}.")
    kh, kw = _kernel_shape(kernel_shape)
    sy, sx = _int_pair(stride, name="stride")
    dy, dx = _int_pair(dilation, name="dilation")
    t, b, l, r = _pads(padding, (kh, kw), (dy, dx))
    ho = _out_size(shape[0], kh, t, b, sy, dy)
    wo = _out_size(shape[1], kw, l, r, sx, dx)
    if ho < 1 or wo < 1:
        raise ValueError(
            f"the kernel {kh}x{kw} (dilation {dy}x{dx}, so {dy * (kh - 1) + 1}x{dx * (kw - 1) + 1}) does not "
            f"fit in the {shape[0]}x{shape[1]} input padded by (top, bottom, left, right)={t, b, l, r}; "
            f"use more padding or a smaller kernel.")
    return (ho, wo) + shape[2:]


def _as_kernel(kernel, *, name: str = "kernel") -> np.ndarray:
    """A 2-D, finite, real kernel as float64."""
    try:
        arr = np.asarray(kernel)
    except ValueError:  # numpy: "setting an array element with a sequence ... inhomogeneous shape"
        text = repr(kernel)
        raise ValueError(f"`{name}` must be a 2-D array (height, width) with rows of equal length; got a "
                         f"ragged sequence {text if len(text) <= 40 else text[:37] + '...'}.") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real numeric array; got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (height, width); got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return arr
