"""The per-output-folder lock: one run at a time, the holder named, stale locks taken over."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time

import pytest

from crawler.errors import LockedError
from crawler.lock import LOCK_NAME, FolderLock, read_holder


def test_second_lock_names_the_holder(tmp_path):
    with FolderLock(tmp_path, run_id="r1"):
        assert read_holder(tmp_path)["pid"] == os.getpid()
        with pytest.raises(LockedError, match=rf"is locked by another parkcorpus run \(PID {os.getpid()}"):
            FolderLock(tmp_path).acquire()
    # released: the next run gets it
    with FolderLock(tmp_path, run_id="r2") as lock:
        assert lock.took_over is None or lock.took_over.get("pid") is None


def test_stale_lock_of_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": pid, "started": "2026-01-01T00:00:00Z"}))
    with FolderLock(tmp_path, run_id="r3") as lock:
        assert lock.took_over["pid"] == pid
        assert read_holder(tmp_path)["pid"] == os.getpid()


def test_lock_held_by_another_process(tmp_path):
    code = ("import sys, time; from crawler.lock import FolderLock; "
            "l = FolderLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=rf"PID {holder.pid}\b"):
            FolderLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    FolderLock(tmp_path).acquire().release()  # the dead holder's lock is free again


def test_concurrent_crawls_second_refuses(make_replica, tmp_path, run_cli, fast_args, no_proxy_env):
    srv = make_replica(sites=1, posts=30, faults="slow=1:0.1")
    host = srv.network.hosts[0]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    first = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "crawl", host, "--out", str(tmp_path),
         "--proxy", srv.proxy_url, "-q", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", *fast_args[:6]],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 60
        while not glob.glob(str(tmp_path / ".parkcorpus" / "progress-*.json")):
            assert first.poll() is None and time.monotonic() < end
            time.sleep(0.02)
        result = run_cli("crawl", host, "--out", tmp_path, "--proxy", srv.proxy_url)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert lines[-1].startswith(f"Error: {tmp_path} is locked by another parkcorpus run (PID {first.pid}")
    finally:
        first.terminate()  # SIGTERM: a graceful stop
        first.wait(timeout=60)
