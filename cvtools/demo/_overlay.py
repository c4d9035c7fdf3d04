"""The demo's overlay: boxes, labels, identities with distance, track IDs, FPS and detector latency."""
from __future__ import annotations

import math

import numpy as np

# A colour-blind-friendly palette (Okabe-Ito), RGB: track N gets colour N mod 8.
PALETTE = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
           (204, 121, 167), (255, 255, 255)]


def track_color(track_id: int) -> tuple[int, int, int]:
    """The RGB colour of a track (stable for its lifetime).

    >>> track_color(1) == track_color(9)
    True
    """
    return PALETTE[int(track_id) % len(PALETTE)]


def _text(canvas, text, org, scale, color, thickness):
    import cv2

    cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)


def label_text(item: dict) -> str:
    """The caption of one box: ``#id label [class]: identity (distance)``; a named face drops "face".

    ``item`` is a :meth:`DemoBox.to_dict` dict: an ``identity`` key present with None (or "unknown") is a
    face the gallery was asked about and did not know.

    >>> label_text({"track": 3, "label": "face", "identity": "ada", "distance": 0.412})
    '#3 ada (0.41)'
    >>> label_text({"track": 4, "label": "face", "identity": None, "distance": 0.8})
    '#4 face: unknown (0.80)'
    >>> label_text({"track": 5, "label": "face"})
    '#5 face'
    """
    asked = "identity" in item
    identity = item.get("identity")
    named = identity not in (None, "unknown") and item.get("label") == "face"
    parts = [f"#{item['track']}" if item.get("track") is not None else "",
             "" if named else str(item.get("label", ""))]
    text = " ".join(p for p in parts if p)
    if item.get("class"):
        text += f" [{item['class']}]"
    if asked:
        dist = item.get("distance")
        text += f"{' ' if named else ': '}{identity if identity is not None else 'unknown'}"
        if dist is not None and not (isinstance(dist, float) and math.isnan(dist)):
            text += f" ({dist:.2f})"
    return text


def draw_overlay(image: np.ndarray, items: list[dict], *, status: str = "", paused: bool = False) -> np.ndarray:
    """Draw tracked boxes and a status line on a copy of an RGB uint8 frame.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB frame; not modified.
    items : list of dict
        One per box (:meth:`DemoBox.to_dict`): ``box`` (xyxy), ``label``, optional ``track``, ``identity``,
        ``distance``, ``class``, ``stale`` (drawn thinner: carried by the tracker, not seen by the detector
        this frame).
    status : str
        Text for the top-left status bar (FPS, detector latency...).

    Returns
    -------
    (H, W, 3) uint8 ndarray

    Examples
    --------
    >>> img = np.zeros((60, 80, 3), np.uint8)
    >>> out = draw_overlay(img, [{"box": [10, 10, 50, 40], "label": "face", "track": 1}], status="FPS 30")
    >>> bool(out.any()), bool(img.any())
    (True, False)
    """
    import cv2

    canvas = np.ascontiguousarray(image[..., :3]).copy() if image.ndim == 3 else np.dstack([image] * 3)
    h, w = canvas.shape[:2]
    scale = max(0.35, min(1.0, min(h, w) / 720.0))
    thick = max(1, int(round(min(h, w) / 360.0))) + 1  # 2 px at 360p: survives video compression
    for item in items:
        x1, y1, x2, y2 = (int(round(float(v))) for v in item["box"])
        color = track_color(item["track"]) if item.get("track") is not None else PALETTE[0]
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thick if item.get("stale") else thick + 1, cv2.LINE_AA)
        text = label_text(item)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = y1 - 4 if y1 - th - base - 4 >= 0 else min(h - 2, y2 + th + 4)
        tx = max(0, min(x1, w - tw - 2))
        cv2.rectangle(canvas, (tx, ty - th - 2), (tx + tw + 2, ty + base), color, -1)
        cv2.putText(canvas, text, (tx + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    if status or paused:
        text = (status + ("  [paused]" if paused else "")).strip()
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        overlay = canvas[0:th + base + 8, 0:min(w, tw + 10)]
        overlay[:] = (overlay * 0.4).astype(np.uint8)
        _text(canvas, text, (5, th + 4), scale, (255, 255, 255), 1)
    return canvas
