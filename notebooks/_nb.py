"""Shared helpers of the notebook generators (`python notebooks/_make_NN.py`): collect cells, write the file.

Notebooks are committed with empty outputs; `tests/test_notebooks.py` executes each one.
"""
from pathlib import Path

import nbformat as nbf

cells = []


def md(text: str) -> None:
    """Append a markdown cell."""
    cells.append(nbf.v4.new_markdown_cell(text.strip()))


def code(text: str) -> None:
    """Append a code cell."""
    cells.append(nbf.v4.new_code_cell(text.strip()))


def save(name: str) -> Path:
    """Write the collected cells to notebooks/NAME with a python3 kernel spec."""
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    out = Path(__file__).resolve().parent / name
    nbf.write(nb, out)
    print("wrote", out)
    return out
