"""The public surface is listed once (each module's ``__all__``) and snapshotted here, so an accidental
rename or removal is caught. After an intended change, regenerate the snapshot:

    CVTOOLS_UPDATE_API=1 .venv/bin/pytest tests/test_api_surface.py
"""
from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).with_name("api_surface.json")
MODULES = ["cvtools", "cvtools.io", "cvtools.intensity", "cvtools.filtering", "cvtools.convolution",
           "cvtools.convolution.kernels", "cvtools.transform", "cvtools.detect", "cvtools.metrics", "cvtools.viz",
           "cvtools.recognize", "cvtools.identify", "cvtools.generative", "cvtools.batch", "cvtools.demo",
           "cvtools.datasets"]


def _surface() -> dict:
    return {name: sorted(importlib.import_module(name).__all__) for name in MODULES}


def test_public_surface_matches_snapshot():
    surface = _surface()
    if os.environ.get("CVTOOLS_UPDATE_API"):
        SNAPSHOT.write_text(json.dumps(surface, indent=1) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert surface == expected


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_name_exists(module):
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing
