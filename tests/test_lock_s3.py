"""ObjectStoreLock against a real S3 server (SeaweedFS on loopback): conditional create, holder named,
stale locks taken over by compare-and-swap, heartbeat, release, and refusal of a store without
conditional writes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from crawler import fs
from crawler.errors import LockedError, StorageError
from crawler.lock import LOCK_NAME, FolderLock, ObjectStoreLock, dataset_lock


@pytest.fixture
def loc(s3_env, s3_bucket):
    return fs.resolve(f"s3://{s3_bucket}/ds")


def lock_object(s3_server, loc) -> dict | None:
    keys = s3_server.keys(loc.bucket)
    key = f"ds/{LOCK_NAME}"
    if key not in keys:
        return None
    return json.loads(s3_server.client().get_object(Bucket=loc.bucket, Key=key)["Body"].read())


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_store_honours_conditional_create(s3_server, s3_bucket):
    """The premise: SeaweedFS refuses a second If-None-Match: * create of one key."""
    from botocore.exceptions import ClientError

    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError, match="PreconditionFailed"):
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"1"


def test_lock_object_names_holder_and_second_run_is_refused(s3_server, loc):
    with ObjectStoreLock(loc, run_id="r1") as lock:
        holder = lock_object(s3_server, loc)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["run_id"] == "r1" and holder["started"].endswith("Z")
        with pytest.raises(LockedError) as info:
            ObjectStoreLock(loc, run_id="r2").acquire()
        assert str(info.value).startswith(
            f"{loc.uri} is locked by another parkcorpus run (PID {os.getpid()} on {socket.gethostname()}, "
            f"started {holder['started']}); wait for it to finish or stop it")
        assert lock.took_over is None
    assert lock_object(s3_server, loc) is None  # released: the object is gone
    with dataset_lock(loc, run_id="r3") as again:
        assert isinstance(again, ObjectStoreLock) and again.took_over is None


def test_concurrent_acquires_one_winner(loc):
    locks = [ObjectStoreLock(loc, run_id=f"r{i}") for i in range(6)]
    outcomes: list[str] = [""] * len(locks)
    start = threading.Barrier(len(locks))

    def take(i):
        start.wait()
        try:
            locks[i].acquire()
            outcomes[i] = "won"
        except LockedError:
            outcomes[i] = "locked"

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(locks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["locked"] * 5 + ["won"]
    for lock, outcome in zip(locks, outcomes):
        if outcome == "won":
            lock.release()


def test_lock_of_dead_process_on_this_host_is_taken_over(s3_server, loc):
    pid = dead_pid()
    stale = {"pid": pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00Z"}
    s3_server.client().put_object(Bucket=loc.bucket, Key=f"ds/{LOCK_NAME}", Body=json.dumps(stale).encode())
    with ObjectStoreLock(loc, run_id="r1", stale_after=3600) as lock:
        assert lock.took_over == stale
        assert lock_object(s3_server, loc)["pid"] == os.getpid()


def test_live_child_keeps_the_lock(s3_server, loc):
    """The CLI died but its crawl process runs on: the lock is not stale."""
    stale = {"pid": dead_pid(), "child_pid": os.getpid(), "host": socket.gethostname(), "started": "x"}
    s3_server.client().put_object(Bucket=loc.bucket, Key=f"ds/{LOCK_NAME}", Body=json.dumps(stale).encode())
    with pytest.raises(LockedError):
        ObjectStoreLock(loc, stale_after=3600).acquire()


def test_other_host_lock_is_stale_only_after_its_heartbeat_stops(s3_server, loc):
    other = {"pid": 4242, "host": "node-b.example", "started": "2026-11-30T00:00:00Z"}
    s3_server.client().put_object(Bucket=loc.bucket, Key=f"ds/{LOCK_NAME}", Body=json.dumps(other).encode())
    with pytest.raises(LockedError, match=r"\(PID 4242 on node-b.example, started 2026-11-30T00:00:00Z\)"):
        ObjectStoreLock(loc, stale_after=3600).acquire()
    # the same object judged with a zero silence limit: its last write is old enough
    with ObjectStoreLock(loc, stale_after=0) as lock:
        assert lock.took_over == other


def test_stale_takeover_is_a_compare_and_swap(s3_server, loc):
    """Two runs find the same stale lock: exactly one takes it over."""
    other = {"pid": 4242, "host": "node-b.example", "started": "x"}
    s3_server.client().put_object(Bucket=loc.bucket, Key=f"ds/{LOCK_NAME}", Body=json.dumps(other).encode())
    locks = [ObjectStoreLock(loc, stale_after=0, heartbeat=3600) for _ in range(4)]
    results: list[str] = [""] * 4
    barrier = threading.Barrier(4)

    def take(i):
        barrier.wait()
        try:
            locks[i].acquire()
            results[i] = "won"
        except LockedError:
            results[i] = "locked"

    threads = [threading.Thread(target=take, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # with stale_after=0 a later run may take over from the winner again; every winner but the
    # last must then have lost its lock, and only one holds it now
    holders = [lock for lock, r in zip(locks, results) if r == "won"]
    assert holders
    current = lock_object(s3_server, loc)
    alive = [lock for lock in holders if lock.holder["token"] == current["token"]]
    assert len(alive) == 1
    for lock in holders:
        lock.release()
    assert lock_object(s3_server, loc) is None


def test_heartbeat_refreshes_and_notices_a_takeover(s3_server, loc):
    lock = ObjectStoreLock(loc, heartbeat=0.1).acquire()
    try:
        deadline = time.monotonic() + 30
        while "heartbeat" not in (lock_object(s3_server, loc) or {}):
            assert time.monotonic() < deadline, "no heartbeat written"
            time.sleep(0.05)
        lock.note_child(12345)
        assert lock_object(s3_server, loc)["child_pid"] == 12345
        # another run replaces the object (it judged us stale): the next beat sees it
        s3_server.client().put_object(Bucket=loc.bucket, Key=f"ds/{LOCK_NAME}", Body=b'{"pid": 1}')
        while not lock.lost:
            assert time.monotonic() < deadline, "takeover not noticed"
            time.sleep(0.05)
    finally:
        lock.release()
    assert lock_object(s3_server, loc) == {"pid": 1}  # release left the new holder's lock alone


def test_lock_held_by_another_process(s3_server, loc, s3_env):
    code = ("import sys, time; from crawler import fs; from crawler.lock import ObjectStoreLock; "
            "l = ObjectStoreLock(fs.resolve(sys.argv[1])).acquire(); print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, loc.uri], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, **s3_env})
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=rf"PID {holder.pid} on "):
            ObjectStoreLock(loc).acquire()
    finally:
        holder.kill()  # kill -9: no release
        holder.wait()
    assert lock_object(s3_server, loc)["pid"] == holder.pid  # the object outlived its holder
    with ObjectStoreLock(loc) as lock:  # same host, dead PID: taken over at once
        assert lock.took_over["pid"] == holder.pid


def test_store_ignoring_conditional_writes_is_refused(s3_server, loc):
    """A store that drops If-None-Match (simulated by removing the header before signing) is refused."""
    client = s3_server.client()

    def drop_condition(request, **_):
        if "If-None-Match" in request.headers:
            del request.headers["If-None-Match"]

    client.meta.events.register("before-sign.s3.PutObject", drop_condition)
    with pytest.raises(StorageError) as info:
        ObjectStoreLock(loc, client=client).acquire()
    assert str(info.value) == (
        f"the store at {s3_server.endpoint} ignores conditional writes (If-None-Match), so {loc.uri} cannot "
        "be locked: run one writer at a time, and pass --no-lock for cluster jobs that write disjoint files")
    assert lock_object(s3_server, loc) is None  # nothing left behind


def test_lock_errors_are_storage_errors(s3_server, s3_env, monkeypatch):
    with pytest.raises(StorageError, match="^bucket 'no-such-bucket' does not exist at "):
        ObjectStoreLock(fs.resolve("s3://no-such-bucket/ds")).acquire()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    fs._client.cache_clear()
    with pytest.raises(StorageError, match="refused the credentials .*set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        ObjectStoreLock(fs.resolve(f"s3://{s3_server.bucket()}/ds")).acquire()


def test_dataset_lock_is_the_folder_lock_locally(tmp_path):
    lock = dataset_lock(fs.resolve(str(tmp_path)), run_id="r1")
    assert isinstance(lock, FolderLock)
    with lock:
        assert (tmp_path / LOCK_NAME).exists()
