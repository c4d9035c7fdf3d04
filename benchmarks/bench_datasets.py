"""cvtools.metrics.coco_eval beside pycocotools, and data-set reading / conversion times.

Run from the repository root:

    .venv/bin/python benchmarks/bench_datasets.py            # 5 repeats
    .venv/bin/python benchmarks/bench_datasets.py --quick    # 2 repeats

* coco_eval: COCO128's ground truth (../shared/data; crowd regions and segmentation areas as in the file)
  against seeded synthetic predictions (each box jittered and kept with probability 0.8, plus 20 random
  boxes per image, uniform scores), also with the images repeated 4 times; ``coco_eval`` and
  pycocotools' ``COCO.loadRes`` + ``COCOeval`` evaluate / accumulate / summarize, side by side in one
  process, medians; the largest difference of the 12 summary numbers.
* convert: COCO128 read from its JSON, written as YOLO (images linked), read back, written as COCO and VOC.

When ../shared/data is absent, a synthetic set of 128 images stands in for COCO128 in the first part.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cvtools import datasets, metrics  # noqa: E402
from cvtools.detect import Detections  # noqa: E402

COCO128 = ROOT.parent / "shared" / "data" / "object_detection" / "coco128_train2017"
KEYS = list(metrics.COCO_STATS)


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def synthetic_predictions(gts, classes, seed=0):
    rng = np.random.default_rng(seed)
    preds = []
    for g in gts:
        keep = rng.uniform(size=len(g)) < 0.8
        b = g.xyxy[keep].astype(np.float64)
        wh = np.maximum(b[:, 2:] - b[:, :2], 1.0)
        b = b + rng.normal(0, 0.05, b.shape) * np.tile(wh, 2)
        b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1)
        xy = rng.uniform(0, 500, (20, 2))
        fp = np.hstack([xy, xy + rng.uniform(5, 200, (20, 2))])
        labels = list(g.labels[keep]) + [classes[int(i)] for i in rng.integers(0, len(classes), 20)]
        boxes = np.vstack([b, fp])
        preds.append(Detections(boxes, scores=rng.uniform(0.01, 1, len(boxes)), labels=labels))
    return preds


def coco_json(ds, preds, folder: Path):
    """The ground truth and the predictions as COCO files, as pycocotools reads them."""
    cats, ids = ds.coco_categories(), ds.image_ids()
    images, anns = [], []
    for s, i in zip(ds, ids):
        h, w = s.size
        images.append({"id": i, "file_name": s.path.name, "width": w, "height": h})
        for a in s.detections.to_coco(i, cats, annotations=True):
            anns.append({"id": len(anns) + 1, **a})
    gt = folder / "gt.json"
    gt.write_text(json.dumps({"images": images, "annotations": anns,
                              "categories": [{"id": v, "name": k} for k, v in cats.items()]}))
    dt = folder / "dt.json"
    dt.write_text(json.dumps([r for p, i in zip(preds, ids) for r in p.to_coco(i, cats)]))
    return gt, dt


def pycocotools_eval(gt, dt):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt))
        ev = COCOeval(coco, coco.loadRes(str(dt)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def ground_truth():
    if (COCO128 / "instances.json").is_file():
        return datasets.load(COCO128), "COCO128 (128 images)"
    rng = np.random.default_rng(1)
    classes = [f"c{i}" for i in range(10)]
    samples = []
    for i in range(128):
        k = int(rng.integers(1, 12))
        xy = rng.uniform(0, 400, (k, 2))
        det = Detections(np.hstack([xy, xy + rng.uniform(4, 200, (k, 2))]),
                         labels=[classes[int(j)] for j in rng.integers(0, 10, k)],
                         data={"iscrowd": rng.uniform(size=k) < 0.05})
        samples.append(datasets.Sample(f"synthetic/{i}.png", det, size=(640, 640)))
    return datasets.Dataset(samples, classes=classes), "synthetic (128 images; ../shared/data absent)"


def bench_coco_eval(repeats):
    ds, name = ground_truth()
    print(f"## coco_eval vs pycocotools — {name}\n")
    print("| case | predictions | cvtools coco_eval | pycocotools | ratio | max abs difference (12 numbers) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for copies in (1, 4):
        ids = ds.image_ids()
        samples = [ds[i].replace(image_id=k * 10_000_000 + ids[i]) for k in range(copies) for i in range(len(ds))]
        big = datasets.Dataset(samples, classes=ds.classes, category_ids=ds.category_ids)
        preds = synthetic_predictions(big.detections, big.classes)
        with tempfile.TemporaryDirectory() as tmp:
            gt, dt = coco_json(big, preds, Path(tmp))
            t_ours, ours = median_time(lambda: metrics.coco_eval(big, preds), repeats)
            t_ref, ref = median_time(lambda: pycocotools_eval(gt, dt), repeats)
        diff = float(np.max(np.abs(np.array([ours[k] for k in KEYS]) - ref)))
        print(f"| {len(big)} images | {sum(len(p) for p in preds)} | {t_ours:.2f} s | {t_ref:.2f} s | "
              f"{t_ours / t_ref:.2f}x | {diff:.1e} |")
    print()


def bench_convert(repeats):
    if not (COCO128 / "instances.json").is_file():
        print("## conversions: skipped (../shared/data/object_detection/coco128_train2017 absent)\n")
        return
    print("## reading and writing COCO128 (128 images, 939 boxes; images linked)\n")
    print("| step | median |")
    print("| --- | ---: |")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t, ds = median_time(lambda: datasets.load(COCO128), repeats)
        rows.append(("load COCO JSON", t))
        n = iter(range(1000))
        t, _ = median_time(lambda: ds.save(tmp / f"yolo{next(n)}", format="yolo", link=True), repeats)
        rows.append(("save YOLO", t))
        t, y = median_time(lambda: datasets.load(tmp / "yolo0"), repeats)
        rows.append(("load YOLO (image headers read for the sizes)", t))
        t, _ = median_time(lambda: y.save(tmp / f"coco{next(n)}", format="coco", link=True), repeats)
        rows.append(("save COCO", t))
        t, _ = median_time(lambda: y.save(tmp / f"voc{next(n)}", format="voc", link=True), repeats)
        rows.append(("save VOC (image headers read for the depth)", t))
    for name, t in rows:
        print(f"| {name} | {t * 1000:.0f} ms |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    args = ap.parse_args()
    repeats = 2 if args.quick else 5
    bench_coco_eval(repeats)
    bench_convert(repeats)


if __name__ == "__main__":
    main()
