"""cvtools.filtering against independent references (scipy.ndimage, scikit-image, numpy formulas)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage import feature, metrics

import cvtools
from cvtools import filtering as F
from cvtools._shared import scipy_mode

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
CHANNELS = [None, 1, 3, 4]
BORDERS = ["reflect", "constant", "edge", "symmetric", "wrap"]


def top(dtype):
    return {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(np.dtype(dtype), 1.0)


def make(dtype, channels=None, shape=(21, 26), seed=0):
    rng = np.random.default_rng(seed)
    full = shape if channels is None else shape + (channels,)
    x = rng.random(full)
    if np.dtype(dtype).kind == "u":
        return np.rint(x * top(dtype)).astype(dtype)
    return x.astype(dtype)


def per_channel(fn, img):
    """Apply a 2-D reference to every channel."""
    if img.ndim == 2:
        return fn(img)
    return np.stack([fn(img[..., c]) for c in range(img.shape[2])], axis=-1)


def int_tol(dtype, ints=1.0, floats=1e-5):
    return ints if np.dtype(dtype).kind == "u" else floats


def close(a, b, atol):
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), atol=atol, rtol=0)


def rounded(ref, dtype):
    if np.dtype(dtype).kind == "u":
        return np.clip(np.rint(ref), 0, top(dtype))
    return ref


def test_public_surface():
    assert sorted(F.__all__) == sorted([
        "gaussian", "box", "median", "bilateral", "denoise", "unsharp_mask", "sharpen", "sobel", "scharr",
        "prewitt", "gradient", "laplacian", "canny", "morphology", "structuring_element", "add_noise"])
    assert cvtools.filtering is F


# --- smoothing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", CHANNELS)
def test_gaussian_vs_scipy(dtype, channels):
    img = make(dtype, channels)
    out = F.gaussian(img, 1.5)
    ref = per_channel(lambda p: ndi.gaussian_filter(p.astype(np.float64), 1.5, mode="mirror"), img)
    assert out.dtype == img.dtype and out.shape == img.shape
    close(out, rounded(ref, dtype), int_tol(dtype, 1, 1e-5))


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_gaussian_borders(border, dtype):
    img = make(dtype, 3, shape=(13, 9))
    out = F.gaussian(img, (1.0, 2.0), border=border, truncate=3.0)
    ref = per_channel(lambda p: ndi.gaussian_filter(p.astype(np.float64), (1.0, 2.0), truncate=3.0,
                                                    mode=scipy_mode(border), cval=0.0), img)
    close(out, rounded(ref, dtype), int_tol(dtype, 1, 1e-5))


@pytest.mark.parametrize("shape", [(1, 17), (17, 1), (4, 3)])
def test_gaussian_tiny_images(shape):
    # images thinner than the kernel: the reflection repeats, as numpy.pad / scipy do
    img = make(np.float32, shape=shape)
    ref = ndi.gaussian_filter(img.astype(np.float64), 2.0, mode="mirror")
    close(F.gaussian(img, 2.0), ref, 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", BORDERS)
def test_box_vs_scipy(dtype, border):
    img = make(dtype, 3)
    out = F.box(img, (3, 5), border=border)
    ref = per_channel(lambda p: ndi.uniform_filter(p.astype(np.float64), (3, 5), mode=scipy_mode(border)), img)
    assert out.dtype == img.dtype
    close(out, rounded(ref, dtype), int_tol(dtype, 1, 1e-5))


def test_box_tiny():
    out = F.box(np.array([[0, 0, 9, 0, 0]], np.uint8), (1, 3))
    assert out.tolist() == [[0, 3, 3, 3, 0]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3, 4])
@pytest.mark.parametrize("size", [3, 5, 7])
def test_median_vs_scipy(dtype, channels, size):
    img = make(dtype, channels)
    out = F.median(img, size)
    window = (size, size) + (() if channels is None else (1,))
    ref = ndi.median_filter(img, size=window, mode="nearest")
    assert out.dtype == img.dtype
    np.testing.assert_array_equal(out, ref)


def test_median_rectangular_and_identity():
    img = make(np.uint8)
    np.testing.assert_array_equal(F.median(img, (1, 3)), ndi.median_filter(img, size=(1, 3), mode="nearest"))
    out = F.median(img, 1)
    assert out is not img and (out == img).all()
    assert F.median(np.array([[1, 1, 200, 1, 1]], np.uint8), (1, 3)).tolist() == [[1, 1, 1, 1, 1]]


def bilateral_reference(img, diameter, sc, ss):
    """Brute-force bilateral filter with OpenCV's rules: disc window, reflect-101 border, L1 colour distance."""
    x = img.astype(np.float64)
    if x.ndim == 2:
        x = x[..., None]
    r = diameter // 2
    pad = np.pad(x, ((r, r), (r, r), (0, 0)), mode="reflect")
    num = np.zeros_like(x)
    den = np.zeros(x.shape[:2])
    h, w = x.shape[:2]
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx > r * r:
                continue
            nb = pad[r + dy:r + dy + h, r + dx:r + dx + w]
            diff = np.abs(nb - x).sum(axis=2)
            wgt = np.exp(-(dy * dy + dx * dx) / (2 * ss * ss)) * np.exp(-diff ** 2 / (2 * sc * sc))
            num += wgt[..., None] * nb
            den += wgt
    out = num / den[..., None]
    return out[..., 0] if img.ndim == 2 else out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
def test_bilateral_vs_bruteforce(dtype, channels):
    img = make(dtype, channels, shape=(12, 15))
    sc = 0.3 * top(dtype)
    out = F.bilateral(img, diameter=5, sigma_color=sc, sigma_space=2.0)
    ref = bilateral_reference(img, 5, sc, 2.0)
    assert out.dtype == img.dtype
    # OpenCV bins the float colour-weight table (4096 bins): allow that quantisation
    close(out, rounded(ref, dtype), {np.dtype(np.uint8): 1}.get(np.dtype(dtype), 2e-3 * top(dtype)))


def test_bilateral_keeps_edges_and_alpha():
    step = np.repeat(np.array([[0, 0, 0, 255, 255, 255]], np.uint8), 4, axis=0)
    assert F.bilateral(step, diameter=3)[0].tolist() == [0, 0, 0, 255, 255, 255]
    rgba = make(np.uint8, 4)
    out = F.bilateral(rgba)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    with pytest.raises(ValueError, match="diameter"):
        F.bilateral(rgba, diameter=0)
    with pytest.raises(ValueError, match="sigma_color"):
        F.bilateral(rgba, sigma_color=-1)


def psnr(clean, x):
    return metrics.peak_signal_noise_ratio(clean, x, data_range=top(clean.dtype))


def smooth_scene(dtype, channels=None, shape=(48, 48)):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / shape[0]
    base = 0.2 + 0.6 * ((xx > 0.5) ^ (yy > 0.4)) * 0.8 + 0.1 * xx
    if channels:
        base = np.stack([base * (0.6 + 0.2 * c) for c in range(channels)], -1)
    return np.rint(base * top(dtype)).astype(dtype) if np.dtype(dtype).kind == "u" else base.astype(dtype)


@pytest.mark.parametrize("dtype, channels", [(np.uint8, None), (np.uint8, 3), (np.uint8, 4),
                                             (np.uint16, None), (np.float32, 3), (np.float64, None)])
def test_denoise_raises_psnr(dtype, channels):
    clean = smooth_scene(dtype, channels)
    noisy = F.add_noise(clean, "gaussian", amount=0.08, seed=1)
    out = F.denoise(noisy, strength=0.1 * top(dtype), template_size=5, search_size=11)
    assert out.dtype == clean.dtype and out.shape == clean.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 5
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], noisy[..., 3])


def test_denoise_colour_order_is_rgb():
    # the coloured path must treat channel 0 as red: denoising a pure-red noisy image keeps it red
    clean = np.zeros((32, 32, 3), np.uint8)
    clean[..., 0] = 200
    out = F.denoise(F.add_noise(clean, amount=0.04, seed=2), strength=15)
    assert out[..., 0].mean() > 180 and out[..., 2].mean() < 20


def test_denoise_errors():
    with pytest.raises(ValueError, match="template_size"):
        F.denoise(make(np.uint8), template_size=4)
    with pytest.raises(ValueError, match="strength"):
        F.denoise(make(np.uint8), strength=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
def test_unsharp_mask_formula(dtype, channels):
    img = make(dtype, channels)
    out = F.unsharp_mask(img, sigma=1.2, amount=0.7)
    x = img.astype(np.float64)
    blur = per_channel(lambda p: ndi.gaussian_filter(p, 1.2, mode="mirror"), x)
    ref = x + 0.7 * (x - blur)
    assert out.dtype == img.dtype
    # integers: the blur is rounded before the sum, so the error can reach 1 + 0.7
    close(out, rounded(ref, dtype), int_tol(dtype, 2, 1e-5))


def test_unsharp_mask_tiny_and_zero_amount():
    img = np.array([[10, 10, 10, 50, 50, 50]], np.uint8)
    assert F.unsharp_mask(img).tolist() == [[10, 8, 0, 62, 52, 50]]
    np.testing.assert_array_equal(F.unsharp_mask(img, amount=0), img)
    with pytest.raises(ValueError, match="amount"):
        F.unsharp_mask(img, amount=-1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", ["reflect", "wrap", "constant"])
def test_sharpen_vs_scipy(dtype, border):
    img = make(dtype, 3)
    a = 0.8
    k = np.array([[0, -a, 0], [-a, 1 + 4 * a, -a], [0, -a, 0]])
    ref = per_channel(lambda p: ndi.correlate(p.astype(np.float64), k, mode=scipy_mode(border)), img)
    out = F.sharpen(img, amount=a, border=border)
    assert out.dtype == img.dtype
    close(out, rounded(ref, dtype), int_tol(dtype, 1, 1e-5))
    assert F.sharpen(np.array([[10, 10, 50, 50]], np.uint8)).tolist() == [[10, 0, 90, 50]]


# --- derivatives and edges --------------------------------------------------------------------------

SCHARR_X = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]], np.float64)


def ref_derivative(p, operator, axis, border):
    mode = scipy_mode(border)
    if operator == "sobel":
        return ndi.sobel(p, axis=axis, mode=mode)
    if operator == "prewitt":
        return ndi.prewitt(p, axis=axis, mode=mode)
    return ndi.correlate(p, SCHARR_X if axis == 1 else SCHARR_X.T, mode=mode)


@pytest.mark.parametrize("operator", ["sobel", "scharr", "prewitt"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 3])
def test_derivatives_vs_scipy(operator, dtype, channels):
    img = make(dtype, channels)
    fn = getattr(F, operator)
    x = img.astype(np.float64)
    gx = per_channel(lambda p: ref_derivative(p, operator, 1, "reflect"), x)
    gy = per_channel(lambda p: ref_derivative(p, operator, 0, "reflect"), x)
    atol = 1e-5 * top(dtype) * 40
    for axis, ref in ((1, gx), (0, gy), (None, np.hypot(gx, gy))):
        out = fn(img, axis=axis)
        assert out.dtype == np.float32 and out.shape == img.shape
        close(out, ref, atol)


@pytest.mark.parametrize("border", BORDERS)
def test_sobel_borders(border):
    img = make(np.float32, shape=(9, 11))
    ref = ndi.sobel(img.astype(np.float64), axis=1, mode=scipy_mode(border))
    close(F.sobel(img, axis=1, border=border), ref, 1e-5)


@pytest.mark.parametrize("operator", ["sobel", "scharr", "prewitt"])
def test_gradient_direction(operator):
    img = make(np.float32, 3)
    mag, ang = F.gradient(img, operator)
    x = img.astype(np.float64)
    gx = per_channel(lambda p: ref_derivative(p, operator, 1, "reflect"), x)
    gy = per_channel(lambda p: ref_derivative(p, operator, 0, "reflect"), x)
    assert mag.dtype == ang.dtype == np.float32
    close(mag, np.hypot(gx, gy), 1e-4)
    ref = np.mod(np.arctan2(gy, gx), 2 * np.pi)
    d = np.abs(ang - ref)
    d = np.minimum(d, 2 * np.pi - d)
    assert d[np.hypot(gx, gy) > 1e-3].max() < 3e-4
    assert ang.min() >= 0 and ang.max() <= np.float32(2 * np.pi)


def test_gradient_tiny():
    ramp = np.tile(np.arange(5, dtype=np.float32), (5, 1)).T  # grows downwards
    mag, ang = F.gradient(ramp)
    assert mag[2, 2] == 8.0 and abs(ang[2, 2] - np.pi / 2) < 1e-3
    assert F.sobel(np.tile(np.arange(5, dtype=np.uint8), (5, 1)), axis=1)[2].tolist() == [0, 8, 8, 8, 0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", ["reflect", "edge", "wrap"])
def test_laplacian_vs_scipy(dtype, border):
    img = make(dtype, 3)
    ref = per_channel(lambda p: ndi.laplace(p.astype(np.float64), mode=scipy_mode(border)), img)
    out = F.laplacian(img, border=border)
    assert out.dtype == np.float32
    close(out, ref, 1e-5 * top(dtype) * 10)
    k3 = np.array([[2, 0, 2], [0, -8, 0], [2, 0, 2]], np.float64)
    ref3 = per_channel(lambda p: ndi.correlate(p.astype(np.float64), k3, mode=scipy_mode(border)), img)
    close(F.laplacian(img, ksize=3, border=border), ref3, 1e-5 * top(dtype) * 20)


def shapes_scene(dtype):
    img = np.zeros((64, 64))
    img[16:48, 12:40] = 0.8
    yy, xx = np.mgrid[:64, :64]
    img[(yy - 40) ** 2 + (xx - 44) ** 2 < 100] = 0.45
    img = ndi.gaussian_filter(img, 0.7)
    return np.rint(img * top(dtype)).astype(dtype) if np.dtype(dtype).kind == "u" else img.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_canny_vs_skimage(dtype):
    img = shapes_scene(dtype)
    lo, hi = 0.1 * top(dtype), 0.3 * top(dtype)
    ours = F.canny(img, low=lo, high=hi, sigma=1.5)
    ref = feature.canny(img, sigma=1.5, low_threshold=lo, high_threshold=hi, mode="mirror")
    assert ours.dtype == bool and ours.shape == img.shape
    assert ref.sum() > 100
    near_ref = ndi.binary_dilation(ref, iterations=1)
    near_ours = ndi.binary_dilation(ours, iterations=1)
    assert (ours & near_ref).sum() / ours.sum() > 0.95  # our edges lie on skimage's
    assert (ref & near_ours).sum() / ref.sum() > 0.95  # and we find skimage's


def test_canny_step_and_colour():
    img = np.zeros((9, 9), np.uint8)
    img[:, 5:] = 200
    cols = np.flatnonzero(F.canny(img).any(axis=0))
    assert cols.tolist() == [4] or cols.tolist() == [5]
    rgb = np.repeat(img[..., None], 3, axis=2)
    np.testing.assert_array_equal(F.canny(rgb), F.canny(img))
    assert not F.canny(np.zeros((8, 8), np.float32)).any()
    with pytest.raises(ValueError, match="low"):
        F.canny(img, low=50, high=10)


# --- morphology ------------------------------------------------------------------------------------

def ref_morph(p, op, fp):
    ero = lambda a: ndi.grey_erosion(a, footprint=fp, mode="nearest")  # noqa: E731
    dil = lambda a: ndi.grey_dilation(a, footprint=fp, mode="nearest")  # noqa: E731
    return {"erode": lambda: ero(p), "dilate": lambda: dil(p), "open": lambda: dil(ero(p)),
            "close": lambda: ero(dil(p)), "gradient": lambda: dil(p) - ero(p),
            "tophat": lambda: p - dil(ero(p)), "blackhat": lambda: ero(dil(p)) - p}[op]()


@pytest.mark.parametrize("op", ["erode", "dilate", "open", "close", "gradient", "tophat", "blackhat"])
@pytest.mark.parametrize("shape", ["rect", "ellipse", "cross"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_morphology_vs_scipy(op, shape, dtype):
    img = make(dtype, 3, shape=(17, 19))
    fp = F.structuring_element(shape, 5).astype(bool)
    out = F.morphology(img, op, shape=shape, size=5)
    ref = per_channel(lambda p: ref_morph(p.astype(np.float64), op, fp), img)
    assert out.dtype == img.dtype and out.shape == img.shape
    close(out, ref, 1e-6 if dtype != np.float32 else 1e-6)


def test_morphology_bool_custom_kernel_iterations():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    out = F.morphology(mask, "dilate", kernel=np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]]), iterations=2)
    assert out.dtype == bool
    assert np.flatnonzero(out.any(axis=1)).tolist() == [2, 3, 4, 5, 6] and out.sum() == 5
    img = make(np.uint8, shape=(12, 12))
    twice = ndi.grey_erosion(ndi.grey_erosion(img, size=3, mode="nearest"), size=3, mode="nearest")
    np.testing.assert_array_equal(F.morphology(img, "erode", iterations=2), twice)


def test_structuring_elements():
    assert F.structuring_element("cross", 3).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert F.structuring_element("ellipse", 5).tolist() == [
        [0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]]
    r = F.structuring_element("rect", (3, 5))
    assert r.shape == (3, 5) and r.dtype == np.uint8 and r.all()


@pytest.mark.parametrize("kw, err, match", [
    ({"op": "thin"}, ValueError, "unknown op 'thin'"),
    ({"op": "open", "shape": "disk"}, ValueError, "unknown shape 'disk'"),
    ({"op": "open", "size": 4}, ValueError, "odd"),
    ({"op": "open", "kernel": np.ones((2, 2))}, ValueError, "odd sides"),
    ({"op": "open", "iterations": 0}, ValueError, "iterations"),
])
def test_morphology_errors(kw, err, match):
    with pytest.raises(err, match=match):
        F.morphology(make(np.uint8), **kw)


# --- noise -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_add_noise_gaussian(dtype):
    img = np.full((120, 120, 3), 0.5 * top(dtype)).astype(dtype)
    out = F.add_noise(img, "gaussian", amount=0.05, seed=7)
    assert out.dtype == img.dtype and out.shape == img.shape
    diff = out.astype(np.float64) - img
    assert abs(diff.std() / top(dtype) - 0.05) < 0.005 and abs(diff.mean()) < 0.003 * top(dtype)
    np.testing.assert_array_equal(out, F.add_noise(img, "gaussian", amount=0.05, seed=7))
    assert not np.array_equal(out, F.add_noise(img, "gaussian", amount=0.05, seed=8))


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_noise_salt_and_pepper(dtype):
    img = np.full((100, 100, 3), 0.5 * top(dtype)).astype(dtype)
    out = F.add_noise(img, "salt-and-pepper", amount=0.1, seed=0)
    changed = (out != img).any(axis=2)
    assert abs(changed.mean() - 0.1) < 0.02
    vals = np.unique(out[changed])
    assert set(vals.tolist()) == {0, top(dtype)}
    assert ((out[changed] == 0).mean() - 0.5) < 0.1
    assert (out[changed] == out[changed][:, :1]).all()  # whole pixels, not channels


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_noise_poisson(dtype):
    img = np.full((150, 150), 0.4 * top(dtype)).astype(dtype)
    out = F.add_noise(img, "poisson", amount=100, seed=3)
    counts = out.astype(np.float64) / top(dtype) * 100  # back to photon counts: Poisson(40)
    assert abs(counts.mean() - 40) < 0.5 and abs(counts.var() - 40) < 4


def test_add_noise_errors_and_no_mutation():
    img = make(np.uint8)
    before = img.copy()
    F.add_noise(img, seed=1)
    np.testing.assert_array_equal(img, before)
    with pytest.raises(ValueError, match="unknown kind 'speckle'"):
        F.add_noise(img, "speckle")
    with pytest.raises(ValueError, match="fraction"):
        F.add_noise(img, "salt-and-pepper", amount=2)
    with pytest.raises(ValueError, match="amount"):
        F.add_noise(img, amount=-0.1)


# --- contract -----------------------------------------------------------------------------------------

CALLS = [
    lambda im: F.gaussian(im, 2.0), lambda im: F.gaussian(im, 1.0, border="wrap"), lambda im: F.box(im, 5),
    lambda im: F.median(im, 5), lambda im: F.median(im, 7), lambda im: F.bilateral(im),
    lambda im: F.unsharp_mask(im), lambda im: F.sharpen(im), lambda im: F.sobel(im),
    lambda im: F.gradient(im, "scharr"), lambda im: F.laplacian(im), lambda im: F.canny(im),
    lambda im: F.morphology(im, "tophat"), lambda im: F.add_noise(im, "poisson", seed=0),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_inputs_not_mutated_and_views_accepted(call, dtype):
    base = make(dtype, 3, shape=(30, 40))
    view = base[::2, ::-1]
    before = view.copy()
    out = call(view)
    np.testing.assert_array_equal(view, before)
    first = out[0] if isinstance(out, tuple) else out
    assert first.shape[:2] == view.shape[:2]


@pytest.mark.parametrize("fn", [F.gaussian, F.box, F.median, F.sobel, F.laplacian, F.bilateral])
def test_bad_images(fn):
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros(5, np.uint8))
    with pytest.raises(TypeError, match="dtype int32"):
        fn(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError, match="channels"):
        fn(np.zeros((4, 4, 2), np.uint8))


@pytest.mark.parametrize("call, err, match", [
    (lambda im: F.gaussian(im, 0), ValueError, "sigma"),
    (lambda im: F.gaussian(im, (1, 2, 3)), TypeError, "sigma"),
    (lambda im: F.gaussian(im, border="mirror"), ValueError, "unknown border 'mirror'"),
    (lambda im: F.box(im, 4), ValueError, "odd"),
    (lambda im: F.box(im, 2.5), TypeError, "size"),
    (lambda im: F.median(im, 0), ValueError, "odd"),
    (lambda im: F.sobel(im, axis=2), ValueError, "axis"),
    (lambda im: F.gradient(im, "roberts"), ValueError, "unknown operator 'roberts'"),
    (lambda im: F.laplacian(im, ksize=2), ValueError, "ksize"),
    (lambda im: F.canny(im, sigma=-1), ValueError, "sigma"),
])
def test_argument_errors(call, err, match):
    with pytest.raises(err, match=match):
        call(make(np.uint8))


# ------------------------------------------------------------------ hostile sizes (issue 16)
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (2, 3), (9, 5), (16, 16)])
def test_gaussian_wider_than_the_image_matches_scipy(border, shape):
    """Kernels far longer than the image are folded onto it: still scipy's result (exact borders)."""
    img = make(np.float64, shape=shape, seed=3)
    for sigma, truncate in [(3.0, 4.0), (40.0, 4.0), (300.0, 0.5), ((25.0, 0.7), 4.0), (1.0, 500.0)]:
        ref = ndi.gaussian_filter(img, sigma, mode=scipy_mode(border), truncate=truncate)
        np.testing.assert_allclose(F.gaussian(img, sigma, border=border, truncate=truncate), ref, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_folded_equals_the_unclipped_kernel(dtype):
    """On a case where OpenCV can still run the whole kernel, the folded one gives the same image
    (OpenCV's fixed-point integer path is itself ~2 levels off the exact value, ours within rounding)."""
    import cv2

    img = make(dtype, 3, shape=(20, 24), seed=4)
    exact = per_channel(lambda c: ndi.gaussian_filter(c.astype(np.float64), 25.0, mode="mirror"), img)
    unclipped = cv2.GaussianBlur(img, (201, 201), 25.0, sigmaY=25.0, borderType=cv2.BORDER_REFLECT_101)
    ours = F.gaussian(img, 25.0)
    assert ours.dtype == img.dtype and ours.shape == img.shape
    np.testing.assert_allclose(ours.astype(np.float64), exact, atol=int_tol(dtype, 0.51, 1e-6))
    np.testing.assert_allclose(ours.astype(np.float64), unclipped.astype(np.float64),
                               atol=int_tol(dtype, 3, 1e-5))


def test_gaussian_huge_sigma_is_fast_and_flat():
    import time

    img = make(np.uint8, 3, shape=(32, 32))
    for sigma in (1e4, 1e5):  # 34 s and > 120 s before
        t0 = time.perf_counter()
        out = F.gaussian(img, sigma)
        assert time.perf_counter() - t0 < 5
        # a Gaussian far wider than the (reflected, periodic) image averages one whole period
        period = np.concatenate([img, img[-2:0:-1]], axis=0)
        period = np.concatenate([period, period[:, -2:0:-1]], axis=1)
        np.testing.assert_allclose(out, np.broadcast_to(period.mean((0, 1)), out.shape), atol=1)
    assert F.gaussian(img, 1.0, truncate=1e300).shape == img.shape  # taps past 38.7 sigma weigh 0
    np.testing.assert_array_equal(F.gaussian(img, 1.0, truncate=1e300), F.gaussian(img, 1.0, truncate=39.0))
    assert F.canny(img, sigma=1e5).shape == (32, 32) and F.unsharp_mask(img, sigma=1e5).shape == img.shape
    with pytest.raises(ValueError, match=r"`sigma` 10000000.0 with `truncate` 4.0 is a kernel radius of "
                                         r"40,000,000 pixels; at most 16,777,216"):
        F.gaussian(img, 1e7)


@pytest.mark.parametrize("border", BORDERS)
def test_box_wider_than_the_image_matches_scipy(border):
    img = make(np.float64, shape=(6, 11), seed=5)
    for size in [(13, 3), 23, (3, 101), 2001]:
        pair = (size, size) if isinstance(size, int) else size
        np.testing.assert_allclose(F.box(img, size, border=border),
                                   ndi.uniform_filter(img, pair, mode=scipy_mode(border)), atol=1e-12)
    big = F.box(make(np.uint8, 3, shape=(32, 32)), 10 ** 6 + 1)  # folded: milliseconds
    assert big.dtype == np.uint8 and big.shape == (32, 32, 3)


@pytest.mark.parametrize("call, match", [
    (lambda im: F.median(im, 10 ** 6 + 1), r"`size` 1000001 is too large for a 21x26 image: a window may be at "
                                          r"most 43 rows and 53 columns"),
    (lambda im: F.median(im, (3, 55)), r"at most 43 rows and 53 columns"),
    (lambda im: F.bilateral(im, diameter=3001), r"`diameter` 3001 is too large for a 21x26 image: at most 53"),
    (lambda im: F.denoise(im, search_size=10 ** 6 + 1), r"`search_size` 1000001 is too large .* at most 53"),
    (lambda im: F.denoise(im, template_size=55), r"`template_size` 55 is too large .* at most 53"),
    (lambda im: F.box(im, 2 ** 26 + 1), r"kernel radius of 33,554,432 pixels; at most 16,777,216"),
    (lambda im: F.morphology(im, "erode", kernel=np.ones((3, 3)), iterations=48),
     r"`iterations` 48 is more than a 21x26 image needs: at most 47 with a custom `kernel`"),
    (lambda im: F.morphology(im, "erode", kernel=[[1, 2], [3]]), r"`kernel` must be a 2-D array with odd sides; "
                                                                r"got a ragged sequence \[\[1, 2\], \[3\]\]"),
    (lambda im: F.add_noise(im, seed=-1), r"`seed` must be None, an integer >= 0 or a numpy.random.Generator; "
                                          r"got -1"),
    (lambda im: F.add_noise(im, "poisson", amount=1e300), r"photon count at full intensity, in \(0, 1e\+15\]"),
    (lambda im: F.add_noise(im, "gaussian", amount=1e300), r"standard deviation in full ranges, at most 1000"),
])
def test_hostile_sizes_are_clear_errors(call, match):
    """Each of these leaked OpenCV's "Insufficient memory" (a cv2.error, not a ValueError), numpy's own
    message, or ran for minutes."""
    with pytest.raises(ValueError, match=match):
        call(make(np.uint8))


def test_limits_at_the_edge_still_work():
    img = make(np.uint8, 3)  # 21 x 26
    ref = ndi.median_filter(img[..., 0], size=(43, 53), mode="nearest")
    np.testing.assert_array_equal(F.median(img[..., 0], (43, 53)), ref)
    assert F.bilateral(img, diameter=53).shape == img.shape
    with pytest.raises(TypeError, match="`seed` must be None"):
        F.add_noise(img, seed=1.5)


@pytest.mark.parametrize("shape", ["rect", "ellipse", "cross"])
def test_morphology_huge_iterations_and_sizes_are_exact(shape):
    """Iterations past H + W and elements past 2H - 1 x 2W - 1 change nothing, so they are cut."""
    import cv2

    img = make(np.uint8, shape=(7, 9), seed=6)
    el = cv2.getStructuringElement(F._morphology.SHAPES[shape], (3, 3))
    for op, flag in F._morphology.OPS.items():
        ref = cv2.morphologyEx(img, flag, el, iterations=40)  # already saturated at 7 + 9
        np.testing.assert_array_equal(F.morphology(img, op, shape=shape, iterations=10 ** 9), ref)
        big = cv2.getStructuringElement(F._morphology.SHAPES[shape], (41, 61))
        np.testing.assert_array_equal(F.morphology(img, op, shape=shape, size=(4001, 6001)),
                                      cv2.morphologyEx(img, flag, big))
    with pytest.raises(ValueError, match="makes an element of 10,000,200,001 cells; at most 268,435,456"):
        F.structuring_element(shape, 10 ** 5 + 1)


def test_structuring_element_centre_matches_opencv():
    import cv2

    from cvtools.filtering._morphology import _element

    for shape, flag in F._morphology.SHAPES.items():
        for kh, kw in [(1, 5), (3, 3), (9, 31), (101, 7), (401, 301)]:
            full = cv2.getStructuringElement(flag, (kw, kh))
            for ch, cw in [(1, 1), (3, 5), (kh - 2, kw), (kh, max(kw - 4, 1))]:
                ch, cw = max(1, min(ch, kh)), max(1, min(cw, kw))
                y0, x0 = (kh - ch) // 2, (kw - cw) // 2
                np.testing.assert_array_equal(_element(shape, (kh, kw), (ch, cw)), full[y0:y0 + ch, x0:x0 + cw])


def test_ragged_kernels_are_clear_errors():
    """A kernel given as a ragged list showed numpy's "inhomogeneous shape" message."""
    from cvtools import convolution

    img = make(np.uint8)
    for fn in (convolution.correlate2d, convolution.convolve2d, convolution.transposed_conv2d):
        with pytest.raises(ValueError, match=r"`kernel` must be a 2-D array \(height, width\) with rows of equal "
                                             r"length; got a ragged sequence \[\[1, 2\], \[3\]\]"):
            fn(img, [[1, 2], [3]])


def test_sharpen_with_a_huge_amount_saturates_quietly():
    """The float32 kernel overflowed (a RuntimeWarning, an error under -W error)."""
    img = make(np.uint8)
    out = F.sharpen(img, amount=1e300)
    assert out.dtype == np.uint8 and set(np.unique(out)) <= {0, 255} | set(np.unique(img))
    noisy = F.add_noise(np.full((4, 4), 5.0), "poisson", amount=1e15, seed=0)  # out-of-range floats: rate bounded
    assert noisy.max() == 1.0
