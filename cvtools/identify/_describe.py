"""`describe_detections`: plain-language attributes of each detection (color, size, position, ...)."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .._shared import check_image, to_rgb_uint8
from ..recognize import crop_boxes

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from collections.abc import Sequence

    from .._shared._detections import Detections

#: Color names and the sRGB value each stands for (nearest in CIELAB wins).
COLORS = {
    "black": (20, 20, 20), "gray": (128, 128, 128), "silver": (192, 192, 192), "white": (245, 245, 245),
    "red": (200, 30, 30), "maroon": (120, 20, 25), "orange": (240, 130, 20), "yellow": (235, 215, 40),
    "beige": (220, 200, 160), "brown": (130, 80, 40), "olive": (120, 120, 30), "green": (40, 150, 50),
    "teal": (20, 128, 128), "cyan": (40, 200, 210), "blue": (30, 70, 200), "navy": (20, 30, 100),
    "purple": (120, 40, 150), "pink": (240, 150, 190), "skin": (210, 160, 130),
}


def _lab(rgb) -> np.ndarray:
    import cv2

    arr = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(arr, cv2.COLOR_RGB2Lab).reshape(-1, 3)


_PALETTE_LAB = None


def color_name(rgb: Sequence[float]) -> str:
    """The nearest name in :data:`COLORS` (CIELAB distance) for an sRGB triple in 0-255.

    >>> color_name((250, 10, 10)), color_name((10, 10, 240)), color_name((128, 130, 126))
    ('red', 'blue', 'gray')
    """
    global _PALETTE_LAB
    if _PALETTE_LAB is None:
        _PALETTE_LAB = _lab(list(COLORS.values()))
    d = ((_PALETTE_LAB - _lab(rgb)) ** 2).sum(1)
    return list(COLORS)[int(d.argmin())]


def dominant_color(image: np.ndarray, *, k: int = 3, seed: int = 0) -> tuple[int, int, int]:
    """The centre of the largest k-means color cluster of ``image``, as an sRGB uint8 triple.

    ``image`` is any cvtools image (converted by :func:`cvtools._shared.to_rgb_uint8`'s rule: gray
    repeated, alpha dropped).

    >>> dominant_color(np.full((4, 4, 3), (10, 200, 30), np.uint8))
    (10, 200, 30)
    """
    import cv2

    im = to_rgb_uint8(image)
    h, w = im.shape[:2]
    s = min(1.0, 48 / max(h, w))
    if s < 1:
        im = cv2.resize(im, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    px = im.reshape(-1, 3).astype(np.float32)
    k = int(min(k, len(np.unique(px, axis=0))))
    if k <= 1:
        return tuple(int(v) for v in np.rint(px.mean(0)))
    cv2.setRNGSeed(seed)
    _, lab, centres = cv2.kmeans(px, k, None, (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5),
                                 3, cv2.KMEANS_PP_CENTERS)
    big = np.bincount(lab.ravel(), minlength=k).argmax()
    return tuple(int(v) for v in np.clip(np.rint(centres[big]), 0, 255))


def _third(v: float, names) -> str:
    return names[0] if v < 1 / 3 else names[1] if v < 2 / 3 else names[2]


def describe_detections(image: np.ndarray, detections: Detections) -> list[dict]:
    """Attributes of each detection, in words and numbers (one JSON-ready dict per detection).

    Keys: those of :meth:`Detections.to_records` (``box`` ``[x1, y1, x2, y2]``, ``score``, ``label``,
    and ``text``, ``identity``, ``distance`` where known); ``color`` (the dominant color's name, from
    k-means over the box, see :data:`COLORS`) and ``color_rgb``; ``relative_size`` (box area /
    image area) and ``size`` (``"small"`` < 2 %, ``"medium"`` < 15 %, else ``"large"``);
    ``position`` (``"top-left"`` ... ``"bottom-right"``, from the box centre in thirds of the
    frame: ``horizontal`` left/centre/right, ``vertical`` top/middle/bottom). Where the
    detections carry them: ``landmarks`` (faces) and ``data`` fields such as ``class``.

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> img = np.zeros((90, 90, 3), np.uint8); img[0:30, 60:90] = (220, 30, 30)
    >>> d = describe_detections(img, Detections([[60, 0, 90, 30]], labels=["box"]))[0]
    >>> d["color"], d["position"], d["size"]
    ('red', 'top-right', 'medium')
    """
    image = check_image(image)
    h, w = image.shape[:2]
    out = []
    crops = crop_boxes(image, detections.xyxy)
    base = detections.to_records()  # box, score, label, text, identity, distance: the keys of every JSON record
    for i, crop in enumerate(crops):
        x1, y1, x2, y2 = (float(v) for v in detections.xyxy[i])
        rgb = dominant_color(crop)
        rel = max(x2 - x1, 0) * max(y2 - y1, 0) / float(h * w)
        cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        hor = _third(cx, ("left", "centre", "right"))
        ver = _third(cy, ("top", "middle", "bottom"))
        pos = "centre" if (hor, ver) == ("centre", "middle") else \
            hor if ver == "middle" else ver if hor == "centre" else f"{ver}-{hor}"
        rec = {**base[i], "color": color_name(rgb), "color_rgb": list(rgb), "relative_size": round(rel, 5),
               "size": "small" if rel < 0.02 else "medium" if rel < 0.15 else "large",
               "position": pos, "horizontal": hor, "vertical": ver}
        if detections.landmarks is not None:
            rec["landmarks"] = np.round(detections.landmarks[i], 2).tolist()
        for key, arr in detections.data.items():
            v = arr[i]
            rec.setdefault(key, v.item() if isinstance(v, np.generic) else
                           v.tolist() if isinstance(v, np.ndarray) else v)
        out.append(rec)
    return out


# ------------------------------------------------------------------ deprecated names (one release)
_DEPRECATED = {"describe": "describe_detections", "colour_name": "color_name", "dominant_colour": "dominant_color",
               "COLOURS": "COLORS"}


def deprecated(name: str):
    """The object behind a deprecated name, after a DeprecationWarning naming its replacement."""
    new = _DEPRECATED[name]
    warnings.warn(f"cvtools.identify.{name} is deprecated and will be removed in the next release; use "
                  f"cvtools.identify.{new}.", DeprecationWarning, stacklevel=3)
    return globals()[new]
