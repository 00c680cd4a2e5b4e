"""The tpure page model: a post page's title, info line, category, tags, related posts and
prev/next links, found by the class tokens `crawler.rules` names.

One walk collects the page's classed ``div`` elements and indexes them by class token; every
part (`rules.SINGLE`, `rules.TITLE`, ...) is then read from its container with no other pass
over the page. A part whose container class occurs more than once on a page is left to its
XPath (`rules.xpath`), which orders nested containers' elements as the document does.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin

from lxml import etree

from crawler import rules, sites

_XP_TPURE_ASSETS = etree.XPath("//link/@href | //script/@src")


def text_of(el) -> str:
    """Whitespace-normalised text content of an element ("" for None)."""
    return " ".join(el.text_content().split()) if el is not None else ""


#: An absolute http(s) URL that urljoin gives back unchanged whatever the base: lower-case scheme,
#: ASCII host (no IPv6 brackets), a path without ``;`` params and a non-empty query, no fragment,
#: no space or control character. urljoin (parse, compare schemes, unparse) is ~5 µs a link,
#: and tpure writes every link of a post page this way.
_RE_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]*)?"
                                r"(?:/[A-Za-z0-9._~!$&'()*+,=:@%/\-]*)?(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?\-]+)?")


def abs_url(base: str, href: str | None) -> str | None:
    """Absolute URL of a link, None for empty/javascript/fragment links."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("javascript:", "#", "mailto:")):
        return None
    if _RE_PLAIN_ABSOLUTE.fullmatch(href):
        return href
    return urljoin(base, href)


@functools.lru_cache(maxsize=256)
def compiled(xpath: str) -> etree.XPath:
    """An XPath compiled once per process (the selectors are a few constants)."""
    return etree.XPath(xpath)


def first(tree, xpath: str):
    """First match of an XPath, or None."""
    found = compiled(xpath)(tree)
    return found[0] if found else None


def head_values(tree, xpath: str) -> list[str]:
    """The values of a ``//...`` XPath (`rules.XP_CANONICAL`, `rules.XP_THEME`) in document order.

    Head elements are read from ``/html/head`` first, a path with no descendant scan; the whole
    page is searched only when the head has none (the head comes first in document order, so the
    first value is the same either way).
    """
    return compiled("/html/head/" + xpath[2:])(tree) or compiled(xpath)(tree)


def is_tpure(tree) -> bool:
    """A page rendered by the tpure theme (its theme meta, or its theme's assets)."""
    theme = " ".join(head_values(tree, rules.XP_THEME))
    if "拓源" in theme or "toyean" in theme.lower():
        return True
    return any("/theme/tpure/" in href for href in _XP_TPURE_ASSETS(tree))


def _has_class(el, cls: str) -> bool:
    return cls in (el.get("class") or "").split()


class TpurePage:
    """The parts of one parsed page; ``base`` resolves its links."""

    def __init__(self, tree, base: str = ""):
        self.tree = tree
        self.base = base
        self._divs: dict[str, list] = {}
        # the page's divs in document order (as //div[@class] gives them): lxml's C walk and a get()
        # per div cost less than the XPath, which visits every node (text too) on its way
        divs = self._divs
        for div in (tree.getroottree() if hasattr(tree, "getroottree") else tree).iter("div"):
            classes = div.get("class")
            if classes:  # class="" has no token
                for token in classes.split():
                    found = divs.get(token)
                    if found is None:
                        divs[token] = [div]
                    else:
                        found.append(div)

    def select(self, part: tuple[str, str, str, str | None]) -> list:
        """The elements of a `rules` page part in document order, as ``rules.xpath(part)`` finds them."""
        container, axis, tag, cls = part
        boxes = self._divs.get(container, ())
        if len(boxes) != 1:
            return compiled(rules.xpath(part))(self.tree) if boxes else []
        box = boxes[0]
        if tag == "div" and cls:
            # the candidates are indexed already: keep those inside the container
            if axis == "/":
                return [el for el in self._divs.get(cls, ()) if el.getparent() is box]
            return [el for el in self._divs.get(cls, ()) if any(a is box for a in el.iterancestors("div"))]
        found = box.iterchildren(tag) if axis == "/" else box.iterdescendants(tag)
        return [el for el in found if cls is None or _has_class(el, cls)]

    def first(self, part):
        """The first element of a part, or None."""
        found = self.select(part)
        return found[0] if found else None

    def info(self):
        """The info line (author, date, category, views), or None."""
        return self.first(rules.INFO)

    def category(self, info=None) -> tuple[str | None, str | None]:
        """Category name and URL from the info line, else the breadcrumb, else data-cateurl."""
        info = self.info() if info is None else info
        a = first(info, rules.XP_INFO_CATEGORY) if info is not None else None
        if a is not None and text_of(a):
            return text_of(a), abs_url(self.base, a.get("href"))
        for link in reversed(self.select(rules.BREADCRUMB_LINKS)):
            href = link.get("href") or ""
            if sites.CATEGORY_LINK_RE.search(href):
                return text_of(link), abs_url(self.base, href)
        cateurl = first(self.tree, rules.XP_CATEURL)
        return None, abs_url(self.base, cateurl) if cateurl else None

    def tags(self) -> list[str]:
        """The post's tags, as the page shows them."""
        return [t for t in (text_of(a) for a in self.select(rules.TAGS)) if t]

    def related(self) -> list[dict]:
        """Related posts in page order, one entry per post (the markup shows each twice)."""
        out, seen = [], set()
        for rel in self.select(rules.RELATED):
            a = first(rel, rules.XP_RELATED_H3)
            if a is None:
                a = first(rel, rules.XP_RELATED_ANY)
            if a is None:
                continue
            url = abs_url(self.base, a.get("href"))
            if not url or url in seen:
                continue
            seen.add(url)
            title = text_of(a) or (a.get("title") or "").strip()
            if not title:
                img = first(rel, ".//img[@alt]")
                title = (img.get("alt") or "").strip() if img is not None else ""
            out.append({"url": url, "title": title, "post_id": sites.post_id_of(url)})
        return out

    def link(self, part) -> str | None:
        """Absolute URL of a part that is a link (`rules.PREV`, `rules.NEXT`), or None."""
        a = self.first(part)
        return abs_url(self.base, a.get("href")) if a is not None else None
