"""The Parquet dataset on disk: writer, known-post state, load, compact, run manifests.

Layout under ``<out>/`` (docs/schema.md is the user-facing description)::

    parkcorpus.json                                   marker + format version
    articles/site=<host>/year=<YYYY>/month=<MM>/part-<run_id>-<n>.parquet
    links/site=<host>/part-<run_id>-<n>.parquet
    runs/<run_id>.json                                one manifest per crawl run
    warc/<run_id>.warc.gz                             raw responses (crawler.archive)
    quarantine/                                       files `validate --repair` moved aside
    .tmp/                                             files being written; readers never look here

Every Parquet file is written complete under ``.tmp/`` and then linked into place with one
atomic rename, so a reader (or a crawl killed at any moment) never sees a partial file.
A writer's ``close()`` then merges the files its run left in one partition into one (see
``DatasetWriter._consolidate``), so a run ends with one file per partition it touched.

``site`` lives in the partition path only, not inside the article files: pandas
(``pd.read_parquet``) infers hive keys as dictionaries and refuses to merge them with a
string column of the same name, so storing it twice would break the most common notebook call.
Every hive-aware reader (pyarrow.dataset, pandas, Polars, DuckDB, Spark) returns ``site``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from crawler.errors import DatasetError, UsageError
from crawler.items import (
    ARTICLE_SCHEMA,
    EXTRACTOR_VERSION,
    LINK_SCHEMA,
    content_hash,
    link_rows,
)

logger = logging.getLogger(__name__)

#: Version of the on-disk layout, written into the marker file; bump on incompatible changes.
FORMAT_VERSION = 1
MARKER = "parkcorpus.json"
ARTICLES = "articles"
LINKS = "links"
RUNS = "runs"
TMP = ".tmp"
QUARANTINE = "quarantine"

#: Partition of posts whose page carries no usable date. Digits (not "unknown") so that every
#: hive reader still types year/month as integers across the whole dataset.
UNDATED = (0, 0)

#: Rows per Parquet row group: a month of one subsite (a few hundred posts of ~3 KB) fits in one,
#: compacted partitions stay readable without loading more than ~50 MB of text per group.
ROW_GROUP_ROWS = 16_384
#: A compacted partition is split into files of at most this many rows.
COMPACT_FILE_ROWS = 500_000
COMPRESSION = "zstd"

#: Schema of one article file: the dataset schema minus the partition key `site` (see above).
FILE_SCHEMA = ARTICLE_SCHEMA.remove(ARTICLE_SCHEMA.get_field_index("site"))
PARTITION_SCHEMA = pa.schema(
    [pa.field("site", pa.string()), pa.field("year", pa.int32()), pa.field("month", pa.int32())]
)
#: What a hive-aware reader sees: every article column (site from the path) plus year and month.
DATASET_SCHEMA = pa.schema(
    list(ARTICLE_SCHEMA) + [PARTITION_SCHEMA.field("year"), PARTITION_SCHEMA.field("month")]
)
LINKS_DATASET_SCHEMA = pa.schema(list(LINK_SCHEMA) + [pa.field("site", pa.string())])

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY = ("site", "post_id", "content_hash")


# --------------------------------------------------------------------------- folder + marker


def new_run_id(now: dt.datetime | None = None) -> str:
    """A fresh run id: UTC time plus random suffix, sortable and unique per job."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def check_run_id(run_id: str) -> str:
    """run_id unchanged when it is safe inside a file name; UsageError otherwise."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise UsageError(f"bad run id {run_id!r}: use letters, digits, '.', '_' or '-' (max 128)")
    return run_id


def as_path(out: str | os.PathLike) -> Path:
    """out as a local Path; a file:// URI is accepted, other URIs are a DatasetError.

    The atomic file protocol needs rename and hard links, which object stores lack: mount a
    shared location (NFS, s3fs ...) and pass its path instead.
    """
    text = os.fspath(out)
    if isinstance(text, str) and "://" in text:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(text)
        if parts.scheme != "file":
            raise DatasetError(f"cannot write to {text}: only local paths and file:// URIs are supported; "
                               "mount the location and pass its path")
        return Path(unquote(parts.path))
    return Path(text)


def is_dataset(out: str | os.PathLike) -> bool:
    """True when out holds a parkcorpus dataset (its marker file)."""
    return (as_path(out) / MARKER).is_file()


def _ignorable(name: str) -> bool:
    # a fresh `data/` folder ships with a README, and editors/OSes drop hidden files anywhere
    return name.startswith(".") or name.lower().startswith("readme")


def ensure_dataset(out: str | os.PathLike, create: bool = True) -> Path:
    """out as a Path holding a parkcorpus dataset; with create, make the folder and marker if needed.

    Raises DatasetError naming the folder and what to do when it is missing (and not create),
    unwritable, a file, or a non-empty folder that is not a parkcorpus dataset.
    """
    path = as_path(out)
    if path.exists() and not path.is_dir():
        raise DatasetError(f"{out} is a file, not a folder: pass --out a folder")
    marker = path / MARKER
    if marker.is_file():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            version = int(info.get("version", 0))
        except (OSError, ValueError, AttributeError):
            raise DatasetError(f"{marker} is damaged: restore it or delete it to re-create it") from None
        if version > FORMAT_VERSION:
            raise DatasetError(
                f"{out} was written by a newer parkcorpus (format {version}); upgrade parkcorpus"
            )
        if create and not os.access(path, os.W_OK):
            raise DatasetError(f"cannot write to {out}: check its permissions or pass another --out")
        return path
    if not path.exists():
        if not create:
            raise DatasetError(
                f"no parkcorpus dataset at {out}: crawl into it first "
                f"(parkcorpus demo --out {out}) or pass --out DIR"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(f"cannot create {out}: {exc.strerror or exc}; pass another --out") from None
    legacy = (path / ARTICLES).is_dir()
    if not legacy and any(not _ignorable(p.name) for p in path.iterdir()):
        raise DatasetError(
            f"{out} is not a parkcorpus dataset (no {MARKER}) and is not empty: "
            + ("pass --out a new or empty folder" if create else "pass --out a folder parkcorpus wrote")
        )
    if not create:
        if legacy:
            return path
        raise DatasetError(
            f"{out} holds no parkcorpus dataset yet: crawl into it first "
            f"(parkcorpus demo --out {out}) or pass --out DIR"
        )
    info = {"format": "parkcorpus-dataset", "version": FORMAT_VERSION,
            "created": dt.datetime.now(dt.timezone.utc).isoformat()}
    try:
        _atomic_write_text(marker, json.dumps(info, indent=2) + "\n", path / TMP)
    except OSError as exc:
        raise DatasetError(f"cannot write to {out}: {exc.strerror or exc}; pass another --out") from None
    return path


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


def write_run_manifest(out: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Write summary (must carry run_id) atomically to <out>/runs/<run_id>.json; returns the path."""
    run_id = check_run_id(str(summary.get("run_id", "")))
    path = ensure_dataset(out, create=True)
    target = path / RUNS / f"{run_id}.json"
    target.parent.mkdir(exist_ok=True)
    text = json.dumps(dict(summary), ensure_ascii=False, indent=2, default=_json_default) + "\n"
    _atomic_write_text(target, text, path / TMP)
    return target


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def list_runs(out: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run manifest under <out>/runs/, oldest first; damaged ones are skipped."""
    runs = []
    for p in (as_path(out) / RUNS).glob("*.json"):
        try:
            info = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # one damaged manifest must not hide the crawl history
        if isinstance(info, dict):
            info.setdefault("run_id", p.stem)
            runs.append(info)
    runs.sort(key=lambda r: (str(r.get("started_at") or r.get("started") or ""), str(r["run_id"])))
    return runs


# --------------------------------------------------------------------------- partitions


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        if value != value:  # NaT
            return None
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")


def partition_of(site: str, published: Any) -> tuple[str, int, int]:
    """(site, year, month) of a row: the UTC month of `published`, UNDATED when it is null."""
    ts = _utc(published)
    if ts is None:
        return site, *UNDATED
    return site, ts.year, ts.month


def partition_dir(site: str, year: int, month: int) -> str:
    """Relative folder of an article partition, e.g. site=a.cn/year=2024/month=03."""
    return f"site={site}/year={year:04d}/month={month:02d}"


def _visible_parquet(folder: Path) -> list[Path]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(folder / n for n in names if n.endswith(".parquet") and not n.startswith((".", "_")))


def dataset_files(out: str | os.PathLike, kind: str = ARTICLES) -> list[Path]:
    """Every visible Parquet file of the articles or links dataset, sorted."""
    root = as_path(out) / kind
    if not root.is_dir():
        return []
    files = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        files.extend(_visible_parquet(Path(dirpath)))
    return sorted(files)


def partition_values(path: Path, root: Path) -> dict[str, str]:
    """The hive key=value pairs of the folders from root down to path (a file or a folder)."""
    values = {}
    for part in path.relative_to(root).parts:
        if part.endswith(".parquet"):  # the file's own name is not a partition key
            continue
        key, sep, val = part.partition("=")
        if sep:
            values[key] = val
    return values


def open_dataset(out: str | os.PathLike, kind: str = ARTICLES) -> ds.Dataset | None:
    """The articles (or links) dataset as a pyarrow Dataset with typed hive keys; None when empty."""
    root = as_path(out) / kind
    files = dataset_files(out, kind)
    if not files:
        return None
    if kind == ARTICLES:
        part = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
        schema = DATASET_SCHEMA
    else:
        part = ds.partitioning(pa.schema([pa.field("site", pa.string())]), flavor="hive")
        schema = LINKS_DATASET_SCHEMA
    # the explicit file list keeps files renamed in after listing out, and the explicit schema
    # lets files written before a column was added read with nulls for it
    return ds.dataset([str(f) for f in files], schema=schema, format="parquet",
                      partitioning=part, partition_base_dir=str(root))


# --------------------------------------------------------------------------- writing


def _write_parquet(table: pa.Table, tmpdir: Path, target: Path) -> Path:
    """Write table complete under tmpdir, then link it to target without replacing anything.

    Returns the final path, which gets a bumped counter if target already exists (a re-used
    run id, a second writer): a file is never overwritten.
    """
    tmpdir.mkdir(parents=True, exist_ok=True)
    tmp = tmpdir / f"{target.name}.{secrets.token_hex(4)}.tmp"
    pq.write_table(table, tmp, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS,
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


def _normalise(record: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    rec = {name: record.get(name) for name in ARTICLE_SCHEMA.names}
    for name in ("url", "site", "post_id"):
        if rec[name] is None:
            raise ValueError(f"record without {name}: {record.get('url')!r}")
    for field in ARTICLE_SCHEMA:
        if pa.types.is_list(field.type) and rec[field.name] is None:
            rec[field.name] = []
    text = rec["text"] or ""
    rec["text"] = text
    rec["title"] = rec["title"] or ""
    rec["content_hash"] = rec["content_hash"] or content_hash(text)
    rec["run_id"] = rec["run_id"] or run_id
    rec["fetched_at"] = _utc(rec["fetched_at"]) or dt.datetime.now(dt.timezone.utc)
    rec["published"] = _utc(rec["published"])
    rec["extracted_at"] = _utc(rec["extracted_at"]) or dt.datetime.now(dt.timezone.utc)
    if rec["char_count"] is None:
        rec["char_count"] = len("".join(text.split()))  # split() drops Unicode whitespace too
    if rec["paragraph_count"] is None:
        rec["paragraph_count"] = len([line for line in text.split("\n") if line.strip()])
    if rec["masked_chars"] is None:
        rec["masked_chars"] = 0
    rec["template"] = rec["template"] or "unknown"
    rec["extractor_version"] = rec["extractor_version"] or EXTRACTOR_VERSION
    if "inline_links" in record:
        rec["inline_links"] = record["inline_links"]
    return rec


class DatasetWriter:
    """Buffers article records per partition and writes them as complete Parquet files.

    A partition's rows are written as one file when it holds ``flush_rows`` rows; when all
    buffers together hold more than ``max_buffer_rows`` (default flush_rows, so a file appears
    after at most that many rows, as a crawl's progress and kill tests expect), the partitions
    least recently added to are written, until half the buffer is free. A crawl walks the site roughly by date, so a
    month it has left behind often goes out as one file; when rows arrive in no partition order a
    partition is written several times. ``flush()`` writes everything buffered; ``close()`` does,
    then (with ``consolidate``, the default) merges the files this writer wrote into one partition
    (or one site's links folder) into one file, so a run ends with one article file per partition
    it touched and one links file per site (see ``_consolidate``). ``files`` lists the files of
    this writer in the dataset (the merged ones after close); ``flushes`` counts the writes.

    ``add(record)`` returns ``"new"``, ``"changed"`` (a new version of a stored post) or
    ``"unchanged"`` (same (site, post_id, content_hash) already stored: nothing written).
    ``known`` is the crawl state (``known_posts(out)`` when not given); it is updated as rows
    are added, so one writer never writes a triple twice. ``archive`` (a WarcArchive) is
    flushed before every Parquet file, so a row's ``warc_record_id`` is on disk before the row.
    """

    def __init__(self, out: str | os.PathLike, run_id: str, flush_rows: int = 500,
                 archive: Any = None, known: KnownPosts | None = None,
                 max_buffer_rows: int | None = None, consolidate: bool = True):
        self.out = ensure_dataset(out, create=True)
        self.run_id = check_run_id(run_id)
        self.flush_rows = max(1, int(flush_rows))
        self.max_buffer_rows = max(self.flush_rows, int(max_buffer_rows or self.flush_rows))
        self.archive = archive
        self.known = known if known is not None else known_posts(self.out)
        # partition -> rows, in order of last addition (oldest first)
        self._parts: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
        self._pending = 0
        self._seq = 0
        self.consolidate = consolidate
        self.flushes = 0
        self.files: list[Path] = []
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "rows_written": 0, "links_written": 0}
        self.closed = False

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def add(self, record: Mapping[str, Any]) -> str:
        """Buffer one article record (writing full partitions); returns new, changed or unchanged."""
        if self.closed:
            raise RuntimeError("DatasetWriter is closed")
        rec = _normalise(record, self.run_id)
        site, pid, h = rec["site"], int(rec["post_id"]), rec["content_hash"]
        if self.known.has(site, pid, h):
            self.counts["unchanged"] += 1
            return "unchanged"
        status = "changed" if (site, pid) in self.known else "new"
        self.known.add(site, pid, h, rec["fetched_at"])
        self.counts[status] += 1
        key = partition_of(site, rec["published"])
        rows = self._parts.pop(key, [])  # re-inserted last: most recently used
        rows.append(rec)
        self._parts[key] = rows
        self._pending += 1
        if len(rows) >= self.flush_rows:
            self._write_partitions([key])
        if self._pending > self.max_buffer_rows:
            # write the partitions the crawl has moved past, in one batch, until half is free
            evict, freed = [], 0
            for k, part_rows in self._parts.items():
                if self._pending - freed <= self.max_buffer_rows // 2:
                    break
                evict.append(k)
                freed += len(part_rows)
            self._write_partitions(evict)
        return status

    @property
    def pending(self) -> int:
        """Rows buffered and not yet on disk."""
        return self._pending

    def flush(self) -> list[Path]:
        """Write every buffered row; returns the files written."""
        return self._write_partitions(list(self._parts))

    def _write_partitions(self, keys: list[tuple[str, int, int]]) -> list[Path]:
        """Write the buffered rows of these partitions: one links file per site first, then one
        articles file per partition."""
        batch = {k: self._parts.pop(k) for k in keys if self._parts.get(k)}
        if not batch:
            return []
        self._pending -= sum(len(rows) for rows in batch.values())
        if self.archive is not None and hasattr(self.archive, "flush"):
            self.archive.flush()
        n = f"{self._seq:05d}"
        self._seq += 1
        self.flushes += 1
        written: list[Path] = []
        tmpdir = self.out / TMP
        # links first: if the process dies between the two, the posts are not yet stored, get
        # fetched again, and compact folds the repeated link rows; the other order would lose links
        by_site: dict[str, list[dict[str, Any]]] = {}
        for (site, _, _), rows in batch.items():
            by_site.setdefault(site, []).extend(link for rec in rows for link in link_rows(rec))
        for site, links in sorted(by_site.items()):
            if not links:
                continue
            table = pa.Table.from_pylist(links, schema=LINK_SCHEMA)
            target = self.out / LINKS / f"site={site}" / f"part-{self.run_id}-{n}.parquet"
            written.append(_write_parquet(table, tmpdir, target))
            self.counts["links_written"] += len(links)
        for (site, year, month), rows in sorted(batch.items()):
            rows.sort(key=lambda r: (r["post_id"], r["fetched_at"]))
            table = pa.Table.from_pylist(rows, schema=FILE_SCHEMA)
            target = self.out / ARTICLES / partition_dir(site, year, month) / f"part-{self.run_id}-{n}.parquet"
            written.append(_write_parquet(table, tmpdir, target))
            self.counts["rows_written"] += len(rows)
        self.files.extend(written)
        return written

    def close(self) -> None:
        """Flush what is buffered, merge this run's files per partition, close the archive (idempotent).

        A failed flush (disk full) skips the merge: the files already written stay as they are.
        """
        if self.closed:
            return
        try:
            self.flush()
            if self.consolidate:
                self._consolidate()
        finally:
            self.closed = True
            if self.archive is not None and hasattr(self.archive, "close"):
                self.archive.close()

    def _consolidate(self) -> None:
        """Merge, in every folder where this writer wrote more than one file, those files into one.

        Only this writer's own files (``self.files``) are read and removed: other runs writing
        into the same folder (Scrapyd jobs) are never touched. One folder at a time, streamed in
        row groups, so memory stays bounded. Per folder (see ``_merge_files``): the merged file
        is written complete under ``.tmp/``, exchanged atomically with the last of the files it
        replaces (it keeps that file's name; the name of a file that vanished, e.g. taken by a
        concurrent ``compact``, is never re-created), then the other files are removed. Between
        the exchange and the removals a reader sees some rows twice, identical and of the same
        run, which ``load``/``known_posts`` collapse and ``validate`` reports as a warning only;
        a crash there leaves that state (``compact`` or ``validate --repair`` folds it). A
        failure (disk full) keeps the files as they are and stops merging.
        """
        groups: dict[Path, list[Path]] = {}
        for f in self.files:
            groups.setdefault(f.parent, []).append(f)
        final: list[Path] = []
        failed = False
        # article partitions first (sorted, so the order is predictable), then the links folders
        for folder, files in sorted(groups.items(), key=lambda kv: (self.out / LINKS in kv[0].parents, kv[0])):
            if len(files) < 2 or failed:
                final.extend(files)
                continue
            links = self.out / LINKS in folder.parents
            try:
                final.extend(_merge_files(self.out, files, LINK_SCHEMA if links else FILE_SCHEMA,
                                          _LINK_ORDER if links else _ARTICLE_ORDER))
            except FileNotFoundError:
                # a concurrent compact swapped this folder's files out: nothing of ours to merge
                final.extend(f for f in files if f.exists())
            except OSError as exc:
                failed = True
                logger.warning("could not merge the %d files of %s (%s): they stay as written; "
                               "`parkcorpus compact` merges them later", len(files), folder,
                               exc.strerror or exc)
                final.extend(f for f in files if f.exists())
        self.files = final


_ARTICLE_ORDER = [("post_id", "ascending"), ("fetched_at", "ascending")]
_LINK_ORDER = [("src_post_id", "ascending"), ("kind", "ascending"), ("position", "ascending")]
#: A merge writes a row group when it holds this many bytes of Arrow data (or ROW_GROUP_ROWS rows).
MERGE_GROUP_BYTES = 32 * 1024 * 1024


def _merge_files(out: Path, files: list[Path], schema: pa.Schema, order: list[tuple[str, str]]) -> list[Path]:
    """Replace files (one folder, one run) by one file holding all their rows; returns what is left.

    Streams: at most one row group (ROW_GROUP_ROWS rows or MERGE_GROUP_BYTES) is held, sorted by
    `order` within it. Order of steps, each safe to die after: write under .tmp/ and fsync;
    exchange with files[-1] (a reader sees the old file or the merged one under that name);
    delete the others. Without RENAME_EXCHANGE: rename over files[-1] after checking it exists.
    """
    keep = files[-1]
    tmpdir = out / TMP
    tmpdir.mkdir(parents=True, exist_ok=True)
    tmp = tmpdir / f"{keep.name}.merge-{secrets.token_hex(4)}.tmp"
    try:
        with pq.ParquetWriter(tmp, schema, compression=COMPRESSION, use_dictionary=True,
                              write_statistics=True) as pw:
            chunk: list[pa.Table] = []
            rows = size = 0

            def emit() -> None:
                table = pa.concat_tables(chunk).sort_by(order)
                pw.write_table(table, row_group_size=ROW_GROUP_ROWS)
                chunk.clear()

            for f in files:
                table = _read_files([f], schema, threads=False)  # small files: threads only cost RSS
                for part in (table.slice(i, ROW_GROUP_ROWS) for i in range(0, table.num_rows, ROW_GROUP_ROWS)):
                    if chunk and (rows + part.num_rows > ROW_GROUP_ROWS or size + part.nbytes > MERGE_GROUP_BYTES):
                        emit()
                        rows = size = 0
                    chunk.append(part)
                    rows += part.num_rows
                    size += part.nbytes
                del table
            if chunk:
                emit()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        gone = False
        try:
            if not _exchange(tmp, keep):  # no RENAME_EXCHANGE here: rename over it, if still there
                if keep.exists():
                    os.replace(tmp, keep)
                else:
                    gone = True
        except FileNotFoundError:
            gone = True
        if gone:
            # keep is gone (a compaction took this folder's files): never re-create it
            logger.info("%s vanished while merging (compacted meanwhile?): merge skipped", keep)
            return [f for f in files if f.exists()]
        _fsync_dir(keep.parent)
        for f in files[:-1]:
            f.unlink(missing_ok=True)
        _fsync_dir(keep.parent)
        return [keep]
    finally:
        tmp.unlink(missing_ok=True)  # after an exchange it holds keep's old rows


# --------------------------------------------------------------------------- known-post state


def _hash_bytes(h: str) -> bytes | None:
    if len(h) == 64:
        try:
            return bytes.fromhex(h)
        except ValueError:
            return None
    return None


class KnownPosts(Mapping):
    """(site, post_id) -> set of stored content hashes, held in flat numpy arrays.

    A plain dict of tuples and sets costs ~500 bytes per post; here a post version costs 48
    bytes (key, 32-byte digest, fetched_at), so 100,000 posts stay under 5 MB. It is a read-only
    Mapping as HACKING.md promises, plus ``has``, ``add`` and ``newest`` for the writer.
    """

    _MERGE_AT = 20_000  # versions added since the last merge into the sorted arrays

    def __init__(self) -> None:
        self._site_ids: dict[str, int] = {}
        self._site_names: list[str] = []
        self._keys = np.empty(0, dtype=np.int64)
        self._hashes = np.empty(0, dtype="S32")
        self._fetched = np.empty(0, dtype=np.int64)
        self._added: dict[tuple[int, int], dict[str, int]] = {}
        self._n_added = 0
        self._odd: dict[tuple[int, int], dict[str, int]] = {}  # hashes that are not sha256 hex

    # key = site index in the high bits, post id in the low 40 bits (post ids are < 10^12)
    def _key(self, site: str, post_id: int, create: bool = False) -> int | None:
        idx = self._site_ids.get(site)
        if idx is None:
            if not create:
                return None
            idx = self._site_ids[site] = len(self._site_names)
            self._site_names.append(site)
        return (idx << 40) | int(post_id)

    def _base(self, key: int) -> slice:
        lo = int(np.searchsorted(self._keys, key, "left"))
        hi = int(np.searchsorted(self._keys, key, "right"))
        return slice(lo, hi)

    def _versions(self, key: int) -> dict[str, int]:
        """hex hash -> fetched_at (µs) of every stored version of key."""
        sl = self._base(key)
        # numpy "S32" strips trailing NUL bytes on read: pad back to the 32-byte digest
        found = {h.ljust(32, b"\0").hex(): int(f) for h, f in zip(self._hashes[sl], self._fetched[sl])}
        k = (key >> 40, key & ((1 << 40) - 1))
        found.update(self._added.get(k, {}))
        found.update(self._odd.get(k, {}))
        return found

    @classmethod
    def from_arrays(cls, sites: Iterable[str], post_ids: Iterable[int], hashes: Iterable[str],
                    fetched_us: Iterable[int] | None = None) -> KnownPosts:
        """Build from parallel sequences (fetched_at as µs since the epoch, optional)."""
        kp = cls()
        sites, post_ids, hashes = list(sites), list(post_ids), list(hashes)
        fetched = list(fetched_us) if fetched_us is not None else [0] * len(sites)
        kp._bulk(sites, post_ids, hashes, fetched)
        return kp

    def _bulk(self, sites: list[str], post_ids: list[int], hashes: list[str], fetched: list[int]) -> None:
        keys, digs, fts = [], [], []
        for s, p, h, f in zip(sites, post_ids, hashes, fetched):
            key = self._key(s, p, create=True)
            b = _hash_bytes(h)
            if b is None:
                self._odd.setdefault((key >> 40, int(p)), {})[h] = int(f or 0)
                continue
            keys.append(key)
            digs.append(b)
            fts.append(int(f or 0))
        if keys:
            self._merge(np.array(keys, dtype=np.int64), np.array(digs, dtype="S32"),
                        np.array(fts, dtype=np.int64))

    def _merge(self, keys: np.ndarray, digs: np.ndarray, fts: np.ndarray) -> None:
        keys = np.concatenate([self._keys, keys])
        digs = np.concatenate([self._hashes, digs])
        fts = np.concatenate([self._fetched, fts])
        order = np.lexsort((digs, keys))
        keys, digs, fts = keys[order], digs[order], fts[order]
        # the same version read twice (duplicate rows) counts once; keep its newest fetch
        if len(keys) > 1:
            same = (keys[1:] == keys[:-1]) & (digs[1:] == digs[:-1])
            if same.any():
                keep = np.ones(len(keys), dtype=bool)
                keep[:-1] = ~same
                keys, digs, fts = keys[keep], digs[keep], fts[keep]
        self._keys, self._hashes, self._fetched = keys, digs, fts

    def _flush_added(self) -> None:
        keys, digs, fts = [], [], []
        for (idx, pid), versions in self._added.items():
            for h, f in versions.items():
                keys.append((idx << 40) | pid)
                digs.append(bytes.fromhex(h))
                fts.append(f)
        self._added.clear()
        self._n_added = 0
        if keys:
            self._merge(np.array(keys, dtype=np.int64), np.array(digs, dtype="S32"),
                        np.array(fts, dtype=np.int64))

    def has(self, site: str, post_id: int, content_hash: str) -> bool:
        """True when this exact version is stored."""
        key = self._key(site, post_id)
        return key is not None and content_hash in self._versions(key)

    def add(self, site: str, post_id: int, content_hash: str, fetched_at: Any = None) -> None:
        """Record that a version is (about to be) stored."""
        key = self._key(site, post_id, create=True)
        ts = _utc(fetched_at)
        us = int(ts.timestamp() * 1_000_000) if ts else 0
        k = (key >> 40, int(post_id))
        if _hash_bytes(content_hash) is None:
            self._odd.setdefault(k, {})[content_hash] = us
            return
        self._added.setdefault(k, {})[content_hash] = us
        self._n_added += 1
        if self._n_added >= self._MERGE_AT:
            self._flush_added()

    def newest(self, site: str, post_id: int) -> str | None:
        """content_hash of the newest stored version (by fetched_at), None when unknown."""
        key = self._key(site, post_id)
        if key is None:
            return None
        versions = self._versions(key)
        if not versions:
            return None
        return max(versions.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def sites(self) -> list[str]:
        """Sites with at least one stored post."""
        return sorted({site for site, _ in self})

    def __getitem__(self, key: tuple[str, int]) -> set[str]:
        k = self._key(key[0], key[1])
        versions = self._versions(k) if k is not None else {}
        if not versions:
            raise KeyError(key)
        return set(versions)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        k = self._key(key[0], key[1])
        return k is not None and bool(self._versions(k))

    def _all_keys(self) -> np.ndarray:
        extra = [(i << 40) | p for i, p in list(self._added) + list(self._odd)]
        return np.unique(np.concatenate([self._keys, np.array(extra, dtype=np.int64)]))

    def __iter__(self) -> Iterator[tuple[str, int]]:
        mask = (1 << 40) - 1
        for key in self._all_keys():
            key = int(key)
            yield self._site_names[key >> 40], key & mask

    def __len__(self) -> int:
        return len(self._all_keys())

    def versions(self) -> int:
        """Number of stored (site, post_id, content_hash) versions."""
        return (len(self._keys) + sum(len(v) for v in self._added.values())
                + sum(len(v) for v in self._odd.values()))


class NewestHashes(Mapping):
    """(site, post_id) -> content_hash of the newest stored version: a view over KnownPosts."""

    def __init__(self, known: KnownPosts):
        self._known = known

    def __getitem__(self, key: tuple[str, int]) -> str:
        h = self._known.newest(*key) if isinstance(key, tuple) and len(key) == 2 else None
        if h is None:
            raise KeyError(key)
        return h

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


def stored_sites(out: str | os.PathLike) -> list[str]:
    """The sites that have an articles partition folder, sorted."""
    root = as_path(out) / ARTICLES
    if not root.is_dir():
        return []
    return sorted(p.name.partition("=")[2] for p in root.iterdir() if p.is_dir() and p.name.startswith("site="))


def check_sites(out: str | os.PathLike, site: Iterable[str] | str | None) -> None:
    """UsageError naming a requested site the dataset does not hold (a typo filters to nothing)."""
    if site is None:
        return
    wanted = [site] if isinstance(site, str) else list(site)
    have = stored_sites(out)
    for name in wanted:
        if name not in have:
            held = f"it holds {', '.join(have)}" if have else "it holds no articles yet"
            raise UsageError(f"unknown site '{name}' in {out}: {held} (see `parkcorpus sites`)")


def _site_filter(sites: Iterable[str] | str | None) -> ds.Expression | None:
    if sites is None:
        return None
    sites = [sites] if isinstance(sites, str) else list(sites)
    return ds.field("site").isin(sites)


def _retry_listing(read: Any, attempts: int = 5) -> Any:
    """read(), again when a file listed a moment ago is gone: compact swapped its partition."""
    for attempt in range(attempts):
        try:
            return read()
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise


def known_posts(out: str | os.PathLike, sites: Iterable[str] | str | None = None) -> KnownPosts:
    """The crawl state: (site, post_id) -> set of stored content_hash, reading only those columns."""

    def read() -> KnownPosts:
        known = KnownPosts()
        dataset = open_dataset(out) if as_path(out).is_dir() else None
        if dataset is None:
            return known
        scanner = dataset.scanner(columns=["site", "post_id", "content_hash", "fetched_at"],
                                  filter=_site_filter(sites), batch_size=65_536)
        for batch in scanner.to_batches():
            if batch.num_rows == 0:
                continue
            fetched = pc.cast(batch.column("fetched_at"), pa.int64()).fill_null(0)
            known._bulk(batch.column("site").to_pylist(), batch.column("post_id").to_pylist(),
                        batch.column("content_hash").to_pylist(), fetched.to_pylist())
        return known

    return _retry_listing(read)


def newest_hash(out: str | os.PathLike, sites: Iterable[str] | str | None = None) -> NewestHashes:
    """(site, post_id) -> content_hash of the newest stored version (for --refresh change checks)."""
    return NewestHashes(known_posts(out, sites))


# --------------------------------------------------------------------------- reading


def parse_day(value: Any, name: str = "date") -> tuple[dt.datetime, bool] | None:
    """(UTC datetime, date_only) from a date/datetime/'YYYY-MM-DD'/ISO string; UsageError if bad."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return _utc(value), False
    if isinstance(value, dt.date):
        return _utc(value), True
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return _utc(dt.date.fromisoformat(text)), True
        return _utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00"))), False
    except ValueError:
        raise UsageError(f"bad {name} date {text!r}: use YYYY-MM-DD") from None


def date_range(since: Any = None, until: Any = None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[since, until) as UTC datetimes: a date-only until includes that whole day."""
    s = parse_day(since, "--since")
    u = parse_day(until, "--until")
    start = s[0] if s else None
    end = (u[0] + dt.timedelta(days=1) if u[1] else u[0] + dt.timedelta(microseconds=1)) if u else None
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--since {since} is after --until {until}: swap them")
    return start, end


def _month_index(year: ds.Expression, month: ds.Expression) -> ds.Expression:
    return year * 100 + month


def article_filter(site: Iterable[str] | str | None = None, since: Any = None, until: Any = None,
                   category: str | Iterable[str] | None = None) -> ds.Expression | None:
    """A pyarrow filter for site(s), publication range and category; partition keys prune files."""
    parts = []
    if site is not None:
        parts.append(_site_filter(site))
    start, end = date_range(since, until)
    mi = _month_index(ds.field("year"), ds.field("month"))
    if start is not None:
        parts.append(ds.field("published") >= pa.scalar(start, type=pa.timestamp("us", tz="UTC")))
        parts.append(mi >= start.year * 100 + start.month)
    if end is not None:
        parts.append(ds.field("published") < pa.scalar(end, type=pa.timestamp("us", tz="UTC")))
        last = end - dt.timedelta(microseconds=1)
        parts.append(mi <= last.year * 100 + last.month)
    if category is not None:
        cats = [category] if isinstance(category, str) else list(category)
        parts.append(ds.field("category").isin(cats))
    expr = None
    for p in parts:
        expr = p if expr is None else expr & p
    return expr


def _key_strings(table: pa.Table | pa.RecordBatch) -> pa.Array:
    return pc.binary_join_element_wise(
        table.column("site"), pc.cast(table.column("post_id"), pa.string()),
        table.column("content_hash"), "\x1f")


def newest_keys(dataset: ds.Dataset, site: Iterable[str] | str | None = None) -> pa.Array:
    """'site\\x1fpost_id\\x1fcontent_hash' of the newest version of every post (light scan)."""
    return version_keys(dataset, site)[1]


def version_keys(dataset: ds.Dataset, site: Iterable[str] | str | None = None) -> tuple[pa.Array, pa.Array]:
    """(every stored version, the newest version per post) as 'site\\x1fpost_id\\x1fcontent_hash' keys."""
    light = dataset.to_table(columns=["site", "post_id", "content_hash", "fetched_at", "extracted_at"],
                             filter=_site_filter(site))
    if light.num_rows == 0:
        empty = pa.array([], pa.string())
        return empty, empty
    # newest = latest fetch; a re-extraction of the same fetch beats the original extraction
    light = light.sort_by([("site", "ascending"), ("post_id", "ascending"),
                           ("fetched_at", "descending"), ("extracted_at", "descending"),
                           ("content_hash", "descending")])
    site_a = light.column("site").to_numpy(zero_copy_only=False)
    pid_a = light.column("post_id").to_numpy()
    first = np.ones(light.num_rows, dtype=bool)
    first[1:] = (site_a[1:] != site_a[:-1]) | (pid_a[1:] != pid_a[:-1])
    return _key_strings(light), _key_strings(light.filter(pa.array(first)))


def _unique_versions(table: pa.Table) -> pa.Table:
    """Drop rows repeating a (site, post_id, content_hash) already seen in table."""
    if table.num_rows < 2:
        return table
    keys = _key_strings(table).to_numpy(zero_copy_only=False)
    _, first = np.unique(keys, return_index=True)
    if len(first) == table.num_rows:
        return table
    return table.take(pa.array(np.sort(first)))


def load(out: str | os.PathLike = "data", site: Any = None, since: Any = None, until: Any = None,
         columns: Iterable[str] | None = None, history: bool = False, category: Any = None):
    """Stored articles as a pandas DataFrame: the newest version per (site, post_id) unless history.

    Filters (site, publication date range, category) are pushed down to pyarrow, and the
    site/year/month partition keys prune whole folders. Dates: 'YYYY-MM-DD', date or datetime;
    a date-only `until` includes that day.
    """
    ensure_dataset(out, create=False)
    check_sites(out, site)
    cols = list(columns) if columns else list(ARTICLE_SCHEMA.names)
    unknown = [c for c in cols if c not in DATASET_SCHEMA.names]
    if unknown:
        raise UsageError(f"unknown column(s) {', '.join(unknown)}: see docs/schema.md")
    flt = article_filter(site, since, until, category)
    need = list(dict.fromkeys(cols + list(_KEY) + ["published", "fetched_at"]))

    def read() -> pa.Table | None:
        dataset = open_dataset(out)
        if dataset is None:
            return None
        table = dataset.to_table(columns=need, filter=flt)
        if not history:
            current = newest_keys(dataset, site)
            table = table.filter(pc.is_in(_key_strings(table), value_set=current))
        return table

    table = _retry_listing(read)
    if table is None:
        return pa.schema([DATASET_SCHEMA.field(c) for c in cols]).empty_table().to_pandas()
    table = _unique_versions(table)  # a file present twice (see validate) still gives one row
    table = table.sort_by([("site", "ascending"), ("published", "ascending"),
                           ("post_id", "ascending"), ("fetched_at", "ascending")])
    # nullable int32 (http_status) stays integer instead of turning float when a value is missing
    return table.select(cols).to_pandas(types_mapper={pa.int32(): _pd_int32()}.get)


def _pd_int32():
    import pandas as pd

    return pd.Int32Dtype()


# --------------------------------------------------------------------------- compact

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


def _swap_partition(out: Path, folder: Path, tables: list[pa.Table], old: list[Path], stamp: str) -> list[Path]:
    """Replace the files `old` of folder by tables, so a reader sees the old set or the new one.

    With RENAME_EXCHANGE: the new files are built in a staging folder that is swapped with the
    partition folder in one step; files a writer linked into the old folder meanwhile are moved
    over. Without it: new files are renamed in first, then the old ones removed, so a reader
    may briefly see both (identical rows, which `load` collapses) but never neither.
    """
    staging = out / TMP / f"compact-{stamp}-{secrets.token_hex(3)}"
    staging.mkdir(parents=True)
    names = []
    for i, table in enumerate(tables):
        name = f"part-compact-{stamp}-{i:05d}.parquet"
        _write_parquet(table, out / TMP, staging / name)
        names.append(name)
    old_names = {p.name for p in old}
    if _exchange(staging, folder):
        for name in os.listdir(staging):  # arrived in the old folder after we listed it
            if name not in old_names and name.endswith(".parquet") and not name.startswith("."):
                os.replace(staging / name, folder / name)
        _fsync_dir(folder)
        shutil.rmtree(staging, ignore_errors=True)
    else:
        for name in names:
            os.replace(staging / name, folder / name)
        _fsync_dir(folder)
        for p in old:
            p.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / n for n in names]


def _partition_folders(root: Path, depth: int, site: Any, partition: str | None) -> list[Path]:
    folders = sorted({f.parent for f in dataset_files(root.parent, root.name)})
    if site is not None:
        sites = {site} if isinstance(site, str) else set(site)
        folders = [f for f in folders if partition_values(f, root).get("site") in sites]
    if partition:
        want = Path(partition.strip("/"))
        folders = [f for f in folders if f.relative_to(root) == want or want in f.relative_to(root).parents]
    return [f for f in folders if len(f.relative_to(root).parts) == depth]


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


def _chunks(table: pa.Table) -> list[pa.Table]:
    return [table.slice(i, COMPACT_FILE_ROWS) for i in range(0, max(table.num_rows, 1), COMPACT_FILE_ROWS)]


def compact(out: str | os.PathLike = "data", keep_history: bool = False, site: Any = None,
            partition: str | None = None) -> dict[str, Any]:
    """Rewrite each partition into few files, folding old versions unless keep_history.

    Works partition by partition (``partition='site=a.cn/year=2024/month=03'`` limits it to one,
    so several compactions can run in parallel on different partitions). Returns a summary.
    """
    # never create: compacting a mistyped --out must not leave a new empty dataset behind
    path = ensure_dataset(out, create=False)
    check_sites(path, site)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    summary = {"partitions": 0, "files_before": 0, "files_after": 0, "rows_before": 0,
               "rows_after": 0, "versions_folded": 0, "duplicates_removed": 0,
               "link_files_before": 0, "link_files_after": 0, "link_rows_removed": 0}
    dataset = open_dataset(path)
    if dataset is None:
        return summary
    # versions of one post can sit in different month partitions (a re-resolved date), so the
    # current version is decided over the whole site, not inside each partition
    stored, newest = version_keys(dataset, site)
    current = None if keep_history else newest
    if partition and not partition.startswith("site="):
        raise UsageError(f"bad partition {partition!r}: use site=<host>/year=<YYYY>/month=<MM>")
    a_root = path / ARTICLES
    for folder in _partition_folders(a_root, 3, site, partition):
        files = _visible_parquet(folder)
        values = partition_values(folder, a_root)
        table = _read_files(files, FILE_SCHEMA)
        n0 = table.num_rows
        full = table.append_column("site", pa.array([values["site"]] * n0, pa.string()))
        deduped = _unique_versions(full)
        dups = n0 - deduped.num_rows
        kept = deduped
        if current is not None:
            # fold only versions known superseded when we started: rows a concurrent crawl
            # wrote since then are not in `stored` and stay
            key = _key_strings(deduped)
            old_version = pc.and_(pc.is_in(key, value_set=stored), pc.invert(pc.is_in(key, value_set=current)))
            kept = deduped.filter(pc.invert(old_version))
        folded = deduped.num_rows - kept.num_rows
        summary["partitions"] += 1
        summary["files_before"] += len(files)
        summary["rows_before"] += n0
        summary["duplicates_removed"] += dups
        summary["versions_folded"] += folded
        if len(files) <= 1 and dups == 0 and folded == 0:
            summary["files_after"] += len(files)
            summary["rows_after"] += n0
            continue
        kept = kept.sort_by([("post_id", "ascending"), ("fetched_at", "ascending")]).select(FILE_SCHEMA.names)
        new = _swap_partition(path, folder, _chunks(kept) if kept.num_rows else [], files, stamp)
        summary["files_after"] += len(new)
        summary["rows_after"] += kept.num_rows
    if partition and "/" in partition.strip("/"):
        # a month partition: links (partitioned by site only) are left to a site-wide compact,
        # so parallel compactions of one site's months never rewrite the same links folder
        return summary
    summary["link_files_before"], summary["link_files_after"], summary["link_rows_removed"] = (
        _compact_links(path, site, partition, stored, current, stamp))
    return summary


def _compact_links(path: Path, site: Any, partition: str | None, stored: pa.Array,
                   current: pa.Array | None, stamp: str) -> tuple[int, int, int]:
    l_root = path / LINKS
    if partition:
        site = partition.strip("/").split("/")[0].partition("=")[2]
    before = after = removed = 0
    for folder in _partition_folders(l_root, 1, site, None):
        files = _visible_parquet(folder)
        table = _read_files(files, LINK_SCHEMA)
        n0 = table.num_rows
        # a flush repeated after a crash writes the same links again: keep one of each
        ident = pc.binary_join_element_wise(
            table.column("src_site"), pc.cast(table.column("src_post_id"), pa.string()),
            table.column("content_hash"), table.column("kind"),
            pc.cast(table.column("position"), pa.string()), table.column("dst_url"), "\x1f")
        _, first = np.unique(ident.to_numpy(zero_copy_only=False), return_index=True)
        table = table.take(pa.array(np.sort(first))) if len(first) < n0 else table
        if current is not None and table.num_rows:
            # drop links of superseded versions only; links of versions not stored when the
            # compaction started are kept, since a crawl may be writing their articles right now
            key = _key_strings_links(table)
            old_version = pc.and_(pc.is_in(key, value_set=stored), pc.invert(pc.is_in(key, value_set=current)))
            table = table.filter(pc.invert(old_version))
        before += len(files)
        removed += n0 - table.num_rows
        if len(files) <= 1 and table.num_rows == n0:
            after += len(files)
            continue
        table = table.sort_by([("src_post_id", "ascending"), ("kind", "ascending"), ("position", "ascending")])
        after += len(_swap_partition(path, folder, _chunks(table) if table.num_rows else [], files, stamp))
    return before, after, removed


def _key_strings_links(table: pa.Table) -> pa.Array:
    return pc.binary_join_element_wise(
        table.column("src_site"), pc.cast(table.column("src_post_id"), pa.string()),
        table.column("content_hash"), "\x1f")
