"""Novelty and outlier detection: what does not look like the images seen as normal."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._shared import check_choice
from ._data import as_image_list, check_size, is_gray, load_folder, load_images
from ._features import hog_features

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    import os

FEATURES = ("hog", "cnn")
NOVELTY_METHODS = ("lof", "isolation-forest", "distance")


@dataclass(frozen=True)
class NoveltyEvaluation:
    """ROC analysis of a novelty detector on normal (negative) and unusual (positive) images.

    Attributes
    ----------
    roc_auc : float
        Area under the ROC curve: the probability that an unusual image scores higher than a
        normal one (1 perfect, 0.5 chance).
    fpr, tpr, thresholds : float32 ndarrays
        The ROC curve: false- and true-positive rates as the score threshold moves down.
    threshold : float
        The detector's own threshold (:attr:`NoveltyDetector.threshold_`).
    fpr_at_threshold, tpr_at_threshold : float
        Rates of :meth:`NoveltyDetector.predict` at that threshold.
    """

    roc_auc: float
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    threshold: float
    fpr_at_threshold: float
    tpr_at_threshold: float

    def to_dict(self) -> dict:
        return {"roc_auc": self.roc_auc, "threshold": self.threshold,
                "fpr_at_threshold": self.fpr_at_threshold, "tpr_at_threshold": self.tpr_at_threshold}


def _roc(normal_scores, unusual_scores):
    from ..metrics import auc, roc_curve

    y = np.r_[np.zeros(len(normal_scores), np.int64), np.ones(len(unusual_scores), np.int64)]
    fpr, tpr, thr = roc_curve(y, np.r_[normal_scores, unusual_scores])
    return auc(fpr, tpr), fpr, tpr, thr


class NoveltyDetector:
    """Learn what normal images look like; score how unusual new ones are.

    Parameters
    ----------
    features : {"hog", "cnn"}
        ``"hog"``: HOG descriptors (see :func:`hog_features`). ``"cnn"``: the pooled features of
        a residual network: pass ``model=`` a trained :class:`CnnClassifier` (best), otherwise a
        randomly initialised, seeded network is used (random convolutional features: a weak but
        training-free baseline).
    method : {"lof", "isolation-forest", "distance"}
        ``"lof"``: local outlier factor (Breunig et al. 2000) in novelty mode; ``"isolation-forest"``
        (Liu et al. 2008); ``"distance"``: mean distance to the ``n_neighbors`` nearest normal images.
    image_size : int or (int, int)
        Images are resized to this before the features.
    contamination : float
        Fraction of the *training* images allowed above the threshold: :attr:`threshold_` is the
        ``1 - contamination`` quantile of the training scores (each scored without itself for
        ``lof`` and ``distance``). So about ``contamination`` of new normal images are flagged too.
    n_neighbors : int
        Neighbours for ``lof`` and ``distance``.
    model : CnnClassifier, optional
        Feature extractor for ``features="cnn"``.
    seed : int
        Seeds the isolation forest and the random CNN.

    Notes
    -----
    HOG features are centred on the normal images (their blocks are already normalised); CNN
    features are also divided by their standard deviation. No dimension is dropped: a novel
    image often differs exactly along directions the normal images never vary in. Scores are float32, higher = more unusual; their scale depends on the method.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bars = np.kron(np.tile([40, 200], 4), np.ones(4)).astype(np.uint8)[None].repeat(32, 0)
    >>> normal = [bars + rng.integers(0, 30, bars.shape).astype(np.uint8) for _ in range(20)]
    >>> det = NoveltyDetector(method="distance", image_size=32, n_neighbors=3).fit(normal)
    >>> odd = normal[0].T.copy()  # the bars turned 90 degrees
    >>> bool(det.score([odd])[0] > det.score(normal[:1])[0]), bool(det.predict([odd])[0])
    (True, True)
    """

    def __init__(self, features: str = "hog", method: str = "lof", *, image_size=64,
                 contamination: float = 0.05, n_neighbors: int = 10, model=None, seed: int = 0):
        self.features = check_choice(features, FEATURES, name="features")
        self.method = check_choice(method, NOVELTY_METHODS, name="method")
        self.image_size = check_size(image_size)
        if not 0 <= contamination < 0.5:
            raise ValueError(f"`contamination` must be in [0, 0.5); got {contamination}.")
        self.contamination = float(contamination)
        self.n_neighbors = int(n_neighbors)
        if model is not None and not hasattr(model, "embed"):
            raise TypeError(f"`model` must be a CnnClassifier (it needs .embed); got {type(model).__name__}.")
        self.model = model
        self.seed = int(seed)
        self.threshold_ = None

    # -- features ----------------------------------------------------------------------------------
    def _raw(self, items) -> np.ndarray:
        if self.features == "hog":
            return hog_features(items, image_size=self.image_size, channels=self.channels_)
        if self.model is not None:
            return self.model.embed(items)
        if getattr(self, "_random_cnn", None) is None:
            from ._cnn import CnnClassifier, build_net

            arch = {"widths": [16, 32, 64], "blocks": 1, "dropout": 0.0,
                    "stem_stride": 2 if min(self.image_size) >= 48 else 1}
            net = build_net(arch, self.channels_, 2, seed=self.seed)
            state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
            self._random_cnn = CnnClassifier(["a", "b"], self.image_size, self.channels_, arch=arch,
                                             mean=[0.5] * self.channels_, std=[0.25] * self.channels_,
                                             state=state)
        return self._random_cnn.embed(items)

    def _project(self, feats):
        return (feats - self._mean) / self._scale

    def transform(self, images) -> np.ndarray:
        """The (centred; for CNN features standardised) feature rows the detector works on."""
        self._check_fitted()
        return self._project(self._raw(load_images(as_image_list(images))))

    # -- fit / score ----------------------------------------------------------------------------------
    def fit(self, images) -> "NoveltyDetector":
        """Fit on images of what is normal (at least ``n_neighbors + 2`` of them); returns self."""
        items = load_images(as_image_list(images))
        if len(items) < max(self.n_neighbors + 2, 3):
            raise ValueError(f"`images` must hold at least {max(self.n_neighbors + 2, 3)} normal images "
                             f"(n_neighbors + 2); got {len(items)}.")
        if self.model is not None:
            self.channels_ = self.model.channels
            self.image_size = self.model.image_size
        else:
            self.channels_ = 1 if all(is_gray(im) for im in items) else 3
        feats = self._raw(items).astype(np.float64)
        self._mean = feats.mean(0)
        if self.features == "hog":  # HOG blocks are already normalised: plain Euclidean geometry
            self._scale = np.ones_like(self._mean)
        else:
            self._scale = feats.std(0)
            self._scale[self._scale < 1e-8] = 1.0
        x = (feats - self._mean) / self._scale
        if self.method == "lof":
            from sklearn.neighbors import LocalOutlierFactor

            self._est = LocalOutlierFactor(n_neighbors=self.n_neighbors, novelty=True).fit(x)
            train_scores = -self._est.negative_outlier_factor_
        elif self.method == "isolation-forest":
            from sklearn.ensemble import IsolationForest

            self._est = IsolationForest(n_estimators=200, random_state=self.seed).fit(x)
            train_scores = -self._est.score_samples(x)
        else:
            from sklearn.neighbors import NearestNeighbors

            self._est = NearestNeighbors(n_neighbors=self.n_neighbors).fit(x)
            dist, _ = self._est.kneighbors(x, n_neighbors=self.n_neighbors + 1)
            train_scores = dist[:, 1:].mean(1)  # without the image itself
        self.train_scores_ = np.asarray(train_scores, np.float32)
        self.threshold_ = float(np.quantile(self.train_scores_, 1 - self.contamination))
        return self

    def _check_fitted(self):
        if self.threshold_ is None:
            raise RuntimeError("this NoveltyDetector is not fitted yet; call .fit(normal_images) first.")

    def _score_x(self, x) -> np.ndarray:
        if self.method == "lof":
            return (-self._est.score_samples(x)).astype(np.float32)
        if self.method == "isolation-forest":
            return (-self._est.score_samples(x)).astype(np.float32)
        dist, _ = self._est.kneighbors(x, n_neighbors=self.n_neighbors)
        return dist.mean(1).astype(np.float32)

    def score(self, images) -> np.ndarray:
        """How unusual each image is: ``(N,)`` float32, higher = more unusual."""
        self._check_fitted()
        items = as_image_list(images)
        if not items:
            return np.zeros(0, np.float32)
        return self._score_x(self.transform(items))

    def predict(self, images) -> np.ndarray:
        """``(N,)`` bool: True where the image is unusual (score above :attr:`threshold_`)."""
        return self.score(images) > self.threshold_

    def evaluate(self, normal, unusual) -> NoveltyEvaluation:
        """ROC curve and AUC with ``normal`` images as negatives and ``unusual`` ones as positives."""
        sn, su = self.score(normal), self.score(unusual)
        if not len(sn) or not len(su):
            raise ValueError("`normal` and `unusual` must both hold at least one image.")
        auc, fpr, tpr, thr = _roc(sn, su)
        return NoveltyEvaluation(auc, fpr.astype(np.float32), tpr.astype(np.float32), thr.astype(np.float32),
                                 self.threshold_, float((sn > self.threshold_).mean()),
                                 float((su > self.threshold_).mean()))

    def __repr__(self) -> str:
        state = "fitted" if self.threshold_ is not None else "not fitted"
        return f"NoveltyDetector(features={self.features!r}, method={self.method!r}, {state})"


def find_outliers(root: str | os.PathLike, *, features: str = "hog", method: str = "lof", image_size: int | tuple[int, int] =64,
                  contamination: float = 0.05, n_neighbors: int = 5, seed: int = 0,
                  all_files: bool = False) -> list[dict]:
    """Suspicious files in a ``root/<class>/<image>`` training folder.

    Two checks, both leave-one-out so an image never vouches for itself:

    * **mislabelled**: a logistic regression on the features, cross-validated (each image is
      predicted by a model that never saw it), gives the probability of the folder's label;
      ``score = 1 - p(label)``; flagged when another class is more probable
      (``suggested`` names it). Needs two classes or more.
    * **unusual for its class**: a :class:`NoveltyDetector` (``method``) over the class's own
      images; flagged above its ``1 - contamination`` quantile (``outlier_score``).

    Parameters
    ----------
    root : str or pathlib.Path
        The training folder.
    features, method, image_size, n_neighbors, seed
        As for :class:`NoveltyDetector`.
    contamination : float
        Expected fraction of odd images per class.
    all_files : bool
        Return every file (with its scores) instead of only the flagged ones.

    Returns
    -------
    list of dict
        ``{"path", "label", "score", "suggested", "outlier_score", "reasons"}``, most suspicious
        first (by ``score``, then ``outlier_score``).
    """
    paths, labels, classes = load_folder(root)
    classes = sorted(set(labels.tolist()))
    items = load_images(paths)
    n = len(items)
    probe = NoveltyDetector(features, method, image_size=image_size, contamination=contamination,
                            n_neighbors=max(1, min(n_neighbors, n - 3)), seed=seed).fit(items)
    x = probe._project(probe._raw(items))  # features standardised over the whole folder
    score = np.zeros(n)
    suggested = labels.copy().astype(object)
    mislabel = np.zeros(n, bool)
    counts = np.array([(labels == c).sum() for c in classes])
    if len(classes) >= 2 and counts.min() >= 2:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        folds = StratifiedKFold(n_splits=int(min(5, counts.min())), shuffle=True, random_state=seed)
        proba = cross_val_predict(LogisticRegression(max_iter=2000, C=0.1), x, labels, cv=folds,
                                  method="predict_proba")
        col = np.searchsorted(np.array(classes), labels)
        p_label = proba[np.arange(n), col]
        score = 1 - p_label
        best = proba.argmax(1)
        suggested = np.array(classes, dtype=object)[best]
        mislabel = best != col
    outlier = np.zeros(n)
    unusual = np.zeros(n, bool)
    for c in classes:
        idx = np.flatnonzero(labels == c)
        if len(idx) < 5:
            continue
        det = NoveltyDetector(features, method, image_size=image_size, contamination=contamination,
                              n_neighbors=max(1, min(n_neighbors, len(idx) - 3)), seed=seed)
        det.fit([items[i] for i in idx])
        outlier[idx] = det.train_scores_ / max(det.threshold_, 1e-12)
        unusual[idx] = det.train_scores_ > det.threshold_
    out = []
    for i in np.lexsort((-outlier, -score)):
        reasons = []
        if mislabel[i]:
            reasons.append(f"looks like {suggested[i]!r}")
        if unusual[i]:
            reasons.append("unusual for its class")
        if reasons or all_files:
            out.append({"path": str(paths[i]), "label": str(labels[i]), "score": float(score[i]),
                        "suggested": str(suggested[i]), "outlier_score": float(outlier[i]),
                        "reasons": reasons})
    return out
