"""`parkcorpus export`: the newest version of each article as JSON Lines, CSV or one Parquet file.

Streams batch by batch from the pyarrow dataset (filters pushed down, partitions pruned), so
memory holds one batch plus the (site, post_id, content_hash) keys of the current versions,
never the corpus. The output is written under a temporary name and renamed when complete; the
target must be a regular file (or new) outside the dataset (crawler.safefile.check_output_target):
a FIFO, device or symlink is never replaced, and an export never lands in the corpus it reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import secrets
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crawler.errors import DatasetError, InputError, UsageError
from crawler.items import ARTICLE_SCHEMA
from crawler.safefile import check_output_target, open_state_file
from crawler.store import (
    COMPRESSION,
    DATASET_SCHEMA,
    ROW_GROUP_ROWS,
    _key_strings,
    article_filter,
    check_sites,
    ensure_dataset,
    newest_keys,
    read_snapshot,
)
from crawler.store.layout import ARTICLES, dataset_files, files_dataset
from crawler.store.reading import RELIST_PAUSES, _damage, _damaged_message, pinned, region_filter

FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
BATCH_ROWS = 2_000


def format_for(to: str, fmt: str | None) -> str:
    """The export format: fmt when given, else from the file suffix, else jsonl."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    return _SUFFIXES.get(Path(str(to)).suffix.lower(), "jsonl")


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=_json_value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def export(out: str | os.PathLike = "data", to: str | os.PathLike = "-", fmt: str | None = None,
           site: Any = None, since: Any = None, until: Any = None, category: Any = None,
           columns: Iterable[str] | None = None, history: bool = False,
           batch_rows: int = BATCH_ROWS, table: str = "articles", region: Any = None,
           dedup: bool = False) -> dict[str, Any]:
    """Write the filtered articles, parcels or listings (newest version per post unless history) to `to`;
    region and dedup (articles only) as in crawler.store.load."""
    fmt = format_for(str(to), fmt)
    if table != "articles":
        if region or dedup:
            raise UsageError("--region and --dedup select articles only")
        return _export_facts(out, to, fmt, table, site, since, until, category, columns, history, batch_rows)
    cols = list(columns) if columns else list(ARTICLE_SCHEMA.names)
    unknown = [c for c in cols if c not in DATASET_SCHEMA.names]
    if unknown:
        raise UsageError(f"unknown column(s) {', '.join(unknown)}: see docs/schema.md")
    if str(to) == "-" and fmt == "parquet":
        raise UsageError("Parquet cannot be written to stdout: pass --to FILE.parquet")
    flt = article_filter(site, since, until, category)  # bad dates fail before any file is touched
    rflt = region_filter(region)
    flt = rflt if flt is None else flt if rflt is None else flt & rflt
    path = ensure_dataset(out, create=False)
    target = None if str(to) == "-" else check_output_target(to, path)
    check_sites(path, site)
    if category:
        # damaged="error": a partial export looks complete to whoever reads it later
        read_snapshot(path, lambda d: check_categories(d, site, category), damaged="error")
    schema = pa.schema([DATASET_SCHEMA.field(c) for c in cols])
    if dedup:
        keyed = list(dict.fromkeys(cols + ["site", "post_id"]))
        batches = _without_copies(path, flt, site, _batches(path, keyed, flt, site, history, batch_rows), cols)
    else:
        batches = _batches(path, cols, flt, site, history, batch_rows)
    if str(to) == "-":
        rows = _write_text(batches, fmt, cols, sys.stdout)
        return {"rows": rows, "to": "-", "format": fmt}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL|O_NOFOLLOW: the temporary file is ours, never a link someone placed
    fd, _ = open_state_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if fmt == "parquet":
            rows = 0
            with open(fd, "wb") as raw, pq.ParquetWriter(raw, schema, compression=COMPRESSION,
                                                         write_page_checksum=True) as writer:
                for batch in batches:
                    # cast: files read back with Parquet's list item names and relaxed nullability
                    writer.write_table(pa.Table.from_batches([batch]).cast(schema),
                                       row_group_size=ROW_GROUP_ROWS)
                    rows += batch.num_rows
        else:
            with open(fd, "w", encoding="utf-8", newline="") as fh:
                rows = _write_text(batches, fmt, cols, fh)
        check_output_target(to, path)  # still a regular file (or absent) just before the rename
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"rows": rows, "to": str(target), "format": fmt}


def _export_facts(out, to, fmt: str, table: str, site: Any, since: Any, until: Any, category: Any,
                  columns: Any, history: bool, batch_rows: int) -> dict[str, Any]:
    """`export --table parcels|listings`: the fact rows of the current article versions (crawler.store.facts_table)."""
    from crawler.store import facts_table

    if category:
        raise UsageError("--category filters articles only: filter parcels and listings by --site/--since/--until")
    if str(to) == "-" and fmt == "parquet":
        raise UsageError("Parquet cannot be written to stdout: pass --to FILE.parquet")
    path = ensure_dataset(out, create=False)
    target = None if str(to) == "-" else check_output_target(to, path)
    rows_table = facts_table(path, table, site, since, until, columns, history)  # fact tables are small
    cols = rows_table.column_names
    batches = rows_table.to_batches(max_chunksize=batch_rows)
    if str(to) == "-":
        return {"rows": _write_text(batches, fmt, cols, sys.stdout), "to": "-", "format": fmt, "table": table}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd, _ = open_state_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if fmt == "parquet":
            with open(fd, "wb") as raw:
                pq.write_table(rows_table, raw, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS,
                               write_page_checksum=True)
            rows = rows_table.num_rows
        else:
            with open(fd, "w", encoding="utf-8", newline="") as fh:
                rows = _write_text(batches, fmt, cols, fh)
        check_output_target(to, path)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"rows": rows, "to": str(target), "format": fmt, "table": table}


#: How many categories the "matches nothing" error names (most articles first).
MAX_NAMED_CATEGORIES = 12


def stored_categories(dataset, site: Any = None) -> dict[str, int]:
    """{category: posts} stored for the selected sites (a post with several versions counts once), most first."""
    if dataset is None:
        return {}
    table = dataset.to_table(columns=["category", "site", "post_id"], filter=article_filter(site, None, None, None))
    table = table.filter(pc.is_valid(table.column("category")))
    if not table.num_rows:
        return {}
    key = pc.binary_join_element_wise(pc.cast(table.column("site"), pa.string()),
                                      pc.cast(table.column("post_id"), pa.string()), "/")
    grouped = pa.table({"category": table.column("category"), "key": key}).group_by("category").aggregate(
        [("key", "count_distinct")])
    pairs = zip(grouped.column("category").to_pylist(), grouped.column("key_count_distinct").to_pylist())
    return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))


def check_categories(dataset, site: Any, category: Any) -> None:
    """InputError (exit 1) naming the stored categories when none of the requested ones exists."""
    wanted = [category] if isinstance(category, str) else list(category)
    have = stored_categories(dataset, site)
    if any(c in have for c in wanted):
        return
    where = f" for {', '.join(site) if isinstance(site, (list, tuple)) else site}" if site else ""
    if not have:
        raise InputError(f"no category matches {', '.join(wanted)}: the articles{where} have no category")
    named = ", ".join(f"{c} ({n})" for c, n in list(have.items())[:MAX_NAMED_CATEGORIES])
    more = f" and {len(have) - MAX_NAMED_CATEGORIES} more" if len(have) > MAX_NAMED_CATEGORIES else ""
    raise InputError(f"no category matches {', '.join(wanted)}; categories{where}: {named}{more}")


def _batches(path, cols: list[str], flt, site: Any, history: bool, batch_rows: int):
    """Record batches of `cols` holding only current versions (each once), in dataset order.

    A file compact replaced while we stream makes the scan start again on a new listing
    (crawler.store.read_snapshot); the keys already sent are skipped, so no row goes out twice.
    """
    need = list(dict.fromkeys(cols + ["site", "post_id", "content_hash", "record_hash"]))
    seen: set[str] = set()  # keys emitted so far: a duplicated row (see validate) goes out once
    current = None
    if not history:
        current = read_snapshot(path, lambda d: None if d is None else newest_keys(d, site), damaged="error")
    yield from _stream(path, need, flt, batch_rows, current, seen, cols)


def _stream(path, need, flt, batch_rows, current, seen, cols):
    """The current-version batches of the dataset, restarting on a new listing when a file vanished."""
    for pause in (*RELIST_PAUSES, None):
        listed = dataset_files(path)
        try:
            with pinned(path, listed) as (paths, base):  # the listed files stay readable while we stream
                dataset = files_dataset(path, paths, ARTICLES, base)
                if dataset is None:
                    return
                for batch in _filtered(dataset, need, flt, batch_rows, current, seen, cols):
                    yield batch
                return
        except FileNotFoundError:
            if pause is None:
                raise DatasetError(f"files of {path} kept vanishing while exporting: run it again") from None
            time.sleep(pause)  # compact swapped a partition: list again, skip what went out already
        except (pa.ArrowException, OSError):
            for f in listed:  # a file damaged in a column the first pass did not read
                why = _damage(f)
                if why:
                    raise DatasetError(_damaged_message(path, f, why)) from None
            raise


def _filtered(dataset, need, flt, batch_rows, current, seen, cols):
    scanner = dataset.scanner(columns=need, filter=flt, batch_size=batch_rows)
    for batch in scanner.to_batches():
        if batch.num_rows == 0:
            continue
        keys = _key_strings(batch)
        if current is not None:
            mask = pc.is_in(keys, value_set=current)
            batch, keys = batch.filter(mask), keys.filter(mask)
        keep = []
        for i, k in enumerate(keys.to_pylist()):
            if k not in seen:
                seen.add(k)
                keep.append(i)
        if len(keep) < batch.num_rows:
            batch = batch.take(pa.array(keep, pa.int64()))
        if batch.num_rows:
            yield pa.RecordBatch.from_arrays([batch.column(c) for c in cols], names=cols)


def _without_copies(path, flt, site, batches, cols):
    """The batches without the later posts of each syndicated story (crawler.dedup.copy_keys)."""
    from crawler.dedup import copy_keys

    def current_keys(dataset):
        if dataset is None:
            return None
        keyed = dataset.to_table(columns=["site", "post_id", "published", "content_hash", "record_hash"], filter=flt)
        return keyed.filter(pc.is_in(_key_strings(keyed), value_set=newest_keys(dataset, site)))

    keyed = read_snapshot(path, current_keys, damaged="error")
    drop = copy_keys(path, keyed) if keyed is not None else set()
    for batch in batches:
        if drop:
            keep = [i for i, k in enumerate(zip(batch.column("site").to_pylist(), batch.column("post_id").to_pylist()))
                    if k not in drop]
            batch = batch.take(pa.array(keep, pa.int64())) if len(keep) < batch.num_rows else batch
        if batch.num_rows:
            yield pa.RecordBatch.from_arrays([batch.column(c) for c in cols], names=cols)


def _write_text(batches, fmt: str, cols: list[str], fh: io.TextIOBase) -> int:
    rows = 0
    if fmt == "csv":
        writer = csv.writer(fh)
        writer.writerow(cols)
        for batch in batches:
            for row in batch.to_pylist():
                writer.writerow([_csv_cell(row[c]) for c in cols])
                rows += 1
    else:
        for batch in batches:
            for row in batch.to_pylist():
                fh.write(json.dumps(row, ensure_ascii=False, default=_json_value) + "\n")
                rows += 1
    return rows
