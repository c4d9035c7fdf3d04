"""cvtools.transform: resize, crop, rotate, flip, pad against numpy / scikit-image references."""
import numpy as np
import pytest
from skimage import transform as sktf

from cvtools.transform import crop, flip, pad, resize, resized_shape, rotate

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
SHAPES = [(12, 16), (12, 16, 3), (12, 16, 4)]


def _img(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_resize_half_is_block_mean(dtype, shape):
    img = _img(shape, dtype)
    before = img.copy()
    out = resize(img, scale=0.5)
    assert out.dtype == img.dtype and out.shape == (6, 8) + shape[2:]
    ref = img.astype(np.float64).reshape(6, 2, 8, 2, *shape[2:]).mean(axis=(1, 3))
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(out, ref, atol=1e-6)
    else:
        assert np.abs(out.astype(np.float64) - ref).max() <= 0.5 + 1e-9
    np.testing.assert_array_equal(img, before)
    assert out.flags.writeable and out.flags.c_contiguous


def test_resize_sizes_and_aspect():
    img = np.zeros((100, 200, 3), np.uint8)
    assert resize(img, width=50).shape == (25, 50, 3)
    assert resize(img, height=30).shape == (30, 60, 3)
    assert resize(img, width=7, height=9).shape == (9, 7, 3)
    assert resize(img, size=(7, 9)).shape == (9, 7, 3)
    assert resize(img, scale=0.333).shape == (33, 67, 3)
    assert resized_shape((1080, 1920), scale=0.25) == (270, 480)


def test_resize_nearest_upscale_repeats_pixels():
    img = _img((3, 4, 3), np.uint8)
    out = resize(img, scale=2, method="nearest")
    np.testing.assert_array_equal(out, img.repeat(2, axis=0).repeat(2, axis=1))


def test_resize_linear_upscale_matches_skimage_interior():
    img = _img((10, 10), np.float32)
    out = resize(img, size=(20, 20), method="linear")
    ref = sktf.resize(img, (20, 20), order=1, anti_aliasing=False, mode="edge")
    np.testing.assert_allclose(out[1:-1, 1:-1], ref[1:-1, 1:-1], atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one"),
    ({"scale": 0.5, "width": 3}, "exactly one"),
    ({"scale": -1}, "scale"),
    ({"width": 0}, "width"),
    ({"size": (3,)}, "size"),
    ({"scale": 0.5, "method": "bogus"}, "method"),
])
def test_resize_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resize(np.zeros((4, 4), np.uint8), **kwargs)


def test_crop_box_and_centre():
    img = _img((10, 12, 3), np.uint16)
    np.testing.assert_array_equal(crop(img, box=(2, 3, 7, 9)), img[3:9, 2:7])
    np.testing.assert_array_equal(crop(img, width=4, height=6), img[2:8, 4:8])
    np.testing.assert_array_equal(crop(img, width=4), img[:, 4:8])
    out = crop(img, box=(0, 0, 12, 10))
    assert out is not img and not np.shares_memory(out, img)


@pytest.mark.parametrize("kwargs, match", [
    ({"box": (0, 0, 13, 5)}, "x1"),
    ({"box": (5, 0, 5, 5)}, "x0 < x1"),
    ({"width": 20}, "width"),
    ({}, "needs"),
    ({"box": (0, 0, 2, 2), "width": 2}, "not both"),
])
def test_crop_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        crop(np.zeros((10, 12), np.uint8), **kwargs)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 4), (6, 6, 3)])
def test_rotate_quarter_turns_are_exact(k, shape):
    img = _img(shape, np.uint8)
    out = rotate(img, 90 * k, expand=True)
    np.testing.assert_array_equal(out, np.rot90(img, k))
    np.testing.assert_array_equal(rotate(img, 360), img)
    np.testing.assert_array_equal(rotate(img, -90, expand=True), np.rot90(img, -1))


def test_rotate_matches_skimage():
    img = _img((21, 25), np.float32)
    out = rotate(img, 30, method="linear")
    ref = sktf.rotate(img, 30, order=1, mode="constant", cval=0)
    # OpenCV interpolates with 1/32-pixel fixed-point weights, hence the tolerance; a half-pixel
    # centre mistake would give errors of ~0.2.
    diff = np.abs(out[6:-6, 6:-6] - ref[6:-6, 6:-6])
    assert diff.max() < 0.03 and diff.mean() < 0.005
    big = rotate(img, 30, expand=True)
    ref_big = sktf.rotate(img, 30, resize=True, order=1)
    assert abs(big.shape[0] - ref_big.shape[0]) <= 1 and abs(big.shape[1] - ref_big.shape[1]) <= 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_rotate_keeps_dtype_and_channels(dtype):
    img = _img((9, 11, 4), dtype)
    out = rotate(img, 17, expand=True, border="edge")
    assert out.dtype == img.dtype and out.shape[2] == 4 and out.shape[:2] != img.shape[:2]
    with pytest.raises(ValueError, match="border"):
        rotate(img, 10, border="mirror")


def test_flip():
    img = _img((4, 5, 3), np.float32)
    np.testing.assert_array_equal(flip(img), img[:, ::-1])
    np.testing.assert_array_equal(flip(img, "vertical"), img[::-1])
    np.testing.assert_array_equal(flip(img, "both"), img[::-1, ::-1])
    with pytest.raises(ValueError, match="direction"):
        flip(img, "diagonal")


@pytest.mark.parametrize("border", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_pad_matches_numpy(border):
    img = _img((4, 5, 3), np.uint8)
    out = pad(img, (1, 2, 3, 4), border=border)
    kw = {"constant_values": 0} if border == "constant" else {}
    np.testing.assert_array_equal(out, np.pad(img, [(1, 2), (3, 4), (0, 0)], mode=border, **kw))
    assert pad(img, 2, border=border).shape == (8, 9, 3)
    assert pad(img, (1, 0), border=border).shape == (6, 5, 3)


def test_pad_value_and_errors():
    img = np.zeros((2, 2), np.uint16)
    assert pad(img, 1, value=65535)[0, 0] == 65535
    with pytest.raises(ValueError, match="value"):
        pad(np.zeros((2, 2), np.uint8), 1, value=300)
    with pytest.raises(ValueError, match="width"):
        pad(img, (1, 2, 3))
    with pytest.raises(ValueError, match="width"):
        pad(img, -1)


# ------------------------------------------------------------------ results too large (issue 16)
_IMG = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("call, match", [
    (lambda: pad(_IMG, 10 ** 6), r"`width` 1000000 would make a 2000032x2000032 image \(4,000,128,001,024 pixels\), "
                                 r"more than the pixel limit 268,435,456; raise it with cvtools.io.set_max_pixels"),
    (lambda: resize(_IMG, scale=1e5), r"`scale` 100000.0 would make a 3200000x3200000 image"),
    (lambda: resize(_IMG, width=10 ** 9), r"`width` 1000000000 would make"),
    (lambda: rotate(np.zeros((1, 10 ** 6), np.uint8), 45, expand=True), r"expand=True would make a 707108x707108"),
])
def test_results_beyond_the_pixel_limit_are_refused(call, match):
    """These leaked numpy's MemoryError or OpenCV's "Insufficient memory" (terabytes asked for)."""
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: __import__("cvtools").convolution.upsample(_IMG, 1e5), r"`factor` 100000.0 would make a 3200000x3200000"),
    (lambda: __import__("cvtools").convolution.upsample(_IMG, size=(10 ** 6, 10 ** 6)), r"`size` \(1000000, 1000000\)"),
    (lambda: __import__("cvtools").convolution.transposed_conv2d(_IMG[..., 0], np.ones((3, 3)), stride=10 ** 6),
     r"`stride` 1000000 with a 3x3 kernel would make a 31000005x31000005 image"),
    (lambda: __import__("cvtools").convolution.pool2d(_IMG, 10 ** 6, padding=10 ** 6 - 1),
     r"`padding` 999999 is more than a 32x32 image needs: at most 32 rows"),
])
def test_resampling_sizes_are_bounded(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_pixel_limit_follows_the_read_limit():
    import cvtools

    before = cvtools.io.get_max_pixels()
    try:
        cvtools.io.set_max_pixels(64 * 64)
        assert resize(_IMG, scale=2).shape == (64, 64, 3)
        with pytest.raises(ValueError, match="more than the pixel limit 4,096"):
            resize(_IMG, scale=2.1)
        cvtools.io.set_max_pixels(None)  # no limit
        assert pad(_IMG, 100).shape == (232, 232, 3)
    finally:
        cvtools.io.set_max_pixels(before)
    from cvtools.convolution import pool2d

    np.testing.assert_array_equal(pool2d(_IMG, 64, padding=32), _IMG.max((0, 1), keepdims=True))  # at the limit
