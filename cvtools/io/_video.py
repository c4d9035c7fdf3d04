"""Video in and out: cameras, video files and image sequences as one iterable of RGB frames."""
from __future__ import annotations

import glob as _glob
import os
from pathlib import Path

import cv2
import numpy as np

from .._shared import VideoOpenError, VideoWriteError, quiet_opencv
from ._color import bgr_to_rgb, rgb_to_bgr
from ._iter import iter_images
from ._write import _create_temporary, _sweep_once

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})


def _camera_error(index: int) -> VideoOpenError:
    dev = f"/dev/video{index}"
    if os.name == "posix" and os.path.exists(dev):
        if not os.access(dev, os.R_OK | os.W_OK):
            why = f"permission denied on {dev} (add your user to the 'video' group)"
        else:
            why = f"{dev} exists but OpenCV could not open it (in use by another program?)"
    elif os.name == "posix":
        present = sorted(_glob.glob("/dev/video*"))
        why = f"no such camera ({dev} does not exist; present: {', '.join(present) or 'none'})"
    else:
        why = "no camera at this index, or it is in use or permission was denied"
    return VideoOpenError(f"cannot open camera {index}: {why}. Use a video file or image folder instead: "
                          f"cvtools demo --source PATH.")


class VideoSource:
    """Frames from a camera index, a video file, an image folder or a glob, as RGB arrays.

    Parameters
    ----------
    source : int, str or pathlib.Path, or a capture object
        A camera index (``0`` or ``"0"``), a video file, a folder of images, or a glob pattern
        (``"frames/*.png"``). An object with OpenCV's ``VideoCapture`` interface (``read``,
        ``release``, ``isOpened``, ``get``) is used as is (e.g. a test double for a camera).
    fps : float, optional
        Frame rate to report for image sequences (default 25).

    Attributes
    ----------
    fps : float or None
    size : (width, height)
    frame_count : int or None
        None for live cameras.
    is_live : bool

    Examples
    --------
    Iterate over a file (a camera index or a folder works the same way)::

        with VideoSource("clip.mp4") as video:
            for frame in video:          # (H, W, 3) uint8 RGB
                ...
    """

    def __init__(self, source, *, fps: float | None = None):
        self.source = source
        self._cap = None
        self._files = None
        self._index = 0
        self.is_live = False
        if hasattr(source, "read") and hasattr(source, "release"):
            self._cap = source
            self.is_live = True
            if hasattr(source, "isOpened") and not source.isOpened():
                raise VideoOpenError(f"capture object {source!r} is not opened.")
        elif isinstance(source, (int, np.integer)) or (isinstance(source, str) and source.strip().isdigit()):
            index = int(source)
            with quiet_opencv():  # a missing camera is cvtools' VideoOpenError, not V4L's warnings
                cap = cv2.VideoCapture(index)
            if not cap.isOpened():
                cap.release()
                raise _camera_error(index)
            self._cap = cap
            self.is_live = True
        else:
            self._open_path(source)
        if self._cap is not None:
            w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
            h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
            self.size = (w, h)
            reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = reported if reported > 0 else (fps or None)
            count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self.frame_count = None if self.is_live or count <= 0 else count
        else:
            from ._read import read

            first = read(self._files[0], "rgb")
            self.size = (first.shape[1], first.shape[0])
            self.fps = fps or 25.0
            self.frame_count = len(self._files)

    def _open_path(self, source) -> None:
        text = os.fspath(source)
        path = Path(text)
        if any(ch in text for ch in "*?[") and not path.exists():
            files = sorted(Path(p) for p in _glob.glob(text, recursive=True) if Path(p).is_file())
            if not files:
                raise VideoOpenError(f"cannot open {text!r}: the glob matches no files.")
            self._files = files
            return
        if not path.exists():
            raise VideoOpenError(f"cannot open {text!r}: no such file or folder.")
        if path.is_dir():
            self._files = list(iter_images(path, recursive=False))
            if not self._files:
                raise VideoOpenError(f"cannot open {text!r}: the folder has no image files.")
            return
        if not os.access(path, os.R_OK):
            raise VideoOpenError(f"cannot open {text!r}: permission denied.")
        if path.stat().st_size == 0:
            raise VideoOpenError(f"cannot open {text!r}: the file is empty (0 bytes).")
        with quiet_opencv():  # an undecodable file is cvtools' VideoOpenError, not OpenCV's log lines
            cap = cv2.VideoCapture(str(path))
            ok = cap.isOpened()
            if ok:
                ok, _ = cap.read()
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        if not ok:
            cap.release()
            raise VideoOpenError(f"cannot open {text!r}: not a video OpenCV can decode (corrupt, or a "
                                 f"codec missing from this OpenCV build).")
        self._cap = cap

    def read(self) -> np.ndarray | None:
        """The next frame as an RGB uint8 array, or None at the end (or when a camera stops)."""
        if self._cap is not None:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return None
            if frame.ndim == 2:
                return np.dstack([frame] * 3)
            return bgr_to_rgb(frame[..., :3])
        from ._read import read

        while self._index < len(self._files):
            path = self._files[self._index]
            self._index += 1
            return read(path, "rgb")
        return None

    def __iter__(self):
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def release(self) -> None:
        """Release the camera or file. Safe to call more than once."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._files = self._files and []

    close = release

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass

    def __repr__(self):
        return f"VideoSource({self.source!r}, size={self.size}, fps={self.fps}, frame_count={self.frame_count})"


class VideoWriter:
    """Write RGB frames to a video file; the file appears complete or not at all.

    Frames go to a temporary file beside ``path`` that is renamed into place on :meth:`close`
    (also when used as a context manager). ``.mp4``/``.m4v``/``.mov`` use the ``mp4v`` codec,
    ``.avi`` Motion-JPEG; pass ``fourcc`` to choose another.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "out.avi")
    >>> with VideoWriter(path, fps=10, size=(32, 24)) as out:
    ...     out.write(np.zeros((24, 32, 3), np.uint8))
    >>> VideoSource(path).frame_count
    1
    """

    def __init__(self, path, fps: float, size: tuple[int, int], *, fourcc: str | None = None):
        self.path = Path(os.fspath(path))
        ext = self.path.suffix.lower()
        if fourcc is None:
            fourcc = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "MJPG"}.get(ext)
            if fourcc is None:
                raise VideoWriteError(f"cannot write {str(self.path)!r}: unknown video extension {ext!r}; "
                                      f"valid: .mp4, .m4v, .mov, .avi, .mkv (or pass fourcc=).")
        if not (fps and fps > 0):
            raise ValueError(f"`fps` must be > 0; got {fps!r}.")
        w, h = (int(v) for v in size)
        if w <= 0 or h <= 0:
            raise ValueError(f"`size` must be (width, height) > 0; got {size!r}.")
        if not self.path.parent.is_dir():
            raise VideoWriteError(f"cannot write {str(self.path)!r}: folder does not exist.")
        self.size = (w, h)
        self.fps = float(fps)
        # A cvtools temporary (.cvtools-<8 random chars>.tmp.EXT), locked while this writer lives, so a
        # recording killed mid-way is removed by a later write into the folder (see cvtools.write).
        try:
            self._lock_fd, tmp = _create_temporary(self.path.parent, ext)
        except OSError as exc:
            raise VideoWriteError(f"cannot write {str(self.path)!r}: {exc.strerror or exc}.") from exc
        self._tmp = Path(tmp)
        self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*fourcc), self.fps, self.size)
        if not self._writer.isOpened():
            self._writer = None
            self._discard()
            raise VideoWriteError(f"cannot write {str(self.path)!r}: OpenCV has no {fourcc} encoder here.")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB (or gray) uint8 frame of exactly ``size``."""
        if self._writer is None:
            raise VideoWriteError(f"{str(self.path)!r} is already closed.")
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            raise TypeError(f"`frame` must be a uint8 numpy array; got {getattr(frame, 'dtype', type(frame))}.")
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"`frame` is {frame.shape[1]}x{frame.shape[0]}; this writer takes "
                             f"{self.size[0]}x{self.size[1]}.")
        if frame.ndim == 2:
            frame = np.dstack([frame] * 3)
        self._writer.write(rgb_to_bgr(np.ascontiguousarray(frame[..., :3])))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place. Safe to call more than once."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            try:
                os.replace(self._tmp, self.path)
            except OSError:
                self._discard()
                raise
            self._unlock()
            _sweep_once(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Stop and delete the partial file."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            self._discard()

    def _discard(self) -> None:
        self._tmp.unlink(missing_ok=True)
        self._unlock()

    def _unlock(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and exc_type not in (KeyboardInterrupt,):
            self.abort()
        else:
            self.close()
        return False
