"""Reading the dataset: publication-date/site/category filters, newest versions, ``load``.

Dates are China days (crawler.clock): ``since``/``until`` select the same posts as
``crawl --since/--until`` and ``export``, and the partition pruning uses China months.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import secrets
import shutil
import time
from contextlib import contextmanager
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # pyarrow.dataset imports pandas (~0.2 s): loaded where a dataset is opened
    import pyarrow.dataset as ds

from crawler import clock
from crawler.clock import date_range, parse_day  # noqa: F401  (crawler.store.parse_day/date_range are public)
from crawler.errors import DatasetError, UsageError
from crawler.items import ARTICLE_SCHEMA
from crawler.store.layout import (
    ARTICLES,
    DATASET_SCHEMA,
    TMP,
    _KEY,
    _site_filter,
    as_path,
    check_sites,
    dataset_files,
    ensure_dataset,
    files_dataset,
    open_dataset,  # noqa: F401  (crawler.store.reading.open_dataset stays importable)
)

logger = logging.getLogger(__name__)

#: Pauses (seconds) before listing the dataset again when a listed file vanished before it was
#: read: compact or the end-of-run merge replaced it. About 6 s in all, several compactions.
RELIST_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)

#: Files found unreadable in this process, by (path, size, mtime): skipped, warned about once.
_DAMAGED: dict[tuple[str, int, int], str] = {}


def _identity(path: Path) -> tuple[str, int, int] | None:
    if not isinstance(path, Path):  # an object store: no stat, no links; the key names the version
        return str(path), -1, -1
    try:
        st = os.stat(path)
    except OSError:
        return None
    return str(path), st.st_size, st.st_mtime_ns


def _damage(path: Path) -> str | None:
    """Why path cannot be read as Parquet; None when it reads (or is gone: not damage)."""
    import pyarrow.parquet as pq

    from crawler.store.files import VERIFY

    try:
        with pq.ParquetFile(path, **VERIFY) as pf:
            # full: a damaged page of a file without page checksums can decode into invalid UTF-8
            pf.read(use_threads=False).validate(full=True)
    except FileNotFoundError:
        return None
    except (pa.ArrowException, OSError, ValueError) as exc:
        return str(exc).splitlines()[0][:200] or type(exc).__name__
    return None


def damaged_files(out: str | os.PathLike) -> list[Path]:
    """The files readers of out skipped as unreadable in this process (run `validate --repair`)."""
    root = str(as_path(out))
    return sorted(Path(k[0]) for k in _DAMAGED if k[0].startswith(root))


def read_snapshot(out: str | os.PathLike, read: Callable[[Any], Any], kind: str = ARTICLES,
                  damaged: str = "skip") -> Any:
    """read(dataset) over one listing of out's files (dataset None when there is none).

    Every reader goes through here. compact and the end-of-run merge replace files while we
    read: when a listed file vanished before it was read, the dataset is listed again after a
    short pause (RELIST_PAUSES) and read() runs again on the new listing; the callers collapse
    identical copies of a row (a merge renames the new file in before it removes the old ones).
    A file that cannot be read (damaged) is left out with one warning naming it and the repair
    command (damaged="skip"), or stops the read with one DatasetError (damaged="error").
    """
    pauses = list(RELIST_PAUSES)
    while True:
        listed = dataset_files(out, kind)
        ids = {f: _identity(f) for f in listed}
        files = [f for f in listed if ids[f] not in _DAMAGED]
        for bad in (f for f in listed if ids[f] in _DAMAGED):
            if damaged == "error":
                raise DatasetError(_damaged_message(out, bad, _DAMAGED[ids[bad]]))
            _warn_once(out, bad, ids[bad], _DAMAGED[ids[bad]])  # found by an earlier read: not read again
        try:
            with pinned(out, files, kind) as (paths, base):
                return read(files_dataset(out, paths, kind, base))
        except FileNotFoundError:
            if not pauses:
                raise DatasetError(f"files of {out} kept vanishing while reading (a compaction loop?): "
                                   "run the command again") from None
        except (pa.ArrowException, OSError) as exc:
            found = False
            for f in files:
                why = _damage(f)
                if why is not None and ids[f] is not None:
                    found = True
                    _DAMAGED[ids[f]] = why
                    if damaged == "error":
                        raise DatasetError(_damaged_message(out, f, why)) from None
                    _warn_once(out, f, ids[f], why)
            if found:
                continue  # at once: the damaged files are now left out
            if all(os.path.exists(f) for f in files) or not pauses:
                raise
        time.sleep(pauses.pop(0))


#: errnos of a dataset readers cannot hard-link in (read-only, another file system, no links):
#: they read the files in place, re-listing when one vanishes
_NO_LINKS = (errno.EPERM, errno.EACCES, errno.EROFS, errno.EXDEV, errno.EMLINK, errno.ENOTSUP,
             errno.EOPNOTSUPP, errno.ENOSPC, errno.EDQUOT)


@contextmanager
def pinned(out: str | os.PathLike, files: list[Path], kind: str = ARTICLES):
    """(paths, base) of a reader's own hard links to files, under <out>/.tmp/read-<pid>-<hex>/.

    compact and the end-of-run merge remove or replace files; a link keeps the listed version
    readable until the reader is done, so one listing is read whole, however long it takes.
    FileNotFoundError when a listed file is already gone (list again); the files themselves
    when links cannot be made (a read-only dataset). The links are removed on exit.
    """
    root = as_path(out)
    if not isinstance(root, Path):  # an object store: objects are replaced whole, never linked
        yield files, None
        return
    snap = root / TMP / f"read-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        (snap / kind).mkdir(parents=True)
    except OSError:
        yield files, None
        return
    try:
        paths = []
        try:
            for f in files:
                dst = snap / kind / f.relative_to(root / kind)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.link(f, dst)
                paths.append(dst)
        except FileNotFoundError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            paths = None
        if paths is None:
            yield files, None
        else:
            yield paths, snap / kind
    finally:
        shutil.rmtree(snap, ignore_errors=True)


#: damaged files already warned about in this process (a command reads the dataset several times)
_WARNED: set[tuple[str, int, int]] = set()


def _warn_once(out, path: Path, ident: tuple[str, int, int] | None, why: str) -> None:
    if ident in _WARNED:
        return
    _WARNED.add(ident)
    logger.warning("skipped %s", _damaged_message(out, path, why))


def _damaged_message(out, path: Path, why: str) -> str:
    return (f"{path}: unreadable Parquet file ({why}); run `parkcorpus validate --repair --out {out}` "
            "to quarantine it and fetch its posts again")


def _month_index(year: pc.Expression, month: pc.Expression) -> pc.Expression:
    return year * 100 + month


def article_filter(site: Iterable[str] | str | None = None, since: Any = None, until: Any = None,
                   category: str | Iterable[str] | None = None) -> pc.Expression | None:
    """A pyarrow filter for site(s), publication range and category; partition keys prune files."""
    parts = []
    if site is not None:
        parts.append(_site_filter(site))
    start, end = date_range(since, until)
    mi = _month_index(pc.field("year"), pc.field("month"))
    if start is not None:
        parts.append(pc.field("published") >= pa.scalar(start, type=pa.timestamp("us", tz="UTC")))
        first = clock.site_month(start)
        parts.append(mi >= first[0] * 100 + first[1])
    if end is not None:
        parts.append(pc.field("published") < pa.scalar(end, type=pa.timestamp("us", tz="UTC")))
        last = clock.site_month(end - dt.timedelta(microseconds=1))
        parts.append(mi <= last[0] * 100 + last[1])
    if category is not None:
        cats = [category] if isinstance(category, str) else list(category)
        parts.append(pc.field("category").isin(cats))
    expr = None
    for p in parts:
        expr = p if expr is None else expr & p
    return expr


def region_filter(region: str | Iterable[str] | None) -> pc.Expression | None:
    """Articles of a county: a GB/T 2260 code (a province or prefecture code covers its counties) or a
    name (上海市, 金山区, 来安县); None when region is None. UsageError for an empty or malformed value."""
    if region is None:
        return None
    expr = None
    for value in [region] if isinstance(region, str) else list(region):
        value = str(value).strip()
        if not value:
            raise UsageError("empty --region: give a GB/T 2260 code (310116) or a name (金山区)")
        if value.isdigit():
            if len(value) not in (2, 4, 6):
                raise UsageError(f"bad region code {value!r}: GB/T 2260 codes have 6 digits (310116)")
            # 310000 is 上海市 and 310100 its districts: the code's significant digits are a prefix
            prefix = value[:2] if value[2:] in ("", "0000") else value[:4] if value[4:] in ("", "00") else value
            part = pc.starts_with(pc.field("region_code"), pattern=prefix)
        else:
            part = pc.match_substring(pc.field("region_name"), pattern=value)
        expr = part if expr is None else expr | part
    return expr


def _key_strings(table: pa.Table | pa.RecordBatch) -> pa.Array:
    # a title-only edit keeps content_hash: record_hash (null in older rows) tells the versions apart
    rh = table.column("record_hash").fill_null("") if "record_hash" in table.column_names else pa.array(
        [""] * table.num_rows, pa.string())
    return pc.binary_join_element_wise(
        table.column("site"), pc.cast(table.column("post_id"), pa.string()),
        table.column("content_hash"), rh, "\x1f")


def newest_keys(dataset: ds.Dataset, site: Iterable[str] | str | None = None) -> pa.Array:
    """'site\\x1fpost_id\\x1fcontent_hash' of the newest version of every post (light scan)."""
    return version_keys(dataset, site)[1]


def version_keys(dataset: ds.Dataset, site: Iterable[str] | str | None = None) -> tuple[pa.Array, pa.Array]:
    """(every stored version, the newest version per post) as 'site\\x1fpost_id\\x1fcontent_hash' keys."""
    light = dataset.to_table(columns=["site", "post_id", "content_hash", "record_hash", "fetched_at", "extracted_at"],
                             filter=_site_filter(site))
    if light.num_rows == 0:
        empty = pa.array([], pa.string())
        return empty, empty
    # newest = latest fetch; a re-extraction of the same fetch beats the original extraction
    light = light.sort_by([("site", "ascending"), ("post_id", "ascending"),
                           ("fetched_at", "descending"), ("extracted_at", "descending"),
                           ("content_hash", "descending"), ("record_hash", "descending")])
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
         columns: Iterable[str] | None = None, history: bool = False, category: Any = None,
         region: Any = None, dedup: bool = False):
    """Stored articles as a pandas DataFrame: the newest version per (site, post_id) unless history.

    Filters (site, publication date range, category) are pushed down to pyarrow, and the
    site/year/month partition keys prune whole folders. Dates: 'YYYY-MM-DD' (a China day), date or datetime;
    a date-only `until` includes that day. `region`: a county's code or name (region_filter);
    `dedup=True`: one post per syndication group (<out>/duplicates/), the earliest selected.
    """
    ensure_dataset(out, create=False)
    check_sites(out, site)
    cols = list(columns) if columns else list(ARTICLE_SCHEMA.names)
    unknown = [c for c in cols if c not in DATASET_SCHEMA.names]
    if unknown:
        raise UsageError(f"unknown column(s) {', '.join(unknown)}: see docs/schema.md")
    flt = article_filter(site, since, until, category)
    rflt = region_filter(region)
    flt = rflt if flt is None else flt if rflt is None else flt & rflt
    need = list(dict.fromkeys(cols + list(_KEY) + ["published", "fetched_at"]))

    def read(dataset) -> pa.Table | None:
        if dataset is None:
            return None
        table = dataset.to_table(columns=need, filter=flt)
        if not history:
            current = newest_keys(dataset, site)
            table = table.filter(pc.is_in(_key_strings(table), value_set=current))
        return table

    table = read_snapshot(out, read)
    if table is None:
        return pa.schema([DATASET_SCHEMA.field(c) for c in cols]).empty_table().to_pandas()
    table = _unique_versions(table)  # a file present twice (see validate) still gives one row
    if dedup:
        from crawler.dedup import drop_copies

        table = drop_copies(out, table)
    table = table.sort_by([("site", "ascending"), ("published", "ascending"),
                           ("post_id", "ascending"), ("fetched_at", "ascending")])
    # nullable int32 (http_status) stays integer instead of turning float when a value is missing
    return table.select(cols).to_pandas(types_mapper={pa.int32(): _pd_int32()}.get)


def _pd_int32():
    import pandas as pd

    return pd.Int32Dtype()



# --------------------------------------------------------------------------- facts
def current_versions(dataset: ds.Dataset, site: Iterable[str] | str | None = None,
                     history: bool = False) -> pa.Table:
    """(site, post_id, fetched_at, run_id, published) of the newest version of every post (every version with history)."""
    light = dataset.to_table(columns=["site", "post_id", "content_hash", "fetched_at", "extracted_at",
                                      "run_id", "published"], filter=_site_filter(site))
    light = light.sort_by([("site", "ascending"), ("post_id", "ascending"), ("fetched_at", "descending"),
                           ("extracted_at", "descending"), ("content_hash", "descending")])
    if light.num_rows:
        site_a = light.column("site").to_numpy(zero_copy_only=False)
        pid_a = light.column("post_id").to_numpy()
        fetched = light.column("fetched_at").cast(pa.int64()).to_numpy(zero_copy_only=False)
        first = np.ones(light.num_rows, dtype=bool)
        same_post = (site_a[1:] == site_a[:-1]) & (pid_a[1:] == pid_a[:-1])
        # with history: one row per fetched version (a reextract of the same fetch is the same version)
        first[1:] = ~(same_post & (fetched[1:] == fetched[:-1])) if history else ~same_post
        light = light.filter(pa.array(first))
    return light.select(["site", "post_id", "fetched_at", "run_id", "published"]).rename_columns(
        ["site", "post_id", "fetched_at", "version_run_id", "published"])


def _facts_of_versions(facts: pa.Table, versions: pa.Table) -> pa.Table:
    """Fact rows of the given article versions: matched on (site, post_id, fetched_at); when several
    runs wrote rows for one version (crawl, reextract, `parkcorpus facts`), the rows of the run that
    wrote the article version win, else those of the latest run id."""
    facts = facts.append_column("__row", pa.array(np.arange(facts.num_rows, dtype=np.int64)))
    # a join does not keep row order: __row restores the page order of a post's parcels
    joined = facts.join(versions, keys=["site", "post_id", "fetched_at"], join_type="inner").sort_by("__row")
    joined = joined.drop_columns(["__row"])
    if joined.num_rows == 0:
        return joined
    own = pc.equal(joined.column("run_id"), joined.column("version_run_id"))
    df = joined.select(["site", "post_id", "fetched_at", "run_id"]).to_pandas()
    df["own"] = own.to_numpy(zero_copy_only=False)
    df["row"] = np.arange(len(df))
    keys = ["site", "post_id", "fetched_at"]
    has_own = df.groupby(keys)["own"].transform("any")
    latest = df.groupby(keys)["run_id"].transform("max")
    keep = np.where(has_own, df["own"], df["run_id"] == latest)
    return joined.filter(pa.array(np.asarray(keep, dtype=bool)))


def load_facts(out: str | os.PathLike, kind: str, site: Any = None, since: Any = None, until: Any = None,
               columns: Iterable[str] | None = None, history: bool = False):
    """The parcels or listings rows of the newest version of every post, as a pandas DataFrame.

    With history, the rows of every stored version. since/until select by the parcel's deal_date
    when stated, else by the post's publication day (China days, as `load`).
    """
    table = facts_table(out, kind, site, since, until, columns, history)
    return table.to_pandas(types_mapper={pa.int32(): _pd_int32()}.get)


def facts_table(out: str | os.PathLike, kind: str, site: Any = None, since: Any = None, until: Any = None,
                columns: Iterable[str] | None = None, history: bool = False) -> pa.Table:
    """`load_facts` as a pyarrow Table with exactly the schema of the kind's columns."""
    from crawler.store.layout import FACT_DATASET_SCHEMAS

    if kind not in FACT_DATASET_SCHEMAS:
        raise UsageError(f"unknown table {kind!r}: use articles, {', '.join(FACT_DATASET_SCHEMAS)}")
    start, end = date_range(since, until)  # a bad date fails before any file is read
    ensure_dataset(out, create=False)
    check_sites(out, site)
    schema = FACT_DATASET_SCHEMAS[kind]
    cols = list(columns) if columns else list(schema.names)
    unknown = [c for c in cols if c not in schema.names]
    if unknown:
        raise UsageError(f"unknown {kind} column(s) {', '.join(unknown)}: see docs/schema.md")
    out_schema = pa.schema([schema.field(c) for c in cols])

    def read(articles) -> pa.Table | None:
        if articles is None:
            return None
        versions = current_versions(articles, site, history=history)
        facts = read_snapshot(out, lambda d: None if d is None else d.to_table(filter=_site_filter(site)), kind)
        return None if facts is None else _facts_of_versions(facts, versions)

    table = read_snapshot(out, read)
    if table is None or table.num_rows == 0:
        return out_schema.empty_table()
    if start is not None or end is not None:
        when = table.column("published").cast(pa.timestamp("us"))
        if "deal_date" in table.column_names:
            # a deal date is a China day: its start is 16:00 UTC the day before
            day = pc.subtract(table.column("deal_date").cast(pa.timestamp("us")),
                              pa.scalar(dt.timedelta(hours=8), pa.duration("us")))
            when = pc.if_else(pc.is_null(day), when, day)
        keep = pa.array(np.ones(table.num_rows, dtype=bool))
        if start is not None:
            keep = pc.and_(keep, pc.greater_equal(when, pa.scalar(start.replace(tzinfo=None), pa.timestamp("us"))))
        if end is not None:
            keep = pc.and_(keep, pc.less(when, pa.scalar(end.replace(tzinfo=None), pa.timestamp("us"))))
        table = table.filter(pc.fill_null(keep, False))
    order = [c for c in ("site", "post_id", "fetched_at") if c in table.column_names]
    table = table.sort_by([(c, "ascending") for c in order])
    return table.select(cols).cast(out_schema)
