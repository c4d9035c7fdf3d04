"""COCO box evaluation: the twelve numbers of ``pycocotools.cocoeval.COCOeval.summarize()``.

One engine, :func:`_evaluate`, follows COCOeval step by step (Lin et al. 2014, and the pycocotools
code itself): per image and class, predictions sorted by score (stable) and cut to the largest
``maxDets``; IoU as pycocotools' ``bbIou`` (a crowd box divides by the prediction's area only);
ground truth that is crowd, ignored or outside the area range sorted last; greedy matching per IoU
threshold where a crowd box may absorb any number of predictions; unmatched predictions outside the
area range ignored; precision made monotone and sampled at 101 recall levels. :func:`coco_eval`
and :func:`cvtools.metrics.coco_map` both run it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._detection import _as_list, _classes

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from .._shared._detections import Detections
    from collections.abc import Sequence
    from numpy.typing import ArrayLike

__all__ = ["coco_eval", "coco_map", "CocoEvalResult", "COCO_STATS"]

#: The keys of :func:`coco_eval`'s summary, in pycocotools' order.
COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")

# pycocotools' Params.setDetParams, verbatim (linspace, not arange: the 0.75 threshold must be exact).
IOU_THRESHOLDS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
MAX_DETECTIONS = (1, 10, 100)
AREA_RANGES = {"all": (0 ** 2, 1e5 ** 2), "small": (0 ** 2, 32 ** 2), "medium": (32 ** 2, 96 ** 2),
               "large": (96 ** 2, 1e5 ** 2)}

# (AP or AR, IoU threshold or None, area range, max detections) for each summary number.
_SUMMARY = (
    ("AP", None, "all", 100), ("AP", .5, "all", 100), ("AP", .75, "all", 100),
    ("AP", None, "small", 100), ("AP", None, "medium", 100), ("AP", None, "large", 100),
    ("AR", None, "all", 1), ("AR", None, "all", 10), ("AR", None, "all", 100),
    ("AR", None, "small", 100), ("AR", None, "medium", 100), ("AR", None, "large", 100),
)


@dataclass(frozen=True, eq=False)
class CocoEvalResult(Mapping):
    """What :func:`coco_eval` returns: a read-only mapping of the 12 summary numbers, plus the details.

    ``result["AP"]``, ``dict(result)`` and ``for key in result`` see only the 12 numbers of
    :data:`COCO_STATS` (-1 where COCOeval prints -1: nothing to measure).

    Attributes
    ----------
    stats : dict
        The 12 numbers.
    classes : tuple of str
        The evaluated classes (the ``K`` axis below).
    precision : (T, R, K, A, M) ndarray
        COCOeval's ``eval["precision"]``: IoU thresholds x 101 recall levels x classes x area ranges
        (all, small, medium, large) x max detections (1, 10, 100); -1 where a class has no ground truth.
    recall : (T, K, A, M) ndarray
        COCOeval's ``eval["recall"]``.
    scores : (T, R, K, A, M) ndarray
        The score threshold reaching each precision sample.
    per_class : dict
        ``{class: {"AP", "AP50", "AP75", "AR100", "gt", "predictions"}}`` (area all, 100 detections;
        AP -1 for a class without ground truth).
    iou_thresholds, recall_thresholds : ndarray
    area_ranges : tuple of str
    max_detections : tuple of int
    """

    stats: dict
    classes: tuple
    precision: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    per_class: dict = field(repr=False)
    iou_thresholds: np.ndarray = field(repr=False, default_factory=lambda: IOU_THRESHOLDS.copy())
    recall_thresholds: np.ndarray = field(repr=False, default_factory=lambda: RECALL_THRESHOLDS.copy())
    area_ranges: tuple = ("all", "small", "medium", "large")
    max_detections: tuple = MAX_DETECTIONS

    def __getitem__(self, key):
        return self.stats[key]

    def __iter__(self):
        return iter(self.stats)

    def __len__(self):
        return len(self.stats)

    def pr_curve(self, label: str, *, iou: float = 0.5, area: str = "all", max_detections: int = 100):
        """``(recall, precision)`` of one class: COCO's interpolated curve at 101 recall levels.

        Precision is 0 beyond the highest recall reached; a class without ground truth raises.
        """
        if label not in self.classes:
            raise KeyError(f"no class {label!r}; evaluated: {list(self.classes)}.")
        t = _index(self.iou_thresholds, iou, "iou")
        if area not in self.area_ranges:
            raise ValueError(f"unknown area {area!r}; valid: {', '.join(map(repr, self.area_ranges))}.")
        if max_detections not in self.max_detections:
            raise ValueError(f"`max_detections` must be one of {list(self.max_detections)}; got {max_detections!r}.")
        p = self.precision[t, :, self.classes.index(label), self.area_ranges.index(area),
                           self.max_detections.index(max_detections)]
        if (p < 0).all():
            raise ValueError(f"class {label!r} has no ground truth in the {area!r} area range: no PR curve.")
        return self.recall_thresholds.copy(), p.copy()

    def table(self) -> str:
        """The 12 lines pycocotools' ``summarize()`` prints, then one line per class."""
        lines = []
        for key, (kind, thr, area, md) in zip(COCO_STATS, _SUMMARY):
            iou = "0.50:0.95" if thr is None else f"{thr:0.2f}"
            name = "Average Precision  (AP)" if kind == "AP" else "Average Recall     (AR)"
            lines.append(f" {name} @[ IoU={iou:<9} | area={area:>6s} | maxDets={md:>3d} ] = "
                         f"{self.stats[key]:0.3f}   {key}")
        rows = [(c, v) for c, v in self.per_class.items() if v["gt"] > 0]
        if rows:
            width = max(len("class"), *(len(c) for c, _ in rows))
            lines.append("")
            lines.append(f"{'class':<{width}}  {'AP':>6} {'AP50':>6} {'AP75':>6} {'AR100':>6} {'gt':>5} {'pred':>6}")
            for c, v in rows:
                lines.append(f"{c:<{width}}  {v['AP']:6.3f} {v['AP50']:6.3f} {v['AP75']:6.3f} {v['AR100']:6.3f} "
                             f"{v['gt']:5d} {v['predictions']:6d}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready: the 12 numbers at the top level, plus ``per_class`` and ``classes``."""
        return {**{k: float(v) for k, v in self.stats.items()}, "per_class": {c: dict(v) for c, v in self.per_class.items()},
                "classes": list(self.classes)}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v:.3f}" for k, v in self.stats.items())
        return f"CocoEvalResult({inner}, classes={len(self.classes)})"


def _index(values, value, name):
    hit = np.where(np.isclose(values, value))[0]
    if not len(hit):
        raise ValueError(f"`{name}` must be one of {np.round(values, 2).tolist()}; got {value!r}.")
    return int(hit[0])


# ------------------------------------------------------------------------------------------ inputs


def _flag(det, key):
    v = det.data.get(key)
    return np.zeros(len(det), bool) if v is None else np.asarray(v).astype(bool).reshape(-1)


def _xywh(det) -> np.ndarray:
    b = det.xyxy.astype(np.float64)
    return np.column_stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]])


def _bb_iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """(D, G) IoU of ``xywh`` boxes exactly as pycocotools' maskApi.c ``bbIou`` computes it."""
    da = d[:, 2] * d[:, 3]
    ga = g[:, 2] * g[:, 3]
    w = np.minimum(d[:, None, 2] + d[:, None, 0], g[None, :, 2] + g[None, :, 0]) - np.maximum(d[:, None, 0], g[None, :, 0])
    h = np.minimum(d[:, None, 3] + d[:, None, 1], g[None, :, 3] + g[None, :, 1]) - np.maximum(d[:, None, 1], g[None, :, 1])
    i = w * h
    u = np.where(crowd[None, :], da[:, None], da[:, None] + ga[None, :] - i)
    ok = (w > 0) & (h > 0)
    return np.divide(i, u, out=np.zeros_like(i), where=ok)


def _match(ious, gt_ignore, crowd, thresholds):
    """COCOeval.evaluateImg's greedy matching; ground truth already sorted (ignored last).

    Returns ``(matched, ignored)``, each (T, D) bool: the prediction matched a box, and that box
    was an ignored one.
    """
    n_det, n_gt = ious.shape
    matched = np.zeros((len(thresholds), n_det), bool)
    ignored = np.zeros((len(thresholds), n_det), bool)
    if n_det == 0 or n_gt == 0:
        return matched, ignored
    rows = ious.tolist()
    gig = gt_ignore.tolist()
    crd = crowd.tolist()
    for t, thr in enumerate(thresholds):
        taken = [False] * n_gt
        start = min(float(thr), 1 - 1e-10)
        for d in range(n_det):
            best, m = start, -1
            row = rows[d]
            for g in range(n_gt):
                if taken[g] and not crd[g]:
                    continue
                if m > -1 and not gig[m] and gig[g]:  # matched a real box; the rest are ignored ones
                    break
                if row[g] < best:
                    continue
                best, m = row[g], g
            if m == -1:
                continue
            ignored[t, d] = gig[m]
            matched[t, d] = True
            taken[m] = True
    return matched, ignored


def _evaluate(gts, preds, classes, *, iou_thresholds=IOU_THRESHOLDS, areas=AREA_RANGES,
              max_detections=MAX_DETECTIONS):
    """COCOeval.evaluate() + accumulate() over lists of Detections. Returns precision (T, R, K, A, M),
    recall (T, K, A, M), scores (T, R, K, A, M), and per class the counts of ground truth (not
    ignored, area all) and predictions."""
    thrs = np.asarray(iou_thresholds, np.float64)
    rec_thrs = RECALL_THRESHOLDS
    area_rngs = list(areas.values())
    max_dets = sorted(int(m) for m in max_detections)
    T, R, K, A, M = len(thrs), len(rec_thrs), len(classes), len(area_rngs), len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    scores = -np.ones((T, R, K, A, M))
    counts = {}
    top = max_dets[-1]
    # Per image, once: the arrays every class selects its rows from, and which rows each class has.
    g_all, p_all = [], []
    rows_of = {c: {} for c in classes}  # class -> {image: (gt rows, prediction rows)}
    empty = np.zeros(0, np.intp)
    for i, (g, p) in enumerate(zip(gts, preds)):
        xywh = _xywh(g)
        crowd = _flag(g, "iscrowd")
        area = np.asarray(g.data["area"], np.float64).reshape(-1) if "area" in g.data else xywh[:, 2] * xywh[:, 3]
        g_all.append((xywh, crowd, crowd | _flag(g, "ignore") | _flag(g, "difficult"), area))
        p_all.append((_xywh(p), p.scores.astype(np.float64)))
        for which, labels in ((0, g.labels), (1, p.labels)):
            groups: dict = {}
            for j, v in enumerate(labels.tolist()):
                groups.setdefault(v, []).append(j)
            for v, idx in groups.items():
                if v in rows_of:
                    pair = rows_of[v].setdefault(i, [empty, empty])
                    pair[which] = np.asarray(idx, np.intp)
    for k, c in enumerate(classes):
        evals = [[] for _ in range(A)]  # per area range: (scores, matched, ignored, gt_ignore) per image
        n_gt = n_pred = 0
        for i in sorted(rows_of[c]):  # images in order: ties between scores are broken as pycocotools does
            gsel, psel = rows_of[c][i]
            (g_box, g_crowd, g_ignore, g_area), (p_box, p_score) = g_all[i], p_all[i]
            n_pred += len(psel)
            s = p_score[psel]
            order = np.argsort(-s, kind="mergesort")[:top]
            p_xywh = p_box[psel][order]
            s = s[order]
            p_area = p_xywh[:, 2] * p_xywh[:, 3]
            g_xywh, crowd, ignore, area = g_box[gsel], g_crowd[gsel], g_ignore[gsel], g_area[gsel]
            ious = _bb_iou(p_xywh, g_xywh, crowd)
            for a, (lo, hi) in enumerate(area_rngs):
                g_ig = ignore | (area < lo) | (area > hi)
                gorder = np.argsort(g_ig, kind="mergesort")
                matched, ignored = _match(ious[:, gorder], g_ig[gorder], crowd[gorder], thrs)
                outside = (p_area < lo) | (p_area > hi)
                ignored = ignored | (~matched & outside[None, :])
                evals[a].append((s, matched, ignored, g_ig))
                if a == 0:
                    n_gt += int((~g_ig).sum())
        counts[c] = {"gt": n_gt, "predictions": n_pred}
        for a in range(A):
            if not evals[a]:
                continue
            for m, md in enumerate(max_dets):
                s = np.concatenate([e[0][:md] for e in evals[a]])
                inds = np.argsort(-s, kind="mergesort")
                s_sorted = s[inds]
                dtm = np.concatenate([e[1][:, :md] for e in evals[a]], axis=1)[:, inds]
                dtig = np.concatenate([e[2][:, :md] for e in evals[a]], axis=1)[:, inds]
                gtig = np.concatenate([e[3] for e in evals[a]])
                npig = np.count_nonzero(gtig == 0)
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dtig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dtig))
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                nd = tp_sum.shape[1]
                for t in range(T):
                    tp, fp = tp_sum[t], fp_sum[t]
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    if nd:
                        pr = np.maximum.accumulate(pr[::-1])[::-1]  # the precision envelope
                    q = np.zeros(R)
                    ss = np.zeros(R)
                    pos = np.searchsorted(rc, rec_thrs, side="left")
                    ok = pos < nd
                    q[ok] = pr[pos[ok]]
                    ss[ok] = s_sorted[pos[ok]]
                    precision[t, :, k, a, m] = q
                    scores[t, :, k, a, m] = ss
    return precision, recall, scores, counts


def _summarize(precision, recall, thrs, kind, iou, area_index, max_dets_index):
    """COCOeval.summarize()._summarize: the mean over the defined (> -1) entries, -1 if none."""
    if kind == "AP":
        s = precision
        if iou is not None:
            s = s[np.where(iou == thrs)[0]]
        s = s[:, :, :, [area_index], [max_dets_index]]
    else:
        s = recall
        if iou is not None:
            s = s[np.where(iou == thrs)[0]]
        s = s[:, :, [area_index], [max_dets_index]]
    return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))


def _mean_defined(values) -> float:
    v = values[values > -1]
    return float(v.mean()) if v.size else -1.0


def coco_eval(ground_truth: Sequence[Detections] | Detections, predictions: Sequence[Detections] | Detections, *, classes: Sequence[str] | None = None) -> CocoEvalResult:
    """COCO box evaluation: the 12 numbers of pycocotools' summary, per-class AP and the PR curves.

    Parameters
    ----------
    ground_truth : Dataset, or list of Detections (one per image)
        Boxes with their ``labels``. ``data["iscrowd"]`` marks crowd regions (ignored; any number
        of predictions may fall in one, as in COCOeval); ``data["ignore"]`` and ``data["difficult"]``
        mark boxes to ignore; ``data["area"]`` (COCO's segmentation area, kept by
        :func:`cvtools.datasets.load`) decides the small / medium / large range when present,
        else the box area.
    predictions : list of Detections (or a Dataset), one per image in the same order
        Boxes with ``scores`` and ``labels``.
    classes : sequence of str, optional
        The classes to evaluate (COCO's ``catIds``). Default: the data set's ``classes``, or the
        sorted labels of the ground truth. Predictions of other labels are not counted.

    Returns
    -------
    CocoEvalResult
        A mapping with keys ``AP``, ``AP50``, ``AP75``, ``APs``, ``APm``, ``APl``, ``AR1``,
        ``AR10``, ``AR100``, ``ARs``, ``ARm``, ``ARl`` (equal to ``COCOeval.stats``, IoU
        0.50:0.05:0.95, areas 32² and 96², 1/10/100 detections per image), plus ``per_class``,
        ``precision``, ``recall`` and :meth:`CocoEvalResult.pr_curve`.

    Notes
    -----
    Equal to pycocotools to 1e-9 (the tests compare them on random cases with crowd boxes).
    Predictions with equal scores in different images are ranked in image order, as pycocotools
    does with image ids in ascending order.

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> gt = [Detections([[0, 0, 50, 50], [60, 60, 200, 200]], labels=["cat", "dog"])]
    >>> pred = [Detections([[0, 0, 50, 50], [60, 60, 190, 200]], scores=[0.9, 0.8], labels=["cat", "dog"])]
    >>> res = coco_eval(gt, pred)
    >>> round(res["AP50"], 3), round(res["AP"], 3), round(res.per_class["cat"]["AP"], 3)
    (1.0, 0.95, 1.0)
    """
    gts = _as_list(ground_truth, "ground_truth")
    preds = _as_list(predictions, "predictions")
    if len(gts) != len(preds):
        raise ValueError(f"`ground_truth` and `predictions` must cover the same images in the same order; "
                         f"got {len(gts)} and {len(preds)}.")
    if classes is None:
        classes = getattr(ground_truth, "classes", None)
    if classes is None:
        classes = sorted({str(v) for g in gts for v in g.labels})
    else:
        if isinstance(classes, str):
            raise TypeError(f"`classes` must be a sequence of class names; got the string {classes!r}.")
        classes = [str(c) for c in classes]
        if len(set(classes)) != len(classes):
            raise ValueError(f"`classes` has duplicates: {classes}.")
    precision, recall, scores, counts = _evaluate(gts, preds, classes)
    thrs = IOU_THRESHOLDS
    names = list(AREA_RANGES)
    stats = {}
    for key, (kind, iou, area, md) in zip(COCO_STATS, _SUMMARY):
        stats[key] = _summarize(precision, recall, thrs, kind, iou, names.index(area), MAX_DETECTIONS.index(md))
    t50, t75 = _index(thrs, 0.5, "iou"), _index(thrs, 0.75, "iou")
    per_class = {}
    for k, c in enumerate(classes):
        p = precision[:, :, k, 0, -1]
        per_class[c] = {"AP": _mean_defined(p), "AP50": _mean_defined(p[t50]), "AP75": _mean_defined(p[t75]),
                        "AR100": _mean_defined(recall[:, k, 0, -1]),
                        **counts.get(c, {"gt": 0, "predictions": 0})}
    return CocoEvalResult(stats=stats, classes=tuple(classes), precision=precision, recall=recall, scores=scores,
                          per_class=per_class)


def coco_map(predictions: Sequence[Detections] | Detections, ground_truths: Sequence[Detections] | Detections, *, iou_thresholds: ArrayLike | None = None, max_detections: int = 100) -> dict:
    """COCO-style box mAP@[.5:.95] ("area: all"), computed as ``pycocotools.cocoeval.COCOeval`` does.

    Per image and class, predictions are ranked by score (at most ``max_detections`` per image),
    matched greedily to the unmatched ground truth of highest IoU; precision is interpolated at 101
    recall levels; AP is averaged over IoU thresholds 0.50:0.05:0.95 and classes. The engine is
    :func:`coco_eval`'s (which adds the area ranges and the recall numbers).

    Parameters
    ----------
    predictions, ground_truths : list of Detections (one per image), or one Detections
        Ground truth may mark boxes to ignore with ``data["ignore"]`` and crowd regions with
        ``data["iscrowd"]`` (as in :func:`coco_eval`).
    iou_thresholds : sequence of float, optional
        Default ``0.5, 0.55, ..., 0.95``.
    max_detections : int
        Predictions kept per image (highest scores), as COCO's ``maxDets``.

    Returns
    -------
    dict
        ``map`` (mAP@[.5:.95]), ``map50``, ``map75`` (when those thresholds are used), ``per_class``
        (AP averaged over thresholds), ``precision`` (T, 101, K) with -1 where undefined, ``classes``.

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> res = coco_map([Detections([[0, 0, 10, 10]], scores=[0.9])], [Detections([[0, 0, 10, 10]])])
    >>> round(res["map"], 3)
    1.0
    """
    preds = _as_list(predictions, "predictions")
    gts = _as_list(ground_truths, "ground_truths")
    if len(preds) != len(gts):
        raise ValueError(f"`predictions` and `ground_truths` must cover the same images; got {len(preds)} "
                         f"and {len(gts)}.")
    thrs = IOU_THRESHOLDS if iou_thresholds is None else np.asarray(iou_thresholds, np.float64)
    classes = _classes(preds, gts)
    precision = _evaluate(gts, preds, classes, iou_thresholds=thrs, areas={"all": (0.0, 1e10)},
                          max_detections=(max_detections,))[0][:, :, :, 0, 0]
    out = {"classes": classes, "precision": precision, "iou_thresholds": thrs}
    valid = precision > -1
    out["map"] = float(precision[valid].mean()) if valid.any() else -1.0
    for name, value in (("map50", 0.5), ("map75", 0.75)):
        hit = np.where(np.isclose(thrs, value))[0]
        if len(hit):
            sl = precision[hit[0]]
            out[name] = float(sl[sl > -1].mean()) if (sl > -1).any() else -1.0
    out["per_class"] = {c: float(precision[:, :, k].mean()) for k, c in enumerate(classes)
                        if (precision[:, :, k] > -1).all()}
    return out
