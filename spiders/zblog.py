"""Spider `zblog`: discovery and routing only, for Z-BlogPHP/tpure subsites.

Parsing lives in crawler.discover (list pages, feed, sitemap) and crawler.extract (post pages);
the crawl state (what is already stored) comes from crawler.store. Arguments, as Scrapyd passes
them: sites=h1,h2 mode=full|incremental|ids|sitemap ids=3000-3900 since=YYYY-MM-DD
until=YYYY-MM-DD max_pages=N refresh=1.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError

from crawler import clock, discover, sites
from crawler.clock import new_run_id
from crawler.crawl import (
    CrawlArgs,
    error_kind,
    load_known_posts,
    parse_spider_args,
)

logger = logging.getLogger(__name__)

# The feed goes first (its exact pubDates must be known before those posts are fetched); then
# posts go ahead of list pages, so the queue holds about one list page of posts at a time instead
# of every post of the site (memory stays flat as a site grows to 100,000 posts).
PRIO_FEED, PRIO_POST, PRIO_LIST = 30, 20, 10
# A list item counts as older than --since only with this margin: tpure rounds relative dates.
SINCE_MARGIN_DAYS = 2


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
        self.run_id = ""
        self.known: dict[tuple[str, int], set[str]] = {}
        self.requested: set[tuple[str, int]] = set()
        self.pending: dict[tuple[str, int], str] = {}
        self.hints: dict[tuple[str, int], dict] = {}
        self.site_mode: dict[str, str] = {}
        self.stopped_listings: set[str] = set()
        self.total_posts: int | None = None
        # posts a previous run found to be 404, robots-disallowed or not an article: never stored,
        # so without this an incremental run would take each of them for a new post every night
        self.unfetchable: set[tuple[str, int]] = set()
        self.unfetchable_now: dict[tuple[str, int], bool] = {}
        # post ids seen only in related/prev/next links: requested once the lists are exhausted,
        # so they do not pile up in the queue (most turn out to be on a list page anyway)
        self.deferred: dict[str, set[int]] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        """Build the spider and read the run id and output folder from the settings."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.out = s.get("PARKCORPUS_OUT") or "data"
        spider.run_id = s.get("PARKCORPUS_RUN_ID") or new_run_id(spider._job)
        spider.extract_options = dict(
            convert=s.get("PARKCORPUS_CONVERT", "t2s"),
            swaps=s.getbool("PARKCORPUS_SWAPS", True),
            mask_phones=s.getbool("PARKCORPUS_MASK_PHONES", False),
        )
        spider.follow_traps = s.getbool("PARKCORPUS_FOLLOW_TRAPS", False)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    # --- start -------------------------------------------------------------------------------
    async def start(self):
        """First requests per site, by mode (auto: incremental when the dataset holds the site)."""
        self.known = load_known_posts(self.out, [s.host for s in self.sites])
        for site in self.sites:
            self.unfetchable |= {(site.host, pid) for pid in self.read_ids("unfetchable", site.host)}
        stored_hosts = set(self.known.sites()) if hasattr(self.known, "sites") else {h for h, _ in self.known}
        if self.args.mode == "ids":
            lo, hi = self.args.ids
            # known up front, so the progress display can show an ETA from the first request
            self.total_posts = sum(
                1 for s in self.sites for pid in range(lo, hi + 1)
                if self.args.refresh or (s.host, pid) not in self.known
            )
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        for site in self.sites:
            if site.delay is not None and downloader is not None:
                # per-site delay from sites.toml (robots.txt Crawl-delay still raises it)
                downloader.per_slot_settings.setdefault(site.host, {})["delay"] = float(site.delay)
            mode = self.args.mode
            if mode == "auto":
                # incremental only after a complete full crawl of the site into this dataset: a
                # full run killed midway (kill -9 included) leaves its "incomplete" marker, and an
                # ID-range or --since run never makes a site complete, so the next run is full
                complete = (site.host in stored_hosts and self.marker("crawled", site.host).exists()
                            and not self.marker("incomplete", site.host).exists())
                mode = "incremental" if complete and not self.args.refresh else "full"
            self.site_mode[site.host] = mode
            if mode in ("full", "sitemap"):
                self.write_marker("incomplete", site.host)
            self.crawler.stats.set_value(f"parkcorpus/site/{site.host}/mode", mode)
            if mode == "ids":
                for pid in range(lo, hi + 1):
                    req = self.post_request(site.host, pid)
                    if req is not None:
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
    def post_request(self, host: str, pid: int, hint: dict | None = None):
        """A request for a post unless it was requested already or is stored (and no --refresh)."""
        key = (host, pid)
        if hint:
            self.hints.setdefault(key, {}).update(hint)
        if key in self.requested:
            return None
        if key in self.known and not self.args.refresh:
            return None
        if key in self.unfetchable and self.site_mode.get(host) == "incremental":
            return None  # a known 404/robots/not-article post; full mode tries it again
        self.requested.add(key)
        url = sites.post_url(host, pid)  # index.php?id=N and the pseudo-static URL are one post
        self.pending[key] = url
        self.crawler.stats.inc_value("parkcorpus/posts_requested")
        return scrapy.Request(
            url, callback=self.parse_post, errback=self.post_failed, priority=PRIO_POST,
            meta={"site": host, "post_id": pid, "handle_httpstatus_list": [404, 410]},
        )

    def post_request_for(self, url: str, hint: dict | None = None):
        """post_request for a post URL in either form, on an allowed host only."""
        host = (urlsplit(url).hostname or "").lower()
        pid = sites.post_id_of(url)
        if host not in self.allowed_hosts or pid is None:
            return None
        return self.post_request(host, pid, hint)

    def list_request(self, url: str, host: str, archive=None):
        """A list page request (dupefilter keeps each list page once per run)."""
        return scrapy.Request(
            url, callback=self.parse_list, errback=self.list_failed, priority=PRIO_LIST,
            meta={"site": host, "archive_month": archive or sites.archive_month(url)},
        )

    # --- callbacks ---------------------------------------------------------------------------
    def raw(self, response, fetched_at=None) -> dict:
        """The exchange as the WARC archive wants it (written by the writer pipeline)."""
        return {
            "url": response.url, "status": response.status, "headers": response.headers,
            "body": response.body, "request_headers": response.request.headers,
            "fetched_at": fetched_at or datetime.now(timezone.utc),
        }

    def parse_feed(self, response):
        """feed.php: exact pubDates as hints; new posts requested right away."""
        # archived so that re-extraction from the WARC gets the same exact dates
        yield {"_archive_only": True, "_raw": self.raw(response)}
        for link, published in discover.parse_feed(response.body):
            hint = {"feed_published": published} if published else None
            if not self.in_range(published):
                continue
            req = self.post_request_for(link, hint)
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
            yield {"_archive_only": True, "_raw": self.raw(response)}  # the month hint, for reextract
        unknown = 0
        older = 0
        for url, date_text in zip(page.items, page.item_dates):
            pid = sites.post_id_of(url)
            if (host, pid) not in self.known and (host, pid) not in self.unfetchable:
                unknown += 1
            approx = discover.approx_list_date(date_text, now)
            if approx is not None and self.args.since and approx < self.since_floor():
                older += 1
                continue
            if approx is not None and self.args.until and approx > self.until_ceiling():
                continue
            req = self.post_request_for(url, hint)
            if req is not None:
                yield req
        all_older = bool(page.items) and older == len(page.items)
        listing = listing_key(response.url)
        if mode == "incremental":
            # stop at the first page whose posts are all stored: everything older is stored too
            if unknown and page.next_url and self.may_follow(page.next_url):
                yield self.list_request(page.next_url, host, archive)
            return
        for url in page.other_posts:
            if self.args.since or self.args.until:
                break  # sidebar posts carry no date here; the lists reach every post in range
            req = self.post_request_for(url)
            if req is not None:
                yield req
        if all_older:
            self.stopped_listings.add(listing)
        elif self.args.since:
            # newest first: walk one page at a time so the walk stops at the first page before --since
            if page.next_url and self.may_follow(page.next_url):
                yield self.list_request(page.next_url, host, archive)
        else:
            for url in page.pages:
                if self.may_follow(url):
                    yield self.list_request(url, host, archive)
        for url in page.lists:
            kind = sites.classify(url)
            month = sites.archive_month(url)
            if kind == "date" and month and not self.month_in_range(month):
                continue
            if self.may_follow(url):
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
            req = self.post_request_for(url)
            if req is not None:
                yield req

    def fall_back_to_lists(self, host: str) -> None:
        """A site without a sitemap is crawled in full mode (and the summary says so)."""
        self.site_mode[host] = "full"
        self.crawler.stats.set_value(f"parkcorpus/site/{host}/mode", "full")

    def sitemap_failed(self, failure):
        """No sitemap reachable: crawl the lists instead."""
        host = failure.request.meta["site"]
        self.fall_back_to_lists(host)
        yield from self.list_start(host)

    def parse_post(self, response):
        """A post page: extract (crawler.extract), hand the record to the pipelines."""
        from crawler.errors import MalformedPage, NotAnArticle
        from crawler.extract import ExtractOptions
        from crawler.record import Page, page_to_record

        host, pid = response.meta["site"], response.meta["post_id"]
        key = (host, pid)
        fetched_at = datetime.now(timezone.utc)
        if response.status in (404, 410):
            self.settle(key, "gone_404")
            yield {"_archive_only": True, "_raw": self.raw(response, fetched_at)}
            return
        hint = self.hints.pop(key, {})
        url = sites.post_url(host, pid)
        page = Page.from_response(response, url=url, fetched_at=fetched_at)
        try:
            record = page_to_record(page, self.site_by_host.get(host), hint=hint, run_id=self.run_id,
                                    options=ExtractOptions(**self.extract_options))
        except MalformedPage as exc:
            self.settle(key, "not_article", detail=f"malformed: {exc}", malformed=True)
            yield {"_archive_only": True, "_raw": self.raw(response, fetched_at)}
            return
        except NotAnArticle as exc:
            self.settle(key, "not_article", detail=str(exc))
            yield {"_archive_only": True, "_raw": self.raw(response, fetched_at)}
            return
        except Exception as exc:  # an extractor bug must cost one post, not the run
            logger.exception("extraction failed for %s", url)
            self.count_error(host, "extract_error", url)
            self.settle(key, "failed", detail=repr(exc))
            return
        record["_key"] = key
        record["_raw"] = self.raw(response, fetched_at)
        # related posts and prev/next reach posts a list page may have missed (taken from the
        # record, so the page is not parsed twice)
        links = [r.get("url") for r in record.get("related") or []]
        links += [record.get("prev_url"), record.get("next_url")]
        yield record
        self.defer_links(host, links)

    def defer_links(self, host: str, links) -> None:
        """Full mode: remember posts that links on a post page point at, for on_idle."""
        if self.site_mode.get(host) != "full" or self.args.since or self.args.until:
            return
        for link in filter(None, links):
            other = sites.post_id_of(link)
            lhost = (urlsplit(link).hostname or "").lower()
            if other is not None and lhost in self.allowed_hosts and (lhost, other) not in self.requested:
                self.deferred.setdefault(lhost, set()).add(other)

    def on_idle(self):
        """Lists exhausted: request the posts only related/prev/next links pointed at, if any."""
        deferred, self.deferred = self.deferred, {}
        reqs = [r for host, ids in deferred.items() for pid in sorted(ids)
                if (r := self.post_request(host, pid)) is not None]
        if not reqs:
            return
        logger.info("%d posts reached only through related/prev/next links", len(reqs))
        self.crawler.stats.inc_value("parkcorpus/posts_from_links", len(reqs))
        for req in reqs:
            self.crawler.engine.crawl(req)
        raise DontCloseSpider

    # --- failures ----------------------------------------------------------------------------
    def post_failed(self, failure):
        """A post request that ended without a response: robots, offsite, retries exhausted."""
        req = failure.request
        key = (req.meta["site"], req.meta["post_id"])
        exc = failure.value
        if isinstance(exc, IgnoreRequest) and "robots" in str(exc).lower():
            self.settle(key, "robots")
            return
        self.count_error(req.meta["site"], error_kind(exc), req.url)
        self.settle(key, "failed", detail=error_kind(exc))

    def list_failed(self, failure):
        """A list, feed or sitemap request failed: counted as an error of its site."""
        req = failure.request
        exc = failure.value
        if isinstance(exc, IgnoreRequest) and "robots" in str(exc).lower():
            self.crawler.stats.inc_value("parkcorpus/lists_robots")
            return
        if isinstance(exc, HttpError) and exc.response.status in (404, 410):
            self.crawler.stats.inc_value("parkcorpus/lists_404")
            return
        self.count_error(req.meta.get("site", ""), error_kind(exc), req.url)

    # --- accounting --------------------------------------------------------------------------
    def settle(self, key, outcome: str, detail: str | None = None, malformed: bool = False) -> None:
        """Give a requested post its one outcome (later calls for the same post are ignored)."""
        url = self.pending.pop(key, None)
        if url is None:
            return
        stats = self.crawler.stats
        stats.inc_value(f"parkcorpus/outcome/{outcome}")
        stats.inc_value(f"parkcorpus/site/{key[0]}/outcome/{outcome}")
        if outcome in ("gone_404", "robots", "not_article"):
            self.unfetchable_now[key] = True
        elif outcome in ("written", "unchanged"):
            self.unfetchable_now[key] = False
        if malformed:
            bad = stats.get_value("parkcorpus/malformed_urls") or []
            if len(bad) < 1000:
                stats.set_value("parkcorpus/malformed_urls", bad + [url])
        if outcome == "failed":
            bad = stats.get_value("parkcorpus/failed_urls") or []
            if len(bad) < 1000:
                stats.set_value("parkcorpus/failed_urls", bad + [url])
        if detail:
            logger.debug("%s: %s (%s)", url, outcome, detail)

    def count_error(self, host: str, kind: str, url: str) -> None:
        """Count an error by kind and site (the summary's errors_by_kind)."""
        stats = self.crawler.stats
        stats.inc_value("parkcorpus/errors")
        stats.inc_value(f"parkcorpus/error/{kind}")
        stats.inc_value(f"parkcorpus/site/{host}/errors")
        logger.error("%s failed: %s", url, kind)

    def closed(self, reason):
        """Posts still without an outcome (run stopped early) count as failed; completed sites unmarked."""
        self.save_unfetchable()
        for key, url in list(self.pending.items()):
            if reason == "finished":
                # no callback and no errback: the scheduler dropped a redirect back to an already
                # requested URL, i.e. a redirect loop
                self.count_error(key[0], "redirect_loop", url)
            self.settle(key, "failed", detail=f"no response before the run closed ({reason})")
        if reason != "finished":
            return
        stats = self.crawler.stats
        whole = not (self.args.since or self.args.until or self.args.max_pages)
        for host, mode in self.site_mode.items():
            # a site that answered counts as crawled; its failed posts are listed in the summary
            # (retry them with --mode full or --ids) rather than forcing full mode every night
            ok = stats.get_value(f"parkcorpus/site/{host}/ok_responses", 0)
            if mode in ("full", "sitemap") and ok:
                self.marker("incomplete", host).unlink(missing_ok=True)
                if whole:
                    self.write_marker("crawled", host)

    # --- completeness markers ----------------------------------------------------------------
    def marker(self, kind: str, host: str):
        """<out>/.parkcorpus/<kind>/<host>: "crawled" after a complete full crawl of host,
        "incomplete" while a full crawl of host has not finished, "unfetchable" the ids of posts
        found 404, robots-disallowed or not an article."""
        from pathlib import Path

        from crawler.crawl import STATE_DIR

        return Path(self.out) / STATE_DIR / kind / host

    def read_ids(self, kind: str, host: str) -> set[int]:
        """Post ids listed one per line in a state file (empty when there is none)."""
        try:
            text = self.marker(kind, host).read_text(encoding="utf-8")
        except OSError:
            return set()
        return {int(x) for x in text.split() if x.isdigit()}

    def save_unfetchable(self) -> None:
        """Update <out>/.parkcorpus/unfetchable/<host> with what this run learnt."""
        for site in self.sites:
            ids = {pid for h, pid in self.unfetchable if h == site.host}
            changed = False
            for (h, pid), bad in self.unfetchable_now.items():
                if h == site.host and (pid in ids) != bad:
                    changed = True
                    (ids.add if bad else ids.discard)(pid)
            if not changed:
                continue
            path = self.marker("unfetchable", site.host)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp")
                tmp.write_text("".join(f"{pid}\n" for pid in sorted(ids)), encoding="utf-8")
                tmp.replace(path)
            except OSError as exc:
                logger.warning("cannot write %s: %s", path, exc)

    def write_marker(self, kind: str, host: str) -> None:
        """Create a marker holding this run's id."""
        path = self.marker(kind, host)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.run_id, encoding="utf-8")
        except OSError as exc:
            logger.warning("cannot write %s: %s", path, exc)

    # --- range helpers -----------------------------------------------------------------------
    def since_floor(self):
        """List dates before this are surely before --since (rounded relative dates allowed for)."""
        return self.args.since - timedelta(days=SINCE_MARGIN_DAYS)

    def until_ceiling(self):
        """List dates after this are surely after --until."""
        return self.args.until + timedelta(days=SINCE_MARGIN_DAYS + 1)

    def in_range(self, when) -> bool:
        """True when `when` (exact) is inside --since/--until, or unknown."""
        if when is None:
            return True
        if self.args.since and when < self.args.since:
            return False
        if self.args.until and when >= self.args.until_end:
            return False
        return True

    def month_in_range(self, month) -> bool:
        """Whether a date archive (year, month) can hold posts inside --since/--until."""
        y, m = month
        if self.args.since and (y, m) < clock.site_month(self.args.since):
            return False
        if self.args.until and (y, m) > clock.site_month(self.args.until):
            return False
        return True

    def may_follow(self, url: str) -> bool:
        """Whether a list URL is followed: no traps, within --max-pages, listing not stopped."""
        kind = sites.classify(url)
        if kind == "trap" and not self.follow_traps:
            return False
        if kind not in ("home", "category", "date") and not (kind == "trap" and self.follow_traps):
            return False
        if listing_key(url) in self.stopped_listings:
            return False
        if self.args.max_pages and list_page_number(url) > self.args.max_pages:
            return False
        return True


def listing_key(url: str) -> str:
    """The listing a list page belongs to: host/home, host/category-N or host/date-Y-M."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    m = sites.CATEGORY_RE.match(parts.path)
    if m:
        return f"{host}/category-{m.group(1)}"
    m = sites.DATE_ARCHIVE_RE.match(parts.path)
    if m:
        return f"{host}/date-{m.group(1)}-{int(m.group(2))}"
    return f"{host}/home"


def list_page_number(url: str) -> int:
    """The page number of a list URL (1 for the first page)."""
    path = urlsplit(url).path
    for rx, group in ((sites.HOME_PAGE_RE, 1), (sites.CATEGORY_RE, 2), (sites.DATE_ARCHIVE_RE, 3)):
        m = rx.match(path)
        if m:
            return int(m.group(group) or 1)
    return 1
