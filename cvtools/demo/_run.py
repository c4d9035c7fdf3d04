"""The demo's run loop: capture -> detect every N frames -> track -> identify new tracks -> overlay -> views."""
from __future__ import annotations

import collections
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .._shared import UsageError, VideoOpenError, quiet_opencv
from ._capture import FrameGrabber
from ._items import DEFAULT_EVERY, DemoFrame, DemoSummary
from ._overlay import draw_overlay
from ._stages import Controls, Perception, Recorder, ShownTally, WindowView

if TYPE_CHECKING:
    from ..identify import Gallery

VIEWS = ("auto", "window", "browser", "none")
#: Gallery photos are enrolled as the mean descriptor of this many jittered crops (dlib's recommendation
#: for reference faces: a steadier centre for each person; galleries are cached, so it is paid once).
DEFAULT_GALLERY_JITTERS = 10
#: Longest side the style network sees in --style (speed over detail for live video).
STYLE_SIZE = 320
#: Speed class (``cvtools.detect.detectors()`` metadata) of the detectors the `d` key cycles through.
CYCLE_SPEED = "real time"
WINDOW_TITLE = "cvtools demo (q quit, space pause, s snapshot, d next detector)"
#: Snapshots written per run at most (each a full-size PNG), so that no key or page can fill the disk.
MAX_SNAPSHOTS = 100


def face_detectors() -> tuple[str, ...]:
    """The registered detectors that find faces only (``classes == ("face",)`` in the registry metadata)."""
    from .. import detect

    return tuple(d.name for d in detect.detectors() if d.classes == ("face",))


def cycle_detectors() -> tuple[str, ...]:
    """The detectors the `d` key cycles through: those available here whose speed class is real time.

    Examples
    --------
    >>> "face" in cycle_detectors() and "face-dlib-cnn" not in cycle_detectors()
    True
    """
    from .. import detect

    return tuple(d.name for d in detect.detectors() if d.available and d.speed == CYCLE_SPEED)


def gui_backend() -> str | None:
    """OpenCV's GUI backend (GTK, QT, ...) or None for headless builds, where ``cv2.imshow`` fails."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            value = line.split(":", 1)[1].strip()
            return None if value.upper() in ("NONE", "") else value
    return None


def window_available() -> tuple[bool, str]:
    """Whether an OpenCV window can be opened here, and if not, why."""
    backend = gui_backend()
    if backend is None:
        return False, ("the installed OpenCV has no GUI backend (a headless build, where cv2.imshow raises "
                       "'The function is not implemented')")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, f"OpenCV has a GUI backend ({backend}) but there is no display (DISPLAY is not set)"
    return True, ""


def resolve_view(view: str) -> str:
    """``auto`` -> ``window`` when an OpenCV window can open here, else ``browser``."""
    if view not in VIEWS:
        raise UsageError(f"unknown view {view!r}; valid: {', '.join(VIEWS)}.")
    if view == "auto":
        return "window" if window_available()[0] else "browser"
    if view == "window":
        ok, why = window_available()
        if not ok:
            raise UsageError(f"--view window is not possible: {why}. Use --view browser (or auto).")
    return view


def open_source(source, *, log=None):
    """Open ``source`` as a :class:`cvtools.io.VideoSource`; None tries camera 0, then the bundled sample.

    Returns ``(video, label, is_sample)``.
    """
    from ..io import VideoSource
    from ._sample import find_sample_video

    if source is None:
        try:
            with quiet_opencv():  # probing for a camera: OpenCV's own V4L/FFmpeg warnings are noise here
                return VideoSource(0), "camera 0", False
        except VideoOpenError as exc:
            sample = find_sample_video()
            if log:
                log(f"no camera could be opened (tried index 0: {exc}) - running on the bundled sample video "
                    f"{sample} instead; pass --source 0|PATH to choose.")
            return VideoSource(sample), f"sample {sample.name}", True
    with quiet_opencv():  # a failure is a VideoOpenError that says why, not OpenCV's log lines
        video = VideoSource(source)
    if hasattr(source, "read") and hasattr(source, "release"):
        label = f"capture {type(source).__name__}"
    elif video.is_live:
        label = f"camera {int(source)}"
    else:
        label = str(source)
    return video, label, False


def load_gallery(path: str | os.PathLike, **options: Any) -> Gallery:
    """A face gallery from ``path``: ``root/<name>/*.jpg`` folders, or a flat folder of ``<name>.png`` files.

    ``options`` go to :meth:`cvtools.identify.Gallery.from_folder` (e.g. ``threshold``); photos are
    enrolled with ``num_jitters=DEFAULT_GALLERY_JITTERS`` unless given. Returns a
    :class:`cvtools.identify.Gallery`.
    """
    import tempfile

    from .. import identify
    from ..io import IMAGE_EXTENSIONS

    root = Path(os.fspath(path))
    if not root.is_dir():
        raise FileNotFoundError(f"gallery {str(root)!r}: no such folder.")
    options.setdefault("num_jitters", DEFAULT_GALLERY_JITTERS)
    subdirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    flat = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if subdirs or not flat:
        return identify.Gallery.from_folder(root, kind="face", **options)
    # A flat folder of <name>.png files: lay it out as <name>/<file> (links, no copies) for from_folder.
    with tempfile.TemporaryDirectory(prefix="cvtools-gallery-") as tmp:
        for image in flat:
            (Path(tmp) / image.stem).mkdir(exist_ok=True)
            link = Path(tmp) / image.stem / image.name
            try:
                link.symlink_to(image.resolve())
            except OSError:  # no symlinks (Windows without privileges): copy
                import shutil

                shutil.copyfile(image, link)
        if "cache_dir" not in options and options.get("cache", True):
            options["cache_dir"] = identify.default_cache_dir(root)  # the cache stays with the images
        return identify.Gallery.from_folder(tmp, kind="face", **options)


class _Style:
    """Per-frame stylisation for --style K|IMAGE (``cvtools.generative.stylize``, method "fast").

    A built-in style is named as ``cvtools style --builtin K`` names it: an index or a blend
    (``"3:0.5,12:0.5"``, :func:`cvtools.generative.is_builtin_style`); any other string is a style image's path.
    """

    def __init__(self, style):
        from .. import generative
        from ..io import read

        self._stylize = generative.stylize
        if isinstance(style, str) and style.strip().lstrip("-").isdigit():
            style = int(style)
        elif isinstance(style, str) and style.strip() and generative.is_builtin_style(style.strip()):
            style = style.strip()
        elif isinstance(style, (str, os.PathLike)):
            style = read(style, "rgb")
        self.style = style

    def __call__(self, frame):
        # The network sees at most 320 px (about 4x faster than 480x360 native); the result is full size.
        return self._stylize(frame, self.style, method="fast", size=min(STYLE_SIZE, max(frame.shape[:2])))


def run_demo(source: int | str | os.PathLike | Any | None = None, *, detector: str = "face",
             gallery: str | os.PathLike | Gallery | None = None,
             classifier: str | os.PathLike | Any | None = None, style: int | str | os.PathLike | None = None,
             view: str = "none", output: str | os.PathLike | None = None, max_frames: int | None = None,
             every: int = DEFAULT_EVERY, scale: float = 1.0, port: int = 0, loop: bool | None = None,
             realtime: bool | None = None, reidentify: int = 30, threshold: float | None = None,
             snapshot_dir: str | os.PathLike = ".", log: Callable[[str], Any] | None = None,
             on_frame: Callable[..., Any] | None = None, on_start: Callable[..., Any] | None = None,
             stop: threading.Event | None = None) -> DemoSummary:
    """Run the live demo: detect, track, identify and draw on a camera, a video file or the sample.

    Capture runs in its own thread (newest frame only for cameras, so latency stays low); the detector
    runs every ``every`` frames on a copy downscaled by ``scale`` (boxes mapped back), an
    :class:`IoUTracker` carries boxes in between, and a gallery names each new track (again every
    ``reidentify`` frames; a name once given stays with the track). Camera, writer and server are
    released on every exit: end of video, ``max_frames``, ``q``, Ctrl+C or an error.

    Parameters
    ----------
    source : int, str, path, capture object or None
        Camera index, video file, image folder or glob, or an object with ``cv2.VideoCapture``'s
        interface. None tries camera 0 and falls back to the bundled sample video (see
        :func:`find_sample_video`), saying so through ``log``.
    detector : str
        A name from ``cvtools.detect.detectors()``, or a detector object with ``detect(image)``. The
        default ``face`` is YuNet: faces from about 10 px at the frame's own size, so small faces need
        no resizing or sweeps.
    gallery : path or object, optional
        Face gallery folder (``root/<name>/*`` or flat ``<name>.png`` files), or an object with
        ``identify(image, detections)``; it is asked about the detections labelled ``"face"``. A
        folder's gallery describes faces found by the same detector (``detector`` when it is a face
        detector's name, else ``face``).
    classifier : path or object, optional
        A model for ``cvtools.recognize.load``; each new track's crop is classified once.
    style : int, path or None
        Show the frames stylised with ``cvtools.generative.stylize(..., method="fast")``.
    view : {"none", "window", "browser", "auto"}
        Where to show the frames. ``window`` needs an OpenCV GUI backend and a display; ``browser``
        serves MJPEG and a page on 127.0.0.1 (``port`` 0 = a free one); ``auto`` picks.
    output : path, optional
        Record the annotated frames to this video file.
    max_frames : int, optional
        Stop after this many processed frames.
    every : int
        Run the detector on every N-th frame.
    scale : float
        Downscale factor (0 < scale <= 1) for detection.
    loop : bool, optional
        Restart a file at its end (default: only for the sample in the window or browser view).
    realtime : bool, optional
        Play files at their frame rate, dropping frames when slower (default: in the window and browser
        views). Without it every frame of a file is processed (recording, benchmarks).
    reidentify : int
        Ask the gallery again about a named track every this many frames (unknown tracks: every
        detector run).
    threshold : float, optional
        Gallery distance beyond which a face is "unknown" (default: the gallery's, 0.6 for faces).
    log : callable, optional
        ``log(message)`` for progress messages (the CLI prints them on stderr).
    on_frame : callable, optional
        ``on_frame(index, annotated_frame, items)`` after each frame (items: the boxes drawn, as dicts).
    on_start : callable, optional
        ``on_start(info)`` once the source is open (info has ``url`` in the browser view).
    stop : threading.Event, optional
        Set it to stop the run from another thread.

    Returns
    -------
    DemoSummary

    Raises
    ------
    cvtools.VideoOpenError
        When the source cannot be opened (the message says why and suggests ``--source PATH``).
    ValueError
        (cvtools' ``UsageError``) For an invalid option, or ``view="window"`` where no OpenCV window can open.

    Examples
    --------
    >>> from cvtools.demo import find_sample_video
    >>> summary = run_demo(find_sample_video(), view="none", max_frames=3)
    >>> summary.frames, summary.stopped_by, summary.detections
    (3, 'max-frames', {'face': 2})
    """
    every, scale, view = _check_options(every=every, scale=scale, max_frames=max_frames, view=view,
                                        threshold=threshold)
    log = log or (lambda message: None)
    stop = stop or threading.Event()
    # Everything that can fail on bad arguments is built before the camera opens.
    models = _build_models(detector, gallery=gallery, classifier=classifier, style=style, threshold=threshold)
    video, label, is_sample = open_source(source, log=log)
    interactive = view in ("window", "browser")
    if realtime is None:
        realtime = interactive and not video.is_live
    if loop is None:
        loop = is_sample and interactive and max_frames is None
    grabber = _grabber(video, realtime=realtime, loop=loop)
    summary = DemoSummary(source=label, view=view, detector=models.detector_name, every=every, scale=scale)
    session = _Session(summary, models, grabber, fps=video.fps or 25.0, every=every, scale=scale,
                       reidentify=reidentify, output=output, max_frames=max_frames, snapshot_dir=snapshot_dir,
                       log=log, on_frame=on_frame)
    try:
        session.start(port=port)
        if on_start:
            on_start({"source": label, "view": view, "url": summary.url, "sample": is_sample,
                      "fps": video.fps, "size": video.size})
        session.run(stop)
    except KeyboardInterrupt:
        summary.stopped_by = "interrupt"
    finally:
        session.close()
    if stop.is_set() and summary.stopped_by == "end":
        summary.stopped_by = "stop"
    return summary


def _check_options(*, every, scale, max_frames, view, threshold) -> tuple[int, float, str]:
    """``(every, scale, view)`` checked and resolved; ValueError naming the first bad option."""
    if every is None or int(every) < 1:
        raise UsageError(f"`every` must be an integer >= 1; got {every!r}.")
    if not (scale and 0 < float(scale) <= 1):
        raise UsageError(f"`scale` must be in (0, 1]; got {scale!r}.")
    if max_frames is not None and int(max_frames) < 1:
        raise UsageError(f"`max_frames` must be >= 1; got {max_frames!r}.")
    if view not in VIEWS:
        raise UsageError(f"unknown view {view!r}; valid: {', '.join(VIEWS)}.")
    if threshold is not None and not float(threshold) > 0:
        raise UsageError(f"`threshold` must be > 0; got {threshold!r}.")
    return int(every), float(scale), resolve_view(view)


@dataclass
class _Models:
    """What :func:`run_demo` builds from its arguments before the source opens."""

    detector_name: str
    detector: object
    gallery: object = None
    classifier: object = None
    styler: object = None


def _build_models(detector, *, gallery, classifier, style, threshold) -> _Models:
    from .. import detect

    if isinstance(detector, str):
        name, det = detector, detect.get(detector)
    else:
        name, det = getattr(detector, "name", type(detector).__name__), detector
    if isinstance(gallery, (str, os.PathLike)):
        options = {} if threshold is None else {"threshold": float(threshold)}
        if isinstance(detector, str) and detector in face_detectors():
            options["detector"] = det  # one face pipeline: the gallery's faces come from the same detector
        gallery = load_gallery(gallery, **options)
    if isinstance(classifier, (str, os.PathLike)):
        from .. import recognize

        classifier = recognize.load(classifier)
    styler = _Style(style) if style is not None else None
    return _Models(name, det, gallery=gallery, classifier=classifier, styler=styler)


def _grabber(video, *, realtime: bool, loop: bool) -> FrameGrabber:
    """The capture thread: newest frame only for cameras and real-time files, every frame otherwise."""
    from ..io import VideoSource

    reopen = (lambda src=video.source: VideoSource(src)) if loop and not video.is_live else None
    return FrameGrabber(video, drop_stale=video.is_live or realtime, queue_size=4,
                        pace_fps=(video.fps or 25.0) if (realtime and not video.is_live) else None,
                        reopen=reopen)


class _Session:
    """One run of the demo: source -> perception (detect/track/identify/classify) -> outputs, frame by frame.

    The outputs are the overlay, the recording (``output``), the browser view's server and the window,
    and ``on_frame``; :meth:`close` releases all of them and the source, and completes the summary.
    """

    def __init__(self, summary, models, grabber, *, fps, every, scale, reidentify, output, max_frames,
                 snapshot_dir, log, on_frame):
        self.summary, self.grabber, self.log, self.on_frame = summary, grabber, log, on_frame
        self.max_frames = None if max_frames is None else int(max_frames)
        self.styler = models.styler
        self.perception = Perception(models.detector_name, models.detector, gallery=models.gallery,
                                     classifier=models.classifier, every=every, scale=scale, reidentify=reidentify)
        self.tally = ShownTally()
        self.recorder = Recorder(output, fps=fps) if output is not None else None
        self.window = WindowView(WINDOW_TITLE) if summary.view == "window" else None
        self.server = None
        self.controls = Controls(summary, window=self.window, snapshot_dir=snapshot_dir,
                                 max_snapshots=MAX_SNAPSHOTS, log=log, next_detector=self._next_detector)
        self._cycle = [models.detector_name]
        self._ticks = collections.deque(maxlen=30)  # times of the last frames shown: the FPS figure
        self._last = None  # (annotated, items) of the last frame, shown again while paused
        self.processed = 0
        self._t_start = time.perf_counter()

    def start(self, *, port: int) -> None:
        """Open the browser view's server (``view="browser"``) and start capturing."""
        if self.summary.view == "browser":
            from ._server import MJPEGServer

            self.server = self.controls.server = MJPEGServer(port=port)
            self.summary.url = self.server.url
        self.grabber.start()
        self._t_start = time.perf_counter()

    def run(self, stop: threading.Event) -> None:
        """Process frames until the source ends, ``max_frames``, ``q`` or ``stop``; sets ``stopped_by``."""
        while not stop.is_set():
            if self.max_frames is not None and self.processed >= self.max_frames:
                self.summary.stopped_by = "max-frames"
                return
            if self.controls.poll(self._last[0] if self._last else None, self.processed):
                self.summary.stopped_by = "quit"
                return
            if self.controls.paused:
                self._wait_paused()
                continue
            item = self.grabber.read()
            if item is None:
                self.summary.stopped_by = "end"
                return
            frame = self.perception.process(*item, self.processed)
            self.tally.add(frame.boxes)
            self._emit(frame)
            self.processed += 1

    def _emit(self, frame: DemoFrame) -> None:
        """The outputs of one frame: overlay, recording, server, window, ``on_frame``."""
        items = [b.to_dict() for b in frame.boxes]
        self._ticks.append(time.perf_counter())
        shown = self.styler(frame.image) if self.styler is not None else frame.image
        latency = self.perception.latency
        status = (f"FPS {_fps(self._ticks):.1f} | {self.perception.detector_name} "
                  f"{latency[-1] if latency else 0:.0f} ms | every {self.perception.every}")
        annotated = draw_overlay(shown, items, status=status)
        if self.recorder is not None:
            self.recorder.write(annotated)
        if self.server is not None:
            self.server.publish(annotated, self._stats(self.processed + 1, items))
        if self.window is not None:
            self.window.show(annotated)
        self._last = (annotated, items)
        if self.on_frame is not None:
            self.on_frame(frame.index, annotated, items)

    def _wait_paused(self) -> None:
        if self.server is not None and self._last is not None:
            self.server.set_stats(dict(self._stats(self.processed, self._last[1]), paused=True))
        if self.window is None or not self.window.is_open:
            time.sleep(0.03)  # the window's waitKey waits otherwise

    def _stats(self, frame_number: int, items) -> dict:
        latency = self.perception.latency
        return {"source": self.summary.source, "frame": frame_number, "fps": round(_fps(self._ticks), 2),
                "detector": self.perception.detector_name,
                "detector_ms": round(latency[-1], 1) if latency else None,
                "every": self.summary.every, "detections": items, "paused": False}

    def _next_detector(self) -> None:
        from .. import detect

        current = self.perception.detector_name
        name, det = _next_detector(current, self._cycle, detect, self.log)
        if name != current:
            self.perception.switch(name, det)
            self.summary.detector += f" -> {name}"

    def close(self) -> None:
        """Release the source and every output (whatever stopped the run), then complete the summary."""
        elapsed = time.perf_counter() - self._t_start
        summary = self.summary
        try:
            self.grabber.stop()
            if self.recorder is not None:
                summary.output = self.recorder.close()
            if self.server is not None:
                self.server.close()
            if self.window is not None:
                self.window.close()
        finally:
            summary.frames = self.processed
            summary.seconds = round(elapsed, 3)
            summary.fps = round(self.processed / elapsed, 2) if elapsed > 0 else 0.0
            summary.dropped = self.grabber.dropped
            self.perception.report(summary)
            self.tally.report(summary)


def _fps(ticks) -> float:
    if len(ticks) < 2:
        return 0.0
    span = ticks[-1] - ticks[0]
    return (len(ticks) - 1) / span if span > 0 else 0.0


def _next_detector(current, cycle, detect_mod, log):
    """The next detector after ``current`` in :func:`cycle_detectors` (the `d` key)."""
    available = [d.name for d in detect_mod.detectors() if d.available]
    order = [n for n in dict.fromkeys([cycle[0], *cycle_detectors()]) if n in available]
    if current not in order:
        order.insert(0, current)
    start = order.index(current)
    for step in range(1, len(order) + 1):
        name = order[(start + step) % len(order)]
        try:
            det = detect_mod.get(name)
        except (ImportError, ValueError, TypeError) as exc:
            log(f"detector {name!r} unavailable: {exc}")
            continue
        log(f"detector: {name}")
        return name, det
    return current, detect_mod.get(current)
