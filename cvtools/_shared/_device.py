"""The one torch device resolver: ``device="auto" | "cpu" | "cuda" | "cuda:N"`` on every torch path."""
from __future__ import annotations

import re

DEVICES = ("auto", "cpu", "cuda", "cuda:N")


def check_device(device, *, name: str = "device") -> str:
    """Validate a device string without importing torch; returns it lower-cased (None -> "auto").

    >>> check_device("CPU"), check_device(None)
    ('cpu', 'auto')
    """
    if device is None:
        return "auto"
    if isinstance(device, str):
        d = device.strip().lower()
        if d in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", d):
            return d
    raise ValueError(f"`{name}` must be one of {', '.join(map(repr, DEVICES))}; got {device!r}.")


def resolve_device(device="auto", *, name: str = "device", feature: str = "cvtools"):
    """The ``torch.device`` for ``device``: "auto" is CUDA when torch sees a GPU, else the CPU.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or None
        None means "auto".
    name : str
        The argument's name in error messages (``"device"``, ``"--device"``).
    feature : str
        What needs torch, for the ImportError's pip line.

    Raises
    ------
    ValueError
        An invalid value (the message lists the valid ones), or "cuda" when torch sees no CUDA device.
    ImportError
        torch is not installed.

    Examples
    --------
    >>> resolve_device("cpu").type  # doctest: +SKIP
    'cpu'
    """
    d = check_device(device, name=name)
    from ._optional import require

    torch = require("torch", feature=feature)
    if d == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if d.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"`{name}`={device!r} asks for CUDA, but torch sees no CUDA device here "
                             f"(torch {torch.__version__}); use {name}='cpu' or 'auto'.")
        index = int(d.split(":")[1]) if ":" in d else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"`{name}`={device!r}: torch sees {torch.cuda.device_count()} CUDA device(s).")
    return torch.device(d)
