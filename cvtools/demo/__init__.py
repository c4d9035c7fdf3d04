"""The live demo behind `cvtools demo`: capture, detect, track, identify, draw, show or record.

* :func:`run_demo` - a session of stages: source -> detect/track -> identify/classify -> outputs (overlay,
  window, recording, browser view); :class:`DemoFrame` / :class:`DemoBox` are what it passes on per frame
  and per box, :class:`DemoSummary` what it returns;
* :class:`FrameGrabber` - capture in its own thread, newest frame only (stale frames dropped);
* :class:`IoUTracker` / :class:`Track` - boxes carried between detector runs, identities kept per track;
* :func:`draw_overlay` - boxes, labels, identities with distance, track IDs, FPS and detector latency;
* :class:`MJPEGServer` - the browser view: an MJPEG stream and a small page on 127.0.0.1;
* :func:`find_sample_video` / :func:`make_sample_video` - the sample video with two public-domain faces.

See ``docs/demo.md``.
"""
from ._capture import FrameGrabber
from ._overlay import draw_overlay, label_text, track_color
from ._items import DemoBox, DemoFrame
from ._run import (
    DEFAULT_EVERY, VIEWS, DemoSummary, cycle_detectors, face_detectors, gui_backend, load_gallery, resolve_view,
    run_demo, window_available,
)
from ._sample import find_sample_video, make_sample_video, sample_frames
from ._server import MJPEGServer
from ._tracker import IoUTracker, Track, box_iou

__all__ = [
    "run_demo", "DemoSummary", "DemoBox", "DemoFrame", "DEFAULT_EVERY", "VIEWS", "FrameGrabber", "IoUTracker",
    "face_detectors", "cycle_detectors", "Track", "box_iou",
    "draw_overlay", "label_text", "track_color", "MJPEGServer", "find_sample_video", "make_sample_video",
    "sample_frames", "gui_backend", "window_available", "resolve_view", "load_gallery",
]
