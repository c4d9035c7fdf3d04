"""Galleries of known faces or objects, built from ``root/<name>/<image>`` folders or ``root/<name>.jpg`` files."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np

from .._shared import CvtoolsWarning, check_choice, check_device, check_image, sha256_file

KINDS = ("face", "object")
#: Default face threshold: dlib's descriptors put two photos of one person within 0.6 of each other
#: (Euclidean) for 99.38% of LFW pairs; face_recognition uses the same value ("tolerance").
FACE_THRESHOLD = 0.6
#: Default minimum RANSAC inliers for an object match.
MIN_INLIERS = 12
CACHE_VERSION = 2
_NO_FACE = ("skip", "whole", "error")


#: A trailing copy index stripped from a flat gallery file's stem: alice_2.jpg, alice-2.jpg, alice (2).jpg.
_INDEX_SUFFIX = re.compile(r"(?:[_-]\d+| \(\d+\))$")


def gallery_files(root) -> tuple[list[Path], list[str]]:
    """The images of a gallery folder and the name each is filed under, in sorted order.

    Two layouts, which may be mixed in one folder:

    * class sub-folders ``root/<name>/<image>`` (images may sit deeper below ``<name>``): the name
      is the sub-folder's, as :func:`cvtools.datasets.load` reads class folders;
    * flat files ``root/<name>.<ext>`` (face_recognition's ``known_people/obama.jpg``): the name is
      the file's stem less a trailing copy index ``_N``, ``-N`` or `` (N)``, so ``alice.jpg``,
      ``alice_2.jpg`` and ``alice (3).png`` are all ``alice``. A name that itself ends in ``_<digits>``
      (``agent_007``) needs the sub-folder layout.

    Hidden files and folders (the ``.cvtools-cache``) are skipped.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("alice.jpg", "alice_2.jpg", "bob/1.png", "bob/x/2.png", ".hidden.png"):
    ...     (root / name).parent.mkdir(parents=True, exist_ok=True); (root / name).touch()
    >>> paths, names = gallery_files(root)
    >>> [p.relative_to(root).as_posix() for p in paths], names
    (['alice.jpg', 'alice_2.jpg', 'bob/1.png', 'bob/x/2.png'], ['alice', 'alice', 'bob', 'bob'])
    """
    from ..io import IMAGE_EXTENSIONS, iter_images

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"gallery {str(root)!r} is not a folder; expected root/<name>/<image> or "
                                "root/<name>.jpg.")
    paths, names = [], []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir():
            found = list(iter_images(path))
            paths.extend(found)
            names.extend([entry.name] * len(found))
        elif entry.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            paths.append(path)
            names.append(_INDEX_SUFFIX.sub("", path.stem) or path.stem)
    if not paths:
        raise ValueError(f"gallery {str(root)!r} holds no images; expected root/<name>/<image> (e.g. "
                         "root/alice/1.jpg) or root/<name>.jpg (e.g. root/alice.jpg, root/alice_2.jpg).")
    return paths, names


def default_cache_dir(root: str | os.PathLike) -> Path:
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
    from .._shared._detections import Detections

    return Detections


#: The face detector a gallery uses when none is given (YuNet: faces from about 10 px, five landmarks).
DEFAULT_FACE_DETECTOR = "face"
#: Faces turned further than this (:func:`cvtools.identify._face.yaw`: the nose tip's offset from the eyes'
#: midpoint, in eye distances) are not named: dlib's descriptor is made for faces seen from the front, and
#: YuNet finds profiles too. Measured on the Hamilton clip: every right name had |yaw| <= 0.47, the wrong
#: ones (profiles) 0.56-3.2; the knn and ORL photos stay below 0.37.
MAX_YAW = 0.5
_UPSAMPLE_REMOVED = ("`upsample` was an option of dlib's HOG face detector, which galleries no longer run "
                     "themselves: faces come from `detector` (default 'face', YuNet, faces from about 10 px). "
                     "The previous behaviour: detector=cvtools.detect.get('face-dlib-hog', upsample=2.0), "
                     "align='shape-predictor'.")


def _face_detector(detector):
    """A detector object from a ``cvtools.detect`` name or an object with ``detect(image)``."""
    if isinstance(detector, str):
        from ..detect import get

        return get(detector)
    if not callable(getattr(detector, "detect", None)):
        raise TypeError("`detector` must be a name from cvtools.detect.detectors() or an object with "
                        f"detect(image) -> Detections; got {type(detector).__name__}.")
    return detector


def detector_key(detector) -> dict:
    """What names a face detector in a gallery's cache key: its name and its options.

    Examples
    --------
    >>> from cvtools import detect
    >>> detector_key(detect.get("face-haar"))["name"]
    'face-haar'
    """
    name = getattr(detector, "name", None) or f"{type(detector).__module__}.{type(detector).__qualname__}"
    options = getattr(detector, "options", None)
    return {"name": str(name), "options": json.loads(json.dumps(options, sort_keys=True, default=repr))}


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
    detector : str or detector object, optional
        ``face``: what finds the faces, in the gallery's photos and in the images to identify when
        no detections are given: a ``cvtools.detect`` name (default ``"face"``, YuNet: faces from
        about 10 px with five landmarks; ``"face-dlib-hog"``, ``"face-accurate"``, ...) or an object
        with ``detect(image) -> Detections``. Its name and options are part of the cache key.
    align : {"landmarks", "shape-predictor"}
        ``face``: how a face is aligned to dlib's 150 x 150 chip before it is described.
        ``"landmarks"`` (default): from the detector's five landmarks when it gives them (YuNet's
        eyes, nose tip and mouth corners, mapped to dlib's chip), else dlib's 5-point shape predictor
        on the box. ``"shape-predictor"``: always the shape predictor on the box (face_recognition's
        way with dlib's boxes). Measured: the landmarks name more small faces right (docs/recognition.md).
    max_yaw : float or None
        ``face``: a face turned further than this is ``"unknown"`` whatever its distance (default
        :data:`MAX_YAW` = 0.5, about 30-40 degrees; None names faces in any pose). The turn is the nose
        tip's offset from the eyes' midpoint along the eye line, in eye distances, from the detector's
        five landmarks (``data["yaw"]``; NaN, never refused, without them).
    num_jitters : int
        ``face``: re-sample each gallery face this many times, jittered, and average (slower, a
        little more accurate). Probes are never jittered.
    ratio : float
        ``object``: Lowe's ratio-test constant.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``face``: where torch computes the face descriptors ("auto": CUDA when torch sees a GPU, else
        the CPU). Without torch, dlib computes them on the CPU, and a CUDA device is an error.

    Examples
    --------
    >>> g = Gallery("object")
    >>> len(g), g.names
    (0, [])
    >>> Gallery("face", detector="face-dlib-hog").detector.name
    'face-dlib-hog'
    """

    def __init__(self, kind: str = "face", *, threshold: float = FACE_THRESHOLD,
                 min_inliers: int = MIN_INLIERS, detector=None, align: str = "landmarks",
                 max_yaw: float | None = MAX_YAW, num_jitters: int = 0, ratio: float = 0.75,
                 device: str | None = "auto", **removed):
        if "upsample" in removed:
            raise TypeError(_UPSAMPLE_REMOVED)
        if removed:
            raise TypeError(f"Gallery() got unexpected keyword argument(s): {', '.join(map(repr, removed))}.")
        self.kind = check_choice(kind, KINDS, name="kind")
        if not threshold > 0:
            raise ValueError(f"`threshold` must be > 0; got {threshold}.")
        from ._face import ALIGNMENTS

        self.align = check_choice(align, ALIGNMENTS, name="align")
        if self.kind == "face":
            self.detector = _face_detector(DEFAULT_FACE_DETECTOR if detector is None else detector)
        elif detector is not None:
            raise ValueError(f"`detector` applies to kind='face' galleries; got one for kind={kind!r}.")
        else:
            self.detector = None
        if max_yaw is not None and not max_yaw > 0:
            raise ValueError(f"`max_yaw` must be > 0 or None; got {max_yaw}.")
        self.max_yaw = None if max_yaw is None else float(max_yaw)
        self.threshold = float(threshold)
        self.min_inliers = int(min_inliers)
        self.num_jitters = int(num_jitters)
        self.device = check_device(device)
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

    @staticmethod
    def _detector_points(detections) -> np.ndarray:
        """The detections' five face landmarks ``(N, 5, 2)`` (``cvtools.detect`` order); NaN rows where
        there are none, or where a gallery put dlib's shape-predictor points there (``data["aligned_by"]``)."""
        pts = np.full((len(detections), 5, 2), np.nan, np.float32)
        lms = detections.landmarks
        if lms is not None and lms.shape[1:] == (5, 2):
            pts[:] = lms
            before = detections.data.get("aligned_by")
            if before is not None:
                pts[np.asarray(before, dtype=object) == "shape-predictor"] = np.nan
        return pts

    def _alignment_points(self, detections) -> np.ndarray:
        """``(N, 5, 2)`` points to align each face with; NaN rows where the shape predictor must find them."""
        pts = self._detector_points(detections)
        return pts if self.align == "landmarks" else np.full_like(pts, np.nan)

    def _named(self, detections, marks, desc, points, data=None):
        """The identified faces: names (``"unknown"`` beyond ``threshold`` or ``max_yaw``), distances, the
        points each face was aligned with and ``data["aligned_by"]``, ``data["yaw"]``."""
        from ._face import yaw

        idents, dists = self.match(desc)
        turn = yaw(self._detector_points(detections))
        if self.max_yaw is not None:
            idents = np.where(np.abs(np.nan_to_num(turn)) > self.max_yaw, "unknown", idents).astype(object)
        aligned_by = np.where(np.isfinite(points).all(axis=(1, 2)), "landmarks", "shape-predictor").astype(object)
        return detections.with_fields(landmarks=marks, identities=idents, distances=dists,
                                      data={**(data or {}), "aligned_by": aligned_by, "yaw": turn})

    def _entry_from_image(self, image, box=None):
        """Face: (vector, box) of the given box or the largest face (None if none); object: features."""
        image = check_image(image)
        if self.kind == "object":
            from ._object import sift_features

            return sift_features(image)
        from .._shared import to_rgb_uint8
        from ._face import describe_faces

        rgb = to_rgb_uint8(image)
        points = None
        if box is None:
            found = self.detector.detect(image)
            if not len(found):
                return None
            i = int(found.area.argmax())
            box, points = found.xyxy[i], self._alignment_points(found)[i:i + 1]
        elif isinstance(box, str) and box == "whole":
            box = np.array([0, 0, rgb.shape[1], rgb.shape[0]], np.float32)
        box = np.asarray(box, np.float32).reshape(4)
        _, vec = describe_faces(rgb, box[None], landmarks=points, num_jitters=self.num_jitters,
                                device=self.device)
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
        """Build a gallery from ``root/<name>/<image>`` or ``root/<name>.jpg`` (see :func:`gallery_files`).

        Parameters
        ----------
        root : str or pathlib.Path
            One sub-folder per person or object (its name is the identity; images may sit deeper
            below it), or flat files named after them (``alice.jpg``, ``alice_2.jpg``, ``bob.png``),
            or both.
        kind : {"face", "object"}
            See :class:`Gallery`.
        cache : bool
            Keep the embeddings on disk, keyed by the SHA-256 of each file's bytes, so a second
            build only computes new or changed files. Stored as a plain ``.npz`` (never a pickle)
            in :func:`default_cache_dir` (``root/.cvtools-cache/`` when writable), signed with an
            HMAC-SHA256 of its whole content under a per-user secret key
            (``$XDG_CACHE_HOME/cvtools/gallery-cache.key``, mode 0600, made on first use): a cache
            edited by anyone else, corrupt or inconsistent is "not a valid cvtools gallery file"
            (one warning) and is rebuilt from the images, so it can never change identities.
        cache_dir : str or pathlib.Path, optional
            Put the cache here instead.
        no_face : {"skip", "whole", "error"}
            ``face``: a gallery image in which no face is found is skipped (one warning lists
            them), used whole as the face, or raises ValueError.
        progress : bool, optional
            Progress bar on stderr; default: only when stderr is a terminal.
        **options
            ``threshold``, ``min_inliers``, ``detector``, ``align``, ``num_jitters``, ``ratio``, ``device``. The
            face cache is kept per detector (name and options), alignment and jitters: changing one
            of them describes the images again.
        """
        from tqdm import tqdm

        from ..io import read

        check_choice(no_face, _NO_FACE, name="no_face")
        gallery = cls(kind, **options)
        root = Path(root)
        paths, labels = gallery_files(root)
        params = ({"detector": detector_key(gallery.detector), "align": gallery.align,
                   "num_jitters": gallery.num_jitters, "no_face": no_face}
                  if kind == "face" else {"max_side": 800, "nfeatures": 2000})
        key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
        cache_file = None
        old = {}
        signing_key = _cache_key() if cache else None
        if signing_key is not None:
            cache_file = Path(cache_dir) if cache_dir is not None else default_cache_dir(root)
            cache_file = cache_file / f"{kind}-v{CACHE_VERSION}-{key}-{_key_id(signing_key)}.npz"
            old = _read_cache(cache_file, kind, signing_key, len(paths))
        new, missing = {}, []
        show = sys.stderr.isatty() if progress is None else bool(progress)
        for path, name in tqdm(list(zip(paths, labels)), desc=f"{kind} gallery", disable=not show,
                               file=sys.stderr):
            digest = sha256_file(path)
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
            _write_cache(cache_file, kind, new, signing_key)
        return gallery

    # -- identification ------------------------------------------------------------------------------
    def identify(self, image, detections=None):
        """Name every face (or gallery object) in ``image``.

        Parameters
        ----------
        image : (H, W) or (H, W, 3|4) ndarray
            The picture (RGB; any cvtools dtype).
        detections : cvtools.detect.Detections, optional
            Where the faces (or objects) are. ``face``: when omitted, the gallery's ``detector``
            finds every face; given detections with five landmarks per face (YuNet's) are aligned
            from them (see ``align``). ``object``: when omitted, every gallery object is searched
            for in the whole image; otherwise each box is matched against the gallery.

        Returns
        -------
        cvtools.detect.Detections
            ``identities``: the name, or ``"unknown"`` (face farther than ``threshold`` from every
            gallery face; object with fewer than ``min_inliers`` inliers). ``distances``: face:
            Euclidean distance to the nearest gallery face; object: the fraction of ratio-test
            matches RANSAC rejected (0 = all consistent). Faces also get the 5 ``landmarks`` they
            were aligned with, ``data["aligned_by"]``: ``"landmarks"`` (the detector's points, kept)
            or ``"shape-predictor"`` (dlib's: eyes' corners and nose base), and ``data["yaw"]`` (see
            ``max_yaw``); objects get ``polygons`` (the outline), ``scores`` = inlier count and
            ``data["inliers"]``.
        """
        image = check_image(image)
        if self.kind == "face":
            return self._identify_faces(image, detections)
        return self._identify_objects(image, detections)

    def _identify_faces(self, image, detections):
        from .._shared import to_rgb_uint8
        from ._face import describe_faces

        if detections is None:
            detections = self.detector.detect(image)
        points = self._alignment_points(detections)
        marks, desc = describe_faces(to_rgb_uint8(image), detections.xyxy, landmarks=points,
                                     device=self.device)
        return self._named(detections, marks, desc, points)

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


# --------------------------------------------------------------------------------- the embedding cache
#: Largest cache entry per image, in bytes: the face vector and box, or up to 4000 SIFT keypoints.
_ENTRY_BYTES = {"face": 1024, "object": 4000 * (2 + 128) * 4 + 1024}
_KEYS: dict = {}


def _cache_key() -> bytes | None:
    """The per-user secret that signs gallery caches, or None (with a warning) when it cannot be kept.

    32 random bytes in ``$XDG_CACHE_HOME/cvtools/gallery-cache.key`` (``~/.cache`` when unset), created
    atomically with mode 0600 on first use. Another user who can write a shared gallery's cache
    folder cannot read it, so cannot forge a cache this user will trust.
    """
    import secrets

    path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cvtools" / "gallery-cache.key"
    if path in _KEYS:
        return _KEYS[path]
    key, why = None, "it could not be created"
    try:
        for _ in range(3):
            try:
                data = path.read_bytes()
                if len(data) == 32:
                    key = data
                    break
                damaged = True  # not a key cvtools wrote: replace it (caches signed with it are rebuilt)
            except FileNotFoundError:
                damaged = False
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_bytes(32))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                if damaged:
                    os.replace(tmp, path)
                else:
                    os.link(tmp, path)  # atomic: the first process to get there wins, the others read its key
            except FileExistsError:
                pass
            finally:
                if tmp.exists():
                    os.unlink(tmp)
    except OSError as exc:
        why = str(exc)
    if key is None:
        warnings.warn(f"cannot keep the gallery cache key {str(path)!r} ({why}); the embedding cache is "
                      "not used (every image is described again).", CvtoolsWarning, stacklevel=3)
    _KEYS[path] = key
    return key


def _key_id(key: bytes) -> str:
    """A short public name of the key, so users sharing a gallery folder keep separate caches."""
    return hashlib.sha256(b"cvtools gallery key id" + key).hexdigest()[:8]


def _cache_mac(key: bytes, kind: str, arrays: dict) -> str:
    """HMAC-SHA256 of every array (name, dtype, shape, bytes) of a cache, in name order."""
    h = hmac.new(key, f"cvtools.gallery v{CACHE_VERSION} {kind}".encode(), hashlib.sha256)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"|{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _cache_entries(arrays: dict, kind: str) -> dict:
    """digest -> entry of a verified cache, every array checked; raises Invalid."""
    from .._shared._npz import Invalid, check_array, check_no_extra

    hashes = arrays.get("hashes")
    if hashes is None or hashes.ndim != 1 or hashes.dtype != np.dtype("<U64"):
        raise Invalid("array 'hashes' must be a list of SHA-256 hex digests")
    if not all(len(h) == 64 and set(h) <= set("0123456789abcdef") for h in hashes.tolist()):
        raise Invalid("array 'hashes' holds something other than SHA-256 hex digests")
    n = len(hashes)
    hashes = hashes.tolist()
    if kind == "face":
        check_no_extra(arrays, ("hashes", "found", "vectors", "boxes"))
        found = check_array(arrays, "found", (n,), kind="b")
        vec = check_array(arrays, "vectors", (n, 128))
        box = check_array(arrays, "boxes", (n, 4))
        return {h: ((vec[i], box[i]) if found[i] else "none") for i, h in enumerate(hashes)}
    check_no_extra(arrays, ("hashes", "offsets", "pts", "desc", "shapes"))
    off = check_array(arrays, "offsets", (n + 1,), kind="i")
    m = int(off[-1])
    if off[0] != 0 or (np.diff(off) < 0).any():
        raise Invalid("array 'offsets' must start at 0 and never decrease")
    pts = check_array(arrays, "pts", (m, 2))
    desc = check_array(arrays, "desc", (m, 128))
    shapes = check_array(arrays, "shapes", (n, 2), kind="i")
    if (shapes < 1).any():
        raise Invalid("array 'shapes' holds image sizes below 1")
    return {h: (pts[off[i]:off[i + 1]], desc[off[i]:off[i + 1]], tuple(int(v) for v in shapes[i]))
            for i, h in enumerate(hashes)}


def _read_cache(path: Path, kind: str, key: bytes, n_images: int) -> dict:
    """digest -> entry from a cache file; {} if absent, or (with a warning) when it is not a valid
    cvtools gallery file: unreadable, larger than its images could need, signed with another key,
    edited, or inconsistent. The caller then rebuilds it."""
    from .._shared._npz import Invalid, read_npz

    if not path.is_file():
        return {}
    # room for entries of images removed since the cache was written (dropped at the next write)
    limit = 2 ** 16 + _ENTRY_BYTES[kind] * max(2 * n_images, n_images + 16)
    try:
        arrays = read_npz(path, max_bytes=limit, kinds="buifU")
        mac = arrays.pop("mac", None)
        if mac is None or mac.shape != () or mac.dtype.kind != "U":
            raise Invalid("it has no signature")
        if not hmac.compare_digest(str(mac), _cache_mac(key, kind, arrays)):
            raise Invalid("its signature does not match its content (edited, or written by another user)")
        return _cache_entries(arrays, kind)
    except (Invalid, OSError) as exc:
        warnings.warn(f"gallery cache {str(path)!r} is not a valid cvtools gallery file: {exc}; rebuilding it.",
                      CvtoolsWarning, stacklevel=3)
        return {}


def _write_cache(path: Path, kind: str, entries: dict, key: bytes) -> None:
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
        arrays["hashes"] = hashes
        with open(tmp, "wb") as f:
            np.savez(f, mac=np.array(_cache_mac(key, kind, arrays)), **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"could not write the gallery cache {str(path)!r}: {exc}", CvtoolsWarning, stacklevel=3)
