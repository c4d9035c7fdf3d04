"""`cvtools ops [NAME]`: list the operations a pipeline can use, or show one in full."""
from __future__ import annotations

import json
import sys
import textwrap


def register(sub) -> None:
    p = sub.add_parser("ops", help="list the operations pipelines can use (or show one)",
                       description="List every registered operation with its parameters (type = default) "
                                   "and a one-line description, or show one operation in full. The list "
                                   "is generated from the functions themselves.")
    p.add_argument("name", nargs="?", metavar="NAME", help="show this operation in full")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON lines: one object per operation")
    fmt.add_argument("--quiet", "-q", action="store_true", help="only the operation names, one per line")
    fmt.add_argument("--markdown", action="store_true", help="print the Markdown table used in docs/batch.md")
    p.add_argument("--update", metavar="FILE", default=None,
                   help="with --markdown: replace the table between the '<!-- ops-table:start -->' and "
                        "'<!-- ops-table:end -->' markers of FILE (e.g. docs/batch.md) instead of printing it")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        return _run(args)
    except BrokenPipeError:  # `cvtools ops | head`: the reader went away, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args) -> int:
    from cvtools.batch import describe_op, format_value, get_op, list_ops, ops_markdown, signature_text

    if args.name is not None:
        from cvtools._shared import UsageError

        try:
            ops = [get_op(args.name)]
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
    else:
        ops = list_ops()
    if args.json:
        for op in ops:
            print(json.dumps(describe_op(op), default=repr))
        return 0
    if args.quiet:
        print("\n".join(op.name for op in ops))
        return 0
    if args.markdown:
        table = ops_markdown(ops)
        if args.update:
            return _update(args.update, table)
        sys.stdout.write(table)
        return 0
    if args.name is None:
        width = max(len(op.name) for op in ops)
        for op in ops:
            extra = f" [needs cvtools[{op.extra}]]" if op.extra else ""
            print(f"{op.name:<{width}}  {op.summary.replace('``', '')}{extra}")
            if op.params:
                params = ", ".join(f"{p.name}: {p.type_name}" + ("" if p.required else f" = {format_value(p.default)}")
                                   for p in op.params)
                for line in textwrap.wrap(params, 100 - width - 4):
                    print(" " * (width + 4) + line)
        print(f"\n{len(ops)} operations. `cvtools ops NAME` shows one in full. Pipeline syntax: "
              f'"resize:scale=0.5 | gaussian:sigma=1 | equalize".')
        return 0
    op = ops[0]
    print(f"{op.name}: {op.summary.replace('``', '')}")
    if op.extra:
        print(f"needs: pip install \"cvtools[{op.extra}]\"")
    print(f"\nusage in a pipeline:  {signature_text(op)}")
    if op.params:
        print("\nparameters:")
        for p in op.params:
            default = "required" if p.required else f"default {format_value(p.default)}"
            print(f"  {p.name} : {p.type_name}  ({default})")
            for line in textwrap.wrap(p.doc.replace("``", ""), 92):
                print(f"      {line}")
    return 0


START, END = "<!-- ops-table:start -->", "<!-- ops-table:end -->"


def _update(path: str, table: str) -> int:
    from pathlib import Path

    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"cvtools ops: error: {path!r} has no {START} ... {END} markers.", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    file.write_text(f"{head}{START}\n{table}{END}{tail}", encoding="utf-8")
    print(f"updated the operation table in {path}")
    return 0
