"""One record path: a fetched page (from the spider, the WARC archive or a saved file) -> record.

The spider, ``archive.reextract`` and ``extract`` (crawler.extract.extract_files) all call
``page_to_record``, so a page gives the same row whichever way it reached us, and the
per-site overrides of sites.toml (e.g. ``encoding`` for a server that mislabels its pages)
apply in all three. ``extract_html`` stays the pure function underneath.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawler import clock, sites
from crawler.extract import ExtractOptions, extract_html
from crawler.items import LINK_ROWS, record_hash


def _header_pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    """(name, value) text pairs from a Scrapy Headers, a dict or a list of pairs."""
    if not headers:
        return ()
    items = headers.items() if hasattr(headers, "items") else headers
    out = []
    for k, values in items:
        k = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        for v in values if isinstance(values, (list, tuple)) else [values]:
            out.append((k, v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return tuple(out)


@dataclass(frozen=True)
class Page:
    """A fetched page: URL, HTTP status, response headers, raw body and when it was fetched."""

    url: str | None
    body: bytes
    status: int | None = 200
    headers: tuple[tuple[str, str], ...] = field(default=())
    fetched_at: dt.datetime | None = None

    @classmethod
    def of(cls, url: str | None, body: bytes, status: int | None = 200, headers: Any = None,
           fetched_at: dt.datetime | None = None) -> Page:
        """A Page from any response-like parts (Scrapy Headers, dict or pairs for headers; status None: a saved file)."""
        return cls(url, body, None if status is None else int(status), _header_pairs(headers), clock.to_utc(fetched_at))

    @classmethod
    def from_response(cls, response: Any, url: str | None = None, fetched_at: dt.datetime | None = None) -> Page:
        """A Page from a Scrapy response (or anything with url, status, headers, body)."""
        return cls.of(url or response.url, response.body, response.status, response.headers,
                      fetched_at or clock.now())

    def header(self, name: str) -> str | None:
        """The first value of a response header (case-insensitive), None when absent."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def server_date(self) -> dt.datetime | None:
        """The server's clock from the Date header (relative page dates count from it)."""
        return clock.parse_http_date(self.header("Date"))

    @property
    def host(self) -> str | None:
        """The page's host name, lower-case."""
        host = urlsplit(self.url).hostname if self.url else None
        return host.lower() if host else None


def site_of(page: Page, site: sites.Site | None = None) -> sites.Site | None:
    """The Site whose settings apply to page: the given one, else the registry entry of its host."""
    if site is not None:
        return site
    return sites.registered(page.host) if page.host else None


def page_body(page: Page, site: sites.Site | None = None) -> bytes:
    """The body to extract: re-encoded as UTF-8 when sites.toml gives the site an `encoding` override."""
    site = site_of(page, site)
    if site is not None and site.encoding:
        # the server mislabels its pages: decode as the registry says and hand the extractor
        # UTF-8 (its decoder recognises UTF-8 bytes whatever the page's own label says)
        return page.body.decode(site.encoding, errors="replace").encode("utf-8")
    return page.body


def page_to_record(page: Page, site: sites.Site | None = None, *, options: ExtractOptions | None = None,
                   hint: Mapping[str, Any] | None = None, run_id: str | None = None) -> dict:
    """Extract one article record from a fetched page with its site's overrides; NotAnArticle etc. as extract_html.

    hint carries what discovery knew about the post (``feed_published``, ``archive_month``);
    the record gets ``http_status`` from the page and ``run_id`` when given.
    """
    hint = hint or {}
    site = site_of(page, site)
    overridden = site is not None and bool(site.encoding)
    record = extract_html(
        page_body(page, site), page.url, fetched_at=page.fetched_at, server_date=page.server_date,
        feed_published=hint.get("feed_published"), archive_month=hint.get("archive_month"),
        options=options,
        # the HTTP charset is the first word on the page's encoding, unless sites.toml overrides it
        content_type=None if overridden else page.header("Content-Type"),
    )
    if page.status is not None:
        record["http_status"] = page.status
    if run_id is not None:
        record["run_id"] = run_id
    add_places(record, site)
    record["record_hash"] = record_hash(record)  # after every normalisation: the version identity
    return record


def add_places(record: dict, site: sites.Site | None) -> dict:
    """Fill region_code/region_name from the site's registry entry and places/place_names from title + text."""
    from crawler.places import find_places

    if site is None and record.get("site"):
        site = sites.registered(record["site"])
    region = site.region_code if site is not None else None
    record["region_code"] = region
    record["region_name"] = site.region_name if site is not None else None
    # the title often names the place the body then only calls 我区/本镇
    text = "\n".join(t for t in (record.get("title"), record.get("text")) if t)
    record["places"], record["place_names"] = find_places(text, region)
    return record


def record_task(page: Page, site: sites.Site | None = None, kwargs: Mapping[str, Any] | None = None) -> dict:
    """page_to_record as an extraction worker runs it (crawler.workers): everything picklable, same result."""
    return page_to_record(page, site, **(kwargs or {}))


@dataclass
class Extracted:
    """What post_task hands back: the record, and what else the crawl process would otherwise compute per page.

    warc: (WARC-Record-ID, the exchange's finished gzip WARC records) for WarcArchive.append;
    signature: the text's crawler.dedup.Signature for the duplicate index.
    """

    record: dict
    warc: tuple[str, bytes] | None = None
    signature: Any = None


def post_task(page: Page, site: sites.Site | None = None, kwargs: Mapping[str, Any] | None = None,
              archive: Mapping[str, Any] | None = None, dedup: bool = False, task: Any = None) -> Extracted:
    """A crawl's per-page work, pure, as an extraction worker runs it (in-process with one worker).

    The record (task: record_task unless a test passes another) with its links rows (the
    non-schema key LINK_ROWS); then, so that the crawl process only appends and looks up:
    archive={"url", "request_headers"} -> the exchange's finished WARC records
    (archive.exchange_records of the response as fetched); dedup -> the text's dedup.Signature.
    NotAnArticle etc. propagate as from page_to_record (the crawl archives those pages itself).
    """
    from crawler.items import link_rows

    record = (task or record_task)(page, site, kwargs)
    # the links rows the writer stores with the record, made here (DatasetWriter uses them when
    # they still match the record's run_id, fetched_at and content_hash)
    record[LINK_ROWS] = link_rows(record)
    out = Extracted(record)
    if archive is not None:
        from crawler.archive import exchange_records

        out.warc = exchange_records(archive["url"], page.status, page.headers, page.body,
                                    archive.get("request_headers"), page.fetched_at)
    if dedup:
        from crawler.dedup import signature

        out.signature = signature(record.get("text"), record.get("content_hash"))
    return out


__all__ = ["Extracted", "Page", "add_places", "page_body", "page_to_record", "post_task", "record_task",
           "site_of"]
