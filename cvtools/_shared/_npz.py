"""Reading ``.npz`` data files that may come from anyone: data only (never a pickle), every size bounded
before anything is decompressed or allocated, every array checked before use.

Shared by model files (``cvtools.recognize``) and gallery caches (``cvtools.identify``).
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

#: Most arrays in one file.
MAX_ARRAYS = 10_000


class Invalid(Exception):
    """Internal: why a data file is invalid (callers turn it into their own error or warning)."""


def _array_header(f, name: str, kinds: str):
    """(shape, fortran_order, dtype) of the ``.npy`` stream ``f``, header read and checked only."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy.read_array_header_2_0(f)
        else:  # pragma: no cover - read_magic accepts only the versions above
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise Invalid(f"entry {name!r} is not a .npy array ({exc})") from None
    if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        raise Invalid(f"array {name!r} has dtype {dtype}; only plain numeric arrays are allowed "
                      "(pickled objects are never loaded)")
    return shape, fortran, dtype


def read_npz(path, *, max_bytes: int, kinds: str = "biuf", entry_limits=None) -> dict:
    """The arrays of a ``.npz`` file, or :class:`Invalid` saying why it cannot be one we accept.

    Everything is bounded before it is read: the file size, the number of arrays, the bytes each
    array declares (central directory and ``.npy`` header, which must agree) and their total, all
    at most ``max_bytes`` (``entry_limits`` may set a lower bound per array name); dtypes are
    limited to ``kinds`` (never objects).
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise Invalid(f"the file has {size:,} bytes; at most {max_bytes:,} are allowed")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise Invalid(f"not a .npz archive (pickles are never loaded): {exc}") from None
    arrays: dict[str, np.ndarray] = {}
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ARRAYS:
            raise Invalid(f"it holds {len(infos):,} entries; at most {MAX_ARRAYS:,} are allowed")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise Invalid(f"its arrays declare {declared:,} bytes uncompressed; at most {max_bytes:,} are "
                          "allowed (a zip bomb?)")
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                raise Invalid(f"entry {info.filename!r} is not a .npy array")
            name = info.filename[:-4]
            if name in arrays:
                raise Invalid(f"array {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise Invalid(f"array {name!r} is encrypted")
            try:
                with zf.open(info) as f:
                    shape, fortran, dtype = _array_header(f, name, kinds)
                    count = math.prod(shape)
                    nbytes = count * dtype.itemsize
                    limit = (entry_limits or {}).get(name, max_bytes)
                    if nbytes > limit:
                        raise Invalid(f"array {name!r} declares {nbytes:,} bytes (shape {shape}, {dtype}); "
                                      f"at most {limit:,} are allowed")
                    start = f.tell()
                    if start + nbytes != info.file_size:
                        raise Invalid(f"array {name!r} declares {nbytes:,} bytes (shape {shape}, {dtype}) "
                                      f"but its entry holds {info.file_size - start:,}")
                    buf = bytearray(nbytes)
                    got = f.readinto(buf) if nbytes else 0
                    if got != nbytes:
                        raise Invalid(f"array {name!r} is truncated: {got:,} of {nbytes:,} bytes")
                    f.read(1)  # reach the end of the entry, so zipfile checks its CRC
            except Invalid:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
                raise Invalid(f"array {name!r} cannot be read: {exc}") from None
            arr = np.frombuffer(buf, dtype=dtype, count=count)
            arrays[name] = arr.reshape(shape, order="F" if fortran else "C")
    return arrays


def check_array(arrays: dict, name: str, shape: tuple, *, kind: str = "f", finite: bool = True) -> np.ndarray:
    """The array ``name`` with exactly ``shape`` and a dtype of ``kind`` (finite floats by default)."""
    if name not in arrays:
        raise Invalid(f"array {name!r} is missing")
    arr = arrays[name]
    if arr.dtype.kind not in kind:
        raise Invalid(f"array {name!r} has dtype {arr.dtype}; expected {'a float' if kind == 'f' else kind}")
    if arr.shape != tuple(shape):
        raise Invalid(f"array {name!r} has shape {arr.shape}; expected {tuple(shape)}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise Invalid(f"array {name!r} contains NaN or infinite values")
    return arr


def check_no_extra(arrays: dict, expected) -> None:
    """Raise :class:`Invalid` when ``arrays`` holds names outside ``expected``."""
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise Invalid(f"unexpected arrays {', '.join(repr(e) for e in extra[:5])}"
                      f"{' ...' if len(extra) > 5 else ''}")
