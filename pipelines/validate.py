"""Drop records that cannot be articles or fall outside --since/--until (before anything is written)."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from crawler.ledger import Ledger, PostItem

#: Columns a record needs before it may be written (the rest may be null or empty).
REQUIRED = ("url", "site", "post_id", "title", "text", "content_hash", "fetched_at", "run_id")


def problem(record: dict, since=None, until_end=None) -> tuple[str, str] | None:
    """(outcome, reason) when the record must not be written, else None."""
    missing = [k for k in REQUIRED if record.get(k) in (None, "")]
    if missing:
        return "not_article", f"missing {', '.join(missing)}"
    published = record.get("published")
    if published is not None and since is not None and published < since:
        return "out_of_range", "published before --since"
    if published is not None and until_end is not None and published >= until_end:
        return "out_of_range", "published after --until"
    return None


class ValidatePipeline:
    """Check required columns and the publication-date range; settle dropped posts' outcome."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.ledger = Ledger.of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler (Scrapy component protocol)."""
        return cls(crawler)

    def process_item(self, item):
        """Pass a good record on; DropItem (with its outcome settled) otherwise."""
        if not isinstance(item, PostItem):
            return item  # a raw response for the WARC archive, not a record
        found = problem(item.record, self.ledger.since, self.ledger.until_end)
        if found is None:
            return item
        outcome, reason = found
        self.ledger.settle(item.key, outcome, detail=reason)
        raise DropItem(f"{item.record.get('url')}: {reason}")
