"""The `cvtools` command line as a whole: exit codes and the usage-error/bug boundary, and the one vocabulary
(--json lines with `path`/`error`/null, -o, -q, the batch runner) of classify, identify, inpaint, style, train
and info. Real subprocesses, real image files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cvtools


def _cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "cvtools", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def _lines(stdout: str) -> list[dict]:
    """Every stdout line parsed as JSON (fails on any other text: --json prints JSON lines only)."""
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Real photos (scikit-image's) in a small tree: top/a.png, top/sub/b.png, c.png."""
    from skimage import data

    root = tmp_path_factory.mktemp("photos")
    (root / "top" / "sub").mkdir(parents=True)
    cvtools.write(root / "top" / "a.png", data.astronaut()[::4, ::4])
    cvtools.write(root / "top" / "sub" / "b.png", data.chelsea()[::3, ::3])
    cvtools.write(root / "c.png", data.coffee()[::4, ::4])
    cvtools.write(root / "style.png", data.rocket()[::3, ::3])
    (root / "bad.png").write_bytes(b"not an image")
    return root


# ------------------------------------------------------------------------ errors and exit codes
def test_usage_error_is_one_line_exit_2(photos):
    r = _cli("style", photos / "c.png", "--builtin", "3", "--method", "color", "-o", photos / "x.png")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == ["cvtools style: error: --builtin needs --method fast; got --method color."]
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_usage_error_with_debug_shows_its_traceback(photos):
    for argv in (["--debug", "style"], ["style", "--debug"]):  # before or after the command
        r = _cli(*argv, photos / "c.png", "--builtin", "3", "--method", "color", "-o", photos / "x.png")
        assert r.returncode == 2
        assert "Traceback (most recent call last)" in r.stderr and "UsageError" in r.stderr
        assert r.stderr.rstrip().endswith("--builtin needs --method fast; got --method color.")


_BUG = textwrap.dedent("""
    import sys
    import cvtools.cli._info as info
    from cvtools.cli import main

    def run(args):  # what a bug in a command looks like
        kind = sys.argv[1]
        if kind == "type":
            return len(None)
        if kind == "value":
            return int("not a number")
        return {}["no such key"]

    info.run = run
    sys.exit(main(["info"]))
""")


@pytest.mark.parametrize("kind", ["type", "value", "key"])
def test_internal_bug_shows_its_traceback(kind):
    """A TypeError/ValueError/KeyError from inside a command is a bug: traceback, exit 1, never 'usage'."""
    r = subprocess.run([sys.executable, "-c", _BUG, kind], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback (most recent call last)" in r.stderr and "in run" in r.stderr
    assert "cvtools info: internal error:" in r.stderr and "This is a bug in cvtools" in r.stderr
    assert "cvtools info: error:" not in r.stderr


def test_unreadable_input_is_exit_1_without_traceback(photos):
    r = _cli("style", photos / "bad.png", "--method", "npr", "-o", photos / "x.png")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"cvtools style: {photos / 'bad.png'}: ")


def test_info_json_is_one_line_and_quiet_is_accepted():
    r = _cli("info", "--json", "-q")
    assert r.returncode == 0
    (report,) = _lines(r.stdout)
    assert report["cvtools"] == cvtools.__version__


#: The commands that write files: each names its output with -o/--output (some also take it positionally).
WRITERS = {"batch", "augment", "detect", "convert", "evaluate", "train", "inpaint", "style", "demo"}


def test_every_command_speaks_the_one_vocabulary():
    """--debug, -q/--quiet and a --json *flag* (JSON lines on stdout, never a file argument) on every
    command; -o/--output on every command that writes."""
    import argparse

    from cvtools.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert len(sub.choices) == len(COMMANDS)
    for name, p in sub.choices.items():
        opts = p._option_string_actions
        assert "--debug" in opts, name
        assert "--quiet" in opts and opts["-q"] is opts["--quiet"], name
        assert isinstance(opts.get("--json"), argparse._StoreTrueAction), name
        if name in WRITERS:
            assert "-o" in opts and opts["-o"] is opts["--output"], name


# ------------------------------------------------------------------------ train and classify
@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A hog-svm model trained by `cvtools train` on two classes of real textures."""
    from skimage import data

    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for cls, img in (("brick", data.brick()), ("grass", data.grass())):
        (root / "data" / cls).mkdir(parents=True)
        for i in range(8):
            y, x = rng.integers(0, 300, 2)
            cvtools.write(root / "data" / cls / f"{i}.png", img[y:y + 128, x:x + 128])
    r = _cli("train", root / "data", "-o", root / "m.npz", "--image-size", 32, "--json")
    assert r.returncode == 0, r.stderr
    (summary,) = _lines(r.stdout)  # one JSON line, not an indented document
    assert summary["classes"] == ["brick", "grass"] and summary["model"] == str(root / "m.npz")
    return root


def test_classify_json_lines_paths_errors_globs(model, photos):
    data = model / "data"
    r = _cli("classify", "-m", model / "m.npz", data / "brick" / "0.png", photos / "bad.png", data / "grass",
             str(data / "brick" / "[12].png"), str(data / "nothing*.png"), "--json", "--top", 2)
    assert r.returncode == 1
    rows = _lines(r.stdout)
    paths = [row["path"] for row in rows]
    assert paths == ([str(data / "brick" / "0.png"), str(photos / "bad.png")]
                     + [str(data / "grass" / f"{i}.png") for i in range(8)]
                     + [str(data / "brick" / "1.png"), str(data / "brick" / "2.png"), str(data / "nothing*.png")])
    good = [row for row in rows if "error" not in row]
    assert len(good) == 11 and all(set(row) == {"path", "label", "score", "top"} for row in good)
    assert [row["label"] for row in good[1:9]] == ["grass"] * 8
    assert rows[1]["error"] and rows[-1]["error"] == f"no image matches the pattern {str(data / 'nothing*.png')!r}"
    assert f"cvtools classify: {photos / 'bad.png'}: " in r.stderr
    assert "cvtools classify: 13 images, 11 ok, 2 failed" in r.stderr
    q = _cli("classify", "-m", model / "m.npz", data / "grass", "-q", "-j", "0")
    assert q.returncode == 0 and q.stderr == "" and len(q.stdout.splitlines()) == 8
    assert all("\tgrass " in line for line in q.stdout.splitlines())


def test_classify_evaluate_json_is_one_line(model):
    r = _cli("classify", "-m", model / "m.npz", model / "data", "--evaluate", "--json")
    assert r.returncode == 0, r.stderr
    (ev,) = _lines(r.stdout)
    assert ev["path"] == str(model / "data") and ev["accuracy"] >= 0.9 and ev["classes"] == ["brick", "grass"]


def test_classify_usage_errors(model, photos):
    r = _cli("classify", "-m", model / "m.npz", photos / "c.png", "--top", 0)
    assert r.returncode == 2 and "--top must be >= 1" in r.stderr
    r = _cli("classify", "-m", model / "m.npz", photos / "c.png", "-j", -1)
    assert r.returncode == 2 and "--workers must be >= 0" in r.stderr
    r = _cli("classify", "-m", photos / "c.png", photos / "c.png")
    assert r.returncode == 2 and r.stderr.startswith("cvtools classify: error: --model: ")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_failures_print_above_the_progress_bar(model, photos, tmp_path):
    """On a terminal the runner's bar is shown and a failed file's line is written above it (tqdm.write),
    not glued to the bar's own line."""
    from _pty import run_on_terminal

    files = sorted((model / "data" / "brick").glob("*.png"))[:3] + [photos / "bad.png"]
    code, _, text = run_on_terminal([sys.executable, "-m", "cvtools", "classify", "-m", str(model / "m.npz"),
                                     *map(str, files), "-j", "0"])
    assert code == 1
    assert "classify: 100%" in text and "4/4" in text
    lines = [line.split("\r")[-1] for line in text.split("\n")]
    assert any(line.startswith(f"cvtools classify: {photos / 'bad.png'}: ") for line in lines), text


# ------------------------------------------------------------------------ style and inpaint over folders
def test_style_folder_into_output_dir_with_relative_names(photos, tmp_path):
    out = tmp_path / "styled"
    r = _cli("style", photos / "top", photos / "c.png", "--style", photos / "style.png", "--json", "-o", out)
    assert r.returncode == 0, r.stderr
    rows = _lines(r.stdout)
    assert [row["path"] for row in rows] == [str(photos / "top" / "a.png"), str(photos / "top" / "sub" / "b.png"),
                                            str(photos / "c.png")]
    assert [row["output"] for row in rows] == [str(out / "top" / "a.png"), str(out / "top" / "sub" / "b.png"),
                                              str(out / "c.png")]
    assert all(row["method"] == "color" for row in rows)
    for row in rows:
        assert cvtools.read(row["output"]).shape == cvtools.read(row["path"]).shape
    # one folder: its images directly under -o DIR, the same as the library call on each
    r = _cli("style", photos / "top", "--method", "npr", "--effect", "cartoon", "-o", tmp_path / "one", "-q")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    from cvtools.generative import stylize

    ref = stylize(cvtools.read(photos / "top" / "sub" / "b.png"), method="npr", effect="cartoon")
    np.testing.assert_array_equal(cvtools.read(tmp_path / "one" / "sub" / "b.png"), ref)


def test_style_usage_errors(photos, tmp_path):
    r = _cli("style", photos / "top", "--method", "npr", "-o", tmp_path / "x.png")
    assert r.returncode == 2 and "-o DIR" in r.stderr
    r = _cli("style", photos / "top", "--method", "npr", "-o", photos / "top" / "out")
    assert r.returncode == 2 and "inside the input folder" in r.stderr
    r = _cli("style", photos / "c.png", "--method", "npr", "--device", "cpu", "-o", tmp_path / "x.png")
    assert r.returncode == 2 and "--device applies to --method fast and neural only" in r.stderr
    r = _cli("style", photos / "c.png", "--builtin", "1", "--device", "tpu", "-o", tmp_path / "x.png")
    assert r.returncode == 2 and "invalid device 'tpu'" in r.stderr
    r = _cli("style", photos / "c.png", "--style", photos / "bad.png", "-o", tmp_path / "x.png")
    assert r.returncode == 2 and r.stderr.startswith("cvtools style: error: --style: ")


@pytest.fixture(scope="module")
def masked(photos, tmp_path_factory):
    root = tmp_path_factory.mktemp("masked")
    mask = np.zeros((128, 128), np.uint8)
    mask[40:60, 30:70] = 255
    cvtools.write(root / "mask.png", mask)
    (root / "in" / "deep").mkdir(parents=True)
    from skimage import data

    cvtools.write(root / "in" / "a.png", data.astronaut()[::4, ::4])
    cvtools.write(root / "in" / "deep" / "b.png", data.coffee()[:384:3, :384:3])
    return root, mask > 0


def test_inpaint_single_file_as_before(masked, tmp_path):
    root, mask = masked
    src = root / "in" / "a.png"
    r = _cli("inpaint", src, root / "mask.png", "-o", tmp_path / "f.png", "--method", "telea", "--json")
    assert r.returncode == 0, r.stderr
    (info,) = _lines(r.stdout)
    assert info["path"] == str(src) and info["output"] == str(tmp_path / "f.png")
    assert info["filled_pixels"] == mask.sum() and info["method"] == "telea"
    from cvtools.generative import inpaint

    np.testing.assert_array_equal(cvtools.read(tmp_path / "f.png"), inpaint(cvtools.read(src), mask, "telea"))
    r = _cli("inpaint", src, root / "mask.png", "-o", tmp_path / "g.png")
    assert r.returncode == 0 and r.stdout.startswith(f"{tmp_path / 'g.png'}: filled {mask.sum()} pixels")


def test_inpaint_folder_with_one_mask_into_output_dir(masked, tmp_path):
    root, mask = masked
    out = tmp_path / "out"
    r = _cli("inpaint", root / "in", "--mask", root / "mask.png", "-o", out, "--save-mask", tmp_path / "m",
             "--method", "ns", "--json")
    assert r.returncode == 0, r.stderr
    rows = _lines(r.stdout)
    assert [row["output"] for row in rows] == [str(out / "a.png"), str(out / "deep" / "b.png")]
    from cvtools.generative import inpaint

    for rel in ("a.png", "deep/b.png"):
        np.testing.assert_array_equal(cvtools.read(out / rel), inpaint(cvtools.read(root / "in" / rel), mask, "ns"))
        np.testing.assert_array_equal(cvtools.read(tmp_path / "m" / rel) > 0, mask)
    # the legacy form IMAGE MASK takes a folder (or glob) as IMAGE too
    r = _cli("inpaint", str(root / "in" / "*.png"), root / "mask.png", "-o", tmp_path / "g", "-q")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["a.png"]


def test_inpaint_usage_errors(masked, tmp_path):
    root, _ = masked
    a, m = root / "in" / "a.png", root / "mask.png"
    r = _cli("inpaint", a, "-o", tmp_path / "o.png")
    assert r.returncode == 2 and "exactly one" in r.stderr
    r = _cli("inpaint", a, m, "--remove", "face", "-o", tmp_path / "o.png")  # two images need -o DIR
    assert r.returncode == 2 and "-o DIR" in r.stderr
    r = _cli("inpaint", a, "--mask", m, "--remove", "face", "-o", tmp_path / "o.png")
    assert r.returncode == 2 and "not both" in r.stderr
    r = _cli("inpaint", a, "--remove", "nope", "-o", tmp_path / "o.png")
    assert r.returncode == 2 and "--remove: unknown detector 'nope'" in r.stderr
    r = _cli("inpaint", a, m, "--device", "cpu", "-o", tmp_path / "o.png")
    assert r.returncode == 2 and "apply to --method dip only" in r.stderr


@pytest.mark.extra("face")
def test_inpaint_remove_faces_in_a_folder(masked, tmp_path):
    root, _ = masked
    r = _cli("inpaint", root / "in", "--remove", "face", "-o", tmp_path / "anon", "--json", "-j", "2")
    assert r.returncode == 0, r.stderr
    rows = {row["path"]: row for row in _lines(r.stdout)}
    assert rows[str(root / "in" / "a.png")]["boxes"] == 1 and rows[str(root / "in" / "deep" / "b.png")]["boxes"] == 0
    assert (tmp_path / "anon" / "deep" / "b.png").is_file()


# ------------------------------------------------------------------------ identify and the gallery layouts
@pytest.fixture(scope="module")
def faces():
    import cv2
    import matplotlib
    from skimage import data

    hopper = cvtools.read(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"), "rgb")
    return {"eileen": cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA),
            "grace": cv2.resize(hopper, (256, 300), interpolation=cv2.INTER_AREA)}


def test_gallery_files_both_layouts(tmp_path):
    from cvtools.identify._gallery import gallery_files

    for rel in ("alice.jpg", "alice_2.jpg", "alice-3.png", "alice (4).png", "bob/1.png", "bob/more/2.jpg",
                "r2-d2.png", "carol.txt", ".cvtools-cache/x.png", "eve/.hidden.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    paths, names = gallery_files(tmp_path)
    assert dict(zip((p.relative_to(tmp_path).as_posix() for p in paths), names)) == {
        "alice (4).png": "alice", "alice-3.png": "alice", "alice.jpg": "alice", "alice_2.jpg": "alice",
        "bob/1.png": "bob", "bob/more/2.jpg": "bob", "r2-d2.png": "r2-d2"}
    with pytest.raises(ValueError, match="holds no images; expected root/<name>/<image>.*root/<name>.jpg"):
        gallery_files(tmp_path / "eve")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        gallery_files(tmp_path / "nope")


@pytest.mark.extra("face", "viz")
def test_identify_both_gallery_layouts_and_null_for_unknown(faces, tmp_path):
    folders, flat = tmp_path / "folders", tmp_path / "flat"
    (folders / "eileen").mkdir(parents=True)
    flat.mkdir()
    cvtools.write(folders / "eileen" / "photo.png", faces["eileen"])
    cvtools.write(flat / "eileen_1.png", faces["eileen"])
    probes = tmp_path / "probes"
    probes.mkdir()
    cvtools.write(probes / "eileen.png", faces["eileen"])
    cvtools.write(probes / "grace.png", faces["grace"])
    results = {}
    for gallery in (folders, flat):
        r = _cli("identify", "--gallery", gallery, probes, "--json", "-q")
        assert r.returncode == 0 and r.stderr == "", r.stderr
        results[gallery.name] = rows = _lines(r.stdout)
        assert [row["path"] for row in rows] == [str(probes / "eileen.png"), str(probes / "grace.png")]
        ((eileen,), (grace,)) = (row["detections"] for row in rows)
        assert eileen["identity"] == "eileen" and eileen["distance"] < 0.1
        assert "identity" in grace and grace["identity"] is None  # JSON null, never the string "unknown"
        assert '"unknown"' not in r.stdout
    assert results["folders"] == results["flat"]
    r = _cli("identify", "--gallery", flat, probes / "grace.png", "-q")
    assert r.returncode == 0 and f"{probes / 'grace.png'}\t1 face(s)\tunknown (" in r.stdout


@pytest.mark.extra("face", "viz")
def test_identify_video_frames_and_images_in_one_folder(faces, tmp_path):
    from cvtools.io import VideoWriter

    gallery = tmp_path / "people"
    gallery.mkdir()
    cvtools.write(gallery / "eileen.png", faces["eileen"])
    cvtools.write(gallery / "grace.png", faces["grace"])
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    with VideoWriter(inputs / "clip.avi", 10.0, (256, 256)) as video:
        for _ in range(5):
            video.write(faces["eileen"])
    cvtools.write(inputs / "still.png", faces["grace"])
    r = _cli("identify", "--gallery", gallery, inputs, "--every", 2, "--json", "-q")
    assert r.returncode == 0, r.stderr
    rows = _lines(r.stdout)
    assert [(row["path"], row.get("frame")) for row in rows] == [
        (str(inputs / "clip.avi"), 0), (str(inputs / "clip.avi"), 2), (str(inputs / "clip.avi"), 4),
        (str(inputs / "still.png"), None)]
    assert [[d["identity"] for d in row["detections"]] for row in rows] == [["eileen"]] * 3 + [["grace"]]
    r = _cli("identify", "--gallery", gallery, inputs / "clip.avi", "--every", 0)
    assert r.returncode == 2 and "--every must be >= 1" in r.stderr


@pytest.mark.extra("torch")
def test_device_reaches_the_torch_paths(masked, model, tmp_path):
    """--device cuda runs on the GPU where torch sees one; elsewhere it is a usage error (one line, exit 2)
    before any work, never a failure of every input."""
    import torch

    root, mask = masked
    runs = {
        "inpaint": ["inpaint", root / "in" / "a.png", root / "mask.png", "-o", tmp_path / "dip.png", "--method", "dip",
                    "--iterations", 5],
        "style": ["style", root / "in" / "a.png", "--style", root / "in" / "deep" / "b.png", "--method", "neural",
                  "--iterations", 2, "--size", 64, "-o", tmp_path / "neural.png"],
        "train": ["train", model / "data", "--method", "cnn", "--epochs", 1, "--image-size", 32, "--no-augment", "-o",
                  tmp_path / "cnn.npz"],
    }
    for name, argv in runs.items():
        r = _cli(*argv, "--device", "cuda", "-q")
        if torch.cuda.is_available():
            assert r.returncode == 0, (name, r.stderr)
        else:
            assert r.returncode == 2, (name, r.stderr)
            (line,) = r.stderr.strip().splitlines()
            assert line.startswith(f"cvtools {name}: error: ") and "CUDA" in line, line
    r = _cli(*runs["inpaint"], "--device", "cpu", "--json")
    assert r.returncode == 0, r.stderr
    assert _lines(r.stdout)[0]["method"] == "dip"


@pytest.mark.extra("face", "viz", "torch")
def test_identify_device(faces, tmp_path):
    """identify --device: cpu names the face; cuda without a GPU is one usage-error line before any work."""
    import torch

    (tmp_path / "g").mkdir()
    (tmp_path / "p").mkdir()
    cvtools.write(tmp_path / "g" / "eileen.png", faces["eileen"])
    cvtools.write(tmp_path / "p" / "eileen.png", faces["eileen"])
    r = _cli("identify", "--gallery", tmp_path / "g", tmp_path / "p", "--json", "-q", "--no-cache", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert _lines(r.stdout)[0]["detections"][0]["identity"] == "eileen"
    r = _cli("identify", "--gallery", tmp_path / "g", tmp_path / "p", "-q", "--no-cache", "--device", "cuda")
    if torch.cuda.is_available():
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "CUDA" in r.stderr, r.stderr
