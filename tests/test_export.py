"""crawler.export and `parkcorpus export`: formats, filters, newest versions, streaming, errors."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.errors import UsageError
from crawler.export import export
from crawler.items import ARTICLE_SCHEMA
from store_helpers import FETCHED, UTC, rec, write

SITE = "jinshan.021cf.cn"
OTHER = "laian.021cf.cn"


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "data"
    write(out, [
        rec(1, published=dt.datetime(2024, 1, 10, tzinfo=UTC), category="政策"),
        rec(2, published=dt.datetime(2024, 2, 10, tzinfo=UTC)),
        rec(3, published=dt.datetime(2024, 3, 10, tzinfo=UTC), category="政策"),
        rec(4, published=None),
        rec(5, site=OTHER, published=dt.datetime(2024, 2, 20, tzinfo=UTC), category="政策"),
    ], run_id="r1", flush_rows=2)
    write(out, [rec(2, text="新版正文", published=dt.datetime(2024, 2, 10, tzinfo=UTC),
                    fetched_at=FETCHED + dt.timedelta(days=1))], run_id="r2")
    return out


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_has_every_column_and_newest_versions(out, tmp_path):
    to = tmp_path / "all.jsonl"
    s = export(out, to)
    rows = read_jsonl(to)
    assert s == {"rows": 5, "to": str(to), "format": "jsonl"} and len(rows) == 5
    assert list(rows[0]) == ARTICLE_SCHEMA.names
    by_id = {r["post_id"]: r for r in rows}
    assert by_id[2]["text"] == "新版正文" and by_id[2]["run_id"] == "r2"
    assert by_id[1]["published"] == "2024-01-10T00:00:00+00:00"
    assert by_id[4]["published"] is None
    assert by_id[1]["tags"] == ["招商", "厂房"] and by_id[1]["related"][0]["post_id"] == 101
    assert "标题" in to.read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_history_exports_every_version(out, tmp_path):
    s = export(out, tmp_path / "h.jsonl", history=True)
    assert s["rows"] == 6


def test_filters(out, tmp_path):
    def ids(**kw):
        to = tmp_path / "f.jsonl"
        export(out, to, **kw)
        return sorted(r["post_id"] for r in read_jsonl(to))

    assert ids(site=SITE) == [1, 2, 3, 4]
    assert ids(site=[OTHER]) == [5]
    assert ids(since="2024-02-01") == [2, 3, 5]
    assert ids(since="2024-02-01", until="2024-02-29") == [2, 5]
    assert ids(category="政策") == [1, 3, 5]
    assert ids(category=["政策"], site=SITE, until="2024-02-01") == [1]


def test_csv(out, tmp_path):
    to = tmp_path / "a.csv"
    s = export(out, to, site=SITE, since="2024-01-01")
    assert s["format"] == "csv"
    with open(to, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and list(rows[0]) == ARTICLE_SCHEMA.names
    r = next(r for r in rows if r["post_id"] == "2")
    assert r["text"] == "新版正文"
    assert json.loads(r["tags"]) == ["招商", "厂房"]
    assert json.loads(r["related"])[0]["url"].endswith("/post/102.html")
    assert r["prev_url"].endswith("/post/1.html") and r["author"] == ""


def test_single_parquet_file_carries_site(out, tmp_path):
    to = tmp_path / "one.parquet"
    s = export(out, to, fmt="parquet")
    table = pq.read_table(to)
    assert s["rows"] == table.num_rows == 5
    assert table.schema.names == ARTICLE_SCHEMA.names
    assert table.schema.field("site").type == pa.string()
    assert table.schema.field("published").type == pa.timestamp("us", tz="UTC")
    assert set(table.column("site").to_pylist()) == {SITE, OTHER}


def test_streams_in_small_batches_without_duplicates(out, tmp_path):
    to = tmp_path / "b.jsonl"
    export(out, to, batch_rows=1)
    rows = read_jsonl(to)
    assert sorted(r["post_id"] for r in rows) == [1, 2, 3, 4, 5]


def test_output_appears_only_when_complete(out, tmp_path, monkeypatch):
    import crawler.export as ex

    to = tmp_path / "x.jsonl"

    def boom(*a, **k):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(ex, "_write_text", boom)
    with pytest.raises(RuntimeError):
        export(out, to)
    assert list(tmp_path.glob("*x.jsonl*")) == []


def test_usage_errors(out, tmp_path):
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        export(out, tmp_path / "a.xml", fmt="xml")
    with pytest.raises(UsageError, match="Parquet cannot be written to stdout"):
        export(out, "-", fmt="parquet")
    with pytest.raises(UsageError, match="is a folder"):
        export(out, tmp_path)


def test_cli_export(out, tmp_path, run_cli):
    to = tmp_path / "c.jsonl"
    res = run_cli("export", "--out", out, "--to", to, "--site", OTHER)
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"Exported 1 articles to {to} (jsonl)"
    assert [r["post_id"] for r in read_jsonl(to)] == [5]
    res = run_cli("export", "--out", out, "--to", "-", "--format", "csv", "--category", "政策", "--until", "2024-01-31")
    assert res.exit_code == 0
    rows = list(csv.DictReader(res.stdout.splitlines(keepends=True)))
    assert [r["post_id"] for r in rows] == ["1"]  # bodies keep their newlines inside quoted cells
    assert rows[0]["text"] == "第1篇正文。\n第二段。"


def test_cli_export_errors(out, tmp_path, run_cli):
    res = run_cli("export", "--out", out, "--to", tmp_path / "a.jsonl", "--since", "2024-02-31")
    assert res.exit_code == 2
    assert res.output.strip() == "Error: bad --since date '2024-02-31': use YYYY-MM-DD"
    res = run_cli("export", "--out", out, "--to", tmp_path / "a.jsonl", "--since", "2024-03-01", "--until", "2024-02-01")
    assert res.exit_code == 2
    assert res.output.strip() == "Error: --since 2024-03-01 is after --until 2024-02-01: swap them"
    res = run_cli("export", "--out", tmp_path / "none", "--to", tmp_path / "a.jsonl")
    assert res.exit_code == 1 and res.output.startswith(f"Error: no parkcorpus dataset at {tmp_path / 'none'}")


def test_unknown_site_is_a_usage_error(out, tmp_path, run_cli):
    with pytest.raises(UsageError, match=rf"unknown site 'nosuch.cn' in {out}: it holds {SITE}, {OTHER}"):
        export(out, tmp_path / "x.jsonl", site=["nosuch.cn"])
    res = run_cli("export", "--out", out, "--to", tmp_path / "x.jsonl", "--site", "nosuch.cn")
    assert res.exit_code == 2 and res.output.startswith("Error: unknown site 'nosuch.cn'")
    assert not (tmp_path / "x.jsonl").exists()


def test_category_matching_nothing_names_the_stored_ones(out, tmp_path, run_cli):
    from crawler.errors import InputError

    with pytest.raises(InputError, match=r"no category matches 新闻; categories: 政策 \(3\), 园区动态 \(2\)$"):
        export(out, tmp_path / "a.jsonl", category="新闻")
    assert not (tmp_path / "a.jsonl").exists()
    res = run_cli("export", "--out", out, "--to", tmp_path / "b.jsonl", "--category", "新闻", "--site", OTHER)
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: no category matches 新闻; categories for {OTHER}: 政策 (1)"
    # one existing category among the requested ones is enough
    res = run_cli("export", "--out", out, "--to", tmp_path / "c.jsonl", "--category", "新闻", "--category", "政策")
    assert res.exit_code == 0 and len(read_jsonl(tmp_path / "c.jsonl")) == 3
