"""The replica's site model and content: dates, ids, gold records, determinism, scale."""

from __future__ import annotations

import random
import re
import tracemalloc
from datetime import datetime, timedelta, timezone

import lxml.html
import pytest

from crawler.replica import Network, format_date, relative_date, render_feed, render_list, render_post
from crawler.replica.content import AD_SWAPS, REGIONS, opencc

UTC = timezone.utc
# The moment the site samples were rendered: 2026-11-27 01:24 +08:00.
SAMPLE_NOW = datetime(2026, 11, 26, 17, 24, tzinfo=UTC)


@pytest.fixture(scope="module")
def net():
    return Network(seed=7, sites=6, posts=120, now=SAMPLE_NOW)


# --------------------------------------------------------------------------------------------
# tpure dates
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seconds, text", [
    (0, "刚刚"), (0.6, "刚刚"), (-30, "刚刚"),
    (1, "1秒前"), (59, "59秒前"), (59.5, "60秒前"),          # seconds round, not truncate
    (60, "1分钟前"), (89, "1分钟前"), (90, "2分钟前"), (150, "3分钟前"),  # half rounds up (PHP round)
    (3599, "60分钟前"), (3600, "1小时前"), (5399, "1小时前"), (5400, "2小时前"),
    (86399, "24小时前"), (86400, "1天前"), (6.5 * 86400, "7天前"), (7 * 86400 - 1, "7天前"),
    (7 * 86400, "1周前"), (10.4 * 86400, "1周前"), (10.5 * 86400, "2周前"), (29 * 86400, "4周前"),
    (30 * 86400, "1个月前"), (45 * 86400, "2个月前"), (359 * 86400, "12个月前"),
    (360 * 86400, "1年前"), (540 * 86400, "2年前"), (900 * 86400, "3年前"),
])
def test_relative_date_thresholds(seconds, text):
    published = SAMPLE_NOW - timedelta(seconds=seconds)
    got, bracket = relative_date(published, SAMPLE_NOW)
    assert got == text
    # only weeks, months and years carry the absolute date
    assert (bracket is not None) == any(u in text for u in ("周前", "个月前", "年前"))


@pytest.mark.parametrize("published_local, html", [
    # cases read off the samples (rendered 2026-11-27 01:24 +08:00)
    ("2024-11-04 10:00:00", '2年前<span class="datetime"> (2024-11-04)</span>'),
    ("2023-03-25 09:30:00", '4年前<span class="datetime"> (2023-03-25)</span>'),
    ("2026-11-19 15:43:53", '1周前<span class="datetime"> (11-19)</span>'),
    ("2026-11-15 18:54:29", '2周前<span class="datetime"> (11-15)</span>'),
    ("2026-11-07 12:00:00", '3周前<span class="datetime"> (11-07)</span>'),
    ("2026-10-16 15:25:57", '1个月前<span class="datetime"> (10-16)</span>'),
    ("2026-10-12 19:29:30", '2个月前<span class="datetime"> (10-12)</span>'),
    ("2026-03-07 18:04:45", '9个月前<span class="datetime"> (03-07)</span>'),
    ("2025-11-11 09:34:16", '1年前<span class="datetime"> (2025-11-11)</span>'),
    ("2026-11-26 21:18:44", "4小时前"),
    ("2026-11-24 10:05:12", "3天前"),
])
def test_relative_dates_of_the_samples(published_local, html):
    china = timezone(timedelta(hours=8))
    published = datetime.strptime(published_local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=china)
    assert format_date(published, SAMPLE_NOW, "relative") == html


def test_bracket_date_is_china_time():
    # 2026-11-18 20:00 UTC is already 11-19 in China
    published = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
    assert format_date(published, SAMPLE_NOW, "relative").endswith("(11-19)</span>")


@pytest.mark.parametrize("style, text", [
    ("Y-m-d", "2024-03-05"), ("Y-m-d H:i", "2024-03-05 07:08"), ("Y-m-d H:i:s", "2024-03-05 07:08:09"),
    ("Y年m月d日", "2024年03月05日"),
])
def test_absolute_date_styles(style, text):
    published = datetime(2024, 3, 4, 23, 8, 9, tzinfo=UTC)  # 2024-03-05 07:08:09 +08:00
    assert format_date(published, SAMPLE_NOW, style) == text


def test_sites_use_their_date_style_on_post_pages(net):
    seen = set()
    for host in net.hosts:
        site = net.site(host)
        pid = site.post_ids()[3]
        page = lxml.html.fromstring(render_post(site, pid, net.now(), random.Random(0))[0])
        date = page.xpath('//div[@class="info"]/span[@class="date"]')[0]
        gold = site.gold(pid)
        assert lxml.html.tostring(date, encoding="unicode") == (
            f'<span class="date">{format_date(gold["published"], net.now(), site.date_style)}</span>')
        seen.add(site.date_style)
    assert seen == {"relative", "Y-m-d", "Y-m-d H:i", "Y-m-d H:i:s", "Y年m月d日"}


# --------------------------------------------------------------------------------------------
# ids, times, lists
# --------------------------------------------------------------------------------------------
def test_ids_are_sparse_and_rise_with_time(net):
    for host in net.hosts:
        site = net.site(host)
        ids = site.post_ids()
        assert len(ids) == 120 and ids == sorted(set(ids))
        assert ids[-1] - ids[0] + 1 > len(ids)  # gaps exist
        times = [site.gold(p)["published"] for p in ids[::10]]
        assert times == sorted(times)
        assert all(t.tzinfo is not None and t.microsecond == 0 and t <= net.now() for t in times)
        # the archive spans several years
        assert (times[-1] - times[0]).days > 2 * 365
        gaps = [i for i in range(ids[0], ids[-1]) if i not in set(ids)]
        assert gaps and not site.has_post(gaps[0]) and site.has_post(ids[5])
        with pytest.raises(KeyError):
            site.gold(gaps[0])


def test_posts_appear_in_office_hours_and_tags_fit_the_kind(net):
    from crawler.replica.content import KIND_TAGS

    china = timezone(timedelta(hours=8))
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids()[:-1]:  # the newest is pinned a few hours before `now`
            gold = site.gold(pid)
            assert 8 <= gold["published"].astimezone(china).hour < 22
            foreign = set().union(*(v for k, v in KIND_TAGS.items() if k != gold["kind"])) - KIND_TAGS[gold["kind"]]
            assert not foreign & set(gold["tags"]), (gold["kind"], gold["tags"])


def test_unknown_host_is_keyerror(net):
    with pytest.raises(KeyError):
        net.site("www.example.com")


def test_list_pages_partition_the_posts(net):
    site = net.site("laian.021cf.cn")
    ids = site.post_ids()
    first, total = site.list_page("home", None, 1)
    assert total == -(-len(ids) // 10) and len(first) == 10 and first == ids[::-1][:10]
    seen = []
    for page in range(1, total + 1):
        seen += site.list_page("home", None, page)[0]
    assert seen == ids[::-1]
    assert site.list_page("home", None, total + 1)[0] == []
    by_cat = []
    for cid, name in site.categories:
        _, n = site.list_page("category", cid, 1)
        for page in range(1, n + 1):
            for pid in site.list_page("category", cid, page)[0]:
                assert site.gold(pid)["category"] == name
                by_cat.append(pid)
    assert sorted(by_cat) == ids
    tid, tname = site.tags[0]
    for pid in site.list_page("tag", tid, 1)[0]:
        assert tname in site.gold(pid)["tags"]
    y, m = site.months()[0]
    for pid in site.list_page("date", f"{y}-{m}", 1)[0]:
        local = site.gold(pid)["published"].astimezone(timezone(timedelta(hours=8)))
        assert (local.year, local.month) == (y, m)
    with pytest.raises(KeyError):
        site.list_page("category", 999, 1)
    with pytest.raises(KeyError):
        render_list(site, "category", site.categories[0][0], 99, net.now())


# --------------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------------
_RELATED = re.compile(rb'<div class="relatecon">.*?</div>\n</div>\n</div>', re.S)


def test_same_seed_same_bytes():
    a = Network(seed=11, sites=2, posts=60, now=SAMPLE_NOW)
    b = Network(seed=11, sites=2, posts=60, now=SAMPLE_NOW)
    for host in a.hosts:
        sa, sb = a.site(host), b.site(host)
        assert sa.post_ids() == sb.post_ids()
        for pid in sa.post_ids()[::7]:
            pa, ra = render_post(sa, pid, a.now(), random.Random(1))
            pb, rb = render_post(sb, pid, b.now(), random.Random(2))
            # only the related block depends on the rng
            assert _RELATED.sub(b"", pa) == _RELATED.sub(b"", pb)
            assert render_post(sa, pid, a.now(), random.Random(5)) == render_post(sb, pid, b.now(), random.Random(5))
            assert sa.gold(pid) == sb.gold(pid)
        assert render_feed(sa, a.now()) == render_feed(sb, b.now())
    c = Network(seed=12, sites=2, posts=60, now=SAMPLE_NOW)
    host = a.hosts[0]
    assert [a.site(host).gold(p)["text"] for p in a.site(host).post_ids()[:5]] != [
        c.site(host).gold(p)["text"] for p in c.site(host).post_ids()[:5]]


def test_same_bytes_in_another_process():
    """Content comes from a stable hash, not Python's per-process salted hash()."""
    import hashlib
    import subprocess
    import sys

    code = ("import hashlib, random, sys; from datetime import datetime, timezone;"
            "from crawler.replica import Network, render_post;"
            "net = Network(seed=11, sites=2, posts=40, now=datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc));"
            "s = net.site('laian.021cf.cn'); pid = s.post_ids()[17];"
            "sys.stdout.write(hashlib.sha256(render_post(s, pid, net.now(), random.Random(4))[0]).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}).stdout
    net = Network(seed=11, sites=2, posts=40, now=SAMPLE_NOW)
    site = net.site("laian.021cf.cn")
    here = hashlib.sha256(render_post(site, site.post_ids()[17], net.now(), random.Random(4))[0]).hexdigest()
    assert out == here


def test_bad_network_arguments():
    with pytest.raises(ValueError):
        Network(sites=0)
    with pytest.raises(ValueError):
        Network(sites=99)
    with pytest.raises(ValueError):
        Network(now=datetime(2026, 1, 1))  # naive
    net = Network(seed=1, sites=2, posts=10, posts_per_site={"laian.021cf.cn": 25}, now=SAMPLE_NOW)
    assert [net.site(h).count() for h in net.hosts] == [10, 25]


# --------------------------------------------------------------------------------------------
# gold consistency
# --------------------------------------------------------------------------------------------
_INDENT = "\u3000\xa0 \n\t"


def page_paragraphs(single) -> list[str]:
    """The body of .single as paragraphs, by the gold's rules (table rows, list items, <br> lines)."""
    out = []
    for el in single:
        if el.tag == "table":
            for tr in el.iter("tr"):
                out.append(" ".join(c.text_content().strip() for c in tr if c.tag in ("td", "th")))
        elif el.tag == "ul":
            out += [li.text_content().strip(_INDENT) for li in el.iter("li")]
        elif el.tag == "div":
            text = lxml.html.tostring(el, encoding="unicode", method="html", with_tail=False)
            out += [lxml.html.fromstring("<p>" + part + "</p>").text_content().strip(_INDENT)
                    for part in re.split(r"<br\s*/?>", text[5:-6]) if part.strip()]
        else:
            t = el.text_content().strip(_INDENT)
            if t:
                out.append(t)
    return out


def normalise(text: str, gold: dict) -> str:
    if gold["traditional"]:
        text = opencc("t2s").convert(text)
    if gold["swaps"]:
        text = text.replace(AD_SWAPS["最"], "最")
    return text


def test_every_gold_paragraph_is_on_the_page_in_order(net):
    kinds = set()
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids()[::3]:
            gold = site.gold(pid)
            page = lxml.html.fromstring(render_post(site, pid, net.now(), random.Random(pid))[0])
            single = page.xpath('//div[@class="single viewall"]')[0]
            paras = [normalise(p, gold) for p in page_paragraphs(single)]
            # the article comes first, then only boilerplate (teasers, contact block)
            assert paras[:len(gold["paragraphs"])] == gold["paragraphs"], (host, pid)
            assert gold["text"] == "\n".join(gold["paragraphs"]) and all(p.strip() for p in gold["paragraphs"])
            h1 = page.xpath('//div[@class="post"]/h1')[0].text_content()
            assert normalise(h1, gold) == gold["title"]
            assert [a.text for a in page.xpath('//div[@class="tags"]/a')] == gold["tags"]
            teaser_sites = tuple(r["teaser_site"] for r in REGIONS.values())
            links = [a.get("href") for a in single.xpath(".//a") if not a.get("href").startswith(teaser_sites)]
            assert [x["url"] for x in gold["inline_links"]] == links
            assert page.xpath('//span[@class="cate"]/a/@href') == [gold["category_url"]]
            assert page.xpath('//a[@class="single-prev"]/@href') == ([gold["prev_url"]] if gold["prev_url"] else [])
            assert page.xpath('//a[@class="single-next"]/@href') == ([gold["next_url"]] if gold["next_url"] else [])
            kinds.add(gold["kind"])
    assert kinds >= {"factory", "land_result", "land_notice", "project", "policy", "stats"}


def test_variants_are_present(net):
    golds = [net.site(h).gold(p) for h in net.hosts for p in net.site(h).post_ids()]
    assert sum(g["traditional"] for g in golds) >= 10
    assert sum(bool(g["swaps"]) for g in golds) >= 30
    assert sum(g["masks"] for g in golds) >= 5 and any("*大" in g["text"] for g in golds)
    assert sum(g["long"] for g in golds) >= 10 and max(len(g["paragraphs"]) for g in golds) >= 40
    assert sum(g["one_image"] for g in golds) >= 3
    assert all(len(g["paragraphs"]) == 1 for g in golds if g["one_image"])
    text = "\n".join(g["text"] for g in golds)
    for pattern in [r"（记者\w+通讯员\w+）|\(记者\w+通讯员\w+\)", r"^来源：", r"^责任编辑：", r"网讯 ", r"^原标题：",
                    r"^图为", r"联系电话：0\d{2,3}-\d{7,8}", r"\.\.\.$", r"……$", r"^地块名称 出让面积"]:
        assert re.search(pattern, text, re.M), pattern
    assert {g["contact_block"] for g in golds} == {"inline", "copynotice", None}
    assert any(g["source"] for g in golds) and any(g["reporter"] for g in golds)
    linked = [g for g in golds if g["inline_links"]]
    assert linked and all(l["anchor"] in g["text"] and l["url"].startswith("http://www.")
                          for g in linked for l in g["inline_links"])


def test_traditional_posts_round_trip(net):
    s2t, t2s = opencc("s2t"), opencc("t2s")
    checked = 0
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            gold = site.gold(pid)
            if not gold["traditional"]:
                continue
            page = lxml.html.fromstring(render_post(site, pid, net.now(), random.Random(0))[0])
            h1 = page.xpath('//div[@class="post"]/h1')[0].text_content()
            assert h1 == s2t.convert(gold["title"]) and t2s.convert(h1) == gold["title"]
            body = page.xpath('//div[@class="single viewall"]')[0].text_content()
            assert any(t2s.convert(c) != c for c in body)  # really Traditional on the page
            for p in gold["paragraphs"]:
                assert t2s.convert(s2t.convert(p)) == p
            checked += 1
    assert checked >= 10


def test_vocabulary_survives_the_traditional_round_trip():
    """Everything a Traditional post renders through s2t comes back unchanged through t2s."""
    from crawler.replica import content

    s2t, t2s = opencc("s2t"), opencc("t2s")
    pieces = []
    for region in content.REGIONS.values():
        for key, value in region.items():
            if key in ("teasers", "tags", "teaser_site"):
                continue  # site-level lines, never converted
            pieces += value if isinstance(value, list) else [value]
    for name in ("_PROJECT_PARAS", "_POLICY_PARAS", "_STATS_PARAS", "_LONG_PARAS", "_SUBHEADS", "_POLICY_LIST",
                 "_COMMON_CORES", "_SURNAMES", "_GIVEN", "_INDUSTRIES", "_ROADS", "_HIGHWAYS", "_ENV", "_GROUND"):
        pieces += list(getattr(content, name))
    pieces += [x for dom in content._DOMAINS for x in dom]
    bad = [p for p in pieces if t2s.convert(s2t.convert(p)) != p]
    assert not bad


def test_swaps_only_where_the_gold_says(net):
    for host in net.hosts[:2]:
        site = net.site(host)
        for pid in site.post_ids():
            gold = site.gold(pid)
            page = lxml.html.fromstring(render_post(site, pid, net.now(), random.Random(0))[0])
            article = "\n".join(page_paragraphs(page.xpath('//div[@class="single viewall"]')[0])[
                :len(gold["paragraphs"])])
            if gold["swaps"]:
                assert "蕞" in article and "蕞" not in gold["text"]
            else:
                assert "蕞" not in article


# --------------------------------------------------------------------------------------------
# related posts
# --------------------------------------------------------------------------------------------
def test_related_posts_drawn_from_rng(net):
    site = net.site("jinshan.021cf.cn")
    pid = site.post_ids()[50]
    html, related = render_post(site, pid, net.now(), random.Random(3))
    assert 6 <= len(related) <= 8 and pid not in [r["post_id"] for r in related]
    assert len({r["post_id"] for r in related}) == len(related)
    page = lxml.html.fromstring(html)
    assert page.xpath('//div[@class="relate"]//h3/a/@href') == [r["url"] for r in related]
    assert page.xpath('//div[@class="relateimg"]/a/img/@alt') == [r["title"] for r in related]
    for r in related:
        assert site.has_post(r["post_id"]) and r["url"].endswith(f"/post/{r['post_id']}.html")
    others = {tuple(x["post_id"] for x in render_post(site, pid, net.now(), random.Random(s))[1]) for s in range(5)}
    assert len(others) > 1


def test_related_by_tag_on_copynotice_sites(net):
    site = net.site("laian.021cf.cn")
    for pid in site.post_ids()[::20]:
        tags = set(site.gold(pid)["tags"])
        if not tags:
            continue  # nothing to share: drawn at random
        _, related = render_post(site, pid, net.now(), random.Random(pid))
        assert all(tags & set(site.gold(r["post_id"])["tags"]) for r in related)


# --------------------------------------------------------------------------------------------
# publish, clock, scale
# --------------------------------------------------------------------------------------------
def test_publish_makes_new_posts_visible():
    net = Network(seed=3, sites=2, posts=30, now=SAMPLE_NOW)
    site = net.site("jinshan.021cf.cn")
    before = site.post_ids()
    new = site.publish(3)
    assert len(new) == 3 and new == sorted(new) and new[0] > before[-1]
    assert site.post_ids() == before + new
    for pid in new:
        assert site.gold(pid)["published"] == net.now()
    assert site.gold(before[-1])["next_url"] == site.post_url(new[0])
    assert site.list_page("home", None, 1)[0][:3] == new[::-1]
    feed = render_feed(site, net.now()).decode()
    assert f"/post/{new[-1]}.html" in feed
    page = lxml.html.fromstring(render_post(site, new[-1], net.now())[0])
    assert page.xpath('//span[@class="date"]')[0].text_content() == "刚刚"


def test_real_clock_by_default():
    net = Network(seed=1, sites=1, posts=5)
    now = net.now()
    assert now.tzinfo is not None and abs((datetime.now(UTC) - now).total_seconds()) < 60
    assert net.site(net.hosts[0]).gold(net.site(net.hosts[0]).post_ids()[-1])["published"] <= now


def test_hundred_thousand_posts_stay_small():
    tracemalloc.start()
    net = Network(seed=5, sites=2, posts=100_000, now=SAMPLE_NOW)
    site = net.site("jinshan.021cf.cn")
    ids = site.post_ids()
    gold = site.gold(ids[-1])
    mid = ids[len(ids) // 2]
    assert site.has_post(mid) and not site.has_post(ids[-1] + 10_000)
    assert site.list_page("home", None, 5000)[0]
    render_post(site, mid, net.now(), random.Random(0))
    _, peak = tracemalloc.get_traced_memory()
    # a lookup is a binary search over the arrays: no per-post list is built (a list of 100,000
    # ids alone would take several MB)
    del ids
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    for pid in (mid, mid + 1, mid + 2, 10**9):
        if site.has_post(pid):
            site.gold(pid)
            site.neighbours(pid)
    _, lookup_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert gold["post_id"] == site.newest(1)[0] and site.count() == 100_000
    assert peak < 50 * 1024 * 1024
    assert lookup_peak - base < 1024 * 1024
