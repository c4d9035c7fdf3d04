"""Classification metrics: confusion matrix, precision / recall / F1 / accuracy, ROC and PR curves, AUC."""
from __future__ import annotations

import numpy as np

from .._shared import check_choice

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from numpy.typing import ArrayLike
    from typing import Any

__all__ = ["confusion_matrix", "accuracy", "precision_recall_f1", "precision", "recall", "f1_score",
           "classification_report", "roc_curve", "auc", "roc_auc", "pr_curve", "average_precision_score"]


def _labels_1d(y, name):
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D (one label per sample); got shape {arr.shape}.")
    return arr


def _pair(y_true, y_pred):
    t, p = _labels_1d(y_true, "y_true"), _labels_1d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"`y_true` and `y_pred` must have the same length; got {t.shape[0]} and {p.shape[0]}.")
    return t, p


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, *, labels: ArrayLike | None = None, normalize: str | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: row = true, column = predicted.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like
        True and predicted labels (any hashable values: ints or strings).
    labels : sequence, optional
        Class order of the rows/columns (default: sorted union of both). Samples whose true or
        predicted label is not listed are ignored.
    normalize : {None, "true", "pred", "all"}
        Divide by row sums (recall per class), column sums (precision) or the total (float64).

    Examples
    --------
    >>> confusion_matrix(["cat", "dog", "dog"], ["cat", "cat", "dog"]).tolist()
    [[1, 0], [1, 1]]
    """
    t, p = _pair(y_true, y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([t, p]))
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError("`labels` contains duplicates.")
    k = len(labels)
    ti = np.array([index.get(v, -1) for v in t.tolist()], dtype=np.int64)
    pi = np.array([index.get(v, -1) for v in p.tolist()], dtype=np.int64)
    ok = (ti >= 0) & (pi >= 0)
    cm = np.bincount(ti[ok] * k + pi[ok], minlength=k * k).reshape(k, k).astype(np.int64)
    if normalize is None:
        return cm
    check_choice(normalize, ("true", "pred", "all"), name="normalize")
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            out = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            out = cm / cm.sum(axis=0, keepdims=True)
        else:
            out = cm / cm.sum()
    return np.nan_to_num(out)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of samples whose predicted label equals the true one.

    Examples
    --------
    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    t, p = _pair(y_true, y_pred)
    if t.size == 0:
        raise ValueError("`y_true` is empty; accuracy is undefined.")
    return float(np.mean(t == p))


def _safe_div(a, b, zero_division):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    out = np.full(np.broadcast(a, b).shape, float(zero_division))
    np.divide(a, b, out=out, where=b > 0)
    return out


def precision_recall_f1(y_true: ArrayLike, y_pred: ArrayLike, *, labels: ArrayLike | None = None, average: str | None = "macro", zero_division: float = 0.0) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray]:
    """Precision, recall and F1, per class or averaged.

    Parameters
    ----------
    y_true, y_pred : (N,) array-like
        True and predicted labels.
    labels : sequence, optional
        Classes to report (default: sorted union).
    average : {"macro", "micro", "weighted", "binary", None}
        ``None`` returns per-class arrays; ``"macro"`` the unweighted mean over classes,
        ``"weighted"`` the mean weighted by support, ``"micro"`` global counts (equal to accuracy
        for single-label data), ``"binary"`` the scores of the class ``labels[-1]`` (1 or the last
        sorted label) only.
    zero_division : float
        Value used when a denominator is 0 (a class never predicted or never present).

    Returns
    -------
    precision, recall, f1 : float or (K,) float64 arrays

    Examples
    --------
    >>> p, r, f = precision_recall_f1([0, 1, 1, 1], [0, 1, 0, 1], average=None)
    >>> p.tolist(), r.round(3).tolist()
    ([0.5, 1.0], [1.0, 0.667])
    """
    t, p = _pair(y_true, y_pred)
    check_choice(average, ("macro", "micro", "weighted", "binary", None), name="average")
    if labels is None:
        labels = np.unique(np.concatenate([t, p]))
    cm = confusion_matrix(t, p, labels=labels)
    tp = np.diag(cm).astype(np.float64)
    pred_pos = cm.sum(axis=0).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    if average == "micro":
        prec = _safe_div(tp.sum(), pred_pos.sum(), zero_division)
        rec = _safe_div(tp.sum(), support.sum(), zero_division)
        f1 = _safe_div(2 * prec * rec, prec + rec, zero_division)
        return float(prec), float(rec), float(f1)
    prec = _safe_div(tp, pred_pos, zero_division)
    rec = _safe_div(tp, support, zero_division)
    f1 = _safe_div(2 * tp, pred_pos + support, zero_division)
    if average is None:
        return prec, rec, f1
    if average == "binary":
        return float(prec[-1]), float(rec[-1]), float(f1[-1])
    if average == "weighted":
        w = support / support.sum() if support.sum() > 0 else np.zeros_like(support)
        return float((prec * w).sum()), float((rec * w).sum()), float((f1 * w).sum())
    return float(prec.mean()), float(rec.mean()), float(f1.mean())


def precision(y_true: ArrayLike, y_pred: ArrayLike, **kwargs: Any) -> float | np.ndarray:
    """Precision (see :func:`precision_recall_f1` for the options).

    Examples
    --------
    >>> precision([1, 0, 1], [1, 1, 1], average="binary")
    0.6666666666666666
    """
    return precision_recall_f1(y_true, y_pred, **kwargs)[0]


def recall(y_true: ArrayLike, y_pred: ArrayLike, **kwargs: Any) -> float | np.ndarray:
    """Recall (see :func:`precision_recall_f1` for the options).

    Examples
    --------
    >>> recall([1, 0, 1], [1, 1, 0], average="binary")
    0.5
    """
    return precision_recall_f1(y_true, y_pred, **kwargs)[1]


def f1_score(y_true: ArrayLike, y_pred: ArrayLike, **kwargs: Any) -> float | np.ndarray:
    """F1, the harmonic mean of precision and recall (see :func:`precision_recall_f1`).

    Examples
    --------
    >>> round(f1_score([1, 0, 1], [1, 1, 0], average="binary"), 3)
    0.5
    """
    return precision_recall_f1(y_true, y_pred, **kwargs)[2]


def classification_report(y_true: ArrayLike, y_pred: ArrayLike, *, labels: ArrayLike | None = None, zero_division: float = 0.0) -> dict:
    """Per-class precision / recall / F1 / support plus accuracy and averages, as a dict.

    Same layout as ``sklearn.metrics.classification_report(..., output_dict=True)``: one entry per
    class (keyed by ``str(label)``), then ``"accuracy"``, ``"macro avg"`` and ``"weighted avg"``.

    Examples
    --------
    >>> rep = classification_report(["a", "b", "b"], ["a", "b", "a"])
    >>> rep["b"]["recall"], round(rep["accuracy"], 3)
    (0.5, 0.667)
    """
    t, p = _pair(y_true, y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([t, p]))
    prec, rec, f1 = precision_recall_f1(t, p, labels=labels, average=None, zero_division=zero_division)
    support = confusion_matrix(t, p, labels=labels).sum(axis=1)
    out = {}
    for i, lab in enumerate(labels):
        out[str(lab)] = {"precision": float(prec[i]), "recall": float(rec[i]), "f1-score": float(f1[i]),
                         "support": int(support[i])}
    out["accuracy"] = accuracy(t, p)
    total = int(support.sum())
    for name, avg in (("macro avg", "macro"), ("weighted avg", "weighted")):
        pr, rc, ff = precision_recall_f1(t, p, labels=labels, average=avg, zero_division=zero_division)
        out[name] = {"precision": pr, "recall": rc, "f1-score": ff, "support": total}
    return out


def _binary(y_true, scores, pos_label):
    t = _labels_1d(y_true, "y_true")
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.shape != t.shape:
        raise ValueError(f"`scores` must be 1-D with one score per sample ({t.shape[0]}); got shape {s.shape}.")
    if not np.isfinite(s).all():
        raise ValueError("`scores` contains NaN or infinite values.")
    if pos_label is None:
        values = np.unique(t)
        if not (set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {-1, 1} or t.dtype == bool):
            raise ValueError(f"`y_true` has labels {values.tolist()}; pass `pos_label` to say which is positive.")
        pos_label = True if t.dtype == bool else 1
    return t == pos_label, s


def _clf_curve(y, s):
    """Cumulative TP and FP counts at each distinct score threshold (descending)."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.where(np.diff(s))[0]
    ends = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y)[ends].astype(np.float64)
    fps = (1 + ends - tps).astype(np.float64)
    return fps, tps, s[ends]


def roc_curve(y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: false- and true-positive rates at every score threshold.

    Parameters
    ----------
    y_true : (N,) array-like
        Binary labels (0/1, -1/1, bool) or any labels with ``pos_label``.
    scores : (N,) array-like
        Higher means more likely positive.
    pos_label : optional
        The positive class.

    Returns
    -------
    fpr, tpr, thresholds : float64 arrays
        Starting at (0, 0) with threshold ``inf``; a sample is positive when ``score >= threshold``.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = _binary(y_true, scores, pos_label)
    fps, tps, thr = _clf_curve(y, s)
    fps, tps, thr = np.r_[0.0, fps], np.r_[0.0, tps], np.r_[np.inf, thr]
    if tps[-1] == 0 or fps[-1] == 0:
        raise ValueError("`y_true` must contain both positive and negative samples for a ROC curve.")
    return fps / fps[-1], tps / tps[-1], thr


def auc(x: ArrayLike, y: ArrayLike) -> float:
    """Area under a curve by the trapezoidal rule (x must be monotonic).

    Examples
    --------
    >>> auc([0, 0.5, 1], [0, 1, 1])
    0.75
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"`x` and `y` must be 1-D of the same length >= 2; got {x.shape} and {y.shape}.")
    dx = np.diff(x)
    if not (np.all(dx <= 0) or np.all(dx >= 0)):
        raise ValueError("`x` must be monotonic (increasing or decreasing).")
    return float(abs(np.sum(dx * (y[1:] + y[:-1]) / 2.0)))


def roc_auc(y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = None) -> float:
    """Area under the ROC curve (the probability a random positive outscores a random negative).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr, _ = roc_curve(y_true, scores, pos_label=pos_label)
    return auc(fpr, tpr)


def pr_curve(y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every score threshold (as ``sklearn.metrics.precision_recall_curve``).

    Returns
    -------
    precision, recall, thresholds : float64 arrays
        Ordered by increasing threshold; the last point is (precision 1, recall 0) with no
        threshold, so ``len(thresholds) == len(precision) - 1``.

    Examples
    --------
    >>> p, r, t = pr_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> p.round(3).tolist(), r.tolist()
    ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0])
    """
    y, s = _binary(y_true, scores, pos_label)
    fps, tps, thr = _clf_curve(y, s)
    if tps[-1] == 0:
        raise ValueError("`y_true` has no positive sample; recall is undefined.")
    prec = tps / (tps + fps)
    rec = tps / tps[-1]
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thr[::-1]


def average_precision_score(y_true: ArrayLike, scores: ArrayLike, *, pos_label: Any = None) -> float:
    """Area under the step PR curve, ``sum((R_n - R_{n-1}) P_n)`` (sklearn's definition, no interpolation).

    Examples
    --------
    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    p, r, _ = pr_curve(y_true, scores, pos_label=pos_label)
    return float(-np.sum(np.diff(r) * p[:-1]))
