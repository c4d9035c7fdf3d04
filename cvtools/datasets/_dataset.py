"""`Sample` and `Dataset`: a labelled image set in memory, whatever format it came from."""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._shared import CvtoolsError, check_choice
from .._shared._detections import Detections

FORMATS = ("coco", "yolo", "voc", "folder")
#: format -> ``save(dataset, root, *, link, summary)``, filled by ``cvtools.datasets`` from the format
#: modules (which import this one: the table keeps the imports one way).
WRITERS: dict = {}


class DatasetError(CvtoolsError, ValueError):
    """A data set file is malformed: names the file and, where it has one, the line.

    Attributes
    ----------
    path : str or None
    line : int or None
    """

    def __init__(self, message: str, *, path=None, line=None):
        where = "" if path is None else (f"{path}:{line}: " if line else f"{path}: ")
        super().__init__(where + message)
        self.path = None if path is None else str(path)
        self.line = line


@dataclass(frozen=True)
class Problem:
    """Something :func:`load` skipped with ``strict=False``: the file, the line (or None) and what was wrong."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


class Reporter:
    """Raise at the first problem (``strict``), or record it and let the loader skip the item."""

    def __init__(self, strict: bool):
        self.strict = bool(strict)
        self.problems: list[Problem] = []

    def __call__(self, path, line, message) -> None:
        if self.strict:
            raise DatasetError(message, path=path, line=line)
        self.problems.append(Problem(str(path), line, message))


# ------------------------------------------------------------------------------------------ images
def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file from its header (no decoding), EXIF orientation applied
    as :func:`cvtools.read` applies it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # lazy: reads the header only
                w, h = im.size
                try:
                    orientation = int(im.getexif().get(0x0112, 1) or 1)
                except Exception:  # a broken EXIF block: the pixels are read unrotated too
                    orientation = 1
    except (UnidentifiedImageError, Image.DecompressionBombError):
        from ..io import read  # formats Pillow does not parse (EXR, HDR): decode once

        return tuple(read(path).shape[:2])
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


def _check_size(size, name="size"):
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be (height, width) in pixels; got {size!r}.") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"`{name}` must be positive (height, width); got {size!r}.")
    return h, w


class Sample:
    """One image of a :class:`Dataset`: where it is, what is in it, and its size.

    Parameters
    ----------
    path : str or pathlib.Path
        The image file. It is read only when asked (:meth:`read`).
    detections : Detections, optional
        The labelled boxes in pixels, ``labels`` = class names (none when omitted).
    size : (height, width), optional
        Read from the file's header on first use when omitted (never by decoding the pixels).
    split : str, optional
        The split the image belongs to (``"train"``, ``"val"``...), when the format has splits.
    label : str, optional
        The image's class (``"folder"`` data sets, for classification).
    image_id : int or str, optional
        The id the image had in a COCO file (kept so that a COCO file written back keeps it).

    Examples
    --------
    >>> s = Sample("photo.jpg", Detections([[0, 0, 10, 10]], labels=["cat"]), size=(480, 640))
    >>> s.size, s.detections.labels.tolist()
    ((480, 640), ['cat'])
    """

    __slots__ = ("_path", "_detections", "_size", "_split", "_label", "_image_id")

    def __init__(self, path, detections=None, *, size=None, split=None, label=None, image_id=None):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"`path` must be a str or pathlib.Path; got {type(path).__name__}.")
        if detections is None:
            detections = Detections.empty()
        if not isinstance(detections, Detections):
            raise TypeError(f"`detections` must be cvtools.Detections; got {type(detections).__name__}.")
        self._path = Path(path)
        self._detections = detections
        self._size = None if size is None else _check_size(size)
        self._split = None if split is None else str(split)
        self._label = None if label is None else str(label)
        self._image_id = image_id

    path = property(lambda self: self._path, doc="The image file (pathlib.Path).")
    detections = property(lambda self: self._detections, doc="The labelled boxes (cvtools.Detections).")
    split = property(lambda self: self._split, doc="The split name, or None.")
    label = property(lambda self: self._label, doc="The image's class for classification sets, or None.")
    image_id = property(lambda self: self._image_id, doc="The image's COCO id, or None.")

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` in pixels (read from the file's header the first time when not given)."""
        if self._size is None:
            self._size = image_size(self._path)
        return self._size

    def read(self, mode: str = "unchanged") -> np.ndarray:
        """The image as :func:`cvtools.read` returns it (RGB, bit depth kept, EXIF applied)."""
        from ..io import read

        return read(self._path, mode)

    def replace(self, **changes) -> "Sample":
        """A copy with some of ``path``, ``detections``, ``size``, ``split``, ``label``, ``image_id`` changed."""
        kw = {"path": self._path, "detections": self._detections, "size": self._size, "split": self._split,
              "label": self._label, "image_id": self._image_id}
        unknown = set(changes) - set(kw)
        if unknown:
            raise ValueError(f"unknown Sample fields {sorted(unknown)}; valid: {', '.join(kw)}.")
        kw.update(changes)
        return Sample(kw.pop("path"), kw.pop("detections"), **kw)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("split", self._split), ("label", self._label)) if v is not None)
        return f"Sample({self._path.name!r}, boxes={len(self._detections)}{extra})"


@dataclass
class SaveSummary:
    """What :meth:`Dataset.save` wrote: counts, and ``notes`` on what the format could not hold."""

    path: str
    format: str
    images: int = 0
    boxes: int = 0
    classes: int = 0
    notes: list = field(default_factory=list)

    def __str__(self) -> str:
        text = f"wrote {self.format} data set {self.path}: {self.images} images, {self.boxes} boxes, {self.classes} classes"
        return text + "".join(f"\n  note: {n}" for n in self.notes)


class Dataset(Sequence):
    """A labelled image set: a sized, indexable sequence of :class:`Sample`, plus the class names.

    Made by :func:`cvtools.datasets.load`, or from samples. ``dataset[i]`` is a :class:`Sample`;
    ``dataset[2:5]`` or ``dataset[[0, 3]]`` a smaller :class:`Dataset`.

    Parameters
    ----------
    samples : iterable of Sample
    classes : sequence of str, optional
        The class names, in order (a YOLO class index is the position here). Default: the sorted
        labels of the samples. Every label must be one of them.
    format : str, optional
        The format it was read from.
    root : path, optional
        Where it was read from.
    skipped : list of Problem
        What :func:`load` skipped (``strict=False``).
    category_ids : dict, optional
        ``{class: COCO category id}`` as read from a COCO file (written back unchanged).

    Examples
    --------
    >>> ds = Dataset([Sample("a.jpg", Detections([[0, 0, 5, 5]], labels=["cat"]), size=(10, 10))],
    ...              classes=["cat", "dog"])
    >>> len(ds), ds.classes, ds[0].path.name
    (1, ['cat', 'dog'], 'a.jpg')
    """

    def __init__(self, samples, *, classes=None, format=None, root=None, skipped=(), category_ids=None):
        self._samples = list(samples)
        for i, s in enumerate(self._samples):
            if not isinstance(s, Sample):
                raise TypeError(f"`samples[{i}]` must be a cvtools.datasets.Sample; got {type(s).__name__}.")
        found = []
        for s in self._samples:
            found.extend(str(v) for v in s.detections.labels)
            if s.label is not None:
                found.append(s.label)
        if classes is None:
            classes = sorted(set(found))
        else:
            if isinstance(classes, str):
                raise TypeError(f"`classes` must be a sequence of names; got the string {classes!r}.")
            classes = [str(c) for c in classes]
            dup = sorted({c for c in classes if classes.count(c) > 1})
            if dup:
                raise ValueError(f"`classes` has duplicate names: {dup}.")
            unknown = sorted(set(found) - set(classes))
            if unknown:
                raise ValueError(f"labels {unknown} are not in `classes` {classes}.")
        self._classes = list(classes)
        self.format = format
        self.root = None if root is None else Path(root)
        self.skipped = list(skipped)
        self.category_ids = None
        if category_ids is not None and set(category_ids) >= set(self._classes):
            self.category_ids = {c: category_ids[c] for c in self._classes}

    # ------------------------------------------------------------------ sequence
    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            return self._samples[index]
        if isinstance(index, slice):
            picked = self._samples[index]
        else:
            idx = np.asarray(index)
            if idx.dtype == bool:
                if idx.shape != (len(self),):
                    raise IndexError(f"boolean mask must have shape ({len(self)},); got {idx.shape}.")
                idx = np.flatnonzero(idx)
            elif idx.dtype.kind not in "iu" and idx.size:
                raise TypeError(f"Dataset index must be an int, slice, bool mask or int array; got {idx.dtype}.")
            picked = [self._samples[int(i)] for i in idx.reshape(-1)]
        return self._derived(picked)

    def _derived(self, samples) -> "Dataset":
        return Dataset(samples, classes=self._classes, format=self.format, root=self.root, skipped=self.skipped,
                       category_ids=self.category_ids)

    def __repr__(self) -> str:
        splits = f", splits={self.splits}" if self.splits else ""
        return (f"Dataset(format={self.format!r}, images={len(self)}, boxes={self.num_boxes}, "
                f"classes={len(self._classes)}{splits})")

    # ------------------------------------------------------------------ views
    @property
    def classes(self) -> list[str]:
        """The class names, in order (a copy)."""
        return list(self._classes)

    @property
    def detections(self) -> list[Detections]:
        """Every sample's detections, in order (what :func:`cvtools.metrics.coco_eval` takes)."""
        return [s.detections for s in self._samples]

    @property
    def paths(self) -> list[Path]:
        """Every sample's image path, in order."""
        return [s.path for s in self._samples]

    @property
    def splits(self) -> list[str]:
        """The split names present, in order of first appearance (empty when there are none)."""
        return list(dict.fromkeys(s.split for s in self._samples if s.split is not None))

    @property
    def num_boxes(self) -> int:
        """The number of boxes over all samples."""
        return int(sum(len(s.detections) for s in self._samples))

    def counts(self) -> dict:
        """Boxes per class (every class listed, 0 when absent), or images per class for a folder set."""
        out = dict.fromkeys(self._classes, 0)
        for s in self._samples:
            for v in s.detections.labels:
                out[str(v)] += 1
            if s.label is not None and not len(s.detections):
                out[s.label] += 1
        return out

    def split(self, name: str) -> "Dataset":
        """The samples of one split."""
        if name not in self.splits:
            raise ValueError(f"no split {name!r}; present: {self.splits or 'none'}.")
        return self._derived([s for s in self._samples if s.split == name])

    def image_ids(self) -> list:
        """The COCO image id of each sample: the ids read from a COCO file when every sample has a
        distinct integer one, else 1, 2, ... in order (what :meth:`save` writes)."""
        ids = [s.image_id for s in self._samples]
        if all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids) and len(set(ids)) == len(ids):
            return [int(i) for i in ids]
        return list(range(1, len(ids) + 1))

    def coco_categories(self) -> dict:
        """``{class: COCO category id}``: the ids read from a COCO file, else 1, 2, ... in class order."""
        if self.category_ids is not None:
            return dict(self.category_ids)
        return {c: i + 1 for i, c in enumerate(self._classes)}

    def with_detections(self, detections) -> "Dataset":
        """The same images with other detections (e.g. a detector's predictions), one per sample."""
        detections = list(detections)
        if len(detections) != len(self):
            raise ValueError(f"`detections` must have one entry per sample ({len(self)}); got {len(detections)}.")
        return Dataset([s.replace(detections=d) for s, d in zip(self._samples, detections)], classes=self._classes,
                       format=self.format, root=self.root, category_ids=self.category_ids)

    # ------------------------------------------------------------------ writing
    def save(self, path, *, format: str, link: bool = False, overwrite: bool = False) -> SaveSummary:
        """Write the data set in ``format``: the annotation files and the images (copied or linked).

        Parameters
        ----------
        path : str or pathlib.Path
            The output folder (created).
        format : {"coco", "yolo", "voc", "folder"}
            ``coco``: ``annotations/instances[_<split>].json`` and ``images/[<split>/]``;
            ``yolo``: ``data.yaml``, ``images/[<split>/]``, ``labels/[<split>/]``;
            ``voc``: ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``, ``classes.txt``;
            ``folder``: ``<class>/<image>`` (classification sets only).
            See docs/datasets.md for what each format can hold.
        link : bool
            Symbolic links to the original images instead of copies.
        overwrite : bool
            Allow a folder that already holds files (files of the same name are replaced).

        Returns
        -------
        SaveSummary
            Counts, and ``notes`` on what the format could not hold (crowd boxes in YOLO, ...).

        Every file is written atomically (a temporary file in the same folder, then a rename).
        """
        check_choice(format, FORMATS, name="format")

        root = Path(os.fspath(path)).expanduser()
        if root.exists() and not root.is_dir():
            raise FileExistsError(f"output {str(root)!r} exists and is not a folder.")
        if root.is_dir() and any(root.iterdir()) and not overwrite:
            raise FileExistsError(f"output folder {str(root)!r} is not empty; choose another folder or pass "
                                  f"overwrite=True (cvtools convert --overwrite).")
        root.mkdir(parents=True, exist_ok=True)
        writer = WRITERS[format]
        summary = SaveSummary(str(root), format, classes=len(self._classes))
        writer(self, root, link=bool(link), summary=summary)
        return summary


# ------------------------------------------------------------------------------------------ files
def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (UTF-8), creating its folder."""
    from ..io import write_bytes_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode("utf-8"), fsync=False)


def place_image(src: Path, dst: Path, *, link: bool) -> None:
    """Copy (or symlink) ``src`` to ``dst`` atomically; nothing to do when ``dst`` is ``src``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() and os.path.samefile(src, dst):
        return
    if not src.is_file():
        raise FileNotFoundError(f"image {str(src)!r} does not exist (cannot copy it to {str(dst)!r}).")
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    try:
        if link:
            os.unlink(tmp)
            os.symlink(os.path.abspath(src), tmp)
        else:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def output_names(dataset: Dataset, *, by_stem: bool = False, flat: bool = False) -> list[str]:
    """The file name each sample gets in its split folder (one folder for all with ``flat``); two
    samples may not share one (nor its stem, with ``by_stem``: the annotation file is named by it)."""
    seen: dict = {}
    names = []
    for s in dataset:
        name = s.path.name
        key = (None if flat else s.split, Path(name).stem if by_stem else name)
        if key in seen:
            what = "file name stem" if by_stem else "file name"
            raise ValueError(f"two images would share the {what} {key[1]!r}"
                             f"{'' if key[0] is None else f' in split {key[0]!r}'}: {str(seen[key])!r} and "
                             f"{str(s.path)!r}; rename one.")
        seen[key] = s.path
        names.append(name)
    return names


def box_problem(box, size, tolerance: float = 1.0) -> str | None:
    """What is wrong with a pixel box in an image of ``size`` (H, W): not finite, a negative width or
    height, or outside the image by more than ``tolerance`` pixels; None when it is fine."""
    x1, y1, x2, y2 = (float(v) for v in box)
    h, w = size
    if not all(np.isfinite([x1, y1, x2, y2])):
        return f"box {[x1, y1, x2, y2]} is not finite."
    if x2 < x1 or y2 < y1:
        return f"box has a negative width or height: x1={x1:g}, y1={y1:g}, x2={x2:g}, y2={y2:g}."
    if x1 < -tolerance or y1 < -tolerance or x2 > w + tolerance or y2 > h + tolerance:
        return f"box [{x1:.2f}, {y1:.2f}, {x2:.2f}, {y2:.2f}] is outside the {w}x{h} image."
    return None


def refuse_classification(dataset: Dataset, fmt: str) -> None:
    """A class-folder set has image labels, not boxes: a box format cannot hold it."""
    if dataset.num_boxes == 0 and any(s.label is not None for s in dataset):
        raise ValueError(f"a classification data set (class folders) has no boxes to write as {fmt}; "
                         "save it with format='folder'.")
