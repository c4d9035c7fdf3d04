"""The batch runner: stream a folder through a pipeline into a mirrored output folder.

:func:`run` is three parts, each a small class a reader can follow on its own:

* the **planner** (:class:`_Planner`) walks the input tree lazily and decides, from the resume
  manifest, what each input needs: a :class:`PlannedFile` to ``"process"``, to ``"skip"`` (up to
  date) or that has ``"fail"``\\ ed already (an output name clash, an unreadable file);
* the **scheduler** (:class:`_Scheduler`) groups inputs into jobs (chunks sized so that a job takes
  about a tenth of a second) and keeps a bounded number in flight on an engine (this process, a
  local process pool or a Dask cluster, :mod:`._engines`); workers read, process and write
  themselves (:mod:`._worker`), so pixels never cross a process boundary;
* the **recorder** (:class:`~._report.Recorder`) turns each outcome into the report's counts, the
  manifest's rows (only the parent writes the manifest), an ``on_file`` event and a progress tick.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._shared import UsageError, check_choice, sha256_file
from ._engines import ENGINES, BatchEngineError, cores, check_workers, job_results, start_engine
from ._manifest import Manifest
from ._pipeline import Pipeline, derive_seed
from ._registry import PipelineError
from ._report import BatchReport, FileEvent, Recorder
from ._worker import FileResult

FINGERPRINTS = ("stat", "content")
_JOB_VERSION = 1


class BatchInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl+C (or SIGTERM in the CLI); ``report`` says what was done before it.

    It is a ``KeyboardInterrupt``, so an interrupted script stops as usual; outputs written so far
    are complete and recorded, and the next run resumes.
    """

    def __init__(self, report: BatchReport):
        super().__init__("the batch run was interrupted")
        self.report = report


# ---------------------------------------------------------------------------------------------
# Checks and paths
# ---------------------------------------------------------------------------------------------

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



@dataclass(frozen=True)
class _Settings:
    """The checked arguments of one :func:`run`."""

    src_root: Path
    out_root: Path
    pipeline: Pipeline
    engine: str
    workers: int
    scheduler: str | None
    recursive: bool
    include: tuple
    exclude: tuple
    fmt: str | None
    quality: int | None
    overwrite: bool
    fail_fast: bool
    dry_run: bool
    progress: bool
    copies: int
    copy_suffix: bool
    seed: int | None
    reduce: int
    fingerprint: str
    fsync: bool

    @property
    def input_is_dir(self) -> bool:
        return self.src_root.is_dir()

    @property
    def job_key(self) -> str:
        """What an output's manifest row must match besides its input: pipeline, quality, fusing."""
        blob = json.dumps({"v": _JOB_VERSION, "pipeline": self.pipeline.hash, "quality": self.quality,
                           "fuse": self.reduce}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _check_numbers(*, copies, quality, seed) -> None:
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ValueError(f"`copies` must be an integer >= 1; got {copies!r}.")
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)
                                or not 0 <= quality <= 100):
        raise ValueError(f"`quality` must be an integer in 0..100; got {quality!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"`seed` must be an integer; got {seed!r}.")


def _roots(input, output) -> tuple[Path, Path]:
    """The resolved input and output roots; the output may be neither the input folder nor inside it."""
    src_root = Path(os.fspath(input)).expanduser()
    if not src_root.exists():
        raise FileNotFoundError(f"input {str(src_root)!r} does not exist.")
    src_root = src_root.resolve()
    out_root = Path(os.fspath(output)).expanduser().resolve()
    if src_root.is_dir() and _is_within(out_root, src_root):
        where = "the input folder" if out_root == src_root else "inside the input folder"
        raise ValueError(f"output {str(out_root)!r} is {where} {str(src_root)!r}; choose a folder outside it "
                         f"(cvtools never writes inside INPUT).")
    if out_root.exists() and not out_root.is_dir():
        raise ValueError(f"output {str(out_root)!r} exists and is not a folder.")
    return src_root, out_root


def _settings(input, output, pipeline, *, engine, workers, fingerprint, fuse, copies, quality, seed,
              format, include, exclude, copy_suffix, progress, dry_run, scheduler, **flags) -> _Settings:
    """Check every argument of :func:`run` (before a file is read or a worker started)."""
    pipeline = pipeline if isinstance(pipeline, Pipeline) else Pipeline(pipeline)
    check_choice(engine, ENGINES, name="engine")
    check_choice(fingerprint, FINGERPRINTS, name="fingerprint")
    workers = check_workers(workers, default=cores())
    if engine == "dask" and workers == 0:
        workers = cores()
    _check_numbers(copies=copies, quality=quality, seed=seed)
    fmt = _normalize_format(format)
    include, exclude = _globs(include, "include"), _globs(exclude, "exclude")
    src_root, out_root = _roots(input, output)
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
    return _Settings(
        src_root=src_root, out_root=out_root, pipeline=pipeline, engine=engine, workers=workers,
        scheduler=scheduler, include=include, exclude=exclude, fmt=fmt, quality=quality, dry_run=dry_run,
        progress=bool(progress), copies=copies, copy_suffix=copies > 1 if copy_suffix is None else bool(copy_suffix),
        seed=seed, reduce=pipeline.leading_reduce() if fuse else 1, fingerprint=fingerprint, **flags)


# ---------------------------------------------------------------------------------------------
# Planner: walk the inputs, decide from the manifest
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedFile:
    """One input as the planner decided it: ``action`` is ``"process"``, ``"skip"`` (up to date) or
    ``"fail"`` (``error`` says why); ``outputs`` are ``(name relative to OUTPUT, path, seed)``."""

    action: str
    path: Path
    rel: str
    fingerprint: str | None = None
    outputs: tuple = ()
    error: str | None = None


class _Planner:
    """Walks the input tree lazily and decides what each input needs, from the resume manifest."""

    def __init__(self, settings: _Settings, manifest: Manifest):
        self.s = settings
        self.manifest = manifest
        self._key = settings.job_key

    def inputs(self):
        """(path, relative path) of every input, lazily."""
        s = self.s
        return _iter_inputs(s.src_root, recursive=s.recursive, include=s.include, exclude=s.exclude,
                            avoid=s.out_root)

    def __iter__(self):
        for path, rel in self.inputs():
            yield self.decide(path, rel)

    def _outputs(self, path: Path, rel: str) -> tuple[tuple, str | None]:
        """The ``(name, path, seed)`` of each output of ``path``, and a problem that forbids writing them."""
        s = self.s
        outs, problem = [], None
        for i, name in enumerate(_output_names(rel, s.fmt, s.copies, s.copy_suffix)):
            out_path = s.out_root / name
            if (s.input_is_dir and _is_within(out_path, s.src_root)) or out_path == path:
                problem = (f"output {str(out_path)!r} would be inside the input folder or replace the input; "
                           f"not written")
            other = self.manifest.claim(name, rel)
            if other is not None:
                problem = f"output {name!r} is also the output of {other!r} (same name, different extension)"
            outs.append((name, out_path, None if s.seed is None else derive_seed(s.seed, rel, i)))
        return tuple(outs), problem

    def decide(self, path: Path, rel: str) -> PlannedFile:
        outs, problem = self._outputs(path, rel)
        fp = None
        if problem is None:
            try:
                fp = _fingerprint(path, self.s.fingerprint)
            except OSError as exc:
                problem = f"cannot read {str(path)!r}: {exc.strerror or exc}."
        if problem is not None:
            return PlannedFile("fail", path, rel, error=problem)
        done = not self.s.overwrite and all(self.manifest.is_done(name, fp, f"{self._key}:{seed}", out)
                                            for name, out, seed in outs)
        return PlannedFile("skip" if done else "process", path, rel, fp, outs)


# ---------------------------------------------------------------------------------------------
# Scheduler: chunks of inputs as jobs on an engine, a bounded number in flight
# ---------------------------------------------------------------------------------------------

class _Scheduler:
    """Groups planned inputs into jobs and keeps a bounded number in flight on the engine.

    A job holds ``chunk`` inputs, adapted so that a job takes about ``target`` seconds (one input
    per job at first; more when inputs are quick, so that per-job overhead stays small). At most
    ``3 * slots`` jobs are in flight, so the walk of the input tree is consumed as results come back.
    The engine starts with the first job: a run with nothing to do starts no workers.
    """

    def __init__(self, settings: _Settings, recorder: Recorder):
        self.s = settings
        self.recorder = recorder
        self.engine = None
        self.in_flight: dict = {}  # future -> the PlannedFiles of its job
        self.pending: list = []    # planned but not submitted yet (less than one chunk)
        self.chunk = 1
        self._limit = 2
        self._target = 0.25 if settings.engine == "dask" else 0.1
        self._per_file = None
        self._job = {"pipeline": json.dumps(settings.pipeline.to_list(), sort_keys=True),
                     "quality": settings.quality, "reduce": settings.reduce, "fsync": bool(settings.fsync)}

    def add(self, entry: PlannedFile) -> None:
        self.pending.append(entry)
        if len(self.pending) >= self.chunk:
            self._submit()

    def flush(self) -> None:
        """Submit what is pending (a last, partial chunk)."""
        if self.pending:
            self._submit()

    def _start(self) -> None:
        self.engine = start_engine(self.s.engine, self.s.workers, self.s.scheduler)
        self.recorder.report.workers = getattr(self.engine, "workers", self.s.workers)
        self._limit = max(2, 3 * self.engine.slots)

    def _submit(self) -> None:
        batch, self.pending = self.pending, []
        if self.engine is None:
            self._start()
        while len(self.in_flight) >= self._limit:
            self._harvest(self.engine.wait_any(list(self.in_flight)))
        items = [{"src": str(e.path), "rel": e.rel, "outputs": [[str(p), seed] for _, p, seed in e.outputs]}
                 for e in batch]
        self.in_flight[self.engine.submit({**self._job, "items": items})] = batch
        self._harvest([f for f in self.in_flight if f.done()])  # early: prompt fail-fast, steady bar

    def _harvest(self, futures) -> None:
        for fut in futures:
            batch = self.in_flight.pop(fut)
            results, seconds = job_results(fut, len(batch), FileResult.failed)
            if seconds is not None:
                self._adapt(seconds / max(1, len(results)))
            for entry, result in zip(batch, results):
                self.recorder.finish(entry, result)

    def _adapt(self, seconds: float) -> None:
        self._per_file = seconds if self._per_file is None else 0.8 * self._per_file + 0.2 * seconds
        self.chunk = max(1, min(32, int(self._target / max(self._per_file, 1e-4))))

    def drain(self) -> None:
        """Wait for every job in flight; with ``fail_fast``, cancel those not started after a failure."""
        report = self.recorder.report
        while self.in_flight:
            if self.s.fail_fast and report.failed:
                report.stopped = True
                for fut in list(self.in_flight):
                    if fut.cancel():  # not started yet: neither processed nor failed
                        self.recorder.tick(len(self.in_flight.pop(fut)))
                if not self.in_flight:
                    break
            self._harvest(self.engine.wait_any(list(self.in_flight)))

    def close(self, *, interrupted: bool) -> None:
        """Stop the engine; after an interrupt, record the jobs that finished meanwhile (not redone)."""
        if self.engine is not None:
            try:
                self.engine.close(cancel=bool(self.in_flight))
            except Exception:  # pragma: no cover - shutting down after an interrupt
                traceback.print_exc(file=sys.stderr)
        if interrupted:
            for fut in list(self.in_flight):
                try:
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        self._harvest([fut])
                except Exception:  # pragma: no cover - an engine already closed: the next run redoes it
                    pass


# ---------------------------------------------------------------------------------------------
# run: planner -> scheduler -> recorder
# ---------------------------------------------------------------------------------------------

def _walk(planner: _Planner, scheduler: _Scheduler, recorder: Recorder) -> None:
    """Every input through the planner, to the recorder (skipped, failed, dry run) or the scheduler."""
    s, report = planner.s, recorder.report
    for entry in planner:
        if s.fail_fast and report.failed:
            report.stopped = True
            return
        if entry.action == "fail":
            recorder.fail(entry.path, entry.error)
        elif entry.action == "skip":
            recorder.skip(entry)
        else:
            recorder.plan(entry)
            if not s.dry_run:
                scheduler.add(entry)
    scheduler.flush()


def run(input: str | os.PathLike, output: str | os.PathLike, pipeline: Pipeline | str | Sequence = (), *,
        workers: int | None = None, engine: str = "local",
        scheduler: str | None = None, recursive: bool = True, include: str | Sequence[str] | None = None,
        exclude: str | Sequence[str] | None = None,
        format: str | None = None, quality: int | None = None, overwrite: bool = False,
        fail_fast: bool = False, dry_run: bool = False, progress: bool | None = None,
        copies: int = 1, seed: int | None = None, fuse: bool = True, fingerprint: str = "stat",
        copy_suffix: bool | None = None, fsync: bool = False,
        on_file: Callable[[FileEvent], None] | None = None) -> BatchReport:
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
        Called in this process with a :class:`FileEvent` per input (``action``: ``"process"`` (dry
        run), ``"skip"``, ``"done"`` or ``"fail"``; ``path``, ``outputs``, ``error``).

    Returns
    -------
    BatchReport

    Raises
    ------
    PipelineError
        A bad pipeline (unknown operation, a parameter the operation rejects), before any file is read.
    UsageError
        Any other bad argument (OUTPUT inside INPUT, a negative ``workers``, an unknown ``format``, ...),
        before any file is read; a ``ValueError`` too.
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
    try:
        s = _settings(input, output, pipeline, engine=engine, workers=workers, fingerprint=fingerprint, fuse=fuse,
                      copies=copies, quality=quality, seed=seed, format=format, include=include, exclude=exclude,
                      copy_suffix=copy_suffix, progress=progress, dry_run=dry_run, scheduler=scheduler,
                      recursive=recursive, overwrite=overwrite, fail_fast=fail_fast, fsync=fsync)
    except ValueError as exc:  # a bad argument: a UsageError (still a ValueError), PipelineError kept as is
        if isinstance(exc, (UsageError, PipelineError)):
            raise
        raise UsageError(str(exc)) from exc
    report = BatchReport(dry_run=dry_run, engine=engine, workers=s.workers, pipeline=str(s.pipeline),
                         input=str(s.src_root), output=str(s.out_root))
    if not dry_run:
        s.out_root.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(s.out_root, dry_run=dry_run or not s.out_root.exists(), durable=fsync)
    recorder = Recorder(report, manifest, on_file=on_file, job_key=s.job_key, copies=copies)
    planner, jobs = _Planner(s, manifest), _Scheduler(s, recorder)
    interrupted = False
    try:
        if manifest.existed and not dry_run:
            manifest.remove_stale_temporaries()
        if s.progress:
            recorder.start_bar(sum(1 for _ in planner.inputs()))
        _walk(planner, jobs, recorder)
        jobs.drain()
        if fail_fast and report.failed:
            report.stopped = True
    except KeyboardInterrupt:  # Ctrl+C, or SIGTERM in the CLI: stop in order, then say what was done
        interrupted = True
    finally:
        jobs.close(interrupted=interrupted)
        recorder.close()
        manifest.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    if interrupted:
        report.interrupted = True
        raise BatchInterrupted(report)
    return report
