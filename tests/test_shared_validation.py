"""cvtools._shared.check_image: the one place where NaN and infinity in float images are refused."""
from __future__ import annotations

import numpy as np
import pytest

import cvtools
from cvtools._shared import check_image


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3)])
def test_non_finite_refused_with_position(dtype, bad, shape):
    image = np.random.default_rng(0).random(shape).astype(dtype)
    image[3, 4] = bad
    count = 1 if len(shape) == 2 else shape[2]
    with pytest.raises(ValueError, match=rf"`image` holds {count} NaN or infinite value\(s\), the first at row 3, "
                                         r"column 4.*np.nan_to_num"):
        check_image(image)


def test_counts_every_bad_value_and_names_the_argument():
    image = np.zeros((4, 4), np.float32)
    image[1, 2] = image[3, 0] = np.nan
    image[2, 2] = np.inf
    with pytest.raises(ValueError, match=r"`reference` holds 3 NaN .*row 1, column 2"):
        check_image(image, name="reference")


def test_huge_finite_values_pass():
    """Their sum overflows to inf, so the fast test alone would refuse them: each element is checked."""
    image = np.full((64, 64), 3e38, np.float32)
    with np.errstate(over="ignore"):
        assert np.isinf(image.sum())
    assert check_image(image) is image


def test_opt_out_and_integers():
    image = np.array([[np.nan, 1.0]])
    assert check_image(image, allow_nan=True) is image
    ints = np.array([[0, 255]], np.uint8)
    assert check_image(ints) is ints


def test_returns_input_without_copy():
    image = np.random.default_rng(1).random((8, 8)).astype(np.float32)
    assert check_image(image) is image


def test_contrast_stretch_with_one_nan_refused_not_all_nan():
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    image[2, 5] = np.nan
    with pytest.raises(ValueError, match="row 2, column 5"):
        cvtools.intensity.contrast_stretch(image)


@pytest.mark.parametrize("call", [
    lambda im: cvtools.filtering.gaussian(im, 1.0),
    lambda im: cvtools.intensity.normalize(im),
    lambda im: cvtools.convolution.correlate2d(im, np.ones((3, 3), np.float32) / 9),
    lambda im: cvtools.transform.resize(im, size=(4, 4)),
], ids=["gaussian", "normalize", "correlate2d", "resize"])
def test_ops_refuse_non_finite(call):
    image = np.ones((8, 8), np.float32)
    image[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(image)
    call(np.ones((8, 8), np.float32))  # and work on the same image made finite
