"""Writing images: validated, never silently converted, atomic (temporary file + rename)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .._shared import ImageWriteError
from ._color import rgb_to_bgr

# extension -> (format name, allowed dtypes, allowed channel counts, takes quality)
WRITE_FORMATS = {
    ".png": ("PNG", ("uint8", "uint16"), (1, 3, 4), False),
    ".jpg": ("JPEG", ("uint8",), (1, 3), True),
    ".jpeg": ("JPEG", ("uint8",), (1, 3), True),
    ".tif": ("TIFF", ("uint8", "uint16", "float32"), (1, 3, 4), False),
    ".tiff": ("TIFF", ("uint8", "uint16", "float32"), (1, 3, 4), False),
    ".bmp": ("BMP", ("uint8",), (1, 3, 4), False),
    ".webp": ("WebP", ("uint8",), (3, 4), True),
    ".ppm": ("PPM", ("uint8", "uint16"), (3,), False),
    ".pgm": ("PGM", ("uint8", "uint16"), (1,), False),
    ".pnm": ("PNM", ("uint8", "uint16"), (1, 3), False),
    ".exr": ("OpenEXR", ("float32",), (1, 3, 4), False),
    ".hdr": ("Radiance HDR", ("float32",), (3,), False),
    ".gif": ("GIF", ("uint8",), (1, 3), False),
}


def _validate(path: Path, image) -> tuple[str, np.ndarray]:
    """Check that ``image`` can be stored in the format of ``path`` without any conversion."""
    ext = path.suffix.lower()
    if ext not in WRITE_FORMATS:
        raise ImageWriteError(f"cannot write {str(path)!r}: unknown extension {ext or '(none)'!r}; "
                              f"valid: {', '.join(sorted(WRITE_FORMATS))}.")
    fmt, dtypes, channels, _ = WRITE_FORMATS[ext]
    if not isinstance(image, np.ndarray):
        raise TypeError(f"`image` must be a numpy array; got {type(image).__name__}.")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    nch = 1 if image.ndim == 2 else (image.shape[2] if image.ndim == 3 else None)
    if image.ndim not in (2, 3) or nch not in (1, 3, 4) or image.size == 0:
        raise ValueError(f"`image` must be (H, W), (H, W, 3) RGB or (H, W, 4) RGBA and non-empty; "
                         f"got shape {image.shape}.")
    if image.dtype.name not in dtypes:
        hint = ""
        if image.dtype.kind == "f" or image.dtype == np.uint16:
            hint = " Convert explicitly with cvtools.to_uint8() or cvtools.to_uint16() first."
        raise ImageWriteError(f"cannot write {image.dtype} image to {fmt} ({str(path)!r}): "
                              f"{fmt} stores {', '.join(dtypes)}; it would need a silent conversion.{hint}")
    if nch not in channels:
        raise ImageWriteError(f"cannot write a {nch}-channel image to {fmt} ({str(path)!r}): "
                              f"{fmt} stores {', '.join(map(str, channels))} channel(s).")
    return fmt, image


def encode(image: np.ndarray, ext: str = ".png", *, quality: int | None = None, _name: str | None = None) -> bytes:
    """Encode an RGB(A)/gray image to the bytes of a file with extension ``ext``.

    >>> encode(np.zeros((2, 2), np.uint8), ".png")[:4]
    b'\\x89PNG'
    """
    ext = ext if ext.startswith(".") else "." + ext
    fmt, image = _validate(Path(_name or ("image" + ext)), image)
    if quality is not None and not (isinstance(quality, (int, np.integer)) and 0 <= quality <= 100):
        raise ValueError(f"`quality` must be an integer in 0..100; got {quality!r}.")
    params = []
    if WRITE_FORMATS[ext.lower()][3] and quality is not None:
        flag = cv2.IMWRITE_JPEG_QUALITY if fmt == "JPEG" else cv2.IMWRITE_WEBP_QUALITY
        params = [flag, int(quality)]
    if fmt in ("GIF", "WebP"):
        # Pillow: GIF palettes, and WebP lossless with `exact` so RGB under transparent pixels survives.
        import io
        from PIL import Image

        buf = io.BytesIO()
        if fmt == "GIF":
            Image.fromarray(image).save(buf, "GIF")
        elif quality is None:
            Image.fromarray(image).save(buf, "WEBP", lossless=True, exact=True)
        else:
            Image.fromarray(image).save(buf, "WEBP", quality=int(quality))
        return buf.getvalue()
    ok, buf = cv2.imencode(ext.lower(), rgb_to_bgr(np.ascontiguousarray(image)), params)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode a {image.dtype} {image.shape} image as {fmt}.")
    return buf.tobytes()


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes_atomic(path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A reader (or a process killed mid-way) sees the old file or the complete new one, never a
    partial file. ``fsync`` also flushes the data to disk before the rename (survives power loss;
    costs milliseconds per file). The file gets the usual mode (0666 minus the umask).
    """
    path = Path(os.fspath(path))
    folder = path.parent
    if not folder.is_dir():
        raise ImageWriteError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, ImageWriteError):
            raise ImageWriteError(f"cannot write {str(path)!r}: {exc.strerror or exc}.") from exc
        raise
    return path


def write(path, image: np.ndarray, *, quality: int | None = None, fsync: bool = True) -> Path:
    """Write an image atomically; the extension picks the format.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination. Its folder must exist. An existing file is replaced only once the new one is
        complete: an interrupted or failed write leaves no partial file and the old file intact.
    image : ndarray
        (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA. The dtype must be one the format stores
        (PNG: uint8/uint16; JPEG: uint8; TIFF: uint8/uint16/float32; EXR: float32; ...); anything
        else raises :class:`ImageWriteError` rather than converting silently.
    fsync : bool
        Flush the data to disk before the rename (default); ``False`` is faster and still never
        leaves a partial file when the process is killed, only not after a power loss.
    quality : int, optional
        0-100 for JPEG (default 95) and WebP (lossy at that quality; without it WebP is
        written lossless). Ignored by lossless formats.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import cvtools, numpy as np, tempfile, os
    >>> p = cvtools.write(os.path.join(tempfile.mkdtemp(), "a.tif"), np.ones((2, 2), np.float32))
    >>> cvtools.read(p).dtype
    dtype('float32')
    """
    path = Path(os.fspath(path))
    data = encode(image, path.suffix, quality=quality, _name=str(path))
    return write_bytes_atomic(path, data, fsync=fsync)
