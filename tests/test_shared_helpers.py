"""cvtools._shared: the one uint8-RGB conversion, the one torch device resolver, the logger, the warnings."""
from __future__ import annotations

import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest

from cvtools._shared import (CvtoolsRuntimeWarning, CvtoolsWarning, ImageMetadataWarning, as_uint8, check_device,
                             resolve_device, to_rgb_uint8)


@pytest.mark.parametrize("image, expected", [
    (np.array([[0, 128, 255]], np.uint8), [0, 128, 255]),
    (np.array([[0, 128, 32896, 65535]], np.uint16), [0, 0, 128, 255]),          # (x + 128) // 257
    (np.array([[-0.5, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 7.0]], np.float32), [0, 0, 0, 2, 128, 255, 255]),
    (np.array([[np.nan, np.inf, -np.inf]], np.float64), [0, 255, 0]),
    (np.array([[0.25, 0.75]], np.float16), [64, 191]),
    (np.array([[False, True]]), [0, 255]),
])
def test_to_rgb_uint8_values_by_hand(image, expected):
    out = to_rgb_uint8(image)
    assert out.dtype == np.uint8 and out.shape == image.shape + (3,) and out.flags.c_contiguous
    assert out[0, :, 0].tolist() == expected and (out[..., 0] == out[..., 2]).all()


def test_to_rgb_uint8_channels():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 10, 99
    out = to_rgb_uint8(rgba)
    assert out.shape == (2, 3, 3) and out[..., 0].max() == 10 and out[..., 1:].max() == 0  # alpha dropped
    one = np.full((2, 2, 1), 0.5, np.float32)
    assert to_rgb_uint8(one).shape == (2, 2, 3) and (to_rgb_uint8(one) == 128).all()
    rgb = np.ascontiguousarray(np.arange(18, dtype=np.uint8).reshape(2, 3, 3))
    assert to_rgb_uint8(rgb) is rgb or np.shares_memory(to_rgb_uint8(rgb), rgb)  # no copy for uint8 RGB
    with pytest.raises(ValueError, match=r"`image` must be .*got shape \(2, 3, 2\)"):
        to_rgb_uint8(np.zeros((2, 3, 2), np.uint8))
    with pytest.raises(TypeError, match="dtype int32"):
        as_uint8(np.zeros((2, 2), np.int32))


def test_to_rgb_uint8_matches_to_uint8_rounding_on_random_floats(rng):
    x = (rng.random((64, 64, 3)) * 1.2 - 0.1).astype(np.float32)
    np.testing.assert_array_equal(to_rgb_uint8(x), np.clip(np.rint(x * np.float32(255)), 0, 255).astype(np.uint8))


def test_check_device_names_the_argument_and_valid_values():
    assert check_device("CUDA:1") == "cuda:1" and check_device(None) == "auto"
    with pytest.raises(ValueError, match=r"`device` must be one of 'auto', 'cpu', 'cuda', 'cuda:N'; got 'tpu'"):
        check_device("tpu")
    with pytest.raises(ValueError, match=r"`--device` must be one of"):
        check_device(3, name="--device")


@pytest.mark.extra("torch")
def test_resolve_device_on_the_cpu():
    torch = pytest.importorskip("torch")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"`device`='cuda' asks for CUDA, but torch sees no CUDA device"):
            resolve_device("cuda")


@pytest.mark.extra("torch")
def test_resolve_device_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: the CUDA path of resolve_device is not exercised")
    assert resolve_device("cuda").type == "cuda" and resolve_device("auto").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_warning_classes_subclass_the_builtins():
    assert issubclass(CvtoolsRuntimeWarning, RuntimeWarning) and issubclass(CvtoolsRuntimeWarning, CvtoolsWarning)
    assert issubclass(ImageMetadataWarning, CvtoolsWarning) and issubclass(ImageMetadataWarning, UserWarning)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        warnings.warn("x", CvtoolsRuntimeWarning)
    assert got and issubclass(got[0].category, RuntimeWarning)


def test_the_cvtools_logger_is_silent_by_default():
    logger = logging.getLogger("cvtools")
    import cvtools._shared  # noqa: F401  (installs the NullHandler)

    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    r = subprocess.run([sys.executable, "-c", "import cvtools._shared, logging; "
                        "logging.getLogger('cvtools').warning('hidden?')"], capture_output=True, text=True)
    # with a NullHandler on "cvtools", Python's last-resort handler stays out of the way
    assert r.returncode == 0 and "hidden?" not in r.stderr
