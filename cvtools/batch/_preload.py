"""Imported by the batch worker pool's fork server, so that workers start warm.

Workers are forked from the fork server, so what is imported and initialised here is shared by all
of them: cvtools and OpenCV imported, every operation registered, and the lazy initialisation of
the JPEG/PNG codecs and Pillow's plugins done once. The warm-up runs OpenCV single-threaded, so no
thread pool exists to be broken by fork; each worker sets its own thread count when it starts.
"""
import tempfile

import cv2
import numpy as np

from .. import io
from . import _runner
from ._registry import list_ops

list_ops()
_threads = cv2.getNumThreads()
cv2.setNumThreads(1)  # no OpenCV thread pool gets created by the warm-up
_image = np.zeros((16, 16, 3), np.uint8)
for _ext in (".jpg", ".png"):
    _data = io.encode(_image, _ext)
    io.probe(_data)
    io.read(_data)
    io.read(_data, reduce=2)
tempfile.gettempprefix()
cv2.setNumThreads(_threads)  # (the pool is created lazily, so restoring the setting starts nothing)
del _image, _data, _ext, _runner, _threads
