"""The chrome of off-template news pages: what Chinese/CJK news and government sites put around
an article, found by how such pages are built (rules in `crawler.rules`), for the fallback of
`crawler.extract` (``template = "fallback"``).

* lines: `chrome_rule` (controls, statements, reprint notices, app and QR prompts, counters,
  attachments, breadcrumbs), `is_disclosure_line` (政府信息公开 metadata rows);
* blocks: `unwrap_layout_tables`, `drop_link_lists`, `is_disclosure_table`;
* title and date: `title_before`, `date_after`, `labelled_date`.

Pure functions over lxml elements and strings; nothing here runs trafilatura.
"""

from __future__ import annotations

import functools
import re

from crawler import normalize, rules
from crawler.pagemodel import first as _first, text_of as _text

#: Elements that may be an off-template page's title heading: h1-h3 and *title* classes/ids.
#: Class names are matched without case: Chinese CMS templates write showTitle, newsTitle, artTitle.
XP_TITLE_CANDIDATES = ("//h1 | //h2 | //h3 | //*[contains(translate(@class, 'TITLE', 'title'), 'title') "
                       "or contains(translate(@id, 'TITLE', 'title'), 'title')]")


@functools.lru_cache(maxsize=4096)
def _forms(text: str) -> tuple[str, ...]:
    """The line as written and as Simplified Chinese (most chrome rules are written in Simplified)."""
    simplified = normalize.convert_script(text, "t2s")
    return (text,) if simplified == text else (text, simplified)


@functools.lru_cache(maxsize=4096)
def chrome_rule(text: str) -> str | None:
    """Name of the page-chrome rule the whole line matches (rules.FALLBACK_CHROME_LINES, or
    "controls" for a line of print/close/font-size/share/reaction controls only), else None."""
    if not text or len(text) > rules.FALLBACK_CHROME_MAX_CHARS:
        return None
    for line in _forms(text):
        if rules.RE_CONTROL_LINE.fullmatch(line):
            return "controls"
        for name, pattern in rules.FALLBACK_CHROME_LINES:
            if pattern.fullmatch(line):
                return name
    return None


def disclosure_labels(text: str) -> set[str]:
    """The 政府信息公开 metadata labels (rules.DISCLOSURE_LABELS) in text, padding spaces removed."""
    return {"".join(m.group(1).split()) for m in rules.RE_DISCLOSURE_LABEL.finditer(text)}


def is_disclosure_line(text: str) -> bool:
    """A row of a 政府信息公开 metadata table ("索引号：… 发布机构：…"): two labels or more."""
    return len(text) <= 300 and len(disclosure_labels(text)) >= 2


#: A date after its label; the labels in the order they are trusted (the publication date of a
#: disclosed document first, its signing date last).
_DATE_LABELS = ("发文日期", "发布日期", "發布日期", "公开日期", "发布时间", "發布時間", "成文日期")
_RE_LABELLED_DATE = re.compile(r"(" + "|".join(_DATE_LABELS) + r")\s*[:：]\s*"
                               r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?)")
_RE_SENTENCE = re.compile(r"[，。；！？]")
#: How far after the title heading the info line's date may be (characters of page text).
DATE_AFTER_TITLE_CHARS = 160


def date_after(title_el) -> str | None:
    """The first full date (with its time, when shown) in the page text right after the title
    heading: the info line of news and government pages ("发布时间：2024-03-18 16:05",
    "2024年04月09日06:22 | 来源：…", "2024-5-16 09:12| 发布者: …")."""
    if title_el is None:
        return None
    n = 0
    # the heading's own info span (PHPCMS: <h1>title<br /><span>date 来源：…</span></h1>), then
    # the text that follows it in document order
    nodes = title_el.xpath(".//text()[not(ancestor::script)] | following::text()[not(ancestor::script) and "
                           "not(ancestor::style)]")
    for text in nodes:
        if text.is_text and text.getparent() is title_el:
            continue  # the title itself
        text = " ".join(str(text).split())
        n += len(text)
        if n > DATE_AFTER_TITLE_CHARS:
            break
        # an info line's parts are short and have no sentence punctuation; once a sentence
        # comes, the article has begun and a date in it is article text
        if len(text) > 80 or _RE_SENTENCE.search(text):
            break
        m = rules.RE_ABSOLUTE.search(text)
        if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31:
            return m.group(0).strip()
    return None


def labelled_date(tree) -> str | None:
    """The date a page states after 发文日期/发布日期/发布时间 (gov metadata tables, info lines),
    the most trusted label first; None when there is none."""
    body = _first(tree, "//body")
    if body is None:
        return None
    found = {}
    for m in _RE_LABELLED_DATE.finditer(body.text_content()):
        found.setdefault(m.group(1), " ".join(m.group(2).split()))
    return next((found[label] for label in _DATE_LABELS if label in found), None)


_CELL_BLOCKS = ("p", "div", "table", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "form")


def is_layout_table(table) -> bool:
    """A table used for page layout, not data: a single cell or a single column, or a cell that
    holds a nested table, a heading, a form, two block elements or more, or over 200 characters.
    A data table's cells hold one short value or paragraph each."""
    rows = [[c for c in row if c.tag in ("td", "th")] for row in table.iter("tr") if _own_row(row, table)]
    cells = [c for row in rows for c in row]
    if len(cells) <= 1 or all(len(row) <= 1 for row in rows):
        return True  # one cell, or one column: a stack of page parts
    for cell in cells:
        blocks = list(cell.iterdescendants(*_CELL_BLOCKS))
        if any(d.tag in ("table", "form", "h1", "h2", "h3", "h4", "h5", "h6") for d in blocks) or len(blocks) >= 2:
            return True
        if len("".join(cell.text_content().split())) > 200:
            return True
    return False


def _own_row(row, table) -> bool:
    """row belongs to table itself, not to a table nested in one of its cells."""
    return next(row.iterancestors("table"), None) is table


def top(el):
    """The outermost ancestor of el (the document's root while el is still attached to it)."""
    for el in el.iterancestors():
        pass
    return el


def unwrap_layout_tables(tree) -> None:
    """Layout tables (old gov and CMS pages put the whole page, or the body, in table cells)
    become plain blocks: trafilatura would read each cell as one table cell, paragraphs run
    together and navigation cells beside the article. Data tables are left alone."""
    layout = [t for t in tree.iter("table") if is_layout_table(t)]
    for table in layout:
        for el in [table, *table.iterdescendants("tbody", "thead", "tfoot", "tr", "td", "th")]:
            if el is table or next(el.iterancestors("table"), None) is table:
                el.tag = "div"
                for attr in ("colspan", "rowspan"):
                    el.attrib.pop(attr, None)


def drop_link_lists(tree, title_el) -> None:
    """Remove blocks that are lists of links (rules.LINK_LIST_*), outermost first; never the
    block holding the title heading."""
    body = _first(tree, "//body")
    if body is None:
        return
    protected = set(title_el.iterancestors()) | {title_el} if title_el is not None else set()
    root = top(body)
    for el in list(body.iter("div", "ul", "ol", "dl", "p", "nav", "td", "span", "section")):
        if el in protected or top(el) is not root:
            continue
        links = list(el.iter("a"))
        if len(links) < rules.LINK_LIST_MIN_LINKS:
            continue
        total = len(rules.RE_LINK_SEPARATORS.sub("", el.text_content()))
        linked = sum(len(rules.RE_LINK_SEPARATORS.sub("", a.text_content())) for a in links)
        if total and total - linked <= rules.LINK_LIST_MAX_PLAIN * total:
            el.drop_tree()


def is_disclosure_table(table) -> bool:
    """A 政府信息公开 metadata table: short, with rules.DISCLOSURE_MIN_LABELS labels or more."""
    text = table.text_content()
    return len(text) <= 1500 and len(disclosure_labels(text)) >= rules.DISCLOSURE_MIN_LABELS


def title_before(tree, first_line: str) -> str:
    """The last heading or ``*title*`` element before the article's first line (pages whose
    ``<title>`` names only the site, as old government sites' do): its text, or ""."""
    probe = "".join(first_line.split())[:12]
    if not probe:
        return ""
    last = ""
    candidates = set(tree.xpath(XP_TITLE_CANDIDATES))
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        if el in candidates:
            text = _text(el)
            if 4 <= len(text) <= 120 and not any(_text(a) == text for a in el.iter("a")) \
                    and probe not in "".join(text.split()):
                last = text
        own = "".join((el.text or "").split()) + "".join((el.tail or "").split())
        if probe in own:
            break
    return last


#: Machine-readable publication times, most specific first: Open Graph / article meta, schema.org
#: itemprop, then ``<time datetime>`` elements. Only values with a UTC offset are used (the
#: offset is what they add over the info line: a Japanese or Korean page's +09:00).
_XP_META_TIMES = (
    "//meta[@property='article:published_time' or @name='article:published_time']/@content",
    "//meta[@itemprop='datePublished']/@content",
    "//meta[@name='pubdate' or @name='publishdate' or @name='PubDate']/@content",
)
_RE_ISO_OFFSET = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})$")


def _iso_in_china_time(value: str) -> str | None:
    """An ISO 8601 time with a UTC offset as China time ``YYYY-MM-DD HH:MM:SS`` (how
    `crawler.dates` reads page dates); None without an offset."""
    from datetime import datetime, timedelta, timezone

    from crawler.clock import SITE_TZ

    m = _RE_ISO_OFFSET.match(value.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, off = m.groups()
    if off == "Z":
        tz = timezone.utc
    else:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        when = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), tzinfo=tz)
    except ValueError:
        return None
    return when.astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M" + (":%S" if ss is not None else ""))


_RE_JSONLD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')


def meta_time(tree, title_el=None) -> str | None:
    """The page's publication time from its meta tags or JSON-LD ``datePublished``, else from the
    ``<time datetime>`` nearest the title heading, in China time; only values with a UTC offset."""
    for xp in _XP_META_TIMES:
        for value in tree.xpath(xp):
            found = _iso_in_china_time(str(value))
            if found:
                return found
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        for value in _RE_JSONLD_PUBLISHED.findall(str(script)):
            found = _iso_in_china_time(value)
            if found:
                return found
    if title_el is None:
        return None
    # the smallest block around the title that has a <time>: the article's own, not a sidebar's
    for box in title_el.iterancestors():
        times = box.xpath(".//time[@datetime]/@datetime")
        if times:
            return _iso_in_china_time(str(times[0]))
    return None


#: UTC offsets of page languages whose local time is not China time: a time printed in a
#: Japanese or Korean info line is JST/KST (UTC+9). Chinese pages (zh-CN, zh-TW, zh-HK) are UTC+8.
LANGUAGE_UTC_OFFSETS = {"ja": 9, "ko": 9}


def local_to_china_time(tree, raw: str | None) -> str | None:
    """A page-local time (info line, labelled date) as China time, when the page's ``<html lang>``
    names a language of another time zone (LANGUAGE_UTC_OFFSETS); other values unchanged."""
    from datetime import datetime, timedelta

    if not raw:
        return raw
    lang = (tree.xpath("string(//html/@lang)") or "").strip().lower().split("-")[0]
    offset = LANGUAGE_UTC_OFFSETS.get(lang)
    m = rules.RE_ABSOLUTE.search(raw)
    if offset is None or not m or m.group(4) is None:
        return raw  # China time already, or a day only (the calendar day is the page's)
    y, mo, d, hh, mi, ss = (int(g or 0) for g in m.groups())
    try:
        local = datetime(y, mo, d, hh, mi, ss)
    except ValueError:
        return raw
    # as precise as the page: seconds only when it shows them
    return (local - timedelta(hours=offset - 8)).strftime("%Y-%m-%d %H:%M" + (":%S" if m.group(6) else ""))
