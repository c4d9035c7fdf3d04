"""Which engine correlate2d runs, and that every engine computes the contract.

* rank-1 detection follows the precision the kernel was given in (float32 outer products are
  separable), for kernels built the usual ways: ``np.outer``, ``cv2.getGaussianKernel`` products,
  ``cvtools.convolution.kernels``;
* the engine a plan picks is pinned (stride 1: observed by spying on OpenCV; strides: the cost
  model's choice for 1080p images, the sizes the benchmark measures);
* each strided engine against the contract written in numpy, scipy.ndimage and torch;
* integer results saturate, int64/uint64 extremes included.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

import cvtools.convolution._correlate as cc
from cvtools.convolution import correlate2d, kernels, output_shape
from cvtools.convolution._params import _as_kernel, _pads

from test_convolution import BORDERS, ref_correlate

F32_EPS = float(np.finfo(np.float32).eps)


def _rank1_of(k):
    k = np.asarray(k)
    return cc._rank1(_as_kernel(k), cc._kernel_eps(k.dtype))


def _gauss_cv(size, sigma, ktype):
    g = cv2.getGaussianKernel(size, sigma, ktype=ktype)
    return g @ g.T  # the usual way to build a 2-D Gaussian from OpenCV's 1-D one


# ------------------------------------------------------------------------------- rank-1 detection
RANK1_BUILDERS = {
    "outer float32": lambda n, r: np.outer(r.random(n, dtype=np.float32), r.random(n, dtype=np.float32)),
    "outer float32 signed": lambda n, r: np.outer(r.standard_normal(n).astype(np.float32),
                                                  r.standard_normal(n).astype(np.float32)),
    "outer float32 normalised": lambda n, r: (lambda k: k / k.sum(dtype=np.float32))(
        np.outer(r.random(n, dtype=np.float32), r.random(n, dtype=np.float32))),
    "outer float64": lambda n, r: np.outer(r.random(n), r.standard_normal(n)),
    "outer int64": lambda n, r: np.outer(r.integers(-9, 10, n), r.integers(1, 10, n)),
    "outer int32": lambda n, r: np.outer(r.integers(1, 50, n), r.integers(-50, 50, n)).astype(np.int32),
    "getGaussianKernel 64F": lambda n, r: _gauss_cv(n, n / 5, cv2.CV_64F),
    "getGaussianKernel 32F": lambda n, r: _gauss_cv(n, n / 5, cv2.CV_32F),
    "kernels.gaussian": lambda n, r: kernels.gaussian(n, sigma=n / 6),
    "kernels.gaussian float32": lambda n, r: kernels.gaussian(n, sigma=(n / 4, n / 7)).astype(np.float32),
    "kernels.box float32": lambda n, r: kernels.box(n).astype(np.float32),
    "kernels.sobel": lambda n, r: kernels.sobel("y", size=n),
    "kernels.sobel float32": lambda n, r: kernels.sobel("x", size=n).astype(np.float32),
    "kernels.sobel int64": lambda n, r: kernels.sobel("x", size=n).astype(np.int64),
}


@pytest.mark.parametrize("size", [3, 5, 9, 15, 31])
@pytest.mark.parametrize("builder", sorted(RANK1_BUILDERS))
def test_rank1_detects_outer_products_in_their_dtype(builder, size):
    rng = np.random.default_rng(size)
    k = RANK1_BUILDERS[builder](size, rng)
    factors = _rank1_of(k)
    assert factors is not None, f"{builder} {size}x{size} ({k.dtype}) not detected as rank 1"
    col, row = factors
    eps = cc._kernel_eps(k.dtype)
    k64 = k.astype(np.float64)
    np.testing.assert_allclose(np.outer(col, row), k64, rtol=0, atol=8 * size * eps * np.abs(k64).max())


def test_float32_outer_products_are_not_exact():
    # why the tolerance follows the dtype: the old 1e-9 * pivot test rejected every one of these
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(20):
        u = rng.random(15, dtype=np.float32)
        k = np.outer(u, u).astype(np.float64)
        i, j = np.unravel_index(np.argmax(k), k.shape)
        worst = max(worst, np.abs(k - np.outer(k[:, j], k[i, :] / k[i, j])).max() / k[i, j])
    assert 1e-9 < worst < 4 * 15 * F32_EPS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rank1_rejects_full_rank_and_noisy_kernels(dtype):
    rng = np.random.default_rng(1)
    eps = float(np.finfo(dtype).eps)
    g = kernels.gaussian(15, sigma=3.0)
    noisy = g + 200 * 15 * eps * g.max() * rng.standard_normal(g.shape)  # far above the tolerance
    for k in (kernels.laplacian(), np.eye(4), np.zeros((3, 3)), noisy, rng.random((7, 7)),
              np.outer([1, 2, 3], [1, 1]) + np.eye(3, 2)):
        assert _rank1_of(np.asarray(k).astype(dtype)) is None
    # a float32 outer product handed over as float64 is judged at float64 precision: not rank 1
    u = rng.random(15, dtype=np.float32)
    assert _rank1_of(np.outer(u, u)) is not None
    assert _rank1_of(np.outer(u, u).astype(np.float64)) is None


# ------------------------------------------------------------------------ stride-1 engine choice
class _Spy:
    """Counts calls to the OpenCV filters correlate2d uses, and still runs them."""

    def __init__(self, monkeypatch):
        self.calls = []
        for name in ("filter2D", "sepFilter2D"):
            real = getattr(cv2, name)
            monkeypatch.setattr(cc.cv2, name, self._wrap(name, real))

    def _wrap(self, name, real):
        def spy(*args, **kwargs):
            self.calls.append(name)
            return real(*args, **kwargs)
        return spy


@pytest.mark.parametrize("builder", ["outer float32", "outer float32 normalised", "getGaussianKernel 32F",
                                     "kernels.gaussian float32", "kernels.box float32", "outer float64",
                                     "outer int64", "kernels.sobel int64"])
@pytest.mark.parametrize("size", [5, 15])
@pytest.mark.parametrize("image_kind", ["float32 gray", "uint8 RGB"])
def test_rank1_kernels_run_separable_at_stride_1(builder, size, image_kind, monkeypatch):
    rng = np.random.default_rng(size)
    k = RANK1_BUILDERS[builder](size, rng)
    if image_kind == "float32 gray":
        img = rng.random((61, 83), dtype=np.float32)
    else:
        img = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    assert cc._choose("auto", _as_kernel(k), cc._kernel_eps(k.dtype))[0] == "separable"
    spy = _Spy(monkeypatch)
    out = correlate2d(img, k, output_dtype=np.float32)
    assert spy.calls == ["sepFilter2D"]
    direct = correlate2d(img, k, output_dtype=np.float32, method="direct")
    assert spy.calls == ["sepFilter2D", "filter2D"]
    k64 = k.astype(np.float64)
    scale = np.abs(k64).sum() * float(np.abs(img).max())
    # separable == direct == scipy.ndimage, within float32 rounding of the result's scale
    np.testing.assert_allclose(out, direct, rtol=0, atol=2e-6 * scale)
    ref = ndi.correlate(img.astype(np.float64), k64[..., None] if img.ndim == 3 else k64, mode="mirror")
    np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6 * scale)


@pytest.mark.parametrize("ksize", range(5, 32, 2))
def test_rank1_engine_at_stride_1_for_hd_images(ksize):
    """On 1080p images an asymmetric rank-1 kernel runs through the numba separable kernel (measured
    faster than cv2.sepFilter2D plus the NaN check); (anti)symmetric factors, which sepFilter2D halves,
    small images and float64 work keep OpenCV's."""
    k = (ksize, ksize)
    pads = _pads("same", k, (1, 1))
    rng = np.random.default_rng(ksize)
    asym = cc._rank1(np.outer(rng.random(ksize) + 1, rng.random(ksize) + 1))
    for shape, plan, expected in ((HD_GRAY, F32_PLAN, "numba-separable"), (HD_RGB, U8_PLAN, "numba-separable")):
        assert cc._separable_engine(shape, k, (1, 1), pads, plan, asym) == expected
        for symmetric in (kernels.gaussian(ksize, sigma=ksize / 5), kernels.sobel("x", size=ksize),
                          np.outer(cv2.getGaussianKernel(ksize, -1, ktype=cv2.CV_32F), asym[1])):
            assert cc._separable_engine(shape, k, (1, 1), pads, plan, cc._rank1(symmetric.astype(float))) == "separable"
    assert cc._separable_engine((64, 64), k, (1, 1), pads, F32_PLAN, asym) == "separable"
    f64 = cc._Plan(np.dtype(np.float64), np.dtype(np.float64))
    assert cc._separable_engine(HD_GRAY, k, (1, 1), pads, f64, asym) == "separable"


def test_rank1_float32_kernel_on_a_large_image_runs_numba_separable(monkeypatch):
    rng = np.random.default_rng(4)
    img = rng.random((600, 1000), dtype=np.float32)
    u = rng.random(15, dtype=np.float32)
    k = np.outer(u, u)
    spy = _Spy(monkeypatch)
    out = correlate2d(img, k)
    assert spy.calls == []  # neither filter2D nor sepFilter2D: the numba separable kernel
    ref = cv2.sepFilter2D(img, -1, u, u, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6 * float(np.abs(k).sum()))
    # a Gaussian is symmetric: OpenCV's sepFilter2D halves its work and keeps it
    g = kernels.gaussian(15, sigma=3.0).astype(np.float32)
    spy.calls.clear()
    correlate2d(img, g)
    assert spy.calls == ["sepFilter2D"]


def test_small_and_full_rank_kernels_run_direct(monkeypatch):
    img = np.random.default_rng(0).random((40, 50), dtype=np.float32)
    spy = _Spy(monkeypatch)
    correlate2d(img.astype(np.uint8), np.outer(*[np.array([1, 2, 1], np.float32)] * 2))  # rank 1 but 3x3
    correlate2d(img, np.random.default_rng(1).random((9, 9), dtype=np.float32))
    correlate2d(np.dstack([img] * 3), np.ones((3, 3)))
    assert spy.calls == ["filter2D", "filter2D", "filter2D"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_gray_3x3_same_runs_the_numba_kernel(monkeypatch, dtype):
    """One float channel, 3x3, 'same', stride 1: the numba kernel (faster than cv2.filter2D, and it
    checks NaN/inf as it reads), equal to scipy for every border; anything else stays with OpenCV."""
    rng = np.random.default_rng(2)
    calls = []
    real = cc._numba("correlate3x3")
    monkeypatch.setitem(cc._KERNELS, "correlate3x3", lambda *a: calls.append(1) or real(*a))
    spy = _Spy(monkeypatch)
    for border in BORDERS:
        for shape in ((1, 1), (2, 5), (37, 53)):
            img = rng.standard_normal(shape).astype(dtype)
            k = rng.standard_normal((3, 3))
            ref = ref_correlate(img, k, pads=(1, 1, 1, 1), border=border)
            tol = 2e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(correlate2d(img, k, border=border), ref, rtol=tol, atol=tol)
            for y, x in ((0, 0), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, shape[1] // 2)):
                bad = img.copy()
                bad[y, x] = np.nan
                with pytest.raises(ValueError, match=rf"the first at row {y}, column {x}"):
                    correlate2d(bad, k, border=border)
    assert len(calls) == len(BORDERS) * 3 * 4 and spy.calls == []
    img = rng.random((20, 30)).astype(dtype)
    correlate2d(img, np.ones((3, 3)), padding="valid")  # other paddings, dtypes and dilations: OpenCV
    correlate2d(img, np.ones((3, 3)), output_dtype=np.uint8)
    assert len(calls) == len(BORDERS) * 3 * 4 and spy.calls == ["filter2D", "filter2D"]


# ------------------------------------------------------------------------ strided engine choice
HD_GRAY, HD_RGB = (1080, 1920), (1080, 1920, 3)
F32_PLAN = cc._Plan(np.dtype(np.float32), np.dtype(np.float32))
U8_PLAN = cc._Plan(np.dtype(np.uint8), np.dtype(np.uint8))


def _engine(shape, ksize, plan, *, stride=2, rank1=False, method="auto", dilation=1):
    kshape = (ksize, ksize) if isinstance(ksize, int) else ksize
    st = (stride, stride) if isinstance(stride, int) else stride
    dl = (dilation, dilation)
    return cc._stride_engine(shape, kshape, st, dl, _pads("same", kshape, dl), plan, method, rank1)


# The choices the cost model makes for the benchmark's images (full-rank kernels, stride 2).
EXPECTED_STRIDE2 = {
    "float32 gray": {k: "numba" for k in range(3, 32, 2)},
    "uint8 RGB": {k: "numba" for k in range(3, 32, 2)},
}


@pytest.mark.parametrize("image_kind", sorted(EXPECTED_STRIDE2))
def test_stride2_engine_choice_for_hd_images(image_kind):
    shape, plan = (HD_GRAY, F32_PLAN) if image_kind == "float32 gray" else (HD_RGB, U8_PLAN)
    chosen = {k: _engine(shape, k, plan) for k in range(3, 32, 2)}
    assert chosen == EXPECTED_STRIDE2[image_kind]
    for k in range(3, 32, 2):
        costs = cc._stride_costs(shape, (k, k), (2, 2), (1, 1), _pads("same", (k, k), (1, 1)), plan, False)
        # never more than computing stride 1 and keeping every other output
        assert costs[chosen[k]] <= costs["subsample"]


@pytest.mark.parametrize("ksize", [5, 9, 15, 31])
@pytest.mark.parametrize("shape,plan", [(HD_GRAY, F32_PLAN), (HD_RGB, U8_PLAN)])
def test_rank1_kernels_take_the_separable_strided_engine(ksize, shape, plan):
    assert _engine(shape, ksize, plan, rank1=True) == "numba-separable"
    # and correlate2d detects float32 outer products as rank 1 on the way there
    u = np.random.default_rng(ksize).random(ksize, dtype=np.float32)
    k = np.outer(u, u)
    assert cc._rank1(_as_kernel(k), cc._kernel_eps(k.dtype)) is not None


def test_strided_engine_choice_edges():
    # a tiny image: the fixed cost of a numba/FFT call dominates, stride 1 + subsampling wins
    assert _engine((8, 8), 3, F32_PLAN) == "subsample"
    # forced families
    assert _engine(HD_GRAY, 31, F32_PLAN, method="direct") == "numba"
    assert _engine(HD_GRAY, 3, F32_PLAN, method="fft") == "fft"
    assert _engine(HD_GRAY, 3, F32_PLAN, method="separable", rank1=True) == "numba-separable"
    # larger strides only make the strided engines cheaper
    for s in (3, 4, (1, 2), (2, 1)):
        assert _engine(HD_GRAY, 7, F32_PLAN, stride=s) != "subsample"


def test_forced_separable_stride_needs_rank1():
    img = np.zeros((20, 20), np.float32)
    with pytest.raises(ValueError, match="needs a rank-1 kernel"):
        correlate2d(img, np.eye(5), stride=2, method="separable")


# ------------------------------------------------------------------------ strided engines: values
ENGINE_CASES = [
    # (shape, kernel shape, dtype)
    ((37, 29), (3, 3), np.float32),
    ((37, 29), (7, 6), np.float32),
    ((36, 30, 3), (5, 5), np.uint8),
    ((33, 41, 3), (9, 4), np.uint16),
    ((30, 27, 4), (4, 6), np.int16),
    ((25, 31), (5, 5), np.float64),   # float64 work stays float64
    ((19, 23, 6), (3, 5), np.float32),  # more channels than OpenCV handles
    ((4, 3), (7, 5), np.uint8),       # kernel larger than the image
]


def _image(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.random(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -3000), min(info.max, 3000) + 1, shape).astype(dtype)


@pytest.mark.parametrize("engine", ["numba", "numba-separable", "fft", "subsample"])
@pytest.mark.parametrize("case", ENGINE_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{np.dtype(c[2]).name}")
@pytest.mark.parametrize("border", BORDERS)
def test_every_strided_engine_matches_the_contract(engine, case, border, rng):
    shape, kshape, dtype = case
    img = _image(rng, shape, dtype)
    if engine == "numba-separable":
        k = np.outer(rng.standard_normal(kshape[0]), rng.standard_normal(kshape[1]))
    else:
        k = rng.standard_normal(kshape)
    k /= np.abs(k).sum()
    eps = cc._kernel_eps(k.dtype)
    factors = cc._rank1(k, eps)
    for stride, dilation, padding in (((2, 3), (1, 1), "same"), ((2, 2), (2, 1), "full"), ((3, 2), (1, 2), 7),
                                      ((1, 2), (1, 1), "valid"), ((4, 4), (1, 1), "same"), ((1, 1), (1, 1), "same"),
                                      ((1, 1), (2, 3), "full")):
        pads = _pads(padding, k.shape, dilation)
        try:
            out_shape = output_shape(img.shape, k.shape, stride, pads, dilation)
        except ValueError:
            continue  # the kernel does not fit
        for out_dtype in (img.dtype, np.dtype(np.float32)):
            plan = cc._Plan(img.dtype, out_dtype)
            src = img if img.dtype == plan.src else img.astype(plan.src)
            out = cc._run_strided(engine, src, k, eps, factors, pads, border, plan, stride, dilation, out_shape)
            ref = ref_correlate(img.astype(np.float64), k, stride=stride, pads=pads, border=border,
                                dilation=dilation)
            assert out.shape == ref.shape and out.dtype == out_dtype
            if out_dtype.kind == "f":
                np.testing.assert_allclose(out, ref, rtol=0, atol=2e-5 * max(1.0, float(np.abs(img).max())))
            else:  # rounded and saturated; float32 accumulation may flip a .5 tie
                info = np.iinfo(out_dtype)
                assert np.abs(out.astype(np.float64) - np.clip(np.rint(ref), info.min, info.max)).max() <= 1


@pytest.mark.parametrize("ksize", [3, 8, 17])
@pytest.mark.parametrize("stride", [2, 3, (2, 1)])
def test_strided_engines_match_scipy_ndimage(ksize, stride, rng):
    """Every strided engine equals scipy.ndimage's stride-1 correlation, subsampled."""
    img = rng.random((101, 87, 3), dtype=np.float32)
    k = rng.standard_normal((ksize, ksize - 1))
    sep = np.outer(rng.random(ksize, dtype=np.float32), rng.random(ksize - 1, dtype=np.float32))
    st = stride if isinstance(stride, tuple) else (stride, stride)
    for kern in (k, sep):
        k64 = np.asarray(kern, np.float64)
        ref = ndi.correlate(img.astype(np.float64), k64[..., None], mode="mirror")[::st[0], ::st[1]]
        eps = cc._kernel_eps(kern.dtype)
        factors = cc._rank1(k64, eps)
        engines = ["numba", "fft", "subsample"] + (["numba-separable"] if factors is not None else [])
        assert (factors is not None) == (kern is sep)
        pads = _pads("same", k64.shape, (1, 1))
        out_shape = output_shape(img.shape, k64.shape, st, pads)
        for engine in engines:
            out = cc._run_strided(engine, img, k64, eps, factors, pads, "reflect", F32_PLAN, st, (1, 1), out_shape)
            np.testing.assert_allclose(out, ref, rtol=0, atol=3e-6 * np.abs(k64).sum(), err_msg=engine)
        # and the public function (whatever it picks) agrees with the forced direct engine
        np.testing.assert_allclose(correlate2d(img, kern, stride=stride),
                                   correlate2d(img, kern, stride=stride, method="direct"),
                                   rtol=0, atol=3e-6 * np.abs(k64).sum())


@pytest.mark.extra("torch")
@pytest.mark.parametrize("stride,dilation", [(2, 1), (3, 2), ((2, 3), (1, 2))])
def test_strided_separable_matches_torch(stride, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    img = rng.random((3, 45, 52), dtype=np.float32)  # CHW for torch
    u, v = rng.standard_normal(7).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    k = np.outer(u, v)  # float32 rank 1: the separable engine
    w = torch.from_numpy(k)[None, None].repeat(3, 1, 1, 1)
    ref = F.conv2d(torch.from_numpy(img)[None], w, stride=stride, padding=2, dilation=dilation,
                   groups=3)[0].numpy().transpose(1, 2, 0)
    hwc = np.ascontiguousarray(img.transpose(1, 2, 0))
    out = correlate2d(hwc, k, stride=stride, padding=2, dilation=dilation, border="constant", method="separable")
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(correlate2d(hwc, k, stride=stride, padding=2, dilation=dilation, border="constant"),
                               ref, rtol=0, atol=1e-5)


def test_fft_engine_on_a_large_kernel_matches_ndimage(rng):
    img = rng.integers(0, 256, (150, 170, 3), dtype=np.uint8)
    k = rng.random((31, 29))
    k /= k.sum()
    ref = ndi.correlate(img.astype(np.float64), k[..., None], mode="mirror")[::2, ::2]
    out = correlate2d(img, k, stride=2, method="fft")
    assert out.dtype == np.uint8
    assert np.abs(out.astype(np.float64) - np.clip(np.rint(ref), 0, 255)).max() <= 1


# ------------------------------------------------------------------------ saturation
I64, U64 = np.iinfo(np.int64), np.iinfo(np.uint64)


@pytest.mark.parametrize("stride", [1, 2])
def test_int64_extremes_saturate(stride):
    top = np.full((6, 7), I64.max, np.int64)
    bottom = np.full((6, 7), I64.min, np.int64)
    for img, kernel, expected in ((top, [[1]], I64.max), (top, [[2]], I64.max), (top, np.ones((3, 3)), I64.max),
                                  (bottom, [[1]], I64.min), (bottom, np.ones((3, 3)), I64.min),
                                  (bottom, [[-1]], I64.max), (top, [[-3]], I64.min)):
        out = correlate2d(img, kernel, stride=stride)
        assert out.dtype == np.int64
        assert (out == expected).all(), (kernel, out[0, :3])


@pytest.mark.parametrize("stride", [1, 2])
def test_uint64_and_float_to_int64_saturate(stride):
    top = np.full((5, 5), U64.max, np.uint64)
    assert (correlate2d(top, [[1]], stride=stride) == U64.max).all()
    assert (correlate2d(top, np.ones((3, 3)), stride=stride) == U64.max).all()
    assert (correlate2d(top, [[-1]], stride=stride) == 0).all()
    big = np.full((5, 5), 1e30)
    assert (correlate2d(big, [[1]], stride=stride, output_dtype=np.int64) == I64.max).all()
    assert (correlate2d(-big, [[1]], stride=stride, output_dtype=np.int64) == I64.min).all()
    assert (correlate2d(big, [[1]], stride=stride, output_dtype=np.uint64) == U64.max).all()
    # values inside the range are unchanged by the saturating cast
    mid = np.array([[-2.0**62, 12.5, 13.5, 2.0**62]])
    np.testing.assert_array_equal(correlate2d(mid, [[1]], output_dtype=np.int64), [[-2**62, 12, 14, 2**62]])


# ------------------------------------------------------------------------ NaN / infinity
@pytest.mark.parametrize("engine", ["numba", "numba-separable", "fft", "subsample"])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
@pytest.mark.parametrize("shape,kshape,stride,padding,where", [
    ((40, 50), (3, 3), (2, 2), "same", (17, 23)),
    ((40, 50, 3), (5, 4), (2, 3), "same", (39, 49)),
    ((40, 50), (1, 1), (3, 3), "valid", (38, 20)),  # a row no kept output reads: checked apart
    ((40, 50), (2, 2), (3, 2), "valid", (2, 1)),
])
def test_strided_engines_refuse_non_finite_input(engine, bad, shape, kshape, stride, padding, where):
    """The numba engines check each float row as they read it; the others check first. Either way
    the error is check_image's, naming the first bad pixel."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        img = rng.random(shape).astype(dtype)
        img[where] = bad
        k = np.outer(rng.random(kshape[0]), rng.random(kshape[1]))
        eps = cc._kernel_eps(k.dtype)
        factors = cc._rank1(k, eps)
        pads = _pads(padding, k.shape, (1, 1))
        out_shape = output_shape(img.shape, k.shape, stride, pads)
        plan = cc._Plan(img.dtype, img.dtype)
        with pytest.raises(ValueError, match=rf"NaN or infinite value\(s\), the first at row {where[0]}, "
                                             rf"column {where[1]}"):
            cc._run_strided(engine, img, k, eps, factors, pads, "reflect", plan, stride, (1, 1), out_shape,
                            image=img, check_finite=True)
        img[where] = 0.5
        cc._run_strided(engine, img, k, eps, factors, pads, "reflect", plan, stride, (1, 1), out_shape,
                        image=img, check_finite=True)


def test_public_strided_call_refuses_non_finite_on_an_hd_image():
    img = np.zeros((1080, 1920), np.float32)
    assert _engine(img.shape, 3, F32_PLAN) == "numba"  # the fused check is the one exercised
    img[1079, 1919] = np.inf
    with pytest.raises(ValueError, match="row 1079, column 1919"):
        correlate2d(img, np.ones((3, 3)), stride=2)


@pytest.mark.parametrize("padding", ["same", "valid", "full", (2, 0, 0, 1)])
@pytest.mark.parametrize("where", [(0, 0), (12, 30), (24, 0), (24, 39)])
def test_stride1_checks_the_result_only_when_every_pixel_reaches_it(padding, where):
    """Stride 1, float result, no zero tap: NaN/inf are caught on the result (every pixel has a weight
    in some output); kernels with zeros (a Laplacian, dilation) or integer results check the input."""
    rng = np.random.default_rng(0)
    for kernel, dilation, out_dtype in ((rng.random((3, 4)) + 0.1, 1, None), (kernels.laplacian(), 1, None),
                                        (np.ones((3, 3)), 2, None), (np.ones((3, 3)), 1, np.uint8),
                                        (np.outer(np.arange(1, 8), np.arange(1, 8)), 1, None)):
        img = rng.random((25, 40)).astype(np.float32)
        img[where] = np.inf
        with pytest.raises(ValueError, match=rf"the first at row {where[0]}, column {where[1]}"):
            correlate2d(img, kernel, padding=padding, dilation=dilation, output_dtype=out_dtype)
    # huge finite values overflow the result to inf: that is not the input's fault
    big = np.full((25, 40), 3e38, np.float32)
    assert np.isinf(correlate2d(big, np.ones((3, 3)))).all()


@pytest.mark.parametrize("kshape", [(2, 2), (3, 1), (4, 5), (5, 3), (1, 1)])
@pytest.mark.parametrize("padding", ["same", "valid", "full", (0, 3, 1, 0)])
def test_stride1_row_sampled_check_misses_no_pixel(kshape, padding):
    """Exhaustive: a NaN at any pixel of a small image is caught by the check on every kh-th row."""
    rng = np.random.default_rng(1)
    img = rng.random((11, 13, 2)).astype(np.float32)
    k = rng.random(kshape) + 0.5
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            bad = img.copy()
            bad[y, x, 1] = np.nan
            with pytest.raises(ValueError, match=rf"row {y}, column {x}"):
                correlate2d(bad, k, padding=padding)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("stride", [(2, 2), (3, 2), (2, 3)])
@pytest.mark.parametrize("kind", ["full", "rank-1"])
def test_strided_numba_checks_the_result_when_every_pixel_has_a_weight(bad, stride, kind):
    """Undilated, no zero tap, windows at least the stride: the numba engines leave the row checks
    and test the (1/(sy*sx) as large) result instead, every (kh // sy)-th row of it, plus the pixels
    past the last window on their own. Every position of a small image, both paddings."""
    rng = np.random.default_rng(1)
    k = rng.random((3, 4)) + 0.1 if kind == "full" else np.outer(rng.random(3) + 0.5, rng.random(4) + 0.5)
    eps = cc._kernel_eps(k.dtype)
    factors = cc._rank1(k, eps) if kind == "rank-1" else None
    assert cc._covered(k, factors, stride, (1, 1))
    engine = "numba" if kind == "full" else "numba-separable"
    plan = cc._Plan(np.dtype(np.float32), np.dtype(np.float32))
    for padding in ("same", "valid"):
        pads = _pads(padding, k.shape, (1, 1))
        img = rng.random((11, 13)).astype(np.float32)
        out_shape = output_shape(img.shape, k.shape, stride, pads)
        for y in range(img.shape[0]):
            for x in range(img.shape[1]):
                img[y, x] = bad
                with pytest.raises(ValueError, match=rf"the first at row {y}, column {x}"):
                    cc._run_strided(engine, img, k, eps, factors, pads, "reflect", plan, stride, (1, 1), out_shape,
                                    image=img, check_finite=True)
                img[y, x] = 0.5
    # a zero tap, a dilation or a window narrower than the stride: the rows are checked as read
    assert not cc._covered(np.array([[1.0, 0.0], [1.0, 1.0]]), None, (2, 2), (1, 1))
    assert not cc._covered(np.ones((3, 3)), None, (2, 2), (2, 1))
    assert not cc._covered(np.ones((1, 3)), None, (2, 2), (1, 1))


def test_strided_result_check_lets_finite_overflow_through():
    """A finite image whose weighted sums overflow gives inf outputs: not the input's fault."""
    img = np.full((64, 64), 3e38, np.float32)
    out = cc._run_strided("numba", img, np.ones((3, 3)), cc._EPS64, None, (1, 1, 1, 1), "reflect", F32_PLAN,
                          (2, 2), (1, 1), (32, 32), image=img, check_finite=True)
    assert np.isinf(out).all()
