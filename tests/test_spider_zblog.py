"""The zblog spider's routing without a running crawl: callbacks fed saved or replica pages."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.ledger import ArchiveItem, PostItem

from spiders.zblog import ZblogSpider

from paths import SAMPLES  # noqa: E402
HOST = "jinshan.021cf.cn"


def make_spider(tmp_path, **args):
    crawler = get_crawler(ZblogSpider, {"PARKCORPUS_OUT": str(tmp_path)})
    spider = ZblogSpider.from_crawler(crawler, **args)
    crawler.spider = spider
    return spider


def response(url, body, status=200, **meta):
    req = Request(url, meta=meta)
    return HtmlResponse(url, status=status, body=body, request=req,
                        headers={"Date": "Thu, 26 Nov 2026 17:24:00 GMT"})


def category_sample():
    path = SAMPLES / "category-1.html"
    return path.read_bytes()


def test_full_mode_list_page_requests_posts_and_lists_never_traps(tmp_path):
    spider = make_spider(tmp_path, sites=HOST, mode="full")
    spider.site_mode[HOST] = "full"
    out = list(spider.parse_list(response(f"http://{HOST}/index.php/category-1.html", category_sample(), site=HOST)))
    urls = [r.url for r in out]
    posts = [u for u in urls if "/post/" in u]
    assert len(posts) == len(set(posts)) >= 10
    assert f"http://{HOST}/index.php/category-1_6.html" in urls
    assert not any(k in u for u in urls for k in ("author-", "tags-", "zb_system", "index.php/2.html"))
    # posts go ahead of list pages in the queue (it stays about one list page long)
    assert min(r.priority for r in out if "/post/" in r.url) > max(r.priority for r in out if "/post/" not in r.url)
    # the same list again: nothing new to request
    assert [r for r in spider.parse_list(response(f"http://{HOST}/index.php/category-1.html",
                                                  category_sample(), site=HOST)) if "/post/" in r.url] == []


def test_incremental_stops_at_a_page_of_stored_posts(tmp_path):
    from crawler.discover import parse_list_page
    from crawler.store import KnownPosts

    url = f"http://{HOST}/index.php/category-1.html"
    page = parse_list_page(category_sample(), url)
    spider = make_spider(tmp_path, sites=HOST, mode="incremental")
    spider.site_mode[HOST] = "incremental"
    spider.ledger.known = KnownPosts()
    for u in page.items + page.other_posts:
        spider.ledger.known.add(HOST, int(u.split("/")[-1].split(".")[0]), "0" * 64)
    # the default 7-day revisit window re-fetches the post of 4 hours ago (edits), not the next page
    out = [r.url for r in spider.parse_list(response(url, category_sample(), site=HOST))]
    assert out == [page.items[0]]
    spider.requested.clear()
    spider.revisit_days = 0
    assert list(spider.parse_list(response(url, category_sample(), site=HOST))) == []
    # one unknown post on the page: fetch it and look at the next page
    spider.ledger.known = KnownPosts()
    for u in page.items[1:] + page.other_posts:
        spider.ledger.known.add(HOST, int(u.split("/")[-1].split(".")[0]), "0" * 64)
    out = [r.url for r in spider.parse_list(response(url, category_sample(), site=HOST))]
    assert out == [page.items[0], page.next_url]


def test_since_stops_the_list_walk(tmp_path):
    spider = make_spider(tmp_path, sites=HOST, mode="full", since="2027-01-01")
    spider.site_mode[HOST] = "full"
    out = list(spider.parse_list(response(f"http://{HOST}/index.php/category-1.html", category_sample(), site=HOST)))
    assert [r.url for r in out if "/post/" in r.url or "_2.html" in r.url] == []


def test_dynamic_and_pseudo_static_urls_are_one_post(tmp_path):
    spider = make_spider(tmp_path, sites=HOST)
    first = spider.post_request_for(f"http://{HOST}/index.php?id=3756")
    assert first.url == f"http://{HOST}/index.php/post/3756.html"
    assert spider.post_request_for(f"http://{HOST}/index.php/post/3756.html") is None
    assert spider.post_request_for("http://www.jsjinshan.com/index.php/post/3756.html") is None


def test_post_outcomes_and_archive_items(tmp_path):
    from crawler.replica.model import Network
    from crawler.replica.render import render_post

    net = Network(seed=2026, sites=1, posts=5, now=datetime(2026, 11, 26, tzinfo=timezone.utc))
    site = net.site(HOST)
    pid = site.post_ids()[0]
    spider = make_spider(tmp_path, sites=HOST)
    req = spider.post_request(HOST, pid)
    html, _ = render_post(site, pid, net.now(), random.Random(1))
    items = list(spider.parse_post(response(req.url, html, site=HOST, post_id=pid)))
    assert len(items) >= 1 and items[0].record["title"] == site.gold(pid)["title"]
    # a typed item: the record, the post it settles and the exchange for the WARC (no hidden keys)
    assert items[0].key == (HOST, pid) and items[0].exchange.body == html
    assert not [k for k in items[0].record if k.startswith("_")]

    gone = spider.post_request(HOST, pid + 100000)
    out = list(spider.parse_post(response(gone.url, b"<html>404</html>", status=404, site=HOST, post_id=pid + 100000)))
    assert isinstance(out[0], ArchiveItem) and spider.crawler.stats.get_value("parkcorpus/outcome/gone_404") == 1
    assert (HOST, pid + 100000) not in spider.ledger.pending


# UTF-7 is plain ASCII on the wire: valid UTF-8 that decodes to the wrong text, so no label
# check or detection can recover it (BOM-less UTF-16 is now recognised by crawler.decode).
ENCODING = "utf-7"


def test_encoding_override_from_the_registry(tmp_path):
    from crawler.replica.model import Network
    from crawler.replica.render import render_post

    net = Network(seed=2026, sites=1, posts=5, now=datetime(2026, 11, 26, tzinfo=timezone.utc))
    site = net.site(HOST)
    pid = site.post_ids()[1]
    html, _ = render_post(site, pid, net.now(), random.Random(1))
    # bytes in an encoding the page does not declare and no sniffing guesses
    odd = html.decode("utf-8").encode(ENCODING)
    spider = make_spider(tmp_path, sites=HOST)
    # what `encoding = "..."` in sites.toml gives
    spider.site_by_host[HOST] = dataclasses.replace(spider.site_by_host[HOST], encoding=ENCODING)
    req = spider.post_request(HOST, pid)
    items = list(spider.parse_post(response(req.url, odd, site=HOST, post_id=pid)))
    assert items[0].record["title"] == site.gold(pid)["title"]
    # without the override the same bytes give no article
    spider.site_by_host[HOST] = dataclasses.replace(spider.site_by_host[HOST], encoding=None)
    req = spider.post_request(HOST, pid + 1)
    items = [i for i in spider.parse_post(response(req.url, odd, site=HOST, post_id=pid + 1)) if isinstance(i, PostItem)]
    assert not items or items[0].record["title"] != site.gold(pid)["title"]


def test_feed_pubdate_and_archive_month_become_extractor_hints(tmp_path):
    spider = make_spider(tmp_path, sites=HOST, mode="full")
    spider.site_mode[HOST] = "full"
    url = f"http://{HOST}/index.php/date-2026-11.html"
    out = list(spider.parse_list(response(url, category_sample(), site=HOST, archive_month=(2026, 11))))
    assert isinstance(out[0], ArchiveItem)  # the archive page itself goes to the WARC for reextract
    assert spider.hints[(HOST, 3898)]["archive_month"] == (2026, 11)

    feed = SAMPLES / "feed.xml"
    spider = make_spider(tmp_path, sites=HOST, mode="full")
    reqs = [r for r in spider.parse_feed(response(f"http://{HOST}/feed.php", feed.read_bytes(), site=HOST))
            if not isinstance(r, ArchiveItem)]
    assert len(reqs) == 20
    assert spider.hints[(HOST, 3898)]["feed_published"] == datetime(2026, 11, 26, 13, 18, 44, tzinfo=timezone.utc)


def test_post_gets_the_feed_pubdate(tmp_path):
    from crawler.replica.model import Network
    from crawler.replica.render import render_post

    net = Network(seed=2026, sites=1, posts=5, now=datetime(2026, 11, 26, tzinfo=timezone.utc))
    site = net.site(HOST)
    pid = site.post_ids()[2]
    exact = site.gold(pid)["published"]
    spider = make_spider(tmp_path, sites=HOST)
    req = spider.post_request(HOST, pid, {"feed_published": exact})
    html, _ = render_post(site, pid, net.now(), random.Random(1))
    record = list(spider.parse_post(response(req.url, html, site=HOST, post_id=pid)))[0].record
    assert record["published"] == exact and record["published_precision"] == "second"
    assert (HOST, pid) not in spider.hints  # used once, then forgotten


def test_sitemap_missing_falls_back_to_the_lists(tmp_path):
    spider = make_spider(tmp_path, sites=HOST, mode="sitemap")
    spider.site_mode[HOST] = "sitemap"
    out = list(spider.parse_sitemap(response(f"http://{HOST}/sitemap.xml", b"<html>404</html>", status=404, site=HOST)))
    assert [r.url for r in out] == [f"http://{HOST}/feed.php", f"http://{HOST}/"]
    assert spider.site_mode[HOST] == "full"
    assert spider.crawler.stats.get_value(f"parkcorpus/site/{HOST}/mode") == "full"


def test_related_links_are_requested_once_the_lists_are_done(tmp_path):
    from types import SimpleNamespace

    from scrapy.exceptions import DontCloseSpider

    from crawler.replica.model import Network
    from crawler.replica.render import render_post

    net = Network(seed=2026, sites=1, posts=30, now=datetime(2026, 11, 26, tzinfo=timezone.utc))
    site = net.site(HOST)
    pid = site.post_ids()[3]
    spider = make_spider(tmp_path, sites=HOST, mode="full")
    spider.site_mode[HOST] = "full"
    req = spider.post_request(HOST, pid)
    html, _ = render_post(site, pid, net.now(), random.Random(1))
    out = list(spider.parse_post(response(req.url, html, site=HOST, post_id=pid)))
    assert len(out) == 1  # the record only: linked posts wait
    record = out[0].record
    linked = {r["post_id"] for r in record["related"]} | {
        int(u.split("/")[-1].split(".")[0]) for u in (record["prev_url"], record["next_url"]) if u}
    assert spider.deferred[HOST] == linked - {pid}
    spider.post_request(HOST, min(linked))  # a list page got to one of them first
    queued = []
    spider.crawler.engine = SimpleNamespace(crawl=queued.append)
    with pytest.raises(DontCloseSpider):
        spider.on_idle()
    assert sorted(int(r.url.split("/")[-1].split(".")[0]) for r in queued) == sorted(linked - {pid, min(linked)})
    spider.on_idle()  # nothing left: the spider may close


def test_no_generator_callback_returns_a_value():
    # crawler.settings turns Scrapy's per-response check off (WARN_ON_GENERATOR_RETURN_VALUE, it
    # re-parses the callback's source): this test makes the check once, for every callback
    import inspect

    from scrapy.utils.misc import is_generator_with_return_value

    spider = ZblogSpider.__new__(ZblogSpider)
    generators = [name for name, fn in inspect.getmembers(ZblogSpider, inspect.isgeneratorfunction)]
    assert {"parse_list", "parse_feed", "post_steps"} <= set(generators)
    assert [name for name in generators if is_generator_with_return_value(getattr(spider, name))] == []
