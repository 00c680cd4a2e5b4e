"""Compaction: rewrite each partition into few files, fold superseded versions, and move rows
that sit in the wrong partition (written under an older partition rule) to the right one.

A partition is replaced in one step where Linux allows (renameat2 RENAME_EXCHANGE of a staging
folder with the partition folder), so a reader sees the old file set or the new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crawler.errors import UsageError
from crawler.items import LINK_SCHEMA
from crawler.store import files as _files
from crawler.store.files import _fsync_dir, _read_files, _write_parquet
from crawler.store.layout import (
    ARTICLES,
    FILE_SCHEMA,
    LINKS,
    TMP,
    _visible_parquet,
    check_sites,
    dataset_files,
    ensure_dataset,
    partition_dir,
    partition_months,
    partition_values,
)
from crawler.store.reading import (
    _DAMAGED,
    RELIST_PAUSES,
    _damage,
    _warn_once,
    _key_strings,
    _unique_versions,
    read_snapshot,
    version_keys,
)

logger = logging.getLogger(__name__)

#: A compacted partition is split into files of at most this many rows.
COMPACT_FILE_ROWS = 500_000


def _swap_partition(out: Path, folder: Path, tables: list[pa.Table], old: list[Path], stamp: str) -> list[Path]:
    """Replace the files `old` of folder by tables, so a reader sees the old set or the new one.

    With RENAME_EXCHANGE: the new files are built in a staging folder that is swapped with the
    partition folder in one step; files a writer linked into the old folder meanwhile are moved
    over. Without it: new files are renamed in first, then the old ones removed, so a reader
    may briefly see both (identical rows, which `load` collapses) but never neither.
    """
    if _files.is_object(folder):
        # no rename on an object store: the new objects go in first (new names, one PUT each),
        # then the old ones are deleted; a reader meanwhile sees rows twice, which load collapses
        new = [_write_parquet(table, out / TMP, folder / f"part-compact-{stamp}-{i:05d}.parquet")
               for i, table in enumerate(tables)]
        for p in old:
            p.unlink(missing_ok=True)
        return new
    staging = out / TMP / f"compact-{stamp}-{secrets.token_hex(3)}"
    staging.mkdir(parents=True)
    names = []
    for i, table in enumerate(tables):
        name = f"part-compact-{stamp}-{i:05d}.parquet"
        _write_parquet(table, out / TMP, staging / name)
        names.append(name)
    old_names = {p.name for p in old}
    if _files._exchange(staging, folder):
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


def _read_partition(out: Path, folder: Path, schema: pa.Schema) -> tuple[list[Path], pa.Table | None]:
    """(files, their rows) of a partition folder; rows None (partition left as it is, one warning
    per damaged file) when a file cannot be read: rewriting it without that file would lose its
    rows for good. A file merged away by a crawl meanwhile makes it list the folder again."""
    for pause in (*RELIST_PAUSES, None):
        files = _visible_parquet(folder)
        try:
            return files, _read_files(files, schema)
        except FileNotFoundError:
            if pause is None:
                logger.warning("%s changed while compacting it, again and again: left as it is", folder)
                return files, None
            time.sleep(pause)
        except (pa.ArrowException, OSError):
            return files, _damaged_partition(out, files)
    return [], None


def _damaged_partition(out: Path, files: list[Path]) -> None:
    """Warn once about each damaged file of a partition (the partition is then skipped); re-raise
    the read error when no file is damaged."""
    bad = [(f, why) for f in files if (why := _damage(f))]
    if not bad:
        raise  # noqa: PLE0704 - called while handling the read error: not damage, a real failure
    for f, why in bad:
        ident = (str(f), *_stat(f))
        _DAMAGED[ident] = why
        _warn_once(out, f, ident, why)
    return None


def _stat(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _partition_folders(root: Path, depth: int, site: Any, partition: str | None) -> list[Path]:
    folders = sorted({f.parent for f in dataset_files(root.parent, root.name)})
    if site is not None:
        sites = {site} if isinstance(site, str) else set(site)
        folders = [f for f in folders if partition_values(f, root).get("site") in sites]
    if partition:
        want = Path(partition.strip("/"))
        folders = [f for f in folders if f.relative_to(root) == want or want in f.relative_to(root).parents]
    return [f for f in folders if len(f.relative_to(root).parts) == depth]



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
    # names the staging folder and new files (part-compact-<stamp>-...): microseconds, not a run id
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    summary = {"partitions": 0, "files_before": 0, "files_after": 0, "rows_before": 0,
               "rows_after": 0, "versions_folded": 0, "duplicates_removed": 0,
               "link_files_before": 0, "link_files_after": 0, "link_rows_removed": 0,
               "rows_moved": 0, "partitions_skipped": 0}
    # versions of one post can sit in different month partitions (a re-resolved date), so the
    # current version is decided over the whole site, not inside each partition
    keys = read_snapshot(path, lambda d: None if d is None else version_keys(d, site))
    if keys is None:
        return summary
    stored, newest = keys
    current = None if keep_history else newest
    if partition and not partition.startswith("site="):
        raise UsageError(f"bad partition {partition!r}: use site=<host>/year=<YYYY>/month=<MM>")
    a_root = path / ARTICLES
    for folder in _partition_folders(a_root, 3, site, partition):
        values = partition_values(folder, a_root)
        files, table = _read_partition(path, folder, FILE_SCHEMA)
        if table is None:
            summary["partitions_skipped"] += 1
            continue
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
        kept, moved = _move_misplaced(path, kept, values, stamp)
        summary["rows_moved"] += moved
        summary["partitions"] += 1
        summary["files_before"] += len(files)
        summary["rows_before"] += n0
        summary["duplicates_removed"] += dups
        summary["versions_folded"] += folded
        if len(files) <= 1 and dups == 0 and folded == 0 and moved == 0:
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


def _move_misplaced(path: Path, table: pa.Table, values: dict[str, str], stamp: str) -> tuple[pa.Table, int]:
    """Write the rows of table whose `published` belongs in another partition there; returns (the rest, moved).

    The moved rows are written (complete files, linked in) before the caller rewrites this
    partition without them, so a reader meanwhile sees a row twice (which `load` collapses),
    never not at all.
    """
    if table.num_rows == 0:
        return table, 0
    year, month = partition_months(table.column("published"))
    here = pc.and_(pc.equal(year, int(values.get("year", -1))), pc.equal(month, int(values.get("month", -1))))
    if pc.all(here).as_py():
        return table, 0
    away = table.filter(pc.invert(here))
    site = values["site"]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (y, m) in enumerate(zip(pc.filter(year, pc.invert(here)).to_pylist(),
                                   pc.filter(month, pc.invert(here)).to_pylist())):
        groups.setdefault((y, m), []).append(i)
    for (y, m), rows in sorted(groups.items()):
        part = away.take(pa.array(rows)).sort_by([("post_id", "ascending"), ("fetched_at", "ascending")])
        target = path / ARTICLES / partition_dir(site, y, m) / f"part-compact-{stamp}-moved.parquet"
        _write_parquet(part.select(FILE_SCHEMA.names), path / TMP, target)
    return table.filter(here), away.num_rows


def _compact_links(path: Path, site: Any, partition: str | None, stored: pa.Array,
                   current: pa.Array | None, stamp: str) -> tuple[int, int, int]:
    l_root = path / LINKS
    if partition:
        site = partition.strip("/").split("/")[0].partition("=")[2]
    before = after = removed = 0
    for folder in _partition_folders(l_root, 1, site, None):
        files, table = _read_partition(path, folder, LINK_SCHEMA)
        if table is None:
            continue
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
            # (links carry content_hash only: compare article keys without their record_hash)
            stored, current = _without_record_hash(stored), _without_record_hash(current)
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


def _without_record_hash(keys: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(keys, pattern="\x1f[^\x1f]*$", replacement="")


def _key_strings_links(table: pa.Table) -> pa.Array:
    return pc.binary_join_element_wise(
        table.column("src_site"), pc.cast(table.column("src_post_id"), pa.string()),
        table.column("content_hash"), "\x1f")
