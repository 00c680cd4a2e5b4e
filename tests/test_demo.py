"""`parkcorpus demo` end to end: replica on loopback, the real crawl code, every contract column."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.dataset as ds

from crawler.items import REQUIRED_COLUMNS


def test_demo_writes_every_generated_post(run_cli, tmp_path, no_proxy_env):
    out = tmp_path / "data"
    result = run_cli("demo", "--out", out, "--posts", 30, "--sites", 2, "--json")
    assert result.exit_code == 0, result.output
    s = json.loads(result.output[result.output.index("{"): result.output.rindex("}") + 1])
    assert s["status"] == "ok"

    from crawler.replica.model import Network

    net = Network(seed=2026, sites=2, posts=30)
    expected = {(h, pid) for h in net.hosts for pid in net.site(h).post_ids()}
    table = ds.dataset(str(out / "articles"), format="parquet", partitioning="hive").to_table()
    assert set(REQUIRED_COLUMNS) <= set(table.column_names)
    keys = Counter(zip(table.column("site").to_pylist(), table.column("post_id").to_pylist()))
    assert set(keys) == expected and max(keys.values()) == 1
    assert s["demo"]["rows_per_site"] == {h: 30 for h in net.hosts}
    assert all(t for t in table.column("title").to_pylist())
    assert all(t for t in table.column("text").to_pylist())
    assert str(table.schema.field("published").type) == "timestamp[us, tz=UTC]"


def test_demo_human_output_says_how_to_open(run_cli, tmp_path, no_proxy_env):
    out = tmp_path / "d"
    result = run_cli("demo", "--out", out, "--posts", 10, "--sites", 1)
    assert result.exit_code == 0, result.output
    assert "jinshan.021cf.cn" in result.output and "10 articles" in result.output
    for tool in ("pandas:", "duckdb:", "polars:"):
        assert tool in result.output
    assert "sample title:" in result.output
