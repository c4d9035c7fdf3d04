"""`cvtools batch INPUT OUTPUT --pipeline ...`: run a pipeline over a folder into a mirrored folder."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading


def add_run_options(p, *, fuse: bool = True) -> None:
    """Options shared by `cvtools batch` and `cvtools augment`."""
    p.add_argument("input", metavar="INPUT", help="folder of images (or one image file); never written to")
    p.add_argument("output", metavar="OUTPUT", nargs="?", default=None,
                   help="output folder (created); must not be INPUT or inside it")
    p.add_argument("--output", "-o", dest="output_option", metavar="OUTPUT", default=None,
                   help="the output folder, as an option (the same as the OUTPUT argument; give one of them)")
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores, %d here; 0 = in this process)" % (os.cpu_count() or 1))
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local process pool (default) or a Dask distributed cluster")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="Dask scheduler address, e.g. tcp://host:8786 (default: start a LocalCluster)")
    p.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=True,
                   help="descend into sub-folders (default: yes)")
    p.add_argument("--include", action="append", metavar="GLOB", default=None,
                   help="only files whose relative path or name matches (repeatable; case-insensitive)")
    p.add_argument("--exclude", action="append", metavar="GLOB", default=None,
                   help="skip files whose relative path or name matches (repeatable)")
    p.add_argument("--format", metavar="EXT", default=None,
                   help="output format by extension: png, jpg, tif, webp, ... (default: keep each input's)")
    p.add_argument("--quality", type=int, default=None, metavar="Q", help="JPEG/WebP quality 0-100 (default 95)")
    p.add_argument("--overwrite", action="store_true", help="redo every output, even up-to-date ones")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first file that fails")
    p.add_argument("--dry-run", action="store_true", help="list what would be done; read and write nothing")
    p.add_argument("--report", metavar="PATH", default=None,
                   help="write a JSON report {processed, skipped, failed: [{path, error}], seconds, ...}")
    p.add_argument("--fingerprint", choices=("stat", "content"), default="stat",
                   help="how resume recognises unchanged inputs: size+mtime (default) or SHA-256")
    p.add_argument("--fsync", action="store_true",
                   help="flush each output to disk before it is renamed into place (power-cut safe, slower)")
    if fuse:
        p.add_argument("--no-fuse", dest="fuse", action="store_false",
                       help="never fuse a leading resize:scale=0.5/0.25/0.125 into the JPEG decoder")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar and no summary line (failures are still printed, on stderr)")
    p.add_argument("--verbose", "-v", action="store_true", help="also print every file written or skipped")
    p.add_argument("--json", action="store_true",
                   help="print the report as one JSON line on stdout instead of the summary")


def register(sub) -> None:
    p = sub.add_parser(
        "batch", help="run a pipeline of operations over a folder of images",
        description="Process every image under INPUT with a pipeline of named operations and write the "
                    "results to the same relative paths under OUTPUT. Parallel, resumable (a second run "
                    "skips outputs that are up to date), atomic writes, bad files recorded and skipped. "
                    "List the operations with `cvtools ops`.",
        epilog='Example: cvtools batch photos/ small/ --pipeline "resize:scale=0.5 | gaussian:sigma=1 | '
               'equalize" --format jpg --quality 90. Exit codes: 0 ok, 1 some files failed, 2 usage error, '
               '130 interrupted (Ctrl+C or SIGTERM; the summary is printed and the next run resumes).')
    p.add_argument("--pipeline", "-p", metavar="TEXT", default=None,
                   help='operations separated by "|", each name:key=value,key=value, e.g. '
                        '"resize:scale=0.5 | gaussian:sigma=1 | equalize" (empty: convert formats only)')
    p.add_argument("--pipeline-file", metavar="FILE", default=None,
                   help="YAML or JSON list of steps, each {op: name, key: value, ...}")
    p.add_argument("--seed", type=int, default=None, help="base seed for random operations (noise, augment)")
    add_run_options(p)
    p.set_defaults(func=run)


def _say(command: str, message: str) -> None:
    """``cvtools COMMAND: message`` on stderr, above the progress bar when one is shown."""
    from tqdm import tqdm

    tqdm.write(f"cvtools {command}: {message}", file=sys.stderr)


def shown(text: str) -> str:
    """``text`` for one line of output: as is when printable, else quoted with escapes (``'a\\nb'``),
    so that a file name holding a newline cannot forge a line such as ``FAILED ...``."""
    return text if text.isprintable() else repr(text)


def _escaped(text: str) -> str:
    """A message on one line: control and other unprintable characters escaped, spaces kept."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (``kill``, ``docker stop``, systemd) stops the run as Ctrl+C does: in order, with the summary."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def load_pipeline(args):
    from cvtools.batch import Pipeline

    from cvtools._shared import UsageError

    if args.pipeline is not None and args.pipeline_file is not None:
        raise UsageError("give --pipeline or --pipeline-file, not both.")
    if args.pipeline_file is not None:
        return Pipeline.from_file(args.pipeline_file)
    return Pipeline.parse(args.pipeline or "")


def execute(args, pipeline, *, command: str, copies: int = 1, seed=None, copy_suffix=None) -> int:
    """Run the batch described by ``args`` and print the results; returns the exit code."""
    from cvtools.batch import BatchInterrupted, run as batch_run

    from ._common import output_argument

    output = output_argument(args.output, args.output_option, what="output folder")

    def on_file(event):  # a cvtools.batch.FileEvent
        if event.action == "fail":  # failures are printed even with --quiet, above the progress bar
            _say(command, f"{shown(event.path)}: {_escaped(event.error)}")
        elif event.action == "process" and not args.json:  # dry run
            print(f"would write {', '.join(map(shown, event.outputs))}  <- {shown(event.path)}")
        elif args.verbose and not args.json and event.action in ("done", "skip"):
            verb = "wrote" if event.action == "done" else "up to date"
            print(f"{verb} {', '.join(map(shown, event.outputs))}")

    try:
        with _sigterm_as_interrupt():
            report = batch_run(
                args.input, output, pipeline, workers=args.workers, engine=args.engine,
                scheduler=args.scheduler, recursive=args.recursive, include=args.include,
                exclude=args.exclude, format=args.format, quality=args.quality, overwrite=args.overwrite,
                fail_fast=args.fail_fast, dry_run=args.dry_run, progress=False if args.quiet else None,
                copies=copies, seed=seed, copy_suffix=copy_suffix, fsync=args.fsync,
                fuse=getattr(args, "fuse", True), fingerprint=args.fingerprint, on_file=on_file)
    except BatchInterrupted as exc:  # Ctrl+C or SIGTERM: the summary of what was done, exit 130
        report = exc.report
    # a bad option is a UsageError (batch.run says so for its up-front checks) or a PipelineError, and
    # cli.main prints it in one line (exit 2); anything else raised here is a bug and shows its traceback
    if args.report:
        report.write_json(args.report)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    elif not args.quiet or report.interrupted:
        print(report.summary())
        if report.fused and not args.quiet:
            print(f"({report.fused} JPEG(s) decoded directly at reduced size for the leading resize; "
                  f"--no-fuse to disable)")
    sys.stdout.flush()
    return report.exit_code


def run(args) -> int:
    return execute(args, load_pipeline(args), command="batch", seed=args.seed)
