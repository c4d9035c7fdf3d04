"""Batch processing: the operation registry, pipelines, and the folder runner.

* :class:`Pipeline` — a validated sequence of registered operations, built from text
  (``"resize:scale=0.5 | gaussian:sigma=1 | equalize"``), a YAML/JSON file or Python; callable on
  an image.
* :func:`map_items` — any per-item function (e.g. a detector over a data set) on the same engines.
* :func:`run` — process a folder tree into a mirrored output folder, in parallel (local processes
  or a Dask cluster), resumable, never touching the input; returns a :class:`BatchReport`.
* :func:`list_ops` / :func:`get_op` / :func:`register` — the registry every op name comes from.
"""
from ._registry import register, get_op, list_ops, Op, Param, PipelineError, OP_MODULES, type_name
from ._pipeline import Pipeline, Step, derive_seed, parse_options, parse_value, format_value
from ._runner import run, BatchReport, BatchEngineError, BatchInterrupted, process_job, ENGINES, FINGERPRINTS
from ._manifest import MANIFEST_NAME, BatchLockedError
from ._map import map_items

__all__ = [
    "Pipeline", "Step", "run", "BatchReport", "register", "get_op", "list_ops", "Op", "Param",
    "PipelineError", "BatchLockedError", "BatchEngineError", "BatchInterrupted", "OP_MODULES", "derive_seed", "parse_options", "parse_value", "format_value",
    "type_name", "process_job", "ENGINES", "FINGERPRINTS", "MANIFEST_NAME", "map_items",
]
