"""The dataset on an S3 object store: a real SeaweedFS server started by the tests (no mocks).

A crawl of the replica to s3://, read back by every reader; a crawl killed with SIGKILL and run
again; bad input giving one Error line, an exit code, and nothing written.
"""

from __future__ import annotations

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

from crawl_helpers import wait_progress
from crawler.crawl import crawl

SETTINGS = {
    "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": 4,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2, "PARKCORPUS_RETRY_BACKOFF": 0,
    "PARKCORPUS_FLUSH_ROWS": 10, "PARKCORPUS_PROGRESS_INTERVAL": 0.05,
    # files during the run, not only at its end: the mid-run kill must find some (default: 4 x 10)
    "PARKCORPUS_BUFFER_ROWS": 10,
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


def test_crawl_to_s3_every_post_once_and_every_reader_reads_it(replica, s3_server, s3_bucket, tmp_path,
                                                                monkeypatch):
    uri = f"s3://{s3_bucket}/corpus"
    monkeypatch.chdir(tmp_path)  # nothing may land in the working folder (an "s3:" folder once did)
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
    # the feed fingerprints (edits seen in the feed) are run state too: uploaded, not left locally
    assert any(k.startswith("corpus/.parkcorpus/feed/") for k in keys), keys
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())
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


@pytest.fixture(scope="module")
def s3_crawled(replica, s3_server, tmp_path_factory):
    """One crawl of the replica into a fresh bucket, shared by the read-only command tests."""
    env = s3_server.env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        bucket = s3_server.bucket()
        uri = f"s3://{bucket}/c"
        s = crawl(replica.network.hosts, out=uri, proxy=replica.proxy_url, settings=SETTINGS,
                  env=crawl_env(), progress=False)
        assert s["status"] == "ok", s["error"]
        yield uri
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_every_command_reads_the_s3_dataset(s3_crawled, s3_env, run_cli, replica, tmp_path):
    uri = s3_crawled
    n = len(replica_posts(replica))
    r = run_cli("validate", "--out", uri, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["files_checked"] > 0 and report["article_rows"] == n
    r = run_cli("stats", "--out", uri, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["articles"] == n
    r = run_cli("sites", "--out", uri, "--json")
    assert r.exit_code == 0, r.output
    assert sum(s.get("posts") or 0 for s in json.loads(r.output)["sites"]) == n
    r = run_cli("export", "--out", uri, "--to", str(tmp_path / "all.jsonl"))
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()) == n
    r = run_cli("report", "--out", uri, "--to", str(tmp_path / "r.html"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.html").stat().st_size > 0
    r = run_cli("facts", "--out", uri, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["articles"] == n
    from crawler.api import list_runs

    assert [run["kind"] for run in list_runs(uri)][-1] == "facts"


def test_reextract_and_compact_on_s3(replica, s3_server, s3_bucket, run_cli):
    uri = f"s3://{s3_bucket}/d"
    s = crawl(replica.network.hosts, out=uri, proxy=replica.proxy_url, settings=SETTINGS,
              env=crawl_env(), progress=False)
    assert s["status"] == "ok", s["error"]
    before = sorted(s3_rows(uri))
    to = f"s3://{s3_bucket}/rebuilt"
    r = run_cli("reextract", "--out", uri, "--to", to, "--json")
    assert r.exit_code == 0, r.output
    assert sorted((a, b) for a, b, _ in s3_rows(to)) == sorted((a, b) for a, b, _ in before)


def test_end_of_run_merge_and_compact_on_s3(s3_server, s3_bucket, run_cli):
    from store_helpers import rec, write

    from crawler import store

    uri = f"s3://{s3_bucket}/m"
    # one file per flush, as a killed run leaves them: three files in one partition
    w = write(uri, [rec(i) for i in range(1, 7)], run_id="r1", flush_rows=2, consolidate=False)
    assert len(w.files) == 6  # 3 article files + 3 links files
    parts = Counter(k.rpartition("/")[0] for k in s3_server.keys(s3_bucket, "m/articles/"))
    assert list(parts.values()) == [3]
    # a second run whose end-of-run merge folds its own files into one new object
    w2 = write(uri, [rec(i) for i in range(7, 13)], run_id="r2", flush_rows=2)
    r2 = [k for k in s3_server.keys(s3_bucket, "m/articles/") if "part-r2-" in k]
    assert len(r2) == 1 and r2[0].endswith(".1.parquet"), r2  # a new name: the merge never overwrote
    assert [str(f) for f in w2.files if "/articles/" in str(f)] == [f"s3://{s3_bucket}/{r2[0]}"]
    assert sorted(store.load(uri).post_id) == list(range(1, 13))

    r = run_cli("compact", "--out", uri, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["files_before"] == 4 and info["files_after"] == 1
    keys = s3_server.keys(s3_bucket, "m/articles/")
    assert len(keys) == 1 and "part-compact-" in keys[0], keys
    assert sorted(store.load(uri).post_id) == list(range(1, 13))
    assert len(s3_server.keys(s3_bucket, "m/links/")) == 1


@pytest.mark.parametrize("case", ["missing_bucket", "wrong_secret", "unreachable", "foreign_prefix"])
def test_bad_store_one_error_line_exit_1_nothing_written(case, s3_server, s3_bucket, monkeypatch, run_cli,
                                                         replica):
    uri = f"s3://{s3_bucket}/corpus"
    expect = {"missing_bucket": ("does not exist", "AWS_ENDPOINT_URL"),
              "wrong_secret": ("refused the credentials", "AWS_SECRET_ACCESS_KEY"),
              "unreachable": ("cannot reach the S3 endpoint", "AWS_ENDPOINT_URL"),
              "foreign_prefix": ("is not a parkcorpus dataset", "PARKCORPUS_OUT")}[case]
    if case == "missing_bucket":
        uri = "s3://no-such-bucket-here/corpus"
    elif case == "wrong_secret":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    elif case == "unreachable":
        from s3server import free_ports

        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_ports(1)[0]}")
    else:
        s3_server.client().put_object(Bucket=s3_bucket, Key="corpus/notes.txt", Body=b"mine")
    before = s3_server.keys(s3_bucket)
    for args in (["crawl", *replica.network.hosts, "--proxy", replica.proxy_url],
                 ["stats"], ["validate"], ["export", "--to", "x.jsonl"]):
        r = run_cli(*args, "--out", uri)
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert r.exit_code == 1, (args, r.output)
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, r.output)
        assert expect[0] in lines[0] and expect[1] in lines[0], (args, lines[0])
        assert "Traceback" not in r.output
    monkeypatch.undo()
    assert s3_server.keys(s3_bucket) == before, "nothing written"


@pytest.mark.parametrize("uri", ["s3:/one-slash/x", "s3://Bad_Bucket/x", "s3://b/a/../c", "gs://bucket/x"])
def test_malformed_uri_exit_2(uri, run_cli, s3_env):
    for args in (["crawl"], ["stats"], ["validate"]):
        r = run_cli(*args, "--out", uri)
        assert r.exit_code == 2, (args, r.output)
        assert r.output.strip().startswith("Error: ") and len(r.output.strip().splitlines()) == 1, r.output


@pytest.mark.parametrize("moment", ["after_first_flush", "mid_run"])
def test_sigkill_mid_crawl_then_rerun_nothing_lost_nothing_twice(moment, make_replica, s3_server, s3_bucket,
                                                                 tmp_path):
    srv = make_replica(sites=1, posts=60, faults="slow=1:0.05")
    uri = f"s3://{s3_bucket}/k"
    posts = replica_posts(srv)
    ready = {"after_first_flush": lambda p: p.get("flushes", 0) >= 1,
             "mid_run": lambda p: p.get("posts_done", 0) >= len(posts) // 2}[moment]
    state_root = tmp_path / "tmp"
    state_root.mkdir()
    env = dict(crawl_env(), TMPDIR=str(state_root))
    cmd = [sys.executable, "-c", "from cli import main; main()", "crawl", *srv.network.hosts,
           "--out", uri, "--proxy", srv.proxy_url, "-q"]
    for k, v in SETTINGS.items():
        cmd += ["-s", f"{k}={v}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # the progress file is in the temp folder: the dataset is on the store
        p = wait_progress(str(state_root / "parkcorpus-state-*" / "progress-*.json"), ready, proc)
        os.kill(p["pid"], signal.SIGKILL)  # the crawl process first: nothing gets to flush
        proc.kill()
    finally:
        proc.kill()
        proc.wait()
    for _ in range(300):  # until the crawl process is gone (its lock is then stale)
        if not Path(f"/proc/{p['pid']}").exists() or \
                Path(f"/proc/{p['pid']}/stat").read_text().split(") ")[-1][:1] in "ZX":
            break
        time.sleep(0.01)

    # what the killed run left where readers look: only complete Parquet objects
    import pyarrow.parquet as pq

    from crawler.store.layout import location

    loc = location(uri)
    keys = s3_server.keys(s3_bucket, "k/articles/") + s3_server.keys(s3_bucket, "k/links/")
    assert keys, "the kill came after the first flush"
    for key in keys:
        assert key.endswith(".parquet") and not key.rpartition("/")[2].startswith("."), key
        pq.read_metadata(loc.fs.open_input_file(f"{s3_bucket}/{key}"))
    partial = {(s, pid) for s, pid, _ in s3_rows(uri)}
    assert partial < posts, "the kill must interrupt the crawl"
    assert "k/.parkcorpus.lock" in s3_server.keys(s3_bucket), "a killed run leaves its lock object"

    # the rerun takes over the dead run's lock and finishes: every post, each version once
    s = crawl(srv.network.hosts, out=uri, proxy=srv.proxy_url, settings=SETTINGS, env=crawl_env(),
              progress=False)
    assert s["status"] == "ok", s["error"]
    final = s3_rows(uri)
    assert max(Counter(final).values()) == 1, "duplicate (site, post_id, content_hash)"
    assert {(site, pid) for site, pid, _ in final} == posts
    r = subprocess.run([sys.executable, "-c", "from cli import main; main()", "validate", "--out", uri, "--json"],
                       env=crawl_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and not report["errors"], report["errors"]
    assert report["article_rows"] == len(final)


def test_demo_and_api_load_on_s3(s3_bucket, run_cli, no_proxy_env):
    uri = f"s3://{s3_bucket}/demo"
    r = run_cli("demo", "--out", uri, "--posts", "12", "--sites", "1", "--no-progress", "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert sum(summary["demo"]["rows_per_site"].values()) == 12
    from crawler import api

    assert len(api.load(uri)) == 12
    assert [run["status"] for run in api.list_runs(uri)] == ["ok"]


def test_a_locked_prefix_refuses_a_second_crawl_unless_no_lock(replica, s3_bucket, run_cli, fast_args,
                                                                no_proxy_env):
    from crawler.lock import dataset_lock
    from crawler.store import ensure_dataset
    from crawler.store.layout import location

    uri = f"s3://{s3_bucket}/locked"
    ensure_dataset(uri)
    host = replica.network.hosts[0]
    with dataset_lock(location(uri), run_id="holder"):
        r = run_cli("crawl", host, "--out", uri, "--proxy", replica.proxy_url, *fast_args)
        assert r.exit_code == 1, r.output
        assert "is locked by another parkcorpus run" in r.output
        from crawler import api

        assert api.load(uri).empty, "the refused run wrote nothing"
        r = run_cli("crawl", host, "--out", uri, "--proxy", replica.proxy_url, "--no-lock", *fast_args)
        assert r.exit_code == 0, r.output
        assert len(api.load(uri)) == len(replica.network.site(host).post_ids())
