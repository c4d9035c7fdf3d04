"""cvtools.metrics against scikit-learn (classification) and pycocotools (COCO mAP), plus hand cases."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from cvtools import metrics
from cvtools.detect import Detections

sk = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(4))
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = np.array(["cat", "dog", "owl", "fox"])
    t = labels[rng.integers(0, 4, 200)]
    p = np.where(rng.uniform(size=200) < 0.6, t, labels[rng.integers(0, 4, 200)])
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), sk.confusion_matrix(t, p))
    np.testing.assert_allclose(metrics.confusion_matrix(t, p, normalize="true"),
                               sk.confusion_matrix(t, p, normalize="true"))
    np.testing.assert_allclose(metrics.confusion_matrix(t, p, normalize="pred"),
                               sk.confusion_matrix(t, p, normalize="pred"))
    assert metrics.accuracy(t, p) == pytest.approx(sk.accuracy_score(t, p))
    for avg in ("macro", "micro", "weighted", None):
        ours = metrics.precision_recall_f1(t, p, average=avg)
        ref = sk.precision_recall_fscore_support(t, p, average=avg, zero_division=0)[:3]
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    rep = metrics.classification_report(t, p)
    ref = sk.classification_report(t, p, output_dict=True, zero_division=0)
    for key in ref:
        if key == "accuracy":
            assert rep[key] == pytest.approx(ref[key])
        else:
            for m in ("precision", "recall", "f1-score", "support"):
                assert rep[key][m] == pytest.approx(ref[key][m]), (key, m)


def test_binary_and_zero_division():
    t = [1, 1, 0, 0]
    p = [0, 0, 0, 0]
    assert metrics.precision(t, p, average="binary") == 0.0
    assert metrics.precision(t, p, average="binary", zero_division=1.0) == 1.0
    assert metrics.recall([1, 0, 1, 1], [1, 0, 0, 1], average="binary") == pytest.approx(2 / 3)
    cm = metrics.confusion_matrix([0, 1, 2], [0, 2, 2], labels=[2, 0])
    assert cm.tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("seed", range(4))
def test_roc_pr_auc_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 150)
    s = np.round(y * 0.3 + rng.uniform(size=150), 2)  # rounding creates ties
    fpr, tpr, thr = metrics.roc_curve(y, s)
    rfpr, rtpr, rthr = sk.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, rfpr)
    np.testing.assert_allclose(tpr, rtpr)
    np.testing.assert_allclose(thr[1:], rthr[1:])
    assert metrics.roc_auc(y, s) == pytest.approx(sk.roc_auc_score(y, s), rel=1e-12)
    p, r, t = metrics.pr_curve(y, s)
    rp, rr, rt = sk.precision_recall_curve(y, s)
    np.testing.assert_allclose(p, rp)
    np.testing.assert_allclose(r, rr)
    np.testing.assert_allclose(t, rt)
    assert metrics.average_precision_score(y, s) == pytest.approx(sk.average_precision_score(y, s), rel=1e-12)
    assert metrics.auc(fpr, tpr) == pytest.approx(sk.auc(rfpr, rtpr))


def test_curve_errors():
    with pytest.raises(ValueError, match="both positive and negative"):
        metrics.roc_curve([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="pass `pos_label`"):
        metrics.roc_curve(["a", "b"], [0.2, 0.3])
    assert metrics.roc_auc(["a", "b", "b"], [0.2, 0.3, 0.9], pos_label="b") == 1.0
    with pytest.raises(ValueError, match="one score per sample"):
        metrics.pr_curve([0, 1], [0.1])
    with pytest.raises(ValueError, match="monotonic"):
        metrics.auc([0, 1, 0.5], [0, 1, 1])


def test_box_iou_hand_cases():
    assert metrics.box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    assert metrics.box_iou([[0, 0, 1, 1]], [[2, 2, 3, 3]])[0, 0] == 0
    assert metrics.box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


@pytest.mark.reference("pycocotools")
def test_box_iou_random_matches_pycocotools():
    rng = np.random.default_rng(3)
    a = np.hstack([rng.uniform(0, 50, (7, 2)), rng.uniform(60, 100, (7, 2))])
    b = np.hstack([rng.uniform(0, 50, (5, 2)), rng.uniform(60, 100, (5, 2))])
    iou = metrics.box_iou(a, b)
    from pycocotools import mask as mask_utils

    ref = mask_utils.iou(np.column_stack([a[:, :2], a[:, 2:] - a[:, :2]]).tolist(),
                         np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]]).tolist(), [0] * 5)
    np.testing.assert_allclose(iou, ref, rtol=1e-5)


def test_match_detections_greedy_by_score():
    gt = [[0, 0, 10, 10], [20, 0, 30, 10]]
    pred = [[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [50, 50, 60, 60]]
    m = metrics.match_detections(pred, gt, scores=[0.5, 0.9, 0.8, 0.95], iou_threshold=0.5)
    # The higher-scoring shifted box takes gt 0, the exact one becomes a duplicate (FP).
    assert m.tp.tolist() == [False, True, True, False]
    assert m.gt_to_pred.tolist() == [1, 2]
    assert (m.n_tp, m.n_fp, m.n_fn) == (2, 2, 0)
    m2 = metrics.match_detections(pred, gt, scores=[0.5, 0.9, 0.8, 0.95], iou_threshold=0.9)
    # At 0.9 the shifted box (IoU 9/11) no longer matches, so the exact lower-scoring box does.
    assert m2.tp.tolist() == [True, False, True, False] and m2.n_fn == 0
    ig = metrics.match_detections([[0, 0, 10, 10]], gt, scores=[1], gt_ignore=[True, False])
    assert ig.ignored.tolist() == [True] and ig.n_fp == 0 and ig.n_fn == 1
    with pytest.raises(ValueError, match="one entry per prediction"):
        metrics.match_detections(pred, gt, scores=[1])


def test_average_precision_voc_hand_case():
    # Ranked: TP, FP, TP with 2 GT -> precision 1, .5, .667; recall .5, .5, 1.
    r, p = [0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]
    assert metrics.average_precision(r, p) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    eleven = (6 * 1.0 + 5 * 2 / 3) / 11
    assert metrics.average_precision(r, p, method="11-point") == pytest.approx(eleven)
    pr = metrics.detection_pr([Detections([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]],
                                          scores=[0.9, 0.8, 0.7])],
                              [Detections([[0, 0, 10, 10], [20, 20, 30, 30]])])
    np.testing.assert_allclose(pr["precision"], p)
    np.testing.assert_allclose(pr["recall"], r)
    with pytest.raises(ValueError, match="unknown method"):
        metrics.average_precision(r, p, method="12-point")


def _random_case(rng, n_images, classes):
    preds, gts = [], []
    for _ in range(n_images):
        k = rng.integers(0, 6)
        xy = rng.uniform(0, 80, (k, 2))
        g = np.hstack([xy, xy + rng.uniform(8, 40, (k, 2))])
        glab = list(rng.choice(classes, k)) if k else []
        # Predictions: jittered copies of some GT plus random boxes, random scores.
        keep = rng.uniform(size=k) < 0.8
        jit = g[keep] + rng.normal(0, 3, (keep.sum(), 4))
        jit[:, 2:] = np.maximum(jit[:, 2:], jit[:, :2] + 1)
        m = rng.integers(0, 4)
        xy2 = rng.uniform(0, 80, (m, 2))
        rnd = np.hstack([xy2, xy2 + rng.uniform(8, 40, (m, 2))])
        p = np.vstack([jit, rnd]) if len(jit) + m else np.zeros((0, 4))
        plab = [glab[i] for i in np.flatnonzero(keep)] + list(rng.choice(classes, m))
        if rng.uniform() < 0.2 and len(plab):
            plab[0] = classes[(classes.index(plab[0]) + 1) % len(classes)]
        preds.append(Detections(p, scores=rng.uniform(0.05, 1, len(p)), labels=plab))
        gts.append(Detections(g, labels=glab))
    return preds, gts


def _pycocotools_map(preds, gts, classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat_id = {c: i + 1 for i, c in enumerate(classes)}
    images, anns, dets = [], [], []
    for i, (p, g) in enumerate(zip(preds, gts)):
        images.append({"id": i + 1, "width": 200, "height": 200})
        for b, lab in zip(g.xyxy.astype(float), g.labels):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat_id[lab],
                         "bbox": [b[0], b[1], w, h], "area": w * h, "iscrowd": 0})
        for b, s, lab in zip(p.xyxy.astype(float), p.scores.astype(float), p.labels):
            dets.append({"image_id": i + 1, "category_id": cat_id[lab], "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "score": s})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns,
                        "categories": [{"id": v, "name": k} for k, v in cat_id.items()]}
        coco.createIndex()
        res = coco.loadRes(dets) if dets else None
        ev = COCOeval(coco, res, "bbox")
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.params.maxDets = [100]
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, -1]  # T, R, K
    return prec


@pytest.mark.reference("pycocotools")
@pytest.mark.parametrize("seed", range(6))
def test_coco_map_matches_pycocotools(seed):
    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c"]
    preds, gts = _random_case(rng, 12, classes)
    # Make sure every class has at least one detection (loadRes needs a non-empty list).
    preds[0] = Detections.merge([preds[0], Detections([[1, 1, 20, 20]], scores=[0.3], labels=["a"])])
    ref = _pycocotools_map(preds, gts, classes)
    ours = metrics.coco_map(preds, gts)
    present = [classes.index(c) for c in ours["classes"]]
    np.testing.assert_allclose(ours["precision"], ref[:, :, present], atol=1e-9)
    valid = ref[ref > -1]
    assert ours["map"] == pytest.approx(valid.mean(), abs=1e-9)
    r50 = ref[0][ref[0] > -1]
    assert ours["map50"] == pytest.approx(r50.mean(), abs=1e-9)


def test_detection_ap_perfect_and_empty():
    gts = [Detections([[0, 0, 10, 10]], labels=["cat"]), Detections([[5, 5, 9, 9]], labels=["dog"])]
    preds = [Detections([[0, 0, 10, 10]], scores=[0.9], labels=["cat"]),
             Detections([[5, 5, 9, 9]], scores=[0.9], labels=["dog"])]
    res = metrics.detection_ap(preds, gts)
    assert res == {"per_class": {"cat": 1.0, "dog": 1.0}, "map": 1.0}
    res = metrics.detection_ap([Detections.empty(), Detections.empty()], gts)
    assert res["map"] == 0.0
    assert metrics.coco_map([Detections.empty(), Detections.empty()], gts)["map"] == 0.0
    with pytest.raises(ValueError, match="same images"):
        metrics.coco_map(preds[:1], gts)
