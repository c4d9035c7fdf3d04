"""Internal helpers shared by every cvtools module: errors, validation, dtypes, optional imports.

Nothing here imports anything heavier than numpy.
"""
from ._errors import (
    CvtoolsError,
    CvtoolsWarning,
    ImageReadError,
    ImageWriteError,
    UsageError,
    VideoOpenError,
    VideoWriteError,
)
from ._validate import check_image, check_choice, check_positive_int, check_number, check_unit, IMAGE_DTYPES
from ._dtype import to_float32, to_uint8, to_uint16, dtype_max, restore_dtype
from ._optional import require, is_available, EXTRAS
from ._borders import BORDERS, cv2_border, scipy_mode
from ._files import sha256_file

__all__ = [
    "CvtoolsError", "CvtoolsWarning", "ImageReadError", "ImageWriteError", "UsageError", "VideoOpenError",
    "VideoWriteError", "check_image", "check_choice", "check_positive_int", "check_number", "check_unit", "IMAGE_DTYPES",
    "to_float32", "to_uint8", "to_uint16", "dtype_max", "restore_dtype", "require", "is_available",
    "EXTRAS", "BORDERS", "cv2_border", "scipy_mode", "sha256_file",
]
