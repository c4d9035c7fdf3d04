"""Reading images: bytes in, RGB numpy array out, bit depth kept, EXIF orientation applied."""
from __future__ import annotations

import io as _io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from .._shared import ImageReadError, check_choice
from ._color import bgr_to_rgb

READ_MODES = ("unchanged", "rgb", "rgba", "gray")

#: Default decompression-bomb limit in pixels (width x height), checked from the header before
#: decoding. Override per call with ``max_pixels=`` or globally with :func:`set_max_pixels` or the
#: ``CVTOOLS_MAX_PIXELS`` environment variable.
MAX_PIXELS = int(os.environ.get("CVTOOLS_MAX_PIXELS", 2 ** 28))  # 268 megapixels
_max_pixels = MAX_PIXELS

# OpenEXR decoding is off by default in OpenCV builds for security reasons; cvtools reads float EXR.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"), (b"MM\x00+", "TIFF"), (b"BM", "BMP"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
    (b"v/1\x01", "EXR"), (b"#?RADIANCE", "HDR"), (b"#?RGBE", "HDR"),
]


def set_max_pixels(limit: int | None) -> None:
    """Set the global decompression-bomb limit in pixels (``None`` disables the guard)."""
    global _max_pixels
    _max_pixels = limit


def get_max_pixels() -> int | None:
    """The current global decompression-bomb limit in pixels."""
    return _max_pixels


def _sniff(data: bytes) -> str | None:
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:1] == b"P" and data[1:2] in b"123456" and len(data) > 2 and data[2:3].isspace():
        return "PNM"
    return None


def _load_bytes(source) -> tuple[bytes, str]:
    """Get the raw bytes and a display name from a path, bytes or a binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise TypeError("file object must be opened in binary mode ('rb'); it returned str.")
        return data, getattr(source, "name", "<file object>")
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"`source` must be a path (str or pathlib.Path), bytes or a binary file object; "
                        f"got {type(source).__name__}.")
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise ImageReadError(f"cannot read {name!r}: no such file.")
    if path.is_dir():
        raise ImageReadError(f"cannot read {name!r}: it is a directory, not an image file.")
    try:
        data = path.read_bytes()
    except PermissionError as exc:
        raise ImageReadError(f"cannot read {name!r}: permission denied.") from exc
    except OSError as exc:
        raise ImageReadError(f"cannot read {name!r}: {exc.strerror or exc}.") from exc
    return data, name


def _header(data: bytes, name: str):
    """Open the header with Pillow (no pixel decoding): format, size, EXIF orientation, frames."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(_io.BytesIO(data))
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except Exception:  # Pillow does not know every format OpenCV reads (EXR, HDR): fall back.
        return None
    return im


def probe(source) -> dict:
    """Read an image's header only: format, width, height, mode and EXIF orientation.

    >>> import io, PIL.Image
    >>> buf = io.BytesIO(); PIL.Image.new("RGB", (4, 3)).save(buf, "PNG")
    >>> probe(buf.getvalue())["width"], probe(buf.getvalue())["height"]
    (4, 3)
    """
    data, name = _load_bytes(source)
    if not data:
        raise ImageReadError(f"cannot read {name!r}: the file is empty (0 bytes).")
    im = _header(data, name)
    if im is None:
        raise ImageReadError(f"cannot read {name!r}: not an image, or a format Pillow cannot parse.")
    return {"format": im.format, "width": im.size[0], "height": im.size[1], "mode": im.mode,
            "orientation": _orientation(im), "frames": getattr(im, "n_frames", 1)}


def _orientation(im) -> int:
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


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


def _check_complete(data: bytes, fmt: str | None, name: str) -> None:
    """Detect truncation that decoders paper over (OpenCV fills a cut JPEG with gray)."""
    if fmt == "JPEG":
        # The main image's last start-of-scan must be followed by an end-of-image marker. An EXIF
        # thumbnail has its own SOS/EOI earlier in the file, so compare positions, not presence.
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            raise ImageReadError(f"cannot read {name!r}: truncated or corrupt JPEG (no end-of-image marker).")
    elif fmt == "PNG":
        if b"IEND" not in data[-64:]:
            raise ImageReadError(f"cannot read {name!r}: truncated or corrupt PNG (no IEND chunk).")


def _decode_pillow(data: bytes, name: str) -> np.ndarray:
    """Fallback decoder for what OpenCV lacks (GIF on older builds, odd PNG/TIFF modes)."""
    from PIL import Image

    im = Image.open(_io.BytesIO(data))
    im.seek(0)
    if im.mode in ("P", "PA", "LA", "1", "CMYK", "YCbCr", "LAB", "HSV"):
        has_alpha = im.mode in ("PA", "LA") or "transparency" in im.info
        if im.mode == "LA":
            im = im.convert("LA")
            arr = np.asarray(im)
            return np.dstack([arr[..., 0]] * 3 + [arr[..., 1]])
        gray_palette = False
        if im.mode == "P" and not has_alpha:
            pal = np.asarray(im.getpalette() or [], np.uint8).reshape(-1, 3)
            gray_palette = len(pal) > 0 and bool((pal == pal[:, :1]).all())
        im = im.convert("RGBA" if has_alpha else ("L" if im.mode == "1" or gray_palette else "RGB"))
    elif im.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(im).astype(np.uint16)
    elif im.mode == "I":
        arr = np.asarray(im)
        return arr.astype(np.uint16) if arr.min() >= 0 and arr.max() <= 65535 else arr.astype(np.float32)
    elif im.mode == "F":
        return np.asarray(im, dtype=np.float32)
    return np.array(im)


def _decode(data: bytes, name: str, fmt: str | None, header, reduce: int) -> np.ndarray:
    buf = np.frombuffer(data, np.uint8)
    image = None
    if reduce > 1 and fmt == "JPEG" and header is not None and header.mode in ("RGB", "YCbCr"):
        flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
        image = cv2.imdecode(buf, flag | cv2.IMREAD_IGNORE_ORIENTATION)
        return bgr_to_rgb(image) if image is not None else None
    palette_or_la = header is not None and header.mode in ("P", "PA", "LA", "1")
    if fmt != "GIF" and not palette_or_la:
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None and header is not None:
        image = _decode_pillow(data, name)
    elif image is not None:
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        image = bgr_to_rgb(image)
        if image.dtype == np.float64:
            image = image.astype(np.float32)
    if image is not None and reduce > 1:
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, -(-w // reduce)), max(1, -(-h // reduce))),
                           interpolation=cv2.INTER_AREA)
    return image


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


def read(source, mode: str = "unchanged", *, orient: bool = True, max_pixels: int | None = -1,
         reduce: int = 1) -> np.ndarray:
    """Read an image file into a numpy array: RGB(A) channel order, bit depth kept.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or binary file object
        Where the encoded image is. Paths may contain any Unicode characters and spaces.
    mode : {"unchanged", "rgb", "rgba", "gray"}
        Channels of the result. ``"unchanged"`` keeps the file's: (H, W) gray, (H, W, 3) RGB or
        (H, W, 4) RGBA; palette images are expanded to RGB (RGBA when they have transparency) and
        gray+alpha to RGBA. The dtype never changes: uint8, uint16 (16-bit PNG/TIFF/PGM), or float32
        (float TIFF, EXR, HDR). No silent rescaling.
    orient : bool
        Apply the EXIF orientation tag so the image is upright (default). ``False`` gives the stored
        pixel order.
    max_pixels : int or None
        Refuse images whose header declares more than this many pixels, before decoding anything
        (decompression-bomb guard). Default: the global limit (:data:`MAX_PIXELS`, 2**28);
        ``None`` disables the check.
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
        (an ``OSError``) when the file is missing, a directory, empty, not an image, truncated or
        corrupt, or larger than ``max_pixels``. The message names the path and the reason.

    Examples
    --------
    >>> import cvtools, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.png")
    >>> _ = cvtools.write(path, np.array([[0, 65535]], np.uint16))
    >>> cvtools.read(path)
    array([[    0, 65535]], dtype=uint16)
    """
    check_choice(mode, READ_MODES, name="mode")
    if reduce not in (1, 2, 4, 8):
        raise ValueError(f"`reduce` must be 1, 2, 4 or 8; got {reduce!r}.")
    limit = _max_pixels if max_pixels == -1 else max_pixels
    data, name = _load_bytes(source)
    if not data:
        raise ImageReadError(f"cannot read {name!r}: the file is empty (0 bytes).")
    fmt = _sniff(data)
    header = _header(data, name)
    if header is None and fmt is None:
        raise ImageReadError(f"cannot read {name!r}: not an image, or an unsupported format "
                             f"(supported: PNG, JPEG, TIFF, BMP, WebP, GIF, PPM/PGM, EXR, HDR).")
    if header is not None:
        fmt = fmt or header.format
        width, height = header.size
        if limit is not None and width * height > limit:
            raise ImageReadError(
                f"cannot read {name!r}: too large ({width}x{height} = {width * height:,} pixels declared; "
                f"limit {limit:,}). Pass max_pixels=None or raise it with cvtools.io.set_max_pixels().")
    _check_complete(data, fmt, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = _decode(data, name, fmt, header, reduce)
    except ImageReadError:
        raise
    except Exception as exc:
        raise ImageReadError(f"cannot read {name!r}: corrupt or truncated {fmt or 'image'} ({exc}).") from exc
    if image is None:
        raise ImageReadError(f"cannot read {name!r}: corrupt or truncated {fmt or 'image'} data.")
    if limit is not None and header is None and image.shape[0] * image.shape[1] > limit:
        raise ImageReadError(f"cannot read {name!r}: too large ({image.shape[1]}x{image.shape[0]} pixels; "
                             f"limit {limit:,}).")
    if orient and header is not None and fmt in ("JPEG", "TIFF", "PNG", "WEBP"):
        orientation = _orientation(header)
        if orientation != 1:
            image = _apply_orientation(image, orientation)
    return convert_mode(image, mode)


def read_pages(source, mode: str = "unchanged"):
    """Yield every page of a multipage TIFF (or every frame of a GIF) as an array, bit depth kept.

    :func:`read` returns the first page only; this is the way to the others.
    """
    data, name = _load_bytes(source)
    if not data:
        raise ImageReadError(f"cannot read {name!r}: the file is empty (0 bytes).")
    fmt = _sniff(data)
    if fmt == "TIFF":
        ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if not ok:
            raise ImageReadError(f"cannot read {name!r}: corrupt or unsupported TIFF.")
        for page in pages:
            if page.ndim == 3 and page.shape[2] == 1:
                page = page[..., 0]
            yield convert_mode(bgr_to_rgb(page), mode)
        return
    from PIL import ImageSequence

    header = _header(data, name)
    if header is None:
        raise ImageReadError(f"cannot read {name!r}: not an image, or an unsupported format.")
    for frame in ImageSequence.Iterator(header):
        buf = _io.BytesIO()
        frame.convert("RGBA" if "transparency" in frame.info or frame.mode in ("RGBA", "PA") else "RGB").save(buf, "PNG")
        yield read(buf.getvalue(), mode)
