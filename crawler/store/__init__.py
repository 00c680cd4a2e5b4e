"""The Parquet dataset on disk: layout, atomic files, writer, known-post state, reading, compact, runs.

One module per concern (HACKING.md has the map):

- ``layout``: folders, the marker file, partitions (China-time month of ``published``), listing
- ``files``: atomic file operations (write-then-rename, link-never-clobber, exchange), disk-full errnos
- ``writer``: ``DatasetWriter`` and the end-of-run merge
- ``known``: the known-post state (``known_posts``, ``KnownPosts``)
- ``reading``: filters and ``load``
- ``compaction``: ``compact``
- ``runs``: run manifests (``RunManifest``, ``write_run_manifest``, ``list_runs``)

Every name importable from ``crawler.store`` before the split is re-exported here.
"""

from crawler.clock import new_run_id
from crawler.clock import to_utc as _utc
from crawler.store.compaction import (
    COMPACT_FILE_ROWS,
    _chunks,
    _compact_links,
    _key_strings_links,
    _move_misplaced,
    _partition_folders,
    _swap_partition,
    compact,
)
from crawler.store.files import (
    _AT_FDCWD,
    _RENAME_EXCHANGE,
    COMPRESSION,
    DISK_FULL_ERRNOS,
    ROW_GROUP_ROWS,
    _atomic_write_text,
    _exchange,
    _fsync_dir,
    _read_files,
    _write_parquet,
    is_disk_full,
)
from crawler.store.known import KnownPosts, NewestHashes, _hash_bytes, known_posts, newest_hash
from crawler.store.layout import (
    _KEY,
    _RUN_ID,
    ARTICLES,
    DATASET_SCHEMA,
    FACT_DATASET_SCHEMAS,
    FACT_FILE_SCHEMAS,
    FACT_KINDS,
    FILE_SCHEMA,
    FORMAT_VERSION,
    LINKS,
    LISTINGS,
    LINKS_DATASET_SCHEMA,
    MARKER,
    PARCELS,
    PARTITION_SCHEMA,
    QUARANTINE,
    RUNS,
    TMP,
    UNDATED,
    _ignorable,
    _retry_listing,
    _site_filter,
    _visible_parquet,
    as_path,
    check_run_id,
    check_sites,
    dataset_files,
    ensure_dataset,
    is_dataset,
    open_dataset,
    partition_dir,
    partition_months,
    partition_of,
    partition_values,
    stored_sites,
)
from crawler.store.reading import (
    _key_strings,
    _month_index,
    _pd_int32,
    _unique_versions,
    article_filter,
    current_versions,
    date_range,
    facts_table,
    load,
    load_facts,
    newest_keys,
    parse_day,
    read_snapshot,
    version_keys,
)
from crawler.store.runs import (
    MANIFEST_KEYS,
    MANIFEST_VERSION,
    RUN_KINDS,
    RunManifest,
    _json_default,
    list_runs,
    manifest_shape,
    write_run_manifest,
)
from crawler.store.writer import (
    _ARTICLE_ORDER,
    _LINK_ORDER,
    MERGE_GROUP_BYTES,
    DatasetWriter,
    _merge_files,
    _normalise,
)

__all__ = [name for name in dir() if not name.startswith("__")]
