"""Drop a record whose (site, post_id, record_hash) is already stored: the 'unchanged' outcome."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from crawler.ledger import Ledger, PostItem


class DedupPipeline:
    """Compare against the crawl state the ledger holds (crawler.store.known_posts)."""

    def __init__(self, crawler):
        self.ledger = Ledger.of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler (Scrapy component protocol)."""
        return cls(crawler)

    def process_item(self, item):
        """Pass a new or changed record on; settle 'unchanged' and drop a stored one."""
        if not isinstance(item, PostItem):
            return item
        rec = item.record
        if not self.ledger.is_stored(rec["site"], int(rec["post_id"]), rec["content_hash"], rec.get("record_hash")):
            return item
        self.ledger.settle(item.key, "unchanged")
        raise DropItem(f"{rec.get('url')}: unchanged")
