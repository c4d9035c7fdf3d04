"""cvtools.metrics.coco_eval against pycocotools' COCOeval on random cases (crowd boxes, every area range,
more than 100 predictions per image, tied scores, categories without ground truth), plus hand cases."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from cvtools import metrics
from cvtools.detect import Detections

CLASSES = ["person", "car", "dog", "kite"]  # "kite" never appears in the ground truth
CAT_IDS = [1, 3, 18, 38]                    # non-contiguous, as in COCO


def _random_case(rng, n_images, *, crowd=0.1, many=False, seg_area=False, ties=False):
    gts, preds = [], []
    for _ in range(n_images):
        k = int(rng.integers(0, 9))
        # Sizes from 4 to 300 px so that small (< 32²), medium and large (> 96²) all occur.
        wh = np.exp(rng.uniform(np.log(4), np.log(300), (k, 2)))
        xy = rng.uniform(0, 400, (k, 2))
        g = np.hstack([xy, xy + wh])
        glab = [CLASSES[i] for i in rng.integers(0, 3, k)]
        data = {"iscrowd": rng.uniform(size=k) < crowd}
        if seg_area:  # COCO's area is the segmentation's, smaller than the box
            data["area"] = wh[:, 0] * wh[:, 1] * rng.uniform(0.4, 1.0, k)
        gts.append(Detections(g, labels=glab, data=data))
        # Predictions: jittered copies of most boxes (several per crowd box), plus random ones.
        rows, labs = [], []
        for i in range(k):
            for _ in range(int(rng.integers(2, 5)) if data["iscrowd"][i] else int(rng.uniform() < 0.85)):
                box = g[i] + rng.normal(0, 0.08, 4) * np.tile(wh[i], 2)
                if data["iscrowd"][i]:  # a piece inside the crowd region
                    c = g[i, :2] + rng.uniform(0, 0.6, 2) * wh[i]
                    box = np.r_[c, c + wh[i] * rng.uniform(0.1, 0.4, 2)]
                box[2:] = np.maximum(box[2:], box[:2] + 1)
                rows.append(box)
                labs.append(glab[i] if rng.uniform() > 0.1 else CLASSES[int(rng.integers(0, 4))])
        m = int(rng.integers(120, 160)) if many else int(rng.integers(0, 6))
        xy2 = rng.uniform(0, 400, (m, 2))
        rows.extend(np.hstack([xy2, xy2 + np.exp(rng.uniform(np.log(4), np.log(200), (m, 2)))]))
        labs.extend(CLASSES[int(i)] for i in rng.integers(0, 4, m))
        p = np.array(rows, np.float64).reshape(-1, 4)
        scores = rng.uniform(0.01, 1, len(p))
        if ties:
            scores = np.round(scores, 1)
        preds.append(Detections(p, scores=scores, labels=labs))
    return gts, preds


def _pycocotools(gts, preds, classes=CLASSES, cat_ids=CAT_IDS):
    """COCOeval on the same boxes, built from the float32 values cvtools stores."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cid = dict(zip(classes, cat_ids))
    images, anns, dets = [], [], []
    for i, (g, p) in enumerate(zip(gts, preds)):
        images.append({"id": i + 1, "width": 640, "height": 640})
        for j, (b, lab) in enumerate(zip(g.xyxy.astype(np.float64), g.labels)):
            w, h = b[2] - b[0], b[3] - b[1]
            area = float(g.data["area"][j]) if "area" in g.data else w * h
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cid[lab], "bbox": [b[0], b[1], w, h],
                         "area": area, "iscrowd": int(g.data["iscrowd"][j])})
        for b, s, lab in zip(p.xyxy.astype(np.float64), p.scores.astype(np.float64), p.labels):
            dets.append({"image_id": i + 1, "category_id": cid[lab], "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "score": s})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns,
                        "categories": [{"id": v, "name": k} for k, v in cid.items()]}
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.reference("pycocotools")
@pytest.mark.parametrize("seed,kind", [(0, "plain"), (1, "plain"), (2, "crowd"), (3, "crowd"), (4, "many"),
                                       (5, "seg_area"), (6, "ties"), (7, "crowd")])
def test_coco_eval_equals_pycocotools(seed, kind):
    rng = np.random.default_rng(seed)
    gts, preds = _random_case(rng, 10 if kind == "many" else 25, crowd=0.3 if kind == "crowd" else 0.08,
                              many=kind == "many", seg_area=kind == "seg_area", ties=kind == "ties")
    ev = _pycocotools(gts, preds)
    ours = metrics.coco_eval(gts, preds, classes=CLASSES)
    assert list(ours) == list(metrics.COCO_STATS)
    got = np.array([ours[k] for k in metrics.COCO_STATS])
    np.testing.assert_allclose(got, ev.stats, rtol=0, atol=1e-9)
    # The whole precision / recall / score arrays, not only their means.
    np.testing.assert_allclose(ours.precision, ev.eval["precision"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.recall, ev.eval["recall"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.scores, ev.eval["scores"], rtol=0, atol=1e-9)
    # Per class: COCOeval's precision slice for the class, area all, 100 detections.
    for k, c in enumerate(CLASSES):
        p = ev.eval["precision"][:, :, k, 0, -1]
        ref = p[p > -1].mean() if (p > -1).any() else -1.0
        assert ours.per_class[c]["AP"] == pytest.approx(ref, abs=1e-9)
    assert ours.per_class["kite"]["AP"] == -1.0 and ours.per_class["kite"]["gt"] == 0
    if kind == "crowd":  # the case exercises crowd matching: some prediction lands in a crowd box
        assert any(g.data["iscrowd"].any() for g in gts)


@pytest.mark.reference("pycocotools")
def test_coco_eval_crowd_absorbs_many_predictions():
    # One real box and one crowd region; three predictions inside the crowd are neither TP nor FP.
    gt = [Detections([[0, 0, 40, 40], [100, 100, 300, 300]], labels=["person", "person"],
                     data={"iscrowd": [False, True]})]
    pred = [Detections([[0, 0, 40, 40], [110, 110, 150, 150], [200, 200, 240, 240], [120, 250, 160, 290]],
                       scores=[0.9, 0.8, 0.7, 0.6], labels=["person"] * 4)]
    res = metrics.coco_eval(gt, pred)
    assert res["AP"] == pytest.approx(1.0) and res["AR100"] == pytest.approx(1.0)
    ev = _pycocotools(gt, pred, ["person"], [1])
    np.testing.assert_allclose([res[k] for k in metrics.COCO_STATS], ev.stats, atol=1e-12)
    # Without the crowd flag the three become false positives and the region a missed box.
    plain = metrics.coco_eval([gt[0].with_fields(data=None)], pred)
    assert plain["AP50"] < 0.6 and plain["AR100"] == pytest.approx(0.5)


def test_coco_eval_accepts_a_dataset_and_checks_inputs():
    from cvtools.datasets import Dataset, Sample

    gts = [Detections([[0, 0, 10, 10]], labels=["a"]), Detections([[5, 5, 20, 20]], labels=["b"])]
    ds = Dataset([Sample(f"/nowhere/{i}.png", d, size=(32, 32)) for i, d in enumerate(gts)], classes=["a", "b", "c"])
    res = metrics.coco_eval(ds, gts)
    assert res["AP"] == pytest.approx(1.0) and res.classes == ("a", "b", "c")
    assert res.per_class["c"] == {"AP": -1.0, "AP50": -1.0, "AP75": -1.0, "AR100": -1.0, "gt": 0, "predictions": 0}
    rec, prec = res.pr_curve("a")
    assert rec.shape == prec.shape == (101,) and np.allclose(prec, 1)  # 1 / (1 + eps), as pycocotools
    with pytest.raises(ValueError, match="no ground truth"):
        res.pr_curve("c")
    with pytest.raises(KeyError, match="no class 'zebra'"):
        res.pr_curve("zebra")
    with pytest.raises(ValueError, match="same images"):
        metrics.coco_eval(ds, gts[:1])
    with pytest.raises(TypeError, match="sequence of class names"):
        metrics.coco_eval(gts, gts, classes="a")
    with pytest.raises(TypeError, match=r"`predictions\[0\]`"):
        metrics.coco_eval(gts, ["boxes", "x"])
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000" in res.table()
    assert set(res.to_dict()) >= set(metrics.COCO_STATS)


def test_coco_eval_nothing_to_measure_is_minus_one():
    res = metrics.coco_eval([Detections.empty()], [Detections.empty()])
    assert res.classes == () and all(v == -1.0 for v in res.values())
    res = metrics.coco_eval([Detections([[0, 0, 10, 10]], labels=["a"])], [Detections.empty()])
    assert res["AP"] == 0.0 and res["APm"] == -1.0 and res["APs"] == 0.0


def test_coco_map_uses_the_same_engine():
    rng = np.random.default_rng(11)
    gts, preds = _random_case(rng, 15, crowd=0.2)
    full = metrics.coco_eval(gts, preds, classes=sorted(CLASSES))
    short = metrics.coco_map(preds, gts)
    present = [sorted(CLASSES).index(c) for c in short["classes"]]
    np.testing.assert_array_equal(short["precision"], full.precision[:, :, present, 0, -1])
    assert short["map"] == pytest.approx(full["AP"], abs=1e-12)
