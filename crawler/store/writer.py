"""Writing the dataset: ``DatasetWriter`` buffers rows per partition, writes complete files, and
merges a run's files per partition when it closes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.clock import to_utc
from crawler.items import (ARTICLE_SCHEMA, EXTRACTOR_VERSION, FACT_KEYS, LINK_ROWS, LINK_SCHEMA, content_hash,
                           fact_rows, link_rows, record_hash)
from crawler.store import files as _files
from crawler.store.files import COMPRESSION, ROW_GROUP_ROWS, _fsync_dir, _read_files
from crawler.store.known import KnownPosts, known_posts
from crawler.store.layout import (
    ARTICLES,
    FACT_FILE_SCHEMAS,
    FACT_KINDS,
    FILE_SCHEMA,
    LINKS,
    TMP,
    check_run_id,
    ensure_dataset,
    partition_dir,
    partition_of,
    partition_values,
)

logger = logging.getLogger(__name__)

#: A crawl's (and reextract's) writer buffers up to this many times flush_rows rows over all
#: partitions (PARKCORPUS_BUFFER_ROWS=0): posts arrive in no partition order, and a smaller
#: bound writes every partition several times (a 1,000-post run over ~200 partitions wrote ~300
#: small files, each fsynced, then merged them); at 4 x 500 such a run writes one file per
#: partition. A buffered row holds ~15 KB (measured on replica posts of ~520 characters).
BUFFER_FACTOR = 4


def buffer_rows(flush_rows: int, setting: int | None = 0) -> int:
    """The rows a crawl's writer buffers over all partitions: setting, or BUFFER_FACTOR x flush_rows when 0/None."""
    flush_rows = max(1, int(flush_rows))
    return max(flush_rows, int(setting or 0) or BUFFER_FACTOR * flush_rows)


#: The columns that tell one written version of a post from another: what the search index's sync
#: reads of a new file (crawler.search), or takes from written_keys for the files a crawl wrote.
VERSION_KEYS = ("site", "post_id", "record_hash", "fetched_at", "extracted_at")


def stamp_version(record: dict[str, Any]) -> dict[str, Any]:
    """Fill in, in place, the version fields every written row has: content_hash and record_hash
    from the text, fetched_at/extracted_at in UTC (now when missing). `_normalise` runs it on each
    row; the writer pipeline runs it before the write too, so what the indexes are fed equals what
    the file holds (a search sync takes another value for another version)."""
    record["content_hash"] = record.get("content_hash") or content_hash(record.get("text") or "")
    record["record_hash"] = record.get("record_hash") or record_hash(record)
    for name in ("fetched_at", "extracted_at"):
        record[name] = to_utc(record.get(name)) or dt.datetime.now(dt.timezone.utc)
    return record


#: the article columns, and those of them that are lists, read once: iterating a pyarrow Schema
#: makes a Field object per column per call (half of _normalise's time, once per written row)
_ARTICLE_NAMES = tuple(ARTICLE_SCHEMA.names)
_LIST_NAMES = tuple(field.name for field in ARTICLE_SCHEMA if pa.types.is_list(field.type))


def _normalise(record: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    rec = {name: record.get(name) for name in _ARTICLE_NAMES}
    for name in ("url", "site", "post_id"):
        if rec[name] is None:
            raise ValueError(f"record without {name}: {record.get('url')!r}")
    for name in _LIST_NAMES:
        if rec[name] is None:
            rec[name] = []
    text = rec["text"] or ""
    rec["text"] = text
    rec["title"] = rec["title"] or ""
    stamp_version(rec)
    rec["run_id"] = rec["run_id"] or run_id
    rec["published"] = to_utc(rec["published"])
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
    if record.get(LINK_ROWS) is not None:
        rec[LINK_ROWS] = record[LINK_ROWS]
    for kind in FACT_KEYS:  # the post's parcels/listings rows (crawler.facts), written beside links
        if kind in record:
            rec[kind] = record[kind]
    return rec


class TableSlice(NamedTuple):
    """Rows offset..offset+length of the table shipped as blob (``ship_table``).

    A flush's article files are consecutive slices of one table: shipped once to a worker (pickle
    keeps one copy of a blob that several jobs share), not once per file.
    """

    blob: Any
    offset: int
    length: int


def write_files(jobs: list[tuple[pa.Table | pa.Buffer | TableSlice, Path, Path]]
                ) -> list[tuple[Path | None, OSError | None]]:
    """_write_parquet(table, tmpdir, target) for each job, in order, stopping at the first OSError.

    [(final path, None) ..., (None, the OSError)] (crawler.store.files.write_parquet_batch: the
    files' and folders' fsyncs done together): what DatasetWriter runs, here or in a worker
    process. A job's table may come as an Arrow IPC stream (``ship_table``) or a TableSlice of
    one: how a writer sends it to a worker.
    """
    opened: dict[int, pa.Table] = {}
    return _files.write_parquet_batch([(_unship_table(table, opened), tmpdir, target)
                                       for table, tmpdir, target in jobs])


def ship_table(table: pa.Table) -> pa.Buffer:
    """table as one Arrow IPC stream: pickling a Table costs ~3 ms a file of 40 columns (per-array
    Python work on both sides), its IPC stream ~0.15 ms."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue()


def _unship_table(table: pa.Table | pa.Buffer | TableSlice, opened: dict[int, pa.Table] | None = None) -> pa.Table:
    """The Table a job carries; opened caches the blobs read so far (by id: one per shipped table)."""
    if isinstance(table, TableSlice):
        key = id(table.blob)
        whole = (opened or {}).get(key)
        if whole is None:
            whole = _unship_table(table.blob)
            if opened is not None:
                opened[key] = whole
        return whole.slice(table.offset, table.length)
    if isinstance(table, pa.Table):
        return table
    with pa.ipc.open_stream(table) as reader:
        return reader.read_all()


def _shipped(jobs: list[tuple[pa.Table, Path, Path]], whole: pa.Table | None = None) -> list[tuple[Any, Path, Path]]:
    """jobs with their tables as IPC streams for a worker: one stream of whole when they are its slices."""
    if whole is None:
        return [(ship_table(table), tmpdir, target) for table, tmpdir, target in jobs]
    blob = ship_table(whole)
    out, offset = [], 0
    for table, tmpdir, target in jobs:
        out.append((TableSlice(blob, offset, table.num_rows), tmpdir, target))
        offset += table.num_rows
    return out


def _link_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The links rows of a normalised record: the ones made ahead (LINK_ROWS) when they still match it."""
    made = rec.get(LINK_ROWS)
    if made is not None and all(
            r["run_id"] == rec["run_id"] and r["content_hash"] == rec["content_hash"]
            and to_utc(r["fetched_at"]) == rec["fetched_at"] and r["src_post_id"] == rec["post_id"]
            for r in made[:1]):
        return made
    return link_rows(rec)


#: A flush written here (no offload) writes its article partitions in this many consecutive
#: chunks: each chunk's files are encoded on a helper thread (Parquet encoding releases the GIL)
#: while the next chunk's Table is built, instead of every file waiting for the whole Table
#: (bench/write.py, 1,000 posts: close() 0.67-0.78 -> 0.47-0.53 s). Through the workers a flush
#: stays one chunk: their writes already keep both cores busy, and more, smaller messages
#: measured no faster.
ARTICLE_CHUNKS = 4


def _chunks(items: list, n: int) -> list[list]:
    """items in at most n consecutive runs of about equal row counts (items: (key, rows) pairs)."""
    total = sum(len(rows) for _, rows in items)
    out: list[list] = []
    size = max(1, -(-total // max(1, n)))
    run: list = []
    count = 0
    for item in items:
        run.append(item)
        count += len(item[1])
        if count >= size:
            out.append(run)
            run, count = [], 0
    if run:
        out.append(run)
    return out


class DatasetWriter:
    """Buffers article records per partition and writes them as complete Parquet files.

    A partition's rows are written as one file when it holds ``flush_rows`` rows; when all
    buffers together hold more than ``max_buffer_rows`` (default flush_rows, so a file appears
    after at most that many rows; a crawl and reextract pass ``buffer_rows(flush_rows)``, 4 x
    flush_rows, PARKCORPUS_BUFFER_ROWS), the partitions least recently added to are written,
    until half the buffer is free; memory stays bounded by max_buffer_rows rows. A crawl walks the site roughly by date, so a
    month it has left behind often goes out as one file; when rows arrive in no partition order a
    partition is written several times. ``flush()`` writes everything buffered; ``close()`` does,
    then (with ``consolidate``, the default) merges the files this writer wrote into one partition
    (or one site's links, parcels or listings folder) into one file, so a run ends with one article
    file per partition it touched and one links (parcels, listings) file per site (see ``_consolidate``). ``files`` lists the files of
    this writer in the dataset (the merged ones after close); ``flushes`` counts the writes.

    ``add(record)`` returns ``"new"``, ``"changed"`` (a new version of a stored post) or
    ``"unchanged"`` (same (site, post_id, record_hash) already stored, or the same content_hash
    for a row written before record_hash existed: nothing written).
    ``known`` is the crawl state (``known_posts(out)`` when not given); it is updated as rows
    are added, so one writer never writes a triple twice. ``archive`` (a WarcArchive) is
    flushed before every Parquet file, so a row's ``warc_record_id`` is on disk before the row.
    """

    def __init__(self, out: str | os.PathLike, run_id: str, flush_rows: int = 500,
                 archive: Any = None, known: KnownPosts | None = None,
                 max_buffer_rows: int | None = None, consolidate: bool = True,
                 offload: Callable[..., list] | None = None):
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
        # offload(write_files, jobs) -> write_files(jobs)'s results, computed elsewhere (a crawl's
        # extraction workers: Parquet encoding and zstd cost ~3 ms per file); None: here
        self.offload = offload
        self.flushes = 0
        self.files: list[Path] = []
        # the version keys of the article files written (see written_keys): key tables, one per
        # flush, and file -> (first row in their concatenation, rows, size, mtime_ns as written)
        self._key_tables: list[pa.Table] = []
        self._full: list[tuple[str, int, int]] = []  # partitions add(write=False) filled to flush_rows
        self._key_of: dict[Path, tuple[int, int, int, int]] = {}
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "rows_written": 0, "links_written": 0,
                       "parcels_written": 0, "listings_written": 0}
        self.closed = False

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def add(self, record: Mapping[str, Any], write: bool = True) -> str:
        """Buffer one article record; returns new, changed or unchanged.

        write: write what is due now (a partition at flush_rows rows; past max_buffer_rows, the
        least recently used partitions until half the buffer is free). write=False leaves that
        to the caller, who writes `take(due())` with `write_batch`, e.g. on another thread while
        its event loop goes on (the crawl's writer pipeline).
        """
        if self.closed:
            raise RuntimeError("DatasetWriter is closed")
        rec = _normalise(record, self.run_id)
        site, pid, h = rec["site"], int(rec["post_id"]), rec["record_hash"]
        if self.known.has_version(site, pid, h, rec["content_hash"]):
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
            if not write:
                self._full.append(key)
                return status
            self._write_partitions([key])
        if write and self._pending > self.max_buffer_rows:
            self._write_partitions(self._evictions())
        return status

    def _evictions(self, freed: int = 0, skip: Collection[tuple[str, int, int]] = ()) -> list[tuple[str, int, int]]:
        """The partitions the crawl has moved past, least recently used first, until half the buffer
        is free (freed: rows already being written, those of skip)."""
        evict = []
        for k, part_rows in self._parts.items():
            if self._pending - freed <= self.max_buffer_rows // 2:
                break
            if k not in skip:
                evict.append(k)
                freed += len(part_rows)
        return evict

    def due(self) -> list[tuple[str, int, int]]:
        """The partitions add(write=False) left that are due: those at flush_rows rows, then, while
        the buffer holds more than max_buffer_rows, the least recently used ones (as add writes them)."""
        full = [k for k in dict.fromkeys(self._full) if len(self._parts.get(k, ())) >= self.flush_rows]
        self._full = []
        freed = sum(len(self._parts[k]) for k in full)
        if self._pending - freed > self.max_buffer_rows:  # still over once the full ones are written
            return full + self._evictions(freed, set(full))
        return full

    def take(self, keys: list[tuple[str, int, int]]) -> dict[tuple[str, int, int], list[dict[str, Any]]]:
        """Take these partitions' rows out of the buffer, for write_batch (they no longer count as pending)."""
        batch = {k: self._parts.pop(k) for k in keys if self._parts.get(k)}
        self._pending -= sum(len(rows) for rows in batch.values())
        return batch

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
        return self.write_batch(self.take(keys))

    def write_batch(self, batch: dict[tuple[str, int, int], list[dict[str, Any]]]) -> list[Path]:
        """Write rows taken from the buffer (`take`): one links file per site first, then one
        articles file per partition; returns the files written.

        It touches neither the buffer nor the crawl state, so it may run on another thread while
        add() buffers more rows, provided nothing else writes meanwhile (one write_batch at a
        time, no archive append during it: the archive is flushed here).
        """
        if not batch:
            return []
        if self.archive is not None and hasattr(self.archive, "flush"):
            self.archive.flush()
        n = f"{self._seq:05d}"
        self._seq += 1
        self.flushes += 1
        tmpdir = self.out / TMP
        # links first: if the process dies between the two, the posts are not yet stored, get
        # fetched again, and compact folds the repeated link rows; the other order would lose links
        first: list[tuple[pa.Table, Path, Path]] = []
        counted: list[tuple[str, int]] = []
        by_site: dict[str, list[dict[str, Any]]] = {}
        for (site, _, _), rows in batch.items():
            by_site.setdefault(site, []).extend(link for rec in rows for link in _link_rows(rec))
        for site, links in sorted(by_site.items()):
            if not links:
                continue
            table = pa.Table.from_pylist(links, schema=LINK_SCHEMA)
            first.append((table, tmpdir, self.out / LINKS / f"site={site}" / f"part-{self.run_id}-{n}.parquet"))
            counted.append(("links_written", len(links)))
        for kind in FACT_KINDS:
            by_site = {}
            for (site, _, _), rows in batch.items():
                by_site.setdefault(site, []).extend(r for rec in rows for r in fact_rows(rec, kind))
            for site, facts in sorted(by_site.items()):
                if not facts:
                    continue
                # the rows carry the article version's run_id and fetched_at, so a reader keeps the
                # fact rows of the newest version of each post (crawler.store.reading.load_facts)
                schema = FACT_FILE_SCHEMAS[kind]
                table = pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in facts], schema=schema)
                first.append((table, tmpdir, self.out / kind / f"site={site}" / f"part-{self.run_id}-{n}.parquet"))
                counted.append((f"{kind}_written", len(facts)))
        # every write runs on a helper thread (Parquet encoding releases the GIL); leaving the
        # block waits for any still running, so no write outlives an error
        with ThreadPoolExecutor(max_workers=ARTICLE_CHUNKS + 1, thread_name_prefix="parkcorpus-write") as threads:
            links = threads.submit(self._run_jobs, first)
            stages = []
            for chunk in _chunks(sorted(batch.items()), ARTICLE_CHUNKS if self.offload is None else 1):
                for _, rows in chunk:
                    rows.sort(key=lambda r: (r["post_id"], r["fetched_at"]))
                # one Table for the chunk, a slice of it per partition: building ~200 small Tables
                # costs ~3x building one (per-column set-up), and the slices write byte-identical files
                whole = pa.Table.from_pylist([r for _, rows in chunk for r in rows], schema=FILE_SCHEMA)
                articles: list[tuple[pa.Table, Path, Path]] = []
                counted_articles: list[tuple[str, int]] = []
                offset = 0
                for (site, year, month), rows in chunk:
                    target = self.out / ARTICLES / partition_dir(site, year, month) / f"part-{self.run_id}-{n}.parquet"
                    articles.append((whole.slice(offset, len(rows)), tmpdir, target))
                    offset += len(rows)
                    counted_articles.append(("rows_written", len(rows)))
                if links is not None:  # the links and facts files are in place before any article file
                    written, error = self._collect(links.result(), counted)
                    links = None
                    if error is not None:
                        raise error
                # written while the next chunk's Table is built
                stages.append((threads.submit(self._run_jobs, articles, whole), articles, counted_articles,
                               whole, [site for (site, _, _), _ in chunk]))
            # a failed chunk does not hide the files the others wrote: each is listed, then the first error raised
            error = None
            for future, jobs, counted, whole, sites in stages:
                try:
                    done, exc = self._collect(future.result(), counted)
                except Exception as exc_:  # noqa: BLE001 - the offload itself failed
                    done, exc = [], exc_
                written += done
                self._keep_keys(whole, jobs, sites, done)
                error = error or exc
            if error is not None:
                raise error
            return written

    def _keep_keys(self, whole: pa.Table, jobs: list[tuple[pa.Table, Path, Path]], sites: list[str],
                   done: list[Path]) -> None:
        """Remember the version keys of the article files of one flush (jobs' files, their sites, in order)."""
        if not isinstance(self.out, Path):
            return  # an object store has no search index to sync
        keys = whole.select([c for c in VERSION_KEYS if c in whole.column_names])
        if "site" not in keys.column_names:  # a partition key: the files do not hold it
            site = pa.array([s for s, (part, _, _) in zip(sites, jobs) for _ in range(part.num_rows)], pa.string())
            keys = keys.append_column("site", site)
        offset = sum(t.num_rows for t in self._key_tables)  # where this flush's keys start
        self._key_tables.append(keys)
        for (part, _tmp, _target), path in zip(jobs, done):
            try:
                st = path.stat()
                self._key_of[path] = (offset, part.num_rows, st.st_size, st.st_mtime_ns)
            except OSError:  # gone already: the sync finds it or not
                pass
            offset += part.num_rows

    def written_keys(self) -> tuple[pa.Table | None, dict[str, tuple[int, int, int, int]]]:
        """The version keys (VERSION_KEYS) of the article files this writer wrote, for the search sync.

        (keys, {path under articles/: (first row, rows, size, mtime_ns)}): the rows of keys a file
        holds, in its order, with the file's size and mtime as written; a merged file's are the
        ones its merge wrote. Everything on an object store is left out: the sync reads those files.
        """
        if not self._key_of:
            return None, {}
        root = self.out / ARTICLES
        files = {path.relative_to(root).as_posix(): entry for path, entry in self._key_of.items()}
        return pa.concat_tables(self._key_tables), files

    def _run_jobs(self, jobs: list[tuple[pa.Table, Path, Path]], whole: pa.Table | None = None
                  ) -> list[tuple[Path | None, OSError | None]]:
        """write_files(jobs) through offload or here. whole: the Table the jobs' tables are
        consecutive slices of (shipped once)."""
        if not jobs:
            return []
        if self.offload is not None:
            return self.offload(write_files, _shipped(jobs, whole))
        return write_files(jobs)

    def _collect(self, results: list[tuple[Path | None, OSError | None]], counted: list[tuple[str, int]]
                 ) -> tuple[list[Path], OSError | None]:
        """Count and list the files a stage wrote; its first OSError (disk full ...), if any."""
        written: list[Path] = []
        for (path, exc), (key, rows) in zip(results, counted):
            if exc is not None:
                self.files.extend(written)
                return written, exc
            written.append(path)
            self.counts[key] += rows
        self.files.extend(written)
        return written, None

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
        into the same folder (Scrapyd jobs) are never touched. One folder at a time (with
        ``offload``, the folders split over the extraction workers, each merging its share one
        at a time), streamed in row groups, so memory stays bounded. Per folder (see
        ``_merge_files``): the merged file
        is written complete under ``.tmp/``, exchanged atomically with the last of the files it
        replaces (it keeps that file's name; the name of a file that vanished, e.g. taken by a
        concurrent ``compact``, is never re-created), then the other files are removed. Between
        the exchange and the removals a reader sees some rows twice, identical and of the same
        run, which ``load``/``known_posts`` collapse and ``validate`` reports as a warning only;
        a crash there leaves that state (``compact`` or ``validate --repair`` folds it). A
        failure (disk full) keeps the files as they are and stops merging (the share of the
        worker it happened in).
        """
        groups: dict[Path, list[Path]] = {}
        for f in self.files:
            groups.setdefault(f.parent, []).append(f)
        final: list[Path] = []
        jobs: list[tuple[Path, list[Path], pa.Schema, list[tuple[str, str]]]] = []
        # article partitions first (sorted, so the order is predictable), then links, parcels, listings
        for folder, files in sorted(groups.items(), key=lambda kv: (self.out / ARTICLES not in kv[0].parents, kv[0])):
            if len(files) < 2:
                final.extend(files)
                continue
            for f in files:  # the merged file keeps one of these names: the merge gives its keys
                self._key_of.pop(f, None)
            jobs.append((self.out, files, *self._schema_of(folder)))
        if self.offload is not None and len(jobs) > 1:
            # through the workers, split over them: each merge reads, sorts and writes its folder's
            # files, which the crawl process otherwise did one folder after another alone
            results = self.offload(merge_folders, jobs)
            # (merge_folders answers every job; an offload that answered fewer leaves the rest here,
            # so no folder's files drop out of self.files)
            results += merge_folders(jobs[len(results):])
        else:
            results = merge_folders(jobs)
        for (_out, files, _schema, _order), (left, exc, keys) in zip(jobs, results):
            final.extend(left)
            if keys is not None and self.out / ARTICLES in files[-1].parents:
                # the merged file's keys, in its row order (merge_folders), as one more flush's
                site = partition_values(files[-1], self.out / ARTICLES)["site"]
                self._keep_keys(keys, [(keys, self.out / TMP, files[-1])], [site], [files[-1]])
            if exc is not None:
                logger.warning("could not merge the %d files of %s (%s): they stay as written; "
                               "`parkcorpus compact` merges them later", len(files), files[0].parent,
                               exc.strerror or exc)
        self.files = final

    def _schema_of(self, folder: Path) -> tuple[pa.Schema, list[tuple[str, str]]]:
        """The file schema and row order of the dataset folder holds files of."""
        for kind in FACT_KINDS:
            if self.out / kind in folder.parents:
                return FACT_FILE_SCHEMAS[kind], _ARTICLE_ORDER
        if self.out / LINKS in folder.parents:
            return LINK_SCHEMA, _LINK_ORDER
        return FILE_SCHEMA, _ARTICLE_ORDER


_ARTICLE_ORDER = [("post_id", "ascending"), ("fetched_at", "ascending")]
_LINK_ORDER = [("src_post_id", "ascending"), ("kind", "ascending"), ("position", "ascending")]
#: A merge writes a row group when it holds this many bytes of Arrow data (or ROW_GROUP_ROWS rows).
MERGE_GROUP_BYTES = 32 * 1024 * 1024


def merge_folders(jobs: list[tuple[Path, list[Path], pa.Schema, list[tuple[str, str]]]]
                  ) -> list[tuple[list[Path], OSError | None, pa.Table | None]]:
    """_merge_files(out, files, schema, order) for each job, in order: [(the files left, None or
    the OSError, the merged file's version keys or None)], one per job. After an OSError (disk
    full) the later folders are not merged (their files are left as they are); a folder whose
    files a concurrent compact took is skipped. What DatasetWriter runs at close, here or in a
    worker process.

    The keys (an article folder merged into one local file): its VERSION_KEYS columns but site,
    row for row in the file's order, which the writer hands to the search sync so that it need
    not read the merged file back (DatasetWriter.written_keys)."""
    out: list[tuple[list[Path], OSError | None, pa.Table | None]] = []
    failed = False
    for root, files, schema, order in jobs:
        if failed:
            out.append((files, None, None))
            continue
        keys: list[pa.Table] | None = [] if set(VERSION_KEYS) - {"site"} <= set(schema.names) else None
        try:
            left = _merge_files(root, files, schema, order, keys)
            merged = keys is not None and left == [files[-1]] and not _files.is_object(files[-1])
            out.append((left, None, pa.concat_tables(keys) if merged and keys else None))
        except FileNotFoundError:
            # a concurrent compact swapped this folder's files out: nothing of ours to merge
            out.append(([f for f in files if f.exists()], None, None))
        except OSError as exc:
            failed = True
            out.append(([f for f in files if f.exists()], exc, None))
    return out


def _merge_files(out: Path, files: list[Path], schema: pa.Schema, order: list[tuple[str, str]],
                 keys: list[pa.Table] | None = None) -> list[Path]:
    """Replace files (one folder, one run) by one file holding all their rows; returns what is left.

    Streams: at most one row group (ROW_GROUP_ROWS rows or MERGE_GROUP_BYTES) is held, sorted by
    `order` within it. Order of steps, each safe to die after: write under .tmp/ and fsync;
    exchange with files[-1] (a reader sees the old file or the merged one under that name);
    delete the others. Without RENAME_EXCHANGE: rename over files[-1] after checking it exists.
    keys: a list that gets the VERSION_KEYS columns (but site) of each row group written, in order.
    """
    keep = files[-1]
    if _files.is_object(keep):
        return _merge_objects(files, schema, order)
    tmpdir = out / TMP
    tmpdir.mkdir(parents=True, exist_ok=True)
    tmp = tmpdir / f"{keep.name}.merge-{secrets.token_hex(4)}.tmp"
    try:
        with pq.ParquetWriter(tmp, schema, **_files.writer_options(schema)) as pw:  # merged: never "small"
            chunk: list[pa.Table] = []
            rows = size = 0

            def emit() -> None:
                table = pa.concat_tables(chunk).sort_by(order)
                pw.write_table(table, row_group_size=ROW_GROUP_ROWS)
                if keys is not None:
                    keys.append(table.select([c for c in VERSION_KEYS if c != "site"]))
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
            if not _files._exchange(tmp, keep):  # no RENAME_EXCHANGE here: rename over it, if still there
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



def _merge_objects(files: list[Any], schema: pa.Schema, order: list[tuple[str, str]]) -> list[Any]:
    """_merge_files on an object store: there is no rename, so the merged object is uploaded under
    a new name (files[-1]'s name with a counter: a PUT never overwrites), then the inputs are
    deleted. In between a reader sees every row twice, identical, which readers collapse.
    """
    keep = files[-1]
    tmp = keep.loc.local_tmp(keep.name)
    try:
        table = _read_files(files, schema, threads=False).sort_by(order)
        _files.encode(table, tmp, compression=COMPRESSION)  # merged: zstd throughout, whatever its size
        del table
        if not keep.exists():  # a compaction took this folder's files meanwhile: never re-create
            logger.info("%s vanished while merging (compacted meanwhile?): merge skipped", keep)
            return [f for f in files if f.exists()]
        merged = _files.ObjectPath(keep.loc, keep.loc.put_file(keep.rel, tmp), is_dir=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for f in files:
        f.unlink(missing_ok=True)
    return [merged]
