"""The worker side of the batch runner: what runs in a pool process, a Dask worker, or inline.

A job is a few paths and the pipeline's JSON (or a task function and its items, for
:func:`~cvtools.batch.map_items`); workers read, process and write (atomically) themselves, so pixels
never cross a process or network boundary. What comes back is small frozen dataclasses:
:class:`JobResult` holding a :class:`FileResult` (with one :class:`OutputResult` per output) or a
:class:`TaskResult` per item.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._pipeline import Pipeline
from ._registry import current_source


@dataclass(frozen=True)
class OutputResult:
    """One output file of one input: where it was written and its size, or why it was not.

    Attributes
    ----------
    path : str
        The output path.
    size : int or None
        Bytes written; None when it failed.
    error : str or None
        The failure message; None when it was written.
    """

    path: str
    size: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class FileResult:
    """What a worker did with one input file of a :func:`process_job` job.

    Attributes
    ----------
    outputs : tuple of OutputResult
        One per requested output, in order (empty when the input could not be read).
    fused : bool
        True when the JPEG was decoded directly at reduced size (see ``fuse`` in :func:`run`).
    error : str or None
        Why the input could not be read or set up; None when it was.

    Examples
    --------
    >>> FileResult.failed("cannot read 'a.png'").error
    "cannot read 'a.png'"
    """

    outputs: tuple[OutputResult, ...] = ()
    fused: bool = False
    error: str | None = None

    @classmethod
    def failed(cls, message: str) -> "FileResult":
        """A result for an input that failed as a whole (``message`` says why)."""
        return cls(error=message)


@dataclass(frozen=True)
class TaskResult:
    """What ``task(item)`` gave in a :func:`~cvtools.batch.map_items` job: its value, or the error message.

    Examples
    --------
    >>> call_task(abs, -2), call_task(abs, "x").error
    (TaskResult(value=2, error=None), "TypeError: bad operand type for abs(): 'str'")
    """

    value: Any = None
    error: str | None = None

    @classmethod
    def failed(cls, message: str) -> "TaskResult":
        """A result for an item that failed (``message`` says why)."""
        return cls(error=message)


@dataclass(frozen=True)
class JobResult:
    """The results of one job, one per item in order (:class:`FileResult` or :class:`TaskResult`),
    and the seconds the worker spent on it."""

    items: tuple
    seconds: float


def describe_error(exc: BaseException) -> str:
    """One line for a failed item: the message, with the exception type unless it is an OSError (whose
    message already says what) or starts with "cannot", and any notes (e.g. the pipeline step).

    >>> describe_error(ValueError("`sigma` must be > 0")), describe_error(FileNotFoundError("no such file"))
    ('ValueError: `sigma` must be > 0', 'no such file')
    """
    msg = str(exc) or type(exc).__name__
    if not isinstance(exc, OSError) and not msg.startswith("cannot"):
        msg = f"{type(exc).__name__}: {msg}"
    for note in getattr(exc, "__notes__", ()) or ():
        msg += f" ({note})"
    return msg


def call_task(task, item) -> TaskResult:
    """``task(item)`` as a :class:`TaskResult`: one bad item never stops a job."""
    try:
        return TaskResult(task(item))
    except Exception as exc:
        return TaskResult.failed(describe_error(exc))


_PIPELINES: dict[str, tuple] = {}


def _pipelines(spec: str) -> tuple[Pipeline, Pipeline]:
    """The pipeline for ``spec`` and the same without its first step (cached per process)."""
    cached = _PIPELINES.get(spec)
    if cached is None:
        if len(_PIPELINES) > 16:
            _PIPELINES.clear()
        full = Pipeline(json.loads(spec))
        cached = _PIPELINES[spec] = (full, full[1:])
    return cached


def _write(dst: str, image, quality, fsync: bool) -> int:
    """Encode and write atomically (cvtools.write, fsync optional); returns the size in bytes.

    Skipping fsync saves milliseconds per file; the rename alone still means a killed run leaves
    either the complete file or nothing.
    """
    from ..io import write

    path = Path(dst)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write(path, image, quality=quality, fsync=fsync).stat().st_size


def _read(src: str, job: dict):
    """``(image, steps, fused)``: the input, decoded at reduced size when the job's leading resize can
    be fused into the JPEG decoder (then ``steps`` is the pipeline without it)."""
    from ..io import probe, read

    pipeline, tail = _pipelines(job["pipeline"])
    reduce = job.get("reduce", 1)
    if reduce > 1:
        info = probe(src)
        if (info["format"] == "JPEG" and info["mode"] in ("RGB", "YCbCr")
                and info["width"] % reduce == 0 and info["height"] % reduce == 0):
            return read(src, reduce=reduce), tail, True
    return read(src), pipeline, False


def _process_one(item: dict, job: dict) -> FileResult:
    token = current_source.set((str(item["src"]), item.get("rel")))
    try:
        try:
            image, steps, fused = _read(item["src"], job)
        except Exception as exc:
            return FileResult.failed(describe_error(exc))
        outputs = []
        for dst, seed in item["outputs"]:
            try:
                out = steps(image, seed=seed)
                outputs.append(OutputResult(dst, _write(dst, out, job.get("quality"), job.get("fsync", False))))
            except Exception as exc:
                outputs.append(OutputResult(dst, None, describe_error(exc)))
        return FileResult(tuple(outputs), fused)
    finally:
        current_source.reset(token)


def process_job(job: dict) -> JobResult:
    """Process a job: one or more input files, each read once and written once per output.

    ``job`` holds only paths and text: ``items`` (a list of ``{"src": path, "rel": relative path,
    "outputs": [[dst, seed], ...]}``), ``pipeline`` (JSON), ``quality``, ``reduce``, ``fsync``.
    Returns a :class:`JobResult` with a :class:`FileResult` per item; a bad file never raises. A
    job with a ``task`` (a function, see :func:`~cvtools.batch.map_items`) calls it on each item
    instead, and holds a :class:`TaskResult` per item.

    Examples
    --------
    >>> process_job({"task": abs, "items": [-1, "x"]}).items[0]
    TaskResult(value=1, error=None)
    """
    t0 = time.perf_counter()
    if job.get("task") is not None:
        items = tuple(call_task(job["task"], item) for item in job["items"])
    else:
        items = tuple(_process_one(item, job) for item in job["items"])
    return JobResult(items, time.perf_counter() - t0)
