"""Every detector on odd inputs: a result or a clear ValueError/TypeError, never a cv2.error, a dlib
RuntimeError or a crash (issue 16). Run in a child process, so a native crash fails the test instead of
killing pytest."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from cvtools import detect

CHILD = r"""
import json, sys, warnings
import numpy as np
from cvtools import detect

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
base = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
inputs = {
    "(H, W, 1)": base[..., :1].copy(), "(H, W, 1) uint16": base[..., :1].astype(np.uint16) * 257,
    "1x1": base[:1, :1].copy(), "1x1 gray": base[:1, :1, 0].copy(), "2x2": base[:2, :2].copy(),
    "2x3000": rng.integers(0, 255, (2, 3000, 3), dtype=np.uint8),
    "3000x2": rng.integers(0, 255, (3000, 2), dtype=np.uint8),
    "bool": base[..., 0] > 128, "uint16": base.astype(np.uint16) * 257, "float64": base / 255.0,
    "rgba": np.dstack([base, base[..., :1]]),
}
out = {}
for name in sys.argv[1:]:
    det = detect.get(name, template=np.zeros((8, 8), np.uint8)) if name == "template" else detect.get(name)
    for key, image in inputs.items():
        if name == "motion":
            det.reset()
        try:
            n = len(det.detect(image))
            gray = None
            if key == "(H, W, 1)":  # must be read as the gray image it is
                if name == "motion":
                    det.reset()
                gray = len(det.detect(image[..., 0]))
            out[f"{name} {key}"] = "ok" if gray is None or gray == n else f"differs from gray: {n} != {gray}"
        except (ValueError, TypeError) as exc:
            out[f"{name} {key}"] = "clear" if "`image`" in str(exc) else f"unclear {type(exc).__name__}: {exc}"
        except Exception as exc:
            out[f"{name} {key}"] = f"{type(exc).__name__}: {str(exc)[:200]}"
print(json.dumps(out))
"""


def test_every_detector_survives_odd_images():
    names = [d.name for d in detect.detectors() if d.available]
    r = subprocess.run([sys.executable, "-c", CHILD, *names], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]  # a segfault / heap corruption shows here
    results = json.loads(r.stdout.strip().splitlines()[-1])
    bad = {k: v for k, v in results.items() if v not in ("ok", "clear")}
    assert not bad
    # the bool image is refused by the shared check, naming the argument and the valid dtypes
    assert all(results[f"{n} bool"] == "clear" for n in names)
    # (H, W, 1) is a gray image: every detector takes it
    assert all(results[f"{n} (H, W, 1)"] == "ok" for n in names)


def test_gray_with_a_channel_axis_gives_the_gray_result():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 255, (120, 160), dtype=np.uint8)
    det = detect.get("blob")
    a, b = det.detect(gray), det.detect(gray[..., None])
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
