"""Any per-item function on the batch engines: the runner's process pool (or Dask cluster), its worker
set-up and its handling of dead workers, for work that is not "image in, image out" (e.g. running a
detector over a data set for ``cvtools evaluate``)."""
from __future__ import annotations

import sys
from concurrent.futures.process import BrokenProcessPool

from .._shared import check_choice


def call_task(task, item) -> dict:
    """``{"result": task(item), "error": None}``, or the error message: one bad item never stops a job."""
    from ._runner import _describe

    try:
        return {"result": task(item), "error": None}
    except Exception as exc:
        return {"result": None, "error": _describe(exc)}


def map_items(task, items, *, workers: int | None = None, engine: str = "local", scheduler: str | None = None,
              chunk: int | None = None, progress: bool | None = None, desc: str = "batch"):
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
        A progress bar on stderr (default: when stderr is a terminal).
    desc : str
        The progress bar's label.

    Yields
    ------
    (item, result, error)
        ``error`` is None on success, else a message (``result`` is then None).

    Examples
    --------
    >>> [r for _, r, _ in map_items(abs, [-2, 3], workers=0)]
    [2, 3]
    """
    from ._runner import _cores, _DaskEngine, _InlineEngine, _LocalEngine

    check_choice(engine, ("local", "dask"), name="engine")
    items = list(items)
    if workers is None:
        workers = min(_cores(), max(1, len(items)))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"`workers` must be an integer >= 0 (0: run in this process); got {workers!r}.")
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not items:
        return
    eng = (_InlineEngine() if workers == 0 and engine == "local"
           else _LocalEngine(workers) if engine == "local" else _DaskEngine(workers or _cores(), scheduler))
    slots = max(1, getattr(eng, "slots", 1))
    if chunk is None:
        chunk = max(1, min(32, len(items) // (4 * slots)))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), unit="img", file=sys.stderr, desc=desc)
    results: dict = {}
    in_flight: dict = {}
    starts = list(range(0, len(items), chunk))
    nxt = 0
    cancel = True
    try:
        def harvest(futures):
            for fut in futures:
                start = in_flight.pop(fut)
                n = min(chunk, len(items) - start)
                try:
                    out = fut.result()["items"]
                except BrokenProcessPool:
                    out = [{"result": None, "error": "the worker process died (out of memory, or a crash in native "
                                                     "code); it may be another item of the same job"}] * n
                except Exception as exc:  # an engine failure (e.g. a lost Dask worker)
                    from ._runner import _describe

                    out = [{"result": None, "error": f"engine error: {_describe(exc)}"}] * n
                for k, res in enumerate(out):
                    results[start + k] = res
                if bar is not None:
                    bar.update(n)

        for start in starts:
            while len(in_flight) >= 3 * slots:
                harvest(eng.wait_any(list(in_flight)))
            job = {"task": task, "items": items[start:start + chunk]}
            in_flight[eng.submit(job)] = start
            harvest([f for f in in_flight if f.done()])
            while nxt in results:
                res = results.pop(nxt)
                yield items[nxt], res["result"], res["error"]
                nxt += 1
        while in_flight:
            harvest(eng.wait_any(list(in_flight)))
        while nxt in results:
            res = results.pop(nxt)
            yield items[nxt], res["result"], res["error"]
            nxt += 1
        cancel = False
    finally:
        if bar is not None:
            bar.close()
        eng.close(cancel=cancel)
