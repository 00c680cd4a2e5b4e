"""Site knowledge as data: tpure selectors, boilerplate patterns, character swaps, date forms.

Nothing here runs; `crawler.extract`, `crawler.clean`, `crawler.normalize` and `crawler.dates`
read these constants. Every pattern says what it catches, which page shows it, and why it
cannot eat article text. Page references are to ``../shared/site-samples/``:
``post-3756.html`` (jinshan, contact block inside ``.single``), ``laian-post-1414.html``
(laian, contact block in ``.copynotice``), ``feed.xml`` (full bodies of 20 jinshan posts).
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------
# Page model: tpure 5.0.2 post page
# --------------------------------------------------------------------------------------
# Each part is (container div class, axis, element, element class): the elements ``element``
# (with the class token ``element class``, when one is given) that are children ("/") or
# descendants ("//") of a ``div`` with the container class token. `crawler.pagemodel` finds them
# all from one pass over the page's classed divs; `xpath(part)` spells a part as the XPath it
# equals (evaluated per part, the class predicates cost ~60 µs each on a 300-element page).


def _cls(name: str) -> str:
    """XPath predicate matching one token of the class attribute (not a substring)."""
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def xpath(part: tuple[str, str, str, str | None]) -> str:
    """The XPath a page-model part stands for."""
    container, axis, tag, cls = part
    return f"//div[{_cls(container)}]{axis}{tag}" + (f"[{_cls(cls)}]" if cls else "")


#: The post body. tpure renders it as ``div.single`` (``div.single viewall`` when the
#: "view all" fold is on) inside ``div.post``; list pages have ``div.post.item`` and no
#: ``.single``, which is how a list page is told apart from a post.
SINGLE = ("post", "//", "div", "single")
#: The title: the only ``h1`` inside ``div.post`` (list pages put theirs in ``.filternav``).
TITLE = ("post", "/", "h1", None)
#: The info line: author, date, category, views.
INFO = ("post", "/", "div", "info")
#: Breadcrumb ``当前位置：首页 > 分类 > 正文内容``: the category link is the last ``a`` whose
#: href is a category page (the first one is the home page).
BREADCRUMB_LINKS = ("sitemap", "/", "a", None)
TAGS = ("tags", "/", "a", None)
#: Related posts: each ``.relate`` shows the link twice (thumbnail ``img alt`` and ``h3 a``).
RELATED = ("relatecon", "/", "div", "relate")
PREV = ("pages", "//", "a", "single-prev")
NEXT = ("pages", "//", "a", "single-next")
#: The same parts as XPath, for tools that want one (bench/facts.py, tests).
XP_SINGLE = xpath(SINGLE)
XP_TITLE = xpath(TITLE)
XP_INFO = xpath(INFO)
#: Inside the info line (relative to it).
XP_AUTHOR = f"./span[{_cls('user')}]"
XP_DATE = f"./span[{_cls('date')}]"
#: The bracketed absolute part of a relative date: ``<span class="datetime"> (2024-11-04)</span>``.
XP_DATETIME = f".//span[{_cls('datetime')}]"
XP_INFO_CATEGORY = f"./span[{_cls('cate')}]/a"
#: ``div.block[data-cateurl]`` wraps the post and carries the category URL as well.
XP_CATEURL = "//div[@data-cateurl]/@data-cateurl"
#: Inside one ``.relate``: the title link, else any link.
XP_RELATED_H3 = ".//h3/a"
XP_RELATED_ANY = ".//a[@href]"
#: Head elements: looked for in ``<head>`` first (a short path), anywhere only when not there.
XP_CANONICAL = "//link[@rel='canonical']/@href"
XP_THEME = "//meta[@name='theme']/@content"
#: tpure marks the page type on ``<body class="article|category|index|...">``.
XP_BODY_CLASS = "//body/@class"
#: Body classes of tpure pages that are never a single post (list, search, error pages).
NON_POST_BODY_CLASSES = frozenset({"category", "index", "tag", "tags", "author", "date", "search", "list", "error", "page404"})
#: 404 pages of Z-BlogPHP/tpure: ``<body class="error">`` and "404" / 页面不存在 in the <title>.
NOT_FOUND_BODY_CLASSES = frozenset({"error", "page404"})
NOT_FOUND_MARKERS = ("404", "页面不存在", "Not Found", "您访问的页面不存在", "找不到")

#: Elements inside ``.single`` that never carry article text (scripts, share widgets, forms).
XP_SINGLE_JUNK = ".//script | .//style | .//form | .//iframe | .//noscript"

# Post and category URLs: the URL grammar in crawler.sites (POST_PATH, CATEGORY_PATH).

# --------------------------------------------------------------------------------------
# Contact block: the broker's WeChat/phone box
# --------------------------------------------------------------------------------------
# Shown at the end of ``.single`` on jinshan (post-3756.html, most posts in feed.xml) and in
# ``.copynotice div.zsbox`` on laian (laian-post-1414.html). Each pattern must match the WHOLE
# paragraph (``fullmatch`` on the stripped line): an article sentence that merely mentions a
# phone number or WeChat is longer and has other words around it, so it never matches.

CONTACT_LINE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "产业招商/厂房土地租售：400 0123 021": the broker's hotline line (label + digits only).
    ("hotline", re.compile(r"产业招商\s*/\s*厂房土地租售\s*[:：]?[\d\s\-—]*")),
    # "或微信/手机：135246785151356468684613391219793": mobiles in adjacent <span>s run together.
    ("wechat-phone", re.compile(r"(?:或|加)?微信\s*/\s*手机\s*[:：]?[\d\s\-—/、,，]*")),
    # "请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。": fixed prompt.
    ("needs-prompt", re.compile(r"请说明您的需求.{0,40}对接资源[。.]?")),
    # "长按/扫一扫加葛毅明的微信号": the QR prompt (name varies, wording fixed).
    ("qr-prompt", re.compile(r"长按\s*/\s*扫一扫.{0,20}")),
    # (after the specific prompts, which it would also match)
    # "葛毅明微信号", "来安招商专员微信号": the bold caption under the QR image. A name plus
    # 微信号 and nothing else; at most 16 characters, so no article sentence fits.
    ("wechat-caption", re.compile(r"[^。，,；;！？!?]{1,16}微信号?")),
    # "扫一扫关注公众号": caption of the second QR image.
    ("qr-follow", re.compile(r"扫一扫.{0,6}关注.{0,8}公众号.{0,4}")),
    # "扫描二维码推送至手机访问。": first line of the copy notice (leaks when a whole page is fed
    # to a general extractor).
    ("qr-push", re.compile(r"扫描二维码推送至手机访问[。.]?")),
    # "版权声明：本文由中国产业园区招商网发布…": copy notice; an article never starts so.
    ("copyright", re.compile(r"版权声明\s*[:：].*")),
    # "本文链接：http://…/post/3756.html": permalink line of the copy notice.
    ("permalink", re.compile(r"本文链接\s*[:：].*")),
    # "分享给朋友：" and the share labels of laian ("微博 QQ 微信 豆瓣 QQ空间 领英").
    ("share", re.compile(r"分享给朋友\s*[:：]?.*|(?:(?:微博|QQ|微信|豆瓣|QQ空间|领英)\s*){3,}")),
    # "标签: 新质生产力 镇江": the tags line under the copy notice.
    ("tags", re.compile(r"标签\s*[:：].{0,80}")),
    # "上一篇：…" / "下一篇：…" / "返回列表": prev/next navigation.
    ("prevnext", re.compile(r"(?:上一篇|下一篇)\s*[:：].*|返回列表")),
    # "相关文章": heading of the related block.
    ("related-head", re.compile(r"相关文章")),
]

#: A run of phone numbers alone on a line ("13524678515 13564686846", "135246785151356468684613391219793"),
#: optionally behind a short label ("电话：", "手机/微信："). `crawler.clean` also requires at least
#: PHONE_RUN_MIN_DIGITS digits: article text with a number in it has words around the number.
RE_PHONE_RUN_LINE = re.compile(r"(?:[^\d。，,；;:：]{0,8}[:：])?[\d\s\-—/、,，+]+(?:仅微信|微信同号)?")
PHONE_RUN_MIN_DIGITS = 11

#: QR and broker images: ``img alt`` / ``src`` / ``data-original`` containing these. Their
#: paragraph is dropped with the image (post-3756: ``alt="葛毅明微信"``; the second QR has
#: ``alt=""`` and is caught by its caption line ``扫一扫关注公众号`` instead).
RE_QR_IMAGE = re.compile(r"微信|二维码|公众号|qrcode|wechat|weixin", re.I)

# --------------------------------------------------------------------------------------
# Teaser list: the "more news" lines auto-collected into the post body
# --------------------------------------------------------------------------------------
# post-3756.html (7 lines after the (记者…) byline), laian-post-1414.html (7 lines after
# 来源：中国滁州网), feed.xml (6-8 lines per post, sometimes links to jsjinshan.com). Truncated
# titles cut at about 18-21 characters plus "..."; titles short enough stay whole, so
# often fewer than half end in "...". They are told from article text only as a RUN:
# at least TEASER_MIN_RUN consecutive short lines at the very end of the body, each
# without sentence punctuation, after at least one real paragraph. Article text never ends
# so: its paragraphs are sentences ending in 。！？ or a byline/source line, which are
# protected below, and captions/signatures are kept by KEEP_LINE_PATTERNS.

TEASER_MIN_RUN = 3
#: Longest teaser title seen: 21 characters before the "..." (feed.xml, post 3868).
TEASER_MAX_CHARS = 24
#: A truncated title: ends in three dots or an ellipsis character.
RE_TEASER_TRUNCATED = re.compile(r"(?:\.{3}|…{1,2}|。。。)$")
#: Characters that end or split sentences: a line containing these is prose, not a title.
RE_SENTENCE_PUNCT = re.compile(r"[。！？!?；;，,：:]")

# --------------------------------------------------------------------------------------
# Lines that belong to the article even though they are short
# --------------------------------------------------------------------------------------
# Bylines and credits (feed.xml: 来源：金山区经委 / 责任编辑：尹敏; post-3756: (记者朱婕通讯员
# 仲楠徐若鹏)), captions (feed.xml post 3868: 图为签约仪式现场), signature/date lines of
# announcements (feed.xml post 3880). No boilerplate rule may remove them.
KEEP_LINE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("source", re.compile(r"^(?:来源|來源|稿源|出处|转自|原标题|原標題|责任编辑|責任編輯|编辑|編輯|审核|审校|校对|作者|记者|記者|通讯员|摄影|攝影|图|圖|文|供稿|撰稿)\s*[:：丨|/]")),
    ("byline", re.compile(r"^[（(【\[]\s*(?:记者|記者|通讯员|通訊員|文|图|圖|作者|来源|來源).*[)）】\]]$")),
    ("caption", re.compile(r"^(?:图为|圖為|图片|圖片|图源|图：|圖：|上图|下图|▲|△)")),
    ("date-line", re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$|^\d{4}-\d{1,2}-\d{1,2}$")),
]

#: "金山网讯 …" / "中国滁州网讯" / "来源：中国滁州网": the source outlet named in the body.
RE_SOURCE_LINE = re.compile(r"^(?:来源|來源|稿源|转自)\s*[:：]\s*(.{1,40}?)\s*$")
RE_SOURCE_WANGXUN = re.compile(r"^([\u4e00-\u9fff]{1,12}?(?:网|網|报|報|台|社))讯\s")
#: "(记者朱婕通讯员仲楠徐若鹏)" at the end of the last paragraph, or alone on a line.
RE_REPORTER = re.compile(r"[（(]\s*((?:记者|記者|通讯员|通訊員)[^()（）]{1,60})[)）]\s*$")

# --------------------------------------------------------------------------------------
# Character swaps (ad-law evasion) and masks
# --------------------------------------------------------------------------------------
# China's Advertising Law (art. 9) forbids superlatives such as 最 / 第一 / 国家级 in ads, so
# these sites write look-alike characters instead. Each pair needs evidence from the network;
# add a pair only with a page that shows it.
AD_LAW_SWAPS: dict[str, str] = {
    # 蕞 (a rare character, "small/gathered") for 最 "most": post-3756.html "全国先进制造业百强市
    # 蕞新排名" and its teaser "明晨蕞低气温跌..."; laian-post-1414.html "在全省蕞新公布的开发区
    # 综合考核中"; post 3756 of the live site as captured in ../shared/seed/post-3756.txt.
    "蕞": "最",
}

#: ``*`` standing for a censored character between two CJK characters ("安徽*大"). A ``*`` at
#: the start of a note ("*本页涉及面积…", feed.xml post 3889) is a footnote mark, not a mask.
RE_MASK = re.compile(r"(?<=[\u3400-\u9fff])\*+(?=[\u3400-\u9fff])")

# --------------------------------------------------------------------------------------
# Phone numbers (optional masking; off by default)
# --------------------------------------------------------------------------------------
#: Mainland mobiles 1[3-9]xxxxxxxxx, not part of a longer digit run.
RE_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
#: 400/800 service numbers as printed: "400 0123 021", "400-012-3021", "4000123021".
RE_SERVICE = re.compile(r"(?<!\d)[48]00[\s\-]?\d{3,4}[\s\-]?\d{3,4}(?!\d)")
#: Landlines with an area code: "021-57123456", "0550 7012345", "(021)57123456".
RE_LANDLINE = re.compile(r"(?<!\d)(?:[（(]0\d{2,3}[)）]\s?|0\d{2,3}[\s\-])\d{7,8}(?!\d)")

# --------------------------------------------------------------------------------------
# Dates: tpure relative and absolute styles (page times are China Standard Time, UTC+8)
# --------------------------------------------------------------------------------------
#: tpure's units, largest first, in seconds (tpure counts a year as 360 days, a month as 30);
#: the one table crawler.dates (page dates) and crawler.discover (list dates) read.
RELATIVE_UNITS: dict[str, int] = {
    "年": 360 * 86400,
    "月": 30 * 86400,
    "周": 7 * 86400,
    "天": 86400,
    "小时": 3600,
    "分钟": 60,
    "秒": 1,
}
#: Other spellings of those units: "个月" (tpure's own), traditional script, 日 for 天.
RELATIVE_UNIT_ALIASES: dict[str, str] = {"个月": "月", "個月": "月", "週": "周", "日": "天", "小時": "小时",
                                         "分鐘": "分钟"}
RE_RELATIVE = re.compile(r"(\d+)\s*(年|个月|個月|月|周|週|天|日|小时|小時|分钟|分鐘|秒)\s*前")
RE_JUST_NOW = re.compile(r"刚刚|剛剛")
RE_BRACKET_FULL = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
RE_BRACKET_MD = re.compile(r"(?<![\d-])(\d{1,2})-(\d{1,2})(?![\d-])")
#: Absolute styles tpure offers: YYYY-MM-DD[ HH:MM[:SS]] and YYYY年MM月DD日[ HH:MM[:SS]].
RE_ABSOLUTE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


# --------------------------------------------------------------------------------------
# Off-template pages (crawler.extract.fallback_body): the blocks around a news article that
# are never the article, on any Chinese news layout. A block is dropped only when it does not
# hold the article's title heading and holds less than half of the page's paragraph text.

#: class/id words of such blocks: readers' comments (Z-BlogPHP's default theme: ul.msg,
#: li.msgarticle, #divCommentPost), related/recommended news (相关新闻 = xgxw, 相关文章 = xgwz,
#: Z-BlogPHP's .mutuality), sidebars (Z-BlogPHP's #divSidebar, portals' .side-box).
RE_SIDE_BLOCK_NAME = re.compile(
    r"(?:^|[\s_-])(?:comments?|commentlist|comment-?list|cmt\d*|msg|msgarticle|pinglun|replies"
    r"|related|relate|relevant|xgxw|xgwz|xiangguan|mutuality|recommend|tuijian|guess-?like"
    r"|sidebar|divsidebar|side-?box|aside)(?:[\s_-]|\d|$)"
    # "side" alone only as a whole class/id token (class="side"): "left-side" may hold the article
    r"|(?:^|\s)side(?:\s|$)",
    re.I,
)
#: The same words found anywhere in a class/id (divCommentPost, postComment, rightSidebar).
RE_SIDE_BLOCK_SUBSTRING = re.compile(r"comment|pinglun|sidebar", re.I)
#: Labels of a news page's info line ("发布时间：… 来源：… 作者：… 浏览：…次") and of Z-BlogPHP's
#: post footer ("作者:… | 分类:… | 浏览:…"): metadata, not article text.
RE_INFO_LABEL = re.compile(r"(发布时间|發布時間|发布日期|发稿时间|时间|日期|来源|來源|作者|编辑|編輯|责任编辑|浏览|瀏覽|"
                           r"浏览次数|点击|點擊|点击数|阅读|閱讀|阅读量|分类|分類|栏目|字号|字體|字体)\s*[:：]")
#: An info line also names a date or a counter (a "来源：X 作者：Y" credit line alone is article text).
RE_INFO_EVIDENCE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}|浏览|瀏覽|点击|點擊|阅读|閱讀|分类|分類|字号|字体")
#: Info lines are short.
INFO_LINE_MAX_CHARS = 120

#: What follows a block heading's label: a "更多>>" / "more" link, arrows, colons.
RE_LABEL_TAIL = re.compile(r"(?:更多|more|MORE|More)?[>»›\s:：+]*$")
#: Headings that open such a block; the smallest element holding the heading and more is dropped.
SIDE_BLOCK_LABELS = frozenset({
    "相关新闻", "相关文章", "相关阅读", "相关资讯", "相关报道", "相关链接", "延伸阅读", "推荐阅读", "推荐文章",
    "热门文章", "热门新闻", "热点新闻", "热门推荐", "猜你喜欢", "最新文章", "最新资讯", "网友评论", "评论列表",
    "最新评论", "发表评论", "热门评论", "精彩评论", "相關新聞", "相關文章", "延伸閱讀", "推薦閱讀", "熱門文章",
    "網友評論", "関連記事", "関連ニュース", "コメント",
})

#: Site footer lines that trafilatura keeps on portal and government pages (主办单位：… 承办单位：…,
#: 网站标识码 … ICP备案号 …, Copyright … 版权所有): removed from fallback text when they are a whole line.
RE_FOOTER_LINE = re.compile(
    r"^(?:主办单位|承办单位|协办单位|主办|承办|技术支持|网站标识码|网站备案|ICP备案号|联系我们)\s*[:：]"
    r"|ICP[备證证]\s*\d|公网安备|公安机关备案|网站标识码|All Rights Reserved|版权所有|版權所有|Copyright\s*(?:©|\(c\)|&copy;)"
    # portal footers: the complaint hotline/mailbox every Chinese news site must show, the
    # licence numbers, and the Korean youth-protection officer line
    r"|(?:违法和不良信息|不良信息)?举报(?:电话|邮箱|专区)\s*[:：]|服务邮箱\s*[:：]|(?:增值电信业务|网络文化|互联网新闻信息服务)经营?许可证"
    r"|청소년보호책임자",
    re.I,
)
#: Footer lines are short.
FOOTER_LINE_MAX_CHARS = 150

#: Page chrome lines around a news article: prev/next links, share bars, print/close links, and
#: a publication time alone on its line (a signature date without a time stays article text).
RE_PAGE_CHROME_LINE = re.compile(
    r"^(?:上一篇|下一篇|上一条|下一条|上一篇文章|下一篇文章|分享到|【?打印本页|【?关闭窗口)\s*[:：】]?"
    r"|^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s+\d{1,2}:\d{2}(?::\d{2})?$"
)

# --------------------------------------------------------------------------------------
# Off-template pages, continued: how Chinese/CJK news and government sites are built
# --------------------------------------------------------------------------------------
# Written from the markup conventions of TRS WCM government sites, 政府信息公开 pages,
# DedeCMS/PHPCMS/EmpireCMS, WordPress, Discuz!, WeChat article mirrors and the big portals
# (sina/163/sohu/people/xinhua); the hand-written pages in ``tests/offsite/`` imitate each.
# Every line rule below matches a WHOLE line (``fullmatch`` on the cleaned line) of at most
# FALLBACK_CHROME_MAX_CHARS characters, unless it says otherwise.

#: Words of side-block class/ids that only the big portals and CMS themes use: statements and
#: reprint notices under the article (163 ``post_statement``, sina/sohu ``statement``), QR boxes (WeChat ``qr_code_pc``, gov
#: ``ewm``), Discuz!'s reaction box ``#click_div``. A block so named never holds the article;
#: the title/half-text guard of `crawler.extract` still applies. Not "copyright": CSS-module
#: class names put it on credit lines (``index_copyright__x`` holding 校对：…); reprint notices
#: under the article go by the "reprint" line rule instead.
RE_SIDE_BLOCK_EXTRA = re.compile(
    r"statement|disclaimer|mianze|shengming|qr_?code|erweima|click_div", re.I)

#: Comment sections are often headed by a label with a count: "网友留言（10条）", "全部评论(36)",
#: "评论 12": the count is stripped before the heading is looked up in SIDE_BLOCK_LABELS.
RE_LABEL_COUNT = re.compile(r"[（(]?\s*(?:共\s*)?\d+\s*(?:条|則|件|개)?\s*[)）]?$")
#: "查看全部" / "查看更多" / "全部" links beside a block heading (like "更多>>").
RE_LABEL_MORE = re.compile(r"(?:查看全部|查看更多|全部|更多|more)[>»›\s]*$", re.I)
#: Block headings of comment sections, "more from this account" lists and rankings, beyond
#: SIDE_BLOCK_LABELS (these sites' own wording; Traditional, Japanese and Korean forms too).
SIDE_BLOCK_LABELS_EXTRA = frozenset({
    "网友留言", "全部评论", "全部留言", "读者留言", "读者评论", "精选留言", "评论", "跟贴", "跟帖", "我要评论",
    "往期推荐", "往期回顾", "往期精选", "精彩推荐", "相关推荐", "为你推荐", "大家都在看", "热点新闻", "热门排行",
    "本地热读", "热门阅读", "热门点击", "点击排行", "阅读排行", "排行榜", "今日热门", "熱門新聞", "相關新聞",
    # a site's contact box in a side column (a notice's own contact section says 联系方式)
    "联系我们",
    "最新消息", "即時新聞", "アクセスランキング", "関連キーワード", "관련기사", "많이 본 뉴스", "댓글",
})
#: A block opened by such a heading is dropped even when it holds most of the page's text (a
#: comment section ten times the article), but only when the title heading is known and lies
#: outside the block, and the heading opens the block: at most this many characters before it.
SIDE_BLOCK_OPENING_CHARS = 10

#: 政府信息公开 metadata: the 索引号/发布机构/发文日期/文号 table (or list) above a disclosed
#: document. A table whose cells carry at least DISCLOSURE_MIN_LABELS of these labels is page
#: metadata (the date is read from it, the text is not article); labels are matched with the
#: spaces that pad them ("索 引 号", "文　　号") removed. An article's own data table has column
#: heads, not several of these label-with-colon cells.
DISCLOSURE_LABELS = frozenset({
    "索引号", "发布机构", "发文机关", "发文机构", "信息来源", "主题分类", "体裁分类", "组配分类", "服务对象",
    "成文日期", "发文日期", "发布日期", "生成日期", "公开日期", "文号", "发文字号", "有效性", "时效性",
    "名称", "标题", "公开方式", "公开范围", "公开形式", "所属机构", "关键词", "主题词", "信息分类", "内容分类",
})
DISCLOSURE_MIN_LABELS = 3
#: label followed by a colon, spaces inside the label allowed (cell text or one line).
RE_DISCLOSURE_LABEL = re.compile(
    r"(" + "|".join(r"\s*".join(label) for label in sorted(DISCLOSURE_LABELS, key=len, reverse=True)) + r")\s*[:：]")

#: Longest line a chrome rule below may remove.
FALLBACK_CHROME_MAX_CHARS = 160

#: One page control: print/close/back/top buttons, font-size switchers ("字号：大 中 小"), the
#: share-bar label, Discuz!/portal reaction buttons (鲜花 鸡蛋, 顶一下), 纠错, the author card's
#: "+关注" and 举报/反馈 of self-media platforms (百家号, 搜狐号, 网易号). A line made of
#: nothing but such controls (brackets, bars and counts between them) is chrome; a sentence has
#: other words.
_CONTROL = (
    r"(?:(?:我要)?打印(?:本页|本文|此页|文章|页面)?|关闭(?:窗口|本页|页面)?|返回(?:顶部|列表|首页)?|收藏(?:本页|本文)?|加入收藏"
    r"|展开全文|展开剩余\s*\d+\s*%|阅读全文|查看全文|阅读原文|查看原文|点击查看(?:更多|全文)"
    r"|顶一下|踩一下|我要纠错|纠错|挑错|推荐|举报|复制链接|複製連結|URL복사|印刷する|印刷|"
    r"(?:字[体號号級级]|字級設定|字体大小|文字サイズ|글씨크기)\s*[:：]?\s*(?:[大中小特标準默认]|크게|작게|\s)*"
    r"|分享(?:到|至)?\s*[:：]?|分享|鲜花|鸡蛋|握手|雷人|路过|震惊|感动|难过|开心|愤怒|无聊|同情|搞笑|点赞|在看"
    r"|(?:点个?|点点)(?:分享|收藏|赞|点赞|在看)|赞|踩|微信|微博|QQ空间|QQ好友|QQ|人人网|豆瓣|LINE|Facebook|Twitter"
    r"|\+\s*关注|已关注|取消关注|关注|反馈|举报/反馈"
    r"|페이스북|트위터|카카오톡|공유하기|シェア|ポスト|LINEで送る|上一篇|下一篇)"
)
RE_CONTROL_LINE = re.compile(rf"(?:[\s|｜/【】\[\]()（）『』〖〗·•]*{_CONTROL}\s*\d*)+[\s|｜/【】\[\]()（）『』〖〗·•]*", re.I)

#: Whole chrome lines, each (name, pattern); fullmatch on the line, at most FALLBACK_CHROME_MAX_CHARS.
FALLBACK_CHROME_LINES: list[tuple[str, re.Pattern[str]]] = [
    # Platform statements under portal articles: "特别声明：以上内容…仅提供信息存储服务"
    # (163), "平台声明：该文观点仅代表作者本人…" (sohu), "新浪声明：此消息系转载…" (sina),
    # "免责声明：…". A statement an article makes is not labelled so.
    ("statement", re.compile(r"(?:特别声明|平台声明|免责声明|免責聲明|新浪声明|网站声明|版权声明|版權聲明)\s*[:：].*")),
    # Reprint notices: "本文来自投稿，不代表X立场，如若转载，请注明出处：URL", "转载请注明出处",
    # "观点仅代表作者本人",
    # "未经授权禁止转载", "本網站之文字…非經授權，不得轉載…", "…の無断転載を禁じます",
    # "무단전재 및 재배포 금지": a site's notice, never reporting.
    ("reprint", re.compile(r".{0,60}(?:如若转载|转载请注明|轉載請註明|未经(?:书面)?授权.{0,10}(?:转载|使用|复制)|非經授權.{0,6}不得轉載"
                           r"|不得轉載|仅代表作者(?:本人)?(?:观点|立场)|無断転載|무단전재).*")),
    # App promotions: "海量资讯、精准解读，尽在新浪财经APP", "点我下载APP", "打开客户端阅读". Not
    # a line ending a sentence (。！？): "市民可下载某某APP办理。" is reporting; the verb opens the
    # line or follows a comma, a space or 点我/点击/请 ("下载量突破百万的国产APP" is a subhead).
    ("app", re.compile(r"(?!.*[。！？]$)(?:.{0,40}(?:[\s，,、:：!！]|点我|點我|点击|點擊|请|請|立即))?(?:尽在|下载|下載|打开|打開)"
                       r"[^\s，,。量数數]{0,8}(?:APP|App|app|客户端|客戶端)(?:\s*\S{0,12}){0,4}")),
    # QR prompts: "扫一扫在手机打开当前页", "长按识别二维码关注我们", "微信扫一扫", "扫码关注":
    # a scan verb plus (optionally) what it opens, nothing else; "扫描电镜投入使用" has other words.
    ("qr", re.compile(r"(?!.*[。！？]$).{0,12}(?:扫一扫|掃一掃|扫码|掃碼|扫描|掃描|长按|長按)(?:.{0,12}(?:二维码|二維碼|公众号|公眾號"
                      r"|关注|關注|当前页|當前頁|访问|訪問|打开|打開).{0,12})?")),
    # "关注该公众号", "关注我们": the second line of a QR caption split by <br>.
    ("follow", re.compile(r"(?:关注|關注)(?:该|我们的|我們的)?(?:公众号|公眾號|我们|我們)")),
    # "#产业园 #高新区": hashtag lists (WeChat js_tags, Weibo-style tags); no sentence punctuation.
    ("hashtags", re.compile(r"(?:#[^#\s。，,！？；]{1,16}#?\s*)+")),
    # "阅读 3.2万", "阅读 (3287)", "浏览次数：1532", "点击：268次": a counter alone on its line.
    ("counter", re.compile(r"(?:阅读|閱讀|浏览|瀏覽|浏览次数|浏览量|阅读量|阅读数|点击|點擊|点击数|点击量|评论|評論|人气|访问量|查看|参与)"
                           r"\s*[:：]?\s*[(（]?\s*[\d.,]+\s*[万萬wW+]?\s*[)）]?\s*次?")),
    # A credit label with nothing after it: "责任编辑：" (sohu leaves the name empty), "来源：".
    ("empty-label", re.compile(r"[(（【\[]?\s*(?:责任编辑|責任編輯|编辑|編輯|来源|來源|作者|记者|審核|审核|校对)\s*[:：]?\s*[)）】\]]?")),
    # Download links of attachments: "附件：1.某某办法.docx", "相关附件：申报表.doc", "2.清单.xlsx"
    # (a line ending in an office-file extension, or 相关附件/附件下载 labels): links, not text.
    ("attachment", re.compile(r"(?:(?:相关附件|附件下载|附件)\s*[:：]?\s*)?.{0,80}\.(?:docx?|xlsx?|pdf|zip|rar|wps|et|ofd|pptx?|txt)"
                              r"|(?:相关附件|附件下载)\s*[:：].*", re.I)),
    # "原标题：…" hidden behind display:none (sohu) duplicates the title; it is kept as a credit line
    # elsewhere, so no rule here. Breadcrumbs: "当前位置：首页 > 新闻 > 正文", "您现在的位置：…".
    ("breadcrumb", re.compile(r"(?:您?(?:当前|現在|现在|目前|所在)(?:的|所在的)?位置|當前位置)\s*[:：].*")),
    # Time stamps behind labels, nothing else: "기사입력 2024-09-20 09:05 | 최종수정 2024-09-20 10:12",
    # "配信 2024年5月31日 19時10分", "更新时间：2024-05-12", "Posted 2024-05-12": the info line of
    # Korean/Japanese papers, whose labels take no colon (RE_INFO_LABEL needs one).
    ("timestamps", re.compile(r"(?:[\s|｜/·•]*(?:기사입력|입력|최종수정|수정|승인|등록|업데이트|配信|更新|公開|掲載|发布时间|更新时间|发布于"
                              r"|更新于|发表于|發佈時間|更新時間|Posted|Updated|Published)\s*[:：]?\s*"
                              r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*(?:\d{1,2}\s*[:時]\s*\d{2}\s*分?(?::\d{2})?)?)+"
                              r"[\s|｜/·•]*", re.I)),
    # Pagination of a split article or a comment list: "上一页 1 2 3 下一页", "共3页 第1页 尾页".
    ("pagination", re.compile(r"(?=.*(?:上一页|下一页|尾页|末页|首页|页))(?:(?:上一页|下一页|首页|尾页|末页|第\s*\d+\s*页|共\s*\d+\s*页"
                              r"|\d+|[<>«»‹›]+|…|\.\.\.)\s*){2,}")),
    # Discuz!'s footer line "GMT+8, 2024-5-20 14:33, Processed in 0.05 second(s), 21 queries".
    ("processed", re.compile(r".{0,40}Processed in [\d.]+ second.*", re.I)),
]

#: Link lists (menus, 相关链接, 附件 lists, "more news" columns): a block with at least
#: LINK_LIST_MIN_LINKS links whose text outside the links is at most LINK_LIST_MAX_PLAIN of its
#: text (separators RE_LINK_SEPARATORS not counted) is navigation. Old table-layout pages leave
#: their menus in the page after the layout is unwrapped, and trafilatura then keeps them as lines
#: of the article. A paragraph of the article with links in it has its own words between them.
LINK_LIST_MIN_LINKS = 3
LINK_LIST_MAX_PLAIN = 0.15
RE_LINK_SEPARATORS = re.compile(r"[\s|｜/·•>›»<‹«,，、;；\-—_\[\]【】()（）:：.。]+")
