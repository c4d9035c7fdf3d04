"""OpenCV's own log, silenced where cvtools reports the outcome itself."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import cv2


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's log (``[ WARN:0@...]``, ``[ERROR:0@...] ... imdecode_``) inside the block, and
    restore the caller's level afterwards.

    Used around the calls whose failure cvtools turns into its own error (a damaged image, a missing
    camera, an undecodable video): there OpenCV's lines would only repeat it, worse. The level is
    process-wide; a log line another thread emits meanwhile is silenced too.
    """
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        log.setLogLevel(level)
