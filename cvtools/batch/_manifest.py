"""The resume manifest: an SQLite file in OUTPUT recording how each output was made.

Only the parent process (the one running :func:`cvtools.batch.run`) opens it, so parallel workers
(local processes or Dask workers on other machines) never write to it. SQLite keeps it on disk and
indexed, so memory does not grow with the number of files, and its journal makes it survive a
``kill -9`` at any moment: an output whose row was not committed yet is simply redone.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .._shared import CvtoolsError

MANIFEST_NAME = ".cvtools-batch.sqlite"
LOCK_NAME = ".cvtools-batch.lock"


class BatchLockedError(CvtoolsError, RuntimeError):
    """Another batch run is writing to the same output folder."""


class Manifest:
    """Read and record ``output -> (input fingerprint, job key, output size)``."""

    def __init__(self, root: Path, *, dry_run: bool = False, durable: bool = False, commit_every: float = 0.0):
        self.root = Path(root)
        self.dry_run = dry_run
        self._commit_every = commit_every
        self._last_commit = time.monotonic()
        self._lock_fd = None
        path = self.root / MANIFEST_NAME
        self.existed = path.exists()
        if dry_run:
            self.db = sqlite3.connect("file::memory:", uri=True)
            if self.existed:
                self.db.execute("ATTACH DATABASE ? AS m", (path.resolve().as_uri() + "?mode=ro",))
                self._table = "m.outputs"
            else:
                self._table = None
        else:
            self._lock()
            self.db = sqlite3.connect(str(path))
            # One writer (this process, holding the lock): exclusive locking lets WAL work without
            # shared memory (also on network filesystems); WAL + NORMAL makes each commit cheap (no
            # fsync) yet durable against a killed process, so every finished output is recorded.
            self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self.db.execute("CREATE TABLE IF NOT EXISTS outputs (out TEXT PRIMARY KEY, src TEXT NOT NULL, "
                            "fingerprint TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, "
                            "written REAL NOT NULL)")
            self.db.commit()
            self._table = "outputs"
        self.db.execute("CREATE TEMP TABLE claims (out TEXT PRIMARY KEY, src TEXT NOT NULL)")

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock, one run at a time is the user's job
            return
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise BatchLockedError(f"another cvtools batch run is writing to {str(self.root)!r}; "
                                   f"wait for it to finish (two runs would race on the same outputs).") from None
        self._lock_fd = fd

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files left by a run that was killed mid-write; returns how many."""
        from ..io import remove_stale_temporary

        removed = 0
        for folder, dirs, files in os.walk(self.root):
            for name in files:
                # only cvtools' own temporaries whose writer is dead; a user's *.tmp is never touched
                removed += remove_stale_temporary(os.path.join(folder, name))
        return removed

    def claim(self, out: str, src: str) -> str | None:
        """Reserve output ``out`` for input ``src`` in this run; returns the other input if taken."""
        row = self.db.execute("SELECT src FROM claims WHERE out = ?", (out,)).fetchone()
        if row is not None:
            return row[0]
        self.db.execute("INSERT INTO claims VALUES (?, ?)", (out, src))
        return None

    def is_done(self, out: str, fingerprint: str, key: str, out_path: Path) -> bool:
        """True when ``out`` exists, complete, made from this input fingerprint and job key."""
        if self._table is None:
            return False
        row = self.db.execute(f"SELECT fingerprint, key, size FROM {self._table} WHERE out = ?",
                              (out,)).fetchone()
        if row is None or row[0] != fingerprint or row[1] != key:
            return False
        try:
            return os.stat(out_path).st_size == row[2]
        except OSError:
            return False

    def record(self, out: str, src: str, fingerprint: str, key: str, size: int) -> None:
        if self.dry_run:
            return
        self.db.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)",
                        (out, src, fingerprint, key, int(size), time.time()))
        self._maybe_commit()

    def forget(self, out: str) -> None:
        if self.dry_run:
            return
        self.db.execute("DELETE FROM outputs WHERE out = ?", (out,))
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        now = time.monotonic()
        if now - self._last_commit >= self._commit_every:
            self.db.commit()
            self._last_commit = now

    def close(self) -> None:
        try:
            self.db.commit()
            self.db.close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
