"""The dataset reads back with pyarrow.dataset, pandas, Polars and DuckDB with the contract's names and types.

Each reader is called the way its documentation (and our README) shows, on a dataset with two
sites, several months, the undated partition, a changed article and a leftover temporary file.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from crawler import store
from crawler.items import ARTICLE_SCHEMA, REQUIRED_COLUMNS
from store_helpers import FETCHED, UTC, rec, write

SITES = ("jinshan.021cf.cn", "laian.021cf.cn")
ROWS = 7  # rows written below (one post has two versions)


def _parcel(site: str, post_id: int, name: str) -> dict:
    """A deal row as crawler.facts gives it (the writer adds extractor_version, run_id, fetched_at)."""
    return {"site": site, "post_id": post_id, "url": f"http://{site}/index.php/post/{post_id}.html",
            "doc_type": "land_result", "stage": "result", "parcel_name": name, "parcel_key": name,
            "area_m2": 20000.0, "land_use": "工业用地", "deal_price_yuan": 1.2e7, "source": "table", "raw": name}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("readers") / "data"
    listing = {"site": SITES[1], "post_id": 4, "url": f"http://{SITES[1]}/index.php/post/4.html", "kind": "rent",
               "property": "厂房", "area_m2": 3200.0, "price_value": 1.2, "price_unit": "元/㎡/天"}
    write(out, [
        rec(1, site=SITES[0], parcels=[_parcel(SITES[0], 1, "旧版地块")]),
        rec(2, site=SITES[0], published=dt.datetime(2023, 11, 2, tzinfo=UTC)),
        rec(3, site=SITES[0], published=None, tags=[], related=[]),
        rec(4, site=SITES[1], listings=[listing]),
        # the last second of 2024 in China (partitions follow the China-time month of published)
        rec(5, site=SITES[1], published=dt.datetime(2024, 12, 31, 15, 59, 59, 123456, tzinfo=UTC)),
    ], run_id="r1", flush_rows=2)
    write(out, [rec(1, site=SITES[0], text="改版后的正文", fetched_at=FETCHED + dt.timedelta(days=1),
                    parcels=[_parcel(SITES[0], 1, "JS-0504单元47-09地块")]),
                rec(6, site=SITES[1], published=None)], run_id="r2")
    # what a killed run leaves behind: readers must not see it
    (out / ".tmp" / "part-r3-00000.parquet.1234.tmp").write_bytes(b"PAR1 partial")
    return out


def _types(schema: pa.Schema) -> dict[str, pa.DataType]:
    return {f.name: f.type for f in schema}


def test_pyarrow_dataset_hive(dataset):
    table = ds.dataset(dataset / "articles", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == ROWS
    types = _types(table.schema)
    for name in REQUIRED_COLUMNS:
        assert types[name].equals(ARTICLE_SCHEMA.field(name).type), name
    assert types["year"] == pa.int32() and types["month"] == pa.int32()
    rows = table.select(["site", "post_id", "year", "month"]).to_pylist()
    assert {(r["site"], r["post_id"], r["year"], r["month"]) for r in rows} >= {
        (SITES[0], 3, 0, 0), (SITES[0], 2, 2023, 11), (SITES[1], 5, 2024, 12)}
    # partition pruning on the key
    only = ds.dataset(dataset / "articles", format="parquet", partitioning="hive").to_table(
        filter=ds.field("site") == SITES[1])
    assert set(only.column("post_id").to_pylist()) == {4, 5, 6}


def test_pandas_read_parquet(dataset):
    import pandas as pd

    df = pd.read_parquet(dataset / "articles")
    assert len(df) == ROWS
    assert set(REQUIRED_COLUMNS) <= set(df.columns)
    assert str(df["published"].dtype) == "datetime64[us, UTC]"
    assert str(df["fetched_at"].dtype) == "datetime64[us, UTC]"
    assert df["post_id"].dtype == "int64"
    assert set(df["site"].astype(str)) == set(SITES)
    assert sorted(set(df["year"].astype(int))) == [0, 2023, 2024]
    sub = pd.read_parquet(dataset / "articles", filters=[("site", "==", SITES[0])])
    assert sorted(sub["post_id"]) == [1, 1, 2, 3]


def test_polars_hive(dataset):
    pl = pytest.importorskip("polars")
    df = pl.read_parquet(dataset / "articles" / "**" / "*.parquet", hive_partitioning=True)
    assert df.height == ROWS
    s = df.schema
    assert s["url"] == pl.String and s["site"] == pl.String and s["post_id"] == pl.Int64
    assert s["published"] == pl.Datetime("us", "UTC") and s["fetched_at"] == pl.Datetime("us", "UTC")
    assert s["tags"] == pl.List(pl.String)
    assert s["related"] == pl.List(pl.Struct({"url": pl.String, "title": pl.String, "post_id": pl.Int64}))
    assert s["year"] == pl.Int64 and s["month"] == pl.Int64
    lazy = pl.scan_parquet(dataset / "articles" / "**" / "*.parquet", hive_partitioning=True)
    assert sorted(lazy.filter(pl.col("site") == SITES[1]).collect()["post_id"].to_list()) == [4, 5, 6]
    assert set(REQUIRED_COLUMNS) <= set(df.columns)


def test_duckdb_hive(dataset):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    glob = f"{dataset}/articles/**/*.parquet"
    rel = con.sql(f"select * from read_parquet('{glob}', hive_partitioning=true, "
                  "hive_types={'year': INTEGER, 'month': INTEGER})")
    types = {n: str(t) for n, t in zip(rel.columns, rel.types)}
    assert types["url"] == "VARCHAR" and types["site"] == "VARCHAR" and types["post_id"] == "BIGINT"
    assert types["published"] == "TIMESTAMP WITH TIME ZONE" and types["fetched_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["tags"] == "VARCHAR[]"
    assert types["related"] == "STRUCT(url VARCHAR, title VARCHAR, post_id BIGINT)[]"
    assert types["year"] == "INTEGER" and types["month"] == "INTEGER"
    assert set(REQUIRED_COLUMNS) <= set(rel.columns)
    n = con.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning=true)").fetchall()[0][0]
    assert n == ROWS
    undated = con.sql(f"select post_id from read_parquet('{glob}', hive_partitioning=true, "
                      "hive_types={'year': INTEGER, 'month': INTEGER}) where year = 0 order by 1").fetchall()
    assert undated == [(3,), (6,)]


def test_links_read_with_every_reader(dataset):
    import duckdb
    import pandas as pd
    import polars as pl

    n = ds.dataset(dataset / "links", format="parquet", partitioning="hive").count_rows()
    assert n > 0
    assert len(pd.read_parquet(dataset / "links")) == n
    assert pl.read_parquet(dataset / "links" / "**" / "*.parquet", hive_partitioning=True).height == n
    assert duckdb.sql(f"select count(*) from read_parquet('{dataset}/links/**/*.parquet', "
                      "hive_partitioning=true)").fetchall()[0][0] == n


def test_load_agrees_with_the_readers(dataset):
    df = store.load(dataset)
    assert len(df) == ROWS - 1  # the old version of post 1 is folded
    assert df.set_index(["site", "post_id"]).loc[(SITES[0], 1), "text"] == "改版后的正文"


def test_the_readme_reading_examples_run(dataset, monkeypatch):
    """The code of README "Reading the data" runs as printed against a dataset in ./data."""
    import re
    import shutil
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reading the data", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README 'Reading the data' has no python example"
    work = dataset.parent / "readme-cwd"
    if not work.exists():
        shutil.copytree(dataset, work / "data")
    monkeypatch.chdir(work)
    ns: dict = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), ns)
    assert list(ns["df"]["text"]) == ["改版后的正文"]  # the one jinshan post of 2024, newest version
    assert len(ns["raw"]) == 4
    assert set(ns["raw"]["site"]) == {"jinshan.021cf.cn"}  # the hive key, read from the folder names
    assert sorted(set(ns["raw"]["year"])) == [0, 2023, 2024]
    assert ns["per_month"].height >= 4
    assert len(ns["edges"]) > 0
    # facts: the parcel of the current version of post 1 only (the old version's row is hidden)
    assert list(ns["deals"]["parcel_name"]) == ["JS-0504单元47-09地块"]


def test_the_at_scale_duckdb_example_runs(dataset, tmp_path, monkeypatch):
    """docs/cluster.md's DuckDB example runs as printed, with the shared folder pointed at the dataset."""
    import re
    from pathlib import Path

    import pyarrow.parquet as pq

    doc = (Path(__file__).resolve().parents[1] / "docs" / "cluster.md").read_text(encoding="utf-8")
    section = doc.split("## Reading a corpus at scale", 1)[1]
    code = next(b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "duckdb" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("/shared/data", str(dataset)), "docs/cluster.md", "exec"), {})
    months = pq.read_table(tmp_path / "months.parquet").to_pylist()
    assert sum(m["posts"] for m in months) == ROWS  # every stored version, one row per site and month
    assert {m["site"] for m in months} == set(SITES) and all(isinstance(m["year"], int) for m in months)

