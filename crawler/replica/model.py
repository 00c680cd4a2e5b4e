"""The replica's site network: which subsites exist, which posts each has and when they appeared.

Only compact arrays are held per site (post id, publication second, category, author, tags);
titles, bodies and gold records are generated on demand from hash(seed, host, post_id), so a
network of 100,000 posts costs a few megabytes.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from datetime import datetime, timezone

import numpy as np

from crawler import sites
# Z-BlogPHP on these sites runs with the PRC time zone: every date on the page is +08:00.
from crawler.clock import SITE_TZ

UTC = timezone.utc
NETWORK_NAME = "中国产业园区招商网"  # the <title> suffix, copy notice and feed channel title
HOTLINE = "400 0123 021"  # the network-wide 400 number in footers and contact blocks
PER_PAGE = 10  # tpure list pages show 10 posts (category-1.html)

# tpure's default relative date (theme function tpure_TimeAgo): the elapsed seconds are divided by
# the largest unit that fits and rounded half away from zero (PHP round). Units >= one week carry
# the absolute date in span.datetime (post-3756.html: "2年前 (2024-11-04)", "1周前 (11-19)").
RELATIVE_UNITS = (
    (360 * 86400, "年前", "%Y-%m-%d"),
    (30 * 86400, "个月前", "%m-%d"),
    (7 * 86400, "周前", "%m-%d"),
    (86400, "天前", None),
    (3600, "小时前", None),
    (60, "分钟前", None),
    (1, "秒前", None),
)

# tpure's absolute date options (theme setting "date style"), as PHP date() formats.
ABSOLUTE_STYLES = {
    "Y-m-d": "%Y-%m-%d",
    "Y-m-d H:i": "%Y-%m-%d %H:%M",
    "Y-m-d H:i:s": "%Y-%m-%d %H:%M:%S",
    "Y年m月d日": "%Y年%m月%d日",
}

LIST_KINDS = ("home", "category", "tag", "date", "author")


def _php_round(x: float) -> int:
    """PHP round(): half away from zero (Python's round() is banker's rounding)."""
    return int(math.floor(x + 0.5))


def relative_date(published: datetime, now: datetime) -> tuple[str, str | None]:
    """tpure relative date: ("2年前", " (2024-11-04)") or ("3天前", None); "刚刚" under one second."""
    elapsed = (now - published).total_seconds()
    if elapsed < 1:
        return "刚刚", None
    local = published.astimezone(SITE_TZ)
    for secs, suffix, bracket in RELATIVE_UNITS:
        if elapsed >= secs:
            text = f"{_php_round(elapsed / secs)}{suffix}"
            return text, (f" ({local.strftime(bracket)})" if bracket else None)
    raise AssertionError("unreachable")  # pragma: no cover


def format_date(published: datetime, now: datetime, style: str = "relative") -> str:
    """The inner HTML of tpure's span.date for one post, in the site's date style."""
    if style == "relative":
        text, bracket = relative_date(published, now)
        return text + (f'<span class="datetime">{bracket}</span>' if bracket else "")
    return published.astimezone(SITE_TZ).strftime(ABSOLUTE_STYLES[style])


def stable_int(*parts) -> int:
    """A 64-bit integer from the parts, stable across processes (unlike hash())."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stable_rng(*parts) -> random.Random:
    """A random.Random seeded from the parts (seed, host, post_id, purpose)."""
    return random.Random(stable_int(*parts))


# ---------------------------------------------------------------------------------------------
# The subsites. Site knowledge as data: each entry says how that subsite is set up.
# The first two reproduce the samples (jinshan: post-3756.html, category-1.html, feed.xml;
# laian: laian-post-1414.html); the others vary the settings a crawler must cope with.
# ---------------------------------------------------------------------------------------------
HOSTS = [
    {
        "host": "jinshan.021cf.cn",
        "name": "金山",
        "title": "上海金山厂房出租出售·工业用地招商",  # logo alt and feed description
        "style": "inline",  # contact block inside .single after the teasers (post-3756.html)
        "date_style": "relative",
        "region": "shanghai_jinshan",  # vocabulary set in content.REGIONS
        "categories": [(1, "上海金山厂房出租出售招商"), (2, "金山园区动态"), (3, "土地出让公告")],
        "authors": [(1, "招商网小编"), (2, "金山招商")],
        "nav_pages": [(2, "联系我们")],
        "since_year": 2019,  # footer "Copyright © 2019-2026"
        "footer_label": "版权所有",
        "icp": "沪ICP备19004521号-3",
        "share": "icons",  # share buttons without labels
        "related": "random",
        "sidebar_post": ["new", "catalog", "hot"],
        "sidebar_list": ["new"],
        "first_id": 3000,
        "years": 4.5,  # how far back the archive reaches
        "copyright_extra": "部份内容收集于网络，如有不妥之处请联系我们删除 13391219793 仅微信",
        "teaser_widths": [34, 34, 36],  # title width of the teaser cut (feed.xml has both)
    },
    {
        "host": "laian.021cf.cn",
        "name": "来安",
        "title": "来安县厂房土地招商·滁州产业园区",
        "style": "copynotice",  # contact block in .copynotice .zsbox (laian-post-1414.html)
        "date_style": "relative",
        "region": "anhui_laian",
        "categories": [(1, "来安招商引资"), (2, "滁州产业动态")],
        "authors": [(1, "来安招商")],
        "nav_pages": [(2, "联系我们")],
        "since_year": 2020,
        "footer_label": "来安站",
        "icp": "沪ICP备19004521号-7",
        "share": "labels",  # share buttons keep their text labels
        "related": "tag",  # related posts picked by shared tag
        "sidebar_post": ["catalog", "rec", "new"],
        "sidebar_list": ["catalog", "new"],
        "first_id": 1000,
        "years": 4.0,
        "copyright_extra": "",
        "teaser_widths": [34],
    },
    {
        "host": "songjiang.021cf.cn",
        "name": "松江",
        "title": "上海松江厂房出租出售·松江工业园区招商",
        "style": "inline",
        "date_style": "Y-m-d H:i",
        "region": "shanghai_songjiang",
        "categories": [(1, "松江厂房出租出售"), (2, "松江园区资讯"), (4, "松江土地出让")],
        "authors": [(1, "招商网小编"), (3, "松江招商中心")],
        "nav_pages": [(2, "联系我们")],
        "since_year": 2019,
        "footer_label": "松江站",
        "icp": "沪ICP备19004521号-5",
        "share": "icons",
        "related": "random",
        "sidebar_post": ["new", "catalog", "hot"],
        "sidebar_list": ["new"],
        "first_id": 500,
        "years": 5.0,
        "copyright_extra": "部份内容收集于网络，如有不妥之处请联系我们删除",
        "teaser_widths": [36],
    },
    {
        "host": "jiashan.021cf.cn",
        "name": "嘉善",
        "title": "嘉善厂房土地招商·浙江嘉善产业园区",
        "style": "copynotice",
        "date_style": "Y年m月d日",
        "region": "zhejiang_jiashan",
        "categories": [(1, "嘉善招商引资"), (2, "嘉善园区新闻"), (3, "嘉善土地出让")],
        "authors": [(1, "嘉善招商")],
        "nav_pages": [(3, "关于我们")],
        "since_year": 2021,
        "footer_label": "嘉善站",
        "icp": "沪ICP备19004521号-9",
        "share": "labels",
        "related": "tag",
        "sidebar_post": ["catalog", "rec", "new"],
        "sidebar_list": ["catalog", "new"],
        "first_id": 200,
        "years": 3.5,
        "copyright_extra": "",
        "teaser_widths": [34],
    },
    {
        "host": "fengxian.021cf.cn",
        "name": "奉贤",
        "title": "上海奉贤厂房出租出售·工业用地招商",
        "style": "inline",
        "date_style": "Y-m-d",
        "region": "shanghai_fengxian",
        "categories": [(1, "奉贤厂房出租出售"), (2, "奉贤园区动态"), (3, "奉贤土地出让")],
        "authors": [(1, "招商网小编"), (2, "奉贤招商")],
        "nav_pages": [(2, "联系我们")],
        "since_year": 2019,
        "footer_label": "版权所有",
        "icp": "沪ICP备19004521号-4",
        "share": "icons",
        "related": "random",
        "sidebar_post": ["new", "catalog", "hot"],
        "sidebar_list": ["new"],
        "first_id": 1200,
        "years": 4.0,
        "copyright_extra": "部份内容收集于网络，如有不妥之处请联系我们删除",
        "teaser_widths": [34],
    },
    {
        "host": "kunshan.021cf.cn",
        "name": "昆山",
        "title": "昆山厂房出租出售·苏州工业用地招商",
        "style": "copynotice",
        "date_style": "Y-m-d H:i:s",
        "region": "jiangsu_kunshan",
        "categories": [(1, "昆山厂房租售"), (2, "昆山产业动态"), (5, "苏州土地出让")],
        "authors": [(1, "昆山招商")],
        "nav_pages": [(2, "联系我们")],
        "since_year": 2020,
        "footer_label": "昆山站",
        "icp": "沪ICP备19004521号-8",
        "share": "labels",
        "related": "tag",
        "sidebar_post": ["catalog", "rec", "new"],
        "sidebar_list": ["catalog", "new"],
        "first_id": 800,
        "years": 3.0,
        "copyright_extra": "",
        "teaser_widths": [34, 36],
    },
]
HOST_NAMES = [h["host"] for h in HOSTS]


class SiteModel:
    """One subsite: its settings, its visible posts (compact arrays) and generated content."""

    def __init__(self, network: "Network", spec: dict, posts: int):
        self.network = network
        self.spec = spec
        self.host: str = spec["host"]
        self.name: str = spec["name"]
        self.title: str = spec["title"]
        self.style: str = spec["style"]
        self.date_style: str = spec["date_style"]
        # Post pages in another theme / a legacy charset (crawler.replica.offtemplate); the
        # defaults are what the samples show. Set through Network(themes=..., charsets=...).
        self.theme: str = spec.get("theme", "tpure")
        self.charset: str = spec.get("charset", "utf-8")
        self.categories: list[tuple[int, str]] = list(spec["categories"])
        self.authors: list[tuple[int, str]] = list(spec["authors"])
        self.base_url = f"http://{self.host}/"
        self._lock = threading.Lock()
        from crawler.replica import content

        self.region = content.REGIONS[spec["region"]]
        self.tags: list[tuple[int, str]] = content.site_tags(network.seed, self.host, self.region)
        self._build(posts)

    # -- compact state -------------------------------------------------------------------------
    def _build(self, n: int) -> None:
        seed, host = self.network.seed, self.host
        rng = np.random.default_rng(stable_int(seed, host, "arrays"))
        # Sparse ids: deleted posts, drafts and pages leave gaps (the 404 gaps a crawler meets).
        gaps = rng.choice([1, 1, 1, 2, 2, 3, 4, 6], size=n)
        ids = self.spec["first_id"] + np.cumsum(gaps, dtype=np.int64)
        now_s = int(self.network.now().timestamp())
        span = int(self.spec["years"] * 365 * 86400)
        # Publication seconds, sorted so that ids rise with time; the newest a few hours old.
        newest = now_s - int(rng.integers(600, 6 * 3600))
        # editors post between 08:00 and 22:00 China time
        first_midnight = ((newest - span + 8 * 3600) // 86400) * 86400 - 8 * 3600
        days = rng.integers(0, span // 86400 + 1, size=n, dtype=np.int64)
        secs = rng.integers(8 * 3600, 22 * 3600, size=n, dtype=np.int64)
        times = np.sort(np.minimum(first_midnight + days * 86400 + secs, newest - 60))
        if n:
            times[-1] = newest
        cats, authors, kinds, tags = self._draw(rng, n)
        self._state = (ids, times, cats, authors, tags, kinds)

    def _draw(self, rng, n: int):
        """Category, author, article kind and tags of n new posts (vectorised)."""
        from crawler.replica import content

        cats = rng.integers(0, len(self.categories), size=n).astype(np.int8)
        authors = rng.integers(0, len(self.authors), size=n).astype(np.int8)
        # the kind of article follows the category (厂房 listings in the 厂房 category ...)
        kinds = np.zeros(n, dtype=np.int8)
        for pos, weights in enumerate(content.category_kinds(len(self.categories))):
            mask = cats == pos
            names, w = zip(*weights)
            idx = [content.KINDS.index(k) for k in names]
            kinds[mask] = rng.choice(idx, size=int(mask.sum()), p=np.array(w) / sum(w))
        # tags fit the kind (land posts carry 土地出让, listings 厂房出租 ...), place tags fit all
        # most posts carry 1-4 tags; some none, and tpure then leaves out div.tags
        ntags = rng.choice(5, size=n, p=[0.08, 0.3, 0.3, 0.2, 0.12])
        tags = np.full((n, 4), -1, dtype=np.int16)
        for k, kind in enumerate(content.KINDS):
            mask = kinds == k
            pool = content.tag_pool(kind, [name for _, name in self.tags])
            tags[mask] = rng.choice(pool, size=(int(mask.sum()), 4))
        tags[np.arange(4)[None, :] >= ntags[:, None]] = -1
        return cats, authors, kinds, tags

    def _index(self, pid: int, ids=None) -> int:
        # callers holding a snapshot of the arrays pass its ids, so that a concurrent publish()
        # (which replaces the arrays) cannot hand back an index beyond the snapshot
        ids = self._state[0] if ids is None else ids
        i = int(np.searchsorted(ids, pid))
        if i >= len(ids) or int(ids[i]) != pid:
            raise KeyError(f"{self.host}: no post {pid}")
        return i

    # -- public API ----------------------------------------------------------------------------
    def post_ids(self) -> list[int]:
        """Visible post ids, ascending."""
        return self._state[0].tolist()

    def count(self) -> int:
        """Number of visible posts."""
        return len(self._state[0])

    def has_post(self, pid: int) -> bool:
        """True when the post exists and is visible (O(log n))."""
        try:
            self._index(int(pid))
            return True
        except (KeyError, ValueError, TypeError):
            return False

    def post_url(self, pid: int) -> str:
        """The pseudo-static URL the site links for a post."""
        return sites.post_url(self.host, pid)

    def category_url(self, cat_id: int, page: int = 1) -> str:
        """category-N.html, category-N_P.html."""
        suffix = "" if page == 1 else f"_{page}"
        return f"http://{self.host}/index.php/category-{cat_id}{suffix}.html"

    def list_url(self, kind: str, key=None, page: int = 1) -> str:
        """The URL of a list page: home, category, tag, date ((year, month) or "YYYY-M"), author."""
        sfx = "" if page == 1 else f"_{page}"
        if kind == "home":
            return self.base_url if page == 1 else f"http://{self.host}/index.php/page_{page}.html"
        if kind == "category":
            return self.category_url(int(key), page)
        if kind == "tag":
            return f"http://{self.host}/index.php/tags-{int(key)}{sfx}.html"
        if kind == "author":
            return f"http://{self.host}/index.php/author-{int(key)}{sfx}.html"
        if kind == "date":
            y, m = _date_key(key)
            return f"http://{self.host}/index.php/date-{y}-{m}{sfx}.html"
        raise ValueError(f"unknown list kind {kind!r}")

    def meta(self, pid: int) -> dict:
        """The cheap facts of one post: id, published, category, author, tags (no text)."""
        ids, times, cats, authors, tags, kinds = self._state
        i = self._index(int(pid), ids)
        return self._meta_at(i, ids, times, cats, authors, tags, kinds)

    def _meta_at(self, i, ids, times, cats, authors, tags, kinds) -> dict:
        cat_id, cat_name = self.categories[int(cats[i])]
        aid, aname = self.authors[int(authors[i])]
        seen, tag_list = set(), []
        for t in tags[i]:
            if t >= 0 and int(t) not in seen:
                seen.add(int(t))
                tag_list.append(self.tags[int(t)])
        return {
            "post_id": int(ids[i]),
            "index": i,
            "published": datetime.fromtimestamp(int(times[i]), UTC),
            "category_id": cat_id,
            "category": cat_name,
            "author_id": aid,
            "author": aname,
            "tag_items": tag_list,
            "kind": content_kind(int(kinds[i])),
        }

    def neighbours(self, pid: int) -> tuple[int | None, int | None]:
        """(previous, next) visible post ids by publication order, None at the ends."""
        ids = self._state[0]
        i = self._index(int(pid), ids)
        prev_id = int(ids[i - 1]) if i > 0 else None
        next_id = int(ids[i + 1]) if i + 1 < len(ids) else None
        return prev_id, next_id

    def post_title(self, pid: int) -> str:
        """The title of one post (cheap; generated from the hash)."""
        from crawler.replica import content

        m = self.meta(pid)
        title = content.post_facts(self, m)["title"]
        syn = self.network.syndication  # a syndicated copy shows the original's rewritten headline
        return syn.title(self.network, self.host, pid, title) if syn else title

    def post(self, pid: int, at: datetime | None = None, edited: bool = True) -> dict:
        """The full generated post: gold fields plus the body blocks the renderer needs.

        With an edit schedule attached (crawler.replica.edits), the post as it stands at `at`
        (default: the network's clock); `edited=False` gives the post as first published."""
        from crawler.replica import content

        m = self.meta(pid)
        post = content.build_post(self, m)
        prev_id, next_id = self.neighbours(pid)
        post.update({
            # fresh lists: the cached generator output must not be changed by a caller
            "paragraphs": list(post["paragraphs"]),
            "swaps": list(post["swaps"]),
            "published": m["published"],
            "category": m["category"],
            "category_id": m["category_id"],
            "category_url": self.category_url(m["category_id"]),
            "tags": [name for _, name in m["tag_items"]],
            "tag_ids": [tid for tid, _ in m["tag_items"]],
            "author": m["author"],
            "author_id": m["author_id"],
            "prev_url": self.post_url(prev_id) if prev_id is not None else None,
            "next_url": self.post_url(next_id) if next_id is not None else None,
            "prev_id": prev_id,
            "next_id": next_id,
            "views": self.views(pid),
        })
        if self.network.syndication:  # crawler.replica.syndication: a copy of another subsite's story
            post = self.network.syndication.apply(self, post)
        edits = self.network.edits
        if edited and edits:
            post = edits.apply(self, post, at if at is not None else self.network.now())
        return post

    def gold(self, pid: int, at: datetime | None = None) -> dict:
        """The exact clean record of a post (what a perfect extractor returns), as edited at `at`."""
        post = self.post(pid, at=at)
        return {k: v for k, v in post.items() if not k.startswith("_")}

    def publish(self, n: int = 1) -> list[int]:
        """Make n new posts visible, with ids above the current max, published at net.now()."""
        with self._lock:
            ids, times, cats, authors, tags, kinds = self._state
            now_s = int(self.network.now().timestamp())
            rng = np.random.default_rng(stable_int(self.network.seed, self.host, "publish", len(ids)))
            last = int(ids[-1]) if len(ids) else self.spec["first_id"]
            new_ids = last + np.cumsum(rng.integers(1, 4, size=n), dtype=np.int64)
            new_times = np.full(n, max(now_s, int(times[-1]) if len(times) else now_s), dtype=np.int64)
            new_cats, new_auth, new_kinds, new_tags = self._draw(rng, n)
            # one assignment: readers see either the old or the new arrays, never a mix
            self._state = (
                np.concatenate([ids, new_ids]),
                np.concatenate([times, new_times]),
                np.concatenate([cats, new_cats]),
                np.concatenate([authors, new_auth]),
                np.concatenate([tags, new_tags]),
                np.concatenate([kinds, new_kinds]),
            )
            return new_ids.tolist()

    def _select(self, kind: str, key):
        ids, times, cats, authors, tags, _ = self._state
        if kind == "home":
            mask = None
        elif kind == "category":
            pos = [i for i, (cid, _) in enumerate(self.categories) if cid == int(key)]
            if not pos:
                raise KeyError(f"{self.host}: no category {key}")
            mask = cats == pos[0]
        elif kind == "author":
            pos = [i for i, (aid, _) in enumerate(self.authors) if aid == int(key)]
            if not pos:
                raise KeyError(f"{self.host}: no author {key}")
            mask = authors == pos[0]
        elif kind == "tag":
            pos = [i for i, (tid, _) in enumerate(self.tags) if tid == int(key)]
            if not pos:
                raise KeyError(f"{self.host}: no tag {key}")
            mask = (tags == pos[0]).any(axis=1)
        elif kind == "date":
            y, m = _date_key(key)
            start = datetime(y, m, 1, tzinfo=SITE_TZ)
            end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=SITE_TZ)
            lo = int(np.searchsorted(times, int(start.timestamp())))
            hi = int(np.searchsorted(times, int(end.timestamp())))
            return ids[lo:hi]
        else:
            raise ValueError(f"unknown list kind {kind!r}")
        return ids if mask is None else ids[mask]

    def list_page(self, kind: str, key=None, page: int = 1) -> tuple[list[int], int]:
        """(post ids on that list page, newest first; total pages). Pages past the end are empty."""
        sel = self._select(kind, key)
        total = max(1, math.ceil(len(sel) / PER_PAGE)) if len(sel) else 0
        if page < 1:
            return [], total
        end = len(sel) - (page - 1) * PER_PAGE
        start = max(0, end - PER_PAGE)
        if end <= 0:
            return [], total
        return sel[start:end][::-1].tolist(), total

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month with posts, newest first (the date archive)."""
        times = self._state[1]
        out: list[tuple[int, int]] = []
        if not len(times):
            return out
        first = datetime.fromtimestamp(int(times[0]), SITE_TZ)
        last = datetime.fromtimestamp(int(times[-1]), SITE_TZ)
        y, m = last.year, last.month
        while (y, m) >= (first.year, first.month):
            if len(self._select("date", (y, m))):
                out.append((y, m))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        return out

    def newest(self, n: int) -> list[int]:
        """The n newest visible post ids, newest first."""
        return self._state[0][-n:][::-1].tolist() if n > 0 else []

    def posts_with_tags(self, tag_ids) -> list[int]:
        """Visible post ids carrying any of the tag ids."""
        ids, _, _, _, tags, _ = self._state
        pos = [i for i, (tid, _) in enumerate(self.tags) if tid in set(tag_ids)]
        if not pos:
            return []
        return ids[np.isin(tags, pos).any(axis=1)].tolist()

    def random_posts(self, rng: random.Random, k: int, exclude=()) -> list[int]:
        """k distinct visible post ids drawn with rng (O(k), not O(n))."""
        ids = self._state[0]
        out: list[int] = []
        tries = 0
        while len(out) < min(k, len(ids) - len(exclude)) and tries < 20 * k:
            pid = int(ids[rng.randrange(len(ids))])
            tries += 1
            if pid not in out and pid not in exclude:
                out.append(pid)
        return out

    def views(self, pid: int) -> int:
        """The view counter shown in span.view (stable per post)."""
        return 50 + stable_int(self.network.seed, self.host, pid, "views") % 2600

    def __repr__(self) -> str:
        return f"SiteModel({self.host!r}, posts={self.count()})"


def content_kind(i: int) -> str:
    """The article kind name of a kinds-array value."""
    from crawler.replica.content import KINDS

    return KINDS[i]


def _date_key(key) -> tuple[int, int]:
    if isinstance(key, str):
        y, m = key.split("-")
        return int(y), int(m)
    y, m = key
    return int(y), int(m)


class Network:
    """A generated network of tpure subsites, deterministic from the seed."""

    def __init__(self, seed: int = 2026, sites: int = 2, posts: int = 150, now: datetime | None = None,
                 posts_per_site: dict | list | None = None, themes: dict | None = None,
                 charsets: dict | None = None):
        if not 1 <= sites <= len(HOSTS):
            raise ValueError(f"sites must be between 1 and {len(HOSTS)}")
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.seed = int(seed)
        self._now = now.astimezone(UTC).replace(microsecond=0) if now is not None else None
        self._sites: dict[str, SiteModel] = {}
        # an edit schedule (crawler.replica.edits.Edits.attach): posts as edited at now()
        self.edits = None
        # syndicated copies across subsites (crawler.replica.syndication.Syndication.attach)
        self.syndication = None
        for i, spec in enumerate(HOSTS[:sites]):
            n = posts
            if isinstance(posts_per_site, dict):
                n = posts_per_site.get(spec["host"], posts)
            elif isinstance(posts_per_site, (list, tuple)):
                n = posts_per_site[i]
            # themes/charsets: {host: "default" | "news"} / {host: "gbk" | "big5" | "shift_jis"}
            # render that subsite's post pages off the tpure template (crawler.replica.offtemplate).
            spec = dict(spec, theme=(themes or {}).get(spec["host"], "tpure"),
                        charset=(charsets or {}).get(spec["host"], "utf-8"))
            self._sites[spec["host"]] = SiteModel(self, spec, int(n))
        unknown = (set(themes or {}) | set(charsets or {})) - set(self._sites)
        if unknown:
            raise ValueError(f"themes/charsets name hosts that are not in the network: {sorted(unknown)}")

    @property
    def hosts(self) -> list[str]:
        """Host names of the subsites, in HOSTS order."""
        return list(self._sites)

    def site(self, host: str) -> SiteModel:
        """The SiteModel of a host (KeyError for an unknown host)."""
        return self._sites[host.lower().split(":")[0]]

    def now(self) -> datetime:
        """The server clock: the fixed `now`, or the real UTC time (whole seconds)."""
        if self._now is not None:
            return self._now
        return datetime.now(UTC).replace(microsecond=0)

    def set_now(self, now: datetime) -> None:
        """Move the server clock (the next night of a multi-run test); posts keep their dates."""
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self._now = now.astimezone(UTC).replace(microsecond=0)

    def __repr__(self) -> str:
        return f"Network(seed={self.seed}, hosts={self.hosts})"
