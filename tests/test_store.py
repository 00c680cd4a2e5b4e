"""crawler.store: the writer, its file protocol, the crawl state, load() and the folder marker."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import tracemalloc
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler import store
from crawler.errors import DatasetError, UsageError
from crawler.items import ARTICLE_SCHEMA, LINK_SCHEMA, content_hash, link_rows, record_hash
from store_helpers import FETCHED, UTC, rec, write
CST = dt.timezone(dt.timedelta(hours=8))

SITE = "jinshan.021cf.cn"


def rel(out: Path, files) -> list[str]:
    return sorted(str(Path(f).relative_to(out)) for f in files)


# --------------------------------------------------------------------------- layout


def test_partition_layout_file_names_and_undated_partition(tmp_path):
    out = tmp_path / "data"
    w = write(out, [rec(1), rec(2, published=dt.datetime(2023, 12, 31, 15, 0, tzinfo=UTC)),
                    rec(3, published=None), rec(4, site="laian.021cf.cn")], run_id="r-1")
    # everything went out at close, as one batch: one file per partition, one links file per site
    assert rel(out, store.dataset_files(out)) == [
        f"articles/site={SITE}/year=0000/month=00/part-r-1-00000.parquet",
        f"articles/site={SITE}/year=2023/month=12/part-r-1-00000.parquet",
        f"articles/site={SITE}/year=2024/month=03/part-r-1-00000.parquet",
        "articles/site=laian.021cf.cn/year=2024/month=03/part-r-1-00000.parquet",
    ]
    assert rel(out, store.dataset_files(out, "links")) == [
        f"links/site={SITE}/part-r-1-00000.parquet", "links/site=laian.021cf.cn/part-r-1-00000.parquet"]
    assert w.counts["rows_written"] == 4
    assert store.is_dataset(out)
    assert not list((out / ".tmp").iterdir())


def test_partition_is_the_china_month_of_published():
    # 00:30 on 1 March in Shanghai is still February in UTC: the China month decides, as the page shows it
    cst = dt.timezone(dt.timedelta(hours=8))
    assert store.partition_of("a", dt.datetime(2024, 3, 1, 0, 30, tzinfo=cst)) == ("a", 2024, 3)
    assert store.partition_of("a", dt.datetime(2024, 2, 29, 16, 0, tzinfo=UTC)) == ("a", 2024, 3)
    assert store.partition_of("a", dt.datetime(2024, 2, 29, 15, 59, tzinfo=UTC)) == ("a", 2024, 2)
    assert store.partition_of("a", None) == ("a", 0, 0)


def test_files_carry_the_declared_schema_and_microseconds(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(i) for i in range(3)])
    for f in store.dataset_files(out):
        schema = pq.read_schema(f)
        assert schema.names == store.FILE_SCHEMA.names  # every column but the partition key site
        assert schema.field("published").type == pa.timestamp("us", tz="UTC")
        assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")
    for f in store.dataset_files(out, "links"):
        assert pq.read_schema(f).names == LINK_SCHEMA.names


def _codecs(path):
    md = pq.ParquetFile(path).metadata.row_group(0)
    return {md.column(i).path_in_schema: md.column(i).compression for i in range(md.num_columns)}


def test_small_files_compress_the_text_with_zstd_and_the_rest_with_snappy_large_files_zstd(tmp_path):
    from crawler.store.files import SMALL_FILE_ROWS

    out = tmp_path / "data"
    n = SMALL_FILE_ROWS + 5
    w = store.DatasetWriter(out, "run", flush_rows=1000, consolidate=False)
    for i in range(n):  # one partition of n rows, one of 3
        w.add(rec(i, published=dt.datetime(2024, 5, 2, 3, 0, tzinfo=UTC)))
    for i in range(3):
        w.add(rec(500 + i, published=dt.datetime(2024, 6, 2, 3, 0, tzinfo=UTC)))
    w.close()
    by_rows = {pq.ParquetFile(f).metadata.num_rows: f for f in store.dataset_files(out)}
    assert sorted(by_rows) == [3, n]
    small, large = _codecs(by_rows[3]), _codecs(by_rows[n])
    assert small["text"] == "ZSTD" and small["title"] == small["post_id"] == "SNAPPY"
    assert small["tags.list.element"] == small["related.list.element.url"] == "SNAPPY"  # nested leaves too
    assert set(large.values()) == {"ZSTD"}
    (links,) = store.dataset_files(out, "links")  # no text column: snappy throughout below the bound
    assert set(_codecs(links).values()) == ({"ZSTD"} if pq.ParquetFile(links).metadata.num_rows >= SMALL_FILE_ROWS
                                            else {"SNAPPY"})


def _stats(path):
    md = pq.ParquetFile(path).metadata.row_group(0)
    return {md.column(i).path_in_schema: md.column(i).statistics for i in range(md.num_columns)}


@pytest.mark.parametrize("merged", [False, True])
def test_small_files_have_no_dictionary_pages_and_merged_files_do(tmp_path, merged):
    from crawler.store.files import SMALL_FILE_ROWS

    out = tmp_path / "data"
    w = store.DatasetWriter(out, "run", flush_rows=2 if merged else 1000)
    for i in range(4):  # 4 rows: flushed 2 by 2 and merged at close, or one small file
        w.add(rec(i, text=f"{i} 产业园区招商", published=dt.datetime(2024, 5, 2 + i, 3, 0, tzinfo=UTC)))
    w.close()
    (f,) = store.dataset_files(out)
    meta = pq.ParquetFile(f).metadata
    assert meta.num_rows == 4 < SMALL_FILE_ROWS
    chunks = [meta.row_group(0).column(i) for i in range(meta.num_columns)]
    with_dict = {c.path_in_schema for c in chunks if c.has_dictionary_page}
    codecs = {c.path_in_schema: c.compression for c in chunks}
    if merged:  # a merged file is zstd with dictionaries throughout, whatever its size
        assert {"category", "run_id", "author"} <= with_dict
        assert set(codecs.values()) == {"ZSTD"}
    else:  # written in one piece below SMALL_FILE_ROWS: no dictionary pages, snappy but the text
        assert with_dict == set()
        assert codecs["text"] == "ZSTD" and codecs["title"] == "SNAPPY"
    assert pq.read_table(f).column("post_id").to_pylist() == [0, 1, 2, 3]


@pytest.mark.parametrize("merged", [False, True])
def test_free_text_has_no_statistics_keys_and_dates_keep_theirs_and_filters_still_prune(tmp_path, merged):
    from crawler.store.files import NO_STATISTICS

    out = tmp_path / "data"
    # ~1 KB of UTF-8: below the size (4 KB) above which Parquet writers drop a value's statistics anyway
    long_text = "产业园区招商" * 60
    w = store.DatasetWriter(out, "run", flush_rows=2 if merged else 1000)
    for i in range(4):  # flushed 2 by 2 and merged at close, or written in one piece
        w.add(rec(i, text=f"{i}{long_text}", published=dt.datetime(2024, 5, 2 + i, 3, 0, tzinfo=UTC)))
    w.close()
    (f,) = store.dataset_files(out)
    stats = _stats(f)
    assert stats["text"] is None or not stats["text"].has_min_max
    for path, st in stats.items():
        if path.partition(".")[0] in NO_STATISTICS:
            assert st is None or not st.has_min_max, path
    assert (stats["post_id"].min, stats["post_id"].max) == (0, 3)
    assert stats["published"].has_min_max and stats["content_hash"].has_min_max
    assert stats["tags.list.element"].has_min_max  # nested leaves keep theirs
    # the texts (~1 KB each) are not in the footer: with every statistic it holds their min and max
    every = tmp_path / "every.parquet"
    pq.write_table(pq.read_table(f), every, write_statistics=True)
    assert pq.ParquetFile(every).metadata.serialized_size - pq.ParquetFile(f).metadata.serialized_size > 2 * 1000
    # a range filter still skips the file by its published statistics, and reads it when it matches
    dataset = ds.dataset(f, format="parquet")
    after = pa.scalar(dt.datetime(2024, 6, 1, tzinfo=UTC), pa.timestamp("us", tz="UTC"))
    assert [fr for frag in dataset.get_fragments() for fr in frag.split_by_row_group(ds.field("published") > after)] == []
    assert dataset.to_table(filter=ds.field("published") < after).num_rows == 4
    assert pq.read_table(f).column("text").to_pylist()[0] == f"0{long_text}"


def test_small_snappy_files_read_back_identically_in_every_reader(tmp_path):
    import duckdb
    import polars as pl

    out = tmp_path / "data"
    rows = [rec(i, text=f"第{i}段 产业园区招商\n" * (i + 1)) for i in range(4)]
    write(out, rows)
    (f,) = store.dataset_files(out)
    assert set(_codecs(f).values()) == {"ZSTD", "SNAPPY"}
    want = pq.read_table(f).sort_by("post_id")
    assert want.column("text").to_pylist() == [r["text"] for r in rows]
    got_pd = pd.read_parquet(f).sort_values("post_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got_pd, want.to_pandas())
    got_pl = pl.read_parquet(f).sort("post_id")
    assert got_pl["text"].to_list() == want.column("text").to_pylist()
    assert got_pl["tags"].to_list() == want.column("tags").to_pylist()
    con = duckdb.connect()
    got_db = con.execute(f"SELECT post_id, text, tags FROM read_parquet('{f}') ORDER BY post_id").fetchall()
    assert got_db == list(zip(*(want.column(c).to_pylist() for c in ("post_id", "text", "tags"))))


def test_writer_flushes_every_n_rows_and_on_close(tmp_path):
    out = tmp_path / "data"
    w = store.DatasetWriter(out, "run1", flush_rows=3)
    for i in range(7):
        w.add(rec(i))
    assert len(store.dataset_files(out)) == 2 and w.pending == 1
    w.close()
    # close wrote the last row, then merged the run's three files of the partition into one
    assert w.pending == 0 and w.flushes == 3
    names = [f.name for f in store.dataset_files(out)]
    assert names == ["part-run1-00002.parquet"]
    assert [f.name for f in store.dataset_files(out, "links")] == ["part-run1-00002.parquet"]
    assert sorted(rel(out, w.files)) == rel(out, store.dataset_files(out) + store.dataset_files(out, "links"))
    assert len(store.load(out)) == 7
    w.close()  # idempotent
    # without consolidate, every flush stays its own file
    out2 = tmp_path / "raw"
    with store.DatasetWriter(out2, "run1", flush_rows=3, consolidate=False) as w:
        for i in range(7):
            w.add(rec(i))
    names = [f.name for f in store.dataset_files(out2)]
    assert names == ["part-run1-00000.parquet", "part-run1-00001.parquet", "part-run1-00002.parquet"]


def test_buffers_per_partition_so_files_follow_partitions_not_posts(tmp_path):
    out = tmp_path / "data"
    w = store.DatasetWriter(out, "run1", flush_rows=10, max_buffer_rows=25)
    # a crawl walking back through time: 12 months x 8 posts, newest first
    months = [(2024, m) for m in range(12, 0, -1)]
    pid = 1000
    for year, month in months:
        for day in range(1, 9):
            w.add(rec(pid, published=dt.datetime(year, month, day, tzinfo=UTC)))
            pid -= 1
            assert w.pending <= 25
    w.close()
    files = store.dataset_files(out)
    # one file per month, although no month ever reached flush_rows and 96 > 25 rows were buffered
    assert len(files) == 12 == len({f.parent for f in files})
    assert len(store.dataset_files(out, "links")) < 12  # months evicted together share a links file
    assert len(store.load(out)) == 96
    # a partition that fills up is written at once
    w = store.DatasetWriter(out, "run2", flush_rows=3)
    for i in range(3):
        w.add(rec(2000 + i, published=dt.datetime(2020, 1, 1, tzinfo=UTC)))
    assert w.pending == 0 and len(w.files) == 2  # its links file and its articles file


def test_same_run_id_twice_never_overwrites_a_file(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1)], run_id="job")
    write(out, [rec(2)], run_id="job")
    files = store.dataset_files(out)
    assert len(files) == 2
    assert sorted(store.load(out)["post_id"]) == [1, 2]


def test_bad_run_id_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="bad run id"):
        store.DatasetWriter(tmp_path / "d", "../evil")


# --------------------------------------------------------------------------- atomic file protocol


def test_crash_between_write_and_rename_leaves_no_visible_file(tmp_path, monkeypatch):
    out = tmp_path / "data"
    write(out, [rec(1)], run_id="before")

    def crash(*a, **k):
        raise KeyboardInterrupt("killed between write and rename")

    w = store.DatasetWriter(out, "crashing")  # before the patch: readers link files too (a snapshot)
    w.add(rec(2))
    monkeypatch.setattr(store.files.os, "link", crash)
    with pytest.raises(KeyboardInterrupt):
        w.flush()
    monkeypatch.undo()
    # the complete temporary file exists, but only under .tmp/, which no reader looks at
    assert [p.name for p in (out / ".tmp").iterdir()]
    assert [f.parent.name for f in store.dataset_files(out)] == ["month=03"]
    assert ds.dataset(out / "articles", format="parquet", partitioning="hive").count_rows() == 1
    import duckdb

    n = duckdb.sql(f"select count(*) from read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true)").fetchall()[0][0]
    assert n == 1
    assert list(store.load(out)["post_id"]) == [1]


def test_crash_while_writing_leaves_only_a_partial_temp_file(tmp_path, monkeypatch):
    out = tmp_path / "data"
    real = pq.write_table

    def partial(table, where, **kw):
        real(table, where, **kw)
        with open(where, "r+b") as fh:  # the process dies half-way through the file
            fh.truncate(os.path.getsize(where) // 2)
        raise SystemExit("killed mid-write")

    monkeypatch.setattr(store.files.pq, "write_table", partial)
    w = store.DatasetWriter(out, "run")
    w.add(rec(1))
    with pytest.raises(SystemExit):
        w.flush()
    monkeypatch.undo()
    assert store.dataset_files(out) == [] and store.dataset_files(out, "links") == []
    assert len(store.load(out)) == 0
    # the next run does not know the post, so it writes it again
    assert store.DatasetWriter(out, "next").add(rec(1)) == "new"


# --------------------------------------------------------------------------- dedup and versions


def test_add_reports_new_changed_unchanged_across_runs(tmp_path):
    out = tmp_path / "data"
    w = store.DatasetWriter(out, "r1")
    assert [w.add(rec(1)), w.add(rec(1)), w.add(rec(2))] == ["new", "unchanged", "new"]
    w.close()
    w = store.DatasetWriter(out, "r2")
    later = FETCHED + dt.timedelta(days=1)
    assert w.add(rec(1, fetched_at=later)) == "unchanged"
    assert w.add(rec(1, text="改过的正文", fetched_at=later)) == "changed"
    assert w.add(rec(3, fetched_at=later)) == "new"
    w.close()
    assert w.counts == {"new": 1, "changed": 1, "unchanged": 1, "rows_written": 2, "links_written": 8,
                        "parcels_written": 0, "listings_written": 0}
    hist = store.load(out, history=True)
    keys = list(zip(hist.site, hist.post_id, hist.content_hash))
    assert len(keys) == len(set(keys)) == 4


def test_load_returns_newest_version_per_post(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1, text="旧"), rec(2)], run_id="r1")
    write(out, [rec(1, text="新", fetched_at=FETCHED + dt.timedelta(hours=1))], run_id="r2")
    df = store.load(out)
    assert list(zip(df.post_id, df.text)) == [(1, "新"), (2, "第2篇正文。\n第二段。")]
    assert df.set_index("post_id").loc[1, "run_id"] == "r2"
    assert len(store.load(out, history=True)) == 3


def test_newest_version_survives_a_change_of_month(tmp_path):
    # a re-resolved relative date moved the post into another partition: still one current row
    out = tmp_path / "data"
    write(out, [rec(1, text="旧")], run_id="r1")
    write(out, [rec(1, text="新", published=dt.datetime(2024, 4, 1, tzinfo=UTC),
                    fetched_at=FETCHED + dt.timedelta(days=1))], run_id="r2")
    df = store.load(out)
    assert list(df.text) == ["新"]


def test_reextracted_version_of_the_same_fetch_wins(tmp_path):
    out = tmp_path / "data"
    t0 = dt.datetime(2024, 7, 1, tzinfo=UTC)
    write(out, [rec(1, text="旧规则", extracted_at=t0)], run_id="crawl")
    write(out, [rec(1, text="新规则", extracted_at=t0 + dt.timedelta(days=30))], run_id="reextract")
    assert list(store.load(out).text) == ["新规则"]
    assert store.newest_hash(out)[(SITE, 1)] in {content_hash("新规则"), content_hash("旧规则")}


def test_load_filters_and_columns(tmp_path):
    out = tmp_path / "data"
    write(out, [
        # days are China days: 23:00 and 00:00 China time on either side of midnight in Shanghai
        rec(1, published=dt.datetime(2024, 1, 31, 23, tzinfo=CST)),
        rec(2, published=dt.datetime(2024, 2, 1, 0, tzinfo=CST), category="政策"),
        rec(3, published=dt.datetime(2024, 2, 29, 12, tzinfo=UTC)),
        rec(4, published=None),
        rec(5, site="laian.021cf.cn", published=dt.datetime(2024, 2, 10, tzinfo=UTC)),
    ])
    assert sorted(store.load(out, site=SITE).post_id) == [1, 2, 3, 4]
    assert sorted(store.load(out, since="2024-02-01").post_id) == [2, 3, 5]
    assert sorted(store.load(out, until="2024-02-01").post_id) == [1, 2]  # until includes its day
    assert sorted(store.load(out, since=dt.date(2024, 2, 1), until="2024-02-29", site=[SITE]).post_id) == [2, 3]
    assert list(store.load(out, category="政策").post_id) == [2]
    df = store.load(out, columns=["post_id", "title"])
    assert list(df.columns) == ["post_id", "title"]
    with pytest.raises(UsageError, match="unknown column"):
        store.load(out, columns=["nope"])
    with pytest.raises(UsageError, match="bad --since date '2024-02-30'"):
        store.load(out, since="2024-02-30")
    with pytest.raises(UsageError, match="--since 2024-03-01 is after --until 2024-02-01"):
        store.load(out, since="2024-03-01", until="2024-02-01")


def test_load_dtypes(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1), rec(2, http_status=None)])
    df = store.load(out)
    assert str(df["published"].dtype) == "datetime64[us, UTC]"
    assert str(df["fetched_at"].dtype) == "datetime64[us, UTC]"
    assert df["post_id"].dtype == "int64"
    assert str(df["http_status"].dtype) == "Int32"
    assert list(df.columns) == ARTICLE_SCHEMA.names


def test_load_of_an_empty_dataset_has_the_columns(tmp_path):
    out = tmp_path / "data"
    store.ensure_dataset(out)
    df = store.load(out)
    assert len(df) == 0 and list(df.columns) == ARTICLE_SCHEMA.names


# --------------------------------------------------------------------------- crawl state


def test_known_posts_is_a_mapping_of_hash_sets(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1, text="a"), rec(2, site="laian.021cf.cn")], run_id="r1")
    write(out, [rec(1, text="b", fetched_at=FETCHED + dt.timedelta(1))], run_id="r2")
    # by default a version is known by its record_hash (title, text, category, tags)
    by_record = store.known_posts(out)
    assert by_record[(SITE, 1)] == {record_hash(rec(1, text="a")), record_hash(rec(1, text="b"))}
    known = store.known_posts(out, by="content_hash")
    assert dict(known) == {(SITE, 1): {content_hash("a"), content_hash("b")},
                           ("laian.021cf.cn", 2): {content_hash(rec(2)["text"])}}
    assert (SITE, 1) in known and (SITE, 9) not in known and len(known) == 2
    assert known.has(SITE, 1, content_hash("b")) and not known.has(SITE, 1, content_hash("c"))
    assert known.newest(SITE, 1) == content_hash("b")
    assert set(store.known_posts(out, sites=["laian.021cf.cn"])) == {("laian.021cf.cn", 2)}
    assert store.newest_hash(out)[(SITE, 1)] == content_hash("b")
    assert dict(store.known_posts(tmp_path / "missing")) == {}


def test_known_posts_stays_small_for_100000_posts(tmp_path):
    out = tmp_path / "data"
    store.ensure_dataset(out)
    n = 100_000
    table = pa.table({
        "post_id": pa.array(range(n), pa.int64()),
        "content_hash": pa.array([content_hash(str(i)) for i in range(n)]),
        "fetched_at": pa.array([FETCHED] * n, pa.timestamp("us", tz="UTC")),
    })
    folder = out / "articles" / f"site={SITE}" / "year=2024" / "month=03"
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-big-00000.parquet")
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    known = store.known_posts(out)
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(known) == n and known.has(SITE, 77_777, content_hash("77777"))
    # a dict of tuples -> sets of 64-char strings would hold ~40 MB here
    assert held < 8_000_000, f"known_posts holds {held / 1e6:.1f} MB for {n} posts"


def test_writer_updates_the_state_it_was_given(tmp_path):
    out = tmp_path / "data"
    known = store.known_posts(out)
    w = store.DatasetWriter(out, "r1", known=known)
    w.add(rec(1))
    assert known.has(SITE, 1, record_hash(rec(1))) and known.has_version(SITE, 1, None, record_hash(rec(1)))
    w.close()


# --------------------------------------------------------------------------- links


def test_link_rows_cover_related_prev_next_inline():
    r = rec(5, run_id="r", content_hash="h")
    rows = link_rows(r)
    assert [(x["kind"], x["dst_url"], x["dst_post_id"], x["position"], x["anchor"]) for x in rows] == [
        ("related", f"http://{SITE}/index.php/post/105.html", 105, 0, "相关"),
        ("prev", f"http://{SITE}/index.php/post/4.html", 4, 0, None),
        ("next", f"http://{SITE}/index.php/post/6.html", 6, 0, None),
        ("inline", f"http://{SITE}/index.php/post/1.html", 1, 0, "第一篇"),  # resolved against the page
    ]
    assert all(x["src_site"] == SITE and x["src_post_id"] == 5 and x["dst_site"] == SITE for x in rows)
    assert pa.Table.from_pylist(rows, schema=LINK_SCHEMA).num_rows == 4
    off = link_rows(rec(5, prev_url=None, next_url=None, related=[],
                        inline_links=[{"url": "http://example.com/index.php?id=3", "anchor": "x"},
                                      {"url": "http://example.com/about.html?id=4", "anchor": "y"}]))
    assert [(x["dst_site"], x["dst_post_id"]) for x in off] == [("example.com", 3), ("example.com", None)]



def test_link_rows_join_like_urljoin_on_every_page():
    # link_rows remembers absolute links across pages: the rows must still be those of urljoin on
    # each page, whatever its scheme, for absolute, relative and odd links
    from urllib.parse import urljoin, urlsplit

    links = ["http://a.example/x/../y?q#f", "https://a.example/p;v?", "http://B.Example:80/Z", "/index.php/post/7.html",
             "post/8.html", "http:///nohost", "http://a.example/\tx", "//c.example/q", "HTTP://a.example/up"]
    for page in ("http://s.example/a/b.html", "https://s.example/a/b.html", "ftp://s.example/", "http://s.example/a/b.html"):
        r = rec(5, url=page, prev_url=None, next_url=None, related=[],
                inline_links=[{"url": u, "anchor": "a"} for u in links])
        rows = link_rows(r)
        assert [x["dst_url"] for x in rows] == [urljoin(page, u) for u in links]
        assert [x["dst_site"] for x in rows] == [urlsplit(urljoin(page, u)).hostname for u in links]

def test_links_dataset_rows(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1), rec(2)])
    links = store.open_dataset(out, "links").to_table().to_pylist()
    assert len(links) == 8
    assert {x["site"] for x in links} == {SITE}


# --------------------------------------------------------------------------- folder, marker, manifests


def test_ensure_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"no parkcorpus dataset at .*missing: crawl into it first"):
        store.ensure_dataset(tmp_path / "missing", create=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        store.ensure_dataset(tmp_path / "file")
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"photos is not a parkcorpus dataset .* pass --out a new or empty folder"):
        store.ensure_dataset(other)
    assert not store.is_dataset(other)
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / store.MARKER).write_text(json.dumps({"version": store.FORMAT_VERSION + 1}))
    with pytest.raises(DatasetError, match="newer parkcorpus"):
        store.ensure_dataset(newer, create=False)


def test_a_fresh_data_folder_with_only_a_readme_becomes_a_dataset(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "README.md").write_text("# data/")
    with pytest.raises(DatasetError, match="holds no parkcorpus dataset yet"):
        store.ensure_dataset(data, create=False)
    store.ensure_dataset(data)
    assert json.loads((data / store.MARKER).read_text())["version"] == store.FORMAT_VERSION


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    store.ensure_dataset(ro)
    ro.chmod(0o500)
    try:
        with pytest.raises(DatasetError, match=r"cannot write to .*ro"):
            store.ensure_dataset(ro)
        with pytest.raises(DatasetError, match="cannot create"):
            store.ensure_dataset(ro / "sub")
    finally:
        ro.chmod(0o700)


def test_run_manifests(tmp_path):
    out = tmp_path / "data"
    store.write_run_manifest(out, {"run_id": "b", "started_at": "2024-06-02T00:00:00+00:00", "rows": 3})
    store.write_run_manifest(out, {"run_id": "a", "started_at": dt.datetime(2024, 6, 1, tzinfo=UTC)})
    (out / "runs" / "broken.json").write_text("{not json")
    runs = store.list_runs(out)
    assert [r["run_id"] for r in runs] == ["a", "b"]
    assert runs[1]["rows"] == 3
    with pytest.raises(UsageError):
        store.write_run_manifest(out, {"rows": 1})


def test_new_run_id_is_safe_and_unique():
    a, b = store.new_run_id(), store.new_run_id()
    assert a != b and store.check_run_id(a) == a and re.match(r"\d{8}T\d{6}Z-[0-9a-f]{8}$", a)


# --------------------------------------------------------------------------- round trip


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
_ts = st.none() | st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2035, 1, 1),
                               timezones=st.just(UTC))
_record = st.fixed_dictionaries({
    "post_id": st.integers(min_value=0, max_value=10**12),
    "text": _text,
    "title": _text,
    "published": _ts,
    "tags": st.lists(_text, max_size=4),
    "related": st.lists(st.fixed_dictionaries({"url": _text, "title": st.none() | _text,
                                               "post_id": st.none() | st.integers(0, 10**9)}), max_size=3),
    "category": st.none() | _text,
    "author": st.none() | _text,
    "normalizations": st.lists(_text, max_size=2),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record, min_size=1, max_size=6, unique_by=lambda r: r["post_id"]))
def test_round_trip_write_then_load(records):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data"
        full = [rec(r["post_id"], **{k: v for k, v in r.items() if k != "post_id"}) for r in records]
        write(out, full, flush_rows=4)
        df = store.load(out, history=True)
        got = {row["post_id"]: row for row in df.to_dict("records")}
        assert len(got) == len(full)
        for r in full:
            row = got[r["post_id"]]
            assert row["text"] == r["text"] and row["title"] == r["title"]
            assert list(row["tags"]) == r["tags"]
            assert [dict(x) for x in row["related"]] == r["related"]
            assert list(row["normalizations"]) == r["normalizations"]
            for col in ("category", "author"):  # pandas shows a missing string as NaN
                assert (pd.isna(row[col]) and r[col] is None) or row[col] == r[col]
            assert row["content_hash"] == content_hash(r["text"])
            if r["published"] is None:
                assert row["published"] is None or row["published"] != row["published"]  # None / NaT
            else:
                assert row["published"].to_pydatetime() == r["published"]
            assert row["fetched_at"].to_pydatetime() == FETCHED


def test_docs_schema_documents_every_column():
    from crawler.items import ARTICLE_COLUMNS, LINK_COLUMNS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text(encoding="utf-8")
    for name, typ, _null, _meaning in ARTICLE_COLUMNS + LINK_COLUMNS:
        row = re.search(rf"^\| `{name}` \| ([^|]+) \|", doc, re.M)
        assert row, f"docs/schema.md has no row for column {name}"
        words = {"string": "string", "int64": "int64", "int32": "int32"}
        if str(typ) in words:
            assert row.group(1).strip() == words[str(typ)], name
        elif pa.types.is_timestamp(typ):
            assert row.group(1).strip() == "timestamp[us, UTC]", name
        else:
            assert row.group(1).strip().startswith("list<"), name


def test_file_uris_work_and_other_schemes_are_refused(tmp_path):
    out = tmp_path / "shared"
    write(out.as_uri(), [rec(1)])
    assert store.is_dataset(out) and list(store.load(out.as_uri()).post_id) == [1]
    assert len(store.known_posts(out.as_uri())) == 1
    with pytest.raises(UsageError, match=r"unsupported --out scheme 'gs'"):
        store.DatasetWriter("gs://bucket/data", "r1")
    assert not list(tmp_path.glob("gs*"))


def test_load_names_an_unknown_site(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1)])
    with pytest.raises(UsageError, match=f"unknown site 'jinshan.021cf.com' in {out}: it holds {SITE}"):
        store.load(out, site="jinshan.021cf.com")
    assert store.stored_sites(out) == [SITE]


def test_unwritable_folder_messages_even_as_root(tmp_path, monkeypatch):
    # root ignores permissions, so make the OS answer as it does for an ordinary user
    out = tmp_path / "data"
    store.ensure_dataset(out)
    monkeypatch.setattr(store.layout.os, "access", lambda path, mode: False)
    with pytest.raises(DatasetError, match=rf"cannot write to {out}: check its permissions or pass another --out"):
        store.DatasetWriter(out, "r1")
    monkeypatch.undo()

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(DatasetError, match=rf"cannot create {tmp_path / 'new'}: Permission denied; pass another --out"):
        store.ensure_dataset(tmp_path / "new")


def test_a_file_appears_after_at_most_flush_rows_rows(tmp_path):
    # progress displays and kill tests wait for "the first flush": it must not wait for the end
    out = tmp_path / "data"
    w = store.DatasetWriter(out, "run1", flush_rows=4)
    for i in range(5):  # five posts in five different months
        w.add(rec(i, published=dt.datetime(2024, 1 + i, 1, tzinfo=UTC)))
    assert store.dataset_files(out) and w.pending <= 4
    w.close()


def _spread(n: int) -> list[dict]:
    """n posts over 24 partitions (12 months of each of two sites), in no partition order."""
    return [rec(i, site=("jinshan.021cf.cn", "laian.021cf.cn")[i % 2],
                published=dt.datetime(2023 + (i * 7 % 24) // 12, 1 + (i * 7 % 24) % 12, 3, tzinfo=UTC))
            for i in range(1, n + 1)]


def test_a_crawls_writer_buffer_is_bounded_and_writes_one_file_per_partition_when_it_fits(tmp_path):
    from crawler.store.writer import BUFFER_FACTOR, buffer_rows

    assert buffer_rows(500) == BUFFER_FACTOR * 500 and buffer_rows(500, 300) == 500 and buffer_rows(10, 120) == 120
    rows = _spread(180)
    # bounded: a small bound is never exceeded after an add, and files appear during the run
    w = store.DatasetWriter(tmp_path / "small", "run", flush_rows=5, max_buffer_rows=buffer_rows(5), consolidate=False)
    for r in rows:
        w.add(r)
        assert w.pending <= buffer_rows(5) == 20
    assert w.flushes > 1
    w.close()
    # a bound the run fits in: one file per partition, nothing to merge
    w = store.DatasetWriter(tmp_path / "big", "run", flush_rows=100, max_buffer_rows=buffer_rows(100), consolidate=False)
    for r in rows:
        w.add(r)
    assert w.flushes == 0 and w.pending == 180
    w.close()
    files = store.dataset_files(tmp_path / "big")
    assert len(files) == len({f.parent for f in files}) == 24  # 12 months of each site
    assert sorted(store.load(tmp_path / "big")["post_id"]) == sorted(store.load(tmp_path / "small")["post_id"])


def test_files_written_through_the_worker_pool_equal_files_written_here(tmp_path):
    from crawler.workers import ExtractionPool, run_split

    rows = _spread(60)
    with ExtractionPool(2) as pool:
        offload = lambda fn, jobs: run_split(pool, fn, jobs)  # noqa: E731 - what the crawl pipeline passes
        for name, hook in (("here", None), ("pool", offload)):
            w = store.DatasetWriter(tmp_path / name, "run", flush_rows=4, offload=hook)
            for r in rows:
                w.add(r)
            w.close()
            assert w.counts["rows_written"] == 60 and w.counts["links_written"] == 60 * 4
    names = {p: sorted(f.relative_to(tmp_path / p) for f in (tmp_path / p).rglob("*.parquet")) for p in ("here", "pool")}
    assert names["here"] == names["pool"] and len(names["here"]) > 24
    def table(path):  # extracted_at: when each writer stamped the row
        t = pq.read_table(path)
        return t.drop_columns(["extracted_at"]) if "extracted_at" in t.column_names else t

    for rel in names["here"]:
        assert table(tmp_path / "pool" / rel).equals(table(tmp_path / "here" / rel))
    assert not list((tmp_path / "pool" / ".tmp").glob("*"))


def test_a_flush_puts_the_links_in_place_first_then_writes_the_articles_in_chunks(tmp_path):
    """Written here, the article files go in ARTICLE_CHUNKS stages, each while the next one's
    Table is built (through the workers, one); none starts before every links (and facts) file
    is in place."""
    import threading
    import time

    from crawler.store import writer as store_writer
    from crawler.store.writer import ARTICLE_CHUNKS

    events, lock = [], threading.Lock()

    def write_files(jobs):  # records when each stage starts and ends
        kind = sorted({target.relative_to(out).parts[0] for _table, _tmp, target in jobs})
        with lock:
            events.append(("start", kind))
        if "links" in kind:
            time.sleep(0.2)  # a slow links stage: the articles still wait for it
        results = real_write_files(jobs)
        with lock:
            events.append(("end", kind))
        return results

    real_write_files = store_writer.write_files
    for name, offload, stages in (("here", None, ARTICLE_CHUNKS), ("pool", lambda fn, jobs: fn(jobs), 1)):
        out = tmp_path / name
        events.clear()
        w = store.DatasetWriter(out, "run", flush_rows=100, offload=offload)
        for r in _spread(48):  # 24 partitions
            w.add(r)
        store_writer.write_files = write_files
        try:
            w.close()
        finally:
            store_writer.write_files = real_write_files
        article_starts = [i for i, (what, kind) in enumerate(events) if what == "start" and kind == ["articles"]]
        links_end = next(i for i, (what, kind) in enumerate(events) if what == "end" and "links" in kind)
        assert len(article_starts) == stages and links_end < article_starts[0]
        assert w.counts["rows_written"] == 48 and len(list((out / "articles").rglob("*.parquet"))) == 24
        assert sorted(store.load(out)["post_id"]) == list(range(1, 49))


def test_a_write_error_in_a_worker_reaches_the_writer_after_the_files_before_it(tmp_path):
    from crawler.store.writer import write_files
    from crawler.workers import ExtractionPool, run_split

    out = tmp_path / "data"
    w = store.DatasetWriter(out, "run", flush_rows=100)
    for r in _spread(6):
        w.add(r)
    (out / "articles").mkdir(exist_ok=True)
    (out / "articles" / "site=laian.021cf.cn").write_text("not a folder")  # the laian files cannot be made
    with ExtractionPool(2) as pool:
        w.offload = lambda fn, jobs: run_split(pool, fn, jobs)
        with pytest.raises(OSError):
            w.flush()
    # what was written before the error is listed, complete, and readable
    assert w.files and all(f.exists() and pq.read_table(f).num_rows for f in w.files)
    assert write_files([]) == []


# --------------------------------------------------------------------------- batched writes (write_files)


def _batch_jobs(tmp_path, n=5):
    """n small article tables: one per month folder, the last two in the same folder."""
    from crawler.store.writer import _normalise

    out = store.ensure_dataset(tmp_path / "data", create=True)
    jobs = []
    for i in range(n):
        month = min(i, n - 2) + 1
        r = _normalise(rec(i, published=dt.datetime(2024, month, 5, 2, 0, tzinfo=UTC)), "run")
        table = pa.Table.from_pylist([r], schema=store.FILE_SCHEMA)
        target = out / "articles" / f"site=s/year=2024/month={month:02d}" / f"part-run-{i:05d}.parquet"
        jobs.append((table, out / ".tmp", target))
    return out, jobs


def _fd_path(fd):
    return os.readlink(f"/proc/self/fd/{fd}")


def test_a_batch_links_a_file_only_after_its_data_is_synced_and_syncs_every_folder_first(tmp_path, monkeypatch):
    from crawler.store.writer import write_files

    out, jobs = _batch_jobs(tmp_path)
    events = []
    real_fsync, real_link = os.fsync, os.link
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", _fd_path(fd))), real_fsync(fd))[1])
    monkeypatch.setattr(os, "link", lambda a, b: (events.append(("link", str(a), str(b))), real_link(a, b))[1])
    results = write_files(jobs)
    monkeypatch.undo()
    assert [exc for _, exc in results] == [None] * 5
    finals = [str(p) for p, _ in results]
    assert finals == [str(t) for _, _, t in jobs]
    links = [e for e in events if e[0] == "link"]
    assert [e[2] for e in links] == finals  # in job order
    synced = [e[1] for e in events if e[0] == "fsync"]
    for _, tmp, final in links:
        # the temporary file's data was synced before it was linked
        assert tmp in synced[:[i for i, e in enumerate(events) if e[0] == "link" and e[2] == final][0]]
    last_link = max(i for i, e in enumerate(events) if e[0] == "link")
    folders_synced_after = {e[1] for e in events[last_link:] if e[0] == "fsync"}
    assert {os.path.dirname(f) for f in finals} <= folders_synced_after  # 4 folders, each synced
    for (table, _, _), f in zip(jobs, finals):
        assert pq.read_table(f).equals(table)
    assert not list((out / ".tmp").iterdir())


@pytest.mark.parametrize("stage", ["encode", "fsync", "link"])
def test_a_batch_failing_midway_leaves_the_files_before_it_complete_and_nothing_else(tmp_path, monkeypatch, stage):
    import errno

    from crawler.store.writer import write_files

    out, jobs = _batch_jobs(tmp_path)
    bad = jobs[2][2].name  # the third file fails (disk full or an I/O error)

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "encode":
        real = pq.write_table

        def partial(table, where, **kw):
            real(table, where, **kw)
            if os.path.basename(where).startswith(bad):
                with open(where, "r+b") as fh:  # half a file on disk, then the error
                    fh.truncate(os.path.getsize(where) // 2)
                full()
        monkeypatch.setattr(store.files.pq, "write_table", partial)
    elif stage == "fsync":
        real_fsync = os.fsync

        def fsync(fd):
            if os.path.basename(_fd_path(fd)).startswith(bad):
                raise OSError(errno.EIO, "Input/output error")
            real_fsync(fd)
        monkeypatch.setattr(os, "fsync", fsync)
    else:
        real_link = os.link
        monkeypatch.setattr(os, "link", lambda a, b: full() if os.path.basename(b) == bad else real_link(a, b))
    results = write_files(jobs)
    monkeypatch.undo()
    assert [p is not None for p, _ in results] == [True, True, False]
    assert isinstance(results[2][1], OSError)
    on_disk = sorted(str(p) for p in (out / "articles").rglob("*.parquet"))
    assert on_disk == sorted(str(p) for p, _ in results[:2])  # the two before it, nothing after it
    for (table, _, _), (path, _) in zip(jobs, results[:2]):
        assert pq.read_table(path).equals(table)
    assert not list((out / ".tmp").iterdir())  # no temporary file of the failed or later jobs
