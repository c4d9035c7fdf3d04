"""COCO: an instances JSON (``images``, ``annotations``, ``categories``) and a folder of images."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .._shared._detections import Detections
from ._dataset import (Dataset, DatasetError, Sample, box_problem, image_size, output_names, place_image,
                       refuse_classification, write_text)


def _json_line(text: str, section: str, index: int) -> int | None:
    """The line where ``text``'s top-level ``section`` list has its ``index``-th item (for error messages).

    Walks the JSON with the standard decoder's own scanners, so it is exact; run only on errors.
    """
    dec = json.JSONDecoder()
    ws = re.compile(r"\s*")

    def skip(pos):
        return ws.match(text, pos).end()

    try:
        pos = skip(0)
        if text[pos] != "{":
            return None
        pos = skip(pos + 1)
        while text[pos] != "}":
            key, pos = json.decoder.scanstring(text, pos + 1)
            pos = skip(pos)
            pos = skip(pos + 1)  # the colon
            if key == section and text[pos] == "[":
                pos = skip(pos + 1)
                for _ in range(index):
                    _, pos = dec.raw_decode(text, pos)
                    pos = skip(skip(pos) + 1)  # the comma
                return text.count("\n", 0, pos) + 1
            _, pos = dec.raw_decode(text, pos)
            pos = skip(pos)
            if text[pos] == ",":
                pos = skip(pos + 1)
    except (IndexError, ValueError):
        return None
    return None


def find_annotation_files(root: Path, split: str | None) -> list[Path]:
    """The COCO JSON files of a folder: ``annotations/instances*.json`` (or ``*.json``), else ``*.json``."""
    found = []
    for folder in (root / "annotations", root):
        if folder.is_dir():
            files = sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
            inst = [p for p in files if p.stem.startswith("instances")]
            found = inst or files
            if found:
                break
    if split is not None:
        found = [p for p in found if _split_of(p) == split]
    return found


def _split_of(path: Path) -> str | None:
    m = re.fullmatch(r"instances_(.+)", path.stem)
    return m.group(1) if m else None


def _images_folder(json_path: Path, split, given, first_names) -> Path:
    folder = json_path.parent
    root = folder.parent if folder.name == "annotations" else folder
    if given is not None:
        candidates = [Path(given)]
    else:
        candidates = []
        for base in dict.fromkeys([root, folder]):
            if split:
                candidates += [base / "images" / split, base / split]
            candidates += [base / "images", base]
    for c in candidates:
        if c.is_dir() and (not first_names or any((c / n).is_file() for n in first_names)):
            return c
    if given is not None:
        raise DatasetError(f"images folder {str(given)!r} does not hold the images the file names "
                           f"(e.g. {first_names[0]!r}).", path=json_path)
    raise DatasetError(f"cannot find the images folder; looked for {first_names[:1]} in "
                       f"{[str(c) for c in candidates]}. Pass images=FOLDER.", path=json_path)


def load(path: Path, *, split=None, images=None, report, classes=None) -> Dataset:
    if path.is_dir():
        files = find_annotation_files(path, split)
        if not files:
            where = f"instances_{split}.json" if split else "a COCO JSON file"
            raise DatasetError(f"no {where} in {str(path / 'annotations')!r} or {str(path)!r}.", path=path)
    else:
        files = [path]
    samples, category_ids = [], None
    for f in files:
        part, cats = _load_file(f, split=split if split is not None else _split_of(f),
                                images=images, report=report)
        if category_ids is not None and cats != category_ids:
            raise DatasetError(f"its categories differ from those of {str(files[0])!r}.", path=f)
        category_ids = cats
        samples += part
    names = list(category_ids)
    if classes is not None:
        extra = sorted(set(names) - set(classes))
        if extra:
            raise DatasetError(f"categories {extra} are not in `classes`.", path=files[0])
        names = list(classes)
    return Dataset(samples, classes=names, format="coco", root=path, skipped=report.problems,
                   category_ids=category_ids)


def _read_json(path: Path) -> tuple[str, dict]:
    """The text and the parsed document of a COCO instances file, its top-level shape checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read: {exc.strerror or exc}.", path=path) from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"not UTF-8 text ({exc.reason} at byte {exc.start}).", path=path) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"not valid JSON: {exc.msg} (column {exc.colno}).", path=path, line=exc.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise DatasetError("not a COCO instances file: expected an object with an 'images' list.", path=path)
    for key in ("annotations", "categories"):
        if not isinstance(doc.get(key, []), list):
            raise DatasetError(f"'{key}' must be a list; got {type(doc[key]).__name__}.", path=path,
                               line=_json_line(text, key, 0))
    return text, doc


def _load_file(path: Path, *, split, images, report):
    text, doc = _read_json(path)

    def at(section, i):
        return _json_line(text, section, i)

    # Categories: names in id order; ids may have gaps (COCO's 1..90 for 80 classes).
    cats = {}
    for i, c in enumerate(doc.get("categories", [])):
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("name"), str):
            raise DatasetError(f"category {i} needs an integer 'id' and a string 'name'; got {c!r}.", path=path,
                               line=at("categories", i))
        if c["id"] in cats.values() or c["name"] in cats:
            raise DatasetError(f"category {i} repeats the id {c['id']} or the name {c['name']!r}.", path=path,
                               line=at("categories", i))
        cats[c["name"]] = c["id"]
    cats = dict(sorted(cats.items(), key=lambda kv: kv[1]))
    name_of = {v: k for k, v in cats.items()}

    entries = [e for e in doc["images"]]
    first_names = [e.get("file_name") for e in entries[:5] if isinstance(e, dict) and isinstance(e.get("file_name"), str)]
    folder = _images_folder(path, split, images, first_names)

    images_by_id = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "id" not in e or not isinstance(e.get("file_name"), str):
            report(path, at("images", i), f"image {i} needs an 'id' and a 'file_name'; got {e!r}.")
            continue
        if e["id"] in images_by_id:
            report(path, at("images", i), f"image id {e['id']!r} appears twice.")
            continue
        file = folder / e["file_name"]
        if not file.is_file():
            report(path, at("images", i), f"image file {str(file)!r} (id {e['id']!r}) does not exist.")
            images_by_id[e["id"]] = None  # its annotations are skipped with it, not reported as orphans
            continue
        w, h = e.get("width"), e.get("height")
        if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0:
            size = (h, w)
        else:
            try:
                size = image_size(file)
            except Exception as exc:
                report(path, at("images", i), f"image {str(file)!r} has no width/height and cannot be read: {exc}")
                images_by_id[e["id"]] = None
                continue
        images_by_id[e["id"]] = {"file": file, "size": size, "rows": []}

    any_difficult = False
    for i, a in enumerate(doc.get("annotations", [])):
        if not isinstance(a, dict):
            report(path, at("annotations", i), f"annotation {i} is not an object: {a!r}.")
            continue
        img = images_by_id.get(a.get("image_id"), False)
        if img is False:
            report(path, at("annotations", i), f"annotation {a.get('id', i)!r} is for image_id {a.get('image_id')!r}, "
                                                "which is not in 'images'.")
            continue
        if img is None:
            continue
        if a.get("category_id") not in name_of:
            report(path, at("annotations", i), f"annotation {a.get('id', i)!r} has category_id "
                                                f"{a.get('category_id')!r}, not one of the categories {sorted(name_of)}.")
            continue
        bbox = a.get("bbox")
        try:
            x, y, w, h = (float(v) for v in bbox)
        except (TypeError, ValueError):
            report(path, at("annotations", i), f"annotation {a.get('id', i)!r}: 'bbox' must be [x, y, width, height]; "
                                                f"got {bbox!r}.")
            continue
        problem = box_problem((x, y, x + w, y + h), img["size"])
        if problem:
            report(path, at("annotations", i), f"annotation {a.get('id', i)!r}: {problem}")
            continue
        img["rows"].append((x, y, x + w, y + h, name_of[a["category_id"]], bool(a.get("iscrowd", 0)),
                            float(a["area"]) if isinstance(a.get("area"), (int, float)) else w * h,
                            float(a["score"]) if isinstance(a.get("score"), (int, float)) else 1.0,
                            bool(a.get("difficult", 0))))
        any_difficult = any_difficult or bool(a.get("difficult", 0))

    samples = []
    for image_id, img in images_by_id.items():
        if img is None:
            continue
        rows = img["rows"]
        data = {"iscrowd": np.array([r[5] for r in rows], bool), "area": np.array([r[6] for r in rows], np.float64)}
        if any_difficult:
            data["difficult"] = np.array([r[8] for r in rows], bool)
        det = Detections(np.array([r[:4] for r in rows], np.float64).reshape(-1, 4),
                         scores=[r[7] for r in rows], labels=[r[4] for r in rows], data=data)
        samples.append(Sample(img["file"], det, size=img["size"], split=split, image_id=image_id))
    return samples, cats


def save(dataset: Dataset, root: Path, *, link: bool, summary) -> None:
    refuse_classification(dataset, "COCO")
    names = output_names(dataset)
    ids = dataset.image_ids()
    cats = dataset.coco_categories()
    categories = [{"id": cid, "name": name} for name, cid in sorted(cats.items(), key=lambda kv: kv[1])]
    splits = dataset.splits if dataset.splits else [None]
    if any(s.split is None for s in dataset) and dataset.splits:
        splits = [None] + splits
    with_scores = any((s.detections.scores != 1).any() for s in dataset)
    difficult = 0
    for split in splits:
        images, anns = [], []
        sub = "images" if split is None else f"images/{split}"
        for s, name, image_id in zip(dataset, names, ids):
            if s.split != split:
                continue
            h, w = s.size
            images.append({"id": image_id, "file_name": name, "width": w, "height": h})
            hard = s.detections.data.get("difficult")
            for j, rec in enumerate(s.detections.to_coco(image_id, cats, annotations=True, decimals=4)):
                rec = {"id": len(anns) + 1, **rec}
                if with_scores:
                    rec["score"] = round(float(s.detections.scores[j]), 6)
                if hard is not None and bool(hard[j]):  # VOC's flag; COCO has none (cvtools reads it back)
                    rec["difficult"] = 1
                    difficult += 1
                anns.append(rec)
            place_image(s.path, root / sub / name, link=link)
        doc = {"images": images, "annotations": anns, "categories": categories}
        json_name = "instances.json" if split is None else f"instances_{split}.json"
        write_text(root / "annotations" / json_name, _dump(doc))
        summary.images += len(images)
        summary.boxes += len(anns)
    if difficult:
        summary.notes.append(f"{difficult} boxes marked difficult: written with an extra 'difficult' key, which "
                             "cvtools reads back and other COCO tools ignore")


def _dump(doc) -> str:
    """JSON with one image / annotation / category per line: small, and readable with an editor."""
    parts = []
    for key, items in doc.items():
        body = ",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in items)
        parts.append(f'"{key}": [\n{body}\n]' if items else f'"{key}": []')
    return "{\n" + ",\n".join(parts) + "\n}\n"
