"""Where batch jobs run: this process, a local process pool, or a Dask cluster.

Every engine has the same small interface: ``slots`` (jobs that run at once), ``workers``,
``submit(job) -> future``, ``wait_any(futures) -> done futures`` and ``close(cancel=False)``.
:func:`start_engine` picks one; :func:`job_results` turns a finished future into one result per
item, a dead worker or a lost cluster included, for both :func:`~cvtools.batch.run` and
:func:`~cvtools.batch.map_items`.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .._shared import CvtoolsError
from ._worker import describe_error, process_job

ENGINES = ("local", "dask")

#: The message of each item of a job whose worker process died.
WORKER_DIED = ("the worker process died while processing this item (out of memory, or a crash in native "
               "code); it may be another item of the same job")


class BatchEngineError(CvtoolsError, RuntimeError):
    """The engine could not be started (e.g. no Dask scheduler at the given address, or a script whose
    worker processes would run it again because it lacks ``if __name__ == "__main__":``)."""


def cores() -> int:
    """CPU cores this process may use (the affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_workers(workers, *, default: int) -> int:
    """``workers`` checked (an integer >= 0), ``default`` when None."""
    if workers is None:
        return default
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"`workers` must be an integer >= 0 (0: run in this process); got {workers!r}.")
    return workers


def _init_worker(threads: int | None, parent: int | None = None) -> None:
    """Give each worker process its share of cores: OpenCV's threads now, torch's and numba's
    (read from the environment when they are first imported, e.g. by the face descriptors) unless the
    user set them. With ``parent`` (a local pool), also leave Ctrl+C to the parent, which stops the
    run in order, and exit when the parent process ends."""
    import signal
    import sys

    import cv2

    if parent is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _exit_with(parent)

    n = max(1, int(threads or 1))
    cv2.setNumThreads(n)
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    if "torch" in sys.modules:  # already imported (fork): its pool is sized; resize it
        sys.modules["torch"].set_num_threads(n)


def _exit_with(pid: int) -> None:
    """End this worker process as soon as process ``pid`` (the batch parent) has ended.

    A parent killed with SIGKILL runs no cleanup; without this its workers would wait for jobs for
    ever, and keep the fork server and the resource tracker alive with them. The workers are the
    fork server's children, so neither ``os.getppid()`` nor ``PR_SET_PDEATHSIG`` sees the batch
    process end; a pidfd does (Linux >= 5.3; it also fires for a parent that is dead but not yet
    reaped), elsewhere the pid is polled twice a second.
    """
    import select
    import threading

    def watch():
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            os._exit(1)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not poller.poll():
                pass
            os._exit(1)
        while True:
            time.sleep(0.5)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except OSError:
                pass

    threading.Thread(target=watch, name="cvtools-batch-parent-watch", daemon=True).start()


class InlineEngine:
    """Run jobs in this process (``workers=0``): for debugging, tiny jobs and stateful tasks."""

    slots = 1
    workers = 0

    def submit(self, job):
        f = Future()
        f.set_result(process_job(job))
        return f

    def wait_any(self, futures):
        return set(futures)

    def close(self, cancel=False):
        pass


class LocalEngine:
    """A pool of ``workers`` processes on this machine, each with its share of the cores."""

    def __init__(self, workers: int):
        import multiprocessing as mp

        self.workers = workers
        self.slots = workers
        self._threads = max(1, cores() // workers)
        if "forkserver" in mp.get_all_start_methods():
            # fork() from a parent with threads (tqdm's monitor, sqlite) can deadlock; forkserver
            # forks clean children from a small server that has cvtools and OpenCV preloaded.
            self._ctx = mp.get_context("forkserver")
            self._ctx.set_forkserver_preload(["cvtools.batch._preload"])
        else:
            self._ctx = mp.get_context("spawn")
        self._pool = None
        self._start()

    def _start(self):
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx,
                                         initializer=_init_worker, initargs=(self._threads, os.getpid()))

    def submit(self, job):
        try:
            return self._pool.submit(process_job, job)
        except BrokenProcessPool:  # a worker died earlier: a fresh pool for the rest of the run
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._start()
            return self._pool.submit(process_job, job)

    def wait_any(self, futures):
        return wait(futures, return_when=FIRST_COMPLETED).done

    def close(self, cancel=False):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)


class DaskEngine:
    """A Dask distributed cluster: the one at ``scheduler``, or a LocalCluster of ``workers`` processes."""

    def __init__(self, workers: int, scheduler: str | None):
        import logging

        from .._shared import require

        self._distributed = require("distributed", feature='cvtools.batch.run(engine="dask")')
        self._cluster = None
        if scheduler:
            try:
                self.client = self._distributed.Client(scheduler)
            except (OSError, TimeoutError) as exc:
                raise BatchEngineError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from exc
        else:
            self._cluster = self._distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.ERROR)
            self.client = self._distributed.Client(self._cluster)
        nthreads = sum(self.client.nthreads().values()) or workers
        self.slots = max(1, nthreads)
        self.workers = self.slots
        if self._cluster is not None:  # our own workers: one OpenCV thread each (a shared cluster is left alone)
            self.client.run(_init_worker, 1)

    def submit(self, job):
        return self.client.submit(process_job, job, pure=False)

    def wait_any(self, futures):
        return self._distributed.wait(list(futures), return_when="FIRST_COMPLETED").done

    def close(self, cancel=False):
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def start_engine(engine: str, workers: int, scheduler: str | None = None):
    """The engine for ``engine`` (``"local"``/``"dask"``) and ``workers`` (0: this process; for Dask,
    the LocalCluster's size, all cores when 0)."""
    if engine == "dask":
        return DaskEngine(workers or cores(), scheduler)
    return InlineEngine() if workers == 0 else LocalEngine(workers)


def job_results(future, n: int, failed) -> tuple[tuple, float | None]:
    """``(results, seconds)`` of a finished job of ``n`` items; when the job itself failed (its worker
    died, the cluster lost it), ``failed(message)`` for each item and ``seconds`` None."""
    try:
        res = future.result()
    except BrokenProcessPool:
        return (failed(WORKER_DIED),) * n, None
    except Exception as exc:  # an engine failure (e.g. a lost Dask worker)
        return (failed(f"engine error: {describe_error(exc)}"),) * n, None
    return res.items, res.seconds
