"""One clock: a day and a month are China's in crawl, export, load, stats and the partitions."""

from __future__ import annotations

import datetime as dt
import json
import re

import pyarrow.parquet as pq
import pytest
from scrapy.utils.test import get_crawler

from crawler import clock, store
from crawler.spider_args import parse_spider_args
from crawler.errors import UsageError
from crawler.export import export
from crawler.stats import corpus_stats
from crawler.validate import validate
from spiders.zblog import ZblogSpider
from store_helpers import rec, write

CST = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc
SITE = "jinshan.021cf.cn"
# Posts at 00:30 and 23:30 China time on 1 March (UTC: 29 Feb 16:30 and 1 Mar 15:30), the
# evening before and the morning after: day D = 2024-03-01, which is also a month boundary.
POSTS = {
    1: dt.datetime(2024, 2, 29, 23, 30, tzinfo=CST),
    2: dt.datetime(2024, 3, 1, 0, 30, tzinfo=CST),
    3: dt.datetime(2024, 3, 1, 23, 30, tzinfo=CST),
    4: dt.datetime(2024, 3, 2, 0, 30, tzinfo=CST),
}
ON_D = {2, 3}


def test_parse_day_is_the_start_of_a_china_day():
    start = clock.parse_day("2024-03-01", "--since")
    assert start == dt.datetime(2024, 2, 29, 16, tzinfo=UTC)
    assert (start.year, start.month, start.day) == (2024, 3, 1)  # read in the sites' zone
    assert clock.parse_day(dt.date(2024, 3, 1)) == start
    assert clock.parse_day(None) is None and clock.parse_day("") is None
    with pytest.raises(UsageError, match=r"bad --until date '2024-02-30': use YYYY-MM-DD"):
        clock.parse_day("2024-02-30", "--until")


def test_date_range_covers_whole_china_days():
    start, end = clock.date_range("2024-03-01", "2024-03-01")
    assert (start, end) == (dt.datetime(2024, 2, 29, 16, tzinfo=UTC), dt.datetime(2024, 3, 1, 16, tzinfo=UTC))
    with pytest.raises(UsageError, match="after --until"):
        clock.date_range("2024-03-02", "2024-03-01")


def test_http_dates_run_ids_and_utc():
    when = dt.datetime(2026, 11, 26, 17, 24, tzinfo=UTC)
    assert clock.parse_http_date(b"Thu, 26 Nov 2026 17:24:00 GMT") == when
    assert clock.parse_http_date("Fri, 27 Nov 2026 01:24:00 +0800") == when
    assert clock.parse_http_date("nonsense") is None and clock.parse_http_date(None) is None
    assert clock.to_utc(dt.datetime(2026, 11, 26, 17, 24)) == when  # naive is UTC
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", clock.new_run_id())
    assert clock.new_run_id("job-1/x", when=when) == "20261126T172400Z-job1x"
    assert clock.site_month(dt.datetime(2024, 2, 29, 16, 30, tzinfo=UTC)) == (2024, 3)


def _spider(tmp_path, **args):
    crawler = get_crawler(ZblogSpider, {"PARKCORPUS_OUT": str(tmp_path)})
    spider = ZblogSpider.from_crawler(crawler, **args)
    crawler.spider = spider
    return spider


def test_crawl_export_load_stats_and_partitions_agree_on_a_china_day(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(pid, published=when) for pid, when in POSTS.items()])

    # crawl --since D --until D: the posts the spider keeps
    spider = _spider(tmp_path / "crawl", sites=SITE, mode="full", since="2024-03-01", until="2024-03-01")
    assert {pid for pid, when in POSTS.items() if spider.args.in_range(when)} == ON_D
    args = parse_spider_args({"sites": SITE, "since": "2024-03-01", "until": "2024-03-01"})
    assert args.spider_args()["since"] == args.spider_args()["until"] == "2024-03-01"
    assert spider.args.month_in_range((2024, 3)) and not spider.args.month_in_range((2024, 2))

    # load and export with the same day
    assert sorted(store.load(out, since="2024-03-01", until="2024-03-01").post_id) == sorted(ON_D)
    to = tmp_path / "d.jsonl"
    export(out, to, since="2024-03-01", until="2024-03-01")
    assert sorted(json.loads(line)["post_id"] for line in to.read_text().splitlines()) == sorted(ON_D)

    # month M = March: the partitions and stats per month hold 2, 3 and 4; post 1 is February's
    march = {pid for pid, when in POSTS.items() if (when.year, when.month) == (2024, 3)}
    files = store.dataset_files(out)
    by_month = {f.parent.name: set(store.load(out, since="2024-03-01", until="2024-03-31").post_id) for f in files}
    assert {f.parent.parent.name + "/" + f.parent.name for f in files} == {"year=2024/month=02", "year=2024/month=03"}
    assert by_month["month=03"] == march
    counts = {r["month"]: r["articles"] for r in corpus_stats(out)["by_site_month"]}
    assert counts == {"2024-02": 1, "2024-03": len(march)}


def test_compact_moves_rows_of_the_old_utc_partitions_and_validate_flags_them(tmp_path):
    out = tmp_path / "data"
    write(out, [rec(pid, published=when) for pid, when in POSTS.items()])
    # what a dataset written under the UTC-month rule holds: post 2 (Feb 29 16:30 UTC) in month=02
    feb = out / "articles" / f"site={SITE}" / "year=2024" / "month=02"
    march = out / "articles" / f"site={SITE}" / "year=2024" / "month=03"
    old = store.DatasetWriter(out, "old", known=store.KnownPosts())
    old.add(rec(2, published=POSTS[2], text="另一版正文。"))
    old.flush()
    [old_file] = [f for f in old.files if "articles" in str(f)]
    feb.mkdir(parents=True, exist_ok=True)
    old_file.rename(feb / old_file.name)
    old.files = []
    old.close()
    report = validate(out)
    assert report.ok  # nothing lost or unreadable: a warning
    assert [(p.kind, p.path.split("/")[-2]) for p in report.warnings if p.kind == "misplaced"] == [
        ("misplaced", "month=02")]

    summary = store.compact(out, keep_history=True)
    assert summary["rows_moved"] == 1
    assert ids_in(feb) == {1} and ids_in(march) == {2, 3, 4}
    assert not [p for p in validate(out).problems if p.kind in ("misplaced", "partition")]
    assert len(store.load(out, history=True).query("post_id == 2")) == 2


def ids_in(folder) -> set[int]:
    """post_id of every row stored in one partition folder."""
    return {pid for f in folder.glob("*.parquet") for pid in pq.read_table(f, columns=["post_id"]).column("post_id").to_pylist()}


def test_run_manifests_share_one_shape(tmp_path):
    out = tmp_path / "data"
    store.write_run_manifest(out, {"run_id": "c1", "status": "ok", "exit_code": 0, "mode": "full",
                                   "started": "2024-06-01T00:00:00+00:00"})
    # a reextract manifest of the old shape (started_at/finished_at/outcome)
    (out / "runs" / "r1.json").write_text(json.dumps({
        "run_id": "r1", "mode": "reextract", "started_at": "2024-06-02T00:00:00+00:00",
        "finished_at": "2024-06-02T00:01:00+00:00", "outcome": "ok"}))
    store.write_run_manifest(out, {"run_id": "x1", "kind": "cluster", "status": "failed", "error": "node down"})
    runs = {r["run_id"]: r for r in store.list_runs(out)}
    for run in runs.values():
        assert set(store.MANIFEST_KEYS) <= set(run) and run["schema_version"] == store.MANIFEST_VERSION
        assert "started_at" not in run and "outcome" not in run
    assert (runs["r1"]["kind"], runs["r1"]["status"], runs["r1"]["exit_code"]) == ("reextract", "ok", 0)
    assert runs["r1"]["started"] == "2024-06-02T00:00:00+00:00"
    assert (runs["c1"]["kind"], runs["x1"]["kind"], runs["x1"]["exit_code"]) == ("crawl", "cluster", 1)
    assert {r["run_id"]: r["status"] for r in corpus_stats(out)["runs"]} == {"c1": "ok", "r1": "ok", "x1": "failed"}
