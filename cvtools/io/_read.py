"""Reading images: bytes in, RGB numpy array out, bit depth kept, EXIF orientation applied.

The order of work is the defence: the file type and size are checked before reading it, the header is
parsed by cvtools (:mod:`._headers`) and the declared size checked before any decoder runs, and each
format goes to the decoder that gets its pixels right (see docs/io.md for each decision).
"""
from __future__ import annotations

import io as _io
import math
import os
import re
import stat
import tempfile
import threading
import warnings
from pathlib import Path
from typing import IO, Iterator

import cv2
import numpy as np

from .._shared import ImageMetadataWarning, ImageReadError, check_choice, quiet_opencv
from ._color import bgr_to_rgb
from ._headers import Header, jpeg_scan_problem, read_header, sniff, tiff_ifds, tiff_without_orientation

READ_MODES = ("unchanged", "rgb", "rgba", "gray")

#: Default decompression-bomb limit in pixels (width x height), checked from the header before
#: decoding. Override per call with ``max_pixels=`` or globally with :func:`set_max_pixels` or the
#: ``CVTOOLS_MAX_PIXELS`` environment variable.
MAX_PIXELS = int(os.environ.get("CVTOOLS_MAX_PIXELS", 2 ** 28))  # 268 megapixels
_max_pixels = MAX_PIXELS

#: Default limit on the size of an encoded file in bytes, checked before it is read. Override per
#: call with ``max_bytes=`` or globally with :func:`set_max_bytes` or ``CVTOOLS_MAX_BYTES``.
MAX_BYTES = int(os.environ.get("CVTOOLS_MAX_BYTES", 2 ** 30))  # 1 GiB
_max_bytes = MAX_BYTES

#: Pass as ``max_pixels=`` or ``max_bytes=`` (or to :func:`set_max_pixels` / :func:`set_max_bytes`) to
#: switch that limit off. It is ``math.inf``, so ``max_pixels=math.inf`` reads the same.
NO_LIMIT = math.inf

# OpenEXR decoding is off by default in OpenCV builds for security reasons; cvtools reads float EXR.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

_NAMES = "PNG, JPEG, TIFF, BMP, WebP, GIF, PPM/PGM/PBM, Radiance HDR, OpenEXR, AVIF, JPEG 2000"
_PIL_LOCK = threading.Lock()
_STDERR_LOCK = threading.Lock()
# libjpeg warnings that mean pixels were invented (grey fill, dropped data), not cosmetic ones.
_JPEG_LOSS = re.compile(r"premature end|bad huffman code|bad arithmetic code|instead of rst", re.I)


def _check_limit(limit, name: str) -> int | None:
    """A limit as stored: a positive int, or None for no limit (:data:`NO_LIMIT`)."""
    if limit is None or limit == NO_LIMIT:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit <= 0:
        raise ValueError(f"`{name}` must be a positive integer, cvtools.io.NO_LIMIT or None (the default limit); "
                         f"got {limit!r}.")
    return int(limit)


def set_max_pixels(limit: int | float | None) -> None:
    """Set the global decompression-bomb limit in pixels.

    ``NO_LIMIT`` (or ``None``) disables the guard; :data:`MAX_PIXELS` restores the default.
    """
    global _max_pixels
    _max_pixels = _check_limit(limit, "limit")


def get_max_pixels() -> int | None:
    """The current global decompression-bomb limit in pixels (None when it is disabled)."""
    return _max_pixels


def set_max_bytes(limit: int | float | None) -> None:
    """Set the global limit on the size of an encoded image file in bytes.

    ``NO_LIMIT`` (or ``None``) disables it; :data:`MAX_BYTES` restores the default.
    """
    global _max_bytes
    _max_bytes = _check_limit(limit, "limit")


def get_max_bytes() -> int | None:
    """The current global limit on the size of an encoded image file in bytes (None when disabled)."""
    return _max_bytes


_KINDS = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]


def _too_big(name: str, size: int, limit: int) -> ImageReadError:
    return ImageReadError(f"cannot read {name!r}: the file is too large ({size:,} bytes; limit {limit:,}). "
                          f"Pass max_bytes=cvtools.io.NO_LIMIT or raise it with cvtools.io.set_max_bytes().")


def _load_bytes(source, max_bytes: int | None = None) -> tuple[bytes, str]:
    """Get the raw bytes and a display name from a path, bytes or a binary file object.

    A path must name a regular file no larger than ``max_bytes``; both are checked on the open file
    before anything is read, so a FIFO, /dev/zero or a huge sparse file is refused at once.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if max_bytes is not None and len(data) > max_bytes:
            raise _too_big("<bytes>", len(data), max_bytes)
        return data, "<bytes>"
    if hasattr(source, "read"):
        name = getattr(source, "name", "<file object>")
        data = source.read() if max_bytes is None else source.read(max_bytes + 1)
        if isinstance(data, str):
            raise TypeError("file object must be opened in binary mode ('rb'); it returned str.")
        if max_bytes is not None and len(data) > max_bytes:
            raise ImageReadError(f"cannot read {str(name)!r}: the file is too large (more than {max_bytes:,} "
                                 f"bytes). Pass max_bytes=cvtools.io.NO_LIMIT or raise it with cvtools.io.set_max_bytes().")
        return data, name
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"`source` must be a path (str or pathlib.Path), bytes or a binary file object; "
                        f"got {type(source).__name__}.")
    name = str(Path(source))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(source, flags)  # non-blocking: opening a FIFO must not wait for a writer
    except FileNotFoundError:
        raise ImageReadError(f"cannot read {name!r}: no such file.") from None
    except IsADirectoryError:
        raise ImageReadError(f"cannot read {name!r}: it is a directory, not an image file.") from None
    except PermissionError as exc:
        raise ImageReadError(f"cannot read {name!r}: permission denied.") from exc
    except OSError as exc:
        raise ImageReadError(f"cannot read {name!r}: {exc.strerror or exc}.") from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageReadError(f"cannot read {name!r}: it is a directory, not an image file.")
        if not stat.S_ISREG(st.st_mode):
            kind = next((what for test, what in _KINDS if test(st.st_mode)), "not a regular file")
            raise ImageReadError(f"cannot read {name!r}: it is {kind}, not a regular file.")
        if max_bytes is not None and st.st_size > max_bytes:
            raise _too_big(name, st.st_size, max_bytes)
        with open(fd, "rb", closefd=False) as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        if isinstance(exc, ImageReadError):
            raise
        raise ImageReadError(f"cannot read {name!r}: {exc.strerror or exc}.") from exc
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:  # it grew while we read
        raise _too_big(name, len(data), max_bytes)
    return data, name


def _resolve(value, name: str, default: int | None) -> int | None:
    """A per-call limit: None is the global one, NO_LIMIT none at all, -1 the deprecated spelling of None."""
    if value is None:
        return default
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value == -1:
        warnings.warn(f"`{name}=-1` is deprecated and will stop working in the next release: leave it out "
                      f"(or pass None) for the default limit, or pass cvtools.io.NO_LIMIT for none.",
                      DeprecationWarning, stacklevel=5)
        return default
    return _check_limit(value, name)


def _limits(max_pixels, max_bytes) -> tuple[int | None, int | None]:
    return _resolve(max_pixels, "max_pixels", _max_pixels), _resolve(max_bytes, "max_bytes", _max_bytes)


def _guard(name: str, width: int, height: int, limit: int | None, what: str = "") -> None:
    if limit is not None and width * height > limit:
        raise ImageReadError(
            f"cannot read {name!r}: too large ({width}x{height} = {width * height:,} pixels declared{what}; "
            f"limit {limit:,}). Pass max_pixels=cvtools.io.NO_LIMIT or raise it with cvtools.io.set_max_pixels().")


def _prepare(source, max_pixels, max_bytes) -> tuple[bytes, str, Header, int | None]:
    """Load, identify and size-check; nothing is decoded. Also returns the pixel limit that applies."""
    pixels, size = _limits(max_pixels, max_bytes)
    data, name = _load_bytes(source, size)
    if not data:
        raise ImageReadError(f"cannot read {name!r}: the file is empty (0 bytes).")
    fmt = sniff(data)
    if fmt is None:
        raise ImageReadError(f"cannot read {name!r}: not an image, or an unsupported format "
                             f"(supported: {_NAMES}).")
    header = read_header(data, fmt, name)
    _guard(name, header.width, header.height, pixels)
    return data, name, header, pixels


def _pillow(data: bytes):
    """Pillow's view of the header (mode, EXIF, frames), opened lazily: no pixels are decoded.

    cvtools has checked the declared size already, so Pillow's own bomb check is off here. Of the
    warnings Pillow gives while opening, those cvtools handles are kept back: a corrupt EXIF block
    (:func:`_orientation` turns it into one ImageMetadataWarning) and, for a TIFF, Pillow's complaints
    about tags (cvtools parses the IFDs itself in :mod:`._headers`, and Pillow's tag values are not used
    for the pixels). Any other warning is passed on.
    """
    from PIL import Image

    im = None
    with _PIL_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            im = Image.open(_io.BytesIO(data))
        except Exception:  # Pillow does not parse every format or variant OpenCV reads (EXR, HDR, ...)
            pass
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    tiff = data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
    exif = []
    for w in caught:
        # Pillow reads EXIF blocks (in a JPEG, WebP, PNG, ...) and TIFF tags with its TIFF plugin
        from_tags = Path(w.filename).name == "TiffImagePlugin.py"
        if from_tags and tiff:
            continue
        if from_tags or "EXIF" in str(w.message):
            exif.append(str(w.message).strip())
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if exif and im is not None:
        im.info["cvtools_exif_problem"] = exif[0]
    return im


def probe(source: str | os.PathLike | bytes | IO[bytes], *, max_bytes: int | float | None = None) -> dict:
    """Read an image's header only: format, width, height, mode and EXIF orientation.

    ``mode`` is Pillow's name for the pixel layout, or None where Pillow cannot parse the format
    (EXR, HDR). The width and height are those the file declares (before orientation).

    >>> import io, PIL.Image
    >>> buf = io.BytesIO(); PIL.Image.new("RGB", (4, 3)).save(buf, "PNG")
    >>> probe(buf.getvalue())["width"], probe(buf.getvalue())["height"]
    (4, 3)
    """
    data, name, header, _ = _prepare(source, NO_LIMIT, max_bytes)
    im = _pillow(data)
    frames = getattr(im, "n_frames", 1) if im is not None else 1
    if header.format == "TIFF":
        frames = len(tiff_ifds(data, name, limit=None))
    return {"format": im.format if im is not None else header.format, "width": header.width,
            "height": header.height, "mode": im.mode if im is not None else None,
            "orientation": _orientation(header, im, name), "frames": frames}


def _orientation(header: Header, im, name: str) -> int:
    if header.format == "TIFF":
        value = header.info["ifd"].get("orientation", (1,))[0]
        return value if 1 <= value <= 8 else 1
    if im is None or header.format not in ("JPEG", "PNG", "WEBP", "AVIF"):
        return 1
    if header.format == "PNG" and not header.info["exif"]:
        return 1  # Pillow would decode the whole PNG looking for an eXIf chunk after the pixels
    # For AVIF, Pillow reports the irot/imir boxes as an EXIF orientation. A broken EXIF block leaves the
    # pixels fine and the orientation unknown: Pillow's own "Corrupt EXIF data" warning or error becomes
    # one ImageMetadataWarning naming the file.
    problem = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = int(im.getexif().get(0x0112, 1) or 1)
        problem = im.info.get("cvtools_exif_problem") or next((str(w.message).strip() for w in caught), None)
    except Exception as exc:
        value, problem = 1, f"{type(exc).__name__}: {exc}"
    if problem:
        warnings.warn(f"{name!r}: its EXIF block is corrupt ({problem}); orientation {value if 1 <= value <= 8 else 1} "
                      f"used.", ImageMetadataWarning, stacklevel=4)
    return value if 1 <= value <= 8 else 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply the EXIF orientation tag (1-8) so the array is upright as a viewer shows it."""
    if orientation == 2:
        image = image[:, ::-1]
    elif orientation == 3:
        image = image[::-1, ::-1]
    elif orientation == 4:
        image = image[::-1]
    elif orientation == 5:
        image = image.swapaxes(0, 1)
    elif orientation == 6:
        image = np.rot90(image, -1)
    elif orientation == 7:
        image = image[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        image = np.rot90(image, 1)
    return np.ascontiguousarray(image)


def _decode_pillow(im, name: str, page: int = 0) -> np.ndarray:
    """Pillow's decoder: GIF, palette and 1-bit images, 16/32-bit BMPs, and what OpenCV refuses."""
    im.seek(page)
    if im.mode in ("P", "PA", "LA", "La", "1", "CMYK", "YCbCr", "LAB", "HSV", "RGBa", "RGBX"):
        has_alpha = im.mode in ("PA", "LA", "La", "RGBa") or "transparency" in im.info
        if im.mode in ("LA", "La"):
            arr = np.asarray(im.convert("LA"))
            return np.dstack([arr[..., 0]] * 3 + [arr[..., 1]])
        gray_palette = False
        if im.mode == "P" and not has_alpha:
            pal = np.asarray(im.getpalette() or [], np.uint8).reshape(-1, 3)
            gray_palette = len(pal) > 0 and bool((pal == pal[:, :1]).all())
        im = im.convert("RGBA" if has_alpha else ("L" if im.mode == "1" or gray_palette else "RGB"))
    elif im.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(im).astype(np.uint16)
    elif im.mode == "F":
        return np.asarray(im, dtype=np.float32)
    return np.array(im)


def _imdecode(buf: np.ndarray, flags: int):
    """cv2.imdecode without OpenCV's log lines: a damaged file becomes cvtools' own ImageReadError."""
    with quiet_opencv():
        return cv2.imdecode(buf, flags)


def _imdecode_capturing(buf: np.ndarray, flags: int):
    """cv2.imdecode with libjpeg's warnings (written to file descriptor 2) captured and returned.

    libjpeg reports a cut or corrupt scan only as a warning and fills the rest with grey; OpenCV
    prints it and returns the image. The swap of descriptor 2 is process-wide, hence the lock (JPEG
    decodes that need it run one at a time); anything else written meanwhile is passed on.
    """
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all: nothing to capture from
            return _imdecode(buf, flags), ""
        try:
            os.dup2(sink.fileno(), 2)
            image = _imdecode(buf, flags)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        text = sink.read().decode("utf-8", "replace")
    return image, text


def _decode_jpeg(data: bytes, name: str, header: Header, reduce: int) -> np.ndarray:
    problem = jpeg_scan_problem(header)
    if problem is None and not header.info["eoi"]:
        # the main image's scans must be followed by an end-of-image marker (an EXIF thumbnail's
        # own markers sit inside an APP1 segment, which the header walk steps over)
        problem = "no end-of-image marker"
    if problem:
        raise ImageReadError(f"cannot read {name!r}: truncated or corrupt JPEG ({problem}).")
    frame = header.info["frame"]
    ncomp = len(frame["components"])
    flags = cv2.IMREAD_UNCHANGED
    if reduce > 1 and ncomp in (1, 3):
        flags = {(1, 2): cv2.IMREAD_REDUCED_GRAYSCALE_2, (1, 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
                 (1, 8): cv2.IMREAD_REDUCED_GRAYSCALE_8, (3, 2): cv2.IMREAD_REDUCED_COLOR_2,
                 (3, 4): cv2.IMREAD_REDUCED_COLOR_4, (3, 8): cv2.IMREAD_REDUCED_COLOR_8}[ncomp, reduce]
    flags |= cv2.IMREAD_IGNORE_ORIENTATION
    buf = np.frombuffer(data, np.uint8)
    # A single-scan sequential Huffman JPEG that libjpeg cut short ends in blocks of exactly 128: only
    # then is the decode repeated with the warnings captured. Others are always captured.
    simple = (ncomp in (1, 3) and len(header.info["scans"]) == 1
              and not (frame["progressive"] or frame["arithmetic"] or frame["lossless"]))
    image = _imdecode(buf, flags) if simple else None
    if image is None or _grey_tail(image, frame, reduce):
        image, text = _imdecode_capturing(buf, flags)
        if _JPEG_LOSS.search(text):
            line = next(ln for ln in text.splitlines() if _JPEG_LOSS.search(ln))
            raise ImageReadError(f"cannot read {name!r}: truncated or corrupt JPEG (libjpeg: {line.strip()}).")
        if text.strip():
            os.write(2, text.encode())
    if image is None:
        return None
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    image = bgr_to_rgb(image)
    return _shrink(image, reduce) if reduce > 1 and ncomp not in (1, 3) else image


def _grey_tail(image: np.ndarray, frame: dict, reduce: int) -> bool:
    """True when the last MCU of the decoded image is exactly 128 everywhere (libjpeg's fill)."""
    comps = frame["components"].values()
    mh, mw = 8 * max(v for h, v in comps), 8 * max(h for h, v in comps)
    y0 = (frame["height"] - 1) // mh * mh // reduce
    x0 = (frame["width"] - 1) // mw * mw // reduce
    return bool((image[y0:, x0:] == 128).all())


def _decode_tifffile(data: bytes, name: str, page: int) -> np.ndarray:
    """tifffile for planar (separate-plane) TIFFs deeper than 8 bits, which OpenCV decodes wrongly."""
    import tifffile

    try:
        with tifffile.TiffFile(_io.BytesIO(data)) as tif:
            p = tif.pages[page]
            image = p.asarray()
            axes = p.axes
    except (KeyError, ImportError) as exc:
        raise ImageReadError(f"cannot read {name!r}: a planar TIFF of more than 8 bits with a compression "
                             f"tifffile cannot decode alone ({exc}); pip install imagecodecs.") from exc
    except Exception as exc:
        raise ImageReadError(f"cannot read {name!r}: corrupt or truncated TIFF ({exc}).") from exc
    if "S" in axes and image.ndim == 3:
        image = np.moveaxis(image, axes.index("S"), -1)
    return np.ascontiguousarray(image)


def _decode_opencv(data: bytes) -> np.ndarray | None:
    image = _imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        return None
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return bgr_to_rgb(image)


def _shrink(image: np.ndarray, reduce: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, -(-w // reduce)), max(1, -(-h // reduce))), interpolation=cv2.INTER_AREA)


def _decode_page(data: bytes, name: str, header: Header, im, reduce: int = 1) -> np.ndarray | None:
    """Decode with the decoder that gets this format's pixels right; None when it cannot."""
    fmt = header.format
    if fmt == "JPEG":
        return _decode_jpeg(data, name, header, reduce)
    image = None
    if fmt == "TIFF":
        tags = header.info["ifd"]
        bits = max(tags.get("bits", (1,)))
        if tags.get("planar", (1,))[0] == 2 and bits > 8:
            image = _decode_tifffile(data, name, 0)
        elif im is not None and (im.mode in ("P", "1", "LA", "PA")
                                 or (bits == 8 and tags.get("extra_samples", (0,))[0] == 2)):
            pass  # Pillow: OpenCV reads 8-bit unassociated alpha through libtiff's RGBA interface,
            # which premultiplies the colour by it
        else:
            image = _decode_opencv(tiff_without_orientation(data, [tags]))
    elif fmt == "BMP" and header.info["bpp"] in (16, 32):
        pass  # Pillow: OpenCV reads 5-6-5 white as (248, 252, 248) and 32-bit padding as alpha
    elif fmt != "GIF" and not (fmt == "PNG" and im is not None and im.mode in ("P", "PA", "LA", "1")):
        image = _decode_opencv(data)
    if image is None and im is not None:
        image = _decode_pillow(im, name)
    if image is not None and reduce > 1:
        image = _shrink(image, reduce)
    return image


def _to_contract(image: np.ndarray, name: str) -> np.ndarray:
    """Bring a decoded array into the data contract: uint8, uint16 or float32; say so otherwise."""
    kind, size = image.dtype.kind, image.dtype.itemsize
    if image.dtype in (np.uint8, np.uint16, np.float32):
        return image
    if kind == "f":
        return image.astype(np.float32)  # float16 exactly; float64 to the nearest float32
    if kind == "i" and size <= 2:
        # signed 8/16-bit samples: the same values as float32 (exact), never shifted or rescaled
        return image.astype(np.float32)
    if kind == "b":
        return image.astype(np.uint8)
    raise ImageReadError(
        f"cannot read {name!r}: {image.dtype} samples are outside cvtools' data contract (uint8, uint16, "
        f"float32) and cannot be converted without loss; read it with tifffile and convert explicitly.")


def _unpremultiply(image: np.ndarray) -> np.ndarray:
    """Premultiplied (associated) alpha to straight alpha: c = c_stored * max / alpha, rounded."""
    color, alpha = image[..., :3].astype(np.float64), image[..., 3:].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if image.dtype.kind == "f":
            out = np.where(alpha > 0, color / alpha, 0.0)
        else:
            top = float(np.iinfo(image.dtype).max)
            out = np.where(alpha > 0, np.clip(np.rint(color * top / alpha), 0, top), 0.0)
    return np.dstack([out.astype(image.dtype), image[..., 3:]])


def _layout(image: np.ndarray, name: str, fmt: str) -> np.ndarray:
    """(H, W), (H, W, 3) or (H, W, 4): one channel is squeezed, gray+alpha becomes RGBA."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    elif image.ndim == 3 and image.shape[2] == 2:
        image = np.dstack([image[..., :1]] * 3 + [image[..., 1:]])
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4)):
        if image.shape[0] and image.shape[1]:
            return image
    raise ImageReadError(f"cannot read {name!r}: the {fmt} decodes to an array of shape {image.shape}, "
                         f"which is not an image cvtools handles ((H, W), (H, W, 3) or (H, W, 4)).")


def _finish(image: np.ndarray, name: str, header: Header, orientation: int, orient: bool,
            mode: str) -> np.ndarray:
    image = _to_contract(_layout(image, name, header.format), name)
    if header.format == "TIFF" and image.ndim == 3 and image.shape[2] == 4 \
            and header.info["ifd"].get("extra_samples", (0,))[0] == 1:
        image = _unpremultiply(image)
    if orient and orientation != 1:
        image = _apply_orientation(image, orientation)
    return convert_mode(image, mode)


def convert_mode(image: np.ndarray, mode: str) -> np.ndarray:
    """Change the channels of a decoded image (never its dtype or range)."""
    check_choice(mode, READ_MODES, name="mode")
    if mode == "unchanged":
        return image
    channels = 1 if image.ndim == 2 else image.shape[2]
    top = np.iinfo(image.dtype).max if image.dtype.kind == "u" else 1.0
    if mode == "gray":
        if channels == 1:
            return image
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    rgb = image[..., :3] if channels == 4 else (np.dstack([image] * 3) if channels == 1 else image)
    if mode == "rgb":
        return np.ascontiguousarray(rgb)
    if channels == 4:
        return image
    alpha = np.full(image.shape[:2], top, dtype=image.dtype)
    return np.dstack([rgb, alpha])


def read(source: str | os.PathLike | bytes | IO[bytes], mode: str = "unchanged", *, orient: bool = True, max_pixels: int | float | None = None,
         max_bytes: int | float | None = None, reduce: int = 1) -> np.ndarray:
    """Read an image file into a numpy array: RGB(A) channel order, bit depth kept.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or binary file object
        Where the encoded image is. Paths may contain any Unicode characters and spaces. A path must
        name a regular file (a FIFO, device or socket is refused without being opened for reading).
    mode : {"unchanged", "rgb", "rgba", "gray"}
        Channels of the result. ``"unchanged"`` keeps the file's: (H, W) gray, (H, W, 3) RGB or
        (H, W, 4) RGBA; palette images are expanded to RGB (RGBA when they have transparency) and
        gray+alpha to RGBA. The dtype never changes: uint8, uint16 (16-bit PNG/TIFF/PGM), or float32
        (float TIFF, EXR, HDR; signed 8/16-bit TIFF samples keep their values as float32). No silent
        rescaling. Premultiplied-alpha TIFFs are returned with straight alpha.
    orient : bool
        Apply the orientation tag (EXIF, TIFF, or AVIF's irot/imir) so the image is upright
        (default). ``False`` gives the stored pixel order.
    max_pixels : int, NO_LIMIT or None
        Refuse images whose header declares more than this many pixels, before decoding anything
        (decompression-bomb guard). ``None`` (default): the global limit (:func:`get_max_pixels`;
        :data:`MAX_PIXELS`, 2**28, unless changed); :data:`NO_LIMIT` (``math.inf``) disables the check.
        ``-1`` is a deprecated spelling of ``None``.
    max_bytes : int, NO_LIMIT or None
        Refuse files larger than this many bytes before reading them. ``None`` (default): the global
        limit (:func:`get_max_bytes`; :data:`MAX_BYTES`, 2**30, unless changed); :data:`NO_LIMIT`
        disables the check. ``-1`` is a deprecated spelling of ``None``.
    reduce : {1, 2, 4, 8}
        Decode at 1/reduce of the size. JPEGs are decoded directly at the reduced size (much faster);
        other formats are decoded then shrunk with area averaging.

    Returns
    -------
    ndarray
        (H, W), (H, W, 3) or (H, W, 4) array of dtype uint8, uint16 or float32.

    Raises
    ------
    ImageReadError
        (an ``OSError``) when the file is missing, a directory or special file, empty, not an image
        in a supported format, truncated or corrupt, or larger than ``max_pixels``/``max_bytes``.
        The message names the path and the reason.

    Examples
    --------
    >>> import cvtools, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.png")
    >>> _ = cvtools.write(path, np.array([[0, 65535]], np.uint16))
    >>> cvtools.read(path)
    array([[    0, 65535]], dtype=uint16)
    """
    from PIL.Image import DecompressionBombWarning

    check_choice(mode, READ_MODES, name="mode")
    if reduce not in (1, 2, 4, 8):
        raise ValueError(f"`reduce` must be 1, 2, 4 or 8; got {reduce!r}.")
    data, name, header, limit = _prepare(source, max_pixels, max_bytes)
    fmt = header.format
    if fmt == "PNG" and b"IEND" not in data[-64:]:
        raise ImageReadError(f"cannot read {name!r}: truncated or corrupt PNG (no IEND chunk).")
    # Pillow's libtiff decoder applies the TIFF orientation itself: give it none, cvtools applies it once
    im = _pillow(tiff_without_orientation(data, [header.info["ifd"]]) if fmt == "TIFF" else data)
    try:
        with warnings.catch_warnings():
            # Pillow re-checks a GIF frame's size against its own bomb limit when it seeks; cvtools'
            # max_pixels guard (checked from the header above) is the one that applies. Nothing else is
            # silenced: libjpeg's complaints are read from stderr by _decode_jpeg, EXIF ones by _orientation.
            warnings.filterwarnings("ignore", category=DecompressionBombWarning)
            image = _decode_page(data, name, header, im, reduce)
    except ImageReadError:
        raise
    except MemoryError as exc:
        raise ImageReadError(f"cannot read {name!r}: not enough memory to decode a {header.width}x"
                             f"{header.height} {fmt}.") from exc
    except Exception as exc:
        raise ImageReadError(f"cannot read {name!r}: corrupt or truncated {fmt} ({exc}).") from exc
    if image is None:
        raise ImageReadError(f"cannot read {name!r}: corrupt or truncated {fmt} data.")
    image = _layout(image, name, fmt)
    _guard(name, image.shape[1], image.shape[0], limit, " after decoding")
    if orient and fmt == "AVIF" and im is None and header.info["transforms"]:
        raise ImageReadError(f"cannot read {name!r}: the AVIF is rotated or mirrored (irot/imir) and this "
                             f"Pillow cannot read AVIF to apply it; upgrade Pillow (>= 11.3), or pass orient=False.")
    return _finish(image, name, header, _orientation(header, im, name), orient, mode)


def read_pages(source: str | os.PathLike | bytes | IO[bytes], mode: str = "unchanged", *, orient: bool = True, max_pixels: int | float | None = None,
               max_bytes: int | float | None = None) -> Iterator[np.ndarray]:
    """Yield every page of a multipage TIFF (or every frame of a GIF) as an array, bit depth kept.

    :func:`read` returns the first page only; this is the way to the others. Every page's declared
    size is checked against ``max_pixels`` before it is decoded; see :func:`read` for the rest.
    """
    check_choice(mode, READ_MODES, name="mode")
    data, name, header, limit = _prepare(source, max_pixels, max_bytes)
    if header.format == "TIFF":
        ifds = tiff_ifds(data, name, limit=None)
        for tags in ifds:
            _guard(name, tags["width"][0], tags["height"][0], limit, " by a page")
        planar = [t.get("planar", (1,))[0] == 2 and max(t.get("bits", (1,))) > 8 for t in ifds]
        straight8 = [max(t.get("bits", (1,))) == 8 and t.get("extra_samples", (0,))[0] == 2 for t in ifds]
        neutral = tiff_without_orientation(data, ifds)
        im = _pillow(neutral) if any(straight8) else None
        pages = ()
        if not all(planar):
            with quiet_opencv():
                ok, pages = cv2.imdecodemulti(np.frombuffer(neutral, np.uint8),
                                              cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
            if not ok or len(pages) != len(ifds):
                raise ImageReadError(f"cannot read {name!r}: corrupt or unsupported TIFF.")
        for i, tags in enumerate(ifds):
            if planar[i]:
                page = _decode_tifffile(data, name, i)
            elif straight8[i] and im is not None:
                page = _decode_pillow(im, name, i)  # as in read(): OpenCV would premultiply
            else:
                page = pages[i]
                if page.ndim == 3 and page.shape[2] == 1:
                    page = page[..., 0]
                page = bgr_to_rgb(page)
            page_header = Header("TIFF", tags["width"][0], tags["height"][0], {"ifd": tags})
            yield _finish(page, name, page_header, _orientation(page_header, None, name), orient, mode)
        return
    from PIL.Image import DecompressionBombWarning

    im = _pillow(data)
    if im is None:
        raise ImageReadError(f"cannot read {name!r}: not an image, or an unsupported format.")
    for index in range(getattr(im, "n_frames", 1)):
        buf = _io.BytesIO()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DecompressionBombWarning)  # as in read()
            im.seek(index)
            im.convert("RGBA" if "transparency" in im.info or im.mode in ("RGBA", "PA") else "RGB").save(buf, "PNG")
        yield read(buf.getvalue(), mode, max_pixels=NO_LIMIT if limit is None else limit,
                   max_bytes=NO_LIMIT)
