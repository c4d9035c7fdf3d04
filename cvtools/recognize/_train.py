"""`train`: fit a classifier on a ``root/<class>/<image>`` folder."""
from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np

from .._shared import CvtoolsWarning, check_choice, check_device
from ._data import as_image_list, check_size, is_gray, load_folder, load_images
from ._model import Classifier

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from collections.abc import Sequence

METHODS = ("hog-svm", "cnn")


def _split(n_classes, labels, val_split, seed):
    from sklearn.model_selection import train_test_split

    n = len(labels)
    idx = np.arange(n)
    if not val_split:
        return idx, idx[:0]
    if not 0 < val_split < 1:
        raise ValueError(f"`val_split` must be in [0, 1); got {val_split}.")
    counts = np.unique(labels, return_counts=True)[1]
    if counts.min() < 2:
        warnings.warn("a class has a single image, so no validation split is made (val_split ignored); "
                      "accuracy on the training images is not an estimate of anything.",
                      CvtoolsWarning, stacklevel=3)
        return idx, idx[:0]
    size = min(max(math.ceil(n * val_split), n_classes), n - n_classes)
    tr, va = train_test_split(idx, test_size=size, stratify=labels, random_state=seed)
    return np.sort(tr), np.sort(va)


def train(root: str | os.PathLike | tuple[Sequence, Sequence], method: str = "hog-svm", *, image_size: int | tuple[int, int] =64, channels: int | str ="auto", seed: int = 0,
          val_split: float = 0.2, kfold: int | None = None, epochs: int = 30, batch_size: int = 32,
          lr: float = 2e-3, patience: int = 5, augment: bool = True, flip: bool = True,
          widths: Sequence[int] =(32, 64, 128), blocks: int = 1, dropout: float = 0.3, svm_c: float = 0.1,
          progress: bool | None = None, device: str = "cpu") -> Classifier:
    """Train an image classifier on a folder laid out as ``root/<class>/<image>``.

    Parameters
    ----------
    root : str, pathlib.Path or (images, labels)
        A folder with one sub-folder per class (its name is the label), or a pair of a sequence of
        images (arrays or paths) and their labels.
    method : {"hog-svm", "cnn"}
        ``"hog-svm"``: HOG descriptors, standardised, a one-vs-rest linear SVM (scikit-learn) with
        sigmoid-calibrated scores; fast, works from a handful of images per class.
        ``"cnn"``: a small residual network (torch, CPU) trained with albumentations augmentation
        and early stopping on the validation split; needs the ``torch`` and ``augment`` extras.
    image_size : int or (int, int)
        Images are resized to this (height, width), aspect not kept.
    channels : {"auto", 1, 3}
        Luma or RGB; ``"auto"`` picks 1 when every training image is gray, else 3.
    seed : int
        Seeds the split, the folds, torch and the augmentation: same data + same seed = same model
        (on the same machine and torch version).
    val_split : float
        Fraction held out (stratified) for validation: early stopping for ``cnn``, the reported
        ``info["val_accuracy"]`` for both. The final model never sees these images. 0 trains on all.
    kfold : int, optional
        Also run stratified k-fold cross-validation first; accuracies in ``info["cv_accuracy"]``.
    epochs, batch_size, lr, patience : int, int, float, int
        ``cnn`` training: at most ``epochs`` passes (AdamW, cosine schedule), stopped when the
        validation loss has not improved for ``patience`` epochs (the best weights are kept).
    augment, flip : bool
        ``cnn``: random affine jitter and brightness/contrast (and horizontal flips when ``flip``).
    widths, blocks, dropout : tuple of int, int, float
        ``cnn`` architecture: channels of each stage, bottleneck blocks per stage, dropout before
        the last layer.
    svm_c : float
        ``hog-svm``: the SVM's regularisation constant C (smaller = smoother).
    progress : bool, optional
        Progress bar on stderr; default: only when stderr is a terminal.
    device : {"cpu", "auto", "cuda", "cuda:N"}
        ``cnn``: where torch trains ("auto": CUDA when torch sees a GPU, else the CPU). The CPU run is
        deterministic (same data + seed = same model); a CUDA run is not bit-for-bit repeatable. The
        saved model is the same kind either way and predicts on the CPU. ``hog-svm`` runs on the CPU
        and accepts only "cpu" or "auto".

    Returns
    -------
    Classifier
        :class:`HogSvmClassifier` or :class:`CnnClassifier`, with ``.predict``, ``.evaluate``,
        ``.save`` and ``.info`` (sizes, seconds, validation/cross-validation accuracy).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> dark = [rng.integers(0, 60, (16, 16), dtype=np.uint8) for _ in range(6)]
    >>> bars = [np.tile(np.array([0, 255] * 8, np.uint8), (16, 1)) for _ in range(6)]
    >>> clf = train((dark + bars, ["dark"] * 6 + ["bars"] * 6), image_size=16, val_split=0)
    >>> clf.predict([bars[0], dark[0]])[0].tolist()
    ['bars', 'dark']
    """
    check_choice(method, METHODS, name="method")
    device = check_device(device)
    if method == "hog-svm" and device not in ("cpu", "auto"):
        raise ValueError(f"`device`={device!r}: method='hog-svm' runs on the CPU (scikit-learn); "
                         f"device applies to method='cnn'.")
    size = check_size(image_size)
    if isinstance(root, tuple) and len(root) == 2 and not isinstance(root[0], (str, os.PathLike)):
        items = as_image_list(root[0])
        labels = np.asarray([str(v) for v in root[1]])
        if len(items) != len(labels):
            raise ValueError(f"`root` images and labels differ in length: {len(items)} and {len(labels)}.")
        classes = sorted(set(labels.tolist()))
        items = load_images(items)
    else:
        paths, labels, classes = load_folder(root)
        classes = sorted(set(labels.tolist()))
        items = load_images(paths)
    if len(classes) < 2:
        raise ValueError(f"`root` must hold at least two classes to train a classifier; got {classes}. "
                         "For one class of 'normal' images use NoveltyDetector.")
    if channels == "auto":
        channels = 1 if all(is_gray(im) for im in items) else 3
    check_choice(channels, (1, 3), name="channels")
    if kfold is not None and (isinstance(kfold, bool) or int(kfold) < 2):
        raise ValueError(f"`kfold` must be an integer >= 2 or None; got {kfold!r}.")

    common = dict(image_size=size, channels=channels, seed=seed)
    cnn_opts = dict(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), patience=int(patience),
                    augment=augment, flip=flip, widths=tuple(widths), blocks=blocks, dropout=dropout,
                    progress=progress, device=device)

    def fit(tr, va, info):
        xt = [items[i] for i in tr]
        xv = [items[i] for i in va]
        if method == "hog-svm":
            from ._model import train_hog_svm

            return train_hog_svm(xt, labels[tr], classes, svm_c=svm_c, val_items=xv, y_val=labels[va],
                                 info=info, **common)
        from ._cnn import train_cnn

        return train_cnn(xt, labels[tr], classes, val_items=xv, y_val=labels[va], info=info,
                         **common, **cnn_opts)

    info = {"method": method, "n_images": len(items), "class_counts":
            {c: int((labels == c).sum()) for c in classes}, "seed": seed}
    t0 = time.perf_counter()
    if kfold:
        from sklearn.model_selection import StratifiedKFold

        accs = []
        folds = StratifiedKFold(n_splits=int(kfold), shuffle=True, random_state=seed)
        for tr, te in folds.split(np.zeros(len(labels)), labels):
            if method == "cnn" and val_split:  # early stopping on a split of the training folds only
                inner_tr, inner_va = _split(len(classes), labels[tr], val_split, seed)
                m = fit(tr[inner_tr], tr[inner_va], {})
            else:
                m = fit(tr, tr[:0], {})
            pred, _ = m.predict([items[i] for i in te])
            accs.append(float((pred == labels[te]).mean()))
        info.update(cv_folds=int(kfold), cv_accuracy=accs, cv_mean=float(np.mean(accs)),
                    cv_std=float(np.std(accs)), cv_seconds=time.perf_counter() - t0)
    tr, va = _split(len(classes), labels, val_split, seed)
    info.update(n_train=int(len(tr)), n_val=int(len(va)))
    return fit(tr, va, info)
