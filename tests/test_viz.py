"""cvtools.viz: drawing detections on every dtype, and the matplotlib plots."""
from __future__ import annotations

import numpy as np
import pytest

from cvtools.detect import Detections
from cvtools.viz import draw_detections, label_color, plot_confusion_matrix, plot_pr, plot_roc


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_draw_keeps_dtype_and_never_mutates(dtype, channels):
    shape = (60, 80) if channels is None else (60, 80, channels)
    img = np.zeros(shape, dtype)
    det = Detections([[10, 10, 50, 40]], scores=[0.9], labels=["face"], texts=["hi"],
                     landmarks=[[[20, 20], [30, 20]]], polygons=[[[10, 10], [50, 10], [30, 40]]])
    out = draw_detections(img, det)
    assert out.dtype == img.dtype and img.max() == 0
    assert out.shape == (60, 80, 3) if channels is None else out.shape == shape
    top = 255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1.0
    assert out.max() <= top and out.max() > 0
    # The box colour is the label's RGB colour, scaled to the dtype (RGB order, not BGR).
    r, g, b = label_color("face")
    left_edge = out[25, 10, :3].astype(np.float64) / top * 255
    np.testing.assert_allclose(left_edge, [r, g, b], atol=2)
    if channels == 4:
        assert out[25, 10, 3] == top


def test_captions_scale_with_image_size():
    det_small = Detections([[5, 20, 60, 60]], labels=["face"])
    small = draw_detections(np.zeros((100, 100, 3), np.uint8), det_small)
    big = draw_detections(np.zeros((2000, 2000, 3), np.uint8), det_small.scale(20))
    # Caption band above the box: its height grows with the image.
    def caption_rows(out, y_box):
        rows = np.nonzero(out[:y_box, :, :].any(axis=(1, 2)))[0]
        return rows.max() - rows.min() + 1 if len(rows) else 0
    h_small, h_big = caption_rows(small, 19), caption_rows(big, 399)
    assert h_small >= 8 and h_big > 5 * h_small


def test_empty_and_bad_inputs():
    img = np.zeros((10, 10, 3), np.uint8)
    out = draw_detections(img, Detections.empty())
    assert np.array_equal(out, img) and out is not img
    with pytest.raises(TypeError, match="must be cvtools.Detections"):
        draw_detections(img, [[0, 0, 1, 1]])


def test_identity_caption_instead_of_label():
    det = Detections([[2, 30, 90, 60]], labels=["face"]).with_fields(identities=["ada"], distances=[0.3])
    from cvtools.viz import _caption

    assert _caption(det, 0, True) == "ada (0.30)"
    assert _caption(Detections([[0, 0, 1, 1]], labels=["qrcode"], texts=["\u00e9t\u00e9"]), 0, False) == "qrcode: ?t?"


@pytest.mark.extra("viz")
def test_plots_return_axes_with_the_data():
    pytest.importorskip("matplotlib")
    cm = np.array([[5, 1], [2, 4]])
    ax = plot_confusion_matrix(cm, labels=["cat", "dog"])
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["1", "2", "4", "5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    axn = plot_confusion_matrix(cm, normalize=True)
    assert "0.83" in [t.get_text() for t in axn.texts]
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    ax = plot_roc(y, s)
    assert "AUC = 0.750" in ax.get_legend().get_texts()[0].get_text()
    ax2 = plot_pr(y, s, ax=ax.figure.add_subplot(2, 1, 2))
    assert "AP = 0.833" in ax2.get_legend().get_texts()[0].get_text()
    ax3 = plot_pr(precision=[1.0, 0.5], recall=[0.5, 1.0], ap=0.75, label="face")
    line = ax3.get_lines()[0]
    assert line.get_xdata().tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="needs `y_true` and `scores`"):
        plot_roc()
