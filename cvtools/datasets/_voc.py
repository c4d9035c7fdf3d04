"""Pascal VOC: ``Annotations/<name>.xml`` (whole-pixel, 1-based boxes, ``difficult``), ``JPEGImages/``,
``ImageSets/Main/<split>.txt``; cvtools adds ``classes.txt`` so that the class order survives."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .._shared._detections import Detections
from ._dataset import (Dataset, DatasetError, Sample, box_problem, image_size, output_names, place_image,
                       refuse_classification, write_text)


def find_root(path: Path) -> Path | None:
    """The folder holding ``Annotations/``: ``path`` itself, or its only sub-folder that has one
    (``VOCdevkit/VOC2012``); ``path`` may also be the ``Annotations`` folder."""
    if (path / "Annotations").is_dir():
        return path
    if path.name == "Annotations" and path.is_dir():
        return path.parent
    subs = [p for p in sorted(path.iterdir()) if p.is_dir() and (p / "Annotations").is_dir()] if path.is_dir() else []
    return subs[0] if len(subs) == 1 else None


def _split_lists(root: Path) -> dict:
    """``{split: [stems]}`` from ``ImageSets/Main/<split>.txt`` (class-specific lists and ``trainval`` left out)."""
    folder = root / "ImageSets" / "Main"
    out = {}
    if folder.is_dir():
        for p in sorted(folder.glob("*.txt")):
            if "_" in p.stem or p.stem == "trainval":
                continue
            out[p.stem] = [ln.split()[0] for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return out


def _object_line(text: str, index: int) -> int | None:
    """The line of the ``index``-th ``<object>`` element in an XML text (for error messages)."""
    pos = -1
    for _ in range(index + 1):
        pos = text.find("<object", pos + 1)
        if pos < 0:
            return None
    return text.count("\n", 0, pos) + 1


def _find_image(root: Path, filename: str | None, stem: str) -> Path | None:
    folder = root / "JPEGImages"
    if filename:
        p = folder / filename
        if p.is_file():
            return p
    from ..io import IMAGE_EXTENSIONS

    for name in ([filename] if filename else []) + [stem]:
        for ext in sorted(IMAGE_EXTENSIONS):
            for cand in (folder / (Path(name).stem + ext), folder / (Path(name).stem + ext.upper())):
                if cand.is_file():
                    return cand
    return None


def _parse(xml_path: Path, root: Path, classes, report):
    """One annotation file -> (image path, (H, W), Detections), or None when it is skipped."""
    try:
        text = xml_path.read_text(encoding="utf-8")
        tree = ET.fromstring(text)
    except ET.ParseError as exc:
        report(xml_path, exc.position[0], f"malformed XML: {exc}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        report(xml_path, None, f"cannot read: {exc}")
        return None
    if tree.tag != "annotation":
        report(xml_path, 1, f"not a VOC annotation (root element <{tree.tag}>, expected <annotation>).")
        return None
    filename = (tree.findtext("filename") or "").strip() or None
    image = _find_image(root, filename, xml_path.stem)
    if image is None:
        report(xml_path, None, f"its image {filename or xml_path.stem + '.*'!r} is not in {str(root / 'JPEGImages')!r}.")
        return None
    size = None
    try:
        w, h = int(float(tree.findtext("size/width"))), int(float(tree.findtext("size/height")))
        if w > 0 and h > 0:
            size = (h, w)
    except (TypeError, ValueError):
        pass
    if size is None:  # some VOC-style files leave <size> out or write zeros
        try:
            size = image_size(image)
        except Exception as exc:
            report(xml_path, None, f"no <size> and the image cannot be read: {exc}")
            return None
    objects = []
    for k, obj in enumerate(tree.findall("object")):
        row = {"name": (obj.findtext("name") or "").strip(), "difficult": (obj.findtext("difficult") or "0").strip()}
        try:
            for key in ("xmin", "ymin", "xmax", "ymax"):
                row[key] = float(obj.findtext(f"bndbox/{key}"))
            row["difficult"] = int(float(row["difficult"] or 0))
        except (TypeError, ValueError):
            report(xml_path, _object_line(text, k), f"object {k}: needs <name> and a <bndbox> with numeric "
                                                    "xmin, ymin, xmax, ymax.")
            continue
        if not row["name"]:
            report(xml_path, _object_line(text, k), f"object {k} has no <name>.")
            continue
        if classes is not None and row["name"] not in classes:
            report(xml_path, _object_line(text, k), f"object {k}: class {row['name']!r} is not one of {classes}.")
            continue
        problem = box_problem((row["xmin"] - 1, row["ymin"] - 1, row["xmax"], row["ymax"]), size)
        if problem:
            report(xml_path, _object_line(text, k), f"object {k}: {problem}")
            continue
        objects.append(row)
    return image, size, Detections.from_voc(objects)


def load(path: Path, *, split=None, classes=None, report) -> Dataset:
    root = find_root(path)
    if root is None:
        raise DatasetError("not a Pascal VOC data set: no Annotations/ folder.", path=path)
    names_file = root / "classes.txt"
    if classes is None and names_file.is_file():
        classes = [ln.strip() for ln in names_file.read_text(encoding="utf-8").splitlines() if ln.strip()]
    lists = _split_lists(root)
    if split is not None:
        if split not in lists:
            raise DatasetError(f"no split {split!r}; ImageSets/Main has {sorted(lists) or 'none'}.", path=root)
        files = [root / "Annotations" / f"{stem}.xml" for stem in lists[split]]
        split_of = dict.fromkeys(lists[split], split)
    else:
        files = sorted(p for p in (root / "Annotations").glob("*.xml") if not p.name.startswith("."))
        split_of = {}
        for name, stems in lists.items():
            for stem in stems:
                split_of.setdefault(stem, []).append(name)
        # Overlapping lists (an image in two splits) say nothing usable: no splits then.
        split_of = {} if any(len(v) > 1 for v in split_of.values()) else {k: v[0] for k, v in split_of.items()}
    samples = []
    for f in files:
        if not f.is_file():
            report(f, None, f"listed in ImageSets/Main/{split}.txt but missing.")
            continue
        parsed = _parse(f, root, classes, report)
        if parsed is None:
            continue
        image, size, det = parsed
        samples.append(Sample(image, det, size=size, split=split_of.get(f.stem)))
    return Dataset(samples, classes=classes, format="voc", root=root, skipped=report.problems)


def _depth(path: Path) -> int:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return len(im.getbands())
    except Exception:
        return 3


def save(dataset: Dataset, root: Path, *, link: bool, summary) -> None:
    refuse_classification(dataset, "VOC")
    names = output_names(dataset, by_stem=True, flat=True)
    stems = {}
    crowd = 0
    for s, name in zip(dataset, names):
        det = s.detections
        rows = det.to_voc()
        if "iscrowd" in det.data:  # VOC has no crowd flag; 'difficult' is what VOC's evaluation ignores
            for row, c in zip(rows, det.data["iscrowd"].astype(bool)):
                if c:
                    row["difficult"] = 1
                    crowd += 1
        h, w = s.size
        ann = ET.Element("annotation")
        ET.SubElement(ann, "folder").text = "JPEGImages"
        ET.SubElement(ann, "filename").text = name
        size = ET.SubElement(ann, "size")
        ET.SubElement(size, "width").text = str(w)
        ET.SubElement(size, "height").text = str(h)
        ET.SubElement(size, "depth").text = str(_depth(s.path))
        ET.SubElement(ann, "segmented").text = "0"
        for row in rows:
            obj = ET.SubElement(ann, "object")
            ET.SubElement(obj, "name").text = row["name"]
            ET.SubElement(obj, "pose").text = "Unspecified"
            ET.SubElement(obj, "truncated").text = "0"
            ET.SubElement(obj, "difficult").text = str(row["difficult"])
            box = ET.SubElement(obj, "bndbox")
            for key in ("xmin", "ymin", "xmax", "ymax"):
                ET.SubElement(box, key).text = str(row[key])
        ET.indent(ann)
        stem = Path(name).stem
        write_text(root / "Annotations" / f"{stem}.xml", ET.tostring(ann, encoding="unicode") + "\n")
        place_image(s.path, root / "JPEGImages" / name, link=link)
        if s.split is not None:
            stems.setdefault(s.split, []).append(stem)
        summary.images += 1
        summary.boxes += len(rows)
    for split, items in stems.items():
        write_text(root / "ImageSets" / "Main" / f"{split}.txt", "".join(f"{x}\n" for x in items))
    write_text(root / "classes.txt", "".join(f"{c}\n" for c in dataset.classes))
    if crowd:
        summary.notes.append(f"{crowd} crowd boxes written as difficult (VOC has no crowd flag)")
    if any((s.detections.scores != 1).any() for s in dataset):
        summary.notes.append("scores not stored (VOC has no score field)")
