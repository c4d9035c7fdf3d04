"""`cvtools detect INPUTS... --detector NAME [--json OUT.jsonl] [--annotate OUTDIR]`."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "detect", help="find faces, codes, markers, people... in images (JSON lines, annotated copies)",
        description="Run one detector over image files and folders (recursively), in parallel. Writes one "
                    "JSON line per image {path, width, height, detections: [{box: [x1, y1, x2, y2], score, "
                    "label, text, identity, distance}]} (absent keys omitted) and/or annotated copies. "
                    "`cvtools detect --list` shows every detector and whether it can run here.",
        epilog="Examples: cvtools detect photos/ --detector face --json faces.jsonl --annotate boxed/; "
               "cvtools detect scans/ -d qr --json -; cvtools detect party/ -d face --gallery people/. "
               "Exit codes: 0 ok, 1 some inputs failed, 2 usage error.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image files or folders")
    p.add_argument("--detector", "-d", default="face", metavar="NAME", help="detector name (default: face)")
    p.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="detector option, repeatable, e.g. -o threshold=0.3 -o classes=person,car "
                        "(template: -o template=patch.png)")
    p.add_argument("--json", dest="json_out", metavar="OUT.jsonl", default=None,
                   help="write one JSON line per image to this file ('-' for stdout)")
    p.add_argument("--annotate", metavar="OUTDIR", default=None,
                   help="write a copy of each image with the detections drawn, mirroring the input paths")
    p.add_argument("--gallery", metavar="DIR", default=None,
                   help="name each face with cvtools.identify.Gallery.from_folder(DIR) (adds identity, distance)")
    p.add_argument("--classifier", metavar="MODEL", default=None,
                   help="classify each detection's crop with a cvtools.recognize model (adds class, class_score)")
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores, %d here; 0 = in this process)" % (os.cpu_count() or 1))
    p.add_argument("--list", action="store_true", help="list the detectors and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no per-image lines, no summary")
    p.set_defaults(func=run)


def _collect(inputs):
    """(path, relative path for --annotate) for every image; raises FileNotFoundError for a missing input."""
    from cvtools.io import IMAGE_EXTENSIONS, iter_images

    files = []
    for raw in inputs:
        root = Path(raw)
        if root.is_dir():
            for path in iter_images(root, recursive=True):
                files.append((path, Path(root.name) / path.relative_to(root) if len(inputs) > 1
                              else path.relative_to(root)))
        elif root.is_file():
            if root.suffix.lower() not in IMAGE_EXTENSIONS:
                print(f"cvtools detect: warning: {raw}: not an image extension; trying anyway", file=sys.stderr)
            files.append((root, Path(root.name)))
        else:
            raise FileNotFoundError(f"input {raw!r} does not exist.")
    return files


# ------------------------------------------------------------------------ worker side
_STATE: dict = {}


def _init(config: dict) -> None:
    import cv2

    cv2.setNumThreads(max(1, config.get("threads", 1)))
    _STATE.clear()
    _STATE["config"] = config


def _setup():
    if "detector" in _STATE:
        return
    from cvtools.detect import get

    cfg = _STATE["config"]
    opts = dict(cfg["options"])
    if cfg["detector"] == "template" and isinstance(opts.get("template"), str):
        from cvtools.io import read

        opts["template"] = read(opts["template"])
    _STATE["detector"] = get(cfg["detector"], **opts)
    if cfg.get("gallery"):
        from cvtools.identify import Gallery

        _STATE["gallery"] = Gallery.from_folder(cfg["gallery"], kind="face",
                                                detector=_gallery_detector(cfg["detector"], _STATE["detector"]))
    if cfg.get("classifier"):
        from cvtools import recognize

        _STATE["classifier"] = recognize.load(cfg["classifier"])


def _gallery_detector(name, detector):
    """What finds the gallery's faces: the detector in use when it is a face detector, else ``face``."""
    from cvtools.detect import detectors

    return detector if name in {d.name for d in detectors() if d.classes == ("face",)} else "face"


def _records(det) -> list[dict]:
    import numpy as np

    recs = det.to_records()
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


def detect_one(job: dict) -> dict:
    """Detect in one file; never raises for a bad file (returns {"error": message})."""
    from cvtools.io import read, write

    path = job["path"]
    try:
        _setup()
        image = read(path)
        det = _STATE["detector"].detect(image)
        if "gallery" in _STATE:
            det = _STATE["gallery"].identify(image, det)
        if "classifier" in _STATE:
            from cvtools import recognize

            det = recognize.classify_detections(image, det, _STATE["classifier"])
        out = {"path": path, "width": int(image.shape[1]), "height": int(image.shape[0]),
               "detections": _records(det)}
        if job.get("annotate"):
            from cvtools.viz import draw_detections

            dst = Path(job["annotate"])
            dst.parent.mkdir(parents=True, exist_ok=True)
            write(dst, draw_detections(image, det))
        return {"result": out, "error": None}
    except MemoryError:  # pragma: no cover
        return {"result": None, "error": f"{path}: out of memory"}
    except Exception as exc:  # a bad file must not stop the batch
        msg = str(exc) or type(exc).__name__
        if not isinstance(exc, OSError):
            msg = f"{type(exc).__name__}: {msg}"
        return {"result": None, "error": f"{path}: {msg}"}


# ------------------------------------------------------------------------ parent side
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


def run(args) -> int:
    if args.list:
        return _list(as_json=args.json_out == "-")
    if not args.inputs:
        print("cvtools detect: error: give at least one INPUT file or folder (or --list).", file=sys.stderr)
        return 2
    from cvtools.batch import parse_options
    from cvtools.detect import get

    options = parse_options(args.option)
    if args.detector == "template" and isinstance(options.get("template"), str):
        from cvtools.io import read

        probe = dict(options, template=read(options["template"]))
    else:
        probe = options
    detector = get(args.detector, **probe)  # unknown names / bad options: usage error (exit 2) before any work
    if args.gallery:
        if not Path(args.gallery).is_dir():
            raise FileNotFoundError(f"--gallery {args.gallery!r} is not a folder.")
        from cvtools.identify import Gallery

        # Built once here: validates the folder (usage error before any work) and fills its
        # descriptor cache, which the workers then only read.
        Gallery.from_folder(args.gallery, kind="face", detector=_gallery_detector(args.detector, detector))
    if args.classifier:
        if not Path(args.classifier).is_file():
            raise FileNotFoundError(f"--classifier {args.classifier!r} does not exist.")
        from cvtools import recognize

        try:
            recognize.load(args.classifier)
        except recognize.ModelFileError as exc:  # a bad argument: a usage error (exit 2), not a failed input
            raise ValueError(f"--classifier: {exc}") from None
    files = _collect(args.inputs)
    if args.annotate:
        out_root = Path(args.annotate).resolve()
        for raw in args.inputs:
            if Path(raw).is_dir() and out_root == Path(raw).resolve():
                raise ValueError("--annotate must not be an input folder (inputs are never overwritten).")
    jobs = [{"path": str(p), "annotate": str(Path(args.annotate) / rel) if args.annotate else None}
            for p, rel in files]
    stateful = args.detector == "motion"
    workers = args.workers
    if workers is None:
        workers = min(os.cpu_count() or 1, max(len(jobs), 1))
    if workers < 0:
        raise ValueError(f"--workers must be >= 0; got {workers}.")
    if stateful or len(jobs) <= 1:
        workers = 0  # motion needs the frames in order in one process
    config = {"detector": args.detector, "options": options, "gallery": args.gallery,
              "classifier": args.classifier,
              "threads": max(1, (os.cpu_count() or 1) // max(workers, 1))}

    sink = None
    if args.json_out == "-":
        sink = sys.stdout
    elif args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        sink = open(args.json_out, "w", encoding="utf-8")
    show_progress = not args.quiet and sys.stderr.isatty()
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="img", file=sys.stderr, desc=f"detect {args.detector}")
    failed = found = 0

    def emit(res):
        nonlocal failed, found
        if res["error"]:
            failed += 1
            if not args.quiet:
                print(f"cvtools detect: {res['error']}", file=sys.stderr)
        else:
            r = res["result"]
            found += len(r["detections"])
            if sink is not None:
                sink.write(json.dumps(r, ensure_ascii=False) + "\n")
                sink.flush()
            if not args.quiet and sink is not sys.stdout:
                parts = []
                for d in r["detections"]:
                    name = d.get("identity", d["label"])
                    extra = f" {d['text']!r}" if "text" in d else ""
                    parts.append(f"{name}{extra} {d['score']:.2f}")
                print(f"{r['path']}\t{len(r['detections'])}\t" + ", ".join(parts), flush=True)
        if bar is not None:
            bar.update(1)

    try:
        if workers == 0:
            _init(config)
            for job in jobs:
                emit(detect_one(job))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                                       initargs=(config,))
            try:
                from concurrent.futures.process import BrokenProcessPool

                futures = [pool.submit(detect_one, job) for job in jobs]
                for job, fut in zip(jobs, futures):  # results in input order
                    try:
                        emit(fut.result())
                    except BrokenProcessPool:  # a worker died (e.g. killed for memory)
                        emit({"result": None, "error": f"{job['path']}: the worker process died"})
            except BaseException:  # Ctrl-C or a dead worker: do not wait for the queued images
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
    finally:
        if bar is not None:
            bar.close()
        if sink is not None and sink is not sys.stdout:
            sink.close()
    if not args.quiet:
        print(f"cvtools detect: {len(jobs) - failed} images, {found} detections, {failed} failed",
              file=sys.stderr)
    return 1 if failed else 0
