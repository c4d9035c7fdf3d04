"""The demo's bundled sample video: two public-domain faces that pan and zoom, and how to find it.

The video is made from images with clear licences that ship inside wheels cvtools already depends on:

* ``skimage.data.astronaut()`` - Eileen Collins, NASA Great Images database (public domain);
* matplotlib's ``mpl-data/sample_data/grace_hopper.jpg`` - Grace Hopper, US Navy photo (public domain).

``samples/make_sample_video.py`` calls :func:`make_sample_video` to write ``samples/faces.mp4``.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Iterator

import numpy as np

#: Where the sample video is looked for, in order (see :func:`find_sample_video`).
SAMPLE_NAME = "faces.mp4"

# Crops around each face (x0, y0, x1, y1) in the original images, chosen so the face sits in
# the upper middle of a portrait tile, with hair and shoulders around it for the detector.
_ASTRONAUT_CROP = (130, 30, 320, 230)
_HOPPER_CROP = (120, 90, 420, 410)


def _grace_hopper() -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data, found without importing matplotlib."""
    from cvtools.io import read

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError('the demo sample video needs matplotlib\'s sample data: pip install "cvtools[viz]"')
    for base in spec.submodule_search_locations:
        path = Path(base) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
        if path.is_file():
            return read(path, "rgb")
    raise FileNotFoundError("grace_hopper.jpg is missing from matplotlib's mpl-data/sample_data.")


def _background(width: int, height: int, t: float) -> np.ndarray:
    """A soft, slowly shifting two-colour gradient (compresses well, never looks like a face)."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    w = 0.5 + 0.5 * np.sin(2 * np.pi * (0.6 * x + 0.4 * y + 0.08 * t))
    top = np.array([38, 52, 78], np.float32)
    bottom = np.array([92, 110, 128], np.float32)
    return (top + (bottom - top) * w[..., None]).astype(np.uint8)


def _paste(canvas: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    h, w = tile.shape[:2]
    canvas[y:y + h, x:x + w] = tile


def sample_frames(*, size: tuple[int, int] = (480, 360), fps: float = 20.0,
                  seconds: float = 6.0) -> Iterator[np.ndarray]:
    """Yield the sample video's RGB uint8 frames.

    Eileen Collins pans left and right on the left, Grace Hopper zooms in and out on the right,
    so boxes move and change size while identities stay put.

    Parameters
    ----------
    size : (width, height)
        Frame size; the layout is designed for 480x360.
    fps : float
        Frames per second.
    seconds : float
        Duration.

    Yields
    ------
    (H, W, 3) uint8 ndarray

    Examples
    --------
    >>> next(sample_frames(seconds=0.1)).shape
    (360, 480, 3)
    """
    import cv2
    import skimage.data

    width, height = (int(v) for v in size)
    sx, sy = width / 480.0, height / 360.0
    x0, y0, x1, y1 = _ASTRONAUT_CROP
    astronaut = skimage.data.astronaut()[y0:y1, x0:x1]
    x0, y0, x1, y1 = _HOPPER_CROP
    hopper = _grace_hopper()[y0:y1, x0:x1]
    n = int(round(fps * seconds))
    for i in range(n):
        t = i / fps
        phase = 2 * np.pi * t / seconds
        canvas = _background(width, height, t)
        # Eileen Collins: a tile about 200 px wide sliding left-right with a small bob.
        s = 1.0 * min(sx, sy)
        tile = cv2.resize(astronaut, (int(astronaut.shape[1] * s), int(astronaut.shape[0] * s)),
                          interpolation=cv2.INTER_AREA)
        ax = int((10 + 50 * (0.5 - 0.5 * np.cos(phase))) * sx)
        ay = int((70 + 25 * np.sin(2 * phase)) * sy)
        _paste(canvas, tile, ax, ay)
        # Grace Hopper: a tile centred at (370, 180) zooming between 0.42x and 0.58x.
        z = (0.50 + 0.08 * np.sin(phase)) * min(sx, sy)
        tile = cv2.resize(hopper, (int(hopper.shape[1] * z), int(hopper.shape[0] * z)),
                          interpolation=cv2.INTER_AREA)
        cx, cy = 372 * sx, (180 + 20 * np.sin(phase + 1.0)) * sy
        hx = int(np.clip(cx - tile.shape[1] / 2, 0, width - tile.shape[1]))
        hy = int(np.clip(cy - tile.shape[0] / 2, 0, height - tile.shape[0]))
        _paste(canvas, tile, hx, hy)
        yield canvas


def make_sample_video(path: str | os.PathLike, *, size: tuple[int, int] = (480, 360), fps: float = 20.0, seconds: float = 6.0) -> Path:
    """Write the sample video (two public-domain faces, panning and zooming) to ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file (``.mp4`` or ``.avi``).
    size, fps, seconds
        As :func:`sample_frames`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from cvtools.io import VideoWriter

    path = Path(os.fspath(path))
    with VideoWriter(path, fps=fps, size=size) as out:
        for frame in sample_frames(size=size, fps=fps, seconds=seconds):
            out.write(frame)
    return path


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    found = []
    env = os.environ.get("CVTOOLS_SAMPLE_VIDEO")
    if env:
        found.append(Path(env))
    found.append(here / "data" / SAMPLE_NAME)  # when packaged as package data
    found.append(here.parents[1] / "samples" / SAMPLE_NAME)  # a source checkout / editable install
    return found


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cvtools"


def find_sample_video(*, create: bool = True) -> Path:
    """The path of the demo's sample video (two faces, about 6 s).

    Looked for, in order: ``$CVTOOLS_SAMPLE_VIDEO``; ``cvtools/demo/data/faces.mp4`` (package data);
    ``samples/faces.mp4`` beside the ``cvtools`` package (a source checkout or an editable install);
    ``~/.cache/cvtools/faces.mp4``. When none exists and ``create`` is true, it is generated into that
    cache folder from the public-domain images in the scikit-image and matplotlib wheels.

    Raises
    ------
    FileNotFoundError
        When the video is nowhere and cannot be made.

    Examples
    --------
    >>> find_sample_video().name  # doctest: +SKIP
    'faces.mp4'
    """
    cached = _cache_dir() / SAMPLE_NAME
    for path in [*_candidates(), cached]:
        if path.is_file() and path.stat().st_size > 0:
            return path
    if not create:
        raise FileNotFoundError(f"the demo sample video is missing; looked in: "
                                f"{', '.join(str(p) for p in [*_candidates(), cached])}.")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        return make_sample_video(cached)
    except (ImportError, OSError) as exc:
        raise FileNotFoundError(f"the demo sample video is missing and could not be made ({exc}); "
                                f"run `python samples/make_sample_video.py` in a cvtools checkout, or pass "
                                f"--source PATH.") from exc
