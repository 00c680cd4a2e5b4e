"""Atomic file operations of the dataset: fsync, write-then-rename, link-never-clobber, exchange.

Every Parquet file is written complete under ``.tmp/`` and then linked into place with one
atomic rename, so a reader (or a crawl killed at any moment) never sees a partial file.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import functools
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
#: A file written in one piece with fewer rows than this (a crawl's month partitions of a few posts
#: each) compresses only SMALL_FILE_ZSTD with zstd and its other columns with snappy: zstd's set-up
#: per column chunk (~40 of them in an article file) costs ~3 ms a file, snappy's ~1 ms, and on a
#: few rows the other columns compress about as well either way (measured on replica posts:
#: 5 rows, 28 KB either way; 100 rows, 80 KB against 68 KB). Merged and compacted files of more
#: rows are zstd throughout.
SMALL_FILE_ROWS = 100
SMALL_FILE_CODEC = "snappy"
#: The columns a small file still compresses with zstd: the post body, most of an article's bytes.
SMALL_FILE_ZSTD = ("text",)
#: Columns written without min/max statistics: free text, which no reader filters by range. A
#: string column's statistics hold its smallest and largest value uncompressed, in the column
#: chunk's metadata and again in its page header, so a 1-row file carried its post's body four
#: times over besides the compressed copy (values over 4 KB get none anyway; replica posts of a
#: few hundred characters, 1-row files: 24.1 KB with them, 19.9 KB without text's). Ids, dates,
#: hashes, codes and counts keep theirs, so readers still skip row groups by post_id, published,
#: fetched_at or doc_type.
NO_STATISTICS = ("text", "title", "tables")


@functools.lru_cache(maxsize=32)
def _leaf_paths(schema: pa.Schema) -> tuple[str, ...]:
    """The Parquet column paths of schema's leaves ("tags.list.element" ...), as pyarrow names them."""
    sink = pa.BufferOutputStream()
    # a writer with no rows, not write_table(schema.empty_table()): building any Table from Python
    # makes pyarrow import pandas (~0.3 s), which a crawl's extraction workers otherwise never need
    pq.ParquetWriter(sink, schema).close()
    pf = pq.ParquetFile(pa.BufferReader(sink.getvalue()))
    return tuple(pf.schema.column(i).path for i in range(len(pf.schema)))


@functools.lru_cache(maxsize=32)
def statistics_for(schema: pa.Schema) -> tuple[str, ...]:
    """The column paths of schema that get min/max statistics: all but NO_STATISTICS's."""
    return tuple(path for path in _leaf_paths(schema) if path.partition(".")[0] not in NO_STATISTICS)


@functools.lru_cache(maxsize=32)
def _small_file_codecs(schema: pa.Schema) -> dict[str, str]:
    zstd = {name for name in SMALL_FILE_ZSTD if name in schema.names}
    return {path: COMPRESSION if path.partition(".")[0] in zstd else SMALL_FILE_CODEC for path in _leaf_paths(schema)}


def writer_options(schema: pa.Schema, small: bool = False, compression: Any = None) -> dict[str, Any]:
    """The Parquet writer options of a dataset file (pq.write_table and pq.ParquetWriter take them alike).

    small (a file of fewer than SMALL_FILE_ROWS rows written in one piece): SMALL_FILE_ZSTD's
    columns zstd, the others snappy, and no dictionary pages: on a few rows a dictionary saves
    nothing and costs a page per column (replica posts, 5-row files: 21.4 KB with, 20.1 KB
    without, and ~15 % less time to encode). Otherwise (merged, compacted and large files)
    zstd and dictionaries throughout. compression, when given, overrides the codec. Statistics
    on every column but NO_STATISTICS's, either way.
    """
    codec = compression or (_small_file_codecs(schema) if small else COMPRESSION)
    return {"compression": codec, "use_dictionary": not small,
            "write_statistics": list(statistics_for(schema)), "write_page_checksum": True}


#: Every page of every file carries its CRC32 (writer_options), and every read of ours checks
#: it (pq.read_table / pq.ParquetFile take VERIFY, datasets parquet_format()): bytes damaged
#: inside a page then fail the read instead of decoding as other values (in a replica article
#: file damaged at 436 places, 61 read back silently different without; none with). Files
#: written before carry no CRC and read as before; pandas, Polars, DuckDB and Spark read either.
VERIFY = {"page_checksum_verification": True}


@functools.cache
def parquet_format() -> Any:
    """The pyarrow dataset format our readers scan with: Parquet, page checksums verified (VERIFY)."""
    import pyarrow.dataset as ds

    return ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(**VERIFY))


def encode(table: pa.Table, path: Any, row_group_size: int | None = None, compression: Any = None) -> None:
    """Write table as a Parquet file at path with the dataset's options (writer_options: small below
    SMALL_FILE_ROWS rows unless a compression is given); ROW_GROUP_ROWS rows a group unless given."""
    small = compression is None and table.num_rows < SMALL_FILE_ROWS
    pq.write_table(table, path, row_group_size=row_group_size or ROW_GROUP_ROWS,
                   **writer_options(table.schema, small, compression))


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
    tmp = _encode_tmp(table, tmpdir, target, row_group_size)
    _fsync_file(tmp)
    final = _link_into(tmp, target)
    _fsync_dir(final.parent)
    return final


def _encode_tmp(table: pa.Table, tmpdir: Path, target: Path, row_group_size: int | None = None) -> Path:
    """The Parquet file of table under tmpdir (not yet fsynced); nothing left there when it fails (disk full)."""
    tmp = tmpdir / f"{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        encode(table, tmp, row_group_size)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _link_into(tmp: Path, target: Path) -> Path:
    """Hard-link the complete file tmp to target (or target with a bumped counter), then drop tmp."""
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
    return final


#: Threads that fsync a batch's files (and then its folders) at once: concurrent fsyncs share one
#: journal commit on ext4/xfs, so 200 files and 200 folders take ~0.05 s instead of ~1 s one by one.
FSYNC_THREADS = 16


def write_parquet_batch(jobs: list[tuple[pa.Table, Path, Path]]) -> list[tuple[Path | None, OSError | None]]:
    """_write_parquet for each (table, tmpdir, target), in order, stopping at the first OSError.

    Returns [(final path, None) ..., (None, the OSError)]. Locally the protocol of
    _write_parquet is kept for every file, in batch steps: every file is written complete under
    tmpdir, all are fsynced (concurrently), linked into place in order (never clobbering), then
    every folder that got a file is fsynced (concurrently), before this returns. A file is only
    linked after its data is durable, and the caller (the run marker, the next flush) only goes
    on after every link is. After an error at job k, jobs before k are in place and no temporary
    file of a later job is left behind.
    """
    if any(isinstance(target, ObjectPath) for _, _, target in jobs):  # one PUT each, nothing to batch
        out: list[tuple[Path | None, OSError | None]] = []
        for table, tmpdir, target in jobs:
            try:
                out.append((_write_parquet(table, tmpdir, target), None))
            except OSError as exc:
                out.append((None, exc))
                break
        return out
    tmps: list[Path] = []
    error: tuple[int, OSError] | None = None
    made: set[Path] = set()
    for i, (table, tmpdir, target) in enumerate(jobs):
        try:
            if tmpdir not in made:
                tmpdir.mkdir(parents=True, exist_ok=True)
                made.add(tmpdir)
            tmps.append(_encode_tmp(table, tmpdir, target))
        except OSError as exc:
            error = (i, exc)
            break
    synced = _concurrently(_fsync_file, tmps)
    finals: list[Path] = []
    for i, (tmp, exc) in enumerate(zip(tmps, synced)):
        if exc is None:
            try:
                finals.append(_link_into(tmp, jobs[i][2]))
                continue
            except OSError as link_exc:
                exc = link_exc
        error = (i, exc)
        break
    for tmp in tmps[len(finals):]:  # not linked because of an error at or before them: not left behind
        tmp.unlink(missing_ok=True)
    _concurrently(_fsync_dir, list(dict.fromkeys(f.parent for f in finals)))
    out = [(f, None) for f in finals]
    if error is not None:
        out.append((None, error[1]))
    return out


def _concurrently(fn: Any, paths: list[Path]) -> list[OSError | None]:
    """fn(path) for every path, on up to FSYNC_THREADS threads (a share each); each path's OSError or None."""
    out: list[OSError | None] = [None] * len(paths)

    def share(k: int) -> None:
        for i in range(k, len(paths), threads):
            try:
                fn(paths[i])
            except OSError as exc:
                out[i] = exc

    threads = max(1, min(FSYNC_THREADS, len(paths)))
    if threads == 1:
        share(0)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(share, k) for k in range(threads)]:
            f.result()
    return out


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
            t = pq.read_table(source, filesystem=fs, **VERIFY)
        else:  # without the dataset machinery and its thread pools: faster and leaner for small files
            with pq.ParquetFile(f.loc.open_input(f.rel) if fs else f, **VERIFY) as pf:
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
        encode(table, tmp, row_group_size)
        final = target.loc.put_file(target.rel, tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return ObjectPath(target.loc, final, is_dir=False)
