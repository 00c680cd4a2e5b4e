"""Crawls with extraction in worker processes: same rows as in-process, crashes, Ctrl-C, reextract --jobs."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.dataset as ds
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.crawl import crawl
from crawler.ledger import ArchiveItem, PostItem
from crawler.workers import CrawlExtractor
from spiders.zblog import ZblogSpider
from worker_tasks import CRASH, crashing_record_task

FAST = {
    "DOWNLOAD_DELAY": 0, "DOWNLOAD_DELAY_JITTER": 0, "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "PARKCORPUS_RETRY_BACKOFF": 0,
}
COLUMNS = ["site", "post_id", "content_hash", "title", "text", "published", "category", "tags"]


def rows(out: Path) -> list[tuple]:
    t = ds.dataset(str(out / "articles"), format="parquet", partitioning="hive").to_table(columns=COLUMNS)
    return sorted(tuple(str(r[c]) for c in COLUMNS) for r in t.to_pylist())


def descendants(pid: int) -> list[int]:
    """Live processes below pid (the fork server and the extraction workers of a crawl)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent_of[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = [], [pid]
    while frontier:
        frontier = [c for c, p in parent_of.items() if p in frontier]
        found += frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def crawl_in_and_out_of_process(srv, tmp_path):
    """(workers, output folder) of a crawl of srv's network with 1 worker (in the crawl process), then 2."""
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        s = crawl(list(srv.network.hosts), out=str(out), proxy=srv.proxy_url, env={}, progress=False,
                  settings=dict(FAST, PARKCORPUS_WORKERS=workers))
        assert s["status"] == "ok", s
        yield workers, out


def test_pool_crawl_rows_equal_in_process_crawl_rows(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=2, posts=15)
    runs = {workers: rows(out) for workers, out in crawl_in_and_out_of_process(srv, tmp_path)}
    assert len(runs[2]) == sum(len(srv.network.site(h).post_ids()) for h in srv.network.hosts)
    assert runs[2] == runs[1]


def make_spider(tmp_path, task):
    crawler = get_crawler(ZblogSpider, {"PARKCORPUS_OUT": str(tmp_path), "PARKCORPUS_WORKERS": 2})
    spider = ZblogSpider.from_crawler(crawler, sites="jinshan.021cf.cn")
    crawler.spider = spider
    spider.extractor = CrawlExtractor(2, task=task)
    return spider


def test_a_post_that_kills_its_worker_is_retried_once_then_failed_with_its_url(tmp_path):
    from crawler.replica.model import Network
    from crawler.replica.render import render_post

    host = "jinshan.021cf.cn"
    net = Network(seed=2026, sites=1, posts=4, now=datetime(2026, 11, 26, tzinfo=timezone.utc))
    site = net.site(host)
    spider = make_spider(tmp_path, crashing_record_task)
    spider.extractor.open()
    pool = spider.extractor.pool
    try:
        responses = []
        for i, pid in enumerate(site.post_ids()):
            req = spider.post_request(host, pid)
            html, _ = render_post(site, pid, net.now(), random.Random(pid))
            if i == 1:
                html = html.replace(b"</body>", f"<!-- {CRASH} --></body>".encode())
            responses.append(HtmlResponse(req.url, body=html, request=Request(req.url, meta=req.meta),
                                          headers={"Date": "Thu, 26 Nov 2026 17:24:00 GMT"}))

        async def run_all():
            async def one(resp):
                return [item async for item in spider.parse_post(resp)]
            return await asyncio.gather(*(one(r) for r in responses))

        outs = asyncio.run(run_all())
    finally:
        spider.extractor.close()
    crashed = site.post_url(site.post_ids()[1])
    posts = [i for out in outs for i in out if isinstance(i, PostItem)]
    # the crash took the pages in flight with it: they were retried and written; only the killer failed
    assert sorted(p.key[1] for p in posts) == sorted(set(site.post_ids()) - {site.post_ids()[1]})
    assert outs[1] == [] or all(isinstance(i, ArchiveItem) for i in outs[1])
    stats = spider.crawler.stats
    assert stats.get_value("parkcorpus/failed_urls") == [crashed]
    assert pool.stats.failed == [crashed] and pool.stats.restarts >= 1


def test_sigint_writes_the_fetched_rows_and_stops_the_workers(make_replica, tmp_path):
    srv = make_replica(sites=1, posts=60, faults="slow=1:0.1")
    host = srv.network.hosts[0]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "crawl", host, "--out", str(tmp_path),
         "--proxy", srv.proxy_url, "--json", "-s", "PARKCORPUS_FLUSH_ROWS=1000", "-s", "PARKCORPUS_WORKERS=2",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "PARKCORPUS_PROGRESS_INTERVAL=0.05",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    end = time.monotonic() + 90
    while True:
        files = glob.glob(str(tmp_path / ".parkcorpus" / "progress-*.json"))
        try:
            p = json.loads(Path(files[0]).read_text()) if files else {}
        except ValueError:
            p = {}
        if p.get("written", 0) >= 5:
            break
        assert proc.poll() is None and time.monotonic() < end
        time.sleep(0.02)
    pool = descendants(p["pid"])
    assert len(pool) >= 3  # the fork server and two workers
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends the CLI
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err
    s = json.loads(out[out.index("{"): out.rindex("}") + 1])
    assert s["status"] == "interrupted"
    # every row extracted before the stop reached the dataset (nothing was flushed before it)
    n = ds.dataset(str(tmp_path / "articles"), format="parquet", partitioning="hive").count_rows()
    assert n == s["outcomes"]["written"] >= 5
    end = time.monotonic() + 20
    while any(alive(pid) for pid in pool) and time.monotonic() < end:
        time.sleep(0.05)
    assert not [pid for pid in pool if alive(pid)]


def test_reextract_jobs_2_gives_the_rows_of_jobs_1(make_replica, tmp_path, no_proxy_env):
    from crawler.archive import reextract

    srv = make_replica(sites=1, posts=20)
    src = tmp_path / "src"
    s = crawl(list(srv.network.hosts), out=str(src), proxy=srv.proxy_url, env={}, progress=False,
              settings=dict(FAST, PARKCORPUS_WORKERS=1))
    assert s["status"] == "ok"
    one = reextract(src, to=tmp_path / "one", jobs=1)
    two = reextract(src, to=tmp_path / "two", jobs=2)
    assert one["articles"]["new"] == two["articles"]["new"] == 20
    assert two["failed"] == 0
    assert rows(tmp_path / "two") == rows(tmp_path / "one") == rows(src)


OWNER = """
import sys, time
sys.path.insert(0, {tests!r})
from crawler.workers import ExtractionPool
from worker_tasks import pid_task
if __name__ == "__main__":
    pool = ExtractionPool(2, task=pid_task).start()
    print(" ".join(str(pool.extract_sync(b"", f"u{{i}}")["pid"]) for i in range(4)), flush=True)
    time.sleep(120)
"""


def test_workers_die_when_their_owner_is_killed(tmp_path):
    """SIGKILL gives the crawl process no chance to stop its pool: the workers notice and exit."""
    script = tmp_path / "owner.py"
    script.write_text(OWNER.format(tests=str(Path(__file__).parent)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = {int(x) for x in proc.stdout.readline().split()}
        below = set(descendants(proc.pid))
        assert workers and workers <= below
    finally:
        proc.kill()
        proc.wait()
    end = time.monotonic() + 20
    while any(alive(pid) for pid in below) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [pid for pid in below if alive(pid)]  # the workers and the fork server


def test_pool_crawl_archive_and_indexes_equal_in_process_crawl(make_replica, tmp_path, no_proxy_env):
    # with the pool, workers build the WARC records, the dedup signatures, the links rows and the
    # Parquet files, and the indexes are kept by a process beside the crawl: the output is the same
    from crawler import dedup, search
    from crawler.archive import iter_responses, reextract

    srv = make_replica(sites=2, posts=12)
    got = {}
    for workers, out in crawl_in_and_out_of_process(srv, tmp_path):
        # (bodies differ between two fetches: relative dates, related posts drawn per request; that
        # each body gives its stored row is what the reextract below checks)
        responses = sorted((r.url, r.status) for r in iter_responses(out))
        links = ds.dataset(str(out / "links"), format="parquet", partitioning="hive").to_table(
            columns=["src_post_id", "dst_url", "kind", "position"]).to_pylist()
        articles = ds.dataset(str(out / "articles"), format="parquet", partitioning="hive").to_table(
            columns=["post_id", "related"]).to_pylist()
        # related links are drawn per request: their rows must match the stored records' related lists
        assert sorted((r["src_post_id"], r["position"], r["dst_url"]) for r in links if r["kind"] == "related") == \
            sorted((a["post_id"], i, x["url"]) for a in articles for i, x in enumerate(a["related"]))
        with dedup.DupIndex(out) as idx:
            indexed = sorted(idx.db.execute("SELECT site, post_id, content_hash, sig FROM posts"))
        summary = reextract(out, jobs=workers)
        assert summary["articles"]["unchanged"] == summary["responses"] - summary["not_article"] - summary["not_ok"]
        got[workers] = (rows(out), responses, sorted((r for r in links if r["kind"] != "related"), key=str), indexed,
                        search.search(out, "园区", limit=100))
    posts = sum(len(srv.network.site(h).post_ids()) for h in srv.network.hosts)
    assert len(got[2][0]) == posts and len(got[2][3]) == posts
    assert sum(1 for url, status in got[2][1] if "/post/" in url and status == 200) >= posts
    for part in range(5):
        assert got[2][part] == got[1][part], part
