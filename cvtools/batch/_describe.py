"""Descriptions of registered operations for people (`cvtools ops`) and for the docs' op table."""
from __future__ import annotations

from collections.abc import Iterable

from ._pipeline import format_value
from ._registry import Op, list_ops


def describe_op(op: Op) -> dict:
    """A JSON-able description of an operation: name, summary, extra, parameters."""
    return {
        "name": op.name,
        "summary": op.summary,
        "extra": op.extra,
        "params": [{"name": p.name, "type": p.type_name, "required": p.required,
                    "default": None if p.required else p.default, "choices": list(p.choices or []) or None,
                    "doc": p.doc} for p in op.params],
    }


def signature_text(op: Op) -> str:
    """``name:key=default,...`` with required parameters shown as ``key=<type>``."""
    parts = [f"{p.name}=<{p.type_name}>" if p.required else f"{p.name}={format_value(p.default)}"
             for p in op.params]
    return op.name + (":" + ",".join(parts) if parts else "")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ops_markdown(ops: Iterable[Op] | None = None) -> str:
    """The operation table in Markdown (generated from the registry, for docs/batch.md)."""
    ops = list_ops() if ops is None else ops
    lines = ["| operation | parameters (type = default) | description |", "|---|---|---|"]
    for op in ops:
        params = "<br>".join(
            f"`{p.name}`: {_md(p.type_name)}" + ("" if p.required else f" = `{_md(format_value(p.default))}`")
            for p in op.params) or "—"
        desc = _md(op.summary) + (f" *(needs `cvtools[{op.extra}]`)*" if op.extra else "")
        lines.append(f"| `{op.name}` | {params} | {desc} |")
    return "\n".join(lines) + "\n"
