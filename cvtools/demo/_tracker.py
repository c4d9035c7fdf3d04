"""A small IoU tracker: boxes carried between detector runs, identities kept per track."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNKNOWN = "unknown"


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two sets of ``xyxy`` boxes, ``(N, 4)`` and ``(M, 4)`` -> ``(N, M)`` float32.

    Examples
    --------
    >>> a = np.array([[0, 0, 10, 10]], np.float32)
    >>> b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    >>> [round(float(v), 3) for v in box_iou(a, b)[0]]
    [1.0, 0.333, 0.0]
    """
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou.astype(np.float32)


@dataclass
class Track:
    """One tracked object: its box now, its label, and the identities votes it has collected.

    The identity of a track is the name it was given most often by the gallery (ties go to the smaller
    mean distance); ``"unknown"`` only while no name has been given. ``misses`` counts consecutive
    detector runs that did not see it.
    """

    track_id: int
    box: np.ndarray
    label: str
    score: float
    first_frame: int
    last_frame: int
    hits: int = 1
    misses: int = 0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    votes: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    identified_at: int = -1
    _anchor: np.ndarray | None = None

    def __post_init__(self):
        self.box = np.asarray(self.box, np.float32).reshape(4).copy()
        if self._anchor is None:
            self._anchor = self.box.copy()

    def add_identity(self, name: str, distance: float, frame_index: int) -> None:
        """Record one gallery answer for this track."""
        self.votes.setdefault(str(name), []).append(float(distance))
        self.identified_at = int(frame_index)

    def add_class(self, name: str, score: float) -> None:
        """Record one classifier answer for this track."""
        self.classes.setdefault(str(name), []).append(float(score))

    @property
    def identity(self) -> str | None:
        """The track's name (None when no gallery has been asked)."""
        if not self.votes:
            return None
        named = {k: v for k, v in self.votes.items() if k != UNKNOWN} or self.votes
        return min(named, key=lambda k: (-len(named[k]), float(np.mean(named[k]))))

    @property
    def distance(self) -> float:
        """Mean gallery distance of :attr:`identity` (NaN when none)."""
        name = self.identity
        return float(np.mean(self.votes[name])) if name is not None else float("nan")

    @property
    def class_label(self) -> str | None:
        """The classifier's most frequent answer for this track (None without a classifier)."""
        if not self.classes:
            return None
        return max(self.classes, key=lambda k: (len(self.classes[k]), float(np.mean(self.classes[k]))))


class IoUTracker:
    """Greedy-optimal IoU matching of detections to tracks, with constant-velocity carry-over.

    Between detector runs, :meth:`predict` moves every track's centre along its smoothed velocity
    (the box keeps the size the detector last gave), so boxes
    follow a moving face while the detector rests. :meth:`update` matches a new set of detections to
    the predicted tracks (Hungarian assignment on IoU, same label only, IoU >= ``iou_threshold``),
    starts a track for each unmatched detection and drops a track after ``max_misses`` consecutive
    detector runs without a match. Identities stay with the track, so a face named once stays named.

    Parameters
    ----------
    iou_threshold : float
        Minimum IoU for a detection to continue a track.
    max_misses : int
        Detector runs a track survives unseen (it keeps its last box meanwhile).
    smoothing : float
        Weight of the newest velocity measurement, 0 (no velocity) to 1 (no smoothing).

    Examples
    --------
    >>> tracker = IoUTracker()
    >>> [t.track_id for t in tracker.update(np.array([[0, 0, 10, 10]]), ["face"], frame_index=0)]
    [1]
    >>> [t.track_id for t in tracker.update(np.array([[1, 0, 11, 10]]), ["face"], frame_index=3)]
    [1]
    """

    def __init__(self, *, iou_threshold: float = 0.3, max_misses: int = 2, smoothing: float = 0.5):
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"`iou_threshold` must be in (0, 1]; got {iou_threshold!r}.")
        if max_misses < 0:
            raise ValueError(f"`max_misses` must be >= 0; got {max_misses!r}.")
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"`smoothing` must be in [0, 1]; got {smoothing!r}.")
        self.iou_threshold = float(iou_threshold)
        self.max_misses = int(max_misses)
        self.smoothing = float(smoothing)
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track (IDs keep counting up)."""
        self.tracks = []

    def predict(self, frame_index: int) -> list[Track]:
        """Move each track to where its velocity puts it at ``frame_index``; returns the tracks."""
        for t in self.tracks:
            dt = frame_index - t.last_frame
            t.box = (t._anchor + t.velocity * dt).astype(np.float32)
        return self.tracks

    def update(self, boxes, labels, frame_index: int, scores=None, unseen_below: float | None = None,
               drop_below: float | None = None) -> list[Track]:
        """Match one detector run's boxes to the tracks.

        Parameters
        ----------
        boxes : (N, 4) array
            ``xyxy`` boxes found at ``frame_index``.
        labels : sequence of N str
        frame_index : int
        scores : (N,) array, optional
        unseen_below : float, optional
            The run could not see objects smaller than this (px, shorter side of the box): tracks that
            small are kept as they are when unmatched, without counting a miss.
        drop_below : float, optional
            Unmatched tracks smaller than this (px, shorter side) are dropped at once instead of after
            ``max_misses`` runs: for objects looked for only on rare runs, where each miss is long.

        Returns
        -------
        list of Track
            The track of each detection, in the order of ``boxes`` (new tracks included).
        """
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        labels = [str(v) for v in labels]
        if len(labels) != len(boxes):
            raise ValueError(f"`labels` has {len(labels)} entries for {len(boxes)} boxes.")
        scores = np.ones(len(boxes), np.float32) if scores is None else np.asarray(scores, np.float32)
        self.predict(frame_index)
        assigned: list[Track | None] = [None] * len(boxes)
        matched_tracks = set()
        if self.tracks and len(boxes):
            iou = box_iou(np.stack([t.box for t in self.tracks]), boxes)
            same = np.array([[t.label == lab for lab in labels] for t in self.tracks])
            iou = np.where(same, iou, 0.0)
            from scipy.optimize import linear_sum_assignment

            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_threshold:
                    t = self.tracks[r]
                    dt = max(frame_index - t.last_frame, 1)
                    # Only the centre moves: detector box sizes jump between pyramid levels, and
                    # extrapolating that noise shrinks or inflates boxes until they lose their track.
                    shift = ((boxes[c, :2] + boxes[c, 2:]) - (t._anchor[:2] + t._anchor[2:])) / (2 * dt)
                    measured = np.concatenate([shift, shift]).astype(np.float32)
                    t.velocity = (self.smoothing * measured + (1 - self.smoothing) * t.velocity).astype(np.float32)
                    if t.hits == 1:  # the first measurement is all we know
                        t.velocity = measured.astype(np.float32)
                    t.box = boxes[c].copy()
                    t._anchor = boxes[c].copy()
                    t.score = float(scores[c])
                    t.last_frame = int(frame_index)
                    t.hits += 1
                    t.misses = 0
                    assigned[c] = t
                    matched_tracks.add(id(t))
        survivors = []
        for t in self.tracks:
            if id(t) not in matched_tracks:
                side = min(t.box[2] - t.box[0], t.box[3] - t.box[1])
                if unseen_below is None or side >= unseen_below:
                    t.misses += 1  # (a track too small for this run to see is not counted as missed)
                if drop_below is not None and side < drop_below:
                    continue
                t.velocity = np.zeros(4, np.float32)  # an unseen object is not extrapolated off-screen
                t._anchor = t.box.copy()
                t.last_frame = int(frame_index)
                if t.misses > self.max_misses:
                    continue
            survivors.append(t)
        self.tracks = survivors
        for c in range(len(boxes)):
            if assigned[c] is None:
                t = Track(self._next_id, boxes[c], labels[c], float(scores[c]), int(frame_index), int(frame_index))
                self._next_id += 1
                self.tracks.append(t)
                assigned[c] = t
        return assigned  # type: ignore[return-value]
