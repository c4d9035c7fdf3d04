"""The result of evaluating a classifier: confusion matrix and per-class precision, recall, F1."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    """Classification quality on a labelled set.

    Attributes
    ----------
    classes : list of str
        Row/column order of ``confusion``.
    confusion : (C, C) int64 ndarray
        ``confusion[i, j]`` counts images of true class ``i`` predicted as ``j``.
    precision, recall, f1 : (C,) float32 ndarray
        Per class; 0 where undefined (no prediction / no example of the class).
    support : (C,) int64 ndarray
        Number of true examples of each class.
    accuracy : float
        Fraction of images predicted right.
    """

    classes: list
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    accuracy: float

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of the per-class F1 over classes with examples."""
        has = self.support > 0
        return float(self.f1[has].mean()) if has.any() else 0.0

    @classmethod
    def from_labels(cls, y_true, y_pred, classes=None) -> "Evaluation":
        """Build from true and predicted labels (any hashable labels; compared as strings).

        >>> e = Evaluation.from_labels(["a", "a", "b", "b"], ["a", "b", "b", "b"])
        >>> e.confusion.tolist(), e.accuracy, [round(float(p), 3) for p in e.precision]
        ([[1, 1], [0, 2]], 0.75, [1.0, 0.667])
        """
        y_true = np.asarray(y_true).astype(str)
        y_pred = np.asarray(y_pred).astype(str)
        if y_true.shape != y_pred.shape or y_true.ndim != 1:
            raise ValueError(f"`y_true` and `y_pred` must be 1-D of one length; got {y_true.shape} "
                             f"and {y_pred.shape}.")
        if classes is None:
            classes = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
        classes = [str(c) for c in classes]
        extra = sorted((set(y_true.tolist()) | set(y_pred.tolist())) - set(classes))
        classes = classes + extra
        from ..metrics import confusion_matrix

        conf = confusion_matrix(y_true, y_pred, labels=classes)
        tp = np.diag(conf).astype(np.float64)
        pred_n = conf.sum(0).astype(np.float64)
        true_n = conf.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(pred_n > 0, tp / np.maximum(pred_n, 1), 0.0)
            recall = np.where(true_n > 0, tp / np.maximum(true_n, 1), 0.0)
            denom = precision + recall
            f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
        accuracy = float(tp.sum() / max(len(y_true), 1))
        return cls(classes, conf, precision.astype(np.float32), recall.astype(np.float32),
                   f1.astype(np.float32), true_n.astype(np.int64), accuracy)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "classes": list(self.classes), "accuracy": self.accuracy, "macro_f1": self.macro_f1,
            "confusion": self.confusion.tolist(),
            "per_class": {c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                          for c, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1,
                                                   self.support)},
        }

    def table(self) -> str:
        """Per-class precision/recall/F1 as a markdown table, with accuracy and macro F1 below."""
        lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for c, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1, self.support):
            lines.append(f"| {c} | {p:.3f} | {r:.3f} | {f:.3f} | {s} |")
        lines.append(f"\naccuracy {self.accuracy:.3f}, macro F1 {self.macro_f1:.3f}, "
                     f"{int(self.support.sum())} images")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Evaluation(classes={len(self.classes)}, accuracy={self.accuracy:.3f}, "
                f"macro_f1={self.macro_f1:.3f}, n={int(self.support.sum())})")
