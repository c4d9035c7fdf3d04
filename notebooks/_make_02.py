"""Generate notebooks/02_detection_and_metrics.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_02.py
"""
from _nb import code, md, save


md(r"""
# 02 · Detection and how to measure it

Detection answers *"is there an object, and where?"*. This notebook

1. lists every offline detector in `cvtools.detect` and runs them on real pictures — what each **sees and misses**;
2. explains **IoU**, the overlap that decides whether a detection hit a ground-truth box;
3. **matches** detections to ground truth at an IoU threshold (true positives, false positives, misses);
4. shows how **precision and recall move with the score threshold**, the **PR curve** and **average precision**
   (VOC all-point / 11-point, COCO mAP@[.5:.95]);
5. ends with the **confusion matrix**, ROC curve and per-class report of a small classifier.

Every detector returns a `cvtools.Detections` (boxes `xyxy` in input pixels, `scores`, `labels`, plus
`texts`, `identities`, `polygons`... when a detector fills them). The PASCAL faces from `../shared/data`
are used when present; otherwise the notebook falls back to pictures bundled with scikit-image.
""")

code(r"""
import os
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import cvtools
from cvtools import metrics, viz
from cvtools.detect import Detections

SMALL = os.environ.get("CVTOOLS_NOTEBOOK_TEST") == "1"
DATA = Path.cwd().resolve().parent.parent / "shared" / "data"
FACES = DATA / "face_detection" / "dlib_pascal_faces"
HAVE_FACES = (FACES / "boxes.csv").is_file()
print("shared data:", "found" if HAVE_FACES else "absent (using scikit-image pictures only)")


def show(images, titles, cols=3, size=4.0):
    rows = (len(images) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles):
        ax.imshow(img, cmap="gray")
        ax.set_title(title, fontsize=9)
    plt.tight_layout()
    plt.show()
""")

md(r"""
## 1. The detectors

`cvtools.detect.detectors()` says which detectors can run here and, for those that cannot, why and what to
install. Models come only from installed packages (OpenCV's cascades and HOG people SVM, dlib's models,
zxing-cpp): nothing is downloaded at run time.
""")

code(r"""
for d in cvtools.detect.detectors():
    print(f"{d.name:<14} {'yes' if d.available else 'no ':<4} {d.description}")
""")

md(r"""
### Faces and face parts on the astronaut

`face` is dlib's HOG + linear SVM detector (Haar when dlib is missing). dlib only finds faces about 72 px
wide at the scale it scans, so `face` resizes the image by `72 / min_size` first, where `min_size` defaults
to 10 % of the shorter side (at most 48 px): a fractional factor instead of dlib's fixed 2x up-sampling. Haar cascades are
faster but fire more often on texture; `eyes` and `smile` search inside Haar faces.
""")

code(r"""
astro = data.astronaut()
names = ["face", "face-haar", "face-dlib-hog", "eyes", "smile", "upper-body"]
shown, titles = [], []
for name in names:
    det = cvtools.detect.get(name).detect(astro)
    shown.append(viz.draw_detections(astro, det))
    titles.append(f"{name}: {len(det)} found")
    print(f"{name:<14}", [f"{l} {s:.2f}" for l, s in zip(det.labels, det.scores)])
show(shown, titles)
""")

md(r"""
What they see and miss: dlib finds the face with a high score and, at its default threshold 0, sometimes
adds weak candidates (scores near 0) on texture such as the suit — raise `threshold` to drop them. Haar
finds the face too; the smile cascade is noisy even inside the face, which is why it needs many neighbours.
`upper-body` usually needs more of the shoulders than this crop shows.

### Cats, people, coins
""")

code(r"""
cat = data.chelsea()
coins = data.coins()
rocket = data.rocket()
dets = {
    "cat-face on chelsea": (cat, cvtools.detect.get("cat-face").detect(cat)),
    "face on chelsea (no human)": (cat, cvtools.detect.get("face").detect(cat)),
    "person on rocket (no person)": (rocket, cvtools.detect.get("person").detect(rocket)),
    "blob (Otsu) on coins (24 coins)": (coins, cvtools.detect.get("blob", min_area=200).detect(coins)),
}
for k, (_, d) in dets.items():
    print(f"{k:<34} {len(d)} found", [f"{s:.2f}" for s in d.scores[:5]])
show([viz.draw_detections(img, d, show_scores=False) for img, d in dets.values()],
     [f"{k}: {len(d)} found" for k, (_, d) in dets.items()], cols=2)
""")

md(r"""
Misses and false alarms are part of the picture: the frontal cat-face cascade does not fire on Chelsea,
whose head is turned and side-lit (cascades want frontal, upright faces; lower `min_neighbors` or
`scale_factor` makes it fire, on the wrong places too); the human face detector correctly ignores her; the
2005 HOG pedestrian detector takes the rocket's launch structure for a person (score below 1 — raise
`threshold` to drop such hits); thresholding + contours counts the coins, but touching or low-contrast
coins merge or split, which a colour/threshold detector cannot tell apart.
""")

md(r"""
### Codes and markers: decoded payloads go into `texts`, marker IDs into `identities`

A QR code and ArUco markers drawn into a photo, then perspective-warped a little, as a camera would see them.
""")

code(r"""
scene = cv2.resize(data.coffee(), (640, 427))
try:
    import zxingcpp
    code = np.asarray(zxingcpp.create_barcode("https://example.org/cvtools", zxingcpp.BarcodeFormat.QRCode)
                      .to_image(scale=4))
    scene[20:20 + code.shape[0], 20:20 + code.shape[1]] = code[:, :, None]
except ImportError:
    print("zxing-cpp not installed: no QR code in the scene")
aruco = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_6X6_250)
for k, marker_id in enumerate([7, 23]):
    m = cv2.aruco.generateImageMarker(aruco, marker_id, 90)
    m = cv2.copyMakeBorder(m, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=255)
    y, x = 260, 380 + 125 * k
    scene[y:y + m.shape[0], x:x + m.shape[1]] = m[:, :, None]
h, w = scene.shape[:2]
warp = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]),
                                   np.float32([[10, 5], [w - 20, 15], [w - 5, h - 10], [0, h - 25]]))
scene = cv2.warpPerspective(scene, warp, (w, h), borderMode=cv2.BORDER_REPLICATE)
qr = cvtools.detect.get("qr").detect(scene)
markers = cvtools.detect.get("aruco").detect(scene)
print("qr texts:", qr.texts.tolist() if len(qr) else [])
print("aruco ids:", markers.identities.tolist() if len(markers) else [])
show([viz.draw_detections(scene, Detections.merge([qr, markers]))], ["qr + aruco"], cols=1, size=7)
""")

md(r"""
## 2. IoU: when does a detection hit a box?

Intersection over union of boxes $A$ and $B$: $\mathrm{IoU} = |A \cap B| / |A \cup B|$, 1 for identical
boxes, 0 for disjoint ones. Boxes of the same object drawn by different detectors overlap imperfectly:
dlib's are tight (brows to chin), Haar's larger — which is why the PASCAL face set is scored at IoU ≥ 0.3.
""")

code(r"""
gt = np.array([[100, 100, 200, 200]])
cands = np.array([[100, 100, 200, 200], [120, 110, 220, 210], [150, 150, 250, 250], [80, 80, 230, 230],
                  [300, 300, 350, 350]])
iou = metrics.box_iou(cands, gt)[:, 0]
for b, v in zip(cands, iou):
    print(b.tolist(), f"IoU = {v:.3f}")
canvas = np.full((360, 360, 3), 255, np.uint8)
canvas = viz.draw_detections(canvas, Detections(gt, labels="ground truth"), color=(0, 160, 0), show_scores=False)
canvas = viz.draw_detections(canvas, Detections(cands, scores=iou, labels="IoU"), color=(200, 0, 0))
show([canvas], ["candidates (red, caption = IoU) vs ground truth (green)"], cols=1, size=5)
""")

md(r"""
## 3. Matching at a threshold

Detections are visited from the highest score down; each takes the unmatched ground-truth box it overlaps
most, if that IoU reaches the threshold. Matched detections are **true positives**, the rest **false
positives**; unmatched ground truth are **misses** (false negatives).
""")

code(r"""
import csv
import collections


def load_faces():
    # PASCAL faces from the shared data, or (absent) the astronaut at a few scales with a hand-drawn box.
    if HAVE_FACES:
        boxes = collections.defaultdict(list)
        with open(FACES / "boxes.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                x, y, w, h = (float(r[k]) for k in "xywh")
                boxes[r["file"]].append([x, y, x + w, y + h])
        files = sorted(boxes)[:5] if SMALL else sorted(boxes)
        return [cvtools.read(FACES / f) for f in files], [Detections(boxes[f], labels="face") for f in files]
    hand = np.array([[180.0, 80.0, 270.0, 185.0]])  # drawn by eye around the astronaut's face
    images, gts = [], []
    for s in (0.5, 0.75, 1.0):
        images.append(cv2.resize(astro, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
        gts.append(Detections(hand * s, labels="face"))
    return images, gts


images, gts = load_faces()
results = {}
for name in ["face", "face-haar"]:
    det = cvtools.detect.get(name)
    preds = [det.detect(im) for im in images]
    for thr in (0.3, 0.5):
        tp = fp = fn = 0
        for p, g in zip(preds, gts):
            m = metrics.match_detections(p, g, iou_threshold=thr)
            tp, fp, fn = tp + m.n_tp, fp + m.n_fp, fn + m.n_fn
        print(f"{name:<10} IoU >= {thr}: TP {tp:3d}  FP {fp:3d}  missed {fn:3d}")
    results[name] = preds

i = int(np.argmax([len(g) for g in gts]))
m = metrics.match_detections(results["face"][i], gts[i], iou_threshold=0.3)
view = viz.draw_detections(images[i], gts[i], color=(0, 170, 0), labels=False)
view = viz.draw_detections(view, results["face"][i][m.tp], color=(30, 100, 255), show_scores=False)
view = viz.draw_detections(view, results["face"][i][m.fp], color=(230, 0, 0))
show([view], ["green: ground truth, blue: true positives, red: false positives"], cols=1, size=7)
""")

md(r"""
## 4. Precision and recall as the score threshold moves

Run the detector with a low threshold so that it returns weak candidates too, then sweep a cut-off over the
scores: precision $= TP / (TP + FP)$ falls and recall $= TP / (TP + FN)$ rises as the cut-off drops.
""")

code(r"""
loose = cvtools.detect.get("face", threshold=-0.8)
preds = [loose.detect(im) for im in images]
pr = metrics.detection_pr(preds, gts, iou_threshold=0.3)
cuts = np.linspace(-0.8, 2.0, 29)
prec, rec = [], []
for c in cuts:
    kept = [p[p.scores >= c] for p in preds]
    r = metrics.detection_pr(kept, gts, iou_threshold=0.3)
    tp, fp = r["tp"], r["fp"]
    prec.append(tp / (tp + fp) if tp + fp else 1.0)
    rec.append(tp / r["n_gt"])
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(cuts, prec, label="precision")
ax.plot(cuts, rec, label="recall")
ax.axvline(0.0, color="0.6", linestyle="--", linewidth=1, label="dlib's default (0)")
ax.set_xlabel("score threshold")
ax.legend()
plt.show()
""")

md(r"""
## 5. The PR curve and average precision

Ranking all detections by score gives a precision–recall curve. **Average precision** summarises it:
PASCAL VOC 2010+ takes the area under the precision *envelope* (all-point), VOC 2007 the mean of the envelope
at 11 recall levels, COCO at 101 levels and then averages over IoU thresholds 0.50:0.05:0.95 (mAP@[.5:.95]).
`cvtools.metrics.coco_map` is checked against `pycocotools` in the test suite.
""")

code(r"""
for method in ("all-point", "11-point", "101-point"):
    print(f"AP ({method}) at IoU 0.3:", round(metrics.average_precision(pr["recall"], pr["precision"], method=method), 4))
haar_loose = cvtools.detect.get("face-haar", min_neighbors=1)
haar_preds = [haar_loose.detect(im) for im in images]
hpr = metrics.detection_pr(haar_preds, gts, iou_threshold=0.3)
ax = viz.plot_pr(precision=pr["precision"], recall=pr["recall"],
                 ap=metrics.average_precision(pr["recall"], pr["precision"]), label="face (dlib)")
viz.plot_pr(precision=hpr["precision"], recall=hpr["recall"], ax=ax,
            ap=metrics.average_precision(hpr["recall"], hpr["precision"]), label="face-haar")
display(ax.figure)
coco = metrics.coco_map(preds, gts)
print(f"COCO mAP@[.5:.95] = {coco['map']:.3f}, mAP@.5 = {coco['map50']:.3f}, mAP@.75 = {coco['map75']:.3f}")
""")

md(r"""
COCO's mAP@[.5:.95] is lower than AP@.5 even when every face is found: box conventions differ (dlib's boxes
versus the annotators'), so IoU rarely reaches 0.9 — the IoU threshold is part of the metric's definition.

## 6. Confusion matrix, ROC and per-class report

Classification metrics on a classic: scikit-learn's bundled 8x8 digits with a logistic regression (any
classifier's predictions would do; `cvtools.recognize` trains image classifiers).
""")

code(r"""
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)
clf = LogisticRegression(max_iter=300 if SMALL else 1000).fit(Xtr, ytr)
pred = clf.predict(Xte)
cm = metrics.confusion_matrix(yte, pred)
print("accuracy", round(metrics.accuracy(yte, pred), 4))
print("macro P/R/F1", [round(v, 4) for v in metrics.precision_recall_f1(yte, pred, average="macro")])
report = metrics.classification_report(yte, pred)
print({k: round(v["f1-score"], 3) for k, v in report.items() if k.isdigit()})
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
viz.plot_confusion_matrix(cm, labels=[str(i) for i in range(10)], ax=a1)
# ROC of "is it an 8?" from the classifier's probability.
viz.plot_roc(yte == 8, clf.predict_proba(Xte)[:, 8], ax=a2, label="digit 8")
plt.show()
""")

md(r"""
Rows are the true digit, columns the predicted one: off-diagonal cells show which digits are confused (8 with 1
and 9 are typical). The ROC curve of a one-vs-rest question needs scores, not labels; its AUC is the
probability that a random 8 scores above a random non-8.
""")

save("02_detection_and_metrics.ipynb")
