"""Pure parsing for discovery: list pages, feed.php, sitemaps and the dates shown on list items.

The spider hands response bodies here and only routes what comes back, so the discovery rules
can be tested on saved pages without a running crawl.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from crawler import clock, dates, revisit, rules, sites
from crawler.clock import parse_http_date  # noqa: F401  (discover.parse_http_date is public)

# tpure list item: <div class="post item"><h2><a href=post>; the same block on home, category,
# tag, date and author lists (shared/site-samples/category-1.html)
LIST_ITEM_XPATH = '//div[contains(concat(" ", normalize-space(@class), " "), " post ")][contains(concat(" ", normalize-space(@class), " "), " item ")]'
LIST_ITEM_LINK_XPATH = ".//h2//a/@href"
LIST_ITEM_DATE_XPATH = './/div[contains(@class, "info")]//span[contains(@class, "date")]'
# tpure pagebar: "下页" (next) is an <a class="m">; numbered pages are plain links
PAGEBAR_XPATH = '//div[contains(@class, "pagebar")]//a/@href'
NEXT_PAGE_XPATH = '//div[contains(@class, "pagebar")]//a[normalize-space(.)="下页"]/@href'

_FULL_DATE_RE = re.compile(r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})")
_MONTH_DAY_RE = re.compile(r"\(\s*(\d{1,2})-(\d{1,2})\s*\)")


@dataclass
class ListPage:
    """What a list page links: its post items (in order), other post links, list pages to follow."""

    items: list[str] = field(default_factory=list)
    other_posts: list[str] = field(default_factory=list)
    item_dates: list[str] = field(default_factory=list)
    next_url: str | None = None
    pages: list[str] = field(default_factory=list)  # pagebar links of this listing
    lists: list[str] = field(default_factory=list)  # other home/category/date listings linked


def _same_host(url: str, host: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == host


def parse_list_page(body: bytes, url: str) -> ListPage:
    """Links of a tpure list page (home, category or date archive), only on the page's own host."""
    host = (urlsplit(url).hostname or "").lower()
    page = ListPage()
    if not body.strip():
        return page
    doc = lxml.html.fromstring(body)
    seen: set[str] = set()
    for item in doc.xpath(LIST_ITEM_XPATH):
        hrefs = [urljoin(url, h) for h in item.xpath(LIST_ITEM_LINK_XPATH)]
        href = next((h for h in hrefs if sites.classify(h) == "post" and _same_host(h, host)), None)
        if href is None or href in seen:
            continue
        seen.add(href)
        page.items.append(href)
        dates = item.xpath(LIST_ITEM_DATE_XPATH)
        page.item_dates.append(dates[0].text_content().strip() if dates else "")
    nxt = doc.xpath(NEXT_PAGE_XPATH)
    if nxt:
        page.next_url = urljoin(url, nxt[0])
    for href in doc.xpath(PAGEBAR_XPATH):
        href = urljoin(url, href)
        if _same_host(href, host) and href != url and href not in page.pages:
            page.pages.append(href)
    for href in doc.xpath("//a/@href"):
        href = urljoin(url, href.strip())
        if not _same_host(href, host) or href in seen:
            continue
        kind = sites.classify(href)
        if kind == "post":
            seen.add(href)
            page.other_posts.append(href)
        elif kind in ("home", "category", "date") and href not in page.pages and href not in page.lists:
            page.lists.append(href)
    return page


def post_links(body: bytes, url: str) -> list[str]:
    """Every same-host post link on a page (related posts, prev/next, sidebar), in page order."""
    host = (urlsplit(url).hostname or "").lower()
    if not body.strip():
        return []
    try:
        doc = lxml.html.fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return []
    out: list[str] = []
    for href in doc.xpath("//a/@href"):
        href = urljoin(url, href.strip())
        if _same_host(href, host) and sites.classify(href) == "post" and href not in out:
            out.append(href)
    return out


def parse_feed(body: bytes) -> list[tuple[str, datetime | None]]:
    """(link, pubDate in UTC) of every <item> of a Z-BlogPHP RSS 2.0 feed, newest first."""
    try:
        root = lxml.etree.fromstring(body, parser=lxml.etree.XMLParser(recover=True, resolve_entities=False))
    except lxml.etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    out = []
    for item in root.iter("item"):
        link = (item.findtext("link") or "").strip()
        if not link:
            continue
        out.append((link, parse_pubdate(item.findtext("pubDate"))))
    return out


def parse_pubdate(text: str | None) -> datetime | None:
    """An RFC 822 pubDate ("Thu, 26 Nov 2026 21:18:44 +0800") as an aware UTC datetime."""
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.astimezone(timezone.utc)


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) of a sitemap or sitemap index."""
    try:
        root = lxml.etree.fromstring(body, parser=lxml.etree.XMLParser(recover=True, resolve_entities=False))
    except lxml.etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    locs = [el.text.strip() for el in root.iter("{*}loc") if el.text and el.text.strip()]
    if lxml.etree.QName(root).localname == "sitemapindex":
        return [], locs
    return locs, []


def approx_list_date(text: str, server_now: datetime) -> datetime | None:
    """The date a list item shows, resolved roughly (to a day or so) against the server's clock.

    A shown date is the start of that China day; a relative form (units and spellings of
    crawler.dates) is counted back from the server's clock.
    """
    if not text:
        return None
    m = _FULL_DATE_RE.search(text)
    if m:
        try:
            return clock.day_start(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            return None
    m = _MONTH_DAY_RE.search(text)
    if m:
        today = clock.local(server_now).date()
        try:
            when = date(today.year, int(m.group(1)), int(m.group(2)))
        except ValueError:
            return None
        # tpure omits the year for dates under a year old: the latest such date not in the future
        if when > today + timedelta(days=1):
            when = when.replace(year=when.year - 1)
        return clock.day_start(when)
    m = rules.RE_RELATIVE.search(text)
    if m:
        return server_now - timedelta(seconds=int(m.group(1)) * dates.unit_seconds(m.group(2)))
    if rules.RE_JUST_NOW.search(text):
        return server_now
    return None


def feed_fingerprints(body: bytes) -> dict[str, str]:
    """{link: sha256 of the item's title, category, pubDate and full body} of a feed.

    Z-BlogPHP feeds carry each post's whole body, so a changed fingerprint between two runs means
    the post was edited: the crawl re-fetches it without an extra request to find that out.
    """
    import hashlib

    try:
        root = lxml.etree.fromstring(body, parser=lxml.etree.XMLParser(recover=True, resolve_entities=False))
    except lxml.etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    out = {}
    for item in root.iter("item"):
        link = (item.findtext("link") or "").strip()
        if not link:
            continue
        parts = [(item.findtext(tag) or "").strip() for tag in ("title", "category", "pubDate", "description")]
        parts += [(el.text or "").strip() for el in item if isinstance(el.tag, str) and el.tag.endswith("}encoded")]
        out[link] = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return out


@dataclass
class ListItems:
    """What a list page's items call for: the posts to request (url, inside the revisit window) and counts."""

    wanted: list[tuple[str, bool]] = field(default_factory=list)
    unknown: int = 0  # items neither stored nor known unfetchable
    recent: int = 0  # stored items inside the revisit window
    oldest_fresh: bool = False  # the page's oldest dated item is still inside the revisit window
    all_older: bool = False  # every item is dated before --since

    @property
    def more(self) -> bool:
        """Incremental mode: whether the next page may hold new posts, or stored ones inside the window."""
        return bool(self.unknown or (self.recent and self.oldest_fresh))


def triage_list_items(host: str, items, item_dates, known, unfetchable, now: datetime, revisit_days: int,
                      since_floor: datetime | None = None, until_ceiling: datetime | None = None) -> ListItems:
    """Sort a list page's items (newest first) into posts to request, by stored state and list date."""
    out = ListItems()
    older = 0
    for url, date_text in zip(items, item_dates):
        key = (host, sites.post_id_of(url))
        if key not in known and key not in unfetchable:
            out.unknown += 1
        approx = approx_list_date(date_text, now)
        # list dates are approximate ("3天前"): a day of margin keeps the window's edge posts
        fresh = approx is not None and revisit.is_recent(approx, revisit_days, now, margin_days=1)
        out.recent += fresh and key in known
        if approx is not None:
            out.oldest_fresh = fresh  # lists run newest first: the last dated item decides
        if approx is not None and since_floor is not None and approx < since_floor:
            older += 1
            continue
        if approx is not None and until_ceiling is not None and approx > until_ceiling:
            continue
        out.wanted.append((url, fresh))
    out.all_older = bool(items) and older == len(items)
    return out


def may_follow(url: str, *, follow_traps: bool = False, stopped=(), max_pages: int | None = None) -> bool:
    """Whether a list URL is followed: no traps (unless followed), within max_pages, listing not stopped."""
    kind = sites.classify(url)
    if kind == "trap":
        if not follow_traps:
            return False
    elif kind not in ("home", "category", "date"):
        return False
    if sites.listing_key(url) in stopped:
        return False
    return not (max_pages and sites.list_page_number(url) > max_pages)
