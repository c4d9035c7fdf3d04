"""cvtools.read on hostile and unusual files: no wrong pixels, no bombs, no hangs.

Every file is built here (Pillow, tifffile or bytes by hand); each case is compared with an independent
reference (Pillow's or tifffile's decoder, or the exact values written).
"""
from __future__ import annotations

import io
import os
import struct
import threading
import time
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps, features

import cvtools
from cvtools import ImageReadError


def _asym(h=6, w=9, c=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, top, size=shape, endpoint=True, dtype=np.int64).astype(dtype)


def _pil_bytes(im, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _tifffile_bytes(array, **kw) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, array, **kw)
    return buf.getvalue()


# --- TIFF orientation: applied once -------------------------------------------------------------

_TIFF_VARIANTS = {
    "gray": lambda: Image.fromarray(_asym(c=1), "L"),
    "rgb": lambda: Image.fromarray(_asym()),
    "rgba": lambda: Image.fromarray(_asym(c=4), "RGBA"),
    "1bit": lambda: Image.fromarray(_asym(c=1) > 127),
    "g4": lambda: Image.fromarray(_asym(c=1) > 127),
    "16bit": lambda: Image.fromarray(_asym(c=1, dtype=np.uint16)),
}


def _oriented(array, orientation):
    """What a viewer shows for ``array`` stored with ``orientation``: Pillow's exif_transpose of a PNG."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    png = _pil_bytes(Image.fromarray(array), "PNG", exif=exif.tobytes())
    return np.array(ImageOps.exif_transpose(Image.open(io.BytesIO(png))))


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("variant", sorted(_TIFF_VARIANTS))
def test_tiff_orientation_applied_once(variant, orientation):
    im = _TIFF_VARIANTS[variant]()
    stored = np.array(im.convert("L") if im.mode == "1" else im)
    kw = {"compression": "group4"} if variant == "g4" else {}
    data = _pil_bytes(im, "TIFF", tiffinfo={274: orientation}, **kw)
    expected = _oriented(stored, orientation)
    assert expected.shape[:2] == (stored.shape[:2] if orientation < 5 else stored.shape[1::-1])
    out = cvtools.read(data)
    assert out.dtype == stored.dtype
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(cvtools.read(data, orient=False), stored)


@pytest.mark.parametrize("channels", [3, 4])
def test_multipage_tiff_pages_oriented_once_and_exact(channels):
    pages = [Image.fromarray(_asym(c=channels, seed=s)) for s in range(2)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], tiffinfo={274: 6})
    with tifffile.TiffFile(io.BytesIO(buf.getvalue())) as tif:  # which pages carry the tag
        tagged = [p.tags.get(274) is not None and p.tags[274].value == 6 for p in tif.pages]
    assert tagged[0]
    got = list(cvtools.io.read_pages(buf.getvalue()))
    assert len(got) == 2
    for page, out, rotated in zip(pages, got, tagged):
        np.testing.assert_array_equal(out, np.rot90(np.asarray(page), -1) if rotated else np.asarray(page))


# --- planar TIFF, signed and premultiplied samples ----------------------------------------------

@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("layout", [{}, {"tile": (16, 16)}, {"compression": "zlib"}])
def test_planar_16bit_tiff(channels, layout):
    img = _asym(h=20, w=24, c=channels, dtype=np.uint16)
    extra = {"extrasamples": ["unassalpha"]} if channels == 4 else {}
    data = _tifffile_bytes(np.moveaxis(img, -1, 0), planarconfig="separate", photometric="rgb", **layout, **extra)
    np.testing.assert_array_equal(tifffile.imread(io.BytesIO(data)), np.moveaxis(img, -1, 0))  # the reference
    out = cvtools.read(data)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, img)
    pages = list(cvtools.io.read_pages(data))
    np.testing.assert_array_equal(pages[0], img)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_signed_tiff_becomes_float32_same_values(dtype):
    info = np.iinfo(dtype)
    img = np.array([[info.min, -1, 0], [1, 7, info.max]], dtype)
    data = _tifffile_bytes(img)
    out = cvtools.read(data)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, tifffile.imread(io.BytesIO(data)).astype(np.float32))
    np.testing.assert_array_equal(out, img.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
def test_32bit_integer_tiff_refused(dtype):
    data = _tifffile_bytes(np.array([[-(2 ** 30) if dtype == np.int32 else 2 ** 31, 5]], dtype))
    with pytest.raises(ImageReadError, match="int32 samples are outside.*tifffile"):
        cvtools.read(data)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_premultiplied_alpha_tiff_unpremultiplied(dtype):
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(3)
    alpha = rng.integers(0, top, (8, 10), endpoint=True).astype(np.float64)
    alpha[0, :3] = (0, top, 1)
    straight = rng.integers(0, top, (8, 10, 3), endpoint=True).astype(np.float64)
    stored = np.rint(straight * alpha[..., None] / top).astype(dtype)
    data = _tifffile_bytes(np.dstack([stored, alpha.astype(dtype)]), photometric="rgb", extrasamples=["assocalpha"])
    out = cvtools.read(data)
    a = alpha[..., None]
    expected = np.where(a > 0, np.clip(np.rint(stored.astype(float) * top / np.maximum(a, 1)), 0, top), 0)
    expected = expected.astype(dtype)
    np.testing.assert_array_equal(out[..., :3], expected)
    np.testing.assert_array_equal(out[..., 3], alpha.astype(dtype))
    visible = alpha >= top / 4  # where the stored colour still has the precision to recover it
    assert np.abs(out[..., :3].astype(float) - straight)[visible].max() <= 2 * top / (top / 4) + 1
    if dtype == np.uint8:  # Pillow un-premultiplies too (it truncates where cvtools rounds)
        pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")).astype(int)
        assert np.abs(pil - out.astype(int)).max() <= 1


# --- BMP ------------------------------------------------------------------------------------------

def _bmp(width, height, bpp, compression, pixels, masks=b"", header_size=40):
    pad = b"\x00" * (header_size - 40 - len(masks)) if header_size > 40 else b""
    offset = 14 + 40 + len(masks) + len(pad)
    info = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, bpp, compression, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + masks + pad + pixels


@pytest.mark.parametrize("layout", ["565", "555"])
def test_16bit_bmp_full_scale(layout):
    values = np.arange(65536, dtype=np.uint16)
    if layout == "565":
        data = _bmp(256, 256, 16, 3, values.astype("<u2").tobytes(), struct.pack("<III", 0xF800, 0x07E0, 0x001F))
        r, g, b, gmax = (values >> 11) & 31, (values >> 5) & 63, values & 31, 63
    else:
        data = _bmp(256, 256, 16, 0, values.astype("<u2").tobytes())
        r, g, b, gmax = (values >> 10) & 31, (values >> 5) & 31, values & 31, 31
    out = cvtools.read(data)[::-1].reshape(-1, 3).astype(int)  # bottom-up rows
    exact = np.stack([r * 255 / 31, g * 255 / gmax, b * 255 / 31], 1)
    assert np.abs(out - exact).max() <= 1.0  # Pillow's bit replication is within 1 of exact scaling
    white = values == (0xFFFF if layout == "565" else 0x7FFF)
    assert (out[white] == 255).all()
    assert (out[values == 0] == 0).all()


@pytest.mark.parametrize("kind", ["rgb", "bitfields", "v4-no-alpha", "v5"])
def test_32bit_bmp_padding_is_not_alpha(kind):
    pixels = bytes([10, 20, 30, 0, 40, 50, 60, 7])
    masks = struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)
    data = {"rgb": _bmp(2, 1, 32, 0, pixels),
            "bitfields": _bmp(2, 1, 32, 3, pixels, masks),
            "v4-no-alpha": _bmp(2, 1, 32, 3, pixels, masks + b"\x00" * 4, header_size=108),
            "v5": _bmp(2, 1, 32, 0, pixels, header_size=124)}[kind]
    np.testing.assert_array_equal(cvtools.read(data), [[[30, 20, 10], [60, 50, 40]]])


def test_32bit_bmp_with_alpha_mask_keeps_alpha():
    pixels = bytes([10, 20, 30, 128, 40, 50, 60, 255])
    masks = struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000)
    out = cvtools.read(_bmp(2, 1, 32, 3, pixels, masks, header_size=108))
    np.testing.assert_array_equal(out, [[[30, 20, 10, 128], [60, 50, 40, 255]]])


# --- AVIF rotation and mirroring (irot / imir) ------------------------------------------------------

@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_avif_irot_imir_applied(orientation):
    img = np.zeros((32, 48, 3), np.uint8)
    img[:8, :8] = 255  # a white corner that every flip and rotation moves
    img[-8:, :8] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _pil_bytes(Image.fromarray(img), "AVIF", exif=exif.tobytes(), quality=100)
    assert b"irot" in data or b"imir" in data  # Pillow writes the boxes, not an EXIF tag
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")).astype(int)
    out = cvtools.read(data)
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected).mean() < 3
    assert cvtools.read(data, orient=False).shape == img.shape



@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
def test_avif_rotation_never_ignored_silently(monkeypatch):
    """Where Pillow cannot read AVIF (so cannot tell the rotation), a rotated AVIF is an error."""
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _pil_bytes(Image.fromarray(_asym(h=16, w=24)), "AVIF", exif=exif.tobytes())
    plain = _pil_bytes(Image.fromarray(_asym(h=16, w=24)), "AVIF")
    monkeypatch.setattr(cvtools.io._read, "_pillow", lambda data: None)
    with pytest.raises(ImageReadError, match="irot/imir.*upgrade Pillow"):
        cvtools.read(data)
    assert cvtools.read(data, orient=False).shape == (16, 24, 3)
    assert cvtools.read(plain).shape == (16, 24, 3)

# --- JPEG cut short, and JPEG bombs ---------------------------------------------------------------

def _photo(h=300, w=400, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (h // 10, w // 10, 3), dtype=np.uint8), (w, h))


@pytest.mark.parametrize("kw", [{}, {"progressive": True}, {"subsampling": 0}], ids=["baseline", "progressive", "444"])
@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_cut_jpeg_ending_with_eoi_refused(kw, keep):
    data = _pil_bytes(Image.fromarray(_photo()), "JPEG", quality=90, **kw)
    cvtools.read(data)  # the complete file reads
    sos = data.find(b"\xff\xda")
    cut = data[:sos + int((len(data) - sos) * keep)] + b"\xff\xd9"
    with pytest.raises(ImageReadError, match="(truncated or corrupt|corrupt or truncated) JPEG"):
        cvtools.read(cut)
    with pytest.raises(ImageReadError, match="(truncated or corrupt|corrupt or truncated) JPEG"):
        cvtools.read(cut, reduce=2)


def test_cut_jpeg_with_restart_markers_refused_before_decoding(monkeypatch):
    img = _photo()
    data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_RST_INTERVAL, 4])[1].tobytes()
    assert b"\xff\xdd" in data
    cut = data[: len(data) * 6 // 10] + b"\xff\xd9"
    monkeypatch.setattr(cv2, "imdecode", _no_decoder)
    with pytest.raises(ImageReadError, match="restart markers"):
        cvtools.read(cut)


def test_grey_image_is_not_mistaken_for_a_cut_one():
    data = _pil_bytes(Image.new("RGB", (64, 48), (128, 128, 128)), "JPEG", quality=95)
    out = cvtools.read(data)
    assert out.shape == (48, 64, 3) and (out == 128).all()


def _no_decoder(*a, **k):
    raise AssertionError("a decoder ran on a file the header check should have refused")


def _jpeg_declaring(width, height) -> bytes:
    data = bytearray(_pil_bytes(Image.new("RGB", (16, 16), (128, 128, 128)), "JPEG", quality=50))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_tiny_jpeg_declaring_16000x16000_refused_before_decoding(monkeypatch):
    data = _jpeg_declaring(16000, 16000)
    assert len(data) < 1000
    monkeypatch.setattr(cv2, "imdecode", _no_decoder)
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match=r"truncated or corrupt JPEG.*cannot hold.*16000x16000"):
        cvtools.read(data)
    assert time.perf_counter() - start < 0.5


# --- the size guard runs on cvtools' own header parse, for every format ---------------------------

def _hdr_bytes(w, h):
    return cvtools.io.encode(np.ones((h, w, 3), np.float32), ".hdr")


def _sample(fmt):
    """A 30x20 image in each format cvtools reads."""
    rgb = _asym(h=20, w=30)
    if fmt == "png":
        return cvtools.io.encode(rgb, ".png")
    if fmt == "jpeg":
        return cvtools.io.encode(rgb, ".jpg")
    if fmt == "jpeg-progressive":
        return _pil_bytes(Image.fromarray(rgb), "JPEG", progressive=True)
    if fmt == "tiff":
        return cvtools.io.encode(rgb, ".tif")
    if fmt == "bigtiff":
        return _tifffile_bytes(rgb, bigtiff=True, photometric="rgb")
    if fmt == "tiff-be":
        return _tifffile_bytes(rgb, byteorder=">", photometric="rgb")
    if fmt == "bmp":
        return cvtools.io.encode(rgb, ".bmp")
    if fmt == "bmp-core":  # the 12-byte OS/2 header
        return _pil_bytes(Image.fromarray(rgb).convert("P"), "BMP")  # Pillow writes a 40-byte one
    if fmt == "gif":
        return cvtools.io.encode(rgb, ".gif")
    if fmt == "webp-lossless":
        return cvtools.io.encode(rgb, ".webp")
    if fmt == "webp-lossy":
        return cvtools.io.encode(rgb, ".webp", quality=80)
    if fmt == "webp-extended":
        return cvtools.io.encode(np.dstack([rgb, rgb[..., :1]]), ".webp")
    if fmt in ("p2", "p3", "p5", "p6", "p1", "p4"):
        mode = {"p1": "1", "p4": "1", "p2": "L", "p5": "L", "p3": "RGB", "p6": "RGB"}[fmt]
        im = Image.fromarray(rgb).convert(mode)
        raw = _pil_bytes(im, "PPM")
        if fmt in ("p1", "p2", "p3"):  # Pillow writes binary; build the plain (ASCII) form by hand
            arr = np.asarray(im).astype(int)
            if fmt == "p1":
                arr = 1 - arr
            head = {"p1": b"P1\n# a comment\n30 20\n", "p2": b"P2\n30 20\n255\n", "p3": b"P3\n30\n20 255\n"}[fmt]
            return head + " ".join(map(str, arr.ravel())).encode() + b"\n"
        return raw
    if fmt == "hdr":
        return _hdr_bytes(30, 20)
    if fmt == "exr":
        return cvtools.io.encode(rgb.astype(np.float32) / 255, ".exr")
    if fmt == "jp2":
        return _pil_bytes(Image.fromarray(rgb), "JPEG2000")
    if fmt == "j2k":
        return _pil_bytes(Image.fromarray(rgb), "JPEG2000", no_jp2=True)
    if fmt == "avif":
        if not features.check("avif"):
            pytest.skip("this Pillow has no AVIF support")
        return _pil_bytes(Image.fromarray(rgb), "AVIF")
    raise AssertionError(fmt)


FORMATS = ["png", "jpeg", "jpeg-progressive", "tiff", "bigtiff", "tiff-be", "bmp", "gif", "webp-lossless",
           "webp-lossy", "webp-extended", "p1", "p2", "p3", "p4", "p5", "p6", "hdr", "exr", "jp2", "j2k", "avif"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_declared_size_checked_before_any_decoder(fmt, monkeypatch):
    data = _sample(fmt)
    out = cvtools.read(data, max_pixels=600)
    assert out.shape[:2] == (20, 30)
    info = cvtools.io.probe(data)
    assert (info["width"], info["height"]) == (30, 20)
    from PIL import Image as PILImage

    monkeypatch.setattr(cv2, "imdecode", _no_decoder)
    monkeypatch.setattr(PILImage, "open", _no_decoder)
    with pytest.raises(ImageReadError, match=r"too large \(30x20 = 600 pixels declared; limit 599\)"):
        cvtools.read(data, max_pixels=599)


def _chunk(kind: bytes, payload: bytes, crc=None) -> bytes:
    crc = zlib.crc32(kind + payload) if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def test_png_bomb_with_bad_text_crc_refused_before_decoding(monkeypatch):
    """Pillow gives up on the bad CRC; the size must still be read from IHDR."""
    rows = b"\x00" + b"\x00" * (20000 * 3)
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    body = zlib.compress(rows * 200, 9)  # only part of the image: the guard must act on the header
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"tEXt", b"Comment\x00hi", crc=1234)
            + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    monkeypatch.setattr(cv2, "imdecode", _no_decoder)
    with pytest.raises(ImageReadError, match=r"too large \(20000x20000"):
        cvtools.read(data)


def test_radiance_hdr_bomb_refused_before_decoding(monkeypatch):
    data = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 15000 +X 20000\n" + b"\x02\x02\x4e\x20" + b"\x80\x01" * 500_000
    monkeypatch.setattr(cv2, "imdecode", _no_decoder)
    with pytest.raises(ImageReadError, match=r"too large \(20000x15000"):
        cvtools.read(data)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff", "bmp", "gif", "webp-lossless", "p6", "hdr", "exr"])
def test_header_cut_short_is_a_read_error(fmt):
    data = _sample(fmt)
    for n in (4, 9, 17, 30):
        try:
            cvtools.read(data[:n])
        except ImageReadError:
            continue
        raise AssertionError(f"{fmt} cut to {n} bytes was read")


def test_unsupported_formats_refused():
    tga = _pil_bytes(Image.fromarray(_asym()), "TGA")
    assert Image.open(io.BytesIO(tga)).size == (9, 6)  # Pillow reads it; cvtools does not take it
    with pytest.raises(ImageReadError, match="unsupported format.*supported: PNG, JPEG"):
        cvtools.read(tga)


# --- file type and size, before reading -----------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_fifo_named_png_does_not_hang(tmp_path):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    result = {}

    def attempt():
        try:
            cvtools.read(fifo)
        except ImageReadError as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the reader so the thread can end, then fail
        with open(fifo, "wb"):
            pass
        raise AssertionError("cvtools.read hung on a FIFO")
    assert "x.png" in result["error"] and "FIFO" in result["error"]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_dev_zero_refused():
    with pytest.raises(ImageReadError, match="/dev/zero.*character device"):
        cvtools.read("/dev/zero")


def test_huge_sparse_file_refused_before_reading(tmp_path):
    path = tmp_path / "big.png"
    with open(path, "wb") as fh:
        fh.write(cvtools.io.encode(_asym(), ".png"))
        fh.truncate(3 * 10 ** 9)  # sparse: no disk space used
    with pytest.raises(ImageReadError, match=r"big.png.*too large \(3,000,000,000 bytes; limit 1,073,741,824\)"):
        cvtools.read(path)
    with pytest.raises(ImageReadError, match="too large"):
        cvtools.io.probe(path)


def test_max_bytes_configurable(tmp_path):
    data = cvtools.io.encode(_asym(), ".png")
    path = tmp_path / "small.png"
    path.write_bytes(data)
    n = len(data)
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(ImageReadError, match=f"too large.*{n - 1}"):
            cvtools.read(source, max_bytes=n - 1)
    assert cvtools.read(path, max_bytes=n).shape == (6, 9, 3)
    assert cvtools.read(path, max_bytes=cvtools.io.NO_LIMIT).shape == (6, 9, 3)
    old = cvtools.io.get_max_bytes()
    try:
        cvtools.io.set_max_bytes(10)
        with pytest.raises(ImageReadError, match="limit 10\\b"):
            cvtools.read(path)
    finally:
        cvtools.io.set_max_bytes(old)
    assert cvtools.read(path).shape == (6, 9, 3)


def test_read_pages_checks_every_page():
    pages = [Image.fromarray(_asym(h=4, w=5)), Image.fromarray(_asym(h=40, w=50))]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    with pytest.raises(ImageReadError, match=r"50x40 = 2,000 pixels declared by a page"):
        list(cvtools.io.read_pages(buf.getvalue(), max_pixels=1000))
    assert cvtools.read(buf.getvalue(), max_pixels=1000).shape == (4, 5, 3)


def test_no_opencv_log_lines_reach_the_terminal_on_damaged_files(tmp_path):
    """cvtools reports a damaged file itself (ImageReadError); OpenCV's own log lines
    (``[ WARN:0@...]``, ``[ERROR:0@...] ... WebPDecoder::readHeader``) must not reach stderr. Cut and
    scrambled files of every format cvtools writes, read in a child process (C-level stderr)."""
    import subprocess
    import sys

    rng = np.random.default_rng(5)
    image = _photo(120, 160)
    paths = []
    for ext in (".png", ".jpg", ".webp", ".tif", ".bmp", ".jp2", ".avif", ".ppm", ".exr", ".hdr"):
        src = tmp_path / f"ok{ext}"
        try:
            cvtools.write(src, image if ext not in (".exr", ".hdr") else image.astype(np.float32) / 255)
        except (OSError, ValueError, ImportError):
            continue  # a format this build cannot write
        data = src.read_bytes()
        for i, cut in enumerate((len(data) // 2, 40, len(data) - 7)):
            bad = bytearray(data[:cut])
            if i == 2:
                pos = rng.integers(16, len(bad), 24)
                bad[pos[0]:pos[0] + 1] = b"\xff"
                for p in pos[1:]:
                    bad[p] ^= 0x5A
            path = tmp_path / f"bad{i}{ext}"
            path.write_bytes(bytes(bad))
            paths.append(str(path))
    assert len(paths) >= 15
    code = ("import sys, cvtools\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n"
            "        cvtools.read(p)\n"
            "    except (cvtools.ImageReadError, ValueError):\n"
            "        pass\n")
    res = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "[ WARN" not in res.stderr and "[ERROR" not in res.stderr and "WARN:0" not in res.stderr, res.stderr
