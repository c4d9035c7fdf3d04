"""cvtools.recognize: training on folders, evaluation, data-only models, novelty and outliers."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

import cvtools
from cvtools import recognize
from cvtools.detect import Detections
from _recog_data import CLASSES, make_image, write_folder

TINY_CNN = dict(image_size=16, epochs=4, widths=(8, 16, 16), batch_size=16)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("recog")
    return write_folder(base / "train", 12, seed=1), write_folder(base / "test", 6, seed=2)


@pytest.fixture(scope="module")
def hog_model(folders):
    return recognize.train(folders[0], "hog-svm", image_size=24, val_split=0.25)


def test_hog_svm_learns_and_evaluates(folders, hog_model):
    clf = hog_model
    assert clf.classes == list(CLASSES) and clf.channels == 1
    assert clf.info["n_train"] == 27 and clf.info["n_val"] == 9
    assert clf.info["val_accuracy"] >= 0.85
    ev = clf.evaluate(folders[1])
    assert ev.accuracy >= 0.9
    # independent reference: scikit-learn's metrics on the same predictions
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    paths = sorted(folders[1].rglob("*.png"))
    truth = [p.parent.name for p in paths]
    pred, scores = clf.predict(paths)
    assert pred.dtype.kind == "U" and scores.dtype == np.float32 and ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_array_equal(ev.confusion, confusion_matrix(truth, pred, labels=list(CLASSES)))
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=list(CLASSES), zero_division=0)
    np.testing.assert_allclose(ev.precision, p, atol=1e-6)
    np.testing.assert_allclose(ev.recall, r, atol=1e-6)
    np.testing.assert_allclose(ev.f1, f, atol=1e-6)
    np.testing.assert_array_equal(ev.support, s)
    assert "| disc |" in ev.table() and json.loads(json.dumps(ev.to_dict()))["accuracy"] == ev.accuracy


def test_hog_svm_probabilities_match_sklearn(folders):
    """The numpy predictor reproduces scikit-learn's calibrated SVM exactly."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    paths = sorted(folders[0].rglob("*.png"))
    y = np.array([p.parent.name for p in paths])
    clf = recognize.train(folders[0], "hog-svm", image_size=24, val_split=0, svm_c=0.1)
    x = recognize.hog_features(paths, image_size=24).astype(np.float64)
    from skimage.feature import hog  # the features themselves: skimage's HOG on the resized image

    one = hog(cvtools.to_float32(cvtools.read(paths[0])), orientations=9, pixels_per_cell=(3, 3),
              cells_per_block=(2, 2), block_norm="L2-Hys")
    np.testing.assert_allclose(x[0], one, atol=1e-5)
    z = (x - x.mean(0)) / np.where(x.std(0) < 1e-8, 1, x.std(0))
    ref = CalibratedClassifierCV(LinearSVC(C=0.1, max_iter=20000, random_state=0), cv=3,
                                 ensemble=False).fit(z, np.searchsorted(np.array(CLASSES), y))
    np.testing.assert_allclose(clf.predict_proba(paths), ref.predict_proba(z), atol=1e-5)


def test_predict_accepts_arrays_stacks_and_paths(hog_model, folders):
    rng = np.random.default_rng(5)
    imgs = [make_image(c, rng) for c in CLASSES]
    a, _ = hog_model.predict(imgs)
    b, _ = hog_model.predict(np.stack(imgs))
    c, _ = hog_model.predict(imgs[0])
    assert a.tolist() == b.tolist() == list(CLASSES) and c.tolist() == ["disc"]
    rgb = np.repeat(imgs[1][..., None], 3, axis=2)
    assert hog_model.predict([rgb])[0].tolist() == ["horizontal"]
    assert hog_model.predict([cvtools.to_float32(imgs[2])])[0].tolist() == ["vertical"]
    empty_l, empty_s = hog_model.predict([])
    assert empty_l.shape == (0,) and empty_s.shape == (0,)


@pytest.mark.parametrize("method", ["hog-svm", pytest.param("cnn", marks=pytest.mark.extra("torch"))])
def test_save_load_round_trip(tmp_path, folders, method, hog_model):
    clf = hog_model if method == "hog-svm" else recognize.train(folders[0], "cnn", val_split=0.25, **TINY_CNN)
    path = clf.save(tmp_path / "model.npz")
    back = recognize.load(path)
    assert type(back) is type(clf) and back.classes == clf.classes and back.image_size == clf.image_size
    paths = sorted(folders[1].rglob("*.png"))
    np.testing.assert_allclose(back.predict_proba(paths), clf.predict_proba(paths), atol=1e-6)
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)


def test_load_never_unpickles(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "evil.npz"
    bad.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ValueError, match="not a valid cvtools model file"):
        recognize.load(bad)
    assert not marker.exists()
    # an .npy holding a pickled object array is refused too
    obj = tmp_path / "obj.npz"
    with open(obj, "wb") as f:
        np.save(f, np.array([Evil()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a valid cvtools model file"):
        recognize.load(obj)
    assert not marker.exists()
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid cvtools model file"):
        recognize.load(other)
    with pytest.raises(FileNotFoundError):
        recognize.load(tmp_path / "missing.npz")


@pytest.mark.extra("torch")
def test_cnn_trains_reproducibly(folders):
    a = recognize.train(folders[0], "cnn", seed=3, val_split=0.25, **TINY_CNN)
    b = recognize.train(folders[0], "cnn", seed=3, val_split=0.25, **TINY_CNN)
    c = recognize.train(folders[0], "cnn", seed=4, val_split=0.25, **TINY_CNN)
    assert a.state.keys() == b.state.keys()
    for k in a.state:
        np.testing.assert_array_equal(a.state[k], b.state[k])
    assert any(not np.array_equal(a.state[k], c.state[k]) for k in a.state if a.state[k].dtype.kind == "f")
    assert 1 <= a.info["epochs_run"] <= 4 and len(a.info["history"]) == a.info["epochs_run"]
    # the architecture: bottlenecks with 1x1 convolutions, batch norm, a projection skip, dropout
    import torch

    net = a.network()
    kinds = {type(m).__name__ for m in net.modules()}
    assert {"Bottleneck", "BatchNorm2d", "Dropout", "AdaptiveAvgPool2d"} <= kinds
    ones = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)]
    assert len(ones) >= 6
    assert torch.are_deterministic_algorithms_enabled() is False  # restored after training


@pytest.mark.extra("torch")
def test_cnn_learns(folders):
    clf = recognize.train(folders[0], "cnn", image_size=16, epochs=12, widths=(8, 16, 32), batch_size=8,
                          val_split=0.25, patience=12, seed=0)
    assert clf.evaluate(folders[1]).accuracy >= 0.8
    emb = clf.embed(sorted(folders[1].rglob("*.png"))[:3])
    assert emb.shape == (3, 32) and emb.dtype == np.float32


def test_kfold_reports_scores(folders):
    clf = recognize.train(folders[0], "hog-svm", image_size=24, kfold=3)
    assert len(clf.info["cv_accuracy"]) == 3 and clf.info["cv_mean"] >= 0.8


@pytest.mark.extra("torch")
def test_train_on_arrays_and_rgb(tmp_path):
    rng = np.random.default_rng(0)
    red = [np.zeros((20, 20, 3), np.uint8) + np.array([200, 30, 30], np.uint8) + rng.integers(0, 20, (20, 20, 3), dtype=np.uint8)
           for _ in range(6)]
    blue = [im[..., ::-1].copy() for im in red]
    clf = recognize.train((red + blue, ["red"] * 6 + ["blue"] * 6), "cnn", image_size=16, epochs=2,
                          widths=(8, 8, 8), val_split=0)
    assert clf.channels == 3 and clf.predict_proba(red[:2]).shape == (2, 2)


def test_train_errors(tmp_path, folders):
    with pytest.raises(ValueError, match="unknown method 'knn'"):
        recognize.train(folders[0], "knn")
    one = write_folder(tmp_path / "one", 4, seed=0, classes=("disc",))
    with pytest.raises(ValueError, match="at least two classes"):
        recognize.train(one)
    with pytest.raises(ValueError, match="`val_split` must be in"):
        recognize.train(folders[0], val_split=1.5)
    with pytest.raises(ValueError, match="`kfold` must be"):
        recognize.train(folders[0], kfold=1)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        recognize.train(tmp_path / "nope")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no images"):
        recognize.train(tmp_path / "empty")
    with pytest.raises(ValueError, match="differ in length"):
        recognize.train(([np.zeros((8, 8), np.uint8)] * 3, ["a", "b"]))
    with pytest.raises(ValueError, match="`image_size` must be at least 8x8"):
        recognize.train(folders[0], image_size=4)


def test_classify_detections(hog_model):
    rng = np.random.default_rng(9)
    tiles = [make_image(c, rng) for c in ("vertical", "disc", "horizontal")]
    scene = np.concatenate(tiles, axis=1)
    det = Detections([[0, 0, 24, 24], [24, 0, 48, 24], [48, 0, 72, 24]], labels=["thing"] * 3)
    out = recognize.classify_detections(scene, det, hog_model)
    assert out["class"].tolist() == ["vertical", "disc", "horizontal"]
    assert out["class_score"].dtype == np.float32 and len(det.data) == 0  # input untouched
    assert out.labels.tolist() == ["thing"] * 3
    assert len(recognize.classify_detections(scene, Detections.empty(), hog_model)) == 0
    with pytest.raises(TypeError, match="`classifier` must be"):
        recognize.classify_detections(scene, det, "model.npz")
    with pytest.raises(TypeError, match="`detections` must be"):
        recognize.classify_detections(scene, [[0, 0, 1, 1]], hog_model)


@pytest.mark.parametrize("method", ["lof", "isolation-forest", "distance"])
def test_novelty_separates_unusual(method):
    rng = np.random.default_rng(3)
    normal = [make_image("disc", rng) for _ in range(30)]
    new_normal = [make_image("disc", rng) for _ in range(10)]
    unusual = [make_image(c, rng) for c in ("horizontal", "vertical") for _ in range(5)]
    det = recognize.NoveltyDetector("hog", method, image_size=24, n_neighbors=5).fit(normal)
    ev = det.evaluate(new_normal, unusual)
    from sklearn.metrics import roc_auc_score

    s = np.r_[det.score(new_normal), det.score(unusual)]
    assert ev.roc_auc == pytest.approx(roc_auc_score(np.r_[np.zeros(10), np.ones(10)], s))
    if method == "isolation-forest":  # random axis-aligned splits in 1764-D HOG: weakest with 30 images
        assert ev.roc_auc >= 0.7
        return
    assert ev.roc_auc >= 0.95
    assert det.predict(unusual).mean() >= 0.8 and det.predict(new_normal).mean() <= 0.3
    # the threshold flags about `contamination` of the training images
    assert (det.train_scores_ > det.threshold_).mean() <= 0.1


@pytest.mark.extra("torch")
def test_novelty_cnn_features(folders):
    rng = np.random.default_rng(4)
    normal = [make_image("disc", rng) for _ in range(20)]
    unusual = [make_image("horizontal", rng) for _ in range(6)]
    det = recognize.NoveltyDetector("cnn", "distance", image_size=24, n_neighbors=5).fit(normal)
    assert det.evaluate([make_image("disc", rng) for _ in range(6)], unusual).roc_auc >= 0.8
    clf = recognize.train(folders[0], "cnn", val_split=0.25, **TINY_CNN)
    det2 = recognize.NoveltyDetector("cnn", "lof", model=clf, n_neighbors=5).fit(normal)
    assert det2.image_size == clf.image_size and det2.score(unusual).shape == (6,)


def test_novelty_errors():
    with pytest.raises(ValueError, match="unknown method 'svm'"):
        recognize.NoveltyDetector("hog", "svm")
    with pytest.raises(ValueError, match="unknown features 'sift'"):
        recognize.NoveltyDetector("sift")
    with pytest.raises(RuntimeError, match="not fitted"):
        recognize.NoveltyDetector().score([np.zeros((8, 8), np.uint8)])
    with pytest.raises(ValueError, match="at least 12 normal images"):
        recognize.NoveltyDetector(n_neighbors=10).fit([np.zeros((8, 8), np.uint8)] * 3)
    with pytest.raises(ValueError, match="`contamination`"):
        recognize.NoveltyDetector(contamination=0.7)


def test_find_outliers_spots_mislabelled(tmp_path):
    root = write_folder(tmp_path / "data", 10, seed=7)
    rng = np.random.default_rng(99)
    cvtools.write(root / "vertical" / "zz_wrong.png", make_image("horizontal", rng))
    found = recognize.find_outliers(root)
    assert found and found[0]["path"].endswith("zz_wrong.png")
    assert found[0]["suggested"] == "horizontal" and "looks like 'horizontal'" in found[0]["reasons"]
    everything = recognize.find_outliers(root, all_files=True)
    assert len(everything) == 31 and all(0 <= r["score"] <= 1 for r in everything)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cvtools", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_train_classify(tmp_path, folders):
    model = tmp_path / "m.npz"
    r = _cli("train", folders[0], "-o", model, "--image-size", 24, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["classes"] == list(CLASSES) and summary["method"] == "hog-svm" and model.is_file()
    files = sorted((folders[1] / "disc").glob("*.png"))[:2]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    r = _cli("classify", "--model", model, *files, bad, "--json", "--top", 2)
    assert r.returncode == 1 and "bad.png" in r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(f) for f in (*files, bad)]
    assert [row["label"] for row in rows[:2]] == ["disc", "disc"] and len(rows[0]["top"]) == 2
    assert set(rows[2]) == {"path", "error"}
    r = _cli("classify", "--model", model, folders[1], "--evaluate", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["accuracy"] >= 0.9
    r = _cli("classify", "--model", model, folders[1], "--evaluate")
    assert r.returncode == 0 and "confusion matrix" in r.stdout
    r = _cli("classify", "--model", tmp_path / "nope.npz", files[0])
    assert r.returncode == 2 and "is not a file" in r.stderr
    r = _cli("train", folders[0], "-o", model, "--method", "svm")
    assert r.returncode == 2


def test_batch_classify_op(tmp_path, hog_model):
    from cvtools.batch import get_op

    path = hog_model.save(tmp_path / "m.npz")
    img = make_image("disc", np.random.default_rng(0), size=48)
    out = get_op("classify")(img, model=str(path))
    assert out.shape == (48, 48, 3) and out.dtype == np.uint8 and not np.array_equal(out[..., 0], img)


def test_lfw_subset_faces_vs_nonfaces():
    """Real pictures: scikit-image's 25x25 faces and non-faces, a fixed split."""
    from skimage import data

    x = cvtools.to_uint8(data.lfw_subset())
    y = np.array(["face"] * 100 + ["non-face"] * 100)
    idx = np.random.default_rng(0).permutation(200)
    tr, te = idx[:150], idx[150:]
    clf = recognize.train((list(x[tr]), y[tr]), "hog-svm", image_size=24, val_split=0)
    ev = recognize.Evaluation.from_labels(y[te], clf.predict(list(x[te]))[0])
    assert ev.accuracy >= 0.9
    nov = recognize.NoveltyDetector("hog", "lof", image_size=24).fit(list(x[tr][y[tr] == "face"]))
    assert nov.evaluate(list(x[te][y[te] == "face"]), list(x[te][y[te] != "face"])).roc_auc >= 0.85


def test_import_stays_light():
    code = ("import sys, cvtools.recognize, cvtools.identify; "
            "print(sorted(m for m in ('torch', 'dlib', 'albumentations') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr
