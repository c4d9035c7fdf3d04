"""The `cvtools` command line: thin subcommands over the Python API.

Each subcommand lives in its own module ``cvtools/cli/_<name>.py`` exposing ``register(subparsers)``,
which adds its parser and sets ``func`` (called with the parsed args; returns the exit code).
Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.
A command raises :class:`cvtools._shared.UsageError` for a bad argument; any other exception that is
not a cvtools error is a bug and is shown with its traceback (``--debug`` shows it for every error).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

#: Subcommand modules, in the order `cvtools --help` lists them.
COMMANDS = [
    "cvtools.cli._info",
    "cvtools.cli._ops",
    "cvtools.cli._batch",
    "cvtools.cli._augment",
    "cvtools.cli._detect",
    "cvtools.cli._convert",
    "cvtools.cli._evaluate",
    "cvtools.cli._train",
    "cvtools.cli._classify",
    "cvtools.cli._identify",
    "cvtools.cli._inpaint",
    "cvtools.cli._style",
    "cvtools.cli._demo",
]


def build_parser() -> argparse.ArgumentParser:
    from cvtools import __version__

    parser = argparse.ArgumentParser(
        prog="cvtools",
        description="cvtools: computer vision from the command line. Batch-process folders, detect, "
                    "recognise and identify, inpaint and stylise, or run the live demo.",
        epilog="Run `cvtools COMMAND --help` for the options of each command. Exit codes: 0 ok, "
               "1 some inputs failed (or an internal error, shown with its traceback), 2 usage error, "
               "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"cvtools {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():  # `cvtools CMD ... --debug` works too
        if "--debug" not in command._option_string_actions:
            command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                 help="show the traceback of every error")
    return parser


def _fail(args, exc: BaseException, code: int, *, bug: bool = False) -> int:
    """Print the one-line message of ``exc`` (with its traceback for a bug or under --debug)."""
    if bug or getattr(args, "debug", False):
        traceback.print_exception(exc, file=sys.stderr)
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    if bug:
        print(f"cvtools {args.command}: internal error: {type(exc).__name__}: {msg}\n"
              "This is a bug in cvtools (run again with --debug for the full traceback of any error); "
              "please report it with the traceback above.", file=sys.stderr)
    else:
        print(f"cvtools {args.command}: error: {msg}", file=sys.stderr)
    return code


def main(argv=None) -> int:
    """Entry point of the `cvtools` console script; returns the exit code.

    Usage errors (:class:`cvtools._shared.UsageError`, a bad pipeline, a missing input file or
    optional package) print one line and return 2; other cvtools errors (an unreadable image, ...)
    print one line and return 1; anything else is a bug: its traceback is printed and 1 returned.
    ``--debug`` prints the traceback of every error.
    """
    from cvtools._shared import CvtoolsError, UsageError
    from cvtools.batch import PipelineError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print("cvtools: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cvtools ops | head`: the reader left; not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except (UsageError, PipelineError, FileNotFoundError, ImportError) as exc:
        return _fail(args, exc, 2)
    except CvtoolsError as exc:
        return _fail(args, exc, 1)
    except Exception as exc:  # a bug: never dressed up as a usage error
        return _fail(args, exc, 1, bug=True)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
