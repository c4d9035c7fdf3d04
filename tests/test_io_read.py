"""cvtools.read: formats, bit depths, channels, EXIF orientation, inputs, and every error path."""
from __future__ import annotations

import io
import math
import struct
import warnings
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

import cvtools
from cvtools import ImageReadError, CvtoolsError


def _asym(h=6, w=9, c=3, dtype=np.uint8, seed=0):
    """A small image with no symmetry, so any flip or rotation changes it."""
    rng = np.random.default_rng(seed)
    top = 255 if dtype == np.uint8 else 65535
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, top + 1, size=shape, dtype=np.int64).astype(dtype)


def _pil_bytes(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


# --- formats and bit depths -------------------------------------------------------------------

@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_written_by_opencv_reads_as_rgb_exact(tmp_path, c, dtype):
    img = _asym(c=c, dtype=dtype)
    bgr = img if c == 1 else img[..., [2, 1, 0] + ([3] if c == 4 else [])]
    path = tmp_path / "x.png"
    assert cv2.imwrite(str(path), bgr)
    out = cvtools.read(path)
    assert out.dtype == dtype and out.shape == img.shape
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("c", [1, 3])
def test_16bit_tiff_kept(tmp_path, c):
    img = _asym(c=c, dtype=np.uint16)
    path = tmp_path / "x.tif"
    cvtools.write(path, img)
    out = cvtools.read(path)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, img)


def test_float_tiff_kept_float32(tmp_path):
    img = np.linspace(-0.5, 2.0, 30, dtype=np.float32).reshape(5, 6)
    path = tmp_path / "f.tif"
    cvtools.write(path, img)
    out = cvtools.read(path)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, img)  # no clipping, no rescaling


def test_exr_float32(tmp_path):
    img = np.random.default_rng(1).random((4, 5, 3)).astype(np.float32) * 10
    path = tmp_path / "x.exr"
    cvtools.write(path, img)
    np.testing.assert_array_equal(cvtools.read(path), img)


def test_rgba_png_from_pillow(tmp_path):
    img = _asym(c=4)
    path = tmp_path / "rgba.png"
    Image.fromarray(img, "RGBA").save(path)
    np.testing.assert_array_equal(cvtools.read(path), img)


def test_gray_png_stays_2d(tmp_path):
    img = _asym(c=1)
    path = tmp_path / "g.png"
    Image.fromarray(img, "L").save(path)
    out = cvtools.read(path)
    assert out.ndim == 2
    np.testing.assert_array_equal(out, img)


def test_gray_alpha_png_becomes_rgba(tmp_path):
    gray, alpha = _asym(c=1, seed=1), _asym(c=1, seed=2)
    path = tmp_path / "la.png"
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(path)
    out = cvtools.read(path)
    assert out.shape == gray.shape + (4,)
    for ch in range(3):
        np.testing.assert_array_equal(out[..., ch], gray)
    np.testing.assert_array_equal(out[..., 3], alpha)


def test_palette_png_expanded_to_rgb(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[:2] = (255, 0, 0)
    rgb[2:, :3] = (0, 128, 255)
    im = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    path = tmp_path / "p.png"
    im.save(path)
    out = cvtools.read(path)
    np.testing.assert_array_equal(out, np.asarray(im.convert("RGB")))


def test_palette_png_with_transparency_becomes_rgba(tmp_path):
    im = Image.new("P", (5, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.info["transparency"] = 0
    path = tmp_path / "pt.png"
    im.save(path, transparency=0)
    out = cvtools.read(path)
    assert out.shape == (4, 5, 4)
    assert tuple(out[1, 1]) == (0, 255, 0, 255)
    assert tuple(out[0, 0]) == (255, 0, 0, 0)


def test_cmyk_jpeg_reads_as_rgb(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:8] = (200, 30, 30)
    rgb[8:] = (30, 30, 200)
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    out = cvtools.read(path)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    reference = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert np.abs(out.astype(int) - reference).max() <= 8
    assert out[2, 2, 0] > 150 and out[12, 12, 2] > 150  # red stays red, blue stays blue


@pytest.mark.parametrize("ext,kw", [(".bmp", {}), (".webp", {"lossless": True}), (".ppm", {}), (".gif", {})])
def test_other_formats(tmp_path, ext, kw):
    img = _asym(c=3)
    if ext == ".gif":
        img = np.zeros((6, 9, 3), np.uint8)
        img[:, :4] = (10, 200, 30)
    path = tmp_path / f"x{ext}"
    Image.fromarray(img).save(path, **kw)
    np.testing.assert_array_equal(cvtools.read(path), img)


def test_pgm_16bit(tmp_path):
    img = _asym(c=1, dtype=np.uint16)
    path = tmp_path / "x.pgm"
    cv2.imwrite(str(path), img)
    out = cvtools.read(path)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, img)


def test_gif_first_frame_and_read_pages(tmp_path):
    frames = [Image.new("RGB", (8, 6), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    first = cvtools.read(path)
    assert tuple(first[0, 0]) == (255, 0, 0)
    pages = list(cvtools.io.read_pages(path))
    assert len(pages) == 2 and tuple(pages[1][0, 0]) == (0, 0, 255)


def test_multipage_tiff_first_page_and_pages(tmp_path):
    pages = [_asym(c=1, dtype=np.uint16, seed=s) for s in range(3)]
    path = tmp_path / "multi.tif"
    assert cv2.imwritemulti(str(path), pages)
    np.testing.assert_array_equal(cvtools.read(path), pages[0])
    got = list(cvtools.io.read_pages(path))
    assert len(got) == 3
    for a, b in zip(got, pages):
        assert a.dtype == np.uint16
        np.testing.assert_array_equal(a, b)


# --- EXIF orientation -------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    img = _asym(h=5, w=8, c=3)
    im = Image.fromarray(img)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"
    im.save(path, exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    out = cvtools.read(path)
    np.testing.assert_array_equal(out, expected)
    # orient=False gives the stored pixels untouched
    np.testing.assert_array_equal(cvtools.read(path, orient=False), img)


def test_exif_rotated_jpeg(tmp_path):
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :20] = (255, 0, 0)  # a red band on the stored image's left
    exif = Image.Exif()
    exif[0x0112] = 6  # viewer rotates 90 degrees clockwise
    path = tmp_path / "rot.jpg"
    Image.fromarray(img).save(path, exif=exif.tobytes(), quality=95)
    out = cvtools.read(path)
    assert out.shape == (80, 40, 3)
    assert out[5, 20, 0] > 200 and out[75, 20, 0] < 60  # the band is now on top
    assert cvtools.read(path, orient=False).shape == (40, 80, 3)


# --- modes ------------------------------------------------------------------------------------

def test_modes(tmp_path):
    rgb = _asym(c=3)
    path = tmp_path / "c.png"
    cvtools.write(path, rgb)
    np.testing.assert_array_equal(cvtools.read(path, "rgb"), rgb)
    rgba = cvtools.read(path, "rgba")
    assert rgba.shape == rgb.shape[:2] + (4,) and (rgba[..., 3] == 255).all()
    np.testing.assert_array_equal(cvtools.read(path, "gray"), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    gray_path = tmp_path / "g16.png"
    g16 = _asym(c=1, dtype=np.uint16)
    cvtools.write(gray_path, g16)
    as_rgb = cvtools.read(gray_path, "rgb")
    assert as_rgb.dtype == np.uint16 and as_rgb.shape == g16.shape + (3,)
    assert (cvtools.read(gray_path, "rgba")[..., 3] == 65535).all()


def test_unknown_mode(tmp_path):
    path = tmp_path / "c.png"
    cvtools.write(path, _asym())
    with pytest.raises(ValueError, match="unknown mode 'bgr'.*'rgb'"):
        cvtools.read(path, "bgr")


def test_reduce_decodes_jpeg_smaller(tmp_path):
    img = np.full((64, 96, 3), 120, np.uint8)
    path = tmp_path / "r.jpg"
    cvtools.write(path, img)
    assert cvtools.read(path, reduce=2).shape == (32, 48, 3)
    assert cvtools.read(path, reduce=4).shape == (16, 24, 3)
    png = tmp_path / "r.png"
    cvtools.write(png, img)
    assert cvtools.read(png, reduce=2).shape == (32, 48, 3)
    with pytest.raises(ValueError, match="`reduce` must be 1, 2, 4 or 8; got 3"):
        cvtools.read(path, reduce=3)


# --- inputs -----------------------------------------------------------------------------------

def test_unicode_and_space_path_str_and_pathlib(tmp_path):
    img = _asym()
    folder = tmp_path / "données été" / "日本 語"
    folder.mkdir(parents=True)
    path = folder / "ïmage ü 1.png"
    cvtools.write(path, img)
    np.testing.assert_array_equal(cvtools.read(path), img)
    np.testing.assert_array_equal(cvtools.read(str(path)), img)


def test_bytes_and_file_object(tmp_path):
    img = _asym()
    data = cvtools.io.encode(img, ".png")
    np.testing.assert_array_equal(cvtools.read(data), img)
    np.testing.assert_array_equal(cvtools.read(io.BytesIO(data)), img)
    path = tmp_path / "f.png"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        np.testing.assert_array_equal(cvtools.read(fh), img)


def test_text_mode_file_object_refused(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello")
    with open(path) as fh, pytest.raises(TypeError, match="binary mode"):
        cvtools.read(fh)


def test_bad_source_type():
    with pytest.raises(TypeError, match="`source` must be a path.*got int"):
        cvtools.read(3)


# --- errors -----------------------------------------------------------------------------------

def _assert_read_error(source, match):
    with pytest.raises(ImageReadError, match=match) as info:
        cvtools.read(source)
    assert isinstance(info.value, OSError) and isinstance(info.value, CvtoolsError)
    return info.value


def test_missing_file(tmp_path):
    err = _assert_read_error(tmp_path / "nope.png", "no such file")
    assert "nope.png" in str(err)


def test_directory(tmp_path):
    _assert_read_error(tmp_path, "is a directory")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    _assert_read_error(path, r"empty.jpg.*empty \(0 bytes\)")


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 20)
    _assert_read_error(path, "notes.jpg.*not an image")


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    data = cvtools.io.encode(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), ".jpg")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    _assert_read_error(path, "cut.jpg.*truncated")


def test_truncated_jpeg_with_exif_thumbnail(tmp_path):
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    thumb = io.BytesIO()
    im.resize((16, 16)).save(thumb, "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 1
    full = _pil_bytes(im, "JPEG", exif=exif.tobytes())
    cvtools.read(full)  # complete file reads
    _assert_read_error(full[: len(full) - 200], "truncated")


def test_truncated_png(tmp_path):
    data = cvtools.io.encode(_asym(h=32, w=32), ".png")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) - 30])
    _assert_read_error(path, "cut.png.*truncated")


def test_corrupt_png_body(tmp_path):
    data = bytearray(cvtools.io.encode(_asym(h=32, w=32), ".png"))
    start = data.index(b"IDAT") + 8
    data[start:start + 40] = b"\x00" * 40
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    _assert_read_error(path, "bad.png.*corrupt")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def test_huge_declared_size_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    _assert_read_error(path, r"bomb.png.*too large \(100000x100000")


def test_max_pixels_configurable(tmp_path):
    path = tmp_path / "small.png"
    cvtools.write(path, _asym(h=10, w=10))
    with pytest.raises(ImageReadError, match="too large.*limit 50"):
        cvtools.read(path, max_pixels=50)
    assert cvtools.read(path, max_pixels=cvtools.io.NO_LIMIT).shape == (10, 10, 3)
    old = cvtools.io.get_max_pixels()
    try:
        cvtools.io.set_max_pixels(99)
        for default in ({}, {"max_pixels": None}):  # None is the global limit, not "no limit"
            with pytest.raises(ImageReadError, match="too large.*limit 99.*max_pixels=cvtools.io.NO_LIMIT"):
                cvtools.read(path, **default)
        assert cvtools.read(path, max_pixels=math.inf).shape == (10, 10, 3)  # NO_LIMIT is math.inf
        cvtools.io.set_max_pixels(cvtools.io.NO_LIMIT)
        assert cvtools.io.get_max_pixels() is None
        assert cvtools.read(path).shape == (10, 10, 3)
    finally:
        cvtools.io.set_max_pixels(old)
    assert cvtools.read(path).shape == (10, 10, 3)


def test_limit_minus_one_is_deprecated(tmp_path):
    path = tmp_path / "small.png"
    cvtools.write(path, _asym(h=10, w=10))
    for option in ("max_pixels", "max_bytes"):
        with pytest.warns(DeprecationWarning, match=f"`{option}=-1` is deprecated.*NO_LIMIT") as caught:
            assert cvtools.read(path, **{option: -1}).shape == (10, 10, 3)
        assert caught[0].filename == __file__  # points at the caller
    with pytest.warns(DeprecationWarning, match="max_pixels=-1"):
        assert len(list(cvtools.io.read_pages(path, max_pixels=-1))) == 1
    with pytest.warns(DeprecationWarning, match="max_bytes=-1"):
        assert cvtools.io.probe(path, max_bytes=-1)["width"] == 10
    old = cvtools.io.get_max_pixels()
    try:
        cvtools.io.set_max_pixels(50)
        with pytest.warns(DeprecationWarning), pytest.raises(ImageReadError, match="limit 50"):
            cvtools.read(path, max_pixels=-1)  # -1 still means the global limit
    finally:
        cvtools.io.set_max_pixels(old)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "100", True, float("nan")])
def test_limit_rejects_other_values(tmp_path, bad):
    path = tmp_path / "small.png"
    cvtools.write(path, _asym(h=10, w=10))
    with pytest.raises(ValueError, match=r"`max_pixels` must be a positive integer, cvtools.io.NO_LIMIT or None"):
        cvtools.read(path, max_pixels=bad)
    with pytest.raises(ValueError, match=r"`max_bytes` must be"):
        cvtools.read(path, max_bytes=bad)
    with pytest.raises(ValueError, match=r"`limit` must be"):
        cvtools.io.set_max_pixels(bad)


def test_probe_reads_header_only(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 50_000))
    info = cvtools.io.probe(path)
    assert (info["width"], info["height"], info["format"]) == (100_000, 50_000, "PNG")


def test_a_corrupt_exif_block_warns_once_naming_the_file(tmp_path):
    # issue #14: a bad EXIF block is no longer read as orientation 1 without a word
    import io

    import PIL.Image

    from cvtools._shared import ImageMetadataWarning

    buf = io.BytesIO()
    PIL.Image.new("RGB", (4, 3), (200, 10, 10)).save(buf, "JPEG")
    data = buf.getvalue()
    payload = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x02\x00\x12\x01\x03\x00"  # two IFD entries, cut short
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    path = tmp_path / "bad_exif.jpg"
    path.write_bytes(data[:2] + app1 + data[2:])
    with pytest.warns(ImageMetadataWarning, match=r"bad_exif\.jpg.*EXIF block is corrupt") as got:
        img = cvtools.read(path)
    assert img.shape == (3, 4, 3) and len(got) == 1


def test_decoding_silences_only_what_cvtools_handles(tmp_path, monkeypatch):
    """Pillow's own bomb warning is covered by max_pixels; any other warning from a decoder reaches the caller."""
    import PIL.Image

    frames = [Image.fromarray(_asym(h=20, w=30, seed=s)) for s in range(2)]
    path = tmp_path / "two.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 500)  # 600 pixels: Pillow would warn (filterwarnings=error)
    assert cvtools.read(path).shape == (20, 30, 3)
    assert [p.shape for p in cvtools.io.read_pages(path)] == [(20, 30, 3)] * 2
    monkeypatch.undo()

    import cvtools.io._read as read_module

    decode = read_module._decode_opencv

    def noisy(data):
        warnings.warn("a decoder said something", RuntimeWarning)
        return decode(data)

    monkeypatch.setattr(read_module, "_decode_opencv", noisy)
    png = tmp_path / "small.png"
    cvtools.write(png, _asym())
    with pytest.warns(RuntimeWarning, match="a decoder said something"):
        assert cvtools.read(png).shape == (6, 9, 3)
