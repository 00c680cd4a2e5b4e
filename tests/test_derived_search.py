"""The search index a crawl feeds as it writes (crawler.derived -> crawler.search): the same index a
build from the files gives, an end-of-run sync that reads nothing twice, and no post the dataset
lacks after a failed or killed run."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sqlite3

import pytest

from crawler import search
from crawler.derived import DerivedIndexes, DerivedProcess
from crawler.store.writer import stamp_version
from crawler.store import DatasetWriter
from store_helpers import rec

UTC = dt.timezone.utc
DAY = dt.datetime(2024, 3, 5, 16, 0, tzinfo=UTC)  # a China day start: date-only posts share the second


def _records(site="jinshan.021cf.cn", start=1, n=12, **values):
    # every third post published on the same date-only day: their rowids share one second
    return [rec(pid, site=site, published=DAY if pid % 3 == 0 else DAY + dt.timedelta(hours=pid),
                title=f"{site[:6]}园区招商公告{pid}号", text=f"第{pid}篇：厂房出租，建筑面积{pid * 100}平方米。", **values)
            for pid in range(start, start + n)]


def _run(out, records, run_id, *, process=False, write=None, written=True, flush_rows=4):
    """What the writer pipeline does: stamp, write, feed each new or changed record; then close.

    write: how many records reach the DatasetWriter's files (the rest are fed, then lost with a
    writer that fails before its next flush); None: all of them."""
    writer = DatasetWriter(out, run_id, flush_rows=flush_rows)  # first, as the pipeline: it makes the dataset
    derived = (DerivedProcess if process else DerivedIndexes)(out, run_id)
    for i, r in enumerate(records):
        stamp_version(r)
        if write is not None and i == write:
            writer.flush()  # what was added so far is on disk; what follows never is
        if writer.add(r) != "unchanged":
            derived.add(r)
    derived.drain()  # as the pipeline: the index process drains its feed while the writer closes
    if write is None:
        writer.close()
    derived.close(written=written)
    return derived


def _snapshot(path) -> tuple[list, list]:
    """The index's rows by (site, post_id): docs without the rowid, and the FTS title and text."""
    db = sqlite3.connect(search.index_path(path))
    docs = sorted(db.execute("SELECT site, post_id, url, published, doc_type, content_hash, record_hash, "
                             "fetched, extracted, pending FROM docs"))
    fts = sorted(db.execute("SELECT d.site, d.post_id, f.title, f.text FROM docs d JOIN fts f ON f.rowid = d.id"))
    db.close()
    return docs, fts


def _scratch(out, tmp_path):
    """The snapshot of an index built from nothing but the files of `out`."""
    path = tmp_path / "scratch.sqlite"
    for p in tmp_path.glob("scratch.sqlite*"):
        p.unlink()
    with search.SearchIndex(path) as idx:
        idx.sync(out)
    return _snapshot(path)


def _dataset_keys(out):
    from crawler.store import load

    df = load(out, columns=["site", "post_id"])
    return set(zip(df["site"], df["post_id"]))


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "index-process"])
def test_a_fed_index_equals_one_built_from_the_files(tmp_path, process):
    out = tmp_path / "data"
    first = _records() + _records(site="laian.021cf.cn", start=100)
    _run(out, first, "run1", process=process)
    assert _snapshot(out) == _scratch(out, tmp_path)
    with search.SearchIndex(out) as idx:
        assert idx.count() == len(first) and idx.pending() == 0

    # a later run: an edited text, a title-only edit, a new post, and unchanged posts (not fed)
    second = _records(n=6)
    second[1] = rec(2, published=second[1]["published"], title=first[1]["title"], text="改写后的正文：厂房已租出。",
                    fetched_at=dt.datetime(2024, 7, 1, tzinfo=UTC))
    second[2] = rec(3, published=DAY, title="金山园区招商公告3号（更正）", text=first[2]["text"],
                    fetched_at=dt.datetime(2024, 7, 1, tzinfo=UTC))
    second.append(rec(50, published=DAY, title="新发布：标准厂房招租", text="新厂房招租。"))
    _run(out, second, "run2", process=process)
    assert _snapshot(out) == _scratch(out, tmp_path)
    assert search.check(out) == []
    assert [h["post_id"] for h in search.search(out, "公告3号（更正）")] == [3]
    assert search.search(out, "厂房出租，建筑面积200") == []  # post 2's old text is gone
    assert len(search.search(out, "园区招商公告", limit=1000)) == len(first)


def test_the_end_of_run_sync_confirms_the_fed_rows_without_indexing_them_again(tmp_path, monkeypatch):
    out = tmp_path / "data"
    records = _records(n=20)
    with DatasetWriter(out, "run1", flush_rows=6) as w:
        fed = DerivedIndexes(out, "run1")
        for r in records:
            w.add(stamp_version(r))
            fed.add(r)
    fed.flush()
    fed.search.close()
    with search.SearchIndex(out) as idx:
        assert idx.pending() == len(records)
        fts_rows = idx.db.execute("SELECT count(*) FROM fts").fetchone()[0]
    calls = []
    real = search.SearchIndex._add_one
    monkeypatch.setattr(search.SearchIndex, "_add_one", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    counts = search.build(out)
    assert calls == []  # no row read whole, none tokenised again
    assert (counts["skipped"], counts["read"], counts["added"], counts["replaced"]) == (len(records), 0, 0, 0)
    assert counts["files"] >= 1 and counts["repaired"] == 0
    with search.SearchIndex(out) as idx:
        assert idx.pending() == 0
        assert idx.db.execute("SELECT count(*) FROM fts").fetchone()[0] == fts_rows == len(records)
    assert search.check(out) == []


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "index-process"])
def test_a_failed_write_leaves_no_post_the_dataset_lacks(tmp_path, process):
    out = tmp_path / "data"
    _run(out, _records(n=8), "run1")
    before = _snapshot(out)
    # the next run edits post 2 and finds new posts; its writer fails after the first four records
    later = [rec(2, published=DAY + dt.timedelta(hours=2), title="二号公告改版", text="改版后的正文。",
                 fetched_at=dt.datetime(2024, 8, 1, tzinfo=UTC))]
    later += _records(start=30, n=3) + _records(start=60, n=6)
    later.insert(5, rec(5, published=DAY + dt.timedelta(hours=5), title="五号公告改版", text="五号新正文。",
                        fetched_at=dt.datetime(2024, 8, 1, tzinfo=UTC)))
    _run(out, later, "run2", process=process, write=4, written=False, flush_rows=100)
    stored = _dataset_keys(out)
    assert {(r["site"], r["post_id"]) for r in later[:4]} <= stored
    assert not {(r["site"], r["post_id"]) for r in later[4:] if r["post_id"] != 5} & stored
    docs, _ = _snapshot(out)
    assert {(d[0], d[1]) for d in docs} == stored  # nothing the dataset lacks, nothing missing
    assert _snapshot(out) == _scratch(out, tmp_path)
    assert search.check(out) == []
    assert [h["post_id"] for h in search.search(out, "二号公告改版")] == [2]  # written before the failure
    assert search.search(out, "五号公告改版") == []  # fed, never written: the stored version is back
    assert [d for d in before[0] if d[1] == 5] == [d for d in docs if d[1] == 5]


def test_a_killed_crawls_index_is_repaired_by_the_next_sync(tmp_path):
    """Rows fed by a run that never closed (SIGKILL): some written, some not, one a new version of
    a stored post. check reports the difference until a sync, which repairs it."""
    out = tmp_path / "data"
    _run(out, _records(n=6), "run1")
    writer = DatasetWriter(out, "run2", flush_rows=3)
    derived = DerivedIndexes(out, "run2")
    fed = [rec(1, published=DAY + dt.timedelta(hours=1), title="一号公告改版", text="新正文。",
               fetched_at=dt.datetime(2024, 8, 1, tzinfo=UTC))] + _records(start=20, n=6)
    for i, r in enumerate(fed):
        stamp_version(r)
        if i < 3:
            writer.add(r)  # flush_rows=3: these three reach a file
        derived.add(r)
    derived.flush()
    derived.search.close()  # killed: no close, no sync; the writer's buffer is lost
    assert search.check(out)  # validate warns: posts in the index the dataset lacks
    counts = search.build(out)
    assert counts["repaired"] == len(fed) - 3
    assert search.check(out) == []
    assert _snapshot(out) == _scratch(out, tmp_path)
    assert [h["post_id"] for h in search.search(out, "一号公告改版")] == [1]


def test_a_title_only_edit_fed_by_the_crawl_replaces_the_title(tmp_path):
    out = tmp_path / "data"
    first = _records(n=4)
    _run(out, first, "run1")
    edited = rec(4, published=first[3]["published"], title="金山园区招商公告四号（标题更正）", text=first[3]["text"],
                 fetched_at=dt.datetime(2024, 9, 1, tzinfo=UTC))
    _run(out, [edited], "run2")
    assert edited["content_hash"] == stamp_version(dict(first[3]))["content_hash"]  # the text is the same
    assert [h["post_id"] for h in search.search(out, "招商公告四号（标题更正）")] == [4]
    assert 4 not in {h["post_id"] for h in search.search(out, "园区招商公告4号", limit=100)}
    assert _snapshot(out) == _scratch(out, tmp_path)
    assert search.check(out) == []


def test_a_resync_after_compaction_reads_no_row_whole(tmp_path):
    from crawler.store import compact

    out = tmp_path / "data"
    _run(out, _records(n=10), "run1")
    _run(out, [rec(3, published=DAY, title="三号公告改版", text="三号新正文。",
                   fetched_at=dt.datetime(2024, 8, 1, tzinfo=UTC))], "run2")
    compact(out)
    counts = search.build(out)
    assert counts["files"] >= 1 and counts["read"] == 0 and counts["added"] == counts["replaced"] == 0
    assert counts["skipped"] == 10  # one row per post (the current versions): each the indexed one
    assert _snapshot(out) == _scratch(out, tmp_path)
    assert search.check(out) == []


def test_sync_reads_single_files_not_the_dataset(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    out = tmp_path / "data"
    _run(out, _records(n=5), "run1")
    shutil.rmtree(out / "index")

    def refuse(*a, **kw):
        raise AssertionError("sync read through the dataset machinery")

    monkeypatch.setattr(pq, "read_table", refuse)
    counts = search.build(out)
    assert counts["added"] == counts["read"] == 5


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "pool"])
def test_a_crawls_index_is_fed_during_the_crawl_and_equals_one_built_from_the_files(
        workers, make_replica, tmp_path, no_proxy_env, fast_settings):
    from crawler.crawl import crawl

    srv = make_replica(sites=2, posts=25)
    out, log = tmp_path / "data", tmp_path / "crawl.log"
    s = crawl(srv.network.hosts, out=str(out), proxy=srv.proxy_url, env={}, progress=False, log_file=str(log),
              settings=dict(fast_settings, PARKCORPUS_WORKERS=workers))
    assert s["status"] == "ok" and s["articles"]["new"] == 50
    assert _snapshot(out) == _scratch(out, tmp_path)
    with search.SearchIndex(out) as idx:
        assert idx.count() == 50 and idx.pending() == 0
    assert search.check(out) == []
    if workers == 1:  # the index process of a pool logs nowhere the test can read
        # every row was indexed as the crawl wrote it: the end-of-run sync read none whole
        assert "search index: 50 rows fed during the run; the sync read 0 of 50 rows" in log.read_text()


def test_the_writer_hands_the_sync_the_keys_it_wrote_and_the_sync_reads_no_file_for_them(tmp_path, monkeypatch):
    import os

    import pyarrow.parquet as pq

    from crawler.store.writer import VERSION_KEYS

    out = tmp_path / "data"
    records = _records(n=9) + _records(site="laian.021cf.cn", start=100, n=4)
    writer = DatasetWriter(out, "run1", flush_rows=100)  # one flush: no merge
    fed = DerivedIndexes(out, "run1")
    for r in records:
        writer.add(stamp_version(r))
        fed.add(r)
    writer.close()
    keys, files = writer.written_keys()
    root = out / "articles"
    assert sorted(files) == sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    for rel, (first, rows, _size, _mtime) in files.items():  # the keys are what each file holds
        held = search._with_site(pq.read_table(root / rel, columns=[c for c in VERSION_KEYS if c != "site"]), rel)
        assert held.select(VERSION_KEYS).to_pylist() == keys.slice(first, rows).select(VERSION_KEYS).to_pylist()
    # a file changed since it was written is read again, the others are not
    changed = sorted(files)[0]
    st = (root / changed).stat()
    os.utime(root / changed, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    reads = []
    real = search._read
    monkeypatch.setattr(search, "_read", lambda root, rel, columns: reads.append(rel) or real(root, rel, columns))
    fed.close(keys=(keys, files))
    assert reads == [changed]
    assert _snapshot(out) == _scratch(out, tmp_path)
    with search.SearchIndex(out) as idx:
        assert idx.pending() == 0 and idx.count() == len(records)


@pytest.mark.parametrize("pool", [False, True], ids=["here", "workers"])
def test_a_merged_file_is_listed_with_the_keys_it_holds_and_the_sync_reads_no_file(tmp_path, monkeypatch, pool):
    import pyarrow.parquet as pq

    from crawler.store.writer import VERSION_KEYS
    from crawler.workers import ExtractionPool, run_split

    out = tmp_path / "data"
    records = _records(n=10) + _records(site="laian.021cf.cn", start=100, n=7)
    with ExtractionPool(2) if pool else contextlib.nullcontext() as workers:
        offload = (lambda fn, jobs: run_split(workers, fn, jobs)) if pool else None
        # several flushes into the same partitions: merged at close (here or in the workers)
        writer = DatasetWriter(out, "run1", flush_rows=3, offload=offload)
        fed = DerivedIndexes(out, "run1")
        for r in reversed(records):  # newest post first, as a crawl meets them: the merge sorts the rows
            writer.add(stamp_version(r))
            fed.add(r)
        writer.close()
    keys, files = writer.written_keys()
    root = out / "articles"
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert len(on_disk) < len(records) // 3  # merged: fewer files than flushes
    assert sorted(files) == on_disk
    for rel, (first, rows, _size, _mtime) in files.items():  # row for row, in the file's order
        held = search._with_site(pq.read_table(root / rel, columns=[c for c in VERSION_KEYS if c != "site"]), rel)
        assert held.select(VERSION_KEYS).to_pylist() == keys.slice(first, rows).select(VERSION_KEYS).to_pylist()
    reads = []
    real = search._read
    monkeypatch.setattr(search, "_read", lambda root, rel, columns: reads.append(rel) or real(root, rel, columns))
    fed.close(keys=(keys, files))
    assert reads == []
    assert _snapshot(out) == _scratch(out, tmp_path)
    with search.SearchIndex(out) as idx:
        assert idx.pending() == 0 and idx.count() == len(records)


def test_the_index_process_work_never_imports_pandas(tmp_path):
    """What a crawl's index process runs (feed, drain, groups, the sync with the writer's keys)
    builds no Arrow table from Python objects and turns no timestamp into a datetime: pyarrow
    imports pandas the first time it does either (~0.2 s of CPU in that process). So the groups
    go back to the crawl process, which writes them (DerivedProcess.close)."""
    import json
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "data"
    # the same story on two sites: copies, so there are duplicate groups to make
    records = _records() + _records(site="laian.021cf.cn")
    for r in records:
        r["text"] = "".join(chr(0x4E00 + (r["post_id"] * 7919 + i * 104729) % 20000) for i in range(400))
    # flushed 4 rows at a time and merged at close: the writer hands over every file's keys, so the
    # sync reads none (reading Parquet would import pandas too)
    writer = DatasetWriter(out, "run", flush_rows=4)
    for r in records:
        stamp_version(r)
        writer.add(r)
    writer.close()
    state = tmp_path / "feed.pkl"
    state.write_bytes(pickle.dumps((records, writer.written_keys())))
    here = Path(__file__).parent
    script = f"""
import json, pickle, sys
sys.path[:0] = [{str(here)!r}, {str(here.parent)!r}]
from crawler.derived import DerivedIndexes
records, keys = pickle.loads(open({str(state)!r}, "rb").read())
derived = DerivedIndexes({str(out)!r}, "run")
for r in records:
    derived.add(r)
derived.drain()
groups = derived.take_groups()
summary = derived.sync(written=True, keys=keys)
print(json.dumps({{"groups": len(groups), "posts": summary["search_index"]["posts"], "pandas": "pandas" in sys.modules}}))
"""
    got = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                                    check=True).stdout)
    assert got["groups"] == len(records)  # every post and its copy on the other site
    assert got["posts"] == len(records)
    assert got["pandas"] is False, "the index process's work imported pandas"
    with search.open_index(out, sync=False) as idx:
        assert idx.pending() == 0  # the sync confirmed every row it was fed
