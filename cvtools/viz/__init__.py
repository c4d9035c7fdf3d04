"""Drawing detections on images, and plots of confusion matrices, ROC and PR curves.

:func:`draw_detections` uses OpenCV and works on any image dtype; the plots use matplotlib
(the ``viz`` extra), imported only when a plot is made, and build a standalone
``matplotlib.figure.Figure`` (no pyplot global state) unless you pass ``ax``.
"""
from __future__ import annotations

import zlib

import numpy as np

from .._shared import check_image, dtype_max, require

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from .._shared._detections import Detections
    from collections.abc import Sequence
    from numpy.typing import ArrayLike
    from typing import Any

__all__ = ["draw_detections", "label_color", "plot_confusion_matrix", "plot_roc", "plot_pr", "PALETTE"]

#: Distinct RGB colours (Tableau 10), assigned to labels by a stable hash.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def label_color(label: object) -> tuple[int, int, int]:
    """The RGB colour (0-255) that :func:`draw_detections` uses for ``label`` (stable across runs).

    Examples
    --------
    >>> label_color("face") == label_color("face")
    True
    """
    return PALETTE[zlib.crc32(str(label).encode("utf-8")) % len(PALETTE)]


def _caption(det, i, show_scores):
    parts = [str(det.labels[i])]
    if det.identities is not None and det.identities[i] is not None:
        ident = det.identities[i]
        # A name replaces the label; a number (marker ID) follows it.
        parts = [str(ident)] if isinstance(ident, str) else [f"{det.labels[i]} {ident}"]
        if det.distances is not None and np.isfinite(det.distances[i]):
            parts.append(f"({det.distances[i]:.2f})")
    elif show_scores:
        parts.append(f"{det.scores[i]:.2f}")
    if det.texts is not None and det.texts[i] is not None:
        t = det.texts[i]
        parts.append(": " + (t if len(t) <= 24 else t[:23] + "~"))
    text = " ".join(parts).replace(" : ", ": ")
    # Hershey fonts draw ASCII only.
    return text.encode("ascii", errors="replace").decode("ascii").replace("\n", " ")


def draw_detections(image: np.ndarray, detections: Detections, *, color: tuple[int, int, int] | None = None, thickness: int | None = None, font_scale: float | None = None, labels: bool = True,
                    show_scores: bool = True) -> np.ndarray:
    """Draw boxes (and polygons, landmarks, captions) of ``detections`` on a copy of ``image``.

    Parameters
    ----------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        RGB(A) or gray; any cvtools dtype. Gray images come back as RGB so colours show.
    detections : Detections
        What to draw; boxes in ``image`` pixel coordinates.
    color : (r, g, b) tuple of 0-255, optional
        One colour for everything; default: a colour per label (:func:`label_color`).
    thickness : int, optional
        Line thickness in pixels; default scales with the image (1 px up to ~500 px, then more).
    font_scale : float, optional
        Caption size; default scales with the image so captions stay legible at any size.
    labels : bool
        Draw captions (label or identity, score, decoded text).
    show_scores : bool
        Include the score in captions.

    Returns
    -------
    ndarray
        A new image, same dtype as ``image``; (H, W, 3) for gray input, else same shape.

    Examples
    --------
    >>> from cvtools.detect import Detections
    >>> img = np.zeros((40, 60, 3), np.uint8)
    >>> out = draw_detections(img, Detections([[5, 5, 30, 30]], labels=["face"]))
    >>> out.shape, out.dtype.name, int(img.max())
    ((40, 60, 3), 'uint8', 0)
    """
    import cv2

    from .._shared._detections import Detections

    image = check_image(image)
    if not isinstance(detections, Detections):
        raise TypeError(f"`detections` must be cvtools.Detections; got {type(detections).__name__}.")
    top = dtype_max(image.dtype)
    out = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image.copy()
    out = np.ascontiguousarray(out)
    h, w = out.shape[:2]
    side = min(h, w)
    if thickness is None:
        thickness = max(1, int(round(side / 500)))
    if font_scale is None:
        font_scale = float(np.clip(side / 900.0, 0.35, 3.0))
    font = cv2.FONT_HERSHEY_SIMPLEX
    text_th = max(1, int(round(font_scale * 1.6)))
    scale = top / 255.0
    nch = out.shape[2]

    def col(rgb):
        c = tuple(float(v) * scale for v in rgb)
        return c + (top,) if nch == 4 else c

    for i in range(len(detections)):
        rgb = color if color is not None else label_color(detections.labels[i])
        c = col(rgb)
        x1, y1, x2, y2 = [int(round(v)) for v in detections.xyxy[i]]
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), c, thickness, cv2.LINE_8)  # crisp, exact colour
        if detections.polygons is not None and len(detections.polygons[i]) >= 2:
            pts = np.round(detections.polygons[i]).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], True, c, thickness, cv2.LINE_AA)
        if detections.landmarks is not None:
            r = max(1, thickness + 1)
            for x, y in detections.landmarks[i]:
                if np.isfinite(x) and np.isfinite(y):
                    cv2.circle(out, (int(round(x)), int(round(y))), r, c, -1, cv2.LINE_AA)
        if labels:
            text = _caption(detections, i, show_scores)
            (tw, th), base = cv2.getTextSize(text, font, font_scale, text_th)
            pad = max(1, text_th)
            ty = y1 - pad if y1 - th - base - 2 * pad >= 0 else min(y2 + th + pad, h - base - pad)
            tx = min(max(x1, 0), max(w - tw - 2 * pad, 0))
            cv2.rectangle(out, (tx, ty - th - pad), (tx + tw + 2 * pad, ty + base), c, -1)
            lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
            fg = col((0, 0, 0) if lum > 140 else (255, 255, 255))
            cv2.putText(out, text, (tx + pad, ty), font, font_scale, fg, text_th, cv2.LINE_AA)
    return out


def _axes(ax, figsize=(4.5, 4)):
    require("matplotlib", feature="cvtools.viz plots")
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def plot_confusion_matrix(cm: ArrayLike, *, labels: Sequence[str] | None = None, normalize: bool = False, ax: Any = None, cmap: str = "Blues",
                          values: bool = True, title: str | None = None) -> Any:
    """Plot a confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    cm : (K, K) array
        Counts, e.g. from :func:`cvtools.metrics.confusion_matrix`.
    labels : sequence of str, optional
        Class names for the axes.
    normalize : bool
        Show each row divided by its sum (per-class recall).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    cmap : str
        Matplotlib colour map.
    values : bool
        Write the value in each cell.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.figure`` is the figure.

    Examples
    --------
    >>> ax = plot_confusion_matrix(np.array([[5, 1], [0, 4]]), labels=["cat", "dog"])  # doctest: +SKIP
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"`cm` must be a square (K, K) matrix; got shape {cm.shape}.")
    k = cm.shape[0]
    if labels is None:
        labels = [str(i) for i in range(k)]
    if len(labels) != k:
        raise ValueError(f"`labels` must have {k} names; got {len(labels)}.")
    if normalize:
        with np.errstate(invalid="ignore", divide="ignore"):
            cm = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
    ax = _axes(ax, figsize=(1.2 + 0.6 * k, 1.0 + 0.55 * k) if k > 6 else (4.5, 4))
    im = ax.imshow(cm, cmap=cmap, vmin=0, vmax=1 if normalize else max(cm.max(), 1))
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), labels=[str(x) for x in labels], rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), labels=[str(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if values:
        hi = cm.max() / 2 if cm.size else 0
        for i in range(k):
            for j in range(k):
                txt = f"{cm[i, j]:.2f}" if normalize else f"{int(round(cm[i, j]))}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > hi else "black")
    ax.set_title(title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix"))
    return ax


def plot_roc(y_true: ArrayLike | None = None, scores: ArrayLike | None = None, *, fpr: ArrayLike | None = None, tpr: ArrayLike | None = None, ax: Any = None, label: str | None = None) -> Any:
    """Plot a ROC curve from labels and scores (or from ``fpr``/``tpr``), with its AUC in the legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # doctest: +SKIP
    """
    from ..metrics import auc, roc_curve

    if fpr is None or tpr is None:
        if y_true is None or scores is None:
            raise ValueError("plot_roc needs `y_true` and `scores`, or `fpr` and `tpr`.")
        fpr, tpr, _ = roc_curve(y_true, scores)
    area = auc(fpr, tpr)
    ax = _axes(ax)
    ax.plot(fpr, tpr, drawstyle="default", label=f"{label + ' ' if label else ''}AUC = {area:.3f}")
    ax.plot([0, 1], [0, 1], color="0.7", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right")
    return ax


def plot_pr(y_true: ArrayLike | None = None, scores: ArrayLike | None = None, *, precision: ArrayLike | None = None, recall: ArrayLike | None = None, ap: float | None = None, ax: Any = None,
            label: str | None = None) -> Any:
    """Plot a precision-recall curve from labels and scores (or from ``precision``/``recall`` arrays).

    For detection results pass ``precision=`` and ``recall=`` from
    :func:`cvtools.metrics.detection_pr` (and ``ap=`` to show it in the legend).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_pr([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # doctest: +SKIP
    """
    from ..metrics import average_precision_score, pr_curve

    if precision is None or recall is None:
        if y_true is None or scores is None:
            raise ValueError("plot_pr needs `y_true` and `scores`, or `precision` and `recall`.")
        precision, recall, _ = pr_curve(y_true, scores)
        if ap is None:
            ap = average_precision_score(y_true, scores)
    ax = _axes(ax)
    text = (label or "") + (f" AP = {ap:.3f}" if ap is not None else "")
    ax.plot(recall, precision, drawstyle="steps-post", label=text.strip() or None)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall curve")
    if text.strip():
        ax.legend(loc="lower left")
    return ax
