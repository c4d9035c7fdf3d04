"""Image folders and image batches as classifiers see them: fixed-size float32 arrays."""
from __future__ import annotations

import os

import numpy as np

from .._shared import check_image, to_float32


def load_folder(root, *, classes=None):
    """List ``root/<class>/<image>`` files: ``(paths, labels, classes)`` in sorted order.

    The one class-folder reader, shared with ``cvtools.datasets.load(root, format="folder")``.
    """
    from ..datasets import load

    ds = load(root, "folder", classes=classes)
    return ds.paths, np.array([s.label for s in ds]), ds.classes


def as_image_list(images) -> list:
    """Normalise ``images`` to a list of arrays or paths.

    Accepts one image array ``(H, W)`` / ``(H, W, 3|4)``, a stack ``(N, H, W)`` or ``(N, H, W, C)``,
    a path, or any sequence of arrays and paths.
    """
    if isinstance(images, (str, os.PathLike)):
        return [images]
    if isinstance(images, np.ndarray):
        if images.ndim == 2 or (images.ndim == 3 and images.shape[2] in (3, 4)):
            return [images]
        if images.ndim in (3, 4):
            return list(images)
        raise ValueError(f"`images` must be one image, a stack (N, H, W[, C]) or a list; "
                         f"got an array of shape {images.shape}.")
    try:
        return list(images)
    except TypeError:
        raise TypeError(f"`images` must be an image array, a path or a sequence of them; "
                        f"got {type(images).__name__}.") from None


def _read(item):
    from ..io import read

    if isinstance(item, (str, os.PathLike)):
        return read(item)
    return check_image(item, name="images[i]")


def is_gray(image) -> bool:
    """True for a gray image or an RGB(A) image whose three colour channels are equal."""
    if image.ndim == 2:
        return True
    rgb = image[..., :3]
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]))


def prepare(image, *, size, channels: int) -> np.ndarray:
    """One image as float32 ``(h, w, channels)`` in [0, 1], resized to ``size = (h, w)``.

    The aspect ratio is not kept (the whole image is squeezed to ``size``); alpha is dropped;
    gray becomes three equal channels when ``channels == 3``, RGB becomes luma when ``channels == 1``.
    """
    import cv2

    image = to_float32(_read(image))
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if channels == 1 and image.ndim == 3:
        image = image @ np.array([0.299, 0.587, 0.114], np.float32)
    h, w = size
    if image.shape[:2] != (h, w):
        inter = cv2.INTER_AREA if image.shape[0] > h and image.shape[1] > w else cv2.INTER_LINEAR
        image = cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=inter)
    if image.ndim == 2:
        image = image[..., None]
    if channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image, dtype=np.float32)


def prepare_batch(images, *, size, channels: int) -> np.ndarray:
    """Stack of :func:`prepare`: float32 ``(N, h, w, channels)``."""
    items = as_image_list(images)
    out = np.empty((len(items), size[0], size[1], channels), np.float32)
    for i, item in enumerate(items):
        out[i] = prepare(item, size=size, channels=channels)
    return out


def load_images(paths) -> list:
    """Read every path (RGB/gray arrays as stored)."""
    return [_read(p) for p in paths]


#: Largest side images may be resized to for a classifier (a model file may not declare more either).
MAX_IMAGE_SIDE = 1024


def check_size(image_size) -> tuple[int, int]:
    """``image_size`` as ``(h, w)``: an int gives a square; each side in 8..MAX_IMAGE_SIDE."""
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (int(image_size), int(image_size))
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise TypeError(f"`image_size` must be an int or (height, width); got {image_size!r}.") from None
    if h < 8 or w < 8:
        raise ValueError(f"`image_size` must be at least 8x8; got {(h, w)}.")
    if h > MAX_IMAGE_SIDE or w > MAX_IMAGE_SIDE:
        raise ValueError(f"`image_size` must be at most {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}; got {(h, w)}.")
    return h, w
