"""Hostile and broken model files: each is refused at load with a clear ModelFileError, before anything
is decompressed, allocated or built beyond the documented limits (issue 16)."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import cvtools
from cvtools import recognize
from cvtools.recognize._cnn import state_shapes
from cvtools.recognize._features import hog_length
from cvtools.recognize._modelfile import MAX_MODEL_BYTES

SIZE = (16, 16)
CLASSES = ["bars", "dark"]
ARCH = {"widths": [8, 8], "blocks": 1, "dropout": 0.0, "stem_stride": 1}


def _hog_parts(classes=CLASSES, size=SIZE):
    rng = np.random.default_rng(0)
    d = hog_length(size)
    k = 1 if len(classes) == 2 else len(classes)
    meta = {"format": "cvtools.recognize", "version": 1, "method": "hog-svm", "classes": list(classes),
            "image_size": list(size), "channels": 1, "info": {"seed": 0},
            "hog": {"orientations": 9, "cells": 8, "cells_per_block": 2}}
    arrays = {"mean": rng.random(d), "scale": rng.random(d) + 0.5, "coef": rng.normal(size=(k, d)),
              "intercept": rng.normal(size=k), "calib_a": -np.ones(k), "calib_b": np.zeros(k)}
    return meta, arrays


def _cnn_parts(classes=CLASSES, size=SIZE, arch=ARCH, channels=3):
    rng = np.random.default_rng(0)
    meta = {"format": "cvtools.recognize", "version": 1, "method": "cnn", "classes": list(classes),
            "image_size": list(size), "channels": channels, "info": {}, "arch": dict(arch)}
    arrays = {"norm_mean": np.full(channels, 0.5, np.float32), "norm_std": np.full(channels, 0.25, np.float32)}
    for name, shape in state_shapes(arch, channels, len(classes)).items():
        if name.endswith("num_batches_tracked"):
            arrays[f"w.{name}"] = np.array([3], np.int64)
        elif name.endswith("running_var"):
            arrays[f"w.{name}"] = rng.random(shape).astype(np.float32) + 0.5
        else:
            arrays[f"w.{name}"] = rng.normal(0, 0.1, shape).astype(np.float32)
    return meta, arrays


def _write(path, meta, arrays, *, raw_meta: bytes | None = None):
    raw = json.dumps(meta).encode() if raw_meta is None else raw_meta
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.frombuffer(raw, np.uint8), **arrays)
    return path


def _zip(path, entries):
    """A zip written by hand: entries are (name, payload, uncompressed size, crc, method)."""
    out, central = bytearray(), bytearray()
    for name, payload, usize, crc, method in entries:
        n = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(payload), usize,
                           len(n), 0) + n + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc,
                               len(payload), usize, len(n), 0, 0, 0, 0, 0, offset) + n
    cd_offset = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                                 cd_offset, 0)
    path.write_bytes(bytes(out))
    return path


def _npy_header(shape, descr="<f8") -> bytes:
    from numpy.lib import format as npy
    import io

    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _stored(name, data: bytes):
    return (name, data, len(data), zlib.crc32(data), 0)


def _meta_entry(meta=None):
    raw = json.dumps(meta or _hog_parts()[0]).encode()
    return _stored("__meta__.npy", _npy_header((len(raw),), "|u1") + raw)


def _zip_bomb(path, total: int = 1_870_000_000):
    """A real deflate bomb: ``total`` bytes of float64 zeros in about 1.6 MB (the issue's file)."""
    header = _npy_header((total // 8,))
    chunk = bytes(1 << 24)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)  # identical for every full chunk
    n_full, rest = divmod(total, len(chunk))
    tail = co.compress(chunk[:rest]) + co.flush()
    crc = zlib.crc32(header)
    for _ in range(n_full):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(chunk[:rest], crc)
    payload = head + block * n_full + tail
    return _zip(path, [_meta_entry(), ("coef.npy", payload, len(header) + total, crc, 8)])


# ------------------------------------------------------------------------------------------ cases
def _set(key, value, parts=_hog_parts):
    def make(tmp):
        meta, arrays = parts()
        meta[key] = value
        return _write(tmp / "m.npz", meta, arrays)
    return make


def _arrays(fn, parts=_hog_parts):
    def make(tmp):
        meta, arrays = parts()
        fn(arrays)
        return _write(tmp / "m.npz", meta, arrays)
    return make


def _raw(text: bytes):
    def make(tmp):
        return _write(tmp / "m.npz", {}, _hog_parts()[1], raw_meta=text)
    return make


def _meta_text(old: str, new: str):
    def make(tmp):
        meta, arrays = _hog_parts()
        return _write(tmp / "m.npz", meta, arrays, raw_meta=json.dumps(meta).replace(old, new).encode())
    return make


def _del_arch_key(key):
    def make(tmp):
        meta, arrays = _cnn_parts()
        del meta["arch"][key]
        return _write(tmp / "m.npz", meta, arrays)
    return make


def _cnn_arch(**change):
    def make(tmp):
        arch = {**ARCH, **change}
        meta, arrays = _cnn_parts()
        meta["arch"] = arch
        return _write(tmp / "m.npz", meta, arrays)
    return make


def _nan(key, parts):
    def fn(arrays):
        arrays[key] = arrays[key].copy()
        arrays[key].flat[0] = np.nan
    return _arrays(fn, parts)


def _single_class(tmp):
    meta, arrays = _hog_parts(classes=["only"])
    return _write(tmp / "m.npz", meta, arrays)


def _lying_header(tmp):
    # the .npy header declares 1e12 float64s; the entry holds 80 bytes: refused before any allocation
    return _zip(tmp / "m.npz", [_meta_entry(), _stored("coef.npy", _npy_header((10 ** 12,)) + bytes(80))])


def _lying_directory(tmp):
    # the central directory declares a small entry whose deflate stream inflates to 64 MiB
    data = _npy_header((1764,)) + bytes(1 << 26)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = comp.compress(data) + comp.flush()
    small = data[:len(_npy_header((1764,))) + 1764 * 8]
    return _zip(tmp / "m.npz", [_meta_entry(), ("coef.npy", payload, len(small), zlib.crc32(data), 8)])


def _object_array(tmp):
    return _zip(tmp / "m.npz", [_meta_entry(), _stored("coef.npy", _npy_header((1,), "|O") + b"\x80\x04N.")])


def _huge_meta(tmp):
    raw = b'{"info": "' + b"x" * (5 << 20) + b'"}'
    return _zip(tmp / "m.npz", [_stored("__meta__.npy", _npy_header((len(raw),), "|u1") + raw)])


def _text_entry(tmp):
    return _zip(tmp / "m.npz", [_meta_entry(), _stored("readme.txt", b"hello")])


CASES = {
    "version abc": (_set("version", "abc"), "version must be an integer"),
    "version [1]": (_set("version", [1]), "version must be an integer"),
    "version 1e999": (_meta_text('"version": 1,', '"version": 1e999,'), "version must be an integer"),
    "version true": (_set("version", True), "version must be an integer"),
    "version 0": (_set("version", 0), "version must be an integer >= 1"),
    "newer version": (_set("version", 99), "written by a newer cvtools"),
    "meta is a list": (_raw(b"[1, 2, 3]"), "header must be an object; got list"),
    "meta nested 100k deep": (_raw(b'{"info": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "nested too deeply"),
    "meta nested 40 deep": (_raw(b'{"info": ' + b"[" * 40 + b"]" * 40 + b"}"), "nested too deeply"),
    "meta not json": (_raw(b"{not json"), "JSON header cannot be parsed"),
    "meta not utf-8": (_raw(b"\xff\xfe{}"), "JSON header cannot be parsed"),
    "wrong format": (_set("format", "sklearn"), "format 'sklearn'"),
    "unknown method": (_set("method", "svm"), "unknown method 'svm'"),
    "classes null": (_set("classes", None), "`classes` must be a list of names; got None"),
    "classes numbers": (_set("classes", [1, 2]), "`classes` must be a list of names"),
    "duplicate classes": (_set("classes", ["a", "a"]), "duplicate"),
    "single class": (_single_class, "needs 2 to 100,000 classes; got 1"),
    "channels 7": (_set("channels", 7), "`channels` must be 1 or 3; got 7"),
    "image_size 60000": (_set("image_size", [60000, 60000]), "`image_size` must be .* 8..1024"),
    "image_size float": (_set("image_size", [16.0, 16]), "`image_size` must be"),
    "info a list": (_set("info", [1]), "`info` must be an object"),
    "hog params": (_set("hog", {"orientations": 12}), "`hog` parameters"),
    "truncated coef": (_arrays(lambda a: a.update(coef=a["coef"][:, :-7])), r"'coef' has shape \(1, 1757\)"),
    "coef missing": (_arrays(lambda a: a.pop("coef")), "'coef' is missing"),
    "calib half": (_arrays(lambda a: a.pop("calib_b")), "without its partner"),
    "NaN weights (hog)": (_nan("coef", _hog_parts), "'coef' contains NaN"),
    "inf mean": (_arrays(lambda a: a.update(mean=np.full_like(a["mean"], np.inf))), "'mean' contains NaN or inf"),
    "zero scale": (_arrays(lambda a: a["scale"].__setitem__(3, 0.0)), "'scale' contains zeros"),
    "int coef": (_arrays(lambda a: a.update(coef=a["coef"].astype(np.int64))), "'coef' has dtype int64"),
    "extra array": (_arrays(lambda a: a.update(junk=np.zeros(3))), "unexpected arrays 'junk'"),
    "arch without stem_stride": (_del_arch_key("stem_stride"), "`arch` lacks stem_stride"),
    "arch not an object": (_set("arch", [8, 8], _cnn_parts), "`arch` must be an object"),
    "arch widths huge": (_cnn_arch(widths=[10 ** 9]), r"`arch.widths` must be 1 to 8 integers in 1..1024"),
    "arch blocks": (_cnn_arch(blocks=10 ** 6), r"`arch.blocks` must be an integer in 1..8"),
    "arch dropout": (_cnn_arch(dropout=float("nan")), r"`arch.dropout` must be a number in \[0, 1\)"),
    "arch stride": (_cnn_arch(stem_stride=0), r"`arch.stem_stride` must be 1 or 2"),
    "cnn weights for another arch": (_cnn_arch(widths=[8, 16]), r"has shape .*; expected"),
    "NaN weights (cnn)": (_nan("w.stem.0.weight", _cnn_parts), "'w.stem.0.weight' contains NaN"),
    "negative variance": (_arrays(lambda a: a["w.stem.1.running_var"].__setitem__(0, -1.0), _cnn_parts),
                          "negative variances"),
    "zero norm_std": (_arrays(lambda a: a["norm_std"].__setitem__(0, 0.0), _cnn_parts), "'norm_std' must be > 0"),
    "cnn missing weight": (_arrays(lambda a: a.pop("w.fc.bias"), _cnn_parts), "'w.fc.bias' is missing"),
    "npy header lies": (_lying_header, "declares 8,000,000,000,000 bytes"),
    "central directory lies": (_lying_directory, "cannot be read: Bad CRC-32"),
    "object array": (_object_array, "dtype object; only plain numeric arrays"),
    "meta of 5 MiB": (_huge_meta, "'__meta__' declares 5,242,\\d+ bytes .*; at most 4,194,304"),
    "not an npy entry": (_text_entry, "'readme.txt' is not a .npy array"),
    "zip bomb": (lambda tmp: _zip_bomb(tmp / "m.npz"),
                 f"declare 1,870,000,\\d+ bytes uncompressed; at most {MAX_MODEL_BYTES:,} are allowed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_model_file_is_refused_clearly(tmp_path, case):
    make, reason = CASES[case]
    path = make(tmp_path)
    with pytest.raises(recognize.ModelFileError, match="is not a valid cvtools model file: .*" + reason) as err:
        recognize.load(path)
    assert isinstance(err.value, ValueError) and isinstance(err.value, cvtools.CvtoolsError)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("parts", [_hog_parts, _cnn_parts])
def test_crafted_valid_files_load(tmp_path, parts):
    """The crafted files above differ from a valid one only by the named defect."""
    meta, arrays = parts()
    clf = recognize.load(_write(tmp_path / "ok.npz", meta, arrays))
    assert clf.classes == CLASSES and clf.image_size == SIZE


def test_zip_bomb_is_refused_without_inflating(tmp_path):
    """The 1.6 MB bomb declaring 1.87 GB: refused from the central directory, peak memory stays small."""
    path = _zip_bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 3_000_000
    # VmHWM (peak resident memory) belongs to the new process image; ru_maxrss would include the parent's
    code = ("import sys; from cvtools import recognize\n"
            "try:\n    recognize.load(sys.argv[1])\nexcept recognize.ModelFileError as e:\n    print('refused')\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    refused, peak_kib = r.stdout.split()
    assert refused == "refused" and int(peak_kib) < 400_000  # ~1.87 GB if it were inflated


def test_training_and_prediction_bounds(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (20, 20), dtype=np.uint8) for _ in range(4)]
    with pytest.raises(ValueError, match=r"`image_size` must be at most 1024x1024; got \(60000, 60000\)"):
        recognize.train((images, ["a", "a", "b", "b"]), image_size=60000, val_split=0)
    # a model at the largest size predicts in bounded chunks
    meta, arrays = _hog_parts(size=(1024, 1024))
    clf = recognize.load(_write(tmp_path / "big.npz", meta, arrays))
    assert clf.predict_proba(images).shape == (4, 2)


@pytest.mark.extra("torch")
def test_state_shapes_match_the_network():
    torch = pytest.importorskip("torch", reason="the cnn method needs the torch extra")
    from cvtools.recognize._cnn import build_net

    for arch, c, n in [(ARCH, 3, 2), ({"widths": [32, 64, 128], "blocks": 2, "dropout": 0.3, "stem_stride": 2}, 1, 5),
                       ({"widths": [16, 16, 8], "blocks": 1, "dropout": 0.1, "stem_stride": 2}, 3, 3)]:
        net = build_net(arch, c, n)
        real = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        assert real == state_shapes(arch, c, n)
    meta, arrays = _cnn_parts()
    assert torch.is_tensor(next(iter(recognize.CnnClassifier._from_saved(
        meta, arrays, {"classes": CLASSES, "image_size": SIZE, "channels": 3, "info": {}}).network()
        .state_dict().values())))


def test_save_refuses_what_load_would_refuse(tmp_path):
    """A model with NaN weights (a diverged training) is not written, so every saved file loads."""
    meta, arrays = _hog_parts()
    clf = recognize.load(_write(tmp_path / "ok.npz", meta, arrays))
    assert recognize.load(clf.save(tmp_path / "again.npz")).classes == CLASSES
    clf.coef = clf.coef.copy()
    clf.coef[0, 0] = np.nan
    with pytest.raises(ValueError, match="this hog-svm classifier cannot be saved as a valid model file: array "
                                         "'coef' contains NaN"):
        clf.save(tmp_path / "nan.npz")
    assert not (tmp_path / "nan.npz").exists() and not (tmp_path / "nan.npz.part").exists()
