"""What the per-image commands share: their inputs (files, folders, globs), the batch runner with its
progress bar and failure lines, and the boundary between usage errors and bugs.

Used by ``classify``, ``identify``, ``inpaint`` and ``style``: each writes one module-level task of one
item (a small dict), and :func:`run_items` runs it on :func:`cvtools.batch.map_items` (worker processes,
one progress bar, Ctrl+C), printing ``cvtools CMD: PATH: message`` for an item that fails.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from cvtools._shared import UsageError

_MAGIC = ("*", "?", "[")


# ------------------------------------------------------------------------ options
def device(text: str) -> str:
    """argparse type of ``--device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    t = text.strip().lower()
    if t in ("auto", "cpu", "cuda") or (t.startswith("cuda:") and t[5:].isdigit()):
        return t
    raise argparse.ArgumentTypeError(f"invalid device {text!r}; valid: auto, cpu, cuda, cuda:N")


def add_device(p, what: str) -> None:
    p.add_argument("--device", type=device, default=None, metavar="DEV",
                   help=f"{what}: torch device, auto (default: cuda when torch sees one), cpu, cuda or cuda:N")


def add_runner(p) -> None:
    """``--workers``, ``--json`` and ``--quiet`` as every per-image command spells them."""
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="worker processes for several images (default: all cores, at most one per image; "
                        "0 = in this process)")
    p.add_argument("--json", action="store_true",
                   help="JSON lines on stdout: one object per image (a failed one: {path, error})")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar and no summary line (failures are still printed)")


def check_torch_device(device: str | None, feature: str) -> None:
    """``--device`` checked once, before any work: CUDA asked for where torch sees none is a usage error
    (exit 2, one line), not a failure of every input."""
    if device is None:
        return
    from cvtools._shared import resolve_device

    with usage_errors():
        resolve_device(device, name="--device", feature=feature)


@contextlib.contextmanager
def usage_errors(option: str | None = None):
    """Errors the library raises while it checks the user's options are usage errors (exit 2).

    Wrap only the set-up that validates what the user typed (building a detector from its name,
    loading a model file, parsing options), never the per-image work: a ValueError there is a bug
    or a bad input, not a bad option.
    """
    try:
        yield
    except UsageError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise UsageError(f"{option}: {msg}" if option else str(msg)) from exc


# ------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class Input:
    """One image to process: its path, the relative name its output gets under ``-o DIR``, and an
    error already known (a glob that matched nothing)."""

    path: Path
    rel: Path
    error: str | None = None
    video: bool = False


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    keep = []
    for part in parts:
        if any(c in part for c in _MAGIC):
            break
        keep.append(part)
    return Path(*keep) if keep else Path(".")


def collect(inputs, *, videos: bool = False) -> list[Input]:
    """Every image (and with ``videos``, video file) named by ``inputs``: files as given, folders
    searched recursively (sorted, hidden files skipped), quoted globs (``"photos/**/*.jpg"``) expanded
    here. A folder's files keep their path below it (below ``FOLDER/`` itself when several inputs are
    given); a file keeps its name; a glob's matches their path below its fixed leading folders. A
    missing file stays an item, and fails when it is read; a glob that matches nothing is an item with
    an error."""
    from cvtools.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, iter_images

    media = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS if videos else IMAGE_EXTENSIONS

    def item(p: Path, rel: Path) -> Input:
        return Input(p, rel, video=videos and p.suffix.lower() in VIDEO_EXTENSIONS)

    items = []
    for raw in map(str, inputs):
        path = Path(raw)
        if path.is_dir():
            for p in iter_images(path, recursive=True, extensions=media):
                rel = p.relative_to(path)
                items.append(item(p, Path(path.resolve().name) / rel if len(inputs) > 1 else rel))
        elif not path.exists() and any(c in raw for c in _MAGIC):
            root = _glob_root(raw)
            found = sorted(Path(m) for m in glob.glob(raw, recursive=True)
                           if Path(m).is_file() and Path(m).suffix.lower() in media)
            if not found:
                what = "image or video" if videos else "image"
                items.append(Input(path, Path(path.name), f"no {what} matches the pattern {raw!r}"))
            items.extend(item(p, p.relative_to(root)) for p in found)
        else:
            items.append(item(path, Path(path.name)))
    return items


def single_file(inputs) -> bool:
    """True when ``inputs`` is one file (not a folder, not a glob): its output is a file, not a folder."""
    if len(inputs) != 1:
        return False
    path = Path(inputs[0])
    return not path.is_dir() and (path.exists() or not any(c in str(inputs[0]) for c in _MAGIC))


def output_paths(items, out_dir, *, suffix: str | None = None) -> list[Path]:
    """``out_dir / item.rel`` for every item (with ``suffix`` as the extension when given); a usage
    error when two inputs would write the same output or an output would land inside an input folder
    (a second run would read it back as an input)."""
    out_dir = Path(out_dir)
    outs, seen = [], {}
    for item in items:
        dst = out_dir / (item.rel.with_suffix(suffix) if suffix else item.rel)
        if dst in seen:
            raise UsageError(f"{seen[dst]} and {item.path} would both be written to {dst}; "
                             "give them as separate runs or rename one.")
        seen[dst] = item.path
        outs.append(dst)
    return outs


def check_output_dir(inputs, out_dir) -> None:
    """A usage error when ``-o`` cannot be the folder of several outputs: it names an image file
    (``-o out.png`` with several inputs is a slip, not a folder wanted), or it lies inside an input folder
    (a second run would read the outputs as inputs)."""
    from cvtools.io import IMAGE_EXTENSIONS

    if Path(out_dir).suffix.lower() in IMAGE_EXTENSIONS or Path(out_dir).is_file():
        raise UsageError(f"several images are written to a folder: -o DIR; got the file name {out_dir}.")
    out = Path(out_dir).resolve()
    for raw in inputs:
        p = Path(raw)
        if p.is_dir() and (out == p.resolve() or p.resolve() in out.parents):
            raise UsageError(f"-o {out_dir} is inside the input folder {raw}; a second run would read the "
                             "outputs as inputs. Choose a folder outside it.")


# ------------------------------------------------------------------------ running
@dataclass(frozen=True)
class Fatal:
    """What a task returns for an error that would fail every item (a missing optional package):
    the run stops and the parent raises it."""

    kind: str
    message: str


def task(fn):
    """Decorate a module-level task of one item for :func:`run_items`: an item that carries an
    ``error`` (a glob that matched nothing) fails with it, and an ImportError (a missing extra) or a
    UsageError stops the whole run instead of failing every item with the same message."""
    import functools

    @functools.wraps(fn)
    def wrapper(item):
        if item.get("error"):
            raise FileNotFoundError(item["error"])
        try:
            return fn(item)
        except ImportError as exc:
            return Fatal("ImportError", str(exc))
        except UsageError as exc:
            return Fatal("UsageError", str(exc))

    return wrapper


def shown(text) -> str:
    """A path or message for one line of output (a name holding a newline cannot forge a line)."""
    text = str(text)
    return text if text.isprintable() else repr(text)


def say(command: str, message: str) -> None:
    """One line on stderr, above the progress bar when one is shown."""
    from tqdm import tqdm

    tqdm.write(f"cvtools {command}: {message}", file=sys.stderr)


class run_items:
    """Run ``task(item)`` for every item on the batch runner; iterating yields ``(item, result)`` for each
    item that succeeded, in order, and :attr:`failed` counts the others.

    A failed item is printed (``cvtools CMD: PATH: message``, above the bar) and, with ``json``, also
    given its JSON line ``{"path", "error"}`` on stdout; a :class:`Fatal` result stops the run and is
    raised. One item runs in this process (no worker start-up) unless ``workers`` says otherwise;
    several show one progress bar unless ``quiet``.
    """

    def __init__(self, task, items, *, command: str, workers: int | None = None, quiet: bool = False,
                 json: bool = False, desc: str | None = None):
        self.items = list(items)
        if workers is not None and workers < 0:
            raise UsageError(f"--workers must be >= 0 (0: in this process); got {workers}.")
        self.task, self.command, self.json, self.desc = task, command, json, desc or command
        self.workers = 0 if workers is None and len(self.items) == 1 else workers
        self.bar = False if quiet or len(self.items) < 2 else None
        self.failed = 0

    def __iter__(self):
        from cvtools.batch import map_items

        for item, result, error in map_items(self.task, self.items, workers=self.workers, progress=self.bar,
                                             desc=self.desc):
            if isinstance(result, Fatal):
                raise (ImportError if result.kind == "ImportError" else UsageError)(result.message)
            if error is None:
                yield item, result
                continue
            self.failed += 1
            say(self.command, f"{shown(item['path'])}: {error}")
            if self.json:
                emit({"path": item["path"], "error": error})


def finish(command: str, n: int, failed: int, *, quiet: bool, noun: str = "image") -> int:
    """The summary line on stderr (several items, not quiet) and the exit code."""
    if not quiet and n > 1:
        print(f"cvtools {command}: {n} {noun}s, {n - failed} ok, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


# ------------------------------------------------------------------------ JSON
def jsonable(value):
    """``value`` with NaN/inf as None and numpy scalars/arrays as Python values: strict JSON."""
    import numpy as np

    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(record: dict) -> None:
    """One JSON line on stdout."""
    print(json.dumps(jsonable(record), ensure_ascii=False))
    sys.stdout.flush()


def output_argument(positional: str | None, option: str | None, *, what: str = "output") -> str:
    """The output path of a command that takes it as a positional argument (``cvtools batch IN OUT``)
    or as ``-o/--output`` (the vocabulary of every command): exactly one of them."""
    if positional is not None and option is not None:
        raise UsageError(f"the {what} is given twice ({positional!r} and -o {option!r}); give one of them.")
    if positional is None and option is None:
        raise UsageError(f"no {what}: give it after the input, or as -o/--output.")
    return positional if positional is not None else option
