"""Pipelines: a validated sequence of registered operations, built from text, a file or Python."""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Hashable, Iterable
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._registry import PipelineError, get_op, list_ops

_BARE = re.compile(r"[A-Za-z_][\w.\-/]*")
#: Largest pipeline file read (a pipeline is a few lines; this refuses a pasted data set or a bomb).
MAX_PIPELINE_FILE_BYTES = 1 << 20
_RESERVED = {"true", "false", "none", "null", "yes", "no"}


def _unquoted(text: str):
    """``(offset, character, bracket depth)`` of each character of ``text`` outside quotes (a quote
    character itself, and everything up to its closing twin, is skipped). Raises PipelineError on an
    unbalanced closing bracket, or a quote or bracket left open."""
    depth, quote = 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise PipelineError(f"unbalanced {ch!r} in {text!r}.")
        else:
            yield i, ch, depth
    if quote or depth:
        raise PipelineError(f"unclosed {'quote' if quote else 'bracket'} in {text!r}.")


def _split_spans(text: str, sep: str) -> list[tuple[int, str]]:
    """Split ``text`` on ``sep`` outside brackets and quotes: ``(offset, part)`` pairs."""
    parts, start = [], 0
    for i, ch, depth in _unquoted(text):
        if ch == sep and depth == 0:
            parts.append((start, text[start:i]))
            start = i + 1
    parts.append((start, text[start:]))
    return parts


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside brackets and quotes."""
    return [part for _, part in _split_spans(text, sep)]


_WORD = re.compile(r"[A-Za-z_][\w\-]*")


def _top_level_gaps(step: str):
    """Offsets in ``step`` of each word that follows a space, outside quotes and brackets, where the
    space separates two values (not around ``:``, ``=``, ``,`` or inside a bracket)."""
    for i, ch, depth in _unquoted(step):
        if depth == 0 and i > 0 and step[i - 1].isspace() and not ch.isspace():
            before = step[:i].rstrip()
            if before and before[-1] not in ":=,":
                yield i


def _check_missing_bar(text: str, offset: int, step: str) -> None:
    """Point at a ``|`` missing between two operations (``resize:scale=0.5 gaussian:sigma=1``)."""
    names = None
    for i in _top_level_gaps(step):
        word = _WORD.match(step, i)
        if word is None or step[word.end():word.end() + 1] not in ("", ":", " ", "\t"):
            continue
        names = names if names is not None else set(op_names())
        if word.group() in names:
            at = offset + i
            fixed = text[:at].rstrip() + " | " + text[at:]
            raise PipelineError(
                f"missing '|' before operation {word.group()!r}:\n  {text}\n  {' ' * at}^\n"
                f"write {fixed.strip()!r} (or quote a value that holds spaces).")


def parse_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (the CLI's repeatable ``--option``) as keyword options, values by :func:`parse_value`.

    Dashes in keys become underscores.

    >>> parse_options(["threshold=0.3", "max-side=640", "classes=person,car"])
    {'threshold': 0.3, 'max_side': 640, 'classes': 'person,car'}
    """
    out = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option must be KEY=VALUE; got {item!r}.")
        out[key.strip().replace("-", "_")] = parse_value(value)
    return out


def parse_value(text: str) -> Any:
    """Parse one parameter value from pipeline text.

    Numbers, ``true``/``false``, ``none``, quoted strings, tuples ``(3, 3)`` and (nested) lists
    ``[[0, 1], [1, 0]]`` are Python literals; any other bare word is a string.

    >>> parse_value("0.5"), parse_value("true"), parse_value("area"), parse_value("(3, 5)")
    (0.5, True, 'area', (3, 5))
    """
    s = text.strip()
    if not s:
        raise PipelineError("empty parameter value; write name=value.")
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if s[0] in "([{'\"":
            raise PipelineError(f"cannot parse value {s!r}: write Python-style literals, e.g. "
                                f"(3, 3), [[0, 1], [1, 0]] or 'text'.") from None
        return s
    return value


def format_value(value: Any) -> str:
    """The pipeline-text form of a parameter value (inverse of :func:`parse_value`).

    >>> format_value(True), format_value("area"), format_value("a b"), format_value([["x", None]])
    ('true', 'area', "'a b'", "[['x', None]]")
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return value if _BARE.fullmatch(value) and value.lower() not in _RESERVED else repr(value)
    return repr(value)  # numbers and containers: Python literals, nested strings quoted


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Step:
    """One operation of a pipeline with its (validated) parameters."""

    op: str
    params: dict

    def __str__(self) -> str:
        if not self.params:
            return self.op
        return self.op + ":" + ",".join(f"{k}={format_value(v)}" for k, v in self.params.items())


def _make_step(name, params) -> Step:
    if not isinstance(name, str):
        raise PipelineError(f"an operation name must be a string; got {name!r}.")
    try:
        op = get_op(name.strip())
    except KeyError as exc:
        raise PipelineError(exc.args[0]) from None
    return Step(op.name, op.validate(dict(params)))


def _parse_step(text: str) -> Step:
    text = text.strip()
    if not text:
        raise PipelineError("empty step in pipeline (two '|' in a row, or a trailing '|').")
    name, _, rest = text.partition(":")
    params = {}
    if rest.strip():
        for item in _split_top(rest, ","):
            item = item.strip()
            if not item:
                continue
            key, eq, value = item.partition("=")
            if not eq or not key.strip().isidentifier():
                raise PipelineError(f"in {text!r}: parameters are written name=value, separated by commas; "
                                    f"got {item!r}.")
            key = key.strip()
            if key in params:
                raise PipelineError(f"in {text!r}: `{key}` is given twice; give each parameter once.")
            params[key] = parse_value(value)
    return _make_step(name.strip(), params)


def _step_from(item) -> Step:
    if isinstance(item, Step):
        return _make_step(item.op, item.params)
    if isinstance(item, str):
        return _parse_step(item)
    if isinstance(item, dict):
        d = dict(item)
        if "op" not in d:
            raise PipelineError(f"a pipeline entry must have an 'op' key; got keys {sorted(d)}.")
        name = d.pop("op")
        params = d.pop("params", None)
        if params is not None:
            if not isinstance(params, dict):
                raise PipelineError(f"'params' of {name!r} must be a mapping; got {params!r}.")
            clash = sorted(set(params) & set(d))
            if clash:
                raise PipelineError(f"{name!r}: {', '.join(clash)} given both inline and under 'params'.")
            d.update(params)
        return _make_step(name, d)
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        return _make_step(item[0], item[1] or {})
    raise PipelineError(f"cannot read a pipeline step from {item!r}; give 'name:key=value', "
                        f"{{'op': name, key: value}} or (name, {{key: value}}).")


def _unique_keys(pairs) -> dict:
    """A JSON object's pairs as a dict; a key given twice is an error, as in pipeline text."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} is given twice in one mapping")
        out[key] = value
    return out


def _load_yaml(text: str):
    """``yaml.safe_load`` without aliases (a "billion laughs" file expands exponentially through them)
    and without duplicate keys (YAML would keep the last one silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in pipeline files; write the value out",
                    mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, Hashable) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return yaml.load(text, Loader=Loader)  # a SafeLoader: no Python objects are built


class Pipeline:
    """A sequence of registered operations, validated when built and callable on an image.

    Parameters
    ----------
    steps : str, Pipeline or sequence
        Pipeline text (``"resize:scale=0.5 | gaussian:sigma=1"``), or a sequence whose items are
        step text (``"gaussian:sigma=1"``), mappings (``{"op": "gaussian", "sigma": 1}``, or with
        the parameters nested: ``{"op": "morphology", "params": {"op": "open"}}``) or
        ``(name, params)`` pairs.

    Raises
    ------
    PipelineError
        (a ``ValueError``) for an unknown operation or parameter, a missing required parameter or a
        value of the wrong type; the message lists the valid names.

    Examples
    --------
    >>> import numpy as np
    >>> p = Pipeline.parse("resize:scale=0.5 | flip")
    >>> p(np.arange(16, dtype=np.uint8).reshape(4, 4))
    array([[ 5,  3],
           [13, 11]], dtype=uint8)
    >>> str(p)
    'resize:scale=0.5 | flip'
    """

    def __init__(self, steps=()):
        if isinstance(steps, Pipeline):
            steps = steps.steps
        if isinstance(steps, str):
            text = steps
            spans = _split_spans(text, "|") if text.strip() else []
            for offset, part in spans:
                _check_missing_bar(text, offset, part)
            steps = [part for _, part in spans]
        elif isinstance(steps, dict):
            steps = [steps]
        self._steps = tuple(_step_from(s) for s in steps)

    @classmethod
    def parse(cls, text: str) -> "Pipeline":
        """Build a pipeline from text: steps ``name:key=value,key=value`` separated by ``|``."""
        if not isinstance(text, str):
            raise TypeError(f"`text` must be a string; got {type(text).__name__}.")
        return cls(text)

    @classmethod
    def from_file(cls, path) -> "Pipeline":
        """Read a YAML or JSON file: a list of steps (mappings ``{op: name, key: value}`` or step
        text), or a mapping with such a list under ``pipeline``."""
        path = Path(os.fspath(path))
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_PIPELINE_FILE_BYTES + 1)
        except OSError as exc:
            raise PipelineError(f"cannot read pipeline file {str(path)!r}: {exc.strerror or exc}.") from None
        if len(raw) > MAX_PIPELINE_FILE_BYTES:
            raise PipelineError(f"pipeline file {str(path)!r} is larger than {MAX_PIPELINE_FILE_BYTES} bytes; "
                                f"a pipeline is a short list of steps.")
        try:
            text = raw.decode("utf-8")
            if path.suffix.lower() == ".json":
                data = json.loads(text, object_pairs_hook=_unique_keys)
            else:
                data = _load_yaml(text)
        except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError, a duplicate key, RecursionError
            raise PipelineError(f"cannot parse pipeline file {str(path)!r}: {exc}") from None
        if isinstance(data, dict) and "pipeline" in data:
            data = data["pipeline"]
        if isinstance(data, str):
            return cls.parse(data)
        if data is None:
            data = []
        if not isinstance(data, list):
            raise PipelineError(f"pipeline file {str(path)!r} must hold a list of steps; got {type(data).__name__}.")
        return cls(data)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._steps

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self):
        return iter(self._steps)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Pipeline(list(self._steps[index]))
        return self._steps[index]

    def __str__(self) -> str:
        return " | ".join(str(s) for s in self._steps)

    def __repr__(self) -> str:
        return f"Pipeline({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Pipeline) and self.to_list() == other.to_list()

    def __hash__(self) -> int:
        return hash(self.hash)

    def to_list(self) -> list[dict]:
        """The JSON-able form, ``[{"op": name, "params": {...}}, ...]``; ``Pipeline(p.to_list()) == p``.

        Parameters are nested under ``params`` (omitted when there are none), so an operation may
        itself have a parameter called ``op`` (``morphology``).
        """
        return [{"op": s.op, "params": _jsonable(s.params)} if s.params else {"op": s.op}
                for s in self._steps]

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON form: equal pipelines have equal hashes."""
        blob = json.dumps(self.to_list(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def check_available(self) -> None:
        """Raise ImportError when an operation needs an optional module that is not installed."""
        for s in self._steps:
            get_op(s.op).check_available()

    def leading_reduce(self) -> int:
        """The factor (2, 4 or 8) of a leading ``resize:scale=1/k`` that a JPEG decoder can do, else 1."""
        if not self._steps or self._steps[0].op != "resize":
            return 1
        params = dict(self._steps[0].params)
        scale = params.pop("scale", None)
        method = params.pop("method", "auto")
        if params or method not in ("auto", "area") or scale not in (0.5, 0.25, 0.125):
            return 1
        return int(round(1 / scale))

    def __call__(self, image, *, seed: int | None = None):
        """Apply every step in order. ``seed`` is passed to operations that take one (and were not
        given one explicitly), a different derived seed per step."""
        for i, step in enumerate(self._steps):
            op = get_op(step.op)
            params = step.params
            if seed is not None and op.takes_seed and "seed" not in params:
                params = {**params, "seed": derive_seed(seed, i)}
            try:
                image = op.func(image, **params)
            except Exception as exc:
                if hasattr(exc, "add_note"):
                    exc.add_note(f"in pipeline step {i + 1}: {step}")
                raise
            if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
                raise TypeError(f"operation {step.op!r} returned {type(image).__name__}; operations must "
                                f"return an image array.")
        return image


def derive_seed(seed: int, *keys: Hashable) -> int:
    """A 32-bit seed derived deterministically from ``seed`` and ``keys`` (ints or strings).

    >>> derive_seed(0, "a.jpg", 1) == derive_seed(0, "a.jpg", 1) != derive_seed(0, "a.jpg", 2)
    True
    """
    words = [int(seed) & 0xFFFFFFFF]
    for k in keys:
        if isinstance(k, str):
            words.append(int.from_bytes(hashlib.sha256(k.encode()).digest()[:4], "little"))
        else:
            words.append(int(k) & 0xFFFFFFFF)
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def op_names() -> list[str]:
    """The names of every registered operation."""
    return [op.name for op in list_ops()]
