"""DatasetWriter.close() merges the run's files: one article file per partition, one links file per site.

Rows arrive in random partition order with a small buffer (as in a large crawl), so during the run a
partition is written several times; at close only this run's files are merged, other runs' files are
never touched, and a crash in the middle of the merge leaves a dataset that reads right.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler import store
from crawler.validate import validate
from store_helpers import UTC, rec, write

SITES = ["jinshan.021cf.cn", "laian.021cf.cn", "songjiang.021cf.cn"]
TESTS = Path(__file__).resolve().parent


def records(n: int, seed: int = 7, start: int = 1) -> list[dict]:
    """n posts over 3 sites x 8 months (+ undated), shuffled: no partition order at all."""
    rng = random.Random(seed)
    out = []
    for i in range(start, start + n):
        month = rng.randrange(9)
        published = None if month == 8 else dt.datetime(2024, month + 1, 3, 4, 0, tzinfo=UTC)
        out.append(rec(i, site=SITES[i % 3], published=published))
    rng.shuffle(out)
    return out


def frame(out: Path, **kw) -> pd.DataFrame:
    return store.load(out, **kw).sort_values(["site", "post_id"]).reset_index(drop=True)


def run_files(out: Path, run_id: str, kind: str = "articles") -> list[Path]:
    return [f for f in store.dataset_files(out, kind) if f.name.startswith(f"part-{run_id}-")]


def snapshot(files: list[Path]) -> dict[str, tuple[int, int, int]]:
    return {str(f): (f.stat().st_ino, f.stat().st_size, f.stat().st_mtime_ns) for f in files}


@pytest.fixture(params=["exchange", "fallback"])
def swap_mode(request, monkeypatch):
    """Each test with RENAME_EXCHANGE and with the rename-over fallback (no renameat2)."""
    if request.param == "fallback":
        monkeypatch.setattr(store.files, "_exchange", lambda a, b: False)
    return request.param


def test_random_partition_order_ends_with_one_file_per_partition_and_site(tmp_path, swap_mode):
    out = tmp_path / "data"
    # another run (a Scrapyd job) wrote into the same partitions before, without merging
    write(out, records(60, seed=1, start=5000), run_id="other", flush_rows=10, consolidate=False)
    theirs = run_files(out, "other") + run_files(out, "other", "links")
    before = snapshot(theirs)
    assert len(theirs) > len({f.parent for f in theirs})  # several files per partition

    rows = records(400)
    expected = tmp_path / "expected"
    write(expected, rows, run_id="run", flush_rows=10, consolidate=False)

    w = store.DatasetWriter(out, "run", flush_rows=10, max_buffer_rows=20)
    for r in rows:
        w.add(r)
        assert w.pending <= 20
    during = run_files(out, "run")
    touched = {f.parent for f in during}
    assert len(during) > 2 * len(touched)  # before the merge: many files per partition
    w.close()

    mine = run_files(out, "run")
    assert len(mine) == len(touched) == len({f.parent for f in mine}) == 3 * 9
    links = run_files(out, "run", "links")
    assert sorted(f.parent.name for f in links) == [f"site={s}" for s in sorted(SITES)]
    assert sorted(map(str, w.files)) == sorted(map(str, mine + links))
    assert all(f.name.startswith("part-run-") and f.name.endswith(".parquet") for f in mine + links)
    # the other run's files are exactly as they were
    assert snapshot(theirs) == before
    # nothing left behind, the same rows and links as without merging, same file schema and codec
    assert not list((out / ".tmp").iterdir())
    pd.testing.assert_frame_equal(  # extracted_at: stamped when each row was added
        frame(out, site=SITES)[lambda d: d.post_id < 5000].reset_index(drop=True).drop(columns=["extracted_at"]),
        frame(expected).drop(columns=["extracted_at"]))
    assert len(store.load(out)) == 460
    got = store.open_dataset(out, "links").to_table().to_pandas()
    want = store.open_dataset(expected, "links").to_table().to_pandas()
    key = ["src_site", "src_post_id", "kind", "position", "dst_url"]
    assert (got[got.run_id == "run"].sort_values(key).reset_index(drop=True)
            .equals(want.sort_values(key).reset_index(drop=True)))
    for f in mine:
        pf = pq.ParquetFile(f)
        assert pf.schema_arrow.names == store.FILE_SCHEMA.names
        assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
        ids = pf.read(columns=["post_id"]).column("post_id").to_pylist()
        assert ids == sorted(ids)
    report = validate(out)
    assert report.ok and not [p for p in report.problems if p.kind == "duplicate"]
    # the next run finds everything stored
    w2 = store.DatasetWriter(out, "next")
    assert {w2.add(r) for r in rows} == {"unchanged"}
    w2.close()


def test_merge_streams_in_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(store.writer, "ROW_GROUP_ROWS", 7)  # a tiny row group: the merge never holds more
    out = tmp_path / "data"
    w = write(out, [rec(i) for i in range(1, 31)], run_id="run", flush_rows=4)
    (f,) = store.dataset_files(out)
    md = pq.ParquetFile(f).metadata
    assert md.num_rows == 30 and md.num_row_groups >= 5
    assert all(md.row_group(i).num_rows <= 7 for i in range(md.num_row_groups))
    assert sorted(store.load(out)["post_id"]) == list(range(1, 31))
    assert w.flushes == 8 and len(w.files) == 2


def test_a_concurrent_writer_of_another_run_is_left_alone(tmp_path, swap_mode):
    out = tmp_path / "data"
    a = store.DatasetWriter(out, "a", flush_rows=3)
    b = store.DatasetWriter(out, "b", flush_rows=3, known=a.known)
    for i in range(1, 10):
        a.add(rec(i))
        b.add(rec(100 + i))
    b_files = snapshot(run_files(out, "b") + run_files(out, "b", "links"))
    a.close()  # b is still running: its files stay
    assert snapshot(run_files(out, "b") + run_files(out, "b", "links")) == b_files
    assert len(run_files(out, "a")) == 1 and len(run_files(out, "b")) == 3
    b.close()
    assert len(run_files(out, "b")) == 1
    assert sorted(store.load(out)["post_id"]) == list(range(1, 10)) + list(range(101, 110))


def _crash_after_link(monkeypatch, mode: str) -> None:
    """Die right after the merged file is in place, before the run's old files are removed."""
    if mode == "exchange":
        real = store.files._exchange

        def exchange_then_die(a, b):
            assert real(a, b), "renameat2 RENAME_EXCHANGE unsupported here"
            raise KeyboardInterrupt("killed during the merge")

        monkeypatch.setattr(store.files, "_exchange", exchange_then_die)
    else:
        real_replace = os.replace
        monkeypatch.setattr(store.files, "_exchange", lambda a, b: False)

        def replace_then_die(src, dst):
            real_replace(src, dst)
            if Path(dst).suffix == ".parquet":
                raise KeyboardInterrupt("killed during the merge")

        monkeypatch.setattr(store.files.os, "replace", replace_then_die)


def test_crash_in_the_middle_of_the_merge_keeps_a_correct_dataset(tmp_path, monkeypatch, swap_mode):
    out = tmp_path / "data"
    write(out, [rec(i) for i in range(500, 505)], run_id="older")
    rows = records(90)
    expected = tmp_path / "expected"
    write(expected, [rec(i) for i in range(500, 505)], run_id="older")
    write(expected, rows, run_id="run", flush_rows=5)
    _crash_after_link(monkeypatch, swap_mode)
    w = store.DatasetWriter(out, "run", flush_rows=5, max_buffer_rows=10)
    for r in rows:
        w.add(r)
    with pytest.raises(KeyboardInterrupt):
        w.close()
    monkeypatch.undo()
    # the merged file and the run's other files of that partition are both visible: same rows twice
    assert len(run_files(out, "run")) > 3 * 9
    pd.testing.assert_frame_equal(frame(out).drop(columns=["extracted_at"]),
                                  frame(expected).drop(columns=["extracted_at"]))
    assert len(store.load(out, history=True)) == 95
    known = store.known_posts(out)
    assert known.versions() == 95 and len(known) == 95
    report = validate(out)
    assert report.ok and not report.errors
    dups = [p for p in report.warnings if p.kind == "duplicate"]
    assert dups and all("run run" in p.detail and "interrupted" in p.detail for p in dups)
    # the next run skips every stored post and writes nothing
    nxt = store.DatasetWriter(out, "next", flush_rows=5)
    assert {nxt.add(r) for r in rows} == {"unchanged"}
    nxt.close()
    assert not run_files(out, "next")
    # repair (or compact) folds the copies
    fixed = validate(out, repair=True)
    assert fixed.ok and fixed.compacted
    clean = validate(out)
    assert clean.ok and not clean.problems
    assert len(store.load(out, history=True)) == 95


def test_duplicates_across_runs_or_with_other_content_stay_errors(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1), rec(2)], run_id="r1")
    (f,) = store.dataset_files(out)
    # a copy under another run's name is not what a merge leaves
    os.link(f, f.with_name("part-r2-00000.parquet"))
    assert {p.kind for p in validate(out).errors} == {"duplicate"}
    os.unlink(f.with_name("part-r2-00000.parquet"))
    # the same version written again by the same run at another fetch time is not identical
    t = pq.read_table(f)
    idx = t.schema.get_field_index("fetched_at")
    later = pa.array(t.column("fetched_at").cast("int64").to_numpy() + 1).cast(t.schema.field(idx).type)
    pq.write_table(t.set_column(idx, t.schema.field(idx), later), f.with_name("part-r1-00009.parquet"))
    report = validate(out)
    assert not report.ok and {p.kind for p in report.errors} == {"duplicate"}


def test_sigkill_during_the_merge_keeps_a_correct_dataset(tmp_path):
    out = tmp_path / "data"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(TESTS)!r})
from crawler import store
from test_consolidate import records
real = store.files._exchange
def exchange_then_kill(a, b):
    real(a, b) or os.replace(a, b)
    os.kill(os.getpid(), signal.SIGKILL)
store.files._exchange = exchange_then_kill
w = store.DatasetWriter({str(out)!r}, "run", flush_rows=5, max_buffer_rows=10)
for r in records(90):
    w.add(r)
w.close()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(store.load(out)) == 90
    assert store.known_posts(out).versions() == 90
    report = validate(out)
    assert report.ok
    assert {p.kind for p in report.warnings} <= {"duplicate", "temp"}


def test_disk_full_during_the_merge_keeps_the_files(tmp_path, monkeypatch, caplog):
    out = tmp_path / "data"

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    # an earlier CLI test (-q) may have left the root logger at ERROR: ask for warnings here
    caplog.set_level(logging.WARNING, logger="crawler.store")
    w = store.DatasetWriter(out, "run", flush_rows=3)
    for i in range(1, 10):
        w.add(rec(i))
    monkeypatch.setattr(store.writer, "_read_files", full)
    w.close()  # no exception: every row is stored already
    assert len(run_files(out, "run")) == 3
    assert "could not merge" in caplog.text and "compact" in caplog.text
    assert sorted(map(str, w.files)) == sorted(map(str, run_files(out, "run") + run_files(out, "run", "links")))
    assert not list((out / ".tmp").iterdir())
    assert sorted(store.load(out)["post_id"]) == list(range(1, 10))


def test_merges_through_the_workers_equal_merges_here_and_keep_the_files_on_failure(tmp_path, caplog):
    """With offload (a crawl's pool) the folders' merges are split over the workers: the same
    files as merged here; a merge that fails there (no room for its temporary file) keeps the
    files as written, and the writer says so."""
    from crawler.workers import ExtractionPool, run_split

    caplog.set_level(logging.WARNING, logger="crawler.store")
    rows = [rec(i, published=dt.datetime(2024, 1 + i % 6, 2, tzinfo=dt.timezone.utc)) for i in range(1, 37)]
    sent = []

    with ExtractionPool(2) as pool:
        def offload(fn, jobs):  # what the crawl pipeline passes
            sent.append(fn.__name__)
            return run_split(pool, fn, jobs)

        for name, hook in (("here", None), ("pool", offload)):
            w = store.DatasetWriter(tmp_path / name, "run", flush_rows=2, offload=hook)
            for r in rows:
                w.add(r)
            w.close()
        here, pool_files = (sorted(f.relative_to(tmp_path / n) for f in run_files(tmp_path / n, "run"))
                            for n in ("here", "pool"))
        assert "merge_folders" in sent  # the merges went to the workers
        assert here == pool_files and len(here) == 6  # one file a month partition
        for rel in here:
            assert pq.read_table(tmp_path / "pool" / rel).drop_columns(["extracted_at"]).equals(
                pq.read_table(tmp_path / "here" / rel).drop_columns(["extracted_at"]))

        out = tmp_path / "failing"
        w = store.DatasetWriter(out, "run", flush_rows=2, offload=offload)
        for r in rows:
            w.add(r)
        w.flush()
        written = sorted(map(str, w.files))
        shutil.rmtree(out / ".tmp")
        (out / ".tmp").write_text("not a folder")  # no merge can write its file
        w.close()
    assert "could not merge" in caplog.text
    assert sorted(map(str, w.files)) == written and all(Path(f).exists() for f in written)
    assert sorted(store.load(out)["post_id"]) == list(range(1, 37))


def test_files_compacted_away_during_the_run_are_not_recreated(tmp_path, swap_mode):
    out = tmp_path / "data"
    w = store.DatasetWriter(out, "run", flush_rows=3)
    for i in range(1, 10):
        w.add(rec(i))
    store.compact(out, keep_history=True)  # a compaction took the run's three files
    for i in range(10, 12):
        w.add(rec(i))
    w.close()
    assert sorted(store.load(out)["post_id"]) == list(range(1, 12))
    assert all(f.exists() for f in w.files)
    assert validate(out).ok and not [p for p in validate(out).problems if p.kind == "duplicate"]


def test_a_crawl_ends_with_one_file_per_partition_and_its_manifest_names_them(make_replica, tmp_path,
                                                                             no_proxy_env):
    from crawler.crawl import crawl

    srv = make_replica(sites=2, posts=40)
    fast = {"DOWNLOAD_DELAY": 0, "DOWNLOAD_DELAY_JITTER": 0, "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "PARKCORPUS_RETRY_BACKOFF": 0,
            "PARKCORPUS_FLUSH_ROWS": 3}  # a file every 3 posts during the run
    summary = crawl(list(srv.network.hosts), out=str(tmp_path), proxy=srv.proxy_url, settings=fast,
                    env={}, progress=False)
    assert summary["status"] == "ok", summary["error"]
    run_id = summary["run_id"]
    mine = run_files(tmp_path, run_id)
    links = run_files(tmp_path, run_id, "links")
    assert mine and len(mine) == len({f.parent for f in mine})
    assert len(links) == 2 == len({f.parent for f in links})
    assert len(store.load(tmp_path)) == 80
    parquet = sorted(f for f in summary["output_files"] if f.endswith(".parquet"))
    facts = run_files(tmp_path, run_id, "parcels") + run_files(tmp_path, run_id, "listings")
    assert len(facts) == len({f.parent for f in facts})  # one fact file per site and kind, merged too
    assert parquet == sorted(str(f.relative_to(tmp_path)) for f in mine + links + facts)
    assert validate(tmp_path).ok
