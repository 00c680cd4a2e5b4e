"""The registry of subsites (crawler/sites.toml) and the URL grammar of a Z-BlogPHP/tpure site.

The one definition of what a URL of these sites is: post URL <-> post id (both forms), list
URL kinds (home, category, date archive), feed and sitemap, and the crawl traps. The spider,
the extractor, the archive, the cluster and the replica all read it from here, so discovery
can be tested without a running crawl.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.errors import UnknownSiteError

DEFAULT_SITE = "jinshan.021cf.cn"

# --- URL patterns (Z-BlogPHP pseudo-static URLs as tpure links them) -----------------------------
#: a post page, e.g. http://jinshan.021cf.cn/index.php/post/3756.html; Z-BlogPHP's rewrite rules
#: can also drop the ``index.php/`` (http://host/post/3756.html), the same post
POST_PATH = r"/(?:index\.php/)?post/(\d+)\.html"
POST_PATH_RE = re.compile(f"^{POST_PATH}$")
#: a post link anywhere in a page's text (the cluster reads post ids out of list-page HTML)
POST_LINK_RE = re.compile(POST_PATH)
#: the dynamic form of the same post, index.php?id=N (Z-BlogPHP answers 302 to the pseudo-static URL)
POST_QUERY_PATH = "/index.php"
#: home pagination: /index.php/page_2.html (page 1 is the site root)
HOME_PAGE_RE = re.compile(r"^/index\.php/page_(\d+)\.html$")
#: category list and its pagination: category-1.html, category-1_2.html (category-1.html in samples)
CATEGORY_PATH = r"/(?:index\.php/)?category-(\d+)(?:_(\d+))?\.html"
CATEGORY_RE = re.compile(f"^{CATEGORY_PATH}$")
#: a category link anywhere in an href (the extractor finds the post's category in the breadcrumb)
CATEGORY_LINK_RE = re.compile(CATEGORY_PATH)
#: month archive: date-2026-11.html, date-2026-11_2.html; gives the extractor the year-month
DATE_ARCHIVE_RE = re.compile(r"^/index\.php/date-(\d{4})-(\d{1,2})(?:_(\d+))?\.html$")
#: crawl traps never followed unless asked: tag/author/search lists multiply every post many
#: times over, login and admin pages are not content (category-1.html sidebar links all of them)
TRAP_PATH_RES = (
    re.compile(r"^/index\.php/tags-"),
    re.compile(r"^/index\.php/author-"),
    re.compile(r"^/zb_system/"),  # login.php, cmd.php (search), admin
    re.compile(r"^/search\.php"),
    re.compile(r"^/zb_users/"),  # theme assets and uploads
)
#: the RSS feed with the 20 newest posts and their exact pubDate
FEED_PATH = "/feed.php"
#: sitemap written by the usual Z-BlogPHP sitemap plugins
SITEMAP_PATHS = ("/sitemap.xml",)

_HOST_RE = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


@dataclass(frozen=True)
class Site:
    """One subsite: host name, short name and per-site settings from sites.toml."""

    host: str
    name: str
    title: str = ""
    encoding: str | None = None
    date_style: str = "relative"
    delay: float | None = None
    notes: str = ""
    #: GB/T 2260 code of the county the subsite covers (e.g. "310116"), None when not known
    region_code: str | None = None
    #: that county's full name with its parents (上海市金山区), None when not known
    region_name: str | None = None
    registered: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def base_url(self) -> str:
        """The site root, http:// like the network links itself."""
        return f"http://{self.host}/"


def load_registry(text: str | None = None) -> dict[str, Site]:
    """The registered subsites keyed by host (from the packaged sites.toml, or `text`)."""
    if text is None:
        text = resources.files("crawler").joinpath("sites.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    sites: dict[str, Site] = {}
    known = {"host", "name", "title", "encoding", "date_style", "delay", "notes", "region_code", "region_name"}
    for entry in data.get("site", []):
        host = entry["host"].lower()
        sites[host] = Site(
            host=host,
            name=entry.get("name", host.split(".")[0]),
            title=entry.get("title", ""),
            encoding=entry.get("encoding"),
            date_style=entry.get("date_style", "relative"),
            delay=entry.get("delay"),
            notes=entry.get("notes", ""),
            region_code=str(entry["region_code"]) if entry.get("region_code") else None,
            region_name=entry.get("region_name") or None,
            extra={k: v for k, v in entry.items() if k not in known},
        )
    return sites


@functools.lru_cache(maxsize=1)
def _packaged_registry() -> dict[str, Site]:
    return load_registry()


def registered(host: str) -> Site | None:
    """The registry entry (sites.toml) of a host, None when it is not registered."""
    return _packaged_registry().get((host or "").lower())


def is_valid_host(host: str) -> bool:
    """True for a syntactically valid DNS host name (letters, digits, dots, hyphens)."""
    return bool(_HOST_RE.match(host))


def resolve_sites(
    names: list[str] | tuple[str, ...] | None = None,
    all_sites: bool = False,
    registry: dict[str, Site] | None = None,
) -> tuple[list[Site], list[str]]:
    """Turn host names / short names into Sites; returns (sites, warnings for unregistered hosts).

    Raises UnknownSiteError for a name that is neither registered nor a valid host name.
    """
    registry = load_registry() if registry is None else registry
    if all_sites:
        return list(registry.values()), []
    names = list(names or []) or [DEFAULT_SITE]
    by_name = {s.name: s for s in registry.values()}
    out: list[Site] = []
    warnings: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if "://" in name:  # accept a pasted URL
            name = urlsplit(name).hostname or ""
        name = name.rstrip("/")
        if name in registry:
            site = registry[name]
        elif name in by_name:
            site = by_name[name]
        elif is_valid_host(name) and "." in name:
            site = Site(host=name, name=name.split(".")[0], registered=False)
            warnings.append(
                f"{name} is not in the site registry; crawling it with default settings "
                "(it must run Z-BlogPHP with the tpure theme)"
            )
        else:
            known = ", ".join(sorted(by_name)) or "none"
            raise UnknownSiteError(
                f"unknown site {raw!r}: not a registered name ({known}) nor a valid host name"
            )
        if site.host not in {s.host for s in out}:
            out.append(site)
    return out, warnings


@functools.lru_cache(maxsize=16_384)  # a crawl meets each post's URL many times (related, prev/next links)
def post_key(url: str) -> tuple[str, int] | None:
    """(host, post id) of a post URL in either form, else None: one parse for both (a crawl asks per link)."""
    parts = urlsplit(url)
    pid = _post_id(parts)
    return None if pid is None else ((parts.hostname or "").lower(), pid)


def post_id_of(url: str) -> int | None:
    """The post id of a post URL in either form (pseudo-static or index.php?id=N), else None."""
    return _post_id(urlsplit(url))


def _post_id(parts) -> int | None:
    m = POST_PATH_RE.match(parts.path)
    if m:
        return int(m.group(1))
    if parts.path == POST_QUERY_PATH and parts.query:
        ids = parse_qs(parts.query).get("id")
        if ids and ids[0].isdigit():
            return int(ids[0])
    return None


def post_url(host: str, post_id: int) -> str:
    """The canonical (pseudo-static) URL of a post, the form the site links and the dataset stores."""
    return f"http://{host}/index.php/post/{post_id}.html"


def classify(url: str) -> str:
    """What a link points at: post, home, category, date, feed, trap or other."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if post_id_of(url) is not None:
        return "post"
    if path == "/" and not parts.query:
        return "home"
    if HOME_PAGE_RE.match(path):
        return "home"
    if CATEGORY_RE.match(path):
        return "category"
    if DATE_ARCHIVE_RE.match(path):
        return "date"
    if path == FEED_PATH:
        return "feed"
    if any(r.match(path) for r in TRAP_PATH_RES) or parts.query:
        return "trap"
    return "other"


def archive_month(url: str) -> tuple[int, int] | None:
    """(year, month) of a date-archive list URL, else None."""
    m = DATE_ARCHIVE_RE.match(urlsplit(url).path)
    return (int(m.group(1)), int(m.group(2))) if m else None


#: Topic -> the doc_types it stands for (a topic named like a doc_type stands for itself).
TOPIC_DOC_TYPES: dict[str, tuple[str, ...]] = {
    "land": ("land_notice", "land_result"),
    "news": ("project", "policy", "statistics"),
    "land_notice": ("land_notice",), "land_result": ("land_result",), "listing": ("listing",),
    "planning": ("planning",), "project": ("project",), "policy": ("policy",), "statistics": ("statistics",),
}


def load_topics(text: str | None = None) -> dict[str, dict[str, str]]:
    """The [topics] tables of sites.toml: {"words": {word: topic}, host: {category: topic}}."""
    if text is None:
        text = resources.files("crawler").joinpath("sites.toml").read_text(encoding="utf-8")
    topics = tomllib.loads(text).get("topics", {})
    for table in topics.values():
        for topic in table.values():
            if topic not in TOPIC_DOC_TYPES:
                raise ValueError(f"sites.toml: unknown topic {topic!r}")
    return topics


_TOPICS: dict[str, dict[str, str]] | None = None


def _topics() -> dict[str, dict[str, str]]:
    global _TOPICS  # read once per process: sites.toml is package data
    if _TOPICS is None:
        _TOPICS = load_topics()
    return _TOPICS


def topic_of_name(category: str | None) -> str | None:
    """The topic a category name implies by its words alone (None when it implies none)."""
    if not category:
        return None
    for word, topic in _topics().get("words", {}).items():
        if word in category:
            return topic
    return None


def topic_of(site: str | None, category: str | None) -> str | None:
    """The topic of a site's category: the site's own mapping, else the name's words, else None."""
    if not category:
        return None
    per_site = _topics().get((site or "").lower(), {})
    if category in per_site:
        return per_site[category]
    return topic_of_name(category)


def listing_key(url: str) -> str:
    """The listing a list page belongs to: host/home, host/category-N or host/date-Y-M."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    m = CATEGORY_RE.match(parts.path)
    if m:
        return f"{host}/category-{m.group(1)}"
    m = DATE_ARCHIVE_RE.match(parts.path)
    if m:
        return f"{host}/date-{m.group(1)}-{int(m.group(2))}"
    return f"{host}/home"


def list_page_number(url: str) -> int:
    """The page number of a list URL (1 for the first page)."""
    path = urlsplit(url).path
    for rx, group in ((HOME_PAGE_RE, 1), (CATEGORY_RE, 2), (DATE_ARCHIVE_RE, 3)):
        m = rx.match(path)
        if m:
            return int(m.group(group) or 1)
    return 1
