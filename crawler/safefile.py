"""Opening and writing files in places an attacker may share: never follow a symlink, never write a
special file, never truncate a file we did not create, never write a dataset into itself.

A dataset folder is often shared and the crawl often runs as root from cron, so a symlink or FIFO
placed in it must not redirect a write (`ln -s /etc/passwd data/.parkcorpus.lock`). Every state
file (the lock, the .parkcorpus/ markers) and every `--to` target goes through this module.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from crawler.errors import UnsafePathError, UsageError

#: what a state file may hold at most when read back (the lock JSON, a marker): a bigger file was
#: not written by us
STATE_READ_LIMIT = 1 << 20

_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def kind_of(mode: int) -> str:
    """'a symbolic link', 'a FIFO', ... for an st_mode; 'a regular file' for a regular one."""
    return _KINDS.get(stat.S_IFMT(mode), "a regular file" if stat.S_ISREG(mode) else "a special file")


def _refuse(path, mode: int, what: str) -> UnsafePathError:
    return UnsafePathError(f"{path} is {kind_of(mode)}, not a regular file: parkcorpus will not {what} it; "
                           "remove it and run again")


def check_parents(path: str | os.PathLike, root: str | os.PathLike) -> None:
    """UnsafePathError when a folder between root and path (root excluded) is a symlink or not a folder."""
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    try:
        rel = path.parent.relative_to(root)
    except ValueError:
        raise UnsafePathError(f"{path} is outside {root}") from None
    cur = root
    for part in rel.parts:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return  # the rest is created by the caller, as real folders
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePathError(f"{cur} is {kind_of(st.st_mode)}, not a folder: parkcorpus will not "
                                  "write through it; remove it and run again")


def open_state_file(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = 0o644,
                    root: str | os.PathLike | None = None) -> tuple[int, bool]:
    """(fd, created) of a regular file opened without following symlinks; UnsafePathError otherwise.

    O_TRUNC is honoured only for a file this call creates; an existing file opened for writing must
    have one link (a hard link to a file elsewhere is refused). With root, the folders between root
    and path must be real folders. The descriptor is close-on-exec.
    """
    path = os.fspath(path)
    if root is not None:
        check_parents(path, root)
    writing = (flags & os.O_ACCMODE) != os.O_RDONLY
    what = "write" if writing else "read"
    # O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it
    base = (flags & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC)) | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _refuse(path, st.st_mode, what)
    created = False
    fd = -1
    if st is None and flags & os.O_CREAT:
        try:
            fd = os.open(path, base | os.O_CREAT | os.O_EXCL, mode)
            created = True
        except FileExistsError:
            pass  # created meanwhile: open it as an existing file, with the checks below
    if fd < 0:
        if flags & os.O_EXCL:
            raise FileExistsError(17, "File exists", path)
        try:
            fd = os.open(path, base)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symlink appeared between lstat and open
                raise UnsafePathError(f"{path} is a symbolic link: parkcorpus will not {what} it; "
                                      "remove it and run again") from None
            raise
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise _refuse(path, fst.st_mode, what)
        if writing and not created and fst.st_nlink > 1:
            raise UnsafePathError(f"{path} has {fst.st_nlink} hard links: parkcorpus will not write a file "
                                  "shared with another place; remove it and run again")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, created


def read_state_file(path: str | os.PathLike, limit: int = STATE_READ_LIMIT) -> bytes:
    """The bytes of a small regular state file (no symlink, no FIFO); UnsafePathError otherwise."""
    fd, _ = open_state_file(path, os.O_RDONLY)
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def write_state_file(path: str | os.PathLike, text: str | bytes, root: str | os.PathLike | None = None,
                     mode: int = 0o644) -> Path:
    """Replace path's content atomically (new file, fsync, rename): a symlink or special file at
    path is refused, never followed, and no existing file is truncated in place."""
    path = Path(path)
    if root is not None:
        check_parents(path, root)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _refuse(path, st.st_mode, "write")
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd, _ = open_state_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # rename replaces a directory entry; it never writes through a link
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_target(to: str | os.PathLike, dataset_root: str | os.PathLike | None = None,
                        option: str = "--to", folder: bool = False) -> Path:
    """The resolved path a command may write its output to; UsageError/UnsafePathError otherwise.

    The target must be a regular file (or not exist yet; folder=True: a folder), not a symlink,
    FIFO or device; its parent folder is resolved (a symlinked parent is judged by where it
    points); and it must not lie inside dataset_root (an export into the dataset would
    be read back as part of the corpus). '-' is the caller's business (stdout).
    """
    raw = Path(to)
    try:
        st = os.lstat(raw)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(f"{option} {to}: {exc.strerror}") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePathError(f"{option} {to} is a symbolic link: give the real file name")
        if folder and not stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{option} {to} is {kind_of(st.st_mode)}, not a folder")
        if not folder and not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise UsageError(f"{option} {to} is a folder: pass a file name")
            raise UnsafePathError(f"{option} {to} is {kind_of(st.st_mode)}, not a regular file: "
                                  "write to a file, or to - for stdout")
    target = raw.parent.resolve() / raw.name  # the parent as it really is (symlinks resolved)
    if dataset_root is not None and not str(dataset_root).startswith("s3://"):  # a local file is never in a bucket
        root = Path(dataset_root).resolve()
        if _inside(target, root) or (folder and _inside(root, target)):
            raise UsageError(f"{option} {to} is inside the dataset {dataset_root}: "
                             "write it outside the dataset folder")
    return target
