"""Internal helpers shared by every cvtools module: errors, validation, dtypes, optional imports.

Nothing here imports anything heavier than numpy.
"""
from ._errors import (
    CvtoolsError,
    CvtoolsRuntimeWarning,
    CvtoolsWarning,
    ImageMetadataWarning,
    ImageReadError,
    ImageWriteError,
    UsageError,
    VideoOpenError,
    VideoWriteError,
)
from ._validate import check_image, check_choice, check_positive_int, check_number, check_unit, IMAGE_DTYPES
from ._dtype import to_float32, to_uint8, to_uint16, dtype_max, restore_dtype, as_uint8, to_rgb_uint8
from ._optional import require, check_installed, is_available, EXTRAS, face_models_dir
from ._device import DEVICES, check_device, resolve_device
from ._log import logger
from ._borders import BORDERS, cv2_border, scipy_mode
from ._files import sha256_file
from ._opencv import quiet_opencv

__all__ = [
    "CvtoolsError", "CvtoolsWarning", "CvtoolsRuntimeWarning", "ImageMetadataWarning", "ImageReadError", "ImageWriteError", "UsageError", "VideoOpenError",
    "VideoWriteError", "check_image", "check_choice", "check_positive_int", "check_number", "check_unit", "IMAGE_DTYPES",
    "to_float32", "to_uint8", "to_uint16", "dtype_max", "restore_dtype", "require", "check_installed", "is_available",
    "EXTRAS", "BORDERS", "cv2_border", "scipy_mode", "sha256_file", "as_uint8", "to_rgb_uint8",
    "face_models_dir", "DEVICES", "check_device", "resolve_device", "logger", "quiet_opencv",
]
