"""Where YuNet's five landmarks sit on dlib's aligned face chip (the numbers in cvtools.identify._face).

    .venv/bin/python benchmarks/fit_face_chip.py [--limit N]

dlib's face descriptor was trained on chips aligned by dlib's 5-point shape predictor (eye corners, nose
base). To align a face from YuNet's landmarks instead (eye centres, nose tip, mouth corners), we need where
those points land on dlib's chip. On WIDER FACE val photos (../shared/data/face_detection/
wider_face_val_subset), every face found by both YuNet (`face`) and dlib's HOG detector (at scale 1, >= 60
px wide, IoU >= 0.3) is aligned the dlib way (shape predictor on dlib's box, the similarity transform
`get_face_chip` uses); YuNet's points are mapped by that transform, and the median over the faces, in dlib's
unit face coordinates, is LANDMARK_CHIP_POINTS. Also printed: the median dlib box in YuNet box coordinates
(the box map that eval_identify.py's "mapped box" variant uses).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WIDER = REPO.parent / "shared" / "data" / "face_detection" / "wider_face_val_subset" / "images"
sys.path.insert(0, str(REPO))

import cvtools  # noqa: E402
from cvtools.identify import _face  # noqa: E402


def similarity(src: np.ndarray, dst: np.ndarray):
    """Least-squares similarity ``dst ~ a @ src + t`` (Umeyama 1991; dlib's find_similarity_transform)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    e = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    a = (u @ e @ vt) * (sig * np.diag(e)).sum() / ((s ** 2).sum() / len(src))
    return a, mu_d - a @ mu_s


def iou(box, boxes):
    x1 = np.maximum(boxes[:, 0], box[0])
    y1 = np.maximum(boxes[:, 1], box[1])
    x2 = np.minimum(boxes[:, 2], box[2])
    y2 = np.minimum(boxes[:, 3], box[3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(boxes) + area(box) - inter)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="use the first N photos only")
    args = ap.parse_args()
    if not WIDER.is_dir():
        print(f"skipped: {WIDER} not found")
        return 0
    yunet = cvtools.detect.get("face")
    hog = cvtools.detect.get("face-dlib-hog", upsample=1.0)
    files = sorted(WIDER.glob("*.jpg"))[:args.limit]
    points, rel = [], []
    for f in files:
        rgb = _face.as_rgb8(cvtools.read(f, "rgb"))
        y, d = yunet.detect(rgb), hog.detect(rgb)
        if not len(y):
            continue
        for db in d.xyxy.astype(np.float64):
            if db[2] - db[0] < 60:
                continue
            overlap = iou(db, y.xyxy.astype(np.float64))
            j = int(overlap.argmax())
            if overlap[j] < 0.3:
                continue
            dlib_pts = _face.shape_points(rgb, db[None])[0].astype(np.float64)
            a, t = similarity(dlib_pts, _face.DLIB_CHIP_POINTS)  # image -> dlib's unit face
            points.append(y.landmarks[j].astype(np.float64) @ a.T + t)
            yb = y.xyxy[j].astype(np.float64)
            w, h = yb[2] - yb[0], yb[3] - yb[1]
            cx, cy = (yb[0] + yb[2]) / 2, (yb[1] + yb[3]) / 2
            rel.append([(db[0] - cx) / w, (db[1] - cy) / h, (db[2] - cx) / w, (db[3] - cy) / h])
    points, rel = np.array(points), np.array(rel)
    print(f"{len(points)} faces found by both detectors in {len(files)} photos\n")
    print("LANDMARK_CHIP_POINTS (median, dlib's unit face coordinates; right eye, left eye, nose tip, "
          "right and left mouth corner):")
    print(np.array2string(np.median(points, 0), precision=4, separator=", "))
    print("spread (std, unit face):", np.array2string(points.std(0).mean(1), precision=3, separator=", "))
    print("\ndlib's HOG box in YuNet box coordinates (x1, y1, x2, y2 relative to YuNet's centre, in YuNet's "
          "width/height), median:")
    print(np.array2string(np.median(rel, 0), precision=4, separator=", "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
