"""Geometric operations (cvtools.transform) exposed to pipelines by name.

The functions are registered as they are: their signatures and docstrings are the op metadata.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from .. import transform
from ._registry import register

for _name in ("resize", "crop", "rotate", "flip", "pad"):
    register(_name)(getattr(transform, _name))


def convert(image, *, dtype: Literal["keep", "uint8", "uint16", "float32"] = "keep",
            mode: Literal["keep", "gray", "rgb", "rgba"] = "keep") -> np.ndarray:
    """Convert the dtype (rescaling explicitly) and/or the channels of an image.

    cvtools never converts silently; this op is how a pipeline asks for it, e.g. before writing a
    16-bit or RGBA image as JPEG (``convert:dtype=uint8,mode=rgb``).

    Parameters
    ----------
    dtype : {"keep", "uint8", "uint16", "float32"}
        Target dtype: uint8 0-255, uint16 0-65535 or float32 0-1 (rescaled, rounded, clipped; see
        :func:`cvtools.to_uint8`).
    mode : {"keep", "gray", "rgb", "rgba"}
        Target channels: gray uses BT.601 luma, rgb drops alpha (or repeats gray), rgba adds an
        opaque alpha channel.

    Examples
    --------
    >>> convert(np.array([[0, 65535]], np.uint16), dtype="uint8")
    array([[  0, 255]], dtype=uint8)
    >>> convert(np.zeros((1, 1), np.uint8), mode="rgba").tolist()
    [[[0, 0, 0, 255]]]
    """
    from .._shared import check_choice, check_image, dtype_max, to_float32, to_uint8, to_uint16

    image = check_image(image)
    check_choice(dtype, ("keep", "uint8", "uint16", "float32"), name="dtype")
    check_choice(mode, ("keep", "gray", "rgb", "rgba"), name="mode")
    if dtype != "keep" and image.dtype.name != dtype:
        image = {"uint8": to_uint8, "uint16": to_uint16, "float32": to_float32}[dtype](image)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if image.ndim == 3 and channels == 1:
        image = image[..., 0]
    if mode == "gray" and channels != 1:
        from ..intensity import to_gray

        image = to_gray(image[..., :3])
    elif mode in ("rgb", "rgba"):
        rgb = image[..., :3] if channels >= 3 else np.dstack([image] * 3)
        if mode == "rgba":
            alpha = image[..., 3] if channels == 4 else np.full(image.shape[:2], dtype_max(image.dtype),
                                                                 dtype=image.dtype)
            rgb = np.dstack([rgb, alpha])
        image = rgb
    return np.ascontiguousarray(image).copy() if image is not None else image


register("convert")(convert)
