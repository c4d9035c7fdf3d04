"""`cvtools augment INPUT OUTPUT --spec aug.yaml --copies N --seed S`: dataset expansion."""
from __future__ import annotations


def register(sub) -> None:
    from ._batch import add_run_options

    p = sub.add_parser(
        "augment", help="write N randomly augmented copies of every image (albumentations)",
        description="Write COPIES augmented versions of every image under INPUT to OUTPUT "
                    "(name_0.ext, name_1.ext, ...), with the albumentations transforms listed in a "
                    "YAML/JSON spec. Reproducible: each copy's seed is derived from --seed, the file's "
                    "relative path and the copy number, so results do not depend on worker scheduling. "
                    "Needs the augment extra: pip install \"cvtools[augment]\".",
        epilog="Spec example (YAML): [{HorizontalFlip: {p: 0.5}}, {Rotate: {limit: 15}}, "
               "{RandomBrightnessContrast: {p: 0.8}}]. Exit codes: 0 ok, 1 some files failed, 2 usage error.")
    p.add_argument("--spec", required=True, metavar="FILE",
                   help="YAML/JSON list of albumentations transforms, e.g. - Rotate: {limit: 15}")
    p.add_argument("--copies", "-n", type=int, default=1, metavar="N", help="augmented copies per image (default 1)")
    p.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    add_run_options(p, fuse=False)
    p.set_defaults(func=run)


def run(args) -> int:
    from cvtools._shared import UsageError
    from cvtools.batch import Pipeline

    from ._batch import execute
    from ._common import usage_errors

    if args.copies < 1:
        raise UsageError(f"--copies must be >= 1; got {args.copies}.")
    with usage_errors("--spec"):  # a bad spec file is a bad argument (a PipelineError passes as it is)
        pipeline = Pipeline([{"op": "augment", "spec": args.spec}])
    return execute(args, pipeline, command="augment", copies=args.copies, seed=args.seed,
                   copy_suffix=True)
