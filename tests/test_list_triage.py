"""The spider's pure list-page decisions: which items to request, whether to page on, which lists to follow."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawler import discover

HOST = "jinshan.021cf.cn"
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc)


def post(pid: int) -> str:
    return f"http://{HOST}/index.php/post/{pid}.html"


ITEMS = [post(9), post(8), post(7), post(6)]
# newest first, as tpure lists run: today, 3 days ago, 20 days ago, a full date long ago
DATES = ["1小时前", "3天前", "20天前", "2025-01-05"]


def test_triage_counts_unknown_and_requests_all_without_range():
    known = {(HOST, 7), (HOST, 6)}
    t = discover.triage_list_items(HOST, ITEMS, DATES, known, {(HOST, 8)}, NOW, revisit_days=0)
    assert [u for u, _ in t.wanted] == ITEMS
    assert t.unknown == 1  # 9 only: 8 is known unfetchable, 7 and 6 stored
    assert not any(fresh for _, fresh in t.wanted)  # no window: nothing is fresh
    assert t.recent == 0
    assert t.more and not t.all_older  # unknown posts: the next page may hold more


def test_triage_revisit_window_decides_next_page():
    known = {(HOST, p) for p in (9, 8, 7, 6)}
    t = discover.triage_list_items(HOST, ITEMS, DATES, known, set(), NOW, revisit_days=7)
    assert [fresh for _, fresh in t.wanted] == [True, True, False, False]
    assert t.unknown == 0 and t.recent == 2
    assert not t.oldest_fresh and not t.more  # the page's oldest post is outside the window: stop
    t = discover.triage_list_items(HOST, ITEMS[:2], DATES[:2], known, set(), NOW, revisit_days=7)
    assert t.oldest_fresh and t.more  # all inside the window: older pages may hold window posts too


def test_triage_since_and_until_drop_items_and_flag_all_older():
    t = discover.triage_list_items(HOST, ITEMS, DATES, set(), set(), NOW, 0,
                                   since_floor=NOW - timedelta(days=10), until_ceiling=NOW - timedelta(days=2))
    assert [u for u, _ in t.wanted] == [post(8)]  # 9 after the ceiling; 7 and 6 before the floor
    assert not t.all_older
    t = discover.triage_list_items(HOST, ITEMS, DATES, set(), set(), NOW, 0, since_floor=NOW + timedelta(days=1))
    assert t.wanted == [] and t.all_older
    # an undated item is kept (its date is unknown) and the page is then not all older
    t = discover.triage_list_items(HOST, [post(5)], [""], set(), set(), NOW, 0, since_floor=NOW)
    assert [u for u, _ in t.wanted] == [post(5)] and not t.all_older


def test_may_follow_traps_stopped_listings_and_max_pages():
    cat2 = f"http://{HOST}/index.php/category-1_2.html"
    trap = f"http://{HOST}/search.php?q=x"
    assert discover.may_follow(cat2)
    assert not discover.may_follow(trap)
    assert discover.may_follow(trap, follow_traps=True)
    assert not discover.may_follow(post(3))  # a post is not a list
    assert not discover.may_follow(cat2, max_pages=1) and discover.may_follow(cat2, max_pages=2)
    stopped = {discover.sites.listing_key(cat2)}
    assert not discover.may_follow(cat2, stopped=stopped)
    assert discover.may_follow(f"http://{HOST}/index.php/category-3_2.html", stopped=stopped)


class _Stats:
    def __init__(self):
        self.values = {}

    def set_value(self, key, value):
        self.values[key] = value


class _Crawler:
    def __init__(self):
        self.stats = _Stats()


class _Downloader:
    def __init__(self):
        self.per_slot_settings = {}


def test_ledger_start_sites_modes_markers_delay_and_ids_total(tmp_path):
    from dataclasses import replace

    from crawler.ledger import Ledger, site_key
    from crawler.spider_args import parse_spider_args

    args = parse_spider_args({"sites": "jinshan,laian"})
    a, b = args.sites
    args.sites = [replace(a, delay=2.5), b]
    ledger = Ledger(_Crawler(), out=str(tmp_path), run_id="r1")
    ledger.load_state({(a.host, 1)}, [a.host, b.host])
    ledger.write_marker("crawled", a.host)  # a complete crawl of a is stored; b never crawled
    down = _Downloader()
    modes = ledger.start_sites(args, args.sites, down)
    assert modes == {a.host: "incremental", b.host: "full"}
    assert down.per_slot_settings == {a.host: {"delay": 2.5}}
    assert ledger.marker("incomplete", b.host).exists() and not ledger.marker("incomplete", a.host).exists()
    assert ledger.stats.values[site_key(b.host, "mode")] == "full"
    assert ledger.total_posts is None
    ids = parse_spider_args({"sites": "jinshan", "mode": "ids", "ids": "1-4"})
    assert ledger.start_sites(ids, ids.sites) == {a.host: "ids"}
    assert ledger.total_posts == 3  # post 1 is stored
