"""Image and video I/O: the only place in cvtools where OpenCV's BGR order appears.

Images are numpy arrays ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, with their file's bit
depth kept (uint8, uint16, float32). See :func:`read`, :func:`write`, :func:`iter_images`,
:class:`VideoSource`, :class:`VideoWriter` and :func:`show_window`.
"""
from ._read import (read, read_pages, probe, MAX_PIXELS, set_max_pixels, get_max_pixels, MAX_BYTES, set_max_bytes,
                    get_max_bytes, NO_LIMIT, READ_MODES)
from ._write import (write, encode, write_bytes_atomic, WRITE_FORMATS, is_cvtools_temporary,
                     remove_stale_temporary, remove_stale_temporaries)
from ._iter import iter_images, IMAGE_EXTENSIONS
from ._video import VideoSource, VideoWriter, VIDEO_EXTENSIONS
from ._color import bgr_to_rgb, rgb_to_bgr
from ._window import show_window, WindowError

__all__ = [
    "read", "read_pages", "probe", "MAX_PIXELS", "set_max_pixels", "get_max_pixels", "MAX_BYTES", "set_max_bytes",
    "get_max_bytes", "NO_LIMIT", "READ_MODES",
    "write", "encode", "write_bytes_atomic", "WRITE_FORMATS", "is_cvtools_temporary",
    "remove_stale_temporary", "remove_stale_temporaries", "iter_images", "IMAGE_EXTENSIONS", "VideoSource", "VideoWriter",
    "VIDEO_EXTENSIONS", "bgr_to_rgb", "rgb_to_bgr", "show_window", "WindowError",
]
