"""The evaluation plumbing of benchmarks/eval_detect.py on a few real images: WIDER FACE scoring with the
official protocol, the raw YuNet and YOLOX reference runs, and cvtools' COCO numbers against pycocotools.

The data sets live beside the repository (../shared/data); each test skips, saying so, when its set is absent.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cvtools

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WIDER = SHARED / "data" / "face_detection" / "wider_face_val_subset"
COCO = SHARED / "data" / "object_detection" / "coco128_train2017"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("eval_detect", ROOT / "benchmarks" / "eval_detect.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wider(bench):
    if not (WIDER / "annotations.json").is_file() or not (SHARED / "tools" / "wider_eval.py").is_file():
        pytest.skip(f"WIDER FACE subset or its scorer not found under {SHARED}")
    annotations = bench.wider_annotations()
    # Five images with faces in every setting, so that no AP is trivially 0.
    files = [f for f in sorted(annotations) if all(annotations[f][k] for k in ("easy", "medium", "hard"))][:5]
    assert len(files) == 5
    return annotations, files


@pytest.fixture(scope="module")
def coco(bench):
    if not (COCO / "instances.json").is_file():
        pytest.skip(f"COCO128 not found at {COCO}")
    pytest.importorskip("pycocotools", reason="the reference scorer (pip install pycocotools; in the dev extra)")
    return bench.coco_load(limit=8)


# ------------------------------------------------------------------------------------------------ WIDER
def test_wider_face_equals_the_raw_yunet_run(bench, wider):
    annotations, files = wider
    runs = bench.wider_run(files, {"raw": ("bgr", bench.RawYuNet(score=0.02, nms=0.45, top_k=5000)),
                                   "face": ("rgb", cvtools.detect.get("face", threshold=0.02))})
    for run in runs.values():
        assert sorted(run["predictions"]) == files and sorted(run["cpu"]) == files
        assert all(t > 0 for t in run["wall"].values())
    raw = bench.wider_score(runs["raw"]["predictions"], annotations, files)
    face = bench.wider_score(runs["face"]["predictions"], annotations, files)
    for k in ("easy", "medium", "hard"):
        assert raw[k]["faces"] == sum(len(annotations[f][k]) for f in files) > 0
        assert raw[k]["ap"] > 0.3, (k, raw[k])
        assert abs(face[k]["ap"] - raw[k]["ap"]) <= 0.005, (k, face[k], raw[k])
    # The raw run is what cv2.FaceDetectorYN returns: boxes as x, y, w, h -> xyxy, score in column 14.
    f = files[0]
    assert len(runs["raw"]["predictions"][f]["scores"]) == len(runs["face"]["predictions"][f]["scores"]) > 0
    assert min(runs["raw"]["predictions"][f]["scores"]) >= 0.02


def test_wider_scoring_of_the_ground_truth_itself_is_perfect(bench, wider):
    annotations, files = wider
    preds = {}
    for f in files:
        xywh = np.asarray(annotations[f]["boxes_xywh"], float)
        preds[f] = {"xyxy": np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]].tolist(),
                    "scores": np.linspace(1, 0.5, len(xywh)).tolist()}
    res = bench.wider_score(preds, annotations, files)
    for k in ("easy", "medium", "hard"):
        assert res[k]["ap"] == pytest.approx(1.0, abs=1e-3) and res[k]["recall_at_1fppi"] == pytest.approx(1.0)
    # Dropping every prediction of the first image lowers recall by exactly its faces.
    preds[files[0]] = {"xyxy": [], "scores": []}
    hard = bench.wider_score(preds, annotations, files)["hard"]
    n = sum(len(annotations[f]["hard"]) for f in files)
    assert hard["recall_at_1fppi"] == pytest.approx(1 - len(annotations[files[0]]["hard"]) / n)


# ------------------------------------------------------------------------------------------------ COCO
def test_coco_ground_truth_is_read_in_image_id_order(coco):
    doc, images, gts, classes = coco
    assert [im["id"] for im in images] == sorted(im["id"] for im in doc["images"])[:8]
    assert len(classes) == 80 and classes[0] == "person" and classes[-1] == "toothbrush"
    for im, g in zip(images, gts):
        anns = [a for a in doc["annotations"] if a["image_id"] == im["id"]]
        assert len(g) == len(anns)
        if anns:
            np.testing.assert_allclose(g.xywh, [a["bbox"] for a in anns], atol=1e-3)
            assert g.data["iscrowd"].tolist() == [bool(a["iscrowd"]) for a in anns]


def test_coco_objects_scored_by_cvtools_equal_pycocotools(bench, coco):
    doc, images, gts, classes = coco
    runs = bench.coco_predict(images, {"objects": ("rgb", cvtools.detect.get("objects", threshold=0.01,
                                                                              threads=1))})
    preds = runs["objects"]["predictions"]
    assert len(preds) == len(images) and sum(len(p) for p in preds) > 50
    ours = cvtools.metrics.coco_eval(gts, preds, classes=classes)
    ref = bench.pycoco_eval(doc, images, preds)
    for key in ours:
        assert ours[key] == pytest.approx(ref[key], abs=1e-9), key
    person = cvtools.metrics.coco_eval(gts, preds, classes=["person"])["AP50"]
    assert person == pytest.approx(bench.pycoco_eval(doc, images, preds, classes=["person"])["AP50"], abs=1e-9)
    assert person > 0  # not a vacuous comparison (8 images: a crowd of small people keeps it low)


def test_coco_raw_yolox_reference_agrees_with_objects(bench, coco):
    pytest.importorskip("onnxruntime", reason='the raw reference runs onnxruntime (pip install "cvtools[onnx]")')
    doc, images, gts, classes = coco
    runs = bench.coco_predict(images, {"objects": ("rgb", cvtools.detect.get("objects", threshold=0.01, threads=1)),
                                       "raw": ("bgr", bench.RawYolox(threads=1, names=classes))})
    ap = {k: cvtools.metrics.coco_eval(gts, r["predictions"], classes=classes)["AP50"] for k, r in runs.items()}
    assert abs(ap["objects"] - ap["raw"]) <= 0.01 and ap["raw"] > 0.5
    # Same boxes, not only the same AP: the most confident box of each image.
    for im, a, b in zip(images, runs["objects"]["predictions"], runs["raw"]["predictions"]):
        assert len(a) and len(b)
        i, j = int(np.argmax(a.scores)), int(np.argmax(b.scores))
        assert a.labels[i] == b.labels[j] and abs(a.scores[i] - b.scores[j]) < 1e-4
        np.testing.assert_allclose(a.xyxy[i], b.clip(im["width"], im["height"]).xyxy[j], atol=0.5)


def test_pycoco_eval_of_no_predictions_is_zero(bench, coco):
    doc, images, gts, classes = coco
    empty = [cvtools.Detections.empty() for _ in images]
    assert bench.pycoco_eval(doc, images, empty)["AP50"] == 0.0
    assert cvtools.metrics.coco_eval(gts, empty, classes=classes)["AP50"] == 0.0


# ------------------------------------------------------------------------------------------------ script
@pytest.mark.slow
def test_benchmark_script_writes_its_tables(tmp_path, wider, coco):
    out = tmp_path / "eval.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "eval_detect.py"), "--quick", "--limit", "3",
                           "--only", "wider", "coco", "--out", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert text.count("| raw cv2.FaceDetectorYN, YuNet-n (reference) |") == 1
    assert "| face-accurate | 0.02 |" in text and "| face-dlib-hog | 0.01 |" in text
    assert "| raw YOLOX-nano, onnxruntime (reference) |" in text and "| person-hog | 0.01 |" in text
    assert "`face` within 0.005 AP of the raw run" in text and "`person` AP@0.5 >= 0.60" in text
    assert text.strip() in proc.stdout


# ------------------------------------------------------------------------------------------------ docs
def _doc_detector_rows():
    text = (ROOT / "docs" / "detection.md").read_text(encoding="utf-8")
    head = "| name | model | licence | classes | speed class | default threshold | score |"
    assert head in text
    rows = []
    for line in text.split(head, 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        for name in cells[0].split(","):
            rows.append((name.strip().strip("`"), cells))
    return rows


def test_docs_detector_table_matches_the_registry():
    rows = _doc_detector_rows()
    info = {d.name: d for d in cvtools.detect.detectors()}
    assert sorted(name for name, _ in rows) == sorted(info)
    for name, cells in rows:
        assert cells[4] == info[name].speed, name
        default = cells[5].split(" ")[0]
        if default[:1].isdigit() and info[name].available and name != "template":
            assert float(default) == cvtools.detect.get(name).threshold, name
