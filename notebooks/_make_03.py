"""Generate notebooks/03_recognition_and_identification.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_03.py
"""
from _nb import code, md, save


md(r"""
# 03 · Recognition and identification

Detection said *where* something is. The next two questions are different:

* **recognition** — *what class is it?* (a face or not, a cat or a dog, which of 40 people): a **classifier**
  trained on examples of every class (`cvtools.recognize`);
* **identification** — *which one is it, and what is it like?* (this face is Grace Hopper's; this box is the
  coffee cup from my shelf): a **gallery** of known individuals and a distance (`cvtools.identify`).
  A new person is added to a gallery with one photo — no training.

This notebook trains a recogniser on a folder (HOG + SVM, then a small residual CNN), measures it (confusion
matrix, precision/recall/F1, ROC and AUC), looks at outliers and novelties, and ends with a face gallery and
its distance threshold. Everything runs offline on pictures that ship with scikit-image and matplotlib.
""")

code(r"""
import os, tempfile, inspect
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
from skimage import data
import cvtools
from cvtools import recognize, metrics, viz
from cvtools.identify import Gallery, describe_detections

SMALL = os.environ.get("CVTOOLS_NOTEBOOK_TEST") == "1"   # the test suite runs this notebook small and fast
work = Path(tempfile.mkdtemp())
""")

md(r"""
## 1 · Real pictures: faces and non-faces

scikit-image's `lfw_subset` holds 100 faces (from Labeled Faces in the Wild) and 100 non-faces, 25 × 25 gray.
""")

code(r"""
x = cvtools.to_uint8(data.lfw_subset())
y = np.array(["face"] * 100 + ["non-face"] * 100)
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for ax, i in zip(axes.ravel(), list(range(8)) + list(range(100, 108))):
    ax.imshow(x[i], cmap="gray"); ax.set_title(y[i], fontsize=8); ax.axis("off")
""")

md(r"""
## 2 · Training a recogniser on a folder

`recognize.train(root)` reads `root/<class>/<image>`: the folder name is the label. We write a **fixed split**
(150 training, 50 test images) into two folders, as a user would.
""")

code(r"""
perm = np.random.default_rng(0).permutation(200)
tr, te = perm[:150], perm[150:]
for split, idx in (("train", tr), ("test", te)):
    for i in idx:
        (work / split / y[i]).mkdir(parents=True, exist_ok=True)
        cvtools.write(work / split / y[i] / f"{i:03d}.png", x[i])
print(sorted(p.name for p in (work / "train").iterdir()), len(list((work / "train").rglob("*.png"))), "training images")
""")

md(r"""
### HOG + linear SVM

The classic recogniser: a **histogram of oriented gradients** (the direction of edges in each 8 × 8 cell,
normalised over 2 × 2 blocks; Dalal & Triggs 2005) fed to a **linear SVM**. The SVM's margins are turned into
probabilities by Platt scaling (a sigmoid fitted on held-out folds).
""")

code(r"""
hog_clf = recognize.train(work / "train", "hog-svm", image_size=24, val_split=0)
ev = hog_clf.evaluate(work / "test")
print(ev)
print(ev.table())
viz.plot_confusion_matrix(ev.confusion, labels=ev.classes, title="HOG + SVM on 50 test images");
""")

md(r"""
**Reading the numbers.** For one class, *precision* = of the images predicted as that class, the fraction that
really are; *recall* = of the images of that class, the fraction found; *F1* = their harmonic mean. The
confusion matrix puts the true class on the rows and the prediction on the columns: everything off the
diagonal is a mistake, and *which* cell tells you what gets confused with what.

### A small residual CNN

`method="cnn"` trains this network on the CPU. Its building block is the **bottleneck residual block** (He et
al. 2016): a 1×1 convolution cuts the channels by 4, a 3×3 convolution works on the reduced tensor (that is
where the cost is), a 1×1 convolution expands back — and the input is **added** to the result (the *skip
connection*), so gradients reach the early layers unchanged and the block only has to learn a correction.
Every convolution is followed by **batch normalisation** (each channel normalised over the batch, then scaled
and shifted by learned parameters: training is faster and less sensitive to the learning rate) and a ReLU.
After the last stage, **global average pooling** turns each channel into one number, **dropout** zeroes 30 % of
them at random during training (so no single feature can be relied on: less overfitting), and a linear layer
gives the class scores.
""")

code(r"""
from cvtools.recognize._cnn import build_net, _augmenter
net = build_net({"widths": [32, 64, 128], "blocks": 1, "dropout": 0.3, "stem_stride": 1}, 1, 2)
print(inspect.getsource(type(net.stages[0]).forward))
print(net.stages[1])
print(sum(p.numel() for p in net.parameters()), "parameters")
""")

md(r"""
**Augmentation** (albumentations) shows the network a slightly different version of every image at every
epoch — shifted, scaled, rotated, flipped, brighter or darker — so it learns the class rather than the exact
pixels. Training holds out a stratified **validation split** and stops early when the validation loss has not
improved for `patience` epochs, keeping the best weights. Everything is seeded: same data and seed, same model.
""")

code(r"""
aug = _augmenter(seed=0, flip=True)
sample = cvtools.to_float32(x[3])[..., None]
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for ax in axes:
    ax.imshow(aug(image=sample)["image"].squeeze(), cmap="gray", vmin=0, vmax=1); ax.axis("off")
""")

code(r"""
cnn = recognize.train(work / "train", "cnn", image_size=24, epochs=4 if SMALL else 30, patience=6,
                      widths=(16, 32, 32) if SMALL else (32, 64, 128), seed=0)
hist = cnn.info["history"]
plt.figure(figsize=(5, 3))
plt.plot([h["train_loss"] for h in hist], label="training loss")
plt.plot([h["val_loss"] for h in hist], label="validation loss"); plt.xlabel("epoch"); plt.legend()
cev = cnn.evaluate(work / "test")
print(cev, f"— {cnn.info['train_seconds']:.1f} s, best epoch {cnn.info['best_epoch']}")
""")

md(r"""
Models are saved as **data only** — a `.npz` of numeric arrays plus a JSON header. `recognize.load` reads it
with `numpy.load(allow_pickle=False)`, so opening a model file someone sent you cannot run code.
""")

code(r"""
path = hog_clf.save(work / "faces.npz")
again = recognize.load(path)
print(again, np.allclose(again.predict_proba(x[te][:5]), hog_clf.predict_proba(x[te][:5])))
""")

md(r"""
## 3 · ROC and AUC: what happens as the threshold moves

`predict` picks the most probable class, which for two classes means a threshold of 0.5 on P(face). Moving
that threshold trades **false positives** (non-faces called faces) against **misses**. The ROC curve plots
the true-positive rate against the false-positive rate for *every* threshold; the area under it (**AUC**) is
the probability that a random face scores higher than a random non-face — 1 is perfect, 0.5 is chance.
""")

code(r"""
p_face = hog_clf.predict_proba(list(x[te]))[:, hog_clf.classes.index("face")]
is_face = (y[te] == "face").astype(int)
fpr, tpr, thr = metrics.roc_curve(is_face, p_face)
print("AUC", round(metrics.roc_auc(is_face, p_face), 4))
for t in (0.1, 0.5, 0.9, 0.99):
    pred = p_face >= t
    print(f"threshold {t:4}: TPR {pred[is_face == 1].mean():.2f}  FPR {pred[is_face == 0].mean():.2f}")
viz.plot_roc(is_face, p_face, label="HOG + SVM");
""")

md(r"""
## 4 · Outliers and novelties

Two different questions hide behind "unusual":

* a **novelty** is a new image unlike anything seen in training — fit `NoveltyDetector` on normal images
  only, then score new ones (higher = more unusual); `predict` flags scores above the
  `1 - contamination` quantile of the training scores;
* an **outlier** is an odd image *inside* the training data — a photo filed in the wrong folder, a blank
  frame. `find_outliers(root)` checks every file without letting it vouch for itself (cross-validated class
  probability, and a per-class novelty score computed leave-one-out).
""")

code(r"""
faces_tr = [im for im, l in zip(x[tr], y[tr]) if l == "face"]
nov = recognize.NoveltyDetector("hog", "lof", image_size=24).fit(faces_tr)
nev = nov.evaluate([im for im, l in zip(x[te], y[te]) if l == "face"],
                   [im for im, l in zip(x[te], y[te]) if l != "face"])
print(f"ROC AUC {nev.roc_auc:.3f}; at the threshold: {nev.tpr_at_threshold:.0%} of non-faces flagged, "
      f"{nev.fpr_at_threshold:.0%} of faces")
""")

code(r"""
# plant a mislabelled file: a non-face filed under face/
wrong = work / "train" / "face" / "zz_planted.png"
cvtools.write(wrong, x[[i for i in tr if y[i] == "non-face"][0]])
for r in recognize.find_outliers(work / "train")[:5]:
    print(Path(r["path"]).relative_to(work), r["label"], "->", r["suggested"], f"{r['score']:.2f}", r["reasons"])
wrong.unlink()
""")

md(r"""
## 5 · A face gallery and its distance threshold

Identification does not train a classifier. dlib's ResNet maps every aligned face to a **128-d descriptor**
such that two photos of one person land close together (99.38 % on the LFW pairs benchmark). A gallery stores
the descriptors of known people; a new face takes the name of the **nearest** gallery face — unless even that
is farther than the threshold (0.6 by default, as in face_recognition), in which case it is `"unknown"`.
Descriptors are cached on disk, keyed by each file's content hash, so rebuilding a big gallery is instant.
""")

code(r"""
import cv2, matplotlib
hopper = cvtools.read(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", "rgb")
astronaut = data.astronaut()
people = work / "people"
for name in ("eileen_collins", "grace_hopper"):
    (people / name).mkdir(parents=True)
cvtools.write(people / "eileen_collins" / "1.png", cv2.resize(astronaut, (256, 256)))
cvtools.write(people / "grace_hopper" / "1.png", cv2.resize(hopper, (256, 300)))
gallery = Gallery.from_folder(people)
print(gallery, "cache:", [p.name for p in (people / ".cvtools-cache").iterdir()])

scene = np.full((300, 560, 3), 90, np.uint8)
scene[20:254, 10:210] = cv2.resize(hopper, (200, 234))
scene[40:260, 300:520] = cv2.resize(np.ascontiguousarray(astronaut[:, ::-1]), (220, 220))  # mirrored
det = gallery.identify(scene)
for d in describe_detections(scene, det):
    print(d["identity"], d["distance"], d["position"], d["size"], d["color"])
plt.figure(figsize=(7, 4)); plt.imshow(viz.draw_detections(scene, det)); plt.axis("off");
""")

md(r"""
(The faces were found by the gallery's detector, YuNet (`cvtools.detect.get("face")`), and aligned to dlib's
chip with its five landmarks; `Gallery(detector="face-dlib-hog", align="shape-predictor")` is
face_recognition's way, with dlib's HOG detector and shape predictor.)

**The threshold** decides between two errors: too high and a stranger takes the name of the nearest known
person; too low and known people come back "unknown". With only Eileen Collins in the gallery, Grace Hopper's
face must be unknown — and is, because her distance is above 0.6:
""")

code(r"""
only_eileen = Gallery("face").add("eileen_collins", astronaut)
d = only_eileen.identify(scene)
for t in (0.3, 0.6, 0.9):
    only_eileen.threshold = t
    names = only_eileen.match(gallery.embeddings)[0]   # the two gallery photos as probes
    print(f"threshold {t}: Eileen's photo -> {names[0]}, Grace's photo -> {names[1]}")
print("distances of the scene's faces to Eileen:", np.round(d.distances, 3))
""")

md(r"""
Objects work the same way with `Gallery.from_folder(root, kind="object")`: SIFT keypoints of each gallery
photo, Lowe's ratio test, a RANSAC homography — the result carries the object's outline in the scene
(`detections.polygons`). See `docs/recognition.md` for the CLI (`cvtools train`, `cvtools classify`,
`cvtools identify`) and the measured figures.
""")

save("03_recognition_and_identification.ipynb")
