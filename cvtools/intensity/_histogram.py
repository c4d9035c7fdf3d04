"""Histograms and histogram-based contrast: histogram, equalize, CLAHE, histogram matching."""
from __future__ import annotations

import numbers

import cv2
import numpy as np

from .._shared import check_image, check_positive_int, dtype_max
from ._color import _rgb_to_ycrcb, _ycrcb_to_rgb


def _default_range(dtype):
    if dtype == np.uint8:
        return 0.0, 256.0
    if dtype == np.uint16:
        return 0.0, 65536.0
    return 0.0, 1.0


def _hist1(image: np.ndarray, channel: int, bins: int, lo: float, hi: float) -> np.ndarray:
    """Counts of one channel in ``bins`` equal bins over [lo, hi] (last bin closed, like numpy)."""
    if image.dtype == np.float64:
        plane = image if image.ndim == 2 else image[..., channel]
        return np.histogram(plane, bins=bins, range=(lo, hi))[0]
    # calcHist reads the channel in place from the interleaved image: no copy
    counts = cv2.calcHist([image], [channel], None, [bins], [lo, hi])[:, 0].astype(np.int64)
    if image.dtype.kind == "f" or (hi == int(hi) and lo <= hi <= dtype_max(image.dtype)):
        # calcHist's last bin is half-open; numpy's is closed: count values equal to `hi`
        plane = image if image.ndim == 2 else image[..., channel]
        if plane.dtype == np.float32 and plane.flags.c_contiguous:
            counts[-1] += cv2.countNonZero(cv2.compare(plane, float(hi), cv2.CMP_EQ))
        else:
            counts[-1] += int(np.count_nonzero(plane == image.dtype.type(hi)))
    return counts


def histogram(image: np.ndarray, *, bins: int = 256, value_range: tuple[float, float] | None = None,
              density: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of each channel.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    bins : int
        Number of equal-width bins, 1 to 2**24.
    value_range : (low, high), optional
        The range the bins cover; default the dtype's: [0, 256) for uint8 (one bin per level with
        ``bins=256``), [0, 65536) for uint16, [0, 1] for floats. Values outside are not counted. As in
        ``numpy.histogram``, every bin is half-open except the last, which includes ``high``.
    density : bool
        Return a probability density (each channel integrates to 1) instead of counts.

    Returns
    -------
    hist : ndarray
        ``(bins,)`` for a gray image, ``(C, bins)`` for C channels; int64 counts, or float64 with
        ``density=True``.
    bin_edges : (bins + 1,) float64 ndarray

    Examples
    --------
    >>> h, edges = histogram(np.array([[0, 0, 1, 255]], np.uint8))
    >>> h[:3].tolist(), int(h[255]), edges[:2].tolist()
    ([2, 1, 0], 1, [0.0, 1.0])
    """
    image = check_image(image)
    if not image.flags.c_contiguous:
        image = np.ascontiguousarray(image)
    bins = check_positive_int(bins, name="bins")
    if bins > MAX_BINS:
        raise ValueError(f"`bins` must be at most {MAX_BINS:,} (2**24); got {bins:,}.")
    if value_range is None:
        lo, hi = _default_range(image.dtype)
    else:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise TypeError(f"`value_range` must be a pair (low, high); got {value_range!r}.") from None
        if not hi > lo:
            raise ValueError(f"`value_range` must have high > low; got {value_range!r}.")
    edges = np.linspace(lo, hi, bins + 1)
    if image.ndim == 2:
        hist = _hist1(image, 0, bins, lo, hi)
    else:
        hist = np.stack([_hist1(image, c, bins, lo, hi) for c in range(image.shape[2])])
    if density:
        total = hist.sum(axis=-1, keepdims=True)
        hist = hist / np.where(total > 0, total, 1) / np.diff(edges)
    return hist, edges


# --- equalisation ------------------------------------------------------------------------------

def _equalize_lut(counts: np.ndarray, top: float) -> np.ndarray:
    """The classic equalisation map ``round((cdf - cdf_min) / (N - cdf_min) * top)`` (as OpenCV)."""
    cdf = np.cumsum(counts, dtype=np.float64)
    total = cdf[-1]
    nonzero = np.flatnonzero(counts)
    cdf_min = counts[nonzero[0]] if nonzero.size else 0
    if total - cdf_min <= 0:  # a constant image stays as it is
        return None
    return np.clip((cdf - cdf_min) * (top / (total - cdf_min)), 0, top)


def _equalize_gray(gray: np.ndarray) -> np.ndarray:
    dtype = gray.dtype
    if dtype == np.uint8:
        return cv2.equalizeHist(np.ascontiguousarray(gray))
    if dtype == np.uint16:
        lut = _equalize_lut(np.bincount(gray.ravel(), minlength=65536), 65535.0)
        return gray.copy() if lut is None else np.rint(lut).astype(np.uint16)[gray]
    # floats in [0, 1]: quantise to 16 bits (precision 1/65535), equalise those levels with the same
    # map, unrounded; a 65536-entry table is much faster than interpolating on a float histogram
    from ._levels import level_histogram, map_levels

    flat = np.ascontiguousarray(gray).reshape(-1)
    lut = _equalize_lut(level_histogram(flat), 1.0)
    if lut is None:
        return gray.copy()
    return map_levels(flat, lut.astype(dtype), np.empty_like(flat)).reshape(gray.shape)


def _on_luminance(image: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn`` to the luma (Y of YCrCb) of an RGB(A) image; chroma and alpha are kept."""
    work = np.float32 if image.dtype == np.float64 else None
    rgb = np.ascontiguousarray(image[..., :3], dtype=work)
    ycc = _rgb_to_ycrcb(rgb)
    ycc[..., 0] = fn(ycc[..., 0])
    out = _ycrcb_to_rgb(ycc)
    if out.dtype.kind == "f":
        np.clip(out, 0.0, 1.0, out=out)
    out = out.astype(image.dtype, copy=False)
    if image.shape[2] == 4:
        out = np.concatenate([out, image[..., 3:]], axis=2)
    return out


def equalize(image: np.ndarray) -> np.ndarray:
    """Histogram equalisation: spread the gray levels so that their cumulative histogram is linear.

    Gray images use the classic map ``round((cdf(v) - cdf_min) / (N - cdf_min) * max)``
    (``cv2.equalizeHist`` for uint8, the same formula for uint16 and, unrounded, for floats in [0, 1]
    quantised to 65536 levels). Colour images are equalised on their luminance (Y of YCrCb), so hues do not shift;
    alpha is kept. A constant image is returned unchanged.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> equalize(np.array([[10, 10, 20, 30]], np.uint8))
    array([[  0,   0, 128, 255]], dtype=uint8)
    """
    image = check_image(image)
    if image.ndim == 2:
        return _equalize_gray(image)
    if image.shape[2] == 1:
        return _equalize_gray(image[..., 0])[..., None]
    return _on_luminance(image, _equalize_gray)


#: Most bytes of per-tile look-up tables :func:`clahe` may ask OpenCV for (256 MiB).
CLAHE_MAX_TABLE_BYTES = 2 ** 28
#: Most bins :func:`histogram` may count into.
MAX_BINS = 2 ** 24


def clahe(image: np.ndarray, *, clip_limit: float = 2.0, tile_size: int | tuple[int, int] = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (CLAHE, Zuiderveld 1994), via OpenCV.

    The image is cut into ``tile_size`` x ``tile_size`` tiles (OpenCV's ``tileGridSize``: the number
    of tiles per side, not their size in pixels); each tile's histogram is clipped at ``clip_limit``
    times its mean bin count and equalised, and the maps are bilinearly blended. Colour images are
    processed on their luminance (Y of YCrCb), alpha kept. uint8 and uint16 run natively; floats
    (taken as [0, 1]) run through a 16-bit encoding (precision 1/65535).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    clip_limit : float
        Contrast limit (> 0); larger means more contrast. 2.0-4.0 are typical.
    tile_size : int or (rows, cols)
        Number of tiles along each axis: at most the image's height and width (a tile holds at least
        one pixel), and at most 2**20 tiles for uint8 or 2048 (e.g. 45 x 45) for uint16 and floats,
        whose tiles each hold a 65536-level table (:data:`CLAHE_MAX_TABLE_BYTES`).

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> img = np.tile(np.arange(100, 132, dtype=np.uint8), (32, 1))
    >>> out = clahe(img, clip_limit=4.0, tile_size=2)
    >>> out.dtype, int(out.max() - out.min()) > int(img.max() - img.min())
    (dtype('uint8'), True)
    """
    image = check_image(image)
    if isinstance(clip_limit, bool) or not isinstance(clip_limit, numbers.Real) or not clip_limit > 0:
        raise ValueError(f"`clip_limit` must be a number > 0; got {clip_limit!r}.")
    if isinstance(tile_size, numbers.Integral) and not isinstance(tile_size, bool):
        grid = (check_positive_int(tile_size, name="tile_size"),) * 2
    else:
        try:
            grid = tuple(check_positive_int(v, name="tile_size") for v in tile_size)
        except TypeError:
            raise TypeError(f"`tile_size` must be an int or a pair of ints; got {tile_size!r}.") from None
        if len(grid) != 2:
            raise ValueError(f"`tile_size` must be an int or a pair (rows, cols); got {tile_size!r}.")
    h, w = image.shape[:2]
    if grid[0] > h or grid[1] > w:
        raise ValueError(f"`tile_size` {tile_size!r} is too fine for a {h}x{w} image: at most one tile per pixel, "
                         f"({h}, {w}).")
    levels = 256 if image.dtype == np.uint8 else 65536  # floats run through a 16-bit encoding
    if grid[0] * grid[1] * levels * (1 if levels == 256 else 2) > CLAHE_MAX_TABLE_BYTES:
        most = CLAHE_MAX_TABLE_BYTES // (levels * (1 if levels == 256 else 2))
        raise ValueError(f"`tile_size` {tile_size!r} makes {grid[0] * grid[1]:,} tiles; a {image.dtype} image may "
                         f"have at most {most:,} (each tile holds a {levels}-level table).")
    # OpenCV's tileGridSize is (width, height) = (cols, rows)
    engine = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(grid[1], grid[0]))

    def apply(gray: np.ndarray) -> np.ndarray:
        if gray.dtype.kind == "u":
            return engine.apply(np.ascontiguousarray(gray))
        enc = np.rint(np.clip(gray, 0.0, 1.0) * 65535.0).astype(np.uint16)
        return (engine.apply(enc) * (1.0 / 65535.0)).astype(gray.dtype)

    if image.ndim == 2:
        return apply(image)
    if image.shape[2] == 1:
        return apply(image[..., 0])[..., None]
    return _on_luminance(image, apply)


def _match_channel(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Map ``src`` so its cumulative histogram follows ``ref``'s (quantile matching)."""
    if src.dtype.kind == "u":
        n = 256 if src.dtype == np.uint8 else 65536
        src_counts = np.bincount(src.ravel(), minlength=n)
        ref_counts = np.bincount(ref.ravel(), minlength=n)
        ref_values = np.flatnonzero(ref_counts)
        src_q = np.cumsum(src_counts) / src.size
        ref_q = np.cumsum(ref_counts[ref_values]) / ref.size
        top = dtype_max(src.dtype)
        lut = np.clip(np.rint(np.interp(src_q, ref_q, ref_values)), 0, top).astype(src.dtype)
        if src.dtype == np.uint8:
            return cv2.LUT(np.ascontiguousarray(src), lut).reshape(src.shape)
        return lut[src]
    values, inverse, counts = np.unique(src.ravel(), return_inverse=True, return_counts=True)
    ref_values, ref_counts = np.unique(ref.ravel(), return_counts=True)
    src_q = np.cumsum(counts) / src.size
    ref_q = np.cumsum(ref_counts) / ref.size
    mapped = np.interp(src_q, ref_q, ref_values)
    return mapped[inverse].reshape(src.shape).astype(src.dtype)


def match_histograms(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Remap the intensities of ``image`` so that its histogram matches that of ``reference``.

    Each channel is matched on its own (quantile mapping: a value at quantile q of ``image`` becomes
    the value at quantile q of ``reference``), as ``skimage.exposure.match_histograms``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    reference : ndarray
        Same dtype and number of channels as ``image``; any height and width.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image`` (integers rounded).

    Examples
    --------
    >>> match_histograms(np.array([[0, 1, 2, 3]], np.uint8), np.array([[10, 20, 30, 40]], np.uint8))
    array([[10, 20, 30, 40]], dtype=uint8)
    """
    image = check_image(image)
    reference = check_image(reference, name="reference")
    if reference.dtype != image.dtype:
        raise TypeError(f"`reference` must have the dtype of `image` ({image.dtype}); got {reference.dtype}. "
                        "Convert it explicitly (cvtools.to_uint8 / to_float32).")
    cin = 1 if image.ndim == 2 else image.shape[2]
    cref = 1 if reference.ndim == 2 else reference.shape[2]
    if cin != cref:
        raise ValueError(f"`reference` must have as many channels as `image` ({cin}); got {cref}.")
    if image.ndim == 2 or reference.ndim == 2:
        out = _match_channel(image.reshape(image.shape[:2]), reference.reshape(reference.shape[:2]))
        return out.reshape(image.shape)
    return np.stack([_match_channel(image[..., c], reference[..., c]) for c in range(cin)], axis=-1)
