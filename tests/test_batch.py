"""cvtools.batch.run and `cvtools batch` / `cvtools augment`: real folders, real files, real processes."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cvtools
from cvtools.batch import MANIFEST_NAME, BatchLockedError, Pipeline, derive_seed, run
from cvtools.batch._manifest import Manifest
from cvtools.cli import main

PIPE = "resize:scale=0.5 | gaussian:sigma=1 | equalize"
BAD = {"corrupt.jpg": "truncated or corrupt", "empty.jpg": "empty", "notes.png": "not an image"}


def _rand(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    # smooth-ish content so JPEG behaves like a photo
    base = rng.integers(0, top, shape, endpoint=True).astype(np.float64)
    return np.clip(base, 0, top).astype(dtype)


@pytest.fixture
def tree(tmp_path):
    """An input tree with nested folders, unicode names, 16-bit and RGBA images and bad files."""
    root = tmp_path / "in"
    (root / "sub" / "déjà vu").mkdir(parents=True)
    cvtools.write(root / "a.jpg", _rand((32, 48, 3), seed=1), quality=90)
    cvtools.write(root / "sub" / "b.png", _rand((30, 40, 3), seed=2))
    cvtools.write(root / "sub" / "déjà vu" / "çà 日本.jpg", _rand((24, 24, 3), seed=3))
    cvtools.write(root / "sub" / "deep16.png", _rand((20, 22), np.uint16, seed=4))
    cvtools.write(root / "rgba.png", _rand((18, 20, 4), seed=5))
    good = (root / "a.jpg").read_bytes()
    (root / "corrupt.jpg").write_bytes(good[: len(good) // 2])
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.png").write_text("this is text, not a PNG")
    (root / "readme.txt").write_text("not an image extension: ignored")
    return root


GOOD = ["a.jpg", "rgba.png", "sub/b.png", "sub/deep16.png", "sub/déjà vu/çà 日本.jpg"]


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _outputs(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


@pytest.mark.parametrize("workers", [0, 2])
def test_run_mirrors_tree_records_failures_and_never_touches_input(tree, tmp_path, workers):
    before = _snapshot(tree)
    out = tmp_path / "out"
    report = run(tree, out, PIPE, workers=workers, quality=90)
    assert _snapshot(tree) == before
    assert sorted(_outputs(out)) == GOOD
    assert report.processed == 5 and report.skipped == 0 and report.outputs == 5
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(failed) == set(BAD)
    for name, reason in BAD.items():
        assert reason in failed[name] and name in failed[name]
    assert report.exit_code == 1
    # each output is the pipeline applied to the input (PNG exactly; JPEG: same encoder bytes)
    pipeline = Pipeline.parse(PIPE)
    for rel in ["rgba.png", "sub/b.png", "sub/deep16.png"]:
        expected = pipeline(cvtools.read(tree / rel))
        got = cvtools.read(out / rel)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    assert cvtools.read(out / "sub/deep16.png").dtype == np.uint16
    assert cvtools.read(out / "rgba.png").shape == (9, 10, 4)


def test_unfused_jpeg_output_is_exactly_the_pipeline(tree, tmp_path):
    out = tmp_path / "out"
    report = run(tree, out, PIPE, workers=0, quality=90, fuse=False, include="*.jpg")
    assert report.fused == 0
    expected = Pipeline.parse(PIPE)(cvtools.read(tree / "a.jpg"))
    assert (out / "a.jpg").read_bytes() == cvtools.io.encode(expected, ".jpg", quality=90)


def test_fused_decode_is_close_to_explicit_resize(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    yy, xx = np.mgrid[0:96, 0:128]
    photo = np.dstack([(xx * 2) % 256, (yy * 2) % 256, (xx + yy) % 256]).astype(np.uint8)
    cvtools.write(src / "even.jpg", photo, quality=95)
    cvtools.write(src / "odd.jpg", photo[:95, :127], quality=95)
    fused = run(src, tmp_path / "f", "resize:scale=0.5", workers=0, format="png")
    plain = run(src, tmp_path / "p", "resize:scale=0.5", workers=0, format="png", fuse=False)
    assert fused.fused == 1 and plain.fused == 0  # odd sides are never fused
    a = cvtools.read(tmp_path / "f" / "even.png").astype(int)
    b = cvtools.read(tmp_path / "p" / "even.png").astype(int)
    assert a.shape == b.shape == (48, 64, 3)
    assert np.abs(a - b).mean() < 1.5 and np.abs(a - b).max() <= 16
    assert (tmp_path / "f" / "odd.png").read_bytes() == (tmp_path / "p" / "odd.png").read_bytes()


def test_resume_skips_up_to_date_and_redoes_changed(tree, tmp_path):
    out = tmp_path / "out"
    first = run(tree, out, PIPE, workers=0)
    assert first.processed == 5 and (out / MANIFEST_NAME).exists()
    again = run(tree, out, PIPE, workers=0)
    assert (again.processed, again.skipped, len(again.failed)) == (0, 5, 3)
    # a changed input, a deleted output and a damaged output are redone; the rest skipped
    time.sleep(0.01)
    cvtools.write(tree / "sub" / "b.png", _rand((30, 40, 3), seed=9))
    (out / "a.jpg").unlink()
    with open(out / "rgba.png", "ab") as fh:
        fh.write(b"junk")
    third = run(tree, out, PIPE, workers=0)
    assert (third.processed, third.skipped) == (3, 2)
    np.testing.assert_array_equal(cvtools.read(out / "sub" / "b.png"),
                                  Pipeline.parse(PIPE)(cvtools.read(tree / "sub" / "b.png")))
    # another pipeline or quality redoes everything; --overwrite too
    assert run(tree, out, "resize:scale=0.5", workers=0).processed == 5
    assert run(tree, out, "resize:scale=0.5", workers=0, quality=80).processed == 5
    assert run(tree, out, "resize:scale=0.5", workers=0, quality=80).skipped == 5
    assert run(tree, out, "resize:scale=0.5", workers=0, quality=80, overwrite=True).processed == 5


def test_dry_run_reads_and_writes_nothing(tree, tmp_path):
    out = tmp_path / "out"
    events = []
    report = run(tree, out, PIPE, dry_run=True, on_file=events.append)
    assert not out.exists()
    assert report.planned == 8 and report.processed == 0 and report.dry_run
    assert {e.action for e in events} == {"process"}
    run(tree, out, PIPE, workers=0)
    again = run(tree, out, PIPE, dry_run=True)
    assert (again.planned, again.skipped) == (3, 5)  # only the bad files would be retried


def test_filters_recursion_and_formats(tree, tmp_path):
    r = run(tree, tmp_path / "o1", "", workers=0, recursive=False)
    assert sorted(_outputs(tmp_path / "o1")) == ["a.jpg", "rgba.png"]
    r = run(tree, tmp_path / "o2", "", workers=0, include=["*.PNG"], exclude="sub/deep*")
    assert sorted(_outputs(tmp_path / "o2")) == ["rgba.png", "sub/b.png"] and len(r.failed) == 1
    r = run(tree, tmp_path / "o3", "", workers=0, format="png", include="*.jpg")
    assert sorted(_outputs(tmp_path / "o3")) == ["a.png", "sub/déjà vu/çà 日本.png"]
    np.testing.assert_array_equal(cvtools.read(tmp_path / "o3" / "a.png"), cvtools.read(tree / "a.jpg"))


def test_unstorable_output_fails_that_file_clearly(tree, tmp_path):
    r = run(tree, tmp_path / "o", "", workers=0, format="jpg", include=["*.png"], exclude="notes.png")
    failed = {Path(f["path"]).name: f["error"] for f in r.failed}
    assert "uint16" in failed["deep16.png"] and "JPEG" in failed["deep16.png"]
    assert "4-channel" in failed["rgba.png"]
    assert r.processed == 1  # sub/b.png
    fixed = run(tree, tmp_path / "o2", "convert:dtype=uint8,mode=rgb", workers=0, format="jpg",
                include=["*.png"], exclude="notes.png")
    assert fixed.processed == 3 and not fixed.failed


def test_output_name_collision_is_a_failure_not_an_overwrite(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cvtools.write(src / "x.jpg", _rand((8, 8, 3)))
    cvtools.write(src / "x.png", _rand((8, 8, 3), seed=1))
    r = run(src, tmp_path / "out", "", workers=0, format="png")
    assert r.processed == 1 and "also the output of 'x.jpg'" in r.failed[0]["error"]


def test_fail_fast_stops_early(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a0.png").write_bytes(b"")
    for i in range(1, 12):
        cvtools.write(src / f"a{i}.png", _rand((8, 8)))
    r = run(src, tmp_path / "out", "invert", workers=0, fail_fast=True)
    assert r.stopped and len(r.failed) == 1 and r.processed == 0 and r.exit_code == 1


def test_refuses_output_inside_input_and_bad_arguments(tree, tmp_path):
    for out in (tree, tree / "sub" / "out"):
        with pytest.raises(ValueError, match="inside the input folder|is the input folder"):
            run(tree, out, PIPE)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(tmp_path / "nope", tmp_path / "out", PIPE)
    with pytest.raises(ValueError, match="unknown output format 'jpgg'"):
        run(tree, tmp_path / "out", PIPE, format="jpgg")
    with pytest.raises(ValueError, match="quality"):
        run(tree, tmp_path / "out", PIPE, quality=101)
    with pytest.raises(ValueError, match="engine"):
        run(tree, tmp_path / "out", PIPE, engine="spark")
    assert not (tmp_path / "out").exists()


def test_stale_temporaries_removed_and_lock(tree, tmp_path):
    out = tmp_path / "out"
    run(tree, out, PIPE, workers=0)
    stale = out / "sub" / ".cvtools-ab12cd34.tmp"  # a cvtools temporary nobody holds open
    stale.write_bytes(b"partial")
    run(tree, out, PIPE, workers=0)
    assert not stale.exists()
    holder = Manifest(out)
    try:
        with pytest.raises(BatchLockedError, match="another cvtools batch run"):
            run(tree, out, PIPE, workers=0)
    finally:
        holder.close()


def test_resume_keeps_user_tmp_files(tree, tmp_path):
    """Resume removes only cvtools' own stale temporaries, never a user's *.tmp file in OUTPUT."""
    out = tmp_path / "out"
    run(tree, out, PIPE, workers=0)
    (out / "notes").mkdir()
    user_files = [out / "notes" / ".thesis.backup01.tmp", out / "sub" / ".b.png.ab12cd34.tmp",
                  out / ".draft.tmp"]
    for i, p in enumerate(user_files):
        p.write_bytes(b"user data %d" % i)
    stale = out / "sub" / ".cvtools-0123abcd.tmp"
    stale.write_bytes(b"partial")
    run(tree, out, PIPE, workers=0)
    assert not stale.exists()
    for i, p in enumerate(user_files):
        assert p.read_bytes() == b"user data %d" % i


def test_progress_bar_only_when_asked(tree, tmp_path, capsys):
    run(tree, tmp_path / "o1", "invert", workers=0, progress=True)
    err = capsys.readouterr().err
    assert "batch" in err and "8/8" in err
    run(tree, tmp_path / "o2", "invert", workers=0, progress=False)
    assert capsys.readouterr().err == ""


def test_copies_and_seed_are_reproducible_across_workers(tree, tmp_path):
    args = dict(copies=3, seed=7, include="*.png", exclude=["notes.png", "deep16.png"])
    r1 = run(tree, tmp_path / "o1", "noise:amount=30", workers=0, **args)
    r2 = run(tree, tmp_path / "o2", "noise:amount=30", workers=2, **args)
    assert r1.outputs == r2.outputs == 6
    o1, o2 = _outputs(tmp_path / "o1"), _outputs(tmp_path / "o2")
    assert o1 == o2 and sorted(o1) == ["rgba_0.png", "rgba_1.png", "rgba_2.png",
                                       "sub/b_0.png", "sub/b_1.png", "sub/b_2.png"]
    assert o1["rgba_0.png"] != o1["rgba_1.png"]
    r3 = run(tree, tmp_path / "o3", "noise:amount=30", workers=0, **{**args, "seed": 8})
    assert _outputs(tmp_path / "o3")["rgba_0.png"] != o1["rgba_0.png"] and r3.processed == 2


# -- CLI ------------------------------------------------------------------------------------------

def test_cli_exit_codes_and_report(tree, tmp_path, capsys):
    report = tmp_path / "report.json"
    code = main(["batch", str(tree), str(tmp_path / "out"), "-p", PIPE, "--report", str(report), "-j", "0"])
    assert code == 1
    captured = capsys.readouterr()
    assert "processed 5, skipped 0 (up to date), failed 3" in captured.out
    # a failure line per bad file, on stderr: `cvtools batch: PATH: message`
    failures = [line for line in captured.err.splitlines() if line.startswith("cvtools batch: ")]
    assert sorted(Path(line.split(": ")[1]).name for line in failures) == sorted(BAD)
    data = json.loads(report.read_text())
    assert data["processed"] == 5 and data["skipped"] == 0 and isinstance(data["seconds"], float)
    assert sorted(Path(f["path"]).name for f in data["failed"]) == sorted(BAD)
    assert all(set(f) == {"path", "error"} for f in data["failed"])
    # only good files: exit 0; the second time everything is up to date
    good = ["--include", "*.png", "--exclude", "notes.png", "--include", "a.jpg"]
    assert main(["batch", str(tree), str(tmp_path / "o2"), "-p", PIPE, "-j", "0", *good]) == 0
    capsys.readouterr()
    assert main(["batch", str(tree), str(tmp_path / "o2"), "-p", PIPE, "-j", "0", "--json", *good]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped"] == 4 and data["processed"] == 0


@pytest.mark.parametrize("argv, message", [
    (["-p", "gausian:sigma=1"], "did you mean 'gaussian'"),
    (["-p", "gaussian:sigma=x"], "must be float"),
    (["-p", "resize:scale=0.5,method=magic"], "must be one of 'auto'"),
    (["--format", "xyz"], "unknown output format"),
    (["-p", "invert", "--pipeline-file", "x.yaml"], "not both"),
])
def test_cli_usage_errors_exit_2_before_touching_files(tree, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["batch", str(tree), str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_pipeline_file_and_output_inside_input(tree, tmp_path, capsys):
    pf = tmp_path / "p.yaml"
    pf.write_text("- {op: resize, scale: 0.5}\n- {op: flip, direction: vertical}\n")
    assert main(["batch", str(tree), str(tmp_path / "o"), "--pipeline-file", str(pf), "-j", "0",
                 "--exclude", "*.jpg", "--exclude", "notes.png"]) == 0
    np.testing.assert_array_equal(cvtools.read(tmp_path / "o" / "sub" / "b.png"),
                                  Pipeline.from_file(pf)(cvtools.read(tree / "sub" / "b.png")))
    assert main(["batch", str(tree), str(tree / "o"), "-p", "invert"]) == 2
    assert "inside the input folder" in capsys.readouterr().err


def test_cli_dry_run_lists(tree, tmp_path, capsys):
    assert main(["batch", str(tree), str(tmp_path / "o"), "-p", PIPE, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would write") == 8 and "would process 8" in out
    assert not (tmp_path / "o").exists()


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "cvtools", *args], capture_output=True, text=True,
                          timeout=120, **kw)


def test_subprocess_cli(tree, tmp_path):
    res = _cli("batch", str(tree), str(tmp_path / "out"), "--pipeline", PIPE, "--workers", "2",
               "--report", str(tmp_path / "r.json"))
    assert res.returncode == 1, res.stderr
    assert "processed 5, skipped 0 (up to date), failed 3" in res.stdout
    assert "\r" not in res.stderr  # no progress bar when stderr is not a terminal
    assert sorted(_outputs(tmp_path / "out")) == GOOD
    res = _cli("batch", str(tree), str(tmp_path / "out2"), "--pipeline", "nope")
    assert res.returncode == 2 and "valid:" in res.stderr


def test_subprocess_resume_after_sigkill(tmp_path):
    src = tmp_path / "in"
    (src / "d").mkdir(parents=True)
    yy, xx = np.mgrid[0:480, 0:640]
    for i in range(40):
        img = np.dstack([(xx + 7 * i) % 256, (yy * 3 + i) % 256, (xx ^ yy) % 256]).astype(np.uint8)
        cvtools.write(src / ("d" if i % 2 else "") / f"img{i:02d}.jpg", img, quality=90)
    pipe = "gaussian:sigma=2 | median:size=5 | equalize | sharpen"
    clean = tmp_path / "clean"
    assert _cli("batch", str(src), str(clean), "-p", pipe, "-j", "1").returncode == 0
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "cvtools", "batch", str(src), str(out), "-p", pipe, "-j", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(out.rglob("img*.jpg"))) < 4:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process tree, no chance to clean up
        proc.wait()
    done_before = len(list(out.rglob("img*.jpg")))
    assert 4 <= done_before < 40, "the run was not interrupted mid-way"
    res = _cli("batch", str(src), str(out), "-p", pipe, "-j", "2", "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    # outputs of jobs still in flight at the kill are redone (a job is ~0.1 s of work); the rest is skipped
    assert 1 <= report["skipped"] <= done_before and report["processed"] + report["skipped"] == 40
    assert _outputs(out) == _outputs(clean)
    for p in out.rglob("img*.jpg"):
        assert cvtools.read(p).shape == (480, 640, 3)
    assert not [p for p in out.rglob("*.tmp")]


@pytest.mark.extra("augment")
def test_augment_cli(tree, tmp_path, capsys):
    pytest.importorskip("albumentations")
    spec = tmp_path / "aug.yaml"
    spec.write_text("- HorizontalFlip: {p: 0.5}\n- Affine: {rotate: [-20, 20], p: 1.0}\n"
                    "- RandomBrightnessContrast: {p: 0.9}\n")
    common = ["--spec", str(spec), "--copies", "3", "--seed", "11", "--include", "*.jpg",
              "--exclude", "corrupt.jpg", "--exclude", "empty.jpg"]
    assert main(["augment", str(tree), str(tmp_path / "a1"), *common, "-j", "0"]) == 0
    a1 = _outputs(tmp_path / "a1")
    assert sorted(a1) == ["a_0.jpg", "a_1.jpg", "a_2.jpg", "sub/déjà vu/çà 日本_0.jpg",
                          "sub/déjà vu/çà 日本_1.jpg", "sub/déjà vu/çà 日本_2.jpg"]
    assert len(set(a1.values())) == 6
    # reproducible by definition: copy i of file rel uses derive_seed(seed, rel, i), whatever the scheduling
    pipeline = Pipeline([{"op": "augment", "spec": str(spec)}])
    for rel in ["a.jpg", "sub/déjà vu/çà 日本.jpg"]:
        for i in range(3):
            expected = pipeline(cvtools.read(tree / rel), seed=derive_seed(11, rel, i))
            assert a1[rel.replace(".jpg", f"_{i}.jpg")] == cvtools.io.encode(expected, ".jpg")
    assert main(["augment", str(tree), str(tmp_path / "a3"), "--spec", str(spec), "--copies", "1",
                 "--seed", "12", "-j", "0", "--include", "a.jpg"]) == 0
    assert _outputs(tmp_path / "a3")["a_0.jpg"] != a1["a_0.jpg"]
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text("- NotATransform: {}\n")
    assert main(["augment", str(tree), str(tmp_path / "a4"), "--spec", str(bad)]) == 2
    assert "not an albumentations transform" in capsys.readouterr().err


def test_file_list_streams_with_bounded_jobs_in_flight(tmp_path, monkeypatch):
    import cvtools.batch._runner as runner

    src = tmp_path / "in"
    src.mkdir()
    for i in range(30):
        cvtools.write(src / f"f{i:02d}.png", _rand((4, 4), seed=i))
    pulled = []
    real = runner._iter_inputs

    def counting(*args, **kwargs):
        for item in real(*args, **kwargs):
            pulled.append(item)
            yield item

    monkeypatch.setattr(runner, "_iter_inputs", counting)
    seen_at_first_result = []

    def on_file(event):
        if not seen_at_first_result:
            seen_at_first_result.append(len(pulled))

    for workers in (0, 1):
        pulled.clear()
        seen_at_first_result.clear()
        report = run(src, tmp_path / f"out{workers}", "invert", workers=workers, progress=False, on_file=on_file)
        assert report.processed == 30
        # the walk is consumed as results come back, not collected up front (<= 3 jobs per worker slot)
        assert seen_at_first_result[0] <= 4, seen_at_first_result


def test_single_file_input_never_replaced(tmp_path):
    src = tmp_path / "photo.png"
    cvtools.write(src, _rand((8, 8, 3)))
    before = src.read_bytes()
    r = run(src, tmp_path, "invert", workers=0)
    assert r.processed == 0 and "replace the input" in r.failed[0]["error"]
    assert src.read_bytes() == before
    r = run(src, tmp_path / "out", "invert", workers=0)
    assert r.processed == 1
    np.testing.assert_array_equal(cvtools.read(tmp_path / "out" / "photo.png"), 255 - cvtools.read(src))


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_subprocess_progress_bar_on_a_terminal(tree, tmp_path):
    from _pty import run_on_terminal

    code, out, text = run_on_terminal([sys.executable, "-m", "cvtools", "batch", str(tree), str(tmp_path / "o"),
                                       "-p", "invert", "-j", "0"])
    assert code == 1
    assert "batch: 100%" in text and "8/8" in text and "img/s" in text  # count, rate (and ETA while running)
    assert "processed 5" in out.decode() and "batch:" not in out.decode()


def test_content_fingerprint_ignores_touch(tree, tmp_path):
    out = tmp_path / "out"
    args = dict(workers=0, include="*.png", exclude="notes.png")
    assert run(tree, out, "invert", fingerprint="content", **args).processed == 3
    st = (tree / "rgba.png").stat()
    os.utime(tree / "rgba.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert run(tree, out, "invert", fingerprint="content", **args).skipped == 3
    out2 = tmp_path / "out2"
    assert run(tree, out2, "invert", **args).processed == 3
    os.utime(tree / "rgba.png", ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    again = run(tree, out2, "invert", **args)
    assert (again.processed, again.skipped) == (1, 2)


# -- faults: killed parents, SIGTERM, scripts without the main guard, hostile names ----------------

def _photos(root: Path, n: int, size=(240, 320)) -> None:
    root.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    for i in range(n):
        img = np.dstack([(xx + 7 * i) % 256, (yy * 3 + i) % 256, (xx ^ yy) % 256]).astype(np.uint8)
        cvtools.write(root / f"img{i:02d}.png", img)


SLOW = "denoise:strength=5 | gaussian:sigma=2"  # ~0.1 s per 320x240 file: a run lasts a few seconds


def _group_alive(pgid: int) -> list[str]:
    """Processes of process group ``pgid`` that are still running (zombies waiting to be reaped do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(text[:text.rindex(")") + 1])
    return alive


def _default_sigint():
    # A shell's background job (`cmd &`, as CI runners may start the suite) inherits SIGINT ignored, and Python
    # then installs no KeyboardInterrupt handler: give the batch the terminal's default, as an interactive
    # Ctrl+C would find it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_batch(src, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "cvtools", "batch", str(src), str(out), "-p", SLOW, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)


def _wait_outputs(out: Path, count: int, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while len(list(out.glob("img*.png"))) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_parent_alone_leaves_no_process(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _photos(src, 40)
    proc = _start_batch(src, out, "-j", "2")
    try:
        _wait_outputs(out, 2, proc)
        assert len(_group_alive(proc.pid)) >= 4  # parent, fork server, resource tracker, workers
        proc.kill()  # the parent only: no cleanup runs in it
        proc.communicate()
        deadline = time.monotonic() + 15
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _group_alive(proc.pid)
        assert not left, f"still running after the parent was killed: {left}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert len(list(out.glob("img*.png"))) < 40, "the run ended before the kill"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_print_the_summary_and_exit_130(tmp_path, sig):
    src, out = tmp_path / "in", tmp_path / "out"
    _photos(src, 40)
    proc = _start_batch(src, out, "-j", "2", "--report", str(tmp_path / "r.json"))
    try:
        _wait_outputs(out, 4, proc)  # both workers started (a worker ignores Ctrl+C once started)
        if sig == signal.SIGTERM:
            proc.send_signal(sig)  # as `kill`, systemd or docker stop: the parent alone
        else:
            os.killpg(proc.pid, sig)  # Ctrl+C reaches the whole foreground process group
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted: run the same command again to resume" in stdout, stdout + stderr
    done = int(re.search(r"processed (\d+)", stdout).group(1))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["interrupted"] and report["processed"] == done and not report["failed"], report
    written = sorted(out.glob("img*.png"))
    # the workers finished the files in hand (outputs whole); an output whose recording the signal cut
    # short is on disk but not counted, and is redone by the next run
    assert 2 <= done <= len(written) < 40, (done, len(written))
    assert all(cvtools.read(p).shape == (240, 320, 3) for p in written)
    deadline = time.monotonic() + 15
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(proc.pid)
    res = _cli("batch", str(src), str(out), "-p", SLOW, "--dry-run", "--json")
    again = json.loads(res.stdout)  # a resume redoes only the rest
    assert res.returncode == 0 and done <= again["skipped"] <= len(written), (done, again)
    assert again["skipped"] + again["planned"] == 40


GUARDLESS = """
from cvtools.batch import run
report = run({src!r}, {out!r}, "invert", workers=2)
print(report.summary())
"""


def test_script_without_main_guard_gets_told_what_to_add(tmp_path):
    _photos(tmp_path / "in", 3, size=(8, 8))
    script = tmp_path / "script.py"
    script.write_text(GUARDLESS.format(src=str(tmp_path / "in"), out=str(tmp_path / "out")))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 1
    assert f"{script}, line 3" in res.stderr and 'if __name__ == "__main__":' in res.stderr, res.stderr
    assert "worker process died" not in res.stdout + res.stderr
    assert not (tmp_path / "out").exists()
    guarded = tmp_path / "guarded.py"
    body = GUARDLESS.format(src=str(tmp_path / "in"), out=str(tmp_path / "out")).strip().splitlines()
    guarded.write_text(body[0] + "\n\nif __name__ == \"__main__\":\n" + "".join(f"    {line}\n" for line in body[1:]))
    res = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and "processed 3, skipped 0 (up to date), failed 0" in res.stdout, res.stderr
    # workers=0 starts no process, so no guard is needed
    inline = tmp_path / "inline.py"
    inline.write_text(GUARDLESS.format(src=str(tmp_path / "in"), out=str(tmp_path / "o0")).replace("workers=2", "workers=0"))
    res = subprocess.run([sys.executable, str(inline)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and "processed 3" in res.stdout, res.stderr


def test_run_refuses_while_a_worker_imports_the_main_script(tmp_path):
    # what a worker process sees when the main script (imported as __mp_main__) calls run() at its top level
    code = compile("run(src, out, 'invert', workers=0)", str(tmp_path / "script.py"), "exec")
    with pytest.raises(cvtools.batch.BatchEngineError, match="importing the main script.*if __name__"):
        exec(code, {"__name__": "__mp_main__", "run": run, "src": tmp_path, "out": tmp_path / "out"})
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="file names with newlines")
def test_a_file_name_cannot_forge_output_lines(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cvtools.write(src / "good.png", _rand((8, 8)))
    evil = "x.png\nFAILED forged.png: it was never read\nprocessed 99"
    (src / (evil + ".png")).write_text("not an image")
    res = _cli("batch", str(src), str(tmp_path / "out"), "-p", "invert", "-j", "0", "--report", str(tmp_path / "r.json"))
    assert res.returncode == 1, res.stderr
    lines = res.stderr.splitlines()
    assert len([line for line in lines if line.startswith("cvtools batch: ")]) == 1, res.stderr
    assert not any(line.startswith(("FAILED forged", "processed 99")) for line in lines), res.stderr
    assert not any(line.startswith(("FAILED forged", "processed 99")) for line in res.stdout.splitlines())
    assert repr(str(src / (evil + ".png"))) in res.stderr  # the name, quoted with its escapes
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["failed"][0]["path"] == str(src / (evil + ".png"))  # JSON keeps it exactly
    res = _cli("batch", str(src), str(tmp_path / "o2"), "-p", "invert", "--dry-run")
    assert "forged" not in "".join(line for line in res.stdout.splitlines() if not line.startswith("would write"))
    assert len(res.stdout.splitlines()) == 3  # two files, one summary


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_symlinks_into_output_are_not_inputs(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cvtools.write(src / "a.png", _rand((8, 8), seed=1))
    out.mkdir()
    cvtools.write(out / "old.png", _rand((8, 8), seed=2))
    (out / "sub").mkdir()
    cvtools.write(out / "sub" / "deep.png", _rand((8, 8), seed=3))
    os.symlink(out, src / "link-to-out")                  # the whole output folder
    os.symlink(out / "sub", src / "link-to-sub")          # a folder inside it
    os.symlink(out / "old.png", src / "link-to-old.png")  # one file in it
    os.symlink(out / "a.png", src / "link-ahead.png")     # an output this very run writes
    report = run(src, out, "invert", workers=0)
    assert (report.processed, report.failed) == (1, [])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["a.png", "old.png", "sub/deep.png"]
    assert run(src, out, "invert", dry_run=True).skipped == 1
    # an INPUT inside OUTPUT is allowed: its own files are inputs
    assert run(out / "sub", out, "invert", workers=0).processed == 1 and (out / "deep.png").exists()


# -- events, worker results, map_items, pipeline text, resize:max_side -------------------------------

def test_on_file_events_are_frozen_dataclasses_with_to_dict(tree, tmp_path):
    import dataclasses

    from cvtools.batch import FileEvent

    out = tmp_path / "out"
    events = []
    report = run(tree, out, "invert", workers=0, on_file=events.append)
    assert all(isinstance(e, FileEvent) for e in events) and len(events) == 8
    by_name = {Path(e.path).name: e for e in events}
    assert {n for n, e in by_name.items() if e.action == "fail"} == set(BAD)
    assert by_name["corrupt.jpg"].outputs == () and "truncated or corrupt" in by_name["corrupt.jpg"].error
    done = by_name["b.png"]
    assert done.action == "done" and done.error is None and done.outputs == (str(out / "sub" / "b.png"),)
    assert json.loads(json.dumps(done.to_dict())) == {"action": "done", "path": str(tree / "sub" / "b.png"),
                                                      "outputs": [str(out / "sub" / "b.png")], "error": None}
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.action = "skip"
    assert report.processed == 5 and report.failed == [{"path": e.path, "error": e.error}
                                                       for e in events if e.action == "fail"]
    again = []
    run(tree, out, "invert", workers=0, on_file=again.append)
    assert {e.action for e in again if Path(e.path).name not in BAD} == {"skip"}
    assert {Path(e.path).name: e.outputs for e in again}["b.png"] == done.outputs


def test_process_job_returns_frozen_results(tmp_path):
    from cvtools.batch import FileResult, JobResult, OutputResult, TaskResult, process_job

    cvtools.write(tmp_path / "a.png", _rand((6, 8)))
    job = {"items": [{"src": str(tmp_path / "a.png"), "rel": "a.png", "outputs": [[str(tmp_path / "o.png"), None]]},
                     {"src": str(tmp_path / "missing.png"), "rel": "missing.png", "outputs": [[str(tmp_path / "m.png"), None]]}],
           "pipeline": json.dumps(Pipeline("flip").to_list())}
    res = process_job(job)
    assert isinstance(res, JobResult) and res.seconds >= 0
    good, bad = res.items
    assert good == FileResult((OutputResult(str(tmp_path / "o.png"), (tmp_path / "o.png").stat().st_size),))
    np.testing.assert_array_equal(cvtools.read(tmp_path / "o.png"), cvtools.read(tmp_path / "a.png")[:, ::-1])
    assert bad.outputs == () and "missing.png" in bad.error and not (tmp_path / "m.png").exists()
    assert process_job({"task": int, "items": ["3", "x"]}).items == (
        TaskResult(3), TaskResult(None, "ValueError: invalid literal for int() with base 10: 'x'"))


def test_map_items_reports_a_worker_that_dies():
    from cvtools.batch import map_items

    # os._exit(3) kills the worker process running it: each such item fails with a message, none hangs
    results = list(map_items(os._exit, [3, 3], workers=1, chunk=1, progress=False))
    assert [item for item, _, _ in results] == [3, 3]
    assert all(res is None and "worker process died" in err for _, res, err in results)
    assert [r for _, r, _ in map_items(abs, [-1, -2, -3], workers=2, chunk=1, progress=False)] == [1, 2, 3]


@pytest.mark.parametrize("text, word", [
    ("resize:scale=0.5 gaussian:sigma=1", "gaussian"),
    ("flip equalize", "equalize"),
    ("resize:scale=0.5 | gaussian:sigma=1  equalize", "equalize"),
])
def test_a_missing_bar_is_pointed_at(text, word):
    from cvtools.batch import PipelineError

    with pytest.raises(PipelineError) as info:
        Pipeline.parse(text)
    lines = str(info.value).splitlines()
    assert lines[0] == f"missing '|' before operation {word!r}:"
    assert lines[1] == f"  {text}"
    assert lines[2] == "  " + " " * text.rindex(word) + "^"  # the caret under the operation's first letter
    fixed = re.search(r"write '(.*)'", lines[3]).group(1)
    assert Pipeline.parse(fixed) == Pipeline.parse(text.replace(f" {word}", f" | {word}"))


def test_spaces_that_are_not_a_missing_bar_still_parse():
    assert str(Pipeline.parse("resize : scale = 0.5 , method = area | flip")) == "resize:scale=0.5,method=area | flip"
    assert str(Pipeline.parse("pad:width=(1, 2) |  gaussian : sigma=1")) == "pad:width=(1, 2) | gaussian:sigma=1.0"
    from cvtools.batch import PipelineError

    with pytest.raises(PipelineError, match="`method` must be one of"):  # a quoted value is a value
        Pipeline.parse("threshold:method='flip equalize'")


def test_cli_points_at_a_missing_bar(tree, tmp_path, capsys):
    assert main(["batch", str(tree), str(tmp_path / "o"), "-p", "resize:scale=0.5 gaussian:sigma=1"]) == 2
    err = capsys.readouterr().err
    assert "missing '|' before operation 'gaussian'" in err and "                   ^" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("shape", [(60, 100, 3), (100, 60), (40, 30)])
def test_resize_max_side_only_shrinks(shape):
    import cv2

    img = _rand(shape, seed=7)
    out = Pipeline.parse("resize:max_side=50")(img)
    h, w = shape[:2]
    if max(h, w) <= 50:  # never enlarged: the same pixels
        np.testing.assert_array_equal(out, img)
        return
    assert max(out.shape[:2]) == 50 and out.shape[2:] == img.shape[2:]
    ref = cv2.resize(img, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out, ref)  # area averaging, as auto picks for shrinking
    assert abs(out.shape[0] / out.shape[1] - h / w) < 0.05  # aspect ratio kept


def test_resize_max_side_in_a_run_and_in_the_ops_listing(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cvtools.write(src / "big.png", _rand((80, 120, 3)))
    cvtools.write(src / "small.png", _rand((20, 30, 3), seed=1))
    report = run(src, tmp_path / "out", "resize:max_side=60", workers=0)
    assert report.processed == 2
    assert cvtools.read(tmp_path / "out" / "big.png").shape == (40, 60, 3)
    np.testing.assert_array_equal(cvtools.read(tmp_path / "out" / "small.png"), cvtools.read(src / "small.png"))
    listing = _cli("ops", "resize")
    assert listing.returncode == 0 and "max_side : int | None" in listing.stdout and "never enlarged" in listing.stdout
    res = _cli("batch", str(src), str(tmp_path / "o2"), "-p", "resize:max_side=1.5")
    assert res.returncode == 2 and "`max_side` must be int" in res.stderr


def test_cli_a_bug_inside_batch_run_shows_its_traceback(tree, tmp_path, capsys, monkeypatch):
    """Only usage errors are one line (exit 2): a TypeError/ValueError from a bug is not dressed up as one."""
    import cvtools.batch

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(cvtools.batch, "run", broken)
    assert main(["batch", str(tree), str(tmp_path / "out"), "-p", "invert"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error: TypeError" in err


def test_cli_output_as_argument_or_option(tree, tmp_path, capsys):
    """`-o/--output` names the output folder as on every other command; OUTPUT still works."""
    # the tree holds three unreadable files: exit 1 both ways, the same outputs
    assert main(["batch", str(tree), "-o", str(tmp_path / "a"), "-p", "invert", "-j", "0", "-q"]) == 1
    assert main(["batch", str(tree), str(tmp_path / "b"), "-p", "invert", "-j", "0", "-q"]) == 1
    a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert a and a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    capsys.readouterr()
    assert main(["batch", str(tree), str(tmp_path / "c"), "-o", str(tmp_path / "d"), "-p", "invert"]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main(["batch", str(tree), "-p", "invert"]) == 2
    assert "no output folder" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()
