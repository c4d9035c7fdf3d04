"""cvtools.Detections: validation, selection, merge, NMS, serialisation, geometry."""
from __future__ import annotations

import json

import numpy as np
import pytest

import cvtools
from cvtools.detect import Detections, nms_indices


def _det(n=4, seed=0, **kw):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(5, 40, (n, 2))
    return Detections(np.hstack([xy, xy + wh]), scores=rng.uniform(size=n),
                      labels=[["a", "b"][i % 2] for i in range(n)], **kw)


def test_public_name_is_lazy_and_same_class():
    assert cvtools.Detections is Detections


def test_defaults_and_dtypes():
    d = Detections([[0, 0, 1, 2]])
    assert d.xyxy.dtype == np.float32 and d.xyxy.shape == (1, 4)
    assert d.scores.dtype == np.float32 and d.scores.tolist() == [1.0]
    assert d.labels.tolist() == ["object"]
    assert d.texts is None and d.identities is None and d.data == {}
    e = Detections.empty()
    assert len(e) == 0 and e.xyxy.shape == (0, 4)
    assert Detections(np.zeros((0, 4))).to_records() == []


def test_inputs_are_copied_never_mutated():
    boxes = np.array([[0, 0, 10, 10]], np.float32)
    scores = np.array([0.5], np.float32)
    lm = np.zeros((1, 2, 2), np.float32)
    d = Detections(boxes, scores=scores, landmarks=lm, data={"k": np.array([3])})
    boxes[0, 0] = 99
    scores[0] = 0
    lm[:] = 7
    assert d.xyxy[0, 0] == 0 and d.scores[0] == 0.5 and d.landmarks.max() == 0
    d2 = d.scale(2.0).offset(1, 1)
    assert d.xyxy.tolist() == [[0, 0, 10, 10]] and d2.xyxy.tolist() == [[1, 1, 21, 21]]
    d.with_fields(texts=["x"])
    assert d.texts is None


@pytest.mark.parametrize("kwargs, match", [
    ({"xyxy": [[0, 0, 1]]}, r"`xyxy` must have shape \(N, 4\)"),
    ({"xyxy": [[0, 0, 1, np.nan]]}, "NaN"),
    ({"xyxy": [[0, 0, 1, 1]], "scores": [1, 2]}, r"`scores` must have shape \(1,\)"),
    ({"xyxy": [[0, 0, 1, 1]], "labels": ["a", "b"]}, "`labels` must have one entry per detection"),
    ({"xyxy": [[0, 0, 1, 1]], "landmarks": np.zeros((1, 3))}, r"`landmarks` must have shape \(1, K, 2\)"),
    ({"xyxy": [[0, 0, 1, 1]], "polygons": [np.zeros((3, 3))]}, r"`polygons\[0\]` must have shape"),
    ({"xyxy": [[0, 0, 1, 1]], "data": {"k": [1, 2]}}, r"`data\['k'\]` must have one row"),
    ({"xyxy": [[0, 0, 1, 1]], "texts": [b"raw"]}, "`texts` entries must be str or None"),
])
def test_validation_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Detections(**kwargs)


def test_labels_must_be_strings():
    with pytest.raises(TypeError, match="`labels` must be strings"):
        Detections([[0, 0, 1, 1]], labels=[3])


def test_selection_forms_agree():
    d = _det(6, texts=["t%d" % i for i in range(6)], identities=list(range(6)), distances=np.arange(6) / 10,
             polygons=[np.full((3, 2), i) for i in range(6)], landmarks=np.arange(6 * 5 * 2).reshape(6, 5, 2),
             data={"k": np.arange(6) * 2})
    mask = d.scores > np.median(d.scores)
    idx = np.flatnonzero(mask)
    for sel in (d[mask], d[idx], d[idx.tolist()]):
        assert len(sel) == mask.sum()
        np.testing.assert_array_equal(sel.xyxy, d.xyxy[mask])
        assert sel.texts.tolist() == [d.texts[i] for i in idx]
        assert [int(p[0, 0]) for p in sel.polygons] == idx.tolist()
        np.testing.assert_array_equal(sel["k"], idx * 2)
        np.testing.assert_array_equal(sel.landmarks, d.landmarks[idx])
    one = d[-1]
    assert len(one) == 1 and one.identities.tolist() == [5]
    assert d[1:3].texts.tolist() == ["t1", "t2"]
    assert [len(x) for x in d] == [1] * 6
    with pytest.raises(IndexError, match="out of range"):
        d[6]
    with pytest.raises(IndexError, match="boolean mask must have shape"):
        d[np.ones(3, bool)]
    with pytest.raises(KeyError, match="no data field"):
        d["nope"]


def test_merge_fills_missing_optional_fields():
    a = Detections([[0, 0, 1, 1]], labels=["a"], identities=["ada"], distances=[0.2])
    b = Detections([[1, 1, 2, 2], [2, 2, 3, 3]], labels=["b", "b"], texts=["x", None])
    m = Detections.merge([a, Detections.empty(), b])
    assert len(m) == 3
    assert m.labels.tolist() == ["a", "b", "b"]
    assert m.identities.tolist() == ["ada", None, None]
    assert m.texts.tolist() == [None, "x", None]
    assert np.isnan(m.distances[1:]).all() and m.distances[0] == pytest.approx(0.2)
    assert len(Detections.merge([])) == 0
    with pytest.raises(TypeError, match="merge\\(\\) takes Detections"):
        Detections.merge([a, "b"])
    md = Detections.merge([Detections([[0, 0, 1, 1]], data={"k": [1], "s": ["x"]}), Detections([[0, 0, 1, 1]])])
    assert md["k"][0] == 1 and np.isnan(md["k"][1]) and md["s"].tolist() == ["x", None]


def _nms_reference(boxes, scores, thr):
    """Brute force: walk in score order, keep a box unless it overlaps a kept one by more than thr."""
    from cvtools.metrics import box_iou

    keep = []
    for i in np.argsort(-scores, kind="stable"):
        if all(box_iou(boxes[i:i + 1], boxes[k:k + 1])[0, 0] <= thr for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(5))
def test_nms_matches_brute_force_and_opencv(seed):
    import cv2

    rng = np.random.default_rng(seed)
    n = 40
    xy = rng.uniform(0, 60, (n, 2))
    boxes = np.hstack([xy, xy + rng.uniform(10, 30, (n, 2))])
    scores = rng.permutation(n) / n + 0.01  # distinct scores
    for thr in (0.3, 0.5, 0.7):
        keep = nms_indices(boxes, scores, thr)
        assert keep.tolist() == _nms_reference(boxes, scores, thr)
        xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
        ref = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, thr)
        assert sorted(keep.tolist()) == sorted(np.asarray(ref).reshape(-1).tolist())


def test_nms_class_aware_and_agnostic():
    d = Detections([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 10, 10]], scores=[0.9, 0.8, 0.7], labels=["a", "b", "a"])
    assert d.nms(0.5).labels.tolist() == ["a", "b"]
    assert d.nms(0.5, class_agnostic=True).labels.tolist() == ["a"]
    with pytest.raises(ValueError, match="`iou_threshold` must be in"):
        d.nms(1.5)


def test_records_and_json_round_trip():
    d = Detections([[0, 0, 10, 10], [1, 2, 3, 4]], scores=[0.5, 0.25], labels=["qrcode", "face"],
                   texts=["h\u00e9llo", None], identities=[None, "ada"], distances=[np.nan, 0.4],
                   polygons=[np.zeros((4, 2)), np.ones((3, 2))], data={"format": np.array(["QRCode", "x"])})
    recs = d.to_records()
    assert recs[0] == {"box": [0.0, 0.0, 10.0, 10.0], "score": 0.5, "label": "qrcode", "text": "h\u00e9llo"}
    assert recs[1] == {"box": [1.0, 2.0, 3.0, 4.0], "score": 0.25, "label": "face", "identity": "ada",
                       "distance": 0.4}
    back = Detections.from_json(d.to_json())
    np.testing.assert_array_equal(back.xyxy, d.xyxy)
    assert back.texts.tolist() == d.texts.tolist()
    assert back.identities.tolist() == d.identities.tolist()
    assert np.isnan(back.distances[0]) and back.distances[1] == pytest.approx(0.4)
    assert [p.shape for p in back.polygons] == [(4, 2), (3, 2)]
    assert back.data["format"].tolist() == ["QRCode", "x"]
    # A CLI line ({"path", ..., "detections": [...]}) is accepted too.
    line = json.dumps({"path": "a.png", "width": 5, "height": 5, "detections": recs})
    assert len(Detections.from_json(line)) == 2
    with pytest.raises(ValueError, match="must be a dict with a 'box' key"):
        Detections.from_records([{"score": 1}])


def test_geometry_helpers():
    d = Detections([[10, 20, 30, 60]], landmarks=[[[15, 25]]], polygons=[[[10, 20], [30, 60], [10, 60]]])
    s = d.scale(0.5, 2.0)
    assert s.xyxy.tolist() == [[5, 40, 15, 120]]
    assert s.landmarks.tolist() == [[[7.5, 50]]]
    o = d.offset(-10, 5)
    assert o.polygons[0][0].tolist() == [0, 25]
    assert d.xywh.tolist() == [[10, 20, 20, 40]]
    assert d.trbl == [(20, 30, 60, 10)]
    assert Detections.from_trbl(d.trbl).xyxy.tolist() == d.xyxy.tolist()
    assert d.area.tolist() == [800] and d.centers.tolist() == [[20, 40]]
    assert d.clip(25, 50).xyxy.tolist() == [[10, 20, 25, 50]]


def test_with_fields_adds_and_validates():
    d = Detections([[0, 0, 1, 1]], data={"a": [1]})
    e = d.with_fields(identities=["x"], data={"b": [2]})
    assert e.identities.tolist() == ["x"] and sorted(e.data) == ["a", "b"]
    with pytest.raises(ValueError, match="unknown Detections field 'nope'"):
        d.with_fields(nope=1)
    with pytest.raises(ValueError, match="`distances` must have shape"):
        d.with_fields(distances=[1, 2])
