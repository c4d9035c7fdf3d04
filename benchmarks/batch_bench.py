"""Benchmark `cvtools batch` on a folder of generated 1920x1080 JPEGs.

Pipeline ``resize:scale=0.5 | gaussian:sigma=1 | equalize``, JPEG quality 90, compared with:

* ImageMagick ``mogrify -path OUT -resize 50% -gaussian-blur 0x1 -equalize -quality 90`` (Debian's
  imagemagick, /usr/bin/mogrify, all its OpenMP threads) against cvtools with all cores;
* a hand-written single-process OpenCV loop making the same calls (imread, INTER_AREA resize,
  GaussianBlur 9x9 sigma 1, equalizeHist on the Y of YCrCb, imwrite quality 90) against 1 worker;
* 2 workers against 1;
* the peak memory (summed RSS of the whole process tree, sampled every 5 ms) of a CLI run over
  1,000 files against 100 (the 1,000 are hard links to the 100 under other names).

Times are medians over rounds in which every variant runs once (round-robin, so load changes on a
shared machine hit all variants alike), each run into a fresh output folder. Run from the repo root:

    .venv/bin/python benchmarks/batch_bench.py            # 100 images, median of 5 rounds
    .venv/bin/python benchmarks/batch_bench.py --quick    # 20 images, 1 repeat

Generated images and outputs go to benchmarks/results/batch_bench/ (gitignored).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cvtools  # noqa: E402
from cvtools.batch import run  # noqa: E402

PIPE = "resize:scale=0.5 | gaussian:sigma=1 | equalize"
MOGRIFY = "/usr/bin/mogrify"  # /usr/local/bin/convert on some images is not ImageMagick
WORK = ROOT / "benchmarks" / "results" / "batch_bench"


def make_images(folder: Path, n: int, *, size=(1080, 1920)) -> Path:
    """``n`` deterministic photo-like JPEGs (smooth shading, edges, texture, noise), quality 92."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("img_*.jpg"))
    if len(existing) == n:
        return folder
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        rng = np.random.default_rng(i)
        f = rng.uniform(0.002, 0.01, 6)
        base = np.stack([
            128 + 90 * np.sin(xx * f[0] + yy * f[1] + i),
            128 + 80 * np.sin(xx * f[2] - yy * f[3] + 2 * i),
            128 + 70 * np.cos(xx * f[4] + yy * f[5] - i),
        ], axis=-1)
        for _ in range(12):  # hard-edged shapes
            x0, y0 = rng.integers(0, w - 200), rng.integers(0, h - 200)
            cv2.rectangle(base, (int(x0), int(y0)), (int(x0 + rng.integers(40, 400)), int(y0 + rng.integers(40, 300))),
                          tuple(float(v) for v in rng.uniform(0, 255, 3)), -1)
            cv2.circle(base, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(20, 150)),
                       tuple(float(v) for v in rng.uniform(0, 255, 3)), -1)
        noise = cv2.GaussianBlur(rng.normal(0, 25, (h, w, 3)).astype(np.float32), (0, 0), 1.2)
        img = np.clip(base * 0.8 + noise, 0, 255).astype(np.uint8)
        cvtools.write(folder / f"img_{i:04d}.jpg", img, quality=92)
    return folder


def link_copies(src: Path, dst: Path, total: int) -> Path:
    """``total`` files in ``dst`` as hard links to the images of ``src`` (distinct names)."""
    if dst.exists() and len(list(dst.glob("*.jpg"))) == total:
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    files = sorted(src.glob("img_*.jpg"))
    for k in range(total):
        target = dst / f"copy_{k:05d}.jpg"
        try:
            os.link(files[k % len(files)], target)
        except OSError:
            shutil.copyfile(files[k % len(files)], target)
    return dst


def opencv_loop(src: Path, out: Path, *, reduced: bool = False) -> None:
    """The hand-written single-process loop: the same OpenCV calls cvtools makes."""
    params = [cv2.IMWRITE_JPEG_QUALITY, 90]
    for path in sorted(src.glob("*.jpg")):
        if reduced:
            img = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_2)
        else:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            img = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        img = cv2.GaussianBlur(img, (9, 9), 1.0, borderType=cv2.BORDER_REFLECT_101)
        ycc = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb)
        ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
        img = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)
        cv2.imwrite(str(out / path.name), img, params)


def timed(fn, out: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        t0 = time.perf_counter()
        fn(out)
        times.append(time.perf_counter() - t0)
    shutil.rmtree(out, ignore_errors=True)
    return statistics.median(times)


def cvtools_run(src: Path, workers: int, fuse: bool = True):
    def go(out: Path):
        report = run(src, out, PIPE, workers=workers, quality=90, fuse=fuse, progress=False)
        assert not report.failed and report.processed == len(list(src.glob("*.jpg"))), report.failed
    return go


def mogrify(src: Path):
    files = [str(p) for p in sorted(src.glob("*.jpg"))]

    def go(out: Path):
        subprocess.run([MOGRIFY, "-path", str(out), "-resize", "50%", "-gaussian-blur", "0x1", "-equalize",
                        "-quality", "90", *files], check=True)
    return go


def peak_tree_rss(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return (peak summed RSS of it and all its descendants in MiB, seconds)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, total)
        time.sleep(0.005)
    err = proc.stderr.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {err}")
    return peak / 2 ** 20, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 images (200 for memory), 1 repeat")
    ap.add_argument("--images", type=int, default=None, help="number of images (default 100; quick 20)")
    ap.add_argument("--repeats", type=int, default=None, help="rounds (default 5; quick 1)")
    ap.add_argument("--skip-magick", action="store_true", help="do not run ImageMagick")
    args = ap.parse_args(argv)
    n = args.images or (20 if args.quick else 100)
    repeats = args.repeats or (1 if args.quick else 5)
    cores = os.cpu_count() or 1
    src = make_images(WORK / f"in_{n}", n)
    out = WORK / "out"
    rows = []

    variants = {
        "loop": lambda o: opencv_loop(src, o),
        "loop_reduced": lambda o: opencv_loop(src, o, reduced=True),
        "w1": cvtools_run(src, 1),
        "w1_nofuse": cvtools_run(src, 1, fuse=False),
        "w2": cvtools_run(src, 2),
    }
    if cores != 2:
        variants["wall"] = cvtools_run(src, cores)
    magick = not args.skip_magick and Path(MOGRIFY).exists()
    if magick:
        variants["magick"] = mogrify(src)
    # Warm-up: the first pool of a process starts the worker fork server (imports cvtools and
    # OpenCV once, ~0.3 s); every later run forks warm workers from it. Timed separately.
    t_warm = time.perf_counter()
    warm_out = WORK / "warm"
    shutil.rmtree(warm_out, ignore_errors=True)
    run(src, warm_out, PIPE, workers=1, include=sorted(src.glob("*.jpg"))[0].name, progress=False)
    shutil.rmtree(warm_out, ignore_errors=True)
    t_warm = time.perf_counter() - t_warm
    # Round-robin: every variant runs once per round, so a change in the machine's load (it is
    # shared) affects all of them alike; the median over rounds is reported.
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            times[name].append(timed(fn, out, 1))
    med = {k: statistics.median(v) for k, v in times.items()}
    t_loop, t_loop_reduced, t1, t1_nofuse, t2 = (med[k] for k in ("loop", "loop_reduced", "w1", "w1_nofuse", "w2"))
    tall = med.get("wall", t2)

    rows.append((f"{n} JPEGs, 1 worker vs OpenCV loop (target <= 1.1x)", t1, t_loop, t1 / t_loop, "cvtools/ref"))
    rows.append(("  same, --no-fuse (full decode + resize)", t1_nofuse, t_loop, t1_nofuse / t_loop, "cvtools/ref"))
    rows.append(("  same, vs OpenCV loop with reduced decode", t1, t_loop_reduced, t1 / t_loop_reduced, "cvtools/ref"))
    rows.append((f"{n} JPEGs, 2 workers vs 1 worker (target >= 1.6x)", t2, t1, t1 / t2, "speed-up"))
    if magick:
        rows.append((f"{n} JPEGs, {cores} workers vs ImageMagick mogrify (target >= 8x)", tall, med["magick"],
                     med["magick"] / tall, "speed-up"))
    else:
        rows.append(("ImageMagick mogrify: not installed (apt-get install imagemagick)", float("nan"),
                     float("nan"), float("nan"), ""))

    small, big = (20, 200) if args.quick else (100, 1000)
    mem_src = make_images(WORK / f"in_{small}", small) if small != n else src
    many = link_copies(mem_src, WORK / f"links_{big}", big)
    cli = [sys.executable, "-m", "cvtools", "batch", "-p", PIPE, "--quality", "90", "--quiet", "--workers", "2"]
    mem = {}
    for label, folder in ((small, mem_src), (big, many)):
        shutil.rmtree(WORK / "mem_out", ignore_errors=True)
        mem[label] = peak_tree_rss(cli[:4] + [str(folder), str(WORK / "mem_out")] + cli[4:])
    shutil.rmtree(WORK / "mem_out", ignore_errors=True)
    rows.append((f"peak RSS (MiB, process tree, 2 workers): {big} files vs {small} (target <= 1.2x)",
                 mem[big][0], mem[small][0], mem[big][0] / mem[small][0], "ratio"))

    print(f"\ncvtools batch benchmark: {n} generated 1920x1080 JPEGs, pipeline `{PIPE}`, quality 90; "
          f"{cores} cores; median of {repeats} run(s)\n")
    print("| operation | cvtools | reference | ratio | meaning |")
    print("|---|---|---|---|---|")
    for name, a, b, ratio, meaning in rows:
        unit = "" if "RSS" in name else " s"
        print(f"| {name} | {a:.2f}{unit} | {b:.2f}{unit} | {ratio:.2f}x | {meaning} |")
    print(f"\nthroughput: 1 worker {n / t1:.1f} img/s, 2 workers {n / t2:.1f} img/s; OpenCV loop {n / t_loop:.1f} img/s")
    print(f"one-time start of the worker fork server (first run in a process, not in the table): {t_warm:.2f} s")
    print("all rounds (s): " + "; ".join(f"{k} " + ", ".join(f"{x:.2f}" for x in v) for k, v in times.items()))
    print(f"memory runs took {mem[small][1]:.1f} s ({small} files) and {mem[big][1]:.1f} s ({big} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
