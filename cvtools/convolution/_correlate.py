"""correlate2d / convolve2d: one contract (pad, valid correlation, stride), several engines.

The contract is the textbook one: pad with ``numpy.pad(mode=border)``, slide the (dilated) kernel
over every position where it fits, multiply and sum, then keep every ``stride``-th output. The
engines below compute exactly that, faster:

* direct: ``cv2.filter2D`` with the border handled by OpenCV itself when it can be (its border
  flags reproduce numpy.pad for every mode; 'wrap' is padded first because filter2D refuses it);
* separable: a rank-1 kernel (detected by a pivot test, factored by SVD) is split into a column and a row vector and run
  through ``cv2.sepFilter2D`` (2K instead of K*K multiply-adds per pixel);
* FFT: ``scipy.signal.fftconvolve`` on the padded image, for large non-separable kernels;
* stride, small and mid-size kernels (up to 11x11 on one channel, 5x5 on colour): a numba kernel
  (``_strided.py``) that computes only the kept outputs straight from the unpadded image (no padded
  copy), row by row in cache;
* stride, larger kernels (or float64 work): a polyphase decomposition. The padded image is split into
  ``sy * sx`` sub-images ``P[ry::sy, rx::sx]`` and the kernel into the matching sub-kernels; the strided
  output is the sum of their (small) valid correlations, run by OpenCV;
* stride, 3x3 and smaller on one channel: OpenCV's stride-1 filter then every ``stride``-th output (the
  filter is memory-bound there, so computing fewer outputs saves less than it costs).
"""
from __future__ import annotations

import cv2
import numpy as np

from .._shared import check_choice, check_image, cv2_border, restore_dtype
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
# both are memory-bound). The FFT engine (scipy) is never chosen automatically: on 1080p images
# cv2.filter2D, which switches to its own DFT for kernels of 11x11 and more, was faster at every
# size measured (benchmarks/bench_convolution.py); method='fft' remains available.
_SEPARABLE_MIN_AREA = 25


def _check_input(image) -> np.ndarray:
    image = check_image(image, dtypes=None, channels=range(1, 513))
    if image.dtype.kind not in "uif":
        raise TypeError(f"`image` has dtype {image.dtype}; valid: unsigned/signed integers and floats "
                        f"(uint8, uint16, int16, float32, float64, ...).")
    return image


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


def _rank1(k: np.ndarray):
    """(column, row) vectors with ``k == outer(column, row)``, or None if ``k`` is not rank 1."""
    if min(k.shape) < 2:
        return None
    # cheap exact gate: a rank-1 matrix equals the outer product of its row and column through
    # its largest entry, divided by that entry (O(K^2), vs an SVD for every call)
    i, j = np.unravel_index(np.argmax(np.abs(k)), k.shape)
    pivot = k[i, j]
    if pivot == 0 or np.abs(k - np.outer(k[:, j], k[i, :] / pivot)).max() > 1e-9 * abs(pivot):
        return None
    # balanced factors from the SVD (the dominant singular pair)
    u, s, vt = np.linalg.svd(k)
    root = np.sqrt(s[0])
    return u[:, 0] * root, vt[0] * root


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
        return restore_dtype(result, self.out)


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


def _choose(method, k):
    """'direct', 'separable' or 'fft' for kernel ``k`` (already dilated)."""
    if method != "auto":
        return method
    if k.size >= _SEPARABLE_MIN_AREA and _rank1(k) is not None:
        return "separable"
    return "direct"


def _fft_valid(padded, k, plan):
    from scipy.signal import fftconvolve

    src = padded.astype(plan.float, copy=False)
    kk = k[::-1, ::-1].astype(plan.float)
    if src.ndim == 3:
        kk = kk[:, :, None]
    return fftconvolve(src, kk, mode="valid", axes=(0, 1))


def _stride1(image, k, pads, border, plan, method, out_hw):
    ho, wo = out_hw
    t, b, l, r = pads
    kh, kw = k.shape
    if method == "fft":
        res = _fft_valid(_pad(image, t, b, l, r, border), k, plan)
        return plan.finish(_crop(res, ho, wo))
    separable = _rank1(k) if method == "separable" else None
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


def _tap_groups(size, dilation, stride):
    """Group kernel taps by the phase of the padded image they read: {phase: [(tap, offset), ...]}."""
    groups: dict[int, list[tuple[int, int]]] = {}
    for i in range(size):
        off = dilation * i
        groups.setdefault(off % stride, []).append((i, off // stride))
    return groups


def _axis_map(n, before, after, border, phase, step, count):
    """Where phase ``phase`` (every ``step``-th position) of a padded axis reads from.

    Returns ``(idx, lo, hi)``: ``idx[i]`` is the source index of position ``i`` (-1 for a zero:
    constant border, or past the padded end, which no kept output reads) and positions ``lo:hi``
    lie inside the image, so they read ``idx[lo] + step * (i - lo)``.
    """
    total = n + before + after
    if border == "constant":
        padmap = np.pad(np.arange(n), (before, after), constant_values=-1)
    else:
        padmap = np.pad(np.arange(n), (before, after), mode=border)  # numpy.pad's exact rule
    pos = phase + step * np.arange(count)
    idx = np.where(pos < total, padmap[np.minimum(pos, total - 1)], -1)
    inside = np.flatnonzero((pos >= before) & (pos < before + n))
    lo, hi = (int(inside[0]), int(inside[-1]) + 1) if inside.size else (0, 0)
    return idx, lo, hi


def _gather_phase(image, out, rows, cols, sy, sx):
    """Fill ``out`` with ``padded[ry::sy, rx::sx]`` without ever building ``padded``."""
    ridx, rlo, rhi = rows
    cidx, clo, chi = cols
    fast = sx > 1 and image.ndim == 3 and image.shape[2] <= 4 and image.dtype in _CV_DEPTH
    if fast and chi > clo and cidx[clo] + sx * (chi - clo) > image.shape[1]:
        chi -= 1  # the resize window must fit: the last column joins the edge columns
    if rhi > rlo and chi > clo:
        r0, c0 = ridx[rlo], cidx[clo]
        block = image[r0:r0 + sy * (rhi - rlo - 1) + 1:sy]  # strided rows: a view
        nc = chi - clo
        if fast:
            # nearest-neighbour resize by an exact integer ratio picks column sx*j: much faster
            # than numpy's gather for interleaved channels
            block = cv2.resize(block[:, c0:c0 + sx * nc], (nc, rhi - rlo), interpolation=cv2.INTER_NEAREST)
            block = block.reshape((rhi - rlo, nc) + image.shape[2:])
        else:
            block = block[:, c0:c0 + sx * (nc - 1) + 1:sx]
        out[rlo:rhi, clo:chi] = block
    edge_rows = np.r_[0:rlo, rhi:len(ridx)]
    edge_cols = np.r_[0:clo, chi:len(cidx)]
    for rsel, csel in ((edge_rows, np.arange(len(cidx))), (np.arange(rlo, rhi), edge_cols)):
        if rsel.size == 0 or csel.size == 0:
            continue
        ri, ci = ridx[rsel], cidx[csel]
        vals = image[np.ix_(np.maximum(ri, 0), np.maximum(ci, 0))].astype(out.dtype)
        vals[ri < 0] = 0
        vals[:, ci < 0] = 0
        out[np.ix_(rsel, csel)] = vals


def _strided(image, k, pads, border, plan, method, out_hw, stride, dilation):
    ho, wo = out_hw
    sy, sx = stride
    dy, dx = dilation
    t, b, l, r = pads
    h, w = image.shape[:2]
    gy, gx = _tap_groups(k.shape[0], dy, sy), _tap_groups(k.shape[1], dx, sx)
    parts = []
    for ry, taps_y in gy.items():
        for rx, taps_x in gx.items():
            sub = np.zeros((taps_y[-1][1] + 1, taps_x[-1][1] + 1))
            for iy, qy in taps_y:
                for ix, qx in taps_x:
                    sub[qy, qx] = k[iy, ix]
            if sub.any():
                parts.append((ry, rx, sub))
    if not parts:
        return plan.finish(np.zeros((ho, wo) + image.shape[2:], plan.float))
    # One phase buffer and one result buffer of a common size serve every part (rows/columns
    # past what a sub-kernel needs only feed outputs beyond (ho, wo), which are dropped): few
    # allocations, and the gather converts to float in the same pass. Float phases also keep
    # OpenCV on its direct (not DFT) path for the small sub-kernels.
    hb = ho + max(sub.shape[0] for _, _, sub in parts) - 1
    wb = wo + max(sub.shape[1] for _, _, sub in parts) - 1
    buf = np.empty((hb, wb) + image.shape[2:], plan.float)
    maps_y = {ry: _axis_map(h, t, b, border, ry, sy, hb) for ry in gy}
    maps_x = {rx: _axis_map(w, l, r, border, rx, sx, wb) for rx in gx}
    acc = tmp = None
    out_shape = (ho, wo) + image.shape[2:]
    for n, (ry, rx, sub) in enumerate(parts):
        _gather_phase(image, buf, maps_y[ry], maps_x[rx], sy, sx)
        use_sep = method in ("auto", "separable") and sub.size >= _SEPARABLE_MIN_AREA
        separable = _rank1(sub) if use_sep else None
        kd = plan.kernel_dtype()
        if separable is not None:
            res = cv2.sepFilter2D(buf, -1, separable[1].astype(kd), separable[0].astype(kd), dst=tmp,
                                  anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        else:
            res = cv2.filter2D(buf, -1, sub.astype(kd), dst=tmp, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        res = res.reshape(buf.shape)
        if acc is None:
            acc = res
            if len(parts) == 1:
                return plan.finish(np.ascontiguousarray(acc[:ho, :wo]))
        elif n == len(parts) - 1 and plan.out in _CV_DEPTH:
            # the last addition writes the output dtype, rounded and saturated by OpenCV
            return cv2.add(acc[:ho, :wo], res[:ho, :wo], dtype=_CV_DEPTH[plan.out]).reshape(out_shape)
        else:
            cv2.add(acc, res, dst=acc)
            tmp = res
    return plan.finish(np.ascontiguousarray(acc[:ho, :wo]))


def _keep_every(full, stride, out_shape):
    """Every ``stride``-th output of a stride-1 result, cropped to ``out_shape``."""
    return np.ascontiguousarray(full[::stride[0], ::stride[1]][:out_shape[0], :out_shape[1]])


def _stride_engine(src, k, stride, plan, method) -> str:
    """Which strided engine: 'split' / 'full' (numba), 'subsample' or 'polyphase' (OpenCV).

    Chosen from timings of every engine at stride 2 on 1080p uint8 RGB and float32 gray (one thread, quiet
    machine): the numba kernel wins for small and mid-size kernels, OpenCV's polyphase filters for larger
    ones (from 7x7 on colour images, above 11x11 on one channel).
    """
    kh, kw = k.shape
    channels = 1 if src.ndim == 2 else src.shape[2]
    if method == "separable" or plan.float != _F32 or src.dtype.kind not in "uif":
        return "polyphase"
    area = kh * kw
    if channels == 1:
        return "subsample" if area <= 9 else "split" if area <= 121 else "polyphase"
    return "full" if area <= 25 else "polyphase"


def _strided_numba(src, k, pads, border, plan, out_hw, stride, dilation, split):
    from ._strided import strided_correlate

    ho, wo = out_hw
    t, b, l, r = pads
    h, w = src.shape[:2]
    channels = 1 if src.ndim == 2 else src.shape[2]

    def index_map(n, before, after):
        if border == "constant":
            return np.pad(np.arange(n), (before, after), constant_values=-1)
        return np.pad(np.arange(n), (before, after), mode=border)  # numpy.pad's exact rule

    out = np.empty((ho, wo * channels), np.float32)
    strided_correlate(np.ascontiguousarray(src).reshape(h, w * channels), np.ascontiguousarray(k, np.float32),
                      stride[0], stride[1], dilation[0], dilation[1], ho, wo, channels,
                      index_map(h, t, b), index_map(w, l, r), l, l + w, bool(split), out)
    return plan.finish(out.reshape((ho, wo) + src.shape[2:]), kernel=k)


def correlate2d(image, kernel, *, stride=1, padding="same", border="reflect", dilation=1,
                output_dtype=None, method="auto"):
    """Slide ``kernel`` over ``image``, multiplying and summing (cross-correlation).

    The result is defined as: pad ``image`` with ``numpy.pad(mode=border)``, compute the valid
    correlation ``out[y, x] = sum_ij kernel[i, j] * padded[y + D*i, x + D*j]``, then keep every
    ``stride``-th output. Colour images are filtered per channel. The engine (OpenCV direct,
    separable for rank-1 kernels, FFT for large kernels, polyphase for strides) is chosen
    automatically and only changes the speed.

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
    image = _check_input(image)
    k = _as_kernel(kernel)
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
        engine = _choose(method, kd)
        out = _stride1(src, kd, pads, border, plan, engine, out_shape[:2])
    elif method == "fft":
        kd = _dilate_kernel(k, *dilation)
        out = plan.finish(_keep_every(_fft_valid(_pad(src, *pads, border), kd, plan), stride, out_shape))
    else:
        engine = _stride_engine(src, k, stride, plan, method)
        if engine == "subsample":
            kd = _dilate_kernel(k, *dilation)
            full = _stride1(src, kd, pads, border, plan, "direct", output_shape(image.shape[:2], kd.shape, 1, pads))
            out = _keep_every(full, stride, out_shape)
        elif engine in ("split", "full"):
            out = _strided_numba(src, k, pads, border, plan, out_shape[:2], stride, dilation, engine == "split")
        else:
            out = _strided(src, k, pads, border, plan, method, out_shape[:2], stride, dilation)
    return out.reshape(out_shape)


def convolve2d(image, kernel, *, stride=1, padding="same", border="reflect", dilation=1,
               output_dtype=None, method="auto"):
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
    k = _as_kernel(kernel)
    return correlate2d(image, k[::-1, ::-1], stride=stride, padding=padding, border=border,
                       dilation=dilation, output_dtype=output_dtype, method=method)
