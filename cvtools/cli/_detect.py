"""`cvtools detect INPUTS... --detector NAME [--json] [-o DIR]`: one detector over images and videos.

The work runs on the batch runner (:func:`cvtools.batch.map_items`): its process pool or this process,
its worker set-up, its handling of a worker that dies; this module holds the per-item task and the
printing.
"""
from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path

from ._common import check_output_dir, collect, say, shown as _shown, usage_errors

_MAGIC = ("*", "?", "[")
_OPTION_LIKE = re.compile(r"[A-Za-z_][\w-]*=")


def register(sub) -> None:
    p = sub.add_parser(
        "detect", help="find faces, codes, markers, people... in images and videos (JSON lines, annotated copies)",
        description="Run one detector over image files, folders (recursively), quoted globs and video files "
                    "(every frame, or every Nth with --every), in parallel. Prints one line per image (or video "
                    "frame); with --json one JSON object per line: {path, width, height, detections: [{box: "
                    "[x1, y1, x2, y2], score, label, text, identity, distance}]} (absent keys omitted, an unknown "
                    "identity null; video frames add `frame`; a failed input is {path, error}). With -o DIR, "
                    "writes a copy of each image (an annotated video for each video) with the detections drawn, "
                    "at its path below DIR. `cvtools detect --list` shows every detector and whether it can run here.",
        epilog="Examples: cvtools detect photos/ --detector face --json > faces.jsonl; "
               "cvtools detect photos/ -d face -o boxed/; cvtools detect \"scans/**/*.png\" -d qr --json; "
               "cvtools detect clip.mp4 -d person --every 5 --json; cvtools detect party/ -d face --gallery people/. "
               "Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.")
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="image files, folders (searched recursively for images and videos), quoted globs, video files")
    p.add_argument("--detector", "-d", default="face", metavar="NAME", help="detector name (default: face)")
    p.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="detector option, repeatable, e.g. -O threshold=0.3 -O classes=person,car "
                        "(template: -O template=patch.png)")
    p.add_argument("--json", action="store_true",
                   help="JSON lines on stdout: one object per image or video frame (nothing else on stdout)")
    p.add_argument("--output", "-o", "--annotate", dest="output", metavar="DIR", default=None,
                   help="write annotated copies here, at each input's path below DIR (a folder's files keep their "
                        "path below it; a video becomes an annotated video); --annotate is the same option")
    p.add_argument("--every", type=int, default=1, metavar="N", help="videos: detect in every Nth frame (default 1)")
    p.add_argument("--gallery", metavar="DIR", default=None,
                   help="name each face with cvtools.identify.Gallery.from_folder(DIR) (adds identity, distance)")
    p.add_argument("--classifier", metavar="MODEL", default=None,
                   help="classify each detection's crop with a cvtools.recognize model (adds class, class_score)")
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores, at most one per input; 0 = in this process)")
    p.add_argument("--list", action="store_true", help="list the detectors and exit (with --json: JSON lines)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar and no summary line (failures are still printed)")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------ inputs
def _collect(inputs) -> list:
    """Every image and video named by ``inputs`` (:func:`cvtools.cli._common.collect`); a missing file
    (not a glob) is a usage error."""
    for raw in map(str, inputs):
        if not Path(raw).exists() and not any(c in raw for c in _MAGIC):
            raise FileNotFoundError(f"input {raw!r} does not exist.")
    return collect(inputs, videos=True)


# ------------------------------------------------------------------------ worker side
_STATE: dict = {}


def _setup(config: dict) -> dict:
    """The detector (and gallery, classifier) for ``config``, built once per process."""
    key = json.dumps(config, sort_keys=True, default=str)
    if _STATE.get("key") == key:
        return _STATE
    from cvtools.detect import get

    _STATE.clear()
    opts = dict(config["options"])
    if config["detector"] == "template" and isinstance(opts.get("template"), str):
        from cvtools.io import read

        opts["template"] = read(opts["template"])
    _STATE["detector"] = get(config["detector"], **opts)
    if config.get("gallery"):
        from cvtools.identify import Gallery

        _STATE["gallery"] = Gallery.from_folder(config["gallery"], kind="face",
                                                detector=_gallery_detector(config["detector"], _STATE["detector"]))
    if config.get("classifier"):
        from cvtools import recognize

        _STATE["classifier"] = recognize.load(config["classifier"])
    _STATE["key"] = key
    return _STATE


def _gallery_detector(name, detector):
    """What finds the gallery's faces: the detector in use when it is a face detector, else ``face``."""
    from cvtools.detect import detectors

    return detector if name in {d.name for d in detectors() if d.classes == ("face",)} else "face"


def _records(det) -> list[dict]:
    import numpy as np

    recs = det.to_records()
    if det.identities is not None:  # an unknown face is null in JSON, never the string "unknown"
        for rec in recs:
            if rec.get("identity", "unknown") == "unknown":
                rec["identity"] = None
    for key, values in det.data.items():
        if key in ("ignore", "subdetector", "aligned_by") or getattr(values, "ndim", 1) != 1:
            continue
        for rec, v in zip(recs, values):
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float):
                if v != v or v in (float("inf"), float("-inf")):  # NaN/inf are not JSON (e.g. a face without yaw)
                    continue
                v = round(v, 6)
            if isinstance(v, (str, int, float, bool)) and key not in rec:
                rec[key] = v
    return recs


def _detect(state: dict, image):
    det = state["detector"].detect(image)
    if "gallery" in state:
        det = state["gallery"].identify(image, det)
    if "classifier" in state:
        from cvtools import recognize

        det = recognize.classify_detections(image, det, state["classifier"])
    return det


def _annotated_video_path(path: str) -> Path:
    """Where an annotated video goes: the same name, as .mp4 when OpenCV cannot write its extension."""
    dst = Path(path)
    return dst if dst.suffix.lower() in (".mp4", ".m4v", ".mov", ".avi", ".mkv") else dst.with_suffix(".mp4")


def _detect_video(state: dict, item: dict) -> list[dict]:
    """One record per frame read (every ``item["every"]``-th), and an annotated video with ``annotate``."""
    from cvtools.io import VideoSource, VideoWriter
    from cvtools.viz import draw_detections

    every, records = item["every"], []
    with contextlib.ExitStack() as stack:
        video = stack.enter_context(VideoSource(item["path"]))
        writer = None
        if item.get("annotate"):
            dst = _annotated_video_path(item["annotate"])
            dst.parent.mkdir(parents=True, exist_ok=True)
            writer = stack.enter_context(VideoWriter(dst, (video.fps or 25.0) / every, video.size))
        for index, frame in enumerate(video):
            if index % every:
                continue
            det = _detect(state, frame)
            records.append({"path": item["path"], "frame": index, "width": int(frame.shape[1]),
                            "height": int(frame.shape[0]), "detections": _records(det)})
            if writer is not None:
                writer.write(draw_detections(frame, det))
    return records


def detect_task(item: dict) -> list[dict]:
    """Run in a batch worker: the records of one image (one) or video (one per frame read)."""
    from cvtools.io import read, write

    if item.get("error"):  # a glob that matched nothing
        raise FileNotFoundError(item["error"])
    state = _setup(item["config"])
    if item["video"]:
        return _detect_video(state, item)
    image = read(item["path"])
    det = _detect(state, image)
    if item.get("annotate"):
        from cvtools.viz import draw_detections

        dst = Path(item["annotate"])
        dst.parent.mkdir(parents=True, exist_ok=True)
        write(dst, draw_detections(image, det))
    return [{"path": item["path"], "width": int(image.shape[1]), "height": int(image.shape[0]),
             "detections": _records(det)}]


# ------------------------------------------------------------------------ parent side
def _say(message: str) -> None:
    say("detect", message)


def _list(as_json: bool = False) -> int:
    from dataclasses import asdict

    from cvtools.detect import detectors

    infos = detectors()
    if as_json:
        for d in infos:
            print(json.dumps({**asdict(d), "classes": list(d.classes)}))
        return 0
    print(f"{'name':<14} {'ready':<5}  {'speed':<11}  {'classes':<22}  description / model / licence")
    for d in infos:
        state = "yes" if d.available else "no"
        classes = ", ".join(d.classes) if 0 < len(d.classes) <= 3 else (f"{len(d.classes)} COCO classes"
                                                                         if d.classes else "(options)")
        print(f"{d.name:<14} {state:<5}  {d.speed:<11}  {classes:<22}  {d.description}")
        print(f"{'':<14} {'':<5}  {'':<11}  {'':<22}  model: {d.model}; licence: {d.license}")
        if not d.available:
            print(f"{'':<14} {'':<5}  {'':<11}  {'':<22}  not available: {d.why}; {d.install}")
    return 0


def _check_setup(args) -> dict:
    """Build what the workers will build, once here, so that a bad option is a usage error before any
    work; returns the workers' config."""
    from cvtools._shared import UsageError
    from cvtools.batch import parse_options

    if args.output is not None and _OPTION_LIKE.match(args.output) and not Path(args.output).exists():
        raise UsageError(f"-o/--output names the folder for annotated copies; detector options are "
                         f"-O KEY=VALUE (got -o {args.output}).")
    if args.every < 1:
        raise UsageError(f"--every must be >= 1; got {args.every}.")
    with usage_errors("--option"):
        options = parse_options(args.option)
    if args.gallery and not Path(args.gallery).is_dir():
        raise FileNotFoundError(f"--gallery {args.gallery!r} is not a folder.")
    if args.classifier and not Path(args.classifier).is_file():
        raise FileNotFoundError(f"--classifier {args.classifier!r} does not exist.")
    config = {"detector": args.detector, "options": options, "gallery": args.gallery, "classifier": args.classifier}
    from cvtools import recognize

    try:
        with usage_errors():
            # also validates the gallery folder and fills its descriptor cache, which workers then only read
            _setup(config)
    except recognize.ModelFileError as exc:  # a bad argument: a usage error, not a failed input
        raise UsageError(f"--classifier: {exc}") from None
    return config


def _items(args, config: dict) -> list[dict]:
    files = _collect(args.inputs)
    if args.output:
        check_output_dir(args.inputs, args.output)
    return [{"path": str(f.path), "video": f.video, "every": args.every, "config": config, "error": f.error,
             "annotate": str(Path(args.output) / f.rel) if args.output else None} for f in files]


def _print(rec: dict, as_json: bool) -> int:
    """One record on stdout (a JSON line, or ``path[ frame N]<TAB>count<TAB>what``); returns its count."""
    if as_json:
        print(json.dumps(rec, ensure_ascii=False), flush=True)
        return len(rec["detections"])
    parts = []
    for d in rec["detections"]:
        name = d.get("identity") or d["label"]
        extra = f" {d['text']!r}" if "text" in d else ""
        parts.append(f"{name}{extra} {d['score']:.2f}")
    where = _shown(rec["path"]) + (f" frame {rec['frame']}" if "frame" in rec else "")
    print(f"{where}\t{len(rec['detections'])}\t" + ", ".join(parts), flush=True)
    return len(rec["detections"])


def run(args) -> int:
    from cvtools.batch import map_items

    if args.list:
        return _list(as_json=args.json)
    if not args.inputs:
        from cvtools._shared import UsageError

        raise UsageError("give at least one INPUT file, folder, glob or video (or --list).")
    config = _check_setup(args)
    items = _items(args, config)
    workers = args.workers
    if workers is not None and workers < 0:
        from cvtools._shared import UsageError

        raise UsageError(f"--workers must be >= 0 (0: in this process); got {workers}.")
    if args.detector == "motion" or len(items) <= 1:
        workers = 0  # motion needs the frames in order in one process; one input needs no pool
    failed = found = 0
    for item, records, error in map_items(detect_task, items, workers=workers, progress=False if args.quiet else None,
                                          desc=f"detect {args.detector}", unit="file"):
        if error is not None:
            failed += 1
            _say(f"{_shown(item['path'])}: {error}")
            if args.json:
                print(json.dumps({"path": item["path"], "error": error}, ensure_ascii=False), flush=True)
            continue
        for rec in records:
            found += _print(rec, args.json)
    if not args.quiet:
        print(f"cvtools detect: {len(items) - failed} of {len(items)} inputs, {found} detections, {failed} failed",
              file=sys.stderr)
    return 1 if failed else 0
