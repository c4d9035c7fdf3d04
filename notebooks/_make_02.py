"""Generate notebooks/02_detection_and_metrics.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_02.py
"""
from _nb import code, md, save


md(r"""
# 02 · Detection and how to measure it

Detection answers *"is there an object, and where?"*. This notebook

1. lists every offline detector in `cvtools.detect` and runs the **CNN detectors** (YuNet faces, YOLOX-nano
   objects) **beside the classic ones** (Haar cascades, dlib's and OpenCV's HOG) on the same photographs —
   what each **sees and misses**;
2. explains **IoU**, the overlap that decides whether a detection hit a ground-truth box;
3. **matches** detections to ground truth at an IoU threshold (true positives, false positives, misses);
4. shows how **precision and recall move with the score threshold**, the **PR curves** of the face detectors
   and **average precision** (VOC all-point / 11-point, COCO mAP@[.5:.95]);
5. ends with the **confusion matrix**, ROC curve and per-class report of a small classifier.

Every detector returns a `cvtools.Detections` (boxes `xyxy` in input pixels, `scores` in [0, 1], `labels`,
plus `landmarks`, `texts`, `identities`, `polygons`... when a detector fills them). The pictures are
scikit-image's bundled samples; labelled evaluation photographs are added where the project's evaluation
data sits beside the repository.
""")

code(r"""
import json
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
WIDER = DATA / "face_detection" / "wider_face_val_subset"
HAVE_FACES = (FACES / "boxes.csv").is_file()
HAVE_WIDER = (WIDER / "annotations.json").is_file()
AVAILABLE = {d.name for d in cvtools.detect.detectors() if d.available}


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
install, with each one's model, licence and speed class (640×480 on one core). The CNN models ship inside
the package (sha256-checked); the classic ones come from installed packages (OpenCV's cascades and HOG people
SVM, dlib's models, zxing-cpp): nothing is downloaded at run time.
""")

code(r"""
for d in cvtools.detect.detectors():
    print(f"{d.name:<14} {'yes' if d.available else 'no ':<4} {d.speed:<12} {d.model[:60]}")
""")

md(r"""
### Faces: the CNN beside Haar and HOG on the same photographs

`face` is **YuNet** (a 75k-parameter CNN that OpenCV runs natively): a box, a score in [0, 1] and five
landmarks (eyes, nose tip, mouth corners) per face, from about 10 px up, frontal or turned. `face-haar` is
the Viola–Jones cascade (2001) and `face-dlib-hog` dlib's HOG + linear SVM (2005 features); both want
upright, frontal faces of at least ~40 px (the default `min_size` is 10 % of the shorter side, 32–48 px). Every
detector's `threshold` is a score in [0, 1]; the defaults are 0.7 for `face` and each classic detector's own
decision boundary.
""")

code(r"""
photos = {"astronaut": data.astronaut(), "cameraman": data.camera()}
if HAVE_WIDER:  # two crowded photographs of the evaluation set, if it is beside the repository
    for f in ["0--Parade__0_Parade_Parade_0_611.jpg",
              "2--Demonstration__2_Demonstration_Political_Rally_2_545.jpg"]:
        if (WIDER / "images" / f).is_file():
            photos[f.split("__")[0]] = cvtools.read(WIDER / "images" / f)
face_names = [n for n in ["face", "face-haar", "face-dlib-hog"] if n in AVAILABLE]
face_detectors = {n: cvtools.detect.get(n) for n in face_names}
shown, titles = [], []
for title, img in photos.items():
    for name, det in face_detectors.items():
        found = det.detect(img)
        shown.append(viz.draw_detections(img, found, show_scores=False))
        titles.append(f"{title} · {name}: {len(found)} faces")
show(shown, titles, cols=len(face_names))
""")

md(r"""
What they see and miss: on the astronaut all three find the face. The cameraman looks down at his camera,
three-quarters turned: the CNN finds him, the frontal classic detectors usually do not. In crowds the
difference is size: the classic detectors stop at their `min_size`, YuNet goes on down to ~10 px faces (and,
being a CNN, tolerates blur, turned heads and partial occlusion much better). Lower `min_size` makes Haar and
HOG look for smaller faces, at a cost that grows with `(window / min_size)²`.

YuNet's five landmarks come with every face (`Detections.landmarks`, `(N, 5, 2)`, in the order of
`cvtools.detect._yunet.LANDMARK_NAMES`); `cvtools.identify` aligns faces with them.
""")

code(r"""
faces = cvtools.detect.get("face").detect(photos["astronaut"])
print("scores:", [round(float(s), 3) for s in faces.scores])
print("landmarks (x, y):", [(round(float(x), 1), round(float(y), 1)) for x, y in faces.landmarks[0]])
x1, y1, x2, y2 = faces.xyxy[0].astype(int)
drawn = viz.draw_detections(photos["astronaut"], faces, show_scores=False)
crop = drawn[max(y1 - 20, 0):y2 + 20, max(x1 - 20, 0):x2 + 20]
show([crop], ["YuNet box and landmarks"], cols=1, size=4)
""")

md(r"""
### Objects and people: YOLOX-nano beside the HOG people detector

`objects` is **YOLOX-nano** (0.9 M parameters, the 80 COCO classes; `labels` are COCO names, `classes=` keeps
some); `person` is the same network restricted to people. `person-hog` is Dalal & Triggs' HOG pedestrian
detector (2005): upright, whole people at least 128 px tall.
""")

code(r"""
scenes = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea(), "rocket": data.rocket()}
objects = cvtools.detect.get("objects")
hog_people = cvtools.detect.get("person-hog")
shown, titles = [], []
for title, img in scenes.items():
    found = objects.detect(img)
    people = hog_people.detect(img)
    print(f"{title:<10} objects: {[f'{l} {s:.2f}' for l, s in zip(found.labels, found.scores)]}  "
          f"person-hog: {len(people)}")
    shown += [viz.draw_detections(img, found), viz.draw_detections(img, people)]
    titles += [f"{title} · objects: {len(found)}", f"{title} · person-hog: {len(people)}"]
show(shown, titles, cols=4, size=3.2)
""")

md(r"""
The CNN names what is there (the astronaut as a person, a cup on a dining table, a cat) and stays silent on
the rocket. The HOG people detector only knows upright, whole pedestrians: on these pictures it fires on the
astronaut's helmet instead of the astronaut (she is cut off at the waist) and on the rocket itself. On COCO
photographs its person AP@0.5 is near 0, YOLOX-nano's above 0.6 (the evaluation tables are in
`docs/detection.md`).

### Classic detectors still worth knowing: cascades, blobs
""")

code(r"""
cat = data.chelsea()
coins = data.coins()
dets = {
    "cat-face (Haar) on chelsea": (cat, cvtools.detect.get("cat-face").detect(cat)),
    "face on chelsea (no human)": (cat, cvtools.detect.get("face").detect(cat)),
    "blob (Otsu) on coins (24 coins)": (coins, cvtools.detect.get("blob", min_area=200).detect(coins)),
}
for k, (_, d) in dets.items():
    print(f"{k:<34} {len(d)} found", [f"{s:.2f}" for s in d.scores[:5]])
show([viz.draw_detections(img, d, show_scores=False) for img, d in dets.values()],
     [f"{k}: {len(d)} found" for k, (_, d) in dets.items()], cols=3)
""")

md(r"""
The frontal cat-face cascade does not fire on Chelsea, whose head is turned and side-lit (cascades want
frontal, upright faces); the human face detector correctly ignores her (an animal face can still score up to
~0.85 with YuNet: raise `threshold` to 0.9 where that matters); thresholding + contours counts the coins, but
touching or low-contrast coins merge or split, which a colour/threshold detector cannot tell apart.
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
positives**; unmatched ground truth are **misses** (false negatives). Ground truth can mark boxes to
**ignore** (`data["ignore"]`): a detection on them is neither a hit nor a false positive, and they are not
counted as misses — WIDER FACE ignores, in its "hard" setting, faces too small or too hidden to annotate
reliably, which is how its official protocol scores them.
""")

code(r"""
def load_eval_set():
    # A small subset of the WIDER FACE evaluation (when it is beside the repository), else labelled
    # scikit-image pictures: the astronaut at three sizes and the cameraman, boxes drawn around each face.
    if HAVE_WIDER:
        ann = json.loads((WIDER / "annotations.json").read_text())
        files = sorted(ann)[::16][: 5 if SMALL else 21]
        images, gts = [], []
        for f in files:
            xywh = np.asarray(ann[f]["boxes_xywh"], float).reshape(-1, 4)
            hard = np.zeros(len(xywh), bool)
            hard[ann[f]["hard"]] = True
            images.append(cvtools.read(WIDER / "images" / f))
            gts.append(Detections(np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], labels="face", data={"ignore": ~hard}))
        return images, gts
    astro, cam = data.astronaut(), data.camera()
    images = [cv2.resize(astro, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) for s in (0.5, 0.75, 1.0)] + [cam]
    boxes = [np.array([[180.0, 80.0, 270.0, 185.0]]) * s for s in (0.5, 0.75, 1.0)]
    boxes.append(np.array([[190.0, 110.0, 255.0, 195.0]]))
    return images, [Detections(b, labels="face") for b in boxes]


images, gts = load_eval_set()
n_faces = sum(len(g) - int(np.sum(g.data.get("ignore", 0))) for g in gts)
print(f"{len(images)} images, {n_faces} faces to find")
results = {}
for name in [n for n in ["face", "face-haar", "face-dlib-hog"] if n in AVAILABLE]:
    det = cvtools.detect.get(name)
    preds = [det.detect(im) for im in images]
    for thr in (0.3, 0.5):
        tp = fp = fn = 0
        for p, g in zip(preds, gts):
            m = metrics.match_detections(p, g, iou_threshold=thr, gt_ignore=g.data.get("ignore"))
            tp, fp, fn = tp + m.n_tp, fp + m.n_fp, fn + m.n_fn
        print(f"{name:<14} IoU >= {thr}: TP {tp:4d}  FP {fp:3d}  missed {fn:4d}")
    results[name] = preds

i = int(np.argmax([len(g) for g in gts]))
m = metrics.match_detections(results["face"][i], gts[i], iou_threshold=0.5, gt_ignore=gts[i].data.get("ignore"))
view = viz.draw_detections(images[i], gts[i], color=(0, 170, 0), labels=False)
view = viz.draw_detections(view, results["face"][i][m.tp], color=(30, 100, 255), show_scores=False)
view = viz.draw_detections(view, results["face"][i][m.fp], color=(230, 0, 0))
show([view], ["face: green ground truth, blue true positives, red false positives"], cols=1, size=7)
""")

md(r"""
## 4. Precision and recall as the score threshold moves

Run the detector with a low threshold so that it returns weak candidates too (`threshold=0.02`, the value
the WIDER FACE protocol is run with), then sweep a cut-off over the scores: precision $= TP / (TP + FP)$
falls and recall $= TP / (TP + FN)$ rises as the cut-off drops.
""")

code(r"""
IOU = 0.5
loose = cvtools.detect.get("face", threshold=0.02)
preds = [loose.detect(im) for im in images]
pr = metrics.detection_pr(preds, gts, iou_threshold=IOU)
cuts = np.linspace(0.02, 1.0, 50)
prec, rec = [], []
for c in cuts:
    kept = [p[p.scores >= c] for p in preds]
    r = metrics.detection_pr(kept, gts, iou_threshold=IOU)
    tp, fp = r["tp"], r["fp"]
    prec.append(tp / (tp + fp) if tp + fp else 1.0)
    rec.append(tp / r["n_gt"])
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(cuts, prec, label="precision")
ax.plot(cuts, rec, label="recall")
ax.axvline(cvtools.detect.get("face").threshold, color="0.6", linestyle="--", linewidth=1, label="face's default (0.7)")
ax.set_xlabel("score threshold")
ax.legend()
plt.show()
""")

md(r"""
## 5. PR curves and average precision

Ranking all detections by score gives a precision–recall curve. **Average precision** summarises it:
PASCAL VOC 2010+ takes the area under the precision *envelope* (all-point), VOC 2007 the mean of the envelope
at 11 recall levels, COCO at 101 levels and then averages over IoU thresholds 0.50:0.05:0.95 (mAP@[.5:.95]).
Below, every face detector is run at its lowest sensible threshold on the same images (the evaluation in
`benchmarks/eval_detect.py` does the same on 323 WIDER FACE images; its tables are in `docs/detection.md`).
""")

code(r"""
for method in ("all-point", "11-point", "101-point"):
    ap = metrics.average_precision(pr["recall"], pr["precision"], method=method)
    print(f"face AP ({method}) at IoU {IOU}: {ap:.4f}")
low = {"face": 0.02, "face-accurate": 0.02, "face-haar": 0.0, "face-dlib-hog": 0.01}
fig, ax = plt.subplots(figsize=(6, 4.5))
for name, thr in low.items():
    if name not in AVAILABLE:
        continue
    det = cvtools.detect.get(name, threshold=thr)
    r = metrics.detection_pr([det.detect(im) for im in images], gts, iou_threshold=IOU)
    viz.plot_pr(precision=r["precision"], recall=r["recall"], ax=ax, label=name,
                ap=metrics.average_precision(r["recall"], r["precision"]))
ax.legend(loc="lower left")
plt.show()
for cap in (100, 1000):
    coco = metrics.coco_map(preds, gts, max_detections=cap)
    print(f"face, at most {cap} detections per image: COCO mAP@[.5:.95] = {coco['map']:.3f}, "
          f"mAP@.5 = {coco['map50']:.3f}, mAP@.75 = {coco['map75']:.3f}")
""")

md(r"""
The classic detectors' curves stop early: they never return the small, turned or blurred faces, so no
threshold reaches their recall; YuNet's curve runs much further, and `face-accurate` (YuNet on the image, its
mirror image and an enlarged copy, fused) pushes it further on small faces at about 4× the time. COCO's
mAP@[.5:.95] is lower than AP@.5 even for found faces: box conventions differ between a detector and the
annotators, so IoU rarely reaches 0.9 — the IoU threshold is part of the metric's definition. COCO also
keeps at most 100 detections per image (the highest-scoring): on a crowd photograph run at a threshold of
0.02 that cut drops real faces, so the cap is part of the definition too.

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
