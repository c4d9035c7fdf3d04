"""YOLO in the Ultralytics layout: ``data.yaml`` (``names``, split paths), ``images/<split>/`` and
``labels/<split>/`` with one ``class cx cy w h`` line per box, normalised by the image's width and height."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._shared._detections import Detections
from ._dataset import (Dataset, DatasetError, Sample, box_problem, image_size, output_names, place_image,
                       refuse_classification, write_text)

#: data.yaml keys that are never split paths.
_NOT_SPLITS = {"path", "names", "nc", "download", "yaml_file", "channels", "kpt_shape", "flip_idx"}
_SPLIT_ORDER = ("train", "val", "test")


def find_yaml(root: Path) -> Path | None:
    """``data.yaml`` (or ``.yml``), else the only ``*.yaml`` in ``root`` that has ``names``."""
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (root / name).is_file():
            return root / name
    hits = []
    for p in sorted(root.glob("*.y*ml")):
        try:
            if "names" in p.read_text(encoding="utf-8", errors="replace"):
                hits.append(p)
        except OSError:
            continue
    return hits[0] if len(hits) == 1 else None


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DatasetError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}.", path=path,
                           line=None if mark is None else mark.line + 1) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read: {exc}.", path=path) from exc
    if not isinstance(doc, dict):
        raise DatasetError("a YOLO data.yaml must be a mapping with 'names' and split paths.", path=path)
    return doc


def _line_of(path: Path, key: str) -> int | None:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith(f"{key}:"):
                return i
    except (OSError, UnicodeDecodeError):
        pass
    return None


def _names(value, path: Path) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, dict):
        try:
            keys = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            raise DatasetError(f"'names' keys must be class indices 0, 1, ...; got {list(value)[:5]}.", path=path,
                               line=_line_of(path, "names")) from None
        if keys != list(range(len(keys))):
            raise DatasetError(f"'names' must number the classes 0..{len(keys) - 1} without gaps; got {keys[:10]}.",
                               path=path, line=_line_of(path, "names"))
        return [str(value[k] if k in value else value[str(k)]) for k in keys]
    raise DatasetError(f"'names' must be a list or an index -> name mapping; got {value!r}.", path=path,
                       line=_line_of(path, "names"))


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``/images/`` of the path becomes ``/labels/``, the extension ``.txt``."""
    s = str(image)
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    if sa in s:
        s = sb.join(s.rsplit(sa, 1))
    return Path(os.path.splitext(s)[0] + ".txt")


def _split_images(entries, base: Path, yaml_path: Path, key: str, report) -> tuple[list[Path], list[Path]]:
    """(image paths, image folders) of one split entry: folders, ``.txt`` lists, or lists of them."""
    from ..io import iter_images

    entries = entries if isinstance(entries, (list, tuple)) else [entries]
    paths, folders = [], []
    for e in entries:
        p = Path(str(e))
        p = p if p.is_absolute() else base / p
        if p.is_dir():
            folders.append(p)
            paths.extend(iter_images(p))
        elif p.is_file() and p.suffix.lower() == ".txt":
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                line = line.strip()
                if line:
                    q = Path(line)
                    q = q if q.is_absolute() else p.parent / (line[2:] if line.startswith("./") else line)
                    if q.is_file():
                        paths.append(q)
                    else:
                        report(p, i, f"image {str(q)!r} does not exist.")
        else:
            raise DatasetError(f"split {key!r}: {str(p)!r} is neither a folder of images nor a .txt list.",
                               path=yaml_path, line=_line_of(yaml_path, key))
    return paths, folders


def _parse_labels(path: Path, size, n_classes: int, names_from: str, report) -> np.ndarray:
    """Rows ``class cx cy w h score`` of one label file (polygons become their bounding boxes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report(path, None, f"cannot read the label file: {exc}")
        return np.zeros((0, 6))
    h, w = size
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        n = len(fields)
        if n not in (5, 6) and not (n >= 7 and n % 2 == 1):
            report(path, i, f"{n} fields; expected 5 (class cx cy w h), 6 (with a score) or 1 + 2k "
                            f"(class and a polygon's x y pairs).")
            continue
        try:
            values = [float(v) for v in fields]
        except ValueError:
            report(path, i, f"not a number in {line.strip()!r}.")
            continue
        c = values[0]
        if c != int(c) or not 0 <= c < n_classes:
            report(path, i, f"class index {fields[0]} is outside the {n_classes} names of {names_from} "
                            f"(0..{n_classes - 1}).")
            continue
        if n in (5, 6):
            cx, cy, bw, bh = values[1:5]
            score = values[5] if n == 6 else 1.0
        else:
            xs, ys = np.array(values[1::2]), np.array(values[2::2])
            cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
            bw, bh = xs.max() - xs.min(), ys.max() - ys.min()
            score = 1.0
        box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
        problem = box_problem(box, size)
        if problem:
            report(path, i, f"{problem} (normalised: cx={cx:g} cy={cy:g} w={bw:g} h={bh:g})")
            continue
        rows.append([c, cx, cy, bw, bh, score])
    return np.array(rows, np.float64).reshape(-1, 6)


def load(path: Path, *, split=None, classes=None, report) -> Dataset:
    yaml_path = path if path.is_file() else find_yaml(path)
    plan: list[tuple[str | None, list[Path], list[Path]]] = []  # (split, images, image folders)
    if yaml_path is not None:
        doc = _read_yaml(yaml_path)
        if "names" not in doc:
            raise DatasetError("no 'names' (the class names).", path=yaml_path)
        names = _names(doc["names"], yaml_path)
        if classes is not None and list(classes) != names:
            raise DatasetError(f"`classes` {list(classes)} differ from its 'names' {names}.", path=yaml_path)
        base = yaml_path.parent
        if isinstance(doc.get("path"), str):
            p = Path(doc["path"])
            p = p if p.is_absolute() else yaml_path.parent / p
            base = p if p.is_dir() else base  # a path from another machine: the yaml's folder instead
        keys = [k for k in doc if isinstance(k, str) and k not in _NOT_SPLITS and doc[k]
                and (k in _SPLIT_ORDER or isinstance(doc[k], (str, list)))]
        keys = [k for k in keys if k in _SPLIT_ORDER or all((base / str(v)).exists() for v in
                                                             (doc[k] if isinstance(doc[k], list) else [doc[k]]))]
        if split is not None:
            if split not in keys:
                raise DatasetError(f"no split {split!r}; it names {keys}.", path=yaml_path)
            keys = [split]
        if not keys:
            raise DatasetError("no split paths (train:, val:, test:).", path=yaml_path)
        for k in keys:
            plan.append((k, *_split_images(doc[k], base, yaml_path, k, report)))
        names_from = str(yaml_path.name)
    else:
        images = path / "images"
        if not images.is_dir():
            raise DatasetError("not a YOLO data set: no data.yaml and no images/ folder.", path=path)
        names = None
        for cand in (path / "classes.txt", path / "labels" / "classes.txt", path / "obj.names"):
            if cand.is_file():
                names = [ln.strip() for ln in cand.read_text(encoding="utf-8").splitlines() if ln.strip()]
                names_from = cand.name
                break
        if classes is not None:
            if names is not None and list(classes) != names:
                raise DatasetError(f"`classes` {list(classes)} differ from {names_from} {names}.", path=path)
            names, names_from = [str(c) for c in classes], "`classes`"
        if names is None:
            raise DatasetError("no data.yaml or classes.txt names the classes; pass classes=[...].", path=path)
        from ..io import iter_images

        top = list(iter_images(images, recursive=False))
        if top and split in (None,):
            plan.append((None, top, [images]))
        for sub in sorted(p for p in images.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if split is None or split == sub.name:
                plan.append((sub.name, list(iter_images(sub)), [sub]))
        if split is not None and not plan:
            raise DatasetError(f"no split {split!r} in {str(images)!r}.", path=path)

    samples, seen, checked = [], set(), set()
    for split_name, paths, folders in plan:
        expected = set()
        for img in paths:
            key = os.path.normcase(os.path.abspath(img))
            lab = label_path(img)
            expected.add(os.path.normcase(os.path.abspath(lab)))
            if key in seen:  # the same images under two split names (e.g. val: images/train)
                continue
            seen.add(key)
            try:
                size = image_size(img)
            except Exception as exc:
                report(img, None, f"cannot read the image's size: {exc}")
                continue
            rows = _parse_labels(lab, size, len(names), names_from, report) if lab.is_file() else np.zeros((0, 6))
            det = Detections.from_yolo(rows if (rows[:, 5] != 1).any() else rows[:, :5], size, names)
            samples.append(Sample(img, det, size=size, split=split_name))
        for folder in folders:  # label files whose image is missing
            lab_dir = label_path(folder / "x.jpg").parent
            if lab_dir == folder or not lab_dir.is_dir() or lab_dir in checked:
                continue
            checked.add(lab_dir)
            for lab in sorted(lab_dir.rglob("*.txt")):
                if lab.name != "classes.txt" and os.path.normcase(os.path.abspath(lab)) not in expected:
                    report(lab, None, f"label file without an image (no {lab.stem}.* in {str(folder)!r}).")
    return Dataset(samples, classes=names, format="yolo", root=path, skipped=report.problems)


def save(dataset: Dataset, root: Path, *, link: bool, summary) -> None:
    import yaml

    refuse_classification(dataset, "YOLO")
    names = output_names(dataset, by_stem=True)
    classes = dataset.classes
    with_scores = any((s.detections.scores != 1).any() for s in dataset)
    crowd = difficult = unsplit = 0
    splits = dataset.splits
    for s, name in zip(dataset, names):
        split = s.split
        if split is None and splits:  # a few images without a split beside split ones: with train
            split, unsplit = "train", unsplit + 1
        sub = Path() if split is None else Path(split)
        det = s.detections
        if "iscrowd" in det.data:  # a crowd region is not one object: Ultralytics' converter drops it too
            is_crowd = det.data["iscrowd"].astype(bool)
            crowd += int(is_crowd.sum())
            det = det[~is_crowd]
        if "difficult" in det.data:
            difficult += int(det.data["difficult"].astype(bool).sum())
        lines = det.to_yolo(s.size, classes, scores=with_scores)
        write_text(root / "labels" / sub / (Path(name).stem + ".txt"), "".join(f"{ln}\n" for ln in lines))
        place_image(s.path, root / "images" / sub / name, link=link)
        summary.images += 1
        summary.boxes += len(det)
    doc = {sp: f"images/{sp}" for sp in (splits + ["train"] if unsplit and "train" not in splits else splits)}
    first = next(iter(doc.values()), "images")
    for key in ("train", "val"):  # Ultralytics needs both
        doc.setdefault(key, first)
    doc["nc"] = len(classes)
    doc["names"] = dict(enumerate(classes))
    head = ("# YOLO data set (Ultralytics layout) written by cvtools.datasets; split paths are relative to this\n"
            "# file's folder, labels/ mirrors images/ with one 'class cx cy w h' line per box.\n")
    write_text(root / "data.yaml", head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    if unsplit:
        summary.notes.append(f"{unsplit} images without a split written to the train split")
    if crowd:
        summary.notes.append(f"{crowd} crowd boxes not written (YOLO has no crowd flag; a crowd region is not "
                             "one object)")
    if difficult:
        summary.notes.append(f"the 'difficult' flag of {difficult} boxes not stored (YOLO has none); the boxes are "
                             "written")
