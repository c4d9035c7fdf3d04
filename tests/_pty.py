"""Run a command with its stderr on a pseudo-terminal (so that progress bars are drawn), for the tests
of what a user sees on a terminal."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios


def run_on_terminal(argv: list[str], *, rows: int = 24, cols: int = 120, timeout: float = 120):
    """``(returncode, stdout bytes, stderr text)`` of ``argv`` whose stderr is a ``rows x cols``
    terminal (a 0x0 one has no room for a bar); stdout is a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out, _ = proc.communicate(timeout=timeout)
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
    return proc.returncode, out, err.decode(errors="replace").replace("\r\n", "\n")
