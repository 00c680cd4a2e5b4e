"""Crash safety of the dataset under attack, damage and concurrency: planted links in the state
folder, readers beside compact, reextract beside a crawl, one damaged Parquet file, repair.

Each test reproduces a defect as a user (or someone sharing the dataset folder) would.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from cli import main
from crawler.ledger import STATE_DIR, Ledger

HOST = "jinshan.021cf.cn"


def cli(*args, env=None):
    """(exit code, whole output) of `parkcorpus ARGS`; asserts no traceback."""
    res = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.output


def error_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("Error:")]


# --- markers under .parkcorpus/ never followed -------------------------------------------------------


@pytest.mark.parametrize("kind", ["incomplete", "crawled", "unfetchable"])
def test_crawl_refuses_a_symlinked_marker_and_keeps_its_target(kind, tmp_path, replica, no_proxy_env):
    out = tmp_path / "d"
    assert cli("demo", "--out", out, "--posts", "3", "--sites", "1")[0] == 0
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    host = replica.network.hosts[0]
    folder = out / STATE_DIR / kind
    folder.mkdir(parents=True, exist_ok=True)
    (folder / host).unlink(missing_ok=True)
    (folder / host).symlink_to(victim)
    code, text = cli("crawl", host, "--out", out, "--proxy", replica.proxy_url, "--mode", "full",
                     "--max-pages", "1")
    assert code == 1, text
    [line] = error_lines(text)
    assert line.startswith(f"Error: {folder / host} is a symbolic link"), line
    assert victim.read_text() == "keep\n"
    assert (folder / host).is_symlink()


def test_crawl_refuses_a_symlinked_state_folder(tmp_path, replica, no_proxy_env):
    out = tmp_path / "d"
    assert cli("demo", "--out", out, "--posts", "3", "--sites", "1")[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = out / STATE_DIR / "incomplete"
    if target.exists():
        import shutil

        shutil.rmtree(target)
    target.symlink_to(elsewhere, target_is_directory=True)
    code, text = cli("crawl", replica.network.hosts[0], "--out", out, "--proxy", replica.proxy_url,
                     "--mode", "full", "--max-pages", "1")
    assert code == 1
    assert error_lines(text)[0].startswith(f"Error: {target} is a symbolic link")
    assert list(elsewhere.iterdir()) == []


def _ledger(out) -> Ledger:
    return Ledger(SimpleNamespace(stats=None), out=str(out), run_id="r1")


def test_ledger_never_writes_through_a_marker_planted_meanwhile(tmp_path):
    """The race the pre-flight check cannot see: a link planted after the crawl started."""
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    out = tmp_path / "d"
    for kind in ("incomplete", "crawled", "unfetchable"):
        (out / STATE_DIR / kind).mkdir(parents=True)
        (out / STATE_DIR / kind / HOST).symlink_to(victim)
    led = _ledger(out)
    led.write_marker("incomplete", HOST)
    led.write_marker("crawled", HOST)
    led.unfetchable_now[(HOST, 7)] = True
    led.save_unfetchable([HOST])
    assert victim.read_text() == "keep\n"
    assert led.read_ids("unfetchable", HOST) == set()  # a link is not read either
    assert not led.is_complete(HOST)


def test_ledger_markers_round_trip(tmp_path):
    led = _ledger(tmp_path)
    led.unfetchable_now.update({(HOST, 5): True, (HOST, 9): True})
    led.save_unfetchable([HOST])
    assert led.read_ids("unfetchable", HOST) == {5, 9}
    led.write_marker("crawled", HOST)
    led.stored_hosts = {HOST}
    assert led.is_complete(HOST)
    led.write_marker("incomplete", HOST)
    assert not led.is_complete(HOST)
    assert not [p for p in (tmp_path / STATE_DIR).rglob("*") if p.name.endswith(".tmp")]


# --- readers beside compact ---------------------------------------------------------------------------

#: A compaction loop in its own process: each round puts an identical copy of every file in place
#: (what a merge shows for a moment), then compacts the copies away; bounded in rounds and time.
COMPACT_LOOP = r"""
import os, shutil, sys, time
from pathlib import Path
from crawler.store import compact, dataset_files
out, stop, count = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
n, t0 = 0, time.monotonic()
while not stop.exists() and time.monotonic() - t0 < 300 and n < 20000:
    for f in dataset_files(out) + dataset_files(out, "links"):
        tmp = out / ".tmp" / f"copy-{n}.parquet"
        try:
            shutil.copyfile(f, tmp)
        except FileNotFoundError:
            continue
        os.replace(tmp, f.with_name(f"part-copy-{n}-{f.name[-20:]}"))
    compact(out)
    n += 1
    count.write_text(str(n))
"""


def _corpus(out: Path) -> Path:
    from test_stats import A, B, article, write_dataset

    recs = [article(s, i, datetime(2026, 1 + i % 3, 1 + i, tzinfo=timezone.utc), run_id=f"r{i % 2}")
            for s in (A, B) for i in range(1, 13)]
    return write_dataset(out, recs)


def test_readers_beside_a_compaction_loop(tmp_path):
    import json
    import subprocess
    import sys

    from crawler.export import export
    from crawler.report import build_report
    from crawler.stats import corpus_stats, sites_overview
    from crawler.store import load

    out = _corpus(tmp_path / "d")
    def posts(_=None):
        df = load(out)
        return sorted(zip(df["site"], df["post_id"]))

    want = posts()
    stop, count = tmp_path / "stop", tmp_path / "count"
    proc = subprocess.Popen([sys.executable, "-c", COMPACT_LOOP, str(out), str(stop), str(count)])
    failures = []

    def rounds() -> int:
        try:
            return int(count.read_text())
        except (OSError, ValueError):
            return 0

    def check(kind, fn):
        for i in range(20):
            try:
                got = fn(i)
            except Exception as exc:  # noqa: BLE001 - every failure of a reader is the finding
                failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            if got != want:
                failures.append(f"{kind}: {len(got)} posts instead of {len(want)}")

    def exported(i):
        to = tmp_path / f"e{i}.jsonl"
        export(out, to=to)
        rows = [json.loads(x) for x in to.read_text().splitlines()]
        return sorted((r["site"], r["post_id"]) for r in rows)

    def overview(_):
        return sum(s["posts"] or 0 for s in sites_overview(out)["sites"])

    try:
        t0 = time.monotonic()
        while rounds() < 2 and time.monotonic() - t0 < 60:  # the loop is running
            time.sleep(0.05)
        check("load", posts)
        check("export", exported)
        want_n = len(want)
        check("stats", lambda _: want if corpus_stats(out)["articles"] == want_n else [])
        check("sites", lambda _: want if overview(_) == want_n else [])
        check("report", lambda i: want if build_report(out, to=tmp_path / f"r{i}.html")["articles"] == want_n else [])
    finally:
        stop.write_text("")
        proc.wait(timeout=120)
    assert rounds() > 10, "the compaction loop barely ran: the test proved nothing"
    assert failures == []


# --- one damaged Parquet file ---------------------------------------------------------------------------


def _damage_one(out: Path) -> Path:
    """Truncate one article file to half its size (a disk error or a copy cut short)."""
    from crawler.store import dataset_files

    victim = dataset_files(out)[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    return victim


def _warnings_naming(text: str, path: Path) -> list[str]:
    return [ln for ln in text.splitlines() if "WARNING" in ln and str(path) in ln]


@pytest.fixture
def damaged(tmp_path):
    out = _corpus(tmp_path / "d")
    return out, _damage_one(out)


@pytest.mark.parametrize("args", [["stats"], ["sites"], ["report", "--to", "{tmp}/r.html"], ["compact"]])
def test_readers_skip_a_damaged_file_with_one_warning(args, damaged, tmp_path):
    out, bad = damaged
    code, text = cli(*[a.format(tmp=tmp_path) for a in args], "--out", out)
    assert code == 0, text
    [line] = _warnings_naming(text, bad)
    assert "unreadable Parquet file" in line and "parkcorpus validate --repair" in line
    assert not error_lines(text)
    assert bad.exists()  # the damaged file is left for validate --repair to quarantine


def test_stats_counts_the_readable_files(damaged):
    from crawler.stats import corpus_stats
    from crawler.store import load

    out, bad = damaged
    n = corpus_stats(out)["articles"]
    assert 0 < n < 24  # the posts of the damaged file are missing, the rest are counted
    assert len(load(out)) == n


def test_export_of_a_damaged_dataset_is_one_error(damaged, tmp_path):
    out, bad = damaged
    to = tmp_path / "e.jsonl"
    code, text = cli("export", "--out", out, "--to", to)
    assert code == 1
    [line] = error_lines(text)
    assert str(bad) in line and "parkcorpus validate --repair" in line
    assert not to.exists()  # a partial export would pass for the whole corpus


def test_load_skips_a_damaged_file_with_one_warning(damaged, caplog):
    from crawler.store import load

    out, bad = damaged
    with caplog.at_level("WARNING"):
        df = load(out)
    assert 0 < len(df) < 24
    assert len([r for r in caplog.records if str(bad) in r.getMessage()]) == 1


def test_crawl_fetches_the_posts_of_a_damaged_file_again(tmp_path, replica, no_proxy_env, fast_args):
    from crawler.store import dataset_files, load

    host = replica.network.hosts[0]
    pids = replica.network.site(host).post_ids()[:12]
    ids = f"{pids[0]}-{pids[-1]}"
    out = tmp_path / "d"
    code, text = cli("crawl", host, "--out", out, "--proxy", replica.proxy_url, "--ids", ids, *fast_args)
    assert code == 0, text
    before = set(load(out)["post_id"])
    bad = _damage_one(out)
    log = tmp_path / "crawl.log"
    code, text = cli("--log-file", log, "crawl", host, "--out", out, "--proxy", replica.proxy_url, "--ids", ids,
                     *fast_args)
    assert code == 0, text
    assert "Traceback" not in text + log.read_text() and "interrupted" not in text
    assert _warnings_naming(log.read_text(), bad)  # the crawl process logs it
    assert set(load(out)["post_id"]) == before  # the damaged file's posts were fetched and stored again
    assert not list(out.rglob("*.warc.gz.open"))
    assert bad in dataset_files(out)  # still there for validate --repair


# --- reextract: the crawl's lock, unreadable WARC records -----------------------------------------------


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """A demo dataset with its WARC archive (one finished .warc.gz per run)."""
    out = tmp_path_factory.mktemp("warc") / "d"
    code, text = cli("demo", "--out", out, "--posts", "12", "--sites", "1")
    assert code == 0, text
    return out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_reextract_waits_for_no_one_while_a_crawl_holds_the_lock(archived, tmp_path):
    from crawler.lock import FolderLock

    out = _copy(archived, tmp_path / "d")
    before = sorted(p.name for p in out.rglob("*.parquet"))
    with FolderLock(out, run_id="crawl-1"):
        code, text = cli("reextract", "--out", out)
    assert code == 1
    [line] = error_lines(text)
    assert "is locked by another parkcorpus run (PID" in line
    assert sorted(p.name for p in out.rglob("*.parquet")) == before  # nothing written


def test_reextract_reports_the_records_of_a_truncated_warc(archived, tmp_path, caplog):
    from crawler.archive import iter_responses, reextract, warc_files

    out = _copy(archived, tmp_path / "d")
    [warc] = warc_files(out)
    whole = len(list(iter_responses(out)))
    data = warc.read_bytes()
    warc.write_bytes(data[: int(len(data) * 0.6)])  # a copy cut short
    with caplog.at_level("WARNING"):
        summary = reextract(out, to=tmp_path / "re")
    assert summary["unreadable_records"] == 1
    assert 0 < summary["responses"] < whole
    assert str(warc) in summary["unreadable"][0]
    assert [r for r in caplog.records if "unreadable WARC record" in r.getMessage()]


def test_a_damaged_warc_record_costs_that_record_only(archived, tmp_path):
    """Damage anywhere in a WARC costs the damaged record only, and is always reported.

    64 zero bytes at 60 places spread over the file (gzip headers, deflate data, trailers of
    response, request and warcinfo records): reading goes on at the next record (gzip member),
    `lost` names exactly one unreadable spot, no response is yielded twice (warcio reads on past
    a member that fails to inflate, so the damage may surface records later) and none with a body
    other than the one archived (zeros in a deflate stream may still inflate: the WARC digests
    catch it)."""
    from crawler.archive import iter_responses, warc_files

    out = _copy(archived, tmp_path / "d")
    [warc] = warc_files(out)
    good = {r.record_id: r.body for r in iter_responses(out)}
    original = warc.read_bytes()
    assert len(good) >= 12
    for k in range(60):
        at = (len(original) - 64) * k // 59
        data = bytearray(original)
        data[at:at + 64] = b"\0" * 64
        warc.write_bytes(bytes(data))
        lost: list = []
        got = list(iter_responses(out, lost=lost))
        ids = [r.record_id for r in got]
        assert len(lost) == 1, (at, lost)
        assert len(ids) == len(set(ids)), f"a response read twice after damage at {at}"
        assert len(good) - 1 <= len(got) <= len(good), at
        assert all(good.get(r.record_id) == r.body for r in got), f"a damaged body was yielded (damage at {at})"
        assert lost[0][1] <= at, (at, lost)  # the spot named is the record holding the damage (or before)


def test_a_damaged_parquet_page_is_an_error_never_other_values(archived, tmp_path):
    """Bytes damaged inside a Parquet data page fail the read (page CRC32s) instead of decoding as
    other values: `load` returns only rows equal to the ones written, `validate` names the file."""
    import pyarrow.parquet as pq

    from crawler import api
    from crawler.store import dataset_files

    out = _copy(archived, tmp_path / "d")
    f = max(dataset_files(out), key=lambda p: p.stat().st_size)
    footer = pq.ParquetFile(f).metadata.serialized_size
    want = {(r["site"], r["post_id"]): _plain(r) for r in api.load(out).to_dict("records")}
    original = f.read_bytes()
    pages_end = len(original) - 8 - footer  # the data pages lie between "PAR1" and the footer
    failed = 0
    for k in range(24):
        at = 4 + (pages_end - 4 - 16) * k // 23
        data = bytearray(original)
        data[at:at + 16] = b"\xff" * 16
        f.write_bytes(bytes(data))
        for row in api.load(out).to_dict("records"):
            assert _plain(row) == want[(row["site"], row["post_id"])], f"damage at {at} read as other values"
        try:
            pq.read_table(f, page_checksum_verification=True)
        except OSError:
            failed += 1
            code, text = cli("validate", "--out", out)
            assert code != 0 and f.name in text, (at, text)
    assert failed >= 12, "most spots inside the pages fail their checksum"
    f.write_bytes(original)
    assert cli("validate", "--out", out)[0] == 0


def test_validate_finds_invalid_text_in_a_file_without_page_checksums(archived, tmp_path):
    """A file written before page checksums can hold a damaged page that still decodes: invalid
    UTF-8 in a string column. validate reports it as corrupt and --repair quarantines it."""
    import pyarrow.parquet as pq

    from crawler.store import dataset_files

    out = _copy(archived, tmp_path / "d")
    f = max(dataset_files(out), key=lambda p: p.stat().st_size)
    table = pq.read_table(f, partitioning=None)
    pq.write_table(table, f, compression="none", use_dictionary=False, write_statistics=False)  # no CRCs, as before
    assert cli("validate", "--out", out)[0] == 0
    url = table.column("url")[0].as_py().encode()
    data = f.read_bytes()
    assert data.count(url) == 1  # the value itself (no statistics to hold a copy)
    at = data.index(url) + len(url) // 2
    f.write_bytes(data[:at] + b"\xff\xfe" + data[at + 2:])  # same length: only the text is damaged
    pq.read_table(f)  # pyarrow reads it without a word...
    code, text = cli("validate", "--out", out)
    assert code == 1 and f.name in text and "corrupt" in text, text
    code, text = cli("validate", "--out", out, "--repair")
    assert not f.exists() or pq.read_table(f).validate(full=True) is None
    assert cli("validate", "--out", out)[0] == 0


def _plain(value):
    """A loaded row's value as plain Python (lists, dicts, str for times, None for NaN), to compare."""
    import math

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist") and not hasattr(value, "isoformat"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- validate --repair keeps the good rows and has the bad ones fetched again --------------------------


def _plant_bad_row(out: Path) -> tuple[Path, int, tuple[str, int]]:
    """Give one row of one article file another site's URL (a row that does not belong there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.store import dataset_files

    f = max(dataset_files(out), key=lambda p: pq.ParquetFile(p).metadata.num_rows)
    table = pq.read_table(f)
    assert table.num_rows >= 2
    urls = table.column("url").to_pylist()
    pid = table.column("post_id")[0].as_py()
    urls[0] = f"http://laian.021cf.cn/index.php/post/{pid}.html"
    table = table.set_column(table.schema.get_field_index("url"), "url", pa.array(urls, pa.string()))
    tmp = f.with_name(".bad.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, f)
    site = f.relative_to(out / "articles").parts[0].partition("=")[2]
    return f, table.num_rows, (site, pid)  # the partition's post is the one readers now miss


def test_repair_keeps_the_good_rows_of_a_file_with_one_bad_row(tmp_path):
    from crawler.debt import FailedPosts
    from crawler.store import load

    out = _corpus(tmp_path / "d")
    total = len(load(out))
    bad_file, rows, lost = _plant_bad_row(out)
    code, text = cli("validate", "--out", out, "--repair")
    assert code == 0, text
    rel = str(bad_file.relative_to(out))
    assert f"its {rows - 1} good rows kept" in text
    assert (out / "quarantine" / rel).exists()
    assert len(load(out)) == total - 1  # only the bad row went
    assert cli("validate", "--out", out)[0] == 0
    assert lost[1] in FailedPosts(out / STATE_DIR / "failed").due(lost[0])
    assert f"{lost[0]}/{lost[1]}" in text


def test_repair_salvages_the_readable_row_groups_of_a_damaged_file(tmp_path):
    import pyarrow.parquet as pq

    from crawler.debt import FailedPosts
    from crawler.store import dataset_files, load

    out = _corpus(tmp_path / "d")
    f = max(dataset_files(out), key=lambda p: pq.ParquetFile(p).metadata.num_rows)
    table = pq.read_table(f)
    n = table.num_rows
    tmp = f.with_name(".rg.tmp")
    pq.write_table(table, tmp, row_group_size=1, compression="none")
    meta = pq.ParquetFile(tmp).metadata
    text_col = table.schema.get_field_index("text")
    col = meta.row_group(0).column(text_col)  # damage the body of the first row's post only
    data = bytearray(tmp.read_bytes())
    start = col.data_page_offset
    data[start:start + 40] = b"\xff" * 40
    tmp.write_bytes(bytes(data))
    os.replace(tmp, f)
    first = table.column("post_id")[0].as_py()
    site = f.relative_to(out / "articles").parts[0].partition("=")[2]
    code, text = cli("validate", "--out", out, "--repair")
    assert code == 0, text
    assert f"its {n - 1} good rows kept" in text
    assert first not in set(load(out, site=site)["post_id"])
    assert first in FailedPosts(out / STATE_DIR / "failed").due(site)


@pytest.mark.skipif(not hasattr(Ledger, "due_posts"), reason="the crawl does not read the failed-post debt yet")
def test_quarantined_posts_come_back_in_an_incremental_crawl(tmp_path, replica, no_proxy_env, fast_args):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.store import dataset_files, load

    host = replica.network.hosts[0]
    out = tmp_path / "d"
    code, text = cli("crawl", host, "--out", out, "--proxy", replica.proxy_url, *fast_args)
    assert code == 0, text
    stored = set(load(out)["post_id"])
    f = max(dataset_files(out), key=lambda p: pq.ParquetFile(p).metadata.num_rows)
    table = pq.read_table(f)
    urls = table.column("url").to_pylist()
    gone = table.column("post_id")[0].as_py()
    urls[0] = "http://elsewhere.example/x.html"
    tmp = f.with_name(".bad.tmp")
    pq.write_table(table.set_column(table.schema.get_field_index("url"), "url", pa.array(urls)), tmp)
    os.replace(tmp, f)
    assert cli("validate", "--out", out, "--repair")[0] == 0
    assert gone not in set(load(out)["post_id"])
    code, text = cli("crawl", host, "--out", out, "--proxy", replica.proxy_url, "--mode", "incremental",
                     *fast_args)
    assert code == 0, text
    assert set(load(out)["post_id"]) == stored


def test_a_warc_cut_just_inside_a_record_header_is_reported(archived, tmp_path):
    """warcio ends quietly on a few bytes of a next record: they count as an unreadable record."""
    from crawler.archive import iter_responses, warc_files

    out = _copy(archived, tmp_path / "d")
    [warc] = warc_files(out)
    data = warc.read_bytes()
    starts = [i for i in range(1, len(data) - 2) if data[i:i + 3] == b"\x1f\x8b\x08"]
    warc.write_bytes(data[: starts[len(starts) // 2] + 30])
    lost: list = []
    got = list(iter_responses(out, lost=lost))
    assert len(lost) == 1 and "cut short" in lost[0][2]
    assert got
