"""Atomic file operations of the dataset: fsync, write-then-rename, link-never-clobber, exchange.

Every Parquet file is written complete under ``.tmp/`` and then linked into place with one
atomic rename, so a reader (or a crawl killed at any moment) never sees a partial file.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import os
import secrets
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.errors import DISK_FULL_ERRNOS, is_disk_full  # noqa: F401  (re-exported by crawler.store)
from crawler.fs import _fsync_dir  # noqa: F401  (one definition; the store modules import it from here)

#: Rows per Parquet row group: a month of one subsite (a few hundred posts of ~3 KB) fits in one,
#: compacted partitions stay readable without loading more than ~50 MB of text per group.
ROW_GROUP_ROWS = 16_384
COMPRESSION = "zstd"




def _atomic_write_text(target: Path, text: str, tmpdir: Path) -> None:
    if isinstance(target, ObjectPath):  # one PUT replaces the object: old or new, never a mix
        target.write_text(text)
        return
    tmpdir.mkdir(parents=True, exist_ok=True)
    tmp = tmpdir / f"{target.name}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


# --------------------------------------------------------------------------- run manifests


def _write_parquet(table: pa.Table, tmpdir: Path, target: Path, row_group_size: int | None = None) -> Path:
    """Write table complete under tmpdir, then link it to target without replacing anything.

    Returns the final path, which gets a bumped counter if target already exists (a re-used
    run id, a second writer): a file is never overwritten.
    """
    if isinstance(target, ObjectPath):
        return _put_parquet(table, target, row_group_size)
    tmpdir.mkdir(parents=True, exist_ok=True)
    tmp = tmpdir / f"{target.name}.{secrets.token_hex(4)}.tmp"
    pq.write_table(table, tmp, compression=COMPRESSION, row_group_size=row_group_size or ROW_GROUP_ROWS,
                   use_dictionary=True, write_statistics=True)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    stem, _, n = target.stem.rpartition("-")
    final = target
    bump = 0
    while True:
        try:
            os.link(tmp, final)  # atomic and never clobbers: fails if final exists
            os.unlink(tmp)
            break
        except FileExistsError:
            bump += 1
            final = target.with_name(f"{stem}-{n}.{bump}.parquet")
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # filesystems without hard links: check-then-rename (same result for one writer)
            while final.exists():
                bump += 1
                final = target.with_name(f"{stem}-{n}.{bump}.parquet")
            os.replace(tmp, final)
            break
    _fsync_dir(final.parent)
    return final



_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))



def _read_files(files: list[Path], schema: pa.Schema, threads: bool = True) -> pa.Table:
    tables = []
    for f in files:
        source, fs = parquet_source(f)
        if threads:
            t = pq.read_table(source, filesystem=fs)
        else:  # without the dataset machinery and its thread pools: faster and leaner for small files
            with pq.ParquetFile(f.loc.open_input(f.rel) if fs else f) as pf:
                t = pf.read(use_threads=False)
        missing = [fld for fld in schema if fld.name not in t.column_names]
        for fld in missing:  # files from before a column was added
            t = t.append_column(fld.name, pa.nulls(t.num_rows, fld.type))
        tables.append(t.select(schema.names).cast(schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()


# --------------------------------------------------------------------------- object stores


class ObjectPath:
    """A pathlib-like view of one path under an object-store Location (crawler.fs).

    The store's modules were written against local Paths; this class answers the few Path
    operations they use (``/``, name, parent, exists, iterdir, glob, read_text, unlink ...)
    with requests to the store, so one code path serves both. The operations that only make
    sense locally (rename, hard link, fsync) are not here: the helpers of this module branch on
    ``isinstance(path, ObjectPath)`` instead (one PUT per complete file, never an overwrite).
    ``str()`` is the s3:// URI, so passing it on as ``--out`` resolves to the same place.
    """

    __slots__ = ("loc", "rel", "_is_dir")

    def __init__(self, loc: Any, rel: str = "", is_dir: bool | None = None):
        self.loc = loc
        self.rel = rel.strip("/")
        self._is_dir = is_dir

    # naming --------------------------------------------------------------------------------
    def __truediv__(self, other: str | os.PathLike) -> ObjectPath:
        other = os.fspath(other).strip("/")
        return ObjectPath(self.loc, f"{self.rel}/{other}" if self.rel else other)

    def __str__(self) -> str:
        return self.loc.show(self.rel)

    def __repr__(self) -> str:
        return f"ObjectPath({str(self)!r})"

    def _key(self) -> tuple[str, str]:
        return (self.loc.uri, self.rel)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: ObjectPath) -> bool:
        return self._key() < other._key()

    @property
    def name(self) -> str:
        return self.rel.rpartition("/")[2]

    @property
    def stem(self) -> str:
        name = self.name
        return name.rpartition(".")[0] if "." in name.lstrip(".") else name

    @property
    def suffix(self) -> str:
        name = self.name
        return "." + name.rpartition(".")[2] if "." in name.lstrip(".") else ""

    @property
    def parent(self) -> ObjectPath:
        return ObjectPath(self.loc, self.rel.rpartition("/")[0])

    @property
    def parents(self) -> list[ObjectPath]:
        out, p = [], self
        while p.rel:
            p = p.parent
            out.append(p)
        return out

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.rel.split("/")) if self.rel else ()

    def with_name(self, name: str) -> ObjectPath:
        return self.parent / name

    def relative_to(self, other: ObjectPath) -> PurePosixPath:
        if other.rel and not (self.rel == other.rel or self.rel.startswith(other.rel + "/")):
            raise ValueError(f"{self} is not under {other}")
        return PurePosixPath(self.rel[len(other.rel):].lstrip("/") or ".")

    def resolve(self) -> ObjectPath:
        return self

    @property
    def fs_path(self) -> str:
        """The path pyarrow's filesystem takes ("bucket/prefix/rel")."""
        return self.loc.path(self.rel)

    # reading -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.loc.exists(self.rel)

    def is_file(self) -> bool:
        return self._is_dir is False or (self._is_dir is None and self.loc.is_file(self.rel))

    def is_dir(self) -> bool:
        if self._is_dir is not None:
            return self._is_dir
        return bool(self.loc.list_dir(self.rel))  # a prefix "is" a folder while it holds objects

    def iterdir(self) -> Iterator[ObjectPath]:
        for name, is_dir in self.loc.list_dir(self.rel):
            child = self / name
            child._is_dir = is_dir
            yield child

    def glob(self, pattern: str) -> Iterator[ObjectPath]:
        """Entries directly in this folder whose name matches pattern (no "**")."""
        return (p for p in self.iterdir() if fnmatch.fnmatchcase(p.name, pattern))

    def rglob(self, pattern: str) -> Iterator[ObjectPath]:
        """Files anywhere below this folder whose name matches pattern."""
        for rel in self.loc.list_files(self.rel):
            if fnmatch.fnmatchcase(rel.rpartition("/")[2], pattern):
                yield ObjectPath(self.loc, rel, is_dir=False)

    def read_bytes(self) -> bytes:
        return self.loc.read_bytes(self.rel)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    # writing -------------------------------------------------------------------------------
    def write_bytes(self, data: bytes) -> None:
        """Replace the object with data in one PUT (small state files: markers, manifests)."""
        self.loc.put_bytes(self.rel, data, replace=True)

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(text.encode(encoding))

    def mkdir(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: a prefix exists once it holds an object."""

    def unlink(self, missing_ok: bool = False) -> None:
        self.loc.delete(self.rel)


def is_object(path: Any) -> bool:
    """True for a path on an object store (an ObjectPath)."""
    return isinstance(path, ObjectPath)


def parquet_source(path: Path | ObjectPath) -> tuple[str, Any]:
    """(path, filesystem) to hand a pyarrow reader: (str, None) locally."""
    if isinstance(path, ObjectPath):
        return path.fs_path, path.loc.fs
    return str(path), None


def parquet_input(path: Path | ObjectPath) -> Any:
    """What pq.ParquetFile takes for path: the path itself, or an object store's reader."""
    return path.loc.open_input(path.rel) if isinstance(path, ObjectPath) else path


def _put_parquet(table: pa.Table, target: ObjectPath, row_group_size: int | None = None) -> ObjectPath:
    """Upload table as one complete object at target (or target with a bumped counter): never overwrites."""
    tmp = target.loc.local_tmp(target.name)
    try:
        pq.write_table(table, tmp, compression=COMPRESSION, row_group_size=row_group_size or ROW_GROUP_ROWS,
                       use_dictionary=True, write_statistics=True)
        final = target.loc.put_file(target.rel, tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return ObjectPath(target.loc, final, is_dir=False)
