"""Warm-up of the extractor, imported by the extraction pool's fork server (crawler.workers.PRELOAD).

The first page a fresh process extracts costs ~0.45 s more than the next: the gazetteer's
name index and automaton, OpenCC's tables, trafilatura's options and the rules' caches are built on first
use. The fork server imports this module once, which extracts one small built-in tpure page,
so every worker it forks (and every worker restarted after a crash) starts with all of that
built, shared copy-on-write, instead of paying for it on its first page.

A crawl's fork server imports the WARC and duplicate-index modules first
(crawler.workers.CRAWL_PRELOAD): then the page goes through crawler.record.post_task as a crawl's
worker runs it, WARC records and dedup signature included, whose first call builds more (OpenCC's
set of convertible characters for the search normalisation, ~30 ms; the MinHash permutations),
once here rather than in each worker and in the index process.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger(__name__)

#: A minimal tpure post page: title, info line and a body that names a place and a listing,
#: so every step of extraction (page model, trafilatura, cleaning, facts, places) runs once.
WARM_PAGE = (
    '<html><head><meta name="theme" content="拓源主题,toyean.com"></head><body class="article">'
    '<div class="post"><h1>金山区工业园区厂房出租</h1><div class="info"><span class="user">admin</span>'
    '<span class="date">2024-05-01</span></div><div class="single">'
    "<p>上海市金山区枫泾镇的工业园区有标准厂房出租，面积2000平方米，层高8米，租金1.2元/平方米/天。</p>"
    "<table><tr><td>宗地编号</td><td>出让面积</td></tr><tr><td>JS2024-01</td><td>20000平方米</td></tr></table>"
    "</div></div></body></html>"
).encode("utf-8")
WARM_URL = "http://jinshan.021cf.cn/index.php/post/1.html"


def warm() -> bool:
    """Extract WARM_PAGE once in this process; False (and a debug line) if that fails."""
    from crawler.places import gazetteer
    from crawler.record import Page, post_task
    from crawler.search import traditional_chars

    crawl = "crawler.dedup" in sys.modules and "crawler.archive" in sys.modules  # preloaded first: a crawl
    try:
        page = Page.of(WARM_URL, WARM_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"})
        post_task(page, archive={"url": WARM_URL, "request_headers": None} if crawl else None, dedup=crawl)
        # the name automaton and the local stems of every county, whatever region the page had
        gazetteer().prepare()
        # the Traditional-character class normalize_search (dedup signatures, search index) scans with
        traditional_chars()
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation; a worker works without it
        logger.debug("extractor warm-up failed: %s", exc)
        return False
    return True


warm()
