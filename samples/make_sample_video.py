"""Regenerate samples/faces.mp4, the sample video `cvtools demo` falls back to without a camera.

    python samples/make_sample_video.py [--check]

Two public-domain faces (Eileen Collins from scikit-image's `astronaut`, Grace Hopper from matplotlib's
sample data) pan and zoom over a soft gradient: 480x360, 20 fps, 6 s, mp4v. ``--check`` then runs the
`face` detector on every 10th frame and reports how many of the two faces it found.
"""
import argparse
import sys
from pathlib import Path

from cvtools.demo import make_sample_video

OUT = Path(__file__).resolve().parent / "faces.mp4"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(OUT), help="where to write (default samples/faces.mp4)")
    parser.add_argument("--check", action="store_true", help="run the face detector on the result")
    args = parser.parse_args()
    path = make_sample_video(args.output)
    size = path.stat().st_size
    print(f"{path}: {size} bytes")
    if size >= 1_000_000:
        print("error: the sample must stay under 1 MB", file=sys.stderr)
        return 1
    if args.check:
        import cvtools.detect
        from cvtools.io import VideoSource

        detector = cvtools.detect.get("face")
        counts = []
        with VideoSource(path) as video:
            for i, frame in enumerate(video):
                if i % 10 == 0:
                    counts.append(len(detector.detect(frame)))
        print(f"faces found on every 10th frame: {counts}")
        if min(counts) < 2:
            print("error: the face detector misses a face on some frames", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
