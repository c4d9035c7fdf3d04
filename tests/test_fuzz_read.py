"""Fuzzing cvtools.read: mutated bytes of every format it reads give an image or an ImageReadError.

Seeds: every file in samples/ that cvtools reads, plus a small file of each format built here.
Hypothesis runs derandomized (a fixed seed) with a fixed example budget, so every run tries the same
inputs; the budget keeps the test near 20 s on the 2-core development machine.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, features

import cvtools
from cvtools import ImageReadError
from cvtools.io import IMAGE_EXTENSIONS

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# A small limit keeps each example's memory low; the guard itself is part of what is fuzzed.
LIMIT = 2 ** 22


def _pil(im, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _built() -> dict[str, bytes]:
    rng = np.random.default_rng(7)
    rgb = np.kron(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), np.ones((4, 4, 1), np.uint8))
    rgba = np.dstack([rgb, rgb[..., :1]])
    im = Image.fromarray(rgb)
    files = {
        "png-rgb": cvtools.io.encode(rgb, ".png"),
        "png-rgba": cvtools.io.encode(rgba, ".png"),
        "png-16": cvtools.io.encode(rgb[..., 0].astype(np.uint16) * 257, ".png"),
        "png-palette": _pil(im.convert("P"), "PNG"),
        "jpeg": cvtools.io.encode(rgb, ".jpg", quality=80),
        "jpeg-progressive": _pil(im, "JPEG", progressive=True),
        "jpeg-gray": _pil(im.convert("L"), "JPEG"),
        "tiff": cvtools.io.encode(rgb, ".tif"),
        "tiff-lzw-oriented": _pil(im, "TIFF", compression="tiff_lzw", tiffinfo={274: 6}),
        "tiff-float": cvtools.io.encode(rgb[..., 0].astype(np.float32) / 255, ".tif"),
        "bmp": cvtools.io.encode(rgb, ".bmp"),
        "bmp-palette": _pil(im.convert("P"), "BMP"),
        "gif": cvtools.io.encode(rgb, ".gif"),
        "webp-lossless": cvtools.io.encode(rgb, ".webp"),
        "webp-lossy": cvtools.io.encode(rgba, ".webp", quality=70),
        "ppm": cvtools.io.encode(rgb, ".ppm"),
        "pgm-16": cvtools.io.encode(rgb[..., 0].astype(np.uint16), ".pgm"),
        "pbm": _pil(im.convert("1"), "PPM"),
        "hdr": cvtools.io.encode(rgb.astype(np.float32) / 255, ".hdr"),
        "exr": cvtools.io.encode(rgb.astype(np.float32) / 255, ".exr"),
        "jp2": _pil(im, "JPEG2000"),
    }
    if features.check("avif"):
        files["avif"] = _pil(im, "AVIF", quality=60)
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.moveaxis(rgb.astype(np.uint16) * 257, -1, 0), planarconfig="separate", photometric="rgb")
    files["tiff-planar16"] = buf.getvalue()
    return files


SEEDS = _built()
SEEDS.update({p.relative_to(SAMPLES).as_posix(): p.read_bytes() for p in sorted(SAMPLES.rglob("*"))
              if p.suffix.lower() in IMAGE_EXTENSIONS})
NAMES = sorted(SEEDS)


def test_every_seed_reads():
    """The unmutated seeds are valid, so what the fuzzer finds comes from its mutations."""
    assert any("/" in n for n in NAMES), "no sample files found in samples/"
    for name in NAMES:
        out = cvtools.read(SEEDS[name], max_pixels=cvtools.io.NO_LIMIT)
        assert out.ndim in (2, 3), name


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(NAMES))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 4))):
        # half the edits land in the first 256 bytes, where the headers are
        end = len(data) if draw(st.booleans()) else min(len(data), 256)
        pos = draw(st.integers(0, max(0, end - 1)))
        op = draw(st.sampled_from(["set", "flip", "cut", "insert", "delete", "repeat"]))
        if op == "set":
            data[pos:pos + 1] = bytes([draw(st.integers(0, 255))])
        elif op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        else:
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 64))]
        if not data:
            break
    return name, bytes(data)


@settings(derandomize=True, max_examples=2500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_read_mutated_bytes_gives_an_image_or_image_read_error(case):
    name, data = case
    try:
        out = cvtools.read(data, max_pixels=LIMIT)
    except ImageReadError:
        return
    assert isinstance(out, np.ndarray), name
    assert out.dtype in (np.uint8, np.uint16, np.float32), (name, out.dtype)
    assert out.ndim == 2 or (out.ndim == 3 and out.shape[2] in (3, 4)), (name, out.shape)
    assert out.shape[0] * out.shape[1] <= LIMIT
