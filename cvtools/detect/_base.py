"""The detector interface, the registry of detector names, and image preparation shared by detectors."""
from __future__ import annotations

import abc
import inspect
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._shared import EXTRAS, as_uint8, check_image, is_available
from .._shared._detections import Detections

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (not evaluated at run time)
    from typing import Any

__all__ = ["Detector", "DetectorInfo", "get", "detectors", "register_detector", "auto_min_size", "margin_to_score",
           "score_to_margin"]


class Detector(abc.ABC):
    """Base class of every detector: build once (the expensive part), then call :meth:`detect` per image.

    Subclasses implement :meth:`_detect` on a validated image and return :class:`Detections` in that
    image's pixel coordinates. Detectors hold only their configuration and models, never results
    (the ``motion`` detector also holds its background model, which is its purpose).
    """

    name: str = "detector"

    def detect(self, image) -> Detections:
        """Detect objects in ``image`` ((H, W), (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16 or float).

        Returns
        -------
        Detections
            Boxes in ``image``'s pixel coordinates.
        """
        image = check_image(image)
        if image.ndim == 3 and image.shape[2] == 1:  # gray: OpenCV's colour conversions refuse (H, W, 1)
            image = image[..., 0]
        return self._detect(image)

    __call__ = detect

    @abc.abstractmethod
    def _detect(self, image: np.ndarray) -> Detections:
        """Find objects in a validated image; subclasses implement this."""

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in getattr(self, "options", {}).items())
        return f"<{type(self).__name__} {self.name!r}{' ' + opts if opts else ''}>"


@dataclass(frozen=True)
class DetectorInfo:
    """One entry of :func:`detectors`: whether a detector can run here, and if not why and how to fix it."""

    name: str
    description: str
    available: bool
    why: str
    install: str
    extra: str | None
    model: str = ""
    license: str = ""
    classes: tuple[str, ...] = ()
    speed: str = ""


@dataclass(frozen=True)
class _Spec:
    factory: Callable
    description: str
    needs: tuple[str, ...]
    check: Callable | None = None  # extra availability check -> reason string or ""
    model: str = ""
    license: str = ""
    classes: tuple[str, ...] = ()
    speed: str = ""


_DETECTORS: dict[str, _Spec] = {}

def register_detector(name: str, description: str, *, needs: tuple[str, ...] = (), check: Callable[[], str | None] | None = None, model: str = "",
                      license: str = "", classes: tuple[str, ...] =(), speed: str = "") -> Callable[[Any], Any]:
    """Decorator registering a detector class (or factory) under ``name`` for :func:`get` and the CLI.

    Parameters
    ----------
    name : str
        The name users pass to :func:`get` and ``cvtools detect --detector``.
    description : str
        One line for :func:`detectors` and ``cvtools detect --list``.
    needs : tuple of str
        Optional modules it imports; :func:`detectors` reports it unavailable (with the pip line)
        when one is missing.
    check : callable, optional
        Returns a reason string when the detector cannot run here, else ``""``.
    model, license : str
        What it runs (algorithm or network and its file) and under which licence its model is shipped.
    classes : tuple of str
        The labels it can report (empty when they depend on its options, e.g. ``template``).
    speed : str
        A speed class for 640x480 on one core: ``"real time"`` (>= 25 frames/s), ``"interactive"``
        (2-25 frames/s) or ``"slow"`` (< 2 frames/s).

    Examples
    --------
    >>> @register_detector("whole-image", "one box around the whole image")  # doctest: +SKIP
    ... class WholeImage(Detector):
    ...     name = "whole-image"
    ...     def _detect(self, image):
    ...         h, w = image.shape[:2]
    ...         return Detections([[0, 0, w, h]], labels="image")
    """

    def deco(factory):
        _DETECTORS[name] = _Spec(factory, description, tuple(needs), check, model, license, tuple(classes), speed)
        return factory

    return deco


def _availability(spec: _Spec) -> tuple[bool, str, str, str | None]:
    for module in spec.needs:
        if not is_available(module):
            extra = EXTRAS.get(module, (None,))[0]
            install = f'pip install "cvtools[{extra}]"' if extra else f"pip install {module}"
            return False, f"{module} is not installed", install, extra
    if spec.check is not None:
        why = spec.check()
        if why:
            return False, why, "", None
    extra = next((EXTRAS[m][0] for m in spec.needs if m in EXTRAS), None)
    return True, "", "", extra


def detectors() -> list[DetectorInfo]:
    """Every detector name, with whether it can run here and, if not, why and the install line.

    Listed in registration order: the package registers the CNN defaults first, then the classic
    detectors by family (``cvtools/detect/__init__.py``).

    Examples
    --------
    >>> info = {d.name: d for d in detectors()}
    >>> info["face-haar"].available
    True
    """
    out = []
    for name, spec in _DETECTORS.items():
        ok, why, install, extra = _availability(spec)
        out.append(DetectorInfo(name, spec.description, ok, why, install, extra, spec.model, spec.license,
                                spec.classes, spec.speed))
    return out


def options_like(cls: type, *, drop: tuple[str, ...] = (), defaults: dict[str, Any] | None = None) -> inspect.Signature:
    """The keyword options of ``cls`` without ``drop``: the signature of a factory that wraps it.

    Set as a factory's ``__signature__`` so :func:`get` (and ``help``) see the options it passes on.

    >>> class A:
    ...     def __init__(self, path, *, size=1, name="a"): ...
    >>> str(options_like(A, drop=("name",), defaults={"path": "x.xml"}))
    "(*, path='x.xml', size=1)"
    """
    defaults = defaults or {}
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=defaults.get(p.name, p.default))
              for p in _keyword_params(cls) or () if p.name not in drop]
    return inspect.Signature(params)


def _keyword_params(factory) -> list[inspect.Parameter] | None:
    """The parameters a detector factory takes by keyword; None when it takes any keyword (``**kwargs``
    with nothing declared). A class whose ``__init__`` passes ``**options`` up is read from its base."""
    if isinstance(factory, type):
        targets = [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c) and c is not object]
    else:
        targets = [factory]
    for target in targets:
        params = [p for i, p in enumerate(inspect.signature(target).parameters.values())
                  if not (isinstance(factory, type) and i == 0)]  # self
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return None


def _check_options(name: str, factory, options: dict) -> None:
    params = _keyword_params(factory)
    if params is None:
        return
    valid = [p.name for p in params]
    unknown = [k for k in options if k not in valid]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise TypeError(f"detector {name!r} has no {', '.join(f'`{k}`' for k in unknown)} "
                        f"option{'s' if len(unknown) > 1 else ''}{hint}; valid options: "
                        f"{', '.join(valid) if valid else 'none'}.")


def get(name: str, **options: Any) -> Detector:
    """Build the detector called ``name`` with ``options``.

    Parameters
    ----------
    name : str
        One of the names listed by :func:`detectors` (``"face"``, ``"qr"``, ``"aruco"``, ...).
    **options
        Keyword options of that detector (see its class docstring).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or an invalid option value.
    TypeError
        For an option the detector does not take (the message names the detector, the option and the
        valid ones).
    ImportError
        When the detector needs a package that is not installed (the message has the pip line).

    Examples
    --------
    >>> det = get("face-haar")
    >>> len(det.detect(np.zeros((64, 64), np.uint8)))
    0
    """
    if not isinstance(name, str) or name not in _DETECTORS:
        valid = ", ".join(sorted(_DETECTORS))
        raise ValueError(f"unknown detector {name!r}; valid: {valid}.")
    factory = _DETECTORS[name].factory
    _check_options(name, factory, options)
    return factory(**options)


# ---------------------------------------------------------------------------- image preparation
def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """uint8 gray (luma, ITU-R BT.601 as OpenCV), alpha ignored."""
    import cv2

    img = as_uint8(image)
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(img)


def auto_min_size(shape, min_size, *, fraction: float = 0.1, low: int = 32, high: int = 48) -> float:
    """The smallest object size to look for: ``min_size`` if given, else a fraction of the shorter side.

    ``min_size=None`` means ``clip(min(H, W) * fraction, low, high)``: 48 px on a 640x480 frame
    and any larger image, 37.5 px on 500x375, 32 px below 320 px (faces of 48 px are found in any
    photo; small images, where faces are small too, are searched for smaller ones).
    """
    if min_size is None:
        return float(min(max(min(shape[0], shape[1]) * fraction, low), high))
    if not isinstance(min_size, (int, float)) or isinstance(min_size, bool) or not math.isfinite(min_size) \
            or min_size <= 0:
        raise ValueError(f"`min_size` must be a positive number of pixels or None; got {min_size!r}.")
    return float(min_size)


def margin_to_score(raw, *, spread: float) -> np.ndarray:
    """Classifier margins mapped to scores in [0, 1]: a logistic with 0.5 at the decision boundary (0).

    Classic detectors report SVM margins or cascade weights on scales of their own; this monotone map
    keeps their order and puts every detector's ``scores`` in [0, 1] (higher is more confident). The raw
    values stay in ``Detections.data["raw_score"]``.

    >>> [round(float(s), 3) for s in margin_to_score(np.array([-1.0, 0.0, 1.0]), spread=0.5)]
    [0.119, 0.5, 0.881]
    """
    raw = np.asarray(raw, np.float64)
    return (1.0 / (1.0 + np.exp(-np.clip(raw / spread, -50, 50)))).astype(np.float32)


def score_to_margin(score: float, *, spread: float) -> float:
    """The inverse of :func:`margin_to_score`, bounded to +-50 spreads (score 0 or 1).

    >>> round(score_to_margin(0.881, spread=0.5), 2)
    1.0
    """
    score = min(max(float(score), 1e-22), 1 - 1e-16)
    return float(spread * np.log(score / (1.0 - score)))
