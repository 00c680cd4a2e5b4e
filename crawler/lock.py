"""One crawl per output folder: an flock'ed lock file that names its holder.

The kernel drops an flock when its holder dies (kill -9 included), so a lock file left behind
by a dead process is simply taken over; the PID written in the file is only for the message a
second run prints. The crawl child inherits the descriptor, so the folder stays locked while
either the CLI or its crawl process is alive.

The folder may be shared and the crawl may run as root: the lock file is opened without
following symlinks (crawler.safefile), a symlink or special file there is refused, and the file
is never truncated: each write pads the JSON with spaces to the file's length instead.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from crawler.errors import LockedError, ParkcorpusError
from crawler.safefile import open_state_file, read_state_file

LOCK_NAME = ".parkcorpus.lock"


def read_holder(out: str | os.PathLike) -> dict | None:
    """What the lock file of `out` says about its (last) holder, or None."""
    try:
        return json.loads(read_state_file(Path(out) / LOCK_NAME, limit=64 * 1024).decode("utf-8").strip() or "null")
    except (OSError, ValueError, ParkcorpusError):
        return None


def pid_alive(pid: int) -> bool:
    """True when a process with this PID exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FolderLock:
    """Context manager holding the lock of one output folder; LockedError when another run has it."""

    def __init__(self, out: str | os.PathLike, run_id: str = ""):
        self.path = Path(out) / LOCK_NAME
        self.run_id = run_id
        self.fd: int = -1
        self.took_over: dict | None = None

    def acquire(self) -> "FolderLock":
        """Take the lock or raise LockedError naming the holder's PID."""
        fd, _created = open_state_file(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = read_holder(self.path.parent) or {}
            pid = holder.get("pid", "unknown")
            since = holder.get("started", "")
            raise LockedError(
                f"{self.path.parent} is locked by another parkcorpus run (PID {pid}"
                + (f", started {since}" if since else "")
                + "); wait for it to finish or stop it"
            ) from None
        self.fd = fd
        previous = self._read()
        if isinstance(previous, dict) and previous.get("pid") and previous.get("pid") != os.getpid():
            # the file outlived its holder (kill -9, power loss): the lock is free, note the takeover
            self.took_over = previous
        self.fd = fd
        self._write({"pid": os.getpid(), "host": socket.gethostname(), "run_id": self.run_id,
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        return self

    def note_child(self, pid: int) -> None:
        """Record the crawl subprocess's PID next to ours (it keeps the lock if we die)."""
        holder = read_holder(self.path.parent) or {}
        holder["child_pid"] = pid
        self._write(holder)

    def _read(self) -> dict | None:
        try:
            return json.loads(os.pread(self.fd, 64 * 1024, 0).decode("utf-8").strip() or "null")
        except (OSError, ValueError):
            return None

    def _write(self, data: dict) -> None:
        # padded, never truncated: what we did not create keeps its length (see the module docstring)
        raw = json.dumps(data).encode()
        size = os.fstat(self.fd).st_size
        os.pwrite(self.fd, raw + b" " * max(0, size - len(raw) - 1) + b"\n", 0)

    def release(self) -> None:
        """Drop the lock (the file stays, saying it was released; an unlocked file means a free folder)."""
        if self.fd >= 0:
            try:
                self._write({"pid": None, "released_by": os.getpid(), "run_id": self.run_id,
                             "released": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = -1

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
