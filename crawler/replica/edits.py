"""Posts edited over time: a schedule of edits the replica applies by its own clock, with gold versions.

Real Z-BlogPHP editors fix posts after publication: a typo in the title, a corrected deal date,
a new price, one more paragraph, a tag added for a campaign, the post's own date corrected. An
`Edits` schedule lists such edits, each visible from its time ``at`` on the replica's clock
(``Network(now=...)``, moved with ``net.set_now``). Attached to a network (``edits.attach(net)``),
every page the server renders (post, list pages, feed, related titles) shows the post as it
stands at the server's ``now``, and ``site.gold(pid, at=t)`` / ``edits.gold(net, host, pid, t)``
give the exact clean record at any time t: the gold version a crawler should have stored.

Edits are pure functions of the generated post, applied in time order, so the same schedule on
the same network always gives the same pages; nothing is stored per request.

Edit kinds (``value`` is optional; the default makes a small realistic edit):

| kind        | what changes                                   | value                               |
|-------------|------------------------------------------------|-------------------------------------|
| `title`     | the title only                                 | the new title (default: + "（更新）") |
| `body`      | one paragraph added after the first one        | the paragraph text                  |
| `tags`      | one tag added at the end                       | a tag name of the site              |
| `date`      | the first date written in the body moves       | days (int, default +1)              |
| `price`     | the first amount in 元/万元/亿元 changes         | the factor (default 1.1)            |
| `published` | the post's own date (.info, feed pubDate)      | a timedelta (default -1 day)        |

`date` and `price` need a body that has a date or an amount; `eligible(post, kind)` says whether
it does, and `Edits.pick` chooses fitting posts deterministically. A `published` correction
changes the date the page shows; the post keeps its place in list pages and its id order.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from crawler.clock import SITE_TZ as CHINA
from crawler.replica import content

UTC = dt.timezone.utc

KINDS = ("title", "body", "tags", "date", "price", "published")

#: The default title suffix and added paragraph: plain words that survive the traditional-Chinese
#: round trip of some subsites and contain no character the ad-law swaps touch (最).
TITLE_SUFFIX = "（更新）"
ADDED_PARAGRAPH = "据悉，该项目配套道路及管网工程将同步推进建设。"

# a date the way these notices write it: 2026年10月15日 or 10月15日 (year from the post's date)
_DATE_RE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日")
# an amount: 1200万元, 19.4亿元, 每平方米1.2元
_PRICE_RE = re.compile(r"(\d+(?:\.\d+)?)(亿元|万元|元)")


@dataclass(frozen=True)
class Edit:
    """One edit of one post, visible from `at` (aware) on the replica's clock."""

    host: str
    post_id: int
    kind: str
    at: dt.datetime
    value: Any = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown edit kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.at.tzinfo is None:
            raise ValueError("Edit.at must be an aware datetime")


def _p_blocks(post: dict) -> list[int]:
    return [i for i, b in enumerate(post["_blocks"]) if b[0] == "p"]


def _find(post: dict, pattern: re.Pattern) -> tuple[int, re.Match] | None:
    for i in _p_blocks(post):
        m = pattern.search(post["_blocks"][i][1])
        if m:
            return i, m
    return None


def eligible(post: dict, kind: str) -> bool:
    """True when an edit of `kind` can be applied to this generated post."""
    if kind == "date":
        return _find(post, _DATE_RE) is not None
    if kind == "price":
        return _find(post, _PRICE_RE) is not None
    if kind == "body":
        return bool(_p_blocks(post))
    return kind in KINDS


def _replace_in_block(post: dict, i: int, start: int, end: int, new: str) -> None:
    blocks = list(post["_blocks"])  # the generator's cached list is shared: never edit it in place
    b = blocks[i]
    blocks[i] = (b[0], b[1][:start] + new + b[1][end:], *b[2:])
    post["_blocks"] = blocks


def _moved_date(m: re.Match, days: int, published: dt.datetime) -> str:
    year = int(m.group(1)) if m.group(1) else published.astimezone(CHINA).year
    try:
        moved = dt.date(year, int(m.group(2)), int(m.group(3))) + dt.timedelta(days=int(days))
    except ValueError:  # a date the generator wrote that the calendar lacks: change the day only
        return m.group(0).replace(f"{m.group(3)}日", f"{int(m.group(3)) % 28 + 1}日")
    text = f"{moved.month}月{moved.day}日"
    return f"{moved.year}年{text}" if m.group(1) else text


def _new_amount(number: str, factor: Any) -> str:
    old = Decimal(number)
    places = Decimal(1).scaleb(-len(number.partition(".")[2]))
    new = (old * Decimal(str(factor))).quantize(places, rounding=ROUND_HALF_UP)
    if new == old:
        new = old + places
    return str(new)


def apply_edit(site, post: dict, edit: Edit) -> dict:
    """The post (a fresh dict from site.post) after one edit; gold fields and render fields agree."""
    kind, value = edit.kind, edit.value
    if kind == "title":
        post["title"] = value if value else post["title"] + TITLE_SUFFIX
    elif kind == "body":
        ps = _p_blocks(post)
        if not ps:
            return post
        first = post["_blocks"][ps[0]]
        blocks = list(post["_blocks"])
        blocks.insert(ps[0] + 1, ("p", value or ADDED_PARAGRAPH, first[2]))
        post["_blocks"] = blocks
    elif kind == "tags":
        have = set(post["tags"])
        pool = [(tid, name) for tid, name in site.tags if name not in have]
        if value is not None:
            pool = [(tid, name) for tid, name in site.tags if name == value and name not in have]
        if pool:
            tid, name = pool[0]
            post["tags"] = [*post["tags"], name]
            post["tag_ids"] = [*post["tag_ids"], tid]
    elif kind == "date":
        found = _find(post, _DATE_RE)
        if found:
            i, m = found
            _replace_in_block(post, i, m.start(), m.end(),
                              _moved_date(m, value if value is not None else 1, post["published"]))
    elif kind == "price":
        found = _find(post, _PRICE_RE)
        if found:
            i, m = found
            _replace_in_block(post, i, m.start(1), m.end(1), _new_amount(m.group(1), value or 1.1))
    elif kind == "published":
        delta = value if isinstance(value, dt.timedelta) else dt.timedelta(days=-1)
        post["published"] = post["published"] + delta
    if kind in ("body", "date", "price"):
        post["paragraphs"] = content.blocks_paragraphs(post["_blocks"])
        post["text"] = "\n".join(post["paragraphs"])
    return post


class Edits:
    """A schedule of edits; attach it to a Network to have the server and the gold follow it."""

    def __init__(self, edits: Iterable[Edit] = ()):
        self._by_post: dict[tuple[str, int], list[Edit]] = {}
        for e in edits:
            self.add(e)

    def add(self, edit: Edit) -> Edit:
        """Add one edit (kept in time order per post); returns it."""
        lst = self._by_post.setdefault((edit.host, int(edit.post_id)), [])
        lst.append(edit)
        lst.sort(key=lambda e: e.at)
        return edit

    def __iter__(self):
        return iter(sorted((e for lst in self._by_post.values() for e in lst), key=lambda e: (e.at, e.host, e.post_id)))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_post.values())

    def __bool__(self) -> bool:
        return bool(self._by_post)

    def attach(self, net) -> "Edits":
        """Make `net` (its server, render functions and gold) show posts as edited at its clock."""
        net.edits = self
        return self

    def for_post(self, host: str, post_id: int, at: dt.datetime | None = None) -> list[Edit]:
        """The edits of a post in time order (only those visible at `at` when given)."""
        lst = self._by_post.get((host, int(post_id)), [])
        return [e for e in lst if at is None or e.at <= at]

    def apply(self, site, post: dict, at: dt.datetime) -> dict:
        """The post with every edit visible at `at` applied (what the model calls for each page)."""
        for e in self.for_post(site.host, post["post_id"], at):
            post = apply_edit(site, post, e)
        return post

    def edited(self, at: dt.datetime | None = None) -> set[tuple[str, int]]:
        """(host, post_id) of posts with at least one edit visible at `at` (any time when None)."""
        return {k for k, lst in self._by_post.items() if any(at is None or e.at <= at for e in lst)}

    def gold(self, net, host: str, post_id: int, at: dt.datetime) -> dict:
        """The clean record of a post as it stands at time `at`."""
        return net.site(host).gold(post_id, at=at)

    def versions(self, net, host: str, post_id: int) -> list[tuple[dt.datetime | None, dict]]:
        """[(since, gold)] for each version of a post: the original (since None), then after each edit."""
        site = net.site(host)
        before = min((e.at for e in self.for_post(host, post_id)), default=None)
        first = site.gold(post_id, at=before - dt.timedelta(seconds=1)) if before else site.gold(post_id)
        out = [(None, first)]
        for when in sorted({e.at for e in self.for_post(host, post_id)}):
            out.append((when, site.gold(post_id, at=when)))
        return out

    @classmethod
    def pick(cls, net, kinds: Iterable[str] = KINDS, *,
             at: dt.datetime | dt.timedelta | Iterable[dt.datetime | dt.timedelta],
             per_kind: int = 1, hosts: Iterable[str] | None = None, exclude: Iterable[tuple[str, int]] = (),
             newer_than: dt.datetime | None = None, older_than: dt.datetime | None = None,
             salt: str = "edits") -> "Edits":
        """A schedule editing `per_kind` eligible posts per kind (distinct posts), chosen by a hash.

        `at` is one time for every edit or one per kind, absolute or a timedelta from `net.now()`;
        `newer_than`/`older_than` restrict the
        posts by publication time (edits inside or outside a revisit window); `exclude` skips posts
        (e.g. those a fault keeps down).
        """
        kinds = list(kinds)
        times = [at] * len(kinds) if isinstance(at, (dt.datetime, dt.timedelta)) else list(at)
        # a timedelta is relative to the replica's clock now (Network(now=...))
        times = [net.now() + t if isinstance(t, dt.timedelta) else t for t in times]
        if len(times) != len(kinds):
            raise ValueError("give one time, or one per kind")
        taken = set(exclude)
        out = cls()
        for kind, when in zip(kinds, times):
            candidates = []
            for host in (hosts or net.hosts):
                site = net.site(host)
                for pid in site.post_ids():
                    if (host, pid) in taken:
                        continue
                    published = site.meta(pid)["published"]
                    if newer_than is not None and published < newer_than:
                        continue
                    if older_than is not None and published >= older_than:
                        continue
                    candidates.append((zlib.crc32(f"{salt}|{kind}|{host}|{pid}".encode()), host, pid))
            n = 0
            for _, host, pid in sorted(candidates):
                if n >= per_kind:
                    break
                if eligible(net.site(host).post(pid, at=None, edited=False), kind):
                    out.add(Edit(host, pid, kind, when))
                    taken.add((host, pid))
                    n += 1
        return out
