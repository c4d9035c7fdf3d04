"""`cvtools identify --gallery DIR INPUTS... [--json]`: name the faces in pictures."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "identify", help="name every face (or gallery object) in images, from a gallery folder",
        description="Build a gallery from DIR/<name>/<image> (face descriptors are cached in "
                    "DIR/.cvtools-cache/) and print who is in each image of INPUTS (files or "
                    "folders). Faces farther than --threshold from every gallery face are 'unknown'.",
        epilog="Example: cvtools identify --gallery people/ party/ --json. "
               "Exit codes: 0 ok, 1 some inputs failed, 2 usage error.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--gallery", "-g", required=True, metavar="DIR", help="folder of DIR/<name>/<image>")
    p.add_argument("--kind", choices=["face", "object"], default="face", help="default face")
    p.add_argument("--threshold", type=float, default=0.6,
                   help="face: largest descriptor distance that still names a face (default 0.6)")
    p.add_argument("--min-inliers", type=int, default=12, help="object: fewest RANSAC inliers (default 12)")
    p.add_argument("--detector", "-d", default="face", metavar="NAME",
                   help="face: the face detector (default face = YuNet, faces from ~10 px; face-accurate, "
                        "face-dlib-hog, ... see `cvtools detect --list`)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--describe", action="store_true", help="add colour, size and position of each detection")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=run)


def run(args) -> int:
    from cvtools.identify import Gallery, describe
    from cvtools.io import read

    from ._classify import _files

    options = ({"threshold": args.threshold, "detector": args.detector} if args.kind == "face"
               else {"min_inliers": args.min_inliers})
    gallery = Gallery.from_folder(args.gallery, args.kind, cache=not args.no_cache, **options)
    failed = 0
    for path in _files(args.inputs):
        try:
            image = read(path)
            det = gallery.identify(image)
        except (OSError, ValueError, TypeError) as exc:
            failed += 1
            print(f"cvtools identify: {path}: {exc}", file=sys.stderr)
            continue
        records = describe(image, det) if args.describe else det.to_records()
        if args.json:
            print(json.dumps({"file": str(path), "detections": records}))
        else:
            names = [f"{r.get('identity', 'unknown')} ({r['distance']:.2f})" if "distance" in r
                     else r.get("identity", "unknown") for r in records]
            print(f"{path}\t{len(records)} {args.kind}(s)\t" + ", ".join(names))
        sys.stdout.flush()
    return 1 if failed else 0
