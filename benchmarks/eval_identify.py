"""Recognition and identification measured on real data.

Run from the repository root:  .venv/bin/python benchmarks/eval_identify.py [--quick]

Reads ../shared/data (skips those parts when absent) and scikit-image's lfw_subset. Prints
markdown tables and writes them to benchmarks/results/eval_identify.md.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # "one core" figures: dlib, MKL and OpenMP on one thread

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

import cvtools  # noqa: E402
from cvtools import recognize  # noqa: E402
from cvtools.identify import Gallery, VideoIdentifier  # noqa: E402
from cvtools.identify._face import as_rgb8, describe_faces, detect_faces, face_models  # noqa: E402

OUT: list[str] = []


def emit(text=""):
    print(text, flush=True)
    OUT.append(text)


def table(header, rows):
    emit("| " + " | ".join(header) + " |")
    emit("|" + "---|" * len(header))
    for r in rows:
        emit("| " + " | ".join(str(v) for v in r) + " |")
    emit()


def knn_probes():
    root = DATA / "face_identification" / "face_recognition_knn"
    if not root.is_dir():
        emit(f"(skipped face_recognition_knn: {root} not found)\n")
        return
    import cv2

    g = Gallery.from_folder(root / "train", cache=False)
    rows, right, total = [], 0, 0
    with open(root / "expected_test_labels.csv") as f:
        for row in csv.DictReader(f):
            img = cvtools.read(root / row["file"], "rgb")
            s = 1024 / max(img.shape[:2])
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img
            det = g.identify(img)
            expected = row["expected_identities"].split(";")
            found = det.identities.tolist()
            named = [e for e in expected if e in found]
            right += len(named)
            total += len(expected)
            extra = [f"{n} ({d:.2f})" for n, d in zip(found, det.distances) if n not in expected]
            rows.append([row["file"], ";".join(expected), ", ".join(f"{n} ({d:.2f})" for n, d in
                                                                     zip(found, det.distances)),
                         f"{len(named)}/{len(expected)}", ", ".join(extra) or "-"])
    emit(f"### Face identification: face_recognition_knn ({len(g)} gallery images of {len(g.names)} people)\n")
    table(["probe", "expected", "found (distance)", "named right", "other faces"], rows)
    emit(f"**{right}/{total} expected faces named right.**\n")


def orl():
    root = DATA / "face_identification" / "orl_att_faces"
    if not root.is_dir():
        emit(f"(skipped orl_att_faces: {root} not found)\n")
        return None
    people = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
    images, labels, idx = [], [], []
    for p in people:
        for i in range(1, 11):
            images.append(cvtools.read(p / f"{i}.pgm"))
            labels.append(p.name)
            idx.append(i)
    labels, idx = np.array(labels), np.array(idx)
    # dlib faces on 92x112 gray: detect with 2x upsampling, else use the whole image as the face box
    t0 = time.perf_counter()
    desc, detected = [], 0
    for im in images:
        rgb = as_rgb8(im)
        boxes, _ = detect_faces(rgb, upsample=2)
        if len(boxes):
            detected += 1
            box = boxes[((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).argmax()]
        else:
            box = np.array([0, 0, rgb.shape[1], rgb.shape[0]], np.float32)
        desc.append(describe_faces(rgb, box[None])[1][0])
    desc = np.array(desc)
    secs = time.perf_counter() - t0
    rows = []
    probe = idx > 5
    for k in (1, 3, 5):
        gal = idx <= k
        g = Gallery("face", threshold=1e9)
        g.labels = labels[gal].tolist()
        g._vectors = desc[gal]
        names, dist = g.match(desc[probe])
        acc = float((names == labels[probe]).mean())
        known = Gallery("face")
        known.labels, known._vectors = g.labels, g._vectors
        n2, _ = known.match(desc[probe])
        rows.append([k, int(gal.sum()), int(probe.sum()), f"{acc:.3f}",
                     f"{float((n2 == labels[probe]).mean()):.3f}", f"{float((n2 == 'unknown').mean()):.3f}"])
    emit("### Face identification: ORL / AT&T faces (39 people, 92x112 gray; probes = images 6-10)\n")
    emit(f"dlib found a face in {detected}/{len(images)} images at 2x upsampling (whole image used otherwise); "
         f"{secs:.1f} s for all descriptors.\n")
    table(["gallery images / person", "gallery", "probes", "rank-1 accuracy", "accuracy at threshold 0.6",
           "'unknown' at 0.6"], rows)
    return images, labels, idx


def recognition(orl_data, quick):
    from skimage import data

    x = cvtools.to_uint8(data.lfw_subset())
    y = np.array(["face"] * 100 + ["non-face"] * 100)
    perm = np.random.default_rng(0).permutation(200)
    tr, te = perm[:150], perm[150:]
    sets = [("lfw_subset (faces vs non-faces, 150 train / 50 test)", list(x[tr]), y[tr], list(x[te]), y[te], 32)]
    if orl_data is not None:
        images, labels, idx = orl_data
        trm, tem = idx <= 7, idx > 7
        sets.append(("orl_att_faces (39 people, images 1-7 train / 8-10 test)",
                     [im for im, m in zip(images, trm) if m], labels[trm],
                     [im for im, m in zip(images, tem) if m], labels[tem], 64))
    rows = []
    for name, xtr, ytr, xte, yte, size in sets:
        for method in ("hog-svm", "cnn"):
            kw = dict(image_size=size, seed=0)
            if method == "cnn":
                kw.update(epochs=8 if quick else 60, patience=10, val_split=0.15)
            else:
                kw.update(val_split=0)
            t0 = time.perf_counter()
            clf = recognize.train((xtr, ytr), method, **kw)
            secs = time.perf_counter() - t0
            ev = recognize.Evaluation.from_labels(yte, clf.predict(xte)[0], classes=clf.classes)
            has = ev.support > 0
            rows.append([name, method, f"{ev.accuracy:.3f}", f"{ev.macro_f1:.3f}",
                         f"{float(ev.f1[has].min()):.3f}", f"{secs:.1f}",
                         clf.info.get("epochs_run", "-")])
    emit("### Recognition (train on a folder, evaluate on held-out images)\n")
    table(["data", "method", "accuracy", "macro F1", "worst class F1", "training s", "epochs"], rows)

    # novelty: fitted on training faces only, scored on test faces vs test non-faces
    faces_tr = [im for im, l in zip(x[tr], y[tr]) if l == "face"]
    faces_te = [im for im, l in zip(x[te], y[te]) if l == "face"]
    non_te = [im for im, l in zip(x[te], y[te]) if l != "face"]
    rows = []
    for feats in ("hog", "cnn"):
        for method in ("lof", "isolation-forest", "distance"):
            det = recognize.NoveltyDetector(feats, method, image_size=32, n_neighbors=10).fit(faces_tr)
            ev = det.evaluate(faces_te, non_te)
            rows.append([feats + (" (random weights)" if feats == "cnn" else ""), method, f"{ev.roc_auc:.3f}",
                         f"{ev.tpr_at_threshold:.2f}", f"{ev.fpr_at_threshold:.2f}"])
    emit(f"### Novelty detection on lfw_subset: fitted on {len(faces_tr)} training faces; "
         f"{len(faces_te)} test faces vs {len(non_te)} non-faces\n")
    table(["features", "method", "ROC AUC", "non-faces flagged (TPR)", "faces flagged (FPR)"], rows)


def speed(quick):
    root = DATA / "face_identification" / "face_recognition_knn"
    if not root.is_dir():
        emit("(skipped speed: face_recognition_knn not found)\n")
        return
    import cv2

    import copy

    from cvtools.identify._face import descriptor_backend

    g = Gallery.from_folder(root / "train", cache=False, upsample=0)
    g_default = copy.copy(g)
    g_default.upsample = 1  # the Gallery default: finds faces down to ~40 px in a 640x480 frame
    dlib, det_model, sp, rec = face_models()
    # 640x480 frames holding 1, 2 and 3 faces: crops of the probe photos' faces (about 110 px wide)
    # on a gray background, so that every face is findable without upsampling.
    crops = []
    for f in ("obama1.jpg", "alex_lacamoire1.jpg", "johnsnow_test1.jpg"):
        im = cvtools.read(root / "test" / f, "rgb")
        s = 900 / max(im.shape[:2])
        im = np.ascontiguousarray(cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
        b, _ = detect_faces(im, upsample=1)
        x1, y1, x2, y2 = b[((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).argmax()]
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, 0.9 * max(x2 - x1, y2 - y1)
        y0, x0 = int(max(cy - half, 0)), int(max(cx - half, 0))
        crop = im[y0:int(cy + half), x0:int(cx + half)]
        crops.append(cv2.resize(crop, (200, 200), interpolation=cv2.INTER_AREA))
    frames = {}
    for n in (1, 2, 3):
        frame = np.full((480, 640, 3), 128, np.uint8)
        for i in range(n):
            x = 20 + i * 210
            frame[140:340, x:x + 200] = crops[i]
        frames[f"{n} face(s)"] = frame
    reps = 3 if quick else 10
    rows = []

    def timed(fn):
        wall, cpu = [], []
        for _ in range(reps):
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        return statistics.median(wall), statistics.median(cpu)

    for f, img in frames.items():
        boxes, _ = detect_faces(img, upsample=0)
        given = cvtools.detect.Detections(boxes, labels="face")

        def reference():  # face_recognition's recipe: detector, then one descriptor call per face
            rects = det_model(img, 0)
            for r in rects:
                np.asarray(rec.compute_face_descriptor(img, sp(img, r)))

        for label, fn in (("given detections", lambda: g.identify(img, given)),
                          ("detect (upsample 0) + identify", lambda: g.identify(img)),
                          ("detect (default, upsample 1) + identify", lambda: g_default.identify(img))):
            w, c = timed(fn)
            rw, rc = timed(reference) if label.startswith("detect (upsample 0)") else (None, None)
            rows.append([f, len(boxes), label, f"{w * 1000:.0f}", f"{c * 1000:.0f}", f"{1 / c:.1f}",
                         f"{rc * 1000:.0f}" if rc else "-", f"{c / rc:.2f}" if rc else "-"])
        vid = VideoIdentifier(g, refresh=5)

        def ten_frames():
            for _ in range(10):
                vid.identify(img)

        w, c = timed(ten_frames)
        rows.append([f, len(boxes), "VideoIdentifier(refresh=5), detect + identify, per frame over 10",
                     f"{w * 100:.0f}", f"{c * 100:.0f}", f"{10 / c:.1f}", "-", "-"])
    emit("### Speed: identify every face in a 640x480 frame (one thread; median of "
         f"{reps} runs)\n")
    emit(f"Face descriptors run by: {descriptor_backend()} (dlib's ResNet weights).\n")
    emit("CPU ms is the process CPU time per frame (what one idle core would take; the shared machine "
         "inflates wall time). Reference: face_recognition's recipe with raw dlib calls (detector, "
         "then one descriptor per face), same process.\n")
    table(["frame", "faces", "cvtools call", "wall ms", "CPU ms", "fps on one core (CPU)",
           "reference CPU ms", "ratio"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer epochs and repetitions")
    ap.add_argument("--only", choices=["knn", "orl", "recognition", "speed"], help="run one part only")
    args = ap.parse_args()
    emit(f"# eval_identify ({'quick' if args.quick else 'full'}): cvtools {cvtools.__version__}\n")
    part = args.only
    if part in (None, "knn"):
        knn_probes()
    orl_data = orl() if part in (None, "orl", "recognition") else None
    if part in (None, "recognition"):
        recognition(orl_data, args.quick)
    if part in (None, "speed"):
        speed(args.quick)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_identify.md").write_text("\n".join(OUT))


if __name__ == "__main__":
    main()
