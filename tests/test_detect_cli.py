"""`cvtools detect` end to end in real subprocesses, and the `detect` batch operation."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import cvtools


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cvtools", "detect", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=240)


def _qr(text, scale=4):
    # Made by OpenCV's encoder, which a core install has; both backends (OpenCV, zxing-cpp) read it.
    import cv2

    code = cv2.resize(cv2.QRCodeEncoder.create().encode(text), None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_NEAREST)
    return np.repeat(np.pad(code, 40, constant_values=255)[:, :, None], 3, axis=2)


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    cvtools.write(src / "a.png", _qr("alpha"))
    cvtools.write(src / "sub" / "b.png", _qr("b\u00e9ta"))
    cvtools.write(src / "blank.png", np.full((50, 60, 3), 200, np.uint8))
    (src / "broken.jpg").write_bytes(b"not a jpeg")
    return src


def test_json_lines_annotate_and_exit_code_for_a_bad_file(folder, tmp_path):
    ann = tmp_path / "ann"
    r = _cli(folder, "--detector", "qr", "--json", "-o", ann, "--workers", "2")
    assert r.returncode == 1, r.stderr  # one unreadable file
    # the failure, on stderr as `cvtools detect: PATH: message`, and as a {path, error} JSON line
    (line,) = [ln for ln in r.stderr.splitlines() if "broken.jpg" in ln]
    assert line.startswith(f"cvtools detect: {folder / 'broken.jpg'}: ") and "1 failed" in r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]  # nothing but JSON lines on stdout
    by_name = {line["path"].split("/")[-1]: line for line in lines}
    assert set(by_name) == {"a.png", "b.png", "blank.png", "broken.jpg"}
    assert set(by_name["broken.jpg"]) == {"path", "error"} and by_name["broken.jpg"]["error"]
    assert by_name["blank.png"]["detections"] == [] and by_name["blank.png"]["width"] == 60
    (rec,) = by_name["b.png"]["detections"]
    assert rec["text"] == "b\u00e9ta" and rec["label"] == "qrcode" and len(rec["box"]) == 4
    assert set(rec) <= {"box", "score", "label", "text", "format"}
    # Annotated copies mirror the input tree and keep size; the input folder is untouched.
    a = cvtools.read(ann / "sub" / "b.png")
    assert a.shape == cvtools.read(folder / "sub" / "b.png").shape
    assert not np.array_equal(a, cvtools.read(folder / "sub" / "b.png"))
    assert sorted(p.name for p in folder.rglob("*")) == ["a.png", "b.png", "blank.png", "broken.jpg", "sub"]
    # --annotate is the same option as -o; the text lines name each image (in input order)
    r = _cli(folder / "sub", "-d", "qr", "--annotate", tmp_path / "ann2", "-j", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"{folder / 'sub' / 'b.png'}\t1\tqrcode 'b\u00e9ta' 1.00"]
    assert (tmp_path / "ann2" / "b.png").is_file()


def test_quoted_globs_and_videos_with_frames(folder, tmp_path):
    r = _cli(f"{folder}/**/*.png", "-d", "qr", "--json", "-q", "-j", "0")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert sorted(json.loads(x)["path"].split("/")[-1] for x in r.stdout.splitlines()) == ["a.png", "b.png", "blank.png"]
    r = _cli(f"{tmp_path}/nothing*.png", "-d", "qr")  # a failed input, as in every command
    assert r.returncode == 1 and "no image or video matches the pattern" in r.stderr
    # a video: frames 0..5, the QR code only in frames 2 and 3; --every 2 reads frames 0, 2, 4
    video = tmp_path / "clip.avi"
    qr = _qr("frame")
    blank = np.full_like(qr, 255)
    with cvtools.io.VideoWriter(video, fps=10, size=(qr.shape[1], qr.shape[0])) as out:
        for i in range(6):
            out.write(qr if i in (2, 3) else blank)
    r = _cli(video, "-d", "qr", "--json", "-q", "--every", "2", "-o", tmp_path / "ann")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert [d["frame"] for d in recs] == [0, 2, 4] and all(d["path"] == str(video) for d in recs)
    assert [[x.get("text") for x in d["detections"]] for d in recs] == [[], ["frame"], []]
    annotated = cvtools.io.VideoSource(tmp_path / "ann" / "clip.avi")
    assert annotated.frame_count == 3 and annotated.size == (qr.shape[1], qr.shape[0])
    annotated.release()
    r = _cli(video, "-d", "qr", "--every", "0")
    assert r.returncode == 2 and "--every must be >= 1" in r.stderr


def test_stdout_json_in_process_and_all_good_exit_zero(folder):
    r = _cli(folder / "a.png", folder / "sub", "-d", "qr", "--json", "--workers", "0", "--quiet")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [d["detections"][0]["text"] for d in lines] == ["alpha", "b\u00e9ta"]
    assert r.stderr == ""


def test_usage_errors_exit_2(folder, tmp_path):
    r = _cli(folder, "-d", "faces")
    assert r.returncode == 2 and "unknown detector 'faces'; valid:" in r.stderr
    r = _cli(tmp_path / "missing", "-d", "qr")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = _cli(folder, "-d", "face-haar", "-O", "scale_factor=0.5")
    assert r.returncode == 2 and "`scale_factor` must be > 1" in r.stderr
    r = _cli(folder, "-d", "qr", "-O", "novalue")
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    r = _cli(folder, "-d", "qr", "--classifier", bad)
    assert r.returncode == 2, r.stderr
    r = _cli(folder, "-d", "qr", "--gallery", tmp_path / "nowhere")
    assert r.returncode == 2 and "--gallery" in r.stderr
    r = _cli()
    assert r.returncode == 2
    r = _cli(folder, "-d", "qr", "-o", "threshold=0.3")  # -o names the output folder; options are -O
    assert r.returncode == 2 and "-O KEY=VALUE" in r.stderr and not (folder.parent / "threshold=0.3").exists()
    r = _cli(folder, "-d", "qr", "-o", folder / "sub")
    assert r.returncode == 2 and "inside the input folder" in r.stderr


def test_list_shows_every_detector():
    r = _cli("--list")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()[1:] if line[:1].strip()]
    assert names[:5] == ["face", "face-accurate", "objects", "person", "face-haar"] and "aruco" in names


def test_options_reach_the_detector(tmp_path):
    from skimage import data

    cvtools.write(tmp_path / "astro.png", data.astronaut())
    r = _cli(tmp_path / "astro.png", "-d", "face-haar", "-O", "min_size=300", "--json", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["detections"] == []  # the face is ~100 px: min_size=300 excludes it
    r = _cli(tmp_path / "astro.png", "-d", "face", "-O", "threshold=0.5", "--json", "-q")
    assert len(json.loads(r.stdout)["detections"]) == 1


@pytest.mark.extra("face")
def test_gallery_adds_identity_and_distance(tmp_path):
    from skimage import data

    astro = data.astronaut()
    (tmp_path / "gallery" / "eileen").mkdir(parents=True)
    cvtools.write(tmp_path / "gallery" / "eileen" / "1.png", astro)
    # The probe: the same person, shifted and slightly resized.
    import cv2

    probe = cv2.resize(astro[20:, 30:], None, fx=0.9, fy=0.9)
    cvtools.write(tmp_path / "probe.png", probe)
    r = _cli(tmp_path / "probe.png", "-d", "face", "--gallery", tmp_path / "gallery", "--json", "-q")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)["detections"]
    best = max(recs, key=lambda d: d["score"])  # dlib may add weak candidates on the resized probe
    assert best["identity"] == "eileen" and 0 <= best["distance"] < 0.6
    assert all("identity" in d for d in recs)
    assert abs(best["yaw"]) < 0.5 and "aligned_by" not in best  # the pose YuNet's landmarks give; no internals
    # a box-only face detector: the gallery is described with it too; no yaw (NaN) is written, strict JSON
    r = _cli(tmp_path / "probe.png", "-d", "face-dlib-hog", "--gallery", tmp_path / "gallery", "--json", "-q")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON output"))["detections"]
    assert max(recs, key=lambda d: d["score"])["identity"] == "eileen" and not any("yaw" in d for d in recs)


def test_classifier_adds_class(tmp_path):
    from cvtools.recognize import train

    rng = np.random.default_rng(0)
    dark = [rng.integers(0, 60, (16, 16), dtype=np.uint8) for _ in range(4)]
    bars = [np.tile(np.array([0, 255] * 8, np.uint8), (16, 1)) for _ in range(4)]
    clf = train((dark + bars, ["dark"] * 4 + ["bars"] * 4), image_size=16, val_split=0)
    model = clf.save(tmp_path / "model.npz")
    scene = np.full((40, 60), 255, np.uint8)
    scene[10:26, 10:26] = dark[0]
    cvtools.write(tmp_path / "scene.png", scene)
    r = _cli(tmp_path / "scene.png", "-d", "blob", "-O", "threshold=0.5", "-O", "invert=true",
             "--classifier", model, "--json", "-q")
    assert r.returncode == 0, r.stderr
    (rec,) = json.loads(r.stdout)["detections"]
    assert rec["box"] == [10, 10, 26, 26]
    assert rec["class"] == "dark" and 0.5 <= rec["class_score"] <= 1


def test_detect_batch_op_draws_boxes():
    from skimage import data

    from cvtools.batch import Pipeline, get_op

    op = get_op("detect")
    assert [p.name for p in op.params][:2] == ["detector", "min_size"]
    img = data.astronaut()
    out = Pipeline.parse("detect:detector=face-haar")(img)
    assert out.shape == img.shape and out.dtype == img.dtype
    changed = np.any(out != img, axis=2)
    ys, xs = np.nonzero(changed)
    # Drawing happens around the face only (box and caption).
    assert 120 < xs.mean() < 320 and 40 < ys.mean() < 220


def test_detect_batch_op_rejects_unknown_detector_at_parse_time():
    from cvtools.batch import Pipeline, PipelineError

    with pytest.raises(PipelineError, match="`detector` must be one of 'face'"):
        Pipeline.parse("detect:detector=nope")



def test_detect_batch_op_knows_every_registered_detector_and_min_size_filters_the_cnns():
    from skimage import data

    from cvtools.batch import Pipeline, PipelineError, get_op
    from cvtools.detect import detectors

    (param,) = [p for p in get_op("detect").params if p.name == "detector"]
    assert set(param.choices) == {d.name for d in detectors()} - {"motion", "template"}
    for name in ("face-accurate", "objects", "person-hog"):
        Pipeline.parse(f"detect:detector={name}")
    with pytest.raises(PipelineError, match="`detector` must be one of"):
        Pipeline.parse("detect:detector=motion")  # keeps state across frames
    img = data.astronaut()
    # YuNet has no min_size option: narrower detections are dropped instead (its face is ~90 px wide)
    assert np.array_equal(Pipeline.parse("detect:detector=face,min_size=300")(img), img)
    assert not np.array_equal(Pipeline.parse("detect:detector=face,min_size=50")(img), img)
    # the cascades take it as their own option (and look for nothing smaller)
    assert np.array_equal(Pipeline.parse("detect:detector=face-haar,min_size=300")(img), img)
