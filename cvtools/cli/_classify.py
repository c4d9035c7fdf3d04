"""`cvtools classify --model MODEL INPUTS... [--json]`: label images with a trained classifier."""
from __future__ import annotations

from cvtools._shared import UsageError

from ._common import add_runner, collect, emit, finish, run_items, shown, task, usage_errors


def register(sub) -> None:
    p = sub.add_parser(
        "classify", help="label images with a model from `cvtools train`",
        description="Predict the class of every image in INPUTS (files, folders searched recursively, or "
                    "quoted globs) with a model saved by `cvtools train`, on the batch runner. Prints "
                    "`PATH<tab>LABEL SCORE ...`, or with --json one line {path, label, score[, top]} per "
                    "image. With --evaluate, INPUT is a DATA/<class>/<image> folder and the accuracy, "
                    "per-class precision/recall/F1 and the confusion matrix are printed (--json: one object).",
        epilog="Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or quoted globs")
    p.add_argument("--model", "-m", required=True, metavar="MODEL", help="model file from `cvtools train`")
    p.add_argument("--top", type=int, default=1, metavar="K", help="show the K most probable classes (default 1)")
    p.add_argument("--evaluate", action="store_true", help="INPUT is a labelled folder: print the evaluation")
    add_runner(p)
    p.set_defaults(func=run)


# ------------------------------------------------------------------------ worker side
_MODELS: dict = {}


@task
def classify_one(item: dict) -> dict:
    """Run in a batch worker: the model (loaded once per process) on one image file."""
    import numpy as np

    from cvtools.recognize import load

    clf = _MODELS.get(item["model"])
    if clf is None:
        _MODELS.clear()
        clf = _MODELS[item["model"]] = load(item["model"])
    proba = clf.predict_proba([item["path"]])[0]
    order = np.argsort(-proba, kind="stable")[:item["top"]]
    return {"top": [(clf.classes[i], float(proba[i])) for i in order]}


# ------------------------------------------------------------------------ parent side
def _evaluate(clf, args) -> int:
    if len(args.inputs) != 1:
        raise UsageError("--evaluate takes one labelled folder (DATA/<class>/<image>).")
    ev = clf.evaluate(args.inputs[0])
    if args.json:
        emit({"path": str(args.inputs[0]), **ev.to_dict()})
        return 0
    print(ev.table())
    print("\nconfusion matrix (rows = true, columns = predicted):")
    width = max(len(c) for c in ev.classes)
    print(" " * (width + 1) + " ".join(f"{c[:6]:>6}" for c in ev.classes))
    for c, row in zip(ev.classes, ev.confusion):
        print(f"{c:>{width}} " + " ".join(f"{v:6d}" for v in row))
    return 0


def run(args) -> int:
    from cvtools.recognize import load

    with usage_errors("--model"):  # a missing or bad model file is a bad argument, not a failed input
        clf = load(args.model)
    if args.evaluate:
        return _evaluate(clf, args)
    if args.top < 1:
        raise UsageError(f"--top must be >= 1; got {args.top}.")
    k = min(args.top, len(clf.classes))
    inputs = collect(args.inputs)
    _MODELS.clear()
    _MODELS[str(args.model)] = clf  # one image (or --workers 0) runs here: no second load
    items = [{"path": str(i.path), "error": i.error, "model": str(args.model), "top": k} for i in inputs]
    results = run_items(classify_one, items, command="classify", workers=args.workers, quiet=args.quiet,
                        json=args.json)
    for item, res in results:
        top = res["top"]
        if args.json:
            rec = {"path": item["path"], "label": top[0][0], "score": round(top[0][1], 6)}
            if k > 1:
                rec["top"] = [{"label": c, "score": round(s, 6)} for c, s in top]
            emit(rec)
        else:
            print(f"{shown(item['path'])}\t" + "\t".join(f"{c} {s:.3f}" for c, s in top), flush=True)
    return finish("classify", len(inputs), results.failed, quiet=args.quiet)
