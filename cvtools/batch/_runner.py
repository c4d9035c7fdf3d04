"""The batch runner: stream a folder through a pipeline into a mirrored output folder.

The parent process walks the input tree lazily, decides what is up to date (the manifest), and keeps
a bounded number of jobs in flight on an engine: a local process pool, or a Dask cluster. A job is
a few paths and the pipeline's JSON; workers read, process and write (atomically) themselves, so
pixels never cross a process or network boundary. Only the parent writes the manifest.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._shared import CvtoolsError, check_choice, sha256_file
from ._manifest import Manifest
from ._pipeline import Pipeline, derive_seed
from ._registry import current_source

ENGINES = ("local", "dask")


class BatchEngineError(CvtoolsError, RuntimeError):
    """The engine could not be started (e.g. no Dask scheduler at the given address, or a script whose
    worker processes would run it again because it lacks ``if __name__ == "__main__":``)."""


class BatchInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl+C (or SIGTERM in the CLI); ``report`` says what was done before it.

    It is a ``KeyboardInterrupt``, so an interrupted script stops as usual; outputs written so far
    are complete and recorded, and the next run resumes.
    """

    def __init__(self, report: "BatchReport"):
        super().__init__("the batch run was interrupted")
        self.report = report


FINGERPRINTS = ("stat", "content")
_JOB_VERSION = 1


@dataclass
class BatchReport:
    """What a batch run did.

    Attributes
    ----------
    processed : int
        Input files processed successfully (all their outputs written).
    skipped : int
        Input files whose outputs were already up to date (resume).
    failed : list of dict
        ``{"path": input path, "error": message}`` for each input that failed.
    seconds : float
        Wall-clock duration of the run.
    planned : int
        Inputs that would be (``dry_run=True``) or were submitted for processing.
    outputs : int
        Output files written.
    fused : int
        Inputs decoded directly at reduced size (a leading ``resize:scale=1/2|1/4|1/8`` fused into
        the JPEG decoder).
    stopped : bool
        True when ``fail_fast`` stopped the run early.
    interrupted : bool
        True when Ctrl+C (or SIGTERM, in the CLI) stopped the run (see :class:`BatchInterrupted`).
    """

    processed: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)
    seconds: float = 0.0
    planned: int = 0
    outputs: int = 0
    fused: int = 0
    stopped: bool = False
    interrupted: bool = False
    dry_run: bool = False
    engine: str = "local"
    workers: int = 0
    pipeline: str = ""
    input: str = ""
    output: str = ""

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 0 when nothing failed, 1 when some files failed, 130 when interrupted."""
        return 130 if self.interrupted else 1 if self.failed else 0

    def to_dict(self) -> dict:
        return asdict(self)

    def write_json(self, path) -> Path:
        """Write the report as JSON (UTF-8) and return the path."""
        path = Path(os.fspath(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def summary(self) -> str:
        rate = (self.processed / self.seconds) if self.seconds > 0 else 0.0
        verb = "would process" if self.dry_run else "processed"
        n = self.planned if self.dry_run else self.processed
        text = (f"{verb} {n}, skipped {self.skipped} (up to date), failed {len(self.failed)} "
                f"in {self.seconds:.2f} s")
        if not self.dry_run and self.processed:
            text += f" ({rate:.1f} files/s)"
        if self.stopped:
            text += "; stopped at the first failure (--fail-fast)"
        if self.interrupted:
            text += "; interrupted: run the same command again to resume"
        return text


# ---------------------------------------------------------------------------------------------
# Worker side (runs in a pool process, a Dask worker, or inline)
# ---------------------------------------------------------------------------------------------

_PIPELINES: dict[str, tuple] = {}
def _write(dst: str, image, quality, fsync: bool) -> int:
    """Encode and write atomically (cvtools.write, fsync optional); returns the size in bytes.

    Skipping fsync saves milliseconds per file; the rename alone still means a killed run leaves
    either the complete file or nothing.
    """
    from ..io import write

    path = Path(dst)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write(path, image, quality=quality, fsync=fsync).stat().st_size


def _init_worker(threads: int | None, parent: int | None = None) -> None:
    """Give each worker process its share of cores: OpenCV's threads now, torch's and numba's
    (read from the environment when they are first imported, e.g. by the face descriptors) unless the
    user set them. With ``parent`` (a local pool), also leave Ctrl+C to the parent, which stops the
    run in order, and exit when the parent process ends."""
    import os
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


def _describe(exc: BaseException) -> str:
    msg = str(exc) or type(exc).__name__
    if not isinstance(exc, OSError) and not msg.startswith("cannot"):
        msg = f"{type(exc).__name__}: {msg}"
    for note in getattr(exc, "__notes__", ()) or ():
        msg += f" ({note})"
    return msg


def _pipelines(spec: str) -> tuple[Pipeline, Pipeline]:
    """The pipeline for ``spec`` and the same without its first step (cached per process)."""
    cached = _PIPELINES.get(spec)
    if cached is None:
        if len(_PIPELINES) > 16:
            _PIPELINES.clear()
        full = Pipeline(json.loads(spec))
        cached = _PIPELINES[spec] = (full, full[1:])
    return cached


def _process_one(item: dict, job: dict) -> dict:
    token = current_source.set((str(item["src"]), item.get("rel")))
    try:
        return _process_one_in_context(item, job)
    finally:
        current_source.reset(token)


def _process_one_in_context(item: dict, job: dict) -> dict:
    from ..io import probe, read

    src = item["src"]
    fused = False
    try:
        pipeline, tail = _pipelines(job["pipeline"])
        reduce = job.get("reduce", 1)
        steps = pipeline
        if reduce > 1:
            info = probe(src)
            if (info["format"] == "JPEG" and info["mode"] in ("RGB", "YCbCr")
                    and info["width"] % reduce == 0 and info["height"] % reduce == 0):
                fused = True
                steps = tail
        image = read(src, reduce=reduce if fused else 1)
    except Exception as exc:
        return {"results": [], "fused": False, "error": _describe(exc)}
    results = []
    for dst, seed in item["outputs"]:
        try:
            out = steps(image, seed=seed)
            size = _write(dst, out, job.get("quality"), job.get("fsync", False))
            results.append([dst, size, None])
        except Exception as exc:
            results.append([dst, None, _describe(exc)])
    return {"results": results, "fused": fused, "error": None}


def process_job(job: dict) -> dict:
    """Process a job: one or more input files, each read once and written once per output.

    ``job`` holds only paths and text: ``items`` (a list of ``{"src": path, "outputs": [[dst,
    seed], ...]}``), ``pipeline`` (JSON), ``quality``, ``reduce``, ``fsync``. Returns ``{"items":
    [{"results": [[dst, size or None, error or None]], "fused": bool, "error": message or None}],
    "seconds": float}``; a bad file never raises. A job with a ``task`` (a function, see
    :func:`map_items`) calls it on each item instead: ``{"result": ..., "error": message or None}``.
    """
    t0 = time.perf_counter()
    if job.get("task") is not None:
        from ._map import call_task

        items = [call_task(job["task"], item) for item in job["items"]]
    else:
        items = [_process_one(item, job) for item in job["items"]]
    return {"items": items, "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------
# Engines: submit(job) -> future; wait_any(futures) -> done set; close()
# ---------------------------------------------------------------------------------------------

class _InlineEngine:
    """Run jobs in this process (``workers=0``): for debugging and tiny jobs."""

    slots = 1

    def submit(self, job):
        f = Future()
        f.set_result(process_job(job))
        return f

    def wait_any(self, futures):
        return set(futures)

    def close(self, cancel=False):
        pass


class _LocalEngine:
    def __init__(self, workers: int):
        import multiprocessing as mp

        self.workers = workers
        self.slots = workers
        self._threads = max(1, _cores() // workers)
        methods = mp.get_all_start_methods()
        if "forkserver" in methods:
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
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._start()
            return self._pool.submit(process_job, job)

    def wait_any(self, futures):
        return wait(futures, return_when=FIRST_COMPLETED).done

    def close(self, cancel=False):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)


class _DaskEngine:
    def __init__(self, workers: int, scheduler: str | None):
        from .._shared import require

        self._distributed = require("distributed", feature='cvtools.batch.run(engine="dask")')
        import logging

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


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------

def _cores() -> int:
    """CPU cores this process may use (the affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_GUARD = 'if __name__ == "__main__":'


def _check_not_rerun_by_a_worker() -> None:
    """Refuse to run while a worker process is importing the main script (it lacks the guard)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == "__mp_main__":
            raise BatchEngineError(
                f"cvtools.batch.run() was called while a worker process was importing the main script "
                f"{frame.f_code.co_filename!r}: the script calls it at its top level. Worker processes import "
                f"the main script, so put the call under `{_GUARD}` (or pass workers=0).")
        frame = frame.f_back


def _unguarded_main_call() -> tuple[str, int] | None:
    """(file, line) when run() is called from the main script's top level outside ``if __name__ ==
    "__main__":`` and worker processes would import that script again (as multiprocessing decides:
    a script run by path, or a module run with -m that is not a package's __main__); else None."""
    import ast

    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    path = getattr(main, "__file__", None)
    if spec_name is not None and (spec_name == "__main__" or spec_name.endswith(".__main__")):
        return None
    if not path or os.path.splitext(os.path.basename(path))[0] == "ipython":
        return None
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is getattr(main, "__dict__", None)
                                     and frame.f_code.co_name == "<module>"
                                     and os.path.abspath(frame.f_code.co_filename) == os.path.abspath(path)):
        frame = frame.f_back
    if frame is None:  # called from a function run later, not while the script is being executed
        return None
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and node.body
                and any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(node.test))
                and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)):
            return None
    return path, line


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _iter_inputs(root: Path, *, recursive: bool, include, exclude, avoid: Path | None = None):
    """(path, relative path) of each input under ``root`` (resolved); with ``avoid`` (the output folder),
    files that a symbolic link leads out of ``root`` into ``avoid`` (a link to the folder, a sub-folder
    or the file) are not inputs."""
    from ..io import iter_images

    single = root.is_file()
    inside: dict = {}  # folder -> whether it resolves into `avoid`, outside `root`

    def escapes(real: Path) -> bool:
        return _is_within(real, avoid) and not _is_within(real, root)

    def in_avoid(path: Path) -> bool:
        folder = path.parent
        if folder not in inside:
            if len(inside) > 4096:
                inside.clear()
            inside[folder] = escapes(folder.resolve())
        return inside[folder] or (path.is_symlink() and escapes(path.resolve()))

    for path in iter_images(root, recursive=recursive):
        if avoid is not None and not single and in_avoid(path):
            continue
        rel = path.name if single else path.relative_to(root).as_posix()
        low, name = rel.lower(), path.name.lower()
        if include and not any(fnmatch.fnmatchcase(low, g) or fnmatch.fnmatchcase(name, g) for g in include):
            continue
        if exclude and any(fnmatch.fnmatchcase(low, g) or fnmatch.fnmatchcase(name, g) for g in exclude):
            continue
        yield path, rel


def _fingerprint(path: Path, mode: str) -> str:
    st = os.stat(path)
    if mode == "stat":
        return f"stat:{st.st_size}:{st.st_mtime_ns}"
    return f"sha256:{sha256_file(path)}"


def _output_names(rel: str, fmt: str | None, copies: int, suffix: bool) -> list[str]:
    stem, ext = os.path.splitext(rel)
    ext = fmt or ext
    if not suffix:
        return [stem + ext]
    width = len(str(copies - 1))
    return [f"{stem}_{i:0{width}d}{ext}" for i in range(copies)]


def _normalize_format(fmt):
    from ..io import WRITE_FORMATS

    if fmt is None:
        return None
    if not isinstance(fmt, str):
        raise TypeError(f"`format` must be a file extension such as 'png'; got {fmt!r}.")
    ext = "." + fmt.lower().lstrip(".")
    if ext not in WRITE_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; valid: "
                         f"{', '.join(sorted(e.lstrip('.') for e in WRITE_FORMATS))}.")
    return ext


def _globs(value, name):
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    out = []
    for g in value:
        if not isinstance(g, str) or not g:
            raise TypeError(f"`{name}` must be glob strings such as '*.jpg'; got {g!r}.")
        out.append(g.lower())
    return tuple(out)


def run(input, output, pipeline=(), *, workers: int | None = None, engine: str = "local",
        scheduler: str | None = None, recursive: bool = True, include=None, exclude=None,
        format: str | None = None, quality: int | None = None, overwrite: bool = False,
        fail_fast: bool = False, dry_run: bool = False, progress: bool | None = None,
        copies: int = 1, seed: int | None = None, fuse: bool = True, fingerprint: str = "stat",
        copy_suffix: bool | None = None, fsync: bool = False, on_file=None) -> BatchReport:
    """Process every image under ``input`` with ``pipeline``, writing a mirrored tree under ``output``.

    Parameters
    ----------
    input : str or pathlib.Path
        A folder (or one image file). Never written to.
    output : str or pathlib.Path
        The output folder (created). Must not be ``input`` or inside it. Holds the resume manifest
        ``.cvtools-batch.sqlite``.
    pipeline : Pipeline, str or sequence
        What to do to each image (anything :class:`Pipeline` accepts); empty converts formats only.
    workers : int, optional
        Worker processes (default: all cores; ``0`` runs in this process). For Dask without a
        ``scheduler``, the number of LocalCluster worker processes.
    engine : {"local", "dask"}
        Local process pool, or a Dask distributed cluster.
    scheduler : str, optional
        Address of a running Dask scheduler (``"tcp://host:8786"``); default: start a LocalCluster.
    recursive : bool
        Descend into sub-folders (default).
    include, exclude : str or list of str, optional
        Glob patterns matched (case-insensitively) against the relative path and the file name.
    format : str, optional
        Output extension (``"png"``, ``"jpg"``...); default: keep each input's.
    quality : int, optional
        JPEG/WebP quality 0-100 (default: the writer's, 95).
    overwrite : bool
        Redo every output, even those the manifest says are up to date.
    fail_fast : bool
        Stop at the first failed file.
    dry_run : bool
        Decide and report what would be done without reading images or writing anything.
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    copies : int
        Outputs per input (``name_0.ext``, ``name_1.ext``...), each with its own derived seed.
    fsync : bool
        Flush every output to disk before renaming it into place (survives a power cut, slower).
        Without it, writes are still atomic against a killed process.
    copy_suffix : bool, optional
        Name outputs ``name_<copy>.ext`` (default: only when ``copies > 1``).
    seed : int, optional
        Base seed for random operations (such as ``augment``); each output gets
        ``derive_seed(seed, relative_path, copy)``, so results do not depend on scheduling.
    fuse : bool
        Decode JPEGs directly at 1/2, 1/4 or 1/8 size when the pipeline starts with
        ``resize:scale=0.5|0.25|0.125`` (area) and the sides divide exactly. Much faster; pixel
        values differ slightly from decode-then-resize (libjpeg's scaled IDCT instead of area
        averaging).
    fingerprint : {"stat", "content"}
        How resume recognises an unchanged input: size and modification time (fast), or a SHA-256
        of the content.
    on_file : callable, optional
        Called in this process with an event dict per input: ``{"action": "process" | "skip" |
        "done" | "fail", "input": path, "outputs": [...], "error": message}``.

    Returns
    -------
    BatchReport

    Raises
    ------
    PipelineError
        A bad pipeline (unknown operation, a parameter the operation rejects), before any file is read.
    BatchEngineError
        The engine cannot start; also when a script calls ``run`` with worker processes from its top
        level without ``if __name__ == "__main__":`` (its workers would run the script again).
    BatchInterrupted
        Ctrl+C (a ``KeyboardInterrupt``; its ``report`` says what was done). Workers finish the file
        in hand; the next run resumes.

    Examples
    --------
    >>> import cvtools, numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "in").mkdir()
    >>> _ = cvtools.write(d / "in" / "a.png", np.zeros((8, 8), np.uint8))
    >>> r = run(d / "in", d / "out", "resize:scale=0.5 | flip", workers=0)
    >>> r.processed, r.failed, cvtools.read(d / "out" / "a.png").shape
    (1, [], (4, 4))
    """
    t0 = time.perf_counter()
    _check_not_rerun_by_a_worker()
    pipeline = pipeline if isinstance(pipeline, Pipeline) else Pipeline(pipeline)
    check_choice(engine, ENGINES, name="engine")
    check_choice(fingerprint, FINGERPRINTS, name="fingerprint")
    if workers is None:
        workers = _cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"`workers` must be an integer >= 0 (0: run in this process); got {workers!r}.")
    if engine == "dask" and workers == 0:
        workers = _cores()
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ValueError(f"`copies` must be an integer >= 1; got {copies!r}.")
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)
                                or not 0 <= quality <= 100):
        raise ValueError(f"`quality` must be an integer in 0..100; got {quality!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"`seed` must be an integer; got {seed!r}.")
    fmt = _normalize_format(format)
    include, exclude = _globs(include, "include"), _globs(exclude, "exclude")
    src_root = Path(os.fspath(input)).expanduser()
    if not src_root.exists():
        raise FileNotFoundError(f"input {str(src_root)!r} does not exist.")
    src_root = src_root.resolve()
    out_root = Path(os.fspath(output)).expanduser().resolve()
    input_is_dir = src_root.is_dir()
    if input_is_dir and _is_within(out_root, src_root):
        raise ValueError(f"output {str(out_root)!r} is {'the input folder' if out_root == src_root else 'inside the input folder'}"
                         f" {str(src_root)!r}; choose a folder outside it (cvtools never writes inside INPUT).")
    if out_root.exists() and not out_root.is_dir():
        raise ValueError(f"output {str(out_root)!r} exists and is not a folder.")
    pipeline.check_available()
    if workers > 0 and not dry_run and (engine == "local" or scheduler is None):
        site = _unguarded_main_call()
        if site is not None:
            raise BatchEngineError(
                f"{site[0]}, line {site[1]}: cvtools.batch.run() with worker processes is called at the top "
                f"level of the script. Worker processes import the main script again, and would run it "
                f"again; put the call under `{_GUARD}` (or pass workers=0).")
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())

    reduce = pipeline.leading_reduce() if fuse else 1
    spec = json.dumps(pipeline.to_list(), sort_keys=True)
    job_key = hashlib.sha256(json.dumps(
        {"v": _JOB_VERSION, "pipeline": pipeline.hash, "quality": quality, "fuse": reduce},
        sort_keys=True).encode()).hexdigest()[:32]

    report = BatchReport(dry_run=dry_run, engine=engine, workers=workers, pipeline=str(pipeline),
                         input=str(src_root), output=str(out_root))
    if not dry_run:
        out_root.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out_root, dry_run=dry_run or not out_root.exists(), durable=fsync)
    bar = None
    eng = None
    in_flight: dict = {}  # future -> list of (src_path, src_rel, fingerprint, outs), one per file
    pending: list = []    # files planned but not yet submitted (at most one chunk)
    chunk = 1             # files per job, adapted so that a job takes about `target` seconds
    target = 0.25 if engine == "dask" else 0.1
    per_file = None

    def emit(event):
        if on_file is not None:
            on_file(event)

    def tick():
        if bar is not None:
            bar.update(1)
            if report.failed:
                bar.set_postfix(failed=len(report.failed), refresh=False)

    def finish_file(meta, res):
        src_path, src_rel, fp, outs = meta
        errors = [] if res["error"] is None else [res["error"]]
        written = []
        for (out_rel, out_path, _seed), result in zip(outs, res["results"]):
            _dst, size, err = result
            if err is None:
                manifest.record(out_rel, src_rel, fp, f"{job_key}:{_seed}", size)
                written.append(str(out_path))
            else:
                manifest.forget(out_rel)
                errors.append(err if copies == 1 else f"{Path(out_rel).name}: {err}")
        report.outputs += len(written)
        report.fused += int(bool(res.get("fused")))
        if errors:
            report.failed.append({"path": str(src_path), "error": "; ".join(errors)})
            emit({"action": "fail", "input": str(src_path), "outputs": written, "error": "; ".join(errors)})
        else:
            report.processed += 1
            emit({"action": "done", "input": str(src_path), "outputs": written, "error": None})
        tick()

    def finish(fut):
        nonlocal per_file, chunk
        metas = in_flight.pop(fut)
        try:
            res = fut.result()
            items = res["items"]
            seconds = res["seconds"] / max(1, len(items))
            per_file = seconds if per_file is None else 0.8 * per_file + 0.2 * seconds
            chunk = max(1, min(32, int(target / max(per_file, 1e-4))))
        except BrokenProcessPool:
            items = [{"results": [], "fused": False,
                      "error": "the worker process died while processing this file (out of memory, or "
                               "a crash in native code); it may be another file of the same job"}] * len(metas)
        except Exception as exc:  # an engine failure (e.g. a lost Dask worker)
            items = [{"results": [], "fused": False, "error": f"engine error: {_describe(exc)}"}] * len(metas)
        for meta, item in zip(metas, items):
            finish_file(meta, item)

    def submit(batch):
        nonlocal eng, limit
        if eng is None:  # started on the first job, so a run with nothing to do starts no workers
            eng = (_InlineEngine() if workers == 0 and engine == "local"
                   else _LocalEngine(workers) if engine == "local" else _DaskEngine(workers, scheduler))
            report.workers = getattr(eng, "workers", workers)
            limit = max(2, 3 * eng.slots)
        while len(in_flight) >= limit:
            for fut in eng.wait_any(list(in_flight)):
                finish(fut)
        job = {"items": [{"src": str(m[0]), "rel": m[1], "outputs": [[str(p), sd] for _, p, sd in m[3]]} for m in batch],
               "pipeline": spec, "quality": quality, "reduce": reduce, "fsync": bool(fsync)}
        in_flight[eng.submit(job)] = list(batch)
        for fut in [f for f in in_flight if f.done()]:  # harvest early: prompt fail-fast, steady bar
            finish(fut)

    limit = 2
    interrupted = False
    try:
        if manifest.existed and not dry_run:
            manifest.remove_stale_temporaries()
        if progress:
            from tqdm import tqdm

            total = sum(1 for _ in _iter_inputs(src_root, recursive=recursive, include=include,
                                                exclude=exclude, avoid=out_root))
            try:  # a pseudo-terminal may report a 0x0 size, which would hide the bar
                size = os.get_terminal_size(sys.stderr.fileno())
                dynamic = size.columns > 0 and size.lines > 0
            except (OSError, ValueError, AttributeError):
                dynamic = False
            bar = tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=dynamic,
                       ncols=None if dynamic else 100, nrows=None if dynamic else 24,
                       desc="dry run" if dry_run else "batch", smoothing=0.1)
        for src_path, src_rel in _iter_inputs(src_root, recursive=recursive, include=include,
                                              exclude=exclude, avoid=out_root):
            if fail_fast and report.failed:
                report.stopped = True
                break
            names = _output_names(src_rel, fmt, copies, copies > 1 if copy_suffix is None else copy_suffix)
            outs, problem = [], None
            for i, name in enumerate(names):
                out_path = out_root / name
                if (input_is_dir and _is_within(out_path, src_root)) or out_path == src_path:
                    problem = (f"output {str(out_path)!r} would be inside the input folder or replace the input; "
                               f"not written")
                other = manifest.claim(name, src_rel)
                if other is not None:
                    problem = f"output {name!r} is also the output of {other!r} (same name, different extension)"
                outs.append((name, out_path, None if seed is None else derive_seed(seed, src_rel, i)))
            if problem is None:
                try:
                    fp = _fingerprint(src_path, fingerprint)
                except OSError as exc:
                    problem = f"cannot read {str(src_path)!r}: {exc.strerror or exc}."
            if problem is not None:
                report.failed.append({"path": str(src_path), "error": problem})
                emit({"action": "fail", "input": str(src_path), "outputs": [], "error": problem})
                tick()
                continue
            if not overwrite and all(manifest.is_done(n, fp, f"{job_key}:{s}", p) for n, p, s in outs):
                report.skipped += 1
                emit({"action": "skip", "input": str(src_path), "outputs": [str(p) for _, p, _ in outs],
                      "error": None})
                tick()
                continue
            report.planned += 1
            if dry_run:
                emit({"action": "process", "input": str(src_path), "outputs": [str(p) for _, p, _ in outs],
                      "error": None})
                tick()
                continue
            pending.append((src_path, src_rel, fp, outs))
            if len(pending) >= chunk:
                batch, pending = pending, []
                submit(batch)
        if pending and not report.stopped:
            batch, pending = pending, []
            submit(batch)
        while in_flight:
            if report.failed and fail_fast:
                report.stopped = True
                for fut in list(in_flight):
                    if fut.cancel():  # not started yet: neither processed nor failed
                        for _ in in_flight.pop(fut):
                            tick()
                if not in_flight:
                    break
            for fut in eng.wait_any(list(in_flight)):
                finish(fut)
        if fail_fast and report.failed:
            report.stopped = True
    except KeyboardInterrupt:  # Ctrl+C, or SIGTERM in the CLI: stop in order, then say what was done
        interrupted = True
    finally:
        cancel = bool(in_flight)
        if eng is not None:
            try:
                eng.close(cancel=cancel)
            except Exception:  # pragma: no cover - shutting down after an interrupt
                traceback.print_exc(file=sys.stderr)
        if interrupted:  # jobs that finished while the pool shut down are recorded, not redone
            for fut in list(in_flight):
                try:
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        finish(fut)
                except Exception:  # pragma: no cover - an engine already closed: the next run redoes it
                    pass
        if bar is not None:
            bar.close()
        manifest.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    if interrupted:
        report.interrupted = True
        raise BatchInterrupted(report)
    return report
