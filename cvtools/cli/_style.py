"""`cvtools style`: render photos in the style of a painting (a thin wrapper over `stylize`)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "style", help="render photos in the style of a painting (colour, NPR, fast networks, Gatys)",
        description="Stylise CONTENT image(s) with cvtools.generative.stylize. Methods: color (colour "
                    "statistics of --style), npr (painterly/sketch --effect, no style image), fast "
                    "(feed-forward networks: --style IMAGE or --builtin K, needs cvtools[style]), neural "
                    "(Gatys optimisation, needs cvtools[torch]).",
        epilog="Examples: cvtools style photo.jpg --builtin 7 -o out.jpg | cvtools style photo.jpg --style "
               "starry.jpg --method fast --strength 0.8 -o out.png | cvtools style a.jpg b.jpg --method npr "
               "--effect cartoon -o outdir/")
    p.add_argument("content", nargs="+", help="content image file(s)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--style", help="style image file (methods color, fast, neural)")
    g.add_argument("--builtin", metavar="K",
                   help="built-in style of the 26-style network (method fast): an index 0-25, or a blend "
                        "such as '3:0.5,12:0.5'")
    p.add_argument("-o", "--output", required=True,
                   help="output file (one input) or folder (several inputs; created if missing)")
    p.add_argument("--method", choices=["color", "npr", "fast", "neural"], default=None,
                   help="default: fast with --builtin, npr without a style, else color")
    p.add_argument("--strength", type=float, default=1.0, help="0 to 1 (default 1)")
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    p.add_argument("--mode", help="color: reinhard (default) or histogram")
    p.add_argument("--effect", help="npr: cartoon, pencil, stylization, edge-preserving, detail, oil")
    p.add_argument("--size", type=int, help="fast/neural: longest side processed")
    p.add_argument("--tile", action="store_true", help="fast with a style image: tile at full size")
    p.add_argument("--iterations", type=int, help="neural: optimisation steps (default 200)")
    p.add_argument("--max-time", type=float, help="neural: time budget in seconds")
    p.add_argument("--weights", help="neural: torchvision VGG-19 state-dict file (default random features)")
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], help="neural optimizer")
    p.add_argument("--seed", type=int, help="neural: random seed")
    p.add_argument("--device", help="fast: auto/cpu/cuda; neural: cpu/cuda/auto")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-file lines")
    p.set_defaults(func=run)


def run(args) -> int:
    from cvtools.generative import stylize
    from cvtools.io import read, write

    method = args.method or ("fast" if args.builtin else "npr" if not args.style else "color")
    style = None
    if args.builtin is not None:
        style = int(args.builtin) if args.builtin.strip().isdigit() else args.builtin
        if method != "fast":
            raise ValueError(f"--builtin needs --method fast; got --method {method}.")
    elif args.style:
        style = read(args.style)
    options = {}
    for name in ("mode", "effect", "size", "iterations", "max_time", "weights", "optimizer", "seed",
                 "device"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.tile:
        options["tile"] = True
    out = Path(args.output)
    many = len(args.content) > 1
    if many:
        out.mkdir(parents=True, exist_ok=True)
    results, failed = [], 0
    for src in args.content:
        dst = out / Path(src).name if many else out
        t0 = time.perf_counter()
        try:
            image = read(src)
            result = stylize(image, style, method=method, strength=args.strength,
                             preserve_color=args.preserve_color, **options)
            write(dst, result)
        except (OSError, ValueError) as exc:
            if not many:
                raise
            failed += 1
            print(f"cvtools style: {src}: {exc}", file=sys.stderr)
            results.append({"input": src, "error": str(exc)})
            continue
        dt = time.perf_counter() - t0
        results.append({"input": src, "output": str(dst), "seconds": round(dt, 3)})
        if not args.quiet and not args.json:
            print(f"{src} -> {dst} ({method}, {dt:.2f} s)")
    if args.json:
        print(json.dumps({"method": method, "results": results}, indent=2))
    return 1 if failed else 0
