"""Scrapy settings for parkcorpus (the module scrapy.cfg names) and the table of PARKCORPUS_* settings.

Values here are for crawling the real network politely. `parkcorpus demo` and the tests relax only
the politeness delays and concurrency (see crawler.crawl.DEMO_SETTINGS); robots.txt stays obeyed.
"""

from __future__ import annotations

from crawler import __version__

BOT_NAME = "parkcorpus"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# A descriptive UA with a contact URL. tpure switches to its mobile layout when the UA contains
# "linux", "android" or "Mobile" (case-insensitive), so none of those words may appear here.
USER_AGENT = (
    f"parkcorpus/{__version__} (research corpus crawler; +https://github.com/parkcorpus/parkcorpus)"
)

# --- politeness ----------------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each delay is 0.5x-1.5x DOWNLOAD_DELAY
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# --- HTTP hygiene --------------------------------------------------------------------------------
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # sample post pages are 25-35 KB: 10 MB only stops a runaway body
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
# 404 is a gap in the post IDs, not a transient failure: never retried.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Items of one response processed at once. Under the asyncio reactor Scrapy starts this many
# tasks for every callback's output; ours yield one or two items (a post) or a list page's
# requests, so 100 (Scrapy's default) costs CPU for nothing on every response.
CONCURRENT_ITEMS = 8
# Scrapy re-reads and re-parses a generator callback's source (inspect + ast: ~1.7 ms for
# parse_list) whenever its weak cache has lost the bound method, i.e. on many responses, to warn
# about a `return value` in a generator; tests/test_spider_zblog.py checks our callbacks instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
# The order comes from request priorities: feed, then list pages, then posts (spiders/zblog.py).
DEPTH_PRIORITY = 0
# Lists go first, so a whole site's post requests can wait at once: keep them on disk, not in
# memory (crawler/scheduler.py; PARKCORPUS_DISK_QUEUE=False for Scrapy's in-memory queue).
SCHEDULER = "crawler.scheduler.DiskQueueScheduler"
LOG_LEVEL = "INFO"
# dropped items (unchanged posts, out-of-range dates) are accounted as outcomes; logging each
# whole record at WARNING would flood the log
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"

DOWNLOADER_MIDDLEWARES = {
    # our retry adds backoff and Retry-After on top of Scrapy's retry
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # robots.txt Crawl-delay becomes the host's minimum delay (Scrapy's robots mw ignores it)
    "crawler.middlewares.CrawlDelayMiddleware": 110,
    # before everything else: no request ever leaves for a host outside the crawl
    "crawler.middlewares.OffsiteGuardMiddleware": 50,
    "crawler.middlewares.ProxyMiddleware": 740,  # before HttpProxyMiddleware (750)
    # a gzip bomb is a response too large, not an "ignored" request (same place, same limits)
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.DecompressionLimitMiddleware": 590,
}
EXTENSIONS = {
    "crawler.extensions.CrawlAccounting": 500,
    "crawler.extensions.LongLivedObjects": 510,
}
ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.dedup.DedupPipeline": 200,
    "pipelines.writer.ParquetWriterPipeline": 400,  # WARC archive + Parquet (crawler.store)
}

# --- parkcorpus settings (defaults) --------------------------------------------------------------
#: Every PARKCORPUS_* setting: name -> (default, one line of help). Components read them from the
#: crawler settings once, in from_crawler; `parkcorpus crawl -s NAME=VALUE` overrides any of them.
PARKCORPUS_SETTINGS: dict[str, tuple[object, str]] = {
    "PARKCORPUS_OUT": ("data", "output folder (the dataset; also the crawl state)"),
    "PARKCORPUS_RUN_ID": ("", "run id stamped on rows and file names; empty: timestamp+random or Scrapyd _job"),
    "PARKCORPUS_ARCHIVE": (True, "write every fetched post response to <out>/warc/ (WARC, gzip)"),
    "PARKCORPUS_CONVERT": ("t2s", "OpenCC conversion of the text: t2s, s2t, t2tw or none"),
    "PARKCORPUS_SWAPS": (True, "undo the ad-law character swaps (蕞→最 ...)"),
    "PARKCORPUS_MASK_PHONES": (False, "mask phone numbers left in article text"),
    "PARKCORPUS_FLUSH_ROWS": (500, "rows buffered per partition before a Parquet file is written"),
    "PARKCORPUS_BUFFER_ROWS": (0, "rows buffered over all partitions before the least recently used are written "
                                  "(0: 4 x PARKCORPUS_FLUSH_ROWS, 2,000 rows, ~30 MB)"),
    "PARKCORPUS_SUMMARY_FILE": ("", "write the run summary JSON here when the spider closes"),
    # off for cluster shard jobs, which share one dataset: `cluster run` rebuilds both at the end
    "PARKCORPUS_DERIVED": (True, "update the duplicate groups and the search index at the end of the run"),
    "PARKCORPUS_PROGRESS_FILE": ("", "rewrite this JSON file with live counters while crawling"),
    "PARKCORPUS_PROGRESS_INTERVAL": (0.5, "seconds between progress file updates"),
    "PARKCORPUS_PROXY": ("", "HTTP proxy URL for every request (else http_proxy from the environment)"),
    "PARKCORPUS_MAX_ERRORS": (0, "stop the run after more than this many failed requests (0: no limit)"),
    "PARKCORPUS_MAX_FAILED": ("0", "posts that may remain failed before the run exits 3: a number (5) or a percentage (2%)"),
    "PARKCORPUS_REVISIT_DAYS": (7, "incremental runs re-fetch stored posts published in the last N days (edits; 0: off)"),
    "PARKCORPUS_REVISIT_SAMPLE": (0, "each run also re-fetches the K stored posts checked longest ago (0: off)"),
    "PARKCORPUS_RETRY_BACKOFF": (2.0, "base seconds of exponential backoff between retries"),
    "PARKCORPUS_RETRY_BACKOFF_MAX": (120.0, "cap in seconds on one backoff or Retry-After wait"),
    "PARKCORPUS_CRAWL_DELAY": (True, "honour robots.txt Crawl-delay as a minimum per-host delay"),
    "PARKCORPUS_FOLLOW_TRAPS": (False, "also follow tag/author/search links (crawl traps)"),
    "PARKCORPUS_FEED_PUBDATE": (True, "pass feed.php pubDate to the extractor for exact dates"),
    "PARKCORPUS_DISK_QUEUE": (True, "keep waiting requests in a per-run temp folder, not in memory"),
    "PARKCORPUS_WORKERS": (0, "processes that extract pages (0: one per core, os.cpu_count())"),
}
for _name, (_default, _help) in PARKCORPUS_SETTINGS.items():
    globals()[_name] = _default
del _name, _default, _help


def parkcorpus_settings_help() -> list[tuple[str, object, str]]:
    """(name, default, help) for every PARKCORPUS_* setting, for docs and `--help` output."""
    return [(n, d, h) for n, (d, h) in PARKCORPUS_SETTINGS.items()]
