"""End-to-end speed and naming quality of `cvtools demo` on a real clip with a face gallery.

    .venv/bin/python benchmarks/bench_demo.py [--quick] [--repeats N]

Reads ../shared/data/video/short_hamilton_clip.mp4 (640x360, 275 frames) and the gallery
../shared/data/video/hamilton_reference_faces (a flat folder: lin-manuel-miranda.png, alex-lacamoire.png);
exits with a message when they are absent. Every configuration runs `cvtools.demo.run_demo` in this process,
exactly what `cvtools demo --source CLIP --detector face --gallery DIR --view none` runs, and is compared
with a reference run side by side: the per-frame loop of face_recognition's facerec_from_video_file example
(detect and describe every face on every frame, no tracking) built from the same cvtools detector and
gallery. FPS is the median over the repeats (frames processed / wall time of the run loop, decoding
included); "FPS per CPU-second" divides by the process's CPU time instead (all threads), which other
programs' load does not inflate: on an otherwise idle 2-core machine the wall-clock rate is at least that.
"Named" is the share of face boxes shown with a gallery name (the demo's end summary); "people named right"
judges every box shown by who is on screen (see `truth`): the clip ends on the audience, who are not in
the gallery, so "unknown" is the right answer there and lowers the first figure, not the second.
Memory: RSS before and after a long looping run on the bundled sample.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "video"
CLIP = DATA / "short_hamilton_clip.mp4"
GALLERY = DATA / "hamilton_reference_faces"
PEOPLE = {"lin-manuel-miranda", "alex-lacamoire"}
CACHE = REPO / "benchmarks" / "results" / "gallery-cache"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def truth(frame_index: int, box) -> str:
    """Who a face of the clip is (scene cuts at frames 20, 46, 82 and 211): Alex Lacamoire at the piano (the
    image's left) and Lin-Manuel Miranda until frame 19, Lin-Manuel Miranda (a profile close-up, then
    frontal) until 210, then the audience, who are not in the gallery ("unknown" is right)."""
    if frame_index >= 211:
        return "unknown"
    if frame_index < 20 and (box[0] + box[2]) / 2 < 320:
        return "alex-lacamoire"
    return "lin-manuel-miranda"


class Judge:
    """Counts, over the boxes shown, the gallery people's boxes named right, wrong names, and audience boxes."""

    def __init__(self):
        self.right = self.people = self.wrong = self.audience = self.audience_named = 0

    def __call__(self, index, frame, items):
        for it in items:
            self.add(index, it["box"], it.get("identity") or "unknown")

    def add(self, index, box, name):
        expected = truth(index, box)
        if expected == "unknown":
            self.audience += 1
            self.audience_named += name != "unknown"
        else:
            self.people += 1
            self.right += name == expected
            self.wrong += name not in (expected, "unknown")

    def row(self) -> dict:
        return {"right": self.right, "people_boxes": self.people, "wrong": self.wrong, "audience": self.audience,
                "audience_named": self.audience_named}


def reference_run(gallery) -> dict:
    """face_recognition's example loop: every frame, detect then describe and match every face."""
    from cvtools.io import VideoSource

    det = gallery.detector
    frames = boxes = named = 0
    judge = Judge()
    people = set()
    c0 = time.process_time()
    t0 = time.perf_counter()
    with VideoSource(CLIP) as video:
        for frame in video:
            found = det.detect(frame)
            if len(found):
                found = gallery.identify(frame, found)
                names = [str(n) for n in found.identities]
                for box, name in zip(found.xyxy, names):
                    judge.add(frames, box, name)
                boxes += len(names)
                named += sum(n != "unknown" for n in names)
                people |= {n for n in names if n != "unknown"}
            frames += 1
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"fps": frames / seconds, "cpu_fps": frames / cpu, "frames": frames, "boxes": boxes,
            "named_share": named / boxes if boxes else float("nan"), "people": people, **judge.row()}


def demo_run(gallery, **options) -> dict:
    options = dict(options)
    from cvtools.demo import run_demo

    gallery_options = {k: options.pop(k) for k in ("threshold", "num_jitters", "align") if k in options}
    detector = options.pop("detector", "face")
    if not isinstance(detector, str):
        gallery_options["detector"] = detector
    if gallery_options:
        from cvtools.demo import load_gallery

        gallery = load_gallery(GALLERY, cache_dir=CACHE, **gallery_options)
    judge = Judge()
    c0 = time.process_time()
    s = run_demo(CLIP, detector=detector, gallery=gallery, view="none", on_frame=judge, **options)
    cpu = time.process_time() - c0
    total = sum(s.identity_boxes.values())
    return {"fps": s.fps, "cpu_fps": s.frames / cpu, "frames": s.frames, "boxes": total,
            "named_share": s.named_share if total else float("nan"),
            "people": {k for k in s.identities if k != "unknown"}, "detector_ms": s.detector_ms,
            "identify_ms": s.identify_ms, "runs": s.detector_runs, **judge.row()}


def memory_run(frames: int) -> tuple[float, float, float]:
    """RSS (MB) after 100 frames and at the end of a ``frames``-long looping run on the sample."""
    from cvtools.demo import find_sample_video, run_demo

    marks = {}

    def on_frame(i, frame, items):
        if i == 100:
            marks["start"] = rss_mb()

    s = run_demo(find_sample_video(), detector="face", view="none", loop=True, max_frames=frames, on_frame=on_frame)
    return marks.get("start", float("nan")), rss_mb(), s.fps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, fewer configurations")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (CLIP.is_file() and GALLERY.is_dir()):
        print(f"skipped: {CLIP} or {GALLERY} not found (the shared evaluation data sits beside the repo).")
        return 0
    import cv2

    import cvtools.detect
    from cvtools.demo import DEFAULT_EVERY, load_gallery

    repeats = 1 if args.quick else args.repeats
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at start; "
          f"OpenCV threads {cv2.getNumThreads()}; python {sys.version.split()[0]}\n")
    t0 = time.perf_counter()
    gallery = load_gallery(GALLERY, cache_dir=CACHE)  # never write into the shared data folder
    print(f"gallery: {len(gallery)} faces ({', '.join(sorted(set(gallery.names)))}) in "
          f"{time.perf_counter() - t0:.2f} s\n")

    configs = [(f"demo default (face = YuNet, --every {DEFAULT_EVERY})", {})]
    if not args.quick:
        hog = cvtools.detect.get("face-dlib-hog", min_size=24)
        configs += [("demo --every 1", {"every": 1}),
                    ("demo --every 6", {"every": 6}),
                    ("demo default, gallery enrolled without jitter", {"num_jitters": 0}),
                    ("demo default, aligned by dlib's shape predictor on YuNet's boxes", {"align": "shape-predictor"}),
                    ("dlib HOG from 24 px on every run, shape predictor (the previous detector, no sweep)",
                     {"detector": hog, "align": "shape-predictor"})]
    rows = []
    for name, options in [("reference: detect + identify every frame", None)] + configs:
        runs = []
        for _ in range(repeats):
            runs.append(reference_run(gallery) if options is None else demo_run(gallery, **options))
        best = runs[-1]
        fps_runs = ", ".join(f"{r['fps']:.1f}" + (f" (detector {r['detector_ms']:.0f} ms, identify {r['identify_ms']:.0f} ms)"
                                                    if "detector_ms" in r else "") for r in runs)
        print(f"  {name}: FPS {fps_runs}", file=sys.stderr, flush=True)
        rows.append((name, statistics.median(r["fps"] for r in runs), statistics.median(r["cpu_fps"] for r in runs),
                     best))
    ref_fps = rows[0][1]
    print("| configuration | FPS (wall) | FPS per CPU-second | vs reference (wall) | frames | face boxes "
          "| named (not unknown) | people's boxes named right | named wrongly | audience boxes named | people named |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, fps, cpu_fps, r in rows:
        people = ", ".join(sorted(r["people"])) or "none"
        print(f"| {name} | {fps:.1f} | {cpu_fps:.1f} | {fps / ref_fps:.2f}x | {r['frames']} | {r['boxes']} | "
              f"{100 * r['named_share']:.0f}% | {r['right']}/{r['people_boxes']} "
              f"({100 * r['right'] / max(r['people_boxes'], 1):.0f}%) "
              f"| {r['wrong']} | {r['audience_named']}/{r['audience']} | {people} ({len(r['people'] & PEOPLE)}/2) |")
    frames = 300 if args.quick else 2000
    start, end, fps = memory_run(frames)
    print(f"\nmemory: RSS {start:.0f} MB after 100 frames, {end:.0f} MB after {frames} frames "
          f"(sample looped, {fps:.1f} FPS)")
    print(f"\nmedian of {repeats} run(s) each; load average at the end "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
