"""HTML and RSS rendering for the replica, reproducing Z-BlogPHP 1.7.5 + tpure 5.0.2 markup.

The templates in `templates/` are cut from the site samples (`../shared/site-samples/`) with
values replaced by `{{name}}` placeholders, so tags, classes, attribute order and whitespace
stay those of the real pages.
"""

from __future__ import annotations

import html
import random
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources

from crawler.clock import SITE_TZ
from crawler.replica import content
from crawler.replica.model import HOTLINE, NETWORK_NAME, format_date, stable_int

_PH = re.compile(r"\{\{(\w+)\}\}")


@lru_cache(maxsize=None)
def template(name: str) -> str:
    """One template file of crawler/replica/templates (package data)."""
    return resources.files("crawler.replica").joinpath("templates", name).read_text(encoding="utf-8")


def fill(name: str, **values) -> str:
    """Fill a template's {{name}} placeholders (values are inserted as given: escape first)."""
    return _PH.sub(lambda m: str(values[m.group(1)]), template(name))


def esc(s: str) -> str:
    """HTML text/attribute escaping as Z-BlogPHP does it (quotes become &quot;)."""
    return html.escape(s, quote=True).replace("&#x27;", "'")


# Per-page-type constants of tpure (the trailing debug comment varies; numbers are made up).
_SHARE_ICONS = ["weibo", "qq", "wechat", "qzone"]  # post-3756.html: icons only
_SHARE_LABELS = [("weibo", "微博"), ("qq", "QQ"), ("wechat", "微信"), ("douban", "豆瓣"), ("qzone", "QQ空间"),
                 ("linkedin", "领英")]  # laian-post-1414.html: with text labels
# tpure's default thumbnails when a post has no image (category-1.html, laian relate blocks)
_THUMB_NUMBERED = "zb_users/theme/tpure/include/thumb/{n}.jpg"
_THUMB_PLAIN = "zb_users/theme/tpure/style/images/thumb.png"


def _footer_comment(site, key) -> str:
    h = stable_int(site.host, key, "debug")
    ms = 6 + (h % 500) / 100
    errors = (h >> 12) % 6
    return (f"<!--{ms:.2f} ms , {9 + (h >> 20) % 4} queries , {700 + (h >> 8) % 120}kb memory , "
            f"{errors} error{'s' if errors > 1 else ''}-->")


def _nav(site) -> str:
    b = site.base_url
    items = [f'<li id="navbar-item-index"><a href="{b}">首页</a></li>']
    items += [f'<li id="navbar-category-{cid}"><a href="{site.category_url(cid)}">{esc(name)}</a></li>'
              for cid, name in site.categories]
    items += [f'<li id="navbar-page-{pid}"><a href="{b}index.php/{pid}.html">{esc(name)}</a></li>'
              for pid, name in site.spec["nav_pages"]]
    return "".join(items)


def _head(site, title: str, canonical: str, body_class: str) -> str:
    canon = f'<link rel="canonical" href="{canonical}" />' if canonical else ""
    return fill("head.html", host=site.host, title=esc(title), canonical=canon, body_class=body_class,
                logo_alt=esc(site.title), nav=_nav(site))


def _footer(site, now: datetime, key) -> str:
    return fill("footer.html", host=site.host, since=site.spec["since_year"], year=now.astimezone(SITE_TZ).year,
                network=NETWORK_NAME, label=site.spec["footer_label"], hotline=HOTLINE, icp=site.spec["icp"],
                comment=_footer_comment(site, key))


def _thumb(site, pid: int, lines: list[str]) -> str:
    img = content.first_image(lines)
    if img:
        return img
    if site.spec["related"] == "tag":
        return f"http://{site.host}/{_THUMB_PLAIN}"
    return f"http://{site.host}/" + _THUMB_NUMBERED.format(n=1 + stable_int(site.host, pid, "thumb") % 10)


def _summary(site, pid: int) -> dict:
    """What list pages, sidebars and related blocks show of a post."""
    post = site.post(pid)
    lines = content.body_lines(post, site.host, site.style, lazy=True)
    conv = content.page_converter(post)
    title = post["title"]
    if post["traditional"]:
        title = content.opencc("s2t").convert(title)
    return {"post": post, "title": title, "url": post["url"], "thumb": _thumb(site, pid, lines),
            "intro": content.intro_text(lines), "conv": conv}


# --------------------------------------------------------------------------------------------
# Sidebar modules
# --------------------------------------------------------------------------------------------
def _side_new(site, now) -> str:
    items = []
    for pid in site.newest(5):
        s = _summary(site, pid)
        items.append(fill("side_new_item.html", url=s["url"], thumb=s["thumb"], title=esc(s["title"]),
                          date=format_date(s["post"]["published"], now, site.date_style)))
    return fill("side_box.html", id="tpure_NewArticle", title="最新文章", items="".join(items))


def _side_catalog(site, now) -> str:
    items = "\n".join(f'<li><a title="{esc(n)}" href="{site.category_url(c)}">{esc(n)}</a></li>'
                      for c, n in site.categories)
    return fill("side_box.html", id="divCatalog", title="网站分类", items=items + "\n")


def _side_hot(site, now) -> str:
    newest = site.newest(40)
    ranked = sorted(newest, key=lambda p: -site.views(p))[:5]
    items = []
    for pid in ranked:
        s = _summary(site, pid)
        items.append(fill("side_hot_item.html", url=s["url"], thumb=s["thumb"], title=esc(s["title"]),
                          views=site.views(pid), category=esc(s["post"]["category"])))
    return fill("side_box.html", id="tpure_HotViewArticle", title="热门阅读", items="".join(items))


def _side_rec(site, now) -> str:
    ids = site.post_ids()
    rng = random.Random(stable_int(site.host, "rec"))
    picks = sorted({ids[rng.randrange(len(ids))] for _ in range(3)}) if ids else []
    items = []
    for pid in picks:
        s = _summary(site, pid)
        items.append(fill("side_rec_item.html", url=s["url"], thumb=s["thumb"], title=esc(s["title"]),
                          date=format_date(s["post"]["published"], now, site.date_style),
                          category=esc(s["post"]["category"])))
    return fill("side_box.html", id="tpure_RecArticle", title="推荐阅读", items="".join(items))


_SIDES = {"new": _side_new, "catalog": _side_catalog, "hot": _side_hot, "rec": _side_rec}


def _sidebar(site, now, which) -> str:
    return "".join(_SIDES[k](site, now) for k in which)


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------
def related_posts(site, pid: int, rng: random.Random) -> list[int]:
    """6-8 related post ids: by shared tag on tag-style sites (laian), else at random."""
    k = rng.randint(6, 8)
    pool: list[int] = []
    if site.spec["related"] == "tag":
        tag_ids = site.meta(pid)["tag_items"]
        pool = [p for p in site.posts_with_tags([t for t, _ in tag_ids]) if p != pid]
    if len(pool) >= k:
        return rng.sample(pool, k)
    extra = site.random_posts(rng, k - len(pool), exclude=set(pool) | {pid})
    out = (rng.sample(pool, len(pool)) if pool else []) + extra
    return out[:k]


def render_post(site, pid: int, now: datetime, rng: random.Random | None = None) -> tuple[bytes, list[dict]]:
    """The post page and the related links it shows ([{"url", "title", "post_id"}], in order)."""
    rng = rng or random.Random()
    post = site.post(pid)
    host = site.host
    lines = content.body_lines(post, host, site.style, lazy=True)
    title = post["title"]
    if post["traditional"]:
        title = content.opencc("s2t").convert(title)
    cat_url = post["category_url"]
    date_html = format_date(post["published"], now, site.date_style)
    # copy notice: the zsbox contact block sits here on "copynotice" sites
    extra = site.spec.get("copyright_extra") or ""
    notice = (f"<p>扫描二维码推送至手机访问。</p><p>版权声明：本文由<strong>{NETWORK_NAME}</strong>发布，"
              f"如需转载请注明出处。{extra}</p>")
    if post["contact_block"] == "copynotice":
        notice += content.zsbox_html(post["_broker"], host)
    tags = "".join(f"<a href='http://{host}/index.php/tags-{tid}.html' title='{esc(n)}'>{esc(n)}</a>"
                   for tid, n in zip(post["tag_ids"], post["tags"]))
    tags_block = fill("post_tags.html", tags=tags) if tags else ""
    if site.spec["share"] == "labels":
        share = "\n".join(f'<a href="#" class="share-icon icon-{k}">{v}</a>' for k, v in _SHARE_LABELS)
    else:
        share = "\n".join(f'<a href="#" class="share-icon icon-{k}"></a>' for k in _SHARE_ICONS)
    pages = [f'            <a href="{cat_url}" class="backlist">返回列表</a>']
    if post["prev_id"] is not None:
        pages.append(f'            <p>上一篇：<a href="{post["prev_url"]}" class="single-prev">'
                     f'{esc(_summary(site, post["prev_id"])["title"])}</a></p>')
    if post["next_id"] is not None:
        pages.append(f'            <p>下一篇：<a href="{post["next_url"]}" class="single-next">'
                     f'{esc(_summary(site, post["next_id"])["title"])}</a></p>')
    related, rel_html = [], []
    for rid in related_posts(site, pid, rng):
        s = _summary(site, rid)
        related.append({"url": s["url"], "title": s["title"], "post_id": rid})
        rel_html.append(fill("relate_item.html", url=s["url"], title=esc(s["title"]), thumb=s["thumb"],
                             intro=esc(s["intro"]).replace("\xa0", "&nbsp;")))
    page = (
        _head(site, f"{title} - {NETWORK_NAME}", post["url"], "article")
        + fill("post.html", host=host, cat_url=cat_url, category=esc(post["category"]), title=esc(title),
               author_id=post["author_id"], author=esc(post["author"]), date=date_html, views=post["views"],
               body="\n".join(lines), url=post["url"], notice=notice, tags_block=tags_block, share=share,
               pages="\n".join(pages), related="".join(rel_html),
               sidebar=_sidebar(site, now, site.spec["sidebar_post"]))
        + _footer(site, now, ("post", pid))
    )
    return page.encode("utf-8"), related


def _list_heading(site, kind, key) -> tuple[str, str]:
    """(page title, h1 text) of a list page."""
    if kind == "category":
        name = dict(site.categories)[int(key)]
        return name, name
    if kind == "tag":
        name = dict(site.tags)[int(key)]
        return name, name
    if kind == "author":
        name = dict(site.authors)[int(key)]
        return name, name
    if kind == "date":
        y, m = (key.split("-") if isinstance(key, str) else key)
        return f"{int(y)}年{int(m)}月", f"{int(y)}年{int(m)}月"
    return site.title, ""


def _pagebar(site, kind, key, page, total) -> str:
    """tpure's pagebar (category-1.html): 首页, now-page, next-page, numbered links, 下页, 尾页."""
    if total <= 1:
        return ""
    url = lambda p: site.list_url(kind, key, p)  # noqa: E731
    out = [f'                                            <a href="{url(1)}" class="m">首页</a>']
    if page > 1:
        out.append(f'                            <a href="{url(page - 1)}" class="m">上页</a>')
    lo = max(1, page - 4)
    hi = min(total, lo + 9)
    for p in range(lo, hi + 1):
        if p == page:
            out.append(f'                            <span class="now-page">{p}</span>')
        elif p == page + 1:
            out.append(f'                            <span class="next-page"><a href="{url(p)}">{p}</a></span>')
        else:
            out.append(f'                    \t\t<a href="{url(p)}">{p}</a>')
    if page < total:
        out.append(f'                            <a href="{url(page + 1)}" class="m">下页</a>')
    out.append(f'                            <a href="{url(total)}" class="m">尾页</a>')
    return ('                                        <div class="pagebar">\n' + "\n".join(out)
            + "\n                                </div>")


def render_list(site, kind: str, key, page: int, now: datetime) -> bytes:
    """A list page (home, category, tag, date, author), 10 posts, with the tpure pagebar.

    Raises KeyError for an unknown category/tag/author and for a page past the end."""
    ids, total = site.list_page(kind, key, page)
    if not ids and not (page == 1 and kind == "home"):
        raise KeyError(f"{site.host}: no list page {kind} {key} {page}")
    name, h1 = _list_heading(site, kind, key)
    items = []
    for pid in ids:
        s = _summary(site, pid)
        p = s["post"]
        items.append(fill("list_item.html", url=s["url"], title=esc(s["title"]), host=site.host,
                          author_id=p["author_id"], author=esc(p["author"]),
                          date=format_date(p["published"], now, site.date_style), views=p["views"],
                          thumb=s["thumb"], intro=esc(s["intro"]).replace("\xa0", "&nbsp;")))
    if kind == "home":
        crumb = ""
    elif kind == "category":
        crumb = (f'                        <div class="sitemap">当前位置：<a href="{site.base_url}">首页</a>\n'
                 f' &gt; <a href="{site.category_url(int(key))}" title="查看{esc(name)}中的全部文章">{esc(name)}</a>'
                 f"             </div>\n")
    else:
        crumb = (f'                        <div class="sitemap">当前位置：<a href="{site.base_url}">首页</a>\n'
                 f" &gt; {esc(name)}             </div>\n")
    filternav = fill("filternav.html", h1=esc(h1)) if h1 else ""
    title = name if page == 1 else f"{name} - 第{page}页"
    body_class = {"home": "index", "category": "category", "tag": "tag", "date": "date", "author": "author"}[kind]
    page_html = (
        _head(site, f"{title} - {NETWORK_NAME}" if kind != "home" else f"{NETWORK_NAME} - {site.title}", "",
              body_class)
        + fill("list.html", crumb=crumb, filternav=filternav, items="".join(items),
               pagebar=_pagebar(site, kind, key, page, total),
               sidebar=_sidebar(site, now, site.spec["sidebar_list"]))
        + _footer(site, now, (kind, str(key), page))
    )
    return page_html.encode("utf-8")


def render_feed(site, now: datetime) -> bytes:
    """feed.php: RSS 2.0 with the 20 newest posts, full HTML bodies, pubDate exact in +0800."""
    x = lambda s: html.escape(s, quote=True).replace("&#x27;", "&#39;")  # noqa: E731
    items = []
    for pid in site.newest(20):
        post = site.post(pid)
        title = post["title"]
        if post["traditional"]:
            title = content.opencc("s2t").convert(title)
        body = "\n".join(content.body_lines(post, site.host, site.style, lazy=False))
        pub = post["published"].astimezone(SITE_TZ).strftime("%a, %d %b %Y %H:%M:%S +0800")
        items.append(f"<item><title>{x(title)}</title><link>{post['url']}</link>"
                     f"<description>{x(body)}</description><pubDate>{pub}</pubDate></item>")
    xml = ('<?xml version="1.0" encoding="utf-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">'
           f"<channel><title>{x(NETWORK_NAME)}</title><link>{site.base_url}</link>"
           f"<description>{x(site.title)}</description>{''.join(items)}</channel></rss>")
    return xml.encode("utf-8")


def render_page(site, page_id: int, now: datetime) -> bytes:
    """A Z-BlogPHP single page from the menu (index.php/2.html "联系我们"); KeyError if none."""
    name = dict(site.spec["nav_pages"])[int(page_id)]
    broker = content.site_broker(site.network.seed, site.host, 0)
    up = f"http://{site.host}/zb_users/upload/"
    lines = [
        f"<p>{esc(NETWORK_NAME)}{esc(site.name)}站专注{esc(site.title)}，提供厂房出租出售、工业用地、招商引资对接服务。</p>",
        f"<p>招商热线：<strong>{HOTLINE}</strong></p>",
        "<p>微信/手机：" + "".join(f"<span>{m}</span>" for m in broker["mobiles"]) + "&nbsp;</p>",
        f'<p style="text-align: center;">{content.img_tag(up + broker["qr"], "", 180, lazy=True, host=site.host)}</p>',
        f"<p style=\"text-align: center;\">长按/扫一扫加{esc(broker['name'])}的微信号</p>",
    ]
    page = (_head(site, f"{name} - {NETWORK_NAME}", f"http://{site.host}/index.php/{int(page_id)}.html", "page")
            + fill("page.html", host=site.host, title=esc(name), body="\n".join(lines),
                   sidebar=_sidebar(site, now, site.spec["sidebar_list"]))
            + _footer(site, now, ("page", page_id)))
    return page.encode("utf-8")


def render_404(site, now: datetime) -> bytes:
    """Z-BlogPHP's "page not found" page in tpure style."""
    page = (_head(site, f"404 - {NETWORK_NAME}", "", "error")
            + fill("notfound.html", host=site.host, sidebar=_sidebar(site, now, site.spec["sidebar_list"]))
            + _footer(site, now, ("404",)))
    return page.encode("utf-8")
