"""cvtools.detect: the registry, every detector on images the tests make (and on real pictures)."""
from __future__ import annotations

import numpy as np
import pytest

import cvtools
from cvtools.detect import Detections, get


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return data.astronaut()  # 512x512 RGB, one frontal face around (170-250, 80-190)


ASTRONAUT_FACE = (165.0, 80.0, 260.0, 190.0)  # generous box around Eileen Collins' face


def test_registry_lists_everything_with_availability():
    info = {d.name: d for d in cvtools.detect.detectors()}
    expected = {"face", "face-accurate", "objects", "person", "person-hog", "face-haar", "face-dlib-hog",
                "face-dlib-cnn", "eyes", "smile", "upper-body",
                "full-body", "cat-face", "plate", "qr", "barcode", "aruco", "motion", "blob", "template"}
    assert expected <= set(info)
    for d in info.values():
        assert d.available == (d.why == ""), d
        assert d.description
    # dlib (the face extra) is reported as available exactly when it is installed.
    import importlib.util

    dlib_installed = importlib.util.find_spec("dlib") is not None
    assert info["face-dlib-hog"].available == dlib_installed and info["face-dlib-hog"].extra == "face"


def test_unknown_detector_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown detector 'faces'; valid: .*face-haar.*qr"):
        get("faces")


@pytest.mark.parametrize("name, opts, match", [
    ("face-haar", {"scale_factor": 1.0}, "`scale_factor` must be > 1"),
    ("face-haar", {"min_size": -3}, "`min_size` must be a positive number"),
    ("face-dlib-hog", {"upsample": 0}, "`upsample` must be > 0"),
    ("qr", {"backend": "zbar"}, "unknown backend 'zbar'"),
    pytest.param("qr", {"formats": ("NotAFormat",)}, "unknown code format", marks=pytest.mark.extra("codes")),
    ("qr", {"retry": "sometimes"}, "`retry` must be True, False or 'full'"),
    ("aruco", {"dictionary": "DICT_9X9_1"}, "unknown ArUco dictionary 'DICT_9X9_1'; valid: .*DICT_4X4_50"),
    ("aruco", {"parameters": {"nope": 1}}, "unknown ArUco parameter 'nope'"),
    ("motion", {"method": "vibe"}, "unknown motion method 'vibe'"),
    ("blob", {"lower": (0, 0, 0)}, "`lower` and `upper` must be given together"),
    ("template", {}, "`template` is required"),
    ("person-hog", {"scale": 0.9}, "`scale` must be > 1"),
    ("person-hog", {"threshold": -0.5}, r"`threshold` must be a number in \[0.0, 1.0\]"),
    ("face-dlib-hog", {"threshold": 2}, r"`threshold` must be a number in \[0.0, 1.0\]"),
])
def test_option_errors(name, opts, match):
    with pytest.raises(ValueError, match=match):
        get(name, **opts)


def test_unknown_option_names_the_detector_the_option_and_the_valid_ones():
    with pytest.raises(TypeError, match=r"detector 'face-haar' has no `sacle_factor` option \(did you mean "
                                        r"`scale_factor`\?\); valid options: cascade, label, scale_factor, "):
        get("face-haar", sacle_factor=1.1)
    with pytest.raises(TypeError, match=r"detector 'qr' has no `a`, `b` options; valid options: formats, backend"):
        get("qr", a=1, b=2)
    # the options a class passes up to its base (dlib's detectors), and those of a factory wrapping a class
    with pytest.raises(TypeError, match=r"'face-dlib-hog' has no `min_neighbors` option; valid options: min_size, "
                                        r"upsample, threshold, max_pixels\."):
        get("face-dlib-hog", min_neighbors=3)
    with pytest.raises(TypeError, match=r"'person' has no `classes` option; valid options: threshold, iou_threshold"):
        get("person", classes=["dog"])
    with pytest.raises(TypeError, match=r"'aruco' has no `threshold` option; valid options: dictionary, "):
        get("aruco", threshold=0.5)


def test_every_detector_declares_its_options():
    """No factory hides its options behind **kwargs: get() can name the valid ones for each detector."""
    import inspect

    from cvtools.detect._base import _DETECTORS, _keyword_params

    for name, spec in _DETECTORS.items():
        params = _keyword_params(spec.factory)
        assert params is not None, name
        assert [p.name for p in params] == list(inspect.signature(spec.factory).parameters) or \
            isinstance(spec.factory, type), name


@pytest.mark.parametrize("name", ["face", "face-haar", pytest.param("face-dlib-hog", marks=pytest.mark.extra("face"))])
def test_face_detectors_find_the_astronaut(astronaut, name):
    det = get(name).detect(astronaut)
    assert len(det) >= 1
    assert set(det.labels.tolist()) == {"face"}
    x1, y1, x2, y2 = ASTRONAUT_FACE
    c = det.centers
    inside = (c[:, 0] > x1) & (c[:, 0] < x2) & (c[:, 1] > y1) & (c[:, 1] < y2)
    assert inside.sum() == 1, det.xyxy


def test_face_boxes_follow_input_scale_and_dtype(astronaut):
    import cv2

    det = get("face")
    # dlib may add weak candidates (score < 0.2) on the suit; one confident face.
    base = det.detect(astronaut).sort()
    assert (base.scores > 0.5).sum() == 1
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    half = det.detect(small).sort()
    assert (half.scores > 0.5).sum() == 1
    # Same face, boxes in each input's own pixels (within dlib's 1-cell jitter).
    np.testing.assert_allclose(half.xyxy[0] * 2, base.xyxy[0], atol=12)
    # uint16, float, gray and RGBA inputs are converted, not rejected, and give the same face.
    for img in (astronaut.astype(np.uint16) * 257, astronaut.astype(np.float32) / 255,
                cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY),
                np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])):
        other = det.detect(img).sort()
        assert len(other) >= 1  # gray loses colour cues: dlib may add a weak extra candidate
        np.testing.assert_allclose(other.xyxy[0], base.xyxy[0], atol=12)
        # uint16/float/RGBA hold the same pixels, so the same score; gray drops colour gradients.
        assert other.scores[0] == pytest.approx(base.scores[0], abs=0.2 if img.ndim == 2 else 1e-3)


@pytest.mark.extra("face")
def test_min_size_sets_the_resize_factor():
    d = get("face-dlib-hog", min_size=36)
    assert d.factor((480, 640)) == pytest.approx(2.0)
    assert get("face-dlib-hog").factor((480, 640)) == pytest.approx(72 / 48)
    assert get("face-dlib-hog").factor((375, 500)) == pytest.approx(72 / 37.5)
    assert get("face-dlib-hog").factor((1000, 1000)) == pytest.approx(72 / 48)
    assert get("face-dlib-hog").factor((3000, 4000)) == pytest.approx((16e6 / 12e6) ** 0.5)  # pixel cap
    assert get("face-dlib-hog", min_size=48).factor((3000, 4000)) == pytest.approx(1.5)  # explicit: no cap
    assert get("face-dlib-hog").factor((200, 300)) == pytest.approx(72 / 32)
    assert get("face-dlib-hog", upsample=1.25).factor((10, 10)) == 1.25


@pytest.mark.parametrize("name", ["face", "face-haar", "eyes", "smile", "person", "upper-body", "full-body",
                                  "cat-face", "plate", "qr", pytest.param("barcode", marks=pytest.mark.extra("codes")),
                                  "aruco"])
def test_blank_images_give_no_detections(name):
    blank = np.full((240, 320, 3), 128, np.uint8)
    d = get(name).detect(blank)
    assert isinstance(d, Detections) and len(d) == 0, name


def test_eyes_inside_the_face(astronaut):
    eyes = get("eyes").detect(astronaut)
    face = get("face-haar").detect(astronaut)
    assert len(eyes) >= 1
    fx1, fy1, fx2, fy2 = face.xyxy[0]
    c = eyes.centers
    assert ((c[:, 0] > fx1) & (c[:, 0] < fx2) & (c[:, 1] > fy1) & (c[:, 1] < fy2)).all()


def _qr_image(text, scale=4, border=40, fmt="QRCode"):
    zxingcpp = pytest.importorskip("zxingcpp")
    code = np.asarray(zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt)).to_image(scale=scale))
    img = np.full((code.shape[0] + 2 * border, code.shape[1] + 3 * border), 255, np.uint8)
    img[border:border + code.shape[0], 2 * border:2 * border + code.shape[1]] = code
    ys, xs = np.nonzero(img < 128)  # the symbol itself, without zxing's quiet zone
    return img, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


@pytest.mark.extra("codes")
@pytest.mark.parametrize("backend", ["zxing", "opencv"])
def test_qr_decodes_text_and_locates_code(backend):
    text = "https://example.org/\u00e9t\u00e9?a=1"
    img, box = _qr_image(text)
    rgb = np.repeat(img[:, :, None], 3, axis=2)
    d = get("qr", backend=backend).detect(rgb)
    assert len(d) == 1
    assert d.texts.tolist() == [text]
    assert d.labels[0] == "qrcode"
    np.testing.assert_allclose(d.xyxy[0], box, atol=6)
    assert d.polygons[0].shape == (4, 2)


@pytest.mark.extra("codes")
def test_qr_retry_rescues_small_modules_and_maps_boxes_back():
    # Modules of 1.2 px: the first zxing pass fails, a retry (up-scaled copy) decodes it, and the
    # box must still be in the input's pixels.
    import cv2

    zxingcpp = pytest.importorskip("zxingcpp")
    big = np.asarray(zxingcpp.create_barcode("cvtools retry", zxingcpp.BarcodeFormat.QRCode).to_image(scale=4))
    img = cv2.resize(big, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(img < 128)
    assert len(get("qr", retry=False).detect(img)) == 0
    d = get("qr").detect(img)
    assert d.texts.tolist() == ["cvtools retry"]
    np.testing.assert_allclose(d.xyxy[0], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=2)


@pytest.mark.extra("codes")
def test_barcode_ean13_and_non_qr():
    img, box = _qr_image("9780201379624", scale=3, fmt="EAN13")
    d = get("barcode").detect(img)
    assert d.texts.tolist() == ["9780201379624"] and d.labels.tolist() == ["ean13"]
    assert len(get("qr").detect(img)) == 0
    qr_img, _ = _qr_image("not a barcode")
    assert len(get("barcode").detect(qr_img)) == 0


def test_decode_bytes_never_raises():
    from cvtools.detect._codes import decode_bytes

    assert decode_bytes("\u963f".encode()) == "\u963f"
    assert decode_bytes(bytes(range(128, 256))) == bytes(range(128, 256)).decode("latin-1")


def _aruco_scene(ids, dictionary="DICT_4X4_50", side=60):
    import cv2

    d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
    img = np.full((200, 120 + 100 * len(ids)), 255, np.uint8)
    corners = {}
    for k, i in enumerate(ids):
        m = cv2.aruco.generateImageMarker(d, i, side)
        x, y = 40 + 100 * k, 60
        img[y:y + side, x:x + side] = m
        corners[i] = np.array([[x, y], [x + side - 1, y], [x + side - 1, y + side - 1], [x, y + side - 1]], float)
    return img, corners


def test_aruco_ids_and_corners():
    img, corners = _aruco_scene([3, 17, 42])
    d = get("aruco", dictionary="4x4_50").detect(img)
    assert sorted(d.identities.tolist()) == [3, 17, 42]
    for i, quad in zip(d.identities, d.polygons):
        np.testing.assert_allclose(quad, corners[i], atol=1.0)
    np.testing.assert_array_equal(d.landmarks, np.stack(d.polygons))
    # Another dictionary does not see them.
    assert len(get("aruco", dictionary="DICT_6X6_250").detect(img)) == 0


def test_aruco_custom_dictionary_yaml(tmp_path):
    import cv2

    d = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_5X5_50)
    lines = ["%YAML:1.0", "nmarkers: 3", "markersize: 5"]
    for i in range(3):
        bits = cv2.aruco.Dictionary.getBitsFromByteList(d.bytesList[i:i + 1], 5)
        lines.append(f'marker_{i}: "{"".join(str(int(b)) for b in bits.reshape(-1))}"')
    path = tmp_path / "custom.yml"
    path.write_text("\n".join(lines) + "\n")
    img, _ = _aruco_scene([1, 2], dictionary="DICT_5X5_50")
    det = get("aruco", dictionary=str(path))
    assert sorted(det.detect(img).identities.tolist()) == [1, 2]
    bad = tmp_path / "bad.yml"
    bad.write_text("%YAML:1.0\nfoo: 1\n")
    with pytest.raises(ValueError, match="not an OpenCV ArUco dictionary"):
        get("aruco", dictionary=str(bad))


def test_motion_finds_the_moving_square():
    det = get("motion", history=20)
    rng = np.random.default_rng(0)
    bg = rng.integers(90, 110, (120, 420, 3)).astype(np.uint8)
    found = []
    for t in range(12):  # moves by more than its width each frame, so no part of it looks static
        frame = bg.copy()
        x = 10 + 32 * t
        frame[40:70, x:x + 30] = (250, 30, 30)
        found.append(det.detect(frame))
    assert len(found[0]) == 0  # warm-up frame
    last = found[-1]
    assert len(last) == 1
    np.testing.assert_allclose(last.xyxy[0], [10 + 352, 40, 10 + 352 + 30, 70], atol=4)
    with pytest.raises(ValueError, match="call reset"):
        det.detect(bg[:60])
    det.reset()
    assert len(det.detect(bg[:60])) == 0


def test_blob_colour_range_and_threshold():
    img = np.zeros((100, 150, 3), np.uint8)
    img[10:30, 20:60] = (255, 0, 0)
    img[50:90, 100:140] = (0, 0, 255)
    red = get("blob", lower=(0, 0.5, 0.5), upper=(20, 1, 1), color_space="hsv").detect(img)
    assert red.xyxy.tolist() == [[20, 10, 60, 30]]
    assert red.data["area"].tolist() == [800]
    rgb = get("blob", lower=(0, 0, 200), upper=(50, 50, 255)).detect(img)
    assert rgb.xyxy.tolist() == [[100, 50, 140, 90]]
    both = get("blob").detect(img.astype(np.float32) / 255)  # Otsu on gray
    assert len(both) == 2
    dark = get("blob", threshold=0.5, invert=True, min_area=1000).detect(img[:, :, 0])
    assert len(dark) == 1 and dark.xyxy.tolist() == [[0, 0, 150, 100]]


def test_template_multiscale_and_nms(astronaut):
    import cv2

    patch = astronaut[100:160, 180:240]
    d = get("template", template=patch, threshold=0.9).detect(astronaut)
    assert len(d) == 1
    np.testing.assert_allclose(d.xyxy[0], [180, 100, 240, 160], atol=2)
    big = cv2.resize(astronaut, None, fx=1.5, fy=1.5)
    d2 = get("template", template=patch, threshold=0.8, scales=(0.75, 1.0, 1.5)).detect(big)
    np.testing.assert_allclose(d2.xyxy[0], [270, 150, 360, 240], atol=3)
    assert d2.scores[0] > 0.95 and (np.diff(d2.scores) <= 0).all()


def test_person_detector_on_a_drawn_scene():
    from skimage import data

    d = get("person-hog", min_height=160).detect(data.astronaut())
    assert isinstance(d, Detections)  # runs and maps scales; the astronaut is not a pedestrian
    assert (d.xyxy[:, 2] <= 512 + 1).all()


@pytest.mark.slow
@pytest.mark.extra("face")
def test_dlib_cnn_finds_the_astronaut(astronaut):
    import cv2

    d = get("face-dlib-cnn", upsample=1.5).detect(cv2.resize(astronaut, (256, 256)))
    assert len(d) == 1
    c = d.centers[0] * 2
    x1, y1, x2, y2 = ASTRONAUT_FACE
    assert x1 < c[0] < x2 and y1 < c[1] < y2


# ------------------------------------------------------------------------------- real data
def test_face_recall_on_dlib_pascal_faces(shared_data):
    import csv
    import collections

    from cvtools.metrics import match_detections

    folder = shared_data / "face_detection" / "dlib_pascal_faces"
    gt = collections.defaultdict(list)
    with open(folder / "boxes.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        x, y, w, h = (float(r[k]) for k in "xywh")
        gt[r["file"]].append([x, y, x + w, y + h])
    dogs = cvtools.read(shared_data / "face_detection" / "negatives_no_human_face" / "dogs.jpg")
    # Default threshold: every face, at most one extra box; YuNet scores the two dog faces 0.81-0.87.
    # At 0.9 (OpenCV Zoo's default) nothing on the dogs and still >= 41 of 43 faces.
    for threshold, min_tp, max_fp, max_dogs in ((0.7, 43, 1, 2), (0.9, 41, 0, 0)):
        det = get("face", threshold=threshold)
        tp = fp = 0
        for f, boxes in gt.items():
            m = match_detections(det.detect(cvtools.read(folder / f)), boxes, iou_threshold=0.3)
            tp, fp = tp + m.n_tp, fp + m.n_fp
        assert tp >= min_tp and fp <= max_fp, (threshold, tp, fp)
        assert len(det.detect(dogs)) <= max_dogs


def test_aruco_ground_truth(shared_data):
    import json

    folder = shared_data / "codes" / "aruco_opencv_contrib"
    gt = json.loads((folder / "ground_truth.json").read_text())
    g = gt["can_find_gboriginal"]
    d = get("aruco", dictionary=folder / "tutorial_dict.yml").detect(cvtools.read(folder / g["image"]))
    want = {m["id"]: np.asarray(m["corners_xy"], float) for m in g["markers"]}
    assert sorted(d.identities.tolist()) == sorted(want)
    for i, quad in zip(d.identities, d.polygons):
        assert np.abs(quad - want[i]).max() <= 1.0


def _qr_samples(shared_data, qr):
    """(QR images with an expected text, how many ``qr`` decodes exactly); nothing on the no-code images."""
    import csv

    from cvtools.detect._codes import decode_bytes

    base = shared_data / "codes" / "zxing_cpp_samples"
    with open(shared_data / "codes" / "zxing_manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ok = n = 0
    for r in rows:
        if r["format_folder"] == "qrcode" and r["expected_text_file"]:
            n += 1
            exp = decode_bytes((base / r["expected_text_file"]).read_bytes())
            d = qr.detect(cvtools.read(base / r["image"]))
            ok += exp in (d.texts.tolist() if len(d) else [])
        elif r["expect_no_code"]:
            assert len(qr.detect(cvtools.read(base / r["image"]))) == 0, r["image"]
    return n, ok


@pytest.mark.extra("codes")
def test_qr_samples_and_false_positives(shared_data):
    n, ok = _qr_samples(shared_data, get("qr"))
    assert n == 137 and ok >= 126, ok


def test_qr_opencv_backend_decodes_a_code_opencv_made():
    # The core install (no zxing-cpp) reads QR codes with OpenCV; `auto` picks it when zxing-cpp is absent.
    import cv2

    code = cv2.QRCodeEncoder.create().encode("https://example.org/cvtools")
    img = np.pad(cv2.resize(code, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST), 40, constant_values=255)
    ys, xs = np.nonzero(img < 128)
    d = get("qr", backend="opencv").detect(np.repeat(img[:, :, None], 3, axis=2))
    assert d.texts.tolist() == ["https://example.org/cvtools"] and d.labels.tolist() == ["qrcode"]
    np.testing.assert_allclose(d.xyxy[0], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=2)
    assert d.polygons[0].shape == (4, 2)


def test_qr_opencv_backend_on_the_samples_never_raises(shared_data):
    # OpenCV raises cv2.error on payload modes it cannot decode (qrcode-2/33.png): such a code is not
    # decoded, the call does not fail. OpenCV decodes far fewer than zxing-cpp (38 of 137 with 4.14).
    n, ok = _qr_samples(shared_data, get("qr", backend="opencv"))
    assert n == 137 and ok >= 30, ok


def test_missing_optional_dependency_is_reported(monkeypatch):
    import sys

    from cvtools.detect import _base, _dlib

    monkeypatch.setattr(_base, "is_available", lambda m: m not in ("dlib",))
    info = {d.name: d for d in cvtools.detect.detectors()}
    assert not info["face-dlib-hog"].available
    assert info["face-dlib-hog"].why == "dlib is not installed"
    assert info["face-dlib-hog"].install == 'pip install "cvtools[face]"'
    # `face` (YuNet, OpenCV) needs nothing optional.
    assert info["face"].available and info["face"].extra is None
    # Asking for dlib explicitly raises with the install line.
    _dlib._hog_model.cache_clear()
    monkeypatch.setitem(sys.modules, "dlib", None)
    try:
        with pytest.raises(ImportError, match=r'pip install "cvtools\[face\]"'):
            get("face-dlib-hog")
    finally:
        monkeypatch.delitem(sys.modules, "dlib")
        _dlib._hog_model.cache_clear()


@pytest.mark.extra("codes")
def test_opencv_barcode_backend_on_a_real_photo(shared_data):
    img = cvtools.read(shared_data / "codes" / "zxing_cpp_samples" / "ean13-1" / "14.webp")
    for backend in ("opencv", "zxing"):
        d = get("barcode", backend=backend).detect(img)
        assert d.texts.tolist() == ["3560070169443"] and d.labels.tolist() == ["ean13"], backend


@pytest.mark.extra("codes")
@pytest.mark.parametrize("payload", [b"caf\xe9", "caf\u00e9".encode("utf-8")])
def test_qr_byte_payloads_decode_the_same_with_both_backends(payload):
    # Raw byte segments (no ECI charset): UTF-8 when valid, else ISO-8859-1, whatever the backend.
    zxingcpp = pytest.importorskip("zxingcpp")
    img = np.asarray(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode).to_image(scale=4))
    for backend in ("zxing", "opencv"):
        assert get("qr", backend=backend).detect(img).texts.tolist() == ["caf\u00e9"], backend


# -------------------------------------------------------------- codes: no silent backend fallbacks (#14)
def test_opencv_code_backend_reads_only_its_formats_and_says_so():
    assert get("qr", backend="opencv").formats == ("QRCode",)
    assert get("barcode", backend="opencv").formats == ("EAN13", "EAN8", "UPCA", "UPCE")
    with pytest.raises(ValueError, match=r"cannot read format\(s\) 'MicroQRCode'.*pip install \"cvtools\[codes\]\""):
        get("qr", backend="opencv", formats=["QRCode", "MicroQRCode"])
    with pytest.raises(ValueError, match=r"cannot read format\(s\) 'Code128'"):
        get("barcode", backend="opencv", formats="Code128")


def test_auto_code_backend_without_zxing_is_explicit(monkeypatch):
    from cvtools.detect import _codes

    monkeypatch.setattr(_codes, "is_available", lambda module: False)
    qr = get("qr")
    assert qr.backend == "opencv" and qr.formats == ("QRCode",)
    with pytest.raises(ImportError, match=r'needs zxing-cpp: pip install "cvtools\[codes\]"'):
        get("barcode")
