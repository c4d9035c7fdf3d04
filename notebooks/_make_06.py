"""Generate notebooks/06_batch_processing.ipynb (outputs left empty).

    .venv/bin/python notebooks/_make_06.py
"""
from _nb import code, md, save


md(r"""
# 06 · Batch processing: pipelines, `cvtools batch`, resume

This notebook

1. lists the **operations** a pipeline can name (generated from the functions themselves);
2. builds a **pipeline** from text and applies it to one image;
3. runs it over a **folder** with `cvtools.batch.run` — a mirrored output tree, bad files recorded, a report;
4. shows **resume** (a second run skips what is up to date) and `dry_run`;
5. writes a few **augmented copies** per image, reproducibly (needs albumentations).

The same things from a shell: `cvtools ops`, `cvtools batch IN OUT --pipeline "..."`, `cvtools augment`.
""")

code(r"""
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import cvtools
from cvtools.batch import Pipeline, list_ops, run

SMALL = os.environ.get("CVTOOLS_NOTEBOOK_TEST") == "1"
""")

md(r"""
## 1. The operations

Every operation is a plain function registered by name; its parameters, types, defaults and
descriptions are read from its signature and docstring.
""")

code(r"""
for op in list_ops()[:12]:
    params = ", ".join(f"{p.name}={p.default!r}" if not p.required else p.name for p in op.params)
    print(f"{op.name:<16} {params}")
print("...", len(list_ops()), "operations in all")
""")

md(r"""
## 2. A pipeline on one image

Steps are separated by `|`, parameters are `name=value` with typed values. A pipeline is validated
when it is built (unknown names or wrong types raise at once, listing what is valid) and is callable.
""")

code(r"""
pipe = Pipeline.parse("resize:scale=0.5 | gaussian:sigma=1 | equalize")
print(pipe, "| hash", pipe.hash[:12])
image = data.astronaut()
out = pipe(image)
fig, ax = plt.subplots(1, 2, figsize=(9, 4.5))
ax[0].imshow(image); ax[0].set_title(f"input {image.shape}")
ax[1].imshow(out); ax[1].set_title(f"output {out.shape}")
for a in ax: a.axis("off")
plt.show()
try:
    Pipeline.parse("gausian:sigma=1")
except ValueError as exc:
    print("error:", str(exc)[:120], "...")
""")

md(r"""
## 3. A folder

A small tree with sub-folders, a 16-bit PNG, an RGBA PNG — and two bad files (a truncated JPEG and a
text file named `.png`). The run goes on past them and reports them.
""")

code(r"""
root = Path(tempfile.mkdtemp())
src = root / "photos"
(src / "trip" / "day 1").mkdir(parents=True)
pictures = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
n = 4 if SMALL else 16
for i in range(n):
    folder = src / ("trip/day 1" if i % 2 else "trip")
    cvtools.write(folder / f"img_{i:02d}.jpg", pictures[i % len(pictures)], quality=92)
cvtools.write(src / "scan16.png", (data.camera().astype(np.uint16) * 257))
cvtools.write(src / "logo.png", np.dstack([data.coffee()[:200, :200], np.full((200, 200), 200, np.uint8)]))
good = (src / "trip" / "img_00.jpg").read_bytes()
(src / "broken.jpg").write_bytes(good[: len(good) // 3])
(src / "notes.png").write_text("not an image")

report = run(src, root / "small", pipe, workers=2, quality=90)
print(report.summary())
for f in report.failed:
    print(" failed:", Path(f["path"]).name, "->", f["error"].split(": ", 1)[-1])
print(sorted(p.relative_to(root / "small").as_posix() for p in (root / "small").rglob("*") if p.is_file() and not p.name.startswith(".")))
""")

md(r"""
## 4. Resume and dry run

The output folder holds a manifest recording, per output, the input's fingerprint and the pipeline's
hash. A second run skips what is up to date; a changed input or pipeline is redone.
""")

code(r"""
again = run(src, root / "small", pipe, workers=2, quality=90)
print("second run:", again.summary())
cvtools.write(src / "trip" / "img_00.jpg", data.rocket(), quality=92)   # change one input
print("after a change:", run(src, root / "small", pipe, workers=2, quality=90).summary())
plan = run(src, root / "small", "resize:scale=0.25", dry_run=True)
print("dry run of another pipeline:", plan.summary())
""")

md(r"""
## 5. Augmented copies (albumentations)

`copies` outputs per input, each seeded from `seed`, the file's relative path and the copy number,
so the result does not depend on how many workers ran or in which order files finished.
""")

code(r"""
try:
    import albumentations  # noqa: F401
except ImportError:
    print('augmentation needs: pip install "cvtools[augment]"')
else:
    spec = [{"HorizontalFlip": {"p": 0.5}}, {"Affine": {"rotate": [-20, 20], "p": 1.0}},
            {"RandomBrightnessContrast": {"p": 0.9}}]
    aug = run(src, root / "augmented", [{"op": "augment", "spec": spec}], workers=0, copies=3, seed=0,
              include="img_00.jpg")
    print(aug.summary())
    files = sorted((root / "augmented").rglob("img_00_*.jpg"))
    fig, ax = plt.subplots(1, len(files), figsize=(3 * len(files), 3))
    for a, f in zip(ax, files):
        a.imshow(cvtools.read(f)); a.set_title(f.name); a.axis("off")
    plt.show()
""")

save("06_batch_processing.ipynb")
