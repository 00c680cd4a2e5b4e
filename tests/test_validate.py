"""crawler.validate and `parkcorpus validate`: bad files are named, --repair quarantines them."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from crawler import store
from crawler.validate import validate
from store_helpers import UTC, rec, write

SITE = "jinshan.021cf.cn"


def dataset(tmp_path):
    out = tmp_path / "data"
    # r1 keeps its two flushes as two files (as a killed run leaves them)
    write(out, [rec(i) for i in range(1, 7)], run_id="r1", flush_rows=3, consolidate=False)
    write(out, [rec(i, published=dt.datetime(2024, 5, 1, tzinfo=UTC)) for i in range(10, 13)], run_id="r2")
    return out


def truncate(path, keep=0.5):
    with open(path, "r+b") as fh:
        fh.truncate(int(os.path.getsize(path) * keep))


def test_a_clean_dataset_passes(tmp_path, run_cli):
    out = dataset(tmp_path)
    report = validate(out)
    assert report.ok and not report.problems
    assert report.article_rows == 9 and report.files_checked == 3 + 3
    res = run_cli("validate", "--out", out)
    assert res.exit_code == 0 and res.output.strip().endswith("OK")


def test_truncated_file_fails_naming_it_and_repair_quarantines_it(tmp_path, run_cli):
    out = dataset(tmp_path)
    bad = store.dataset_files(out)[0]  # month=03, part-r1-00000: posts 1, 2, 3
    assert bad.name == "part-r1-00000.parquet"
    truncate(bad)
    rel = str(bad.relative_to(out))
    report = validate(out)
    assert not report.ok and report.bad_files == [rel]
    assert report.errors[0].kind == "unreadable"

    res = run_cli("validate", "--out", out)
    assert res.exit_code == 1
    assert f"BAD  {rel}: unreadable" in res.output
    assert res.output.strip().splitlines()[-1] == (
        f"Error: 1 bad files in {out}: {rel}; run `parkcorpus validate --repair`")

    res = run_cli("validate", "--out", out, "--repair")
    assert res.exit_code == 0, res.output
    assert f"quarantined {rel} -> quarantine/{rel}" in res.output
    assert f"the next crawl will fetch again 3 posts: {SITE}/1, {SITE}/2, {SITE}/3" in res.output
    assert (out / "quarantine" / rel).is_file() and not bad.exists()
    # the crawl state no longer has them, so the next crawl fetches them again
    known = store.known_posts(out)
    assert {(SITE, i) for i in (1, 2, 3)}.isdisjoint(known) and (SITE, 4) in known
    assert validate(out).ok
    assert run_cli("validate", "--out", out).exit_code == 0


def test_repair_json_lists_refetch(tmp_path, run_cli):
    out = dataset(tmp_path)
    truncate(store.dataset_files(out)[-1], keep=0.9)  # month=05: posts 10-12 of run r2
    res = run_cli("validate", "--out", out, "--repair", "--json")
    data = json.loads(res.stdout)
    assert data["ok"] and data["repaired"]
    assert data["refetch"] == [{"site": SITE, "post_id": i} for i in (10, 11, 12)]


def test_wrong_schema_and_wrong_partition_are_errors(tmp_path):
    out = dataset(tmp_path)
    folder = out / "articles" / f"site={SITE}" / "year=2024" / "month=03"
    # a file written by another tool: post_id as string, and site stored inside
    pq.write_table(pa.table({"url": ["u"], "post_id": ["7"], "site": [SITE]}), folder / "part-x-00000.parquet")
    # a well-formed file in the wrong month
    good = store.dataset_files(out)[-1]
    wrong = folder.parent / "month=07"
    wrong.mkdir()
    shutil.copy(good, wrong / "part-moved-00000.parquet")
    report = validate(out)
    kinds = {(p.path.split("/")[-2], p.kind) for p in report.errors}
    assert ("month=03", "schema") in kinds and ("month=07", "partition") in kinds
    details = " ".join(p.detail for p in report.errors)
    assert "column post_id is string, declared int64" in details
    assert "column site inside the file duplicates the partition key" in details
    assert "3 rows published outside year=2024/month=07" in details
    # the moved copy also duplicates the versions of the original
    assert any(p.kind == "duplicate" for p in report.errors)
    fixed = validate(out, repair=True)
    assert fixed.ok and len(fixed.quarantined) == 2
    assert validate(out).ok


def test_duplicate_rows_fail_and_repair_compacts(tmp_path):
    out = dataset(tmp_path)
    f = store.dataset_files(out)[0]
    shutil.copy(f, f.with_name("part-again-00000.parquet"))
    report = validate(out)
    assert not report.ok and {p.kind for p in report.errors} == {"duplicate"}
    assert len(report.bad_files) == 2
    fixed = validate(out, repair=True)
    assert fixed.ok and fixed.compacted == [f"articles/site={SITE}/year=2024/month=03"]
    assert validate(out).ok
    assert len(store.load(out)) == 9


def test_temp_files_and_boilerplate_are_warnings(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(1, text="正文第一段。\n本文链接：http://jinshan.021cf.cn/index.php/post/1.html"), rec(2)])
    (out / ".tmp" / "part-dead-00000.parquet.abcd.tmp").write_bytes(b"partial")
    (out / "warc").mkdir()
    (out / "warc" / "dead.warc.gz.open").write_bytes(b"")
    (out / "runs").mkdir()
    (out / "runs" / "r9.json").write_text("{cut")
    report = validate(out)
    assert report.ok
    kinds = sorted(p.kind for p in report.warnings)
    assert kinds == ["boilerplate", "manifest", "temp", "temp"]
    boiler = next(p for p in report.warnings if p.kind == "boilerplate")
    assert "posts 1" in boiler.detail
    fixed = validate(out, repair=True)
    assert fixed.removed_temp == [".tmp/part-dead-00000.parquet.abcd.tmp"]
    assert not (out / ".tmp" / "part-dead-00000.parquet.abcd.tmp").exists()
    assert (out / "warc" / "dead.warc.gz.open").exists()  # its complete records are still data


def test_validate_on_missing_or_foreign_folder(tmp_path, run_cli):
    res = run_cli("validate", "--out", tmp_path / "nothing")
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: no parkcorpus dataset at {tmp_path / 'nothing'}: crawl into it "
                                  f"first (parkcorpus demo --out {tmp_path / 'nothing'}) or pass --out DIR")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("x")
    res = run_cli("validate", "--out", tmp_path / "docs")
    assert res.exit_code == 1 and "is not a parkcorpus dataset" in res.output


def test_repair_refuses_while_a_crawl_holds_the_lock(tmp_path, run_cli):
    from crawler.lock import FolderLock

    out = dataset(tmp_path)
    with FolderLock(out, "crawl"):
        res = run_cli("validate", "--out", out, "--repair")
    assert res.exit_code == 1 and "is locked by another parkcorpus run" in res.output


def test_sigkill_while_writing_leaves_only_complete_files(tmp_path):
    """A writer process killed at an arbitrary point of a flush loop: every visible file reads, validate passes."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    out = tmp_path / "data"
    helpers = Path(__file__).resolve().parent
    code = (
        "import sys, itertools\n"
        f"sys.path.insert(0, {str(helpers)!r})\n"
        "from store_helpers import rec\n"
        "from crawler.store import DatasetWriter\n"
        f"w = DatasetWriter({str(out)!r}, 'killed', flush_rows=7)\n"
        "for i in itertools.count():\n"
        "    w.add(rec(i, text='正文' * 2000 + str(i)))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while len(store.dataset_files(out)) < 6:  # wait for some flushes, whatever the machine's speed
            assert proc.poll() is None and time.monotonic() < deadline, "the writer did not get going"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    for f in store.dataset_files(out) + store.dataset_files(out, "links"):
        pq.read_table(f)  # opens and reads: no partial file is visible
    report = validate(out)
    assert report.ok, report.lines()
    loaded = store.load(out)
    assert len(loaded) >= 7 and len(loaded) % 7 == 0  # whole flushes only
