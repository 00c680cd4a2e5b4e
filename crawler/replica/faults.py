"""Fault injection for the replica server: which post URLs misbehave, and how.

A `Faults` value is pure configuration. Every choice is deterministic: a post is affected by a
fault kind when a hash of (kind, host, post id) falls in 1 of N buckets, and transient faults
fire on the first K requests of a URL (the server counts requests per URL). Nothing depends on
timing or on a random generator, so a test can ask `faults.selected(...)` in advance which
posts will misbehave, and the crawl of the same network always meets the same faults.

Spec strings (``--faults`` on the command line) are comma-separated ``key[=N[:X]]`` items, e.g.
``5xx=7,429=10,slow=20:2.0,truncate=15,reset=30,gaps,redirect=10,loop=50,robots,offsite``;
``down=10`` keeps 1 post in 10 answering 503 to every request for the whole run.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields, replace
from typing import Iterable

from crawler.errors import UsageError

# Spec key -> dataclass field holding "1 in N" (0 = off), the default N used when the spec
# gives the key without a value, and what the optional ":X" parameter means for that kind.
# The "1 in N" unit is always a post id of one subsite.
SPEC_KEYS = {
    # 503 on the first K requests of the post URL, then 200 (X = K, default 1).
    "5xx": ("err5xx", 7, "times"),
    # 503 on every request of the post for as long as this server runs: a post that stays
    # unreachable all night (a broken page behind a CDN, an overloaded backend). Checked before
    # every other post fault. The next run meets a server without it (`faults.without("down")`).
    "down": ("down", 10, None),
    # 429 with Retry-After: 1 on the first K requests (X = K, default 1).
    "429": ("err429", 10, "times"),
    # every response for the post waits X seconds before the status line (default 2.0).
    "slow": ("slow", 20, "delay"),
    # Content-Length announces the whole page, half the body is sent, then the socket closes
    # (first K requests, X = K, default 1).
    "truncate": ("truncate", 15, "times"),
    # the body is cut in the middle of the HTML but Content-Length matches: a 200 that ends
    # inside the article. Permanent, so a crawler has to report the URL rather than store it.
    "cut": ("cut", 35, None),
    # TCP reset (SO_LINGER 0) instead of any response (first K requests, X = K, default 1).
    "reset": ("reset", 30, "times"),
    # the post is listed in list pages, the feed and the sitemap but answers 404 (permanent).
    "gaps": ("gaps", 10, None),
    # post URL -> 301 -> 302 -> the page (the final URL carries ?hop=2).
    "redirect": ("redirect", 10, None),
    # post URL -> 302 -> ?loop=1 -> 302 -> post URL ... forever.
    "loop": ("loop", 50, None),
    # post URL -> 301 to the same path on an off-site host (www.jsjinshan.com).
    "offredirect": ("offredirect", 40, None),
    # robots.txt with Disallow for tags/search/login, 1 in N post paths, and Crawl-delay: X
    # (default 1 second).
    "robots": ("robots", 20, "crawl_delay"),
    # off-site links and crawl-trap links injected into post and list pages (1 in N pages;
    # default every page).
    "offsite": ("offsite", 1, None),
    # unclosed inline tags, omitted </p>, stray end tags in the post body.
    "malformed": ("malformed", 25, None),
    # labelled charset=GBK in the Content-Type header and <meta>, but the bytes are UTF-8.
    "gbk-utf8": ("gbk_utf8", 40, None),
    # GBK-encoded bytes, labelled UTF-8 in the header and <meta>.
    "utf8-gbk": ("utf8_gbk", 45, None),
}

# Transient faults, in the order a post selected for several of them meets them: each one
# takes its K requests in turn, then the page is served normally.
TRANSIENT = ("reset", "5xx", "429", "truncate")

# Hosts outside every replica network, used for injected links and off-site redirects.
# www.jsjinshan.com is the real Jinshan district portal the subsite's pages link to.
OFFSITE_HOSTS = ("www.jsjinshan.com", "www.baidu.com", "mp.weixin.qq.com")


@dataclass(frozen=True)
class Faults:
    """Which faults the replica injects: each int field is "1 in N posts" (0 = off)."""

    err5xx: int = 0
    err5xx_times: int = 1
    down: int = 0
    err429: int = 0
    err429_times: int = 1
    slow: int = 0
    slow_delay: float = 2.0
    truncate: int = 0
    truncate_times: int = 1
    cut: int = 0
    reset: int = 0
    reset_times: int = 1
    gaps: int = 0
    redirect: int = 0
    loop: int = 0
    offredirect: int = 0
    robots: int = 0
    robots_crawl_delay: float = 1.0
    offsite: int = 0
    malformed: int = 0
    gbk_utf8: int = 0
    utf8_gbk: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> "Faults":
        """Build Faults from a spec string like ``5xx=7,429=10,slow=20:2.0,gaps,robots``."""
        values: dict = {}
        for item in (spec or "").split(","):
            item = item.strip()
            if not item or item == "none":
                continue
            key, _, arg = item.partition("=")
            key = key.strip().lower().replace("_", "-")
            if key not in SPEC_KEYS:
                known = ", ".join(SPEC_KEYS)
                raise UsageError(f"unknown fault {key!r} in --faults {spec!r}; known: {known}")
            field, default_n, param = SPEC_KEYS[key]
            n_text, _, x_text = arg.partition(":")
            try:
                n = int(n_text) if n_text.strip() else default_n
                if n < 0:
                    raise ValueError
                if x_text.strip():
                    if param is None:
                        raise ValueError
                    x = float(x_text)
                    if x < 0:
                        raise ValueError
                    values[f"{field}_{param}"] = int(x) if param == "times" else x
            except ValueError:
                raise UsageError(f"bad fault item {item!r}: expected {key}=N or {key}=N:X with N >= 0") from None
            values[field] = n
        return cls(**values)

    def spec(self) -> str:
        """The spec string that `parse` turns back into this value ('' when no fault is on)."""
        parts = []
        for key, (field, _default, param) in SPEC_KEYS.items():
            n = getattr(self, field)
            if not n:
                continue
            item = f"{key}={n}"
            if param is not None:
                x = getattr(self, f"{field}_{param}")
                if x != _FIELD_DEFAULTS[f"{field}_{param}"]:
                    item += f":{x:g}"
            parts.append(item)
        return ",".join(parts)

    def __bool__(self) -> bool:
        return any(getattr(self, field) for field, _d, _p in SPEC_KEYS.values())

    def without(self, *kinds: str) -> "Faults":
        """A copy with the given fault kinds (spec keys) switched off, e.g. the next night's server."""
        unknown = [k for k in kinds if k not in SPEC_KEYS]
        if unknown:
            raise UsageError(f"unknown fault {unknown[0]!r}; known: {', '.join(SPEC_KEYS)}")
        return replace(self, **{SPEC_KEYS[k][0]: 0 for k in kinds})

    def rate(self, kind: str) -> int:
        """The N of "1 in N" for a spec key (0 when that fault is off)."""
        return getattr(self, SPEC_KEYS[kind][0])

    def selected(self, kind: str, host: str, post_id: int) -> bool:
        """True when the post `post_id` of `host` is affected by fault `kind` (a spec key)."""
        n = self.rate(kind)
        if n <= 0:
            return False
        if n == 1:
            return True
        return _bucket(kind, host, post_id) % n == 0

    def kinds(self, host: str, post_id: int) -> list[str]:
        """Every fault kind (spec key) selected for this post, in spec order."""
        return [kind for kind in SPEC_KEYS if self.selected(kind, host, post_id)]

    def plan(self, host: str, post_ids: Iterable[int]) -> dict[str, list[int]]:
        """For each enabled fault kind, the ids among `post_ids` it affects (ascending)."""
        ids = sorted(post_ids)
        return {kind: [i for i in ids if self.selected(kind, host, i)] for kind in SPEC_KEYS if self.rate(kind)}

    def times(self, kind: str) -> int:
        """How many first requests of a URL a transient fault answers (0 = every request)."""
        return getattr(self, SPEC_KEYS[kind][0] + "_times")

    def transient(self, host: str, post_id: int, attempt: int) -> str | None:
        """The transient fault that the `attempt`-th request (0-based) of a post URL meets."""
        start = 0
        for kind in TRANSIENT:
            if not self.selected(kind, host, post_id):
                continue
            k = self.times(kind)
            if k == 0:
                return kind
            if attempt < start + k:
                return kind
            start += k
        return None


_FIELD_DEFAULTS = {f.name: f.default for f in fields(Faults)}


def _bucket(kind: str, host: str, post_id: int) -> int:
    # crc32 is stable across processes and Python versions (unlike hash()), which lets a
    # crawl subprocess and the test that planned the faults agree.
    return zlib.crc32(f"{kind}|{host}|{post_id}".encode())


def offsite_links(host: str, post_id: int | None = None) -> list[tuple[str, str]]:
    """(url, anchor) pairs injected into a page: off-site hosts and in-site crawl traps."""
    pid = post_id if post_id is not None else 1
    return [
        # an off-site URL shaped exactly like a post URL: a crawler must check the host
        (f"http://{OFFSITE_HOSTS[0]}/index.php/post/{pid}.html", "金山区人民政府网站"),
        (f"http://{OFFSITE_HOSTS[1]}/s?wd=%E5%8E%82%E6%88%BF", "百度搜索"),
        (f"https://{OFFSITE_HOSTS[2]}/s/parkcorpus{pid}", "微信公众号"),
        # in-site traps: endless search result pages, the login form, tag pages
        (f"http://{host}/zb_system/cmd.php?act=search&q=%E5%8E%82%E6%88%BF", "站内搜索"),
        (f"http://{host}/zb_system/login.php", "登录"),
        (f"http://{host}/index.php/tags-{pid % 7 + 1}.html", "热门标签"),
    ]
