"""The kernel library against OpenCV's kernel builders and textbook properties."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvtools.convolution import correlate2d, kernels as K


@pytest.mark.parametrize("size", [(1, 1), (3, 5), 7])
def test_box(size):
    k = K.box(size)
    shape = size if isinstance(size, tuple) else (size, size)
    assert k.shape == shape
    np.testing.assert_allclose(k, np.ones(shape) / np.prod(shape))


@pytest.mark.parametrize("sigma,size", [(1.0, None), (2.5, 11), ((1.0, 3.0), None), (0.8, (5, 9))])
def test_gaussian_matches_opencv(sigma, size):
    k = K.gaussian(size, sigma=sigma)
    sy, sx = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    h, w = k.shape
    if size is None:
        assert (h, w) == (2 * int(np.ceil(3 * sy)) + 1, 2 * int(np.ceil(3 * sx)) + 1)
    ref = np.outer(cv2.getGaussianKernel(h, sy), cv2.getGaussianKernel(w, sx))
    np.testing.assert_allclose(k, ref, rtol=1e-12, atol=1e-15)
    assert abs(k.sum() - 1) < 1e-12


@pytest.mark.parametrize("size", [3, 5, 7])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_sobel_matches_opencv(size, axis):
    kx, ky = cv2.getDerivKernels(1 if axis == "x" else 0, 1 if axis == "y" else 0, size)
    np.testing.assert_array_equal(K.sobel(axis, size=size), np.outer(ky, kx))


def test_sobel_correlation_matches_cv2_sobel():
    rng = np.random.default_rng(0)
    img = rng.random((20, 30)).astype(np.float32)
    for axis, (dx, dy) in (("x", (1, 0)), ("y", (0, 1))):
        np.testing.assert_allclose(correlate2d(img, K.sobel(axis)),
                                   cv2.Sobel(img, cv2.CV_32F, dx, dy, ksize=3), atol=1e-5)
        np.testing.assert_allclose(correlate2d(img, K.scharr(axis)), cv2.Scharr(img, cv2.CV_32F, dx, dy), atol=1e-5)


def test_derivative_kernels_sum_to_zero_and_are_antisymmetric():
    for k in (K.sobel("x"), K.scharr("y"), K.prewitt("x"), K.prewitt("y"), K.laplacian(),
              K.laplacian(diagonal=True)):
        assert abs(k.sum()) < 1e-12
    for k in (K.sobel("x"), K.scharr("x"), K.prewitt("x")):
        np.testing.assert_array_equal(k, -k[:, ::-1])


def test_laplacian_matches_cv2():
    rng = np.random.default_rng(1)
    img = rng.random((15, 17)).astype(np.float32)
    np.testing.assert_allclose(correlate2d(img, K.laplacian()), cv2.Laplacian(img, cv2.CV_32F, ksize=1), atol=1e-5)


def test_sharpen_and_emboss_keep_flat_areas():
    flat = np.full((6, 6), 100, np.uint8)
    for k in (K.sharpen(), K.sharpen(0.5), K.emboss()):
        assert abs(k.sum() - 1) < 1e-12
        np.testing.assert_array_equal(correlate2d(flat, k), flat)
    np.testing.assert_array_equal(K.sharpen(), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


@pytest.mark.parametrize("angle", [0, 30, 45, 90, 135, -20])
def test_motion_blur(angle):
    k = K.motion_blur(9, angle)
    assert k.shape == (9, 9)
    assert abs(k.sum() - 1) < 1e-12 and (k >= 0).all()
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-12)  # a line through the centre
    # the centre of mass lies on the line, and the spread is along the direction
    y, x = np.mgrid[-4:5, -4:5]
    d = np.array([np.cos(np.radians(angle)), -np.sin(np.radians(angle))])
    along = (k * (x * d[0] + y * d[1]) ** 2).sum()
    across = (k * (x * d[1] - y * d[0]) ** 2).sum()
    assert along > 10 * across
    np.testing.assert_allclose(K.motion_blur(5, 0)[2], np.full(5, 0.2))


@pytest.mark.parametrize("theta,psi,gamma", [(0.0, 0.0, 0.5), (0.7, np.pi / 2, 1.0), (2.0, 0.3, 0.3)])
def test_gabor_matches_opencv(theta, psi, gamma):
    k = K.gabor(21, sigma=3.0, theta=theta, wavelength=6.0, gamma=gamma, psi=psi)
    ref = cv2.getGaborKernel((21, 21), 3.0, theta, 6.0, gamma, psi, ktype=cv2.CV_64F)
    np.testing.assert_allclose(k, ref, atol=1e-12)
    assert K.gabor(sigma=2.0, wavelength=4.0, gamma=0.5).shape == (25, 25)


def test_get_kernel_every_name():
    params = {"gaussian": {"sigma": 1.0}, "gabor": {"sigma": 2.0, "wavelength": 5.0},
              "motion_blur": {"size": 7, "angle": 10}}
    assert set(K.KERNELS) == {"box", "gaussian", "sobel", "scharr", "prewitt", "laplacian", "sharpen", "emboss",
                              "motion_blur", "gabor"}
    for name in K.KERNELS:
        k = K.get_kernel(name, **params.get(name, {}))
        assert k.ndim == 2 and k.dtype == np.float64 and np.isfinite(k).all()
        np.testing.assert_array_equal(k, getattr(K, name)(**params.get(name, {})))


def test_kernel_errors():
    with pytest.raises(ValueError, match="unknown kernel 'blur'; valid: 'box'"):
        K.get_kernel("blur")
    with pytest.raises(TypeError, match=r"get_kernel\('box'\)"):
        K.get_kernel("box", sigma=2)
    with pytest.raises(ValueError, match="`size` must be odd"):
        K.gaussian(4, sigma=1.0)
    with pytest.raises(ValueError, match="`size` must be odd"):
        K.motion_blur(4)
    with pytest.raises(ValueError, match="`size` must be odd"):
        K.sobel("x", size=4)
    with pytest.raises(ValueError, match="`sigma` must be > 0; got 0"):
        K.gaussian(sigma=0)
    with pytest.raises(ValueError, match="`axis` must be 'x'"):
        K.sobel("z")
    with pytest.raises(ValueError, match="`size` must be >= 1"):
        K.box(0)
    with pytest.raises(TypeError, match="`size` must be an int"):
        K.box(2.5)
    with pytest.raises(ValueError, match="`wavelength` must be > 0"):
        K.gabor(sigma=1.0, wavelength=-1)
