"""`cvtools evaluate DATASET --detector NAME`: score a detector on a labelled data set with COCO's numbers."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

#: Pascal VOC class names that COCO spells differently (compared after lower-casing, '_'/'-' as spaces).
VOC_TO_COCO = {"aeroplane": "airplane", "motorbike": "motorcycle", "sofa": "couch", "tvmonitor": "tv",
               "tv monitor": "tv", "diningtable": "dining table", "pottedplant": "potted plant"}


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a detector on a labelled data set (COCO AP/AR, per class, PR curves)",
        description="Run one detector over every image of a labelled data set (COCO, YOLO, Pascal VOC; see "
                    "`cvtools convert`) on the batch runner, match the detector's class names to the data set's "
                    "by name, and print pycocotools' 12 numbers (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, "
                    "ARs, ARm, ARl) and a per-class table. Classes of either side without a counterpart are "
                    "listed and left out.",
        epilog="Examples: cvtools evaluate coco128-yolo/ -d objects -O threshold=0.01 --plot pr.png -o preds.json; "
               "cvtools evaluate faces/ -d face --json. Exit codes: 0 ok, 1 some images failed or labels were "
               "skipped, 2 usage error.")
    p.add_argument("dataset", metavar="DATASET", help="the labelled data set (a folder, COCO .json or YOLO .yaml)")
    p.add_argument("--detector", "-d", required=True, metavar="NAME", help="detector name (`cvtools detect --list`)")
    p.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="detector option, repeatable, e.g. -O threshold=0.01")
    p.add_argument("--classes", default=None, metavar="A,B,...", help="evaluate only these classes of the data set")
    p.add_argument("--format", default="auto", choices=["auto", "coco", "yolo", "voc"], help="data set format")
    p.add_argument("--split", default=None, metavar="NAME", help="only this split of the data set")
    p.add_argument("--images", default=None, metavar="DIR", help="COCO: the images folder, if not beside the JSON")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: the 12 numbers as keys, plus per_class, classes and unmatched")
    p.add_argument("--plot", default=None, metavar="PR.png", help="save per-class PR curves (IoU 0.5) with matplotlib")
    p.add_argument("--output", "-o", "--save-predictions", dest="save_predictions", default=None, metavar="FILE",
                   help="write the predictions as a COCO results JSON (image and category ids as `cvtools convert "
                        "--to coco` writes them)")
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores, %d here; 0 = in this process)" % (os.cpu_count() or 1))
    p.add_argument("--strict", action="store_true", help="stop at the first malformed label instead of skipping it")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no notes on stderr")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------ worker side
_DETECTORS: dict = {}


def detect_task(item: dict) -> dict:
    """Run in a batch worker: the detector (built once per process) on one image file."""
    from cvtools.detect import get
    from cvtools.io import read

    key = (item["detector"], json.dumps(item["options"], sort_keys=True, default=str))
    det = _DETECTORS.get(key)
    if det is None:
        _DETECTORS.clear()
        det = _DETECTORS[key] = get(item["detector"], **item["options"])
    found = det.detect(read(item["path"]))
    return {"xyxy": found.xyxy, "scores": found.scores, "labels": [str(v) for v in found.labels]}


# ------------------------------------------------------------------------ parent side
def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"cvtools evaluate: {message}", file=sys.stderr)


def normalize(name: str) -> str:
    """A class name compared across tools: lower case, '_' and '-' as spaces, VOC's names as COCO's."""
    n = " ".join(str(name).lower().replace("_", " ").replace("-", " ").split())
    return VOC_TO_COCO.get(n, n)


def match_classes(data_classes, detector_classes):
    """``(detector label -> data class, data classes without a detector class, detector classes without a
    data class)``; with no detector classes known (a detector that names what it finds at run time),
    every data class is kept and labels are matched as they come."""
    by_key = {normalize(c): c for c in data_classes}
    if not detector_classes:
        return by_key, [], []
    det_keys = {normalize(d): d for d in detector_classes}
    mapping = {k: c for k, c in by_key.items() if k in det_keys}
    missing = [c for c in data_classes if normalize(c) not in det_keys]
    extra = [d for d in detector_classes if normalize(d) not in by_key]
    return mapping, missing, extra


def _plot(result, path: Path) -> None:
    from cvtools._shared import require

    require("matplotlib", feature="cvtools evaluate --plot")
    from matplotlib.figure import Figure

    from cvtools.viz import plot_pr

    fig = Figure(figsize=(7, 5.5), layout="constrained")
    ax = fig.add_subplot()
    rows = sorted(((c, v) for c, v in result.per_class.items() if v["gt"] > 0), key=lambda kv: -kv[1]["gt"])
    curves = []
    for i, (c, v) in enumerate(rows):
        recall, precision = result.pr_curve(c, iou=0.5)
        curves.append(precision)
        if i < 10:  # the ten classes with the most boxes, named; the rest in grey
            plot_pr(precision=precision, recall=recall, ap=v["AP50"], ax=ax, label=f"{c} ({v['gt']})")
        else:
            ax.plot(recall, precision, color="0.8", linewidth=0.7, drawstyle="steps-post")
    if len(curves) > 1:
        ax.plot(result.recall_thresholds, sum(curves) / len(curves), color="black", linewidth=2.2,
                label=f"mean of {len(curves)} classes AP50 = {result['AP50']:.3f}")
    ax.set_title("precision-recall at IoU 0.5 (COCO's 101-point interpolation)")
    ax.legend(loc="lower left", fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def run(args) -> int:
    import numpy as np

    from cvtools import datasets
    from cvtools.batch import map_items
    from cvtools.cli._convert import split_names
    from cvtools.batch import parse_options
    from cvtools.detect import Detections, detectors, get
    from cvtools.metrics import coco_eval

    from cvtools._shared import UsageError
    from cvtools.cli._common import usage_errors
    from cvtools.cli._detect import _OPTION_LIKE

    if args.save_predictions and _OPTION_LIKE.match(args.save_predictions) and not Path(args.save_predictions).exists():
        raise UsageError(f"-o/--output names the predictions file; detector options are -O KEY=VALUE "
                         f"(got -o {args.save_predictions}).")
    with usage_errors("--option"):
        options = parse_options(args.option)
    with usage_errors():
        get(args.detector, **options)  # unknown names / bad options: a usage error before any work
    info = {d.name: d for d in detectors()}.get(args.detector)
    if args.plot:
        from cvtools._shared import require

        require("matplotlib", feature="cvtools evaluate --plot")
    ds = datasets.load(args.dataset, args.format, split=args.split, images=args.images, strict=args.strict)
    log = (lambda *a: None) if args.quiet else (lambda *a: print("cvtools evaluate:", *a, file=sys.stderr))
    for problem in ds.skipped:
        log(f"skipped: {problem}")

    wanted = split_names(args.classes)
    classes = ds.classes
    if wanted is not None:
        unknown = [c for c in wanted if c not in classes]
        if unknown:
            raise UsageError(f"--classes {unknown} are not classes of the data set; valid: {classes}.")
        classes = wanted
    mapping, missing, extra = match_classes(classes, tuple(info.classes) if info is not None else ())
    evaluated = [c for c in classes if normalize(c) in mapping]
    if not evaluated:
        raise UsageError(f"no class of the data set ({classes[:10]}{'...' if len(classes) > 10 else ''}) matches a "
                         f"class of detector {args.detector!r} ({list(info.classes)[:10] if info else []}).")
    if missing:
        log(f"data set classes {args.detector!r} does not detect (left out): {', '.join(missing)}")
    if extra:
        log(f"{len(extra)} detector classes are not in the data set (their detections are ignored)")
    log(f"{args.detector} on {len(ds)} images, {sum(int(np.isin(d.labels, evaluated).sum()) for d in ds.detections)} "
        f"boxes of {len(evaluated)} classes")

    items = [{"path": str(s.path), "detector": args.detector, "options": options} for s in ds]
    keep, preds, failed, unseen = [], [], [], set()
    for i, (_, res, err) in enumerate(map_items(detect_task, items, workers=args.workers,
                                                progress=False if args.quiet else None, desc=f"evaluate {args.detector}")):
        if err is not None:
            failed.append(f"{items[i]['path']}: {err}")
            _say(failed[-1])  # even with --quiet; above the progress bar
            continue
        labels = [mapping.get(normalize(v)) for v in res["labels"]]
        unseen.update(v for v, m in zip(res["labels"], labels) if m is None)
        sel = np.array([m is not None and m in evaluated for m in labels], bool)
        preds.append(Detections(np.asarray(res["xyxy"]).reshape(-1, 4)[sel], scores=np.asarray(res["scores"])[sel],
                                labels=[m for m, s in zip(labels, sel) if s]))
        keep.append(i)
    if failed:
        log(f"{len(failed)} images failed; they are left out of the evaluation")
    gts = [ds[i].detections[np.isin(ds[i].detections.labels, evaluated)] for i in keep]
    result = coco_eval(gts, preds, classes=evaluated)

    if args.save_predictions:
        from cvtools.io import write_bytes_atomic

        ids, cats = ds.image_ids(), ds.coco_categories()
        records = [r for i, p in zip(keep, preds) for r in p.to_coco(ids[i], cats)]
        out = Path(args.save_predictions)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(out, json.dumps(records).encode("utf-8"), fsync=False)
        log(f"wrote {len(records)} predictions to {out} (COCO results)")
    if args.plot:
        _plot(result, Path(args.plot))
        log(f"wrote PR curves to {args.plot}")

    if args.json:
        doc = result.to_dict()
        doc.update({"detector": args.detector, "dataset": str(args.dataset), "images": len(keep),
                    "failed": failed, "skipped": [str(p) for p in ds.skipped],
                    "unmatched": {"dataset": missing, "detector": extra or sorted(unseen)}})
        print(json.dumps(doc, ensure_ascii=False))
    else:
        print(result.table())
    return 1 if failed or ds.skipped else 0
