"""Synthetic labelled image folders for the recognition and identification tests."""
from __future__ import annotations

import numpy as np

CLASSES = ("disc", "horizontal", "vertical")


def make_image(kind: str, rng, size: int = 24) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    if kind == "horizontal" or kind == "vertical":
        period = rng.uniform(4, 7)
        phase = rng.uniform(0, period)
        coord = yy if kind == "horizontal" else xx
        img = 150 * (np.sin(2 * np.pi * (coord + phase) / period) > 0) + 50
    elif kind == "disc":
        cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
        r = rng.uniform(size * 0.2, size * 0.32)
        img = np.where((yy - cy) ** 2 + (xx - cx) ** 2 < r * r, 210, 40)
    else:
        raise ValueError(kind)
    img = img + rng.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_folder(root, per_class: int, *, seed: int, classes=CLASSES, size: int = 24):
    """root/<class>/<i>.png; returns root."""
    import cvtools

    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cvtools.write(root / c / f"{i:02d}.png", make_image(c, rng, size))
    return root
