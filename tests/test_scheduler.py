"""crawler.scheduler.DiskQueueScheduler: the crawl's waiting requests live on disk, not in memory."""

from __future__ import annotations

import os

import scrapy
from scrapy.utils.test import get_crawler

from crawler.scheduler import DiskQueueScheduler


class _Spider(scrapy.Spider):
    name = "queue_test"

    def parse_post(self, response):  # pragma: no cover - never called
        pass


def _scheduler(**settings):
    # the plain priority queue: the downloader-aware one needs a running engine
    crawler = get_crawler(_Spider, settings_dict={"SCHEDULER": "crawler.scheduler.DiskQueueScheduler",
                                                  "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
                                                  **settings})
    crawler.spider = crawler._create_spider()
    sched = DiskQueueScheduler.from_crawler(crawler)
    sched.open(crawler.spider)
    return sched, crawler.spider


def _requests(spider, n):
    return [
        scrapy.Request(f"http://jinshan.021cf.cn/index.php/post/{i}.html", callback=spider.parse_post,
                       priority=i % 3, meta={"site": "jinshan.021cf.cn", "post_id": i, "archive_month": (2024, 5)})
        for i in range(n)
    ]


def test_requests_wait_on_disk_and_come_back_by_priority():
    sched, spider = _scheduler()
    folder = sched._tmpdir
    assert folder and os.path.isdir(folder)
    for req in _requests(spider, 300):
        assert sched.enqueue_request(req)
    assert len(sched) == 300
    assert len(sched.mqs) == 0, "a serialisable request stayed in memory"
    out = []
    while (req := sched.next_request()) is not None:
        out.append(req)
    assert [r.priority for r in out] == sorted((r.priority for r in out), reverse=True)
    assert sorted(r.meta["post_id"] for r in out) == list(range(300))
    assert out[0].callback == spider.parse_post and out[0].meta["archive_month"] == (2024, 5)
    sched.close("finished")
    assert not os.path.exists(folder), "the temporary queue folder was left behind"


def test_switched_off_it_is_scrapys_memory_scheduler():
    sched, spider = _scheduler(PARKCORPUS_DISK_QUEUE=False)
    assert sched._tmpdir is None and sched.dqs is None
    for req in _requests(spider, 5):
        sched.enqueue_request(req)
    assert len(sched.mqs) == 5
    sched.close("finished")


def test_an_explicit_jobdir_is_left_to_scrapy(tmp_path):
    sched, spider = _scheduler(JOBDIR=str(tmp_path / "job"))
    assert sched._tmpdir is None
    assert sched.dqdir == str(tmp_path / "job" / "requests.queue")
    sched.close("finished")
    assert (tmp_path / "job").is_dir()


def test_queue_folders_of_dead_crawls_are_swept(tmp_path):
    import subprocess
    import sys

    from crawler.scheduler import PREFIX, sweep_stale

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{PREFIX}{dead.stdout.strip()}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    other = tmp_path / "unrelated"
    for d in (stale, live, other):
        d.mkdir()
    assert sweep_stale(str(tmp_path)) == 1
    assert not stale.exists() and live.exists() and other.exists()
