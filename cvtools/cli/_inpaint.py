"""`cvtools inpaint`: fill a masked region, or remove what a detector finds (e.g. faces, for privacy)."""
from __future__ import annotations

import time
from pathlib import Path

from cvtools._shared import UsageError

from ._common import (add_device, add_runner, check_output_dir, check_torch_device, collect, emit, finish,
                      output_paths, run_items, shown, single_file, task, usage_errors)

METHODS = ("auto", "telea", "ns", "biharmonic", "fsr", "exemplar", "dip")


def register(sub) -> None:
    p = sub.add_parser(
        "inpaint", help="fill a masked region of images (scratches, text, objects, faces)",
        description="Fill the pixels of IMAGE where MASK is non-zero so that the region looks as if "
                    "nothing was ever there. Instead of a mask, --remove NAME builds one from the boxes "
                    "of a cvtools detector (e.g. --remove face hides every detected face). Several images "
                    "(files, folders, quoted globs) are filled on the batch runner, with --remove or with "
                    "one --mask for all, into -o DIR under the same relative names.",
        epilog="Examples:  cvtools inpaint photo.jpg scratches.png -o fixed.png --method fsr\n"
               "           cvtools inpaint group.jpg --remove face -o anonymous.jpg --padding 0.2\n"
               "           cvtools inpaint party/ --remove face -o anonymous/\n"
               "           cvtools inpaint 'frames/*.png' --mask watermark.png -o clean/\n"
               "Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.",
        formatter_class=lambda prog: __import__("argparse").RawDescriptionHelpFormatter(prog, width=100))
    p.add_argument("inputs", nargs="+", metavar="IMAGE",
                   help="the image to repair and its MASK (same size; non-zero above --threshold = fill); "
                        "with --remove or --mask: image files, folders or quoted globs")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the result: a file for one image file, else a folder (created)")
    p.add_argument("--mask", metavar="MASK", default=None,
                   help="one mask for every IMAGE (instead of IMAGE MASK); per-image masks: "
                        "`cvtools batch IN OUT -p inpaint:mask_dir=MASKS`")
    p.add_argument("--method", "-m", choices=METHODS, default="auto",
                   help="auto (= fsr, the default), telea, ns, biharmonic, fsr, exemplar or dip")
    p.add_argument("--remove", metavar="DETECTOR", default=None,
                   help="build the mask from this detector's boxes instead of MASK (face: every face, YuNet, "
                        "from ~10 px; see `cvtools detect --list`)")
    p.add_argument("--padding", type=float, default=0.15,
                   help="with --remove: grow each box by this fraction (<1) or pixels (>=1); default 0.15")
    p.add_argument("--ellipse", action="store_true", help="with --remove: fill ellipses, not boxes")
    p.add_argument("--threshold", type=int, default=0, help="mask pixels above this value are filled (default 0)")
    p.add_argument("--dilate", type=int, default=0, metavar="PX", help="grow the mask by PX pixels first")
    p.add_argument("--seed", type=int, default=0, help="random seed (exemplar, dip)")
    p.add_argument("--iterations", type=int, default=None, help="dip: most optimisation steps")
    p.add_argument("--time-budget", type=float, default=None, metavar="S", help="dip: stop after S seconds")
    add_device(p, "dip")
    p.add_argument("--save-mask", metavar="PATH", default=None,
                   help="also write the mask used (0/255 PNG): a file for one image, else a folder")
    add_runner(p)
    p.set_defaults(func=run)


# ------------------------------------------------------------------------ worker side
_DETECTORS: dict = {}


def _mask(image, item: dict):
    import numpy as np

    from cvtools.generative import mask_from_boxes
    from cvtools.io import read

    if item["remove"] is None:
        m = read(item["mask"])
        if m.ndim == 3:
            m = m[..., :3].max(axis=2)
        return m > item["threshold"], None
    det = _DETECTORS.get(item["remove"])
    if det is None:
        from cvtools import detect

        _DETECTORS.clear()
        det = _DETECTORS[item["remove"]] = detect.get(item["remove"])
    rgb = image
    if image.ndim == 2:
        rgb = np.repeat(image[..., None], 3, axis=2)
    elif image.shape[2] == 4:
        rgb = image[..., :3]
    dets = det.detect(rgb)
    return mask_from_boxes(image.shape, dets.xyxy, padding=item["padding"], ellipse=item["ellipse"]), len(dets)


@task
def inpaint_one(item: dict) -> dict:
    """Run in a batch worker: fill one image file and write the result (and its mask)."""
    import numpy as np

    from cvtools.generative import dilate_mask, inpaint
    from cvtools.io import read, write

    image = read(item["path"])
    mask, n_boxes = _mask(image, item)
    if item["dilate"]:
        mask = dilate_mask(mask, item["dilate"])
    t0 = time.perf_counter()
    out = inpaint(image, mask, item["method"], progress=item["progress"], **item["options"])
    seconds = time.perf_counter() - t0
    for dst, img in ((item["output"], out), (item["save_mask"], None)):
        if dst is not None:
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            write(dst, img if img is not None else mask.astype(np.uint8) * 255)
    summary = {"path": item["path"], "output": item["output"], "method": item["method_name"],
               "filled_pixels": int(mask.sum()), "filled_fraction": round(float(mask.mean()), 6),
               "seconds": round(seconds, 3)}
    if n_boxes is not None:
        summary["detector"] = item["remove"]
        summary["boxes"] = n_boxes
    return summary


# ------------------------------------------------------------------------ parent side
def _options(args) -> dict:
    options = {}
    if args.method in ("exemplar", "dip"):
        options["seed"] = args.seed
    if args.method == "dip":
        for key in ("iterations", "time_budget", "device"):
            if getattr(args, key) is not None:
                options[key] = getattr(args, key)
    elif args.iterations is not None or args.time_budget is not None or args.device is not None:
        raise UsageError("--iterations, --time-budget and --device apply to --method dip only.")
    return options


def run(args) -> int:
    inputs, mask = list(args.inputs), args.mask
    if args.remove is None and mask is None:
        if len(inputs) != 2:
            raise UsageError("give either MASK or --remove DETECTOR (exactly one); several images need "
                             "--mask MASK (one mask for all) or --remove DETECTOR.")
        inputs, mask = inputs[:1], inputs[1]
    elif args.remove is not None and mask is not None:
        raise UsageError("give either MASK or --remove DETECTOR (exactly one), not both.")
    options = _options(args)
    check_torch_device(args.device, "cvtools inpaint --method dip")
    if args.remove is not None:
        from cvtools import detect

        with usage_errors("--remove"):
            detect.get(args.remove)  # an unknown detector is a usage error before any work
    one = single_file(inputs)
    found = collect(inputs)
    if one:
        outs, masks = [Path(args.output)], [args.save_mask]
    else:
        for folder in (args.output, args.save_mask):
            if folder:
                check_output_dir(inputs, folder)
        outs = output_paths(found, args.output)
        masks = (output_paths(found, args.save_mask, suffix=".png") if args.save_mask
                 else [None] * len(found))
    common = {"mask": mask, "remove": args.remove, "threshold": args.threshold, "padding": args.padding,
              "ellipse": args.ellipse, "dilate": args.dilate, "method": args.method, "options": options,
              "method_name": "fsr" if args.method == "auto" else args.method,
              # one image shows the method's own progress (dip); several show the runner's bar
              "progress": False if args.quiet or not one else None}
    items = [{"path": str(i.path), "error": i.error, "output": str(o), "save_mask": None if m is None else str(m),
              **common} for i, o, m in zip(found, outs, masks)]
    results = run_items(inpaint_one, items, command="inpaint", workers=args.workers, quiet=args.quiet,
                        json=args.json)
    for _, res in results:
        if args.json:
            emit(res)
        elif not args.quiet:
            n = res.get("boxes")
            extra = f" ({n} {args.remove} box{'es' if n != 1 else ''})" if n is not None else ""
            print(f"{shown(res['output'])}: filled {res['filled_pixels']} pixels "
                  f"({100 * res['filled_fraction']:.1f} %){extra} with {res['method']} in {res['seconds']:.2f} s",
                  flush=True)
    return finish("inpaint", len(found), results.failed, quiet=args.quiet)
