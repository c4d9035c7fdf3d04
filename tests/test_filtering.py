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
