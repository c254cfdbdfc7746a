"""What every out-of-core shuffle job shares: the memory budget and its
units, the progress bar, whole reads and writes at an offset, the lock that
tells other runs a job is alive, the boot a job's files belong to, and
SIGTERM unwinding like SIGINT so that a stopped job deletes its files."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import signal
import stat
import sys
import threading
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .._core.checks import check_int

__all__ = ["parse_size", "default_memory", "ProgressBar", "read_exactly", "write_all", "start_writeback", "release",
           "source_stat", "claim", "boot_id", "terminate_cleanly"]

_SIZE = re.compile(r"\s*(\d[\d_]*)\s*([KMGT]?)(i?B)?\s*", re.IGNORECASE)


def parse_size(text, name="size"):
    """Bytes in a size: an int, or a string of digits with an optional K, M,
    G or T suffix (powers of 1024; a trailing 'B' or 'iB' is accepted), such
    as '4096', '64K', '512MiB', '2G'."""
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        return check_int(text, name, 1 << 62)
    match = _SIZE.fullmatch(str(text))
    if not match:
        raise ValueError(f"{name} is not a byte count: {text!r} (use e.g. 4096, 64K, 100M, 2G)")
    return int(match.group(1).replace("_", "")) * 1024 ** " KMGT".index(match.group(2).upper() or " ")


def default_memory():
    """A quarter of the machine's memory, at least 64 MiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 4 << 30
    return max(64 << 20, total // 4)


class ProgressBar(tqdm):
    """shuffle_file's progress bar on stderr (tqdm, in bytes): one line per
    pass label, nothing at all when disabled."""

    def __init__(self, total, enabled):
        super().__init__(total=total, disable=not enabled, file=sys.stderr, unit="B", unit_scale=True,
                         unit_divisor=1024, desc="shuffle-file", mininterval=0.2, leave=True,
                         bar_format="{desc} [{bar:30}] {percentage:5.1f}% {rate_fmt}")

    def resume(self, nbytes, where):
        """Count the work an interrupted run did (not in the rate), and say so."""
        if not self.disable:
            self.write(f"shuffle-file: resuming an interrupted run at {where}", file=sys.stderr)
            self.n = self.last_print_n = self.initial = nbytes  # tqdm's rate counts from `initial`

    def advance(self, nbytes, label):
        if not self.disable:
            desc = f"shuffle-file {label}"
            changed = desc != self.desc.rstrip(": ")
            self.set_description(desc, refresh=False)
            self.update(nbytes)
            if changed:  # each pass shows at least once, however fast
                self.refresh()


def read_exactly(f, offset, buf):
    view = memoryview(buf).cast("B")
    got = 0
    while got < len(view):
        n = os.preadv(f, [view[got:]], offset + got)
        if n == 0:
            raise OSError(f"unexpected end of file at byte {offset + got}")
        got += n


def write_all(f, offset, buf):
    view = memoryview(buf).cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(f, view[done:], offset + done)


def start_writeback(fd, offset, nbytes):
    """Let the kernel write finished output to disk while work goes on, so
    the final fsync has little left to do (and the page cache is spared)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, nbytes, os.POSIX_FADV_DONTNEED)


_PUNCH_HOLE = 0x01 | 0x02  # Linux's FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE


def release(fd, offset, nbytes):
    """Give back the disk space and page cache of bytes of a work file that
    are no longer needed (Linux: a hole; elsewhere, or on a filesystem
    without holes, nothing), so that what is written next reuses them."""
    if nbytes > 0 and _libc is not None:
        _libc.fallocate(fd, _PUNCH_HOLE, ctypes.c_int64(offset), ctypes.c_int64(nbytes))


def _load_libc():
    if not sys.platform.startswith("linux"):  # pragma: no cover - Linux only
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    return libc


_libc = _load_libc()


def source_stat(src):
    """os.stat of the source, which must be a regular file."""
    try:
        st = src.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"source file not found: {src}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"source {src} is a directory, not a file of records")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a character device" if stat.S_ISCHR(st.st_mode)
                else "a block device" if stat.S_ISBLK(st.st_mode) else "a socket")
        raise ValueError(f"source {src} is not a regular file ({kind})")
    return st


def claim(path, dst):
    """Open (or create) the data file at `path` and lock it: the lock tells
    other runs that the job is alive (the kernel drops it if the process is
    killed)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BlockingIOError(f"another run is shuffling the same file into {dst} ({path} is locked)") from None
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        os.close(fd)  # renamed or deleted by its owner before we locked it: open the new one


def boot_id():
    """This boot's identity (Linux), or None where it is unknown."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # pragma: no cover - not Linux
        return None


class _Terminated(BaseException):
    """SIGTERM, raised where shuffle_file was, so that it cleans up."""


@contextlib.contextmanager
def terminate_cleanly():
    """Make SIGTERM (when its default action, exit at once, is in force)
    unwind the body like SIGINT does, then end the process by the signal."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def terminated(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
        raise  # not reached: the default action ends the process
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


