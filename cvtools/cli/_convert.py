"""`cvtools convert SRC DST --to coco|yolo|voc|folder`: a labelled data set from one format to another."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert a labelled data set between COCO, YOLO, Pascal VOC and class folders",
        description="Read the data set SRC (COCO JSON, YOLO data.yaml layout, Pascal VOC, or class folders; found "
                    "out from the path unless --from says) and write it to the folder DST in another format, with "
                    "the images copied (or linked with --link). Prints what was read and written, every item "
                    "skipped as malformed (file and line) and what the target format cannot hold.",
        epilog="Examples: cvtools convert coco128/ coco128-yolo/ --to yolo --link; "
               "cvtools convert VOC2012/ voc-coco/ --to coco --split val. "
               "Exit codes: 0 ok, 1 some items were skipped (or --strict stopped), 2 usage error.")
    p.add_argument("src", metavar="SRC", help="the data set (a folder, a COCO .json or a YOLO .yaml)")
    p.add_argument("dst", metavar="DST", nargs="?", default=None,
                   help="the output folder (new or empty, unless --overwrite)")
    p.add_argument("--output", "-o", dest="dst_option", metavar="DST", default=None,
                   help="the output folder, as an option (the same as DST; give one of them)")
    p.add_argument("--to", required=True, choices=["coco", "yolo", "voc", "folder"], help="the output format")
    p.add_argument("--from", dest="src_format", default="auto", choices=["auto", "coco", "yolo", "voc", "folder"],
                   help="the input format (default: auto)")
    p.add_argument("--split", default=None, metavar="NAME", help="convert only this split (train, val, ...)")
    p.add_argument("--images", default=None, metavar="DIR", help="COCO input: the images folder, if not beside the JSON")
    p.add_argument("--classes", default=None, metavar="A,B,...",
                   help="class names in order (YOLO without data.yaml, VOC without classes.txt)")
    p.add_argument("--link", action="store_true", help="symbolic links to the images instead of copies")
    p.add_argument("--overwrite", action="store_true", help="write into a folder that already holds files")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed item instead of skipping it")
    p.add_argument("--json", action="store_true", help="print one JSON object (counts, skipped items, notes)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def split_names(text):
    """``"a,b, c"`` -> ``["a", "b", "c"]`` (None stays None)."""
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        from cvtools._shared import UsageError

        raise UsageError(f"--classes must list class names separated by commas; got {text!r}.")
    return names


def describe(ds) -> dict:
    return {"path": str(ds.root), "format": ds.format, "images": len(ds), "boxes": ds.num_boxes,
            "classes": len(ds.classes), "splits": ds.splits}


def run(args) -> int:
    from cvtools import datasets

    from ._common import output_argument

    dst = output_argument(args.dst, args.dst_option, what="output folder")
    ds = datasets.load(args.src, args.src_format, split=args.split, images=args.images,
                       classes=split_names(args.classes), strict=args.strict)
    try:
        summary = ds.save(dst, format=args.to, link=args.link, overwrite=args.overwrite)
    except FileExistsError as exc:  # a usage error: another DST, or --overwrite
        from cvtools._shared import UsageError

        raise UsageError(str(exc)) from None
    skipped = [str(p) for p in ds.skipped]
    if args.json:
        print(json.dumps({"read": describe(ds), "wrote": {"path": summary.path, "format": summary.format,
                                                           "images": summary.images, "boxes": summary.boxes,
                                                           "classes": summary.classes},
                          "skipped": skipped, "notes": summary.notes}, ensure_ascii=False))
    elif not args.quiet:
        splits = f" (splits: {', '.join(ds.splits)})" if ds.splits else ""
        print(f"read {ds.format} data set {ds.root}: {len(ds)} images, {ds.num_boxes} boxes, "
              f"{len(ds.classes)} classes{splits}")
        print(str(summary))
    if not args.quiet:
        for item in skipped:
            print(f"cvtools convert: skipped: {item}", file=sys.stderr)
        if skipped:
            print(f"cvtools convert: {len(skipped)} malformed items skipped (see above; --strict stops at the "
                  "first)", file=sys.stderr)
    return 1 if skipped else 0
