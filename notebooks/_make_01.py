"""Generate notebooks/01_intensity_filtering_convolution.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_01.py
"""
from _nb import code, md, save


md(r"""
# 01 · Intensity, filtering and convolution

The first layer of computer vision, each concept shown working on real pictures with `cvtools`:

1. a digital image as a function $f(x, y)$ of gray levels;
2. point transforms, **min-max** and **z-score** normalisation;
3. histograms before and after **equalisation** (and CLAHE);
4. **convolution** as a filter sliding over the image, multiplying and summing — a worked 5×5 example;
5. **padding, stride, dilation** and the output-size formula;
6. classic filters (blur, median, edges, morphology);
7. **max / average pooling**;
8. up-sampling by **interpolation** vs by **transposed convolution**.

Images are numpy arrays, RGB, and keep their dtype (see `docs/classic.md`). Under
`CVTOOLS_NOTEBOOK_TEST=1` (the test suite) the images are shrunk so the notebook runs in seconds.
""")

code(r"""
import os

import cv2
import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import cvtools
from cvtools import convolution as C
from cvtools import filtering as F
from cvtools import intensity as I

SMALL = os.environ.get("CVTOOLS_NOTEBOOK_TEST") == "1"
SIDE = 128 if SMALL else 512


def shrink(img):
    h, w = img.shape[:2]
    s = SIDE / max(h, w)
    return img if s >= 1 else cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


camera = shrink(data.camera())        # uint8 gray
astronaut = shrink(data.astronaut())  # uint8 RGB
coffee = shrink(data.coffee())        # uint8 RGB


def show(images, titles, cmap="gray", size=3.2):
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size))
    for ax, im, t in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(im, cmap=cmap if im.ndim == 2 else None, vmin=None)
        ax.set_title(t, fontsize=9)
        ax.axis("off")
    plt.tight_layout()
    plt.show()


print(camera.shape, camera.dtype, astronaut.shape, coffee.shape)
""")

md(r"""
## 1 · A digital image is $f(x, y)$

A gray image is a function sampled on a grid: $f(x, y)$ is the **gray level** at column $x$ and row $y$
(y points down). For `uint8` the levels are the integers 0 (black) … 255 (white). Below: the whole
picture, then an 8×8 patch with its numbers — this is all the computer ever sees.
""")

code(r"""
y0, x0 = camera.shape[0] // 4, camera.shape[1] // 2
patch = camera[y0:y0 + 8, x0:x0 + 8]
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
axes[0].imshow(camera, cmap="gray")
axes[0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), 8, 8, fill=False, color="red", lw=1.5))
axes[0].set_title("camera: f(x, y)")
axes[1].imshow(patch, cmap="gray", vmin=0, vmax=255)
for (yy, xx), v in np.ndenumerate(patch):
    axes[1].text(xx, yy, str(v), ha="center", va="center", fontsize=7, color="red" if v < 128 else "black")
axes[1].set_title("8x8 patch: gray levels")
for ax in axes:
    ax.axis("off")
plt.show()
print(f"f(x={x0}, y={y0}) = {camera[y0, x0]}   (array index is [row, column] = [y, x])")
""")

md(r"""
## 2 · Point transforms and normalisation

A point transform maps each gray level $r$ to $s = T(r)$ on its own: the **negative** $s = 255 - r$,
the **log** transform $s = c\log(1 + r)$ (brightens shadows), the **gamma** (power-law) transform
$s = 255\,(r/255)^\gamma$.

**Min-max** normalisation stretches the range: $s = (r - r_{min}) / (r_{max} - r_{min})$ (mapped back to
0…255 for a `uint8` image). **Z-score** normalisation centres and scales: $z = (r - \mu) / \sigma$ — the
result is no longer an image (it has negative values), so `cvtools` returns it as `float32`.
""")

code(r"""
levels = np.arange(256, dtype=np.uint8)[None, :]
curves = {"negative": I.invert(levels), "log": I.log_transform(levels),
          "gamma 0.5": I.gamma(levels, 0.5), "gamma 2.0": I.gamma(levels, 2.0)}
plt.figure(figsize=(4, 3.5))
for name, c in curves.items():
    plt.plot(levels[0], c[0], label=name)
plt.xlabel("input level r"); plt.ylabel("output level s"); plt.legend(); plt.title("T(r)")
plt.show()
show([camera, I.invert(camera), I.log_transform(camera), I.gamma(camera, 2.0)],
     ["original", "negative", "log", "gamma 2.0"])
""")

code(r"""
# a dull, low-contrast version of the picture: levels squeezed into [90, 150]
dull = (90 + camera.astype(np.float32) * (60 / 255)).astype(np.uint8)
mm = I.normalize(dull, "minmax")
z = I.normalize(dull, "zscore")
print(f"dull   : min {dull.min():4d}  max {dull.max():4d}  mean {dull.mean():7.2f}  std {dull.std():6.2f}  {dull.dtype}")
print(f"min-max: min {mm.min():4d}  max {mm.max():4d}  mean {mm.mean():7.2f}  std {mm.std():6.2f}  {mm.dtype}")
print(f"z-score: min {z.min():.2f} max {z.max():.2f}  mean {z.mean():+.4f}  std {z.std():.4f}  {z.dtype}")
show([dull, mm, z], ["dull (90..150)", "min-max -> 0..255", "z-score (float32)"])
""")

md(r"""
## 3 · Histograms and equalisation

The **histogram** counts how many pixels have each gray level. **Equalisation** maps each level through
the normalised cumulative histogram, $s = \mathrm{round}\big(255\,\frac{\mathrm{cdf}(r) - \mathrm{cdf}_{min}}{N - \mathrm{cdf}_{min}}\big)$,
so the output levels are used about equally: the cumulative histogram becomes a straight line.
**CLAHE** does this per tile with a clip on the histogram, so noise is not blown up. Colour images are
equalised on their luminance only, so the hues do not shift.
""")

code(r"""
eq = I.equalize(dull)
cl = I.clahe(dull, clip_limit=3.0, tile_size=8)
fig, axes = plt.subplots(2, 3, figsize=(11, 6))
for col, (im, title) in enumerate([(dull, "dull"), (eq, "equalised"), (cl, "CLAHE")]):
    axes[0, col].imshow(im, cmap="gray", vmin=0, vmax=255); axes[0, col].set_title(title); axes[0, col].axis("off")
    hist, edges = I.histogram(im)
    axes[1, col].bar(edges[:-1], hist, width=1.0, color="gray")
    ax2 = axes[1, col].twinx()
    ax2.plot(edges[:-1], np.cumsum(hist) / hist.sum(), color="red")
    ax2.set_ylim(0, 1.05)
    axes[1, col].set_xlim(0, 255)
axes[1, 0].set_ylabel("pixels per level (bars); cumulative (red)")
plt.tight_layout(); plt.show()
""")

code(r"""
dull_rgb = I.contrast_stretch(coffee, low=0, high=100)  # full range first
dull_rgb = (60 + dull_rgb.astype(np.float32) * (100 / 255)).astype(np.uint8)
show([dull_rgb, I.equalize(dull_rgb), I.clahe(dull_rgb), I.contrast_stretch(dull_rgb)],
     ["dull colour", "equalize (luminance)", "CLAHE (luminance)", "contrast_stretch 2-98%"])
hist, _ = I.histogram(dull_rgb)
print("per-channel histogram shape:", hist.shape)
""")

code(r"""
mask_otsu, t = I.threshold(camera, "otsu")
mask_ad, surface = I.threshold(camera, "adaptive-gaussian", block_size=31, offset=5)
show([camera, mask_otsu, mask_ad], ["camera", f"Otsu (t = {t:.0f})", "adaptive Gaussian (31x31)"])
""")

md(r"""
## 4 · Convolution: slide, multiply, sum

Correlating an image $f$ with a kernel $k$ of size $(2a+1)\times(2b+1)$:
$$g(y, x) = \sum_{i=-a}^{a}\sum_{j=-b}^{b} k(i, j)\, f(y + i, x + j).$$
The kernel slides over the image; at each position the overlapping numbers are multiplied and summed.
**Convolution** is the same with the kernel flipped, $k(-i, -j)$ (it matters only for asymmetric kernels).

A worked example: a 5×5 image and a 3×3 kernel (the Laplacian, which responds to curvature).
""")

code(r"""
f = np.array([[1, 2, 3, 4, 5],
              [2, 4, 6, 8, 10],
              [3, 6, 20, 12, 15],
              [4, 8, 12, 16, 20],
              [5, 10, 15, 20, 25]], dtype=np.float32)
k = np.array([[0, 1, 0],
              [1, -4, 1],
              [0, 1, 0]], dtype=np.float32)

# by hand at output position (row 1, column 1) of the 'valid' result = centre pixel f[2, 2]
window = f[1:4, 1:4]
print("window under the kernel:\n", window)
print("element-wise products:\n", window * k)
print("sum =", (window * k).sum())

valid = C.correlate2d(f, k, padding="valid")
print("\ncorrelate2d(f, k, padding='valid')  ->  shape", valid.shape)
print(valid)
# the same by explicit loops
loops = np.array([[(f[y:y + 3, x:x + 3] * k).sum() for x in range(3)] for y in range(3)])
assert np.array_equal(valid, loops)
""")

code(r"""
# 'same' keeps the size by padding first; the border rule decides the padded values
for border in ["constant", "edge", "reflect"]:
    print(f"padding='same', border={border!r}")
    print(np.pad(f, 1, mode=border).astype(int))
    print("->\n", C.correlate2d(f, k, padding="same", border=border))
    print()
# correlation vs convolution: identical for a symmetric kernel, flipped for an asymmetric one
sobel_x = C.kernels.get_kernel("sobel", axis="x")
print("sobel kernel:\n", sobel_x)
print("correlate:\n", C.correlate2d(f, sobel_x, padding="valid"))
print("convolve (kernel flipped):\n", C.convolve2d(f, sobel_x, padding="valid"))
""")

md(r"""
## 5 · Padding, stride, dilation and the output size

With input size $H$, kernel size $K$, total padding $P$ (both sides), stride $S$ and dilation $D$:
$$H_{out} = \left\lfloor \frac{H + P - D\,(K - 1) - 1}{S} \right\rfloor + 1.$$
`output_shape` implements it; the table checks it against the shape `correlate2d` actually returns.
""")

code(r"""
img = np.random.default_rng(0).random((32, 32)).astype(np.float32)
k3 = np.ones((3, 3), np.float32) / 9
print(f"{'padding':>10} {'stride':>6} {'dilation':>8} {'formula':>10} {'correlate2d':>12}")
for padding, stride, dilation in [("valid", 1, 1), ("same", 1, 1), ("full", 1, 1), (0, 2, 1),
                                  (1, 2, 1), ("same", 2, 1), ("valid", 1, 2), (2, 3, 2)]:
    formula = C.output_shape(img.shape, k3.shape, stride=stride, padding=padding, dilation=dilation)
    actual = C.correlate2d(img, k3, padding=padding, stride=stride, dilation=dilation).shape
    assert tuple(formula) == actual
    print(f"{padding!s:>10} {stride:>6} {dilation:>8} {str(tuple(formula)):>10} {str(actual):>12}")
""")

code(r"""
# stride 2 on a real image: the same filter, every second output only
blur = C.kernels.get_kernel("gaussian", sigma=1.5)
s1 = C.correlate2d(camera, blur)
s2 = C.correlate2d(camera, blur, stride=2)
show([camera, s1, s2], [f"camera {camera.shape}", f"stride 1 {s1.shape}", f"stride 2 {s2.shape}"])
""")

md(r"""
## 6 · Classic filters

Smoothing (box, Gaussian) averages neighbours; the **median** replaces each pixel by the middle value of
its window and removes salt-and-pepper noise without blurring edges; the **bilateral** filter and
**non-local means** average only similar pixels. Derivative kernels (Sobel) give the gradient, whose
magnitude outlines edges; **Canny** thins and links them. **Morphology** takes local minima/maxima.
""")

code(r"""
noisy = F.add_noise(camera, "salt-and-pepper", amount=0.05, seed=0)
show([noisy, F.box(noisy, 5), F.gaussian(noisy, 1.5), F.median(noisy, 3)],
     ["salt & pepper 5%", "box 5x5", "Gaussian sigma 1.5", "median 3x3"])
g_noisy = F.add_noise(astronaut, "gaussian", amount=0.08, seed=0)
show([g_noisy, F.bilateral(g_noisy, diameter=9, sigma_color=40, sigma_space=3), F.denoise(g_noisy, strength=15)],
     ["Gaussian noise", "bilateral", "non-local means"])
""")

code(r"""
mag, ang = F.gradient(camera, "sobel")
edges = F.canny(camera, sigma=1.5)
show([F.sobel(camera, axis=1), mag, edges, F.unsharp_mask(camera, sigma=2, amount=1.5)],
     ["Sobel d/dx (float32)", "gradient magnitude", "Canny", "unsharp mask"])
binary, _ = I.threshold(camera, "otsu")
show([binary] + [F.morphology(binary, op, shape="ellipse", size=7) for op in ("erode", "dilate", "open", "gradient")],
     ["Otsu mask", "erode", "dilate", "open", "gradient"])
""")

md(r"""
## 7 · Pooling

Pooling summarises each window by one number — its **maximum** or its **average** — usually with
stride = window size, halving the resolution for a 2×2 window. Max pooling keeps the strongest
response (used in CNNs); average pooling is a box blur followed by sub-sampling.
""")

code(r"""
x = np.array([[1, 3, 2, 0],
              [4, 6, 1, 1],
              [0, 2, 9, 8],
              [3, 1, 7, 5]], dtype=np.float32)
print("input:\n", x)
print("max pool 2x2, stride 2:\n", C.pool2d(x, 2, mode="max"))
print("avg pool 2x2, stride 2:\n", C.pool2d(x, 2, mode="avg"))
print("max pool 2x2, stride 1 (overlapping; output size (4 - 2) // 1 + 1 = 3):\n", C.pool2d(x, 2, stride=1, mode="max"))
edges_f = mag / mag.max()
show([edges_f, C.pool2d(edges_f, 4, mode="max"), C.pool2d(edges_f, 4, mode="avg")],
     [f"edge strength {edges_f.shape}", "max pool 4x4", "avg pool 4x4"])
""")

md(r"""
## 8 · Up-sampling: interpolation vs transposed convolution

**Interpolation** computes each new pixel from its neighbours (nearest, bilinear, bicubic, …).
A **transposed convolution** instead *stamps* each input pixel, multiplied by a kernel, onto the output at
`stride` spacing and adds the overlaps (equivalently: insert `stride - 1` zeros between pixels, then
convolve). With the bilinear kernel $[\tfrac14, \tfrac34, \tfrac34, \tfrac14]$ (outer product), stride 2
and padding 1 it reproduces bilinear interpolation exactly away from the border — this is how up-sampling
layers are often initialised. With a kernel whose size is not a multiple of the stride, the overlaps are
uneven and produce the well-known **checkerboard** artefact, which is why learned up-sampling often uses
resize-then-convolve instead.
""")

code(r"""
small = np.array([[1, 2, 3],
                  [4, 5, 6],
                  [7, 8, 9]], dtype=np.float32)
w = np.array([0.25, 0.75, 0.75, 0.25], np.float32)
bilinear_kernel = np.outer(w, w)
print("input:\n", small)
print("nearest x2:\n", C.upsample(small, 2, method="nearest"))
print("bilinear x2:\n", C.upsample(small, 2, method="bilinear"))
tc = C.transposed_conv2d(small, bilinear_kernel, stride=2, padding=1)
print("transposed conv, bilinear kernel, stride 2, padding 1:\n", tc)
print("interior identical to bilinear:", np.allclose(tc[1:-1, 1:-1], C.upsample(small, 2, method="bilinear")[1:-1, 1:-1]))
""")

code(r"""
face = I.to_gray(astronaut)[: SIDE // 4, SIDE // 4: SIDE // 2].astype(np.float32) / 255
tiny = C.pool2d(face, 4, mode="avg")
up = {m: C.upsample(tiny, 4, method=m) for m in ("nearest", "bilinear", "bicubic")}
# the factor-4 bilinear kernel: 8 taps 1 - |t - 3.5| / 4
w4 = (1 - np.abs(np.arange(8) - 3.5) / 4).astype(np.float32)
tc4 = C.transposed_conv2d(tiny, np.outer(w4, w4), stride=4, padding=2)
box3 = np.ones((3, 3), np.float32)  # 3 is not a multiple of 2: uneven overlaps
checker = C.transposed_conv2d(np.ones((8, 8), np.float32), box3, stride=2)
show([tiny, up["nearest"], up["bilinear"], up["bicubic"], tc4],
     [f"input {tiny.shape}", "nearest x4", "bilinear x4", "bicubic x4", "transposed conv x4"])
show([checker], ["transposed conv of a constant image:\n3x3 box kernel, stride 2 -> checkerboard"], size=4)
print("transposed conv x4 vs bilinear x4, interior max difference:",
      float(np.abs(tc4[2:-2, 2:-2] - up["bilinear"][2:-2, 2:-2]).max()))
""")

md(r"""
## Summary

| concept | cvtools |
|---|---|
| gray levels, dtype honesty | numpy arrays, `to_float32` / `to_uint8` |
| point transforms | `intensity.invert`, `log_transform`, `gamma`, `contrast_stretch` |
| normalisation | `intensity.normalize(image, "minmax" / "zscore")` |
| histograms | `intensity.histogram`, `equalize`, `clahe`, `match_histograms` |
| thresholds | `intensity.threshold(image, "otsu" / "triangle" / "adaptive-…")` |
| convolution | `convolution.correlate2d`, `convolve2d`, `output_shape`, `kernels` |
| filters | `filtering.gaussian`, `median`, `bilateral`, `denoise`, `sobel`, `canny`, `morphology` |
| pooling and up-sampling | `convolution.pool2d`, `upsample`, `transposed_conv2d` |
""")

save("01_intensity_filtering_convolution.ipynb")
