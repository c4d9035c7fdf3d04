"""Galleries of known faces or objects, built from ``root/<name>/<image>`` folders."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .._shared import CvtoolsWarning, check_choice, check_image

KINDS = ("face", "object")
#: Default face threshold: dlib's descriptors put two photos of one person within 0.6 of each other
#: (Euclidean) for 99.38% of LFW pairs; face_recognition uses the same value ("tolerance").
FACE_THRESHOLD = 0.6
#: Default minimum RANSAC inliers for an object match.
MIN_INLIERS = 12
CACHE_VERSION = 1
_NO_FACE = ("skip", "whole", "error")


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir(root) -> Path:
    """Where :meth:`Gallery.from_folder` caches embeddings for ``root``.

    ``root/.cvtools-cache/`` when ``root`` is writable (it has write permission bits and the user
    may write it; the folder is hidden, so it is never read as a class); otherwise ``$XDG_CACHE_HOME/cvtools/galleries/<hash of root's path>``
    (``~/.cache`` when XDG_CACHE_HOME is unset).
    """
    root = Path(root)
    d = root / ".cvtools-cache"
    try:
        # a folder without write permission bits is treated as read-only even for root, so a
        # shared or mounted data set is never written into
        if root.stat().st_mode & 0o222 and os.access(root, os.W_OK):
            d.mkdir(exist_ok=True)
            if os.access(d, os.W_OK):
                return d
    except OSError:
        pass
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "cvtools" / "galleries" / hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]


def _detections_cls():
    from ..detect import Detections

    return Detections


class Gallery:
    """Known faces or objects, each image filed under a name; identifies new images against them.

    Parameters
    ----------
    kind : {"face", "object"}
        ``"face"``: dlib's 128-d face descriptors (ResNet, 99.38% on LFW) of 5-point-aligned faces;
        nearest neighbour over every gallery face, Euclidean distance. ``"object"``: SIFT keypoints
        of each gallery image, Lowe's ratio test, a RANSAC homography; the object's outline is
        mapped into the query.
    threshold : float
        ``face``: a face farther than this from every gallery face is ``"unknown"``
        (default :data:`FACE_THRESHOLD` = 0.6, face_recognition's tolerance; lower is stricter).
    min_inliers : int
        ``object``: fewest RANSAC inliers for a match (default 12).
    upsample : int
        ``face``: times dlib's detector upsamples the image when it looks for faces itself
        (1 finds faces down to about 40 pixels; 0 is about 4 times faster, faces from about 80).
    num_jitters : int
        ``face``: re-sample each gallery face this many times, jittered, and average (slower, a
        little more accurate). Probes are never jittered.
    ratio : float
        ``object``: Lowe's ratio-test constant.

    Examples
    --------
    >>> g = Gallery("object")
    >>> len(g), g.names
    (0, [])
    """

    def __init__(self, kind: str = "face", *, threshold: float = FACE_THRESHOLD,
                 min_inliers: int = MIN_INLIERS, upsample: int = 1, num_jitters: int = 0,
                 ratio: float = 0.75):
        self.kind = check_choice(kind, KINDS, name="kind")
        if not threshold > 0:
            raise ValueError(f"`threshold` must be > 0; got {threshold}.")
        self.threshold = float(threshold)
        self.min_inliers = int(min_inliers)
        self.upsample = int(upsample)
        self.num_jitters = int(num_jitters)
        self.ratio = float(ratio)
        self.labels: list[str] = []      # one per entry
        self.sources: list[str] = []     # file path, or "<added>"
        self._vectors = np.zeros((0, 128), np.float32)
        self._objects: list = []         # (pts, desc, shape) per entry, for kind="object"

    # -- building ------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The distinct names, sorted."""
        return sorted(set(self.labels))

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"Gallery(kind={self.kind!r}, names={len(self.names)}, entries={len(self)})"

    @property
    def embeddings(self) -> np.ndarray:
        """``face``: the ``(M, 128)`` float32 descriptors, one row per entry (order of ``labels``)."""
        return self._vectors.copy()

    def _entry_from_image(self, image, box=None):
        """Face: (vector, box) of the given box or the largest face (None if none); object: features."""
        image = check_image(image)
        if self.kind == "object":
            from ._object import sift_features

            return sift_features(image)
        from ._face import as_rgb8, describe_faces, detect_faces

        rgb = as_rgb8(image)
        if box is None:
            boxes, _ = detect_faces(rgb, upsample=self.upsample)
            if not len(boxes):
                return None
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            box = boxes[int(areas.argmax())]
        elif isinstance(box, str) and box == "whole":
            box = np.array([0, 0, rgb.shape[1], rgb.shape[0]], np.float32)
        box = np.asarray(box, np.float32).reshape(4)
        _, vec = describe_faces(rgb, box[None], num_jitters=self.num_jitters)
        return vec[0], box

    def _append(self, name, entry, source):
        self.labels.append(str(name))
        self.sources.append(str(source))
        if self.kind == "face":
            self._vectors = np.vstack([self._vectors, np.asarray(entry, np.float32)[None]])
        else:
            self._objects.append(entry)

    def add(self, name: str, image, *, box=None) -> "Gallery":
        """Add one image of ``name``; returns self (so calls chain).

        Parameters
        ----------
        name : str
            Who or what it is.
        image : ndarray
            ``face``: a picture with the person's face (the largest face found is used);
            ``object``: a picture of just the object (its outline is the image border).
        box : (4,) array or "whole", optional
            ``face``: the face box ``xyxy`` to use instead of detecting one; ``"whole"`` takes the
            whole image as the face (tight crops such as passport photos).

        Raises
        ------
        ValueError
            ``face`` with no ``box`` and no face found in the image.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"`name` must be a non-empty str; got {name!r}.")
        entry = self._entry_from_image(image, box)
        if entry is None:
            raise ValueError(f"no face found in the image for {name!r}; pass box=(x1, y1, x2, y2) "
                             "or box='whole' for a tightly cropped face.")
        self._append(name, entry[0] if self.kind == "face" else entry, "<added>")
        return self

    @classmethod
    def from_folder(cls, root, kind: str = "face", *, cache: bool = True, cache_dir=None,
                    no_face: str = "skip", progress: bool | None = None, **options) -> "Gallery":
        """Build a gallery from ``root/<name>/<image>`` (images may sit deeper below ``<name>``).

        Parameters
        ----------
        root : str or pathlib.Path
            One sub-folder per person or object; its name is the identity.
        kind : {"face", "object"}
            See :class:`Gallery`.
        cache : bool
            Keep the embeddings on disk, keyed by the SHA-256 of each file's bytes, so a second
            build only computes new or changed files. Stored as a plain ``.npz`` (never a pickle)
            in :func:`default_cache_dir` (``root/.cvtools-cache/`` when writable).
        cache_dir : str or pathlib.Path, optional
            Put the cache here instead.
        no_face : {"skip", "whole", "error"}
            ``face``: a gallery image in which no face is found is skipped (one warning lists
            them), used whole as the face, or raises ValueError.
        progress : bool, optional
            Progress bar on stderr; default: only when stderr is a terminal.
        **options
            ``threshold``, ``min_inliers``, ``upsample``, ``num_jitters``, ``ratio``.
        """
        from tqdm import tqdm

        from ..io import read
        from ..recognize._data import load_folder

        check_choice(no_face, _NO_FACE, name="no_face")
        gallery = cls(kind, **options)
        root = Path(root)
        paths, labels, _ = load_folder(root)
        params = ({"upsample": gallery.upsample, "num_jitters": gallery.num_jitters, "no_face": no_face}
                  if kind == "face" else {"max_side": 800, "nfeatures": 2000})
        key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
        cache_file = None
        old = {}
        if cache:
            cache_file = Path(cache_dir) if cache_dir is not None else default_cache_dir(root)
            cache_file = cache_file / f"{kind}-v{CACHE_VERSION}-{key}.npz"
            old = _read_cache(cache_file, kind)
        new, missing = {}, []
        show = sys.stderr.isatty() if progress is None else bool(progress)
        for path, name in tqdm(list(zip(paths, labels)), desc=f"{kind} gallery", disable=not show,
                               file=sys.stderr):
            digest = _file_hash(path)
            entry = old.get(digest)
            if entry is None:
                image = read(path)
                entry = gallery._entry_from_image(image)
                if entry is None and kind == "face":
                    if no_face == "error":
                        raise ValueError(f"no face found in gallery image {str(path)!r} "
                                         "(use no_face='skip' or 'whole').")
                    entry = gallery._entry_from_image(image, "whole") if no_face == "whole" else "none"
            new[digest] = entry
            if isinstance(entry, str):
                missing.append(str(path))
                continue
            gallery._append(name, entry[0] if kind == "face" else entry, path)
        if missing:
            warnings.warn(f"no face found in {len(missing)} gallery image(s), skipped: "
                          f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}",
                          CvtoolsWarning, stacklevel=2)
        if cache_file is not None and (set(new) != set(old)):
            _write_cache(cache_file, kind, new)
        return gallery

    # -- identification ------------------------------------------------------------------------------
    def identify(self, image, detections=None):
        """Name every face (or gallery object) in ``image``.

        Parameters
        ----------
        image : (H, W) or (H, W, 3|4) ndarray
            The picture (RGB; any cvtools dtype).
        detections : cvtools.detect.Detections, optional
            Where the faces (or objects) are. ``face``: when omitted, dlib's HOG detector finds
            every face (``upsample`` times). ``object``: when omitted, every gallery object is
            searched for in the whole image; otherwise each box is matched against the gallery.

        Returns
        -------
        cvtools.detect.Detections
            ``identities``: the name, or ``"unknown"`` (face farther than ``threshold`` from every
            gallery face; object with fewer than ``min_inliers`` inliers). ``distances``: face:
            Euclidean distance to the nearest gallery face; object: the fraction of ratio-test
            matches RANSAC rejected (0 = all consistent). Faces also get 5-point ``landmarks``;
            objects get ``polygons`` (the outline), ``scores`` = inlier count and
            ``data["inliers"]``.
        """
        image = check_image(image)
        if self.kind == "face":
            return self._identify_faces(image, detections)
        return self._identify_objects(image, detections)

    def _identify_faces(self, image, detections):
        from ._face import as_rgb8, describe_faces, detect_faces

        Detections = _detections_cls()
        rgb = as_rgb8(image)
        if detections is None:
            boxes, scores = detect_faces(rgb, upsample=self.upsample)
            detections = Detections(boxes, scores=scores, labels="face")
        marks, desc = describe_faces(rgb, detections.xyxy)
        idents, dists = self.match(desc)
        return detections.with_fields(landmarks=marks, identities=idents, distances=dists)

    def match(self, descriptors):
        """Names and distances for face descriptors ``(N, 128)``: nearest gallery face, or
        ``"unknown"`` beyond ``threshold``."""
        desc = np.asarray(descriptors, np.float32).reshape(-1, 128)
        n = len(desc)
        if not len(self._vectors) or not n:
            return np.array(["unknown"] * n, dtype=object), np.full(n, np.nan, np.float32)
        d2 = ((desc[:, None, :] - self._vectors[None, :, :]) ** 2).sum(-1)
        j = d2.argmin(1)
        dist = np.sqrt(d2[np.arange(n), j]).astype(np.float32)
        names = np.array(self.labels, dtype=object)[j]
        return np.where(dist <= self.threshold, names, "unknown").astype(object), dist

    def _identify_objects(self, image, detections):
        from ._object import match_homography, sift_features

        Detections = _detections_cls()
        q_pts, q_desc, _ = sift_features(image, max_side=None)

        def best_for(pts, desc):
            best = (0, 0, None, None)  # inliers, good, polygon, name
            for name, (g_pts, g_desc, g_shape) in zip(self.labels, self._objects):
                inl, good, poly = match_homography(g_pts, g_desc, g_shape, pts, desc, ratio=self.ratio)
                if poly is not None and inl > best[0]:
                    best = (inl, good, poly, name)
            return best

        if detections is None:
            found = {}
            for name in self.names:
                best = (0, 0, None)
                for lab, (g_pts, g_desc, g_shape) in zip(self.labels, self._objects):
                    if lab != name:
                        continue
                    inl, good, poly = match_homography(g_pts, g_desc, g_shape, q_pts, q_desc, ratio=self.ratio)
                    if poly is not None and inl > best[0]:
                        best = (inl, good, poly)
                if best[0] >= self.min_inliers:
                    found[name] = best
            h, w = image.shape[:2]
            names = sorted(found, key=lambda k: -found[k][0])
            polys = [found[k][2] for k in names]
            boxes = [[max(p[:, 0].min(), 0), max(p[:, 1].min(), 0), min(p[:, 0].max(), w), min(p[:, 1].max(), h)]
                     for p in polys]
            inliers = np.array([found[k][0] for k in names], np.float32)
            dist = np.array([1 - found[k][0] / max(found[k][1], 1) for k in names], np.float32)
            return Detections(np.array(boxes, np.float32).reshape(-1, 4), scores=inliers, labels="object",
                              identities=np.array(names, dtype=object), distances=dist, polygons=polys,
                              data={"inliers": inliers.astype(np.int64)})
        idents, dists, polys, inl = [], [], [], []
        for x1, y1, x2, y2 in detections.xyxy:
            inside = ((q_pts[:, 0] >= x1) & (q_pts[:, 0] <= x2) & (q_pts[:, 1] >= y1) & (q_pts[:, 1] <= y2))
            n_in, good, poly, name = best_for(q_pts[inside], q_desc[inside])
            ok = n_in >= self.min_inliers
            idents.append(name if ok else "unknown")
            dists.append(1 - n_in / good if ok and good else np.nan)
            polys.append(poly if ok else np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32))
            inl.append(n_in)
        return detections.with_fields(identities=np.array(idents, dtype=object), distances=dists,
                                      polygons=polys, data={"inliers": np.array(inl, np.int64)})


def _read_cache(path: Path, kind: str) -> dict:
    """digest -> entry from a cache file; {} if absent or unreadable (it is then rebuilt)."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            hashes = [str(h) for h in z["hashes"]]
            if kind == "face":
                found, vec, box = z["found"], z["vectors"], z["boxes"]
                return {h: ((vec[i], box[i]) if found[i] else "none") for i, h in enumerate(hashes)}
            off, pts, desc, shapes = z["offsets"], z["pts"], z["desc"], z["shapes"]
            return {h: (pts[off[i]:off[i + 1]], desc[off[i]:off[i + 1]], tuple(int(v) for v in shapes[i]))
                    for i, h in enumerate(hashes)}
    except (OSError, ValueError, KeyError) as exc:
        warnings.warn(f"gallery cache {str(path)!r} is unreadable ({exc}); rebuilding it.",
                      CvtoolsWarning, stacklevel=3)
        return {}


def _write_cache(path: Path, kind: str, entries: dict) -> None:
    hashes = np.array(list(entries), dtype="<U64")
    vals = list(entries.values())
    if kind == "face":
        found = np.array([not isinstance(v, str) for v in vals])
        vec = np.array([v[0] if not isinstance(v, str) else np.zeros(128, np.float32) for v in vals],
                       np.float32).reshape(-1, 128)
        box = np.array([v[1] if not isinstance(v, str) else np.zeros(4, np.float32) for v in vals],
                       np.float32).reshape(-1, 4)
        arrays = {"found": found, "vectors": vec, "boxes": box}
    else:
        sizes = [len(v[0]) for v in vals]
        arrays = {"offsets": np.r_[0, np.cumsum(sizes)].astype(np.int64),
                  "pts": np.concatenate([v[0] for v in vals]).reshape(-1, 2).astype(np.float32) if vals
                  else np.zeros((0, 2), np.float32),
                  "desc": np.concatenate([v[1] for v in vals]).reshape(-1, 128).astype(np.float32) if vals
                  else np.zeros((0, 128), np.float32),
                  "shapes": np.array([v[2] for v in vals], np.int64).reshape(-1, 2)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.part")
        with open(tmp, "wb") as f:
            np.savez(f, hashes=hashes, **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"could not write the gallery cache {str(path)!r}: {exc}", CvtoolsWarning, stacklevel=3)
