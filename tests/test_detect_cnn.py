"""The CNN detectors (YuNet `face`, `face-accurate`; YOLOX `objects`, `person`), their model files and the
common score scale of every detector."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import data

import cvtools
from cvtools.detect import ModelIntegrityError, detectors, get, model_path
from cvtools.detect._models import MODELS
from cvtools.detect._yolox import COCO_CLASSES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


# ------------------------------------------------------------------------------------------- model files
def test_model_files_are_shipped_and_checked():
    for name, digest in MODELS.items():
        path = model_path(name)
        assert os.path.isfile(path) and os.path.dirname(path).endswith(os.path.join("detect", "models"))
        assert os.path.getsize(path) > 100_000
    with open(os.path.join(os.path.dirname(model_path("yolox_nano.onnx")), "LICENSES.md")) as f:
        licences = f.read()
    for name, digest in MODELS.items():
        assert name in licences and digest in licences


def test_corrupt_or_missing_model_file_names_the_file_and_digest(tmp_path):
    src = model_path("yunet_n_640_640.onnx")
    bad = tmp_path / "yunet_n_640_640.onnx"
    with open(src, "rb") as f:
        blob = bytearray(f.read())
    blob[1000] ^= 0xFF
    bad.write_bytes(bytes(blob))
    with pytest.raises(ModelIntegrityError, match=r"yunet_n_640_640\.onnx.*expected 25a606a1") as err:
        model_path("yunet_n_640_640.onnx", directory=str(tmp_path))
    assert isinstance(err.value, OSError) and str(bad) in str(err.value)
    with pytest.raises(ModelIntegrityError, match=r"missing.*expected sha256 d39bee73"):
        model_path("yolox_nano.onnx", directory=str(tmp_path))
    shutil.copy(src, bad)  # restored: accepted again
    assert model_path("yunet_n_640_640.onnx", directory=str(tmp_path)) == str(bad)
    with pytest.raises(ValueError, match="unknown model file 'nope.onnx'; valid: yolox_nano.onnx"):
        model_path("nope.onnx")


# ------------------------------------------------------------------------------------------------- face
def _raw_yunet(bgr, model="n", score=0.02, nms=0.45, top_k=5000):
    net = cv2.FaceDetectorYN.create(model_path(f"yunet_{model}_640_640.onnx"), "", (bgr.shape[1], bgr.shape[0]),
                                    score, nms, top_k)
    _, faces = net.detect(bgr)
    return np.zeros((0, 15), np.float32) if faces is None else faces


@pytest.mark.parametrize("model", ["n", "s"])
def test_face_equals_a_raw_yunet_run(astronaut, model):
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    raw = _raw_yunet(bgr, model)
    det = get("face", threshold=0.02, iou_threshold=0.45, model=model).detect(astronaut)
    assert len(det) == len(raw) >= 1
    order = np.argsort(-raw[:, 14], kind="stable")
    raw = raw[order]
    want = np.c_[raw[:, :2], raw[:, :2] + raw[:, 2:4]]
    want[:, [0, 2]] = want[:, [0, 2]].clip(0, astronaut.shape[1])
    want[:, [1, 3]] = want[:, [1, 3]].clip(0, astronaut.shape[0])
    np.testing.assert_allclose(det.xyxy, want, atol=1e-3)
    np.testing.assert_allclose(det.scores, raw[:, 14], atol=1e-6)
    np.testing.assert_allclose(det.landmarks, raw[:, 4:14].reshape(-1, 5, 2), atol=1e-3)


def test_face_landmarks_sit_on_the_face(astronaut):
    det = get("face").detect(astronaut)
    assert len(det) == 1 and det.labels.tolist() == ["face"] and 0.6 <= det.scores[0] <= 1
    (x1, y1, x2, y2), pts = det.xyxy[0], det.landmarks[0]
    assert pts.shape == (5, 2)
    assert ((pts[:, 0] > x1) & (pts[:, 0] < x2) & (pts[:, 1] > y1) & (pts[:, 1] < y2)).all()
    r_eye, l_eye, nose, r_mouth, l_mouth = pts
    assert r_eye[0] < l_eye[0] and r_mouth[0] < l_mouth[0]      # the person's right is the image's left
    assert max(r_eye[1], l_eye[1]) < nose[1] < min(r_mouth[1], l_mouth[1])


@pytest.mark.parametrize("name", ["face", "face-accurate"])
@pytest.mark.parametrize("kind", ["gray", "rgba", "uint16", "float32", "float64"])
def test_face_any_dtype_and_channels(astronaut, name, kind):
    ref = get(name).detect(astronaut)
    img = {"gray": cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY),
           "rgba": np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)]),
           "uint16": astronaut.astype(np.uint16) * 257,
           "float32": astronaut.astype(np.float32) / 255,
           "float64": astronaut.astype(np.float64) / 255}[kind]
    det = get(name).detect(img)
    assert len(det) == 1 and len(ref) == 1
    tol = 6.0 if kind == "gray" else 0.5
    np.testing.assert_allclose(det.xyxy, ref.xyxy, atol=tol)


def test_face_boxes_are_in_input_pixels_at_any_size_and_large_images_are_capped(astronaut):
    ref = get("face").detect(astronaut)
    big = cv2.resize(astronaut, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # 1536 px
    up = get("face").detect(big)
    np.testing.assert_allclose(up.xyxy / 3, ref.xyxy, atol=4)
    capped = get("face", max_side=512).detect(big)  # runs on a 512 px copy, reports 1536 px boxes
    np.testing.assert_allclose(capped.xyxy, ref.xyxy * 3, atol=6)
    np.testing.assert_allclose(capped.landmarks, ref.landmarks * 3, atol=6)


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 2), (9, 9, 3), (16, 400, 3), (400, 12)])
@pytest.mark.parametrize("name", ["face", "face-accurate", "objects"])
def test_tiny_images_give_no_detections(shape, name):
    det = get(name).detect(np.full(shape, 200, np.uint8))
    assert len(det) == 0


def test_face_options_are_checked():
    with pytest.raises(ValueError, match=r"`threshold` must be a number in \[0.0, 1.0\]; got 1.5"):
        get("face", threshold=1.5)
    with pytest.raises(ValueError, match="model"):
        get("face", model="x")
    with pytest.raises(TypeError):
        get("face", upsample=2)


def test_face_finds_small_faces_haar_and_hog_miss(astronaut):
    # A crowd-like scene: the astronaut's face at 20 px among textured background.
    scene = np.tile(cv2.resize(astronaut, (64, 64), interpolation=cv2.INTER_AREA), (4, 6, 1))
    found = get("face").detect(scene)
    assert len(found) >= 20  # 24 copies of a ~13 px face
    assert len(get("face-haar").detect(scene)) == 0


# ---------------------------------------------------------------------------------------- face-accurate
def test_face_accurate_finds_at_least_what_face_finds(astronaut):
    scene = np.tile(cv2.resize(astronaut, (48, 48), interpolation=cv2.INTER_AREA), (3, 4, 1))
    single = get("face", threshold=0.5).detect(scene)
    tta = get("face-accurate", threshold=0.5).detect(scene)
    assert len(tta) >= len(single)
    assert tta.landmarks.shape == (len(tta), 5, 2)
    # Flip fusion keeps landmarks in the person's order.
    det = get("face-accurate").detect(astronaut)
    r_eye, l_eye = det.landmarks[0, 0], det.landmarks[0, 1]
    assert len(det) == 1 and r_eye[0] < l_eye[0]
    assert cvtools.metrics.box_iou(det.xyxy, get("face").detect(astronaut).xyxy)[0, 0] > 0.85


# ------------------------------------------------------------------------------------------- objects
def _reference_yolox(rgb, threshold, iou):
    """YOLOX's own pre/post-processing written out independently (loops over the grids, cv2's NMS)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model_path("yolox_nano.onnx"), providers=["CPUExecutionProvider"])
    bgr = rgb[:, :, ::-1]
    r = min(416 / rgb.shape[0], 416 / rgb.shape[1])
    resized = cv2.resize(bgr, (int(rgb.shape[1] * r), int(rgb.shape[0] * r)), interpolation=cv2.INTER_LINEAR)
    padded = np.ones((416, 416, 3), np.uint8) * 114
    padded[: resized.shape[0], : resized.shape[1]] = resized
    out = sess.run(None, {"images": padded.transpose(2, 0, 1)[None].astype(np.float32)})[0][0]
    rows, k = [], 0
    for stride in (8, 16, 32):
        n = 416 // stride
        for gy in range(n):
            for gx in range(n):
                o = out[k]
                k += 1
                cls = int(np.argmax(o[5:]))
                score = o[4] * o[5 + cls]
                if score < threshold:
                    continue
                cx, cy = (o[0] + gx) * stride, (o[1] + gy) * stride
                w, h = np.exp(o[2]) * stride, np.exp(o[3]) * stride
                rows.append((cx - w / 2, cy - h / 2, w, h, score, cls))
    rows = np.array(rows, np.float64)
    keep = cv2.dnn.NMSBoxesBatched(rows[:, :4].tolist(), rows[:, 4].tolist(), rows[:, 5].astype(int).tolist(),
                                   threshold, iou)
    rows = rows[np.asarray(keep).reshape(-1)]
    xyxy = np.c_[rows[:, :2], rows[:, :2] + rows[:, 2:4]] / r
    return xyxy, rows[:, 4], [COCO_CLASSES[int(c)] for c in rows[:, 5]]


def test_objects_equal_an_independent_yolox_decode():
    pytest.importorskip("onnxruntime", reason='the reference uses onnxruntime (pip install "cvtools[onnx]")')
    rgb = data.coffee()  # 400x600: a cup, a spoon, a table
    det = get("objects", threshold=0.05, iou_threshold=0.65).detect(rgb)
    xyxy, scores, labels = _reference_yolox(rgb, 0.05, 0.65)
    assert len(det) == len(scores) >= 2
    order = np.argsort(-scores, kind="stable")
    got = np.argsort(-det.scores, kind="stable")
    np.testing.assert_allclose(det.scores[got], scores[order], atol=1e-5)
    ref = xyxy[order]
    ref[:, [0, 2]] = ref[:, [0, 2]].clip(0, rgb.shape[1])
    ref[:, [1, 3]] = ref[:, [1, 3]].clip(0, rgb.shape[0])
    np.testing.assert_allclose(det.xyxy[got], ref, atol=1e-2)
    assert det.labels[got].tolist() == [labels[i] for i in order]
    assert "cup" in labels


def test_objects_onnxruntime_and_opencv_give_the_same_boxes(astronaut):
    pytest.importorskip("onnxruntime", reason='needs onnxruntime (pip install "cvtools[onnx]")')
    a = get("objects", threshold=0.05, backend="onnxruntime").detect(astronaut)
    b = get("objects", threshold=0.05, backend="opencv").detect(astronaut)
    assert get("objects", backend="opencv").backend == "opencv" and len(a) == len(b) >= 1
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-3)
    assert a.labels.tolist() == b.labels.tolist()


def test_objects_labels_classes_and_person(astronaut):
    det = get("objects").detect(astronaut)
    assert "person" in det.labels.tolist() and set(det.labels) <= set(COCO_CLASSES)
    assert ((det.scores >= 0.3) & (det.scores <= 1)).all()
    assert det.data["class_id"].tolist() == [COCO_CLASSES.index(lab) for lab in det.labels]
    only = get("objects", classes=["person", "car"]).detect(astronaut)
    assert set(only.labels) <= {"person", "car"} and len(only) >= 1
    assert get("objects", classes="person,car").classes == ("person", "car")
    person = get("person")
    assert person.name == "person" and person.classes == ("person",)
    np.testing.assert_allclose(person.detect(astronaut).xyxy, only[only.labels == "person"].xyxy)
    with pytest.raises(ValueError, match=r"unknown: \['persn'\]; valid: person, bicycle, car"):
        get("objects", classes=["persn"])
    with pytest.raises(TypeError, match="no `classes` option"):
        get("person", classes=["dog"])


def test_person_hog_keeps_the_classic_detector(astronaut):
    det = get("person-hog", min_height=160)
    assert det.name == "person-hog" and isinstance(det, cvtools.detect._misc.PersonDetector)


# --------------------------------------------------------------------------------- one score scale
@pytest.mark.parametrize("info", [d for d in detectors() if d.name not in ("template", "motion")],
                         ids=lambda d: d.name)
def test_every_detector_scores_in_unit_range(info, astronaut):
    if not info.available:
        pytest.skip(f"{info.name} is not available here: {info.why}")
    if info.name == "face-dlib-cnn":
        img = cv2.resize(astronaut, (256, 256))
    else:
        img = astronaut
    det = get(info.name).detect(img)
    assert ((det.scores >= 0) & (det.scores <= 1)).all(), (info.name, det.scores)


def test_classic_scores_keep_the_raw_value_and_order(astronaut):
    for name in ("face-haar", "person-hog"):
        det = get(name, threshold=0.0 if name == "face-haar" else 0.05).detect(astronaut)
        assert len(det) >= 1 and "raw_score" in det.data, name
        order = np.argsort(-det.scores, kind="stable")
        assert (np.diff(det.data["raw_score"][order]) <= 1e-6).all()  # monotone map


def test_registry_metadata_for_every_detector():
    infos = detectors()
    assert [d.name for d in infos][:4] == ["face", "face-accurate", "objects", "person"]
    for d in infos:
        assert d.model and d.license and d.speed in ("real time", "interactive", "slow"), d
    info = {d.name: d for d in infos}
    assert info["objects"].classes == COCO_CLASSES and info["face"].classes == ("face",)
    assert "Apache-2.0" in info["face"].license and "YOLOX" in info["objects"].model


def test_cli_list_shows_models_licences_and_speed():
    env = {**os.environ, "PYTHONPATH": ROOT}
    r = subprocess.run([sys.executable, "-m", "cvtools", "detect", "--list"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "face-accurate" in r.stdout and "80 COCO classes" in r.stdout and "Apache-2.0" in r.stdout
    r = subprocess.run([sys.executable, "-m", "cvtools", "detect", "--list", "--json", "-"], capture_output=True,
                       text=True, env=env, timeout=120)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert {row["name"] for row in rows} >= {"face", "objects", "person", "person-hog"}
    assert all({"model", "license", "speed", "classes"} <= set(row) for row in rows)
