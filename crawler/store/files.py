"""Atomic file operations of the dataset: fsync, write-then-rename, link-never-clobber, exchange.

Every Parquet file is written complete under ``.tmp/`` and then linked into place with one
atomic rename, so a reader (or a crawl killed at any moment) never sees a partial file.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.errors import DISK_FULL_ERRNOS, is_disk_full  # noqa: F401  (re-exported by crawler.store)

#: Rows per Parquet row group: a month of one subsite (a few hundred posts of ~3 KB) fits in one,
#: compacted partitions stay readable without loading more than ~50 MB of text per group.
ROW_GROUP_ROWS = 16_384
COMPRESSION = "zstd"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse directory fsync; the rename is still atomic
    finally:
        os.close(fd)


def _atomic_write_text(target: Path, text: str, tmpdir: Path) -> None:
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
        if threads:
            t = pq.read_table(f)
        else:  # without the dataset machinery and its thread pools: faster and leaner for small files
            with pq.ParquetFile(f) as pf:
                t = pf.read(use_threads=False)
        missing = [fld for fld in schema if fld.name not in t.column_names]
        for fld in missing:  # files from before a column was added
            t = t.append_column(fld.name, pa.nulls(t.num_rows, fld.type))
        tables.append(t.select(schema.names).cast(schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()
