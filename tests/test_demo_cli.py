"""`cvtools demo` end to end: real subprocesses, the real face detector, a real HTTP client and browser."""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvtools.demo import sample_frames
from cvtools.io import VideoSource, VideoWriter

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)


def _env():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)  # headless, as in CI, whatever the developer's session has
    env.pop("WAYLAND_DISPLAY", None)
    return env


def cvtools_demo(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "cvtools", "demo", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=_env())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s of the sample's two faces (40 frames at 20 fps), written by the test (needs the viz extra)."""
    path = tmp_path_factory.mktemp("clip") / "faces.mp4"
    with VideoWriter(path, fps=20, size=(480, 360)) as out:
        for frame in sample_frames(seconds=2.0):
            out.write(frame)
    return path


def _reference_faces(frame):
    dlib = pytest.importorskip("dlib")
    finder = _reference_faces.__dict__.setdefault("finder", dlib.get_frontal_face_detector())
    return [(r.left(), r.top(), r.right(), r.bottom()) for r in finder(frame, 0)]


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def _edge_hits(diff, box, band=3):
    """Share of the four sides of ``box`` along which the annotated frame differs from the input."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    sides = (diff[max(0, y1 - band):y1 + band + 1, x1:x2].any(axis=0),
             diff[max(0, y2 - band):y2 + band + 1, x1:x2].any(axis=0),
             diff[y1:y2, max(0, x1 - band):x1 + band + 1].any(axis=1),
             diff[y1:y2, max(0, x2 - band):x2 + band + 1].any(axis=1))
    return float(np.mean([s.mean() for s in sides]))


@pytest.mark.extra("viz", "face")
def test_records_an_annotated_video_with_boxes_where_the_faces_are(clip, tmp_path):
    out, tracks = tmp_path / "annotated.mp4", tmp_path / "tracks.jsonl"
    res = cvtools_demo("--source", clip, "--detector", "face", "--view", "none", "--output", out,
                       "--tracks", tracks, "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["frames"] == 40 and summary["stopped_by"] == "end"
    assert summary["detections"]["face"] >= 2 * summary["detector_runs"] - 1
    assert summary["tracks"] == {"face": 2}  # two faces, each tracked across the whole clip
    assert summary["output"] == str(out)
    records = [json.loads(line) for line in tracks.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(40))
    src, ann = VideoSource(clip), VideoSource(out)
    assert ann.frame_count == 40 and ann.size == (480, 360)
    for i, (a, b) in enumerate(zip(src, ann)):
        boxes = [d["box"] for d in records[i]["boxes"]]
        if i % 3 == 1:  # detector frames and carried frames alike
            # Boxes where an independent detector (dlib, called directly) finds the two faces.
            faces = _reference_faces(a)
            assert len(faces) == 2 and len(boxes) == 2
            assert all(max(_iou(f, bx) for bx in boxes) > 0.5 for f in faces), (i, faces, boxes)
        if i % 7 == 0:
            # ... and drawn into the video there (overlay, not codec noise), and nowhere else.
            diff = np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 60
            assert all(_edge_hits(diff, bx) > 0.7 for bx in boxes), i
            mask = np.zeros_like(diff)
            for x1, y1, x2, y2 in (np.array(boxes) + [-12, -40, 12, 12]).astype(int).clip(0):
                mask[y1:y2, x1:x2] = True
            mask[:30, :300] = True  # the status bar
            assert diff[~mask].mean() < 0.002


def test_missing_camera_is_a_clear_error_with_exit_code_2():
    res = cvtools_demo("--source", "99", "--view", "none", "--max-frames", "1", timeout=60)
    assert res.returncode == 2
    assert "camera 99" in res.stderr and "--source PATH" in res.stderr
    assert "Traceback" not in res.stderr


def test_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    res = cvtools_demo("--source", bad, "--view", "none", "--max-frames", "1", timeout=60)
    assert res.returncode == 2 and "not a video OpenCV can decode" in res.stderr
    res = cvtools_demo("--source", tmp_path / "missing.mp4", "--view", "none", timeout=60)
    assert res.returncode == 2 and "no such file" in res.stderr


@pytest.mark.skipif(any(Path("/dev").glob("video*")), reason="this machine has a camera")
def test_without_a_camera_it_runs_on_the_bundled_sample():
    res = cvtools_demo("--view", "none", "--max-frames", "6", "--json", timeout=60)
    assert res.returncode == 0, res.stderr
    assert "bundled sample" in res.stderr and "--source" in res.stderr
    summary = json.loads(res.stdout)
    assert summary["source"] == "sample faces.mp4" and summary["frames"] == 6


def test_window_view_without_a_gui_says_why_instead_of_crashing():
    res = cvtools_demo("--source", "99", "--view", "window", timeout=60)
    assert res.returncode == 2
    assert "--view browser" in res.stderr and "Traceback" not in res.stderr
    assert "no GUI backend" in res.stderr or "no display" in res.stderr


class _Demo:
    """`cvtools demo --view browser` in the background; its stderr is read line by line."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "cvtools", "demo", *map(str, args)], cwd=REPO,
                                     env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []

        def pump():
            for line in self.proc.stderr:
                self.stderr.append(line)
                self.lines.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def url(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.stderr)
                continue
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if m:
                return m.group(1)
        raise AssertionError("no URL printed: " + "".join(self.stderr))

    def finish(self, timeout=60):
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.extra("viz")
def test_browser_view_serves_a_page_an_mjpeg_stream_and_detections(clip, tmp_path):
    from test_demo import _read_mjpeg_parts

    demo = _Demo("--source", clip, "--detector", "face", "--view", "browser", "--loop", "--max-frames", "2000",
                 "--json")
    try:
        url = demo.url()
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert "<img" in page and "stream.mjpg" in page and "stats.json" in page
        parts = _read_mjpeg_parts(url + "stream.mjpg", 3, timeout=30)
        for data in parts:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            assert img is not None and img.shape == (360, 480, 3)
        deadline = time.time() + 30
        while True:  # the detector's first run may take a moment on a busy machine
            stats = json.loads(urllib.request.urlopen(url + "stats.json", timeout=30).read())
            if len(stats["detections"]) == 2 or time.time() > deadline:
                break
            time.sleep(0.3)
        assert [d["label"] for d in stats["detections"]] == ["face", "face"]
        assert stats["fps"] > 0 and stats["detector"] == "face"
        from test_demo import _control

        _control(url, "q")
        code, out = demo.finish()
    finally:
        demo.kill()
    assert code == 0, "".join(demo.stderr)
    summary = json.loads(out)
    assert summary["stopped_by"] == "quit" and summary["url"] == url


@pytest.mark.extra("viz")
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (/usr/bin/chromium)")
def test_headless_chromium_renders_the_stream_in_the_page(clip, tmp_path):
    demo = _Demo("--source", clip, "--detector", "face", "--view", "browser", "--loop", "--json")
    try:
        url = demo.url()
        shot = tmp_path / "page.png"
        res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                              "--no-first-run", "--disable-background-networking", "--disable-component-update",
                              "--disable-sync", f"--user-data-dir={tmp_path / 'chrome'}", "--hide-scrollbars",
                              "--virtual-time-budget=3000", f"--screenshot={shot}", "--window-size=1000,560",
                              url], capture_output=True, text=True, timeout=90)
        img = cv2.imread(str(shot))
        assert img is not None, res.stderr[-2000:]
        assert img.shape[:2] == (560, 1000)
        # The video area (left, below the header) holds the stream: the portraits' colours, not the page's
        # flat dark background.
        video = img[60:380, 14:494]
        assert video.std() > 25
        demo.proc.send_signal(signal.SIGINT)
        code, out = demo.finish()
    finally:
        demo.kill()
    assert code == 130
    assert json.loads(out)["stopped_by"] == "interrupt"


@pytest.mark.extra("viz")
def test_sigterm_releases_everything_and_keeps_the_recording(clip, tmp_path):
    out = tmp_path / "rec.avi"
    demo = _Demo("--source", clip, "--view", "browser", "--loop", "--output", out, "--json")
    try:
        url = demo.url()
        deadline = time.time() + 60
        while json.loads(urllib.request.urlopen(url + "stats.json", timeout=30).read())["frame"] < 10:
            assert time.time() < deadline
            time.sleep(0.2)
        demo.proc.send_signal(signal.SIGTERM)  # as Docker/systemd stop it; Ctrl+C (SIGINT) below
        code, stdout = demo.finish()
    finally:
        demo.kill()
    assert code == 130, "".join(demo.stderr)
    summary = json.loads(stdout)
    assert summary["stopped_by"] == "interrupt" and summary["frames"] >= 10
    assert VideoSource(out).frame_count == summary["frames"]
    assert not list(tmp_path.glob(".rec.*"))  # no temporary file left behind


@pytest.mark.extra("viz", "face")
def test_gallery_names_both_faces_of_the_clip(clip, tmp_path):
    """A flat gallery folder (<name>.png, as in ../shared/data) built from the sample's two source photos."""
    import skimage.data

    from cvtools.demo._sample import _grace_hopper
    from cvtools.io import write

    gallery = tmp_path / "gallery"
    gallery.mkdir()
    write(gallery / "eileen-collins.png", skimage.data.astronaut())
    write(gallery / "grace-hopper.jpg", _grace_hopper())
    res = cvtools_demo("--source", clip, "--gallery", gallery, "--view", "none", "--json", timeout=180)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["identities"] == {"eileen-collins": 1, "grace-hopper": 1}
    assert summary["named_share"] == 1.0 and summary["identity_boxes"]["eileen-collins"] == 40
    # The flat folder is read in place: nothing is moved, at most the hidden embedding cache is added.
    assert {p.name for p in gallery.iterdir()} <= {"eileen-collins.png", "grace-hopper.jpg", ".cvtools-cache"}


def test_small_face_options_are_gone_with_the_hog_detector():
    """--min-face/--sweep resized frames for dlib's HOG window; YuNet finds ~10 px faces at the frame's size."""
    for option in ("--min-face", "--sweep"):
        res = cvtools_demo("--source", "99", "--view", "none", option, "4", timeout=60)
        assert res.returncode == 2 and f"unrecognized arguments: {option} 4" in res.stderr
    res = subprocess.run([sys.executable, "-m", "cvtools", "demo", "--help"], capture_output=True, text=True,
                         timeout=60, cwd=REPO, env=_env())
    assert res.returncode == 0 and "YuNet" in res.stdout and "--min-face" not in res.stdout


def test_opencv_log_lines_do_not_reach_the_terminal(tmp_path):
    """A missing camera or a broken file is reported by cvtools alone: no `[ WARN:0@...] cap_v4l...` lines."""
    res = cvtools_demo("--source", "99", "--view", "none", "--max-frames", "1", timeout=60)
    assert res.returncode == 2
    assert "cvtools demo: error: cannot open camera 99" in res.stderr
    assert "[ WARN" not in res.stderr and "[ERROR" not in res.stderr and "VIDEOIO" not in res.stderr, res.stderr
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 100)
    res = cvtools_demo("--source", bad, "--view", "none", "--max-frames", "1", timeout=60)
    assert res.returncode == 2 and "not a video OpenCV can decode" in res.stderr
    # every line is cvtools' own (FFmpeg's "moov atom not found" included)
    assert all(line.startswith("cvtools demo: ") for line in res.stderr.splitlines()), res.stderr


def _sample() -> Path:
    from cvtools.demo import find_sample_video

    return find_sample_video(create=False)


def test_json_is_one_line_after_the_per_frame_lines_and_quiet_prints_nothing(tmp_path):
    res = cvtools_demo("--source", _sample(), "--view", "none", "--max-frames", "4", "--tracks", "-", "--json",
                       "-q", timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 5 and res.stderr == ""
    frames, summary = [json.loads(line) for line in lines[:4]], json.loads(lines[4])
    assert [f["frame"] for f in frames] == [0, 1, 2, 3]
    assert all(set(b) == {"track", "label", "score", "box", "stale"} for f in frames for b in f["boxes"])
    assert summary["frames"] == 4 and summary["stopped_by"] == "max-frames"
    assert summary["source"] == str(_sample()) and summary["identities"] == {} and summary["unknown_boxes"] == 0
    # -q alone: neither the text summary nor progress messages; without -q the summary is on stdout
    res = cvtools_demo("--source", _sample(), "--view", "none", "--max-frames", "2", "-q", timeout=120)
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    res = cvtools_demo("--source", _sample(), "--view", "none", "--max-frames", "2", timeout=120)
    assert res.returncode == 0 and "frames processed: 2" in res.stdout and "running on" in res.stderr


def test_builtin_styles_are_named_as_cvtools_style_names_them():
    from cvtools.demo._run import _Style

    assert _Style("7").style == 7 and _Style(" 3:0.5, 12:0.5 ").style == "3:0.5, 12:0.5"
    for bad in ("x", "a:0.5", "starry.jpg", " "):
        res = cvtools_demo("--source", "99", "--builtin", bad, timeout=60)
        assert res.returncode == 2 and "not a built-in style" in res.stderr and "3:0.5,12:0.5" in res.stderr
    res = cvtools_demo("--source", "99", "--builtin", "3", "--style", "a.jpg", timeout=60)
    assert res.returncode == 2 and "not allowed with argument" in res.stderr
    help_ = subprocess.run([sys.executable, "-m", "cvtools", "demo", "--help"], capture_output=True, text=True,
                           timeout=60, cwd=REPO, env=_env()).stdout
    style_help = subprocess.run([sys.executable, "-m", "cvtools", "style", "--help"], capture_output=True,
                                text=True, timeout=60, cwd=REPO, env=_env()).stdout
    assert "--builtin K" in help_ and "--builtin K" in style_help and "'3:0.5,12:0.5'" in style_help
