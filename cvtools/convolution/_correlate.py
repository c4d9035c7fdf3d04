"""correlate2d / convolve2d: one contract (pad, valid correlation, stride), several engines.

The contract is the textbook one: pad with ``numpy.pad(mode=border)``, slide the (dilated) kernel
over every position where it fits, multiply and sum, then keep every ``stride``-th output. The
engines below compute exactly that, faster:

* direct: ``cv2.filter2D`` with the border handled by OpenCV itself when it can be (its border
  flags reproduce numpy.pad for every mode; 'wrap' is padded first because filter2D refuses it);
* separable: a rank-1 kernel (detected by a pivot test whose tolerance follows the precision the
  kernel was given in) is split into a column and a row vector and run through
  ``cv2.sepFilter2D`` (2K instead of K*K multiply-adds per pixel);
* FFT (``method='fft'``, stride 1): ``scipy.signal.fftconvolve`` on the padded image;
* strides: the cheapest of four engines by a cost model (:func:`_stride_costs`, constants measured on
  1080p images): a numba kernel that computes only the kept outputs (``_strided.py``, any kernel),
  its separable twin for rank-1 kernels, an FFT engine that keeps only the kept outputs' spectrum
  (the full spectrum folded onto the decimated one, then a small inverse FFT) for large kernels, or
  the stride-1 engine followed by keeping every ``stride``-th output when none of them is cheaper.
"""
from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from .._shared import check_choice, check_image, cv2_border
from ._params import _as_kernel, _check_border, _int_pair, _pads, output_shape

METHODS = ("auto", "direct", "separable", "fft")

# dtypes OpenCV filters natively, and the output depths each accepts
_CV_DEPTH = {
    np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U, np.dtype(np.int16): cv2.CV_16S,
    np.dtype(np.float32): cv2.CV_32F, np.dtype(np.float64): cv2.CV_64F,
}
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_WIDE = {np.dtype(t) for t in (np.int32, np.uint32, np.int64, np.uint64, np.float64)}

# Kernel area from which the separable engine beats cv2.filter2D for a rank-1 kernel (below it
# both are memory-bound). The FFT engine (scipy) is never chosen automatically at stride 1: on
# 1080p images cv2.filter2D, which switches to its own DFT for large kernels, was faster at every
# size measured (benchmarks/bench_convolution.py); method='fft' remains available.
_SEPARABLE_MIN_AREA = 25

# A kernel given in a float dtype carries that dtype's rounding: np.outer(u, u) in float32 is an
# outer product only to ~1e-7. The rank-1 test accepts deviations up to this many ulps of the
# kernel's dtype, times the kernel size, relative to its largest entry.
_RANK1_ULPS = 4

# Kernel height from which the numba strided kernel computes four output rows at a time.
_BLOCK_MIN_ROWS = 9


def _numba(name: str):
    """The numba kernel ``name`` of ``_strided`` (imported on first use, so that ``import cvtools``
    does not load numba; then cached, since a function-level import costs microseconds per call)."""
    try:
        return _KERNELS[name]
    except KeyError:
        from . import _strided

        _KERNELS[name] = kernel = getattr(_strided, name)
        return kernel


_KERNELS: dict = {}

_EXPONENT = {np.dtype(np.float32): (np.uint32, 0x7F800000), np.dtype(np.float64): (np.uint64, 0x7FF0000000000000)}


def _finite(arr: np.ndarray) -> bool:
    """Whether a float array holds no NaN or infinity.

    One pass over the bit patterns (numba), about 3x faster than the sum test of ``check_image``:
    on a float32 1080p image 0.15 ms against 0.4 ms, which matters beside a 0.4 ms OpenCV resize.
    """
    if arr.dtype in _EXPONENT and arr.flags.c_contiguous and arr.size:
        utype, exponent = _EXPONENT[arr.dtype]
        return bool(_numba("all_finite")(arr.reshape(-1).view(utype), utype(exponent)))
    return bool(np.isfinite(arr).all())


def _rows_finite(out: np.ndarray, step: int) -> bool:
    """Whether rows ``0, step, 2*step, ...`` and the last row of a float result hold no NaN/inf."""
    if out.dtype in _EXPONENT and out.flags.c_contiguous and out.size:
        utype, exponent = _EXPONENT[out.dtype]
        return bool(_numba("rows_finite")(out.reshape(out.shape[0], -1).view(utype), step, utype(exponent)))
    rows = np.r_[0:out.shape[0]:step, out.shape[0] - 1]
    return bool(np.isfinite(out[rows]).all())


def _check_input(image, *, finite: bool = True) -> np.ndarray:
    """``image`` checked as an image of any numeric dtype and channel count.

    cvtools refuses NaN and infinity in float images (``check_image``'s rule and message); with
    ``finite=False`` the caller checks instead, on a result that is sure to carry them (a smaller
    array: see :func:`_refuse_non_finite`).
    """
    image = check_image(image, dtypes=None, channels=range(1, 513), allow_nan=True)
    if image.dtype.kind not in "uif":
        raise TypeError(f"`image` has dtype {image.dtype}; valid: unsigned/signed integers and floats "
                        f"(uint8, uint16, int16, float32, float64, ...).")
    if finite:
        _refuse_non_finite(image, image)
    return image


def _refuse_non_finite(arr: np.ndarray, image: np.ndarray) -> None:
    """Raise check_image's error for ``image`` when the float array ``arr`` (the image, or a result
    in which every input value has a positive weight) holds NaN or infinity."""
    if arr.dtype.kind == "f" and not _finite(arr):
        _raise_non_finite(image)


def _raise_non_finite(image: np.ndarray) -> None:
    """check_image's error for an image known to hold NaN or infinity (it names the first one)."""
    check_image(image, dtypes=None, channels=range(1, 513))


def _check_output_dtype(output_dtype, image_dtype) -> np.dtype:
    if output_dtype is None:
        return image_dtype
    try:
        dt = np.dtype(output_dtype)
    except TypeError:
        raise TypeError(f"`output_dtype` must be a numpy dtype; got {output_dtype!r}.") from None
    if dt.kind not in "uif":
        raise TypeError(f"`output_dtype` must be an integer or float dtype; got {dt}.")
    return dt


def _dilate_kernel(k: np.ndarray, dy: int, dx: int) -> np.ndarray:
    if dy == dx == 1:
        return k
    out = np.zeros((dy * (k.shape[0] - 1) + 1, dx * (k.shape[1] - 1) + 1), k.dtype)
    out[::dy, ::dx] = k
    return out


def _kernel_eps(dtype) -> float:
    """Relative precision a kernel of ``dtype`` was given with (integers: exact, float64's rounding)."""
    dt = np.dtype(dtype)
    return float(np.finfo(dt if dt.kind == "f" else np.float64).eps)


_EPS64 = _kernel_eps(np.float64)


def _rank1(k: np.ndarray, eps: float = _EPS64):
    """(column, row) vectors with ``k == outer(column, row)``, or None if ``k`` is not rank 1.

    ``k`` is float64; ``eps`` is the machine epsilon of the dtype the kernel was given in. An
    outer product rounded to that dtype (``np.outer`` of float32 vectors, a float32 Gaussian)
    deviates from rank 1 by a few of its ulps, so the test accepts ``_RANK1_ULPS * K * eps``
    relative to the largest entry (K = the larger side) and nothing more.
    """
    if min(k.shape) < 2:
        return None
    # cheap gate: a rank-1 matrix equals the outer product of its row and column through its
    # largest entry, divided by that entry (O(K^2), vs an SVD for every call)
    i, j = np.unravel_index(np.argmax(np.abs(k)), k.shape)
    pivot = k[i, j]
    tol = _RANK1_ULPS * max(k.shape) * eps * abs(pivot)
    if pivot == 0 or np.abs(k - np.outer(k[:, j], k[i, :] / pivot)).max() > tol:
        return None
    # the factors through the pivot, balanced (both scaled by sqrt|pivot|); an SVD would give the
    # least-squares pair, equal to these within the tolerance just checked, at 10-100x the cost
    root = np.sqrt(abs(pivot))
    return k[:, j] / root, k[i, :] * (root / pivot)


def _to_dtype(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``result`` (float) as ``dtype``: rounded half to even and saturated for integers.

    float64 cannot hold the int64/uint64 maxima (``2**63 - 1`` rounds up to ``2**63``), so those
    bounds are applied after the cast: a plain clip would cast ``2**63`` to INT64_MIN.
    """
    if dtype.kind not in "ui":
        return np.asarray(result).astype(dtype, copy=False)
    info = np.iinfo(dtype)
    r = np.rint(result)
    if dtype.itemsize < 8:
        return np.clip(r, info.min, info.max).astype(dtype)
    r = r.astype(np.float64, copy=False)
    top = float(info.max) + 1.0  # 2**63 or 2**64: exact in float64
    out = np.clip(r, float(info.min), np.nextafter(top, 0.0)).astype(dtype)
    out[r >= top] = info.max
    return out


class _Plan:
    """How to get from the (converted) input dtype to the requested output dtype with OpenCV."""

    def __init__(self, src_dtype: np.dtype, out_dtype: np.dtype):
        if src_dtype in _CV_DEPTH:
            self.src = src_dtype
        elif src_dtype == np.float16:
            self.src = _F32
        elif src_dtype == np.int8:
            self.src = np.dtype(np.int16)
        else:
            self.src = _F64
        self.out = out_dtype
        # float working precision for accumulation / engines that cannot write the output dtype
        self.float = _F64 if (self.src == _F64 or out_dtype in _WIDE) else _F32
        self.direct = out_dtype == self.src  # OpenCV can write the output dtype itself (rounded, saturated)

    def ddepth(self, direct: bool) -> int:
        return -1 if direct else _CV_DEPTH[self.float]

    def kernel_dtype(self):
        return np.float64 if self.float == _F64 else np.float32

    def finish(self, result: np.ndarray, kernel: np.ndarray | None = None) -> np.ndarray:
        """``result`` in the output dtype: rounded half to even and saturated for integers.

        With the ``kernel`` that made ``result`` from an integer image, ``|result|`` is bounded by
        ``sum|kernel| * max|pixel|``; below 2**31 OpenCV's saturating conversion does the same rounding
        in one pass (beyond int32 OpenCV wraps to 0, so unbounded results take numpy's path).
        """
        if result.dtype == self.out:
            return result
        if (kernel is not None and self.src.kind in "ui" and self.out.kind in "ui" and self.out in _CV_DEPTH
                and result.dtype in (_F32, _F64) and result.ndim >= 2):
            info = np.iinfo(self.src)
            if float(np.abs(kernel).sum()) * max(abs(int(info.min)), int(info.max)) < 2.0 ** 31:
                flat = np.ascontiguousarray(result).reshape(result.shape[0], -1)
                return cv2.add(flat, 0.0, dtype=_CV_DEPTH[self.out]).reshape(result.shape)
        return _to_dtype(result, self.out)


def _pad(image, t, b, l, r, border):
    if t == b == l == r == 0:
        return image
    if image.ndim == 3 and image.shape[2] > 4:
        return np.pad(image, ((t, b), (l, r), (0, 0)), mode=border)
    # cv2.copyMakeBorder reproduces numpy.pad for every mode (tested), and is faster
    return cv2.copyMakeBorder(image, t, b, l, r, cv2_border(border), value=0)


def _filter(src, k, ddepth, anchor, border_flag, plan, separable):
    kd = plan.kernel_dtype()
    if separable is not None:
        col, row = separable
        return cv2.sepFilter2D(src, ddepth, row.astype(kd), col.astype(kd), anchor=anchor,
                               borderType=border_flag)
    return cv2.filter2D(src, ddepth, k.astype(kd), anchor=anchor, borderType=border_flag)


def _crop(arr, ho, wo):
    if arr.shape[0] == ho and arr.shape[1] == wo:
        return arr
    return np.ascontiguousarray(arr[:ho, :wo])


def _choose(method, k, eps=_EPS64):
    """('direct' | 'separable' | 'fft', rank-1 factors or None) for kernel ``k`` (already dilated) at
    stride 1."""
    factors = _rank1(k, eps) if method in ("auto", "separable") and k.size >= _SEPARABLE_MIN_AREA else None
    if method != "auto":
        return method, factors
    return ("separable" if factors is not None else "direct"), factors


def _fft_valid(padded, k, plan):
    from scipy.signal import fftconvolve

    src = padded.astype(plan.float, copy=False)
    kk = k[::-1, ::-1].astype(plan.float)
    if src.ndim == 3:
        kk = kk[:, :, None]
    return fftconvolve(src, kk, mode="valid", axes=(0, 1))


def _stride1(image, k, pads, border, plan, method, out_hw, eps=_EPS64, factors=None):
    """Stride-1 correlation by ``method``; ``factors`` (column, row) of a rank-1 ``k``, if known."""
    ho, wo = out_hw
    t, b, l, r = pads
    kh, kw = k.shape
    if method == "fft":
        res = _fft_valid(_pad(image, t, b, l, r, border), k, plan)
        return plan.finish(_crop(res, ho, wo))
    separable = None
    if method == "separable":
        separable = factors if factors is not None else _rank1(k, eps)
    if method == "separable" and separable is None:
        raise ValueError(f"method='separable' needs a rank-1 kernel; got a {kh}x{kw} kernel of higher rank.")
    if t + b <= kh - 1 and l + r <= kw - 1 and border != "wrap":
        # OpenCV extends the border itself; anchoring the kernel at (l, t) makes its output
        # start exactly at the first output of the padded-then-valid contract.
        src, anchor, flag = image, (l, t), cv2_border(border)
    else:
        src, anchor, flag = _pad(image, t, b, l, r, border), (0, 0), cv2.BORDER_CONSTANT
    res = _filter(src, k, plan.ddepth(plan.direct), anchor, flag, plan, separable)
    return plan.finish(_crop(res, ho, wo))


def _keep_every(full, stride, out_shape):
    """Every ``stride``-th output of a stride-1 result, cropped to ``out_shape``."""
    return np.ascontiguousarray(full[::stride[0], ::stride[1]][:out_shape[0], :out_shape[1]])


# ---------------------------------------------------------------------------------------- strides
# Cost model of the strided engines, in nanoseconds: single-thread timings of each engine (thread
# CPU time, minima) on 8x8 to 1920x1080 uint8 RGB and float32 gray images, kernels 3x3 to 31x31
# (benchmarks/bench_convolution.py --engines prints them with the model's estimates). Only the
# ratios between engines matter: they decide, they promise nothing.
_NS = {
    "cv_call": 15000.0,  # fixed cost of an OpenCV filter call through correlate2d
    "cv_px": 0.25,       # stride-1 filter: reading and writing a pixel-channel
    "cv_tap_f": 0.04,    # cv2.filter2D, per tap and pixel-channel, float images (direct path)
    "cv_tap_i": 0.06,    # the same, integer images
    "cv_dft_f": 10.0,    # cv2.filter2D on its DFT path, per pixel-channel (about flat in K), float
    "cv_dft_i": 15.0,    # the same, integer images
    "cv_sep_f": 0.095,   # cv2.sepFilter2D, per tap (kh + kw) and pixel-channel, float images
    "cv_sep_i": 0.13,    # the same, integer images
    "copy": 0.3,         # keeping every stride-th output, per kept output-channel
    "nb_call": 50000.0,  # fixed cost of a numba call (index maps, ring, dispatch)
    "nb_fill_f": 0.1,    # one padded value split into its phase plane, float images
    "nb_fill_i": 0.2,    # the same, converted from an integer image
    "nb_out": 0.4,       # per output-channel: accumulator traffic
    "nb_tap": 0.035,     # one multiply-add, one output row at a time
    "nb_tap4": 0.027,    # one multiply-add, four output rows at a time (tall kernels)
    "nb_row": 1.5,       # per tap and output row-channel: the tap offsets of the row
    "nb_rowfix": 150.0,  # per output row: ring bookkeeping, loop set-up
    "fft_call": 40000.0,  # fixed cost of the FFT engine
    "fft": 0.055,        # per transform point, log2(points) and unit of work (see _stride_costs)
}
# A strided engine replaces stride 1 + subsampling only when estimated this much cheaper.
_MARGIN = 0.8


def _dft_switch(plan) -> int:
    """Kernel area from which cv2.filter2D runs on its DFT (OpenCV's filterengine: 130 for
    8U->8U and 32F->32F, 50 otherwise)."""
    src = plan.src
    dst = src if plan.direct else plan.float
    return 130 if (src, dst) in ((np.dtype(np.uint8), np.dtype(np.uint8)), (_F32, _F32)) else 50


def _fft_sizes(need_h, need_w, sy, sx):
    """Transform sizes >= the rows/columns the kept outputs read, multiples of the strides and fast."""
    from scipy.fft import next_fast_len

    return (sy * next_fast_len(-(-need_h // sy), real=True), sx * next_fast_len(-(-need_w // sx), real=True))


def _stride_costs(shape, kshape, stride, dilation, pads, plan, rank1: bool) -> dict:
    """Estimated nanoseconds of each strided engine for this call (see ``_NS``).

    'subsample' is the stride-1 engine plus the copy of the kept outputs: the reference that the
    automatic choice never exceeds (it takes the cheapest).
    """
    h, w = shape[:2]
    ch = 1 if len(shape) == 2 else shape[2]
    kh, kw = kshape
    sy, sx = stride
    dy, dx = dilation
    t, b, l, r = pads
    hp, wp = h + t + b, w + l + r
    ho = (hp - dy * (kh - 1) - 1) // sy + 1
    wo = (wp - dx * (kw - 1) - 1) // sx + 1
    pix = h * w * ch
    out = ho * wo * ch
    wide = 2.0 if plan.float == _F64 else 1.0  # float64 work: half the vector lanes
    taps = kh * kw
    kdh, kdw = dy * (kh - 1) + 1, dx * (kw - 1) + 1
    kind = "f" if plan.src.kind == "f" else "i"
    if rank1 and kdh * kdw >= _SEPARABLE_MIN_AREA:
        s1 = _NS["cv_sep_" + kind] * (kdh + kdw) * pix
    elif kdh * kdw < _dft_switch(plan):
        s1 = _NS["cv_tap_" + kind] * taps * pix
    else:
        s1 = _NS["cv_dft_" + kind] * pix
    s1 += _NS["cv_px"] * pix
    span = dy * (kh - 1) + 1
    rows = min(hp, ho * min(sy, span) + max(span - sy, 0))  # padded rows the kept outputs read
    fill = _NS["nb_fill_" + kind] * rows * wp * ch
    tap = _NS["nb_tap4"] if _block_rows(kshape, dilation) else _NS["nb_tap"]
    costs = {
        "subsample": _NS["cv_call"] + wide * s1 + _NS["copy"] * out,
        "numba": (_NS["nb_call"] + fill + (_NS["nb_row"] * taps * ch + _NS["nb_rowfix"]) * ho
                  + wide * out * (_NS["nb_out"] + tap * taps)),
    }
    if rank1:
        costs["numba-separable"] = (_NS["nb_call"] + fill + (_NS["nb_row"] * (kh + kw * ch) + _NS["nb_rowfix"]) * ho
                                    + wide * (_NS["nb_tap"] * (kh * ho * wp * ch + kw * out)
                                              + _NS["nb_out"] * (ho * wp * ch + out) / 2))
    # forward transform of every channel, the kernel's (half: its rows are mostly zero), the fold
    # and the inverse at 1/(sy*sx) of the size, per channel
    m, n = _fft_sizes((ho - 1) * sy + kdh, (wo - 1) * sx + kdw, sy, sx)
    work = ch * (3.0 + 1.5 + 3.0 / (sy * sx) + 0.5) + 1.5
    costs["fft"] = _NS["fft_call"] + wide * _NS["fft"] * m * n * math.log2(m * n) * work
    return costs


def _separable_engine(shape, kshape, dilation, pads, plan, factors) -> str:
    """Stride 1, rank-1 kernel with ``factors`` (column, row): 'separable' (cv2.sepFilter2D) or
    'numba-separable'.

    sepFilter2D halves the work of (anti)symmetric factors (Gaussians, box, Sobel: its
    KERNEL_SYMMETRICAL path, fixed-point for 8-bit smoothing) and stays faster there. For other
    factors the numba kernel (stride 1 is just its simplest case) checks NaN/inf in passing, which
    OpenCV's path pays as a pass of its own; on 1080p it was measured faster on colour images from
    5x5, and on one channel equal at 5x5 and 7x7 with sepFilter2D alone (faster than sepFilter2D plus
    the check), faster from 9x9. float64 work stays with OpenCV.
    """
    if plan.float != _F32:
        return "separable"
    for f in factors:  # OpenCV compares the coefficients it is given exactly (cv::getKernelType)
        f = np.asarray(f, plan.kernel_dtype())
        if np.array_equal(f, f[::-1]) or np.array_equal(f, -f[::-1]):
            return "separable"
    h, w = shape[:2]
    pix = h * w * (1 if len(shape) == 2 else shape[2])
    kdh, kdw = dilation[0] * (kshape[0] - 1) + 1, dilation[1] * (kshape[1] - 1) + 1
    kind = "f" if plan.src.kind == "f" else "i"
    check = _NS["nb_fill_f"] if kind == "f" else 0.0
    opencv = _NS["cv_call"] + (_NS["cv_sep_" + kind] * (kdh + kdw) + _NS["cv_px"] + check) * pix
    numba = _stride_costs(shape, kshape, (1, 1), dilation, pads, plan, True)["numba-separable"]
    return "numba-separable" if numba < _MARGIN * opencv else "separable"


def _stride_engine(shape, kshape, stride, dilation, pads, plan, method, rank1: bool) -> str:
    """Which strided engine: 'numba', 'numba-separable', 'fft' or 'subsample'.

    ``method`` other than 'auto' forces the family: 'direct' -> 'numba', 'separable' ->
    'numba-separable', 'fft' -> 'fft'. 'auto' takes the cheapest by :func:`_stride_costs`, unless it
    saves less than ``1 - _MARGIN`` of the stride-1 engine + subsampling estimate.
    """
    if method == "direct":
        return "numba"
    if method == "separable":
        return "numba-separable"
    if method == "fft":
        return "fft"
    costs = _stride_costs(shape, kshape, stride, dilation, pads, plan, rank1)
    best = min(costs, key=costs.get)
    # the estimates are rough: leave stride 1 + subsampling only for a clear gain
    return best if costs[best] < _MARGIN * costs["subsample"] else "subsample"


@functools.lru_cache(maxsize=64)
def _index_map(n, before, after, border):
    """Source index of each position of a padded axis (numpy.pad's exact rule; -1: zero).

    Cached (read-only): a video or a batch asks for the same few maps on every frame, and
    numpy.pad costs tens of microseconds.
    """
    if border == "constant":
        out = np.pad(np.arange(n), (before, after), constant_values=-1)
    else:
        out = np.pad(np.arange(n), (before, after), mode=border)
    out.setflags(write=False)
    return out


def _block_rows(kshape, dilation) -> bool:
    """Whether the numba kernel computes four output rows at a time (tall kernels: the shared
    padded rows are read once for four outputs; short ones would mostly multiply zeros)."""
    return dilation[0] == 1 and kshape[0] >= _BLOCK_MIN_ROWS


def _covered(k, factors, stride, dilation) -> bool:
    """Whether every image pixel up to the last kept window has a nonzero weight in a kept output:
    undilated, no zero tap (the numba kernels skip those) and windows at least as large as the
    stride. Then a NaN/infinity of the image makes that output NaN/infinite (``nan * w``, ``inf * w``
    and ``inf - inf`` are never finite)."""
    if dilation != (1, 1) or k.shape[0] < stride[0] or k.shape[1] < stride[1]:
        return False
    if factors is not None:
        return bool(np.all(factors[0] != 0) and np.all(factors[1] != 0))
    return bool(np.all(k != 0))


def _strided_numba(src, k, pads, border, plan, out_hw, stride, dilation, factors=None, image=None,
                   check_finite=False):
    """The numba engines (``_strided.py``): any kernel, or the rank-1 ``factors`` (column, row).

    With ``check_finite``, NaN/infinity in ``src`` are refused (check_image's error, for ``image``,
    the caller's array before any conversion).

    Integer outputs of up to 16 bits are rounded and saturated by the kernel as it stores each row
    (the same rule as OpenCV's, in no extra pass); other dtypes go through ``plan.finish``.
    """
    from ._strided import strided_correlate, strided_separable

    ho, wo = out_hw
    t, b, l, r = pads
    h, w = src.shape[:2]
    channels = 1 if src.ndim == 2 else src.shape[2]
    fd = plan.kernel_dtype()
    convert = plan.out.kind in "ui" and plan.out.itemsize <= 2
    if convert:
        info = np.iinfo(plan.out)
        vmin, vmax = float(info.min), float(info.max)
    else:
        vmin = vmax = 0.0
    out = np.empty((ho, wo * channels), plan.out if convert else fd)
    args = (stride[0], stride[1], dilation[0], dilation[1], ho, wo, channels, _index_map(h, t, b, border),
            _index_map(w, l, r, border), l, l + w)
    flat = np.ascontiguousarray(src).reshape(h, w * channels)
    # A float result in which every pixel has a weight (see _covered) shows any NaN/inf of the image:
    # checking the result, 1/(sy*sx) of the image, is cheaper than checking rows as they are read.
    after = check_finite and flat.dtype in _EXPONENT and not convert and _covered(k, factors, stride, dilation)
    # other float images: each row is checked as the kernel reads it (in cache, no pass of its own)
    check = check_finite and flat.dtype in _EXPONENT and not after
    utype, exponent = _EXPONENT[flat.dtype] if check else (np.uint32, 0)
    bits = flat.view(utype) if check else np.zeros((1, 1), utype)
    seen = np.zeros(h if check else 0, np.bool_)
    status = np.zeros(1, np.int64)
    checker = (bits, utype(exponent), seen, status)
    if factors is None:
        strided_correlate(flat, np.ascontiguousarray(k, fd), *args, out, _block_rows(k.shape, dilation), convert,
                          vmin, vmax, *checker)
    else:
        strided_separable(flat, np.ascontiguousarray(factors[0], fd), np.ascontiguousarray(factors[1], fd),
                          *args, out, convert, vmin, vmax, *checker)
    if after:
        rows, cols = (ho - 1) * stride[0] + k.shape[0] - t, (wo - 1) * stride[1] + k.shape[1] - l
        rest = [flat[rows:], flat[:rows, cols * channels:]]  # pixels past the last window: read by no output
        # each image row has a weight in at least kh // sy consecutive output rows: checking every
        # (kh // sy)-th output row and the last finds it
        if not _rows_finite(out, k.shape[0] // stride[0]) or not all(_finite(np.ascontiguousarray(p)) for p in rest if p.size):
            _refuse_non_finite(image, image)  # NaN/inf in the image, or a finite image overflowing
    elif check_finite:
        if check:
            unread = np.flatnonzero(~seen)  # rows no kept output reads (a kernel smaller than the stride)
            if status[0] or (unread.size and not _finite(np.ascontiguousarray(flat[unread]))):
                _raise_non_finite(image)
        else:
            _refuse_non_finite(src, image)
    return plan.finish(out.reshape((ho, wo) + src.shape[2:]), kernel=k)


def _strided_fft(src, k, pads, border, plan, out_hw, stride, dilation):
    """Strided correlation through one forward FFT of the image and a decimated inverse.

    Only the kept outputs' spectrum is formed: the full-size spectrum of the correlation is
    folded onto the ``(M/sy, N/sx)`` grid (:func:`._strided.fold_spectrum`), so the inverse FFT is
    ``sy*sx`` times smaller than at stride 1. Circular correlation of size ``M >= `` the rows the
    kept outputs read equals the valid correlation there.
    """
    from scipy import fft as sfft

    from ._strided import fold_spectrum

    ho, wo = out_hw
    sy, sx = stride
    kd = _dilate_kernel(k, *dilation)
    kh, kw = kd.shape
    need_h, need_w = (ho - 1) * sy + kh, (wo - 1) * sx + kw
    m, n = _fft_sizes(need_h, need_w, sy, sx)
    padded = _pad(src, *pads, border)[:need_h, :need_w]
    planes = padded[None] if padded.ndim == 2 else padded.transpose(2, 0, 1)
    buf = np.empty((planes.shape[0], m, n), plan.float)
    buf[:, :need_h, :need_w] = planes
    buf[:, need_h:, :] = 0
    buf[:, :need_h, need_w:] = 0
    pf = sfft.rfft2(buf, axes=(-2, -1), workers=1)
    del buf
    kf = sfft.fft(sfft.rfft(kd.astype(plan.float), n=n, axis=1, workers=1), n=m, axis=0, workers=1)
    folded = np.empty((pf.shape[0], m // sy, (n // sx) // 2 + 1), pf.dtype)
    fold_spectrum(pf, kf, sy, sx, n, folded)
    del pf
    res = sfft.irfft2(folded, s=(m // sy, n // sx), axes=(-2, -1), workers=1)[:, :ho, :wo]
    res = res[0] if src.ndim == 2 else np.ascontiguousarray(res.transpose(1, 2, 0))
    return plan.finish(np.ascontiguousarray(res, dtype=plan.float), kernel=kd)


def _correlate(image, k, eps, stride, padding, border, dilation, output_dtype, method):
    """:func:`correlate2d` on a checked image and a float64 kernel ``k`` given with precision ``eps``."""
    stride = _int_pair(stride, name="stride")
    dilation = _int_pair(dilation, name="dilation")
    border = _check_border(border)
    check_choice(method, METHODS, name="method")
    pads = _pads(padding, k.shape, dilation)
    out_shape = output_shape(image.shape, k.shape, stride, pads, dilation)
    plan = _Plan(image.dtype, _check_output_dtype(output_dtype, image.dtype))
    src = image if image.dtype == plan.src else image.astype(plan.src)
    if stride == (1, 1):
        kd = _dilate_kernel(k, *dilation)
        engine, factors = _choose(method, kd, eps)
        if engine == "separable" and method == "auto":
            own = _rank1(k, eps)  # the undilated factors (the numba kernel dilates them itself)
            if _separable_engine(image.shape, k.shape, dilation, pads, plan, own) == "numba-separable":
                out = _strided_numba(src, k, pads, border, plan, out_shape[:2], stride, dilation, own, image,
                                     check_finite=True)
                return out.reshape(out_shape)
        if (engine == "direct" and method in ("auto", "direct") and kd.shape == (3, 3) and pads == (1, 1, 1, 1)
                and image.ndim == 2 and image.dtype in _EXPONENT and plan.out == image.dtype):
            return _correlate3x3(image, kd, border, plan)
        # At stride 1 a kernel without zero taps gives every input pixel a weight in a block of kh
        # consecutive output rows (cut short only at the first or last row), so a NaN/inf shows in
        # a float result on one of the rows 0, kh, 2kh, ... or the last: only those are checked.
        after = plan.out.kind == "f" and bool(np.all(kd != 0))
        if not after:
            _refuse_non_finite(image, image)
        out = _stride1(src, kd, pads, border, plan, engine, out_shape[:2], eps, factors)
        if after and not _rows_finite(out, kd.shape[0]):
            _refuse_non_finite(image, image)  # NaN/inf in the input, or a finite input overflowing
        return out.reshape(out_shape)
    if (stride == (2, 2) and dilation == (1, 1) and method in ("auto", "direct") and k.shape == (3, 3)
            and pads == (1, 1, 1, 1) and image.ndim == 2 and image.dtype in _EXPONENT and plan.out == image.dtype):
        return _correlate3x3(image, k, border, plan, stride=2)
    factors = _rank1(k, eps) if method in ("auto", "separable") else None
    if method == "separable" and factors is None:
        raise ValueError(f"method='separable' needs a rank-1 kernel; got a {k.shape[0]}x{k.shape[1]} kernel "
                         f"of higher rank.")
    engine = _stride_engine(image.shape, k.shape, stride, dilation, pads, plan, method, factors is not None)
    return _run_strided(engine, src, k, eps, factors, pads, border, plan, stride, dilation, out_shape, image=image,
                        check_finite=True)


def _correlate3x3(image, k, border, plan, *, stride: int = 1) -> np.ndarray:
    """3x3, 'same', one float channel, stride 1 or 2: the numba kernels that check NaN/inf as they
    read (faster than cv2.filter2D alone at stride 1, and the check is free)."""
    h, w = image.shape
    src = np.ascontiguousarray(image)
    utype, exponent = _EXPONENT[src.dtype]
    out = np.empty(((h - 1) // stride + 1, (w - 1) // stride + 1), src.dtype)
    args = (src, np.ascontiguousarray(k, plan.kernel_dtype()), _index_map(h, 1, 1, border),
            _index_map(w, 1, 1, border), np.zeros(w, src.dtype), out)
    if stride == 1:
        ok = _numba("correlate3x3")(*args, src.view(utype), utype(exponent))
    else:  # no zero tap: the (quarter-size) result shows any NaN/inf of the image
        check_out = bool(np.all(k != 0))
        ok = _numba("correlate3x3_stride2")(*args, (out if check_out else src).view(utype), utype(exponent),
                                            check_out)
    if not ok:
        _refuse_non_finite(image, image)  # NaN/inf in the image (or, for a result, a finite overflow)
    return out


def _run_strided(engine, src, k, eps, factors, pads, border, plan, stride, dilation, out_shape, *, image=None,
                 check_finite=False):
    """Run strided engine ``engine`` (see :func:`_stride_engine`); ``src`` is already in ``plan.src``.

    With ``check_finite``, NaN/infinity are refused first, or by the numba engines as they read
    each row (``image``: the caller's array, for the error message).
    """
    numba = engine in ("numba", "numba-separable")
    if check_finite and not numba:
        _refuse_non_finite(image, image)
    if engine == "subsample":
        kd = _dilate_kernel(k, *dilation)
        separable = factors is not None and kd.size >= _SEPARABLE_MIN_AREA
        if separable and kd is not k:  # the dilated kernel's factors: zeros between the taps
            factors = (_dilate_kernel(factors[0][:, None], dilation[0], 1)[:, 0],
                       _dilate_kernel(factors[1][None], 1, dilation[1])[0])
        full = _stride1(src, kd, pads, border, plan, "separable" if separable else "direct",
                        output_shape(src.shape[:2], kd.shape, 1, pads), eps, factors)
        out = _keep_every(full, stride, out_shape)
    elif engine == "fft":
        out = _strided_fft(src, k, pads, border, plan, out_shape[:2], stride, dilation)
    elif numba:
        out = _strided_numba(src, k, pads, border, plan, out_shape[:2], stride, dilation,
                             factors if engine == "numba-separable" else None, image, check_finite)
    else:
        raise ValueError(f"unknown strided engine {engine!r}")
    return out.reshape(out_shape)


def correlate2d(image: np.ndarray, kernel: np.ndarray, *, stride: int | tuple[int, int] = 1, padding: str | int | tuple[int, int] = "same",
                border: str = "reflect", dilation: int | tuple[int, int] = 1, output_dtype: np.dtype | type | str | None = None,
                method: str = "auto") -> np.ndarray:
    """Slide ``kernel`` over ``image``, multiplying and summing (cross-correlation).

    The result is defined as: pad ``image`` with ``numpy.pad(mode=border)``, compute the valid
    correlation ``out[y, x] = sum_ij kernel[i, j] * padded[y + D*i, x + D*j]``, then keep every
    ``stride``-th output. Colour images are filtered per channel. The engine (OpenCV direct,
    separable for rank-1 kernels; for strides, a kernel computing only the kept outputs, an FFT
    with a decimated inverse, or stride 1 then subsampling) is chosen automatically and only
    changes the speed.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Input image; any integer or float dtype (uint8, uint16, int16, float32, float64, ...).
    kernel : (kh, kw) array_like
        Weights; any size, even sizes included. ``kernel[0, 0]`` multiplies the top-left pixel of
        each window (no flip; see :func:`convolve2d`).
    stride : int or (int, int)
        Keep every ``stride``-th output (vertical, horizontal); >= 1.
    padding : {'same', 'valid', 'full'}, int, (int, int) or (int, int, int, int)
        Pixels added before correlating. 'same' adds ``D*(K-1)`` per axis, the larger half on the
        top/left for even kernels (the kernel's centre is ``K // 2``, as in ``cv2.filter2D`` and
        ``scipy.ndimage.correlate``; PyTorch and ``scipy.signal.correlate2d`` put it bottom/right);
        with stride 1 the output then has the input's size. 'valid' adds nothing,
        'full' adds ``D*(K-1)`` on each side. An int pads all sides, a pair (vertical, horizontal)
        pads both ends of each axis, a 4-tuple is (top, bottom, left, right).
    border : {'reflect', 'constant', 'edge', 'symmetric', 'wrap'}
        numpy.pad mode used for the padding ('constant' pads with 0).
    dilation : int or (int, int)
        Spacing between kernel taps (à trous); 1 is a plain kernel.
    output_dtype : dtype, optional
        dtype of the result. Default: the input dtype, rounded and saturated for integers (like
        OpenCV). Use ``np.float32`` to keep negative or out-of-range responses (derivatives).
    method : {'auto', 'direct', 'separable', 'fft'}
        Force an engine (for teaching and benchmarks); results agree to rounding error.

    Returns
    -------
    ndarray
        Shape :func:`output_shape` ``(image.shape, kernel.shape, stride, padding, dilation)``.

    Raises
    ------
    TypeError
        For a non-numeric image or kernel, or bad argument types.
    ValueError
        For a wrong number of dimensions, stride/dilation < 1, an unknown padding or border, or a
        kernel that does not fit in the padded image.

    See Also
    --------
    convolve2d, output_shape

    Examples
    --------
    >>> img = np.arange(25, dtype=np.float32).reshape(5, 5)
    >>> correlate2d(img, np.ones((3, 3)), padding="valid")
    array([[ 54.,  63.,  72.],
           [ 99., 108., 117.],
           [144., 153., 162.]], dtype=float32)
    >>> correlate2d(img, [[-1, 0, 1]], stride=2, border="edge")
    array([[1., 2., 1.],
           [1., 2., 1.],
           [1., 2., 1.]], dtype=float32)
    """
    image = _check_input(image, finite=False)  # NaN/inf: refused in _correlate, fused with the work where it can
    k = _as_kernel(kernel)
    return _correlate(image, k, _kernel_eps(np.asarray(kernel).dtype), stride, padding, border, dilation,
                      output_dtype, method)


def convolve2d(image: np.ndarray, kernel: np.ndarray, *, stride: int | tuple[int, int] = 1, padding: str | int | tuple[int, int] = "same",
               border: str = "reflect", dilation: int | tuple[int, int] = 1, output_dtype: np.dtype | type | str | None = None,
               method: str = "auto") -> np.ndarray:
    """Convolve ``image`` with ``kernel``: :func:`correlate2d` with the kernel flipped in both axes.

    ``convolve2d(image, k, ...) == correlate2d(image, k[::-1, ::-1], ...)`` with the same padding,
    so 'same' matches ``scipy.signal.convolve2d(..., mode='same')`` for odd and even kernels.
    All parameters are those of :func:`correlate2d`; for symmetric kernels (box, Gaussian) the two
    functions agree.

    Examples
    --------
    >>> img = np.zeros((3, 5), np.float32); img[1, 2] = 1
    >>> convolve2d(img, [[1, 2, 3]], border="constant")[1]  # the impulse response is the kernel
    array([0., 1., 2., 3., 0.], dtype=float32)
    >>> correlate2d(img, [[1, 2, 3]], border="constant")[1]  # correlation flips it
    array([0., 3., 2., 1., 0.], dtype=float32)
    """
    image = _check_input(image, finite=False)  # NaN/inf: refused in _correlate, fused with the work where it can
    k = _as_kernel(kernel)
    return _correlate(image, k[::-1, ::-1], _kernel_eps(np.asarray(kernel).dtype), stride, padding, border,
                      dilation, output_dtype, method)
