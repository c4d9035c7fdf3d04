"""The cvtools exception hierarchy.

Every custom error also subclasses the matching built-in, so ``except OSError`` catches a failed read
and ``except ValueError`` a bad argument, whether or not the caller knows about cvtools.
"""


class CvtoolsError(Exception):
    """Base class of every error raised by cvtools itself."""


class ImageReadError(CvtoolsError, OSError):
    """An image could not be read: missing, a directory, empty, not an image, truncated, too large."""


class ImageWriteError(CvtoolsError, OSError):
    """An image could not be written: unsupported format/dtype/channels, or the write failed."""


class VideoOpenError(CvtoolsError, OSError):
    """A camera, video file or image sequence could not be opened."""


class VideoWriteError(CvtoolsError, OSError):
    """A video file could not be written."""


class CvtoolsWarning(UserWarning):
    """Warnings issued by cvtools (never silent fallbacks: something the user should know)."""


class UsageError(CvtoolsError, ValueError):
    """A bad argument or option given by the user (the command line prints it and exits with status 2)."""


class CvtoolsRuntimeWarning(CvtoolsWarning, RuntimeWarning):
    """Something at run time went another way than asked, and the result is still right (e.g. a slower
    backend was used); ``except``/``filterwarnings`` on either ``CvtoolsWarning`` or ``RuntimeWarning``."""


class ImageMetadataWarning(CvtoolsWarning):
    """An image's metadata (EXIF) could not be parsed; the pixels were read, the metadata ignored."""
