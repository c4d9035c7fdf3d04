"""`cvtools demo`: live detection, tracking and identification on a webcam, a video file or the sample."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    from cvtools.demo import DEFAULT_EVERY, VIEWS

    p = sub.add_parser(
        "demo", help="live face detection, tracking and naming on a webcam, a video or the bundled sample",
        description="Detect, track and identify objects live. Without --source it tries camera 0 and, when "
                    "no camera opens, runs on the bundled sample video (two public-domain faces). Views: an "
                    "OpenCV window (keys: q quit, space pause, s snapshot, d next detector) when OpenCV has a "
                    "GUI backend, else a browser page with the MJPEG stream on 127.0.0.1; `none` with "
                    "--output records an annotated video. Prints a summary at the end (--json: one JSON line).",
        epilog="Exit codes: 0 ok, 1 failure during the run, 2 usage error or a source that cannot be "
               "opened, 130 interrupted (Ctrl+C; the summary is still printed).")
    p.add_argument("--source", default=None, metavar="0|PATH|GLOB",
                   help="camera index, video file, image folder or glob (default: camera 0, else the sample)")
    p.add_argument("--detector", default="face", metavar="NAME",
                   help="detector name from `cvtools detect --list` (default: face, YuNet: faces from ~10 px)")
    p.add_argument("--gallery", default=None, metavar="DIR",
                   help="name faces: DIR/<name>/*.jpg or a flat folder of <name>.png images")
    p.add_argument("--threshold", type=float, default=None, metavar="D",
                   help="gallery distance beyond which a face is 'unknown' (default 0.6; larger names more "
                        "faces, and more wrongly)")
    p.add_argument("--classifier", default=None, metavar="MODEL", help="classify each new track's crop")
    styles = p.add_mutually_exclusive_group()
    styles.add_argument("--style", default=None, metavar="IMAGE|K",
                        help="show the video stylised (method fast) by a style image, or a built-in style as "
                             "--builtin names it")
    styles.add_argument("--builtin", default=None, metavar="K", type=_builtin_style,
                        help="show the video stylised by a built-in style, named as in `cvtools style --builtin "
                             "K`: an index 0-25, or a blend such as '3:0.5,12:0.5'")
    p.add_argument("--view", default="auto", choices=VIEWS,
                   help="auto (window if OpenCV can open one, else browser), window, browser or none")
    p.add_argument("--output", "-o", default=None, metavar="OUT.mp4", help="record the annotated video")
    p.add_argument("--tracks", default=None, metavar="OUT.jsonl|-",
                   help="write the boxes shown on each frame, one JSON line per frame ('-': on stdout): "
                        '{"frame", "boxes": [{"track", "label", "score", "box", "stale", "identity", "distance"}]}'
                        " (identity null: a face the gallery did not know)")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--every", type=int, default=DEFAULT_EVERY, metavar="N",
                   help=f"run the detector every N frames, tracking in between (default {DEFAULT_EVERY})")
    p.add_argument("--scale", type=float, default=1.0, metavar="S",
                   help="downscale frames by S (0 < S <= 1) for detection; boxes are mapped back")
    p.add_argument("--port", type=int, default=0, metavar="P",
                   help="port of the browser view on 127.0.0.1 (default: a free one)")
    p.add_argument("--loop", action="store_true", help="restart a video file at its end")
    p.add_argument("--realtime", action=argparse_bool(), default=None,
                   help="play files at their frame rate, dropping frames when slower (default: only "
                        "in the window and browser views)")
    p.add_argument("--json", action="store_true",
                   help="print the end summary as one JSON line on stdout (after the --tracks - lines)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress messages and no text summary (the browser view's URL and errors still show)")
    p.set_defaults(func=run)


def _builtin_style(value: str) -> str:
    import argparse

    from cvtools.generative import is_builtin_style  # the one definition, shared with `cvtools style`

    if not is_builtin_style(value.strip()) or not value.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not a built-in style: an index 0-25, or a blend such as "
                                         f"'3:0.5,12:0.5' (a style image goes to --style IMAGE)")
    return value.strip()


def argparse_bool():
    import argparse

    return argparse.BooleanOptionalAction


def _stop_on_signals(stop) -> dict:
    """Ctrl+C (SIGINT) and `kill PID` (SIGTERM, as sent by Docker and systemd) stop the demo cleanly.

    The first signal sets ``stop``: the frame in hand is finished (drawn, recorded, streamed) and the run
    loop exits, so the recording and the summary agree to the frame. A second signal interrupts at once.
    Returns a dict whose ``"signal"`` entry names the signal that stopped the run, if any.
    """
    import signal
    import threading

    seen: dict = {}

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        seen["signal"] = signal.Signals(signum).name
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), handler)
    return seen


def _log(message: str) -> None:
    print(f"cvtools demo: {message}", file=sys.stderr, flush=True)


def run(args) -> int:
    import os
    import threading

    from cvtools._shared import VideoOpenError
    from cvtools.demo import run_demo

    # FFmpeg's own log ("moov atom not found" for a broken file) is not OpenCV's: it is set once, when
    # OpenCV first starts FFmpeg. cvtools reports unreadable sources itself; OPENCV_FFMPEG_LOGLEVEL=16
    # (or any level) set by the user still wins.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    log = (lambda message: None) if args.quiet else _log
    if args.view == "none" and args.output is None and args.max_frames is None and args.tracks is None:
        log("--view none without --output shows and records nothing; add --output OUT.mp4.")

    def on_start(info):
        if info.get("url"):  # said even with --quiet: the browser view is useless without it
            _log(f"browser view at {info['url']} (Ctrl+C to stop)")
        else:
            log(f"running on {info['source']} ({info['view']} view)")

    to_stdout = args.tracks == "-"
    tracks_file = sys.stdout if to_stdout else open(args.tracks, "w", encoding="utf-8") if args.tracks else None
    stop = threading.Event()
    signalled = _stop_on_signals(stop)

    def on_frame(index, frame, items):
        tracks_file.write(json.dumps({"frame": int(index), "boxes": items}) + "\n")

    try:
        summary = run_demo(args.source, detector=args.detector, gallery=args.gallery,
                           classifier=args.classifier, style=args.builtin if args.builtin is not None else args.style,
                           view=args.view, output=args.output, max_frames=args.max_frames, every=args.every,
                           scale=args.scale, threshold=args.threshold, port=args.port,
                           loop=True if args.loop else None, realtime=args.realtime, log=log,
                           on_start=on_start, on_frame=on_frame if tracks_file else None, stop=stop)
    except VideoOpenError as exc:
        print(f"cvtools demo: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if tracks_file is not None and not to_stdout:
            tracks_file.close()
    if signalled and summary.stopped_by == "stop":
        summary.stopped_by = "interrupt"
    if args.json:
        print(json.dumps(summary.to_dict()), flush=True)
    elif not args.quiet:  # text on stderr when stdout carries the --tracks - lines
        print(summary.format(), file=sys.stderr if to_stdout else sys.stdout, flush=True)
    return 130 if summary.stopped_by == "interrupt" else 0
