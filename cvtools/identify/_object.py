"""Object identification by local features: SIFT, Lowe's ratio test and a RANSAC homography."""
from __future__ import annotations

import numpy as np

from .._shared import to_uint8

MAX_SIDE = 800  # gallery images are shrunk to this longest side before SIFT (keeps memory and time down)


def gray8(image) -> np.ndarray:
    im = image if image.dtype == np.uint8 else to_uint8(image)
    if im.ndim == 3:
        im = im[..., :3] @ np.array([0.299, 0.587, 0.114])
        im = np.clip(np.rint(im), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(im)


def sift_features(image, *, max_side: int | None = MAX_SIDE, nfeatures: int = 2000, mask=None):
    """SIFT keypoints ``(K, 2)`` float32 (x, y in ``image`` pixels), descriptors ``(K, 128)`` float32,
    and the ``(h, w)`` of the image."""
    import cv2

    g = gray8(image)
    h, w = g.shape
    s = 1.0
    if max_side and max(h, w) > max_side:
        s = max_side / max(h, w)
        g = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_NEAREST)
    kps, desc = cv2.SIFT_create(nfeatures=nfeatures).detectAndCompute(g, mask)
    if desc is None or not kps:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), (h, w)
    pts = np.array([k.pt for k in kps], np.float32) / np.float32(s)
    return pts, desc.astype(np.float32), (h, w)


def match_homography(g_pts, g_desc, g_shape, q_pts, q_desc, *, ratio: float = 0.75,
                     reproj: float = 5.0):
    """Match gallery features to query features and fit a homography.

    Returns ``(inliers, good, polygon)``: RANSAC inliers, matches passing the ratio test (Lowe
    2004: nearest < ``ratio`` x second nearest), and the gallery image's outline ``(4, 2)`` mapped
    into the query (None when no plausible homography).
    """
    import cv2

    if len(g_desc) < 2 or len(q_desc) < 2:
        return 0, 0, None
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(g_desc, q_desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if len(good) < 4:
        return 0, len(good), None
    src = g_pts[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    dst = q_pts[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    H, mask = cv2.findHomography(src, dst, cv2.RANSAC, reproj)
    if H is None or mask is None:
        return 0, len(good), None
    h, w = g_shape
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
    poly = cv2.perspectiveTransform(corners, H).reshape(4, 2)
    # A plausible view of a planar object keeps the outline convex and not collapsed.
    if not np.isfinite(poly).all() or not cv2.isContourConvex(poly.astype(np.float32)) \
            or abs(cv2.contourArea(poly)) < 16:
        return 0, len(good), None
    return int(mask.sum()), len(good), poly.astype(np.float32)
