"""cvtools.datasets: COCO / YOLO / VOC / class folders in and out, round trips, bad input named by file
and line, and the Detections converters (COCO dicts, YOLO rows, VOC objects, supervision).

References are independent of the code under test: expected pixel boxes are computed here from the
numbers written into the label files, written files are parsed back with json / ElementTree / plain
text, and the COCO reader is compared with pycocotools' COCO API on coco128.
"""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import cvtools
from cvtools import datasets
from cvtools.datasets import Dataset, DatasetError, Sample
from cvtools.detect import Detections

COCO128 = Path(__file__).resolve().parents[2] / "shared" / "data" / "object_detection" / "coco128_train2017"
CLASSES = ["person", "traffic light", "dog", "unused"]  # a name with a space; a class with no box


def make_yolo(root: Path, *, seed=0, n=6):
    """A small YOLO set: train/val splits, PNG and JPEG, varied sizes, one image without a label file.

    Returns ``{file name: (split, (H, W), [(class name, x1, y1, x2, y2), ...])}``, the boxes in pixels
    computed here from the normalised numbers written to the files."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(n):
        split = "train" if i < n - 2 else "val"
        h, w = int(rng.integers(40, 120)), int(rng.integers(50, 160))
        name = f"img{i}.{'png' if i % 2 else 'jpg'}"
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        cvtools.write(root / "images" / split / name, rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        boxes, lines = [], []
        if i != 1:  # img1 has no label file: an image without boxes
            for _ in range(int(rng.integers(0, 5))):
                c = int(rng.integers(0, 3))
                bw, bh = rng.uniform(0.05, 0.5, 2)
                cx, cy = rng.uniform(bw / 2, 1 - bw / 2), rng.uniform(bh / 2, 1 - bh / 2)
                lines.append(f"{c} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
                cx, cy, bw, bh = (float(f"{v:.6f}") for v in (cx, cy, bw, bh))
                boxes.append((CLASSES[c], (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
            (root / "labels" / split / (Path(name).stem + ".txt")).write_text("\n".join(lines) + "\n")
        truth[name] = (split, (h, w), boxes)
    (root / "data.yaml").write_text("path: /somewhere/else\ntrain: images/train\nval: images/val\n"
                                    "names:\n" + "".join(f"  {i}: {c}\n" for i, c in enumerate(CLASSES)))
    return truth


def by_name(ds):
    return {s.path.name: s for s in ds}


def assert_boxes(sample, expected, atol):
    det = sample.detections
    assert det.labels.tolist() == [b[0] for b in expected]
    np.testing.assert_allclose(det.xyxy, np.array([b[1:] for b in expected], np.float64).reshape(-1, 4),
                               atol=atol, rtol=0)


# ------------------------------------------------------------------------------------------ round trips
def test_yolo_to_coco_to_voc_to_yolo_round_trip(tmp_path):
    truth = make_yolo(tmp_path / "yolo")
    ds = datasets.load(tmp_path / "yolo")
    assert ds.format == "yolo" and ds.classes == CLASSES and ds.splits == ["train", "val"]
    assert len(ds) == len(truth)
    for name, s in by_name(ds).items():
        split, size, boxes = truth[name]
        assert s.split == split and s.size == size
        assert_boxes(s, boxes, 1e-3)

    # YOLO -> COCO: the JSON itself, parsed with json, holds the boxes within 1e-3 px.
    summary = ds.save(tmp_path / "coco", format="coco")
    assert (summary.images, summary.boxes, summary.classes) == (len(truth), sum(len(t[2]) for t in truth.values()), 4)
    for split in ("train", "val"):
        doc = json.loads((tmp_path / "coco" / "annotations" / f"instances_{split}.json").read_text())
        assert [c["name"] for c in sorted(doc["categories"], key=lambda c: c["id"])] == CLASSES
        names = {c["id"]: c["name"] for c in doc["categories"]}
        for im in doc["images"]:
            assert truth[im["file_name"]][0] == split
            assert (im["height"], im["width"]) == truth[im["file_name"]][1]
            assert (tmp_path / "coco" / "images" / split / im["file_name"]).is_file()
            got = [(names[a["category_id"]], a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                    a["bbox"][1] + a["bbox"][3]) for a in doc["annotations"] if a["image_id"] == im["id"]]
            exp = truth[im["file_name"]][2]
            assert [g[0] for g in got] == [e[0] for e in exp]
            if exp:
                np.testing.assert_allclose([g[1:] for g in got], [e[1:] for e in exp], atol=1e-3, rtol=0)
    coco = datasets.load(tmp_path / "coco")
    assert coco.format == "coco" and coco.classes == CLASSES and sorted(coco.splits) == ["train", "val"]
    for name, s in by_name(coco).items():
        assert_boxes(s, truth[name][2], 1e-3)

    # COCO -> VOC: whole pixels, 1-based (xmin = round(x1) + 1, xmax = round(x2)): within 0.5 px.
    coco.save(tmp_path / "voc", format="voc")
    for name, (split, (h, w), boxes) in truth.items():
        root = ET.parse(tmp_path / "voc" / "Annotations" / (Path(name).stem + ".xml")).getroot()
        assert root.findtext("filename") == name
        assert (int(root.findtext("size/height")), int(root.findtext("size/width"))) == (h, w)
        objs = root.findall("object")
        assert [o.findtext("name") for o in objs] == [b[0] for b in boxes]
        for o, b in zip(objs, boxes):
            xmin, ymin, xmax, ymax = (int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
            assert abs((xmin - 1) - b[1]) <= 0.5 + 1e-3 and abs((ymin - 1) - b[2]) <= 0.5 + 1e-3
            assert abs(xmax - b[3]) <= 0.5 + 1e-3 and abs(ymax - b[4]) <= 0.5 + 1e-3
    assert (tmp_path / "voc" / "classes.txt").read_text().splitlines() == CLASSES
    assert sorted((tmp_path / "voc" / "ImageSets" / "Main").iterdir()) == [
        tmp_path / "voc" / "ImageSets" / "Main" / "train.txt", tmp_path / "voc" / "ImageSets" / "Main" / "val.txt"]
    voc = datasets.load(tmp_path / "voc")
    assert voc.format == "voc" and voc.classes == CLASSES and voc.splits == ["train", "val"]
    for name, s in by_name(voc).items():
        assert_boxes(s, truth[name][2], 0.5 + 1e-3)
        assert s.split == truth[name][0]

    # VOC -> YOLO: the VOC boxes again, within 1e-3 px; every label and the class order kept.
    voc.save(tmp_path / "yolo2", format="yolo")
    back = datasets.load(tmp_path / "yolo2")
    assert back.classes == CLASSES and back.splits == ["train", "val"]
    vocs = by_name(voc)
    for name, s in by_name(back).items():
        ref = vocs[name].detections
        assert_boxes(s, [(lab, *b) for lab, b in zip(ref.labels, ref.xyxy.astype(np.float64))], 1e-3)
        assert s.split == truth[name][0]
        h, w = truth[name][1]
        for line in (tmp_path / "yolo2" / "labels" / s.split / (Path(name).stem + ".txt")).read_text().splitlines():
            fields = line.split()
            assert len(fields) == 5 and 0 <= int(fields[0]) < 3 and all(0 <= float(v) <= 1 for v in fields[1:])


def test_coco_round_trip_keeps_ids_crowd_and_area(tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    cvtools.write(src / "images" / "a.png", np.zeros((50, 80, 3), np.uint8))
    cvtools.write(src / "images" / "b.png", np.zeros((60, 40), np.uint8))
    doc = {"images": [{"id": 42, "file_name": "a.png", "width": 80, "height": 50},
                      {"id": 7, "file_name": "b.png", "width": 40, "height": 60}],
           "annotations": [
               {"id": 1, "image_id": 42, "category_id": 18, "bbox": [1.25, 2.5, 30.125, 20], "area": 400.5, "iscrowd": 0},
               {"id": 2, "image_id": 42, "category_id": 90, "bbox": [40, 10, 39, 39], "area": 1200.0, "iscrowd": 1},
               {"id": 3, "image_id": 7, "category_id": 18, "bbox": [0, 0, 40, 60], "area": 2400.0, "iscrowd": 0}],
           "categories": [{"id": 90, "name": "toothbrush"}, {"id": 18, "name": "dog"}]}
    (src / "instances.json").write_text(json.dumps(doc))
    ds = datasets.load(src / "instances.json")
    assert ds.classes == ["dog", "toothbrush"]  # in id order
    assert ds.coco_categories() == {"dog": 18, "toothbrush": 90}
    a = ds[0].detections
    assert ds[0].image_id == 42 and ds[0].size == (50, 80)
    assert a.data["iscrowd"].tolist() == [False, True] and a.data["area"].tolist() == [400.5, 1200.0]
    np.testing.assert_allclose(a.xyxy[0], [1.25, 2.5, 31.375, 22.5])
    ds.save(tmp_path / "out", format="coco")
    out = json.loads((tmp_path / "out" / "annotations" / "instances.json").read_text())
    assert [im["id"] for im in out["images"]] == [42, 7]
    assert sorted((c["id"], c["name"]) for c in out["categories"]) == [(18, "dog"), (90, "toothbrush")]
    assert [(x["image_id"], x["category_id"], x["bbox"], x["area"], x["iscrowd"]) for x in out["annotations"]] == [
        (42, 18, [1.25, 2.5, 30.125, 20.0], 400.5, 0), (42, 90, [40.0, 10.0, 39.0, 39.0], 1200.0, 1),
        (7, 18, [0.0, 0.0, 40.0, 60.0], 2400.0, 0)]
    # Formats without a crowd flag say what they did with the crowd box.
    s = ds.save(tmp_path / "y", format="yolo")
    assert s.boxes == 2 and any("1 crowd boxes not written" in n for n in s.notes)
    s = ds.save(tmp_path / "v", format="voc")
    assert s.boxes == 3 and any("crowd boxes written as difficult" in n for n in s.notes)
    v = datasets.load(tmp_path / "v")
    assert v[0].detections.data["difficult"].tolist() == [False, True]


@pytest.mark.skipif(not (COCO128 / "instances.json").is_file(), reason="../shared/data coco128_train2017 absent")
@pytest.mark.reference("pycocotools")
def test_coco128_reader_matches_pycocotools_and_converts(tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        ref = coco_api.COCO(str(COCO128 / "instances.json"))
    ds = datasets.load(COCO128)
    assert ds.format == "coco" and len(ds) == len(ref.getImgIds()) == 128
    assert ds.classes == [c["name"] for c in ref.loadCats(sorted(ref.getCatIds()))]
    for s in ds:
        anns = ref.loadAnns(ref.getAnnIds(imgIds=[s.image_id]))
        info = ref.loadImgs([s.image_id])[0]
        assert s.path.name == info["file_name"] and s.size == (info["height"], info["width"])
        assert s.detections.labels.tolist() == [ref.loadCats([a["category_id"]])[0]["name"] for a in anns]
        exp = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                        for a in anns]).reshape(-1, 4)
        np.testing.assert_allclose(s.detections.xyxy, exp, atol=1e-4)
        assert s.detections.data["iscrowd"].tolist() == [bool(a["iscrowd"]) for a in anns]
    # Linked, not copied: the YOLO folder holds symbolic links to the shared images.
    summary = ds.save(tmp_path / "yolo", format="yolo", link=True)
    assert summary.images == 128 and summary.boxes == 939 - 10  # the 10 crowd regions are left out
    img = tmp_path / "yolo" / "images" / ds[0].path.name
    assert img.is_symlink() and img.resolve() == ds[0].path.resolve()


# ------------------------------------------------------------------------------------------ reading
def test_sizes_come_from_headers_not_decoding(tmp_path, monkeypatch):
    from PIL import Image

    make_yolo(tmp_path / "y", n=3)
    # An EXIF-rotated JPEG: the size is the one cvtools.read returns (rotated).
    im = Image.new("RGB", (60, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    im.save(tmp_path / "y" / "images" / "train" / "rot.jpg", exif=exif)

    def no_decoding(*a, **k):
        raise AssertionError("pixels were decoded")

    with monkeypatch.context() as m:
        m.setattr(Image.Image, "load", no_decoding)
        m.setattr("cv2.imread", no_decoding)
        m.setattr("cv2.imdecode", no_decoding)
        ds = datasets.load(tmp_path / "y")
        rot = by_name(ds)["rot.jpg"]
        assert rot.size == (60, 30)
        folder = Dataset([Sample(rot.path)])
        assert folder[0].size == (60, 30)  # lazily, on first use
    assert rot.read().shape == (60, 30, 3)


def test_splits_and_formats_found_automatically(tmp_path):
    make_yolo(tmp_path / "y")
    assert datasets.detect_format(tmp_path / "y") == "yolo"
    assert datasets.detect_format(tmp_path / "y" / "data.yaml") == "yolo"
    val = datasets.load(tmp_path / "y", split="val")
    assert len(val) == 2 and val.splits == ["val"]
    with pytest.raises(DatasetError, match=r"no split 'test'; it names \['train', 'val'\]"):
        datasets.load(tmp_path / "y", split="test")
    ds = datasets.load(tmp_path / "y")
    ds.save(tmp_path / "c", format="coco")
    ds.save(tmp_path / "v", format="voc")
    assert datasets.detect_format(tmp_path / "c") == "coco"
    assert datasets.detect_format(tmp_path / "c" / "annotations" / "instances_val.json") == "coco"
    assert datasets.detect_format(tmp_path / "v") == "voc"
    assert len(datasets.load(tmp_path / "c", split="val")) == 2
    assert len(datasets.load(tmp_path / "v", split="val")) == 2
    assert len(ds.split("train")) == 4 and ds.counts()["unused"] == 0
    # A VOCdevkit folder with one year inside.
    (tmp_path / "VOCdevkit").mkdir()
    os.rename(tmp_path / "v", tmp_path / "VOCdevkit" / "VOC2012")
    assert datasets.detect_format(tmp_path / "VOCdevkit") == "voc"
    assert len(datasets.load(tmp_path / "VOCdevkit")) == len(ds)
    # YOLO without data.yaml: classes.txt names the classes.
    (tmp_path / "y" / "data.yaml").unlink()
    (tmp_path / "y" / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    again = datasets.load(tmp_path / "y")
    assert again.classes == CLASSES and sorted(again.splits) == ["train", "val"] and len(again) == len(ds)


def test_yolo_names_list_polygons_and_scores(tmp_path):
    root = tmp_path / "y"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    cvtools.write(root / "images" / "a.png", np.zeros((100, 200), np.uint8))
    (root / "labels" / "a.txt").write_text("0 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6\n1 0.5 0.5 0.2 0.2 0.75\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [a, b]\n")
    det = datasets.load(root)[0].detections
    np.testing.assert_allclose(det.xyxy, [[20, 20, 60, 60], [80, 40, 120, 60]], atol=1e-4)
    np.testing.assert_allclose(det.scores, [1.0, 0.75])


def test_folder_format_is_the_training_reader(tmp_path):
    from cvtools.recognize._data import load_folder

    for cls, n in (("cat", 2), ("dog", 3)):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for i in range(n):
            cvtools.write(tmp_path / "f" / cls / f"{i}.png", np.full((8, 8), i * 40, np.uint8))
    ds = datasets.load(tmp_path / "f")
    assert ds.format == "folder" and ds.classes == ["cat", "dog"] and len(ds) == 5
    assert [s.label for s in ds] == ["cat", "cat", "dog", "dog", "dog"] and ds.counts() == {"cat": 2, "dog": 3}
    paths, labels, classes = load_folder(tmp_path / "f")
    assert paths == ds.paths and labels.tolist() == [s.label for s in ds] and classes == ds.classes
    ds.save(tmp_path / "copy", format="folder")
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*.png")) == [
        "cat/0.png", "cat/1.png", "dog/0.png", "dog/1.png", "dog/2.png"]
    with pytest.raises(ValueError, match="classification data set .* no boxes to write as YOLO"):
        ds.save(tmp_path / "y", format="yolo")
    with pytest.raises(ValueError, match="needs each image's class"):
        Dataset([Sample(paths[0])]).save(tmp_path / "z", format="folder")


# ------------------------------------------------------------------------------------------ bad input
def _yolo_one(root: Path, label_text: str, names="[a, b]"):
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    cvtools.write(root / "images" / "train" / "a.png", np.zeros((100, 200), np.uint8))
    (root / "labels" / "train" / "a.txt").write_text(label_text)
    (root / "data.yaml").write_text(f"train: images/train\nval: images/train\nnames: {names}\n")
    return root / "labels" / "train" / "a.txt"


@pytest.mark.parametrize("text,line,message", [
    ("0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n", 2, "4 fields; expected 5"),
    ("0 0.5 0.5 0.2 0.2\n\n5 0.5 0.5 0.2 0.2\n", 3, "class index 5 is outside the 2 names of data.yaml"),
    ("1.5 0.5 0.5 0.2 0.2\n", 1, "class index 1.5"),
    ("0 0.5 0.5 x 0.2\n", 1, "not a number"),
    ("0 0.5 0.5 0.2 0.2\n0 0.95 0.5 0.3 0.2\n", 2, r"box \[160.00, 40.00, 220.00, 60.00\] is outside the 200x100 image"),
    ("0 0.5 0.5 -0.2 0.2\n", 1, "negative width or height"),
])
def test_yolo_bad_lines_name_file_and_line(tmp_path, text, line, message):
    label = _yolo_one(tmp_path / "y", text)
    with pytest.raises(DatasetError, match=f"{label}:{line}: .*{message}") as info:
        datasets.load(tmp_path / "y")
    assert info.value.path == str(label) and info.value.line == line
    assert isinstance(info.value, ValueError)
    # strict=False: the bad line is skipped and reported, the good ones kept.
    ds = datasets.load(tmp_path / "y", strict=False)
    assert len(ds) == 1 and len(ds.skipped) == 1
    assert ds.skipped[0].line == line and str(ds.skipped[0]).startswith(f"{label}:{line}: ")
    assert len(ds[0].detections) == text.count("\n") - 1 - (text.count("\n\n"))


def test_yolo_orphan_label_bad_yaml_and_names(tmp_path):
    _yolo_one(tmp_path / "y", "0 0.5 0.5 0.2 0.2\n")
    orphan = tmp_path / "y" / "labels" / "train" / "gone.txt"
    orphan.write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DatasetError, match=f"{orphan}: label file without an image"):
        datasets.load(tmp_path / "y")
    assert [p.path for p in datasets.load(tmp_path / "y", strict=False).skipped] == [str(orphan)]
    orphan.unlink()
    (tmp_path / "y" / "data.yaml").write_text("train: images/train\nnames: [a, b\nval: x\n")
    with pytest.raises(DatasetError, match=r"data.yaml:\d+: not valid YAML"):
        datasets.load(tmp_path / "y", strict=False)  # an unreadable data.yaml is fatal either way
    (tmp_path / "y" / "data.yaml").write_text("train: images/train\nnames:\n  0: a\n  2: b\n")
    with pytest.raises(DatasetError, match="data.yaml:2: 'names' must number the classes 0..1 without gaps"):
        datasets.load(tmp_path / "y")


def _coco_one(root: Path, annotations, images=None):
    (root / "images").mkdir(parents=True)
    cvtools.write(root / "images" / "a.png", np.zeros((50, 80), np.uint8))
    doc = {"images": images or [{"id": 1, "file_name": "a.png", "width": 80, "height": 50}],
           "annotations": annotations, "categories": [{"id": 3, "name": "car"}]}
    # One annotation per line, so the line numbers below are known.
    text = ('{\n"images": [\n' + ",\n".join(json.dumps(i) for i in doc["images"]) + '\n],\n"annotations": [\n'
            + ",\n".join(json.dumps(a) for a in annotations) + '\n],\n"categories": ' + json.dumps(doc["categories"])
            + "\n}\n")
    (root / "instances.json").write_text(text)
    return root / "instances.json", 3 + len(doc["images"]) + 2  # the line of the first annotation


@pytest.mark.parametrize("bad,message", [
    ({"id": 9, "image_id": 5, "category_id": 3, "bbox": [0, 0, 5, 5]}, "annotation 9 is for image_id 5, which is not in 'images'"),
    ({"id": 9, "image_id": 1, "category_id": 4, "bbox": [0, 0, 5, 5]}, r"annotation 9 has category_id 4, not one of the categories \[3\]"),
    ({"id": 9, "image_id": 1, "category_id": 3, "bbox": [0, 0, 5]}, r"annotation 9: 'bbox' must be \[x, y, width, height\]"),
    ({"id": 9, "image_id": 1, "category_id": 3, "bbox": [70, 0, 20, 5]}, "annotation 9: box .* is outside the 80x50 image"),
])
def test_coco_bad_annotations_name_file_and_line(tmp_path, bad, message):
    good = {"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5]}
    path, first = _coco_one(tmp_path / "c", [good, good | {"id": 2}, bad])
    with pytest.raises(DatasetError, match=f"{path}:{first + 2}: {message}"):
        datasets.load(tmp_path / "c")
    ds = datasets.load(tmp_path / "c", strict=False)
    assert len(ds[0].detections) == 2 and [p.line for p in ds.skipped] == [first + 2]


def test_coco_missing_image_file_and_broken_json(tmp_path):
    path, _ = _coco_one(tmp_path / "c", [{"id": 1, "image_id": 2, "category_id": 3, "bbox": [1, 1, 5, 5]}],
                        images=[{"id": 1, "file_name": "a.png", "width": 80, "height": 50},
                                {"id": 2, "file_name": "missing.png", "width": 80, "height": 50}])
    with pytest.raises(DatasetError, match=rf"{path}:4: image file .*missing.png' \(id 2\) does not exist"):
        datasets.load(path)
    ds = datasets.load(path, strict=False)
    assert len(ds) == 1 and len(ds.skipped) == 1  # the missing image's box goes with it, said once
    path.write_text('{\n"images": [\n{"id": 1,\n "file_name": "a.png"}\n],\n"annotations": [ , ]\n}\n')
    with pytest.raises(DatasetError, match=f"{path}:6: not valid JSON"):
        datasets.load(path, strict=False)
    with pytest.raises(DatasetError, match="cannot find the images folder"):
        path.write_text(json.dumps({"images": [{"id": 1, "file_name": "zzz.png"}], "annotations": [],
                                    "categories": []}))
        datasets.load(path)


def test_voc_bad_xml_and_objects_name_file_and_line(tmp_path):
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    cvtools.write(root / "JPEGImages" / "a.jpg", np.zeros((50, 80, 3), np.uint8))
    cvtools.write(root / "JPEGImages" / "b.jpg", np.zeros((50, 80, 3), np.uint8))
    (root / "Annotations" / "a.xml").write_text(
        "<annotation>\n<filename>a.jpg</filename>\n<size><width>80</width><height>50</height></size>\n"
        "<object><name>cat</name><difficult>1</difficult>\n<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax>"
        "<ymax>10</ymax></bndbox></object>\n"
        "<object><name>cat</name>\n<bndbox><xmin>1</xmin><ymin>1</ymin></bndbox></object>\n</annotation>\n")
    (root / "Annotations" / "b.xml").write_text("<annotation>\n<filename>b.jpg</filename>\n<object>\n</annotation>\n")
    with pytest.raises(DatasetError, match=f"{root / 'Annotations' / 'a.xml'}:6: object 1: needs <name> and a <bndbox>"):
        datasets.load(root)
    ds = datasets.load(root, strict=False)
    assert [(Path(p.path).name, p.line) for p in ds.skipped] == [("a.xml", 6), ("b.xml", 4)]
    assert "malformed XML" in ds.skipped[1].message
    det = ds[0].detections
    assert det.xyxy.tolist() == [[0, 0, 10, 10]] and det.data["difficult"].tolist() == [True]


# ------------------------------------------------------------------------------------------ writing
def test_save_is_atomic_refuses_clobbering_and_name_clashes(tmp_path):
    make_yolo(tmp_path / "y", n=3)
    ds = datasets.load(tmp_path / "y")
    ds.save(tmp_path / "out", format="coco")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
    assert all(not p.is_symlink() for p in (tmp_path / "out" / "images").rglob("*.*"))
    with pytest.raises(FileExistsError, match="is not empty"):
        ds.save(tmp_path / "out", format="coco")
    ds.save(tmp_path / "out", format="coco", overwrite=True)
    (tmp_path / "other").mkdir()
    twin = tmp_path / "other" / ds[0].path.name
    twin.write_bytes(ds[0].path.read_bytes())
    clash = Dataset(list(ds) + [ds[0].replace(path=twin)], classes=ds.classes)
    with pytest.raises(ValueError, match="two images would share the file name"):
        clash.save(tmp_path / "clash", format="coco")
    png = twin.with_name(Path(twin.name).stem + ".png")
    cvtools.write(png, np.zeros((4, 4), np.uint8))
    clash = Dataset([ds[0], ds[0].replace(path=png)], classes=ds.classes)
    with pytest.raises(ValueError, match="share the file name stem"):
        clash.save(tmp_path / "clash2", format="voc")


def test_dataset_checks_and_indexing(tmp_path):
    det = Detections([[0, 0, 5, 5]], labels=["cat"])
    with pytest.raises(ValueError, match=r"labels \['cat'\] are not in `classes`"):
        Dataset([Sample("a.png", det, size=(9, 9))], classes=["dog"])
    with pytest.raises(TypeError, match="must be a cvtools.datasets.Sample"):
        Dataset(["a.png"])
    with pytest.raises(TypeError, match="`detections` must be cvtools.Detections"):
        Sample("a.png", [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="must be positive"):
        Sample("a.png", size=(0, 4))
    with pytest.raises(ValueError, match="unknown format 'darknet'"):
        datasets.load(tmp_path, "darknet")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.load(tmp_path / "nope", "coco")
    with pytest.raises(DatasetError, match="not a data set cvtools knows"):
        datasets.load(tmp_path)
    ds = Dataset([Sample(f"{i}.png", det, size=(9, 9), split="a" if i < 2 else "b") for i in range(4)])
    assert ds.classes == ["cat"] and len(ds[1:]) == 3 and len(ds[[0, 3]]) == 2
    assert len(ds[np.array([True, False, True, False])]) == 2 and ds.num_boxes == 4
    assert ds.splits == ["a", "b"] and repr(ds).startswith("Dataset(format=None, images=4, boxes=4")
    assert ds.image_ids() == [1, 2, 3, 4] and ds.coco_categories() == {"cat": 1}
    other = ds.with_detections([Detections.empty()] * 4)
    assert other.num_boxes == 0 and ds.num_boxes == 4


# ------------------------------------------------------------------------------------------ Detections
def test_detections_coco_yolo_voc_rows():
    det = Detections([[10, 20, 40, 60], [0, 0, 200, 100]], scores=[0.5, 0.25], labels=["cat", "dog"],
                     data={"iscrowd": [False, True], "difficult": [True, False]})
    cats = [{"id": 17, "name": "cat"}, {"id": 18, "name": "dog"}]
    res = det.to_coco(3, cats)
    assert res == [{"image_id": 3, "category_id": 17, "bbox": [10.0, 20.0, 30.0, 40.0], "score": 0.5},
                   {"image_id": 3, "category_id": 18, "bbox": [0.0, 0.0, 200.0, 100.0], "score": 0.25}]
    ann = det.to_coco(3, {"cat": 17, "dog": 18}, annotations=True)
    assert [(a["area"], a["iscrowd"]) for a in ann] == [(1200.0, 0), (20000.0, 1)]
    back = Detections.from_coco(ann + [{"image_id": 4, "category_id": 17, "bbox": [0, 0, 1, 1]}], cats, image_id=3)
    np.testing.assert_array_equal(back.xyxy, det.xyxy)
    assert back.data["iscrowd"].tolist() == [False, True] and back.labels.tolist() == ["cat", "dog"]
    with pytest.raises(ValueError, match=r"labels \['dog'\] have no COCO category"):
        det.to_coco(1, ["cat"])
    with pytest.raises(ValueError, match="category_id 99 is not in `categories`"):
        Detections.from_coco([{"bbox": [0, 0, 1, 1], "category_id": 99}], cats)

    rows = det.to_yolo((100, 200), ["cat", "dog"])
    assert rows == ["0 0.125 0.4 0.15 0.4", "1 0.5 0.5 1 1"]
    assert det.to_yolo((100, 200), ["cat", "dog"], scores=True)[1] == "1 0.5 0.5 1 1 0.25"
    np.testing.assert_allclose(Detections.from_yolo(rows, (100, 200), ["cat", "dog"]).xyxy, det.xyxy)
    arr = Detections.from_yolo(np.array([[1, 0.5, 0.5, 1, 1, 0.3]]), (10, 10), ["cat", "dog"])
    assert arr.labels.tolist() == ["dog"] and arr.scores.tolist() == pytest.approx([0.3])
    with pytest.raises(ValueError, match="row 0: class 2 is not an index"):
        Detections.from_yolo(["2 0.5 0.5 0.1 0.1"], (10, 10), ["cat", "dog"])
    with pytest.raises(ValueError, match="need 5 fields"):
        Detections.from_yolo(["0 0.5 0.5 0.1"], (10, 10), ["cat"])
    with pytest.raises(ValueError, match=r"labels \['dog'\] are not in `classes`"):
        det.to_yolo((10, 10), ["cat"])

    voc = Detections([[0.4, 1.6, 10.49, 20.5]], labels=["cat"], data={"difficult": [True]}).to_voc()
    assert voc == [{"name": "cat", "xmin": 1, "ymin": 3, "xmax": 10, "ymax": 21, "difficult": 1}]
    back = Detections.from_voc(voc)
    assert back.xyxy.tolist() == [[0, 2, 10, 21]] and back.data["difficult"].tolist() == [True]


@pytest.mark.extra("supervision")
def test_supervision_round_trip_and_annotators():
    sv = pytest.importorskip("supervision")
    image = np.zeros((60, 80, 3), np.uint8)
    det = Detections([[5, 5, 30, 40], [40, 10, 70, 50]], scores=[0.9, 0.6], labels=["cat", "dog"],
                     identities=["tom", None], texts=[None, "hi"], landmarks=np.ones((2, 5, 2)),
                     data={"tracker_id": [7, 8], "extra": [1.5, 2.5]})
    s = det.to_supervision(class_names=["dog", "cat"])
    assert isinstance(s, sv.Detections)
    np.testing.assert_array_equal(s.xyxy, det.xyxy)
    np.testing.assert_array_equal(s.confidence, det.scores)
    assert s.class_id.tolist() == [1, 0] and s.tracker_id.tolist() == [7, 8]
    assert s.data["class_name"].tolist() == ["cat", "dog"]
    # supervision's own tools accept it: annotators draw, filtering and merging work.
    boxed = sv.BoxAnnotator().annotate(image.copy(), s)
    labelled = sv.LabelAnnotator().annotate(boxed.copy(), s)
    assert boxed.any() and (labelled != boxed).any()
    assert len(s[s.confidence > 0.7]) == 1 and len(sv.Detections.merge([s, s])) == 4
    back = Detections.from_supervision(s)
    np.testing.assert_array_equal(back.xyxy, det.xyxy)
    np.testing.assert_array_equal(back.scores, det.scores)
    assert back.labels.tolist() == ["cat", "dog"] and back.identities.tolist() == ["tom", None]
    assert back.texts.tolist() == [None, "hi"] and back.landmarks.shape == (2, 5, 2)
    assert back.data["tracker_id"].tolist() == [7, 8] and back.data["extra"].tolist() == [1.5, 2.5]
    assert back.data["class_id"].tolist() == [1, 0]
    again = back.to_supervision()  # class ids kept from supervision
    assert again.class_id.tolist() == [1, 0] and again.tracker_id.tolist() == [7, 8]
    # From a plain supervision result (a model's class ids and names, a mask).
    raw = sv.Detections(xyxy=np.array([[1, 2, 3, 4]], np.float32), class_id=np.array([2]),
                        mask=np.ones((1, 6, 6), bool))
    d = Detections.from_supervision(raw, class_names={2: "car"})
    assert d.labels.tolist() == ["car"] and d.scores.tolist() == [1.0] and d.data["mask"].shape == (1, 6, 6)
    assert d.to_supervision().mask.shape == (1, 6, 6)
    assert Detections.from_supervision(raw).labels.tolist() == ["2"]
    with pytest.raises(ValueError, match="class_id 2 is not in `class_names`"):
        Detections.from_supervision(raw, class_names=["a"])
    with pytest.raises(TypeError, match="must be a supervision.Detections"):
        Detections.from_supervision(det.xyxy)
    with pytest.raises(ValueError, match=r"labels \['dog'\] are not in `class_names`"):
        det.to_supervision(class_names=["cat"])
    empty = Detections.empty().to_supervision()
    assert len(empty) == 0 and sv.BoxAnnotator().annotate(image.copy(), empty).shape == image.shape


def test_import_cvtools_datasets_stays_light():
    import subprocess
    import sys

    code = ("import sys, cvtools.datasets, cvtools.metrics; "
            "print([m for m in ('supervision', 'torch', 'yaml', 'matplotlib', 'pycocotools') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_voc_to_coco_to_voc_keeps_whole_pixels_and_difficult(tmp_path):
    make_yolo(tmp_path / "y", n=4)
    src = datasets.load(tmp_path / "y")
    # A VOC set with a difficult box: VOC -> COCO -> VOC must give the same XML numbers and flags.
    first = src[0]
    assert len(first.detections) > 0
    flags = np.zeros(len(first.detections), bool)
    flags[:1] = True
    marked = Dataset([first.replace(detections=first.detections.with_fields(data={"difficult": flags}))] + list(src[1:]),
                     classes=src.classes)
    marked.save(tmp_path / "voc", format="voc")
    s = datasets.load(tmp_path / "voc").save(tmp_path / "coco", format="coco")
    assert any("1 boxes marked difficult" in n for n in s.notes)
    datasets.load(tmp_path / "coco").save(tmp_path / "voc2", format="voc")

    def objects(folder):
        out = {}
        for xml in sorted((folder / "Annotations").glob("*.xml")):
            out[xml.name] = [(o.findtext("name"), o.findtext("difficult"),
                              [o.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")])
                             for o in ET.parse(xml).getroot().findall("object")]
        return out

    assert objects(tmp_path / "voc") == objects(tmp_path / "voc2")
    assert objects(tmp_path / "voc")["img0.xml"][0][1] == "1"
