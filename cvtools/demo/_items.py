"""What the demo's stages hand on: a box shown on a frame, a processed frame, and the end summary."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ._tracker import UNKNOWN

#: Detector runs every this many frames by default: reaches >= 20 FPS end to end with face detection
#: and a gallery on 640x360 video on a 2-core machine (see docs/demo.md).
DEFAULT_EVERY = 3


@dataclass
class DemoBox:
    """One box shown on a frame: a track's box now, its label, and who or what it was found to be.

    Attributes
    ----------
    track : int
        The track's ID (stable while the tracker follows the object).
    label : str
        The detector's label (``"face"``, ``"person"``, ...).
    box : list of float
        ``xyxy`` in the frame's pixels, clipped to the frame, rounded to 0.1 px.
    score : float
        The detector's score for the track's last detection.
    stale : bool
        True when the box was carried by the tracker, not seen by the detector on this frame.
    identified : bool
        Whether the gallery was asked about this track (only faces are).
    identity : str or None
        The gallery's name for the track; None when it is unknown (or was never asked).
    distance : float or None
        Gallery distance of that answer (None when not asked, or not given).
    class_label : str or None
        The classifier's class for the track (``--classifier``), if any.

    Examples
    --------
    >>> DemoBox(1, "face", [1.0, 2.0, 30.0, 40.0], 0.9, identified=True, distance=0.71).to_dict()
    {'track': 1, 'label': 'face', 'score': 0.9, 'box': [1.0, 2.0, 30.0, 40.0], 'stale': False, \
'identity': None, 'distance': 0.71}
    """

    track: int
    label: str
    box: list
    score: float
    stale: bool = False
    identified: bool = False
    identity: str | None = None
    distance: float | None = None
    class_label: str | None = None

    def to_dict(self) -> dict:
        """The JSON form (``--tracks``, ``/stats.json``, ``on_frame``): ``identity`` and ``distance`` only
        when the gallery was asked (``identity`` null when unknown), ``class`` only when classified."""
        out = {"track": self.track, "label": self.label, "score": self.score, "box": self.box, "stale": self.stale}
        if self.identified:
            out["identity"] = self.identity
            out["distance"] = self.distance
        if self.class_label is not None:
            out["class"] = self.class_label
        return out


@dataclass
class DemoFrame:
    """One processed frame, as the detect/track/identify stage hands it to the outputs.

    Attributes
    ----------
    index : int
        The frame's number in the source (gaps are frames dropped as stale).
    image : (H, W, 3) ndarray
        The frame as read (RGB); not annotated.
    boxes : list of DemoBox
        The boxes to show.
    detected : bool
        Whether the detector ran on this frame (else the tracker carried the boxes).
    scene_cut : bool
        Whether this frame starts a new shot (tracks were forgotten, the detector ran).
    """

    index: int
    image: np.ndarray
    boxes: list = field(default_factory=list)
    detected: bool = False
    scene_cut: bool = False


@dataclass
class DemoSummary:
    """What a demo run did; :meth:`format` is the end summary, :meth:`to_dict` its JSON form.

    ``identities`` (tracks per final name) and ``identity_boxes`` (boxes shown per name) count faces the
    gallery did not know under ``"unknown"``; the JSON form moves those to ``unknown_tracks`` and
    ``unknown_boxes``, so that no name in it is the string "unknown".

    Examples
    --------
    >>> s = DemoSummary("clip.mp4", "none", "face", identities={"ada": 1, "unknown": 2},
    ...                 identity_boxes={"ada": 30, "unknown": 10}, named_boxes=30)
    >>> s.named_share, s.to_dict()["identities"], s.to_dict()["unknown_boxes"]
    (0.75, {'ada': 1}, 10)
    """

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
        """The summary as one JSON object (``cvtools demo --json``)."""
        out = asdict(self)
        out["identities"] = {k: v for k, v in self.identities.items() if k != UNKNOWN}
        out["identity_boxes"] = {k: v for k, v in self.identity_boxes.items() if k != UNKNOWN}
        out["unknown_tracks"] = self.identities.get(UNKNOWN, 0)
        out["unknown_boxes"] = self.identity_boxes.get(UNKNOWN, 0)
        out["named_share"] = self.named_share
        return out

    def format(self) -> str:
        """The end summary, a few lines of text."""
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
