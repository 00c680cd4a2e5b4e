"""Downloader middlewares: offsite guard, proxy, retry with backoff, robots.txt Crawl-delay, and
decompression that counts a gzip bomb as too large.

Each reads its settings once in `from_crawler` and raises NotConfigured when switched off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.response import response_status_message

from crawler import clock
from crawler import ledger as keys

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), None if unusable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    when = clock.parse_http_date(text)
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Wait before retry number `attempt` (1-based): Retry-After if given, else base * 2**(attempt-1)."""
    if retry_after is not None:
        return min(retry_after, cap)
    return min(base * (2 ** max(0, attempt - 1)), cap)


class OffsiteGuardMiddleware:
    """Refuse any request (redirects included) to a host outside the crawl's allowed hosts.

    Unlike Scrapy's offsite middleware it ignores dont_filter, so a redirect chain that leaves
    the allowed hosts is cut before a single byte is sent.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler (Scrapy component protocol)."""
        return cls(crawler)

    def process_request(self, request):
        """Raise IgnoreRequest for a request to a host the spider did not ask for."""
        spider = self.crawler.spider
        allowed = getattr(spider, "allowed_hosts", None)
        if not allowed:
            return None
        host = (urlsplit(request.url).hostname or "").lower()
        if host in allowed:
            return None
        self.stats.inc_value(keys.OFFSITE_BLOCKED)
        logger.info("blocked request to a host outside the crawl: %s", request.url)
        raise IgnoreRequest(f"offsite: {host}")


class ProxyMiddleware:
    """Send every request through PARKCORPUS_PROXY (Scrapy's HttpProxyMiddleware then applies it)."""

    def __init__(self, proxy: str):
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler; NotConfigured when no proxy is set (http_proxy env still works)."""
        proxy = crawler.settings.get("PARKCORPUS_PROXY") or ""
        if not proxy:
            raise NotConfigured
        return cls(proxy)

    def process_request(self, request):
        """Set meta['proxy'] unless the request already names one."""
        request.meta.setdefault("proxy", self.proxy)
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry (5xx, 429, timeouts) plus exponential backoff and Retry-After."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("PARKCORPUS_RETRY_BACKOFF", 2.0)
        self.cap = settings.getfloat("PARKCORPUS_RETRY_BACKOFF_MAX", 120.0)

    async def _wait(self, request, retry_after: float | None) -> None:
        attempt = request.meta.get("retry_times", 0) + 1
        delay = backoff_seconds(attempt, self.base, self.cap, retry_after)
        if delay > 0:
            self.crawler.stats.inc_value(keys.RETRY_WAIT_SECONDS, delay)
            await asyncio.sleep(delay)

    async def process_response(self, request, response):
        """Retry 5xx/429 after the backoff (or the server's Retry-After); 404 is never retried."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        new = self._retry(request, response_status_message(response.status))
        if new is None:
            return response
        await self._wait(request, retry_after_seconds(response.headers.get(b"Retry-After")))
        return new

    async def process_exception(self, request, exception):
        """Retry network errors (timeouts, resets) after the backoff."""
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        new = self._retry(request, exception)
        if new is None:
            return None
        await self._wait(request, None)
        return new


class CrawlDelayMiddleware:
    """Honour robots.txt Crawl-delay: it becomes the minimum delay of that host's download slot."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.delays: dict[str, float] = {}
        ua = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get("USER_AGENT")
        self.user_agent = ua or "*"
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)
        # connected after AutoThrottle (an extension), so this runs after it lowered a delay
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler; NotConfigured unless robots.txt is obeyed and PARKCORPUS_CRAWL_DELAY."""
        s = crawler.settings
        if not (s.getbool("ROBOTSTXT_OBEY") and s.getbool("PARKCORPUS_CRAWL_DELAY", True)):
            raise NotConfigured
        return cls(crawler)

    def _robots_parsed(self, robotparser, request):
        getter = getattr(robotparser, "crawl_delay", None)
        delay = getter(self.user_agent) if getter else None
        if not delay:
            return
        host = (urlsplit(request.url).hostname or "").lower()
        self.delays[host] = float(delay)
        self.crawler.stats.set_value(keys.site_key(host, "crawl_delay"), float(delay))
        downloader = self.crawler.engine.downloader
        downloader.per_slot_settings.setdefault(host, {})["delay"] = float(delay)
        self._floor(host)

    def _floor(self, key: str) -> None:
        delay = self.delays.get(key)
        slot = self.crawler.engine.downloader.slots.get(key) if delay else None
        if slot is not None and slot.delay < delay:
            slot.delay = delay

    def _response_downloaded(self, response, request, spider=None):
        if self.delays:
            self._floor(request.meta.get("download_slot") or urlsplit(request.url).hostname or "")

    def process_request(self, request):
        """Keep the floor on slots created after robots.txt was parsed."""
        if self.delays:
            self._floor(urlsplit(request.url).hostname or "")
        return None


class ResponseTooLarge(Exception):
    """A response body over DOWNLOAD_MAXSIZE once decompressed (crawler.crawl.error_kind: too_large)."""


class DecompressionLimitMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, but a body that inflates past DOWNLOAD_MAXSIZE (a gzip bomb) fails
    as too large, like a plain body over the limit, instead of as a generic ignored request."""

    def process_response(self, request, response):
        """Decompress as Scrapy does; ResponseTooLarge when the limit is hit while inflating."""
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if "DOWNLOAD_MAXSIZE" not in str(exc):
                raise
            # the words "download max size" are what error_kind() files under too_large
            raise ResponseTooLarge(f"{request.url}: body larger than download max size after decompression "
                                   f"({len(response.body)} B compressed)") from None
