"""cvtools.identify: face and object galleries, the embedding cache, describe, CLI and batch op."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import cvtools
from cvtools.detect import Detections
from cvtools.identify import Gallery, color_name, describe_detections

# The face tests need dlib (the face extra) and, through `faces`, matplotlib's sample photo (the viz extra).


@pytest.fixture(scope="module")
def faces():
    import matplotlib
    from skimage import data

    hopper = cvtools.read(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"), "rgb")
    import cv2

    return {"eileen": cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA),
            "grace": cv2.resize(hopper, (256, 300), interpolation=cv2.INTER_AREA)}


@pytest.fixture(scope="module")
def gallery_dir(tmp_path_factory, faces):
    root = tmp_path_factory.mktemp("people")
    for name, img in faces.items():
        (root / name).mkdir()
        cvtools.write(root / name / "1.png", img)
    return root


def _dlib_reference(image, box):
    """face_recognition's recipe, straight from dlib: 5-point shape -> aligned chip -> descriptor."""
    from cvtools.identify._face import face_models

    dlib, sp, rec = face_models()
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    shape = sp(image, dlib.rectangle(x1, y1, x2 - 1, y2 - 1))
    chip = dlib.get_face_chip(image, shape, size=150, padding=0.25)
    return np.asarray(rec.compute_face_descriptor(chip), np.float32)


def _similarity(src, dst):
    """Least-squares similarity transform ``dst ~ a @ src + t`` (Umeyama 1991), as dlib fits its chips."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    e = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    a = (u @ e @ vt) * (sig * np.diag(e)).sum() / ((s ** 2).sum() / len(src))
    return a, mu_d - a @ mu_s


def _landmark_reference(image, points):
    """dlib's own recipe fed with the five YuNet points: the similarity transform that puts them on their
    chip positions gives, inverted, where dlib's 5 template points lie in the image; dlib's get_face_chip
    on those (integer) points, then the descriptor."""
    from cvtools.identify._face import DLIB_CHIP_POINTS, LANDMARK_CHIP_POINTS, face_models

    dlib, _, rec = face_models()
    chip = lambda unit: (0.25 + unit) / 1.5 * 150  # noqa: E731  dlib's unit face -> padded 150 px chip
    a, t = _similarity(np.asarray(points, float), chip(LANDMARK_CHIP_POINTS))
    in_image = (chip(DLIB_CHIP_POINTS) - t) @ np.linalg.inv(a).T
    h, w = image.shape[:2]
    shape = dlib.full_object_detection(dlib.rectangle(0, 0, w - 1, h - 1),
                                       [dlib.point(int(round(x)), int(round(y))) for x, y in in_image])
    return np.asarray(rec.compute_face_descriptor(dlib.get_face_chip(image, shape, size=150, padding=0.25)),
                      np.float32)


@pytest.mark.extra("face", "viz")
def test_face_gallery_names_and_distances(gallery_dir, faces, tmp_path):
    g = Gallery.from_folder(gallery_dir, "face", cache_dir=tmp_path)
    assert g.names == ["eileen", "grace"] and len(g) == 2 and g.embeddings.shape == (2, 128)
    # both people side by side, smaller and shifted
    import cv2

    left = cv2.resize(faces["grace"], (200, 234))
    right = cv2.resize(faces["eileen"], (220, 220))
    scene = np.zeros((260, 460, 3), np.uint8)
    scene[10:244, 5:205] = left
    scene[30:250, 230:450] = right
    det = g.identify(scene)
    order = np.argsort(det.xyxy[:, 0])
    assert det.identities[order].tolist() == ["grace", "eileen"]
    assert (det.distances < 0.6).all() and det.landmarks.shape == (2, 5, 2)
    # aligned from YuNet's landmarks, which stay as the detector gave them
    found = cvtools.detect.get("face").detect(scene)
    np.testing.assert_allclose(np.sort(det.landmarks[:, 0, 0]), np.sort(found.landmarks[:, 0, 0]), atol=1e-4)
    assert det["aligned_by"].tolist() == ["landmarks"] * 2
    # distances equal those between descriptors dlib computes from the same points (integer points there:
    # 0.006 apart here)
    for i in range(2):
        probe = _landmark_reference(scene, det.landmarks[i])
        name = det.identities[i]
        mine = cvtools.detect.get("face").detect(faces[name])
        ref = _landmark_reference(faces[name], mine.landmarks[int(mine.area.argmax())])
        assert det.distances[i] == pytest.approx(float(np.linalg.norm(probe - ref)), abs=0.02)
    # with the shape predictor, exactly face_recognition's recipe on the same boxes
    sp = Gallery.from_folder(gallery_dir, "face", cache_dir=tmp_path, align="shape-predictor")
    det_sp = sp.identify(scene)
    assert det_sp.identities[np.argsort(det_sp.xyxy[:, 0])].tolist() == ["grace", "eileen"]
    assert det_sp["aligned_by"].tolist() == ["shape-predictor"] * 2
    for i in range(2):
        probe = _dlib_reference(scene, det_sp.xyxy[i])
        name = det_sp.identities[i]
        ref = _dlib_reference(faces[name], sp._entry_from_image(faces[name])[1])
        assert det_sp.distances[i] == pytest.approx(float(np.linalg.norm(probe - ref)), abs=1e-4)
    # given detections give the same answer and keep the caller's fields; without landmarks, the boxes
    # are aligned by the shape predictor
    given = Detections(det.xyxy, scores=np.ones(2), labels=["face"] * 2, landmarks=det.landmarks)
    again = g.identify(scene, given)
    assert again.identities.tolist() == det.identities.tolist() and given.identities is None
    np.testing.assert_allclose(again.distances, det.distances, atol=1e-5)
    boxes_only = g.identify(scene, Detections(det.xyxy, labels="face"))
    assert boxes_only.identities.tolist() == det.identities.tolist()
    assert boxes_only["aligned_by"].tolist() == ["shape-predictor"] * 2


@pytest.mark.extra("face", "viz")
def test_unknown_beyond_threshold(faces):
    g = Gallery("face").add("eileen", faces["eileen"])
    det = g.identify(faces["grace"])
    assert det.identities.tolist() == ["unknown"] and det.distances[0] > 0.6
    strict = Gallery("face", threshold=0.01).add("eileen", faces["eileen"])
    mirrored = np.ascontiguousarray(faces["eileen"][:, ::-1])
    assert set(strict.identify(mirrored).identities.tolist()) == {"unknown"}
    assert "eileen" in g.identify(mirrored).identities.tolist()
    empty = Gallery("face").identify(faces["grace"])
    assert empty.identities.tolist() == ["unknown"] and np.isnan(empty.distances[0])
    assert len(g.identify(np.zeros((80, 80, 3), np.uint8))) == 0


@pytest.mark.extra("face", "viz")
def test_gallery_cache(gallery_dir, tmp_path, monkeypatch, faces):
    cache = tmp_path / "cache"
    g1 = Gallery.from_folder(gallery_dir, cache_dir=cache)
    files = list(cache.glob("face-v*-*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as z:  # plain arrays
        assert z["vectors"].shape == (2, 128) and len(z["hashes"][0]) == 64
    calls = []
    orig = Gallery._entry_from_image
    monkeypatch.setattr(Gallery, "_entry_from_image", lambda self, *a, **k: calls.append(1) or orig(self, *a, **k))
    g2 = Gallery.from_folder(gallery_dir, cache_dir=cache)
    assert calls == [] and np.array_equal(g1.embeddings, g2.embeddings)
    # a new file is computed, the others come from the cache
    (gallery_dir / "grace" / "2.png").write_bytes((gallery_dir / "grace" / "1.png").read_bytes())
    (gallery_dir / "eileen" / "2.png").write_bytes(cvtools.io.encode(faces["eileen"][:, ::-1].copy(), ".png"))
    try:
        g3 = Gallery.from_folder(gallery_dir, cache_dir=cache)
        assert len(calls) == 1 and len(g3) == 4  # the copy of grace/1.png shares its hash
    finally:
        (gallery_dir / "grace" / "2.png").unlink()
        (gallery_dir / "eileen" / "2.png").unlink()


@pytest.mark.extra("face", "viz")
def test_default_cache_dir_in_root(tmp_path, faces):
    root = tmp_path / "g"
    (root / "eileen").mkdir(parents=True)
    cvtools.write(root / "eileen" / "a.png", faces["eileen"])
    Gallery.from_folder(root)
    assert list((root / ".cvtools-cache").glob("face-*.npz"))


@pytest.mark.extra("face", "viz")
def test_no_face_policy(tmp_path, faces):
    root = tmp_path / "g"
    (root / "eileen").mkdir(parents=True)
    cvtools.write(root / "eileen" / "a.png", faces["eileen"])
    cvtools.write(root / "eileen" / "blank.png", np.zeros((64, 64, 3), np.uint8))
    with pytest.warns(cvtools.CvtoolsWarning, match="no face found in 1 gallery image"):
        g = Gallery.from_folder(root, cache=False)
    assert len(g) == 1
    with pytest.raises(ValueError, match="no face found in gallery image"):
        Gallery.from_folder(root, cache=False, no_face="error")
    assert len(Gallery.from_folder(root, cache=False, no_face="whole")) == 2
    with pytest.raises(ValueError, match="no face found in the image for 'x'"):
        Gallery("face").add("x", np.zeros((64, 64, 3), np.uint8))
    assert len(Gallery("face").add("x", faces["eileen"][60:160, 80:180], box="whole")) == 1


def test_gallery_errors():
    with pytest.raises(ValueError, match="unknown kind 'car'"):
        Gallery("car")
    with pytest.raises(ValueError, match="`threshold` must be > 0"):
        Gallery(threshold=0)
    with pytest.raises(TypeError, match="`name` must be a non-empty str"):
        Gallery("object").add("", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="unknown no_face"):
        Gallery.from_folder(".", no_face="guess")


@pytest.mark.extra("face", "viz")
def test_gallery_finds_faces_with_its_detector(faces):
    img = faces["eileen"]
    g = Gallery("face")
    assert g.detector.name == "face" and g.align == "landmarks"  # YuNet by default
    yunet = g.add("eileen", img).identify(img)
    hog = Gallery("face", detector="face-dlib-hog").add("eileen", img).identify(img)
    np.testing.assert_allclose(yunet.xyxy, cvtools.detect.get("face").detect(img).xyxy)
    np.testing.assert_allclose(hog.xyxy, cvtools.detect.get("face-dlib-hog").detect(img).xyxy)
    assert not np.allclose(yunet.xyxy, hog.xyxy, atol=2)
    assert yunet["aligned_by"].tolist() == ["landmarks"] and hog["aligned_by"].tolist() == ["shape-predictor"]
    assert yunet.identities.tolist() == hog.identities.tolist() == ["eileen"]

    class Recorder:  # any object with detect(image): used for the gallery photos and the images alike
        calls = 0

        def detect(self, image):
            Recorder.calls += 1
            return Detections([[60, 40, 200, 200]], labels="face")

    rec = Gallery("face", detector=Recorder()).add("eileen", img)
    assert rec.identify(img).xyxy.tolist() == [[60, 40, 200, 200]] and Recorder.calls == 2
    sp = Gallery("face", align="shape-predictor").add("eileen", img).identify(img)
    assert sp["aligned_by"].tolist() == ["shape-predictor"] and sp.identities.tolist() == ["eileen"]
    np.testing.assert_allclose(sp.xyxy, yunet.xyxy)


@pytest.mark.extra("face", "viz")
def test_points_a_gallery_predicted_are_not_taken_for_detector_landmarks(faces):
    g = Gallery("face").add("eileen", faces["eileen"])
    hog = cvtools.detect.get("face-dlib-hog").detect(faces["eileen"])
    once = g.identify(faces["eileen"], hog)  # no landmarks: dlib's shape predictor on the box
    twice = g.identify(faces["eileen"], once)  # now with dlib's 5 points as landmarks: still the shape predictor
    assert once["aligned_by"].tolist() == twice["aligned_by"].tolist() == ["shape-predictor"]
    np.testing.assert_allclose(twice.distances, once.distances, atol=1e-6)
    np.testing.assert_allclose(twice.landmarks, once.landmarks)


@pytest.mark.extra("face", "viz")
def test_face_cache_is_kept_per_detector_and_alignment(gallery_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = tmp_path / "c"
    calls = []
    orig = Gallery._entry_from_image
    monkeypatch.setattr(Gallery, "_entry_from_image",
                        lambda self, *a, **k: calls.append(self.detector.name) or orig(self, *a, **k))
    default = Gallery.from_folder(gallery_dir, cache_dir=cache)
    hog = Gallery.from_folder(gallery_dir, cache_dir=cache, detector="face-dlib-hog")
    assert calls == ["face", "face", "face-dlib-hog", "face-dlib-hog"]  # the default's cache is not reused
    assert np.abs(hog.embeddings - default.embeddings).max() > 1e-3
    calls.clear()
    again = Gallery.from_folder(gallery_dir, cache_dir=cache, detector=cvtools.detect.get("face-dlib-hog"))
    Gallery.from_folder(gallery_dir, cache_dir=cache)
    assert calls == [] and np.array_equal(again.embeddings, hog.embeddings)  # a name or the same detector
    Gallery.from_folder(gallery_dir, cache_dir=cache, detector=cvtools.detect.get("face", threshold=0.5))
    Gallery.from_folder(gallery_dir, cache_dir=cache, align="shape-predictor")
    assert calls == ["face"] * 4  # other detector options, other alignment: described again
    assert len(list(cache.glob("face-v*.npz"))) == 4


@pytest.mark.extra("face", "viz")
def test_turned_faces_are_not_named(faces):
    """Profiles (YuNet finds them; dlib's descriptor is for frontal faces) are "unknown" beyond max_yaw."""
    img = faces["eileen"]
    found = cvtools.detect.get("face").detect(img)
    turned = found.landmarks.copy()
    eye = turned[:, 1] - turned[:, 0]
    down = np.stack([-eye[:, 1], eye[:, 0]], axis=1)  # perpendicular to the eye line
    turned[:, 2] = (turned[:, 0] + turned[:, 1]) / 2 + 0.8 * eye + 0.4 * down  # the nose tip far to one side
    profile = found.with_fields(landmarks=turned)
    for align in ("landmarks", "shape-predictor"):
        g = Gallery("face", align=align).add("eileen", img)
        front = g.identify(img, found)
        assert front.identities.tolist() == ["eileen"] and abs(front["yaw"][0]) < 0.25
        side = g.identify(img, profile)
        assert side.identities.tolist() == ["unknown"] and side["yaw"][0] == pytest.approx(0.8, abs=1e-4)
    anyway = Gallery("face", align="shape-predictor", max_yaw=None).add("eileen", img).identify(img, profile)
    assert anyway.identities.tolist() == ["eileen"]
    no_points = g.identify(img, Detections(found.xyxy, labels="face"))  # no landmarks: no yaw, never refused
    assert np.isnan(no_points["yaw"][0]) and no_points.identities.tolist() == ["eileen"]
    with pytest.raises(ValueError, match="`max_yaw` must be > 0 or None"):
        Gallery("face", max_yaw=0)


def test_gallery_detector_errors():
    with pytest.raises(TypeError, match=r"`upsample` was an option of dlib's HOG face detector.*"
                                        r"detector=cvtools.detect.get\('face-dlib-hog', upsample=2.0\)"):
        Gallery("face", upsample=1)
    with pytest.raises(TypeError, match="unexpected keyword argument.*'colour'"):
        Gallery("face", colour=1)
    with pytest.raises(ValueError, match="unknown detector 'nope'"):
        Gallery("face", detector="nope")
    with pytest.raises(TypeError, match=r"`detector` must be a name from cvtools.detect.detectors\(\).*got int"):
        Gallery("face", detector=3)
    with pytest.raises(ValueError, match="`detector` applies to kind='face'"):
        Gallery("object", detector="face")
    with pytest.raises(ValueError, match="unknown align 'eyes'"):
        Gallery("face", align="eyes")


@pytest.mark.extra("face")
def test_landmarks_land_on_their_chip_positions():
    """A face's five landmarks end up where LANDMARK_CHIP_POINTS puts them on dlib's 150 x 150 chip."""
    import cv2

    from cvtools.identify import _face

    dlib = _face.face_models()[0]
    on_chip = (0.25 + _face.LANDMARK_CHIP_POINTS) / 1.5 * 150
    a = np.deg2rad(20)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / 2.2  # 2.2x smaller, turned 20 degrees
    points = (on_chip - 75) @ rot.T + [160.3, 118.6]
    image = np.zeros((240, 320, 3), np.uint8)
    for x, y in points:  # sub-pixel dots (4 fractional bits)
        cv2.circle(image, (round(x * 16), round(y * 16)), 2 * 16, (255, 255, 255), -1, cv2.LINE_AA, shift=4)
    details, marks = _face.chip_details(image, [[0, 0, 320, 240]], points[None])
    np.testing.assert_allclose(marks[0], points, atol=1e-4)
    chip = np.asarray(dlib.extract_image_chips(image, details)[0])[..., 0].astype(float)
    for cx, cy in on_chip:
        y0, x0 = int(cy) - 9, int(cx) - 9
        win = chip[y0:y0 + 19, x0:x0 + 19]
        ys, xs = np.mgrid[y0:y0 + 19, x0:x0 + 19]
        centroid = np.array([(xs * win).sum(), (ys * win).sum()]) / win.sum()
        np.testing.assert_allclose(centroid, [cx, cy], atol=1.0)


def _warp_into(obj, background, corners):
    import cv2

    h, w = obj.shape[:2]
    H = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(corners))
    size = (background.shape[1], background.shape[0])
    warped = cv2.warpPerspective(obj, H, size)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), H, size) > 0
    out = background.copy()
    out[mask] = warped[mask]
    return out


def test_object_gallery_finds_outline(tmp_path):
    from skimage import data

    coffee = data.coffee()[40:300, 150:450]
    rocket = data.rocket()[50:350, 150:400]
    root = tmp_path / "objects"
    for name, img in (("coffee", coffee), ("rocket", rocket)):
        (root / name).mkdir(parents=True)
        cvtools.write(root / name / "ref.png", img)
    g = Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    background = np.stack([data.camera()[:400, :500]] * 3, axis=-1)
    corners = [[120, 60], [400, 90], [380, 330], [100, 300]]
    scene = _warp_into(coffee, background, corners)
    det = g.identify(scene)
    assert det.identities.tolist() == ["coffee"] and det.data["inliers"][0] >= 12
    np.testing.assert_allclose(det.polygons[0], corners, atol=4)
    assert 0 <= det.distances[0] < 1
    assert len(g.identify(background)) == 0
    # per-box identification
    boxes = Detections([[90, 50, 420, 340], [0, 0, 60, 60]])
    per = g.identify(scene, boxes)
    assert per.identities.tolist() == ["coffee", "unknown"]
    # the cache round-trips keypoints
    g2 = Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    assert g2.identify(scene).identities.tolist() == ["coffee"]


def test_describe():
    img = np.zeros((90, 120, 3), np.uint8)
    img[:, :] = (30, 60, 200)
    img[60:90, 0:40] = (240, 220, 40)
    det = Detections([[0, 60, 40, 90], [40, 30, 80, 60]], labels=["a", "b"], texts=["hello", None],
                     landmarks=np.zeros((2, 5, 2)), identities=["x", None], distances=[0.25, None],
                     data={"class": ["cat", "dog"]})
    out = describe_detections(img, det)
    assert [d["color"] for d in out] == ["yellow", "blue"]
    assert out[0]["position"] == "bottom-left" and out[1]["position"] == "centre"
    assert out[0]["relative_size"] == pytest.approx(40 * 30 / (90 * 120), abs=1e-5)
    assert out[0]["text"] == "hello" and "text" not in out[1]
    assert out[0]["identity"] == "x" and out[0]["distance"] == 0.25 and "identity" not in out[1]
    assert out[1]["class"] == "dog" and len(out[0]["landmarks"]) == 5
    json.dumps(out)
    assert describe_detections(np.zeros((10, 10), np.uint8), Detections([[0, 0, 5, 5]]))[0]["color"] == "black"
    assert color_name((255, 255, 255)) == "white"


@pytest.mark.parametrize("old, new", [("describe", "describe_detections"), ("colour_name", "color_name"),
                                      ("dominant_colour", "dominant_color"), ("COLOURS", "COLORS")])
def test_deprecated_colour_spellings_warn_and_still_work(old, new):
    import cvtools.identify as ident

    with pytest.warns(DeprecationWarning, match=f"cvtools.identify.{old} is deprecated.*use cvtools.identify.{new}"):
        obj = getattr(ident, old)
    assert obj is getattr(ident, new) and old not in ident.__all__


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cvtools", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.extra("face", "viz")
def test_cli_identify(gallery_dir, tmp_path, faces):
    probe = tmp_path / "probe.png"
    cvtools.write(probe, faces["grace"])
    r = _cli("identify", "--gallery", gallery_dir, probe, tmp_path / "missing.png", "--json")
    assert r.returncode == 1 and "missing.png" in r.stderr
    rec = json.loads(r.stdout.splitlines()[0])
    assert [d["identity"] for d in rec["detections"]] == ["grace"]
    r = _cli("identify", "--gallery", gallery_dir, probe, "--describe", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["detections"][0]["position"]
    r = _cli("identify", "--gallery", gallery_dir, probe)
    assert r.returncode == 0 and "grace (0." in r.stdout
    # another face detector: the gallery is described with it too (its own cache file)
    r = _cli("identify", "--gallery", gallery_dir, probe, "--detector", "face-dlib-hog", "--json")
    assert r.returncode == 0, r.stderr
    (face,) = json.loads(r.stdout)["detections"]
    hog = cvtools.detect.get("face-dlib-hog").detect(faces["grace"])
    assert face["identity"] == "grace" and face["box"] == pytest.approx(hog.xyxy[0].tolist(), abs=0.01)
    r = _cli("identify", "--gallery", gallery_dir, probe, "--detector", "nope")
    assert r.returncode == 2 and "unknown detector 'nope'" in r.stderr
    r = _cli("identify", "--gallery", gallery_dir, probe, "--upsample", "1")
    assert r.returncode == 2 and "--upsample" in r.stderr


@pytest.mark.extra("face", "viz")
def test_batch_identify_op(gallery_dir, faces):
    from cvtools.batch import get_op

    out = get_op("identify")(faces["grace"], gallery=str(gallery_dir))
    assert out.shape == faces["grace"].shape and not np.array_equal(out, faces["grace"])
    with pytest.raises(ValueError, match="`gallery` must name a folder"):
        get_op("identify")(faces["grace"])
    # the face detector is a parameter, checked against the registry's face detectors when parsed
    from cvtools.batch import Pipeline, PipelineError
    from cvtools.batch._ops_identify import _CACHE

    hog = get_op("identify")(faces["grace"], gallery=str(gallery_dir), detector="face-dlib-hog")
    assert not np.array_equal(hog, out)  # another box drawn
    assert {k[-1] for k in _CACHE if k[0] == "gallery"} >= {("face", "face"), ("face", "face-dlib-hog")}
    with pytest.raises(PipelineError, match="`detector` must be one of 'face', 'face-accurate'"):
        Pipeline.parse(f"identify:gallery={gallery_dir},detector=objects")


@pytest.mark.extra("face")
def test_face_recognition_knn_probes(shared_data, tmp_path):
    """Real photos: every probe face, including each person in the group photos, is named right."""
    root = shared_data / "face_identification" / "face_recognition_knn"
    g = Gallery.from_folder(root / "train", cache_dir=tmp_path)
    with open(root / "expected_test_labels.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        img = cvtools.read(root / row["file"], "rgb")
        import cv2

        s = 800 / max(img.shape[:2])
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        found = set(g.identify(img).identities.tolist()) - {"unknown"}
        assert found == set(row["expected_identities"].split(";")), row["file"]


@pytest.mark.extra("face", "viz")
def test_video_identifier_reuses_descriptors(faces):
    from cvtools.identify import VideoIdentifier

    g = Gallery("face").add("eileen", faces["eileen"]).add("grace", faces["grace"])
    frame = np.zeros((300, 560, 3), np.uint8)
    frame[0:300, 0:256] = faces["grace"]
    frame[20:276, 290:546] = faces["eileen"]
    vid = VideoIdentifier(g, refresh=3)
    ref = g.identify(frame)
    ref = ref[ref.identities != "unknown"]
    assert sorted(ref.identities.tolist()) == ["eileen", "grace"]
    seen = []
    for k in range(4):
        shifted = np.roll(frame, k, axis=1)  # the faces drift by a pixel a frame
        det = vid.identify(shifted, Detections(ref.xyxy + np.float32([k, 0, k, 0]), labels="face",
                                               landmarks=ref.landmarks + np.float32([k, 0])))
        seen.append(det["reused"].tolist())
        assert sorted(det.identities.tolist()) == sorted(ref.identities.tolist())
        np.testing.assert_allclose(np.sort(det.distances), np.sort(ref.distances), atol=0.05)
    assert seen == [[False, False], [True, True], [True, True], [False, False]]  # refreshed every 3
    vid.reset()
    assert not vid.identify(frame, Detections(ref.xyxy))["reused"].any()
    assert len(vid.identify(frame)) >= 2  # finds the faces itself too, with the gallery's detector
    vid.reset()
    vid.identify(frame)
    again = vid.identify(frame)
    assert again["reused"].all() and again["aligned_by"].tolist() == ["landmarks"] * len(again)
    np.testing.assert_allclose(again.landmarks, cvtools.detect.get("face").detect(frame).landmarks, atol=1e-4)
    hog = VideoIdentifier(Gallery("face", detector="face-dlib-hog").add("grace", faces["grace"]))
    boxes = hog.identify(frame).xyxy
    np.testing.assert_allclose(boxes, cvtools.detect.get("face-dlib-hog").detect(frame).xyxy)
    with pytest.raises(ValueError, match="kind 'face'"):
        VideoIdentifier(Gallery("object"))


def test_read_only_gallery_caches_elsewhere(tmp_path, monkeypatch):
    from cvtools.identify import default_cache_dir

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    try:
        d = default_cache_dir(ro)
        assert d.parent == tmp_path / "xdg" / "cvtools" / "galleries" and not (ro / ".cvtools-cache").exists()
    finally:
        ro.chmod(0o755)
    assert default_cache_dir(ro) == ro / ".cvtools-cache"


def _hog_boxes(img):
    """dlib's HOG boxes at dlib's 2x upsampling (what face_recognition's recipe describes)."""
    return cvtools.detect.get("face-dlib-hog", upsample=2.0).detect(img).xyxy


@pytest.mark.extra("face", "torch")
def test_torch_port_of_dlib_resnet_matches_dlib():
    """The face ResNet read from dlib's .dat and run by torch gives dlib's own descriptors."""
    pytest.importorskip("torch")
    import skimage.data

    from cvtools.identify import _face
    from cvtools.identify._dlib_resnet import read_dlib_resnet

    layers = read_dlib_resnet(_face.models_dir() / "dlib_face_recognition_resnet_model_v1.dat")
    kinds = [layer["type"] for layer in layers]
    assert kinds.count("conv") == kinds.count("affine") == 29 and kinds.count("add") == 14
    assert layers[0]["weight"].shape == (32, 3, 7, 7) and layers[-1]["weight"].shape == (256, 128)

    dlib, sp, rec = _face.face_models()
    for img in (skimage.data.astronaut(), np.ascontiguousarray(np.hstack([skimage.data.astronaut()] * 2))):
        boxes = _hog_boxes(img)
        assert len(boxes) >= 1
        marks, ours = _face.describe_faces(img, boxes)
        ref = []
        for x1, y1, x2, y2 in boxes:
            shape = sp(img, dlib.rectangle(int(round(x1)), int(round(y1)), int(round(x2)) - 1, int(round(y2)) - 1))
            ref.append(np.asarray(rec.compute_face_descriptor(img, shape)))
        assert _face.descriptor_backend() == "torch"
        np.testing.assert_allclose(ours, np.asarray(ref), atol=1e-5)
        assert np.linalg.norm(ours, axis=1).min() > 0.1  # real descriptors, not zeros


@pytest.mark.extra("face")
def test_descriptor_backend_can_be_forced(monkeypatch):
    from cvtools.identify import _face

    monkeypatch.setenv("CVTOOLS_FACE_BACKEND", "dlib")
    assert _face.descriptor_backend() == "dlib"
    import skimage.data

    img = skimage.data.astronaut()
    boxes = _hog_boxes(img)
    _, by_dlib = _face.describe_faces(img, boxes)
    monkeypatch.delenv("CVTOOLS_FACE_BACKEND")
    if _face.descriptor_backend() == "torch":
        _, by_torch = _face.describe_faces(img, boxes)
        np.testing.assert_allclose(by_torch, by_dlib, atol=1e-5)


@pytest.mark.extra("face")
def test_jittered_descriptors_stay_close_to_the_plain_one():
    from cvtools.identify import _face
    import skimage.data

    img = skimage.data.astronaut()
    boxes = _hog_boxes(img)
    _, plain = _face.describe_faces(img, boxes)
    _, jittered = _face.describe_faces(img, boxes, num_jitters=4)
    assert jittered.shape == plain.shape
    # same face, averaged over jittered crops: well inside the 0.6 same-person threshold (0.15-0.28 seen)
    assert 0 < np.linalg.norm(jittered - plain) < 0.45


@pytest.mark.extra("face", "torch")
def test_a_broken_torch_port_falls_back_to_dlib(monkeypatch):
    pytest.importorskip("torch")
    import skimage.data

    from cvtools.identify import _dlib_resnet, _face

    img = skimage.data.astronaut()
    boxes = _hog_boxes(img)
    monkeypatch.setenv("CVTOOLS_FACE_BACKEND", "dlib")
    _, expected = _face.describe_faces(img, boxes)
    monkeypatch.delenv("CVTOOLS_FACE_BACKEND")

    def broken(path):
        raise ValueError("unexpected dlib face network")

    monkeypatch.setattr(_dlib_resnet, "torch_face_net", broken)
    monkeypatch.setitem(_face._BACKEND, "torch_failed", False)
    with pytest.warns(RuntimeWarning, match="using dlib"):
        _, got = _face.describe_faces(img, boxes)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert _face.descriptor_backend() == "dlib"


def test_gallery_device_is_checked_and_names_the_argument():
    assert Gallery("face", device="CPU").device == "cpu" and Gallery("face").device == "auto"
    with pytest.raises(ValueError, match=r"`device` must be one of 'auto', 'cpu', 'cuda', 'cuda:N'; got 'gpu'"):
        Gallery("face", device="gpu")


@pytest.mark.extra("face", "viz", "torch")
def test_face_descriptors_on_the_cpu(faces):
    torch = pytest.importorskip("torch")
    from cvtools.identify import VideoIdentifier, _face

    auto = Gallery("face").add("grace", faces["grace"])
    cpu = Gallery("face", device="cpu").add("grace", faces["grace"])
    np.testing.assert_allclose(cpu._vectors, auto._vectors, atol=1e-4)
    found = VideoIdentifier(cpu).identify(faces["grace"])
    assert found.identities.tolist() == ["grace"] and found.distances[0] < 1e-4
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"`device`='cuda' asks for CUDA, but torch sees no CUDA device"):
            Gallery("face", device="cuda").add("grace", faces["grace"])
    assert _face.descriptor_backend() == "torch"


@pytest.mark.extra("face", "viz")
def test_dlib_descriptors_refuse_a_cuda_device(faces, monkeypatch):
    monkeypatch.setenv("CVTOOLS_FACE_BACKEND", "dlib")
    assert len(Gallery("face", device="cpu").add("grace", faces["grace"])) == 1
    with pytest.raises(ValueError, match=r"`device`='cuda': face descriptors are computed by dlib here"):
        Gallery("face", device="cuda").add("grace", faces["grace"])


@pytest.mark.extra("face", "viz", "torch")
def test_face_descriptors_on_cuda(faces):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: the CUDA path of the face descriptors is not exercised")
    cpu = Gallery("face", device="cpu").add("grace", faces["grace"]).add("eileen", faces["eileen"])
    gpu = Gallery("face", device="cuda").add("grace", faces["grace"]).add("eileen", faces["eileen"])
    # cuDNN may use TF32 convolutions: on an H200, 1.3e-4 at most from the CPU's values (0.6 is the threshold)
    np.testing.assert_allclose(gpu._vectors, cpu._vectors, atol=2e-3)
    found = gpu.identify(faces["eileen"])
    assert found.identities.tolist() == ["eileen"]


def _coffee_rocket(root):
    from skimage import data

    for name, img in (("coffee", data.coffee()[40:300, 150:450]), ("rocket", data.rocket()[50:350, 150:400])):
        (root / name).mkdir(parents=True)
        cvtools.write(root / name / "ref.png", img)
    return root


def _signed(path, kind, arrays):
    """Rewrite a cache with ``arrays``, signed with this user's key (as only cvtools itself could)."""
    from cvtools.identify._gallery import _cache_key, _cache_mac

    with open(path, "wb") as f:
        np.savez(f, mac=np.array(_cache_mac(_cache_key(), kind, arrays)), **arrays)


def test_gallery_cache_short_offsets_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = _coffee_rocket(tmp_path / "objects")
    g1 = Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    (cache,) = (tmp_path / "c").glob("object-v*.npz")
    with np.load(cache) as z:
        arrays = {k: z[k] for k in z.files if k != "mac"}
    arrays["offsets"] = arrays["offsets"][:-1]  # one entry short, yet correctly signed
    _signed(cache, "object", arrays)
    with pytest.warns(cvtools.CvtoolsWarning, match=r"not a valid cvtools gallery file: array 'offsets' has "
                                                    r"shape \(2,\); expected \(3,\); rebuilding it"):
        g2 = Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    assert g2.labels == g1.labels
    for a, b in zip(g1._objects, g2._objects):
        np.testing.assert_array_equal(a[0], b[0]) and np.testing.assert_array_equal(a[1], b[1])
    # the rebuilt cache is valid again: nothing is recomputed, no warning
    calls = []
    orig = Gallery._entry_from_image
    monkeypatch.setattr(Gallery, "_entry_from_image", lambda self, *a, **k: calls.append(1) or orig(self, *a, **k))
    Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    assert calls == []


@pytest.mark.extra("face", "viz")
def test_edited_gallery_cache_cannot_change_identities(gallery_dir, tmp_path, monkeypatch, faces):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    key_file = tmp_path / "xdg" / "cvtools" / "gallery-cache.key"
    g = Gallery.from_folder(gallery_dir, cache_dir=tmp_path / "c")
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key_file.read_bytes()) == 32
    (cache,) = (tmp_path / "c").glob("face-v*.npz")
    with np.load(cache) as z:
        arrays = {k: z[k] for k in z.files}
    assert g.identify(faces["grace"]).identities.tolist() == ["grace"]
    # someone swaps the two people's descriptors and recomputes a plain SHA-256 as "signature"
    import hashlib

    arrays["vectors"] = arrays["vectors"][::-1].copy()
    forged = {k: v for k, v in arrays.items() if k != "mac"}
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(forged[k]).tobytes() for k in sorted(forged)))
    with open(cache, "wb") as f:
        np.savez(f, mac=np.array(digest.hexdigest()), **forged)
    with pytest.warns(cvtools.CvtoolsWarning, match="not a valid cvtools gallery file: its signature does not "
                                                    "match its content"):
        g2 = Gallery.from_folder(gallery_dir, cache_dir=tmp_path / "c")
    assert g2.identify(faces["grace"]).identities.tolist() == ["grace"]
    assert g2.identify(faces["eileen"]).identities.tolist() == ["eileen"]
    np.testing.assert_allclose(g2.embeddings, g.embeddings, atol=1e-6)
    # another user (another key) keeps a cache of their own beside it, never reading this one
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-user"))
    Gallery.from_folder(gallery_dir, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("face-v*.npz"))) == 2


def test_gallery_cache_bomb_is_refused(tmp_path, monkeypatch):
    """A cache declaring far more than its images could need is refused before it is inflated."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    import zipfile

    root = _coffee_rocket(tmp_path / "objects")
    Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    (cache,) = (tmp_path / "c").glob("object-v*.npz")
    with zipfile.ZipFile(cache, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("desc.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                                     "shape": (2 ** 17, 128)})
            for _ in range(4):
                f.write(bytes(1 << 24))
    assert cache.stat().st_size < 2_000_000
    with pytest.warns(cvtools.CvtoolsWarning, match=r"not a valid cvtools gallery file: its arrays declare "
                                                    r"67,108,\d+ bytes uncompressed; at most 37,523,968 are allowed"):
        g = Gallery.from_folder(root, "object", cache_dir=tmp_path / "c")
    assert g.names == ["coffee", "rocket"]


def test_cache_key_is_made_once_and_a_damaged_one_replaced(tmp_path, monkeypatch):
    from cvtools.identify import _gallery

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    key_file = tmp_path / "xdg" / "cvtools" / "gallery-cache.key"
    key = _gallery._cache_key()
    assert key_file.read_bytes() == key and key_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(_gallery, "_KEYS", {})
    assert _gallery._cache_key() == key  # read back, not remade
    key_file.write_bytes(b"short")
    monkeypatch.setattr(_gallery, "_KEYS", {})
    new = _gallery._cache_key()
    assert len(new) == 32 and new != key and key_file.read_bytes() == new
    assert [p.name for p in key_file.parent.iterdir()] == ["gallery-cache.key"]  # no temporaries left
    # a key that cannot be kept: the cache is not used, and the user is told
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_bytes(b"")
    with pytest.warns(cvtools.CvtoolsWarning, match="cannot keep the gallery cache key .* the embedding cache "
                                                    "is not used"):
        assert _gallery._cache_key() is None
