"""kill -9 at three moments of a crawl, then a re-run: the same posts as an uninterrupted crawl.

The moments are driven by the crawl's progress file (first flush done, half the posts settled,
90% settled), not by sleeps. The crawl CLI runs in a subprocess; both it and its crawl child
get SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from crawl_helpers import wait_progress
from crawler.crawl import crawl

SETTINGS = {
    "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": 4,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2, "PARKCORPUS_RETRY_BACKOFF": 0,
    "PARKCORPUS_FLUSH_ROWS": 10, "PARKCORPUS_PROGRESS_INTERVAL": 0.05,
}
POSTS = 80
# every post answers after a short pause: widens the windows the test aims for (not a timing test)
FAULTS = "slow=1:0.05"


def stored(out: Path) -> list[tuple]:
    base = out / "articles"
    if not base.is_dir():
        return []
    t = ds.dataset(str(base), format="parquet", partitioning="hive").to_table(
        columns=["site", "post_id", "content_hash"])
    return list(zip(*(t.column(c).to_pylist() for c in ("site", "post_id", "content_hash"))))


def wait_dead(pid: int, deadline: float = 30.0) -> None:
    """Until pid has exited (gone, or a zombie: its files, and so its lock, are released)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} survived SIGKILL")


def wait_unlocked(out: Path, deadline: float = 30.0) -> None:
    """Until the killed run's lock is free (the kernel drops it once the holders are gone)."""
    from crawler.errors import LockedError
    from crawler.lock import FolderLock

    end = time.monotonic() + deadline
    while True:
        try:
            FolderLock(out).acquire().release()
            return
        except LockedError:
            assert time.monotonic() < end, "the lock of a killed run was never released"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def server():
    from crawler.replica.faults import Faults
    from crawler.replica.model import Network
    from crawler.replica.server import ReplicaServer

    with ReplicaServer(Network(seed=7, sites=1, posts=POSTS), faults=Faults.parse(FAULTS)) as srv:
        yield srv


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    s = crawl(server.network.hosts, out=str(out), proxy=server.proxy_url, settings=SETTINGS, env={}, progress=False)
    assert s["status"] == "ok"
    return {(site, pid): h for site, pid, h in stored(out)}


MOMENTS = {
    "after_first_flush": lambda p: p.get("flushes", 0) >= 1,
    "mid_run": lambda p: p.get("posts_done", 0) >= POSTS // 2,
    "near_end": lambda p: p.get("posts_done", 0) >= POSTS * 9 // 10,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_then_rerun_matches_uninterrupted(moment, server, reference, tmp_path):
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    cmd = [sys.executable, "-c", "from cli import main; main()", "crawl", *server.network.hosts,
           "--out", str(tmp_path), "--proxy", server.proxy_url, "-q"]
    for k, v in SETTINGS.items():
        cmd += ["-s", f"{k}={v}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p = wait_progress(str(tmp_path / ".parkcorpus" / "progress-*.json"), MOMENTS[moment], proc)
        os.kill(p["pid"], signal.SIGKILL)  # the crawl process first: nothing gets to flush
        proc.kill()
    finally:
        proc.kill()
        proc.wait()
    wait_dead(p["pid"])
    wait_unlocked(tmp_path)

    # what the killed run left: only complete, readable Parquet files where readers look
    for f in (tmp_path / "articles").rglob("*"):
        if f.is_file():
            assert f.suffix == ".parquet" and not f.name.startswith("."), f
            pq.read_metadata(f)
    partial = stored(tmp_path)
    assert len(set((s, p) for s, p, _ in partial)) < len(reference), "the kill must interrupt the crawl"

    s = crawl(server.network.hosts, out=str(tmp_path), proxy=server.proxy_url, settings=SETTINGS,
              env={}, progress=False)
    assert s["status"] == "ok", s["error"]
    final = stored(tmp_path)
    assert max(Counter(final).values()) == 1, "duplicate (site, post_id, content_hash)"
    assert {(site, pid): h for site, pid, h in final} == reference
    # the killed run had fed the search index rows its writer never wrote: the rerun's sync repaired them
    from crawler import search

    assert search.check(tmp_path) == []
    with search.SearchIndex(tmp_path) as idx:
        assert idx.count() == len(reference) and idx.pending() == 0
