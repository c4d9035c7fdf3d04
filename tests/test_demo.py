"""cvtools.demo in-process: tracker, capture thread, overlay, MJPEG server, run loop with a fake camera."""
from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import tracemalloc
import urllib.parse
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvtools._shared import VideoOpenError
from cvtools.demo import (
    FrameGrabber,
    IoUTracker,
    MJPEGServer,
    box_iou,
    draw_overlay,
    find_sample_video,
    run_demo,
    sample_frames,
)
from cvtools.detect import Detections
from cvtools.io import VideoSource


# --------------------------------------------------------------------------------------------- fakes
class FakeCamera:
    """cv2.VideoCapture's interface over synthetic frames: frame i has i encoded in its top-left pixels."""

    def __init__(self, n=10_000, size=(64, 48), fps=100.0, frames=None):
        self.n, self.size, self.fps, self.frames = n, size, fps, frames
        self.i = 0
        self.released = False
        self.reads = 0

    def isOpened(self):
        return not self.released

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: self.size[0], cv2.CAP_PROP_FRAME_HEIGHT: self.size[1],
                cv2.CAP_PROP_FPS: self.fps}.get(prop, 0.0)

    def read(self):
        if self.released or self.i >= self.n:
            return False, None
        time.sleep(1.0 / self.fps)
        if self.frames is not None:
            frame = self.frames[self.i % len(self.frames)][..., ::-1].copy()  # BGR like OpenCV
        else:
            frame = np.zeros((self.size[1], self.size[0], 3), np.uint8)
            frame[0, 0] = (7, (self.i // 256) % 256, self.i % 256)  # BGR order: red (last) = low byte
        self.i += 1
        self.reads += 1
        return True, frame

    def release(self):
        self.released = True


class BoxDetector:
    """A fake detector: one 'face' box that moves 2 px per call; optionally slow or failing."""

    name = "fake"

    def __init__(self, delay=0.0, fail_at=None):
        self.delay, self.fail_at, self.calls = delay, fail_at, 0

    def detect(self, image):
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise RuntimeError("detector exploded")
        time.sleep(self.delay)
        x = 4 + 2 * self.calls
        return Detections([[x, 8, x + 20, 30]], scores=[0.9], labels=["face"])


class NameGallery:
    """A fake gallery: names a box 'left' or 'right' from its centre; counts calls."""

    def __init__(self):
        self.calls = 0

    def identify(self, image, detections):
        self.calls += 1
        cx = detections.centers[:, 0] if len(detections) else np.zeros(0)
        names = ["left" if c < image.shape[1] / 2 else "right" for c in cx]
        return detections.with_fields(identities=names, distances=np.full(len(names), 0.3, np.float32))


# --------------------------------------------------------------------------------------------- tracker
def test_box_iou_matches_a_direct_computation(rng):
    a = rng.uniform(0, 50, (7, 2))
    a = np.hstack([a, a + rng.uniform(1, 30, (7, 2))]).astype(np.float32)
    b = rng.uniform(0, 50, (5, 2))
    b = np.hstack([b, b + rng.uniform(1, 30, (5, 2))]).astype(np.float32)
    got = box_iou(a, b)
    for i in range(7):
        for j in range(5):
            w = max(0.0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
            h = max(0.0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
            inter = w * h
            union = (a[i, 2] - a[i, 0]) * (a[i, 3] - a[i, 1]) + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - inter
            assert got[i, j] == pytest.approx(inter / union, abs=1e-5)
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 5)


def test_tracker_keeps_identities_across_frames():
    tracker = IoUTracker(iou_threshold=0.3, max_misses=1)
    boxes = np.array([[10, 10, 50, 50], [100, 10, 140, 50]], np.float32)
    tracks = tracker.update(boxes, ["face", "face"], frame_index=0)
    ids = [t.track_id for t in tracks]
    assert len(set(ids)) == 2
    tracks[0].add_identity("ada", 0.4, 0)
    tracks[1].add_identity("grace", 0.5, 0)
    # The two faces move 4 px per frame and come back in the other order: identities follow the boxes.
    for f in range(1, 8):
        moved = boxes + np.array([4 * f, 2 * f, 4 * f, 2 * f], np.float32)
        tracks = tracker.update(moved[::-1], ["face", "face"], frame_index=f)
        assert [t.track_id for t in tracks] == ids[::-1]
        assert [t.identity for t in tracks] == ["grace", "ada"]
    # An unknown answer later does not erase the name.
    tracks[0].add_identity("unknown", 0.9, 8)
    assert tracks[0].identity == "grace"
    # A box far away starts a new track; the label must match too.
    new = tracker.update(np.array([[300, 300, 340, 340], [100 + 28, 10 + 14, 140 + 28, 50 + 14]]), ["face", "cat"], 8)
    assert all(t.track_id not in ids for t in new) and len({t.track_id for t in new}) == 2
    # After max_misses runs without them, the old tracks are gone.
    tracker.update(np.zeros((0, 4)), [], 9)
    tracker.update(np.zeros((0, 4)), [], 10)
    assert tracker.tracks == []


def test_tracker_carries_boxes_with_velocity_between_detections():
    tracker = IoUTracker(smoothing=1.0)
    tracker.update([[0, 0, 20, 20]], ["face"], frame_index=0)
    tracker.update([[6, 3, 26, 23]], ["face"], frame_index=3)  # 2 px/frame right, 1 down
    (t,) = tracker.predict(5)
    np.testing.assert_allclose(t.box, [10, 5, 30, 25], atol=1e-4)
    # A missed detection freezes the box instead of extrapolating it away.
    tracker.update(np.zeros((0, 4)), [], 6)
    frozen = tracker.tracks[0].box.copy()
    np.testing.assert_allclose(tracker.predict(9)[0].box, frozen)
    # A box that only grows (the detector's pyramid level changed) does not keep growing.
    tracker = IoUTracker(smoothing=1.0)
    tracker.update([[10, 10, 30, 30]], ["face"], frame_index=0)
    tracker.update([[8, 8, 32, 32]], ["face"], frame_index=1)
    np.testing.assert_allclose(tracker.predict(5)[0].box, [8, 8, 32, 32])


def test_tracker_rejects_bad_arguments():
    with pytest.raises(ValueError, match="iou_threshold"):
        IoUTracker(iou_threshold=0)
    with pytest.raises(ValueError, match="labels"):
        IoUTracker().update([[0, 0, 1, 1]], [], 0)


# --------------------------------------------------------------------------------------------- capture
def test_grabber_keeps_only_the_newest_frame_when_processing_is_slow():
    cam = FakeCamera(fps=200.0)
    video = VideoSource(cam)
    seen = []
    with FrameGrabber(video, drop_stale=True) as grab:
        for _ in range(6):
            index, frame = grab.read(timeout=5)
            # The index is encoded in the frame itself (RGB now: red = low byte): no mix-ups.
            assert int(frame[0, 0, 0]) == index % 256
            seen.append(index)
            time.sleep(0.05)  # a slow consumer: ~10 camera frames per processed frame
        lag = cam.reads - 1 - seen[-1]
    assert grab.dropped > 10
    assert all(b - a > 2 for a, b in zip(seen[1:], seen[2:])), seen  # stale frames were skipped
    assert lag <= 12  # what we process is close to what the camera just gave
    assert cam.released


def test_grabber_without_dropping_delivers_every_frame_in_order():
    cam = FakeCamera(n=25, fps=1000.0)
    with FrameGrabber(VideoSource(cam), drop_stale=False, queue_size=3) as grab:
        got = []
        while (item := grab.read(timeout=5)) is not None:
            got.append(item[0])
            assert len(grab._frames) <= 3  # bounded read-ahead
    assert got == list(range(25)) and grab.dropped == 0


def test_grabber_passes_reader_errors_to_the_consumer():
    class Broken(FakeCamera):
        def read(self):
            raise OSError("camera unplugged")

    with FrameGrabber(VideoSource(Broken()), drop_stale=True) as grab:
        with pytest.raises(OSError, match="unplugged"):
            grab.read(timeout=5)


# --------------------------------------------------------------------------------------------- overlay
def test_overlay_draws_track_colours_in_rgb_without_touching_the_input():
    img = np.full((120, 160, 3), 40, np.uint8)
    before = img.copy()
    out = draw_overlay(img, [{"box": [20, 30, 80, 100], "label": "face", "track": 0, "identity": "ada",
                              "distance": 0.41}], status="FPS 25.0 | face 12 ms")
    np.testing.assert_array_equal(img, before)
    # Track 0 is Okabe-Ito orange (230, 159, 0) in RGB: the box's left edge carries it.
    edge = out[60, 19:22].astype(int)
    assert (np.abs(edge - [230, 159, 0]).sum(axis=1) < 60).any(), edge
    assert out[2:12, 2:60].min(axis=2).max() > 200  # the status text is drawn in white on a dark bar


# --------------------------------------------------------------------------------------------- server
def _read_mjpeg_parts(url, count, timeout=10):
    """The first ``count`` JPEG parts of a multipart MJPEG stream, parsed from the raw bytes."""
    resp = urllib.request.urlopen(url, timeout=timeout)
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/x-mixed-replace")
    boundary = ctype.split("boundary=")[1].encode()
    parts, buf = [], b""
    while len(parts) < count:
        chunk = resp.read1(65536)
        assert chunk, "stream ended early"
        buf += chunk
        while True:
            start = buf.find(b"--" + boundary)
            head_end = buf.find(b"\r\n\r\n", start)
            if start < 0 or head_end < 0:
                break
            headers = dict(line.split(": ", 1) for line in buf[start:head_end].decode().split("\r\n")[1:])
            length = int(headers["Content-Length"])
            if len(buf) < head_end + 4 + length:
                break
            assert headers["Content-Type"] == "image/jpeg"
            parts.append(buf[head_end + 4:head_end + 4 + length])
            buf = buf[head_end + 4 + length:]
    resp.close()
    return parts


def _token(url) -> str:
    """The control token the page at ``url`` carries (as the page's own script reads it)."""
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    return re.search(r'<meta name="cvtools-token" content="([^"]+)">', page).group(1)


def _control(url, key, token=None, headers=None):
    """Press a button the way the page does: POST /control with the run's token."""
    req = urllib.request.Request(url + "control", data=urllib.parse.urlencode({"key": key}).encode(),
                                 headers={"X-CVTools-Token": token or _token(url), **(headers or {})},
                                 method="POST")
    return urllib.request.urlopen(req, timeout=10).read()


def _raw(server, method, path, headers=(), body=None):
    """(status, headers, body) of one request with exactly the given headers (http.client adds no Host)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read() if path != "/stream.mjpg" or resp.status != 200 else resp.read(200)
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


def test_mjpeg_server_streams_jpeg_frames_and_stats():
    frames = [np.full((48, 64, 3), (200, 30, 30), np.uint8), np.full((48, 64, 3), (30, 200, 30), np.uint8)]
    with MJPEGServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        stop = threading.Event()

        def publish():
            i = 0
            while not stop.is_set():
                server.publish(frames[i % 2], {"frame": i, "fps": 10.0, "detections": []})
                i += 1
                time.sleep(0.02)

        t = threading.Thread(target=publish, daemon=True)
        t.start()
        try:
            page = urllib.request.urlopen(server.url, timeout=10).read().decode()
            assert "stream.mjpg" in page and "stats.json" in page
            parts = _read_mjpeg_parts(server.url + "stream.mjpg", 4)
            colours = set()
            for data in parts:
                img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
                assert img.shape == (48, 64, 3)
                colours.add(int(np.argmax(img.reshape(-1, 3).mean(0))))  # red or green, in RGB order
            assert colours <= {0, 1} and colours
            stats = json.loads(urllib.request.urlopen(server.url + "stats.json", timeout=10).read())
            assert stats["fps"] == 10.0 and "detections" in stats
            _control(server.url, "space")
            assert server.poll_control() == "space"
            with pytest.raises(urllib.error.HTTPError, match="400"):
                _control(server.url, "x")
        finally:
            stop.set()
            t.join()


# --------------------------------------------------------------------------------------------- run loop
def test_run_demo_on_a_fake_camera_drops_stale_frames_and_releases_it():
    cam = FakeCamera(fps=100.0)
    det = BoxDetector(delay=0.08)  # detector much slower than the camera
    summary = run_demo(cam, detector=det, view="none", max_frames=8, every=1)
    assert cam.released
    assert summary.frames == 8 and summary.stopped_by == "max-frames"
    assert summary.dropped > 8  # the camera ran on; only the newest frames were processed
    assert summary.detections == {"face": 8} and summary.source.startswith("capture")


def test_run_demo_names_tracks_once_and_keeps_the_name(tmp_path):
    cam = FakeCamera(n=40, fps=500.0, size=(64, 48))
    gallery = NameGallery()
    items_per_frame = []
    summary = run_demo(cam, detector=BoxDetector(), gallery=gallery, view="none", every=4, reidentify=1000,
                       realtime=False, output=tmp_path / "out.avi",
                       on_frame=lambda i, frame, items: items_per_frame.append(items))
    assert gallery.calls == 1  # one track, asked once
    assert summary.identities == {"left": 1} and summary.named_share == 1.0
    assert all(len(items) == 1 and items[0]["identity"] == "left" for items in items_per_frame)
    assert [items[0]["stale"] for items in items_per_frame[:4]] == [False, True, True, True]
    assert VideoSource(tmp_path / "out.avi").frame_count == summary.frames


def test_run_demo_releases_camera_and_closes_the_writer_on_errors(tmp_path):
    cam = FakeCamera(fps=500.0)
    out = tmp_path / "partial.avi"
    with pytest.raises(RuntimeError, match="exploded"):
        run_demo(cam, detector=BoxDetector(fail_at=3), view="none", every=1, output=out)
    assert cam.released
    assert VideoSource(out).frame_count == 2  # what was recorded before the error is kept, playable


def test_run_demo_stops_from_another_thread_and_memory_stays_flat():
    cam = FakeCamera(fps=2000.0, size=(320, 240))
    stop = threading.Event()
    mem = {}

    def on_frame(i, frame, items):
        if len(mem) == 0 and i >= 50:
            mem[50] = tracemalloc.get_traced_memory()[0]
        if i >= 600:
            mem[600] = tracemalloc.get_traced_memory()[0]
            stop.set()

    tracemalloc.start()
    try:
        summary = run_demo(cam, detector=BoxDetector(), view="none", every=3, on_frame=on_frame, stop=stop)
    finally:
        tracemalloc.stop()
    assert summary.stopped_by == "stop" and cam.released
    # 550 more frames of 320x240x3 would be 127 MB if any were kept; allow 2 MB of noise.
    assert mem[600] - mem[50] < 2_000_000, mem


def test_run_demo_rejects_bad_options_before_opening_the_camera():
    cam = FakeCamera()
    with pytest.raises(ValueError, match="every"):
        run_demo(cam, detector=BoxDetector(), every=0)
    with pytest.raises(ValueError, match="scale"):
        run_demo(cam, detector=BoxDetector(), scale=1.5)
    with pytest.raises(ValueError, match="unknown view"):
        run_demo(cam, detector=BoxDetector(), view="tv")
    assert not cam.released and cam.reads == 0


def test_scale_maps_boxes_back_to_full_resolution():
    seen = []

    class Recorder(BoxDetector):
        def detect(self, image):
            seen.append(image.shape)
            return Detections([[10, 5, 20, 15]], labels=["face"])  # in the downscaled frame

    items = []
    run_demo(FakeCamera(n=1, size=(64, 48)), detector=Recorder(), scale=0.5, view="none",
             on_frame=lambda i, f, it: items.extend(it))
    assert seen == [(24, 32, 3)]
    assert items[0]["box"] == [20.0, 10.0, 40.0, 30.0]


def test_missing_camera_index_is_a_clear_error():
    with pytest.raises(VideoOpenError, match=r"camera 99.*--source PATH"):
        run_demo(99, detector=BoxDetector(), view="none")


# --------------------------------------------------------------------------------------------- sample
@pytest.mark.extra("face", "viz")  # dlib is the reference; sample_frames() uses matplotlib's sample photo
def test_sample_video_is_small_and_shows_two_faces():
    dlib = pytest.importorskip("dlib")
    path = find_sample_video(create=False)
    assert path.stat().st_size < 1_000_000
    video = VideoSource(path)
    assert 100 <= video.frame_count <= 200 and video.size == (480, 360)
    finder = dlib.get_frontal_face_detector()  # an independent reference, not cvtools.detect
    counts = [len(finder(frame, 0)) for i, frame in enumerate(video) if i % 20 == 0]
    assert min(counts) == 2, counts
    # The generator is deterministic: the first frame matches the committed video's (up to compression).
    first = next(sample_frames())
    assert np.abs(first.astype(int) - VideoSource(path).read().astype(int)).mean() < 4


# --------------------------------------------------------------------------------------------- classifier, style
def test_classifier_labels_each_new_track_once(tmp_path, rng):
    from cvtools.recognize import train

    dark = [rng.integers(0, 60, (16, 16), dtype=np.uint8) for _ in range(4)]
    stripes = np.tile(np.array([0] * 4 + [255] * 4, np.uint8), (16, 8))  # vertical bars, 8 px period
    bars = [np.roll(stripes, k, axis=1)[:, :16] for k in range(4)]
    model = train((dark + bars, ["dark"] * 4 + ["bars"] * 4), image_size=16, val_split=0).save(tmp_path / "clf")
    frame = rng.integers(0, 60, (48, 64, 3), dtype=np.uint8)
    frame[8:30] = stripes[:1, :64, None]  # bars where the fake detector's box falls
    items = []
    summary = run_demo(FakeCamera(n=6, frames=[frame]), detector=BoxDetector(), classifier=model, view="none",
                       every=2, on_frame=lambda i, f, it: items.append(it))
    assert summary.frames == 6
    assert [it[0]["class"] for it in items] == ["bars"] * 6
    items.clear()
    run_demo(FakeCamera(n=2, frames=[rng.integers(0, 60, (48, 64, 3), dtype=np.uint8)]), detector=BoxDetector(),
             classifier=model, view="none", on_frame=lambda i, f, it: items.append(it))
    assert [it[0]["class"] for it in items] == ["dark"] * 2


@pytest.mark.extra("style")
def test_style_is_applied_to_the_shown_frames():
    pytest.importorskip("onnxruntime")
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, 32:] = 200
    plain, styled = [], []
    run_demo(FakeCamera(n=2, frames=[frame]), detector=BoxDetector(), view="none",
             on_frame=lambda i, f, it: plain.append(f))
    run_demo(FakeCamera(n=2, frames=[frame]), detector=BoxDetector(), view="none", style=3,
             on_frame=lambda i, f, it: styled.append(f))
    assert styled[0].shape == plain[0].shape
    assert np.abs(styled[0].astype(int) - plain[0].astype(int)).mean() > 10


def test_browser_keys_pause_snapshot_switch_detector_and_quit(tmp_path):
    info, events = {}, []
    started = threading.Event()

    def on_start(i):
        info.update(i)
        started.set()

    def press():
        started.wait(30)
        url = info["url"]

        token = _token(url)

        def key(k):
            _control(url, k, token)
            time.sleep(0.4)

        def frame():
            return json.loads(urllib.request.urlopen(url + "stats.json", timeout=10).read())["frame"]

        key("space")
        frame_paused = frame()
        time.sleep(0.5)
        events.append(frame_paused == frame())
        key("space")
        key("s")
        key("d")
        key("q")

    t = threading.Thread(target=press, daemon=True)
    t.start()
    cam = FakeCamera(fps=50.0)
    summary = run_demo(cam, detector=BoxDetector(), view="browser", snapshot_dir=tmp_path, on_start=on_start)
    t.join(30)
    assert events == [True]  # no new frame while paused
    assert summary.stopped_by == "quit" and cam.released
    assert len(summary.snapshots) == 1 and cv2.imread(summary.snapshots[0]) is not None
    assert summary.detector.startswith("fake -> ")  # `d` moved on to the next available detector
    with pytest.raises(OSError):  # the server is gone
        urllib.request.urlopen(info["url"], timeout=5)


def test_auto_view_picks_the_window_only_when_one_can_open(monkeypatch):
    import cvtools.demo._run as run_mod

    monkeypatch.setattr(run_mod.sys, "platform", "linux")
    monkeypatch.setattr(run_mod, "gui_backend", lambda: None)  # headless OpenCV
    monkeypatch.setenv("DISPLAY", ":0")
    assert run_mod.resolve_view("auto") == "browser"
    with pytest.raises(ValueError, match="no GUI backend.*--view browser"):
        run_mod.resolve_view("window")
    monkeypatch.setattr(run_mod, "gui_backend", lambda: "GTK3")
    assert run_mod.resolve_view("auto") == "window"
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert run_mod.resolve_view("auto") == "browser"
    with pytest.raises(ValueError, match="no display"):
        run_mod.resolve_view("window")
    assert run_mod.resolve_view("none") == "none"


def test_window_view_keys_with_a_stand_in_for_opencv_highgui(monkeypatch, tmp_path):
    """The window code path, with cv2.imshow/waitKey replaced (this OpenCV build has no GUI)."""
    import cvtools.demo._run as run_mod

    shown, keys = [], iter([-1, ord("s"), -1, ord(" "), ord(" "), ord("d"), -1, ord("q")])
    monkeypatch.setattr(run_mod, "window_available", lambda: (True, ""))
    monkeypatch.setattr(cv2, "imshow", lambda title, image: shown.append(image.copy()))
    monkeypatch.setattr(cv2, "waitKey", lambda delay=0: next(keys, -1))
    destroyed = []
    monkeypatch.setattr(cv2, "destroyWindow", lambda title: destroyed.append(title))
    cam = FakeCamera(fps=200.0)
    annotated = []
    summary = run_demo(cam, detector=BoxDetector(), view="window", snapshot_dir=tmp_path,
                       on_frame=lambda i, f, it: annotated.append(f))
    assert summary.view == "window" and summary.stopped_by == "quit" and cam.released
    assert destroyed == [run_mod.WINDOW_TITLE]
    # imshow gets each annotated frame in OpenCV's BGR order (the only swap, at the boundary).
    assert len(shown) == len(annotated) == summary.frames
    np.testing.assert_array_equal(shown[0], annotated[0][..., ::-1])
    assert len(summary.snapshots) == 1 and (tmp_path / Path(summary.snapshots[0]).name).is_file()
    assert "->" in summary.detector


def test_window_view_reports_a_gui_that_cannot_open_a_window(monkeypatch):
    import cvtools.demo._run as run_mod

    def broken(title, image):
        raise cv2.error("OpenCV(4.14.0) window.cpp:1301: error: (-2:Unspecified error) The function is not "
                        "implemented. Rebuild the library with Windows, GTK+ 2.x or Cocoa support.")

    monkeypatch.setattr(run_mod, "window_available", lambda: (True, ""))
    monkeypatch.setattr(cv2, "imshow", broken)
    cam = FakeCamera(fps=200.0)
    with pytest.raises(VideoOpenError, match="cannot open an OpenCV window.*--view browser"):
        run_demo(cam, detector=BoxDetector(), view="window")
    assert cam.released


def test_image_glob_of_mixed_sizes_is_recorded_at_the_first_size(tmp_path):
    from cvtools.io import write

    for i, (h, w) in enumerate([(48, 64), (60, 80), (48, 64)]):
        write(tmp_path / f"f{i}.png", np.full((h, w, 3), 60 * i, np.uint8))
    summary = run_demo(str(tmp_path / "f*.png"), detector=BoxDetector(), view="none", output=tmp_path / "o.avi")
    out = VideoSource(tmp_path / "o.avi")
    assert summary.frames == 3 and out.frame_count == 3 and out.size == (64, 48)


def test_a_port_in_use_is_a_clear_error():
    with MJPEGServer() as first:
        with pytest.raises(ValueError, match=rf"127.0.0.1:{first.port}.*--port"):
            MJPEGServer(port=first.port)


def test_tracker_does_not_count_a_miss_for_a_box_the_run_could_not_see():
    tracker = IoUTracker(max_misses=1)
    tracker.update([[0, 0, 20, 20], [50, 50, 150, 150]], ["face", "face"], frame_index=0)
    for k in range(1, 5):  # runs that only look for faces of 40 px and more
        tracker.update(np.zeros((0, 4)), [], k, unseen_below=40)
    # The 20 px face is still tracked (it was never looked for); the 100 px one was missed and dropped.
    assert [t.track_id for t in tracker.tracks] == [1]
    assert tracker.tracks[0].misses == 0
    tracker.update(np.zeros((0, 4)), [], 5)  # a full sweep that does not see it: now a miss
    tracker.update(np.zeros((0, 4)), [], 6)
    assert tracker.tracks == []
    # A small track missed by a rare sweep is dropped at once (its next chance is many frames away).
    tracker = IoUTracker(max_misses=2)
    tracker.update([[0, 0, 20, 20], [50, 50, 150, 150]], ["face", "face"], frame_index=0)
    tracker.update(np.zeros((0, 4)), [], 12, drop_below=40)
    assert [t.track_id for t in tracker.tracks] == [2] and tracker.tracks[0].misses == 1


def test_demo_runs_yunet_by_default_at_the_frames_own_size(monkeypatch):
    """The default detector is YuNet (`face`), built without size options: it finds faces from ~10 px as is."""
    import cvtools.detect

    real_get, built, sizes = cvtools.detect.get, [], []

    def recording_get(name, **options):
        det = real_get(name, **options)
        built.append((name, options, type(det).__name__))

        class Recorder:
            def detect(self, image):
                sizes.append(image.shape)
                return det.detect(image)

        return Recorder()

    monkeypatch.setattr(cvtools.detect, "get", recording_get)
    summary = run_demo(find_sample_video(), view="none", every=1, max_frames=4)
    assert built == [("face", {}, "YuNetFaceDetector")]
    assert sizes == [(360, 480, 3)] * 4 and summary.detector == "face"
    assert summary.detections.get("face", 0) >= 7  # the sample's two portraits, on (almost) every run
    with pytest.raises(TypeError, match="sweep"):
        run_demo(find_sample_video(), sweep=4)
    with pytest.raises(TypeError, match="min_face"):
        run_demo(find_sample_video(), min_face=24)


def test_face_and_cycle_detectors_come_from_the_registry():
    from cvtools.demo import cycle_detectors, face_detectors
    from cvtools.detect import detectors

    info = {d.name: d for d in detectors()}
    assert set(face_detectors()) == {n for n, d in info.items() if d.classes == ("face",)}
    assert {"face", "face-accurate", "face-haar", "face-dlib-hog"} <= set(face_detectors())
    assert "objects" not in face_detectors() and "eyes" not in face_detectors()
    cycle = cycle_detectors()
    assert cycle[0] == "face" and {"objects", "face-haar", "qr"} <= set(cycle)
    assert all(info[n].speed == "real time" and info[n].available for n in cycle)
    assert not {"face-accurate", "face-dlib-cnn", "template"} & set(cycle)  # not real time


def test_only_faces_are_named_and_a_gallery_folder_uses_the_demos_face_detector(monkeypatch, tmp_path):
    class FaceAndEye(BoxDetector):
        def detect(self, image):
            self.calls += 1
            return Detections([[4, 8, 24, 30], [40, 8, 50, 14]], labels=["face", "eye"])

    class LabelGallery(NameGallery):
        def identify(self, image, detections):
            self.labels = getattr(self, "labels", []) + list(detections.labels)
            return super().identify(image, detections)

    gallery = LabelGallery()
    summary = run_demo(FakeCamera(n=6, fps=500.0), detector=FaceAndEye(), gallery=gallery, view="none", every=1,
                       realtime=False)
    assert set(gallery.labels) == {"face"} and summary.identities == {"left": 1}
    # a gallery folder is described with the face detector the demo runs (one face pipeline)
    import cvtools.demo._run as run_mod

    seen = {}
    monkeypatch.setattr(run_mod, "load_gallery", lambda path, **options: seen.update(options) or NameGallery())
    run_demo(FakeCamera(n=1), detector="face-haar", gallery=tmp_path, view="none")
    assert seen["detector"].name == "face-haar"
    seen.clear()
    run_demo(FakeCamera(n=1), detector="qr", gallery=tmp_path, view="none")
    assert "detector" not in seen  # not a face detector: the gallery keeps its default (face)


def test_web_view_answers_only_requests_addressed_to_this_machine():
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 sends Host: evil.example."""
    with MJPEGServer() as server:
        server.publish(np.zeros((8, 8, 3), np.uint8), {"frame": 1, "source": "/home/me/secret.mp4"})
        port = server.port
        for path in ("/", "/stats.json", "/frame.jpg", "/stream.mjpg"):
            for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}", "", "[::1"):
                status, _, body = _raw(server, "GET", path, [("Host", host)] if host else [])
                assert status == 403 and b"secret" not in body, (path, host, status)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}", "127.0.0.1",
                     "localhost:8080"):  # any port: a port forward (ssh -L 8080:...) changes it
            status, _, body = _raw(server, "GET", "/stats.json", [("Host", host)])
            assert status == 200 and json.loads(body)["frame"] == 1, host
        status, headers, _ = _raw(server, "GET", "/", [("Host", f"127.0.0.1:{port}")])
        assert status == 200 and headers["X-Frame-Options"] == "DENY"  # no clickjacking of the buttons
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_controls_are_posts_with_the_page_token_from_this_origin():
    with MJPEGServer() as server:
        host = f"127.0.0.1:{server.port}"
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        token = _token(server.url)
        assert token == server.token and len(token) >= 20 and 'method: "POST"' in page
        form = b"key=q"
        refused = [
            ("GET", "/control?key=q", [("Host", host)], None, 405),                   # a link, an <img>
            ("POST", "/control", [("Host", host)], form, 403),                          # no token
            ("POST", "/control", [("Host", host), ("X-CVTools-Token", "guess")], form, 403),
            ("POST", "/control", [("Host", host)], b"key=q&token=guess", 403),
            ("POST", "/control", [("Host", host), ("X-CVTools-Token", token),           # another page
              ("Origin", "http://evil.example")], form, 403),
            ("POST", "/control", [("Host", host), ("X-CVTools-Token", token), ("Origin", "null")], form, 403),
            ("POST", "/control", [("Host", f"evil.example:{server.port}"), ("X-CVTools-Token", token)], form, 403),
            ("POST", "/control", [("Host", host), ("X-CVTools-Token", token)], b"k" * 5000, 413),
        ]
        for method, path, headers, body, expected in refused:
            status, _, _ = _raw(server, method, path, headers, body)
            assert status == expected, (method, path, headers, status)
        assert server.poll_control() is None  # nothing got through
        for headers, body, key in [([("X-CVTools-Token", token), ("Origin", f"http://{host}")], b"key=s", "s"),
                                   ([], f"key=d&token={token}".encode(), "d")]:
            status, _, _ = _raw(server, "POST", "/control", [("Host", host), *headers], body)
            assert status == 200 and server.poll_control() == key
    with MJPEGServer() as other:  # a token belongs to one run
        status, _, _ = _raw(other, "POST", "/control", [("Host", f"127.0.0.1:{other.port}"),
                                                        ("X-CVTools-Token", token)], b"key=q")
        assert status == 403


def test_idle_connections_are_closed():
    with MJPEGServer(timeout=0.5) as server:
        for sent in (b"", b"GET /stats.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"):  # silent; a request never finished
            with socket.create_connection((server.host, server.port), timeout=10) as sock:
                sock.sendall(sent)
                t0 = time.perf_counter()
                try:
                    while sock.recv(4096):
                        pass
                except socket.timeout:
                    pytest.fail(f"the server kept a connection open for 10 s after {sent!r}")
                assert time.perf_counter() - t0 < 5
        assert _raw(server, "GET", "/stats.json", [("Host", "127.0.0.1")])[0] == 200  # still serving


def test_snapshots_per_run_are_capped(tmp_path, monkeypatch):
    import cvtools.demo._run as run_mod

    monkeypatch.setattr(run_mod, "MAX_SNAPSHOTS", 3)
    info, started, log = {}, threading.Event(), []

    def on_start(i):
        info.update(i)
        started.set()

    def press():
        started.wait(30)
        token = _token(info["url"])
        _control(info["url"], "space", token)  # paused: every `s` snapshots the same frame
        for _ in range(8):
            _control(info["url"], "s", token)
            time.sleep(0.05)
        time.sleep(0.5)
        _control(info["url"], "q", token)

    t = threading.Thread(target=press, daemon=True)
    t.start()
    summary = run_demo(FakeCamera(fps=50.0), detector=BoxDetector(), view="browser", snapshot_dir=tmp_path,
                       on_start=on_start, log=log.append)
    t.join(30)
    assert summary.stopped_by == "quit"
    assert len(summary.snapshots) == 3 and len(list(tmp_path.glob("*.png"))) <= 3
    assert sum("at most 3 per run" in line for line in log) == 1


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="needs Node.js to run the page's script")
def test_page_buttons_send_the_token_in_a_post():
    """The page's own script, run by Node against the live server: its buttons must still work."""
    with MJPEGServer() as server:
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
        token = re.search(r'<meta name="cvtools-token" content="([^"]+)">', page).group(1)
        harness = f"""
const base = {json.dumps(server.url)};
const realFetch = globalThis.fetch;
globalThis.fetch = (url, opts) => realFetch(new URL(url, base), opts);
const el = () => ({{textContent: "", replaceChildren() {{}}, append() {{}}, prepend() {{}}, style: {{}}}});
globalThis.document = {{
  querySelector: (sel) => (sel === 'meta[name="cvtools-token"]' ? {{content: {json.dumps(token)}}} : null),
  getElementById: el, createElement: el,
}};
globalThis.setTimeout = () => 0;
{script}
key("space");
key("d");
"""
        res = subprocess.run([NODE, "-"], input=harness, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        deadline = time.monotonic() + 10
        keys = []
        while len(keys) < 2 and time.monotonic() < deadline:
            k = server.poll_control()
            if k is None:
                time.sleep(0.05)
            else:
                keys.append(k)
        assert sorted(keys) == ["d", "space"]


def test_a_scene_cut_starts_new_tracks_so_names_do_not_pass_to_the_next_shot():
    """A face box where someone else was before a cut must be asked about again, not inherit the name."""
    dark, bright = np.full((48, 64, 3), 20, np.uint8), np.full((48, 64, 3), 200, np.uint8)
    bright[::4] = 120  # another picture, not just another exposure
    gallery, tracks = NameGallery(), []
    cam = FakeCamera(n=10, fps=500.0, frames=[dark] * 5 + [bright] * 5)
    summary = run_demo(cam, detector=BoxDetector(), gallery=gallery, view="none", every=4, reidentify=1000,
                       realtime=False, on_frame=lambda i, f, items: tracks.append((i, items[0]["track"])))
    assert summary.scene_cuts == 1 and "1 scene cuts" in summary.format()
    # (a camera: frames may be dropped) every frame before the cut shows track 1, every one after it track 2
    assert {t for i, t in tracks if i < 5} == {1} and {t for i, t in tracks if i >= 5} == {2}
    assert gallery.calls == 2  # the new track was asked about: the detector ran at the cut
    steady = run_demo(FakeCamera(n=10, fps=500.0, frames=[dark] * 10), detector=BoxDetector(), gallery=NameGallery(),
                      view="none", every=4, realtime=False)
    assert steady.scene_cuts == 0 and steady.tracks == {"face": 1}


def test_an_unknown_face_is_null_in_the_json_forms_and_unknown_on_screen():
    from cvtools.demo import label_text

    class NobodyGallery(NameGallery):
        def identify(self, image, detections):
            self.calls += 1
            return detections.with_fields(identities=[None] * len(detections),
                                          distances=np.full(len(detections), 0.81, np.float32))

    items, frames = [], []
    summary = run_demo(FakeCamera(n=4, fps=500.0), detector=BoxDetector(), gallery=NobodyGallery(), view="none",
                       every=2, realtime=False, on_frame=lambda i, f, it: (items.append(it), frames.append(f)))
    assert all(it[0]["identity"] is None and it[0]["distance"] == 0.81 for it in items)
    assert summary.identities == {"unknown": 1} and summary.named_share == 0.0  # the Python form keeps the word
    as_json = json.loads(json.dumps(summary.to_dict()))
    assert as_json["identities"] == {} and as_json["identity_boxes"] == {}
    assert as_json["unknown_tracks"] == 1 and as_json["unknown_boxes"] == summary.frames
    assert "unknown" not in json.dumps(items) and label_text(items[0][0]) == "#1 face: unknown (0.81)"
    # a box the gallery was not asked about has no identity key at all
    plain = []
    run_demo(FakeCamera(n=1), detector=BoxDetector(), view="none", on_frame=lambda i, f, it: plain.extend(it))
    assert "identity" not in plain[0] and "distance" not in plain[0]


def test_demo_items_are_documented_dataclasses():
    import dataclasses

    from cvtools.demo import DemoBox, DemoFrame, DemoSummary

    assert all(dataclasses.is_dataclass(cls) for cls in (DemoBox, DemoFrame, DemoSummary))
    for cls in (DemoBox, DemoFrame):  # every field is described
        assert all(f"{f.name} :" in cls.__doc__ for f in dataclasses.fields(cls)), cls
    box = DemoBox(2, "face", [1.0, 2.0, 3.0, 4.0], 0.5, stale=True, identified=True, identity="ada",
                  distance=0.4, class_label="smile")
    assert box.to_dict() == {"track": 2, "label": "face", "score": 0.5, "box": [1.0, 2.0, 3.0, 4.0], "stale": True,
                             "identity": "ada", "distance": 0.4, "class": "smile"}


def test_opencv_log_level_is_restored_after_a_failed_open():
    level = cv2.utils.logging.getLogLevel()
    with pytest.raises(VideoOpenError, match="camera 98"):
        run_demo(98, detector=BoxDetector(), view="none")
    assert cv2.utils.logging.getLogLevel() == level


def test_bad_options_are_usage_errors():
    from cvtools._shared import UsageError

    for kwargs in ({"every": 0}, {"scale": 2.0}, {"max_frames": 0}, {"view": "tv"}, {"threshold": -1}):
        with pytest.raises(UsageError):
            run_demo(FakeCamera(), detector=BoxDetector(), **kwargs)
