"""Synthetic article records for the store tests (crawler.items.empty_article with sane defaults)."""

from __future__ import annotations

import datetime as dt

from crawler.items import empty_article

UTC = dt.timezone.utc
FETCHED = dt.datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def rec(post_id: int, text: str | None = None, site: str = "jinshan.021cf.cn",
        published: dt.datetime | None = dt.datetime(2024, 3, 5, 2, 0, tzinfo=UTC),
        fetched_at: dt.datetime = FETCHED, **values) -> dict:
    """One article record of `site` with related/prev/next links and one inline link."""
    url = f"http://{site}/index.php/post/{post_id}.html"
    base = dict(
        url=url, site=site, post_id=post_id, title=f"标题 {post_id}",
        text=text if text is not None else f"第{post_id}篇正文。\n第二段。",
        published=published, category="园区动态", category_url=f"http://{site}/index.php/category-1.html",
        tags=["招商", "厂房"],
        related=[{"url": f"http://{site}/index.php/post/{post_id + 100}.html", "title": "相关", "post_id": post_id + 100}],
        prev_url=f"http://{site}/index.php/post/{post_id - 1}.html",
        next_url=f"http://{site}/index.php/post/{post_id + 1}.html",
        fetched_at=fetched_at, http_status=200, template="tpure",
        inline_links=[{"url": "/index.php/post/1.html", "anchor": "第一篇"}],
    )
    base.update(values)
    return empty_article(**base)


def write(out, records, run_id: str = "run1", flush_rows: int = 500, consolidate: bool = True):
    """Write records with a DatasetWriter; returns the writer (closed).

    consolidate=False keeps one file per flush (no merge at close): a dataset with several files
    per partition and run, as a killed run or an older parkcorpus leaves it.
    """
    from crawler.store import DatasetWriter

    with DatasetWriter(out, run_id, flush_rows=flush_rows, consolidate=consolidate) as w:
        for r in records:
            w.add(r)
    return w
