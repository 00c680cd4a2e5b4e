"""Spider `zblog`: discovery and routing only, for Z-BlogPHP/tpure subsites.

Parsing lives in crawler.discover (list pages, feed, sitemap) and crawler.extract (post pages);
the crawl state (what is already stored) comes from crawler.store. Arguments, as Scrapyd passes
them: sites=h1,h2 mode=full|incremental|ids|sitemap ids=3000-3900 since=YYYY-MM-DD
until=YYYY-MM-DD max_pages=N refresh=1.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler import clock, dedup, discover, ledger, revisit, sites
from crawler.clock import new_run_id
from crawler.errors import MalformedPage, NotAnArticle
from crawler.ledger import ArchiveItem, Exchange, Ledger, PostItem
from crawler.spider_args import CrawlArgs, load_known_posts, parse_spider_args
from crawler.workers import CrawlExtractor, ExtractCall

logger = logging.getLogger(__name__)

# The feed goes first (its exact pubDates must be known before those posts are fetched); then
# posts go ahead of list pages, so the queue holds about one list page of posts at a time instead
# of every post of the site (memory stays flat as a site grows to 100,000 posts).
PRIO_FEED, PRIO_POST, PRIO_LIST = 30, 20, 10


class ZblogSpider(scrapy.Spider):
    """Crawl Z-BlogPHP/tpure subsites: feed, home/category/date lists, sitemap or post-ID ranges."""

    name = "zblog"
    custom_settings: dict = {}

    def __init__(self, *args, **kwargs):
        job = kwargs.pop("_job", None)  # Scrapyd's job id: unique per job, so a good run id
        super().__init__(*args, **kwargs)
        self.args: CrawlArgs = parse_spider_args(kwargs)
        self.sites = self.args.sites
        self.allowed_hosts = {s.host for s in self.sites}
        self.site_by_host = {s.host: s for s in self.sites}  # per-site overrides (sites.toml) for page_to_record
        self._job = job
        self.ledger: Ledger | None = None  # outcomes, errors, markers (crawler.ledger), set by from_crawler
        self.requested: set[tuple[str, int]] = set()
        self.hints: dict[tuple[str, int], dict] = {}
        self.site_mode: dict[str, str] = {}
        self.stopped_listings: set[str] = set()
        # post ids seen only in related/prev/next links: requested once the lists are exhausted,
        # so they do not pile up in the queue (most turn out to be on a list page anyway)
        self.deferred: dict[str, set[int]] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        """Build the spider and read the run id and output folder from the settings."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.ledger = Ledger.of(crawler)
        spider.ledger.run_id = s.get("PARKCORPUS_RUN_ID") or new_run_id(spider._job)
        spider.ledger.args = spider.args.spider_args()
        spider.ledger.since, spider.ledger.until_end = spider.args.since, spider.args.until_end
        spider.out = spider.ledger.out
        spider.extract_options = dict(
            convert=s.get("PARKCORPUS_CONVERT", "t2s"),
            swaps=s.getbool("PARKCORPUS_SWAPS", True),
            mask_phones=s.getbool("PARKCORPUS_MASK_PHONES", False),
        )
        spider.follow_traps = s.getbool("PARKCORPUS_FOLLOW_TRAPS", False)
        # page_to_record runs in worker processes (PARKCORPUS_WORKERS; 1: in this process)
        spider.extractor = CrawlExtractor.of(crawler)
        # per-page work the pipelines would otherwise do in this process, done by the worker too:
        # the WARC records (the writer only appends them) and the duplicate-index signature
        spider.archive_in_worker = s.getbool("PARKCORPUS_ARCHIVE", True)
        spider.dedup_in_worker = s.getbool("PARKCORPUS_DERIVED", True) and dedup.is_local(spider.out)
        spider.revisit_days = max(0, s.getint("PARKCORPUS_REVISIT_DAYS", 7))
        spider.revisit_sample = max(0, s.getint("PARKCORPUS_REVISIT_SAMPLE", 0))
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    # --- start -------------------------------------------------------------------------------
    async def start(self):
        """First requests per site, by mode (auto: incremental when the dataset holds the site)."""
        hosts = [s.host for s in self.sites]
        self.ledger.load_state(load_known_posts(self.out, hosts), hosts)
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        self.site_mode.update(self.ledger.start_sites(self.args, self.sites, downloader))
        for site in self.sites:
            mode = self.site_mode[site.host]
            # posts earlier runs left failed come first, whatever the mode (crawler.debt), then the
            # stored posts checked longest ago (--revisit-sample)
            forced = [(pid, ledger.POSTS_RETRIED) for pid in self.ledger.due_posts(site.host)]
            forced += [(pid, ledger.POSTS_REVISITED)
                       for pid in revisit.oldest_checked(self.ledger, site.host, self.revisit_sample)]
            for pid, counter in forced:
                if (req := self.post_request(site.host, pid, force=True)) is not None:
                    self.crawler.stats.inc_value(counter)
                    yield req
            if mode == "ids":
                for pid in range(self.args.ids[0], self.args.ids[1] + 1):
                    if (req := self.post_request(site.host, pid)) is not None:
                        yield req
            elif mode == "sitemap":
                for path in sites.SITEMAP_PATHS:
                    yield scrapy.Request(
                        f"http://{site.host}{path}", callback=self.parse_sitemap,
                        errback=self.sitemap_failed, priority=PRIO_FEED,
                        meta={"site": site.host, "handle_httpstatus_list": [404, 410]},
                    )
            else:
                for req in self.list_start(site.host):
                    yield req

    def list_start(self, host: str):
        """The feed (pubDate hints, newest posts) and the home page list."""
        yield scrapy.Request(
            f"http://{host}{sites.FEED_PATH}", callback=self.parse_feed, errback=self.list_failed,
            priority=PRIO_FEED, meta={"site": host},
        )
        yield self.list_request(f"http://{host}/", host)

    # --- requests ----------------------------------------------------------------------------
    def post_request(self, host: str, pid: int, hint: dict | None = None, force: bool = False):
        """A request for a post unless it was requested already or is stored (and no --refresh).

        force: a failed post due for a retry, or a stored post re-checked for edits."""
        key = (host, pid)
        if hint:
            self.hints.setdefault(key, {}).update(hint)
        if key in self.requested:
            return None
        if key in self.ledger.known and not self.args.refresh and not force:
            return None
        if key in self.ledger.unfetchable and self.site_mode.get(host) == "incremental" and not force:
            return None  # a known 404/robots/not-article post; full mode tries it again
        self.requested.add(key)
        url = sites.post_url(host, pid)  # index.php?id=N and the pseudo-static URL are one post
        self.ledger.request(key, url)
        return scrapy.Request(
            url, callback=self.parse_post, errback=self.post_failed, priority=PRIO_POST,
            meta={"site": host, "post_id": pid, "handle_httpstatus_list": [404, 410]},
        )

    def post_request_for(self, url: str, hint: dict | None = None, revisit: bool = False, edited: bool = False):
        """post_request for a post URL in either form, on an allowed host only.

        revisit: in incremental mode, re-fetch the post even when stored (it may have been edited);
        edited: re-fetch it in any mode (its feed item changed since the last run)."""
        host = (urlsplit(url).hostname or "").lower()
        pid = sites.post_id_of(url)
        if host not in self.allowed_hosts or pid is None:
            return None
        revisit = (edited or (revisit and self.site_mode.get(host) == "incremental")) and (host, pid) in self.ledger.known
        req = self.post_request(host, pid, hint, force=revisit)
        if req is not None and revisit:
            self.crawler.stats.inc_value(ledger.POSTS_REVISITED)
        return req

    def is_recent(self, when, now=None) -> bool:
        """Whether a post published at `when` is inside the --revisit-days window (before `now`)."""
        return revisit.is_recent(when, self.revisit_days, now)

    def list_request(self, url: str, host: str, archive=None):
        """A list page request (dupefilter keeps each list page once per run)."""
        return scrapy.Request(
            url, callback=self.parse_list, errback=self.list_failed, priority=PRIO_LIST,
            meta={"site": host, "archive_month": archive or sites.archive_month(url)},
        )

    # --- callbacks ---------------------------------------------------------------------------
    def parse_feed(self, response):
        """feed.php: exact pubDates as hints; new posts requested right away."""
        # archived so that re-extraction from the WARC gets the same exact dates
        yield ArchiveItem(Exchange.of(response))
        now = clock.parse_http_date(response.headers.get(b"Date"))  # the site's clock, not ours
        # the feed carries full bodies: an item that changed since the last run is an edited post
        edited = revisit.feed_changes(self.out, response.meta["site"], discover.feed_fingerprints(response.body))
        for link, published in discover.parse_feed(response.body):
            hint = {"feed_published": published} if published else None
            if not self.args.in_range(published):
                continue
            # a recent post is re-fetched to catch edits (the feed lists the newest posts)
            req = self.post_request_for(link, hint, revisit=self.is_recent(published, now), edited=link in edited)
            if req is not None:
                yield req

    def parse_list(self, response):
        """Home, category or date-archive list: posts, then pagination by mode."""
        host = response.meta["site"]
        mode = self.site_mode.get(host, "full")
        page = discover.parse_list_page(response.body, response.url)
        now = clock.parse_http_date(response.headers.get(b"Date")) or datetime.now(timezone.utc)
        archive = response.meta.get("archive_month")
        hint = {"archive_month": tuple(archive)} if archive else None
        if archive:
            yield ArchiveItem(Exchange.of(response))  # the month hint, for reextract
        items = discover.triage_list_items(
            host, page.items, page.item_dates, self.ledger.known, self.ledger.unfetchable, now, self.revisit_days,
            self.args.since and self.args.since_floor(), self.args.until and self.args.until_ceiling())
        for url, fresh in items.wanted:
            if (req := self.post_request_for(url, hint, revisit=fresh)) is not None:
                yield req
        if mode == "incremental":
            # stop at the first page whose posts are all stored: everything older is stored too
            # (or, with --revisit-days, at the first page older than the window)
            if items.more and page.next_url and self.may_follow(page.next_url):
                yield self.list_request(page.next_url, host, archive)
            return
        for url in page.other_posts:
            if self.args.since or self.args.until:
                break  # sidebar posts carry no date here; the lists reach every post in range
            if (req := self.post_request_for(url)) is not None:
                yield req
        if items.all_older:
            self.stopped_listings.add(sites.listing_key(response.url))
        elif self.args.since:
            # newest first: walk one page at a time so the walk stops at the first page before --since
            if page.next_url and self.may_follow(page.next_url):
                yield self.list_request(page.next_url, host, archive)
        else:
            for url in page.pages:
                if self.may_follow(url):
                    yield self.list_request(url, host, archive)
        for url in page.lists:
            month = sites.archive_month(url) if sites.classify(url) == "date" else None
            if (not month or self.args.month_in_range(month)) and self.may_follow(url):
                yield self.list_request(url, host)

    def parse_sitemap(self, response):
        """Sitemap or sitemap index; falls back to the list crawl when the site has none."""
        host = response.meta["site"]
        pages, children = ([], []) if response.status != 200 else discover.parse_sitemap(response.body)
        if not pages and not children:
            if not response.meta.get("child"):
                logger.info("%s has no sitemap; crawling its lists instead", host)
                self.fall_back_to_lists(host)
                yield from self.list_start(host)
            return
        for url in children:
            if (urlsplit(url).hostname or "").lower() == host:
                yield scrapy.Request(
                    url, callback=self.parse_sitemap, errback=self.list_failed, priority=PRIO_FEED,
                    meta={"site": host, "child": True, "handle_httpstatus_list": [404, 410]},
                )
        for url in pages:
            if (req := self.post_request_for(url)) is not None:
                yield req

    def fall_back_to_lists(self, host: str) -> None:
        """A site without a sitemap is crawled in full mode (and the summary says so)."""
        self.site_mode[host] = "full"
        self.crawler.stats.set_value(ledger.site_key(host, "mode"), "full")

    def sitemap_failed(self, failure):
        """No sitemap reachable: crawl the lists instead."""
        host = failure.request.meta["site"]
        self.fall_back_to_lists(host)
        yield from self.list_start(host)

    def parse_post(self, response):
        """A post page: extract (page_to_record, in a worker process), hand the record to the pipelines.

        An async generator when the pool runs (Scrapy awaits the worker), a plain one otherwise.
        """
        return self.extractor.drive(self.post_steps(response))

    def post_steps(self, response):
        """parse_post's steps: yields items, and an ExtractCall whose record (or error) comes back."""
        from crawler.extract import ExtractOptions
        from crawler.record import Page

        host, pid = response.meta["site"], response.meta["post_id"]
        key = (host, pid)
        fetched_at = datetime.now(timezone.utc)
        if response.status in (404, 410):
            self.ledger.settle(key, "gone_404")
            yield ArchiveItem(Exchange.of(response, fetched_at))
            return
        hint = self.hints.pop(key, {})
        url = sites.post_url(host, pid)
        page = Page.from_response(response, url=url, fetched_at=fetched_at)
        archive = None
        if self.archive_in_worker:
            req = response.request
            archive = {"url": response.url, "request_headers": list(req.headers.items()) if req is not None else None}
        try:
            done = yield ExtractCall(page, self.site_by_host.get(host), dict(
                hint=hint, run_id=self.ledger.run_id, options=ExtractOptions(**self.extract_options)),
                archive=archive, dedup=self.dedup_in_worker)
        except MalformedPage as exc:
            self.ledger.settle(key, "not_article", detail=f"malformed: {exc}", malformed=True)
            yield ArchiveItem(Exchange.of(response, fetched_at))
            return
        except NotAnArticle as exc:
            self.ledger.settle(key, "not_article", detail=str(exc))
            yield ArchiveItem(Exchange.of(response, fetched_at))
            return
        except Exception as exc:  # an extractor bug must cost one post, not the run
            logger.exception("extraction failed for %s", url)
            self.ledger.count_error(host, "extract_error", url)
            self.ledger.settle(key, "failed", detail=repr(exc))
            return
        record = done.record
        # related posts and prev/next reach posts a list page may have missed (taken from the
        # record, so the page is not parsed twice)
        links = [r.get("url") for r in record.get("related") or []]
        links += [record.get("prev_url"), record.get("next_url")]
        yield PostItem(record, key, Exchange.of(response, fetched_at, warc=done.warc), signature=done.signature)
        self.defer_links(host, links)

    def defer_links(self, host: str, links) -> None:
        """Full mode: remember posts that links on a post page point at, for on_idle."""
        if self.site_mode.get(host) != "full" or self.args.since or self.args.until:
            return
        for link in filter(None, links):
            key = sites.post_key(link)
            if key is not None and key[0] in self.allowed_hosts and key not in self.requested:
                self.deferred.setdefault(key[0], set()).add(key[1])

    def on_idle(self):
        """Lists exhausted: request the posts only related/prev/next links pointed at, if any."""
        deferred, self.deferred = self.deferred, {}
        reqs = [r for host, ids in deferred.items() for pid in sorted(ids)
                if (r := self.post_request(host, pid)) is not None]
        if not reqs:
            return
        logger.info("%d posts reached only through related/prev/next links", len(reqs))
        self.crawler.stats.inc_value(ledger.POSTS_FROM_LINKS, len(reqs))
        for req in reqs:
            self.crawler.engine.crawl(req)
        raise DontCloseSpider

    # --- failures: the ledger decides what they count as -------------------------------------
    def post_failed(self, failure):
        """A post request that ended without a response: robots, offsite, retries exhausted."""
        req = failure.request
        self.ledger.post_failed((req.meta["site"], req.meta["post_id"]), req.url, failure.value)

    def list_failed(self, failure):
        """A list, feed or sitemap request failed: counted as an error of its site."""
        self.ledger.list_failed(failure.request.meta.get("site", ""), failure.request.url, failure.value)

    def closed(self, reason):
        """The run ends: the ledger settles what is left and marks the sites crawled completely."""
        whole = not (self.args.since or self.args.until or self.args.max_pages)
        self.ledger.finish(reason, self.site_mode, whole)

    def may_follow(self, url: str) -> bool:
        """Whether a list URL is followed: no traps, within --max-pages, listing not stopped."""
        return discover.may_follow(url, follow_traps=self.follow_traps, stopped=self.stopped_listings,
                                   max_pages=self.args.max_pages)
