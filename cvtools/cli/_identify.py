"""`cvtools identify --gallery DIR INPUTS... [--json]`: name the faces in pictures."""
from __future__ import annotations

import json

from cvtools._shared import UsageError

from ._common import add_device, add_runner, collect, emit, finish, run_items, shown, task, usage_errors


def register(sub) -> None:
    p = sub.add_parser(
        "identify", help="name every face (or gallery object) in images, from a gallery folder",
        description="Build a gallery from DIR (class sub-folders DIR/<name>/<image>, or flat DIR/<name>.jpg "
                    "files, see cvtools.identify.Gallery.from_folder; face descriptors are cached in "
                    "DIR/.cvtools-cache/) and print who is in each image or video frame of INPUTS (files, "
                    "folders or quoted globs), on the batch runner. Faces farther than --threshold from every "
                    "gallery face are unknown (JSON: \"identity\": null); video frames add \"frame\".",
        epilog="Example: cvtools identify --gallery people/ party/ --json. "
               "Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image or video files, folders or quoted globs")
    p.add_argument("--gallery", "-g", required=True, metavar="DIR",
                   help="folder of DIR/<name>/<image> or DIR/<name>.jpg (alice.jpg, alice_2.jpg, bob.png)")
    p.add_argument("--kind", choices=["face", "object"], default="face", help="default face")
    p.add_argument("--threshold", type=float, default=0.6,
                   help="face: largest descriptor distance that still names a face (default 0.6)")
    p.add_argument("--min-inliers", type=int, default=12, help="object: fewest RANSAC inliers (default 12)")
    p.add_argument("--detector", "-d", default="face", metavar="NAME",
                   help="face: the face detector (default face = YuNet, faces from ~10 px; face-accurate, "
                        "face-dlib-hog, ... see `cvtools detect --list`)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--describe", action="store_true", help="add colour, size and position of each detection")
    p.add_argument("--every", type=int, default=1, metavar="N", help="videos: every Nth frame (default 1)")
    add_device(p, "face descriptors (torch)")
    add_runner(p)
    p.set_defaults(func=run)


# ------------------------------------------------------------------------ worker side
_GALLERIES: dict = {}


def _gallery(spec: dict, progress: bool | None = False):
    from cvtools.identify import Gallery

    key = json.dumps(spec, sort_keys=True)
    gallery = _GALLERIES.get(key)
    if gallery is None:
        _GALLERIES.clear()
        gallery = _GALLERIES[key] = Gallery.from_folder(spec["root"], spec["kind"], cache=spec["cache"],
                                                        progress=progress, **spec["options"])
    return gallery


def records(image, det, *, describe: bool) -> list[dict]:
    """The JSON records of ``det``: ``identity`` is always there, ``None`` for an unknown face or object."""
    from cvtools.identify import describe_detections

    recs = describe_detections(image, det) if describe else det.to_records()
    for rec in recs:
        name = rec.get("identity")
        rec["identity"] = None if name in (None, "unknown") else name
    return recs


@task
def identify_one(item: dict) -> dict:
    """Run in a batch worker: the gallery (built once per process, from its cache) on one image file, or
    on every ``item["every"]``-th frame of a video."""
    from cvtools.io import VideoSource, read

    gallery = _gallery(item["gallery"])
    if not item["video"]:
        image = read(item["path"])
        return {"detections": records(image, gallery.identify(image), describe=item["describe"])}
    frames = []
    with VideoSource(item["path"]) as video:
        for index, frame in enumerate(video):
            if index % item["every"] == 0:
                frames.append({"frame": index, "detections": records(frame, gallery.identify(frame),
                                                                     describe=item["describe"])})
    return {"frames": frames}


# ------------------------------------------------------------------------ parent side
def run(args) -> int:
    if args.every < 1:
        raise UsageError(f"--every must be >= 1; got {args.every}.")
    options = ({"threshold": args.threshold, "detector": args.detector, "device": args.device or "auto"}
               if args.kind == "face" else {"min_inliers": args.min_inliers})
    spec = {"root": str(args.gallery), "kind": args.kind, "cache": not args.no_cache, "options": options}
    _GALLERIES.clear()
    with usage_errors():  # an unknown detector, a bad threshold, an empty gallery: the user's to fix
        # built here once: the options are checked before any work, the cache is filled for the workers,
        # and one image (or --workers 0) runs on this very gallery
        _gallery(spec, progress=None if not args.quiet else False)
    inputs = collect(args.inputs, videos=True)
    items = [{"path": str(i.path), "error": i.error, "video": i.video, "every": args.every, "gallery": spec,
              "describe": args.describe} for i in inputs]
    results = run_items(identify_one, items, command="identify", workers=args.workers, quiet=args.quiet,
                        json=args.json)
    for item, res in results:
        for rec in res["frames"] if item["video"] else [res]:
            _show(args, item["path"], rec)
    return finish("identify", len(inputs), results.failed, quiet=args.quiet, noun="input")


def _show(args, path: str, rec: dict) -> None:
    recs = rec["detections"]
    if args.json:
        emit({"path": path, **rec})
        return
    where = shown(path) + (f" frame {rec['frame']}" if "frame" in rec else "")
    names = [f"{r['identity'] or 'unknown'} ({r['distance']:.2f})" if "distance" in r else r["identity"] or "unknown"
             for r in recs]
    print(f"{where}\t{len(recs)} {args.kind}(s)\t" + ", ".join(names), flush=True)
