"""Machine-readable codes: QR / barcodes (zxing-cpp, else OpenCV) and ArUco markers (OpenCV)."""
from __future__ import annotations

import os

import numpy as np

from .._shared import check_choice, is_available, require
from ._base import Detector, options_like, register_detector, to_gray_u8
from .._shared._detections import Detections

__all__ = ["CodeDetector", "ArucoDetector", "decode_bytes", "QR_FORMATS", "BARCODE_FORMATS"]

QR_FORMATS = ("QRCode", "MicroQRCode", "RMQRCode")
BARCODE_FORMATS = ("AllLinear", "DataMatrix", "Aztec", "PDF417", "MaxiCode")
#: What OpenCV's QRCodeDetector and barcode.BarcodeDetector read (the backend without zxing-cpp).
OPENCV_QR_FORMATS = ("QRCode",)
OPENCV_BARCODE_FORMATS = ("EAN13", "EAN8", "UPCA", "UPCE")
_PIP = 'pip install "cvtools[codes]"'
_RETRIES = ("binarizer", "blur", "upscale", "opencv")


def decode_bytes(raw: bytes) -> str:
    """Bytes of a code payload as text: UTF-8 when valid, else ISO-8859-1 (QR's default charset).

    ISO-8859-1 maps every byte to one code point, so no payload is ever lost or raises.

    Examples
    --------
    >>> decode_bytes("阿".encode("utf-8")), decode_bytes(b"caf\\xe9")
    ('阿', 'café')
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _empty() -> Detections:
    return Detections.empty(texts=True, polygons=True)


def _quad_to_box(quads: np.ndarray) -> np.ndarray:
    return np.column_stack([quads[:, :, 0].min(1), quads[:, :, 1].min(1),
                            quads[:, :, 0].max(1), quads[:, :, 1].max(1)])


def _opencv_qr_one_by_one(gray: np.ndarray):
    import cv2

    qr = cv2.QRCodeDetector()
    ok, points = qr.detectMulti(gray)
    if not ok or points is None:
        return False, [], None
    payloads = []
    for pts in points:
        try:
            payloads.append(qr.decodeBytes(gray, pts)[0])
        except cv2.error:
            payloads.append(b"")
    return True, payloads, points


class CodeDetector(Detector):
    """Find and decode QR codes or barcodes; the payloads go into ``texts``.

    Parameters
    ----------
    formats : sequence of str
        zxing-cpp format names (``"QRCode"``, ``"EAN13"``, ``"AllLinear"``, ``"DataMatrix"``, ...).
        ``qr`` defaults to QR, Micro QR and rMQR; ``barcode`` to every 1-D format plus DataMatrix,
        Aztec, PDF417 and MaxiCode.
        Default (None): every format the backend reads for this detector (with ``backend="opencv"``:
        ``QRCode`` for ``qr``; ``EAN13``, ``EAN8``, ``UPCA``, ``UPCE`` for ``barcode``).
    backend : {"auto", "zxing", "opencv"}
        ``"auto"`` uses zxing-cpp when installed (it decodes far more); without it, ``qr`` uses OpenCV's
        ``QRCodeDetector`` (plain QR codes only) and ``barcode`` raises ImportError with the pip line.
        ``"opencv"``: OpenCV's ``QRCodeDetector`` / ``barcode.BarcodeDetector``; asking it for a format
        it cannot read (Micro QR, DataMatrix, Code 128, ...) raises ValueError naming the format.
    retry : bool or "full"
        When the first pass finds nothing, try again, in order: zxing's global-histogram binarizer,
        a slight Gaussian blur (sigma 1, removes JPEG/halftone noise), a 2x cubic up-scale (only
        for images up to 1024 px, where modules may be 1-2 px wide); ``"full"`` then also tries
        OpenCV's QR detector (about 25 ms more per empty 640x480 frame, so it is not the default).
        Frames with a code cost nothing extra; an empty 640x480 frame costs about 14 ms more.
    try_rotate, try_invert, try_downscale : bool
        zxing-cpp options (search rotated codes, light-on-dark codes, downscaled copies).

    Notes
    -----
    Scores are 1 for decoded codes. Every detection has its decoded text (``texts``), the code's
    corner quadrilateral (``polygons``, clockwise from the top-left corner of the symbol) and
    ``data["format"]`` (zxing format name). Labels are the lower-cased format name (``"qrcode"``,
    ``"ean13"``). Text is zxing's plain text mode (ECI/charset applied, no GS1 parentheses);
    OpenCV payloads are decoded from bytes with :func:`decode_bytes`.
    """

    def __init__(self, *, formats=None, name: str = "qr", backend: str = "auto", retry: bool = True,
                 try_rotate: bool = True, try_invert: bool = True, try_downscale: bool = True) -> None:
        check_choice(backend, ("auto", "zxing", "opencv"), name="backend")
        if isinstance(formats, str):
            formats = (formats,)
        barcode = name == "barcode"
        self.name = name
        if retry not in (True, False, "full"):
            raise ValueError(f"`retry` must be True, False or 'full'; got {retry!r}.")
        self.retry = retry
        if backend == "auto":
            if is_available("zxingcpp"):
                backend = "zxing"
            elif barcode:
                raise ImportError(f'cvtools.detect.get("{name}") needs zxing-cpp: {_PIP} (or pass '
                                  f'backend="opencv" for EAN-13/EAN-8/UPC-A/UPC-E only).')
            else:
                backend = "opencv"
        if formats is None:
            formats = (OPENCV_BARCODE_FORMATS if barcode else OPENCV_QR_FORMATS) if backend == "opencv" \
                else (BARCODE_FORMATS if barcode else QR_FORMATS)
        formats = tuple(formats)
        if backend == "opencv":
            readable = OPENCV_BARCODE_FORMATS if barcode else OPENCV_QR_FORMATS
            unknown = [f for f in formats if f not in readable]
            if unknown:
                raise ValueError(f"OpenCV's {'barcode' if barcode else 'QR'} decoder cannot read format(s) "
                                 f"{', '.join(map(repr, unknown))}; it reads {', '.join(readable)}. For the "
                                 f"others use zxing-cpp: {_PIP}.")
        self.backend = backend
        self._qr_only = all(f in QR_FORMATS for f in formats)
        if backend == "zxing":
            zx = require("zxingcpp", feature=f'cvtools.detect.get("{name}", backend="zxing")')
            self._zx = zx
            try:
                self._formats = tuple(getattr(zx.BarcodeFormat, f) for f in formats)
            except AttributeError:
                valid = [m for m in zx.BarcodeFormat.__members__ if m != "NONE"]
                raise ValueError(f"unknown code format in {tuple(formats)!r}; valid: {', '.join(valid)}.") from None
            self._kw = dict(try_rotate=bool(try_rotate), try_invert=bool(try_invert),
                            try_downscale=bool(try_downscale), text_mode=zx.TextMode.Plain)
        self.formats = tuple(formats)
        self.options = {"formats": self.formats, "backend": backend, "retry": self.retry}

    # -- backends -------------------------------------------------------------------------------
    def _zxing(self, gray: np.ndarray, **extra) -> Detections:
        kw = dict(self._kw)
        kw.update(extra)
        found = self._zx.read_barcodes(gray, formats=self._formats, **kw)
        found = [b for b in found if b.valid]
        if not found:
            return _empty()
        quads, texts, labels, fmts = [], [], [], []
        for b in found:
            p = b.position
            quads.append([[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
                          [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]])
            texts.append(self._text(b))
            fmts.append(b.format.name)
            labels.append(b.format.name.lower())
        quads = np.asarray(quads, np.float32)
        return Detections(_quad_to_box(quads), labels=labels, texts=texts, polygons=list(quads),
                          data={"format": np.asarray(fmts, dtype=object)})

    def _text(self, b) -> str:
        # Byte payloads without a charset (ECI): zxing guesses, and may read UTF-8 bytes as
        # ISO-8859-1 ("cafÃ©"). Decode those bytes the way OpenCV payloads are decoded, so that both
        # backends agree: UTF-8 when valid, else ISO-8859-1.
        if b.content_type == self._zx.ContentType.Binary and b.bytes:
            return decode_bytes(bytes(b.bytes))
        return b.text

    def _opencv(self, gray: np.ndarray) -> Detections:
        import cv2

        quads, texts, labels = [], [], []
        if self._qr_only or any(f in QR_FORMATS for f in self.formats):
            try:
                ok, payloads, points, _ = cv2.QRCodeDetector().detectAndDecodeBytesMulti(gray)
            except cv2.error:
                # OpenCV raises for payload modes it cannot decode ("mode 13 ... not implemented") and so
                # fails every code in the image: decode them one at a time and drop only the unreadable
                # ones, as codes found but not decoded are dropped.
                ok, payloads, points = _opencv_qr_one_by_one(gray)
            if ok and points is not None:
                for raw, pts in zip(payloads, points):
                    if raw is not None and len(raw):
                        quads.append(np.asarray(pts, np.float32).reshape(4, 2))
                        texts.append(decode_bytes(bytes(raw)))
                        labels.append("qrcode")
        if not self._qr_only:
            ok, payloads, types, points = cv2.barcode.BarcodeDetector().detectAndDecodeWithType(gray)
            if ok and points is not None:
                for txt, typ, pts in zip(payloads, types, points):
                    if txt:
                        quads.append(np.asarray(pts, np.float32).reshape(4, 2))
                        texts.append(txt)
                        labels.append(str(typ).lower().replace("_", "").replace("-", ""))
        if not quads:
            return _empty()
        quads = np.asarray(quads, np.float32)
        return Detections(_quad_to_box(quads), labels=labels, texts=texts, polygons=list(quads),
                          data={"format": np.asarray([lb.upper() for lb in labels], dtype=object)})

    def _detect(self, image: np.ndarray) -> Detections:
        import cv2

        gray = to_gray_u8(image)
        if self.backend == "opencv":
            return self._opencv(gray)
        det = self._zxing(gray)
        if len(det) or not self.retry:
            return det
        det = self._zxing(gray, binarizer=self._zx.Binarizer.GlobalHistogram)
        if len(det):
            return det
        det = self._zxing(cv2.GaussianBlur(gray, (0, 0), 1.0))
        if len(det):
            return det
        if max(gray.shape) <= 1024:
            big = cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
            det = self._zxing(big)
            if len(det):
                return det.scale(0.5)
        if self.retry == "full":
            return self._opencv(gray)
        return det


@register_detector("qr", "QR / Micro QR codes, decoded (zxing-cpp; without it OpenCV, plain QR only)",
                   model="zxing-cpp or OpenCV QRCodeDetector (no trained model)", license="Apache-2.0 / BSD",
                   classes=("qr",), speed="real time")
def make_qr(**options) -> CodeDetector:
    return CodeDetector(name="qr", **options)


@register_detector("barcode", "1-D barcodes, DataMatrix, Aztec, PDF417, decoded (zxing-cpp; backend='opencv': EAN/UPC)",
                   model="zxing-cpp or OpenCV BarcodeDetector (no trained model)", license="Apache-2.0 / BSD",
                   needs=("zxingcpp",), classes=(), speed="real time")
def make_barcode(**options) -> CodeDetector:
    return CodeDetector(name="barcode", **options)


make_qr.__doc__ = make_barcode.__doc__ = CodeDetector.__doc__
make_qr.__signature__ = make_barcode.__signature__ = options_like(CodeDetector, drop=("name",))

_REFINE = {"none": "CORNER_REFINE_NONE", "subpix": "CORNER_REFINE_SUBPIX",
           "contour": "CORNER_REFINE_CONTOUR", "apriltag": "CORNER_REFINE_APRILTAG"}


def _aruco_dictionary(dictionary):
    import cv2

    aruco = cv2.aruco
    if isinstance(dictionary, aruco.Dictionary):
        return dictionary, "custom"
    if not isinstance(dictionary, (str, os.PathLike)):
        raise TypeError(f"`dictionary` must be a name like 'DICT_6X6_250' or a YAML path; got {type(dictionary).__name__}.")
    text = os.fspath(dictionary)
    if text.lower().endswith((".yml", ".yaml", ".json")) or os.path.isfile(text):
        if not os.path.isfile(text):
            raise ValueError(f"`dictionary` file {text!r} does not exist.")
        fs = cv2.FileStorage(text, cv2.FILE_STORAGE_READ)
        d = aruco.Dictionary()
        ok = d.readDictionary(fs.root())
        fs.release()
        if not ok:
            raise ValueError(f"`dictionary` file {text!r} is not an OpenCV ArUco dictionary "
                             "(needs nmarkers, markersize, marker_<i>).")
        return d, os.path.basename(text)
    key = text.upper()
    if not key.startswith("DICT_"):
        key = "DICT_" + key
    names = sorted(n for n in dir(aruco) if n.startswith("DICT_") and n.upper() == n)
    if key not in names:
        raise ValueError(f"unknown ArUco dictionary {dictionary!r}; valid: {', '.join(names)}, or a YAML path.")
    return aruco.getPredefinedDictionary(getattr(aruco, key)), key


@register_detector("aruco", "ArUco / AprilTag markers: IDs and corners (OpenCV)",
                   model="OpenCV ArucoDetector (dictionaries, no trained model)", license="BSD (OpenCV)",
                   classes=("aruco",), speed="real time")
class ArucoDetector(Detector):
    """Find fiducial markers of one dictionary with ``cv2.aruco.ArucoDetector``.

    Parameters
    ----------
    dictionary : str or path
        A predefined dictionary (``"DICT_6X6_250"``, ``"4x4_50"``, ``"DICT_APRILTAG_36h11"``, ...)
        or the path of a custom dictionary YAML in OpenCV's format (``nmarkers``, ``markersize``,
        ``marker_<i>`` bit strings).
    parameters : dict or path, optional
        ``cv2.aruco.DetectorParameters`` overrides: a dict of attribute names to values, or the path
        of an OpenCV detector-parameters YAML.
    corner_refinement : {"none", "subpix", "contour", "apriltag"} or None
        Corner refinement method; None keeps OpenCV's default (none) or the one in ``parameters``.

    Notes
    -----
    Every detection has label ``"aruco"``, the marker ID in ``identities`` (int), its four corners
    in ``polygons`` and ``landmarks`` (clockwise from the marker's own top-left corner), the box
    around them in ``xyxy``, and score 1.
    """

    name = "aruco"

    def __init__(self, *, dictionary="DICT_6X6_250", parameters=None, corner_refinement=None):
        import cv2

        aruco = cv2.aruco
        self._dict, self.dictionary = _aruco_dictionary(dictionary)
        params = aruco.DetectorParameters()
        if isinstance(parameters, (str, os.PathLike)):
            if not os.path.isfile(parameters):
                raise ValueError(f"`parameters` file {os.fspath(parameters)!r} does not exist.")
            fs = cv2.FileStorage(os.fspath(parameters), cv2.FILE_STORAGE_READ)
            params.readDetectorParameters(fs.root())
            fs.release()
        elif isinstance(parameters, dict):
            for k, v in parameters.items():
                if not hasattr(params, k):
                    valid = ", ".join(a for a in dir(params) if not a.startswith("_") and not callable(getattr(params, a)))
                    raise ValueError(f"unknown ArUco parameter {k!r}; valid: {valid}.")
                setattr(params, k, v)
        elif parameters is not None:
            raise TypeError(f"`parameters` must be a dict or a YAML path; got {type(parameters).__name__}.")
        if corner_refinement is not None:
            check_choice(corner_refinement, tuple(_REFINE), name="corner_refinement")
            params.cornerRefinementMethod = getattr(aruco, _REFINE[corner_refinement])
        self._det = aruco.ArucoDetector(self._dict, params)
        self.options = {"dictionary": self.dictionary, "corner_refinement": corner_refinement}

    def _detect(self, image: np.ndarray) -> Detections:
        gray = to_gray_u8(image)
        corners, ids, _ = self._det.detectMarkers(gray)
        if ids is None or len(ids) == 0:
            return Detections.empty(identities=True, polygons=True)
        quads = np.asarray(corners, np.float32).reshape(-1, 4, 2)
        ids = np.asarray(ids).reshape(-1)
        return Detections(_quad_to_box(quads), labels=["aruco"] * len(ids),
                          identities=[int(i) for i in ids], polygons=list(quads), landmarks=quads)
