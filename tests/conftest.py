"""Shared fixtures and the optional-extra markers.

The evaluation data lives beside the repository in ../shared/data and is read in place.

A test that needs an optional extra says so with ``@pytest.mark.extra("torch")`` (several names: it needs all
of them); it is skipped, naming the pip line, when the extra's modules are not importable, so a core-only
install (``pip install -e .``) passes its own suite. A test whose *reference* is a package that no extra
installs (pycocotools) uses ``@pytest.mark.reference("pycocotools")`` the same way. Doctests cannot carry
marks: those that need an extra are listed in ``DOCTEST_EXTRAS``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from cvtools._shared import EXTRAS, is_available

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The shared evaluation sets; skips the test (with the reason) when they are not beside the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


# -- optional extras ------------------------------------------------------------------------------------------

#: Doctests (by their name) that need extras; `make test-core` fails when one is missing here.
DOCTEST_EXTRAS = {
    "cvtools.demo._sample.sample_frames": ("viz",),           # Grace Hopper's photo is matplotlib sample data
    "cvtools.generative._style.Stylizer": ("style",),
    "cvtools.identify._gallery.Gallery": ("face",),               # builds a face-dlib-hog gallery
}


@functools.cache
def extra_modules(extra: str) -> tuple[str, ...]:
    """The modules an extra installs, from ``cvtools._shared.EXTRAS`` (module -> extra)."""
    if extra == "all":
        return tuple(sorted(EXTRAS))
    mods = {m for m, (e, _) in EXTRAS.items() if e == extra}
    if extra == "style":  # onnxruntime is listed under the `onnx` extra; `style` installs it too
        mods.add("onnxruntime")
    if not mods:
        valid = sorted({e for e, _ in EXTRAS.values()} | {"all"})
        raise pytest.UsageError(f"unknown extra {extra!r} in a pytest.mark.extra; valid: {', '.join(valid)}.")
    return tuple(sorted(mods))


@functools.cache
def _importable(module: str) -> bool:
    return is_available(module)


def missing_extras(extras) -> list[str]:
    """The extras among ``extras`` that are not (fully) installed here."""
    return [e for e in extras if not all(_importable(m) for m in extra_modules(e))]


def _extra_skip(extras) -> pytest.MarkDecorator | None:
    missing = missing_extras(extras)
    if not missing:
        return None
    what = f"the {missing[0]} extra" if len(missing) == 1 else f"the {', '.join(missing)} extras"
    return pytest.mark.skip(reason=f'needs {what}: pip install "cvtools[{",".join(missing)}]"')


def pytest_collection_modifyitems(config, items):
    for item in items:
        extras = [e for mark in item.iter_markers("extra") for e in mark.args]
        if not extras and type(item).__name__ == "DoctestItem":
            extras = list(DOCTEST_EXTRAS.get(item.name, ()))
        if extras:
            if not all(isinstance(e, str) for e in extras):
                raise pytest.UsageError(f"{item.nodeid}: pytest.mark.extra takes extra names; got {extras!r}.")
            skip = _extra_skip(extras)
            if skip is not None:
                item.add_marker(skip)
        for mark in item.iter_markers("reference"):
            absent = [m for m in mark.args if not _importable(m)]
            if absent:
                item.add_marker(pytest.mark.skip(
                    reason=f"the reference {', '.join(absent)} is not installed: pip install {' '.join(absent)} "
                           f'(the dev extra has it: pip install "cvtools[dev]")'))
