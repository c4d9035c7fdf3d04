"""Detection metrics: pairwise IoU, matching to ground truth, VOC average precision and COCO mAP."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._shared import check_choice

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from .._shared._detections import Detections
    from collections.abc import Sequence
    from numpy.typing import ArrayLike

__all__ = ["box_iou", "match_detections", "MatchResult", "average_precision", "detection_pr",
           "detection_ap"]


def _boxes(b, name):
    arr = np.asarray(getattr(b, "xyxy", b), dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"`{name}` must be (N, 4) xyxy boxes or Detections; got shape {arr.shape}.")
    return arr


def box_iou(boxes_a: ArrayLike, boxes_b: ArrayLike) -> np.ndarray:
    """Pairwise intersection over union of two sets of ``xyxy`` boxes.

    Parameters
    ----------
    boxes_a : (N, 4) array or Detections
    boxes_b : (M, 4) array or Detections

    Returns
    -------
    (N, M) float32 array
        0 where boxes do not overlap (or both are empty).

    Examples
    --------
    >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2]])
    array([[0.14285715, 1.        ]], dtype=float32)
    """
    return _iou64(_boxes(boxes_a, "boxes_a"), _boxes(boxes_b, "boxes_b")).astype(np.float32)


def _iou64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass(frozen=True)
class MatchResult:
    """Result of :func:`match_detections`.

    Attributes
    ----------
    pred_to_gt : (N,) int array
        Index of the ground-truth box each prediction matched, -1 when none.
    gt_to_pred : (M,) int array
        Index of the prediction that matched each ground-truth box, -1 when missed.
    tp : (N,) bool array
        Prediction is a true positive.
    ignored : (N,) bool array
        Prediction matched an ignored ground-truth box (counts as neither TP nor FP).
    iou : (N,) float32 array
        IoU with the matched box (0 when unmatched).
    gt_ignored : (M,) bool array
        The ``gt_ignore`` flags used.
    """

    pred_to_gt: np.ndarray
    gt_to_pred: np.ndarray
    tp: np.ndarray
    ignored: np.ndarray
    iou: np.ndarray
    gt_ignored: np.ndarray

    @property
    def fp(self) -> np.ndarray:
        """(N,) bool: false positives (unmatched and not ignored)."""
        return ~self.tp & ~self.ignored

    @property
    def n_tp(self) -> int:
        """Number of true positives."""
        return int(self.tp.sum())

    @property
    def n_fp(self) -> int:
        """Number of false positives."""
        return int(self.fp.sum())

    @property
    def n_fn(self) -> int:
        """Ground-truth boxes (not ignored) that no prediction matched."""
        return int(((self.gt_to_pred < 0) & ~self.gt_ignored).sum())


def match_detections(pred_boxes: ArrayLike, gt_boxes: ArrayLike, *, scores: ArrayLike | None = None, iou_threshold: float = 0.5, gt_ignore: ArrayLike | None = None,
                     rule: str = "coco") -> MatchResult:
    """Match predictions to ground truth greedily by descending score, one-to-one, at an IoU threshold.

    Parameters
    ----------
    pred_boxes : (N, 4) array or Detections
        Predicted boxes (their ``scores`` are used when ``scores`` is None).
    gt_boxes : (M, 4) array or Detections
        Ground-truth boxes.
    scores : (N,) array, optional
        Prediction scores (default: the Detections' scores, else the given order).
    iou_threshold : float
        A match needs IoU >= this.
    gt_ignore : (M,) bool array, optional
        Ground truth to ignore ("difficult"/crowd): a prediction matching only such a box is
        neither a true nor a false positive.
    rule : {"coco", "voc"}
        ``"coco"``: each prediction takes the unmatched ground truth of highest IoU (pycocotools).
        ``"voc"``: each prediction looks only at its highest-IoU ground truth; if that one is
        already taken the prediction is a false positive (PASCAL VOC devkit).

    Examples
    --------
    >>> m = match_detections([[0, 0, 10, 10], [50, 50, 60, 60]], [[1, 1, 10, 10]], scores=[0.9, 0.8])
    >>> m.tp.tolist(), m.gt_to_pred.tolist(), m.n_fn
    ([True, False], [0], 0)
    """
    check_choice(rule, ("coco", "voc"), name="rule")
    p = _boxes(pred_boxes, "pred_boxes")
    g = _boxes(gt_boxes, "gt_boxes")
    if scores is None:
        scores = getattr(pred_boxes, "scores", None)
    s = np.zeros(len(p)) if scores is None else np.asarray(scores, np.float64).reshape(-1)
    if s.shape[0] != p.shape[0]:
        raise ValueError(f"`scores` must have one entry per prediction ({len(p)}); got {s.shape[0]}.")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"`iou_threshold` must be in [0, 1]; got {iou_threshold}.")
    ig = np.zeros(len(g), bool) if gt_ignore is None else np.asarray(gt_ignore, bool).reshape(-1)
    if ig.shape[0] != g.shape[0]:
        raise ValueError(f"`gt_ignore` must have one entry per ground-truth box ({len(g)}); got {ig.shape[0]}.")
    ious = _iou64(p, g)
    pred_to_gt = np.full(len(p), -1, np.int64)
    gt_to_pred = np.full(len(g), -1, np.int64)
    tp = np.zeros(len(p), bool)
    ignored = np.zeros(len(p), bool)
    miou = np.zeros(len(p), np.float32)
    # Visit non-ignored ground truth first so that a real match is preferred over an ignored one.
    gorder = np.argsort(ig, kind="stable")
    thr = min(iou_threshold, 1 - 1e-10)
    for i in np.argsort(-s, kind="mergesort"):
        if len(g) == 0:
            break
        if rule == "voc":
            j = int(np.argmax(ious[i]))
            if ious[i, j] < thr:
                continue
            if ig[j]:
                ignored[i] = True
            elif gt_to_pred[j] < 0:
                gt_to_pred[j], pred_to_gt[i], tp[i], miou[i] = i, j, True, ious[i, j]
            continue
        best, m = thr, -1
        for j in gorder:
            if gt_to_pred[j] >= 0:
                continue
            if m > -1 and not ig[m] and ig[j]:
                break
            if ious[i, j] < best:
                continue
            best, m = ious[i, j], j
        if m < 0:
            continue
        gt_to_pred[m], pred_to_gt[i], miou[i] = i, m, ious[i, m]
        if ig[m]:
            ignored[i] = True
        else:
            tp[i] = True
    return MatchResult(pred_to_gt, gt_to_pred, tp, ignored, miou, ig)


def average_precision(recall: ArrayLike, precision: ArrayLike, *, method: str = "all-point") -> float:
    """Average precision from a PR curve ordered by decreasing score threshold (recall increasing).

    Parameters
    ----------
    recall, precision : (K,) arrays
        Cumulative recall and precision after each ranked detection.
    method : {"all-point", "11-point", "101-point"}
        ``"all-point"``: area under the precision envelope (PASCAL VOC 2010+);
        ``"11-point"``: mean of the envelope at recall 0, 0.1, ..., 1 (VOC 2007);
        ``"101-point"``: the same at 101 recall levels (COCO).

    Examples
    --------
    >>> average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 0.667], method="all-point")
    0.8335
    >>> round(average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 0.667], method="11-point"), 4)
    0.8486
    """
    check_choice(method, ("all-point", "11-point", "101-point"), name="method")
    r = np.asarray(recall, np.float64).reshape(-1)
    p = np.asarray(precision, np.float64).reshape(-1)
    if r.shape != p.shape:
        raise ValueError(f"`recall` and `precision` must have the same length; got {r.shape[0]} and {p.shape[0]}.")
    if r.size == 0:
        return 0.0
    if method == "all-point":
        mrec = np.r_[0.0, r, 1.0]
        mpre = np.r_[0.0, p, 0.0]
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        idx = np.where(mrec[1:] != mrec[:-1])[0]
        return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))
    levels = np.linspace(0, 1, 11 if method == "11-point" else 101)
    env = np.maximum.accumulate(p[::-1])[::-1]
    if method == "11-point":
        return float(np.mean([env[r >= t].max() if np.any(r >= t) else 0.0 for t in levels]))
    # COCO: precision envelope sampled at the first detection reaching each recall level.
    idx = np.searchsorted(r, levels, side="left")
    q = np.where(idx < len(env), env[np.minimum(idx, len(env) - 1)], 0.0)
    return float(q.mean())


def _as_list(x, name):
    """A list of Detections from one Detections, an (N, 4) box array, a data set (items with
    ``.detections``) or a sequence of any of those per image."""
    from .._shared._detections import Detections

    if isinstance(x, Detections):
        return [x]
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return [Detections(x)]
    out = []
    for i, d in enumerate(x):
        d = getattr(d, "detections", d)
        if isinstance(d, Detections):
            out.append(d)
        else:
            try:
                out.append(Detections(np.asarray(d, np.float64).reshape(-1, 4)))
            except Exception as exc:
                raise TypeError(f"`{name}[{i}]` must be Detections, a data-set sample or (N, 4) boxes; "
                                f"got {type(d).__name__}.") from exc
    return out


def _classes(preds, gts):
    return sorted({str(v) for d in list(preds) + list(gts) for v in d.labels.tolist()})


def detection_pr(predictions: Sequence[Detections] | Detections, ground_truths: Sequence[Detections] | Detections, *, iou_threshold: float = 0.5, label: str | None = None,
                 rule: str = "voc") -> dict:
    """Precision and recall after each ranked prediction over a whole set of images.

    Parameters
    ----------
    predictions, ground_truths : list of Detections (one per image), or one Detections
        Predictions (with scores) and ground truth for the same images, in the same order.
    iou_threshold : float
        Match threshold.
    label : str, optional
        Only this class (default: all labels pooled together).
    rule : {"voc", "coco"}
        Matching rule (see :func:`match_detections`).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``scores`` (one per ranked prediction), ``tp``, ``fp``,
        ``n_gt``.

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> pr = detection_pr([Detections([[0, 0, 10, 10], [20, 20, 30, 30]], scores=[0.9, 0.6])],
    ...                   [Detections([[0, 0, 10, 10]])])
    >>> pr["precision"].tolist(), pr["recall"].tolist()
    ([1.0, 0.5], [1.0, 1.0])
    """
    preds = _as_list(predictions, "predictions")
    gts = _as_list(ground_truths, "ground_truths")
    if len(preds) != len(gts):
        raise ValueError(f"`predictions` and `ground_truths` must cover the same images; got {len(preds)} "
                         f"and {len(gts)}.")
    all_scores, all_tp, all_keep, n_gt = [], [], [], 0
    for p, g in zip(preds, gts):
        if label is not None:
            p = p[p.labels == label]
            g = g[g.labels == label]
        ig = g.data.get("ignore")
        m = match_detections(p, g, scores=p.scores, iou_threshold=iou_threshold, gt_ignore=ig, rule=rule)
        n_gt += int(len(g) - (0 if ig is None else np.asarray(ig, bool).sum()))
        all_scores.append(p.scores)
        all_tp.append(m.tp)
        all_keep.append(~m.ignored)
    s = np.concatenate(all_scores) if all_scores else np.zeros(0)
    tp = np.concatenate(all_tp) if all_tp else np.zeros(0, bool)
    keep = np.concatenate(all_keep) if all_keep else np.zeros(0, bool)
    s, tp = s[keep], tp[keep]
    order = np.argsort(-s, kind="mergesort")
    s, tp = s[order], tp[order]
    ctp = np.cumsum(tp).astype(np.float64)
    cfp = np.cumsum(~tp).astype(np.float64)
    rec = ctp / n_gt if n_gt else np.zeros_like(ctp)
    prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    return {"precision": prec, "recall": rec, "scores": s.astype(np.float32), "tp": int(tp.sum()),
            "fp": int((~tp).sum()), "n_gt": n_gt}


def detection_ap(predictions: Sequence[Detections] | Detections, ground_truths: Sequence[Detections] | Detections, *, iou_threshold: float = 0.5, method: str = "all-point",
                 rule: str = "voc") -> dict:
    """PASCAL-VOC-style average precision per class and its mean.

    Parameters
    ----------
    predictions, ground_truths : list of Detections (one per image), or one Detections
        Classes are the ``labels``. Ground truth may mark boxes to ignore with
        ``data["ignore"]`` (bool).
    iou_threshold : float
        Match threshold (VOC: 0.5).
    method : {"all-point", "11-point", "101-point"}
        See :func:`average_precision`.
    rule : {"voc", "coco"}
        Matching rule.

    Returns
    -------
    dict
        ``{"per_class": {label: AP}, "map": mean over classes with ground truth}``.

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> res = detection_ap([Detections([[0, 0, 10, 10]], labels=["cat"])], [Detections([[0, 0, 9, 10]], labels=["cat"])])
    >>> res["map"]
    1.0
    """
    preds = _as_list(predictions, "predictions")
    gts = _as_list(ground_truths, "ground_truths")
    per_class = {}
    for c in _classes(preds, gts):
        pr = detection_pr(preds, gts, iou_threshold=iou_threshold, label=c, rule=rule)
        if pr["n_gt"] == 0:
            continue
        per_class[c] = average_precision(pr["recall"], pr["precision"], method=method)
    m = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return {"per_class": per_class, "map": m}
