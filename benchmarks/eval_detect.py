"""Evaluate cvtools.detect on standard data in ../shared/data and time the detectors.

Run from the repository root:

    .venv/bin/python benchmarks/eval_detect.py            # everything (the dlib CNN rows take ~30 min)
    .venv/bin/python benchmarks/eval_detect.py --quick    # fewer timing repeats, no dlib CNN
    .venv/bin/python benchmarks/eval_detect.py --only wider coco speed

Prints markdown tables (and writes them to benchmarks/results/eval_detect.md). Sections whose data
are absent are skipped with a note. Everything runs on one thread (``cv2.setNumThreads(1)``,
onnxruntime with one intra-op thread), so times are per core.

* wider: 323 WIDER FACE val images, scored with ../shared/tools/wider_eval.py (the official protocol):
  AP easy / medium / hard, recall at <= 1 false positive per image and ms per image for every face
  detector, each run at a low threshold (the whole PR curve), beside a raw ``cv2.FaceDetectorYN`` run of
  the same YuNet-n file (score 0.02, NMS 0.45, top 5000, image at its own size) in the same loop.
* coco: COCO128 (the first 128 train2017 images): mAP@0.5 and AP@[.5:.95] of ``objects`` and of an
  independent raw YOLOX-nano run (onnxruntime, 416 letterbox padded 114, score = objectness x class
  probability >= 0.01, class-wise NMS at IoU 0.65 by ``cv2.dnn.NMSBoxesBatched``), person AP@0.5 of
  ``person`` and ``person-hog``; scored by ``cvtools.metrics.coco_eval`` and by pycocotools.
* faces: dlib's PASCAL faces (43 tight boxes; a detection matches at IoU >= 0.3) + dogs.jpg
  (no human face): recall, false positives at the default threshold, AP from a low-threshold run.
* faces_other: ORL portraits (one face each): how often exactly one face is found.
* codes: zxing-cpp's sample folders: exact decoded text per folder, nothing on falsepositives-1.
* aruco: OpenCV contrib tutorial images: IDs exact and corners within 1 px.
* speed: frames/s on a 640x480 photo with default options, one thread: CPU time and wall time, medians
  of interleaved rounds.

The functions of the wider and coco sections are imported by tests/test_eval_detect.py, which runs
them on a few images.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cvtools  # noqa: E402
from cvtools.detect import Detections  # noqa: E402
from cvtools.detect._codes import decode_bytes  # noqa: E402
from cvtools.metrics import coco_eval, detection_ap, match_detections  # noqa: E402

SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
TOOLS = SHARED / "tools"
FACE_DIR = DATA / "face_detection" / "dlib_pascal_faces"
DOGS = DATA / "face_detection" / "negatives_no_human_face" / "dogs.jpg"
WIDER = DATA / "face_detection" / "wider_face_val_subset"
COCO = DATA / "object_detection" / "coco128_train2017"
CODES = DATA / "codes"
OUT = ROOT / "benchmarks" / "results"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def one_thread() -> None:
    """Every timing here is for one core: OpenCV's own thread pool off."""
    import cv2

    cv2.setNumThreads(1)


# ------------------------------------------------------------------------------------------- WIDER FACE
#: (row name, detector name, options): every face detector at the lowest sensible threshold, so that the
#: protocol sees the whole PR curve. Thresholds are scores in [0, 1] for all of them; Haar's 0 keeps every
#: face its cascade accepts, dlib's 0.01 is an SVM margin of -2.3.
WIDER_DETECTORS = (
    ("face", "face", {"threshold": 0.02}),
    ("face-accurate", "face-accurate", {"threshold": 0.02}),
    ('face, model="s" (YuNet-s)', "face", {"threshold": 0.02, "model": "s"}),
    ("face-haar", "face-haar", {"threshold": 0.0}),
    ("face-dlib-hog", "face-dlib-hog", {"threshold": 0.01}),
)
RAW_ROW = "raw cv2.FaceDetectorYN, YuNet-n (reference)"


def wider_evaluate():
    """The official protocol's ``evaluate`` from ../shared/tools/wider_eval.py."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from wider_eval import evaluate

    return evaluate


def wider_annotations(root: Path = WIDER) -> dict:
    """``{file: {"boxes_xywh", "easy", "medium", "hard"}}`` of the subset."""
    return json.loads((root / "annotations.json").read_text())


class RawYuNet:
    """The reference: ``cv2.FaceDetectorYN`` on a BGR image at its own size, nothing else around it."""

    def __init__(self, model: str = "yunet_n_640_640.onnx", *, score: float = 0.02, nms: float = 0.45,
                 top_k: int = 5000):
        import cv2

        self.net = cv2.FaceDetectorYN.create(cvtools.detect.model_path(model), "", (320, 320), score, nms, top_k)

    def __call__(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = bgr.shape[:2]
        self.net.setInputSize((w, h))
        _, faces = self.net.detect(bgr)
        if faces is None:
            return np.zeros((0, 4)), np.zeros(0)
        faces = np.asarray(faces, np.float64)
        return np.c_[faces[:, :2], faces[:, :2] + faces[:, 2:4]], faces[:, 14]


def wider_run(files, runners: dict, *, root: Path = WIDER, only: dict | None = None) -> dict:
    """Run every runner on every image, interleaved per image (so load changes hit them all alike).

    ``runners`` maps a row name to ``("rgb", detector)`` (a cvtools detector, given the RGB image) or
    ``("bgr", callable)`` (given ``cv2.imread``'s BGR image, returning ``(xyxy, scores)``); ``only``
    optionally maps a row name to the set of files it runs on. Reading is not timed.
    Returns ``{row: {"predictions": {file: {"xyxy", "scores"}}, "cpu": {file: s}, "wall": {file: s}}}``.
    """
    import cv2

    out = {name: {"predictions": {}, "cpu": {}, "wall": {}} for name in runners}
    for f in files:
        bgr = cv2.imread(str(root / "images" / f), cv2.IMREAD_COLOR)
        rgb = cvtools.read(root / "images" / f)
        for name, (kind, fn) in runners.items():
            if only and name in only and f not in only[name]:
                continue
            c, w = time.process_time(), time.perf_counter()
            if kind == "rgb":
                det = fn.detect(rgb)
                xyxy, scores = det.xyxy, det.scores
            else:
                xyxy, scores = fn(bgr)
            out[name]["cpu"][f] = time.process_time() - c
            out[name]["wall"][f] = time.perf_counter() - w
            out[name]["predictions"][f] = {"xyxy": np.asarray(xyxy, np.float64).reshape(-1, 4).tolist(),
                                           "scores": np.asarray(scores, np.float64).tolist()}
    return out


def wider_score(predictions: dict, annotations: dict, files=None) -> dict:
    """The protocol's numbers on ``files`` (default: every annotated image)."""
    files = sorted(annotations) if files is None else sorted(files)
    return wider_evaluate()({f: predictions[f] for f in files}, {f: annotations[f] for f in files})


def _wider_rows(runs: dict, annotations: dict, files, thresholds: dict) -> tuple[list, dict]:
    rows, scores = [], {}
    for name, run in runs.items():
        if not all(f in run["predictions"] for f in files):
            continue
        r = scores[name] = wider_score(run["predictions"], annotations, files)
        cpu = np.mean([run["cpu"][f] for f in files])
        wall = np.mean([run["wall"][f] for f in files])
        rows.append([name, thresholds.get(name, "")]
                    + [f"{r[k]['ap']:.3f}" for k in ("easy", "medium", "hard")]
                    + [f"{r[k]['recall_at_1fppi']:.3f}" for k in ("easy", "medium", "hard")]
                    + [f"{1000 * cpu:.0f}", f"{1000 * wall:.0f}"])
    return rows, scores


def eval_wider(args):
    if not (WIDER / "annotations.json").is_file() or not (TOOLS / "wider_eval.py").is_file():
        return "wider: skipped (../shared/data/face_detection/wider_face_val_subset or ../shared/tools absent)\n"
    annotations = wider_annotations()
    files = sorted(annotations)[: args.limit] if args.limit else sorted(annotations)
    runners = {RAW_ROW: ("bgr", RawYuNet())}
    thresholds = {RAW_ROW: "score 0.02"}
    for row, name, opts in WIDER_DETECTORS:
        runners[row] = ("rgb", cvtools.detect.get(name, **opts))
        thresholds[row] = opts["threshold"]
    only = {}
    cnn_files = files[:: args.cnn_every]
    if not args.quick:
        runners["face-dlib-cnn"] = ("rgb", cvtools.detect.get("face-dlib-cnn", threshold=0.01))
        thresholds["face-dlib-cnn"] = 0.01
        only["face-dlib-cnn"] = set(cnn_files)
    # Warm-up outside the timing (first-call allocations; dlib's CNN, at ~20 s a call, is left out).
    import cv2

    warm = cv2.imread(str(WIDER / "images" / files[0]))
    for name, (kind, fn) in runners.items():
        if name != "face-dlib-cnn":
            fn.detect(warm[:, :, ::-1].copy()) if kind == "rgb" else fn(warm)
    t0 = time.perf_counter()
    runs = wider_run(files, runners, only=only)
    secs = time.perf_counter() - t0
    header = ["detector", "threshold", "AP easy", "AP medium", "AP hard", "recall easy", "recall medium",
              "recall hard", "ms/image (CPU)", "ms/image (wall)"]
    main = {k: v for k, v in runs.items() if k != "face-dlib-cnn"}
    rows, scores = _wider_rows(main, annotations, files, thresholds)
    raw, face, acc = scores[RAW_ROW], scores.get("face"), scores.get("face-accurate")
    n_faces = {k: raw[k]["faces"] for k in ("easy", "medium", "hard")}
    out = [f"### Faces: WIDER FACE val subset ({len(files)} images; faces easy / medium / hard: "
           f"{n_faces['easy']} / {n_faces['medium']} / {n_faces['hard']}), official protocol\n",
           "AP: VOC all-point AP at IoU >= 0.5, per setting; recall: at <= 1 false positive per image; "
           "ms/image: the mean over the images of the detector call alone (no reading), one thread.\n",
           table(header, rows), ""]
    targets = []
    diffs = [face[k]["ap"] - raw[k]["ap"] for k in ("easy", "medium", "hard")]
    targets.append(["`face` within 0.005 AP of the raw run, easy / medium / hard",
                    " / ".join(f"{d:+.4f}" for d in diffs), met(all(abs(d) <= 0.005 for d in diffs))])
    dh = acc["hard"]["ap"] - raw["hard"]["ap"]
    targets.append(["`face-accurate` hard >= raw + 0.02",
                    f"{acc['hard']['ap']:.3f} vs {raw['hard']['ap']:.3f} ({dh:+.3f})", met(dh >= 0.02 - 1e-12)])
    de = [acc[k]["ap"] - raw[k]["ap"] for k in ("easy", "medium")]
    targets.append(["`face-accurate` easy / medium not below raw", " / ".join(f"{d:+.3f}" for d in de),
                    met(all(d >= 0 for d in de))])
    out += ["Targets (measured side by side in this run):\n", table(["target", "measured", ""], targets), ""]
    if "face-dlib-cnn" in runs:
        sub = sorted(only["face-dlib-cnn"])
        sub_rows, _ = _wider_rows(runs, annotations, sub, thresholds)
        out += [f"dlib's CNN needs ~20 s of CPU per WIDER image here, so it runs on 1 of every {args.cnn_every} images "
                f"({len(sub)} images); every detector on those same images:\n", table(header, sub_rows), ""]
    out.append(f"(WIDER section: {secs / 60:.1f} min)")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------- COCO
def coco_load(root: Path = COCO, limit: int | None = None):
    """``(doc, images, ground_truth, classes)``: the COCO JSON, its image records sorted by id (the first
    ``limit``), one ground-truth :class:`Detections` per image (``data["iscrowd"]``, ``data["area"]``) and
    the class names in category-id order."""
    doc = json.loads((root / "instances.json").read_text())
    cats = sorted(doc["categories"], key=lambda c: c["id"])
    names = {c["id"]: c["name"] for c in cats}
    images = sorted(doc["images"], key=lambda im: im["id"])[:limit]
    by_image = collections.defaultdict(list)
    for a in doc["annotations"]:
        by_image[a["image_id"]].append(a)
    gts = []
    for im in images:
        anns = by_image[im["id"]]
        xywh = np.array([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
        gts.append(Detections(np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]],
                              labels=[names[a["category_id"]] for a in anns] if anns else None,
                              data={"iscrowd": np.array([bool(a.get("iscrowd", 0)) for a in anns], bool),
                                    "area": np.array([a["area"] for a in anns], np.float64)}))
    return doc, images, gts, [c["name"] for c in cats]


class RawYolox:
    """The reference: YOLOX-nano run as YOLOX's own COCO evaluation does, written independently of
    cvtools.detect (onnxruntime; ``cv2.dnn.NMSBoxesBatched`` for the class-wise NMS).

    416x416 letterbox (resized to fit, top-left, padded with 114), BGR 0-255 in; boxes decoded from the
    three grids (strides 8, 16, 32); each box's class is its most probable one and its score objectness x
    that probability (YOLOX's ``postprocess``); score >= ``score``; NMS per class at IoU ``nms``.
    """

    def __init__(self, *, score: float = 0.01, nms: float = 0.65, threads: int = 1, names=None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(cvtools.detect.model_path("yolox_nano.onnx"), sess_options=opts,
                                         providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name
        self.score, self.nms, self.names = score, nms, names
        grids, strides = [], []
        for s in (8, 16, 32):
            n = 416 // s
            xv, yv = np.meshgrid(np.arange(n), np.arange(n))
            grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
            strides.append(np.full((n * n, 1), s))
        self.grids = np.concatenate(grids).astype(np.float64)
        self.strides = np.concatenate(strides).astype(np.float64)

    def __call__(self, bgr: np.ndarray) -> Detections:
        import cv2

        h, w = bgr.shape[:2]
        r = min(416 / h, 416 / w)
        padded = np.full((416, 416, 3), 114, np.uint8)
        padded[: int(h * r), : int(w * r)] = cv2.resize(bgr, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
        x = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        out = self.sess.run(None, {self.input: x})[0][0].astype(np.float64)
        cls = out[:, 5:].argmax(1)
        score = out[:, 4] * out[np.arange(len(out)), 5 + cls]
        keep = score >= self.score
        out, cls, score = out[keep], cls[keep], score[keep]
        xy = (out[:, :2] + self.grids[keep]) * self.strides[keep]
        wh = np.exp(out[:, 2:4]) * self.strides[keep]
        xywh = np.c_[xy - wh / 2, wh] / r
        if len(xywh) == 0:
            return Detections.empty()
        idx = np.asarray(cv2.dnn.NMSBoxesBatched(xywh.tolist(), score.tolist(), cls.tolist(), self.score,
                                                 self.nms), int).reshape(-1)
        names = self.names or cvtools.detect.COCO_CLASSES
        return Detections(np.c_[xywh[idx, :2], xywh[idx, :2] + xywh[idx, 2:]], scores=score[idx],
                          labels=[names[c] for c in cls[idx]])


def coco_predict(images, runners: dict, *, root: Path = COCO) -> dict:
    """``{row: {"predictions": [Detections per image], "cpu": [s], "wall": [s]}}``, interleaved per image.

    ``runners`` as in :func:`wider_run`, but a ``"bgr"`` callable returns :class:`Detections`.
    """
    import cv2

    out = {name: {"predictions": [], "cpu": [], "wall": []} for name in runners}
    for im in images:
        path = root / "images" / im["file_name"]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        rgb = cvtools.read(path)
        for name, (kind, fn) in runners.items():
            c, w = time.process_time(), time.perf_counter()
            det = fn.detect(rgb) if kind == "rgb" else fn(bgr)
            out[name]["cpu"].append(time.process_time() - c)
            out[name]["wall"].append(time.perf_counter() - w)
            out[name]["predictions"].append(det)
    return out


def pycoco_eval(doc: dict, images, predictions, *, classes=None) -> dict:
    """pycocotools' 12 numbers (``COCOeval.stats``) for ``predictions`` on ``images`` (optionally only
    ``classes``), keyed as :data:`cvtools.metrics.COCO_STATS`."""
    from pycocotools.coco import COCO as PyCOCO
    from pycocotools.cocoeval import COCOeval

    from cvtools.metrics import COCO_STATS

    ids = {c["name"]: c["id"] for c in doc["categories"]}
    results = [{"image_id": im["id"], "category_id": ids[str(lab)], "bbox": [float(v) for v in box],
                "score": float(s)}
               for im, det in zip(images, predictions) for box, s, lab in zip(det.xywh, det.scores, det.labels)]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = PyCOCO()
        gt.dataset = doc
        gt.createIndex()
        if results:
            dt = gt.loadRes(results)
        else:
            dt = PyCOCO()
            dt.dataset = {"images": doc["images"], "categories": doc["categories"], "annotations": []}
            dt.createIndex()
        ev = COCOeval(gt, dt, "bbox")
        ev.params.imgIds = [im["id"] for im in images]
        if classes is not None:
            ev.params.catIds = [ids[c] for c in classes]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(zip(COCO_STATS, (float(v) for v in ev.stats)))


def eval_coco(args):
    if not (COCO / "instances.json").is_file():
        return "coco: skipped (../shared/data/object_detection/coco128_train2017 absent)\n"
    doc, images, gts, classes = coco_load(limit=args.limit or None)
    runners = {"objects": ("rgb", cvtools.detect.get("objects", threshold=0.01, threads=1))}
    try:
        runners["raw YOLOX-nano, onnxruntime (reference)"] = ("bgr", RawYolox(threads=1, names=classes))
    except ImportError:
        pass  # onnxruntime absent: no reference row (the table says so)
    runners['objects, backend="opencv" (cv2.dnn)'] = ("rgb", cvtools.detect.get("objects", threshold=0.01,
                                                                              backend="opencv"))
    runners["person"] = ("rgb", cvtools.detect.get("person", threshold=0.01, threads=1))
    runners["person-hog"] = ("rgb", cvtools.detect.get("person-hog", threshold=0.01))
    t0 = time.perf_counter()
    runs = coco_predict(images, runners)
    secs = time.perf_counter() - t0
    rows, numbers, worst = [], {}, 0.0
    for name, run in runs.items():
        preds = run["predictions"]
        person_ours = coco_eval(gts, preds, classes=["person"])["AP50"]
        person_ref = pycoco_eval(doc, images, preds, classes=["person"])["AP50"]
        diffs = [abs(person_ours - person_ref)]
        cells = []
        if name.startswith("person"):
            cells = ["—"] * 4
        else:
            ours = coco_eval(gts, preds, classes=classes)
            ref = pycoco_eval(doc, images, preds)
            diffs += [abs(ours[k] - ref[k]) for k in ours]
            numbers[name] = ours
            cells = [f"{ours['AP50']:.3f}", f"{ref['AP50']:.3f}", f"{ours['AP']:.3f}", f"{ref['AP']:.3f}"]
        numbers.setdefault("person AP50", {})[name] = person_ours
        worst = max(worst, *diffs)
        rows.append([name, 0.01] + cells + [f"{person_ours:.3f}", f"{person_ref:.3f}", f"{max(diffs):.1e}",
                                            f"{1000 * np.mean(run['cpu']):.0f}", f"{1000 * np.mean(run['wall']):.0f}"])
    out = [f"### Objects: COCO128 ({len(images)} train2017 images, "
           f"{sum(len(g) for g in gts)} boxes, {len({l for g in gts for l in g.labels})} classes)\n",
           "Scored by `cvtools.metrics.coco_eval` (cvtools) and pycocotools' `COCOeval` (pycoco); 'largest "
           "difference' is over all 12 COCO numbers and person AP@0.5. COCO's detectors were trained on "
           "train2017, so these images check decoding and metrics, not accuracy on unseen photographs.\n",
           table(["detector", "threshold", "mAP@0.5 cvtools", "mAP@0.5 pycoco", "AP@[.5:.95] cvtools",
                  "AP@[.5:.95] pycoco", "person AP@0.5 cvtools", "person AP@0.5 pycoco",
                  "largest difference", "ms/image (CPU)", "ms/image (wall)"], rows), ""]
    raw_name = "raw YOLOX-nano, onnxruntime (reference)"
    targets = []
    if raw_name in numbers:
        d = numbers["objects"]["AP50"] - numbers[raw_name]["AP50"]
        targets.append(["`objects` mAP@0.5 within 0.01 of the raw run",
                        f"{numbers['objects']['AP50']:.3f} vs {numbers[raw_name]['AP50']:.3f} ({d:+.4f})",
                        met(abs(d) <= 0.01)])
    else:
        targets.append(["`objects` mAP@0.5 within 0.01 of the raw run", "no reference (onnxruntime absent)", "—"])
    p = numbers["person AP50"]["person"]
    targets.append(["`person` AP@0.5 >= 0.60", f"{p:.3f}", met(p >= 0.60)])
    targets.append(["cvtools' metrics equal pycocotools", f"largest difference {worst:.1e}", met(worst <= 1e-9)])
    out += ["Targets:\n", table(["target", "measured", ""], targets), "", f"(COCO section: {secs:.0f} s)"]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------- PASCAL faces
#: The default operating point and a low threshold for AP (scores in [0, 1] for every detector).
FACE_LOW = {"face": 0.02, "face-accurate": 0.02, "face-haar": 0.0, "face-dlib-hog": 0.01, "face-dlib-cnn": 0.01}


def eval_faces(args):
    if not (FACE_DIR / "boxes.csv").is_file():
        return "faces: skipped (../shared/data/face_detection absent)\n"
    gt = collections.defaultdict(list)
    ign = collections.defaultdict(list)
    with open(FACE_DIR / "boxes.csv", newline="") as fh:
        face_rows = list(csv.DictReader(fh))
    for r in face_rows:
        x, y, w, h = (float(r[k]) for k in "xywh")
        gt[r["file"]].append([x, y, x + w, y + h])
        ign[r["file"]].append(r["ignore"] not in ("0", ""))
    files = sorted(gt)
    images = {f: cvtools.read(FACE_DIR / f) for f in files}
    dogs = cvtools.read(DOGS) if DOGS.is_file() else None
    names = ["face", "face-accurate", "face-haar", "face-dlib-hog"] + ([] if args.quick else ["face-dlib-cnn"])
    rows = []
    for name in names:
        det_low = cvtools.detect.get(name, threshold=FACE_LOW[name])
        # dlib's MMOD network returns nothing below its own boundary (confidence 0 = score 0.5) whatever
        # the threshold, so its default operating point is the low run filtered: one slow run, not two.
        det = None if name == "face-dlib-cnn" else cvtools.detect.get(name)
        default_thr = cvtools.detect.get(name).threshold if det is None else det.threshold
        tp = fp = 0
        preds, gts = [], []
        cpu = 0.0
        for f in files:
            g = Detections(gt[f], labels="face", data={"ignore": np.asarray(ign[f])})
            c = time.process_time()
            low = det_low.detect(images[f])
            cpu += time.process_time() - c
            d = low[low.scores >= default_thr] if det is None else det.detect(images[f])
            m = match_detections(d, g, iou_threshold=0.3, gt_ignore=g.data["ignore"], rule="coco")
            tp += m.n_tp
            fp += m.n_fp
            preds.append(low)
            gts.append(g)
        n_gt = sum(len(v) - sum(ign[k]) for k, v in gt.items())
        if dogs is None:
            dog_fp = "n/a"
        else:
            on_dogs = det_low.detect(dogs)
            on_dogs = on_dogs[on_dogs.scores >= default_thr]
            dog_fp = f"{len(on_dogs)}" + (f" (scores {', '.join(f'{s:.2f}' for s in on_dogs.scores)})"
                                           if len(on_dogs) else "")
        ap = detection_ap(preds, gts, iou_threshold=0.3)["map"]
        rows.append([name, default_thr, f"{tp}/{n_gt}", f"{tp / n_gt:.3f}", fp, dog_fp, FACE_LOW[name], f"{ap:.3f}",
                     f"{1000 * cpu / len(files):.0f}"])
    return ("### Faces: dlib PASCAL faces (9 images, 43 boxes, IoU >= 0.3) and dogs.jpg\n\n"
            "Found / false positives / dogs at each detector's default threshold; AP (VOC all-point) from a run "
            "at the low threshold; ms/image: CPU time of the low-threshold run.\n\n"
            + table(["detector", "default threshold", "found", "recall", "false positives", "detections on dogs.jpg",
                     "low threshold", "AP", "ms/image (CPU)"], rows) + "\n")


def eval_faces_other(args):
    """Sanity check beyond the PASCAL set: ORL portraits (one face each, 92x112 gray)."""
    orl = DATA / "face_identification" / "orl_att_faces"
    if not orl.is_dir():
        return "other faces: skipped (../shared/data/face_identification absent)\n"
    files = sorted(orl.glob("*/*.pgm"))
    if args.quick:
        files = files[::3]
    images = [cvtools.read(f) for f in files]
    rows = []
    for name in ["face", "face-accurate", "face-haar", "face-dlib-hog"]:
        det = cvtools.detect.get(name)
        counts = collections.Counter(min(len(det.detect(im)), 2) for im in images)
        rows.append([name, len(images), counts[1], counts[0], counts[2], f"{counts[1] / len(images):.3f}"])
    return ("### Faces: ORL / AT&T portraits (one face per 92x112 gray image, default thresholds)\n\n"
            + table(["detector", "images", "exactly one face", "none", "two or more", "rate"], rows) + "\n")


# ------------------------------------------------------------------------------------------- codes
def eval_codes(args):
    manifest = CODES / "zxing_manifest.csv"
    if not manifest.is_file():
        return "codes: skipped (../shared/data/codes absent)\n"
    base = CODES / "zxing_cpp_samples"
    with open(manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    qr = cvtools.detect.get("qr")
    bar = cvtools.detect.get("barcode")
    qr_first = cvtools.detect.get("qr", retry=False)
    qr_full = cvtools.detect.get("qr", retry="full")
    by_folder = collections.OrderedDict()
    fp_images = 0
    for r in rows:
        folder = r["image"].split("/")[0]
        entry = by_folder.setdefault(folder, {"n": 0, "ok": 0, "first": 0, "full": 0, "decoded_any": 0})
        img = cvtools.read(base / r["image"])
        is_qr = r["format_folder"] in ("qrcode", "microqrcode")
        if r["expect_no_code"]:
            d = Detections.merge([qr_full.detect(img), bar.detect(img)])
            entry["n"] += 1
            entry["decoded_any"] += int(len(d) > 0)
            fp_images += int(len(d) > 0)
            continue
        if not r["expected_text_file"]:
            continue  # structured-append parts and multi-1: no single expected text
        expected = decode_bytes((base / r["expected_text_file"]).read_bytes())
        d = (qr if is_qr else bar).detect(img)
        entry["n"] += 1
        entry["ok"] += int(expected in (d.texts.tolist() if d.texts is not None else []))
        if is_qr:
            d1 = qr_first.detect(img)
            entry["first"] += int(expected in (d1.texts.tolist() if d1.texts is not None else []))
            d2 = qr_full.detect(img)
            entry["full"] += int(expected in (d2.texts.tolist() if d2.texts is not None else []))
    out_rows = []
    tot = collections.Counter()
    for folder, e in by_folder.items():
        if folder.startswith("falsepositives"):
            out_rows.append([folder, e["n"], "—", f"{e['decoded_any']} images with a decode (want 0)"])
            continue
        if e["n"] == 0:
            continue
        out_rows.append([folder, e["n"], f"{e['ok']} ({e['ok'] / e['n']:.0%})", ""])
        if folder.startswith("qrcode"):
            tot["qr_n"] += e["n"]
            tot["qr_ok"] += e["ok"]
            tot["qr_first"] += e["first"]
            tot["qr_full"] += e["full"]
        tot["n"] += e["n"]
        tot["ok"] += e["ok"]
    summary = (f"\nqrcode-* total: **{tot['qr_ok']}/{tot['qr_n']}** exact (first zxing pass alone: "
               f"{tot['qr_first']}/{tot['qr_n']}; with `retry=\"full\"` (adds OpenCV's detector): "
               f"{tot['qr_full']}/{tot['qr_n']}); all folders: {tot['ok']}/{tot['n']}; "
               f"falsepositives-1 images with any decode (qr with retry=\"full\" + barcode): {fp_images}\n")
    return ("### Codes: zxing-cpp samples, exact decoded text (`qr` for qrcode/microqrcode folders, `barcode` for "
            "the rest)\n\n" + table(["folder", "images", "exact", "note"], out_rows) + "\n" + summary)


# ------------------------------------------------------------------------------------------- aruco
def eval_aruco(args):
    folder = CODES / "aruco_opencv_contrib"
    gt_path = folder / "ground_truth.json"
    if not gt_path.is_file():
        return "aruco: skipped (../shared/data/codes/aruco_opencv_contrib absent)\n"
    gt = json.loads(gt_path.read_text())
    rows = []
    for case, g in gt.items():
        dictionary = g["dictionary"]
        if "custom" in dictionary:
            dictionary = folder / dictionary.split()[0]
        opts = {"dictionary": dictionary}
        if g.get("detector_params"):
            opts["parameters"] = folder / "detector_params.yml"
            if "APRILTAG" in g["detector_params"]:
                opts["corner_refinement"] = "apriltag"
        det = cvtools.detect.get("aruco", **opts)
        d = det.detect(cvtools.read(folder / g["image"]))
        ids = [int(i) for i in d.identities] if len(d) else []
        if "markers" in g and g["markers"]:
            want = {m["id"]: np.asarray(m["corners_xy"], np.float64) for m in g["markers"]}
            ids_ok = sorted(ids) == sorted(want) and len(ids) == g["expected_marker_count"]
            errs = []
            for i, quad in zip(ids, d.polygons):
                if i in want:
                    errs.append(np.abs(quad - want[i]).max())
            max_err = max(errs) if errs else float("nan")
            corner_ok = bool(errs) and max_err <= g.get("corner_tolerance_px", 1.0) + 1e-6
            rows.append([g["image"], g["expected_marker_count"], len(d), "yes" if ids_ok else "NO",
                         f"{max_err:.2f}", "yes" if corner_ok else "NO"])
        else:
            ids_ok = sorted(ids) == sorted(g["expected_id_multiset"])
            rows.append([g["image"], g["expected_marker_count"], len(d), "yes" if ids_ok else "NO", "—", "(ids only)"])
    return ("### ArUco: OpenCV contrib tutorial images\n\n"
            + table(["image", "markers expected", "found", "IDs exact", "max corner error (px)", "within 1 px"], rows)
            + "\n")


# ------------------------------------------------------------------------------------------- speed
def eval_speed(args):
    import cv2

    src = FACE_DIR / "2008_002079.jpg"
    if src.is_file():
        photo = cvtools.read(src)
    else:
        from skimage import data as skdata
        photo = skdata.astronaut()
    frame = cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(frame[:, :, ::-1])
    # A QR code pasted into the frame, so the qr timing covers a real decode (and no retry).
    qr_frame = frame.copy()
    try:
        import zxingcpp

        code = np.asarray(zxingcpp.create_barcode("https://example.org/cvtools", zxingcpp.BarcodeFormat.QRCode)
                          .to_image(scale=5))
        code = np.repeat(code[:, :, None], 3, axis=2)
        qr_frame[40:40 + code.shape[0], 400:400 + code.shape[1]] = code
    except ImportError:  # zxing-cpp absent: time an empty frame
        zxingcpp = None
    reps = 5 if args.quick else 15

    yunet = RawYuNet(score=0.7, nms=0.45, top_k=5000)
    try:
        yolox = RawYolox(score=0.3, nms=0.65, threads=1)
    except ImportError:
        yolox = None
    try:
        import dlib

        hog = dlib.get_frontal_face_detector()
    except ImportError:
        hog = None
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    # (row name, detector name, options, image, reference name, reference callable, target)
    # target: a minimum frames/s, or ("x", row) for "at most x times the time of row".
    cases = [
        ("face", "face", {}, frame, "raw cv2.FaceDetectorYN, YuNet-n, score 0.7", lambda: yunet(bgr), 30),
        ("face-accurate", "face-accurate", {}, frame, "", None, (4.0, "face")),
        ('face, model="s"', "face", {"model": "s"}, frame, "", None, None),
        ("objects (threads=1)", "objects", {"threads": 1}, frame, "raw YOLOX-nano, onnxruntime, 1 thread",
         (lambda: yolox(bgr)) if yolox else None, 30),
        ('objects, backend="opencv" (cv2.dnn)', "objects", {"backend": "opencv"}, frame, "", None, None),
        ("person (threads=1)", "person", {"threads": 1}, frame, "", None, None),
        ("face-haar", "face-haar", {}, frame, "cv2 Haar, scaleFactor 1.1, minNeighbors 5",
         lambda: casc.detectMultiScale(gray, 1.1, 5), 15),
        ("face-dlib-hog", "face-dlib-hog", {}, frame, "dlib HOG, no upsampling (misses < 72 px)",
         (lambda: hog(frame, 0)) if hog else None, None),
        ("person-hog", "person-hog", {}, frame, "", None, None),
        ("eyes", "eyes", {}, frame, "", None, None),
        ("qr (frame with a code)", "qr", {}, qr_frame, "zxingcpp.read_barcodes (all formats)",
         (lambda: zxingcpp.read_barcodes(qr_frame)) if zxingcpp else None, 30),
        ("qr (frame without code: retries run)", "qr", {}, frame, "", None, 30),
        ("barcode (frame without code)", "barcode", {}, frame, "", None, None),
        ("aruco", "aruco", {}, frame, "", None, None),
    ]
    calls = []
    for row, key, opts, img, ref_name, ref, target in cases:
        try:
            det = cvtools.detect.get(key, **opts)
        except ImportError:
            continue
        n = len(det.detect(img))  # warm-up (model loading, caches)
        if ref is not None:
            ref()
        calls.append((row, det, img, n, ref_name, ref, target))
    # Interleaved rounds (every case once per round), so that load changes on a shared machine hit
    # all rows alike instead of whichever ran during a busy minute.
    t = {row: {"cpu": [], "wall": [], "ref_cpu": [], "ref_wall": []} for row, *_ in calls}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for _ in range(reps):
        for row, det, img, n, ref_name, ref, target in calls:
            for fn, key in ((lambda: det.detect(img), ""), (ref, "ref_")):
                if fn is None:
                    continue
                c, w = time.process_time(), time.perf_counter()
                fn()
                t[row][key + "cpu"].append(time.process_time() - c)
                t[row][key + "wall"].append(time.perf_counter() - w)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    med = {row: {k: float(np.median(v)) if v else None for k, v in d.items()} for row, d in t.items()}
    rows, verdicts = [], []
    for row, det, img, n, ref_name, ref, target in calls:
        m = med[row]
        fps_cpu, fps_wall = 1 / m["cpu"], 1 / m["wall"]
        ref_cells = ["", "", ""]
        if m["ref_cpu"]:
            ref_cells = [ref_name, f"{1 / m['ref_cpu']:.1f} / {1 / m['ref_wall']:.1f}",
                         f"{m['cpu'] / m['ref_cpu']:.2f}"]
        goal = verdict = ""
        if isinstance(target, tuple):
            times, other = target
            ratio = m["cpu"] / med[other]["cpu"]
            goal = f"<= {times:g}x the time of `{other}`"
            verdict = met(ratio <= times)
            verdicts.append([f"`{row}` {goal}", f"{ratio:.2f}x (CPU); {m['wall'] / med[other]['wall']:.2f}x (wall)",
                             verdict])
        elif target:
            goal = f">= {target} frames/s"
            verdict = met(fps_cpu >= target)
            verdicts.append([f"`{row}` {goal}", f"{fps_cpu:.1f} (CPU); {fps_wall:.1f} (wall)", verdict])
        rows.append([row, f"{fps_cpu:.1f}", f"{fps_wall:.1f}", n, *ref_cells, goal, verdict])
    head = (f"### Speed: 640x480 photo, default options, one thread, frames/s (medians of {reps} interleaved "
            f"rounds; 1-min load average {load0:.1f} -> {load1:.1f} on {os.cpu_count() or 1} cores)\n\n"
            "CPU: 1 / median `time.process_time` per call (what the detector costs, robust to other jobs on the "
            "machine); wall: 1 / median `time.perf_counter` per call (what a user waits, inflated when the cores "
            "are shared). Targets are judged on CPU time. 'ratio': CPU time of the row / CPU time of its "
            "reference.\n\n")
    return (head + table(["detector", "frames/s (CPU)", "frames/s (wall)", "detections", "reference",
                          "reference frames/s (CPU / wall)", "ratio", "target", ""], rows)
            + "\n\nTargets:\n\n" + table(["target", "measured", ""], verdicts) + "\n")


SECTIONS = ("wider", "coco", "faces", "faces_other", "codes", "aruco", "speed")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer timing repeats, skip the slow dlib CNN")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    ap.add_argument("--limit", type=int, default=0, help="WIDER / COCO: only the first N images (smoke runs)")
    ap.add_argument("--cnn-every", type=int, default=16,
                    help="WIDER: run face-dlib-cnn on every N-th image only (default 16: ~20 s CPU per image)")
    ap.add_argument("--out", type=Path, default=OUT / "eval_detect.md", help="where to write the tables")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    one_thread()
    given = list(sys.argv[1:] if argv is None else argv)
    command = " ".join([".venv/bin/python benchmarks/eval_detect.py", *given])
    parts = [f"Command: `{command}` (cvtools at {_git_head()}, OpenCV {_cv2_version()})\n"]
    print(parts[0], flush=True)
    for section in args.only:
        t = time.perf_counter()
        text = globals()[f"eval_{section}"](args)
        print(text, flush=True)
        print(f"({section}: {time.perf_counter() - t:.0f} s)\n", file=sys.stderr, flush=True)
        parts.append(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts))
    return 0


def _git_head() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


def _cv2_version() -> str:
    import cv2

    return cv2.__version__


if __name__ == "__main__":
    sys.exit(main())
