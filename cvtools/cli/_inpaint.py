"""`cvtools inpaint`: fill a masked region, or remove what a detector finds (e.g. faces, for privacy)."""
from __future__ import annotations

import json
import sys
import time

METHODS = ("auto", "telea", "ns", "biharmonic", "fsr", "exemplar", "dip")


def register(sub) -> None:
    p = sub.add_parser(
        "inpaint", help="fill a masked region of an image (scratches, text, objects, faces)",
        description="Fill the pixels of IMAGE where MASK is non-zero so that the region looks as if "
                    "nothing was ever there. Instead of a mask, --remove NAME builds one from the boxes "
                    "of a cvtools detector (e.g. --remove face hides every detected face).",
        epilog="Examples:  cvtools inpaint photo.jpg scratches.png -o fixed.png --method fsr\n"
               "           cvtools inpaint group.jpg --remove face -o anonymous.jpg --padding 0.2",
        formatter_class=lambda prog: __import__("argparse").RawDescriptionHelpFormatter(prog, width=100))
    p.add_argument("image", metavar="IMAGE", help="the image to repair")
    p.add_argument("mask", metavar="MASK", nargs="?", default=None,
                   help="mask image, same size; non-zero (above --threshold) = fill")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write the result")
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
    p.add_argument("--device", default=None, help="dip: torch device (cpu, cuda); default: cuda if available")
    p.add_argument("--save-mask", metavar="PATH", default=None, help="also write the mask used (0/255 PNG)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from cvtools.generative import dilate_mask, inpaint, mask_from_boxes
    from cvtools.io import read, write

    if (args.mask is None) == (args.remove is None):
        print("cvtools inpaint: error: give either MASK or --remove DETECTOR (exactly one).", file=sys.stderr)
        return 2
    image = read(args.image)
    n_boxes = None
    if args.remove is not None:
        from cvtools import detect

        det = detect.get(args.remove)
        rgb = image
        if image.ndim == 2:
            rgb = np.repeat(image[..., None], 3, axis=2)
        elif image.shape[2] == 4:
            rgb = image[..., :3]
        dets = det.detect(rgb)
        n_boxes = len(dets)
        mask = mask_from_boxes(image.shape, dets.xyxy, padding=args.padding, ellipse=args.ellipse)
    else:
        m = read(args.mask)
        if m.ndim == 3:
            m = m[..., :3].max(axis=2)
        mask = m > args.threshold
    if args.dilate:
        mask = dilate_mask(mask, args.dilate)
    options = {}
    if args.method in ("exemplar", "dip"):
        options["seed"] = args.seed
    if args.method == "dip":
        if args.iterations is not None:
            options["iterations"] = args.iterations
        if args.time_budget is not None:
            options["time_budget"] = args.time_budget
        if args.device is not None:
            options["device"] = args.device
    elif args.iterations is not None or args.time_budget is not None or args.device is not None:
        print("cvtools inpaint: error: --iterations, --time-budget and --device apply to --method dip only.",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    out = inpaint(image, mask, args.method, progress=False if args.quiet else None, **options)
    seconds = time.perf_counter() - t0
    write(args.output, out)
    if args.save_mask:
        write(args.save_mask, mask.astype(np.uint8) * 255)
    summary = {"input": args.image, "output": args.output, "method": "fsr" if args.method == "auto" else args.method,
               "filled_pixels": int(mask.sum()), "filled_fraction": round(float(mask.mean()), 6),
               "seconds": round(seconds, 3)}
    if n_boxes is not None:
        summary["detector"] = args.remove
        summary["boxes"] = n_boxes
    if args.json:
        print(json.dumps(summary))
    elif not args.quiet:
        extra = f" ({n_boxes} {args.remove} box{'es' if n_boxes != 1 else ''})" if n_boxes is not None else ""
        print(f"{args.output}: filled {summary['filled_pixels']} pixels ({100 * summary['filled_fraction']:.1f} %)"
              f"{extra} with {summary['method']} in {seconds:.2f} s")
    return 0
