"""`cvtools classify --model MODEL INPUTS... [--json]`: label images with a trained classifier."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "classify", help="label images with a model from `cvtools train`",
        description="Predict the class of every image in INPUTS (files or folders, searched "
                    "recursively) with a model saved by `cvtools train`. With --evaluate, INPUTS is a "
                    "DATA/<class>/<image> folder and the accuracy, per-class precision/recall/F1 and "
                    "the confusion matrix are printed.",
        epilog="Exit codes: 0 ok, 1 some inputs failed, 2 usage error.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--model", "-m", required=True, metavar="MODEL", help="model file from `cvtools train`")
    p.add_argument("--top", type=int, default=1, metavar="K", help="show the K most probable classes (default 1)")
    p.add_argument("--evaluate", action="store_true", help="INPUT is a labelled folder: print the evaluation")
    p.add_argument("--json", action="store_true", help="JSON output (one object per image, or the evaluation)")
    p.set_defaults(func=run)


def _files(inputs):
    from pathlib import Path

    from cvtools.io import iter_images

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from iter_images(path)
        else:
            yield path


def run(args) -> int:
    import numpy as np

    from cvtools.recognize import ModelFileError, load

    try:
        clf = load(args.model)
    except ModelFileError as exc:  # a bad argument: a usage error (exit 2), not a failed input
        raise ValueError(f"--model: {exc}") from None
    if args.evaluate:
        if len(args.inputs) != 1:
            raise ValueError("--evaluate takes one labelled folder (DATA/<class>/<image>).")
        ev = clf.evaluate(args.inputs[0])
        if args.json:
            print(json.dumps(ev.to_dict(), indent=2))
        else:
            print(ev.table())
            print("\nconfusion matrix (rows = true, columns = predicted):")
            width = max(len(c) for c in ev.classes)
            print(" " * (width + 1) + " ".join(f"{c[:6]:>6}" for c in ev.classes))
            for c, row in zip(ev.classes, ev.confusion):
                print(f"{c:>{width}} " + " ".join(f"{v:6d}" for v in row))
        return 0
    failed = 0
    k = max(1, min(args.top, len(clf.classes)))
    for path in _files(args.inputs):
        try:
            proba = clf.predict_proba([path])[0]
        except (OSError, ValueError, TypeError) as exc:
            failed += 1
            print(f"cvtools classify: {path}: {exc}", file=sys.stderr)
            continue
        order = np.argsort(-proba, kind="stable")[:k]
        top = [(clf.classes[i], float(proba[i])) for i in order]
        if args.json:
            rec = {"file": str(path), "label": top[0][0], "score": round(top[0][1], 6)}
            if k > 1:
                rec["top"] = [{"label": c, "score": round(s, 6)} for c, s in top]
            print(json.dumps(rec))
        else:
            print(f"{path}\t" + "\t".join(f"{c} {s:.3f}" for c, s in top))
        sys.stdout.flush()
    return 1 if failed else 0
