"""Any per-item function on the batch engines: the runner's process pool (or Dask cluster), its worker
set-up and its handling of dead workers, for work that is not "image in, image out" (e.g. running a
detector over a data set for ``cvtools evaluate``, or over files and videos for ``cvtools detect``)."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._shared import check_choice
from ._engines import ENGINES, check_workers, cores, job_results, start_engine
from ._worker import TaskResult


def map_items(task: Callable[[Any], Any], items: Iterable[Any], *, workers: int | None = None, engine: str = "local",
              scheduler: str | None = None, chunk: int | None = None, progress: bool | None = None,
              desc: str = "batch", unit: str = "img") -> Iterator[tuple[Any, Any, str | None]]:
    """Run ``task(item)`` for every item on the batch engines; yield ``(item, result, error)`` in input order.

    Parameters
    ----------
    task : callable
        A module-level function of one item (it is pickled by name and runs in the worker processes;
        state such as a loaded model can be cached in a module-level dict of that module).
    items : iterable
        Picklable items (paths, small dicts).
    workers : int, optional
        Worker processes (default: all cores, at most one per item; ``0`` runs in this process).
    engine : {"local", "dask"}
        As in :func:`run`.
    scheduler : str, optional
        A Dask scheduler address (``engine="dask"``).
    chunk : int, optional
        Items per job (default: a few jobs per worker).
    progress : bool, optional
        A progress bar on stderr (default: when stderr is a terminal). Print other lines with
        ``tqdm.write`` meanwhile, so that they appear above it.
    desc, unit : str
        The progress bar's label and unit.

    Yields
    ------
    (item, result, error)
        ``error`` is None on success, else a message (``result`` is then None). An item whose worker
        process died (out of memory, a crash in native code) fails with a message that says so.

    Examples
    --------
    >>> [r for _, r, _ in map_items(abs, [-2, 3], workers=0)]
    [2, 3]
    """
    check_choice(engine, ENGINES, name="engine")
    items = list(items)
    workers = check_workers(workers, default=min(cores(), max(1, len(items))))
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not items:
        return
    eng = start_engine(engine, workers, scheduler)
    if chunk is None:
        chunk = max(1, min(32, len(items) // (4 * max(1, eng.slots))))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), unit=unit, file=sys.stderr, desc=desc)
    cancel = True
    try:
        for index, result in _ordered(eng, task, items, chunk, bar):
            yield items[index], result.value, result.error
        cancel = False
    finally:
        if bar is not None:
            bar.close()
        eng.close(cancel=cancel)


def _ordered(eng, task, items, chunk: int, bar):
    """``(index, TaskResult)`` in input order, with at most ``3 * slots`` jobs in flight."""
    results: dict = {}
    in_flight: dict = {}  # future -> index of its first item
    nxt = 0

    def harvest(futures):
        for fut in futures:
            start = in_flight.pop(fut)
            n = min(chunk, len(items) - start)
            out, _ = job_results(fut, n, TaskResult.failed)
            results.update((start + k, res) for k, res in enumerate(out))
            if bar is not None:
                bar.update(n)

    for start in range(0, len(items), chunk):
        while len(in_flight) >= 3 * max(1, eng.slots):
            harvest(eng.wait_any(list(in_flight)))
        in_flight[eng.submit({"task": task, "items": items[start:start + chunk]})] = start
        harvest([f for f in in_flight if f.done()])
        while nxt in results:
            yield nxt, results.pop(nxt)
            nxt += 1
    while in_flight:
        harvest(eng.wait_any(list(in_flight)))
        while nxt in results:
            yield nxt, results.pop(nxt)
            nxt += 1
