"""Writing images: validated, never silently converted, atomic (temporary file + rename)."""
from __future__ import annotations

import errno
import os
import re
import secrets
import stat
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


def encode(image: np.ndarray, ext: str = ".png", *, quality: int | None = None) -> bytes:
    """Encode an RGB(A)/gray image to the bytes of a file with extension ``ext``.

    >>> encode(np.zeros((2, 2), np.uint8), ".png")[:4]
    b'\\x89PNG'
    """
    return _encode(image, ext, quality=quality, name=None)


def _encode(image: np.ndarray, ext: str, *, quality: int | None, name: str | None) -> bytes:
    """:func:`encode`, with the file name the errors mention (``write`` passes its path)."""
    ext = ext if ext.startswith(".") else "." + ext
    fmt, image = _validate(Path(name or ("image" + ext)), image)
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

try:  # POSIX advisory locks tell a live writer's temporary file from a dead one's
    import fcntl as _fcntl
except ImportError:  # Windows: stale temporaries are left for the user (see remove_stale_temporary)
    _fcntl = None

#: Name of every temporary file cvtools writes: ``.cvtools-`` + 8 random [a-z0-9] + ``.tmp`` (and a
#: video extension for :class:`VideoWriter`, whose encoder picks the container by it). Short
#: (21 characters), so a target name up to the file-system limit still works, and unmistakable, so
#: cleaning up never touches a user's own ``*.tmp`` files.
TEMP_PATTERN = re.compile(r"^\.cvtools-[a-z0-9]{8}\.tmp(\.(mp4|m4v|mov|avi|mkv))?$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_swept: set = set()  # folders (st_dev, st_ino) this process has already cleaned


def is_cvtools_temporary(path: str | os.PathLike) -> bool:
    """True when the file name of ``path`` is that of a cvtools temporary file (nothing is opened).

    >>> is_cvtools_temporary(".cvtools-0a1b2c3d.tmp"), is_cvtools_temporary(".thesis.backup01.tmp")
    (True, False)
    """
    return TEMP_PATTERN.match(os.path.basename(os.fspath(path))) is not None


def remove_stale_temporary(path: str | os.PathLike) -> bool:
    """Delete ``path`` if it is a cvtools temporary file whose writer is gone; True when deleted.

    A writer holds an exclusive advisory lock (``flock``) on its temporary file from creation to
    rename, and the kernel drops the lock when the process dies, however it dies (``kill -9``
    included). So a temporary whose lock can be taken belongs to no live process. Files with any
    other name are never touched, nor are symbolic links or anything that is not a regular file.
    Without ``fcntl`` (Windows) nothing is deleted and False is returned.
    """
    path = os.fspath(path)
    if _fcntl is None or not is_cvtools_temporary(path):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except OSError:
            return False  # its writer is alive
        try:
            now = os.stat(path, follow_symlinks=False)
        except OSError:
            return False
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete the stale cvtools temporary files directly in ``folder`` (not below); returns how many.

    See :func:`remove_stale_temporary` for what counts as stale. :func:`write` calls this once per
    folder per process, after its first write there.
    """
    removed = 0
    try:
        with os.scandir(folder) as entries:
            names = [e.path for e in entries if is_cvtools_temporary(e.name)]
    except OSError:
        return 0
    for name in names:
        removed += remove_stale_temporary(name)
    return removed


def _write_error(path, exc: OSError, what: str | None = None) -> ImageWriteError:
    reason = what or ("permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc)))
    err = ImageWriteError(f"cannot write {str(path)!r}: {reason}.")
    err.errno = exc.errno  # `except OSError as e: e.errno == errno.EACCES` still works
    return err


def _create_temporary(folder, suffix: str = "") -> tuple[int, str]:
    """Create a new temporary file in ``folder``, locked (flock) for as long as ``fd`` stays open."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(64):
        tmp = os.path.join(folder, ".cvtools-" + "".join(secrets.choice(_ALPHABET) for _ in range(8)) + ".tmp"
                           + suffix)
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        if _fcntl is None:
            return fd, tmp
        # Blocking: a sweeper holds the lock only for the instant of its check. If it found our file
        # before we locked it, it deleted the name; then start again with a new one.
        _fcntl.flock(fd, _fcntl.LOCK_EX)
        try:
            now = os.stat(tmp, follow_symlinks=False)
            mine = os.fstat(fd)
            if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def _resolve_target(path: Path) -> tuple[Path, os.stat_result | None]:
    """Where the bytes go: through a symbolic link to its target (as ``cp`` does), and what is there."""
    target = Path(os.path.realpath(path)) if os.path.islink(path) else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target, None
    if stat.S_ISDIR(st.st_mode):
        raise ImageWriteError(f"cannot write {str(path)!r}: it is a directory.")
    if not stat.S_ISREG(st.st_mode):
        raise ImageWriteError(f"cannot write {str(path)!r}: it exists and is not a regular file "
                              f"(a device, FIFO or socket); cvtools only replaces regular files.")
    if not os.access(target, os.W_OK):
        err = ImageWriteError(f"cannot write {str(path)!r}: the existing file is read-only "
                              f"(mode {stat.S_IMODE(st.st_mode):o}); cvtools does not replace it.")
        err.errno = errno.EACCES
        raise err
    return target, st


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A reader (or a process killed mid-way) sees the old file or the complete new one, never a
    partial file. ``fsync`` also flushes the data to disk before the rename (survives power loss;
    costs milliseconds per file).

    Like ``cp``, writing over an existing file keeps its permission bits (and, where allowed, its
    owner and group), and a symbolic link at ``path`` is written through: its target gets the new
    content and the link stays. A read-only existing file, a directory or a special file (FIFO,
    device) at ``path`` raises :class:`ImageWriteError` instead. A new file gets 0666 minus the
    umask. The temporary file is named ``.cvtools-<8 random chars>.tmp``; one left by a killed process is
    deleted by the next write into that folder from another process (see
    :func:`remove_stale_temporaries`).
    """
    path = Path(os.fspath(path))
    try:
        target, existing = _resolve_target(path)
    except ImageWriteError:
        raise
    except OSError as exc:
        raise _write_error(path, exc) from exc
    folder = target.parent
    if not folder.is_dir():
        raise ImageWriteError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist.")
    try:
        fd, tmp = _create_temporary(folder)
    except OSError as exc:
        what = f"permission denied (the folder {str(folder)!r} is not writable)" \
            if isinstance(exc, PermissionError) else None
        raise _write_error(path, exc, what) from exc
    try:
        if existing is not None:
            if hasattr(os, "fchown") and (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, existing.st_uid, existing.st_gid)
                except OSError:  # only root may give a file away; the group may still be ours
                    try:
                        os.fchown(fd, -1, existing.st_gid)
                    except OSError:
                        pass
            mode = stat.S_IMODE(existing.st_mode) & 0o777
        else:
            mode = 0o666 & ~_UMASK
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
            # rename while the lock is still held (closing the file drops it)
            os.replace(tmp, target)
    except BaseException as exc:
        if fd != -1:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, ImageWriteError):
            raise _write_error(path, exc) from exc
        raise
    _sweep_once(folder)
    return path


def _sweep_once(folder) -> None:
    try:
        st = os.stat(folder)
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key not in _swept:
        _swept.add(key)
        remove_stale_temporaries(folder)


def write(path: str | os.PathLike, image: np.ndarray, *, quality: int | None = None, fsync: bool = True) -> Path:
    """Write an image atomically; the extension picks the format.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination. Its folder must exist. An existing file is replaced only once the new one is
        complete: an interrupted or failed write leaves no partial file and the old file intact.
        As with ``cp``, an existing file keeps its permission bits and a symbolic link is written
        through (its target is replaced, the link stays); a read-only file, a directory or a special
        file there raises :class:`ImageWriteError`. Details: :func:`write_bytes_atomic`.
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

    Raises
    ------
    ImageWriteError
        (an ``OSError``; ``errno`` is set when the system refused, e.g. ``errno.EACCES`` for a
        read-only folder) naming ``path``, never the temporary file.

    Examples
    --------
    >>> import cvtools, numpy as np, tempfile, os
    >>> p = cvtools.write(os.path.join(tempfile.mkdtemp(), "a.tif"), np.ones((2, 2), np.float32))
    >>> cvtools.read(p).dtype
    dtype('float32')
    """
    path = Path(os.fspath(path))
    data = _encode(image, path.suffix, quality=quality, name=str(path))
    return write_bytes_atomic(path, data, fsync=fsync)
