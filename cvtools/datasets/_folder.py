"""Class folders for classification: ``root/<class>/<image>`` (what ``cvtools.recognize.train`` reads)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._dataset import Dataset, Sample, output_names, place_image


def scan(root, *, classes=None):
    """List ``root/<class>/<image>`` files: ``(paths, labels, classes)`` in sorted order.

    A class is a direct sub-folder of ``root`` (hidden folders are skipped); images may sit in
    deeper folders below it. ``classes`` restricts (and orders) the classes used.
    """
    from ..io import iter_images

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"`root` {str(root)!r} is not a folder; expected root/<class>/<image>.")
    found = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if classes is None:
        classes = found
    paths, labels = [], []
    for name in classes:
        folder = root / name
        if not folder.is_dir():
            continue
        for p in iter_images(folder):
            paths.append(p)
            labels.append(name)
    if not paths:
        raise ValueError(f"`root` {str(root)!r} holds no images in class sub-folders; "
                         "expected root/<class>/<image> (e.g. root/cat/1.jpg).")
    return paths, np.array(labels), list(classes)


def load(path: Path, *, classes=None, report=None) -> Dataset:
    paths, labels, names = scan(path, classes=classes)
    samples = [Sample(p, label=str(lab)) for p, lab in zip(paths, labels)]
    return Dataset(samples, classes=names, format="folder", root=path,
                   skipped=[] if report is None else report.problems)


def save(dataset: Dataset, root: Path, *, link: bool, summary) -> None:
    missing = [str(s.path) for s in dataset if s.label is None]
    if missing:
        raise ValueError(f"format='folder' needs each image's class (Sample.label); {len(missing)} images have "
                         f"none, e.g. {missing[0]!r}. Box data sets are saved as coco, yolo or voc.")
    tmp = Dataset([s.replace(split=s.label) for s in dataset], classes=dataset.classes)
    for s, name in zip(dataset, output_names(tmp)):
        place_image(s.path, root / s.label / name, link=link)
        summary.images += 1
