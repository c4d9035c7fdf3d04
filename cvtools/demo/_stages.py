"""The demo's stages between the source and the views, each with the state it needs.

``Perception`` turns frames into boxes (detect every N frames or at a scene cut, track in between,
name and classify new tracks); ``ShownTally`` counts what was shown; ``Recorder`` and ``WindowView``
are outputs; ``Controls`` reads the keys of the window and the page. :func:`run_demo` composes them.
"""
from __future__ import annotations

import collections
import math
import time
from pathlib import Path

import numpy as np

from .._shared import VideoOpenError
from ._items import DemoBox, DemoFrame, DemoSummary
from ._tracker import UNKNOWN, IoUTracker

#: Mean absolute difference (0-255) between 32 x 18 gray thumbnails of consecutive frames above which a
#: frame starts a new shot: the tracker forgets its tracks and the detector runs at once, so that no name
#: passes to whoever appears where someone was before the cut. Measured: the Hamilton clip's hard cuts
#: 26-30; dissolves at most 12.6; camera motion in the bundled sample and a MOT20 street clip at most 4.1.
SCENE_CUT = 20.0


def scene_cut(frame, previous):
    """``(thumbnail, is_cut)``: the frame's 32 x 18 gray thumbnail, and whether it differs from ``previous``
    by more than :data:`SCENE_CUT` (a new shot)."""
    import cv2

    gray = frame if frame.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
    if gray.dtype != np.uint8:  # uint16 or float frames: onto the 0-255 scale
        small *= 255.0 / (65535.0 if gray.dtype == np.uint16 else 1.0)
    return small, previous is not None and float(np.abs(small - previous).mean()) > SCENE_CUT


def _clip_box(box, w, h):
    x1, y1, x2, y2 = (float(v) for v in box)
    return [min(max(x1, 0.0), w - 1.0), min(max(y1, 0.0), h - 1.0), min(max(x2, 0.0), w - 1.0),
            min(max(y2, 0.0), h - 1.0)]


class Perception:
    """Frames in, boxes out: detect every ``every`` frames (and at scene cuts), track in between, ask the
    gallery about new (or long unasked) face tracks and the classifier about new tracks.

    Counts what it did (detector runs and latency, scene cuts, detections and tracks per label) for
    :meth:`report`.
    """

    def __init__(self, detector_name, detector, *, gallery=None, classifier=None, every=3, scale=1.0,
                 reidentify=30):
        self.detector_name, self.detector = detector_name, detector
        self.gallery, self.classifier = gallery, classifier
        self.every, self.scale, self.reidentify = every, scale, reidentify
        self.tracker = IoUTracker()
        self.latency = collections.deque(maxlen=30)  # recent detector runs, ms: the status bar's figure
        self._thumb = None  # the previous frame, 32 x 18 gray, to notice scene cuts
        self.detector_runs = self.scene_cuts = self.identify_calls = 0
        self.detector_total_ms = self.identify_total_ms = 0.0
        self.detections = collections.Counter()
        self.track_labels: dict[int, str] = {}

    def switch(self, name, detector) -> None:
        """Use another detector from now on (the `d` key); the tracks start afresh."""
        self.detector_name, self.detector = name, detector
        self.tracker.reset()

    def process(self, index: int, frame: np.ndarray, processed: int) -> DemoFrame:
        """The boxes to show on ``frame`` (source frame ``index``, the ``processed``-th frame of the run)."""
        self._thumb, cut = scene_cut(frame, self._thumb)
        if cut:
            self.tracker.reset()
            self.scene_cuts += 1
        fresh = set()
        detected = processed % self.every == 0 or cut
        if detected:
            fresh = self._detect_and_track(index, frame)
        else:
            self.tracker.predict(index)
        h, w = frame.shape[:2]
        boxes = [_demo_box(t, w, h, stale=t.track_id not in fresh) for t in self.tracker.tracks]
        return DemoFrame(index=index, image=frame, boxes=boxes, detected=detected, scene_cut=cut)

    def _detect_and_track(self, index, frame) -> set:
        dets = self._detect(frame)
        self.detections.update(str(v) for v in dets.labels)
        tracks = self.tracker.update(dets.xyxy, dets.labels, index, scores=dets.scores)
        for t in tracks:
            self.track_labels.setdefault(t.track_id, t.label)
        if len(dets) and self.gallery is not None:
            self._identify(index, frame, dets, tracks)
        if len(dets) and self.classifier is not None:
            self._classify(frame, dets, tracks)
        return {t.track_id for t in tracks}

    def _detect(self, frame):
        import cv2

        h, w = frame.shape[:2]
        small = frame
        if self.scale != 1.0:
            small = cv2.resize(frame, (max(1, round(w * self.scale)), max(1, round(h * self.scale))),
                               interpolation=cv2.INTER_AREA)
        t0 = time.perf_counter()
        dets = self.detector.detect(small)
        if self.scale != 1.0 and len(dets):
            dets = dets.scale(w / small.shape[1], h / small.shape[0])
        ms = 1000 * (time.perf_counter() - t0)
        self.latency.append(ms)
        self.detector_total_ms += ms
        self.detector_runs += 1
        return dets

    def _identify(self, index, frame, dets, tracks) -> None:
        # Only faces are named: after `d`, eyes, codes or people must not be asked about.
        ask = [i for i, t in enumerate(tracks)
               if str(dets.labels[i]) == "face" and (t.identity is None or t.identity == UNKNOWN
                                                     or index - t.identified_at >= self.reidentify)]
        if not ask:
            return
        t0 = time.perf_counter()
        named = self.gallery.identify(frame, dets[np.asarray(ask, np.intp)])
        self.identify_total_ms += 1000 * (time.perf_counter() - t0)
        self.identify_calls += 1
        names = named.identities if named.identities is not None else [None] * len(ask)
        dists = named.distances if named.distances is not None else [math.nan] * len(ask)
        for j, i in enumerate(ask):
            tracks[i].add_identity(names[j] if names[j] is not None else UNKNOWN, float(dists[j]), index)

    def _classify(self, frame, dets, tracks) -> None:
        from .. import recognize

        ask = [i for i, t in enumerate(tracks) if not t.classes]
        if not ask:
            return
        classified = recognize.classify_detections(frame, dets[np.asarray(ask, np.intp)], self.classifier)
        classes, probs = classified.data["class"], classified.data["class_score"]
        for j, i in enumerate(ask):
            tracks[i].add_class(str(classes[j]), float(probs[j]))

    def report(self, summary: DemoSummary) -> None:
        """Write what this stage counted into ``summary``."""
        summary.detector_runs = self.detector_runs
        summary.scene_cuts = self.scene_cuts
        summary.detector_ms = round(self.detector_total_ms / self.detector_runs, 2) if self.detector_runs else 0.0
        summary.identify_ms = round(self.identify_total_ms / self.identify_calls, 2) if self.identify_calls else 0.0
        summary.detections = dict(self.detections)
        summary.tracks = dict(collections.Counter(self.track_labels.values()))


def _demo_box(track, w, h, *, stale: bool) -> DemoBox:
    name = track.identity
    dist = None if name is None or math.isnan(track.distance) else round(track.distance, 3)
    return DemoBox(track=track.track_id, label=track.label, score=round(float(track.score), 3),
                   box=[round(v, 1) for v in _clip_box(track.box, w, h)], stale=stale,
                   identified=name is not None, identity=None if name in (None, UNKNOWN) else name,
                   distance=dist, class_label=track.class_label)


class ShownTally:
    """Counts over the boxes shown: per name (tracks and boxes), and how many boxes carried a name."""

    def __init__(self):
        self.boxes = self.named_boxes = 0
        self.identity_boxes = collections.Counter()
        self.track_names: dict[int, str] = {}  # the last name each track had

    def add(self, boxes) -> None:
        self.boxes += len(boxes)
        for b in boxes:
            if b.identified:
                name = b.identity if b.identity is not None else UNKNOWN
                self.identity_boxes[name] += 1
                self.track_names[b.track] = name
                self.named_boxes += b.identity is not None

    def report(self, summary: DemoSummary) -> None:
        summary.boxes = self.boxes
        summary.named_boxes = self.named_boxes
        summary.identity_boxes = dict(self.identity_boxes)
        summary.identities = dict(collections.Counter(self.track_names.values()))


class Recorder:
    """``--output``: the annotated frames into a video file, opened at the first frame (its size)."""

    def __init__(self, path, *, fps: float):
        self.path, self.fps = path, fps
        self._writer = None

    def write(self, annotated: np.ndarray) -> None:
        from ..io import VideoWriter

        if self._writer is None:
            self._writer = VideoWriter(self.path, fps=self.fps, size=(annotated.shape[1], annotated.shape[0]))
        if annotated.shape[1::-1] != self._writer.size:  # an image sequence of mixed sizes
            import cv2

            annotated = cv2.resize(annotated, self._writer.size, interpolation=cv2.INTER_AREA)
        self._writer.write(annotated)

    def close(self) -> str | None:
        """Close the file (playable whatever stopped the run); its path, or None if nothing was written."""
        if self._writer is None:
            return None
        self._writer.close()
        return str(self._writer.path)


class WindowView:
    """The OpenCV window (``--view window``): shows frames through :func:`cvtools.io.show_window`, reads keys."""

    KEYS = {ord("q"): "q", 27: "q", ord(" "): "space", ord("s"): "s", ord("d"): "d"}

    def __init__(self, title: str):
        self.title = title
        self.is_open = False

    def show(self, annotated: np.ndarray) -> None:
        from ..io import WindowError, show_window

        try:
            show_window(annotated, self.title)
        except WindowError as exc:  # a build that claims a GUI but cannot open a window
            raise VideoOpenError(f"cannot open an OpenCV window ({str(exc.__cause__ or exc).strip().splitlines()[-1]}"
                                 f"); use --view browser.") from exc
        self.is_open = True

    def keys(self, *, paused: bool) -> list[str]:
        """The key pressed since the last call, as a control name (``"q"``, ``"space"``, ``"s"``, ``"d"``)."""
        if not self.is_open:
            return []
        import cv2

        code = cv2.waitKey(1 if not paused else 30) & 0xFF
        return [] if code == 255 else [self.KEYS.get(code, "")]

    def close(self) -> None:
        if not self.is_open:
            return
        import cv2

        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


class Controls:
    """The keys of the window and the page: ``q`` quit, ``space`` pause, ``s`` snapshot, ``d`` next detector.

    ``next_detector()`` is called for ``d``; snapshots (PNG files in ``snapshot_dir``, at most
    ``max_snapshots`` per run) are listed in ``summary.snapshots``.
    """

    def __init__(self, summary: DemoSummary, *, server=None, window=None, snapshot_dir=".", max_snapshots=100,
                 log=None, next_detector=None):
        self.summary, self.server, self.window = summary, server, window
        self.snapshot_dir, self.max_snapshots = Path(snapshot_dir), max_snapshots
        self.log = log or (lambda message: None)
        self.next_detector = next_detector or (lambda: None)
        self.paused = False
        self._refused = 0

    def poll(self, last: np.ndarray | None, processed: int) -> bool:
        """Act on the keys pressed since the last call (``last``: the newest annotated frame); True to quit."""
        keys = []
        if self.server is not None:
            while (k := self.server.poll_control()) is not None:
                keys.append(k)
        if self.window is not None:
            keys += self.window.keys(paused=self.paused)
        for k in keys:
            if k == "q":
                return True
            if k == "space":
                self.paused = not self.paused
                self.log("paused" if self.paused else "resumed")
            elif k == "s" and last is not None:
                self._snapshot(last, processed)
            elif k == "d":
                self.next_detector()
        return False

    def _snapshot(self, annotated, processed) -> None:
        if len(self.summary.snapshots) >= self.max_snapshots:
            if not self._refused:  # said once
                self.log(f"snapshot not written: at most {self.max_snapshots} per run")
            self._refused += 1
            return
        from ..io import write

        path = self.snapshot_dir / f"cvtools_demo_{processed:06d}.png"
        write(path, annotated)
        self.summary.snapshots.append(str(path))
        self.log(f"snapshot: {path}")
