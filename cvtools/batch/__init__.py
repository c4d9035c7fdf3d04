"""Batch processing: the operation registry, pipelines, and the folder runner.

* :class:`Pipeline` — a validated sequence of registered operations, built from text
  (``"resize:scale=0.5 | gaussian:sigma=1 | equalize"``), a YAML/JSON file or Python; callable on
  an image.
* :func:`map_items` — any per-item function (e.g. a detector over a data set) on the same engines.
* :func:`run` — process a folder tree into a mirrored output folder, in parallel (local processes
  or a Dask cluster), resumable, never touching the input; returns a :class:`BatchReport` and
  reports each input to ``on_file`` as a :class:`FileEvent`.
* :func:`list_ops` / :func:`get_op` / :func:`register` — the registry every op name comes from;
  :func:`describe_op`, :func:`signature_text` and :func:`ops_markdown` describe operations for people
  (``cvtools ops``, the docs' table).
* Worker results are small frozen dataclasses: :class:`JobResult` holding a :class:`FileResult`
  (with an :class:`OutputResult` per output) or a :class:`TaskResult` per item.
"""
from ._registry import register, get_op, list_ops, Op, Param, PipelineError, OP_MODULES, type_name
from ._pipeline import Pipeline, Step, derive_seed, parse_options, parse_value, format_value
from ._describe import describe_op, ops_markdown, signature_text
from ._engines import ENGINES, BatchEngineError
from ._worker import FileResult, JobResult, OutputResult, TaskResult, describe_error, process_job
from ._report import BatchReport, FileEvent
from ._runner import run, BatchInterrupted, FINGERPRINTS
from ._manifest import MANIFEST_NAME, BatchLockedError
from ._map import map_items

__all__ = [
    "Pipeline", "Step", "run", "BatchReport", "FileEvent", "register", "get_op", "list_ops", "Op", "Param",
    "PipelineError", "BatchLockedError", "BatchEngineError", "BatchInterrupted", "OP_MODULES", "derive_seed",
    "parse_options", "parse_value", "format_value", "type_name", "process_job", "ENGINES", "FINGERPRINTS",
    "MANIFEST_NAME", "map_items", "FileResult", "JobResult", "OutputResult", "TaskResult", "describe_error",
    "describe_op", "ops_markdown", "signature_text",
]
