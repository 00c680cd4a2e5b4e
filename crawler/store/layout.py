"""Layout of a dataset on disk: folders, the marker file, partitions and how to list and open them.

Layout under ``<out>/`` (docs/schema.md is the user-facing description)::

    parkcorpus.json                                   marker + format version
    articles/site=<host>/year=<YYYY>/month=<MM>/part-<run_id>-<n>.parquet
    links/site=<host>/part-<run_id>-<n>.parquet
    runs/<run_id>.json                                one manifest per run (crawler.store.runs)
    warc/<run_id>.warc.gz                             raw responses (crawler.archive)
    quarantine/                                       files `validate --repair` moved aside
    .tmp/                                             files being written; readers never look here

``year=/month=`` is the China-time month of ``published`` (crawler.clock: a day and a month are
China's everywhere), so a post published at 00:30 on 1 March in Shanghai sits in month=03.

``site`` lives in the partition path only, not inside the article files: pandas
(``pd.read_parquet``) infers hive keys as dictionaries and refuses to merge them with a
string column of the same name, so storing it twice would break the most common notebook call.
Every hive-aware reader (pyarrow.dataset, pandas, Polars, DuckDB, Spark) returns ``site``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # pyarrow.dataset imports pandas (~0.2 s): loaded where a dataset is opened
    import pyarrow.dataset as ds

from crawler import clock, fs
from crawler.errors import DatasetError, UsageError
from crawler.items import ARTICLE_SCHEMA, LINK_SCHEMA, LISTING_SCHEMA, PARCEL_SCHEMA
from crawler.store.files import ObjectPath, _atomic_write_text, parquet_format

#: Version of the on-disk layout, written into the marker file; bump on incompatible changes.
FORMAT_VERSION = 1
MARKER = "parkcorpus.json"
ARTICLES = "articles"
LINKS = "links"
#: The derived fact datasets (crawler.facts), hive-partitioned by site like links/.
PARCELS = "parcels"
LISTINGS = "listings"
FACT_KINDS = (PARCELS, LISTINGS)
RUNS = "runs"
TMP = ".tmp"
QUARANTINE = "quarantine"

#: Partition of posts whose page carries no usable date. Digits (not "unknown") so that every
#: hive reader still types year/month as integers across the whole dataset.
UNDATED = (0, 0)

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
#: What a reader sees of parcels/ and listings/ (site from the path), and what one file holds.
FACT_DATASET_SCHEMAS = {PARCELS: PARCEL_SCHEMA, LISTINGS: LISTING_SCHEMA}
FACT_FILE_SCHEMAS = {k: v.remove(v.get_field_index("site")) for k, v in FACT_DATASET_SCHEMAS.items()}

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY = ("site", "post_id", "content_hash", "record_hash")


def check_run_id(run_id: str) -> str:
    """run_id unchanged when it is safe inside a file name; UsageError otherwise."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise UsageError(f"bad run id {run_id!r}: use letters, digits, '.', '_' or '-' (max 128)")
    return run_id


def as_path(out: str | os.PathLike) -> Path:
    """out as a local Path, or an ObjectPath for s3://bucket/prefix (crawler.fs.resolve).

    A file:// URI is a local Path; a malformed URI or another scheme is a UsageError.
    """
    if isinstance(out, ObjectPath):
        return out
    text = os.fspath(out)
    if isinstance(text, str) and fs.is_uri(text):
        loc = location(text)  # UsageError for a malformed URI or another scheme
        return Path(loc.root) if loc.is_local else ObjectPath(loc)
    return Path(text)


def location(out: str) -> Any:
    """The crawler.fs Location of an s3:// (or any) --out, one per URI and AWS environment.

    Cached: a pyarrow S3FileSystem costs a few milliseconds to build and keeps a connection pool.
    """
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return _location(os.fspath(out), env)


@functools.lru_cache(maxsize=32)
def _location(out: str, env: tuple) -> Any:
    return fs.resolve(out, dict(env))


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
    if isinstance(path, ObjectPath):
        return _ensure_object_dataset(path, out, create)
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



def _marker_info() -> dict[str, Any]:
    return {"format": "parkcorpus-dataset", "version": FORMAT_VERSION,
            "created": dt.datetime.now(dt.timezone.utc).isoformat()}


def _ensure_object_dataset(path: ObjectPath, out: Any, create: bool) -> ObjectPath:
    """ensure_dataset on an object store: one probe (bucket, credentials, endpoint), then the marker."""
    loc = path.loc
    loc.probe()
    state = loc.root_state(MARKER)
    if state == "dataset":
        try:
            version = int(json.loads(loc.read_bytes(MARKER)).get("version", 0))
        except (ValueError, AttributeError):
            raise DatasetError(f"{loc.show(MARKER)} is damaged: restore it or delete it to re-create it") from None
        if version > FORMAT_VERSION:
            raise DatasetError(f"{out} was written by a newer parkcorpus (format {version}); upgrade parkcorpus")
        return path
    if state == "foreign":
        raise loc.not_a_dataset(MARKER)
    if not create:
        raise DatasetError(f"no parkcorpus dataset at {out}: crawl into it first "
                           f"(parkcorpus demo --out {out}) or pass --out")
    loc.put_bytes(MARKER, (json.dumps(_marker_info(), indent=2) + "\n").encode(), replace=True)
    return path


#: Run-state folders under <out>/.parkcorpus/ that need local file semantics (flock, O_NOFOLLOW,
#: rename): the failed-post debt (crawler.debt), the revisit sweep and the feed fingerprints
#: (crawler.revisit). On an object store they live in a local mirror that pull_state/push_state sync.
MIRRORED_STATE = ("failed", "checked", "feed")


def state_dir(out: str | os.PathLike) -> Path:
    """The local folder of <out>/.parkcorpus/: the dataset's own, or a per-URI mirror for an object store."""
    from crawler.ledger import STATE_DIR

    path = as_path(out)
    if isinstance(path, Path):
        return path / STATE_DIR
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "parkcorpus" / "state" / hashlib.sha256(str(path).encode()).hexdigest()[:20]


def pull_state(out: str | os.PathLike) -> None:
    """Copy the mirrored state files of an object-store dataset into state_dir(out) (no-op locally)."""
    from crawler.ledger import STATE_DIR
    from crawler.safefile import write_state_file

    path = as_path(out)
    if isinstance(path, Path):
        return
    local = state_dir(out)
    for kind in MIRRORED_STATE:
        for obj in (path / STATE_DIR / kind).iterdir():
            if obj.name.endswith(".json"):
                (local / kind).mkdir(parents=True, exist_ok=True)
                write_state_file(local / kind / obj.name, obj.read_bytes(), root=local)


def push_state(out: str | os.PathLike, kinds: Iterable[str] = MIRRORED_STATE) -> None:
    """Upload the mirrored state files of state_dir(out) under the object-store prefix (no-op locally)."""
    from crawler.ledger import STATE_DIR

    path = as_path(out)
    if isinstance(path, Path):
        return
    local = state_dir(out)
    for kind in kinds:
        for f in sorted((local / kind).glob("*.json")) if (local / kind).is_dir() else []:
            (path / STATE_DIR / kind / f.name).write_bytes(f.read_bytes())


def partition_of(site: str, published: Any) -> tuple[str, int, int]:
    """(site, year, month) of a row: the China-time month of `published`, UNDATED when it is null."""
    month = clock.site_month(published)
    if month is None:
        return site, *UNDATED
    return site, *month


def partition_dir(site: str, year: int, month: int) -> str:
    """Relative folder of an article partition, e.g. site=a.cn/year=2024/month=03."""
    return f"site={site}/year={year:04d}/month={month:02d}"


def _visible_parquet(folder: Path) -> list[Path]:
    if isinstance(folder, ObjectPath):
        return sorted(p for p in folder.iterdir() if not p.is_dir() and p.name.endswith(".parquet")
                      and not p.name.startswith((".", "_")))
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(folder / n for n in names if n.endswith(".parquet") and not n.startswith((".", "_")))


def dataset_files(out: str | os.PathLike, kind: str = ARTICLES) -> list[Path]:
    """Every visible Parquet file of the articles or links dataset, sorted."""
    root = as_path(out) / kind
    if isinstance(root, ObjectPath):
        return [ObjectPath(root.loc, rel, is_dir=False) for rel in root.loc.list_files(root.rel, ".parquet")
                if not any(part.startswith((".", "_")) for part in rel[len(root.rel):].split("/"))]
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
    return files_dataset(out, dataset_files(out, kind), kind)


def files_dataset(out: str | os.PathLike, files: list[Path], kind: str = ARTICLES,
                  base: Path | None = None) -> ds.Dataset | None:
    """The dataset made of these files of out's articles (or links) only; None when there are none.

    base: the folder the files' hive paths start from (default <out>/<kind>; a reader's snapshot)."""
    import pyarrow.dataset as ds

    root = base or as_path(out) / kind
    if not files:
        return None
    if kind == ARTICLES:
        part = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
        schema = DATASET_SCHEMA
    else:
        part = ds.partitioning(pa.schema([pa.field("site", pa.string())]), flavor="hive")
        schema = FACT_DATASET_SCHEMAS.get(kind, LINKS_DATASET_SCHEMA)
    # the explicit file list keeps files renamed in after listing out, and the explicit schema
    # lets files written before a column was added read with nulls for it
    if isinstance(root, ObjectPath):
        return ds.dataset([f.fs_path for f in files], schema=schema, format=parquet_format(), filesystem=root.loc.fs,
                          partitioning=part, partition_base_dir=root.fs_path)
    return ds.dataset([str(f) for f in files], schema=schema, format=parquet_format(),
                      partitioning=part, partition_base_dir=str(root))


# --------------------------------------------------------------------------- writing



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
    return pc.field("site").isin(sites)


def _retry_listing(read: Any, attempts: int = 5) -> Any:
    """read(), again when a file listed a moment ago is gone: compact swapped its partition."""
    for attempt in range(attempts):
        try:
            return read()
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise



def partition_months(published: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(year, month) columns of the partition each `published` value belongs in (China time; 0, 0 when null)."""
    local = pc.cast(published, pa.timestamp("us", tz=clock.SITE_TZ.key))
    year = pc.fill_null(pc.cast(pc.year(local), pa.int32()), UNDATED[0])
    month = pc.fill_null(pc.cast(pc.month(local), pa.int32()), UNDATED[1])
    return year, month
