"""One record path: the spider, reextract and extract turn one page into the same record."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timezone

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler import record, sites
from crawler.archive import WarcArchive, reextract
from crawler.errors import NotAnArticle
from crawler.extract import extract_files
from crawler.ledger import PostItem
from crawler.replica.model import Network
from crawler.replica.render import render_post
from crawler.store import load
from spiders.zblog import ZblogSpider

HOST = "jinshan.021cf.cn"
# bytes in an encoding the page does not declare and no sniffing guesses: only the registry's
# `encoding` override makes the page readable
ENCODING = "utf-7"
SERVER_DATE = "Thu, 26 Nov 2026 17:24:00 GMT"
FETCHED = datetime(2026, 11, 26, 17, 24, 5, tzinfo=timezone.utc)
SAME = ("url", "post_id", "site", "title", "text", "published", "published_precision", "category", "tags",
        "fetched_at", "content_hash")


@pytest.fixture()
def page():
    net = Network(seed=2026, sites=1, posts=5, now=datetime(2026, 11, 26, tzinfo=timezone.utc))
    site = net.site(HOST)
    pid = site.post_ids()[1]
    html, _ = render_post(site, pid, net.now(), random.Random(1))
    return pid, sites.post_url(HOST, pid), html.decode("utf-8").encode(ENCODING), site.gold(pid)


@pytest.fixture()
def override(monkeypatch):
    """sites.toml giving HOST `encoding = "utf-7"`."""
    site = dataclasses.replace(sites.registered(HOST), encoding=ENCODING)
    monkeypatch.setattr(sites, "registered", lambda host: site if host == HOST else None)
    return site


def via_spider(tmp_path, pid, url, body, site):
    crawler = get_crawler(ZblogSpider, {"PARKCORPUS_OUT": str(tmp_path / "spider")})
    spider = ZblogSpider.from_crawler(crawler, sites=HOST)
    crawler.spider = spider
    spider.site_by_host[HOST] = site
    req = spider.post_request(HOST, pid)
    resp = HtmlResponse(url, status=200, body=body, request=Request(req.url, meta=req.meta),
                        headers={"Date": SERVER_DATE})
    items = [i for i in spider.parse_post(resp) if isinstance(i, PostItem)]
    return items[0].record


def via_reextract(tmp_path, url, body):
    out = tmp_path / "data"
    with WarcArchive(out, "r1") as arc:
        arc.write_response(url, 200, {"Date": SERVER_DATE, "Content-Type": "text/html"}, body, fetched_at=FETCHED)
    reextract(out, run_id="re1")
    return load(out).iloc[0].to_dict()


def via_extract(tmp_path, url, body):
    f = tmp_path / "page.html"
    f.write_bytes(body)
    [res] = extract_files([f], url=url, fetched_at=FETCHED,
                          server_date=datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc))
    return res["record"]


def test_spider_reextract_and_extract_give_one_record_with_the_encoding_override(tmp_path, page, override,
                                                                                 monkeypatch):
    pid, url, body, gold = page
    monkeypatch.setattr(record.clock, "now", lambda: FETCHED)  # the spider's fetch time
    spider_rec = via_spider(tmp_path, pid, url, body, override)
    arch_rec = via_reextract(tmp_path, url, body)
    file_rec = via_extract(tmp_path, url, body)
    assert spider_rec["title"] == gold["title"]
    for key in ("title", "text", "post_id", "site", "content_hash", "category"):
        assert spider_rec[key] == arch_rec[key] == file_rec[key], key
    assert spider_rec["published"] == arch_rec["published"].to_pydatetime()
    assert spider_rec["http_status"] == arch_rec["http_status"] == 200 and file_rec["http_status"] is None


def test_without_the_override_the_same_bytes_are_no_article(tmp_path, page):
    pid, url, body, gold = page
    p = record.Page.of(url, body, 200, {"Date": SERVER_DATE}, FETCHED)
    try:
        rec = record.page_to_record(p)
    except NotAnArticle:
        return
    assert rec["title"] != gold["title"]


def test_page_reads_headers_of_any_response_like(page):
    pid, url, body, _ = page
    for headers in ({"Date": SERVER_DATE}, [("date", SERVER_DATE)], {b"Date": [SERVER_DATE.encode()]}):
        p = record.Page.of(url, body, 200, headers, FETCHED)
        assert p.server_date == datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)
        assert p.host == HOST and p.header("DATE") == SERVER_DATE
