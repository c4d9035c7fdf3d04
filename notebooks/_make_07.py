"""Generate notebooks/07_datasets_and_evaluation.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_07.py
"""
from _nb import code, md, save


md(r"""
# 07 · Labelled data sets and how to score a detector on one

A detector is only as good as the number that judges it, and that number needs labelled images. Labelled
sets come in a few formats that every tool reads differently. This notebook

1. **makes a small YOLO data set** by hand (Ultralytics layout: `data.yaml`, `images/`, `labels/`);
2. **loads** it with `cvtools.datasets.load` and looks at what a `Dataset` holds;
3. **converts** it to COCO and Pascal VOC and back, and checks that no box moved;
4. shows what happens with **bad labels** (an error naming the file and line, or `strict=False`);
5. **scores a detector** with `cvtools.metrics.coco_eval` — the 12 numbers pycocotools prints, explained;
6. draws the **precision-recall curves** behind those numbers;
7. hands the results to **supervision** (if installed) and draws them with its annotators.

The same from a shell: `cvtools convert SRC DST --to coco` and `cvtools evaluate DATASET --detector objects`.
Everything here runs offline on pictures bundled with scikit-image.
""")

code(r"""
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import cvtools
from cvtools import datasets, metrics, viz
from cvtools.detect import Detections

SMALL = os.environ.get("CVTOOLS_NOTEBOOK_TEST") == "1"
WORK = Path(tempfile.mkdtemp(prefix="cvtools-nb07-"))
print("working in", WORK)


def show(images, titles, cols=3, size=4.0):
    rows = (len(images) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * 0.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles):
        ax.imshow(img, cmap="gray")
        ax.set_title(title, fontsize=9)
    plt.tight_layout()
    plt.show()
""")

md(r"""
## 1. A YOLO data set, made by hand

Five photographs, with boxes drawn by a person (in pixels, `x1, y1, x2, y2`), using COCO's class names.
To give the detector harder cases, a second split `val` holds 3×3 **collages** of them, shrunk, some mirrored,
some noisy: the boxes follow with `Detections.scale`, `offset` and a flip.

YOLO stores each box as one line `class cx cy w h`: the class **index** into `names`, then the box centre
and size **divided by the image's width and height**. A `data.yaml` names the classes and the split folders;
`labels/` mirrors `images/`. An image without a label file simply has no boxes.
""")

code(r"""
def rgb(image):
    return np.dstack([image] * 3) if image.ndim == 2 else image


photos = {
    "astronaut": (data.astronaut(), [("person", 20, 15, 370, 512)]),
    "camera": (rgb(data.camera()), [("person", 0, 65, 300, 512)]),
    "chelsea": (data.chelsea(), [("cat", 0, 0, 451, 300)]),
    "coffee": (data.coffee(), [("cup", 170, 15, 420, 300), ("spoon", 325, 65, 425, 325),
                               ("dining table", 0, 0, 600, 400)]),
    "motorcycle": (data.stereo_motorcycle()[0], [("motorcycle", 95, 90, 712, 450)]),
}
photos = {k: (img, Detections([b[1:] for b in boxes], labels=[b[0] for b in boxes])) for k, (img, boxes) in photos.items()}
names = ["person", "cat", "cup", "spoon", "dining table", "motorcycle", "bicycle"]  # bicycle: no box anywhere


def collage(keys, rng, grid=3, cell=160):
    # A grid of photos, each shrunk to fit a cell, maybe mirrored, some with noise; the boxes follow.
    canvas = np.full((grid * cell, grid * cell, 3), 114, np.uint8)
    parts = []
    for i, key in enumerate(keys):
        img, det = photos[key]
        if rng.uniform() < 0.5:
            img = img[:, ::-1]
            x = det.xyxy
            det = det.with_fields(xyxy=np.column_stack([img.shape[1] - x[:, 2], x[:, 1], img.shape[1] - x[:, 0], x[:, 3]]))
        f = cell / max(img.shape[:2]) * rng.uniform(0.6, 1.0)
        small = cvtools.transform.resize(np.ascontiguousarray(img), scale=f)
        if rng.uniform() < 0.4:
            small = cvtools.filtering.add_noise(small, "gaussian", amount=0.12, seed=int(rng.integers(1 << 30)))
        y0, x0 = (i // grid) * cell, (i % grid) * cell
        canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        parts.append(det.scale(f).offset(x0, y0))
    return canvas, Detections.merge(parts)


rng = np.random.default_rng(7)
items = [("train", k, img, det) for k, (img, det) in photos.items()]
for i in range(2 if SMALL else 6):
    keys = rng.choice(list(photos), 9, replace=True)
    items.append(("val", f"collage{i}", *collage(keys, rng)))

root = WORK / "yolo"
for split, stem, img, det in items:
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    h, w = img.shape[:2]
    cvtools.write(root / "images" / split / f"{stem}.jpg", np.ascontiguousarray(img))
    lines = [f"{names.index(c)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
             for c, (x1, y1, x2, y2) in zip(det.labels, det.xyxy.astype(float))]
    (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")
(root / "data.yaml").write_text("train: images/train\nval: images/val\nnames:\n" +
                                "".join(f"  {i}: {n}\n" for i, n in enumerate(names)))
print((root / "data.yaml").read_text())
print("labels/train/coffee.txt:\n" + (root / "labels" / "train" / "coffee.txt").read_text())
""")

md(r"""
## 2. Loading it: a `Dataset` of `Sample`s

`datasets.load` finds the format from the path (here the `data.yaml`). A `Dataset` is a sequence of samples;
each sample has its image `path`, its boxes as a `cvtools.Detections` **in pixels** with the class names as
`labels`, and its `size` — read from the file's header, not by decoding the picture (that happens only in
`sample.read()`).
""")

code(r"""
ds = datasets.load(root)
print(ds)
print("classes:", ds.classes)
print("boxes per class:", ds.counts())
s = ds[3]
print(s, "size (H, W) =", s.size)
print(s.detections.labels.tolist())
print(s.detections.xyxy.round(1))
picked = list(ds[[0, 3, 4]]) + list(ds.split("val")[:3])
show([viz.draw_detections(x.read(), x.detections) for x in picked], [f"{x.split}: {x.path.name}" for x in picked])
""")

md(r"""
## 3. Converting: YOLO → COCO → VOC → YOLO

The three formats store the same boxes three ways:

| format | box | class | extra |
| --- | --- | --- | --- |
| YOLO | centre and size, divided by width/height | index into `names` | optional score |
| COCO | `[x, y, width, height]` in pixels (floats) | `category_id` (ids may have gaps) | `iscrowd`, `area` |
| Pascal VOC | whole pixels, **1-based**, corners included | name | `difficult` |

`Dataset.save(path, format=...)` writes any of them, copying (or with `link=True` linking) the images.
VOC counts pixels from 1 and includes the last one, so cvtools reads `xmin - 1` as the left edge and
writes `round(x1) + 1`: going through VOC moves a box by at most half a pixel.
""")

code(r"""
print(ds.save(WORK / "coco", format="coco"))
coco = datasets.load(WORK / "coco")
print(coco)
doc = json.loads((WORK / "coco" / "annotations" / "instances_train.json").read_text())
print("a COCO annotation:", doc["annotations"][0])
print(coco.save(WORK / "voc", format="voc"))
print((WORK / "voc" / "Annotations" / "coffee.xml").read_text()[:400], "...")
voc = datasets.load(WORK / "voc")
voc.save(WORK / "yolo-again", format="yolo")
back = datasets.load(WORK / "yolo-again")


def worst(a, b):
    pairs = {x.path.name: x for x in b}
    return max((np.abs(x.detections.xyxy - pairs[x.path.name].detections.xyxy).max() for x in a if len(x.detections)),
               default=0.0)


print(f"YOLO -> COCO: boxes moved by at most {worst(ds, coco):.5f} px")
print(f"COCO -> VOC:  at most {worst(coco, voc):.3f} px (VOC keeps whole pixels)")
print(f"VOC -> YOLO:  at most {worst(voc, back):.5f} px; classes kept in order: {back.classes == ds.classes}")
""")

md(r"""
## 4. Bad labels are named, never dropped silently

A label line with the wrong number of fields, a class index outside `names`, a box outside the image, an
annotation for an image that does not exist, broken XML or JSON: each raises `DatasetError` (a `ValueError`)
naming the **file and line**. With `strict=False` the bad line is skipped and listed in `ds.skipped`.
""")

code(r"""
bad = root / "labels" / "train" / "chelsea.txt"
good_text = bad.read_text()
bad.write_text(good_text + "9 0.5 0.5 0.2 0.2\n0 0.5 0.5\n")
try:
    datasets.load(root)
except datasets.DatasetError as err:
    print("DatasetError:", err)
lenient = datasets.load(root, strict=False)
for problem in lenient.skipped:
    print("skipped:", problem)
bad.write_text(good_text)
""")

md(r"""
## 5. Scoring a detector: COCO's twelve numbers

Run the `objects` detector (YOLOX-nano, COCO's 80 classes) on every image and compare with the labels.
`metrics.coco_eval(ground_truth, predictions)` computes what pycocotools' `COCOeval.summarize()` prints —
equal to it within 1e-9 (the test suite checks this on random cases with crowd boxes):

* a prediction is a **true positive** when it overlaps an unmatched labelled box of its class with IoU ≥ t;
  predictions are taken in order of score, each box matches once (a *crowd* region may absorb many);
* **AP** is the area under the precision-recall curve (101 recall points), averaged over classes and over
  t = 0.50, 0.55, …, 0.95; **AP50** and **AP75** use one threshold;
* **APs / APm / APl** only count boxes smaller than 32², between 32² and 96², larger than 96² pixels;
* **AR1 / AR10 / AR100** is the recall with at most 1, 10, 100 predictions per image.

A class with no labelled box (here `bicycle`) has no AP (-1) and is left out of the means.
""")

code(r"""
detector = cvtools.detect.get("objects", threshold=0.01)  # keep weak detections too: the whole curve
predictions = [detector.detect(x.read()) for x in ds]
result = metrics.coco_eval(ds, predictions)
print(result.table())
""")

md(r"""
`result` is a mapping of the 12 numbers (`result["AP50"]`, `dict(result)`), with the details alongside:
`result.per_class`, `result.precision` (COCOeval's `eval["precision"]` array) and `result.pr_curve(class)`.
On a larger set the command line does the same in parallel and can save everything:

```
cvtools evaluate my-set/ --detector objects -O threshold=0.01 --json --plot pr.png -o preds.json
```
""")

md(r"""
## 6. The precision-recall curves behind the numbers

For each class, predictions are ranked by score; after each one, precision (how many of those kept are right)
and recall (how many labelled boxes are found) are computed. COCO makes precision non-increasing and reads it
at 101 recall levels; AP is the mean of those readings. A curve that stops early means boxes never found
(the precision beyond is 0).
""")

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for c, v in result.per_class.items():
    if v["gt"]:
        rec, prec = result.pr_curve(c, iou=0.5)
        viz.plot_pr(precision=prec, recall=rec, ap=v["AP50"], label=c, ax=axes[0])
axes[0].set_title("per class, IoU 0.5")
for iou in (0.5, 0.75, 0.9):
    t = int(np.argmin(np.abs(result.iou_thresholds - iou)))
    p = result.precision[t, :, :, 0, -1]
    curve = np.where(p > -1, p, np.nan)
    axes[1].plot(result.recall_thresholds, np.nanmean(curve, axis=1), label=f"mean over classes, IoU {iou}")
axes[1].set_xlabel("recall"); axes[1].set_ylabel("precision"); axes[1].set_ylim(0, 1.02)
axes[1].set_title("a stricter IoU asks for tighter boxes"); axes[1].legend(loc="lower left")
plt.tight_layout()
plt.show()
""")

md(r"""
## 7. Handing results to supervision

[supervision](https://github.com/roboflow/supervision) has annotators, trackers and zone counters that work
on its own `sv.Detections`. `Detections.to_supervision()` converts (scores → `confidence`, labels →
`class_id` and `data["class_name"]`); `Detections.from_supervision()` converts back. supervision is optional
(`pip install "cvtools[supervision]"`).
""")

code(r"""
try:
    import warnings

    with warnings.catch_warnings():  # supervision's import may warn about Jupyter widgets
        warnings.simplefilter("ignore")
        import supervision as sv
except ImportError:
    sv = None
    print("supervision is not installed: pip install \"cvtools[supervision]\"")
if sv is not None:
    i = len(ds) - 1  # a collage
    image = ds[i].read()
    found = predictions[i][predictions[i].scores > 0.3]
    sv_det = found.to_supervision()  # class_names=[...] fixes the class ids (and colours) across images
    print(sv_det.class_id, sv_det.data["class_name"])
    drawn = sv.BoxAnnotator().annotate(image.copy(), sv_det)
    drawn = sv.LabelAnnotator().annotate(drawn, sv_det)
    back = Detections.from_supervision(sv_det)
    print("round trip keeps the boxes:", np.array_equal(back.xyxy, found.xyxy), back.labels.tolist())
    show([drawn], ["drawn by supervision's annotators"], cols=1, size=6)
""")

md(r"""
## Summary

* `cvtools.datasets.load` reads COCO, YOLO, VOC and class folders into one `Dataset`; `Dataset.save` writes
  any of them; `cvtools convert` does the same from a shell.
* Boxes survive the trip (VOC rounds to whole pixels); bad labels are named by file and line.
* `cvtools.metrics.coco_eval` gives pycocotools' numbers, per-class AP and PR curves; `cvtools evaluate`
  runs a detector over a set and prints them.
* `Detections.to_supervision()` / `to_coco()` / `to_yolo()` / `to_voc()` hand results to other tools.
""")

save("07_datasets_and_evaluation.ipynb")
