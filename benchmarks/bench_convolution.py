"""Benchmark cvtools.convolution against OpenCV and scipy on 1920x1080 images.

Run from the repository root:

    .venv/bin/python benchmarks/bench_convolution.py            # full run (>= 15 repetitions)
    .venv/bin/python benchmarks/bench_convolution.py --quick    # a short run
    .venv/bin/python benchmarks/bench_convolution.py --engines  # each strided engine vs the cost model

Each row times cvtools and its reference alternately in the same process (so both see the same
machine load; the order alternates too) and reports the medians. ``ratio`` is cvtools time /
reference time; lower is faster. ``--clock thread`` measures the calling thread's CPU time
instead of wall time (every engine here runs on that one thread): on a shared machine it leaves
out the time the process waits for a core.
The table is printed as markdown and saved to ``benchmarks/results/bench_convolution.md``.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.ndimage as ndi

import cvtools
from cvtools.convolution import correlate2d, gaussian_pyramid, kernels, output_shape, pool2d, upsample

ROOT = Path(__file__).resolve().parents[1]


CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}
clock = time.perf_counter


def timed(fn_a, fn_b, reps):
    """Medians (ms) of ``fn_a`` and ``fn_b`` after one warm-up each, run alternately; which one
    goes first alternates too (on a shared machine the order alone shifts timings by ~10%)."""
    fn_a(), fn_b()
    ta, tb = [], []
    for i in range(reps):
        for fn, out in ((fn_a, ta), (fn_b, tb)) if i % 2 == 0 else ((fn_b, tb), (fn_a, ta)):
            t0 = clock()
            fn()
            out.append(clock() - t0)
    return float(np.median(ta)) * 1e3, float(np.median(tb)) * 1e3


def engines_table(images, sizes, reps):
    """Each strided engine forced, stride 2, beside the cost model's estimate and its choice."""
    from cvtools.convolution import _correlate as cc
    from cvtools.convolution._params import _pads

    rng = np.random.default_rng(1)
    lines = ["| image | kernel | engine | measured ms | model ms | chosen |", "|---|---|---|---:|---:|---|"]
    for name, img in images.items():
        plan = cc._Plan(img.dtype, img.dtype)
        for k in sizes:
            for rank1 in (False, True):
                kern = np.outer(rng.random(k), rng.random(k)) if rank1 else rng.random((k, k))
                pads = _pads("same", kern.shape, (1, 1))
                out_shape = output_shape(img.shape, kern.shape, 2, pads)
                factors = cc._rank1(kern) if rank1 else None
                costs = cc._stride_costs(img.shape, kern.shape, (2, 2), (1, 1), pads, plan, rank1)
                chosen = cc._stride_engine(img.shape, kern.shape, (2, 2), (1, 1), pads, plan, "auto", rank1)
                for engine in costs:
                    def run(engine=engine):
                        return cc._run_strided(engine, img, kern, cc._EPS64, factors, pads, "reflect", plan, (2, 2),
                                               (1, 1), out_shape)
                    ms = timed(run, run, reps)[0]
                    label = f"{k}x{k}" + (" rank-1" if rank1 else "")
                    lines.append(f"| {name} | {label} | {engine} | {ms:.2f} | {costs[engine] / 1e6:.2f} | "
                                 f"{'**yes**' if engine == chosen else ''} |")
                    print(f"  {name:13s} {label:13s} {engine:16s} {ms:9.2f} ms  model {costs[engine] / 1e6:8.2f}",
                          file=sys.stderr, flush=True)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per row (default 15, quick 5)")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenCV threads for both sides (default 1: stable timings on a shared machine)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time (default) or the calling thread's CPU time")
    parser.add_argument("--engines", action="store_true",
                        help="only time every strided engine against the cost model (stride 2)")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    cv2.setNumThreads(args.threads)
    reps = args.reps or (5 if args.quick else 15)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    gray = rng.random((1080, 1920), dtype=np.float32)
    images = {"uint8 RGB": rgb, "float32 gray": gray}
    if args.engines:
        table = engines_table(images, [3, 7, 15, 31] if args.quick else [3, 5, 7, 11, 15, 21, 31], reps)
        print(table)
        out = ROOT / "benchmarks" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench_convolution_engines.md").write_text(table)
        return 0
    rows = []

    def row(op, image_name, ours, ref, ref_name, target, reps=reps):
        t0 = time.perf_counter()
        ref()
        if time.perf_counter() - t0 < 0.05:
            reps *= 3  # cheap rows: more repetitions, since a burst of load skews a short median
        a, b = timed(ours, ref, reps)
        ratio = a / b
        kind, limit = target
        met = ratio <= limit
        rows.append((op, image_name, a, ref_name, b, ratio, f"{kind} {limit:g}", "yes" if met else "**no**"))
        print(f"  {op:40s} {image_name:13s} {a:9.2f} ms  {ref_name:28s} {b:9.2f} ms  x{ratio:.2f}",
              file=sys.stderr, flush=True)

    # 1. correlate2d 'same' reflect vs cv2.filter2D, square kernels 3..31
    sizes = [3, 7, 15, 31] if args.quick else list(range(3, 32, 2))
    for name, img in images.items():
        for k in sizes:
            kern = rng.random((k, k))
            kern /= kern.sum()  # full rank: no separable shortcut
            k32 = kern.astype(np.float32)
            row(f"correlate2d {k}x{k} same/reflect", name, lambda: correlate2d(img, kern),
                lambda: cv2.filter2D(img, -1, k32, borderType=cv2.BORDER_REFLECT_101), "cv2.filter2D",
                ("<=", 1.3))

    # 2. rank-1 15x15 (Gaussian): automatic (separable) vs forced direct path
    g15 = kernels.gaussian(15, sigma=3.0)
    for name, img in images.items():
        row("correlate2d 15x15 rank-1 (auto)", name, lambda: correlate2d(img, g15),
            lambda: correlate2d(img, g15, method="direct"), "correlate2d method='direct'", ("<=", 1 / 3))

    # 2b. rank-1 kernels built the usual way (np.outer of float32 vectors) vs cv2.sepFilter2D on
    # the same factors: the separable engine must be found and cost what OpenCV's does
    for name, img in images.items():
        for k in ([5, 15, 31] if args.quick else list(range(5, 32, 2))):
            u = rng.random(k, dtype=np.float32)
            u /= u.sum()
            kern = np.outer(u, u)
            row(f"correlate2d {k}x{k} rank-1 float32", name, lambda: correlate2d(img, kern),
                lambda: cv2.sepFilter2D(img, -1, u, u, borderType=cv2.BORDER_REFLECT_101), "cv2.sepFilter2D",
                ("<=", 1.2))

    # 3. stride 2 vs stride 1 (same full-rank kernel, same padding)
    for name, img in images.items():
        for k in ([3, 7, 15, 31] if args.quick else list(range(3, 32, 2))):
            kern = rng.random((k, k))
            row(f"correlate2d {k}x{k} stride 2", name, lambda: correlate2d(img, kern, stride=2),
                lambda: correlate2d(img, kern), "correlate2d stride 1", ("<=", 0.7))

    # 4. a 31x31 kernel vs scipy.ndimage (direct) convolution
    k31 = rng.random((31, 31))
    k31 /= k31.sum()
    row("convolve2d 31x31", "float32 gray", lambda: cvtools.convolution.convolve2d(gray, k31),
        lambda: ndi.convolve(gray, k31, mode="mirror"), "scipy.ndimage.convolve", ("<=", 1 / 50),
        reps=3 if args.quick else reps)

    # 5. operations OpenCV also offers: pooling, resizing, pyramids
    for name, img in images.items():
        h, w = img.shape[:2]
        row("pool2d 2x2 max", name, lambda: pool2d(img, 2),
            lambda: np.ascontiguousarray(cv2.dilate(img, np.ones((2, 2), np.uint8), anchor=(0, 0))[::2, ::2]),
            "cv2.dilate + [::2, ::2]", ("<=", 1.15))
        row("pool2d 2x2 avg", name, lambda: pool2d(img, 2, mode="avg"),
            lambda: cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA), "cv2.resize INTER_AREA",
            ("<=", 1.15))
        row("pool2d 3x3/2 max", name, lambda: pool2d(img, 3, stride=2),
            lambda: np.ascontiguousarray(cv2.dilate(img, np.ones((3, 3), np.uint8), anchor=(0, 0))[:-2:2, :-2:2]),
            "cv2.dilate + [::2, ::2]", ("<=", 1.15))
        for method, flag in (("nearest", cv2.INTER_NEAREST_EXACT), ("bilinear", cv2.INTER_LINEAR),
                             ("bicubic", cv2.INTER_CUBIC), ("area", cv2.INTER_AREA), ("lanczos", cv2.INTER_LANCZOS4)):
            if args.quick and method in ("area", "lanczos"):
                continue
            row(f"upsample x2 {method}", name, lambda: upsample(img, 2, method=method),
                lambda: cv2.resize(img, (2 * w, 2 * h), interpolation=flag), f"cv2.resize {method}", ("<=", 1.15))
        row("gaussian_pyramid 2 levels", name, lambda: gaussian_pyramid(img, 2), lambda: cv2.pyrDown(img),
            "cv2.pyrDown", ("<=", 1.15))

    header = ("| operation | image | cvtools ms | reference | reference ms | ratio | target | met? |\n"
              "|---|---|---:|---|---:|---:|---|---|")
    lines = [header] + [f"| {op} | {im} | {a:.2f} | {rn} | {b:.2f} | {r:.2f} | {t} | {m} |"
                        for op, im, a, rn, b, r, t, m in rows]
    met = sum(r[-1] == "yes" for r in rows)
    info = (f"{met}/{len(rows)} targets met; medians of {reps} repetitions ({3 * reps} for rows under "
            f"50 ms), {args.clock} clock; Python {platform.python_version()}, "
            f"OpenCV {cv2.__version__}, numpy {np.__version__}, {cv2.getNumThreads()} OpenCV threads.")
    table = "\n".join(lines) + "\n\n" + info + "\n"
    print(table)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_convolution.md").write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
