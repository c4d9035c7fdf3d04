"""Recognition and identification measured on real data.

Run from the repository root:  .venv/bin/python benchmarks/eval_identify.py [--quick]

Reads ../shared/data (skips those parts when absent) and scikit-image's lfw_subset. Prints
markdown tables and writes them to benchmarks/results/eval_identify.md. ``--only alignment`` compares the
ways a face can be found and aligned for dlib's descriptor (which names more people right).
"""
from __future__ import annotations

import argparse
import copy
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
from cvtools.identify._face import as_rgb8, describe_faces, face_models  # noqa: E402

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
    # the default pipeline on 92x112 gray: YuNet (`face`), aligned with its landmarks; the whole image
    # as the face box where it finds none
    t0 = time.perf_counter()
    desc, detected = orl_descriptors(Gallery("face"), images)
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
    emit(f"YuNet (`face`) found a face in {detected}/{len(images)} images (whole image used otherwise); "
         f"{secs:.1f} s for all descriptors.\n")
    table(["gallery images / person", "gallery", "probes", "rank-1 accuracy", "accuracy at threshold 0.6",
           "'unknown' at 0.6"], rows)
    return images, labels, idx


def orl_descriptors(gallery, images):
    """One descriptor per image, the largest face as ``gallery`` finds and aligns it (the whole image
    where it finds none), and how many images had a face."""
    g = copy.copy(gallery)
    g.labels, g.sources, g._vectors = [], [], np.zeros((0, 128), np.float32)
    detected = 0
    for i, im in enumerate(images):
        try:
            g.add(str(i), im)
            detected += 1
        except ValueError:  # no face found
            g.add(str(i), im, box="whole")
    return g.embeddings, detected


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


# ------------------------------------------------------------------ which alignment names more people right
#: dlib's HOG box relative to YuNet's box (x1, y1, x2, y2 from YuNet's centre, in YuNet's width/height):
#: the median over 299 faces found by both on WIDER FACE val photos (python benchmarks/fit_face_chip.py).
BOX_MAP = np.array([-0.5691, -0.3755, 0.5716, 0.4936])
VIDEO = DATA / "video"


class MappedYuNet:
    """YuNet's faces with their boxes mapped to dlib-HOG-like boxes (BOX_MAP); landmarks kept (for the yaw)."""

    name = "face (box mapped to dlib's)"
    options = {"box_map": BOX_MAP.tolist()}

    def __init__(self):
        self._det = cvtools.detect.get("face")

    def detect(self, image):
        return self.map(self._det.detect(image))

    @staticmethod
    def map(det):
        b = det.xyxy.astype(np.float64)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        return det.with_fields(xyxy=np.c_[cx + BOX_MAP[0] * w, cy + BOX_MAP[1] * h,
                                          cx + BOX_MAP[2] * w, cy + BOX_MAP[3] * h])


def _variants():
    """(label, Gallery options, detector for video frames or None = the gallery's)."""
    hog = cvtools.detect.get("face-dlib-hog", upsample=2.0)
    return [
        ("face-dlib-hog (2x) + shape predictor: the previous pipeline",
         {"detector": hog, "align": "shape-predictor"}, cvtools.detect.get("face-dlib-hog", min_size=24)),
        ("face (YuNet) + shape predictor on its box", {"align": "shape-predictor"}, None),
        ("face + shape predictor on the box mapped to dlib's", {"detector": MappedYuNet(), "align": "shape-predictor"},
         None),
        ("**face + its landmarks (the default)**", {}, None),
        ("face + its landmarks, any pose (max_yaw=None)", {"max_yaw": None}, None),
    ]


def _descriptors(g, image, det):
    points = g._alignment_points(det)
    return describe_faces(as_rgb8(image), det.xyxy, landmarks=points)[1]


def _hamilton_truth(frame_index, box):
    """Who a face of short_hamilton_clip.mp4 is (scene cuts at frames 20, 46, 82 and 211): Alex Lacamoire at
    the piano (image's left) and Lin-Manuel Miranda until frame 19, Lin-Manuel Miranda (profile close-up,
    then frontal) until 210, then the audience (people not in the gallery: "unknown" is right)."""
    if frame_index >= 211:
        return "unknown"
    if frame_index < 20 and (box[0] + box[2]) / 2 < 320:
        return "alex-lacamoire"
    return "lin-manuel-miranda"


def alignment():
    import cv2

    from cvtools.demo import load_gallery
    from cvtools.io import VideoSource

    knn = DATA / "face_identification" / "face_recognition_knn"
    orl_root = DATA / "face_identification" / "orl_att_faces"
    clip, faces = VIDEO / "short_hamilton_clip.mp4", VIDEO / "hamilton_reference_faces"
    if not (knn.is_dir() and orl_root.is_dir() and clip.is_file()):
        emit("(skipped alignment: face_recognition_knn, orl_att_faces or the Hamilton clip not found)\n")
        return
    probes = []
    with open(knn / "expected_test_labels.csv") as f:
        for row in csv.DictReader(f):
            img = cvtools.read(knn / row["file"], "rgb")
            s = 1024 / max(img.shape[:2])
            probes.append((cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img,
                           row["expected_identities"].split(";")))
    people = sorted((p for p in orl_root.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
    orl_images = [cvtools.read(p / f"{i}.pgm") for p in people for i in range(1, 11)]
    orl_labels = np.repeat([p.name for p in people], 10)
    orl_idx = np.tile(np.arange(1, 11), len(people))
    frames = list(VideoSource(clip))
    yunet = cvtools.detect.get("face")
    yunet_found = [yunet.detect(fr) for fr in frames]
    rows = []
    for label, options, video_detector in _variants():
        t0 = time.process_time()
        # knn probes: named right, and the margin (nearest other person - the right person's distance)
        g = Gallery.from_folder(knn / "train", cache=False, **options)
        right = total = 0
        margins = []
        for img, expected in probes:
            det = g.identify(img)
            right += len(set(expected) & set(det.identities.tolist()))
            total += len(expected)
            labels_ = np.array(g.labels)
            for v in _descriptors(g, img, det):
                dist = np.linalg.norm(g.embeddings - v, axis=1)
                name = labels_[dist.argmin()]
                if name in expected:
                    margins.append(dist[labels_ != name].min() - dist.min())
        # ORL: rank-1 with one gallery image per person, and verification over every pair
        orl_opts = dict(options)
        if video_detector is not None:  # dlib's HOG needs 4x on these 92x112 faces (the previous evaluation)
            orl_opts["detector"] = cvtools.detect.get("face-dlib-hog", upsample=4.0)
        desc, found = orl_descriptors(Gallery("face", **orl_opts), orl_images)
        gal, probe = orl_idx <= 1, orl_idx > 5
        d = np.linalg.norm(desc[probe][:, None] - desc[gal][None], axis=2)
        rank1 = float((orl_labels[gal][d.argmin(1)] == orl_labels[probe]).mean())
        iu = np.triu_indices(len(desc), 1)
        same = (orl_labels[:, None] == orl_labels[None])[iu]
        pair_d = np.linalg.norm(desc[:, None] - desc[None], axis=2)[iu]
        pair_acc = float(((pair_d <= 0.6) == same).mean())
        # the Hamilton clip, every frame, the demo's gallery (10 jitters)
        vg = load_gallery(faces, cache=False, **options)
        counts = dict(right=0, people=0, alex=0, alex_boxes=0, wrong=0, audience=0, audience_named=0)
        for i, fr in enumerate(frames):
            found_here = video_detector.detect(fr) if video_detector is not None else (
                MappedYuNet.map(yunet_found[i]) if isinstance(vg.detector, MappedYuNet) else yunet_found[i])
            if not len(found_here):
                continue
            named = vg.identify(fr, found_here)
            for box, name in zip(named.xyxy, named.identities):
                truth = _hamilton_truth(i, box)
                if truth == "unknown":
                    counts["audience"] += 1
                    counts["audience_named"] += name != "unknown"
                    continue
                counts["people"] += 1
                counts["right"] += name == truth
                counts["wrong"] += name not in (truth, "unknown")
                if truth == "alex-lacamoire":
                    counts["alex_boxes"] += 1
                    counts["alex"] += name == truth
        c = counts
        rows.append([label, f"{right}/{total}", f"{np.mean(margins):.3f} / {np.min(margins):.3f}",
                     f"{found}/390", f"{rank1:.3f}", f"{pair_acc:.4f}",
                     f"{c['right']}/{c['people']} ({100 * c['right'] / max(c['people'], 1):.0f}%)",
                     f"{c['alex']}/{c['alex_boxes']}", c["wrong"], f"{c['audience_named']}/{c['audience']}",
                     f"{time.process_time() - t0:.0f}"])
    emit("### Which alignment names more people right\n")
    emit("dlib's descriptor expects dlib's chip (its shape predictor's eye corners and nose base on a fixed "
         "template). Each row finds and aligns faces one way, everything else equal (torch descriptors, threshold "
         "0.6). knn: the face_recognition_knn probes (margin: distance to the nearest other person minus "
         "distance to the right one, mean / smallest). ORL: rank-1 with one gallery image per person (probes "
         "6-10), and the share of all 75,855 pairs decided right at 0.6. Hamilton: every frame of "
         "short_hamilton_clip.mp4 against its two-photo gallery (10 jitters, as the demo), each face judged by "
         "who is on screen (scene cuts at frames 20, 46, 82, 211; from 211 on the audience, not in the gallery). "
         "The previous pipeline's row uses dlib's HOG at 4x on ORL and with min_size=24 on the clip (the previous "
         "demo default); it finds fewer faces there (no profiles, 1 of the 4 audience faces).\n")
    table(["detector + alignment", "knn named", "knn margin", "ORL faces found", "ORL rank-1", "ORL pairs at 0.6",
           "Hamilton: gallery people's faces named right", "of which Alex Lacamoire (~25 px)", "named wrongly",
           "audience named", "CPU s"], rows)


def speed(quick):
    root = DATA / "face_identification" / "face_recognition_knn"
    if not root.is_dir():
        emit("(skipped speed: face_recognition_knn not found)\n")
        return
    import cv2

    import dlib

    from cvtools.identify._face import descriptor_backend

    cv2.setNumThreads(1)  # "one core": YuNet runs in OpenCV, which would use every core

    g = Gallery.from_folder(root / "train", cache=False)  # the default: YuNet, aligned with its landmarks
    g_hog = Gallery.from_folder(root / "train", cache=False, align="shape-predictor",
                                detector=cvtools.detect.get("face-dlib-hog", upsample=2.0))  # the previous default
    det_model = dlib.get_frontal_face_detector()
    _, sp, rec = face_models()
    hog2 = cvtools.detect.get("face-dlib-hog", upsample=2.0)
    # 640x480 frames holding 1, 2 and 3 faces: crops of the probe photos' faces (about 110 px wide)
    # on a gray background, so that every face is findable without upsampling.
    crops = []
    for f in ("obama1.jpg", "alex_lacamoire1.jpg", "johnsnow_test1.jpg"):
        im = cvtools.read(root / "test" / f, "rgb")
        s = 900 / max(im.shape[:2])
        im = np.ascontiguousarray(cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
        b = hog2.detect(im).xyxy
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
        given = g.detector.detect(img)
        boxes = given.xyxy

        def reference():  # face_recognition's recipe: detector, then one descriptor call per face
            rects = det_model(img, 0)
            for r in rects:
                np.asarray(rec.compute_face_descriptor(img, sp(img, r)))

        for label, fn in (("given detections", lambda: g.identify(img, given)),
                          ("detect (face, YuNet) + identify (the default)", lambda: g.identify(img)),
                          ("detect (face-dlib-hog at 2x, the previous default) + identify",
                           lambda: g_hog.identify(img))):
            w, c = timed(fn)
            rw, rc = timed(reference) if label.startswith("detect (face,") else (None, None)
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
         "inflates wall time). Reference: face_recognition's recipe with raw dlib calls (HOG detector without "
         "upsampling, then one descriptor per face, dlib's own network), same process.\n")
    table(["frame", "faces", "cvtools call", "wall ms", "CPU ms", "fps on one core (CPU)",
           "reference CPU ms", "ratio"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer epochs and repetitions")
    ap.add_argument("--only", choices=["knn", "orl", "recognition", "speed", "alignment"], help="run one part only")
    args = ap.parse_args()
    emit(f"# eval_identify ({'quick' if args.quick else 'full'}): cvtools {cvtools.__version__}\n")
    part = args.only
    if part in (None, "knn"):
        knn_probes()
    orl_data = orl() if part in (None, "orl", "recognition") else None
    if part in (None, "recognition"):
        recognition(orl_data, args.quick)
    if part in (None, "alignment"):
        alignment()
    if part in (None, "speed"):
        speed(args.quick)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "eval_identify.md" if part is None else f"eval_identify_{part}.md"
    (out / name).write_text("\n".join(OUT))


if __name__ == "__main__":
    main()
