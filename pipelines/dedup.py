"""Drop a record whose (site, post_id, content_hash) is already stored: the 'unchanged' outcome."""

from __future__ import annotations

from scrapy.exceptions import DropItem


class DedupPipeline:
    """Compare against the crawl state the spider loaded (crawler.store.known_posts)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler (Scrapy component protocol)."""
        return cls(crawler)

    def process_item(self, item):
        """Pass a new or changed record on; settle 'unchanged' and drop a stored one."""
        if item.get("_archive_only"):
            return item
        spider = self.crawler.spider
        known = getattr(spider, "known", None)
        if known is None:
            return item
        site, pid, h = item["site"], int(item["post_id"]), item["content_hash"]
        stored = known.has(site, pid, h) if hasattr(known, "has") else h in known.get((site, pid), ())
        if not stored:
            return item
        spider.settle(item.get("_key"), "unchanged")
        raise DropItem(f"{item.get('url')}: unchanged")
