"""Post pages the tpure model does not fit: other themes and legacy encodings (issue 14).

A subsite that switched themes (``Network(themes={host: "default"})``) renders its posts with
the markup of Z-BlogPHP's bundled ``default`` theme, or with a generic Chinese news-portal
layout (``"news"``); ``Network(charsets={host: "gbk"})`` serves them in GBK, Big5 or Shift_JIS
with the charset only in the HTTP ``Content-Type`` header (no ``<meta>``), as many older
Chinese servers do. The article text is the post's gold text; around it each page carries
what makes choosing the article block hard on real news pages: a related-news block whose
items have long summaries, readers' comments, sidebar boxes with paragraphs, an info line,
prev/next links and a footer.

Only post pages change theme; list pages, feeds and sitemaps stay tpure (discovery is not
what these pages test).
"""

from __future__ import annotations

import re
from datetime import datetime

from crawler.replica.content import opencc
from crawler.clock import SITE_TZ as CHINA
from crawler.replica.model import HOTLINE, NETWORK_NAME, stable_rng
from crawler.replica.render import esc

#: Themes a subsite can switch to (besides tpure).
THEMES = ("default", "news")
#: Charsets a subsite can be served in; the legacy ones only in the HTTP header.
CHARSETS = ("utf-8", "gbk", "big5", "shift_jis")

# Readers' comments: long, article-like sentences (what fools a "longest text block" guess).
_COMMENTS = [
    "这个园区我去年实地看过，交通确实方便，离高速出入口不到十分钟，周边配套也在逐步完善，就是招工稍微难一些，希望管委会在人才公寓方面再多下点功夫。",
    "请问{name}这边的标准厂房现在还有空置的吗？我们是做精密零部件的，需要一楼承重高一点的车间，面积大概两千平方米左右，环评方面有没有特别的要求？",
    "政策力度很大，但是落地还要看执行。我们公司前年入驻的时候，手续办理确实比以前快了很多，一窗受理、并联审批，这一点要给园区点个赞。",
    "看到家乡的发展越来越好，心里真高兴。{name}这几年变化太大了，以前都是农田，现在一排排厂房，道路也修得宽敞整洁，希望能引进更多好项目。",
    "土地价格这几年涨得有点快，对中小企业来说压力不小，建议多推出一些小面积的地块或者定制厂房，让更多的创新型企业能够留下来发展。",
]
_COMMENT_NAMES = ["网友", "游客", "园区企业主", "老陈", "小周", "招商爱好者", "本地居民"]

# Sidebar boxes with running text (site intro, service promise): paragraphs outside the article.
_INTRO = ("{title}是{network}旗下的区域站点，专注于{name}及周边地区的厂房出租出售、工业用地招商和园区政策解读，"
          "长期为制造业、物流仓储和研发类企业提供选址咨询、政策申报和落地服务，累计服务企业超过三千家。")
_SERVICE = ("我们承诺：信息真实有效，实地带看不收取任何费用；可协助企业办理工商注册、环评审批和项目备案等手续，"
            "全程免费代办。欢迎来电咨询：{hotline}。")


def _day(published: datetime) -> str:
    """The publication time as news portals print it (China time)."""
    return published.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _others(site, pid: int, n: int) -> list[int]:
    """n other visible posts with some text (related news), deterministic per post."""
    ids = site.post_ids()
    rng = stable_rng(site.network.seed, site.host, pid, "offtemplate-related")
    pool = [i for i in ids if i != pid]
    rng.shuffle(pool)
    out = []
    for other in pool:
        if len(site.gold(other)["text"]) >= 80:
            out.append(other)
        if len(out) == n:
            break
    return out


def _summary(site, pid: int) -> str:
    """A related item's summary: the first long paragraph of that post, cut like portals do."""
    for para in site.gold(pid)["paragraphs"]:
        if len(para) >= 40:
            return para[:110] + ("…" if len(para) > 110 else "")
    return site.gold(pid)["paragraphs"][0]


def _parts(site, pid: int) -> dict:
    """Everything a theme shows, escaped, from the post's gold and its neighbours."""
    g = site.gold(pid)
    rng = stable_rng(site.network.seed, site.host, pid, "offtemplate")
    related = [(site.post_url(o), esc(site.gold(o)["title"]), esc(_summary(site, o))) for o in _others(site, pid, 4)]
    comments = []
    for k in range(rng.randint(2, 4)):
        text = rng.choice(_COMMENTS).format(name=site.name)
        comments.append((esc(rng.choice(_COMMENT_NAMES) + str(rng.randint(10, 999))), esc(text),
                         f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d} {rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}"))
    prev_id, next_id = site.neighbours(pid)
    fmt = {"title": site.title, "network": NETWORK_NAME, "name": site.name, "hotline": HOTLINE}
    return {
        "g": g,
        "title": esc(g["title"]),
        "paras": [esc(p) for p in g["paragraphs"]],
        "related": related,
        "comments": comments,
        "prev": (site.post_url(prev_id), esc(site.gold(prev_id)["title"])) if prev_id else None,
        "next": (site.post_url(next_id), esc(site.gold(next_id)["title"])) if next_id else None,
        "intro": esc(_INTRO.format(**fmt)),
        "service": esc(_SERVICE.format(**fmt)),
        "day": _day(g["published"]),
        "views": g.get("views", 100),
    }


def _default_theme(site, p: dict) -> str:
    """Z-BlogPHP's bundled ``default`` theme (divAll/divMain/divSidebar, post-body, commentlist)."""
    g, b = p["g"], site.base_url
    body = "\n".join(f"<p>{t}</p>" for t in p["paras"])
    tags = "".join(f'<a href="{b}index.php/tags-{tid}.html">{esc(name)}</a>' for tid, name in zip(g["tag_ids"], g["tags"]))
    comments = "\n".join(
        f'<ul class="msg" id="cmt{i + 1}"><li class="msgname"><img class="avatar" src="{b}zb_users/avatar/0.png" alt="">'
        f'<span class="commentname">{name}</span><br><small>&nbsp;发布于&nbsp;{when}&nbsp;&nbsp;'
        f'<span class="revertcomment"><a href="#comment">回复</a></span></small></li>'
        f'<li class="msgarticle"><p>{text}</p></li></ul>'
        for i, (name, text, when) in enumerate(p["comments"]))
    related = "\n".join(f'<li><a href="{u}" title="{t}">{t}</a><p>{s}</p></li>' for u, t, s in p["related"])
    nav = "".join(f'<li><a href="{site.category_url(cid)}">{esc(n)}</a></li>' for cid, n in site.categories)
    prev = f'<a class="l" href="{p["prev"][0]}" title="{p["prev"][1]}">« 上一篇</a>' if p["prev"] else ""
    nxt = f'<a class="r" href="{p["next"][0]}" title="{p["next"][1]}"> 下一篇 »</a>' if p["next"] else ""
    return f"""<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="zh-CN" lang="zh-CN">
<head>
	<meta name="generator" content="Z-BlogPHP 1.7.5" />
	<title>{p["title"]}_{esc(site.title)}</title>
	<link rel="stylesheet" href="{b}zb_users/theme/default/style/default.css" type="text/css" media="all" />
	<script src="{b}zb_system/script/jquery-2.2.4.min.js"></script>
</head>
<body class="single">
<div id="divAll">
	<div id="divPage">
	<div id="divMiddle">
		<div id="divTop">
			<h1 id="BlogTitle"><a href="{b}">{esc(site.title)}</a></h1>
			<h3 id="BlogSubTitle">{esc(NETWORK_NAME)}</h3>
		</div>
		<div id="divNavBar"><hr/><ul><li><a href="{b}">首页</a></li>{nav}</ul><hr/></div>
		<div id="divMain">
<div class="post single">
	<h4 class="post-date">{p["day"]}</h4>
	<h2 class="post-title">{p["title"]}</h2>
	<div class="post-body">{body}</div>
	<h5 class="post-tags">标签: {tags}</h5>
	<p class="post-footer">作者:{esc(g["author"])} | 分类:<a href="{g["category_url"]}">{esc(g["category"])}</a> | 浏览:{p["views"]}</p>
</div>
<div class="post pagebar">{prev}{nxt}</div>
<div class="post mutuality"><h4>相关文章:</h4><ul class="mutuality">
{related}
</ul></div>
<ul class="msg msghead"><li class="tbname">评论列表:</li></ul>
<label id="AjaxCommentBegin"></label>
{comments}
<label id="AjaxCommentEnd"></label>
<div class="post" id="divCommentPost"><p class="posttop"><a name="comment">发表评论:</a></p>
<form id="frmSumbit" target="_self" method="post" action="{b}zb_system/cmd.php?act=cmt"><p><input type="text" name="inpName" id="inpName" class="text" value="" size="28" tabindex="1" /> <label for="inpName">名称(*)</label></p>
<p><textarea name="txaArticle" id="txaArticle" class="text" cols="50" rows="4" tabindex="5"></textarea></p>
<p><input name="sumbit" type="submit" tabindex="6" value="提交" class="button" /></p></form></div>
		</div>
		<div id="divSidebar">
<dl class="function" id="divContorPanel"><dt class="function_t">关于本站</dt><dd class="function_c"><div>{p["intro"]}</div></dd></dl>
<dl class="function" id="divCatalog"><dt class="function_t">网站分类</dt><dd class="function_c"><ul>{nav}</ul></dd></dl>
<dl class="function" id="divService"><dt class="function_t">服务承诺</dt><dd class="function_c"><div>{p["service"]}</div></dd></dl>
		</div>
		<div id="divBottom">
			<h3 id="BlogCopyRight">Copyright © {esc(site.title)} 版权所有</h3>
			<h4 id="BlogPowerBy">Powered By <a href="https://www.zblogcn.com/" title="RainbowSoft Z-BlogPHP" target="_blank">Z-BlogPHP</a></h4>
		</div><div class="clear"></div>
	</div><div class="clear"></div>
	</div><div class="clear"></div>
</div>
</body>
</html>
"""


def _news_theme(site, p: dict) -> str:
    """A generic Chinese news-portal layout (header, breadcrumb, info line, #zoom body, boxes)."""
    g, b = p["g"], site.base_url
    body = "\n".join(f'<p style="text-indent:2em;">{t}</p>' for t in p["paras"])
    related = "\n".join(f'<li><h4><a href="{u}" target="_blank">{t}</a></h4><p class="summary">{s}</p></li>'
                        for u, t, s in p["related"])
    comments = "\n".join(f'<div class="comment-item"><div class="comment-user">{name} <span>{when}</span></div>'
                         f'<div class="comment-text">{text}</div></div>' for name, text, when in p["comments"])
    nav = "".join(f'<a href="{site.category_url(cid)}">{esc(n)}</a>' for cid, n in site.categories)
    prev = f'<p>上一篇：<a href="{p["prev"][0]}">{p["prev"][1]}</a></p>' if p["prev"] else "<p>上一篇：没有了</p>"
    nxt = f'<p>下一篇：<a href="{p["next"][0]}">{p["next"][1]}</a></p>' if p["next"] else "<p>下一篇：没有了</p>"
    source = esc(g.get("source") or site.title)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title>{p["title"]} - {esc(site.title)}</title>
<meta name="keywords" content="{esc(",".join(g["tags"]))}">
<link href="{b}static/css/news.css" rel="stylesheet" type="text/css">
</head>
<body>
<div class="top"><div class="wrap"><span>欢迎访问{esc(site.title)}</span><a href="{b}">设为首页</a> | <a href="{b}">加入收藏</a></div></div>
<div class="header wrap"><a class="logo" href="{b}"><img src="{b}static/images/logo.png" alt="{esc(site.title)}"></a></div>
<div class="nav wrap"><a href="{b}">首页</a>{nav}</div>
<div class="main wrap">
  <div class="position">当前位置：<a href="{b}">首页</a> &gt; <a href="{g["category_url"]}">{esc(g["category"])}</a> &gt; 正文</div>
  <div class="left">
    <div class="article">
      <h1 class="article-title">{p["title"]}</h1>
      <div class="article-info">发布时间：{p["day"]}&nbsp;&nbsp;来源：{source}&nbsp;&nbsp;作者：{esc(g["author"])}&nbsp;&nbsp;浏览：{p["views"]}次</div>
      <div class="article-content" id="zoom">
{body}
      </div>
      <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
      <div class="prenext">{prev}{nxt}</div>
    </div>
    <div class="related-news"><div class="box-title"><h3>相关新闻</h3></div><ul>
{related}
    </ul></div>
    <div class="comments"><div class="box-title"><h3>网友评论</h3></div>
{comments}
    </div>
  </div>
  <div class="right">
    <div class="side-box"><div class="box-title"><h3>关于我们</h3></div><div class="side-text"><p>{p["intro"]}</p></div></div>
    <div class="side-box"><div class="box-title"><h3>服务承诺</h3></div><div class="side-text"><p>{p["service"]}</p></div></div>
  </div>
</div>
<div class="footer"><p>Copyright © {esc(site.title)} All Rights Reserved</p><p>{esc(NETWORK_NAME)} 联系电话：{HOTLINE}</p></div>
</body>
</html>
"""


def _encode(html: str, charset: str) -> bytes:
    """The page in charset; Big5/Shift_JIS pages carry traditional forms, what those charsets hold.

    Characters the charset lacks become numeric references, as CMSes write them.
    """
    if charset in ("big5", "shift_jis"):
        html = opencc("s2t").convert(html)
    codec = {"gbk": "gbk", "big5": "big5", "shift_jis": "cp932"}.get(charset, "utf-8")
    return html.encode(codec, errors="xmlcharrefreplace")


def render_site_post(site, pid: int, now: datetime, rng=None) -> tuple[bytes, str]:
    """(bytes, Content-Type) of a post of a subsite with ``site.theme`` / ``site.charset`` set.

    A tpure subsite served in a legacy charset keeps tpure's markup without its ``<meta charset>``.
    """
    if site.theme != "tpure":
        return render_offtemplate(site, pid, site.theme, site.charset)
    from crawler.replica.render import render_post

    html = render_post(site, pid, now, rng)[0].decode("utf-8")
    if site.charset == "utf-8":
        return html.encode("utf-8"), "text/html; charset=UTF-8"
    html = re.sub(r'<meta\s+charset="[^"]*"\s*/?>', "", html, count=1, flags=re.I)
    return _encode(html, site.charset), f"text/html; charset={_HEADER_NAMES[site.charset]}"


_HEADER_NAMES = {"utf-8": "UTF-8", "gbk": "GBK", "big5": "Big5", "shift_jis": "Shift_JIS"}


def render_offtemplate(site, pid: int, theme: str = "default", charset: str = "utf-8") -> tuple[bytes, str]:
    """(page bytes, Content-Type header) of one post in another theme and charset.

    A UTF-8 page declares its charset in ``<meta>`` too; a legacy charset is only in the header.
    """
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r} (one of {', '.join(THEMES)})")
    if charset not in CHARSETS:
        raise ValueError(f"unknown charset {charset!r} (one of {', '.join(CHARSETS)})")
    parts = _parts(site, pid)
    html = (_default_theme if theme == "default" else _news_theme)(site, parts)
    if charset == "utf-8":
        html = html.replace("<head>\n", '<head>\n<meta charset="utf-8">\n', 1)
    return _encode(html, charset), f"text/html; charset={_HEADER_NAMES[charset]}"
