"""cvtools.intensity against independent references (numpy formulas, scikit-image, scipy)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage import color as skcolor
from skimage import exposure, filters

import cvtools
from cvtools import intensity as I

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
CHANNELS = [None, 1, 3, 4]


def top(dtype):
    return {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(np.dtype(dtype), 1.0)


def make(dtype, channels=None, shape=(23, 31), seed=0, lo=0.0, hi=1.0):
    """A random image with values spread over [lo, hi] of the dtype's range."""
    rng = np.random.default_rng(seed)
    full = shape if channels is None else shape + (channels,)
    x = lo + (hi - lo) * rng.random(full)
    if np.dtype(dtype).kind == "u":
        return np.rint(x * top(dtype)).astype(dtype)
    return x.astype(dtype)


def tol(dtype):
    return 1 if np.dtype(dtype).kind == "u" else 1e-5


def close(a, b, atol):
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), atol=atol, rtol=0)


def test_public_surface():
    assert sorted(I.__all__) == sorted([
        "invert", "log_transform", "gamma", "contrast_stretch", "normalize", "bit_plane", "histogram",
        "equalize", "clahe", "match_histograms", "threshold", "to_gray", "convert_color"])
    assert cvtools.intensity is I


# --- point transforms ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", CHANNELS)
def test_invert(dtype, channels):
    img = make(dtype, channels)
    out = I.invert(img)
    assert out.dtype == img.dtype and out.shape == img.shape
    expected = top(dtype) - img.astype(np.float64)
    close(out, expected, 0 if np.dtype(dtype).kind == "u" else 1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_transform(dtype):
    img = make(dtype, 3)
    out = I.log_transform(img)
    m = top(dtype)
    expected = np.log1p(img.astype(np.float64)) / np.log1p(m) * m
    if np.dtype(dtype).kind == "u":
        expected = np.rint(expected)
    assert out.dtype == img.dtype
    close(out, expected, 1e-6 if dtype == np.float64 else 1e-5)


def test_log_transform_tiny():
    out = I.log_transform(np.array([[0, 1, 3, 255]], np.uint8))
    # 255 * log(1 + v) / log(256): log2(2)/8, log2(4)/8
    assert out.tolist() == [[0, 32, 64, 255]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("g", [0.4, 1.0, 2.2])
def test_gamma(dtype, g):
    img = make(dtype, 3)
    m = top(dtype)
    expected = m * (img.astype(np.float64) / m) ** g
    if np.dtype(dtype).kind == "u":
        expected = np.rint(expected)
    out = I.gamma(img, g)
    assert out.dtype == img.dtype
    close(out, expected, 1e-5)


def test_gamma_matches_skimage():
    img = make(np.uint8, None)
    ref = exposure.adjust_gamma(img, 0.5)
    close(I.gamma(img, 0.5), ref, 1)


@pytest.mark.parametrize("bad, err, match", [(0, ValueError, "gamma"), (-1.0, ValueError, "> 0"),
                                             ("2", TypeError, "gamma"), (float("nan"), ValueError, "finite")])
def test_gamma_errors(bad, err, match):
    with pytest.raises(err, match=match):
        I.gamma(make(np.uint8), bad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
def test_contrast_stretch_vs_skimage(dtype, channels):
    img = make(dtype, channels, lo=0.3, hi=0.6)
    p2, p98 = np.percentile(img, (2, 98))
    ref = exposure.rescale_intensity(img.astype(np.float64), in_range=(p2, p98), out_range=(0, top(dtype)))
    out = I.contrast_stretch(img)
    assert out.dtype == img.dtype
    close(out, ref, 1 if np.dtype(dtype).kind == "u" else 1e-5)


def test_contrast_stretch_per_channel():
    img = make(np.float32, 3)
    img[..., 1] *= 0.5
    out = I.contrast_stretch(img, low=0, high=100, per_channel=True)
    np.testing.assert_allclose(out.reshape(-1, 3).min(0), 0, atol=1e-6)
    np.testing.assert_allclose(out.reshape(-1, 3).max(0), 1, atol=1e-6)


@pytest.mark.parametrize("kw, match", [({"low": 50, "high": 10}, "low"), ({"low": -1}, "percentile"),
                                       ({"high": 101}, "percentile")])
def test_contrast_stretch_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        I.contrast_stretch(make(np.uint8), **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
def test_normalize_minmax(dtype, channels):
    img = make(dtype, channels, lo=0.2, hi=0.7)
    x = img.astype(np.float64)
    expected = (x - x.min()) / (x.max() - x.min()) * top(dtype)
    if np.dtype(dtype).kind == "u":
        expected = np.rint(expected)
    out = I.normalize(img)
    assert out.dtype == img.dtype
    close(out, expected, tol(dtype))


def test_normalize_minmax_out_range_and_per_channel():
    img = make(np.float64, 3, lo=0.2, hi=0.7)
    out = I.normalize(img, out_range=(-1, 1), per_channel=True)
    x = img.reshape(-1, 3)
    expected = (x - x.min(0)) / (x.max(0) - x.min(0)) * 2 - 1
    close(out.reshape(-1, 3), expected, 1e-12)


def test_normalize_constant_image():
    img = np.full((4, 4), 7, np.uint8)
    assert (I.normalize(img) == 0).all()
    assert (I.normalize(img, "zscore") == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("per_channel", [False, True])
def test_normalize_zscore(dtype, per_channel):
    img = make(dtype, 3)
    x = img.astype(np.float64)
    axis = (0, 1) if per_channel else None
    expected = (x - x.mean(axis=axis)) / x.std(axis=axis)
    out = I.normalize(img, "zscore", per_channel=per_channel)
    assert out.dtype == (np.float64 if dtype == np.float64 else np.float32)
    close(out, expected, 1e-4)


def test_normalize_tiny():
    assert I.normalize(np.array([[10, 20, 30]], np.uint8)).tolist() == [[0, 128, 255]]
    z = I.normalize(np.array([[1.0, 3.0]]), "zscore")
    assert z.tolist() == [[-1.0, 1.0]]


def test_normalize_errors():
    with pytest.raises(ValueError, match="unknown method 'l2'"):
        I.normalize(make(np.uint8), "l2")
    with pytest.raises(ValueError, match="out_range"):
        I.normalize(make(np.uint8), "zscore", out_range=(0, 1))
    with pytest.raises(ValueError, match="high > low"):
        I.normalize(make(np.uint8), out_range=(1, 0))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_bit_plane(dtype):
    img = make(dtype, 3)
    nbits = np.dtype(dtype).itemsize * 8
    planes = [I.bit_plane(img, b) for b in range(nbits)]
    assert all(p.dtype == bool and p.shape == img.shape for p in planes)
    rebuilt = sum(p.astype(np.uint64) << np.uint64(b) for b, p in enumerate(planes))
    np.testing.assert_array_equal(rebuilt, img)
    np.testing.assert_array_equal(planes[nbits - 1], img >= 2 ** (nbits - 1))


def test_bit_plane_errors():
    with pytest.raises(TypeError, match="dtype float32"):
        I.bit_plane(make(np.float32), 0)
    with pytest.raises(ValueError, match=r"\[0, 7\]"):
        I.bit_plane(make(np.uint8), 8)
    with pytest.raises(TypeError, match="bit"):
        I.bit_plane(make(np.uint8), 1.5)


# --- histograms -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("bins", [256, 10])
def test_histogram_vs_numpy(dtype, channels, bins):
    img = make(dtype, channels)
    if np.dtype(dtype).kind == "f":
        img.flat[0], img.flat[1] = 0.0, 1.0  # both ends are counted, like numpy
    hist, edges = I.histogram(img, bins=bins)
    rng = (0, {np.dtype(np.uint8): 256, np.dtype(np.uint16): 65536}.get(np.dtype(dtype), 1))
    planes = [img] if channels is None else [img[..., c] for c in range(channels)]
    ref = [np.histogram(p, bins=bins, range=rng) for p in planes]
    np.testing.assert_allclose(edges, ref[0][1])
    expected = ref[0][0] if channels is None else np.stack([r[0] for r in ref])
    np.testing.assert_array_equal(hist, expected)


def test_histogram_range_density_and_tiny():
    img = np.array([[0, 0, 1, 255]], np.uint8)
    h, e = I.histogram(img)
    assert h.shape == (256,) and h[0] == 2 and h[1] == 1 and h[255] == 1 and h.sum() == 4
    h, e = I.histogram(img, bins=2, value_range=(0, 2))
    assert h.tolist() == [2, 1]  # 255 is outside and not counted
    f = make(np.float32, 3)
    d, e = I.histogram(f, bins=16, density=True)
    np.testing.assert_allclose((d * np.diff(e)).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="high > low"):
        I.histogram(img, value_range=(5, 5))
    with pytest.raises(ValueError, match="bins"):
        I.histogram(img, bins=0)


def _equalize_formula(gray, levels, maxval):
    counts = np.bincount(gray.ravel(), minlength=levels)
    cdf = np.cumsum(counts)
    cdf_min = counts[np.flatnonzero(counts)[0]]
    lut = np.rint(np.clip((cdf - cdf_min) / (gray.size - cdf_min) * maxval, 0, maxval))
    return lut[gray]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_equalize_gray_formula(dtype):
    img = make(dtype, None, shape=(40, 50), lo=0.2, hi=0.5) ** 1  # low contrast
    expected = _equalize_formula(img, top(dtype) + 1, top(dtype))
    out = I.equalize(img)
    assert out.dtype == img.dtype
    close(out, expected, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equalize_float_vs_skimage(dtype):
    img = (make(np.float64, None, shape=(40, 50)) ** 3).astype(dtype)
    out = I.equalize(img)
    # skimage maps v to cdf(v) / N; the classic map (ours, OpenCV's) removes the first bin's mass c0
    ref = exposure.equalize_hist(img, nbins=4096)
    counts = np.histogram(img, bins=4096, range=(0, 1))[0]
    c0 = counts[np.flatnonzero(counts)[0]] / img.size
    assert out.dtype == img.dtype
    # skimage interpolates at bin centres, we at bin edges: they differ by at most one bin's mass
    close(out, (ref - c0) / (1 - c0), counts.max() / img.size + 1e-4)


def test_equalize_flattens_histogram():
    img = np.clip(np.random.default_rng(1).normal(100, 10, (64, 64)), 0, 255).astype(np.uint8)
    out = I.equalize(img)
    cdf = np.cumsum(np.bincount(out.ravel(), minlength=256)) / out.size
    assert np.abs(cdf - np.arange(1, 257) / 256).max() < 0.05
    assert out.std() > 3 * img.std()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [3, 4])
def test_equalize_colour_on_luminance(dtype, channels):
    img = make(dtype, channels, shape=(40, 50), lo=0.3, hi=0.6)
    out = I.equalize(img)
    assert out.dtype == img.dtype and out.shape == img.shape
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])
    y_in = I.to_gray(img)
    y_out = I.to_gray(out)
    # luminance got equalised: its spread grows a lot and ranks are preserved
    assert y_out.astype(float).std() > 2 * y_in.astype(float).std()
    corr = np.corrcoef(y_in.ravel().astype(float), y_out.ravel().astype(float))[0, 1]
    assert corr > 0.95


def test_equalize_tiny_and_constant():
    assert I.equalize(np.array([[10, 10, 20, 30]], np.uint8)).tolist() == [[0, 0, 128, 255]]
    const = np.full((5, 5), 0.3, np.float32)
    np.testing.assert_array_equal(I.equalize(const), const)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_clahe(dtype, channels):
    img = make(dtype, channels, shape=(64, 64), lo=0.4, hi=0.6)
    out = I.clahe(img, clip_limit=3.0, tile_size=4)
    assert out.dtype == img.dtype and out.shape == img.shape
    y0 = I.to_gray(img).astype(float)
    y1 = I.to_gray(out).astype(float)
    assert y1.std() > 1.5 * y0.std()


def test_clahe_vs_skimage():
    # different interpolation details, same algorithm: the results must agree closely
    x = np.linspace(0, 1, 128)
    img = (0.4 + 0.2 * np.outer(np.sin(6 * x), np.cos(4 * x))) * 255
    img = np.clip(img + np.random.default_rng(0).normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    ours = I.clahe(img, clip_limit=2.0, tile_size=4).astype(float) / 255
    ref = exposure.equalize_adapthist(img, kernel_size=32, clip_limit=0.01)
    assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.9


def test_clahe_float_matches_uint16_path():
    img16 = make(np.uint16, None, shape=(48, 48), lo=0.4, hi=0.6)
    a = I.clahe(img16, tile_size=(3, 2)).astype(np.float64) / 65535
    b = I.clahe(img16.astype(np.float64) / 65535, tile_size=(3, 2))
    close(a, b, 1e-6)


def test_clahe_errors():
    with pytest.raises(ValueError, match="clip_limit"):
        I.clahe(make(np.uint8), clip_limit=0)
    with pytest.raises(ValueError, match="tile_size"):
        I.clahe(make(np.uint8), tile_size=0)
    with pytest.raises(ValueError, match="tile_size"):
        I.clahe(make(np.uint8), tile_size=(2, 2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
def test_match_histograms_vs_skimage(dtype, channels):
    img = make(dtype, channels, seed=1, lo=0.1, hi=0.5)
    ref_img = make(dtype, channels, shape=(17, 19), seed=2, lo=0.4, hi=0.9) 
    if np.dtype(dtype).kind == "u":
        ref_img = ref_img // 2 * 2  # leave gaps in the reference's levels
    out = I.match_histograms(img, ref_img)
    ref = exposure.match_histograms(img.astype(np.float64) if np.dtype(dtype).kind == "u" else img,
                                    ref_img.astype(np.float64) if np.dtype(dtype).kind == "u" else ref_img,
                                    channel_axis=None if channels is None else -1)
    if np.dtype(dtype).kind == "u":
        ref = np.rint(ref)
    assert out.dtype == img.dtype
    close(out, ref, 1 if np.dtype(dtype).kind == "u" else 1e-6)


def test_match_histograms_tiny_and_errors():
    out = I.match_histograms(np.array([[0, 1, 2, 3]], np.uint8), np.array([[10, 20, 30, 40]], np.uint8))
    assert out.tolist() == [[10, 20, 30, 40]]
    with pytest.raises(TypeError, match="dtype"):
        I.match_histograms(make(np.uint8), make(np.float32))
    with pytest.raises(ValueError, match="channels"):
        I.match_histograms(make(np.uint8, 3), make(np.uint8))


# --- thresholds ---------------------------------------------------------------------------------

def bimodal(dtype, shape=(40, 50), seed=3):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(shape) < 0.3, rng.normal(0.25, 0.05, shape), rng.normal(0.7, 0.08, shape))
    x = np.clip(x, 0, 1)
    return np.rint(x * top(dtype)).astype(dtype) if np.dtype(dtype).kind == "u" else x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threshold_fixed(dtype):
    img = make(dtype)
    v = 0.4 * top(dtype)
    mask, t = I.threshold(img, "fixed", value=v)
    assert mask.dtype == bool and t == v
    np.testing.assert_array_equal(mask, img > v)


def test_threshold_fixed_fractional_uint8():
    img = np.array([[100, 101]], np.uint8)
    assert I.threshold(img, "fixed", value=100.5)[0].tolist() == [[False, True]]
    assert I.threshold(img, "fixed", value=-3)[0].all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_threshold_otsu_vs_skimage(dtype):
    img = bimodal(dtype)
    mask, t = I.threshold(img, "otsu")
    ref = filters.threshold_otsu(img)
    if dtype == np.uint16:
        ref = filters.threshold_otsu(img, nbins=65536)
        # skimage's bins for uint16 are whole levels too, OpenCV's full-resolution Otsu may differ by a level
        assert abs(t - ref) <= 0.01 * 65535
    elif dtype == np.uint8:
        assert abs(t - ref) <= 1
    else:
        assert t == pytest.approx(float(ref), abs=1e-6)
    np.testing.assert_array_equal(mask, img > t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threshold_triangle_vs_skimage(dtype):
    rng = np.random.default_rng(4)
    x = np.clip(np.concatenate([rng.normal(0.2, 0.04, 1500), rng.uniform(0.3, 0.9, 300)]), 0, 1)
    img = (np.rint(x * top(dtype)).astype(dtype) if np.dtype(dtype).kind == "u" else x.astype(dtype))
    img = img.reshape(36, 50)
    mask, t = I.threshold(img, "triangle")
    if dtype == np.uint16:
        ref = filters.threshold_triangle(img.astype(np.float64))  # 256 bins over the range, like ours
    else:
        ref = filters.threshold_triangle(img)
    assert abs(t - float(ref)) <= (2 if dtype == np.uint8 else 1e-6 * top(dtype) + 1e-9)
    np.testing.assert_array_equal(mask, img > t)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("method", ["adaptive-mean", "adaptive-gaussian"])
def test_threshold_adaptive_vs_scipy(dtype, method):
    img = make(dtype, shape=(30, 41))
    b, off = 7, 0.01 * top(dtype)
    x = img.astype(np.float64)
    if method == "adaptive-mean":
        local = ndi.uniform_filter(x, b, mode="nearest")
    else:
        g = cv2.getGaussianKernel(b, 0).ravel()
        local = ndi.correlate1d(ndi.correlate1d(x, g, axis=0, mode="nearest"), g, axis=1, mode="nearest")
    mask, surface = I.threshold(img, method, block_size=b, offset=off)
    assert surface.dtype == np.float32 and surface.shape == img.shape
    close(surface, local - off, 1e-4 * top(dtype))
    decided = np.abs(x - (local - off)) > 1e-3 * top(dtype)
    np.testing.assert_array_equal(mask[decided], (x > local - off)[decided])


@pytest.mark.parametrize("method", ["adaptive-mean", "adaptive-gaussian"])
def test_threshold_adaptive_uint8_matches_opencv_rule(method):
    img = make(np.uint8, shape=(30, 41))
    mask, surface = I.threshold(img, method, block_size=5, offset=2.5)
    local = ndi.uniform_filter(img.astype(np.float64), 5, mode="nearest") if method == "adaptive-mean" else None
    if local is not None:
        close(surface + 2.5, np.rint(local), 1)  # the local mean is rounded to an integer, as OpenCV
    np.testing.assert_array_equal(mask, img.astype(np.float64) > surface)


def test_threshold_colour_uses_gray():
    img = make(np.uint8, 3)
    mask, t = I.threshold(img, "otsu")
    mask2, t2 = I.threshold(I.to_gray(img), "otsu")
    assert t == t2 and (mask == mask2).all() and mask.shape == img.shape[:2]


def test_threshold_tiny_and_constant():
    mask, t = I.threshold(np.array([[10, 12, 200, 210]], np.uint8))
    assert mask.tolist() == [[False, False, True, True]] and 12 <= t < 200
    mask, t = I.threshold(np.full((4, 4), 0.5, np.float32), "otsu")
    assert not mask.any() and t == 0.5


@pytest.mark.parametrize("kw, err, match", [
    ({"method": "magic"}, ValueError, "unknown method 'magic'"),
    ({"method": "fixed"}, ValueError, "needs `value`"),
    ({"method": "fixed", "value": "1"}, TypeError, "value"),
    ({"method": "otsu", "value": 3}, ValueError, "only to method='fixed'"),
    ({"method": "adaptive-mean", "block_size": 4}, ValueError, "odd integer >= 3"),
    ({"method": "adaptive-mean", "block_size": 1}, ValueError, "block_size"),
])
def test_threshold_errors(kw, err, match):
    with pytest.raises(err, match=match):
        I.threshold(make(np.uint8), **kw)


# --- colour ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [3, 4])
def test_to_gray(dtype, channels):
    img = make(dtype, channels)
    x = img.astype(np.float64)
    expected = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    out = I.to_gray(img)
    assert out.dtype == img.dtype and out.shape == img.shape[:2]
    # OpenCV's 16-bit path uses fixed-point weights: off by up to 1.5 levels of 65535
    close(out, expected, {np.dtype(np.uint8): 1, np.dtype(np.uint16): 2}.get(np.dtype(dtype), 1e-5))
    g = make(dtype)
    assert np.array_equal(I.to_gray(g), g) and I.to_gray(g) is not g


@pytest.mark.parametrize("dtype", DTYPES)
def test_convert_hsv_vs_skimage(dtype):
    img = make(dtype, 3)
    hsv = I.convert_color(img, "hsv")
    ref = skcolor.rgb2hsv(img.astype(np.float64) / top(dtype))
    ref[..., 0] *= 360
    assert hsv.dtype == np.float32
    dh = np.abs(hsv[..., 0] - ref[..., 0])
    assert np.minimum(dh, 360 - dh).max() < 0.05
    close(hsv[..., 1:], ref[..., 1:], 1e-5)
    back = I.convert_color(hsv, "rgb", source="hsv")
    close(back, img.astype(np.float64) / top(dtype), 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_convert_lab_vs_skimage(dtype):
    img = make(dtype, 3)
    lab = I.convert_color(img, "lab")
    ref = skcolor.rgb2lab(img.astype(np.float64) / top(dtype))
    assert lab.dtype == np.float32
    close(lab, ref, 0.03)
    back = I.convert_color(lab, "rgb", source="lab")
    close(back, img.astype(np.float64) / top(dtype), 5e-4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_convert_ycrcb_formula(dtype):
    img = make(dtype, 3)
    x = img.astype(np.float64)
    half = {np.dtype(np.uint8): 128, np.dtype(np.uint16): 32768}.get(np.dtype(dtype), 0.5)
    y = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    expected = np.stack([y, (x[..., 0] - y) * 0.713 + half, (x[..., 2] - y) * 0.564 + half], -1)
    out = I.convert_color(img, "ycrcb")
    assert out.dtype == img.dtype
    close(out, expected, {np.dtype(np.uint8): 1, np.dtype(np.uint16): 2}.get(np.dtype(dtype), 1e-5))
    back = I.convert_color(out, "rgb", source="ycrcb")
    assert back.dtype == img.dtype
    # the BT.601 forward/inverse coefficients are rounded (0.713 vs 1/1.403): ~5e-4 of full range
    close(back, img, 1e-3 * top(dtype) if dtype != np.uint8 else 2)


def test_convert_gray_and_chains():
    img = make(np.uint8, 4)
    g = I.convert_color(img, "gray")
    np.testing.assert_array_equal(g, I.to_gray(img))
    rgb = I.convert_color(g, "rgb", source="gray")
    assert rgb.shape == img.shape[:2] + (3,) and (rgb == g[..., None]).all()
    hsv = I.convert_color(img, "hsv")
    lab_via_hsv = I.convert_color(hsv, "lab", source="hsv")
    close(lab_via_hsv, I.convert_color(img, "lab"), 0.01)
    same = I.convert_color(img, "rgb")
    assert same.shape == img.shape[:2] + (3,)
    # pure red in HSV and Lab (sRGB D65): H 0, S 1, V 1; L 53.24, a 80.09, b 67.20
    red = np.array([[[1.0, 0.0, 0.0]]], np.float32)
    close(I.convert_color(red, "hsv"), np.array([[[0, 1, 1]]]), 1e-5)
    close(I.convert_color(red, "lab"), np.array([[[53.24, 80.09, 67.20]]]), 0.05)


@pytest.mark.parametrize("kw, img, err, match", [
    ({"to": "xyz"}, make(np.uint8, 3), ValueError, "unknown to 'xyz'"),
    ({"source": "bgr"}, make(np.uint8, 3), ValueError, "unknown source 'bgr'"),
    ({"to": "rgb", "source": "hsv"}, make(np.uint8, 3), TypeError, "dtype uint8"),
    ({"to": "hsv"}, make(np.uint8), ValueError, "shape"),
    ({"to": "rgb", "source": "gray"}, make(np.uint8, 3), ValueError, "gray"),
])
def test_convert_color_errors(kw, img, err, match):
    with pytest.raises(err, match=match):
        I.convert_color(img, **kw)


# --- contract: never mutate, validate ----------------------------------------------------------

CALLS = [
    lambda im: I.invert(im), lambda im: I.log_transform(im), lambda im: I.gamma(im, 0.7),
    lambda im: I.contrast_stretch(im), lambda im: I.normalize(im), lambda im: I.normalize(im, "zscore"),
    lambda im: I.histogram(im), lambda im: I.equalize(im), lambda im: I.clahe(im),
    lambda im: I.match_histograms(im, im[::-1]), lambda im: I.threshold(im),
    lambda im: I.threshold(im, "adaptive-gaussian"), lambda im: I.to_gray(im),
    lambda im: I.convert_color(im, "lab"), lambda im: I.convert_color(im, "ycrcb"),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_inputs_not_mutated_and_views_accepted(call, dtype):
    base = make(dtype, 3, shape=(30, 40))
    view = base[::2, ::-1]  # a strided view
    before = view.copy()
    call(view)
    np.testing.assert_array_equal(view, before)


@pytest.mark.parametrize("fn", [I.invert, I.equalize, I.to_gray, I.clahe])
def test_bad_images(fn):
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros(5, np.uint8))
    with pytest.raises(TypeError, match="dtype int32"):
        fn(np.zeros((4, 4), np.int32))
    with pytest.raises(TypeError, match="numpy array"):
        fn("image.png")


@pytest.mark.parametrize("n", [0, 1, 5, 4097])
def test_float_levels_histogram_and_map_match_numpy(n, rng):
    from cvtools.intensity._levels import level_histogram, map_levels

    flat = (rng.random(n) * 1.4 - 0.2).astype(np.float32)
    flat[: min(n, 2)] = [np.nan, 1.0][: min(n, 2)]
    levels = (np.clip(np.nan_to_num(flat, nan=0.0), 0, 1).astype(np.float64) * 65535 + 0.5).astype(np.int64)
    np.testing.assert_array_equal(level_histogram(flat), np.bincount(levels, minlength=65536))
    table = rng.random(65536).astype(np.float32)
    np.testing.assert_array_equal(map_levels(flat, table, np.empty_like(flat)), table[levels])


# ------------------------------------------------------------------ hostile arguments (issue 16)
@pytest.mark.parametrize("call, match", [
    (lambda im: I.convert_color(im[..., :1], "hsv"),
     r"`image` in source space 'rgb' must be \(H, W, 3\) or \(H, W, 4\); got shape \(32, 40, 1\) \(for a gray image "
     r"pass source='gray'\)"),
    (lambda im: I.convert_color(im[..., :1].astype(np.float64), "ycrcb"), r"got shape \(32, 40, 1\)"),
    (lambda im: I.convert_color(im[..., :1].astype(np.float32), "rgb", source="hsv"),
     r"`image` in source space 'hsv' must be \(H, W, 3\)"),
    (lambda im: I.clahe(im, tile_size=10 ** 5),
     r"`tile_size` 100000 is too fine for a 32x40 image: at most one tile per pixel, \(32, 40\)"),
    (lambda im: I.clahe(im, tile_size=(33, 2)), r"too fine for a 32x40 image"),
    (lambda im: I.clahe(np.zeros((100, 100), np.uint16), tile_size=(46, 46)),
     r"`tile_size` \(46, 46\) makes 2,116 tiles; a uint16 image may have at most 2,048"),
    (lambda im: I.histogram(im, bins=10 ** 10), r"`bins` must be at most 16,777,216 \(2\*\*24\); got 10,000,000,000"),
    (lambda im: I.threshold(im, "adaptive-gaussian", block_size=10 ** 6 + 1),  # ran for minutes
     r"`block_size` 1000001 is too large for a 32x40 image: at most 81"),
])
def test_hostile_arguments_are_clear_errors(call, match):
    """Each leaked OpenCV's "Insufficient memory"/"scn is 1" (a cv2.error) or numpy's MemoryError."""
    img = np.random.default_rng(0).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        call(img)


def test_limits_at_the_edge_still_work():
    img = np.random.default_rng(1).integers(0, 256, (32, 40), dtype=np.uint8)
    assert I.clahe(img, tile_size=(32, 40)).shape == img.shape
    assert I.clahe(np.zeros((90, 90)), tile_size=(45, 45)).shape == (90, 90)
    assert I.convert_color(img[..., None], "hsv", source="gray").shape == (32, 40, 3)
    assert I.histogram(img, bins=2 ** 16)[0].shape == (2 ** 16,)
    assert I.threshold(img, "adaptive-gaussian", block_size=81)[0].shape == img.shape
