"""The Dask engine on a real distributed.LocalCluster (worker processes): same outputs as local."""
import json
import logging
from pathlib import Path

import numpy as np
import pytest

import cvtools
from cvtools.batch import run
from cvtools.cli import main

pytestmark = pytest.mark.extra("distributed")

PIPE = "resize:scale=0.5 | gaussian:sigma=1 | equalize"


@pytest.fixture(scope="module")
def cluster():
    import distributed

    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as c:
        yield c


def _tree(root: Path) -> Path:
    (root / "nested" / "ünï").mkdir(parents=True)
    yy, xx = np.mgrid[0:48, 0:64]
    for i in range(6):
        img = np.dstack([(xx * 3 + i) % 256, (yy * 5) % 256, (xx + yy * i) % 256]).astype(np.uint8)
        folder = root / ("nested/ünï" if i % 3 == 0 else "nested" if i % 3 == 1 else "")
        cvtools.write(folder / f"im{i}.jpg", img, quality=92)
    cvtools.write(root / "deep.png", (np.arange(48 * 64, dtype=np.uint16) * 13).reshape(48, 64))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def _outputs(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_dask_engine_is_byte_identical_to_local(cluster, tmp_path):
    src = _tree(tmp_path / "in")
    local = run(src, tmp_path / "local", PIPE, workers=2, quality=90)
    dask = run(src, tmp_path / "dask", PIPE, engine="dask", scheduler=cluster.scheduler_address, quality=90)
    assert _outputs(tmp_path / "dask") == _outputs(tmp_path / "local")
    assert len(_outputs(tmp_path / "dask")) == 7
    assert (dask.processed, dask.skipped, dask.outputs, dask.fused) == (local.processed, 0, 7, local.fused)
    assert [Path(f["path"]).name for f in dask.failed] == ["broken.jpg"]
    assert dask.engine == "dask" and dask.workers == 2
    # resume works the same: nothing left to do
    again = run(src, tmp_path / "dask", PIPE, engine="dask", scheduler=cluster.scheduler_address, quality=90)
    assert (again.processed, again.skipped) == (0, 7)


def test_dask_engine_from_the_cli(cluster, tmp_path, capsys):
    src = _tree(tmp_path / "in")
    code = main(["batch", str(src), str(tmp_path / "out"), "-p", "invert", "--engine", "dask",
                 "--scheduler", cluster.scheduler_address, "--report", str(tmp_path / "r.json")])
    assert code == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["processed"] == 7 and len(report["failed"]) == 1 and report["engine"] == "dask"
    np.testing.assert_array_equal(cvtools.read(tmp_path / "out" / "deep.png"),
                                  65535 - cvtools.read(src / "deep.png"))


def test_dask_engine_starts_its_own_local_cluster(tmp_path):
    src = _tree(tmp_path / "in")
    ref = run(src, tmp_path / "ref", "flip | grayscale", workers=0)
    report = run(src, tmp_path / "out", "flip | grayscale", engine="dask", workers=1)
    assert report.engine == "dask" and report.processed == ref.processed == 7
    assert _outputs(tmp_path / "out") == _outputs(tmp_path / "ref")
