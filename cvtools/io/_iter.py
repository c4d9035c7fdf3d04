"""Streaming, sorted discovery of image files in a folder tree."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".ppm",
                              ".pgm", ".pbm", ".pnm", ".exr", ".hdr", ".jp2"})


def iter_images(root: str | os.PathLike, *, recursive: bool = True, extensions: Iterable[str] | None = None) -> Iterator[Path]:
    """Yield the image files under ``root`` in sorted path order, one at a time.

    Streams: folders are listed one at a time and nothing is decoded, so memory does not grow with
    the number of files. Hidden files and folders (name starting with ``.``) are skipped. Symbolic
    links to folders are followed once; a link back to a folder already visited (a loop) is skipped.

    Parameters
    ----------
    root : str or pathlib.Path
        A folder (or a single image file, which is yielded as is).
    recursive : bool
        Descend into sub-folders (default).
    extensions : iterable of str, optional
        Lower-case extensions with the dot, e.g. ``{".jpg", ".png"}``; default :data:`IMAGE_EXTENSIONS`.
        Matching is case-insensitive.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "b.PNG").touch(); (d / "a.jpg").touch(); (d / ".x.png").touch()
    >>> [p.name for p in iter_images(d)]
    ['a.jpg', 'b.PNG']
    """
    exts = IMAGE_EXTENSIONS if extensions is None else frozenset(e.lower() for e in extensions)
    root = Path(root)
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise FileNotFoundError(f"`root` {str(root)!r} is not a folder or a file.")
    seen: set[tuple[int, int]] = set()

    def walk(folder: Path) -> Iterator[Path]:
        try:
            st = folder.stat()
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if recursive:
                    yield from walk(Path(entry.path))
            elif os.path.splitext(entry.name)[1].lower() in exts:
                try:
                    if entry.is_file():
                        yield Path(entry.path)
                except OSError:
                    continue

    yield from walk(root)
