"""`Detections`: the one result type of every detector, recogniser and identifier.

Parallel arrays, one row per detection (the supervision design): boxes, scores and labels always;
landmarks, identities, distances, decoded texts, polygons and a free ``data`` dict when a detector or a
later stage fills them. Instances are validated on construction and never mutated by cvtools: every
operation returns a new instance.
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field, fields

import numpy as np

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from numpy.typing import ArrayLike

__all__ = ["Detections", "nms_indices"]

_OPTIONAL = ("landmarks", "identities", "distances", "texts", "polygons")


def _object_array(values, n: int, *, name: str) -> np.ndarray:
    """A 1-D object array of length ``n`` holding ``values`` (None allowed), copied."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"`{name}` must be a sequence with one entry per detection; got a single {type(values).__name__}.")
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if isinstance(v, np.generic):
            v = v.item()
        out[i] = v
    if out.shape != (n,):
        raise ValueError(f"`{name}` must have one entry per detection ({n}); got {out.shape[0]}.")
    return out


def _json_value(v):
    """A JSON-serialisable copy of ``v`` (numpy scalars and arrays become Python values)."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _boxes_area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def nms_indices(xyxy: ArrayLike, scores: ArrayLike, iou_threshold: float = 0.5, *, classes: ArrayLike | None = None) -> np.ndarray:
    """Greedy non-maximum suppression; indices of the kept boxes, highest score first.

    Parameters
    ----------
    xyxy : (N, 4) array
        Boxes in pixels.
    scores : (N,) array
        Scores; higher is better.
    iou_threshold : float
        A box is dropped when its IoU with a kept box of a higher score is above this.
    classes : (N,) array, optional
        When given, boxes only suppress boxes of the same class.

    Examples
    --------
    >>> nms_indices([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7], 0.5).tolist()
    [0, 2]
    """
    b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"`iou_threshold` must be in [0, 1]; got {iou_threshold}.")
    if len(b) != len(s):
        raise ValueError(f"`scores` must have one entry per box ({len(b)}); got {len(s)}.")
    if len(b) == 0:
        return np.zeros(0, dtype=np.intp)
    if classes is not None:
        # Shift each class into its own region of the plane so that boxes of different classes never overlap.
        _, cls = np.unique(np.asarray(classes, dtype=object).astype(str), return_inverse=True)
        span = max(float(b.max() - b.min()), 1.0) + 1.0
        b = b + (cls.astype(np.float64) * span * 2.0)[:, None]
    area = _boxes_area(b)
    order = np.argsort(-s, kind="stable")
    keep = []
    suppressed = np.zeros(len(b), dtype=bool)
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[pos + 1:]
        rest = rest[~suppressed[rest]]
        if len(rest) == 0:
            break
        xx1 = np.maximum(b[i, 0], b[rest, 0])
        yy1 = np.maximum(b[i, 1], b[rest, 1])
        xx2 = np.minimum(b[i, 2], b[rest, 2])
        yy2 = np.minimum(b[i, 3], b[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        union = area[i] + area[rest] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        suppressed[rest[iou > iou_threshold]] = True
    return np.asarray(keep, dtype=np.intp)


@dataclass(eq=False)
class Detections:
    """Detections in one image: parallel arrays, one row per detection.

    Parameters
    ----------
    xyxy : (N, 4) array
        Boxes ``x1, y1, x2, y2`` in input-image pixels (x right, y down); stored as float32.
    scores : (N,) array, optional
        Confidence of each detection (float32); all 1 when omitted. Its scale depends on the
        detector (see ``cvtools.detect``), higher is always more confident.
    labels : (N,) sequence of str, or str, optional
        Class name of each detection (``"face"``, ``"qrcode"``, ...); one string applies to all;
        ``"object"`` when omitted.
    landmarks : (N, K, 2) array, optional
        K ``(x, y)`` points per detection (facial landmarks, code corners), float32.
    identities : (N,) sequence, optional
        Who or which each detection is (a gallery name, a marker ID); ``None`` entries for unknown.
    distances : (N,) array, optional
        Distance to the matched identity (float32; NaN where none).
    texts : (N,) sequence of str, optional
        Decoded payloads (QR/barcode text); ``None`` entries where nothing was decoded.
    polygons : list of (M, 2) arrays, optional
        An outline per detection (code corners, contour), float32; M may differ between rows.
    data : dict of str -> (N, ...) array
        Any other per-detection values.

    Notes
    -----
    Inputs are copied, so changing the arrays you passed never changes a ``Detections``.
    Selection (``det[mask]``, ``det[3]``, ``det[1:4]``, ``det[[0, 2]]``) returns a new instance;
    ``det["key"]`` returns ``det.data["key"]``.

    Examples
    --------
    >>> det = Detections([[0, 0, 10, 10], [5, 5, 20, 20]], scores=[0.9, 0.4], labels=["face", "face"])
    >>> len(det), det.xyxy.dtype.name
    (2, 'float32')
    >>> len(det[det.scores > 0.5])
    1
    >>> det.to_records()[0]
    {'box': [0.0, 0.0, 10.0, 10.0], 'score': 0.9, 'label': 'face'}
    """

    xyxy: np.ndarray
    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    identities: np.ndarray | None = None
    distances: np.ndarray | None = None
    texts: np.ndarray | None = None
    polygons: list | None = None
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        xyxy = np.array(self.xyxy, dtype=np.float32, copy=True)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"`xyxy` must have shape (N, 4); got {xyxy.shape}.")
        if not np.isfinite(xyxy).all():
            raise ValueError("`xyxy` contains NaN or infinite values.")
        n = xyxy.shape[0]
        self.xyxy = xyxy

        if self.scores is None:
            scores = np.ones(n, dtype=np.float32)
        else:
            scores = np.array(self.scores, dtype=np.float32, copy=True).reshape(-1)
            if scores.shape != (n,):
                raise ValueError(f"`scores` must have shape ({n},); got {np.shape(self.scores)}.")
        self.scores = scores

        if self.labels is None:
            labels = np.full(n, "object", dtype=object)
        elif isinstance(self.labels, str):
            labels = np.full(n, self.labels, dtype=object)
        else:
            labels = _object_array(self.labels, n, name="labels")
            for v in labels:
                if not isinstance(v, str):
                    raise TypeError(f"`labels` must be strings; got {v!r} ({type(v).__name__}).")
        self.labels = labels

        if self.landmarks is not None:
            lm = np.array(self.landmarks, dtype=np.float32, copy=True)
            if lm.size == 0 and n == 0:
                lm = lm.reshape(0, lm.shape[1] if lm.ndim == 3 else 0, 2)
            if lm.ndim != 3 or lm.shape[0] != n or lm.shape[2] != 2:
                raise ValueError(f"`landmarks` must have shape ({n}, K, 2); got {lm.shape}.")
            self.landmarks = lm

        if self.identities is not None:
            self.identities = _object_array(self.identities, n, name="identities")

        if self.distances is not None:
            d = np.array([np.nan if v is None else v for v in np.asarray(self.distances, dtype=object).reshape(-1)],
                         dtype=np.float32)
            if d.shape != (n,):
                raise ValueError(f"`distances` must have shape ({n},); got {np.shape(self.distances)}.")
            self.distances = d

        if self.texts is not None:
            texts = _object_array(self.texts, n, name="texts")
            for i, v in enumerate(texts):
                if v is not None and not isinstance(v, str):
                    raise TypeError(f"`texts` entries must be str or None; got {v!r} ({type(v).__name__}).")
            self.texts = texts

        if self.polygons is not None:
            if len(self.polygons) != n:
                raise ValueError(f"`polygons` must have one entry per detection ({n}); got {len(self.polygons)}.")
            polys = []
            for i, p in enumerate(self.polygons):
                p = np.array(p, dtype=np.float32, copy=True)
                if p.ndim != 2 or p.shape[1] != 2:
                    raise ValueError(f"`polygons[{i}]` must have shape (M, 2); got {p.shape}.")
                polys.append(p)
            self.polygons = polys

        if not isinstance(self.data, dict):
            raise TypeError(f"`data` must be a dict of per-detection arrays; got {type(self.data).__name__}.")
        data = {}
        for key, value in self.data.items():
            if not isinstance(key, str):
                raise TypeError(f"`data` keys must be str; got {key!r}.")
            arr = np.array(value, copy=True)
            if arr.dtype.kind in "US":
                arr = arr.astype(object)
            if arr.ndim == 0 or arr.shape[0] != n:
                raise ValueError(f"`data[{key!r}]` must have one row per detection ({n}); got shape {arr.shape}.")
            data[key] = arr
        self.data = data

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, **present) -> "Detections":
        """No detections. Pass e.g. ``texts=True`` to create the optional field (empty) too.

        Examples
        --------
        >>> len(Detections.empty()), Detections.empty(texts=True).texts.shape
        (0, (0,))
        """
        kw = {}
        for name, on in present.items():
            if name not in _OPTIONAL:
                raise ValueError(f"unknown optional field {name!r}; valid: {', '.join(map(repr, _OPTIONAL))}.")
            if on:
                kw[name] = np.zeros((0, 0, 2)) if name == "landmarks" else []
        return cls(np.zeros((0, 4), np.float32), **kw)

    @classmethod
    def from_xywh(cls, xywh, **kwargs) -> "Detections":
        """Build from ``(x, y, width, height)`` boxes (OpenCV's convention).

        Examples
        --------
        >>> Detections.from_xywh([[1, 2, 3, 4]]).xyxy.tolist()
        [[1.0, 2.0, 4.0, 6.0]]
        """
        b = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
        return cls(np.column_stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]]), **kwargs)

    @classmethod
    def from_trbl(cls, locations, **kwargs) -> "Detections":
        """Build from face_recognition's ``(top, right, bottom, left)`` tuples.

        Examples
        --------
        >>> Detections.from_trbl([(2, 30, 40, 10)]).xyxy.tolist()
        [[10.0, 2.0, 30.0, 40.0]]
        """
        b = np.asarray(locations, dtype=np.float64).reshape(-1, 4)
        return cls(np.column_stack([b[:, 3], b[:, 0], b[:, 1], b[:, 2]]), **kwargs)

    # ------------------------------------------------------------------ derived
    @property
    def xywh(self) -> np.ndarray:
        """Boxes as ``(x, y, width, height)``, float32."""
        b = self.xyxy
        return np.column_stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]]).astype(np.float32)

    @property
    def trbl(self) -> list[tuple[int, int, int, int]]:
        """Boxes as face_recognition's integer ``(top, right, bottom, left)`` tuples."""
        return [(int(round(y1)), int(round(x2)), int(round(y2)), int(round(x1))) for x1, y1, x2, y2 in self.xyxy]

    @property
    def area(self) -> np.ndarray:
        """Box areas in square pixels, float32."""
        return _boxes_area(self.xyxy).astype(np.float32)

    @property
    def centers(self) -> np.ndarray:
        """Box centres ``(x, y)``, shape (N, 2), float32."""
        return np.column_stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2,
                                (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2]).astype(np.float32)

    # ------------------------------------------------------------------ container protocol
    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        present = [f for f in _OPTIONAL if getattr(self, f) is not None]
        extra = f", fields={present}" if present else ""
        keys = f", data={sorted(self.data)}" if self.data else ""
        labels = sorted(set(self.labels.tolist()))
        return f"Detections(n={len(self)}, labels={labels}{extra}{keys})"

    def __getitem__(self, index) -> "Detections":
        if isinstance(index, str):
            if index not in self.data:
                raise KeyError(f"no data field {index!r}; present: {sorted(self.data)}.")
            return self.data[index]
        n = len(self)
        if isinstance(index, numbers.Integral) and not isinstance(index, (bool, np.bool_)):
            i = int(index)
            if not -n <= i < n:
                raise IndexError(f"detection index {i} out of range for {n} detections.")
            idx = np.array([i % n], dtype=np.intp)
        elif isinstance(index, slice):
            idx = np.arange(n)[index]
        else:
            arr = np.asarray(index)
            if arr.dtype == bool:
                if arr.shape != (n,):
                    raise IndexError(f"boolean mask must have shape ({n},); got {arr.shape}.")
                idx = np.flatnonzero(arr)
            elif arr.dtype.kind in "iu" or arr.size == 0:
                idx = arr.astype(np.intp).reshape(-1)
                if idx.size and (idx.max() >= n or idx.min() < -n):
                    raise IndexError(f"detection indices out of range for {n} detections.")
            else:
                raise TypeError(f"Detections index must be an int, slice, bool mask or int array; got {arr.dtype}.")
        return self._take(idx)

    def _take(self, idx: np.ndarray) -> "Detections":
        kw = {"xyxy": self.xyxy[idx], "scores": self.scores[idx], "labels": self.labels[idx]}
        for name in ("landmarks", "identities", "distances", "texts"):
            value = getattr(self, name)
            if value is not None:
                kw[name] = value[idx]
        if self.polygons is not None:
            kw["polygons"] = [self.polygons[int(i)] for i in idx]
        kw["data"] = {k: v[idx] for k, v in self.data.items()}
        return Detections(**kw)

    # ------------------------------------------------------------------ combination
    @classmethod
    def merge(cls, detections_list) -> "Detections":
        """Concatenate several ``Detections`` (e.g. from tiles or detectors) into one.

        Optional fields present in only some inputs are filled (``None`` identities/texts, NaN
        distances and landmarks, empty polygons, NaN or ``None`` for missing ``data`` keys).

        Examples
        --------
        >>> a = Detections([[0, 0, 1, 1]], labels=["a"]); b = Detections([[2, 2, 3, 3]], texts=["hi"])
        >>> m = Detections.merge([a, b]); len(m), m.texts.tolist()
        (2, [None, 'hi'])
        """
        items = list(detections_list)
        for i, d in enumerate(items):
            if not isinstance(d, Detections):
                raise TypeError(f"merge() takes Detections; item {i} is {type(d).__name__}.")
        if not items:
            return cls.empty()
        nonempty = [d for d in items if len(d)] or items[:1]
        kw = {"xyxy": np.concatenate([d.xyxy for d in items]),
              "scores": np.concatenate([d.scores for d in items]),
              "labels": np.concatenate([d.labels for d in items])}
        if any(d.landmarks is not None for d in nonempty):
            ks = {d.landmarks.shape[1] for d in nonempty if d.landmarks is not None}
            if len(ks) > 1:
                raise ValueError(f"cannot merge landmarks with different numbers of points: {sorted(ks)}.")
            k = ks.pop()
            kw["landmarks"] = np.concatenate([
                d.landmarks if d.landmarks is not None and d.landmarks.shape[1] == k
                else np.full((len(d), k, 2), np.nan, np.float32) for d in items])
        for name in ("identities", "texts"):
            if any(getattr(d, name) is not None for d in nonempty):
                kw[name] = np.concatenate([getattr(d, name) if getattr(d, name) is not None
                                           else np.full(len(d), None, dtype=object) for d in items])
        if any(d.distances is not None for d in nonempty):
            kw["distances"] = np.concatenate([d.distances if d.distances is not None
                                              else np.full(len(d), np.nan, np.float32) for d in items])
        if any(d.polygons is not None for d in nonempty):
            polys = []
            for d in items:
                polys.extend(d.polygons if d.polygons is not None else [np.zeros((0, 2), np.float32)] * len(d))
            kw["polygons"] = polys
        keys = sorted({k for d in nonempty for k in d.data})
        data = {}
        for k in keys:
            present = [d.data[k] for d in items if k in d.data]
            ref = present[0]
            parts = []
            for d in items:
                if k in d.data:
                    parts.append(d.data[k])
                elif len(d) == 0:
                    continue
                elif ref.dtype.kind in "fiub":  # numbers: NaN where the input had no such field
                    parts.append(np.full((len(d),) + ref.shape[1:], np.nan))
                else:
                    parts.append(np.full((len(d),) + ref.shape[1:], None, dtype=object))
            if any(p.dtype == object for p in parts):
                parts = [p.astype(object) for p in parts]
            data[k] = np.concatenate(parts)
        kw["data"] = data
        return cls(**kw)

    def with_fields(self, **fields_) -> "Detections":
        """A copy with some fields replaced or added (validated like the constructor).

        ``data=`` entries are added to the existing ``data`` dict (pass ``data=None`` to clear it).

        Examples
        --------
        >>> det = Detections([[0, 0, 4, 4]]).with_fields(identities=["ada"], distances=[0.31])
        >>> det.identities.tolist(), round(float(det.distances[0]), 2)
        (['ada'], 0.31)
        """
        names = {f.name for f in fields(self)}
        for k in fields_:
            if k not in names:
                raise ValueError(f"unknown Detections field {k!r}; valid: {', '.join(sorted(names))}.")
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        if "data" in fields_:
            new = fields_.pop("data")
            kw["data"] = {} if new is None else {**self.data, **new}
        kw.update(fields_)
        return Detections(**kw)

    def nms(self, iou_threshold: float = 0.5, *, class_agnostic: bool = False) -> "Detections":
        """Greedy non-maximum suppression; the kept detections, highest score first.

        Parameters
        ----------
        iou_threshold : float
            Drop a detection whose IoU with a higher-scoring kept one exceeds this.
        class_agnostic : bool
            If False (default) only detections with the same label suppress each other.

        Examples
        --------
        >>> det = Detections([[0, 0, 10, 10], [1, 1, 10, 10]], scores=[0.5, 0.9])
        >>> [round(float(s), 2) for s in det.nms(0.5).scores]
        [0.9]
        """
        keep = nms_indices(self.xyxy, self.scores, iou_threshold,
                           classes=None if class_agnostic else self.labels)
        return self._take(keep)

    def sort(self, *, descending: bool = True) -> "Detections":
        """Detections ordered by score (highest first unless ``descending=False``)."""
        order = np.argsort(-self.scores if descending else self.scores, kind="stable")
        return self._take(order)

    # ------------------------------------------------------------------ geometry
    def scale(self, sx: float, sy: float | None = None) -> "Detections":
        """Coordinates multiplied by ``(sx, sy)`` (e.g. to map boxes from a resized image back).

        Examples
        --------
        >>> Detections([[1, 2, 3, 4]]).scale(2.0).xyxy.tolist()
        [[2.0, 4.0, 6.0, 8.0]]
        """
        sy = sx if sy is None else sy
        f = np.array([sx, sy], dtype=np.float32)
        kw = {f_.name: getattr(self, f_.name) for f_ in fields(self)}
        kw["xyxy"] = self.xyxy * np.tile(f, 2)
        if self.landmarks is not None:
            kw["landmarks"] = self.landmarks * f
        if self.polygons is not None:
            kw["polygons"] = [p * f for p in self.polygons]
        return Detections(**kw)

    def offset(self, dx: float, dy: float) -> "Detections":
        """Coordinates shifted by ``(dx, dy)`` (e.g. to map boxes from a crop or tile back).

        Examples
        --------
        >>> Detections([[1, 2, 3, 4]]).offset(10, 20).xyxy.tolist()
        [[11.0, 22.0, 13.0, 24.0]]
        """
        f = np.array([dx, dy], dtype=np.float32)
        kw = {f_.name: getattr(self, f_.name) for f_ in fields(self)}
        kw["xyxy"] = self.xyxy + np.tile(f, 2)
        if self.landmarks is not None:
            kw["landmarks"] = self.landmarks + f
        if self.polygons is not None:
            kw["polygons"] = [p + f for p in self.polygons]
        return Detections(**kw)

    def clip(self, width: int, height: int) -> "Detections":
        """Boxes clipped to an image of ``width`` x ``height`` pixels (other fields unchanged).

        Examples
        --------
        >>> Detections([[-5, 2, 30, 4]]).clip(10, 10).xyxy.tolist()
        [[0.0, 2.0, 10.0, 4.0]]
        """
        kw = {f_.name: getattr(self, f_.name) for f_ in fields(self)}
        b = self.xyxy.copy()
        b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
        b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
        kw["xyxy"] = b
        return Detections(**kw)

    # ------------------------------------------------------------------ serialisation
    def to_records(self, *, full: bool = False) -> list[dict]:
        """One dict per detection, as written by ``cvtools detect --json``.

        Keys: ``box`` ``[x1, y1, x2, y2]``, ``score``, ``label``, and ``text``, ``identity``,
        ``distance`` where present (absent or unknown values are omitted). With ``full=True``
        also ``landmarks``, ``polygon`` and the ``data`` fields, so that :meth:`from_records`
        restores everything.
        """
        out = []
        for i in range(len(self)):
            rec = {"box": [round(float(v), 3) for v in self.xyxy[i]],
                   "score": round(float(self.scores[i]), 6),
                   "label": str(self.labels[i])}
            if self.texts is not None and self.texts[i] is not None:
                rec["text"] = self.texts[i]
            if self.identities is not None and self.identities[i] is not None:
                rec["identity"] = _json_value(self.identities[i])
            if self.distances is not None and np.isfinite(self.distances[i]):
                rec["distance"] = round(float(self.distances[i]), 6)
            if full:
                if self.landmarks is not None:
                    rec["landmarks"] = _json_value(self.landmarks[i])
                if self.polygons is not None:
                    rec["polygon"] = _json_value(self.polygons[i])
                if self.data:
                    rec["data"] = {k: _json_value(v[i]) for k, v in self.data.items()}
            out.append(rec)
        return out

    @classmethod
    def from_records(cls, records) -> "Detections":
        """Inverse of :meth:`to_records` (accepts the short or the full form).

        Examples
        --------
        >>> det = Detections.from_records([{"box": [0, 0, 2, 2], "score": 0.5, "label": "qr", "text": "hi"}])
        >>> det.texts.tolist(), det.labels.tolist()
        (['hi'], ['qr'])
        """
        records = list(records)
        n = len(records)
        if n == 0:
            return cls.empty()
        for i, r in enumerate(records):
            if not isinstance(r, dict) or "box" not in r:
                raise ValueError(f"record {i} must be a dict with a 'box' key; got {r!r}.")
        kw = {"xyxy": [r["box"] for r in records],
              "scores": [r.get("score", 1.0) for r in records],
              "labels": [r.get("label", "object") for r in records]}
        if any("text" in r for r in records):
            kw["texts"] = [r.get("text") for r in records]
        if any("identity" in r for r in records):
            kw["identities"] = [r.get("identity") for r in records]
        if any("distance" in r for r in records):
            kw["distances"] = [np.nan if r.get("distance") is None else r["distance"] for r in records]
        if any("landmarks" in r for r in records):
            kw["landmarks"] = [r["landmarks"] for r in records]
        if any("polygon" in r for r in records):
            kw["polygons"] = [r.get("polygon", np.zeros((0, 2))) for r in records]
        keys = sorted({k for r in records for k in r.get("data", {})})
        if keys:
            kw["data"] = {k: np.asarray([r.get("data", {}).get(k) for r in records]) for k in keys}
        return cls(**kw)

    def to_json(self, **json_kwargs) -> str:
        """A JSON string of the full records (see :meth:`to_records`); :meth:`from_json` reads it back.

        Examples
        --------
        >>> det = Detections([[0, 0, 2, 2]], labels=["qr"], texts=["é"])
        >>> Detections.from_json(det.to_json()).texts.tolist()
        ['é']
        """
        json_kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_records(full=True), **json_kwargs)

    @classmethod
    def from_json(cls, text) -> "Detections":
        """Read a string written by :meth:`to_json` (or a JSON list of records, or one CLI line)."""
        obj = json.loads(text) if isinstance(text, (str, bytes)) else text
        if isinstance(obj, dict) and "detections" in obj:
            obj = obj["detections"]
        if not isinstance(obj, list):
            raise ValueError(f"expected a JSON list of detection records; got {type(obj).__name__}.")
        return cls.from_records(obj)

    # ------------------------------------------------------------------ other tools' formats
    # supervision (optional), COCO result/annotation dicts, YOLO label rows and Pascal VOC objects.
    # The data-set files around these rows are read and written by cvtools.datasets.

    def to_supervision(self, *, class_names=None):
        """A ``supervision.Detections`` holding the same detections (needs the ``supervision`` extra).

        ``scores`` become ``confidence``, ``labels`` become ``data["class_name"]`` and ``class_id``,
        ``data["tracker_id"]`` becomes ``tracker_id`` and ``data["mask"]`` becomes ``mask``; the other
        fields (``identities``, ``distances``, ``texts``, ``landmarks``, ``polygons``) and ``data``
        entries travel in supervision's ``data`` dict under their own names, so that
        :meth:`from_supervision` restores them.

        Parameters
        ----------
        class_names : sequence of str, optional
            Fixes ``class_id`` as the position of each label in this list (so that colours stay the
            same from image to image). Default: ``data["class_id"]`` when present (a detection that
            came from supervision), else the position in the sorted labels of this instance.

        Examples
        --------
        >>> det = Detections([[0, 0, 4, 4]], scores=[0.9], labels=["cat"])
        >>> sv_det = det.to_supervision(class_names=["dog", "cat"])  # doctest: +SKIP
        >>> sv_det.class_id.tolist(), sv_det.data["class_name"].tolist()  # doctest: +SKIP
        ([1], ['cat'])
        """
        from .._shared import require

        sv = require("supervision", feature="cvtools.Detections.to_supervision()", extra="supervision")
        n = len(self)
        labels = [str(v) for v in self.labels]
        if class_names is not None:
            names = [str(c) for c in class_names]
            unknown = sorted(set(labels) - set(names))
            if unknown:
                raise ValueError(f"labels {unknown} are not in `class_names`; valid: {names}.")
            class_id = np.array([names.index(v) for v in labels], dtype=int)
        elif "class_id" in self.data:
            class_id = np.asarray(self.data["class_id"]).astype(int)
        else:
            names = sorted(set(labels))
            class_id = np.array([names.index(v) for v in labels], dtype=int)
        data = {"class_name": np.array(labels, dtype=str).reshape(n)}
        for name in ("identities", "distances", "texts", "landmarks"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value.copy()
        if self.polygons is not None:
            data["polygons"] = [p.copy() for p in self.polygons]
        for key, value in self.data.items():
            if key not in ("tracker_id", "mask", "class_id", "class_name"):
                data[key] = value.copy()
        tracker = self.data.get("tracker_id")
        mask = self.data.get("mask")
        return sv.Detections(
            xyxy=self.xyxy.copy(), confidence=self.scores.copy(), class_id=class_id,
            tracker_id=None if tracker is None else np.asarray(tracker).astype(int),
            mask=None if mask is None else np.asarray(mask, dtype=bool), data=data)

    @classmethod
    def from_supervision(cls, detections, *, class_names=None) -> "Detections":
        """Build from a ``supervision.Detections`` (inverse of :meth:`to_supervision`).

        Labels come from ``data["class_name"]`` when present, else from ``class_names[class_id]``
        (a list, or a dict such as a model's ``names``), else ``str(class_id)``; ``"object"`` when
        neither exists. ``confidence`` becomes ``scores`` (1 when absent); ``class_id``,
        ``tracker_id`` and ``mask`` are kept in ``data`` under those names.

        Examples
        --------
        >>> import supervision as sv  # doctest: +SKIP
        >>> d = sv.Detections(xyxy=np.array([[0, 0, 4, 4]], np.float32), class_id=np.array([2]))  # doctest: +SKIP
        >>> Detections.from_supervision(d, class_names=["a", "b", "car"]).labels.tolist()  # doctest: +SKIP
        ['car']
        """
        if not hasattr(detections, "xyxy") or not hasattr(detections, "data"):
            raise TypeError(f"`detections` must be a supervision.Detections; got {type(detections).__name__}.")
        xyxy = np.asarray(detections.xyxy)
        n = len(xyxy)
        sv_data = dict(detections.data or {})
        class_id = getattr(detections, "class_id", None)
        if "class_name" in sv_data:
            labels = [str(v) for v in sv_data.pop("class_name")]
        elif class_id is not None:
            labels = []
            for c in np.asarray(class_id).tolist():
                if class_names is None:
                    labels.append(str(c))
                    continue
                try:
                    labels.append(str(class_names[c]))
                except (IndexError, KeyError):
                    raise ValueError(f"class_id {c} is not in `class_names` ({len(class_names)} names).") from None
        else:
            labels = ["object"] * n
        kw = {"xyxy": xyxy.reshape(-1, 4), "labels": labels,
              "scores": getattr(detections, "confidence", None)}
        for name in ("identities", "distances", "texts", "landmarks", "polygons"):
            if name in sv_data:
                kw[name] = list(sv_data.pop(name)) if name == "polygons" else sv_data.pop(name)
        data = {k: (np.asarray(v, dtype=object) if isinstance(v, list) else v) for k, v in sv_data.items()}
        if class_id is not None:
            data["class_id"] = np.asarray(class_id).astype(np.int64)
        tracker = getattr(detections, "tracker_id", None)
        if tracker is not None:
            data["tracker_id"] = np.asarray(tracker).astype(np.int64)
        mask = getattr(detections, "mask", None)
        if mask is not None:
            data["mask"] = np.asarray(mask, dtype=bool)
        kw["data"] = data
        return cls(**kw)

    def to_coco(self, image_id, categories, *, annotations: bool = False, decimals: int | None = None) -> list[dict]:
        """COCO dicts, one per detection: ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``, ``score``.

        Parameters
        ----------
        image_id : int or str
            The image these detections belong to.
        categories : dict or list
            ``{name: id}``, COCO's ``[{"id": 1, "name": "person"}, ...]``, or a list of names
            (ids 1, 2, ... in that order).
        annotations : bool
            Write ground-truth annotations instead of results: ``area`` (``data["area"]`` or the box
            area) and ``iscrowd`` (``data["iscrowd"]`` or 0) instead of ``score``; the caller adds ``id``.
        decimals : int, optional
            Round box values (default: the exact stored values).

        Examples
        --------
        >>> Detections([[10, 20, 40, 60]], scores=[0.5], labels=["cat"]).to_coco(7, {"cat": 17})
        [{'image_id': 7, 'category_id': 17, 'bbox': [10.0, 20.0, 30.0, 40.0], 'score': 0.5}]
        """
        ids = _category_ids(categories)
        unknown = sorted({str(v) for v in self.labels} - set(ids))
        if unknown:
            raise ValueError(f"labels {unknown} have no COCO category; categories: {sorted(ids)}.")
        b = self.xyxy.astype(np.float64)
        xywh = np.column_stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]])
        if decimals is not None:
            xywh = np.round(xywh, decimals)
        out = []
        for i in range(len(self)):
            rec = {"image_id": _json_value(image_id), "category_id": ids[str(self.labels[i])],
                   "bbox": [float(v) for v in xywh[i]]}
            if annotations:
                kept = float(self.data["area"][i]) if "area" in self.data else math.nan
                if math.isfinite(kept):  # COCO's own (segmentation) area, kept as it was read
                    rec["area"] = kept
                else:
                    area = float(xywh[i, 2] * xywh[i, 3])
                    rec["area"] = area if decimals is None else round(area, decimals)
                rec["iscrowd"] = int(bool(self.data["iscrowd"][i])) if "iscrowd" in self.data else 0
            else:
                rec["score"] = float(self.scores[i])
            out.append(rec)
        return out

    @classmethod
    def from_coco(cls, records, categories, *, image_id=None) -> "Detections":
        """Build from COCO result or annotation dicts (``bbox`` ``[x, y, w, h]`` in pixels).

        Parameters
        ----------
        records : list of dict
            Each with ``bbox`` and ``category_id``; ``score`` (default 1), ``iscrowd`` and ``area`` are
            kept when present (``data["iscrowd"]``, ``data["area"]``).
        categories : dict or list
            As in :meth:`to_coco` (``{name: id}``, COCO category dicts, or names with ids 1, 2, ...).
        image_id : int or str, optional
            Keep only the records of this image.

        Examples
        --------
        >>> det = Detections.from_coco([{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.7}],
        ...                            [{"id": 3, "name": "car"}])
        >>> det.xyxy.tolist(), det.labels.tolist()
        ([[1.0, 2.0, 4.0, 6.0]], ['car'])
        """
        names = {v: k for k, v in _category_ids(categories).items()}
        recs = [r for r in records if image_id is None or r.get("image_id") == image_id]
        boxes, labels, scores, crowd, area = [], [], [], [], []
        for i, r in enumerate(recs):
            try:
                x, y, w, h = (float(v) for v in r["bbox"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"record {i}: `bbox` must be [x, y, w, h]; got {r.get('bbox')!r}.") from None
            cid = r.get("category_id")
            if cid not in names:
                raise ValueError(f"record {i}: category_id {cid!r} is not in `categories` (ids {sorted(names)}).")
            boxes.append([x, y, x + w, y + h])
            labels.append(names[cid])
            scores.append(float(r.get("score", 1.0)))
            crowd.append(bool(r.get("iscrowd", 0)))
            area.append(float(r["area"]) if "area" in r else w * h)
        data = {}
        if any("iscrowd" in r for r in recs):
            data["iscrowd"] = np.array(crowd, dtype=bool)
        if any("area" in r for r in recs):
            data["area"] = np.array(area, dtype=np.float64)
        return cls(np.array(boxes, np.float64).reshape(-1, 4), scores=scores, labels=labels, data=data)

    def to_yolo(self, size, classes, *, scores: bool = False) -> list[str]:
        """YOLO label lines ``class cx cy w h`` (centre and size divided by the image's width and height).

        Parameters
        ----------
        size : (height, width)
            The image's size in pixels.
        classes : sequence of str
            Class names; a label's line starts with its index here.
        scores : bool
            Append the score as a sixth field (YOLO's ``save_conf`` prediction files).

        Examples
        --------
        >>> Detections([[10, 20, 30, 60]], labels=["b"]).to_yolo((100, 200), ["a", "b"])
        ['1 0.1 0.4 0.1 0.4']
        """
        h, w = _hw(size)
        names = [str(c) for c in classes]
        unknown = sorted({str(v) for v in self.labels} - set(names))
        if unknown:
            raise ValueError(f"labels {unknown} are not in `classes`; valid: {names}.")
        b = self.xyxy.astype(np.float64)
        rows = np.column_stack([(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h,
                                (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h])
        out = []
        for i in range(len(self)):
            fields_ = [str(names.index(str(self.labels[i])))] + [_yolo_num(v) for v in rows[i]]
            if scores:
                fields_.append(_yolo_num(float(self.scores[i])))
            out.append(" ".join(fields_))
        return out

    @classmethod
    def from_yolo(cls, rows, size, classes) -> "Detections":
        """Build from YOLO rows ``class cx cy w h [score]`` (strings or an (N, 5|6) array), normalised.

        Examples
        --------
        >>> Detections.from_yolo(["1 0.1 0.4 0.1 0.4"], (100, 200), ["a", "b"]).xyxy.tolist()
        [[10.0, 20.0, 30.0, 60.0]]
        """
        h, w = _hw(size)
        names = [str(c) for c in classes]
        if isinstance(rows, np.ndarray):
            arr = rows.astype(np.float64).reshape(len(rows), -1) if len(rows) else np.zeros((0, 5))
        else:
            parsed = []
            for i, r in enumerate(rows):
                parts = r.split() if isinstance(r, str) else list(r)
                try:
                    parsed.append([float(v) for v in parts])
                except ValueError:
                    raise ValueError(f"row {i}: not numbers: {r!r}.") from None
            if len({len(p) for p in parsed}) > 1:
                raise ValueError("rows must all have the same number of fields (5, or 6 with a score).")
            arr = np.array(parsed, np.float64).reshape(len(parsed), -1) if parsed else np.zeros((0, 5))
        if arr.shape[1] not in (5, 6):
            raise ValueError(f"YOLO rows need 5 fields (class cx cy w h) or 6 (with a score); got {arr.shape[1]}.")
        cls_idx = arr[:, 0]
        bad = (cls_idx != np.round(cls_idx)) | (cls_idx < 0) | (cls_idx >= len(names))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"row {i}: class {arr[i, 0]:g} is not an index into `classes` (0..{len(names) - 1}).")
        cx, cy, bw, bh = arr[:, 1] * w, arr[:, 2] * h, arr[:, 3] * w, arr[:, 4] * h
        xyxy = np.column_stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
        return cls(xyxy, scores=arr[:, 5] if arr.shape[1] == 6 else None,
                   labels=[names[int(c)] for c in cls_idx])

    def to_voc(self) -> list[dict]:
        """Pascal VOC objects: ``name``, whole-pixel ``xmin ymin xmax ymax`` (1-based) and ``difficult``.

        VOC counts pixels from 1 and includes the last one, so a box ``[x1, y1, x2, y2]`` becomes
        ``xmin = round(x1) + 1``, ``xmax = round(x2)`` (and the same for y): within half a pixel.
        ``difficult`` comes from ``data["difficult"]`` (0 when absent).

        Examples
        --------
        >>> Detections([[0, 0, 10.4, 20]], labels=["dog"]).to_voc()
        [{'name': 'dog', 'xmin': 1, 'ymin': 1, 'xmax': 10, 'ymax': 20, 'difficult': 0}]
        """
        b = np.floor(self.xyxy.astype(np.float64) + 0.5).astype(np.int64)
        diff = self.data.get("difficult")
        return [{"name": str(self.labels[i]), "xmin": int(b[i, 0]) + 1, "ymin": int(b[i, 1]) + 1,
                 "xmax": int(b[i, 2]), "ymax": int(b[i, 3]),
                 "difficult": 0 if diff is None else int(bool(diff[i]))} for i in range(len(self))]

    @classmethod
    def from_voc(cls, objects) -> "Detections":
        """Build from Pascal VOC objects (dicts as :meth:`to_voc` returns; ``difficult`` is kept in ``data``).

        Examples
        --------
        >>> Detections.from_voc([{"name": "dog", "xmin": 1, "ymin": 1, "xmax": 10, "ymax": 20}]).xyxy.tolist()
        [[0.0, 0.0, 10.0, 20.0]]
        """
        objects = list(objects)
        boxes, labels, diff = [], [], []
        for i, o in enumerate(objects):
            try:
                boxes.append([float(o["xmin"]) - 1, float(o["ymin"]) - 1, float(o["xmax"]), float(o["ymax"])])
                labels.append(str(o["name"]))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"object {i} must have name, xmin, ymin, xmax and ymax; got {o!r}.") from None
            diff.append(bool(int(o.get("difficult", 0) or 0)))
        return cls(np.array(boxes, np.float64).reshape(-1, 4), labels=labels,
                   data={"difficult": np.array(diff, dtype=bool)})


def _category_ids(categories) -> dict:
    """``{name: id}`` from a dict, COCO category dicts, or a list of names (ids 1, 2, ...)."""
    if isinstance(categories, dict):
        return {str(k): v for k, v in categories.items()}
    out = {}
    for i, c in enumerate(categories):
        if isinstance(c, dict):
            if "id" not in c or "name" not in c:
                raise ValueError(f"category {i} must have 'id' and 'name'; got {c!r}.")
            out[str(c["name"])] = c["id"]
        elif isinstance(c, str):
            out[c] = i + 1
        else:
            raise TypeError(f"`categories` must be a dict, COCO category dicts or names; item {i} is {c!r}.")
    return out


def _hw(size) -> tuple[float, float]:
    try:
        h, w = (float(v) for v in size)
    except (TypeError, ValueError):
        raise TypeError(f"`size` must be (height, width) in pixels; got {size!r}.") from None
    if not (h > 0 and w > 0):
        raise ValueError(f"`size` must be positive (height, width); got {size!r}.")
    return h, w


def _yolo_num(v: float) -> str:
    """A normalised coordinate with 8 decimals, trailing zeros dropped (``0.5``, not ``0.50000000``)."""
    s = f"{v:.8f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s
