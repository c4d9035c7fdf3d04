"""The op registry, Pipeline parsing/validation, the classic ops' behaviour, and `cvtools ops`."""
import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from scipy import ndimage

import cvtools
from cvtools import filtering, intensity
from cvtools.batch import Pipeline, PipelineError, get_op, list_ops, parse_value, register
from cvtools.batch import _registry
from cvtools.cli import main

REQUIRED_OPS = {
    "resize", "crop", "rotate", "flip", "pad", "grayscale", "invert", "gamma", "normalize", "equalize",
    "clahe", "threshold", "gaussian", "box", "median", "bilateral", "denoise", "sharpen", "sobel", "canny",
    "morphology", "convolve", "augment",
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "batch.md"


def _img(shape=(16, 20, 3), dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


# -- registry metadata --------------------------------------------------------------------------

def test_every_required_op_is_registered_and_documented():
    ops = {op.name: op for op in list_ops()}
    assert REQUIRED_OPS <= set(ops)
    for op in ops.values():
        assert op.summary, op.name
        for p in op.params:
            assert p.doc, f"{op.name}.{p.name} has no description"
            assert p.type_name != "any", f"{op.name}.{p.name} has no type"
    assert ops["augment"].extra == "augment"


def test_metadata_comes_from_the_function():
    @register("zz-test-op")
    def _op(image, *, level: int = 3, mode: Literal["a", "b"] = "a", ratio: float | None = None):
        """Do a test thing.

        Parameters
        ----------
        level : int
            How much.
        mode : {"a", "b"}
            Which way: a or b.
        ratio : float, optional
            A ratio.
        """
        return image

    try:
        op = get_op("zz-test-op")
        assert op.summary == "Do a test thing."
        assert [(p.name, p.type_name, p.default) for p in op.params] == [
            ("level", "int", 3), ("mode", "'a' | 'b'", "a"), ("ratio", "float | None", None)]
        assert op.params[1].doc == "Which way: a or b." and op.params[1].choices == ("a", "b")
        with pytest.raises(ValueError, match="registered twice"):
            register("zz-test-op")(_op)
    finally:
        _registry._REGISTRY.pop("zz-test-op", None)


def test_wrapped_library_defaults_are_the_library_defaults():
    import inspect

    lib = inspect.signature(filtering.gaussian).parameters
    op = get_op("gaussian")
    assert {p.name: p.default for p in op.params} == {k: lib[k].default for k in ("sigma", "border", "truncate")}


# -- parsing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("3", 3), ("-2.5", -2.5), ("1e-3", 1e-3), ("true", True), ("False", False), ("none", None),
    ("area", "area"), ("'a b'", "a b"), ("(3, 5)", (3, 5)), ("[1, 2]", [1, 2]),
    ("[[0,1,0],[1,-4,1],[0,1,0]]", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]), ("{'size': 5}", {"size": 5}),
])
def test_parse_value(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)


def test_pipeline_parse_types_and_round_trip():
    p = Pipeline.parse(" resize:scale=0.5,method=area | gaussian:sigma=1 | median:size=(3, 5) "
                       "| convolve:kernel=[[0,1,0],[1,-4,1],[0,1,0]],border=edge | equalize ")
    assert [s.op for s in p] == ["resize", "gaussian", "median", "convolve", "equalize"]
    assert p[1].params == {"sigma": 1.0} and isinstance(p[1].params["sigma"], float)
    assert p[2].params == {"size": (3, 5)}
    assert p[3].params["kernel"] == [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]
    assert Pipeline.parse(str(p)) == p
    assert Pipeline(p.to_list()) == p and json.loads(json.dumps(p.to_list())) == p.to_list()
    assert Pipeline([("gaussian", {"sigma": 2})]) == Pipeline.parse("gaussian:sigma=2.0")
    assert p.hash == Pipeline.parse(str(p)).hash
    assert p.hash != Pipeline.parse(str(p).replace("sigma=1.0", "sigma=2.0")).hash
    assert len(Pipeline.parse("")) == 0


@pytest.mark.parametrize("text, match", [
    ("gausian:sigma=1", r"unknown operation 'gausian' \(did you mean 'gaussian'\?\); valid: .*equalize"),
    ("gaussian:sgma=1", r"no parameter 'sgma'.*valid: sigma, border, truncate"),
    ("gaussian:sigma=abc", r"`sigma` must be float"),
    ("gaussian:sigma=true", r"`sigma` must be float"),
    ("median:size=2.5", r"`size` must be int"),
    ("resize:scale=0.5,method=cubicc", r"`method` must be one of 'auto', 'nearest'"),
    ("rotate", r"needs `angle`"),
    ("gaussian | | equalize", "empty step"),
    ("median:size=(3,3", "unclosed"),
    ("gaussian:sigma", "name=value"),
    ("convolve:kernel=nope", "unknown kernel 'nope'; valid: 'box'"),
    ("convolve:kernel=gaussian", "sigma"),
    ("convolve:kernel=[[1, 2]],kernel_params={'size': 3}", "named kernel only"),
])
def test_pipeline_errors_list_valid_names(text, match):
    with pytest.raises(PipelineError, match=match):
        Pipeline.parse(text)
    assert issubclass(PipelineError, ValueError)


def test_pipeline_file_yaml_and_json(tmp_path):
    y = tmp_path / "p.yaml"
    y.write_text("- op: resize\n  scale: 0.5\n- {op: gaussian, params: {sigma: 1}}\n- equalize\n")
    j = tmp_path / "p.json"
    j.write_text(json.dumps({"pipeline": [{"op": "resize", "scale": 0.5}, {"op": "gaussian", "sigma": 1},
                                          {"op": "equalize"}]}))
    expected = Pipeline.parse("resize:scale=0.5 | gaussian:sigma=1 | equalize")
    assert Pipeline.from_file(y) == expected == Pipeline.from_file(j)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- op: gaussian\n  sigma: [1, 2, 3]\n")
    with pytest.raises(PipelineError, match="sigma"):
        Pipeline.from_file(bad)
    with pytest.raises(PipelineError, match="'op' key"):
        Pipeline([{"sigma": 1}])
    with pytest.raises(PipelineError, match="cannot read pipeline file"):
        Pipeline.from_file(tmp_path / "missing.yaml")


def test_leading_reduce():
    assert Pipeline.parse("resize:scale=0.5 | equalize").leading_reduce() == 2
    assert Pipeline.parse("resize:scale=0.125,method=area").leading_reduce() == 8
    assert Pipeline.parse("resize:scale=0.5,method=cubic").leading_reduce() == 1
    assert Pipeline.parse("resize:scale=0.3").leading_reduce() == 1
    assert Pipeline.parse("equalize | resize:scale=0.5").leading_reduce() == 1


# -- the ops do what the library functions do ---------------------------------------------------

def test_pipeline_equals_direct_calls():
    img = _img((32, 40, 3))
    out = Pipeline.parse("resize:scale=0.5 | gaussian:sigma=1 | equalize")(img)
    ref = intensity.equalize(filtering.gaussian(cvtools.transform.resize(img, scale=0.5), 1.0))
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_mask_ops_write_uint8(dtype):
    img = _img((24, 24), dtype)
    th = get_op("threshold")(img)
    assert th.dtype == np.uint8 and set(np.unique(th)) <= {0, 255}
    np.testing.assert_array_equal(th > 0, intensity.threshold(img)[0])
    edges = get_op("canny")(img)
    assert edges.dtype == np.uint8 and set(np.unique(edges)) <= {0, 255}
    np.testing.assert_array_equal(edges > 0, filtering.canny(img))
    mag = get_op("sobel")(img)
    top = cvtools._shared.dtype_max(dtype)
    ref = np.clip(filtering.sobel(img).astype(np.float64) * (255 / (4 * top)), 0, 255)
    assert mag.dtype == np.uint8
    assert np.abs(mag - ref).max() <= 0.5 + 1e-3  # rounded, not truncated or rescaled per image


def test_sobel_op_scale_full_step_is_255():
    img = np.zeros((9, 9), np.uint8)
    img[:, 5:] = 255
    assert get_op("sobel")(img).max() == 255


def test_convolve_matches_scipy():
    img = _img((15, 17), np.float32)
    k = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    out = get_op("convolve")(img, kernel=k, border="reflect")
    np.testing.assert_allclose(out, ndimage.convolve(img, np.array(k, np.float32), mode="mirror"), atol=1e-5)
    box = Pipeline.parse("convolve:kernel=box,kernel_params={'size': 3}")(img)
    np.testing.assert_allclose(box, ndimage.uniform_filter(img, 3, mode="mirror"), atol=1e-5)
    u8 = get_op("convolve")(_img((8, 8)), kernel=[[1, 1], [1, 1]], normalize=True)
    assert u8.dtype == np.uint8


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_every_op_keeps_a_storable_image(dtype):
    img = _img((24, 28, 3), dtype)
    before = img.copy()
    for text in ["resize:width=10", "crop:width=8", "rotate:angle=30", "flip:direction=vertical", "pad:width=2",
                 "grayscale", "invert", "gamma:gamma=0.5", "normalize", "equalize", "clahe", "threshold",
                 "gaussian", "box", "median", "bilateral", "sharpen", "unsharp", "sobel", "canny",
                 "morphology:op=open", "convolve:kernel=sharpen", "noise:seed=1", "contrast_stretch"]:
        out = Pipeline.parse(text)(img)
        assert isinstance(out, np.ndarray) and out.ndim in (2, 3) and out.flags.writeable, text
        if text not in ("threshold", "sobel", "canny"):
            assert out.dtype == img.dtype, text
        np.testing.assert_array_equal(img, before)


def test_convert_op():
    img16 = _img((4, 4, 4), np.uint16)
    out = Pipeline.parse("convert:dtype=uint8,mode=rgb")(img16)
    assert out.dtype == np.uint8 and out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out, cvtools.to_uint8(img16[..., :3]))
    assert Pipeline.parse("convert:mode=gray")(out).shape == (4, 4)


def test_seed_is_derived_per_step_and_reproducible():
    img = np.full((16, 16), 128, np.uint8)
    p = Pipeline.parse("noise:amount=20")
    a, b, c = p(img, seed=1), p(img, seed=1), p(img, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    fixed = Pipeline.parse("noise:amount=20,seed=5")
    np.testing.assert_array_equal(fixed(img, seed=1), fixed(img, seed=2))


def test_op_failure_names_the_step():
    with pytest.raises(ValueError) as info:
        Pipeline.parse("gaussian:sigma=1 | crop:width=100")(np.zeros((8, 8), np.uint8))
    assert "step 2: crop:width=100" in " ".join(getattr(info.value, "__notes__", [])) or sys.version_info < (3, 11)


# -- augment (albumentations) -------------------------------------------------------------------

def test_augment_op_reproducible_and_spec_content_hashed(tmp_path):
    pytest.importorskip("albumentations")
    spec = tmp_path / "aug.yaml"
    spec.write_text("- HorizontalFlip: {p: 0.5}\n- Rotate: {limit: 20, p: 1.0}\n"
                    "- RandomBrightnessContrast: {p: 1.0}\n")
    p = Pipeline.parse(f"augment:spec='{spec}'")
    assert p == Pipeline([{"op": "augment", "spec": [{"HorizontalFlip": {"p": 0.5}},
                                                    {"Rotate": {"limit": 20, "p": 1.0}},
                                                    {"RandomBrightnessContrast": {"p": 1.0}}]}])
    img = _img((32, 32, 3))
    np.testing.assert_array_equal(p(img, seed=3), p(img, seed=3))
    assert not np.array_equal(p(img, seed=3), p(img, seed=4))
    flip = Pipeline([{"op": "augment", "spec": ["HorizontalFlip"]}])
    assert flip(img).dtype == np.uint8
    with pytest.raises(PipelineError, match="not an albumentations transform"):
        Pipeline([{"op": "augment", "spec": ["NoSuchTransform"]}])
    with pytest.raises(PipelineError, match="not found"):
        Pipeline.parse("augment:spec=missing.yaml")


# -- cvtools ops ----------------------------------------------------------------------------------

def test_cli_ops_list_show_json_markdown(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    for name in REQUIRED_OPS:
        assert f"\n{name} " in "\n" + out
    assert main(["ops", "gaussian"]) == 0
    out = capsys.readouterr().out
    assert "sigma : float | tuple[float, float]  (default 1.0)" in out and "gaussian:sigma=1.0" in out
    assert main(["ops", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in data} == {op.name for op in list_ops()}
    assert main(["ops", "--markdown"]) == 0
    md = capsys.readouterr().out
    assert md.count("\n| `") == len(list_ops())
    assert main(["ops", "gausian"]) == 2
    assert "did you mean 'gaussian'" in capsys.readouterr().err


def test_docs_op_table_lists_every_op():
    if not DOCS.exists():
        pytest.fail("docs/batch.md is missing")
    text = DOCS.read_text(encoding="utf-8")
    missing = [op.name for op in list_ops() if f"| `{op.name}` |" not in text]
    assert not missing, f"regenerate the table with `cvtools ops --markdown --update docs/batch.md`; missing: {missing}"


def test_import_cvtools_batch_is_light():
    code = ("import sys, cvtools.batch; cvtools.batch.list_ops(); "
            "print(sorted(m for m in ('torch', 'albumentations', 'dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("steps", [
    [{"op": "threshold", "method": "adaptive-mean", "block_size": 5}],
    [{"op": "convolve", "kernel": "motion_blur", "kernel_params": {"size": 9, "angle": 30.0}}],
    [{"op": "pad", "width": (1, 2, 3, 4), "border": "constant", "value": 255}],
    [{"op": "crop", "box": (1, 2.5, 10, 12)}, {"op": "rotate", "angle": -12.5, "expand": True}],
    [{"op": "augment", "spec": [{"HorizontalFlip": {"p": 0.5}}, "VerticalFlip",
                                {"OneOf": {"transforms": ["Blur", "GaussNoise"], "p": 0.3}}]}],
])
def test_text_round_trip(steps):
    if steps[0]["op"] == "augment":
        pytest.importorskip("albumentations")
    p = Pipeline(steps)
    assert Pipeline.parse(str(p)) == p and Pipeline(json.loads(json.dumps(p.to_list()))) == p


def test_op_parameter_named_op_uses_nested_params(tmp_path):
    p = Pipeline.parse("morphology:op=open,size=5 | equalize")
    assert p.to_list() == [{"op": "morphology", "params": {"op": "open", "size": 5}}, {"op": "equalize"}]
    assert Pipeline(p.to_list()) == p
    f = tmp_path / "m.yaml"
    f.write_text("- {op: morphology, params: {op: open, size: 5}}\n- equalize\n")
    assert Pipeline.from_file(f) == p
    with pytest.raises(PipelineError, match="both inline and under 'params'"):
        Pipeline([{"op": "gaussian", "sigma": 1, "params": {"sigma": 2}}])
    with pytest.raises(TypeError, match="'params' is reserved"):
        register("zz-bad")(lambda image, *, params=1: image)
