"""Capture in a background thread: the consumer always gets the newest frame, stale ones are dropped."""
from __future__ import annotations

import collections
import threading
import time


class FrameGrabber:
    """Read frames from a :class:`cvtools.io.VideoSource` in a thread of its own.

    With ``drop_stale=True`` (cameras, and files played in real time) only the newest frame is kept:
    when processing is slower than the source, the frames it had no time for are dropped and counted,
    so what is shown lags the camera by at most one frame. With ``drop_stale=False`` (recording a file)
    every frame is delivered, through a bounded queue of ``queue_size`` frames that makes the reader
    wait; memory stays flat either way.

    Parameters
    ----------
    source : cvtools.io.VideoSource
        An opened source. It is released by :meth:`stop`.
    drop_stale : bool
        Keep only the newest frame (True) or deliver every frame (False).
    queue_size : int
        Frames buffered ahead when ``drop_stale`` is False.
    pace_fps : float, optional
        Read no faster than this (plays a file in real time, like a camera).
    reopen : callable, optional
        Called at the end of the source to get a fresh one (looping); returning None ends.

    Examples
    --------
    >>> class Fake:  # anything with VideoSource's read()/release()
    ...     def __init__(self): self.n = 0
    ...     def read(self):
    ...         self.n += 1
    ...         return None if self.n > 3 else self.n
    ...     def release(self): pass
    >>> with FrameGrabber(Fake(), drop_stale=False) as grab:
    ...     print([grab.read()[1] for _ in range(3)], grab.read())
    [1, 2, 3] None
    """

    def __init__(self, source, *, drop_stale: bool = True, queue_size: int = 4, pace_fps: float | None = None,
                 reopen=None):
        if queue_size < 1:
            raise ValueError(f"`queue_size` must be >= 1; got {queue_size!r}.")
        self.source = source
        self.drop_stale = bool(drop_stale)
        self.queue_size = 1 if drop_stale else int(queue_size)
        self.pace_fps = float(pace_fps) if pace_fps else None
        self._reopen = reopen
        self._frames: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        #: frames read from the source
        self.frames_read = 0
        #: frames replaced by a newer one before anyone took them
        self.dropped = 0

    def start(self) -> "FrameGrabber":
        """Start the reader thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cvtools-capture", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        next_time = time.perf_counter()
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None and self._reopen is not None and not self._stop.is_set():
                    new = self._reopen()
                    if new is not None:
                        self.source.release()
                        self.source = new
                        frame = self.source.read()
                if frame is None:
                    break
                if self.pace_fps:
                    next_time += 1.0 / self.pace_fps
                    delay = next_time - time.perf_counter()
                    if delay > 0:
                        if self._stop.wait(delay):
                            break
                    else:
                        next_time = time.perf_counter()  # behind: do not try to catch up in a burst
                with self._cond:
                    if self.drop_stale:
                        if self._frames:
                            self._frames.popleft()
                            self.dropped += 1
                    else:
                        while len(self._frames) >= self.queue_size and not self._stop.is_set():
                            self._cond.wait(0.1)
                        if self._stop.is_set():
                            break
                    self._frames.append((self.frames_read, frame))
                    self.frames_read += 1
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer, raised from read()
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def read(self, timeout: float | None = None):
        """The next frame as ``(index, frame)``; None when the source has ended.

        ``index`` counts frames read from the source, so gaps show dropped frames. Raises what the
        reader thread raised, and TimeoutError when nothing came within ``timeout`` seconds.
        """
        self.start()
        deadline = None if timeout is None else time.perf_counter() + timeout
        with self._cond:
            while not self._frames and not self._done:
                remaining = None if deadline is None else deadline - time.perf_counter()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no frame from the source within {timeout} s.")
                self._cond.wait(remaining if remaining is not None else 0.5)
            if self._frames:
                item = self._frames.popleft()
                self._cond.notify_all()
                return item
        if self._error is not None:
            raise self._error
        return None

    def stop(self) -> None:
        """Stop the thread and release the source. Safe to call more than once."""
        self._stop.set()
        with self._cond:
            self._frames.clear()
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        if self._thread is None or not self._thread.is_alive():
            self.source.release()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
