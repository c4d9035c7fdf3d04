"""The op registry, Pipeline parsing/validation, the classic ops' behaviour, and `cvtools ops`."""
import json
import subprocess
import sys
import warnings
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

@pytest.mark.extra("augment")
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
    data = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # JSON lines
    assert {d["name"] for d in data} == {op.name for op in list_ops()}
    assert main(["ops", "-q"]) == 0
    assert capsys.readouterr().out.split() == [op.name for op in list_ops()]
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


# -- out-of-range parameters are usage errors, found when the pipeline is built --------------------

# One row at least per operation of `cvtools ops` (test_every_op_has_an_out_of_range_row checks it). The
# rules are the operations' own checks: the registry runs each op on tiny probe images when a pipeline
# is built; ops that load files or models check their parameters in `prepare`.
OUT_OF_RANGE = [
    ("gaussian:sigma=-1", "gaussian: `sigma` must be a finite number > 0; got -1.0."),
    ("gaussian:sigma=(1, 0)", "`sigma` must be a finite number > 0"),
    ("gaussian:truncate=0", "`truncate` must be a finite number > 0"),
    ("resize:scale=0", "resize: `scale` must be a number > 0; got 0.0."),
    ("resize:width=0", "`width` must be an integer >= 1"),
    ("resize:scale=0.5,width=10", "exactly one of `scale`, `width`/`height`, `size` or `max_side`"),
    ("resize:max_side=0", "`max_side` must be an integer >= 1"),
    ("resize:max_side=64,scale=0.5", "exactly one of"),
    ("median:size=4", "median: `size` must be odd and >= 1; got 4."),
    ("median:size=(3, 4)", "`size` must be odd"),
    ("box:size=0", "`size` must be odd and >= 1"),
    ("bilateral:diameter=0", "`diameter` must be an integer >= 1"),
    ("bilateral:sigma_color=-1", "`sigma_color` must be a finite number > 0"),
    ("denoise:template_size=4", "`template_size` must be odd"),
    ("denoise:strength=-3", "`strength` must be a finite number > 0"),
    ("sharpen:amount=-1", "`amount` must be a finite number >= 0"),
    ("unsharp:sigma=0", "`sigma` must be a finite number > 0"),
    ("canny:low=10,high=5", "`low` must be <= `high`"),
    ("clahe:clip_limit=0", "`clip_limit` must be a number > 0"),
    ("clahe:tile_size=0", "`tile_size` must be an integer >= 1"),
    ("gamma:gamma=-1", "`gamma` must be a finite number > 0"),
    ("normalize:out_range=(1, 0)", "`out_range` must have high > low"),
    ("contrast_stretch:low=50,high=10", "`low` must be < `high`"),
    ("contrast_stretch:high=150", "`high` must be a percentile in [0, 100]"),
    ("threshold:method=adaptive-mean,block_size=4", "`block_size` must be an odd integer >= 3"),
    ("threshold:method=fixed", "needs `value`"),
    ("morphology:op=open,iterations=0", "`iterations` must be an integer >= 1"),
    ("morphology:op=open,kernel=[[1, 0], [1]]", "`kernel` must be a matrix: rows of equal length; got rows of lengths 2, 1"),
    ("morphology:op=open,kernel=[[1, 1], [1, 1]]", "`kernel` must be 2-D with odd sides"),
    ("noise:amount=-1", "`amount` must be a finite number >= 0"),
    ("convolve:kernel=[[1, 2], [3]]", "convolve: `kernel` must be a matrix: rows of equal length"),
    ("convolve:kernel=[[]]", "`kernel` must be a non-empty 2-D matrix"),
    ("convolve:kernel=gaussian,kernel_params={'sigma': -1}", "`sigma` must be > 0"),
    ("crop", "crop needs `box`, or `width` and/or `height`"),
    ("crop:box=(0, 0, 2, 2),width=2", "not both"),
    ("rotate:angle=1e400", "`angle` must be a finite number of degrees"),
    ("pad:width=-1", "`width` must be an integer >= 0"),
    ("pad:width=(1, 2, 3)", "`width` must be an integer >= 0, (vertical, horizontal)"),
    ("flip:direction=diagonal", "`direction` must be one of 'horizontal'"),
    ("convert:dtype=int8", "`dtype` must be one of 'keep'"),
    ("sobel:border=mirror", "`border` must be one of 'reflect'"),
    ("equalize:clip=2", "operation 'equalize' has no parameter 'clip'"),
    ("grayscale:weights=1", "has no parameter 'weights'"),
    ("invert:max=1", "has no parameter 'max'"),
    ("detect:min_size=-5", "detect: `min_size` must be a finite number > 0; got -5.0."),
    ("identify:gallery=no/such/folder", "identify: `gallery` must name a folder"),
    ("identify:gallery=.,threshold=-1", "`threshold` must be a finite number > 0"),
    ("classify:model=no-such-model.npz", "classify: `model` must name a model file"),
    ("inpaint", "inpaint: needs `mask_dir`"),
    ("inpaint:mask_dir=no/such/folder", "`mask_dir` 'no/such/folder' is not a folder"),
    ("stylize:method=npr,strength=2", "stylize: `strength` must be a finite number in [0, 1]; got 2.0."),
    ("stylize:method=color", "method 'color' needs `style`"),
    ("augment:spec=[]", "the spec must be a non-empty list"),
]


@pytest.mark.parametrize("text, match", OUT_OF_RANGE)
def test_out_of_range_parameters_are_usage_errors(text, match):
    if text.startswith("augment"):
        pytest.importorskip("albumentations")
    with pytest.raises(PipelineError) as info:
        Pipeline.parse(text)
    assert match in str(info.value)


def test_every_op_has_an_out_of_range_row():
    covered = {text.split(":")[0] for text, _ in OUT_OF_RANGE}
    assert {op.name for op in list_ops()} <= covered


@pytest.mark.parametrize("text, match", [OUT_OF_RANGE[i] for i in (0, 3, 6, 25)])
def test_cli_out_of_range_exit_2_before_any_file(tmp_path, capsys, text, match):
    src = tmp_path / "in"
    src.mkdir()
    cvtools.write(src / "a.png", _img((8, 8, 3)))
    assert main(["batch", str(src), str(tmp_path / "out"), "-p", text, "-j", "0"]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", [
    "crop:width=1000",                       # wider than the probes, not than a photo
    "crop:box=(100, 100, 900, 700)",
    "pad:width=2,value=300",                 # outside uint8's range, inside uint16's
    "rotate:angle=5,value=1000",
    "median:size=31 | box:size=201 | gaussian:sigma=50 | threshold:method=adaptive-gaussian,block_size=101",
    "clahe:tile_size=(100, 3) | pad:width=1000,border=reflect | resize:width=5000",
])
def test_values_that_depend_on_the_image_are_left_to_the_files(text):
    Pipeline.parse(text)


def test_probing_runs_the_op_own_checks_and_can_be_turned_off():
    calls = []

    def strict(image, *, level: int = 1):
        """Test op.

        Parameters
        ----------
        level : int
            Must be 1.
        """
        calls.append(image.shape)
        warnings.warn("a warning inside a probe is not an error", UserWarning)
        if level != 1:
            raise ValueError(f"`level` must be 1; got {level}.")
        return image

    register("zz-strict")(strict)
    register("zz-unprobed", probe=False)(strict)
    try:
        Pipeline.parse("zz-strict:level=1")
        assert len(calls) == 1  # a valid value: one probe
        with pytest.raises(PipelineError, match=r"zz-strict: `level` must be 1; got 2\."):
            Pipeline.parse("zz-strict:level=2")
        calls.clear()
        Pipeline.parse("zz-unprobed:level=2")  # not run when the pipeline is built
        assert calls == []
    finally:
        _registry._REGISTRY.pop("zz-strict", None)
        _registry._REGISTRY.pop("zz-unprobed", None)


def test_duplicate_keys_are_an_error(tmp_path):
    with pytest.raises(PipelineError, match="`sigma` is given twice"):
        Pipeline.parse("gaussian:sigma=1,sigma=2")
    y = tmp_path / "dup.yaml"
    y.write_text("- {op: gaussian, sigma: 1, sigma: 2}\n")
    with pytest.raises(PipelineError, match="key 'sigma' is given twice"):
        Pipeline.from_file(y)
    j = tmp_path / "dup.json"
    j.write_text('[{"op": "gaussian", "sigma": 1, "sigma": 2}]')
    with pytest.raises(PipelineError, match="key 'sigma' is given twice"):
        Pipeline.from_file(j)


def test_yaml_aliases_and_huge_pipeline_files_are_refused(tmp_path):
    # "billion laughs": each level repeats the previous one 9 times (9**6 leaves here, kept small so
    # that the test stays harmless even where aliases were expanded)
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 6):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines.append("pipeline:\n- {op: convolve, kernel: box, kernel_params: {size: *a5}}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(PipelineError, match=r"aliases \(\*name\) are not allowed"):
        Pipeline.from_file(bomb)
    big = tmp_path / "big.yaml"
    big.write_text("- equalize\n" + "# padding\n" * 200_000)
    with pytest.raises(PipelineError, match="larger than 1048576 bytes"):
        Pipeline.from_file(big)
    anchors = tmp_path / "anchor.yaml"  # an anchor alone is harmless and still reads
    anchors.write_text("- &g {op: gaussian, sigma: 2}\n")
    assert Pipeline.from_file(anchors) == Pipeline.parse("gaussian:sigma=2")
