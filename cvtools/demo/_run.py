"""The demo's run loop: capture -> detect every N frames -> track -> identify new tracks -> overlay -> views."""
from __future__ import annotations

import collections
import math
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._shared import VideoOpenError
from ._capture import FrameGrabber
from ._overlay import draw_overlay
from ._tracker import UNKNOWN, IoUTracker

VIEWS = ("auto", "window", "browser", "none")
#: Detector runs every this many frames by default: reaches >= 20 FPS end to end with face detection
#: and a gallery on 640x360 video on a 2-core machine (see docs/demo.md).
DEFAULT_EVERY = 3
#: Gallery photos are enrolled as the mean descriptor of this many jittered crops (dlib's recommendation
#: for reference faces: a steadier centre for each person; galleries are cached, so it is paid once).
DEFAULT_GALLERY_JITTERS = 10
#: Longest side the style network sees in --style (speed over detail for live video).
STYLE_SIZE = 320
#: Mean absolute difference (0-255) between 32 x 18 gray thumbnails of consecutive frames above which a
#: frame starts a new shot: the tracker forgets its tracks and the detector runs at once, so that no name
#: passes to whoever appears where someone was before the cut. Measured: the Hamilton clip's hard cuts
#: 26-30; dissolves at most 12.6; camera motion in the bundled sample and a MOT20 street clip at most 4.1.
SCENE_CUT = 20.0
#: Speed class (``cvtools.detect.detectors()`` metadata) of the detectors the `d` key cycles through.
CYCLE_SPEED = "real time"
WINDOW_TITLE = "cvtools demo (q quit, space pause, s snapshot, d next detector)"
#: Snapshots written per run at most (each a full-size PNG), so that no key or page can fill the disk.
MAX_SNAPSHOTS = 100


@dataclass
class DemoSummary:
    """What a demo run did; :meth:`format` is the end summary, :meth:`to_dict` its JSON form."""

    source: str
    view: str
    detector: str
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    dropped: int = 0
    every: int = DEFAULT_EVERY
    scale: float = 1.0
    detector_runs: int = 0
    scene_cuts: int = 0
    detector_ms: float = 0.0
    identify_ms: float = 0.0
    detections: dict = field(default_factory=dict)
    tracks: dict = field(default_factory=dict)
    identities: dict = field(default_factory=dict)
    boxes: int = 0
    named_boxes: int = 0
    identity_boxes: dict = field(default_factory=dict)
    output: str | None = None
    url: str | None = None
    snapshots: list = field(default_factory=list)
    stopped_by: str = "end"

    @property
    def named_share(self) -> float | None:
        """Share of shown face boxes carrying a gallery name rather than "unknown" (None without a gallery)."""
        if not self.identity_boxes and not self.named_boxes:
            return None
        total = sum(self.identity_boxes.values())
        return self.named_boxes / total if total else None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["named_share"] = self.named_share
        return out

    def format(self) -> str:
        lines = [f"source: {self.source}",
                 f"frames processed: {self.frames} in {self.seconds:.1f} s ({self.fps:.1f} FPS average"
                 + (f", {self.dropped} stale frames dropped" if self.dropped else "") + ")",
                 f"detector: {self.detector}, run on {self.detector_runs} frames (every {self.every}"
                 + (f", scale {self.scale:g}" if self.scale != 1 else "")
                 + (f", and at {self.scene_cuts} scene cuts" if self.scene_cuts else "")
                 + f"), {self.detector_ms:.1f} ms average"]
        dets = ", ".join(f"{k}: {v}" for k, v in sorted(self.detections.items())) or "none"
        lines.append(f"detections per label: {dets}")
        tracks = ", ".join(f"{k}: {v}" for k, v in sorted(self.tracks.items())) or "none"
        lines.append(f"tracks per label: {tracks}")
        if self.identity_boxes:
            ids = ", ".join(f"{k} ({self.identities.get(k, 0)} tracks, {v} boxes)"
                            for k, v in sorted(self.identity_boxes.items(), key=lambda kv: -kv[1]))
            lines.append(f"identities seen: {ids}")
            if self.named_share is not None:
                lines.append(f"named boxes: {self.named_boxes}/{sum(self.identity_boxes.values())} "
                             f"({100 * self.named_share:.0f}%)")
        if self.output:
            lines.append(f"recorded: {self.output}")
        if self.snapshots:
            lines.append(f"snapshots: {', '.join(self.snapshots)}")
        lines.append(f"stopped by: {self.stopped_by}")
        return "\n".join(lines)


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
        raise ValueError(f"unknown view {view!r}; valid: {', '.join(VIEWS)}.")
    if view == "auto":
        return "window" if window_available()[0] else "browser"
    if view == "window":
        ok, why = window_available()
        if not ok:
            raise ValueError(f"--view window is not possible: {why}. Use --view browser (or auto).")
    return view


class _quiet_opencv:
    """Silence OpenCV's log (below errors) inside the block; restores the previous level."""

    def __enter__(self):
        import cv2

        self._log = getattr(getattr(cv2, "utils", None), "logging", None)
        if self._log is not None:
            self._level = self._log.getLogLevel()
            self._log.setLogLevel(self._log.LOG_LEVEL_ERROR)
        return self

    def __exit__(self, *exc):
        if self._log is not None:
            self._log.setLogLevel(self._level)
        return False


def open_source(source, *, log=None):
    """Open ``source`` as a :class:`cvtools.io.VideoSource`; None tries camera 0, then the bundled sample.

    Returns ``(video, label, is_sample)``.
    """
    from ..io import VideoSource
    from ._sample import find_sample_video

    if source is None:
        try:
            with _quiet_opencv():  # probing for a camera: OpenCV's own V4L/FFmpeg warnings are noise here
                return VideoSource(0), "camera 0", False
        except VideoOpenError as exc:
            sample = find_sample_video()
            if log:
                log(f"no camera could be opened (tried index 0: {exc}) - running on the bundled sample video "
                    f"{sample} instead; pass --source 0|PATH to choose.")
            return VideoSource(sample), f"sample {sample.name}", True
    video = VideoSource(source)
    if hasattr(source, "read") and hasattr(source, "release"):
        label = f"capture {type(source).__name__}"
    elif video.is_live:
        label = f"camera {int(source)}"
    else:
        label = str(source)
    return video, label, False


def load_gallery(path, **options):
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
    """Per-frame stylisation for --style K|IMAGE (``cvtools.generative.stylize``, method "fast")."""

    def __init__(self, style):
        from .. import generative
        from ..io import read

        self._stylize = generative.stylize
        if isinstance(style, str) and style.strip().lstrip("-").isdigit():
            style = int(style)
        elif isinstance(style, (str, os.PathLike)):
            style = read(style, "rgb")
        self.style = style

    def __call__(self, frame):
        # The network sees at most 320 px (about 4x faster than 480x360 native); the result is full size.
        return self._stylize(frame, self.style, method="fast", size=min(STYLE_SIZE, max(frame.shape[:2])))


def _clip_box(box, w, h):
    x1, y1, x2, y2 = (float(v) for v in box)
    return [min(max(x1, 0.0), w - 1.0), min(max(y1, 0.0), h - 1.0), min(max(x2, 0.0), w - 1.0),
            min(max(y2, 0.0), h - 1.0)]


def run_demo(source=None, *, detector: str = "face", gallery=None, classifier=None, style=None,
             view: str = "none", output=None, max_frames: int | None = None, every: int = DEFAULT_EVERY,
             scale: float = 1.0, port: int = 0, loop: bool | None = None, realtime: bool | None = None, reidentify: int = 30,
             threshold: float | None = None, snapshot_dir=".", log=None, on_frame=None, on_start=None,
             stop=None) -> DemoSummary:
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
        For an invalid option, or ``view="window"`` where no OpenCV window can open.

    Examples
    --------
    >>> from cvtools.demo import find_sample_video
    >>> summary = run_demo(find_sample_video(), view="none", max_frames=3)
    >>> summary.frames, summary.stopped_by, summary.detections
    (3, 'max-frames', {'face': 2})
    """
    import cv2

    from .. import detect as detect_mod
    from ..io import VideoSource, VideoWriter

    if every is None or int(every) < 1:
        raise ValueError(f"`every` must be an integer >= 1; got {every!r}.")
    every = int(every)
    if not (scale and 0 < float(scale) <= 1):
        raise ValueError(f"`scale` must be in (0, 1]; got {scale!r}.")
    scale = float(scale)
    if max_frames is not None and int(max_frames) < 1:
        raise ValueError(f"`max_frames` must be >= 1; got {max_frames!r}.")
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; valid: {', '.join(VIEWS)}.")
    view = resolve_view(view)
    log = log or (lambda message: None)
    stop = stop or threading.Event()

    # Everything that can fail on bad arguments is built before the camera opens.
    if isinstance(detector, str):
        det_name, det = detector, detect_mod.get(detector)
    else:
        det_name, det = getattr(detector, "name", type(detector).__name__), detector
    if threshold is not None and not float(threshold) > 0:
        raise ValueError(f"`threshold` must be > 0; got {threshold!r}.")
    gal_options = {} if threshold is None else {"threshold": float(threshold)}
    if isinstance(detector, str) and detector in face_detectors():
        gal_options["detector"] = det  # one face pipeline: the gallery's faces come from the same detector
    gal = load_gallery(gallery, **gal_options) if isinstance(gallery, (str, os.PathLike)) else gallery
    clf = None
    if classifier is not None:
        from .. import recognize

        clf = recognize.load(classifier) if isinstance(classifier, (str, os.PathLike)) else classifier
    styler = _Style(style) if style is not None else None

    video, label, is_sample = open_source(source, log=log)
    interactive = view in ("window", "browser")
    if realtime is None:
        realtime = interactive and not video.is_live
    if loop is None:
        loop = is_sample and interactive and max_frames is None
    reopen = (lambda src=video.source: VideoSource(src)) if loop and not video.is_live else None

    grabber = FrameGrabber(video, drop_stale=video.is_live or realtime, queue_size=4,
                           pace_fps=(video.fps or 25.0) if (realtime and not video.is_live) else None,
                           reopen=reopen)
    summary = DemoSummary(source=label, view=view, detector=det_name, every=every, scale=scale)
    tracker = IoUTracker()
    writer = server = None
    window_open = False
    det_ms = collections.deque(maxlen=30)
    tick = collections.deque(maxlen=30)
    detections_count = collections.Counter()
    track_labels: dict[int, str] = {}
    track_names: dict[int, str] = {}
    identity_boxes = collections.Counter()
    named_boxes = boxes_total = 0
    det_total_ms = id_total_ms = 0.0
    id_calls = 0
    paused = False
    refused_snapshots = 0
    last = None  # (annotated, items) of the last frame, shown again while paused
    thumb = None  # the previous frame, 32 x 18 gray, to notice scene cuts
    cycle = [det_name]
    t_start = time.perf_counter()
    processed = 0
    try:
        if view == "browser":
            from ._server import MJPEGServer

            server = MJPEGServer(port=port)
            summary.url = server.url
        if on_start:
            on_start({"source": label, "view": view, "url": summary.url, "sample": is_sample,
                      "fps": video.fps, "size": video.size})
        grabber.start()
        t_start = time.perf_counter()
        while not stop.is_set():
            if max_frames is not None and processed >= int(max_frames):
                summary.stopped_by = "max-frames"
                break
            # Keys from the window or the page: q quit, space pause, s snapshot, d next detector.
            keys = []
            if server is not None:
                while (k := server.poll_control()) is not None:
                    keys.append(k)
            if window_open:
                code = cv2.waitKey(1 if not paused else 30) & 0xFF
                if code != 255:
                    keys.append({ord("q"): "q", 27: "q", ord(" "): "space", ord("s"): "s",
                                 ord("d"): "d"}.get(code, ""))
            quit_ = False
            for k in keys:
                if k == "q":
                    quit_ = True
                elif k == "space":
                    paused = not paused
                    log("paused" if paused else "resumed")
                elif k == "s" and last is not None and len(summary.snapshots) >= MAX_SNAPSHOTS:
                    if not refused_snapshots:  # said once
                        log(f"snapshot not written: at most {MAX_SNAPSHOTS} per run")
                    refused_snapshots += 1
                elif k == "s" and last is not None:
                    path = Path(snapshot_dir) / f"cvtools_demo_{processed:06d}.png"
                    from ..io import write

                    write(path, last[0])
                    summary.snapshots.append(str(path))
                    log(f"snapshot: {path}")
                elif k == "d":
                    new_name, det = _next_detector(det_name, cycle, detect_mod, log)
                    if new_name != det_name:
                        det_name = new_name
                        summary.detector += f" -> {det_name}"
                        tracker.reset()
            if quit_:
                summary.stopped_by = "quit"
                break
            if paused:
                if server is not None and last is not None:
                    server.set_stats(dict(_stats(summary, processed, tick, det_ms, last[1], det_name), paused=True))
                if not window_open:
                    time.sleep(0.03)
                continue
            item = grabber.read()
            if item is None:
                summary.stopped_by = "end"
                break
            index, frame = item
            h, w = frame.shape[:2]
            fresh = set()
            thumb, cut = _scene_cut(frame, thumb)
            if cut:
                tracker.reset()
                summary.scene_cuts += 1
            if processed % every == 0 or cut:
                small = frame
                if scale != 1.0:
                    small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                                       interpolation=cv2.INTER_AREA)
                t0 = time.perf_counter()
                dets = det.detect(small)
                if scale != 1.0 and len(dets):
                    dets = dets.scale(w / small.shape[1], h / small.shape[0])
                ms = 1000 * (time.perf_counter() - t0)
                det_ms.append(ms)
                det_total_ms += ms
                summary.detector_runs += 1
                detections_count.update(str(v) for v in dets.labels)
                tracks = tracker.update(dets.xyxy, dets.labels, index, scores=dets.scores)
                fresh = {t.track_id for t in tracks}
                for t in tracks:
                    track_labels.setdefault(t.track_id, t.label)
                if gal is not None and len(dets):
                    # Only faces are named: after `d`, eyes, codes or people must not be asked about.
                    ask = [i for i, t in enumerate(tracks)
                           if str(dets.labels[i]) == "face" and (t.identity is None or t.identity == UNKNOWN
                                                                 or index - t.identified_at >= reidentify)]
                    if ask:
                        t0 = time.perf_counter()
                        named = gal.identify(frame, dets[np.asarray(ask, np.intp)])
                        id_total_ms += 1000 * (time.perf_counter() - t0)
                        id_calls += 1
                        names = named.identities if named.identities is not None else [None] * len(ask)
                        dists = named.distances if named.distances is not None else [math.nan] * len(ask)
                        for j, i in enumerate(ask):
                            name = names[j] if names[j] is not None else UNKNOWN
                            tracks[i].add_identity(name, float(dists[j]), index)
                if clf is not None and len(dets):
                    ask = [i for i, t in enumerate(tracks) if not t.classes]
                    if ask:
                        from .. import recognize

                        classified = recognize.classify_detections(frame, dets[np.asarray(ask, np.intp)], clf)
                        classes, probs = classified.data["class"], classified.data["class_score"]
                        for j, i in enumerate(ask):
                            tracks[i].add_class(str(classes[j]), float(probs[j]))
            else:
                tracker.predict(index)
            items = []
            for t in tracker.tracks:
                entry = {"track": t.track_id, "label": t.label, "score": round(float(t.score), 3),
                         "box": [round(v, 1) for v in _clip_box(t.box, w, h)], "stale": t.track_id not in fresh}
                if t.identity is not None:
                    entry["identity"] = t.identity
                    entry["distance"] = None if math.isnan(t.distance) else round(t.distance, 3)
                    identity_boxes[t.identity] += 1
                    track_names[t.track_id] = t.identity  # the last name a track had
                    if t.identity != UNKNOWN:
                        named_boxes += 1
                if t.class_label is not None:
                    entry["class"] = t.class_label
                items.append(entry)
            boxes_total += len(items)
            now = time.perf_counter()
            tick.append(now)
            shown = styler(frame) if styler is not None else frame
            status = f"FPS {_fps(tick):.1f} | {det_name} {det_ms[-1] if det_ms else 0:.0f} ms | every {every}"
            annotated = draw_overlay(shown, items, status=status)
            if output is not None:
                if writer is None:
                    writer = VideoWriter(output, fps=video.fps or 25.0, size=(annotated.shape[1], annotated.shape[0]))
                if annotated.shape[1::-1] != writer.size:  # an image sequence of mixed sizes
                    writer.write(cv2.resize(annotated, writer.size, interpolation=cv2.INTER_AREA))
                else:
                    writer.write(annotated)
            if server is not None:
                server.publish(annotated, _stats(summary, processed + 1, tick, det_ms, items, det_name))
            if view == "window":
                window_open = _show(annotated)
            last = (annotated, items)
            processed += 1
            if on_frame is not None:
                on_frame(index, annotated, items)
    except KeyboardInterrupt:
        summary.stopped_by = "interrupt"
    finally:
        elapsed = time.perf_counter() - t_start
        grabber.stop()
        if writer is not None:
            writer.close()
            summary.output = str(writer.path)
        if server is not None:
            server.close()
        if window_open:
            try:
                cv2.destroyWindow(WINDOW_TITLE)
                cv2.waitKey(1)
            except cv2.error:
                pass
    if stop.is_set() and summary.stopped_by == "end":
        summary.stopped_by = "stop"
    summary.frames = processed
    summary.seconds = round(elapsed, 3)
    summary.fps = round(processed / elapsed, 2) if elapsed > 0 else 0.0
    summary.dropped = grabber.dropped
    summary.detector_ms = round(det_total_ms / summary.detector_runs, 2) if summary.detector_runs else 0.0
    summary.identify_ms = round(id_total_ms / id_calls, 2) if id_calls else 0.0
    summary.detections = dict(detections_count)
    summary.tracks = dict(collections.Counter(track_labels.values()))
    summary.identities = dict(collections.Counter(track_names.values()))
    summary.boxes = boxes_total
    summary.named_boxes = named_boxes
    summary.identity_boxes = dict(identity_boxes)
    return summary


def _scene_cut(frame, previous):
    """``(thumbnail, is_cut)``: the frame's 32 x 18 gray thumbnail, and whether it differs from ``previous``
    by more than :data:`SCENE_CUT` (a new shot)."""
    import cv2

    gray = frame if frame.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
    if gray.dtype != np.uint8:  # uint16 or float frames: onto the 0-255 scale
        small *= 255.0 / (65535.0 if gray.dtype == np.uint16 else 1.0)
    return small, previous is not None and float(np.abs(small - previous).mean()) > SCENE_CUT


def _fps(tick) -> float:
    if len(tick) < 2:
        return 0.0
    span = tick[-1] - tick[0]
    return (len(tick) - 1) / span if span > 0 else 0.0


def _stats(summary, frame, tick, det_ms, items, det_name) -> dict:
    return {"source": summary.source, "frame": frame, "fps": round(_fps(tick), 2),
            "detector": det_name, "detector_ms": round(det_ms[-1], 1) if det_ms else None,
            "every": summary.every, "detections": items, "paused": False}


def _show(annotated) -> bool:
    import cv2

    try:
        cv2.imshow(WINDOW_TITLE, np.ascontiguousarray(annotated[..., ::-1]))
    except cv2.error as exc:  # a build that claims a GUI but cannot open a window
        raise VideoOpenError(f"cannot open an OpenCV window ({str(exc).strip().splitlines()[-1]}); "
                             f"use --view browser.") from exc
    return True


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
