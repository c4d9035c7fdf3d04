"""pool2d, upsample, transposed_conv2d and pyramids against torch.nn.functional, scikit-image,
scipy and plain numpy formulas."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

from cvtools.convolution import (correlate2d, gaussian_pyramid, laplacian_pyramid, pool2d,
                                 reconstruct_laplacian, transposed_conv2d, upsample)
from cvtools.convolution._pyramid import BINOMIAL5

try:  # the torch extra is optional: the tests that compare with torch.nn.functional are marked
    import torch
    F = torch.nn.functional
except ImportError:
    torch = F = None


def to_t(img):
    a = img.astype(np.float64)
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(a))[None]


def from_t(t, like):
    a = t[0].numpy()
    return a[0] if like.ndim == 2 else a.transpose(1, 2, 0)


def rand(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


# --------------------------------------------------------------------------- pooling
POOL_CASES = [(2, None, 0), (3, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (3, 1, 0), ((1, 3), None, (0, 1))]


@pytest.mark.extra("torch")
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.int32])
@pytest.mark.parametrize("shape,size,stride,padding", [
    (shape, *case) for shape in [(9, 13), (8, 8, 3), (7, 10, 4)] for case in POOL_CASES
] + [((1, 9), *case) for case in [((1, 3), None, (0, 1)), ((1, 2), 1, 0), (3, 2, 1)]])
def test_pool_matches_torch(dtype, shape, size, stride, padding):
    rng = np.random.default_rng(0)
    img = rand(rng, shape, dtype)
    x = to_t(img)
    kw = dict(kernel_size=size, stride=stride if stride is not None else size, padding=padding)
    ref_max = from_t(F.max_pool2d(x, **kw), img)
    ref_min = -from_t(F.max_pool2d(-x, **kw), img)
    ref_avg = from_t(F.avg_pool2d(x, count_include_pad=False, **kw), img)
    out = pool2d(img, size, stride=stride, padding=padding)
    assert out.dtype == img.dtype and out.shape == ref_max.shape
    np.testing.assert_array_equal(out, ref_max)
    np.testing.assert_array_equal(pool2d(img, size, stride=stride, padding=padding, mode="min"), ref_min)
    avg = pool2d(img, size, stride=stride, padding=padding, mode="avg")
    assert avg.dtype == img.dtype
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(avg, ref_avg, rtol=1e-5)
    else:  # rounded to the nearest integer (OpenCV may round .5 up)
        assert np.abs(avg.astype(np.float64) - ref_avg).max() <= 0.5 + 1e-9


def test_pool_hand_checked():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    np.testing.assert_array_equal(pool2d(img, 2), [[5, 7], [13, 15]])
    np.testing.assert_array_equal(pool2d(img, 2, mode="min"), [[0, 2], [8, 10]])
    np.testing.assert_array_equal(pool2d(img.astype(np.float32), 2, mode="avg"), [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.extra("torch")
def test_pool_many_channels_matches_torch():
    rng = np.random.default_rng(2)
    img = rng.random((6, 8, 5)).astype(np.float32)
    ref = from_t(F.max_pool2d(to_t(img), 3, stride=2, padding=1), img)
    np.testing.assert_array_equal(pool2d(img, 3, stride=2, padding=1), ref)
    np.testing.assert_allclose(pool2d(img, 2, stride=1, mode="avg"),
                               from_t(F.avg_pool2d(to_t(img), 2, stride=1), img), rtol=1e-5)


def test_pool_errors():
    img = np.random.default_rng(2).random((6, 8, 5)).astype(np.float32)
    with pytest.raises(ValueError, match="unknown mode 'mean'"):
        pool2d(img, 2, mode="mean")
    with pytest.raises(ValueError, match="`size` must be >= 1; got 0"):
        pool2d(img, 0)
    with pytest.raises(ValueError, match="`stride` must be >= 1; got 0"):
        pool2d(img, 2, stride=0)
    with pytest.raises(ValueError, match="`padding` must be smaller than the window"):
        pool2d(img, 2, padding=2)
    with pytest.raises(ValueError, match="does not fit"):
        pool2d(img, 7)
    with pytest.raises(ValueError, match="`image` must be"):
        pool2d(np.zeros(5), 2)


# --------------------------------------------------------------------------- upsample
@pytest.mark.extra("torch")
@pytest.mark.parametrize("method,tmode", [("nearest", "nearest-exact"), ("bilinear", "bilinear"),
                                          ("bicubic", "bicubic")])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("shape", [(7, 9), (6, 5, 3), (1, 6)])
@pytest.mark.parametrize("target", [(2, 2), (3, 2), (14, 11)])
def test_upsample_matches_torch(method, tmode, dtype, shape, target):
    rng = np.random.default_rng(1)
    img = rand(rng, shape, dtype)
    if target == (14, 11):
        size, factor, out_hw = (14, 11), None, (14, 11)
    else:
        size, factor, out_hw = None, target, (shape[0] * target[0], shape[1] * target[1])
    out = upsample(img, factor, size=size, method=method)
    assert out.dtype == img.dtype and out.shape == out_hw + shape[2:]
    kw = {} if tmode == "nearest-exact" else {"align_corners": False}
    ref = from_t(F.interpolate(to_t(img), size=out_hw, mode=tmode, **kw), img)
    if method == "bicubic":
        # OpenCV and PyTorch both use a=-0.75 and clamp at the border; both saturate uint8
        ref = np.clip(np.rint(ref), 0, 255) if dtype == np.uint8 else ref
    elif dtype == np.uint8:
        ref = np.rint(ref)
    tol = 1.0 if dtype == np.uint8 else 1e-5
    np.testing.assert_allclose(out.astype(np.float64), ref, atol=tol)


def test_upsample_area_downscale_is_block_mean_and_lanczos_properties():
    rng = np.random.default_rng(3)
    img = rng.random((12, 18, 3)).astype(np.float32)
    np.testing.assert_allclose(upsample(img, 1 / 3, method="area"),
                               img.reshape(4, 3, 6, 3, 3).mean(axis=(1, 3)), rtol=1e-5)
    skimage_t = pytest.importorskip("skimage.transform")
    np.testing.assert_allclose(upsample(img, 0.5, method="area"),
                               skimage_t.downscale_local_mean(img, (2, 2, 1)), rtol=1e-5)
    flat = np.full((5, 7), 0.25, np.float32)
    for method in ("area", "lanczos", "bicubic"):
        np.testing.assert_allclose(upsample(flat, 3, method=method), 0.25, atol=1e-6)
    # Lanczos reproduces a linear ramp in the interior (the kernel is symmetric and normalised)
    ramp = np.tile(np.arange(20, dtype=np.float64), (6, 1))
    up = upsample(ramp, (1, 2), method="lanczos")
    np.testing.assert_allclose(up[:, 8:-8], ((np.arange(40) + 0.5) / 2 - 0.5)[None, 8:-8].repeat(6, 0),
                               atol=2e-2)
    assert upsample(np.zeros((4, 4), np.int32), 2, method="lanczos").dtype == np.int32


def test_upsample_errors():
    img = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="exactly one of `factor` and `size`"):
        upsample(img)
    with pytest.raises(ValueError, match="exactly one of `factor` and `size`"):
        upsample(img, 2, size=(8, 8))
    with pytest.raises(ValueError, match="`factor` must be > 0"):
        upsample(img, 0)
    with pytest.raises(ValueError, match="unknown method 'linear'"):
        upsample(img, 2, method="linear")


# --------------------------------------------------------------------------- transposed convolution
@pytest.mark.extra("torch")
@pytest.mark.parametrize("stride,padding,output_padding", [(2, 0, 0), (2, 1, 1), (3, 1, 2), ((2, 1), (0, 1), 0),
                                                           (1, 0, 0)])
@pytest.mark.parametrize("kshape", [(3, 3), (4, 4), (2, 5)])
@pytest.mark.parametrize("channels", [None, 3])
def test_transposed_conv_matches_torch(stride, padding, output_padding, kshape, channels):
    rng = np.random.default_rng(4)
    shape = (5, 7) if channels is None else (5, 7, channels)
    img = rng.random(shape)
    k = rng.standard_normal(kshape)
    c = 1 if channels is None else channels
    w = torch.from_numpy(k)[None, None].repeat(c, 1, 1, 1)
    ref = from_t(F.conv_transpose2d(to_t(img), w, stride=stride, padding=padding, output_padding=output_padding,
                                    groups=c), img)
    out = transposed_conv2d(img, k, stride=stride, padding=padding, output_padding=output_padding)
    assert out.shape == ref.shape and out.dtype == img.dtype
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_transposed_conv_is_adjoint_of_strided_correlation():
    rng = np.random.default_rng(5)
    x = rng.random((9, 11))
    y = rng.random((5, 6))
    k = rng.standard_normal((3, 3))
    ax = correlate2d(x, k, stride=2, padding=1, border="constant")
    aty = transposed_conv2d(y, k, stride=2, padding=1)  # (5-1)*2 - 2 + 3 = 9, (6-1)*2 - 2 + 3 = 11
    assert aty.shape == x.shape
    np.testing.assert_allclose((ax * y).sum(), (x * aty).sum(), rtol=1e-10)


def test_transposed_conv_bilinear_upsampling_and_dtype():
    img = np.array([[0, 100], [200, 40]], np.uint8)
    bil = np.outer([0.5, 1, 0.5], [0.5, 1, 0.5])
    out = transposed_conv2d(img, bil, stride=2, padding=1, output_padding=1)
    assert out.shape == (4, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], [0, 50, 100, 50])
    f = transposed_conv2d(img, -bil, stride=2, output_dtype=np.float32)
    assert f.dtype == np.float32 and f.min() == -200
    with pytest.raises(ValueError, match="`output_padding` must be smaller than `stride`"):
        transposed_conv2d(img, bil, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="`stride` must be >= 1; got 0"):
        transposed_conv2d(img, bil, stride=0)


# --------------------------------------------------------------------------- pyramids
def ref_reduce(x, mode):
    x = np.asarray(x, np.float64)
    if x.ndim == 3:
        return np.stack([ref_reduce(x[..., c], mode) for c in range(x.shape[2])], -1)
    return ndi.correlate(x, BINOMIAL5, mode=mode)[::2, ::2]


@pytest.mark.parametrize("border,mode", [("reflect", "mirror"), ("symmetric", "reflect"), ("edge", "nearest"),
                                         ("constant", "constant"), ("wrap", "wrap")])
@pytest.mark.parametrize("shape", [(33, 20), (16, 16, 3)])
def test_gaussian_pyramid_matches_scipy(border, mode, shape):
    rng = np.random.default_rng(6)
    img = rng.random(shape).astype(np.float32)
    pyr = gaussian_pyramid(img, 4, border=border)
    assert len(pyr) == 4 and pyr[0] is img
    ref = img
    for lev in pyr[1:]:
        ref = ref_reduce(ref, mode)
        assert lev.dtype == np.float32
        np.testing.assert_allclose(lev, ref, atol=1e-5)


def test_pyramid_shapes_match_skimage():
    skimage_t = pytest.importorskip("skimage.transform")
    img = ndi.gaussian_filter(np.random.default_rng(7).random((45, 61)), 2.0)
    ours = gaussian_pyramid(img, 5)
    ref = list(skimage_t.pyramid_gaussian(img, max_layer=4))
    assert [p.shape for p in ours] == [p.shape for p in ref]
    lap = list(skimage_t.pyramid_laplacian(img, max_layer=4))
    assert [p.shape for p in laplacian_pyramid(img, 5)] == [p.shape for p in lap]
    # different low-pass filters (binomial vs skimage's sigma=2/3 Gaussian) and skimage resamples
    # by the size ratio (45/23) rather than 2, so only the first reduction is compared
    assert np.corrcoef(ours[1].ravel(), ref[1].ravel())[0, 1] > 0.98


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(37, 50), (32, 32, 3), (5, 3)])
def test_laplacian_pyramid_reconstructs(dtype, shape):
    rng = np.random.default_rng(8)
    img = rand(rng, shape, dtype)
    pyr = laplacian_pyramid(img, 4)
    assert all(p.dtype == (np.float64 if dtype == np.float64 else np.float32) for p in pyr)
    rec = reconstruct_laplacian(pyr)
    np.testing.assert_allclose(rec, img.astype(np.float64), atol=1e-3 * (np.iinfo(dtype).max if
                                                                          np.dtype(dtype).kind == "u" else 1))
    if np.dtype(dtype).kind == "u":  # exact after rounding
        np.testing.assert_array_equal(reconstruct_laplacian(pyr, dtype=dtype), img)
    else:
        np.testing.assert_allclose(reconstruct_laplacian(pyr, dtype=dtype), img, atol=1e-6)
    # detail levels of a smooth image are small compared with the image
    smooth = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))
    assert np.abs(laplacian_pyramid(smooth, 3)[0][4:-4, 4:-4]).max() < 1e-3


def test_pyramid_errors():
    with pytest.raises(ValueError, match="`levels` must be >= 1"):
        gaussian_pyramid(np.zeros((4, 4)), 0)
    with pytest.raises(TypeError, match="`levels` must be an int"):
        laplacian_pyramid(np.zeros((4, 4)), 2.0)
    with pytest.raises(ValueError, match="`pyramid` level 1"):
        reconstruct_laplacian([np.zeros((8, 8)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match="unknown border"):
        gaussian_pyramid(np.zeros((4, 4)), 2, border="mirror")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", [
    lambda im: pool2d(im, 2), lambda im: pool2d(im, 2, mode="avg"), lambda im: pool2d(im, 3, stride=2, mode="min"),
    lambda im: pool2d(im, 1, stride=2),  # row 3 is in no window: checked apart
    lambda im: pool2d(im, 2, mode="avg", padding=1), lambda im: gaussian_pyramid(im, 3),
    lambda im: gaussian_pyramid(im, 1), lambda im: upsample(im, 2), lambda im: transposed_conv2d(im, np.ones((2, 2))),
], ids=["max", "avg", "min-strided", "max-gaps", "avg-padded", "pyramid", "pyramid-1-level", "upsample", "transposed"])
@pytest.mark.parametrize("where", [(3, 4), (8, 10)])  # (8, 10): past the last whole 2x2 window of a 9x11 image
def test_non_finite_input_refused_with_its_position(call, bad, where):
    """NaN/inf are refused like everywhere in cvtools (check_image's rule), also where the check is
    made on the (smaller) result: the position named is the input's."""
    for dtype in (np.float32, np.float64):
        img = np.random.default_rng(0).random((9, 11)).astype(dtype)
        img[where] = bad
        with pytest.raises(ValueError, match=rf"NaN or infinite value\(s\), the first at row {where[0]}, "
                                             rf"column {where[1]}"):
            call(img)
        img[where] = 0.5
        call(img)


def test_huge_finite_values_are_not_refused():
    img = np.full((8, 8), 3e38, np.float32)  # means and blurs may overflow to inf: not the input's fault
    assert pool2d(img, 2, mode="avg").shape == (4, 4)
    assert len(gaussian_pyramid(img, 2)) == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9, 11), (10, 12, 3), (5, 7, 6)])
def test_float_max_min_pool_every_window_geometry(dtype, shape):
    """Float max/min pooling (computed only at the kept windows) against numpy: pad with -inf/+inf,
    take every window, keep every stride-th; asymmetric padding and strides larger than the window."""
    rng = np.random.default_rng(sum(shape))
    img = rng.standard_normal(shape).astype(dtype)
    for size, stride, padding in [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0, 2, 1)), ((4, 1), 3, (0, 2, 0, 0)),
                                  (1, 2, 0), (3, 1, (2, 0, 0, 2)), ((2, 2), (3, 4), 1)]:
        kh, kw = (size, size) if isinstance(size, int) else size
        sy, sx = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
        t, b, l, r = (padding,) * 4 if isinstance(padding, int) else padding
        for mode, fill, red in (("max", -np.inf, np.max), ("min", np.inf, np.min)):
            padded = np.pad(img, ((t, b), (l, r)) + ((0, 0),) * (img.ndim - 2), constant_values=fill)
            win = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(0, 1))[::sy, ::sx]
            ref = red(win, axis=(-2, -1))
            out = pool2d(img, size, stride=stride, mode=mode, padding=padding)
            assert out.dtype == img.dtype
            np.testing.assert_array_equal(out, ref, err_msg=f"{mode} {size} {stride} {padding}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9, 11), (10, 12, 3), (7, 8, 2)])
def test_float_mean_pool_fused_engine(dtype, shape):
    """Float mean pooling over whole windows runs in one numba pass that checks its result rows as
    it writes them: the block means (2x2: OpenCV's INTER_AREA), NaN/inf at every position
    refused naming it (also past the last whole window), finite overflow accepted."""
    rng = np.random.default_rng(3)
    img = rng.standard_normal(shape).astype(dtype) * 100
    for size in (2, 3, (2, 3), (3, 1)):
        kh, kw = (size, size) if isinstance(size, int) else size
        ho, wo = shape[0] // kh, shape[1] // kw
        blocks = img[:ho * kh, :wo * kw].astype(np.float64).reshape((ho, kh, wo, kw) + shape[2:])
        out = pool2d(img, size, mode="avg")
        assert out.dtype == img.dtype and out.shape == (ho, wo) + shape[2:]
        np.testing.assert_allclose(out, blocks.mean(axis=(1, 3)), rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-4 if dtype == np.float32 else 1e-10)
        if (kh, kw) == (2, 2) and img.ndim == 2:  # the engine it replaces, within float rounding
            crop = np.ascontiguousarray(img[:ho * 2, :wo * 2])
            np.testing.assert_allclose(out, cv2.resize(crop, (wo, ho), interpolation=cv2.INTER_AREA),
                                       rtol=1e-6 if dtype == np.float32 else 1e-14)
    for y in range(shape[0]):
        for x in range(shape[1]):
            bad = img.copy()
            bad[y, x] = (np.nan, np.inf, -np.inf)[(y + x) % 3]
            with pytest.raises(ValueError, match=rf"the first at row {y}, column {x}"):
                pool2d(bad, 2, mode="avg")
    assert np.isinf(pool2d(np.full((4, 6), 3e38, dtype), 2, mode="avg")).all() == (dtype == np.float32)
