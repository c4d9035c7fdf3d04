"""The `cvtools` command line: thin subcommands over the Python API.

Each subcommand lives in its own module ``cvtools/cli/_<name>.py`` exposing ``register(subparsers)``,
which adds its parser and sets ``func`` (called with the parsed args; returns the exit code).
Exit codes: 0 ok, 1 some inputs failed, 2 usage error, 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

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
               "1 some inputs failed, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"cvtools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the `cvtools` console script; returns the exit code."""
    from cvtools._shared import CvtoolsError
    from cvtools.batch._registry import PipelineError

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
    except PipelineError as exc:  # a bad pipeline is a usage error
        print(f"cvtools {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (CvtoolsError, FileNotFoundError, ImportError) as exc:
        print(f"cvtools {args.command}: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, CvtoolsError) else 2
    except (ValueError, TypeError, KeyError) as exc:
        print(f"cvtools {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
