"""cvtools.io.iter_images: sorted, streaming, hidden files skipped, symlink loops survived."""
from __future__ import annotations

import types

import pytest

from cvtools.io import iter_images


def _touch(root, *names):
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def test_sorted_recursive_and_filters(tmp_path):
    _touch(tmp_path, "b.jpg", "a.PNG", "sub/c.tif", "sub/deeper/d.webp", "notes.txt", ".hidden.png",
           ".git/e.png", "z/y.bmp")
    got = [p.relative_to(tmp_path).as_posix() for p in iter_images(tmp_path)]
    assert got == ["a.PNG", "b.jpg", "sub/c.tif", "sub/deeper/d.webp", "z/y.bmp"]
    flat = [p.name for p in iter_images(tmp_path, recursive=False)]
    assert flat == ["a.PNG", "b.jpg"]
    only = [p.name for p in iter_images(tmp_path, extensions={".JPG", ".tif"})]
    assert only == ["b.jpg", "c.tif"]


def test_is_a_lazy_generator(tmp_path):
    _touch(tmp_path, "a.png")
    it = iter_images(tmp_path)
    assert isinstance(it, types.GeneratorType)


def test_survives_symlink_loop(tmp_path):
    _touch(tmp_path, "a/1.png")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    got = [p.name for p in iter_images(tmp_path)]
    assert got == ["1.png"]


def test_single_file_and_missing_root(tmp_path):
    _touch(tmp_path, "one.png")
    assert list(iter_images(tmp_path / "one.png")) == [tmp_path / "one.png"]
    with pytest.raises(FileNotFoundError, match="is not a folder or a file"):
        list(iter_images(tmp_path / "missing"))
