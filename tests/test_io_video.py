"""cvtools.io.VideoSource / VideoWriter: files, folders, globs, cameras, clear errors, release."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import cvtools
from cvtools import VideoOpenError
from cvtools.io import VideoSource, VideoWriter


def _frames(n=5, size=(48, 32)):
    out = []
    for i in range(n):
        f = np.zeros((size[1], size[0], 3), np.uint8)
        f[..., 0] = 220  # red: checks RGB order survives the round trip
        f[: 4 + i * 4, :, 1] = 200
        out.append(f)
    return out


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_write_then_read_video(tmp_path, ext):
    path = tmp_path / f"clip{ext}"
    with VideoWriter(path, fps=12, size=(48, 32)) as out:
        for f in _frames():
            out.write(f)
    assert path.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with VideoSource(path) as video:
        assert video.size == (48, 32)
        assert video.fps == pytest.approx(12, abs=0.5)
        assert video.frame_count == 5
        frames = list(video)
    assert len(frames) == 5
    assert frames[0].shape == (32, 48, 3)
    assert frames[0][..., 0].mean() > 180 and frames[0][20:, :, 2].mean() < 40


def test_folder_and_glob_sources(tmp_path):
    for i, f in enumerate(_frames(3)):
        cvtools.write(tmp_path / f"f{i:02d}.png", f)
    with VideoSource(tmp_path, fps=10) as video:
        assert video.frame_count == 3 and video.fps == 10 and video.size == (48, 32)
        frames = list(video)
    np.testing.assert_array_equal(frames[2], _frames(3)[2])
    with VideoSource(str(tmp_path / "f0[01].png")) as video:
        assert len(list(video)) == 2


class FakeCamera:
    """Behaves like cv2.VideoCapture on a live camera (BGR frames, no frame count)."""

    def __init__(self, n=3):
        self.n, self.released = n, False

    def isOpened(self):
        return True

    def read(self):
        if self.n == 0:
            return False, None
        self.n -= 1
        frame = np.zeros((24, 32, 3), np.uint8)
        frame[..., 2] = 255  # BGR red
        return True, frame

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 32, cv2.CAP_PROP_FRAME_HEIGHT: 24, cv2.CAP_PROP_FPS: 30}.get(prop, 0)

    def release(self):
        self.released = True


def test_fake_capture_device_is_rgb_and_released():
    cam = FakeCamera()
    with VideoSource(cam) as video:
        assert video.is_live and video.frame_count is None and video.size == (32, 24)
        frames = list(video)
    assert len(frames) == 3 and tuple(frames[0][0, 0]) == (255, 0, 0)
    assert cam.released


def test_release_on_error():
    cam = FakeCamera()
    with pytest.raises(RuntimeError):
        with VideoSource(cam):
            raise RuntimeError("boom")
    assert cam.released


def test_missing_camera_clear_error():
    with pytest.raises(VideoOpenError, match=r"cannot open camera 99: .*--source PATH") as info:
        VideoSource(99)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize("make,match", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("not a video at all" * 10), "not a video"),
])
def test_bad_files(tmp_path, make, match):
    path = tmp_path / "clip.mp4"
    make(path)
    with pytest.raises(VideoOpenError, match=match):
        VideoSource(path)


def test_empty_glob_and_folder(tmp_path):
    with pytest.raises(VideoOpenError, match="matches no files"):
        VideoSource(str(tmp_path / "*.png"))
    with pytest.raises(VideoOpenError, match="no image files"):
        VideoSource(tmp_path)


def test_writer_validation_and_abort(tmp_path):
    with pytest.raises(cvtools.VideoWriteError, match="unknown video extension '.xyz'"):
        VideoWriter(tmp_path / "a.xyz", fps=10, size=(8, 8))
    with pytest.raises(ValueError, match="`fps` must be > 0"):
        VideoWriter(tmp_path / "a.avi", fps=0, size=(8, 8))
    w = VideoWriter(tmp_path / "a.avi", fps=10, size=(16, 8))
    with pytest.raises(ValueError, match="is 8x8; this writer takes 16x8"):
        w.write(np.zeros((8, 8, 3), np.uint8))
    w.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "b.avi", fps=10, size=(16, 8)) as w2:
            w2.write(np.zeros((8, 16, 3), np.uint8))
            raise RuntimeError("fail mid-way")
    assert list(tmp_path.iterdir()) == []  # no partial video left behind
