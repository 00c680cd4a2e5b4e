"""The dataset on an S3 object store: a real SeaweedFS server started by the tests (no mocks).

A crawl of the replica to s3://, read back by every reader; a crawl killed with SIGKILL and run
again; bad input giving one Error line, an exit code, and nothing written.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from crawler.crawl import crawl

SETTINGS = {
    "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": 4,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2, "PARKCORPUS_RETRY_BACKOFF": 0,
    "PARKCORPUS_FLUSH_ROWS": 10, "PARKCORPUS_PROGRESS_INTERVAL": 0.05,
}


def s3_rows(uri: str) -> list[tuple]:
    """(site, post_id, content_hash) of every stored row, read through crawler.store's own listing."""
    from crawler.store import open_dataset

    dataset = open_dataset(uri)
    if dataset is None:
        return []
    t = dataset.to_table(columns=["site", "post_id", "content_hash"])
    return list(zip(*(t.column(c).to_pylist() for c in ("site", "post_id", "content_hash"))))


def replica_posts(server) -> set[tuple[str, int]]:
    net = server.network
    return {(h, pid) for h in net.hosts for pid in net.site(h).post_ids()}


def crawl_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}


def test_crawl_to_s3_every_post_once_and_every_reader_reads_it(replica, s3_server, s3_bucket, tmp_path):
    uri = f"s3://{s3_bucket}/corpus"
    s = crawl(replica.network.hosts, out=uri, proxy=replica.proxy_url, settings=SETTINGS,
              env=crawl_env(), progress=False)
    assert s["status"] == "ok", s["error"]
    rows = s3_rows(uri)
    assert {(site, pid) for site, pid, _ in rows} == replica_posts(replica)
    assert max(Counter(rows).values()) == 1, "duplicate (site, post_id, content_hash)"
    keys = s3_server.keys(s3_bucket)
    # state, markers, manifest, archive and lock handling all live under the prefix
    assert all(k.startswith("corpus/") for k in keys), keys
    assert "corpus/parkcorpus.json" in keys
    assert any(k.startswith("corpus/runs/") and k.endswith(".json") for k in keys)
    assert any(k.startswith("corpus/.parkcorpus/crawled/") for k in keys)
    assert any(k.startswith("corpus/warc/") and k.endswith(".warc.gz") for k in keys)
    assert "corpus/.parkcorpus.lock" not in keys, "the lock is released"
    # the end-of-run merge left one article file per partition
    parts = Counter(k.rpartition("/")[0] for k in keys if k.startswith("corpus/articles/"))
    assert max(parts.values()) == 1, parts

    from crawler.api import load

    df = load(uri)
    assert len(df) == len(replica_posts(replica))
    # pyarrow's own S3 filesystem, pandas, Polars and DuckDB (through pyarrow) read the same rows
    from crawler.store.layout import location

    loc = location(uri)
    dataset = ds.dataset(loc.path("articles"), filesystem=loc.fs, format="parquet", partitioning="hive")
    assert dataset.count_rows() == len(rows)
    import pandas as pd

    pdf = pd.read_parquet(loc.path("articles"), filesystem=loc.fs, columns=["post_id", "site"])
    assert len(pdf) == len(rows)
    import polars as pl

    assert pl.from_arrow(dataset.to_table(columns=["site", "post_id"])).height == len(rows)
    import duckdb

    arrow_table = dataset.to_table(columns=["site", "post_id"])  # noqa: F841 - DuckDB scans it by name
    n = duckdb.sql("SELECT count(DISTINCT (site, post_id)) FROM arrow_table").fetchall()[0][0]
    assert n == len(replica_posts(replica))

    # a second run finds everything stored: nothing new, nothing written twice
    s2 = crawl(replica.network.hosts, out=uri, proxy=replica.proxy_url, settings=SETTINGS,
               env=crawl_env(), progress=False)
    assert s2["status"] == "ok", s2["error"]
    assert sorted(s3_rows(uri)) == sorted(rows)
