"""Identify faces in a video stream without recomputing every descriptor on every frame."""
from __future__ import annotations

import numpy as np

from .._shared import check_image


def _iou(a, b) -> np.ndarray:
    """IoU matrix between ``(N, 4)`` and ``(M, 4)`` xyxy boxes."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return (inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)).astype(np.float32)


class VideoIdentifier:
    """Name faces frame after frame, reusing a face's descriptor while it stays put.

    A face whose box overlaps (IoU >= ``iou``) a face of the previous frame keeps that face's
    descriptor for up to ``refresh`` frames; new faces, faces that moved, and stale ones are
    described again. Landmarks are kept exact on every frame (the detector's own, or dlib's shape predictor
    on the box: cheap). With ``refresh=1`` every face is described on every frame, exactly like
    :meth:`Gallery.identify`. Faces are found by the gallery's ``detector`` unless detections are given.

    Parameters
    ----------
    gallery : Gallery
        A ``kind="face"`` gallery.
    refresh : int
        Most frames a descriptor is reused for.
    iou : float
        Overlap with the previous frame's box needed to reuse.

    Examples
    --------
    >>> from cvtools.identify import Gallery
    >>> vid = VideoIdentifier(Gallery("face"), refresh=5)
    >>> vid.refresh, vid.iou
    (5, 0.5)
    """

    def __init__(self, gallery, *, refresh: int = 5, iou: float = 0.5):
        if getattr(gallery, "kind", None) != "face":
            raise ValueError(f"`gallery` must be a Gallery of kind 'face'; got {gallery!r}.")
        if int(refresh) < 1:
            raise ValueError(f"`refresh` must be >= 1; got {refresh}.")
        self.gallery = gallery
        self.refresh = int(refresh)
        self.iou = float(iou)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frames (call at a scene cut)."""
        self._boxes = np.zeros((0, 4), np.float32)
        self._desc = np.zeros((0, 128), np.float32)
        self._age = np.zeros(0, np.int64)

    def identify(self, image, detections=None):
        """Like :meth:`Gallery.identify` for faces; ``data["reused"]`` says which descriptors were reused."""
        from .._shared import to_rgb_uint8
        from ._face import describe_faces, shape_points

        image = check_image(image)
        rgb = to_rgb_uint8(image)
        if detections is None:
            detections = self.gallery.detector.detect(image)
        boxes = detections.xyxy
        points = self.gallery._alignment_points(detections)
        n = len(boxes)
        desc = np.zeros((n, 128), np.float32)
        age = np.zeros(n, np.int64)
        reused = np.zeros(n, bool)
        ov = _iou(boxes, self._boxes)
        taken = set()
        for i in np.argsort(-ov.max(1)) if ov.size else []:
            j = int(ov[i].argmax())
            if ov[i, j] >= self.iou and j not in taken and self._age[j] + 1 < self.refresh:
                taken.add(j)
                desc[i], age[i], reused[i] = self._desc[j], self._age[j] + 1, True
        marks = np.zeros((n, 5, 2), np.float32)
        todo = np.flatnonzero(~reused)
        if len(todo):
            m, d = describe_faces(rgb, boxes[todo], landmarks=points[todo], device=self.gallery.device)
            marks[todo], desc[todo] = m, d
        given = np.isfinite(points).all(axis=(1, 2))
        marks[reused & given] = points[reused & given]
        predict = np.flatnonzero(reused & ~given)
        if len(predict):  # the shape predictor is cheap: keep dlib's points exact on every frame
            marks[predict] = shape_points(rgb, boxes[predict])
        self._boxes, self._desc, self._age = boxes.copy(), desc, age
        return self.gallery._named(detections, marks, desc, points, data={"reused": reused})
