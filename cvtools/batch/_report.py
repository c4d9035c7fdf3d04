"""The recorder of a batch run: the report, the ``on_file`` events, the manifest rows and the progress bar."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FileEvent:
    """What happened to one input of :func:`~cvtools.batch.run` (given to its ``on_file`` callback).

    Attributes
    ----------
    action : {"process", "skip", "done", "fail"}
        ``"process"``: would be processed (dry run); ``"skip"``: its outputs are up to date;
        ``"done"``: all its outputs were written; ``"fail"``: it (or one of its outputs) failed.
    path : str
        The input file.
    outputs : tuple of str
        The output files: written (``done``, and those written before a ``fail``), up to date
        (``skip``) or planned (``process``).
    error : str or None
        The failure message (``fail`` only).

    Examples
    --------
    >>> FileEvent("done", "in/a.png", ("out/a.png",)).to_dict()
    {'action': 'done', 'path': 'in/a.png', 'outputs': ['out/a.png'], 'error': None}
    """

    action: str
    path: str
    outputs: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict:
        """The event as a JSON-able dict."""
        return {"action": self.action, "path": self.path, "outputs": list(self.outputs), "error": self.error}


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



def progress_bar(total: int, *, desc: str):
    """A tqdm bar on stderr; a fixed 100x24 layout when the terminal reports no size."""
    from tqdm import tqdm

    try:  # a pseudo-terminal may report a 0x0 size, which would hide the bar
        size = os.get_terminal_size(sys.stderr.fileno())
        dynamic = size.columns > 0 and size.lines > 0
    except (OSError, ValueError, AttributeError):
        dynamic = False
    return tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=dynamic,
                ncols=None if dynamic else 100, nrows=None if dynamic else 24, desc=desc, smoothing=0.1)


class Recorder:
    """Everything a run records about an input, in one place: the :class:`BatchReport`'s counts, a
    manifest row per output written (or forgotten when it failed), a :class:`FileEvent` for
    ``on_file`` and a tick of the progress bar.

    ``entry`` arguments are the planner's ``PlannedFile`` (``path``, ``rel``, ``fingerprint``,
    ``outputs``: ``(name, path, seed)`` triples).
    """

    def __init__(self, report: BatchReport, manifest, *, on_file=None, job_key: str = "", copies: int = 1):
        self.report = report
        self.manifest = manifest
        self.bar = None
        self._on_file = on_file
        self._job_key = job_key
        self._copies = copies

    def start_bar(self, total: int) -> None:
        self.bar = progress_bar(total, desc="dry run" if self.report.dry_run else "batch")

    def tick(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if self.report.failed:
                self.bar.set_postfix(failed=len(self.report.failed), refresh=False)

    def _event(self, action: str, path, outputs=(), error: str | None = None) -> None:
        if self._on_file is not None:
            self._on_file(FileEvent(action, str(path), tuple(str(p) for p in outputs), error))
        self.tick()

    def fail(self, path, error: str, outputs=()) -> None:
        """An input failed (before it was submitted, or in a worker)."""
        self.report.failed.append({"path": str(path), "error": error})
        self._event("fail", path, outputs, error)

    def skip(self, entry) -> None:
        """An input whose outputs are up to date."""
        self.report.skipped += 1
        self._event("skip", entry.path, [p for _, p, _ in entry.outputs])

    def plan(self, entry) -> None:
        """An input to process (only announced now in a dry run; else when it is done)."""
        self.report.planned += 1
        if self.report.dry_run:
            self._event("process", entry.path, [p for _, p, _ in entry.outputs])

    def finish(self, entry, result) -> None:
        """A worker's :class:`~cvtools.batch.FileResult` for ``entry``."""
        errors = [] if result.error is None else [result.error]
        written = []
        for (name, out_path, seed), out in zip(entry.outputs, result.outputs):
            if out.error is None:
                self.manifest.record(name, entry.rel, entry.fingerprint, f"{self._job_key}:{seed}", out.size)
                written.append(str(out_path))
            else:
                self.manifest.forget(name)
                errors.append(out.error if self._copies == 1 else f"{Path(name).name}: {out.error}")
        self.report.outputs += len(written)
        self.report.fused += int(result.fused)
        if errors:
            self.fail(entry.path, "; ".join(errors), written)
        else:
            self.report.processed += 1
            self._event("done", entry.path, written)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
