"""Current versions outside load(): the DuckDB macros, current_polars and current_arrow agree with load().

The dataset is written with crawler.store.DatasetWriter only: three runs that change some posts
(text edits, a post whose corrected date moves it to another month, a re-extraction of the same
fetch), plus a copy of one file, as a run killed while merging leaves it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from crawler import readers, store
from store_helpers import FETCHED, UTC, rec, write

A, B = "jinshan.021cf.cn", "laian.021cf.cn"
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    out = tmp_path_factory.mktemp("current") / "data"
    write(out, [rec(i, site=A) for i in range(1, 7)] + [rec(i, site=B) for i in range(1, 4)], run_id="r1")
    write(out, [
        rec(2, site=A, text="第2篇正文，已更正。\n第二段。", fetched_at=FETCHED + DAY),
        # a corrected date: the new version lives in another month partition
        rec(3, site=A, text="第3篇正文（日期更正）。", fetched_at=FETCHED + DAY,
            published=dt.datetime(2024, 4, 9, 2, 0, tzinfo=UTC)),
        rec(1, site=B, text="价格调整为每平方米1.2元。", fetched_at=FETCHED + DAY),
        rec(5, site=A, fetched_at=FETCHED + DAY),  # unchanged: not stored again
    ], run_id="r2")
    write(out, [
        rec(2, site=A, text="第2篇正文，再次修改。\n第二段。", fetched_at=FETCHED + 2 * DAY),
        # a re-extraction of run r1's fetch of post 4 with better rules: same fetched_at, later extracted_at
        rec(4, site=A, text="第4篇正文。", fetched_at=FETCHED, extracted_at=dt.datetime.now(UTC) + DAY),
        rec(7, site=B, published=None),
    ], run_id="r3")
    files = sorted((out / "articles" / f"site={A}").rglob("part-r2-*.parquet"))
    shutil.copy(files[0], files[0].with_name("part-r2-copy.parquet"))
    # a file as an older parkcorpus wrote it (no warc_record_id) with a column a newer one adds
    old = next((out / "articles" / f"site={B}").rglob("part-r3-*.parquet"))
    table = pq.read_table(old).drop_columns(["warc_record_id"])
    table = table.append_column("future_col", pa.array(["x"] * table.num_rows))
    old.unlink()
    pq.write_table(table, old.with_name("part-r3-old.parquet"))
    readers.write_current_sql(out)
    return out


def _ids(rows) -> set[tuple]:
    return {(r["site"], int(r["post_id"]), r["content_hash"], r["title"], r["text"]) for r in rows}


@pytest.fixture(scope="module")
def expected(refreshed):
    df = store.load(refreshed)
    all_versions = store.load(refreshed, history=True)
    assert len(all_versions) > len(df) + 3  # the dataset really holds superseded versions
    return _ids(df.to_dict("records"))


def test_duckdb_macros_written_into_the_dataset(refreshed, expected):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute((refreshed / "current.sql").read_text(encoding="utf-8"))
    rel = con.sql(f"select * from current_articles('{refreshed}')")
    rows = [dict(zip(rel.columns, t)) for t in rel.fetchall()]
    assert len(rows) == len(expected) and _ids(rows) == expected
    n_versions = con.sql(f"select count(*) from article_versions('{refreshed}')").fetchall()[0][0]
    assert n_versions > len(rows)
    # filtering the result: the moved post is in April only with its current version
    april = con.sql(f"select post_id, text from current_articles('{refreshed}') "
                    f"where site = '{A}' and year = 2024 and month = 4").fetchall()
    assert april == [(3, "第3篇正文（日期更正）。")]
    assert con.sql(f"select count(*) from current_articles('{refreshed}') "
                   f"where site = '{A}' and post_id = 3").fetchall()[0][0] == 1
    # links of current versions only: post 2 of A has one version's links, not three
    links = con.sql(f"select distinct content_hash from current_links('{refreshed}') "
                    f"where src_site = '{A}' and src_post_id = 2").fetchall()
    assert links == [(store.load(refreshed, site=A).set_index("post_id").loc[2, "content_hash"],)]


def test_duckdb_cli_style_from_another_directory(refreshed, expected, tmp_path):
    pytest.importorskip("duckdb")
    code = ("import duckdb, sys; con = duckdb.connect(); "
            "con.execute(open('data/current.sql', encoding='utf-8').read()); "
            "print(con.sql(\"select count(*) from current_articles('data')\").fetchall()[0][0])")
    shutil.copytree(refreshed, tmp_path / "data")
    got = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert int(got.stdout) == len(expected)


def test_current_duckdb_helper(refreshed, expected):
    pytest.importorskip("duckdb")
    rel = readers.current_duckdb(refreshed)
    assert _ids(dict(zip(rel.columns, t)) for t in rel.fetchall()) == expected


def test_current_polars(refreshed, expected):
    pl = pytest.importorskip("polars")
    df = readers.current_polars(refreshed, lazy=False)
    assert df.height == len(expected) and _ids(df.to_dicts()) == expected
    one = readers.current_polars(refreshed).filter(pl.col("site") == B).collect()
    assert sorted(one["post_id"].to_list()) == [1, 2, 3, 7]
    assert one.filter(pl.col("post_id") == 1)["text"].to_list() == ["价格调整为每平方米1.2元。"]


def test_current_arrow(refreshed, expected):
    table = readers.current_arrow(refreshed)
    assert table.num_rows == len(expected) and _ids(table.to_pylist()) == expected
    only = readers.current_arrow(refreshed, columns=["post_id", "text"], filter=ds.field("site") == A)
    assert only.column_names == ["post_id", "text"]
    assert dict(zip(only.column("post_id").to_pylist(), only.column("text").to_pylist()))[4] == "第4篇正文。"
    # a filter on an old version's month does not bring that version back
    march = readers.current_arrow(refreshed, filter=(ds.field("site") == A) & (ds.field("month") == 3))
    assert 3 not in march.column("post_id").to_pylist()
    assert readers.current_arrow(refreshed.parent / "nothing-here", columns=["url"]).num_rows == 0


def test_current_sql_is_rewritten_only_when_it_changed(refreshed):
    path = refreshed / "current.sql"
    before = path.stat().st_mtime_ns
    assert readers.write_current_sql(refreshed) == path and path.stat().st_mtime_ns == before
    path.write_text("-- stale", encoding="utf-8")
    readers.write_current_sql(refreshed)
    assert path.read_text(encoding="utf-8") == readers.current_sql()
