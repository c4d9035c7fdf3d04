"""Evaluate cvtools.detect on the real sets in ../shared/data and time the detectors.

Run from the repository root:

    .venv/bin/python benchmarks/eval_detect.py            # everything
    .venv/bin/python benchmarks/eval_detect.py --quick    # fewer timing repeats, no dlib CNN
    .venv/bin/python benchmarks/eval_detect.py --only faces faces_other codes aruco speed

Prints markdown tables (and writes them to benchmarks/results/eval_detect.md). Sections whose data
are absent are skipped with a note.

* faces: dlib's PASCAL faces (43 tight boxes; a detection matches at IoU >= 0.3) + dogs.jpg
  (no human face): recall, false positives, AP (VOC all-point, from a low-threshold run).
* faces_other: ORL portraits (one face each): how often exactly one face is found.
* codes: zxing-cpp's sample folders: exact decoded text per folder, nothing on falsepositives-1.
* aruco: OpenCV contrib tutorial images: IDs exact and corners within 1 px.
* speed: frames/s on a 640x480 photo with default options, one OpenCV thread.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cvtools  # noqa: E402
from cvtools.detect import Detections  # noqa: E402
from cvtools.detect._codes import decode_bytes  # noqa: E402
from cvtools.metrics import detection_ap, match_detections  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FACE_DIR = DATA / "face_detection" / "dlib_pascal_faces"
DOGS = DATA / "face_detection" / "negatives_no_human_face" / "dogs.jpg"
CODES = DATA / "codes"
OUT = ROOT / "benchmarks" / "results"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- faces
def eval_faces(quick: bool):
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
    names = ["face", "face-haar", "face-dlib-hog"] + ([] if quick else ["face-dlib-cnn"])
    # Low thresholds give the ranked candidates AP needs; recall/FP use the default operating point.
    low = {"face": {"threshold": -0.6}, "face-dlib-hog": {"threshold": -0.6}, "face-dlib-cnn": {"threshold": -0.8},
           "face-haar": {"min_neighbors": 1}}
    rows = []
    for name in names:
        det = cvtools.detect.get(name)
        det_low = cvtools.detect.get(name, **low[name])
        tp = fp = 0
        preds, gts = [], []
        t0 = time.perf_counter()
        for f in files:
            g = Detections(gt[f], labels="face", data={"ignore": np.asarray(ign[f])})
            d = det.detect(images[f])
            m = match_detections(d, g, iou_threshold=0.3, gt_ignore=g.data["ignore"], rule="coco")
            tp += m.n_tp
            fp += m.n_fp
            preds.append(det_low.detect(images[f]))
            gts.append(g)
        secs = time.perf_counter() - t0
        n_gt = sum(len(v) - sum(ign[k]) for k, v in gt.items())
        dog_fp = len(det.detect(dogs)) if dogs is not None else "n/a"
        ap = detection_ap(preds, gts, iou_threshold=0.3)["map"]
        rows.append([name, f"{tp}/{n_gt}", f"{tp / n_gt:.3f}", fp, dog_fp, f"{ap:.3f}", f"{secs:.1f}"])
    return ("### Faces: dlib PASCAL faces (9 images, 43 boxes, IoU >= 0.3) and dogs.jpg\n\n"
            + table(["detector", "found", "recall", "false positives", "detections on dogs.jpg", "AP",
                     "seconds (both runs)"], rows) + "\n")


def eval_faces_other(quick: bool):
    """Sanity check beyond the PASCAL set: ORL portraits (one face each, 92x112 gray)."""
    orl = DATA / "face_identification" / "orl_att_faces"
    if not orl.is_dir():
        return "other faces: skipped (../shared/data/face_identification absent)\n"
    files = sorted(orl.glob("*/*.pgm"))
    if quick:
        files = files[::3]
    images = [cvtools.read(f) for f in files]
    rows = []
    for name in ["face", "face-haar", "face-dlib-hog"]:
        det = cvtools.detect.get(name)
        counts = collections.Counter(min(len(det.detect(im)), 2) for im in images)
        rows.append([name, len(images), counts[1], counts[0], counts[2], f"{counts[1] / len(images):.3f}"])
    return ("### Faces: ORL / AT&T portraits (one face per 92x112 gray image)\n\n"
            + table(["detector", "images", "exactly one face", "none", "two or more", "rate"], rows) + "\n")


# ------------------------------------------------------------------------------------------- codes
def eval_codes(quick: bool):
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
def eval_aruco(quick: bool):
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
def eval_speed(quick: bool):
    import cv2

    cv2.setNumThreads(1)
    src = FACE_DIR / "2008_002079.jpg"
    if src.is_file():
        photo = cvtools.read(src)
    else:
        from skimage import data as skdata
        photo = skdata.astronaut()
    frame = cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA)
    # A QR code pasted into the frame, so the qr timing covers a real decode (and no retry).
    qr_frame = frame.copy()
    try:
        import zxingcpp

        code = np.asarray(zxingcpp.create_barcode("https://example.org/cvtools", zxingcpp.BarcodeFormat.QRCode)
                          .to_image(scale=5))
        code = np.repeat(code[:, :, None], 3, axis=2)
        qr_frame[40:40 + code.shape[0], 400:400 + code.shape[1]] = code
    except Exception:  # zxing-cpp absent: time an empty frame
        pass
    reps = 5 if quick else 15

    import dlib
    import zxingcpp

    hog = dlib.get_frontal_face_detector()
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    # (row name, detector name, options, image, reference name, reference callable, target fps)
    cases = [
        ("face", "face", {}, frame, "dlib HOG, upsample_num_times=1", lambda: hog(frame, 1), 10),
        ("face-dlib-hog", "face-dlib-hog", {}, frame, "dlib HOG, no upsampling (misses < 72 px)",
         lambda: hog(frame, 0), None),
        ("face-haar", "face-haar", {}, frame, "cv2 Haar, scaleFactor 1.1, minNeighbors 5",
         lambda: casc.detectMultiScale(gray, 1.1, 5), 15),
        ("qr (frame with a code)", "qr", {}, qr_frame, "zxingcpp.read_barcodes (all formats)",
         lambda: zxingcpp.read_barcodes(qr_frame), 30),
        ("qr (frame without code: retries run)", "qr", {}, frame, "zxingcpp.read_barcodes (all formats)",
         lambda: zxingcpp.read_barcodes(frame), 30),
        ('qr, retry="full" (frame without code)', "qr", {"retry": "full"}, frame, "", None, None),
        ("barcode (frame without code)", "barcode", {}, frame, "", None, None),
        ("aruco", "aruco", {}, frame, "", None, None),
        ("person", "person", {}, frame, "", None, None),
        ("eyes", "eyes", {}, frame, "", None, None),
    ]
    # Interleaved rounds (every case once per round), so that load changes on a shared machine hit
    # all rows alike instead of whichever ran during a busy minute.
    calls = []
    for row, key, opts, img, ref_name, ref, target in cases:
        det = cvtools.detect.get(key, **opts)
        n = len(det.detect(img))  # warm-up (model loading, caches)
        if ref is not None:
            ref()
        calls.append((det, img, n, ref))
    ours_t = [[] for _ in cases]
    ref_t = [[] for _ in cases]
    for _ in range(reps):
        for i, (det, img, n, ref) in enumerate(calls):
            t = time.perf_counter()
            det.detect(img)
            ours_t[i].append(time.perf_counter() - t)
            if ref is not None:
                t = time.perf_counter()
                ref()
                ref_t[i].append(time.perf_counter() - t)
    rows = []
    for i, (row, key, opts, img, ref_name, ref, target) in enumerate(cases):
        ours = 1.0 / float(np.median(ours_t[i]))
        ref_fps = 1.0 / float(np.median(ref_t[i])) if ref_t[i] else None
        rows.append([row, f"{ours:.1f}", calls[i][2], ref_name, f"{ref_fps:.1f}" if ref_fps else "",
                     f"{ours / ref_fps:.2f}" if ref_fps else "", f">= {target}" if target else "",
                     ("met" if ours >= target else "NOT met") if target else ""])
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return ("### Speed: 640x480 photo, default options, `cv2.setNumThreads(1)`, frames/s (median of %d interleaved "
            "rounds; 1-min load average %.1f on %d cores)\n\n" % (reps, load, os.cpu_count() or 1) + table(["detector", "frames/s", "detections", "reference", "reference frames/s", "ratio",
                            "target", ""], rows) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the slow dlib CNN")
    ap.add_argument("--only", nargs="+", choices=["faces", "faces_other", "codes", "aruco", "speed"],
                    default=["faces", "faces_other", "codes", "aruco", "speed"])
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    parts = []
    for section in args.only:
        t = time.perf_counter()
        text = globals()[f"eval_{section}"](args.quick)
        print(text, flush=True)
        print(f"({section}: {time.perf_counter() - t:.0f} s)\n", file=sys.stderr, flush=True)
        parts.append(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "eval_detect.md").write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
