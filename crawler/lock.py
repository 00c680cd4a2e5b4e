"""One crawl per dataset: an flock'ed lock file that names its holder, or a lock object on an object store.

The kernel drops an flock when its holder dies (kill -9 included), so a lock file left behind
by a dead process is simply taken over; the PID written in the file is only for the message a
second run prints. The crawl child inherits the descriptor, so the folder stays locked while
either the CLI or its crawl process is alive.

The folder may be shared and the crawl may run as root: the lock file is opened without
following symlinks (crawler.safefile), a symlink or special file there is refused, and the file
is never truncated: each write pads the JSON with spaces to the file's length instead. On an
object store (ObjectStoreLock, below) the lock is an object created with a conditional write; `dataset_lock(location)` picks the right one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import socket
import threading
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
    """True when a process with this PID exists on this machine and has not exited (a zombie has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed crawl process whose parent died too stays a zombie until init reaps it, and a
    # container's init may never do so: it runs no code and holds nothing, so it holds no lock
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rpartition(")")[2].split()[:1]
    except OSError:
        return True
    return state not in (["Z"], ["X"])


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


# ---------------------------------------------------------------------------- object stores
#
# An object store has no flock and no rename, but S3 (since 2024) and S3-compatible stores such as
# SeaweedFS and MinIO honour conditional writes: a PUT with If-None-Match: * creates an object only
# when none exists, and If-Match: <etag> replaces or deletes it only when nobody changed it since.
# The lock is one such object at <prefix>/.parkcorpus.lock. Its holder refreshes it (a heartbeat),
# so a holder that died on another machine is recognised by the age of its last heartbeat, measured
# with the store's own clock (the object's Last-Modified against the Date of the answer), never
# with clocks of two machines.

#: A lock whose last heartbeat is older than this (seconds) belongs to a dead run and is taken over.
STALE_AFTER = 300.0
#: Seconds between heartbeats of a held lock (well below STALE_AFTER, so a slow request is no gap).
HEARTBEAT = 60.0

_UNSUPPORTED = ("NotImplemented", "501", "InvalidArgument")


def _error_code(exc: BaseException) -> str:
    from crawler.fs import client_error_code  # pyarrow stays unimported for local folders

    return client_error_code(exc)


def _refused(exc: BaseException) -> bool:
    """True when a conditional write or delete found the object changed (or already there)."""
    from crawler.fs import PRECONDITION_FAILED

    return _error_code(exc) in PRECONDITION_FAILED


class ObjectStoreLock:
    """Single-writer lock of a dataset on an object store: a lock object made with If-None-Match: *.

    Same interface as FolderLock (acquire/release/note_child/took_over, a with block). A lock held by
    a dead process of this machine, or whose heartbeat is older than stale_after seconds, is taken
    over with a compare-and-swap (If-Match), so two runs that both find it stale cannot both win.
    A store that ignores conditional writes is refused (StorageError naming --no-lock).
    """

    fd = -1  # nothing for a child process to inherit: the heartbeat thread keeps the lock alive

    def __init__(self, location, run_id: str = "", stale_after: float = STALE_AFTER,
                 heartbeat: float | None = None, client=None):
        from crawler import fs

        if location.is_local:
            raise ValueError("ObjectStoreLock is for object stores; use FolderLock for a local folder")
        self.location = location
        self.run_id = run_id
        self.stale_after = float(stale_after)
        self.heartbeat = float(heartbeat if heartbeat is not None else min(HEARTBEAT, max(self.stale_after / 4, 0.5)))
        self.client = client if client is not None else fs._client(location.s3)
        self.bucket = location.bucket
        self.key = location.path(LOCK_NAME).split("/", 1)[1]
        self.uri = location.show(LOCK_NAME)
        self.took_over: dict | None = None
        self.lost = False  # set when another run replaced our lock object (we were judged stale)
        self.holder: dict = {}
        self.etag: str | None = None
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ requests

    def _fail(self, exc: BaseException):
        from crawler import fs

        return fs.storage_error(exc, self.location.s3, self.bucket, self.uri)

    def _put(self, body: dict, **cond) -> str:
        raw = json.dumps(body).encode()
        answer = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=raw,
                                        ContentType="application/json", **cond)
        return answer["ETag"]

    def _read(self) -> tuple[dict | None, str | None, float]:
        """(holder, etag, age in seconds by the store's clock); (None, None, 0) when there is no lock."""
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None, None, 0.0
            raise
        raw = answer["Body"].read()
        try:
            holder = json.loads(raw or b"null")
        except ValueError:
            holder = None
        if not isinstance(holder, dict):
            holder = {"damaged": raw[:100].decode("utf-8", "replace")}
        date = answer["ResponseMetadata"]["HTTPHeaders"].get("date")
        age = 0.0
        if date:
            from email.utils import parsedate_to_datetime

            age = (parsedate_to_datetime(date) - answer["LastModified"]).total_seconds()
        return holder, answer["ETag"], age

    def _is_stale(self, holder: dict, age: float) -> bool:
        if age >= self.stale_after:
            return True
        if holder.get("host") == socket.gethostname():
            # this machine can ask the kernel: the run and its crawl process are both gone
            pids = [p for p in (holder.get("pid"), holder.get("child_pid")) if isinstance(p, int)]
            return bool(pids) and not any(pid_alive(p) for p in pids)
        return False

    # ------------------------------------------------------------------ the lock

    def acquire(self) -> "ObjectStoreLock":
        """Take the lock or raise LockedError naming the holder (StorageError when the store cannot lock)."""
        from botocore.exceptions import BotoCoreError, ClientError

        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.holder = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": self.run_id,
                       "started": now, "stale_after": self.stale_after,
                       # two runs never write the same bytes, so their ETags differ and If-Match tells them apart
                       "token": secrets.token_hex(8)}
        try:
            for _ in range(5):  # the lock may vanish between a refused create and our read
                try:
                    self.etag = self._put(self.holder, IfNoneMatch="*")
                    self._check_conditional()
                    break
                except ClientError as exc:
                    code = _error_code(exc)
                    if code in _UNSUPPORTED:
                        raise self._unsupported() from None
                    if not _refused(exc):
                        raise
                holder, etag, age = self._read()
                if holder is None:
                    continue
                if not self._is_stale(holder, age):
                    raise self._locked(holder)
                try:
                    self.etag = self._put(self.holder, IfMatch=etag)  # compare-and-swap: one taker wins
                except ClientError as exc:
                    if not _refused(exc):
                        raise
                    raise self._locked(self._read()[0] or holder) from None
                self.took_over = holder
                break
            else:
                raise LockedError(f"{self.location.uri} is being locked and unlocked by other runs; try again")
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from None
        self._thread = threading.Thread(target=self._beat, name="parkcorpus-lock-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _check_conditional(self) -> None:
        """Refuse a store that ignores If-None-Match: a second create of the same object must fail."""
        from botocore.exceptions import ClientError

        try:
            self._put(self.holder, IfNoneMatch="*")  # the same bytes: harmless if it succeeds
        except ClientError as exc:
            if _refused(exc):
                return
            if _error_code(exc) not in _UNSUPPORTED:
                raise
        self._delete_quietly()
        raise self._unsupported()

    def _unsupported(self) -> Exception:
        from crawler.errors import StorageError

        return StorageError(
            f"the store at {self.location.s3.shown_endpoint} ignores conditional writes (If-None-Match), so "
            f"{self.location.uri} cannot be locked: run one writer at a time, and pass --no-lock for "
            "cluster jobs that write disjoint files")

    def _locked(self, holder: dict) -> LockedError:
        pid = holder.get("pid", "unknown")
        host = holder.get("host")
        since = holder.get("started", "")
        return LockedError(
            f"{self.location.uri} is locked by another parkcorpus run (PID {pid}"
            + (f" on {host}" if host else "") + (f", started {since}" if since else "")
            + f"); wait for it to finish or stop it (a lock silent for {self.stale_after:g} s is taken over)"
        )

    def _beat(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        while not self._stop.wait(self.heartbeat):
            with self._mutex:
                if self.etag is None:
                    return
                try:
                    self.holder["heartbeat"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    self.etag = self._put(self.holder, IfMatch=self.etag)
                except ClientError as exc:
                    if _refused(exc):
                        self.lost = True  # another run judged us stale and took the lock
                        self.etag = None
                        return
                except BotoCoreError:
                    pass  # a network blip: the next beat tries again, well within stale_after

    def note_child(self, pid: int) -> None:
        """Record the crawl subprocess's PID (this machine's runs check it before a takeover)."""
        from botocore.exceptions import BotoCoreError, ClientError

        with self._mutex:
            self.holder["child_pid"] = pid
            if self.etag is None:
                return
            try:
                self.etag = self._put(self.holder, IfMatch=self.etag)
            except (ClientError, BotoCoreError) as exc:
                if _refused(exc):
                    self.lost, self.etag = True, None
                    return
                raise self._fail(exc) from None

    def _delete_quietly(self) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)
        except Exception:  # noqa: BLE001 - best effort while refusing
            pass

    def release(self) -> None:
        """Stop the heartbeat and delete the lock object, unless another run has replaced it."""
        from botocore.exceptions import BotoCoreError, ClientError

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._mutex:
            etag, self.etag = self.etag, None
        if etag is None:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=etag)
        except ClientError as exc:
            code = _error_code(exc)
            if _refused(exc) or code in ("NoSuchKey", "404"):
                return  # not ours any more
            if code not in _UNSUPPORTED:
                raise self._fail(exc) from None
            # a store without conditional deletes: check, then delete (a takeover in between is
            # only possible after stale_after seconds of silence, which a live holder never has)
            _holder, current, _age = self._read()
            if current == etag:
                self.client.delete_object(Bucket=self.bucket, Key=self.key)
        except BotoCoreError as exc:
            raise self._fail(exc) from None

    def __enter__(self) -> "ObjectStoreLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def path_lock(path, run_id: str = "", **kw):
    """The lock of a dataset root as crawler.store.as_path gives it: a local Path or an ObjectPath."""
    loc = getattr(path, "loc", None)
    return FolderLock(path, run_id=run_id) if loc is None else ObjectStoreLock(loc, run_id=run_id, **kw)


def dataset_lock(location, run_id: str = "", **kw):
    """The lock for a crawler.fs.Location: FolderLock for a local folder, ObjectStoreLock otherwise."""
    if location.is_local:
        return FolderLock(location.root, run_id=run_id)
    return ObjectStoreLock(location, run_id=run_id, **kw)


class NoLock:
    """The lock a run takes with --no-lock: none (cluster jobs writing disjoint files)."""

    fd = -1

    def note_child(self, pid: int) -> None:
        """Nothing to record."""

    def __enter__(self) -> "NoLock":
        return self

    def __exit__(self, *exc) -> None:
        return None
