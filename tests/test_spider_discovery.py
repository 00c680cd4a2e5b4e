"""Discovery rules without a running crawl: list pages, feed, sitemap, list dates, spider args, settings."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.clock import SITE_TZ
from crawler import discover, settings
from crawler.ledger import build_summary, error_kind
from crawler.spider_args import parse_spider_args
from crawler.errors import UnknownSiteError, UsageError
from crawler.middlewares import backoff_seconds, retry_after_seconds
from crawler.sites import list_page_number, listing_key

from paths import SAMPLES  # noqa: E402
HERE = Path(__file__).resolve().parent.parent
CATEGORY = "http://jinshan.021cf.cn/index.php/category-1.html"


@pytest.fixture
def category_page():
    path = SAMPLES / "category-1.html"
    return path.read_bytes()


def test_list_page_items_pagination_and_no_traps(category_page):
    page = discover.parse_list_page(category_page, CATEGORY)
    assert len(page.items) == 10
    assert page.items[0] == "http://jinshan.021cf.cn/index.php/post/3898.html"
    assert page.next_url == "http://jinshan.021cf.cn/index.php/category-1_2.html"
    assert page.pages[-1].endswith("category-1_6.html")
    assert all("author-" not in u and "tags-" not in u and "login" not in u for u in page.pages + page.lists)
    assert "http://jinshan.021cf.cn/index.php/category-2.html" in page.lists
    assert not set(page.items) & set(page.other_posts)


def test_list_item_dates_resolve_against_server_clock(category_page):
    page = discover.parse_list_page(category_page, CATEGORY)
    now = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)  # the samples' render time
    dates = [discover.approx_list_date(t, now) for t in page.item_dates]
    assert dates[0] == now - timedelta(hours=4)  # 4小时前
    assert dates[1] == datetime(2026, 11, 15, tzinfo=SITE_TZ)  # 2周前 (11-15): a China day
    assert all(d is not None for d in dates)
    assert dates == sorted(dates, reverse=True)
    assert discover.approx_list_date("2年前 (2024-11-04)", now) == datetime(2024, 11, 4, tzinfo=SITE_TZ)
    assert discover.approx_list_date("2025年03月07日", now) == datetime(2025, 3, 7, tzinfo=SITE_TZ)
    # the units and spellings of crawler.dates: 3 weeks, traditional 小時, 个月
    assert discover.approx_list_date("3週前", now) == now - timedelta(weeks=3)
    assert discover.approx_list_date("5小時前", now) == now - timedelta(hours=5)
    assert discover.approx_list_date("2个月前", now) == now - timedelta(days=60)
    # a month-day later in the year than "now" belongs to last year
    assert discover.approx_list_date("3个月前 (12-20)", now).year == 2025


def test_feed_links_and_exact_pubdates():
    path = SAMPLES / "feed.xml"
    items = discover.parse_feed(path.read_bytes())
    assert len(items) == 20
    link, when = items[0]
    assert link == "http://jinshan.021cf.cn/index.php/post/3898.html"
    assert when == datetime(2026, 11, 26, 13, 18, 44, tzinfo=timezone.utc)  # 21:18:44 +0800


def test_sitemap_and_index():
    urlset = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>http://h.cn/index.php/post/2.html</loc></url></urlset>")
    index = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>http://h.cn/sitemap-1.xml</loc></sitemap></sitemapindex>")
    assert discover.parse_sitemap(urlset) == (["http://h.cn/index.php/post/2.html"], [])
    assert discover.parse_sitemap(index) == ([], ["http://h.cn/sitemap-1.xml"])
    assert discover.parse_sitemap(b"<html>not xml") == ([], [])


def test_listing_keys_and_page_numbers():
    assert listing_key("http://h.cn/index.php/category-3_7.html") == "h.cn/category-3"
    assert listing_key("http://h.cn/index.php/page_9.html") == listing_key("http://h.cn/") == "h.cn/home"
    assert listing_key("http://h.cn/index.php/date-2026-1_2.html") == "h.cn/date-2026-1"
    assert [list_page_number(u) for u in ("http://h.cn/", "http://h.cn/index.php/page_4.html",
                                          "http://h.cn/index.php/category-3_7.html")] == [1, 4, 7]


def test_spider_args_as_scrapyd_passes_them():
    a = parse_spider_args({"sites": "jinshan,laian.021cf.cn", "ids": "3000-3900", "refresh": "1"})
    assert [s.host for s in a.sites] == ["jinshan.021cf.cn", "laian.021cf.cn"]
    assert a.mode == "ids" and a.ids == (3000, 3900) and a.refresh
    assert parse_spider_args(a.spider_args()).spider_args() == a.spider_args()
    a = parse_spider_args({"since": "2026-01-01", "until": "2026-01-31", "max_pages": "3"})
    assert a.since.utcoffset() == timedelta(hours=8) and a.until_end - a.since == timedelta(days=31)
    with pytest.raises(UsageError, match="bad mode"):
        parse_spider_args({"mode": "everything"})
    with pytest.raises(UsageError, match="mode ids needs an ID range"):
        parse_spider_args({"mode": "ids"})
    with pytest.raises(UnknownSiteError):
        parse_spider_args({"sites": "not a host"})


def test_retry_after_and_backoff():
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:10 GMT", now=datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()) == 10.0
    assert retry_after_seconds(b"soon") is None
    assert [backoff_seconds(n, 2.0, 10.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]
    assert backoff_seconds(1, 2.0, 10.0, retry_after=30) == 10.0


def test_user_agent_does_not_trigger_tpure_mobile_layout():
    assert not re.search(r"linux|android|mobile", settings.USER_AGENT, re.I)
    assert "http" in settings.USER_AGENT  # a contact URL


def test_every_parkcorpus_setting_used_is_documented():
    used = set()
    for folder in ("crawler", "spiders", "pipelines"):
        for path in (HERE / folder).rglob("*.py"):
            # settings read by Scrapy components: settings.get*("PARKCORPUS_...")
            used |= set(re.findall(r"\.get\w*\(\s*\"(PARKCORPUS_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    assert len(used) >= 10
    assert used <= set(settings.PARKCORPUS_SETTINGS), used - set(settings.PARKCORPUS_SETTINGS)
    for name, (default, help_) in settings.PARKCORPUS_SETTINGS.items():
        assert getattr(settings, name) == default and help_


def test_summary_marks_down_site_and_error_kinds():
    from scrapy.exceptions import IgnoreRequest

    stats = {"parkcorpus/site/a.cn/requests": 4, "parkcorpus/site/a.cn/responses": 4,
             "parkcorpus/site/b.cn/requests": 3, "parkcorpus/site/b.cn/responses": 3,
             "parkcorpus/site/b.cn/ok_responses": 3, "finish_reason": "finished"}
    s = build_summary(stats, run_id="r", out="/nonexistent", args={"sites": "a.cn,b.cn"})
    assert [x["status"] for x in s["sites"]] == ["down", "ok"]
    assert s["exit_code"] == 1 and s["error"].startswith("site down: a.cn")
    assert error_kind(IgnoreRequest("offsite: x.com")) == "offsite"
    assert error_kind(IgnoreRequest("Forbidden by robots.txt")) == "robots"

    class DownloadCancelledError(Exception):
        pass

    big = DownloadCancelledError("Expected to receive 9 bytes which is larger than download max size (1) in request")
    assert error_kind(big) == "too_large"
    assert error_kind(TimeoutError()) == "timeout"
