"""cvtools.write under faults: kill -9 mid-write (real processes), stale temporaries, permissions,
symbolic links, read-only folders and long names."""
from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import cvtools
from cvtools import ImageWriteError
from cvtools.io import is_cvtools_temporary, remove_stale_temporaries, remove_stale_temporary

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions, flock and signals")


def _img(seed=0, shape=(40, 50, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- permissions, links, special targets --------------------------------------------------------

@posix_only
def test_overwrite_keeps_permission_bits(tmp_path):
    path = tmp_path / "private.png"
    cvtools.write(path, _img(1))
    os.chmod(path, 0o600)
    cvtools.write(path, _img(2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    np.testing.assert_array_equal(cvtools.read(path), _img(2))


@posix_only
def test_new_file_gets_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        cvtools.write(tmp_path / "new.png", _img())
    finally:
        os.umask(old)
    # the umask is read once at import (os.umask is process-wide and not thread-safe to query)
    expected = 0o666 & ~cvtools.io._write._UMASK
    assert stat.S_IMODE((tmp_path / "new.png").stat().st_mode) == expected


@posix_only
def test_symlink_is_written_through(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "photo.png"
    cvtools.write(target, _img(1))
    os.chmod(target, 0o640)
    link = tmp_path / "link.png"
    link.symlink_to(target)
    cvtools.write(link, _img(2))
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(cvtools.read(target), _img(2))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _temps(tmp_path) == [] and _temps(real_dir) == []


@posix_only
def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "made.png")
    cvtools.write(link, _img())
    assert link.is_symlink() and (tmp_path / "made.png").is_file()


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores write permissions")
def test_read_only_existing_file_refused(tmp_path):
    path = tmp_path / "keep.png"
    cvtools.write(path, _img(1))
    os.chmod(path, 0o444)
    with pytest.raises(ImageWriteError, match=r"keep.png.*read-only") as info:
        cvtools.write(path, _img(2))
    assert info.value.errno == errno.EACCES
    np.testing.assert_array_equal(cvtools.read(path), _img(1))


def test_read_only_existing_file_refused_whoever_runs(tmp_path, monkeypatch):
    # as the test above, also where root runs the tests (os.access is what the kernel would answer)
    path = tmp_path / "keep.png"
    cvtools.write(path, _img(1))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if os.fspath(p) == str(path) and mode == os.W_OK
                        else real_access(p, mode, **k))
    with pytest.raises(ImageWriteError, match=r"keep.png.*read-only") as info:
        cvtools.write(path, _img(2))
    assert info.value.errno == errno.EACCES
    monkeypatch.undo()
    np.testing.assert_array_equal(cvtools.read(path), _img(1))


@posix_only
def test_read_only_folder_names_the_target(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        if os.access(folder, os.W_OK):  # root: simulate the refusal the kernel would give anyone else
            pytest.skip("running as root: a read-only folder is writable")
        with pytest.raises(ImageWriteError, match=r"ro/x.png'.*permission denied.*not writable") as info:
            cvtools.write(folder / "x.png", _img())
        assert isinstance(info.value, OSError) and info.value.errno == errno.EACCES
        assert ".tmp" not in str(info.value)
    finally:
        os.chmod(folder, 0o755)


def test_permission_error_from_the_system_becomes_image_write_error(tmp_path, monkeypatch):
    # the same path as a read-only folder, for runs as root: the temporary file cannot be created
    real_open = os.open

    def refuse(path, flags, *a, **k):
        if is_cvtools_temporary(path):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ImageWriteError, match=r"x.png'.*permission denied") as info:
        cvtools.write(tmp_path / "x.png", _img())
    assert info.value.errno == errno.EACCES and ".cvtools-" not in str(info.value)


def test_directory_and_fifo_targets_refused(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageWriteError, match="d.png.*is a directory"):
        cvtools.write(tmp_path / "d.png", _img())
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "f.png")
        with pytest.raises(ImageWriteError, match="f.png.*not a regular file"):
            cvtools.write(tmp_path / "f.png", _img())
        assert stat.S_ISFIFO(os.lstat(tmp_path / "f.png").st_mode)


def test_target_name_at_the_file_system_limit(tmp_path):
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    path = tmp_path / ("n" * (name_max - 4) + ".png")
    cvtools.write(path, _img())
    np.testing.assert_array_equal(cvtools.read(path), _img())
    assert _temps(tmp_path) == []


def test_temporary_name_is_short_and_recognised(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    cvtools.write(tmp_path / "a.png", _img())
    assert len(seen) == 1 and is_cvtools_temporary(seen[0]) and len(seen[0]) == 21
    for user_file in [".thesis.backup01.tmp", ".a.png.ab12cd34.tmp", "cvtools-ab12cd34.tmp",
                      ".cvtools-ab12cd34.tmp.png", ".cvtools-AB12CD34.tmp", ".cvtools-ab12cd3.tmp"]:
        assert not is_cvtools_temporary(user_file), user_file


# --- kill -9 during writes, and stale temporaries -----------------------------------------------

_HOLDER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import cvtools
    real_fsync = os.fsync
    def stall(fd):  # the data is in the temporary file; stop before the rename
        print("ready", flush=True)
        time.sleep(600)
    os.fsync = stall
    cvtools.write(sys.argv[1], np.full((64, 64, 3), 7, np.uint8))
""")

_LOOP = textwrap.dedent("""
    import sys
    import numpy as np
    import cvtools
    rng = np.random.default_rng(int(sys.argv[2]))
    big = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
    print("ready", flush=True)
    i = 0
    while True:
        big[0, 0, 0] = i % 256
        cvtools.write(sys.argv[1], big, fsync=False)
        i += 1
""")


def _start(code, *args):
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@posix_only
def test_live_writer_temporary_kept_dead_writer_temporary_removed(tmp_path):
    target = tmp_path / "slow.png"
    holder = _start(_HOLDER, target)
    try:
        (tmp_path / ".thesis.backup01.tmp").write_bytes(b"user data")
        live = [p for p in tmp_path.iterdir() if is_cvtools_temporary(p)]
        assert len(live) == 1
        # another process writing into the folder must not take a live writer's file
        assert remove_stale_temporaries(tmp_path) == 0
        assert live[0].exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert live[0].exists()  # a kill -9 leaves it behind ...
    assert not target.exists()
    cvtools.io._write._swept.clear()  # as in a fresh process
    cvtools.write(tmp_path / "other.png", _img())  # ... and the next write into the folder removes it
    assert not live[0].exists()
    assert (tmp_path / ".thesis.backup01.tmp").read_bytes() == b"user data"


@posix_only
def test_remove_stale_temporary_leaves_links_and_other_names(tmp_path):
    victim = tmp_path / "precious.png"
    victim.write_bytes(b"x")
    (tmp_path / ".cvtools-aaaaaaaa.tmp").symlink_to(victim)
    (tmp_path / ".cvtools-bbbbbbbb.tmp").mkdir()
    (tmp_path / ".x.png.abcdefgh.tmp").write_bytes(b"y")
    (tmp_path / ".cvtools-cccccccc.tmp").write_bytes(b"stale")
    assert remove_stale_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".cvtools-aaaaaaaa.tmp", ".cvtools-bbbbbbbb.tmp", ".x.png.abcdefgh.tmp", "precious.png"]
    assert victim.read_bytes() == b"x"
    assert remove_stale_temporary(tmp_path / "precious.png") is False


@posix_only
def test_kill_9_during_writes_never_leaves_a_partial_file(tmp_path):
    """15 kill -9s at random moments of a loop of writes: the target is always a complete image
    (old or new), and the temporaries left are cvtools' own and are cleaned by the next write."""
    target = tmp_path / "out.png"
    rng = np.random.default_rng(5)
    left = 0
    for attempt in range(15):
        proc = _start(_LOOP, target, attempt)
        time.sleep(float(rng.uniform(0.05, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if target.exists():
            img = cvtools.read(target)
            assert img.shape == (600, 800, 3)
        stray = _temps(tmp_path)
        assert all(is_cvtools_temporary(n) for n in stray), stray
        left += len(stray)
        remove_stale_temporaries(tmp_path)  # what the next process's first write does
        assert _temps(tmp_path) == []
    assert target.exists()
    print(f"{left} of 15 kills left a temporary file")


_RECORDER = textwrap.dedent("""
    import sys
    import numpy as np
    from cvtools.io import VideoWriter
    out = VideoWriter(sys.argv[1], fps=10, size=(32, 24))
    out.write(np.zeros((24, 32, 3), np.uint8))
    print("ready", flush=True)
    import time
    time.sleep(600)
""")


@posix_only
def test_killed_video_recording_temporary_cleaned_after_its_writer_dies(tmp_path):
    recorder = _start(_RECORDER, tmp_path / "clip.avi")
    try:
        live = [p for p in tmp_path.iterdir() if is_cvtools_temporary(p)]
        assert len(live) == 1 and live[0].name.endswith(".tmp.avi")
        assert remove_stale_temporaries(tmp_path) == 0  # still recording
    finally:
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
        recorder.stdout.close()
    assert not (tmp_path / "clip.avi").exists()
    assert remove_stale_temporaries(tmp_path) == 1
    assert list(tmp_path.iterdir()) == []
