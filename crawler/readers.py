"""Current versions for readers other than `load()`: DuckDB macros, Polars and pyarrow helpers.

The dataset keeps every stored version of a post (docs/schema.md, "Versions and history"). The
current one is the latest ``fetched_at``, ties broken by the latest ``extracted_at``, then the
highest ``content_hash`` (the rule of ``crawler.store.load``). The DuckDB form of that rule is one
SQL file, ``crawler/data/current.sql``, copied into every dataset as ``<out>/current.sql`` so
that a reader without parkcorpus installed has it next to the data. Polars and pyarrow helpers
apply the same rule lazily; none of them imports the store, so they read any copy of the folder.
"""

from __future__ import annotations

import os
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

#: File name of the DuckDB macros inside a dataset folder.
CURRENT_SQL = "current.sql"

#: Version order, newest first: (column, descending). Nulls sort last in every reader.
VERSION_ORDER = (("fetched_at", True), ("extracted_at", True), ("content_hash", True), ("record_hash", True))

_KEY = ("site", "post_id")


def _root(out: str | os.PathLike) -> Path:
    text = os.fspath(out)
    if text.startswith("file://"):
        text = text[len("file://"):]
    return Path(text)


def current_sql() -> str:
    """The DuckDB macros article_versions(root), current_articles(root), current_links(root)."""
    return resources.files("crawler").joinpath("data", CURRENT_SQL).read_text(encoding="utf-8")


def write_current_sql(out: str | os.PathLike) -> Path:
    """Write (atomically, only when different) ``<out>/current.sql``; returns its path."""
    root = _root(out)
    target = root / CURRENT_SQL
    text = current_sql()
    try:
        if target.read_text(encoding="utf-8") == text:
            return target
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    tmp = root / f".{CURRENT_SQL}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return target


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def current_duckdb(out: str | os.PathLike, con: Any = None):
    """A DuckDB relation of the current version of every post (loads the macros into `con`)."""
    import duckdb

    con = con if con is not None else duckdb.connect()
    con.execute(current_sql())
    return con.sql(f"select * from current_articles({_quote(_root(out).resolve())})")


def current_polars(out: str | os.PathLike, lazy: bool = True):
    """A Polars LazyFrame (DataFrame when not lazy) of the current version of every post.

    Filters on the result still reach the scan for the ``site`` hive key, so
    ``current_polars("data").filter(pl.col("site") == "jinshan.021cf.cn")`` reads one site.
    """
    import polars as pl

    from crawler.items import ARTICLE_SCHEMA

    glob = str(_root(out) / "articles" / "**" / "*.parquet")
    # the declared columns, so that files written before a column was added (null there) and
    # files of a newer parkcorpus (extra columns, left out) read as one frame
    declared = pl.from_arrow(ARTICLE_SCHEMA.empty_table()).schema
    lf = pl.scan_parquet(glob, hive_partitioning=True,
                         schema={n: t for n, t in declared.items() if n != "site"},
                         hive_schema={"site": pl.String, "year": pl.Int64, "month": pl.Int64},
                         missing_columns="insert", extra_columns="ignore")
    cols = [c for c, _ in VERSION_ORDER]
    lf = (lf.sort([*_KEY, *cols], descending=[False, False, *(d for _, d in VERSION_ORDER)], nulls_last=True)
          .unique(subset=list(_KEY), keep="first", maintain_order=True))
    return lf if lazy else lf.collect()


def current_arrow(out: str | os.PathLike, columns: list[str] | None = None, filter: Any = None):
    """A pyarrow Table of the current version of every post (``filter``: a pyarrow.dataset
    expression applied to current versions, e.g. ``ds.field("site") == "laian.021cf.cn"``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from crawler.items import ARTICLE_SCHEMA

    keys = pa.schema([pa.field("site", pa.string()), pa.field("year", pa.int32()), pa.field("month", pa.int32())])
    # the declared schema: files without a newer column read with nulls, extra columns are left out
    schema = pa.schema(list(ARTICLE_SCHEMA) + [keys.field("year"), keys.field("month")])
    root = _root(out) / "articles"
    if not root.is_dir():
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty
    from crawler.store.files import parquet_format

    dataset = ds.dataset(root, schema=schema, format=parquet_format(), partitioning=ds.partitioning(keys, flavor="hive"))
    order = [c for c, _ in VERSION_ORDER]
    light = dataset.to_table(columns=[*_KEY, *order])
    light = light.sort_by([(k, "ascending") for k in _KEY]
                          + [(c, "descending" if d else "ascending") for c, d in VERSION_ORDER])
    site = light.column("site").to_numpy(zero_copy_only=False)
    pid = light.column("post_id").to_numpy()
    first = np.ones(light.num_rows, dtype=bool)
    first[1:] = (site[1:] != site[:-1]) | (pid[1:] != pid[:-1])
    newest = light.filter(pa.array(first))

    def version_ids(t: pa.Table) -> pa.Array:
        # the full version identity: two rows of a post may share a content_hash (a title-only edit)
        parts = [pc.cast(t.column(c), pa.string()) for c in (*_KEY, *order)]
        return pc.binary_join_element_wise(*[pc.fill_null(p, "") for p in parts], "\x1f")

    need = list(dict.fromkeys([*(columns or dataset.schema.names), *_KEY, *order]))
    table = dataset.to_table(columns=need, filter=filter)
    table = table.filter(pc.is_in(version_ids(table), value_set=version_ids(newest)))
    # the same version present twice (a run killed while merging its files) counts once
    kept = version_ids(table).to_numpy(zero_copy_only=False)
    _, idx = np.unique(kept, return_index=True)
    table = table.take(pa.array(np.sort(idx)))
    return table.select(columns) if columns else table
