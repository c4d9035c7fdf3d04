"""Labelled image sets in and out: COCO, YOLO (Ultralytics layout), Pascal VOC, and class folders.

:func:`load` reads any of them into a :class:`Dataset` — a sequence of :class:`Sample` (``.path``,
``.detections`` as :class:`cvtools.Detections` in pixels with class names as labels, ``.size`` from
the image header, ``.read()``) plus ``.classes`` — and :meth:`Dataset.save` writes any of them, so
converting is ``load(src).save(dst, format="coco")`` (``cvtools convert`` on the command line).
Malformed input raises :class:`DatasetError` naming the file and line; ``strict=False`` skips the bad
item and lists it in ``Dataset.skipped`` instead. See docs/datasets.md for each format.

Examples
--------
>>> import tempfile, pathlib, numpy as np, cvtools
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for sub in ("images/train", "labels/train"): (d / sub).mkdir(parents=True)
>>> _ = cvtools.write(d / "images/train/a.png", np.zeros((40, 60, 3), np.uint8))
>>> _ = (d / "labels/train/a.txt").write_text("1 0.5 0.5 0.5 0.5\\n")
>>> _ = (d / "data.yaml").write_text("train: images/train\\nval: images/train\\nnames: [cat, dog]\\n")
>>> ds = load(d)
>>> ds.format, len(ds), ds.classes, ds[0].size, ds[0].detections.xyxy.tolist()
('yolo', 1, ['cat', 'dog'], (40, 60), [[15.0, 10.0, 45.0, 30.0]])
>>> print(ds.save(d / "as-coco", format="coco"))  # doctest: +ELLIPSIS
wrote coco data set .../as-coco: 1 images, 1 boxes, 2 classes
"""
from __future__ import annotations

import os
from pathlib import Path

from .._shared import check_choice
from ._dataset import FORMATS, WRITERS, Dataset, DatasetError, Problem, Reporter, Sample, SaveSummary, image_size
from . import _coco, _folder, _voc, _yolo

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from collections.abc import Sequence

WRITERS.update(coco=_coco.save, yolo=_yolo.save, voc=_voc.save, folder=_folder.save)

__all__ = ["load", "detect_format", "Dataset", "Sample", "DatasetError", "Problem", "SaveSummary", "FORMATS",
           "image_size"]


def detect_format(path: str | os.PathLike) -> str:
    """Which format a path holds: ``"coco"``, ``"yolo"``, ``"voc"`` or ``"folder"``.

    A ``.json`` file is COCO and a ``.yaml`` file YOLO; a folder is VOC when it has ``Annotations/``,
    YOLO when it has a ``data.yaml`` (or ``images/`` and ``labels/``), COCO when it has a COCO JSON
    (in ``annotations/`` or itself), and class folders when its sub-folders hold images.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"data set {str(path)!r} does not exist.")
    if path.is_file():
        ext = path.suffix.lower()
        if ext == ".json":
            return "coco"
        if ext in (".yaml", ".yml"):
            return "yolo"
        raise DatasetError("cannot tell the format of this file: give a COCO .json, a YOLO .yaml, or a folder.",
                           path=path)
    if (path / "Annotations").is_dir() or path.name == "Annotations":
        return "voc"
    if _yolo.find_yaml(path) is not None or ((path / "images").is_dir() and (path / "labels").is_dir()):
        return "yolo"
    if _coco.find_annotation_files(path, None):
        return "coco"
    if _voc.find_root(path) is not None:
        return "voc"
    from ..io import iter_images

    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if next(iter_images(sub), None) is not None:
            return "folder"
    raise DatasetError("not a data set cvtools knows: no COCO JSON, YOLO data.yaml, VOC Annotations/ or "
                       "class sub-folders with images.", path=path)


def load(path: str | os.PathLike, format: str = "auto", *, split: str | None = None, images: str | os.PathLike | None = None, classes: Sequence[str] | None = None,
         strict: bool = True) -> Dataset:
    """Read a labelled image set.

    Parameters
    ----------
    path : str or pathlib.Path
        COCO: the instances ``.json`` or a folder holding it (in ``annotations/`` or at the top);
        YOLO: the ``data.yaml`` or its folder; VOC: the folder with ``Annotations/`` (or a
        ``VOCdevkit`` with one such folder); folder: the folder of class sub-folders.
    format : {"auto", "coco", "yolo", "voc", "folder"}
        ``"auto"`` looks at the path (:func:`detect_format`).
    split : str, optional
        Read only this split: a key of YOLO's ``data.yaml`` (``"train"``, ``"val"``...), COCO's
        ``instances_<split>.json``, VOC's ``ImageSets/Main/<split>.txt``. Default: every split,
        each sample's ``split`` saying which.
    images : path, optional
        COCO only: the images folder, when it is not beside the JSON (``images/``, ``images/<split>``,
        ``<split>/`` next to the JSON or above its ``annotations/`` folder).
    classes : sequence of str, optional
        Class names, in order: for YOLO folders without ``data.yaml``, for VOC (default: its
        ``classes.txt``, else the sorted names found), to restrict a class-folder set.
    strict : bool
        True: the first problem (a label line with the wrong field count, a class index outside the
        names, a box outside the image, an annotation for a missing image, malformed XML or JSON)
        raises :class:`DatasetError` naming the file and line. False: the bad line, box or image is
        skipped and recorded in ``Dataset.skipped`` (a file that cannot be parsed at all, such as a
        broken COCO JSON or data.yaml, still raises).

    Returns
    -------
    Dataset
    """
    check_choice(format, ("auto",) + FORMATS, name="format")

    path = Path(os.fspath(path)).expanduser()
    if format == "auto":
        format = detect_format(path)
    elif format != "folder" and not path.exists():  # (the class-folder reader says it itself)
        raise FileNotFoundError(f"data set {str(path)!r} does not exist.")
    if images is not None and format != "coco":
        raise ValueError(f"`images` is for COCO files only; got format {format!r}.")
    if classes is not None:
        if isinstance(classes, str):
            raise TypeError(f"`classes` must be a sequence of names; got the string {classes!r}.")
        classes = [str(c) for c in classes]
    report = Reporter(strict)

    if format == "coco":
        return _coco.load(path, split=split, images=images, report=report, classes=classes)
    if format == "yolo":
        return _yolo.load(path, split=split, classes=classes, report=report)
    if format == "voc":
        return _voc.load(path, split=split, classes=classes, report=report)
    if split is not None:
        raise ValueError("class-folder data sets have no splits; `split` must be None.")
    return _folder.load(path, classes=classes, report=report)
