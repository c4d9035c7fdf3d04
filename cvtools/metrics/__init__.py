"""Metrics for classification and detection.

Classification: :func:`confusion_matrix`, :func:`accuracy`, :func:`precision_recall_f1` (and
:func:`precision`, :func:`recall`, :func:`f1_score`), :func:`classification_report`,
:func:`roc_curve`, :func:`roc_auc`, :func:`auc`, :func:`pr_curve`, :func:`average_precision_score`
(checked against scikit-learn in the tests).

Detection: :func:`box_iou`, :func:`match_detections`, :func:`detection_pr`, :func:`average_precision`
(VOC all-point / 11-point, COCO 101-point), :func:`detection_ap` (VOC per class) and
:func:`coco_map` (COCO mAP@[.5:.95]); :func:`coco_eval` (the 12 numbers of pycocotools' summary with
area ranges and recall, per-class AP and PR curves; checked against pycocotools in the tests).
"""
from ._classification import (
    accuracy, auc, average_precision_score, classification_report, confusion_matrix, f1_score, pr_curve,
    precision, precision_recall_f1, recall, roc_auc, roc_curve,
)
from ._detection import (
    MatchResult, average_precision, box_iou, detection_ap, detection_pr, match_detections,
)
from ._coco import COCO_STATS, CocoEvalResult, coco_eval, coco_map

__all__ = [
    "accuracy", "auc", "average_precision_score", "classification_report", "confusion_matrix", "f1_score",
    "pr_curve", "precision", "precision_recall_f1", "recall", "roc_auc", "roc_curve",
    "MatchResult", "average_precision", "box_iou", "coco_map", "detection_ap", "detection_pr",
    "match_detections", "COCO_STATS", "CocoEvalResult", "coco_eval",
]
