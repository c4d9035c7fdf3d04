"""cvtools.write: formats, no silent conversions, validation messages, atomicity."""
from __future__ import annotations

import os

import numpy as np
import pytest

import cvtools
from cvtools import ImageWriteError


def _img(shape=(6, 8, 3), dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = {np.uint8: 255, np.uint16: 65535}.get(dtype)
    if top is None:
        return rng.random(shape).astype(dtype)
    return rng.integers(0, top + 1, size=shape, dtype=np.int64).astype(dtype)


@pytest.mark.parametrize("ext,dtype,shape", [
    (".png", np.uint8, (6, 8)), (".png", np.uint8, (6, 8, 3)), (".png", np.uint8, (6, 8, 4)),
    (".png", np.uint16, (6, 8)), (".png", np.uint16, (6, 8, 3)), (".png", np.uint16, (6, 8, 4)),
    (".tif", np.uint8, (6, 8, 3)), (".tiff", np.uint16, (6, 8, 4)), (".tif", np.float32, (6, 8, 3)),
    (".bmp", np.uint8, (6, 8, 3)), (".webp", np.uint8, (6, 8, 4)), (".pgm", np.uint16, (6, 8)),
    (".ppm", np.uint8, (6, 8, 3)),
])
def test_lossless_round_trip(tmp_path, ext, dtype, shape):
    img = _img(shape, dtype)
    path = cvtools.write(tmp_path / f"x{ext}", img)  # WebP without quality is lossless
    assert path.exists()
    out = cvtools.read(path)
    assert out.dtype == img.dtype
    np.testing.assert_array_equal(out, img)


def test_jpeg_quality_and_rgb_order(tmp_path):
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0] = 230  # red
    hi = cvtools.write(tmp_path / "hi.jpg", _img((64, 64, 3)), quality=95)
    lo = cvtools.write(tmp_path / "lo.jpg", _img((64, 64, 3)), quality=10)
    assert lo.stat().st_size < hi.stat().st_size
    red = cvtools.read(cvtools.write(tmp_path / "red.jpg", img))
    assert red[..., 0].mean() > 200 and red[..., 2].mean() < 30


def test_16bit_jpeg_refused_not_converted(tmp_path):
    path = tmp_path / "deep.jpg"
    with pytest.raises(ImageWriteError, match=r"uint16 image to JPEG.*deep.jpg.*stores uint8.*silent conversion"):
        cvtools.write(path, _img(dtype=np.uint16))
    assert not path.exists()


def test_float_png_refused(tmp_path):
    with pytest.raises(ImageWriteError, match=r"float32 image to PNG.*to_uint8\(\)"):
        cvtools.write(tmp_path / "f.png", _img(dtype=np.float32))


def test_rgba_jpeg_refused(tmp_path):
    with pytest.raises(ImageWriteError, match="4-channel image to JPEG"):
        cvtools.write(tmp_path / "a.jpg", _img((6, 8, 4)))


@pytest.mark.parametrize("shape", [(6,), (6, 8, 2), (6, 8, 5), (2, 6, 8, 3), (0, 5)])
def test_bad_shapes(tmp_path, shape):
    with pytest.raises(ValueError, match=r"`image` must be \(H, W\), \(H, W, 3\) RGB or \(H, W, 4\) RGBA.*got shape"):
        cvtools.write(tmp_path / "x.png", np.zeros(shape, np.uint8))


def test_not_an_array(tmp_path):
    with pytest.raises(TypeError, match="`image` must be a numpy array; got list"):
        cvtools.write(tmp_path / "x.png", [[1, 2]])


def test_unknown_extension(tmp_path):
    with pytest.raises(ImageWriteError, match=r"unknown extension '.xyz'; valid: .*\.png"):
        cvtools.write(tmp_path / "x.xyz", _img())


def test_missing_folder(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        cvtools.write(tmp_path / "no" / "x.png", _img())


def test_quality_range(tmp_path):
    with pytest.raises(ValueError, match="`quality` must be an integer in 0..100; got 101"):
        cvtools.write(tmp_path / "x.jpg", _img(), quality=101)


def test_failed_write_keeps_existing_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    good = _img(seed=1)
    cvtools.write(path, good)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ImageWriteError, match="No space left"):
        cvtools.write(path, _img(seed=2))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "new.png"

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cvtools.write(path, _img())
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_failed_validation_never_touches_existing(tmp_path):
    path = tmp_path / "keep.jpg"
    cvtools.write(path, _img())
    before = path.read_bytes()
    with pytest.raises(ImageWriteError):
        cvtools.write(path, _img(dtype=np.uint16))
    assert path.read_bytes() == before


def test_does_not_mutate_input(tmp_path):
    img = _img((6, 8, 4))
    copy = img.copy()
    cvtools.write(tmp_path / "x.png", img)
    np.testing.assert_array_equal(img, copy)


def test_dtype_helpers():
    u8 = np.array([[0, 128, 255]], np.uint8)
    f = cvtools.to_float32(u8)
    assert f.dtype == np.float32 and f[0, 2] == 1.0
    np.testing.assert_array_equal(cvtools.to_uint8(f), u8)
    u16 = np.array([[0, 32768, 65535]], np.uint16)
    np.testing.assert_allclose(cvtools.to_float32(u16), [[0, 32768 / 65535, 1]], rtol=1e-6)
    np.testing.assert_array_equal(cvtools.to_uint8(u16), [[0, 128, 255]])
    np.testing.assert_array_equal(cvtools.to_uint8(np.array([-0.5, 0.2, 1.7])), [0, 51, 255])
    with pytest.raises(TypeError, match="dtype int32"):
        cvtools.to_float32(np.zeros(3, np.int32))
