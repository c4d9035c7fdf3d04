"""generative.stylize, methods "color" and "npr", on odd inputs: results or clear errors, never a cv2.error
(issue 16)."""
from __future__ import annotations

import numpy as np
import pytest

from cvtools import generative

RNG = np.random.default_rng(0)
PHOTO = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
PAINTING = RNG.integers(0, 128, (40, 40, 3), dtype=np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("method", ["color", "npr"])
def test_gray_with_a_channel_axis_is_stylised_as_gray(method, dtype):
    """(H, W, 1) reached OpenCV's colour conversions ("scn is 1")."""
    gray = (PHOTO[..., 0].astype(np.float64) / 255 * {np.uint8: 255, np.uint16: 65535}.get(dtype, 1)).astype(dtype)
    style = None if method == "npr" else PAINTING
    out = generative.stylize(gray[..., None], style, method=method)
    assert out.shape == gray.shape + (1,) and out.dtype == dtype
    np.testing.assert_array_equal(out[..., 0], generative.stylize(gray, style, method=method))
    if method == "color":  # a gray style with a channel axis, for gray content
        back = generative.stylize(gray, PAINTING[..., :1], method="color")
        np.testing.assert_array_equal(back, generative.stylize(gray, PAINTING[..., 0], method="color"))


def test_npr_sizes_are_bounded():
    """edge_thickness=10**6 and radius=10**6 asked OpenCV for 1 TB and 4 TB."""
    out = generative.stylize(PHOTO, method="npr", effect="cartoon", edge_thickness=10 ** 6)
    flat = generative.stylize(PHOTO, method="npr", effect="cartoon", edge_thickness=0)
    # the (huge) outline covers every pixel: each keeps 10% of its flat colour
    np.testing.assert_allclose(out, np.rint(flat * 0.1), atol=1)
    with pytest.raises(ValueError, match=r"`radius` 1000000 is larger than the image being filtered \(64x48 pixels, "
                                         r"see `work_size`\): at most 64"):
        generative.stylize(PHOTO, method="npr", effect="oil", radius=10 ** 6)
    assert generative.stylize(PHOTO, method="npr", effect="oil", radius=64).shape == PHOTO.shape
