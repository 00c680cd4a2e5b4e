"""The replica's pages against the real Z-BlogPHP/tpure samples, part by part.

Each named part of a post page, a list page and the feed is compared with the same part of
../shared/site-samples/: the same tags, classes, attribute names (in order) and nesting, and
text matching the same patterns. Values (titles, dates, numbers) are free. Every pattern is
also checked against the sample itself, so the patterns cannot drift away from the real markup.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from crawler.replica import Network, render_404, render_feed, render_list, render_page, render_post
from crawler.replica.content import text_width

from paths import SAMPLES  # noqa: E402
NOW = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)  # when the samples were rendered



# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def skel(el, collapse: bool = True):
    """Tag, attribute names in order, class, id and the children's skeletons (runs collapsed).

    span.datetime is left out: whether a date carries it depends on the post's age, not markup."""
    kids = [skel(c, collapse) for c in el if isinstance(c.tag, str) and c.get("class") != "datetime"]
    if collapse:
        kids = [k for i, k in enumerate(kids) if i == 0 or k != kids[i - 1]]
    return (el.tag, tuple(el.attrib.keys()), el.get("class"), el.get("id"), tuple(kids))


def one(tree, xpath):
    found = tree.xpath(xpath)
    assert len(found) == 1, (xpath, len(found))
    return found[0]


def text(el) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip()


def html_of(el) -> str:
    return lxml.html.tostring(el, encoding="unicode", with_tail=False)


def norm_urls(s: str) -> str:
    return re.sub(r"/post/\d+\.html", "/post/N.html", s)


@pytest.fixture(scope="module")
def net():
    return Network(seed=2026, sites=2, posts=400, now=NOW)


def _pick(site, want):
    for pid in reversed(site.post_ids()[:-5]):
        if want(site.gold(pid), site.post(pid)):
            return pid
    raise AssertionError("no post with the wanted features")


@pytest.fixture(scope="module")
def pages(net):
    """(sample tree, replica tree, raw sample, raw replica, site, pid) per post style."""
    out = {}
    jin = net.site("jinshan.021cf.cn")
    pid = _pick(jin, lambda g, p: g["contact_block"] == "inline" and g["has_teasers"] and not p["_teaser_links"]
                and g["tags"]
                and g["prev_url"] and g["next_url"] and not g["one_image"])
    lai = net.site("laian.021cf.cn")
    pid2 = _pick(lai, lambda g, p: g["contact_block"] == "copynotice" and g["has_teasers"] and g["prev_url"] and g["tags"]
                 and g["next_url"] and not g["one_image"])
    for key, sample, site, p in (("inline", "post-3756.html", jin, pid), ("copynotice", "laian-post-1414.html", lai, pid2)):
        raw_s = (SAMPLES / sample).read_bytes()
        raw_r = render_post(site, p, NOW, random.Random(1))[0]
        out[key] = (lxml.html.fromstring(raw_s), lxml.html.fromstring(raw_r), raw_s, raw_r, site, p)
    return out


STYLES = ["inline", "copynotice"]


# --------------------------------------------------------------------------------------------
# post pages
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("style", STYLES)
def test_head(pages, style):
    s, r, *_ = pages[style]

    def head(tree):
        return [(el.tag, tuple(el.attrib.items()), (el.text or "").strip() if el.tag == "script" else "")
                for el in one(tree, "//head") if el.tag not in ("title",) and isinstance(el.tag, str)]

    assert [tuple((k, norm_urls(v)) for k, v in x[1]) for x in head(s)] == [
        tuple((k, norm_urls(v)) for k, v in x[1]) for x in head(r)]
    assert head(s) != [] and [x[0] for x in head(s)] == [x[0] for x in head(r)]
    assert [x[2] for x in head(s)] == [x[2] for x in head(r)]  # inline scripts (window.tpure config)
    title = one(r, "//head/title").text
    assert re.fullmatch(r".+ - 中国产业园区招商网", title)
    assert title == one(r, '//div[@class="post"]/h1').text + " - 中国产业园区招商网"
    assert one(r, '//link[@rel="canonical"]').get("href") == pages[style][4].post_url(pages[style][5])
    assert one(r, "//body").get("class") == one(s, "//body").get("class") == "article"


@pytest.mark.parametrize("style", STYLES)
def test_header_menu_footer_edgebar_are_the_sites_own(pages, style):
    s, r, *_ = pages[style]
    # the two replica sites are set up like the sampled subsites: identical markup, byte for byte
    for xp in ('//div[@class="header fixed"]', '//div[@class="footer"]', '//div[@class="edgebar"]'):
        assert html_of(one(r, xp)) == html_of(one(s, xp)), xp
    foot = text(one(r, '//div[@class="footer"]/div[@class="wrap"]/h3'))
    assert re.fullmatch(r"Copyright © \d{4}-\d{4} 中国产业园区招商网 \S+ 招商热线：400 0123 021 沪ICP备19004521号-\d+", foot)


@pytest.mark.parametrize("style", STYLES)
def test_trailing_debug_comment(pages, style):
    pattern = rb"</html><!--\d+\.\d{2} ms , \d+ queries , \d+kb memory , \d+ errors?-->$"
    assert re.search(pattern, pages[style][2]) and re.search(pattern, pages[style][3])


@pytest.mark.parametrize("style", STYLES)
def test_breadcrumb(pages, style):
    s, r, *_ = pages[style]
    for tree in (s, r):
        crumb = one(tree, '//div[@class="sitemap"]')
        assert re.fullmatch(r"当前位置：首页 > \S+ > 正文内容", text(crumb))
        assert skel(crumb) == skel(one(s, '//div[@class="sitemap"]'))
    assert "\n                 <a" in html_of(one(r, '//div[@class="sitemap"]'))  # tpure's line break


@pytest.mark.parametrize("style", STYLES)
def test_title_and_info(pages, style):
    s, r, *_ = pages[style]
    for tree in (s, r):
        h1 = one(tree, '//div[@class="block"]/div[@class="post"]/h1')
        assert len(h1) == 0 and h1.text.strip()
        info = one(tree, '//div[@class="post"]/div[@class="info"]')
        assert [(c.tag, c.get("class")) for c in info] == [
            ("span", "user"), ("span", "date"), ("span", "cate"), ("span", "view"), ("div", "ctrl")]
        assert skel(info[0]) == ("span", ("class",), "user", None, (("a", ("href", "rel"), None, None, ()),))
        assert re.fullmatch(r"http://[a-z.0-9]+/index\.php/author-\d+\.html", info[0][0].get("href"))
        assert re.fullmatch(r"\d+", info[3].text)
        assert html_of(info[4]) == html_of(one(s, '//div[@class="info"]/div[@class="ctrl"]'))
        date = info[1]
        assert re.fullmatch(r"(刚刚|\d+(秒|分钟|小时|天)前|\d+(周|个月)前 \(\d{2}-\d{2}\)|\d+年前 \(\d{4}-\d{2}-\d{2}\))",
                            text(date))
        assert [c.get("class") for c in date] in ([], ["datetime"])
        assert one(tree, '//div[@data-cateurl]').get("data-cateurl") == info[2][0].get("href")


BODY_TAGS = {"p", "h2", "h3", "table", "ul", "div"}


@pytest.mark.parametrize("style", STYLES)
def test_single_body_and_lazy_images(pages, style):
    s, r, raw_s, raw_r, site, pid = pages[style]
    sample_imgs = one(s, '//div[@class="single viewall"]').xpath(".//img")
    for tree in (s, r):
        single = one(tree, '//div[@class="post"]/div[@class="single viewall"]')
        assert {c.tag for c in single} <= BODY_TAGS
        for img in single.xpath(".//img"):
            assert tuple(img.attrib.keys())[:3] == ("src", "data-original", "class")
            assert img.get("src").endswith("/zb_users/theme/tpure/style/images/lazyload.png")
            assert img.get("class") == "lazyload" and re.match(r"http://[a-z0-9.]+/zb_users/upload/\d{4}/\d{2}/\d+\.jpg$",
                                                               img.get("data-original"))
    if sample_imgs:
        rimgs = one(r, '//div[@class="single viewall"]').xpath(".//img")
        assert [tuple(i.attrib.keys()) for i in rimgs[-2:]] == [tuple(i.attrib.keys()) for i in sample_imgs[-2:]]
    # the article paragraphs carry tpure's full-width indent, like the samples' first line
    first = one(r, '//div[@class="single viewall"]')[0]
    assert first.tag in BODY_TAGS
    assert b'<div class="single viewall">\n                <' in raw_r and b'<div class="single viewall">\n                <' in raw_s


def _teasers(single, n):
    """The n <p> before the contact block (its first QR image has alt "NAME微信"), or the last n."""
    ps = [p for p in single if p.tag == "p"]
    qr = [i for i, p in enumerate(ps) if any(a.endswith("微信") for a in p.xpath(".//img/@alt"))]
    start = qr[0] if qr else len(ps)
    return ps[start - n:start]


TEASER = re.compile(r"\u3000\u3000[^\u3000\s].{0,30}")


@pytest.mark.parametrize("style", STYLES)
def test_teaser_lines(pages, style):
    s, r, raw_s, raw_r, site, pid = pages[style]
    n = len(site.post(pid)["_teasers"])
    assert 6 <= n <= 8
    sample = _teasers(one(s, '//div[@class="single viewall"]'), 7)
    mine = _teasers(one(r, '//div[@class="single viewall"]'), n)
    for group in (sample, mine):
        assert len({skel(p) for p in group}) == 1 and skel(group[0]) == ("p", (), None, None, ())
        for p in group:
            assert TEASER.fullmatch(p.text), p.text
        assert sum(p.text.endswith("...") for p in group) >= 2  # most are cut titles
    # a cut teaser fills a title width of 34 or 36 (CJK and quotes count 2), then "..."
    for group in (sample, mine):
        for p in group:
            w = text_width(p.text[2:].removesuffix("..."))
            assert w <= 36
            if p.text.endswith("..."):
                assert w >= 33


CONTACT = [
    r"",  # QR image
    r"\S+微信号",
    r"产业招商/厂房土地租售：400 \d{4} \d{3}",
    r"或微信/手机：(1\d{10}){2,3}",
    r"请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。",
    r"长按/扫一扫加\S+的微信号",
    r"",  # <p><br/></p>
    r"",  # second QR
    r"扫一扫关注公众号",
]


def test_inline_contact_block(pages):
    s, r, *_ = pages["inline"]
    blocks = []
    for tree in (s, r):
        ps = [p for p in one(tree, '//div[@class="single viewall"]') if p.tag == "p"][-9:]
        for p, pattern in zip(ps, CONTACT):
            assert re.fullmatch(pattern, text(p)), (text(p), pattern)
        blocks.append([skel(p) for p in ps])
        assert ps[0].xpath(".//img/@alt")[0].endswith("微信")
        assert re.fullmatch(r"长按/扫一扫加(\S+)的微信号", text(ps[5])).group(1) + "微信号" == text(ps[1])
    assert blocks[0] == blocks[1]
    # and the copynotice-style site has no contact block inside the body
    _, r2, *_ = pages["copynotice"]
    assert not re.search("微信号|扫一扫", text(one(r2, '//div[@class="single viewall"]')))


@pytest.mark.parametrize("style", STYLES)
def test_copynotice(pages, style):
    s, r, raw_s, raw_r, site, pid = pages[style]
    for tree in (s, r):
        box = one(tree, '//div[@class="post"]/div[@class="copynotice"]')
        assert text(box).startswith("扫描二维码推送至手机访问。版权声明：本文由中国产业园区招商网发布，如需转载请注明出处。")
        link = box.xpath('.//p[starts-with(., "本文链接：")]/a')[0]
        assert link.get("href") == link.text == one(tree, '//link[@rel="canonical"]').get("href")
        assert one(box, './div[@class="tpureqr"]').get("data-qrurl") == link.get("href")
    assert skel(one(r, '//div[@class="copynotice"]')) == skel(one(s, '//div[@class="copynotice"]'))
    zs = r.xpath('//div[@class="copynotice"]//div[@class="zsbox"]')
    assert bool(zs) == (style == "copynotice")
    if zs:
        ps = zs[0].xpath("./p")
        for p, pattern in zip(ps[1:], [r"\S+微信号", r"产业招商/厂房土地租售：400 \d{4} \d{3}", r"或微信/手机：(1\d{10}){2,3}",
                                      r"请说明您的需求.+", r"长按/扫一扫加\S+微信号"]):
            assert re.fullmatch(pattern, text(p)), text(p)


@pytest.mark.parametrize("style", STYLES)
def test_tags_sharebox_pages(pages, style):
    s, r, raw_s, raw_r, site, pid = pages[style]
    for tree in (s, r):
        tags = one(tree, '//div[@class="post"]/div[@class="tags"]')
        assert text(tags).startswith("标签:")
        assert [tuple(a.attrib.keys()) for a in tags] == [("href", "title")] * len(tags) and len(tags) >= 1
        for a in tags:
            assert re.fullmatch(r"http://[a-z0-9.]+/index\.php/tags-\d+\.html", a.get("href")) and a.get("title") == a.text
        pg = one(tree, '//div[@class="pages"]')
        assert [(c.tag, c.get("class")) for c in pg] == [("a", "backlist"), ("p", None), ("p", None)]
        assert pg[0].text == "返回列表" and pg[0].get("href") == one(tree, '//span[@class="cate"]/a').get("href")
        assert re.fullmatch(r"上一篇：.+", text(pg[1])) and pg[1][0].get("class") == "single-prev"
        assert re.fullmatch(r"下一篇：.+", text(pg[2])) and pg[2][0].get("class") == "single-next"
    assert b"\xe6\xa0\x87\xe7\xad\xbe:" in raw_r  # "标签:" with an ASCII colon, as tpure writes it
    assert skel(one(r, '//div[@class="tags"]')) == skel(one(s, '//div[@class="tags"]'))
    # share buttons: icons only on jinshan, with labels on laian - exactly as the samples
    assert html_of(one(r, '//div[@class="sharebox"]')) == html_of(one(s, '//div[@class="sharebox"]'))
    assert skel(one(r, '//div[@class="pages"]')) == skel(one(s, '//div[@class="pages"]'))


def test_post_without_tags_has_no_tags_block(net):
    site = net.site("jinshan.021cf.cn")
    bare = [p for p in site.post_ids() if not site.gold(p)["tags"]]
    assert bare
    tree = lxml.html.fromstring(render_post(site, bare[0], NOW)[0])
    assert not tree.xpath('//div[@class="tags"]') and tree.xpath('//div[@class="sharebox"]')


def test_pages_without_prev_or_next(net):
    site = net.site("jinshan.021cf.cn")
    newest = site.post_ids()[-1]
    tree = lxml.html.fromstring(render_post(site, newest, NOW)[0])
    assert tree.xpath('//a[@class="single-prev"]') and not tree.xpath('//a[@class="single-next"]')
    assert "下一篇" not in text(one(tree, '//div[@class="pages"]'))
    oldest = site.post_ids()[0]
    tree = lxml.html.fromstring(render_post(site, oldest, NOW)[0])
    assert not tree.xpath('//a[@class="single-prev"]') and tree.xpath('//a[@class="single-next"]')


@pytest.mark.parametrize("style", STYLES)
def test_related_block(pages, style):
    s, r, *_ = pages[style]
    for tree in (s, r):
        block = one(tree, '//div[@class="relatecon"]/..')
        assert block.get("class") == "block" and text(one(block, './div[@class="posttitle"]/h4')) == "相关文章"
        rel = block.xpath('./div[@class="relatecon"]/div[@class="relate"]')
        assert 6 <= len(rel) <= 8
        for item in rel:
            a_img = one(item, './div[@class="relateimg"]/a')
            img = one(a_img, "./img")
            a_h3 = one(item, './div[@class="relateinfo"]/h3/a')
            assert tuple(a_img.attrib.keys()) == tuple(a_h3.attrib.keys()) == ("href", "title")
            assert tuple(img.attrib.keys()) == ("src", "alt")
            assert a_img.get("href") == a_h3.get("href") and img.get("alt") == a_h3.text == a_h3.get("title")
            intro = one(item, './div[@class="relateinfo"]/p[@class="isimg"]')
            assert re.fullmatch(r".{1,150}\.\.\.", intro.text_content(), re.S)
    assert skel(one(r, '//div[@class="relatecon"]')) == skel(one(s, '//div[@class="relatecon"]'))


@pytest.mark.parametrize("style", STYLES)
def test_sidebar(pages, style):
    s, r, *_ = pages[style]
    ids = [dl.get("id") for dl in s.xpath('//div[@class="sidebar fixed"]/dl')]
    assert [dl.get("id") for dl in r.xpath('//div[@class="sidebar fixed"]/dl')] == ids
    for dl_s, dl_r in zip(s.xpath('//div[@class="sidebar fixed"]/dl'), r.xpath('//div[@class="sidebar fixed"]/dl')):
        assert skel(dl_r) == skel(dl_s), dl_s.get("id")
    for tree in (s, r):
        for em in tree.xpath('//dl[@id="tpure_NewArticle"]//p[@class="sideinfo"]/em'):
            assert re.fullmatch(r"(刚刚|\d+(秒|分钟|小时|天)前|\d+(周|个月)前 \(\d{2}-\d{2}\)|\d+年前 \(\d{4}-\d{2}-\d{2}\))",
                                text(em))
    if style == "inline":
        for tree in (s, r):
            for p in tree.xpath('//dl[@id="tpure_HotViewArticle"]//p[@class="sideinfo"]'):
                assert re.fullmatch(r"\d+ 浏览\S+", text(p))


# --------------------------------------------------------------------------------------------
# list page
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lists(net):
    site = net.site("jinshan.021cf.cn")
    raw = render_list(site, "category", 1, 1, NOW)
    return lxml.html.fromstring((SAMPLES / "category-1.html").read_bytes()), lxml.html.fromstring(raw), raw, site


def test_list_head_and_crumb(lists):
    s, r, raw, site = lists
    assert one(r, "//body").get("class") == "category" and not r.xpath('//link[@rel="canonical"]')
    assert one(r, "//head/title").text == one(s, "//head/title").text
    for tree in (s, r):
        crumb = one(tree, '//div[@class="sitemap"]')
        assert re.fullmatch(r"当前位置：首页 > \S+", text(crumb))
        assert re.fullmatch(r"查看\S+中的全部文章", crumb[1].get("title"))
    assert skel(one(r, '//div[@class="sitemap"]')) == skel(one(s, '//div[@class="sitemap"]'))
    assert html_of(one(r, '//div[@class="filternav"]')) == html_of(one(s, '//div[@class="filternav"]'))


def test_list_items(lists):
    s, r, raw, site = lists
    sample_items = s.xpath('//div[@class="content listcon"]//div[@class="post item"]')
    items = r.xpath('//div[@class="content listcon"]//div[@class="post item"]')
    assert len(items) == len(sample_items) == 10
    allowed = {skel(i) for i in sample_items}
    for tree_items in (sample_items, items):
        for item in tree_items:
            assert skel(item) in allowed
            a = one(item, "./h2/a")
            assert a.get("target") == "_blank" and re.search(r"/index\.php/post/\d+\.html$", a.get("href"))
            assert [c.get("class") for c in one(item, './div[@class="info"]')] == ["user", "date", "view"]
            img = one(item, './div[@class="postimg"]/a/img')
            assert img.get("class") == "lazyload" and img.get("alt") == a.text
            intro = one(item, './div[@class="intro isimg"]').text_content().strip(" \n")
            assert re.fullmatch(r".{1,150}\.\.\.", intro, re.S)
            assert not intro.startswith("\u3000" * 3)  # the body's own indent, not doubled
    ids = [int(re.search(r"/post/(\d+)\.html", i.xpath("./h2/a/@href")[0]).group(1)) for i in items]
    assert ids == site.list_page("category", 1, 1)[0]


def test_list_pagebar(lists, net):
    s, r, raw, site = lists
    bar_s, bar_r = one(s, '//div[@class="pagebar"]'), one(r, '//div[@class="pagebar"]')
    assert skel(bar_r) == skel(bar_s)
    for bar in (bar_s, bar_r):
        assert bar[0].text == "首页" and bar[-2].text == "下页" and bar[-1].text == "尾页"
        assert bar[1].get("class") == "now-page" and bar[1].text == "1"
        assert bar[2].get("class") == "next-page" and re.search(r"/category-1_2\.html$", bar[2][0].get("href"))
    total = site.list_page("category", 1, 1)[1]
    assert bar_r[-1].get("href").endswith(f"/category-1_{total}.html")
    # a middle page links back, and its numbers stay links
    mid = lxml.html.fromstring(render_list(site, "category", 1, 3, NOW))
    bar = one(mid, '//div[@class="pagebar"]')
    assert one(bar, './span[@class="now-page"]').text == "3"
    assert [a.get("href") for a in bar.xpath("./a") if a.text == "1"] == [site.category_url(1)]
    last = one(lxml.html.fromstring(render_list(site, "category", 1, total, NOW)), '//div[@class="pagebar"]')
    assert one(last, './span[@class="now-page"]').text == str(total)
    assert not last.xpath('./span[@class="next-page"]') and "下页" not in text(last) and last[-1].text == "尾页"


@pytest.mark.parametrize("kind, key", [("home", None), ("tag", None), ("date", None), ("author", 1)])
def test_other_list_kinds_share_the_item_markup(lists, net, kind, key):
    s, _, _, site = lists
    if kind == "tag":
        key = site.tags[0][0]
    if kind == "date":
        key = "%d-%d" % site.months()[0]
    tree = lxml.html.fromstring(render_list(site, kind, key, 1, NOW))
    allowed = {skel(i) for i in s.xpath('//div[@class="post item"]')}
    items = tree.xpath('//div[@class="post item"]')
    assert items and all(skel(i) in allowed for i in items)
    assert len(items) == len(site.list_page(kind, key, 1)[0])


def test_404_page_in_site_style(net):
    site = net.site("laian.021cf.cn")
    tree = lxml.html.fromstring(render_404(site, NOW))
    assert one(tree, "//head/title").text.startswith("404")
    assert one(tree, '//div[@class="header fixed"]') is not None and one(tree, '//div[@class="footer"]') is not None
    assert not tree.xpath('//div[@class="single viewall"]') and not tree.xpath('//div[@class="post item"]')


def test_menu_page(net, pages):
    s, *_ = pages["inline"]
    site = net.site("jinshan.021cf.cn")
    tree = lxml.html.fromstring(render_page(site, 2, NOW))
    assert html_of(one(tree, '//div[@class="header fixed"]')) == html_of(one(s, '//div[@class="header fixed"]'))
    assert one(tree, '//div[@class="post"]/h1').text == "联系我们"
    assert one(tree, '//link[@rel="canonical"]').get("href") == "http://jinshan.021cf.cn/index.php/2.html"
    with pytest.raises(KeyError):
        render_page(site, 99, NOW)


# --------------------------------------------------------------------------------------------
# feed
# --------------------------------------------------------------------------------------------
PUBDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                     r"\d{2}:\d{2}:\d{2} \+0800")


def test_feed(net):
    site = net.site("jinshan.021cf.cn")
    raw_s = (SAMPLES / "feed.xml").read_bytes()
    raw_r = render_feed(site, NOW)
    assert raw_r[:120] == raw_s[:120]  # declaration, rss element, channel title and link
    trees = [lxml.etree.fromstring(raw_s), lxml.etree.fromstring(raw_r)]
    for tree in trees:
        assert tree.tag == "rss" and tree.get("version") == "2.0" and tree.nsmap == {"dc": "http://purl.org/dc/elements/1.1/"}
        channel = one(tree, "/rss/channel")
        assert [c.tag for c in channel][:3] == ["title", "link", "description"]
        items = channel.findall("item")
        assert len(items) == 20 and [c.tag for c in channel][3:] == ["item"] * 20
        for item in items:
            assert [c.tag for c in item] == ["title", "link", "description", "pubDate"]
            assert PUBDATE.fullmatch(item.findtext("pubDate"))
            body = lxml.html.fragment_fromstring(item.findtext("description"), create_parent="div")
            assert {c.tag for c in body} <= BODY_TAGS
            assert not body.xpath('.//img[@class="lazyload"]')  # the feed keeps the real image URLs
    items = trees[1].findall("channel/item")
    expected = site.newest(20)
    assert [i.findtext("link") for i in items] == [site.post_url(p) for p in expected]
    for item, pid in zip(items, expected):
        gold = site.gold(pid)
        pub = datetime.strptime(item.findtext("pubDate"), "%a, %d %b %Y %H:%M:%S %z")
        assert pub == gold["published"]  # exact to the second
