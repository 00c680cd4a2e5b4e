"""crawler.store.compact: fewer files, one current row per post, same load(), safe for readers."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from crawler import store
from crawler.errors import UsageError
from store_helpers import FETCHED, UTC, rec, write

SITE = "jinshan.021cf.cn"
OTHER = "laian.021cf.cn"


def three_runs(out):
    """Three runs with small flushes kept as files (no merge at close): posts 1-8 on two sites,
    posts 1 and 2 changed twice."""
    write(out, [rec(i) for i in range(1, 7)] + [rec(7, site=OTHER), rec(8, published=None)],
          run_id="r1", flush_rows=2, consolidate=False)
    day = dt.timedelta(days=1)
    write(out, [rec(1, text="第二版", fetched_at=FETCHED + day), rec(2, text="第二版", fetched_at=FETCHED + day)],
          run_id="r2", flush_rows=1, consolidate=False)
    write(out, [rec(1, text="第三版", fetched_at=FETCHED + 2 * day), rec(9, fetched_at=FETCHED + 2 * day)],
          run_id="r3", flush_rows=1, consolidate=False)


def frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["site", "post_id"]).reset_index(drop=True)


@pytest.fixture(params=["exchange", "fallback"])
def swap_mode(request, monkeypatch):
    """Run each test with the atomic RENAME_EXCHANGE swap and with the rename-then-delete fallback."""
    if request.param == "fallback":
        monkeypatch.setattr(store.files, "_exchange", lambda a, b: False)
    return request.param


def test_compact_folds_versions_and_merges_files(tmp_path, swap_mode):
    out = tmp_path / "data"
    three_runs(out)
    before = frame(store.load(out))
    files_before = store.dataset_files(out)
    s = store.compact(out)
    after_files = store.dataset_files(out)
    assert len(after_files) < len(files_before)
    # one file per partition afterwards
    assert len(after_files) == len({f.parent for f in after_files})
    pd.testing.assert_frame_equal(frame(store.load(out)), before)
    hist = store.load(out, history=True)
    assert len(hist) == len(before) == 9  # exactly one row per post left
    assert s["versions_folded"] == 3 and s["rows_after"] == 9
    assert store.dataset_files(out, "links") and len(store.dataset_files(out, "links")) == 2
    # links of folded versions are gone, links of current versions kept
    links = store.open_dataset(out, "links").to_table().to_pandas()
    current = set(zip(hist.site, hist.post_id, hist.content_hash))
    assert set(zip(links.src_site, links.src_post_id, links.content_hash)) == current
    assert not list((out / ".tmp").iterdir())


def test_keep_history_keeps_every_version(tmp_path, swap_mode):
    out = tmp_path / "data"
    three_runs(out)
    hist_before = frame(store.load(out, history=True).drop(columns=[]))
    n_files = len(store.dataset_files(out))
    s = store.compact(out, keep_history=True)
    assert s["versions_folded"] == 0
    assert len(store.dataset_files(out)) < n_files
    hist_after = store.load(out, history=True)
    key = ["site", "post_id", "content_hash"]
    assert sorted(map(tuple, hist_after[key].values.tolist())) == sorted(map(tuple, hist_before[key].values.tolist()))
    assert len(hist_after) == 12
    # folding later still works on the kept history
    store.compact(out)
    assert len(store.load(out, history=True)) == 9


def test_compact_is_idempotent_and_leaves_compact_partitions_alone(tmp_path):
    out = tmp_path / "data"
    three_runs(out)
    store.compact(out)
    files = store.dataset_files(out)
    s = store.compact(out)
    assert store.dataset_files(out) == files
    assert s["files_before"] == s["files_after"] == len(files)


def test_compact_folds_an_old_version_in_another_month(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1, text="旧")], run_id="r1")
    write(out, [rec(1, text="新", published=dt.datetime(2024, 4, 2, tzinfo=UTC),
                    fetched_at=FETCHED + dt.timedelta(days=1))], run_id="r2")
    store.compact(out)
    hist = store.load(out, history=True)
    assert list(hist.text) == ["新"]


def test_compact_removes_duplicate_rows(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1), rec(2)], run_id="r1")
    f = store.dataset_files(out)[0]
    shutil.copy(f, f.with_name("part-copy-00000.parquet"))  # e.g. a file copied twice by hand
    assert len(store.load(out, history=True)) == 2  # readers already collapse exact copies
    s = store.compact(out, keep_history=True)
    assert s["duplicates_removed"] == 2
    import pyarrow.dataset as ds

    assert ds.dataset(out / "articles", format="parquet", partitioning="hive").count_rows() == 2


def test_compact_one_site_or_one_partition(tmp_path):
    out = tmp_path / "data"
    three_runs(out)
    other_files = [f for f in store.dataset_files(out) if f"site={OTHER}" not in str(f)]
    store.compact(out, site=OTHER)
    assert [f for f in store.dataset_files(out) if f"site={OTHER}" not in str(f)] == other_files
    part = f"site={SITE}/year=2024/month=03"
    untouched = [f for f in store.dataset_files(out) if part not in str(f)]
    links_before = store.dataset_files(out, "links")
    s = store.compact(out, partition=part)
    assert s["partitions"] == 1
    assert store.dataset_files(out, "links") == links_before  # left to a site-wide compact
    assert [f for f in store.dataset_files(out) if part not in str(f)] == untouched
    assert len([f for f in store.dataset_files(out) if part in str(f)]) == 1
    with pytest.raises(UsageError, match="bad partition"):
        store.compact(out, partition="year=2024")


def test_a_file_written_during_compaction_is_kept(tmp_path, swap_mode):
    """A crawl links a new part file into the partition after compact listed it: nothing is lost."""
    out = tmp_path / "data"
    three_runs(out)
    folder = out / "articles" / f"site={SITE}" / "year=2024" / "month=03"
    real_swap = store.compaction._swap_partition
    newcomer = {}

    def swap(path, fold, tables, old, stamp):
        if fold == folder and not newcomer:
            w = store.DatasetWriter(out, "concurrent", known=store.KnownPosts())
            w.add(rec(50, fetched_at=FETCHED + dt.timedelta(days=5)))
            newcomer["files"] = w.flush()
        return real_swap(path, fold, tables, old, stamp)

    store.compaction._swap_partition = swap
    try:
        store.compact(out)
    finally:
        store.compaction._swap_partition = real_swap
    assert 50 in set(store.load(out).post_id)
    assert len(store.load(out)) == 10


def test_reader_sees_old_or_new_partition_never_neither(tmp_path, monkeypatch):
    """At every step of the swap the partition holds exactly the old rows or the compacted ones."""
    out = tmp_path / "data"
    three_runs(out)
    folder = out / "articles" / f"site={SITE}" / "year=2024" / "month=03"
    seen = []

    def snapshot():
        files = store._visible_parquet(folder)
        import pyarrow.parquet as pq

        rows = sum(pq.read_metadata(f).num_rows for f in files)
        seen.append(rows)

    real_exchange = store._exchange

    def exchange(a, b):
        snapshot()
        ok = real_exchange(a, b)
        snapshot()
        return ok

    monkeypatch.setattr(store.files, "_exchange", exchange)
    before = sum(1 for _ in store.load(out, history=True, site=SITE).itertuples())
    store.compact(out, partition=f"site={SITE}/year=2024/month=03")
    assert seen[0] == 10  # posts 1-6 plus four newer versions of 1 and 2, all in March
    assert seen[1] == 7 and all(n > 0 for n in seen)  # one row per post (1-6 and 9)
    assert before == 11


def test_compact_never_creates_a_dataset(tmp_path, run_cli):
    typo = tmp_path / "dta"
    res = run_cli("compact", "--out", typo)
    assert res.exit_code == 1 and res.output.startswith(f"Error: no parkcorpus dataset at {typo}")
    assert not typo.exists()
    out = tmp_path / "data"
    three_runs(out)
    with pytest.raises(UsageError, match="unknown site 'nosuch.cn'"):
        store.compact(out, site="nosuch.cn")


def test_cli_compact(tmp_path, run_cli):
    out = tmp_path / "data"
    three_runs(out)
    res = run_cli("compact", "--out", out)
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("Compacted 3 partitions: 9 -> 3 files") and "12 -> 9 rows (3 old versions folded" in lines[0]
    res = run_cli("compact", "--out", out, "--json", "--keep-history")
    assert res.exit_code == 0 and '"versions_folded": 0' in res.output


def test_load_retries_when_compact_swapped_a_file_away(tmp_path, monkeypatch):
    out = tmp_path / "data"
    three_runs(out)
    expected = frame(store.load(out))
    real_open = store.reading.files_dataset
    calls = []

    def open_then_compact(o, files, kind="articles", base=None):
        if not calls:  # the first listing goes stale: compact runs between listing and reading
            calls.append(1)
            monkeypatch.setattr(store.reading, "files_dataset", real_open)
            store.compact(out)
        return real_open(o, files, kind, base)

    monkeypatch.setattr(store.reading, "files_dataset", open_then_compact)
    pd.testing.assert_frame_equal(frame(store.load(out)), expected)
    assert calls == [1]
