"""Geometric transforms: resize, crop, rotate, flip, pad.

Plain functions on the cvtools image contract (``(H, W)``, ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA;
uint8, uint16, float32 or float64). Every result is a new, contiguous, writeable array of the input's
dtype and channel count; inputs are never modified.
"""
from ._geometry import resize, crop, rotate, flip, pad, resized_shape, RESIZE_METHODS

__all__ = ["resize", "crop", "rotate", "flip", "pad", "resized_shape", "RESIZE_METHODS"]
