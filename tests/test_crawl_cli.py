"""`parkcorpus crawl` from the command line: --json summary, exit codes, one-line errors, SIGTERM."""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest


def _json(result) -> dict:
    out = result.stdout if hasattr(result, "stdout") else result.output
    return json.loads(out[out.index("{"): out.rindex("}") + 1])


def test_json_summary_fields(replica, run_cli, tmp_path, fast_args, no_proxy_env):
    host = replica.network.hosts[0]
    result = run_cli("crawl", host, "--out", tmp_path, "--proxy", replica.proxy_url, "--json", *fast_args)
    assert result.exit_code == 0, result.output
    s = _json(result)
    for key in ("run_id", "status", "sites", "mode", "pages_fetched", "articles", "outcomes",
                "errors_by_kind", "duration_s", "output_files"):
        assert key in s, key
    assert s["status"] == "ok" and s["exit_code"] == 0
    assert [x["host"] for x in s["sites"]] == [host]
    assert s["articles"]["new"] == len(replica.network.site(host).post_ids())
    assert set(s["outcomes"]) >= {"written", "unchanged", "gone_404", "robots", "failed", "not_article"}
    assert all((tmp_path / f).is_file() for f in s["output_files"])
    assert s["pages_fetched"] > s["articles"]["new"]
    # the run is recorded in the dataset too
    manifest = json.loads((tmp_path / "runs" / f"{s['run_id']}.json").read_text(encoding="utf-8"))
    assert manifest["outcomes"] == s["outcomes"]


def test_usage_errors_exit_2(run_cli, tmp_path):
    cases = [
        (["crawl", "no such site!"], "Error: unknown site 'no such site!'"),
        (["crawl", "--ids", "900-100"], "Error: bad ID range '900-100'"),
        (["crawl", "--ids", "abc"], "Error: bad ID range 'abc'"),
        (["crawl", "--since", "2026-13-01"], "Error: bad --since date '2026-13-01'"),
        (["crawl", "--since", "2026-05-01", "--until", "2026-01-01"], "Error: --since 2026-05-01 is after --until 2026-01-01"),
    ]
    for args, line in cases:
        result = run_cli(*args, "--out", tmp_path)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.strip().splitlines()[-1].startswith(line), result.output


def test_unreachable_proxy_exit_1(run_cli, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    result = run_cli("crawl", "--out", tmp_path, "--proxy", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(f"Error: proxy http://127.0.0.1:{port} is unreachable")


def test_output_folder_errors_exit_1(run_cli, tmp_path, replica, no_proxy_env):
    missing = tmp_path / "no" / "such"
    result = run_cli("crawl", "--out", missing, "--proxy", replica.proxy_url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: output folder {missing} does not exist and neither does its parent; create it first")
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.docx").write_text("not a dataset")
    result = run_cli("crawl", "--out", other, "--proxy", replica.proxy_url)
    assert result.exit_code == 1
    assert "is not a parkcorpus dataset" in result.output.strip().splitlines()[-1]


def test_site_down_exit_1(replica, run_cli, tmp_path, fast_args, no_proxy_env):
    # a host the replica does not serve answers 502 to everything: the site is down
    result = run_cli("crawl", "down.021cf.cn", "--out", tmp_path, "--proxy", replica.proxy_url, "--json", *fast_args)
    assert result.exit_code == 1
    assert "Warning: down.021cf.cn is not in the site registry" in result.output
    s = _json(result)
    assert s["sites"][0]["status"] == "down"
    assert result.output.strip().splitlines()[-1].startswith("Error: site down: down.021cf.cn")


def test_max_errors_exit_1(make_replica, run_cli, tmp_path, fast_args, no_proxy_env):
    srv = make_replica(sites=1, posts=30, faults="5xx=3:0")  # permanent 503 on 1 post in 3
    host = srv.network.hosts[0]
    result = run_cli("crawl", host, "--out", tmp_path, "--proxy", srv.proxy_url, "--max-errors", "2",
                     "--json", *fast_args)
    assert result.exit_code == 1
    s = _json(result)
    assert s["errors_by_kind"].get("http_503", 0) > 2
    assert "more than --max-errors 2" in result.output.strip().splitlines()[-1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_stops_gracefully_writing_buffered_rows(sig, make_replica, tmp_path, fast_args):
    # enough posts that fetching (0.1 s a page, 2 at a time) cannot finish before the first rows
    # come back from the extraction workers, however slowly a loaded machine starts them
    srv = make_replica(sites=1, posts=240, faults="slow=1:0.1")
    host = srv.network.hosts[0]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "crawl", host, "--out", str(tmp_path),
         "--proxy", srv.proxy_url, "--json", "-s", "PARKCORPUS_FLUSH_ROWS=1000",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "PARKCORPUS_PROGRESS_INTERVAL=0.05", *fast_args[:6]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    end = time.monotonic() + 60
    while True:
        files = glob.glob(str(tmp_path / ".parkcorpus" / "progress-*.json"))
        p = json.loads(Path(files[0]).read_text()) if files else {}
        if p.get("written", 0) >= 5:
            break
        assert proc.poll() is None and time.monotonic() < end
        time.sleep(0.02)
    proc.send_signal(sig)  # SIGINT: what Ctrl-C sends the CLI
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    s = json.loads(out[out.index("{"): out.rindex("}") + 1])
    assert s["status"] == "interrupted"
    assert err.strip().splitlines()[-1].startswith("Error: interrupted")
    # nothing was flushed before the signal (flush every 1000 rows): all rows come from the final flush
    n = ds.dataset(str(tmp_path / "articles"), format="parquet", partitioning="hive").count_rows()
    assert n == s["outcomes"]["written"] >= 5
    assert n < len(srv.network.site(host).post_ids())


def test_crawl_takes_defaults_from_the_config_file(replica, run_cli, tmp_path, no_proxy_env):
    host = replica.network.hosts[1]
    out = tmp_path / "corpus"
    cfg = tmp_path / "parkcorpus.toml"
    cfg.write_text(f'sites = ["{host}"]\nout = "{out}"\ndelay = 0\nautothrottle = false\nconcurrency = 8\n',
                   encoding="utf-8")
    result = run_cli("--config", cfg, "crawl", "--proxy", replica.proxy_url, "--json")
    assert result.exit_code == 0, result.output
    s = _json(result)
    assert [x["host"] for x in s["sites"]] == [host]
    assert s["out"] == str(out.resolve())
    assert (out / "articles").is_dir()


def test_scrapy_crawl_zblog_with_http_proxy_env(replica, tmp_path):
    """Scrapy users (and Scrapyd) run the same spider; http_proxy is honoured like in any Scrapy crawl."""
    host = replica.network.hosts[0]
    root = Path(__file__).resolve().parent.parent  # scrapy.cfg lives there
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["http_proxy"] = replica.proxy_url
    summary_file = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "zblog", "-a", f"sites={host}", "-a", "_job=job42",
         "-s", f"PARKCORPUS_OUT={tmp_path}", "-s", f"PARKCORPUS_SUMMARY_FILE={summary_file}",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=ERROR"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    s = json.loads(summary_file.read_text(encoding="utf-8"))
    assert s["status"] == "ok" and s["run_id"].endswith("-job42")
    assert s["outcomes"]["written"] == len(replica.network.site(host).post_ids())
    assert ds.dataset(str(tmp_path / "articles"), format="parquet", partitioning="hive").count_rows() == s["outcomes"]["written"]
