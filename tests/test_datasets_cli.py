"""`cvtools convert` and `cvtools evaluate` as real subprocesses. `evaluate` is checked against pycocotools run
on the predictions it saves and the ground truth `convert` writes, on a YOLO-layout subset of COCO128 and on
dlib's PASCAL faces (read from ../shared/data; skipped, saying so, when absent)."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cvtools import datasets

from test_datasets import CLASSES, make_yolo

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
COCO128 = SHARED / "object_detection" / "coco128_train2017"
FACES = SHARED / "face_detection" / "dlib_pascal_faces"
STATS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "cvtools", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def pycocotools_stats(gt_json: Path, predictions: Path) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_json))
        ev = COCOeval(gt, gt.loadRes(str(predictions)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


# ------------------------------------------------------------------------------------------ convert
def test_convert_round_trip_and_report(tmp_path):
    truth = make_yolo(tmp_path / "yolo")
    n_boxes = sum(len(t[2]) for t in truth.values())
    r = cli("convert", tmp_path / "yolo", tmp_path / "coco", "--to", "coco")
    assert r.returncode == 0, r.stderr
    assert f"read yolo data set {tmp_path / 'yolo'}: {len(truth)} images, {n_boxes} boxes, 4 classes" in r.stdout
    assert f"wrote coco data set {tmp_path / 'coco'}: {len(truth)} images, {n_boxes} boxes, 4 classes" in r.stdout
    r = cli("convert", tmp_path / "coco", tmp_path / "voc", "--to", "voc", "--link", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["read"]["format"] == "coco" and doc["wrote"]["boxes"] == n_boxes and doc["skipped"] == []
    assert (tmp_path / "voc" / "JPEGImages" / "img0.jpg").is_symlink()
    r = cli("convert", tmp_path / "voc", "-o", tmp_path / "back", "--to", "yolo", "--from", "voc")  # DST as -o
    assert r.returncode == 0, r.stderr
    r = cli("convert", tmp_path / "voc", tmp_path / "x", "-o", tmp_path / "y", "--to", "yolo")
    assert r.returncode == 2 and "given twice" in r.stderr and not (tmp_path / "x").exists()
    back = datasets.load(tmp_path / "back")
    assert back.classes == CLASSES and sorted(back.splits) == ["train", "val"] and back.num_boxes == n_boxes
    for s in back:
        exp = truth[s.path.name][2]
        assert s.detections.labels.tolist() == [b[0] for b in exp]
        np.testing.assert_allclose(s.detections.xyxy, np.array([b[1:] for b in exp]).reshape(-1, 4), atol=0.5 + 1e-3)


def test_convert_skips_and_lists_bad_items_or_stops_with_strict(tmp_path):
    make_yolo(tmp_path / "yolo", n=3)
    label = tmp_path / "yolo" / "labels" / "train" / "img0.txt"
    label.write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n")
    r = cli("convert", tmp_path / "yolo", tmp_path / "out", "--to", "coco")
    assert r.returncode == 1
    assert f"skipped: {label}:2: class index 7 is outside the 4 names of data.yaml" in r.stderr
    assert f"skipped: {label}:3: 4 fields; expected 5" in r.stderr
    assert "2 malformed items skipped" in r.stderr
    assert (tmp_path / "out" / "annotations" / "instances_train.json").is_file()  # the rest is written
    r = cli("convert", tmp_path / "yolo", tmp_path / "out2", "--to", "coco", "--strict")
    assert r.returncode == 1 and f"error: {label}:2: class index 7" in r.stderr
    assert not (tmp_path / "out2").exists()
    # Usage errors: exit 2, a line naming what is wrong, no traceback.
    r = cli("convert", tmp_path / "yolo", tmp_path / "out", "--to", "coco")
    assert r.returncode == 2 and "is not empty" in r.stderr and "Traceback" not in r.stderr
    r = cli("convert", tmp_path / "yolo", tmp_path / "out3", "--to", "darknet")
    assert r.returncode == 2 and "invalid choice: 'darknet'" in r.stderr
    r = cli("convert", tmp_path / "nope", tmp_path / "out4", "--to", "voc")
    assert r.returncode == 2 and "does not exist" in r.stderr


# ------------------------------------------------------------------------------------------ evaluate
@pytest.fixture(scope="module")
def coco_subset(tmp_path_factory):
    """40 COCO128 images in the YOLO layout (made with cvtools' own convert), and the same as COCO."""
    if not (COCO128 / "instances.json").is_file():
        pytest.skip("../shared/data/object_detection/coco128_train2017 absent")
    root = tmp_path_factory.mktemp("coco128")
    datasets.load(COCO128)[:40].save(root / "src", format="coco", link=True)
    r = cli("convert", root / "src", root / "yolo", "--to", "yolo", "--link")
    assert r.returncode == 0, r.stderr
    r = cli("convert", root / "yolo", root / "coco", "--to", "coco", "--link")
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.slow
def test_evaluate_objects_on_yolo_coco_subset_equals_pycocotools(coco_subset, tmp_path):
    pytest.importorskip("pycocotools")
    pytest.importorskip("matplotlib")
    from cvtools.detect import detectors

    if "objects" not in {d.name for d in detectors() if d.available}:
        pytest.skip("the `objects` detector cannot run here (cvtools detect --list says why)")
    preds, plot = tmp_path / "preds.json", tmp_path / "pr.png"
    r = cli("evaluate", coco_subset / "yolo", "--detector", "objects", "-O", "threshold=0.01", "--json",
            "--save-predictions", preds, "--plot", plot, "--workers", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [k for k in doc if k in STATS] == STATS and all(isinstance(doc[k], float) for k in STATS)
    assert doc["images"] == 40 and doc["unmatched"]["dataset"] == [] and doc["unmatched"]["detector"] == []
    # The same numbers from pycocotools, on the ground truth `convert --to coco` wrote.
    ref = pycocotools_stats(coco_subset / "coco" / "annotations" / "instances_train.json", preds)
    np.testing.assert_allclose([doc[k] for k in STATS], ref, rtol=0, atol=1e-9)
    assert doc["AP50"] > 0.3  # YOLOX-nano on images it was trained on: a working decoder scores well
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Straight from the COCO file (crowd regions, segmentation areas, COCO's own image and category ids).
    r = cli("evaluate", coco_subset / "src", "-d", "objects", "-O", "threshold=0.01", "--json",
            "-o", preds, "--workers", "0")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    ref = pycocotools_stats(coco_subset / "src" / "annotations" / "instances.json", preds)
    np.testing.assert_allclose([doc[k] for k in STATS], ref, rtol=0, atol=1e-9)
    # Text mode: the summary table and one row per class with boxes; --classes restricts.
    r = cli("evaluate", coco_subset / "yolo", "-d", "objects", "--classes", "person,dog", "--workers", "0")
    assert r.returncode == 0, r.stderr
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] =" in r.stdout
    rows = [ln.split()[0] for ln in r.stdout.splitlines()[14:] if ln.strip()]
    assert rows == ["person", "dog"]
    r = cli("evaluate", coco_subset / "yolo", "-d", "objects", "--classes", "unicorn")
    assert r.returncode == 2 and "--classes ['unicorn'] are not classes of the data set" in r.stderr
    r = cli("evaluate", coco_subset / "yolo", "-d", "objects", "-o", "threshold=0.01")  # options are -O now
    assert r.returncode == 2 and "-O KEY=VALUE" in r.stderr


def test_evaluate_matches_class_names_and_lists_the_rest(coco_subset):
    r = cli("evaluate", coco_subset / "yolo", "-d", "person", "--json", "--workers", "0")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["classes"] == ["person"] and len(doc["unmatched"]["dataset"]) == 79
    assert "data set classes 'person' does not detect (left out): bicycle, car" in r.stderr
    r = cli("evaluate", coco_subset / "yolo", "-d", "qr")
    assert r.returncode == 2 and "no class of the data set" in r.stderr


@pytest.mark.skipif(not (FACES / "boxes.csv").is_file(), reason="../shared/data/face_detection/dlib_pascal_faces absent")
def test_evaluate_face_set_gives_the_same_numbers(tmp_path):
    pytest.importorskip("pycocotools")
    # dlib's PASCAL faces as a COCO file; its 'ignore' boxes become crowd regions (COCOeval ignores those).
    with (FACES / "boxes.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    files = sorted({r["file"] for r in rows})
    images, anns = [], []
    for i, name in enumerate(files, 1):
        h, w = datasets.image_size(FACES / name)
        images.append({"id": i, "file_name": name, "width": w, "height": h})
        for r in (r for r in rows if r["file"] == name):
            x, y, bw, bh = (float(r[k]) for k in ("x", "y", "w", "h"))
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "bbox": [x, y, bw, bh],
                         "area": bw * bh, "iscrowd": int(r["ignore"])})
    gt = tmp_path / "faces.json"
    gt.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "face"}]}))
    preds = tmp_path / "p.json"
    r = cli("evaluate", gt, "--images", FACES, "-d", "face", "--json", "--save-predictions", preds, "--workers", "0")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    np.testing.assert_allclose([doc[k] for k in STATS], pycocotools_stats(gt, preds), rtol=0, atol=1e-9)
    assert doc["classes"] == ["face"] and doc["AP50"] > 0.5
