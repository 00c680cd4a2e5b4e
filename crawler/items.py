"""The article and link records, and their Arrow schemas: defined here once, derived everywhere else.

A record is a plain ``dict`` keyed by the schema's column names (what `extract_html` returns and
what the pipelines write). Timestamps are ``timestamp[us, tz=UTC]`` because Spark rejects
nanosecond Parquet timestamps.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pyarrow as pa

#: Bumped whenever extraction rules change the text they produce; stored in every row.
EXTRACTOR_VERSION = "1.1.0"  # history: docs/extraction.md "Extractor versions"

TS = pa.timestamp("us", tz="UTC")

RELATED_TYPE = pa.struct(
    [
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("post_id", pa.int64()),
    ]
)

#: One HTML table of the article body (crawler.tables.extract_tables).
TABLE_TYPE = pa.struct(
    [
        pa.field("caption", pa.string()),
        pa.field("header", pa.list_(pa.string())),
        pa.field("rows", pa.list_(pa.list_(pa.string()))),
    ]
)

#: Article columns filled by the facts step (crawler.facts.derive at extraction); part of ARTICLE_COLUMNS.
FACT_ARTICLE_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    # nullable: rows written before facts existed read as null (`parkcorpus reextract` fills them)
    ("tables", pa.list_(TABLE_TYPE), True, "every <table> of the body: caption, header, rows of cell text"),
    ("doc_type", pa.string(), True, "land_notice, land_result, listing, planning, project, policy, statistics or other"),
    ("topic", pa.string(), True, "the category's topic from sites.toml (crawler.sites.topic_of), null when ambiguous"),
]

#: (name, type, nullable, meaning) for every article column. docs/schema.md documents each.
ARTICLE_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    ("url", pa.string(), False, "post URL as the site links it"),
    ("site", pa.string(), False, "host name (partition key)"),
    ("post_id", pa.int64(), False, "the number in /index.php/post/<id>.html"),
    ("title", pa.string(), False, "article title"),
    ("text", pa.string(), False, "clean, normalised body, one paragraph per line"),
    ("published", TS, True, "publication time (UTC); null when the page carries no usable date"),
    ("published_precision", pa.string(), True, "second, minute, day, month or approximate"),
    ("published_raw", pa.string(), True, "the date text as the page shows it"),
    ("category", pa.string(), True, "category name"),
    ("category_url", pa.string(), True, "category page URL"),
    ("tags", pa.list_(pa.string()), False, "tag names in page order"),
    ("related", pa.list_(RELATED_TYPE), False, "related-article links shown on the page, in order"),
    ("prev_url", pa.string(), True, "previous post link"),
    ("next_url", pa.string(), True, "next post link"),
    ("author", pa.string(), True, "the Z-BlogPHP author shown in .info"),
    ("source", pa.string(), True, "source outlet named in the body (来源: / XX网讯)"),
    ("reporter", pa.string(), True, "reporter line, e.g. (记者…通讯员…)"),
    ("char_count", pa.int64(), False, "characters in text, whitespace excluded"),
    ("paragraph_count", pa.int64(), False, "lines in text"),
    ("normalizations", pa.list_(pa.string()), False, "normalisations applied, e.g. t2s, 蕞→最"),
    ("masked_chars", pa.int64(), False, "'*' standing in for a character (ad-law masking), counted not undone"),
    ("template", pa.string(), False, "tpure, or fallback when the page is not a tpure post page"),
    ("content_hash", pa.string(), False, "sha256 of text, hex; change and duplicate detection"),
    ("fetched_at", TS, False, "when the page was fetched (UTC)"),
    ("http_status", pa.int32(), True, "HTTP status of the post response"),
    ("run_id", pa.string(), False, "the crawl run that wrote the row"),
    ("extractor_version", pa.string(), False, "crawler.items.EXTRACTOR_VERSION at extraction time"),
    ("warc_record_id", pa.string(), True, "WARC-Record-ID of the raw response in <out>/warc/"),
    # facts (crawler.facts): the body's tables, the post's doc_type and its category's topic
    *FACT_ARTICLE_COLUMNS,
    # re-extracting an archived page gives a version with the same fetched_at as the crawled one:
    # the newest version of a post is the one with the latest (fetched_at, extracted_at)
    ("extracted_at", TS, True, "when the text was extracted (UTC): the crawl, or a later reextract"),
    # decoding (crawler.decode): null in rows written before these columns existed
    ("encoding", pa.string(), True, "Python codec the page bytes were decoded with (utf-8, gb18030, cp932 ...)"),
    ("decode_errors", pa.int64(), True, "replacement characters inserted while decoding (0 for a clean page)"),
    # places (crawler.places, docs/places.md): null region for a subsite sites.toml does not know
    ("region_code", pa.string(), True, "GB/T 2260 code of the county the subsite covers (sites.toml)"),
    ("region_name", pa.string(), True, "that county with its parents, e.g. 上海市金山区"),
    ("places", pa.list_(pa.string()), True, "GB/T 2260 codes of the areas title and text name, most specific"),
    ("place_names", pa.list_(pa.string()), True, "each of places as first written"),
    # the version identity: null in rows written before it existed (those compare by content_hash)
    ("record_hash", pa.string(), True, "sha256 of title, text, category and tags (record_hash()): a new value is a new version"),
]

ARTICLE_SCHEMA = pa.schema([pa.field(n, t, nullable=null) for n, t, null, _ in ARTICLE_COLUMNS])

LINK_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    ("src_site", pa.string(), False, "site of the page holding the link"),
    ("src_post_id", pa.int64(), False, "post holding the link"),
    ("src_url", pa.string(), False, "URL of the post holding the link"),
    ("dst_url", pa.string(), False, "link target"),
    ("dst_site", pa.string(), True, "host of the target"),
    ("dst_post_id", pa.int64(), True, "post id of the target when it is a post URL"),
    ("kind", pa.string(), False, "related, prev, next or inline"),
    ("anchor", pa.string(), True, "anchor text"),
    ("position", pa.int32(), False, "order of the link within its kind on the page"),
    ("content_hash", pa.string(), False, "content_hash of the source article version"),
    ("run_id", pa.string(), False, "the crawl run that wrote the row"),
    ("fetched_at", TS, False, "when the source page was fetched (UTC)"),
]

LINK_SCHEMA = pa.schema([pa.field(n, t, nullable=null) for n, t, null, _ in LINK_COLUMNS])

#: The columns the architecture contract requires; tests check every dataset has them.
REQUIRED_COLUMNS = (
    "url site post_id title text published category category_url tags related "
    "prev_url next_url content_hash fetched_at run_id"
).split()


def content_hash(text: str) -> str:
    """Hash of the article text used for change and duplicate detection."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The fields a reader sees as "the article": an edit to any of them is a new version.
RECORD_HASH_FIELDS = ("title", "text", "category", "tags")


def record_hash(record: Any) -> str:
    """sha256 (hex) of title, text, category and tags: a title-, category- or tag-only edit changes it.

    The input is a canonical JSON array (fixed field order, no whitespace, UTF-8, not ASCII-escaped),
    so the value is the same in every process, Python version and run. A missing title or text
    counts as "", a missing category as null, missing tags as []; tags keep page order (a re-ordered
    tag list is an edit). Fetch metadata, related links and prev/next are left out: they change
    when *other* posts are published, not when this one is edited.
    """
    get = record.get if hasattr(record, "get") else (lambda k: getattr(record, k, None))
    tags = get("tags")
    values = [get("title") or "", get("text") or "", get("category"),
              [str(t) for t in (list(tags) if tags is not None else [])]]
    canon = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def empty_article(**values: Any) -> dict[str, Any]:
    """A record with every article column present (None, or [] for lists), updated with values."""
    rec: dict[str, Any] = {}
    for name, typ, _null, _doc in ARTICLE_COLUMNS:
        rec[name] = [] if pa.types.is_list(typ) else None
    rec.update(values)
    return rec


def articles_table(records: list[dict[str, Any]]) -> pa.Table:
    """Records to a Table with exactly ARTICLE_SCHEMA (extra keys are dropped)."""
    return pa.Table.from_pylist(
        [{k: r.get(k) for k in ARTICLE_SCHEMA.names} for r in records], schema=ARTICLE_SCHEMA
    )


def links_table(records: list[dict[str, Any]]) -> pa.Table:
    """Link records to a Table with exactly LINK_SCHEMA."""
    return pa.Table.from_pylist(
        [{k: r.get(k) for k in LINK_SCHEMA.names} for r in records], schema=LINK_SCHEMA
    )


def _post_id(url: str) -> int | None:
    # which URLs are posts is site knowledge: crawler.sites holds it
    from crawler.sites import post_id_of

    return post_id_of(url or "")


#: Non-schema record key: the record's link_rows made ahead (by an extraction worker); the writer
#: uses them instead of making them again when run_id, fetched_at and content_hash still match.
LINK_ROWS = "link_rows"


#: A link with its own scheme and host and nothing urlsplit would strip or drop (ASCII controls,
#: spaces): its join depends on the page only through the page's scheme.
_ABSOLUTE_LINK = re.compile(r"https?://[^/?#\x00-\x20\x7f]+(?:[/?#][^\x00-\x20\x7f]*)?\Z")
#: Distinct links (and their post ids) remembered per process by link_rows.
LINK_CACHE_SIZE = 8192
_link_targets: dict[tuple[str, str], tuple[str, str | None]] = {}
_link_post_ids: dict[str, int | None] = {}


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= LINK_CACHE_SIZE:
        cache.clear()  # bounded; a crawl links mostly to the posts it saw last
    cache[key] = value


def _link_target(src_url: str | None, url: str) -> tuple[str, str | None]:
    """(dst_url, dst_site) of a link on the page src_url."""
    key = None
    if src_url and _ABSOLUTE_LINK.match(url):
        # the same posts are linked from page after page (related lists, prev/next): urljoin and
        # urlsplit are ~10 µs of Python per link, and for an absolute link their result is the
        # same on every page of a scheme
        key = (urlsplit(src_url).scheme, url)
        hit = _link_targets.get(key)
        if hit is not None:
            return hit
    dst = urljoin(src_url, url)
    out = (dst, urlsplit(dst).hostname)
    if key is not None:
        _remember(_link_targets, key, out)
    return out


def _link_post_id(dst: str) -> int | None:
    """The post id of a link target (crawler.sites.post_id_of), remembered like the target."""
    try:
        return _link_post_ids[dst]
    except KeyError:
        pid = _post_id(dst)
        _remember(_link_post_ids, dst, pid)
        return pid


def link_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The LINK_SCHEMA rows of one article record: related, prev, next and inline links, in page order."""
    src_url = record["url"]
    base = {
        "src_site": record["site"],
        "src_post_id": record["post_id"],
        "src_url": src_url,
        "content_hash": record.get("content_hash") or content_hash(record.get("text") or ""),
        "run_id": record.get("run_id"),
        "fetched_at": record.get("fetched_at"),
    }

    def row(kind: str, url: str, anchor: str | None, position: int, post_id: int | None = None) -> dict:
        dst, dst_site = _link_target(src_url, url)
        return {
            **base,
            "dst_url": dst,
            "dst_site": dst_site,
            "dst_post_id": post_id if post_id is not None else _link_post_id(dst),
            "kind": kind,
            "anchor": anchor,
            "position": position,
        }

    rows = []
    for i, rel in enumerate(record.get("related") or []):
        if rel and rel.get("url"):
            rows.append(row("related", rel["url"], rel.get("title"), i, rel.get("post_id")))
    for kind in ("prev", "next"):
        if record.get(f"{kind}_url"):
            rows.append(row(kind, record[f"{kind}_url"], None, 0))
    for i, link in enumerate(record.get("inline_links") or []):
        if link and link.get("url"):
            rows.append(row("inline", link["url"], link.get("anchor"), i))
    return rows


# ------------------------------------------------------------------------------------------
# Facts: tables, doc types and the derived parcels/listings datasets (issue 10, crawler.facts)
# ------------------------------------------------------------------------------------------

#: Columns filled by the caller of crawler.facts (the run), on every fact row.
_RUN_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    ("extractor_version", pa.string(), False, "crawler.items.EXTRACTOR_VERSION at extraction time"),
    ("run_id", pa.string(), False, "the run that wrote the row"),
    ("fetched_at", TS, False, "when the post was fetched (UTC)"),
]

PARCEL_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    ("site", pa.string(), False, "host name (partition key)"),
    ("post_id", pa.int64(), False, "the post stating the parcel"),
    ("url", pa.string(), False, "post URL"),
    ("doc_type", pa.string(), True, "doc_type of the post (land_notice or land_result)"),
    ("stage", pa.string(), False, "result when the post reports this parcel sold (buyer or deal price), else notice"),
    ("parcel_name", pa.string(), True, "parcel name or code as written"),
    ("parcel_key", pa.string(), True, "normalised name to join a notice with its result"),
    ("location", pa.string(), True, "boundaries (东至…) or address as written"),
    ("area_m2", pa.float64(), True, "parcel area in m² (亩 ×666.67, 公顷 and 万平方米 ×10,000)"),
    ("land_use", pa.string(), True, "land use as written, e.g. 工业用地"),
    ("plot_ratio_min", pa.float64(), True, "lower plot ratio bound (a single value fills both)"),
    ("plot_ratio_max", pa.float64(), True, "upper plot ratio bound (≤2.0 fills max only)"),
    ("term_years", pa.int32(), True, "use-right term in years"),
    ("start_price_yuan", pa.float64(), True, "start price in yuan (万元 ×10^4, 亿元 ×10^8)"),
    ("deal_price_yuan", pa.float64(), True, "deal price in yuan"),
    ("unit_price_yuan_m2", pa.float64(), True, "price per m² of land, when stated"),
    ("floor_price_yuan_m2", pa.float64(), True, "price per m² of floor area (楼面价), when stated"),
    ("buyer", pa.string(), True, "the winner as written"),
    ("method", pa.string(), True, "挂牌, 拍卖, 招标 or 协议"),
    ("deal_date", pa.date32(), True, "deal date (China time), when stated with its year"),
    ("source", pa.string(), False, "table or text: where the row came from"),
    ("raw", pa.string(), True, "the table row or sentences the values came from"),
] + _RUN_COLUMNS

PARCEL_SCHEMA = pa.schema([pa.field(n, t, nullable=null) for n, t, null, _ in PARCEL_COLUMNS])

LISTING_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    ("site", pa.string(), False, "host name (partition key)"),
    ("post_id", pa.int64(), False, "the post offering the property"),
    ("url", pa.string(), False, "post URL"),
    ("kind", pa.string(), True, "rent, sale or rent_or_sale"),
    ("property", pa.string(), True, "厂房, 仓库, 办公, 土地 …"),
    ("area_m2", pa.float64(), True, "area in m² (the largest figure of a range)"),
    ("area_raw", pa.string(), True, "the area as written, ranges included"),
    ("height_m", pa.float64(), True, "floor height in metres"),
    ("floor_load_t_m2", pa.float64(), True, "floor load in t/m²"),
    ("power_kva", pa.float64(), True, "power supply in kVA"),
    ("price_value", pa.float64(), True, "price figure in price_unit"),
    ("price_unit", pa.string(), True, "元/㎡/天, 元/㎡/月, 元/㎡, 万元 or 面议"),
    ("location", pa.string(), True, "location as written"),
    ("raw", pa.string(), True, "the lines or table row the values came from"),
] + _RUN_COLUMNS

LISTING_SCHEMA = pa.schema([pa.field(n, t, nullable=null) for n, t, null, _ in LISTING_COLUMNS])


def parcels_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Parcel rows to a Table with exactly PARCEL_SCHEMA (extra keys are dropped)."""
    return pa.Table.from_pylist([{k: r.get(k) for k in PARCEL_SCHEMA.names} for r in rows], schema=PARCEL_SCHEMA)


def listings_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Listing rows to a Table with exactly LISTING_SCHEMA (extra keys are dropped)."""
    return pa.Table.from_pylist([{k: r.get(k) for k in LISTING_SCHEMA.names} for r in rows], schema=LISTING_SCHEMA)


#: Record keys holding a post's fact rows (like ``inline_links``, never article columns).
FACT_KEYS = {"parcels": PARCEL_SCHEMA, "listings": LISTING_SCHEMA}


def fact_rows(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The parcels or listings rows of an article record, with extractor_version, run_id, fetched_at filled.

    site, post_id and url come from the record too (when it has them): a fact row always names
    the article version it belongs to.
    """
    run = {"extractor_version": record.get("extractor_version") or EXTRACTOR_VERSION,
           "run_id": record.get("run_id"), "fetched_at": record.get("fetched_at")}
    run.update({k: record[k] for k in ("site", "post_id", "url") if record.get(k) is not None})
    return [{**row, **run} for row in record.get(kind) or []]
