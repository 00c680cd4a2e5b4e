"""Helpers shared by the replica server and fault tests."""

from __future__ import annotations

import lxml.html

from crawler.replica import content


def shown_title(site, pid) -> str:
    """The title as the page shows it (Traditional-Chinese posts keep their script)."""
    post = site.post(pid)
    if post.get("traditional"):
        return content.opencc("s2t").convert(post["title"])
    return post["title"]


def page_title(body: bytes | str) -> str:
    """The text of <title> of an HTML page."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return lxml.html.fromstring(body).findtext(".//title")
