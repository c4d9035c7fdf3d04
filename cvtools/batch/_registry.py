"""The operation registry: every image operation that batch, pipelines and `cvtools ops` can name.

An operation is a plain function ``fn(image, *, name: type = default, ...) -> image`` with a numpydoc
docstring, decorated with :func:`register`. Its parameters, types, defaults and descriptions are read
from the function itself, so there is no second list to keep in step.

Operation modules live in this package (``cvtools/batch/_ops_*.py``) because batch sits above the
modules it wraps (imports run one way). They are imported on first use of the registry.
"""
from __future__ import annotations

import difflib
import contextvars
import importlib
import inspect
import numbers
import re
import types
import typing
import warnings
from dataclasses import dataclass, field

from .._shared import CvtoolsError

#: Modules that define operations; each registers its functions when imported.
OP_MODULES = [
    "cvtools.batch._ops_transform",
    "cvtools.batch._ops_classic",
    "cvtools.batch._ops_augment",
    "cvtools.batch._ops_style",
    "cvtools.batch._ops_identify",
    "cvtools.batch._ops_detect",
    "cvtools.batch._ops_inpaint",
]

#: Per-file context for operations that need it (e.g. ``inpaint`` finding a mask by file name): the runner
#: sets ``(input path, path relative to the input root or None)`` while it processes each file.
current_source: contextvars.ContextVar = contextvars.ContextVar("cvtools_batch_current_source", default=None)

_REGISTRY: dict[str, "Op"] = {}
_loaded = False
_EMPTY = inspect.Parameter.empty


class PipelineError(CvtoolsError, ValueError):
    """A pipeline names an unknown operation or parameter, or gives a value of the wrong type."""


# ---------------------------------------------------------------------------------------------
# Types: names for people, and checking/coercing values parsed from text, YAML or JSON.
# ---------------------------------------------------------------------------------------------

def _union_args(ann):
    if isinstance(ann, types.UnionType) or typing.get_origin(ann) is typing.Union:
        return typing.get_args(ann)
    return None


def type_name(ann: typing.Any) -> str:
    """A readable name for an annotation: ``float``, ``int | None``, ``'a' | 'b'``, ``tuple[int, int]``."""
    if ann is _EMPTY or ann is typing.Any:
        return "any"
    if ann is type(None) or ann is None:
        return "None"
    if isinstance(ann, str):
        return ann
    args = _union_args(ann)
    if args is not None:
        return " | ".join(type_name(a) for a in args)
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(ann))
    if origin is not None:
        inner = typing.get_args(ann)
        name = getattr(origin, "__name__", str(origin))
        if not inner:
            return name
        return f"{name}[{', '.join('...' if a is Ellipsis else type_name(a) for a in inner)}]"
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


class _Mismatch(Exception):
    pass


def _coerce(value, ann):
    """Return ``value`` converted to ``ann`` (int -> float, list -> tuple), or raise _Mismatch."""
    if ann is _EMPTY or ann is typing.Any or isinstance(ann, str):
        return value
    if ann is None or ann is type(None):
        if value is None:
            return None
        raise _Mismatch
    args = _union_args(ann)
    if args is not None:
        if value is None:
            if type(None) in args:
                return None
            raise _Mismatch
        # Prefer a member the value already is, so 2 stays int in `int | float`.
        for a in args:
            if isinstance(a, type) and a is not type(None) and type(value) is a:
                return value
        detail = None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a)
            except _Mismatch as exc:
                if detail is None or (exc.args and not detail.args):
                    detail = exc  # keep the one that says what is wrong (a ragged matrix)
        raise detail if detail is not None and detail.args else _Mismatch
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        if value in typing.get_args(ann) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if ann is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if ann is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise _Mismatch
    if ann is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if ann is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    base = origin or ann
    if base in (tuple, list):
        if not isinstance(value, (tuple, list)):
            raise _Mismatch
        inner = typing.get_args(ann)
        if not inner:
            items = list(value)
        elif base is tuple and len(inner) == 2 and inner[1] is Ellipsis:
            items = [_coerce(v, inner[0]) for v in value]
        elif base is tuple:
            if len(inner) != len(value):
                raise _Mismatch
            items = [_coerce(v, a) for v, a in zip(value, inner)]
        else:
            items = [_coerce(v, inner[0]) for v in value]
            if typing.get_origin(inner[0]) is list and len({len(row) for row in items}) > 1:
                raise _Mismatch("a matrix: rows of equal length; got rows of lengths "
                                + ", ".join(str(len(row)) for row in items))
        return tuple(items) if base is tuple else items
    if base is dict:
        if isinstance(value, dict):
            return dict(value)
        raise _Mismatch
    if isinstance(base, type):
        if isinstance(value, base):
            return value
        raise _Mismatch
    return value


@dataclass(frozen=True)
class Param:
    """One parameter of an operation, as read from its signature and docstring."""

    name: str
    annotation: object
    default: object
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _EMPTY

    @property
    def type_name(self) -> str:
        return type_name(self.annotation)

    @property
    def choices(self) -> tuple | None:
        """The allowed values of a ``Literal[...]`` parameter, else None."""
        ann = self.annotation
        args = _union_args(ann) or (ann,)
        for a in args:
            if typing.get_origin(a) is typing.Literal:
                return typing.get_args(a)
        return None

    def coerce(self, value, *, op: str = "?"):
        """``value`` checked against (and converted to) this parameter's type; PipelineError if it cannot be."""
        try:
            return _coerce(value, self.annotation)
        except _Mismatch as exc:
            if exc.args:  # the type fits but the shape does not (a ragged matrix)
                raise PipelineError(f"{op}: `{self.name}` must be {exc.args[0]}.") from None
        if self.choices is not None and not isinstance(value, (list, tuple, dict)):
            valid = ", ".join(repr(c) for c in self.choices)
            raise PipelineError(f"{op}: `{self.name}` must be one of {valid}; got {value!r}.") from None
        raise PipelineError(f"{op}: `{self.name}` must be {self.type_name}; got {value!r} "
                            f"({type(value).__name__}).") from None


@dataclass(frozen=True)
class Op:
    """A registered operation: the function and what it takes."""

    name: str
    func: typing.Callable
    params: tuple[Param, ...]
    summary: str
    extra: str | None = None
    needs: tuple[str, ...] = field(default=())
    prepare: typing.Callable | None = None
    probe: bool = True

    def __call__(self, image, **params):
        return self.func(image, **params)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise PipelineError(f"operation {self.name!r} has no parameter {name!r}"
                            f"{_did_you_mean(name, self.param_names)}; valid: "
                            f"{', '.join(self.param_names) or '(none)'}.")

    @property
    def takes_seed(self) -> bool:
        return "seed" in self.param_names

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.func) or ""

    def check_available(self) -> None:
        """Raise ImportError (with the pip line) when a module this operation needs is missing."""
        from .._shared import check_installed

        check_installed(*self.needs, feature=f"the {self.name!r} operation", extra=self.extra)

    def validate(self, params: dict) -> dict:
        """Check names, types and required parameters; return the coerced (and prepared) params."""
        if not isinstance(params, dict):
            raise PipelineError(f"parameters of {self.name!r} must be a mapping; got {type(params).__name__}.")
        out = {}
        for key, value in params.items():
            out[key] = self.param(key).coerce(value, op=self.name)
        missing = [p.name for p in self.params if p.required and p.name not in out]
        if missing:
            raise PipelineError(f"operation {self.name!r} needs {', '.join(f'`{m}`' for m in missing)}; "
                                f"e.g. {self.name}:{missing[0]}=...")
        if self.prepare is not None:
            out = self.prepare(out)
        if self.probe:
            self.check_on_probes(out)
        return out

    def check_on_probes(self, params: dict) -> None:
        """Run the operation on a few tiny generated images; raise PipelineError if it rejects ``params``.

        The operation's own argument checks are the rules, so there is no second list of valid
        ranges to keep in step. A value counts as invalid only when the operation fails on every
        probe image (RGB uint8, gray uint16, RGBA float32) and fails the same way on two sizes: an
        error that depends on the image (a crop wider than it, a fill value outside its dtype's
        range) is left to the files it concerns.
        """
        failures = []
        for image in _probe_images():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.func(image, **params)
                return
            except ImportError:
                raise
            except Exception as exc:
                failures.append(str(exc) or type(exc).__name__)
        if failures[0] != failures[-1]:  # same dtype, another size: the error depends on the image
            return
        message = failures[0]
        raise PipelineError(message if message.startswith(self.name + " ") else f"{self.name}: {message}")


def check_range(op: str, params: dict, name: str, *, low=None, high=None, low_open: bool = False) -> None:
    """For ``prepare`` hooks: raise PipelineError unless ``params[name]`` (when given and not None) is a
    finite number in [low, high] (``(low, high]`` with ``low_open``)."""
    import math

    value = params.get(name)
    if value is None:
        return
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (low is None or (value > low if low_open else value >= low)) and (high is None or value <= high)
    if not ok:
        if low is not None and high is not None:
            want = f"in {'(' if low_open else '['}{low}, {high}]"
        elif low is not None:
            want = f"{'>' if low_open else '>='} {low}"
        else:
            want = f"<= {high}"
        raise PipelineError(f"{op}: `{name}` must be a finite number {want}; got {value!r}.")


def _probe_images() -> list:
    """Small random images for :meth:`Op.check_on_probes`; the first and last differ only in size."""
    import numpy as np

    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (6, 5, 3), dtype=np.uint8),
            rng.integers(0, 65536, (6, 5), dtype=np.uint16),
            rng.random((6, 5, 4), dtype=np.float32),
            rng.integers(0, 256, (13, 11, 3), dtype=np.uint8)]


def _did_you_mean(name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _param_docs(doc: str) -> dict[str, str]:
    """Parameter descriptions from a numpydoc 'Parameters' section."""
    out: dict[str, str] = {}
    m = re.search(r"Parameters\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n|\Z)", doc, re.S)
    if not m:
        return out
    current = None
    for line in m.group(1).splitlines():
        m = re.match(r"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*:(?:\s|$)", line)  # "name : type", not indented
        if m:
            current = [n.strip() for n in m.group(1).split(",")]
            for n in current:
                out[n] = ""
        elif current and line.strip():
            for n in current:
                out[n] = (out[n] + " " + line.strip()).strip()
    return out


def register(name: str, *, extra: str | None = None, needs: tuple[str, ...] = (),
             prepare: typing.Callable | None = None, probe: bool = True
             ) -> typing.Callable[[typing.Callable], typing.Callable]:
    """Decorator: register ``func`` as operation ``name``.

    Parameters
    ----------
    name : str
        The name used in pipelines (``"gaussian"``), lower case with hyphens or underscores.
    extra : str, optional
        The cvtools extra the operation needs (e.g. ``"augment"``), shown by `cvtools ops`.
    needs : tuple of str
        Modules the operation imports when run (checked before a batch starts).
    prepare : callable, optional
        ``prepare(params) -> params``, run once when a pipeline is built (e.g. to load a spec file
        so that its content, not its path, is part of the pipeline). Must be idempotent; raise
        PipelineError for a bad value.
    probe : bool
        Check the parameters by running the operation on tiny generated images when a pipeline is
        built (:meth:`Op.check_on_probes`), so that a value it rejects is a usage error before any
        file is read. Set False for operations that read files or load models per call (detectors,
        galleries, masks); check their parameters in ``prepare`` instead.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ValueError(f"operation name must be lower case letters, digits, '-' or '_'; got {name!r}.")

    def deco(func):
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=False)
        docs = _param_docs(inspect.getdoc(func) or "")
        params = []
        for i, (pname, p) in enumerate(sig.parameters.items()):
            if i == 0:
                continue  # the image
            if pname == "params":
                raise TypeError(f"operation {name!r}: 'params' is reserved (it nests parameters in "
                                f"pipeline files); rename the parameter.")
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"operation {name!r}: *args/**kwargs cannot be described; list the parameters.")
            params.append(Param(pname, hints.get(pname, p.annotation), p.default, docs.get(pname, "")))
        summary = (inspect.getdoc(func) or "").strip().split("\n")[0]
        if name in _REGISTRY:
            raise ValueError(f"operation {name!r} is registered twice.")
        _REGISTRY[name] = Op(name, func, tuple(params), summary, extra, tuple(needs), prepare, probe)
        return func

    return deco


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in OP_MODULES:
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken op module must not take the others down
                import warnings

                from .._shared import CvtoolsWarning

                warnings.warn(f"operations of {module} are unavailable: it failed to import "
                              f"({type(exc).__name__}: {exc}).", CvtoolsWarning, stacklevel=3)


def list_ops() -> list[Op]:
    """Every registered operation, sorted by name."""
    _load()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_op(name: str) -> Op:
    """The operation called ``name``; raises KeyError listing the valid names."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown operation {name!r}{_did_you_mean(str(name), _REGISTRY)}; "
                       f"valid: {', '.join(sorted(_REGISTRY))}.") from None
