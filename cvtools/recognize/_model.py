"""Trained classifiers: a common interface, data-only files, and the HOG + linear SVM recogniser."""
from __future__ import annotations

import abc
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ._data import as_image_list, load_folder
from ._evaluate import Evaluation
from ._features import HOG_PARAMS, hog_features, hog_length
from ._modelfile import (MAX_MODEL_BYTES, Invalid, _parse_meta, _short, check_array, check_common,
                         check_no_extra)

FORMAT = "cvtools.recognize"
FORMAT_VERSION = 1
_CHUNK = 256  # images read and classified at a time, so evaluate() on a big folder stays small
_CHUNK_BYTES = 2 ** 26  # ... and at most this many bytes of resized float32 images at a time


class Classifier(abc.ABC):
    """A trained image classifier (base class of :class:`HogSvmClassifier` and :class:`CnnClassifier`).

    Attributes
    ----------
    classes : list of str
        Class names, in the order of the columns of :meth:`predict_proba`.
    image_size : (int, int)
        Height and width images are resized to.
    channels : int
        1 (luma) or 3 (RGB): what the model looks at.
    info : dict
        Training facts: sizes, seconds, validation accuracy, cross-validation scores, history.
    """

    method = "?"

    def __init__(self, classes, image_size, channels, info=None):
        self.classes = [str(c) for c in classes]
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.channels = int(channels)
        self.info = dict(info or {})

    # -- to implement ----------------------------------------------------------------------------
    @abc.abstractmethod
    def _proba(self, items) -> np.ndarray:
        """Class probabilities, (N, n_classes), for a list of images."""

    @abc.abstractmethod
    def _arrays(self) -> dict:
        """The model's weights as named numpy arrays (saved with np.savez, loaded without pickle)."""

    def _meta(self) -> dict:
        return {}

    # -- common ------------------------------------------------------------------------------------
    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities, ``(N, len(classes))`` float32, rows summing to 1.

        ``images``: one image array, a stack ``(N, H, W[, C])``, a path, or a sequence of arrays
        and paths.
        """
        items = as_image_list(images)
        if not items:
            return np.zeros((0, len(self.classes)), np.float32)
        per_image = 4 * self.image_size[0] * self.image_size[1] * self.channels
        chunk = max(1, min(_CHUNK, _CHUNK_BYTES // per_image))
        parts = [self._proba(items[i:i + chunk]) for i in range(0, len(items), chunk)]
        return np.concatenate(parts).astype(np.float32)

    def predict(self, images):
        """Labels and scores: ``(labels, scores)``.

        Returns
        -------
        labels : (N,) str ndarray
            The most probable class of each image.
        scores : (N,) float32 ndarray
            Its probability, in [0, 1].
        """
        proba = self.predict_proba(images)
        idx = proba.argmax(1)
        labels = np.array(self.classes)[idx] if len(idx) else np.array([], dtype=str)
        return labels, proba[np.arange(len(idx)), idx].astype(np.float32)

    def evaluate(self, root) -> Evaluation:
        """Predict every image of a ``root/<class>/<image>`` folder and compare with its folder name.

        Returns an :class:`Evaluation` (confusion matrix, per-class precision/recall/F1, accuracy).
        Classes of the folder the model does not know count as errors.
        """
        paths, labels, _ = load_folder(root)
        pred, _ = self.predict(paths)
        return Evaluation.from_labels(labels, pred, classes=self.classes)

    def save(self, path) -> Path:
        """Write the model to ``path`` (a ``.npz`` of plain arrays plus JSON metadata; no pickle).

        Loading it back with :func:`cvtools.recognize.load` can never run code. The model is
        checked exactly as :func:`load` will check it first, so what is written always loads
        (a model that :func:`load` would refuse, e.g. with NaN weights after a diverged training,
        raises ``ValueError`` here and nothing is written).
        """
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "method": self.method,
                "classes": self.classes, "image_size": list(self.image_size),
                "channels": self.channels, "info": _jsonable(self.info), **self._meta()}
        arrays = {k: np.ascontiguousarray(v) for k, v in self._arrays().items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"model array {k!r} has dtype object; only numeric arrays are saved.")
        raw = json.dumps(meta).encode("utf-8")
        try:
            total = len(raw) + sum(v.nbytes for v in arrays.values())
            if total > MAX_MODEL_BYTES:
                raise Invalid(f"it would hold {total:,} bytes; a model file may hold at most {MAX_MODEL_BYTES:,}")
            parsed = _parse_meta(np.frombuffer(raw, np.uint8))
            common = check_common(parsed, format_name=FORMAT, format_version=FORMAT_VERSION)
            type(self)._from_saved(parsed, dict(arrays), common)
        except Invalid as exc:
            raise ValueError(f"this {self.method} classifier cannot be saved as a valid model file: {exc}.") from None
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as f:
            np.savez(f, __meta__=np.frombuffer(raw, np.uint8), **arrays)
        os.replace(tmp, path)
        return path

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(classes={self.classes if len(self.classes) <= 6 else len(self.classes)}, "
                f"image_size={self.image_size}, channels={self.channels})")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


class HogSvmClassifier(Classifier):
    """HOG descriptors, standardised, into a one-vs-rest linear SVM with sigmoid-calibrated scores.

    Made by ``train(root, method="hog-svm")``; predicts with numpy only (no scikit-learn needed to
    use a saved model).
    """

    method = "hog-svm"

    def __init__(self, classes, image_size, channels, *, mean, scale, coef, intercept,
                 calib_a=None, calib_b=None, info=None):
        super().__init__(classes, image_size, channels, info)
        self.mean = np.asarray(mean, np.float64)
        self.scale = np.asarray(scale, np.float64)
        self.coef = np.asarray(coef, np.float64)
        self.intercept = np.asarray(intercept, np.float64)
        self.calib_a = None if calib_a is None else np.asarray(calib_a, np.float64)
        self.calib_b = None if calib_b is None else np.asarray(calib_b, np.float64)

    def features(self, images) -> np.ndarray:
        """The HOG rows the SVM sees (before standardisation)."""
        return hog_features(images, image_size=self.image_size, channels=self.channels)

    def decision_function(self, images) -> np.ndarray:
        """Raw SVM margins: ``(N,)`` for two classes (positive = ``classes[1]``), else ``(N, C)``."""
        return self._decision(self.features(as_image_list(images)))

    def _decision(self, feats) -> np.ndarray:
        z = (feats - self.mean) / self.scale
        d = z @ self.coef.T + self.intercept
        return d[:, 0] if self.coef.shape[0] == 1 else d

    def _proba(self, items) -> np.ndarray:
        return self._proba_from_decision(self._decision(self.features(items)))

    def _proba_from_decision(self, d) -> np.ndarray:
        from scipy.special import expit, softmax

        if self.calib_a is None:  # too few images per class to calibrate: softmax of the margins
            if d.ndim == 1:
                d = np.stack([-d, d], 1)
            return softmax(d, axis=1)
        # Platt scaling (sklearn's CalibratedClassifierCV, method="sigmoid"), reproduced in numpy
        if d.ndim == 1:
            p1 = expit(-(self.calib_a[0] * d + self.calib_b[0]))
            return np.stack([1 - p1, p1], 1)
        p = expit(-(self.calib_a * d + self.calib_b))
        s = p.sum(1, keepdims=True)
        return np.where(s > 0, p / np.where(s > 0, s, 1), 1.0 / p.shape[1])

    def _arrays(self) -> dict:
        out = {"mean": self.mean, "scale": self.scale, "coef": self.coef, "intercept": self.intercept}
        if self.calib_a is not None:
            out.update(calib_a=self.calib_a, calib_b=self.calib_b)
        return out

    def _meta(self) -> dict:
        return {"hog": HOG_PARAMS}

    @classmethod
    def _from_saved(cls, meta, arrays, common):
        hog = meta.get("hog", HOG_PARAMS)
        if hog != HOG_PARAMS:
            raise Invalid(f"`hog` parameters {_short(hog)} differ from this cvtools' {HOG_PARAMS}")
        n = len(common["classes"])
        k = 1 if n == 2 else n  # a two-class SVM has one margin
        d = hog_length(common["image_size"])
        calib = [name for name in ("calib_a", "calib_b") if name in arrays]
        if len(calib) == 1:
            raise Invalid(f"array {calib[0]!r} comes without its partner (calib_a and calib_b go together)")
        check_no_extra(arrays, ("mean", "scale", "coef", "intercept", "calib_a", "calib_b"))
        mean = check_array(arrays, "mean", (d,))
        scale = check_array(arrays, "scale", (d,))
        if not (scale != 0).all():
            raise Invalid("array 'scale' contains zeros (features are divided by it)")
        coef = check_array(arrays, "coef", (k, d))
        intercept = check_array(arrays, "intercept", (k,))
        calib_a = check_array(arrays, "calib_a", (k,)) if calib else None
        calib_b = check_array(arrays, "calib_b", (k,)) if calib else None
        return cls(common["classes"], common["image_size"], common["channels"], mean=mean, scale=scale,
                   coef=coef, intercept=intercept, calib_a=calib_a, calib_b=calib_b, info=common["info"])


def fit_hog_svm(feats, y, classes, *, svm_c: float, seed: int):
    """Fit scaler + LinearSVC (+ sigmoid calibration when every class has >= 2 images).

    Returns the arrays :class:`HogSvmClassifier` needs and whether the solver converged.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    mean = feats.mean(0)
    scale = feats.std(0)
    scale[scale < 1e-8] = 1.0
    z = (feats - mean) / scale
    yi = np.searchsorted(np.array(classes), y)
    counts = np.bincount(yi, minlength=len(classes))
    svm = LinearSVC(C=svm_c, max_iter=20000, random_state=seed)
    converged = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if counts.min() >= 2:
            model = CalibratedClassifierCV(svm, method="sigmoid", cv=int(min(3, counts.min())),
                                           ensemble=False).fit(z, yi)
            cc = model.calibrated_classifiers_[0]
            est = cc.estimator
            calib_a = np.array([c.a_ for c in cc.calibrators], np.float64)
            calib_b = np.array([c.b_ for c in cc.calibrators], np.float64)
        else:
            est = svm.fit(z, yi)
            calib_a = calib_b = None
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:  # pass on anything that is not the (harmless) convergence note
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return dict(mean=mean, scale=scale, coef=est.coef_, intercept=est.intercept_,
                calib_a=calib_a, calib_b=calib_b), converged


def train_hog_svm(x_items, y, classes, *, image_size, channels, svm_c, seed, val_items=None,
                  y_val=None, info=None) -> HogSvmClassifier:
    t0 = time.perf_counter()
    feats = hog_features(x_items, image_size=image_size, channels=channels).astype(np.float64)
    arrays, converged = fit_hog_svm(feats, y, classes, svm_c=svm_c, seed=seed)
    info = dict(info or {})
    info.update(converged=converged, n_features=int(feats.shape[1]))
    model = HogSvmClassifier(classes, image_size, channels, info=info, **arrays)
    if val_items is not None and len(val_items):
        pred, _ = model.predict(val_items)
        model.info["val_accuracy"] = float((pred == np.asarray(y_val)).mean())
    model.info["train_seconds"] = model.info.get("train_seconds", 0.0) + time.perf_counter() - t0
    return model
