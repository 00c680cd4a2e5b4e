"""A minimal Scrapy crawl whose async callback awaits ExtractionPool.extract (run as a subprocess by
tests/test_workers.py: one CrawlerProcess per process). Usage: scrapy_pool_crawl.py PROXY URL OUT.json"""

from __future__ import annotations

import json
import os
import sys

import scrapy
from scrapy.crawler import CrawlerProcess

from crawler.extract import extract_html
from crawler.workers import ExtractionPool


class PoolSpider(scrapy.Spider):
    name = "pool"

    def __init__(self, proxy: str, url: str, pool: ExtractionPool, **kw):
        super().__init__(**kw)
        self.proxy, self.url, self.pool = proxy, url, pool

    async def start(self):
        yield scrapy.Request(self.url, meta={"proxy": self.proxy}, callback=self.parse_post)

    async def parse_post(self, response):
        record = await self.pool.extract(response.body, response.url, fetched_at=FETCHED)
        here = extract_html(response.body, response.url, fetched_at=FETCHED)
        yield {"post_id": record["post_id"], "same_as_in_process": record == here}


if __name__ == "__main__":
    from datetime import datetime, timezone

    FETCHED = datetime(2026, 11, 26, tzinfo=timezone.utc)
    proxy, url, out = sys.argv[1:4]
    items = []
    with ExtractionPool(2) as pool:
        process = CrawlerProcess({
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
            "ROBOTSTXT_OBEY": False, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
        })
        crawler = process.create_crawler(PoolSpider)

        def collect(item):
            items.append(dict(item))

        crawler.signals.connect(collect, signal=scrapy.signals.item_scraped)  # weak ref: keep `collect` alive
        process.crawl(crawler, proxy=proxy, url=url, pool=pool)
        process.start()
        stats = pool.stats
    with open(out, "w") as fh:
        json.dump({"items": items, "pool_pages": stats.pages, "crawler_pid": os.getpid()}, fh)
