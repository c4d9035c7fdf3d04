"""correlate2d / convolve2d / output_shape against independent references.

References: a numpy formula of the contract (np.pad, then the sum of shifted slices), scipy.ndimage,
scipy.signal and torch.nn.functional.conv2d; plus hand-computed tiny cases.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sps

import cvtools.convolution as cc
from cvtools.convolution import convolve2d, correlate2d, output_shape

BORDERS = ["constant", "edge", "reflect", "symmetric", "wrap"]
SCIPY_MODE = {"constant": "constant", "edge": "nearest", "reflect": "mirror", "symmetric": "reflect",
              "wrap": "wrap"}


def ref_correlate(image, kernel, *, stride=(1, 1), pads=(0, 0, 0, 0), border="constant", dilation=(1, 1)):
    """The contract, written as plainly as possible in float64."""
    x = np.asarray(image, np.float64)
    gray = x.ndim == 2
    if gray:
        x = x[..., None]
    k = np.asarray(kernel, np.float64)
    t, b, l, r = pads
    p = np.pad(x, ((t, b), (l, r), (0, 0)), mode=border)
    kh, kw = k.shape
    (sy, sx), (dy, dx) = stride, dilation
    ho = (p.shape[0] - dy * (kh - 1) - 1) // sy + 1
    wo = (p.shape[1] - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((ho, wo, x.shape[2]))
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * p[dy * i:dy * i + sy * (ho - 1) + 1:sy, dx * j:dx * j + sx * (wo - 1) + 1:sx]
    return out[..., 0] if gray else out


def same_pads(kshape, dilation=(1, 1)):
    ty, tx = dilation[0] * (kshape[0] - 1), dilation[1] * (kshape[1] - 1)
    return ty - ty // 2, ty // 2, tx - tx // 2, tx // 2


def as_dtype(ref, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.rint(ref), info.min, info.max)
    return ref


def rand_image(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.random(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 60000) + 1, shape).astype(dtype)


# --------------------------------------------------------------------------- hand-checked cases
IMG5 = np.array([[1, 2, 0, 1, 3],
                 [0, 1, 2, 3, 1],
                 [1, 0, 1, 2, 0],
                 [2, 1, 0, 1, 1],
                 [0, 2, 1, 0, 1]], np.float32)
LAP = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)


def test_hand_checked_5x5_valid():
    # each entry computed by hand: up + down + left + right - 4 * centre
    expected = np.array([[0, -3, -6],
                         [4, 0, -3],
                         [0, 4, -1]], np.float32)
    out = correlate2d(IMG5, LAP, padding="valid")
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    # uint8 output saturates the negative responses at 0, like OpenCV
    out8 = correlate2d(IMG5.astype(np.uint8), LAP, padding="valid")
    np.testing.assert_array_equal(out8, np.clip(expected, 0, 255).astype(np.uint8))
    assert out8.dtype == np.uint8
    np.testing.assert_array_equal(
        correlate2d(IMG5.astype(np.uint8), LAP, padding="valid", output_dtype=np.float32), expected)


def test_hand_checked_5x5_stride2_zero_padding():
    # zero padding 1, then every second output of the 5x5 'same' result (computed by hand)
    expected = np.array([[-2, 5, -10],
                         [-2, 0, 4],
                         [4, -2, -3]], np.float32)
    out = correlate2d(IMG5, LAP, padding=1, stride=2, border="constant")
    np.testing.assert_array_equal(out, expected)
    assert output_shape(IMG5.shape, LAP.shape, stride=2, padding=1) == (3, 3)


def test_hand_checked_convolve_flips():
    img = np.zeros((3, 5), np.float32)
    img[1, 2] = 1
    k = np.array([[1, 2, 3]], np.float32)
    np.testing.assert_array_equal(convolve2d(img, k, border="constant")[1], [0, 1, 2, 3, 0])
    np.testing.assert_array_equal(correlate2d(img, k, border="constant")[1], [0, 3, 2, 1, 0])


# --------------------------------------------------------------------------- numpy-contract reference
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", [(7, 9), (1, 13), (13, 1), (2, 3), (6, 5, 3)])
@pytest.mark.parametrize("kshape", [(3, 3), (4, 2), (1, 5), (7, 7)])
def test_same_padding_every_border_matches_numpy_contract(border, shape, kshape):
    rng = np.random.default_rng(hash((border, shape, kshape)) % 2**32)
    img = rng.random(shape)
    k = rng.standard_normal(kshape)
    out = correlate2d(img, k, border=border)
    ref = ref_correlate(img, k, pads=same_pads(kshape), border=border)
    assert out.shape == img.shape
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("border", BORDERS)
def test_image_smaller_than_kernel(border):
    rng = np.random.default_rng(1)
    img = rng.random((2, 3)).astype(np.float32)
    k = rng.random((9, 11))
    np.testing.assert_allclose(correlate2d(img, k, border=border),
                               ref_correlate(img, k, pads=same_pads(k.shape), border=border), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(correlate2d(img, k, border=border, padding="full"),
                               ref_correlate(img, k, pads=(8, 8, 10, 10), border=border), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride,dilation,padding", [
    (s, d, p) for s, d, p in itertools.product(
        [1, 2, 3, (2, 1), (1, 3)], [1, 2, (3, 1)], ["same", "valid", "full", 2, (1, 0, 3, 2)])
])
def test_stride_dilation_padding_combinations(stride, dilation, padding):
    rng = np.random.default_rng(7)
    img = rng.random((11, 14, 3)).astype(np.float32)
    k = rng.standard_normal((3, 4))
    border = ("reflect", "wrap", "edge", "symmetric", "constant")[rng.integers(5)]
    s2 = stride if isinstance(stride, tuple) else (stride, stride)
    d2 = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    pads = cc._params._pads(padding, k.shape, d2)
    out = correlate2d(img, k, stride=stride, dilation=dilation, padding=padding, border=border)
    ref = ref_correlate(img, k, stride=s2, pads=pads, border=border, dilation=d2)
    assert out.shape == output_shape(img.shape, k.shape, stride, padding, dilation) == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64, np.int32, np.float16,
                                   np.int8])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_dtypes_and_channels_keep_dtype_and_saturate(dtype, channels):
    rng = np.random.default_rng(3)
    shape = (9, 10) if channels is None else (9, 10, channels)
    img = rand_image(rng, shape, dtype)
    k = rng.standard_normal((3, 3)) * 0.7  # signed: exercises saturation at both ends
    for stride in (1, 2):
        out = correlate2d(img, k, stride=stride)
        assert out.dtype == img.dtype and out.shape == output_shape(shape, (3, 3), stride)
        ref = as_dtype(ref_correlate(img, k, stride=(stride, stride), pads=(1, 1, 1, 1), border="reflect"), dtype)
        tol = 1 if np.dtype(dtype).kind in "ui" else (2e-2 if dtype == np.float16 else 1e-4)
        np.testing.assert_allclose(out.astype(np.float64), ref, rtol=1e-4, atol=tol)
        f = correlate2d(img, k, stride=stride, output_dtype=np.float32)
        assert f.dtype == np.float32
        np.testing.assert_allclose(f, ref_correlate(img, k, stride=(stride, stride), pads=(1, 1, 1, 1),
                                                   border="reflect"), rtol=2e-3, atol=1e-3 * max(1, np.abs(f).max()))


def test_multichannel_is_per_channel_and_any_channel_count():
    rng = np.random.default_rng(4)
    img = rng.random((8, 9, 6)).astype(np.float32)
    k = rng.random((3, 3))
    out = correlate2d(img, k, stride=(1, 2))
    for c in range(6):
        np.testing.assert_allclose(out[..., c], correlate2d(img[..., c], k, stride=(1, 2)), rtol=1e-6)
    one = correlate2d(img[..., :1], k)
    assert one.shape == (8, 9, 1)


# --------------------------------------------------------------------------- other references
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("ksize", [3, 4, 5, 8])
def test_same_matches_scipy_ndimage(border, ksize):
    rng = np.random.default_rng(ksize)
    img = rng.random((23, 31))
    k = rng.standard_normal((ksize, ksize - 1 if ksize > 3 else ksize))
    ref = ndi.correlate(img, k, mode=SCIPY_MODE[border])
    np.testing.assert_allclose(correlate2d(img, k, border=border), ref, rtol=1e-9, atol=1e-9)
    if all(n % 2 for n in k.shape):  # ndimage.convolve shifts the origin of even kernels its own way
        refc = ndi.convolve(img, k, mode=SCIPY_MODE[border])
        np.testing.assert_allclose(convolve2d(img, k, border=border), refc, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mode", ["valid", "full", "same"])
@pytest.mark.parametrize("kshape", [(3, 3), (4, 6), (2, 5)])
def test_scipy_signal_correlate_and_convolve(mode, kshape):
    rng = np.random.default_rng(sum(kshape))
    img = rng.random((12, 17))
    k = rng.standard_normal(kshape)
    ours = mode
    if mode == "same":
        # scipy.signal.correlate2d puts the larger half of the padding after (bottom/right), like
        # torch; cvtools puts it before, like OpenCV and scipy.ndimage (documented). Same for odd.
        ty, tx = kshape[0] - 1, kshape[1] - 1
        ours = (ty // 2, ty - ty // 2, tx // 2, tx - tx // 2)
        if all(n % 2 for n in kshape):
            np.testing.assert_allclose(correlate2d(img, k, border="constant"), sps.correlate2d(img, k, mode="same"))
    np.testing.assert_allclose(correlate2d(img, k, padding=ours, border="constant"),
                               sps.correlate2d(img, k, mode=mode), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(convolve2d(img, k, padding=mode, border="constant"),
                               sps.convolve2d(img, k, mode=mode), rtol=1e-9, atol=1e-9)


@pytest.mark.extra("torch")
@pytest.mark.parametrize("stride,dilation,padding", [
    (1, 1, 0), (2, 1, 1), (3, 2, 2), ((2, 3), (1, 2), (1, 3)), (2, 3, 0), (1, 2, "same"), (4, 1, 3),
])
@pytest.mark.parametrize("kshape", [(3, 3), (4, 5), (1, 6)])
def test_matches_torch_conv2d(stride, dilation, padding, kshape):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    img = rng.random((3, 17, 20))  # CHW for torch
    k = rng.standard_normal(kshape)
    if padding == "same":
        pads = same_pads(kshape, (dilation, dilation))
        ours_pad = "same"
        x = F.pad(torch.from_numpy(img)[None], (pads[2], pads[3], pads[0], pads[1]))
        tpad = 0
    else:
        ours_pad = padding
        x = torch.from_numpy(img)[None]
        tpad = padding
    w = torch.from_numpy(k)[None, None].repeat(3, 1, 1, 1)
    ref = F.conv2d(x, w, stride=stride, padding=tpad, dilation=dilation, groups=3)[0].numpy().transpose(1, 2, 0)
    out = correlate2d(img.transpose(1, 2, 0).copy(), k, stride=stride, dilation=dilation, padding=ours_pad,
                      border="constant")
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_engines_agree(method, dtype):
    rng = np.random.default_rng(5)
    img = rand_image(rng, (40, 50, 3), dtype)
    k = np.outer(rng.random(9), rng.random(9))  # rank 1, so every engine applies
    k /= k.sum()
    ref = as_dtype(ref_correlate(img, k, pads=(4, 4, 4, 4), border="reflect"), dtype)
    out = correlate2d(img, k, method=method)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.astype(np.float64), ref, atol=1 if dtype == np.uint8 else 1e-5)
    out2 = correlate2d(img, k, method=method, stride=2, dilation=(1, 2), border="symmetric")
    ref2 = as_dtype(ref_correlate(img, k, stride=(2, 2), dilation=(1, 2), pads=same_pads(k.shape, (1, 2)),
                                  border="symmetric"), dtype)
    np.testing.assert_allclose(out2.astype(np.float64), ref2, atol=1 if dtype == np.uint8 else 1e-5)


@pytest.mark.parametrize("ksize", [15, 21, 31])
def test_auto_large_kernels(ksize):
    rng = np.random.default_rng(ksize)
    img = rng.random((40, 45)).astype(np.float32)
    k = rng.random((ksize, ksize))
    k /= k.sum()
    ref = ref_correlate(img, k, pads=same_pads(k.shape), border="reflect")
    np.testing.assert_allclose(correlate2d(img, k), ref, atol=1e-5)
    g = np.outer(np.hanning(ksize + 2)[1:-1], np.hanning(ksize + 2)[1:-1])
    np.testing.assert_allclose(correlate2d(img, g / g.sum(), stride=2),
                               ref_correlate(img, g / g.sum(), stride=(2, 2), pads=same_pads(g.shape),
                                             border="reflect"), atol=1e-5)


def test_does_not_mutate_inputs():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)
    k = rng.random((3, 3))
    img0, k0 = img.copy(), k.copy()
    correlate2d(img, k, stride=2)
    convolve2d(img, k, padding="full", border="wrap")
    np.testing.assert_array_equal(img, img0)
    np.testing.assert_array_equal(k, k0)


def test_non_contiguous_input():
    rng = np.random.default_rng(0)
    big = rng.random((20, 30, 3)).astype(np.float32)
    view = big[::2, 1::3, ::-1]
    k = rng.random((3, 3))
    np.testing.assert_allclose(correlate2d(view, k), correlate2d(view.copy(), k))


# --------------------------------------------------------------------------- output_shape
@pytest.mark.parametrize("h", [1, 5, 8, 33])
@pytest.mark.parametrize("k,s,d,p", [(3, 1, 1, "same"), (3, 2, 1, 1), (5, 3, 2, "full"), (4, 2, 1, "valid"),
                                     (2, 1, 3, 2)])
def test_output_shape_formula(h, k, s, d, p):
    try:
        shape = output_shape((h, h + 3), k, s, p, d)
    except ValueError:
        assert d * (k - 1) + 1 > h + 2 * (p if isinstance(p, int) else 0)
        return
    pt = sum(cc._params._pads(p, (k, k), (d, d))[:2])
    assert shape[0] == (h + pt - d * (k - 1) - 1) // s + 1
    assert correlate2d(np.zeros((h, h + 3), np.float32), np.ones((k, k)), stride=s, padding=p,
                       dilation=d).shape == shape


def test_output_shape_keeps_channels():
    assert output_shape((1080, 1920, 3), 3, stride=2, padding=1) == (540, 960, 3)
    assert output_shape((5, 5), (3, 3), padding="valid") == (3, 3)
    assert output_shape((5, 5), (3, 3), padding="full") == (7, 7)


# --------------------------------------------------------------------------- errors
def test_errors():
    img = np.zeros((5, 5), np.float32)
    with pytest.raises(ValueError, match="`image` must be"):
        correlate2d(np.zeros(5), np.ones((3, 3)))
    with pytest.raises(ValueError, match="`image` must be"):
        correlate2d(np.zeros((2, 3, 4, 5)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"`kernel` must be 2-D.*\(3, 3, 3\)"):
        correlate2d(img, np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match="`stride` must be >= 1; got 0"):
        correlate2d(img, np.ones((3, 3)), stride=0)
    with pytest.raises(ValueError, match="`dilation` must be >= 1"):
        correlate2d(img, np.ones((3, 3)), dilation=(1, 0))
    with pytest.raises(TypeError, match="`stride` must be an int"):
        correlate2d(img, np.ones((3, 3)), stride=1.5)
    with pytest.raises(ValueError, match="unknown border 'mirror'; valid: 'constant'"):
        correlate2d(img, np.ones((3, 3)), border="mirror")
    with pytest.raises(ValueError, match="unknown padding 'half'"):
        correlate2d(img, np.ones((3, 3)), padding="half")
    with pytest.raises(ValueError, match="`padding` must be"):
        correlate2d(img, np.ones((3, 3)), padding=(1, 2, 3))
    with pytest.raises(ValueError, match="`padding` must be >= 0"):
        correlate2d(img, np.ones((3, 3)), padding=-1)
    with pytest.raises(ValueError, match="does not fit"):
        correlate2d(img, np.ones((7, 3)), padding="valid")
    with pytest.raises(TypeError, match="`image` has dtype complex"):
        correlate2d(img.astype(complex), np.ones((3, 3)))
    with pytest.raises(TypeError, match="`image` has dtype bool"):
        correlate2d(img.astype(bool), np.ones((3, 3)))
    with pytest.raises(TypeError, match="`kernel` must be a real numeric array"):
        correlate2d(img, np.ones((3, 3), complex))
    with pytest.raises(ValueError, match="`kernel` contains NaN"):
        correlate2d(img, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="unknown method 'gpu'"):
        correlate2d(img, np.ones((3, 3)), method="gpu")
    with pytest.raises(ValueError, match="needs a rank-1 kernel"):
        correlate2d(img, np.eye(3), method="separable")
    with pytest.raises(TypeError, match="`output_dtype` must be an integer or float"):
        correlate2d(img, np.ones((3, 3)), output_dtype=bool)
    with pytest.raises(TypeError, match="`image` must be a numpy array"):
        correlate2d("img.png", np.ones((3, 3)))
    with pytest.raises(ValueError, match="`input_shape` must be"):
        output_shape((5,), 3)


def test_public_surface():
    assert sorted(cc.__all__) == sorted([
        "correlate2d", "convolve2d", "output_shape", "kernels", "pool2d", "upsample", "transposed_conv2d",
        "gaussian_pyramid", "laplacian_pyramid", "reconstruct_laplacian"])
    import cvtools
    assert cvtools.convolution.correlate2d is correlate2d


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape,kshape,stride,padding", [
    ((3, 2, 3), (7, 5), 2, "same"), ((2, 5), (6, 6), (3, 2), "full"), ((9, 17, 4), (3, 3), 2, (4, 0, 5, 1)),
    ((10, 21, 3), (5, 4), 3, "valid"), ((1, 30, 3), (1, 3), (1, 2), "same"),
])
def test_strided_borders_small_images_uint8(border, shape, kshape, stride, padding):
    rng = np.random.default_rng(len(border) + sum(shape))
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    k = rng.random(kshape)
    k /= k.sum()
    s2 = stride if isinstance(stride, tuple) else (stride, stride)
    pads = cc._params._pads(padding, kshape, (1, 1))
    out = correlate2d(img, k, stride=stride, padding=padding, border=border)
    ref = as_dtype(ref_correlate(img, k, stride=s2, pads=pads, border=border), np.uint8)
    assert out.shape == ref.shape and out.dtype == np.uint8
    np.testing.assert_allclose(out.astype(np.float64), ref, atol=1)
