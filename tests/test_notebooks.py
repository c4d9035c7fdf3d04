"""Every notebook in notebooks/ is executed top to bottom, so none can go stale."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cvtools._shared import EXTRAS

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

# Extras a notebook needs that its top-level imports do not show (a notebook's guarded, indented imports
# are optional: it says what is missing and goes on).
INDIRECT = {"03_recognition_and_identification": ("torch", "face")}  # the cnn method, face galleries


def _extras(path: Path) -> tuple[str, ...]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    top = set(re.findall(r"^(?:import|from)\s+(\w+)", code, re.M))
    return tuple(sorted({EXTRAS[m][0] for m in top if m in EXTRAS} | set(INDIRECT.get(path.stem, ()))))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no .ipynb files"


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.extra(*_extras(p))) for p in NOTEBOOKS],
                         ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    # Notebooks read this to pick small sizes and few iterations under test.
    monkeypatch.setenv("CVTOOLS_NOTEBOOK_TEST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
