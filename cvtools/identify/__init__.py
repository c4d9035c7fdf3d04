"""Identification: "which one is it, and what is it like?"

* :class:`Gallery` holds known faces (dlib 128-d descriptors of faces found by a ``cvtools.detect``
  detector, YuNet by default, and aligned with its landmarks) or objects (SIFT features), built
  from ``root/<name>/<image>`` with :meth:`Gallery.from_folder` (embeddings
  cached on disk by file content) or :meth:`Gallery.add`; :meth:`Gallery.identify` names every
  face/object in an image as a :class:`cvtools.detect.Detections` with ``identities`` and
  ``distances`` (``"unknown"`` beyond the threshold).
* :class:`VideoIdentifier` does the same on a video stream, reusing a face's descriptor while its
  box stays put (for live use on slow CPUs).
* :func:`describe_detections` turns detections into attributes: dominant color, size, position,
  landmarks, decoded text.
"""
from ._gallery import Gallery, FACE_THRESHOLD, MAX_YAW, MIN_INLIERS, KINDS, default_cache_dir
from ._video import VideoIdentifier
from ._describe import describe_detections, color_name, dominant_color, COLORS

__all__ = ["Gallery", "VideoIdentifier", "describe_detections", "color_name", "dominant_color", "default_cache_dir",
           "FACE_THRESHOLD", "MAX_YAW", "MIN_INLIERS", "KINDS", "COLORS"]


def __getattr__(name: str):
    # describe, colour_name, dominant_colour, COLOURS: deprecated spellings, kept for one release
    from . import _describe

    if name in _describe._DEPRECATED:
        return _describe.deprecated(name)
    raise AttributeError(f"module 'cvtools.identify' has no attribute {name!r}")
