"""cvtools.generative.inpaint: every method from Python, the CLI and the batch op; masks; bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import cvtools
from cvtools.generative import dilate_mask, inpaint, mask_from_boxes, mask_from_color

FAST = ["telea", "ns", "biharmonic", "fsr", "exemplar"]
ALL = FAST + [pytest.param("dip", marks=pytest.mark.extra("torch"))]
DIP_TINY = dict(iterations=30, time_budget=None, depth=2, width=8)


def _opts(method):
    return DIP_TINY if method == "dip" else {}


def _gradient(h=48, w=48):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (0.2 + 0.5 * xx / (w - 1) + 0.2 * yy / (h - 1)).astype(np.float32)


def _stripes(h=64, w=64, period=8):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (0.5 + 0.4 * np.sin(2 * np.pi * (xx + 0.5 * yy) / period)).astype(np.float32)


def _box(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


# ---------------------------------------------------------------- quality on known answers

@pytest.mark.parametrize("method", ["telea", "ns", "biharmonic", "fsr"])
def test_smooth_gradient_hole_is_filled_closely(method):
    img = _gradient()
    mask = _box(48, 48, 18, 30, 16, 30)
    out = inpaint(img, mask, method)
    err = np.abs(out - img)[mask]
    # diffusion along the rim is not exact on a ramp; biharmonic and FSR nearly are
    tol_max, tol_mean = (0.08, 0.03) if method in ("telea", "ns") else (0.02, 0.005)
    assert err.max() < tol_max, (method, err.max())
    assert err.mean() < tol_mean, (method, err.mean())
    np.testing.assert_array_equal(out[~mask], img[~mask])


@pytest.mark.extra("torch")
def test_dip_fits_the_known_pixels_and_stops_early():
    img = np.repeat(_gradient(32, 32)[..., None], 3, axis=2)
    mask = _box(32, 32, 12, 20, 12, 20)
    calls = []
    from cvtools.generative._dip import dip_fill

    out = dip_fill(img.astype(np.float64), mask, iterations=400, time_budget=None, depth=2, width=8,
                   patience=5, progress=calls.append)
    assert 5 <= len(calls) < 400  # the loss stopped improving by 1 % for 5 steps before the cap
    assert out.shape == img.shape and np.isfinite(out).all()
    # the paper's setting (pure noise in): fitting brings the known pixels closer step after step
    errs = [np.abs(dip_fill(img.astype(np.float64), mask, iterations=n, time_budget=None, depth=2, width=8,
                            seed=1, guide="none") - img)[~mask].mean() for n in (10, 100)]
    assert errs[1] < 0.6 * errs[0], errs


@pytest.mark.parametrize("method", ["fsr", "exemplar"])
def test_periodic_texture_is_continued(method):
    img = _stripes()
    mask = _box(64, 64, 24, 38, 26, 40)
    out = inpaint(img, mask, method, **({"patch_size": 7} if method == "exemplar" else {}))
    err = np.abs(out - img)[mask].mean()
    blur = np.abs(inpaint(img, mask, "telea") - img)[mask].mean()
    assert err < 0.05, (method, err)
    assert err < 0.5 * blur  # diffusion blurs the stripes away; these methods continue them


def test_fsr_beats_diffusion_on_texture_in_rgb():
    rng = np.random.default_rng(0)
    base = _stripes(64, 64, 6)
    img = np.stack([base, 1 - base, 0.5 * base + 0.25], axis=2) + rng.normal(0, 0.01, (64, 64, 3))
    img = np.clip(img, 0, 1).astype(np.float32)
    mask = np.zeros((64, 64), bool)
    mask[::9, :] = True
    mask[:, 5::11] = True
    psnr = {m: -10 * np.log10(np.mean((inpaint(img, mask, m) - img)[mask] ** 2)) for m in ("fsr", "biharmonic")}
    assert psnr["fsr"] > psnr["biharmonic"] + 3, psnr


def test_fse_kernel_matches_the_numpy_reference():
    from cvtools.generative._fsr import _freq_weight2, _fse_kernel, _fse_kernel_py

    rng = np.random.default_rng(3)
    F, n, C = 16, 3, 2
    w = rng.random((n, F, F)) * (rng.random((n, F, F)) > 0.3)
    f = rng.random((n, C, F, F))
    W = np.fft.fft2(w).astype(np.complex64)
    Wp = np.ascontiguousarray(np.tile(W, (1, 2, 2)))
    Rw = np.fft.rfft2(f * w[:, None]).astype(np.complex64)
    its = np.array([5, 9, 13], np.int64)
    outs = []
    for kern in (_fse_kernel, _fse_kernel_py):
        R, G = Rw.copy(), np.zeros_like(Rw)
        kern(R, Wp, np.arange(n, dtype=np.int64), _freq_weight2(F), its, np.float32(0.5), G)
        outs.append((R, G))
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-3, atol=1e-3)
    # the model reproduces the known samples better after the iterations than before
    g = np.fft.irfft2(outs[0][1], s=(F, F))
    assert (w[:, None] * (g - f) ** 2).sum() < (w[:, None] * f ** 2).sum()


def test_biharmonic_equals_scikit_image():
    from skimage.restoration import inpaint_biharmonic

    rng = np.random.default_rng(1)
    img = rng.random((24, 24, 3)).astype(np.float32)
    mask = _box(24, 24, 8, 14, 6, 12)
    ref = inpaint_biharmonic(img.astype(np.float64), mask, channel_axis=-1)
    out = inpaint(img, mask, "biharmonic")
    lo, hi = img[~mask].min(0), img[~mask].max(0)
    np.testing.assert_allclose(out[mask], np.clip(ref, lo, hi)[mask], atol=1e-6)


# ---------------------------------------------------------------- sizes, dtypes, channels

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [0, 3, 4])
@pytest.mark.parametrize("method", ["fsr", "telea"])
def test_sizes_and_dtypes_are_kept(dtype, channels, method):
    rng = np.random.default_rng(2)
    shape = (37, 29) if channels == 0 else (37, 29, channels)
    f = rng.random(shape)
    img = (f * 255).astype(dtype) if dtype == np.uint8 else (f * 65535).astype(dtype) if dtype == np.uint16 \
        else f.astype(dtype)
    before = img.copy()
    mask = _box(37, 29, 10, 20, 5, 15)
    out = inpaint(img, mask, method)
    assert out.shape == img.shape and out.dtype == img.dtype
    np.testing.assert_array_equal(out[~mask], img[~mask])
    np.testing.assert_array_equal(img, before)  # the input is not mutated


@pytest.mark.parametrize("method", ALL)
def test_every_method_runs_on_rgb_uint8(method):
    rng = np.random.default_rng(4)
    img = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[10:16, 12:20] = 255
    out = inpaint(img, mask, method, **_opts(method))
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mask == 0], img[mask == 0])


def test_rgba_alpha_fill_or_keep():
    img = np.zeros((32, 32, 4), np.uint8)
    img[..., :3] = 100
    img[..., 3] = 200
    mask = _box(32, 32, 10, 20, 10, 20)
    img[mask] = (0, 0, 0, 0)
    filled = inpaint(img, mask, "telea")
    kept = inpaint(img, mask, "telea", alpha="keep")
    assert np.abs(filled[mask][:, 3].astype(int) - 200).max() <= 2
    assert (kept[mask][:, 3] == 0).all()
    assert np.abs(kept[mask][:, :3].astype(int) - 100).max() <= 2


def test_exemplar_is_seeded():
    rng = np.random.default_rng(5)
    img = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    mask = _box(32, 32, 8, 20, 8, 20)
    a = inpaint(img, mask, "exemplar", seed=3)
    b = inpaint(img, mask, "exemplar", seed=3)
    np.testing.assert_array_equal(a, b)


@pytest.mark.extra("torch")
def test_dip_is_seeded():
    rng = np.random.default_rng(5)
    img = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    mask = _box(32, 32, 8, 20, 8, 20)
    d1 = inpaint(img, mask, "dip", seed=7, device="cpu", **DIP_TINY)
    d2 = inpaint(img, mask, "dip", seed=7, device="cpu", **DIP_TINY)
    np.testing.assert_array_equal(d1, d2)


def test_auto_is_fsr_and_empty_mask_returns_a_copy():
    img = _gradient(20, 20)
    mask = _box(20, 20, 5, 9, 5, 9)
    np.testing.assert_array_equal(inpaint(img, mask), inpaint(img, mask, "fsr"))
    out = inpaint(img, np.zeros((20, 20), bool), "fsr")
    assert out is not img
    np.testing.assert_array_equal(out, img)


# ---------------------------------------------------------------- bad input

def test_errors():
    img = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(ValueError, match=r"\(10, 11\).*\(10, 12, 3\)"):
        inpaint(img, np.zeros((10, 11), bool))
    with pytest.raises(ValueError, match="covers every pixel"):
        inpaint(img, np.ones((10, 12), bool))
    nan = np.zeros((10, 12), np.float32)
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        inpaint(nan, _box(10, 12, 1, 2, 1, 2))
    with pytest.raises(ValueError, match="unknown method 'lama'"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "lama")
    with pytest.raises(TypeError, match="unknown option.*sigma.*valid: radius"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "telea", sigma=2)
    with pytest.raises(ValueError, match="unknown alpha"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), alpha="drop")
    with pytest.raises(ValueError, match="passes"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "fsr", passes=3)
    with pytest.raises(ValueError, match="patch_size"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "exemplar", patch_size=4)
    with pytest.raises(TypeError, match="dtype"):
        inpaint(img, np.zeros((10, 12), dtype="U1"))
    with pytest.raises(TypeError, match="dtype int8"):
        inpaint(img.astype(np.int8), _box(10, 12, 1, 2, 1, 2))
    with pytest.raises(ValueError, match="`mask` must be 2-D"):
        inpaint(img, np.zeros((10, 12, 2), bool))


@pytest.mark.extra("torch")
def test_dip_errors():
    img = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(ValueError, match="device"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "dip", device="tpu", iterations=1)
    with pytest.raises(ValueError, match="iterations"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "dip", iterations=0)
    with pytest.raises(ValueError, match="unknown guide"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "dip", guide="lama", iterations=1)
    with pytest.raises(ValueError, match="time_budget"):
        inpaint(img, _box(10, 12, 1, 2, 1, 2), "dip", time_budget=0)


# ---------------------------------------------------------------- mask helpers

def test_mask_from_color_and_boxes_and_dilate():
    from scipy import ndimage

    img = np.zeros((20, 30, 3), np.uint8)
    img[2:5, 3:9] = (250, 10, 10)
    m = mask_from_color(img, (255, 0, 0), tolerance=10)
    assert m.sum() == 18 and m[2:5, 3:9].all()
    assert not mask_from_color(img, (255, 0, 0), tolerance=4).any()
    with pytest.raises(ValueError, match="3 values but the image has"):
        mask_from_color(img[..., 0], (1, 2, 3))

    dets = cvtools.Detections(xyxy=np.array([[10.0, 4.0, 20.0, 14.0]]))
    mb = mask_from_boxes(img.shape, dets, padding=0.2)
    assert mb[2:16, 8:22].all() and mb.sum() == 14 * 14
    assert mask_from_boxes(img, [[10, 4, 20, 14]], padding=3).sum() == 16 * 16
    me = mask_from_boxes(img.shape, [[10, 4, 20, 14]], ellipse=True)
    assert 0.7 * 100 < me.sum() < 0.85 * 100  # pi/4 of the box
    with pytest.raises(ValueError, match="xyxy"):
        mask_from_boxes(img.shape, [[5, 5, 2, 2]])

    rng = np.random.default_rng(0)
    seed_mask = rng.random((40, 40)) > 0.97
    yy, xx = np.mgrid[-3:4, -3:4]
    ref = ndimage.binary_dilation(seed_mask, structure=(yy ** 2 + xx ** 2) <= 9)
    got = dilate_mask(seed_mask, 3)
    np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError, match="radius"):
        dilate_mask(seed_mask, -1)


# ---------------------------------------------------------------- CLI and batch

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cvtools", "inpaint", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(6)
    img = (np.clip(_stripes(48, 64)[..., None] * [1, 0.8, 0.6] + rng.normal(0, 0.02, (48, 64, 3)), 0, 1)
           * 255).astype(np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[15:27, 20:34] = 255
    cvtools.write(tmp_path / "img.png", img)
    cvtools.write(tmp_path / "mask.png", mask)
    return tmp_path, img, mask > 0


@pytest.mark.parametrize("method", ALL)
def test_cli_methods(files, method):
    tmp, img, mask = files
    extra = ["--iterations", "10"] if method == "dip" else []
    r = _cli(tmp / "img.png", tmp / "mask.png", "-o", tmp / f"out_{method}.png", "--method", method, "--json",
             *extra)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["filled_pixels"] == mask.sum() and info["method"] == method
    out = cvtools.read(tmp / f"out_{method}.png")
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[~mask], img[~mask])
    assert np.abs(out[mask].astype(int) - img[mask]).mean() < 60


def test_cli_remove_and_usage_errors(files, shared_data):
    tmp, img, mask = files
    r = _cli(tmp / "img.png", "-o", tmp / "o.png")
    assert r.returncode == 2 and "exactly one" in r.stderr
    r = _cli(tmp / "img.png", tmp / "mask.png", "--remove", "face", "-o", tmp / "o.png")
    assert r.returncode == 2
    photo = shared_data / "face_detection" / "dlib_pascal_faces" / "2008_002470.jpg"
    if not photo.exists():
        pytest.skip(f"{photo} not found")
    r = _cli(photo, "--remove", "face", "-o", tmp / "anon.jpg", "--save-mask", tmp / "m.png", "--json",
             "--method", "telea")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["boxes"] >= 3 and info["filled_pixels"] > 0
    m = cvtools.read(tmp / "m.png") > 0
    src, out = cvtools.read(photo), cvtools.read(tmp / "anon.jpg")
    # the faces changed, the rest stayed (up to JPEG noise)
    assert np.abs(out[m].astype(int) - src[m]).mean() > 2 * np.abs(out[~m].astype(int) - src[~m]).mean()


def test_cli_remove_face_is_the_cnn_detector(tmp_path):
    """`--remove face` is YuNet: a 17 px face, too small for the Haar cascade (and dlib's HOG), is removed."""
    import cv2
    from skimage import data

    small = cv2.resize(data.astronaut(), (102, 102), interpolation=cv2.INTER_AREA)
    cvtools.write(tmp_path / "small.png", small)
    r = _cli(tmp_path / "small.png", "--remove", "face-haar", "-o", tmp_path / "haar.png", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["boxes"] == 0
    r = _cli(tmp_path / "small.png", "--remove", "face", "-o", tmp_path / "anon.png", "--save-mask",
             tmp_path / "m.png", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["boxes"] == 1
    m = cvtools.read(tmp_path / "m.png") > 0
    ys, xs = np.nonzero(m)
    # the face (eyes to chin, about x 37-53, y 15-35 at this size) is inside the mask, the rest is not
    assert xs.min() <= 37 and xs.max() >= 53 and ys.min() <= 15 and ys.max() >= 35 and m.mean() < 0.1


def test_batch_op_with_mask_folder(tmp_path):
    from cvtools.batch import Pipeline, run

    rng = np.random.default_rng(7)
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    imgs = {}
    for i, name in enumerate(["a", "b"]):
        img = (np.clip(_gradient(40, 40)[..., None] + rng.normal(0, 0.01, (40, 40, 3)), 0, 1) * 255).astype(np.uint8)
        mask = np.zeros((40, 40), np.uint8)
        mask[5 + 10 * i:15 + 10 * i, 10:20] = 255
        img[mask > 0] = (255, 0, 255)
        cvtools.write(tmp_path / "in" / f"{name}.png", img)
        cvtools.write(tmp_path / "masks" / (f"{name}.png" if i == 0 else f"{name}_mask.png"), mask)
        imgs[name] = (img, mask > 0)
    report = run(tmp_path / "in", tmp_path / "out", f"inpaint:mask_dir={tmp_path / 'masks'},method=fsr",
                 workers=1, progress=False)
    assert report.exit_code == 0, report.summary()
    for name, (img, mask) in imgs.items():
        out = cvtools.read(tmp_path / "out" / f"{name}.png")
        np.testing.assert_array_equal(out[~mask], img[~mask])
        assert (out[mask][:, 1] > 50).all()  # the magenta paint is gone (green came back)
    # a single mask file, straight through a Pipeline (no runner context needed)
    p = Pipeline.parse(f"inpaint:mask={tmp_path / 'masks' / 'a.png'},method=telea")
    out = p(imgs["a"][0])
    assert (out[imgs["a"][1]][:, 1] > 50).all()
    with pytest.raises(ValueError, match="mask_dir"):
        Pipeline.parse(f"inpaint:mask_dir={tmp_path / 'masks'}")(imgs["a"][0])


def test_batch_op_removes_what_a_detector_finds():
    import cv2
    from skimage import data

    from cvtools.batch import Pipeline, PipelineError

    small = cv2.resize(data.astronaut(), (102, 102), interpolation=cv2.INTER_AREA)
    out = Pipeline.parse("inpaint:remove=face,method=telea")(small)
    (box,) = cvtools.detect.get("face").detect(small).xyxy  # YuNet finds the 17 px face
    inside = cvtools.generative.mask_from_boxes(small.shape, [box], padding=0.15)
    changed = np.abs(out.astype(int) - small).max(axis=2) > 0
    assert changed[inside].mean() > 0.5 and not changed[~inside].any()
    assert np.array_equal(Pipeline.parse("inpaint:remove=face-haar")(small), small)  # Haar sees no face here
    with pytest.raises(PipelineError, match="unknown `remove` detector 'nope'; valid: face"):
        Pipeline.parse("inpaint:remove=nope")
    with pytest.raises(PipelineError, match="give one of `mask_dir`, `mask` or `remove`"):
        Pipeline.parse(f"inpaint:remove=face,mask={__file__}")


@pytest.mark.parametrize("shape", [(5, 5, 3), (3, 40)])
@pytest.mark.parametrize("method", ["fsr", "exemplar", "telea", "biharmonic"])
def test_tiny_images(shape, method):
    rng = np.random.default_rng(8)
    img = rng.random(shape).astype(np.float32)
    mask = np.zeros(shape[:2], bool)
    mask[1:3, 1:3] = True
    out = inpaint(img, mask, method)
    assert out.shape == img.shape and np.isfinite(out).all()
    assert out[mask].min() >= img[~mask].min() - 1e-6 and out[mask].max() <= img[~mask].max() + 1e-6
