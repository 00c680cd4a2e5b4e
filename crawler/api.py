"""The functions `cli.py` calls, and the small Python API for notebooks.

Imports are lazy so that importing this module (and running `parkcorpus --help`) stays fast.
"""

from __future__ import annotations

from typing import Any


def extract_html(html: bytes, url: str, **kwargs: Any) -> dict:
    """Extract one article record from the HTML of a post page (pure; see crawler.extract)."""
    from crawler.extract import extract_html as _extract

    return _extract(html, url, **kwargs)


def load(out: str = "data", site=None, since=None, until=None, columns=None, history: bool = False):
    """The newest version of every stored article as a pandas DataFrame (filters pushed down)."""
    from crawler.store import load as _load

    return _load(out, site=site, since=since, until=until, columns=columns, history=history)
