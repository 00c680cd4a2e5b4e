"""The raw archive: every fetched post response in one gzip WARC file per run, and re-extraction.

``<out>/warc/<run_id>.warc.gz`` is written as ``<run_id>.warc.gz.open`` and renamed when the
run closes it (on an object store: segments ``<run_id>.seg<NNNNN>.warc.gz``, each uploaded whole
at a flush). Each record is its own gzip member and is flushed as it is written, so a run
killed at any moment leaves a file whose complete records all read back; the reader stops at
the first incomplete one. ``reextract`` rebuilds articles and links from these files alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http
import logging
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler import clock
from crawler.errors import NotAnArticle

logger = logging.getLogger(__name__)
from crawler.store import (
    DatasetWriter,
    as_path,
    check_run_id,
    ensure_dataset,
    new_run_id,
    write_run_manifest,
)
from crawler.store.files import ObjectPath, is_object

WARC_DIR = "warc"
SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".warc.gz.open"
#: On object stores a run's archive is a series of segments <run_id>.seg<NNNNN>.warc.gz.
SEGMENT = ".seg"

#: Response headers not archived as received: Scrapy hands over the decoded body, so keeping
#: the original encoding/length headers would make WARC readers decode it a second time.
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
#: zlib level of the WARC records: on replica post pages level 6 makes files 0.4 % larger than
#: level 9 (warcio's own) for 27 % less CPU (0.61 against 0.84 ms a page, 2026-11-30).
WARC_GZIP_LEVEL = 6


class _GzipMembers:
    """A file-like that makes each WARC record its own gzip member at WARC_GZIP_LEVEL.

    warcio's WARCWriter (gzip off) writes a record in pieces and flushes after each record;
    a flush ends the member, as warcio's own gzip wrapper does, so readers see the same layout.
    The pieces are kept until the flush and compressed in one call (`_gzip_member`).
    """

    def __init__(self, out):
        self.out = out
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(data)

    def flush(self) -> None:
        self.out.write(_gzip_member(b"".join(self._parts)))
        self._parts = []


def _gzip_member(data: bytes) -> bytes:
    """data as one gzip member at WARC_GZIP_LEVEL, in one zlib call (deflate's output does not
    depend on how its input is cut, and one call costs less than one per piece)."""
    return zlib.compress(data, WARC_GZIP_LEVEL, zlib.MAX_WBITS + 16)


def _header_list(headers: Any) -> list[tuple[str, str]]:
    """Headers from a dict, list of pairs or Scrapy Headers (bytes, multi-valued) as str pairs."""
    if not headers:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    out = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        k = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        for v in values:
            out.append((k, v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return out


def _utc(value: dt.datetime | None) -> dt.datetime:
    return clock.to_utc(value) or clock.now()


def _sha1(*parts: bytes) -> str:
    """A WARC digest header value, spelled as warcio's Digester spells it (sha1:<base32>)."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part)
    return "sha1:" + base64.b32encode(h.digest()).decode("ascii")


#: the payload digest of a request record (it has no payload)
_EMPTY_DIGEST = _sha1(b"")


def _warc_headers(url: str, rec_type: str, when: str, rec_id: str, fields: list[tuple[str, str]]):
    """WARC headers in the order warcio's create_warc_record + write_request_response_pair give them."""
    from warcio.statusandheaders import StatusAndHeaders

    headers = [("WARC-Date", when), ("WARC-Type", rec_type), ("WARC-Record-ID", rec_id)]
    if url:
        headers.append(("WARC-Target-URI", url))
    return StatusAndHeaders("", headers + fields, protocol="WARC/1.1")


def _record(url: str, rec_type: str, when: str, rec_id: str, digests: list[tuple[str, str]],
            http_headers: Any, payload: bytes = b"") -> bytes:
    """One WARC record as one gzip member, laid out as warcio's WARCWriter writes it.

    WARC headers, the HTTP headers warcio rendered (headers_buff), the payload, CRLF CRLF: what
    WARCWriter._write_warc_record writes, without its passes over the payload (digests, copy in
    16 KB pieces) nor its header lookups. tests/test_archive.py holds the two byte for byte.
    """
    from warcio.recordbuilder import RecordBuilder

    block = http_headers.headers_buff
    warc = _warc_headers(url, rec_type, when, rec_id, digests + [
        ("Content-Type", RecordBuilder.WARC_RECORDS[rec_type]), ("Content-Length", str(len(block) + len(payload)))])
    return _gzip_member(b"".join((warc.to_bytes(), block, payload, b"\r\n\r\n")))


def exchange_records(url: str, status: int, headers: Any, body: bytes, request_headers: Any = None,
                     fetched_at: dt.datetime | None = None, method: str = "GET") -> tuple[str, bytes]:
    """One exchange as finished WARC records: (the response's WARC-Record-ID, response + request bytes).

    Pure (no file, no state): a crawl's extraction workers build the records of the pages they
    extract and the crawl process only appends the bytes (WarcArchive.append). Each record is
    its own gzip member (zlib level WARC_GZIP_LEVEL) holding what warcio's WARCWriter writes for
    it, the layout write_response wrote before, so warcio readers and read_warc's damaged-member
    recovery read either alike.
    """
    from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
    from warcio.timeutils import datetime_to_iso_date

    body = body or b""
    # WARC/1.1 dates keep microseconds
    when = datetime_to_iso_date(_utc(fetched_at).replace(tzinfo=None), use_micros=True)
    try:
        reason = http.HTTPStatus(int(status)).phrase
    except ValueError:
        reason = "Unknown"
    resp_headers = [(k, v) for k, v in _header_list(headers) if k.lower() not in _DROP_HEADERS]
    resp_headers.append(("Content-Length", str(len(body))))
    resp_http = StatusAndHeaders(f"{int(status)} {reason}", resp_headers, protocol="HTTP/1.1")
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    req_headers = _header_list(request_headers)
    if not any(k.lower() == "host" for k, _ in req_headers):
        req_headers.insert(0, ("Host", parts.netloc))
    req_http = StatusAndHeaders(f"{method} {target} HTTP/1.1", req_headers, is_http_request=True)
    # warcio's own header rendering (it %-encodes non-ASCII values); the digests are over it
    resp_http.compute_headers_buffer()
    req_http.compute_headers_buffer()
    resp_id = StatusAndHeadersParser.make_warc_id()
    resp = _record(url, "response", when, resp_id, [
        ("WARC-Payload-Digest", _sha1(body)), ("WARC-Block-Digest", _sha1(resp_http.headers_buff, body))],
        resp_http, body)
    req = _record(url, "request", when, StatusAndHeadersParser.make_warc_id(), [
        ("WARC-Payload-Digest", _EMPTY_DIGEST), ("WARC-Concurrent-To", resp_id),
        ("WARC-Block-Digest", _sha1(req_http.headers_buff))], req_http)
    return resp_id, resp + req


def warcinfo_record(filename: str, run_id: str) -> bytes:
    """The warcinfo record that opens a WARC file (or object-store segment), as a gzip member."""
    from warcio.warcwriter import WARCWriter

    from crawler import __version__

    buf = BytesIO()
    writer = WARCWriter(_GzipMembers(buf), gzip=False, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(
        filename, {"software": f"parkcorpus {__version__}", "format": "WARC File Format 1.1", "run-id": run_id}))
    return buf.getvalue()


class WarcArchive:
    """One gzip WARC file per run: request + response records of every fetched post."""

    def __init__(self, out: str | os.PathLike, run_id: str):
        self.run_id = check_run_id(run_id)
        folder = ensure_dataset(out, create=True) / WARC_DIR
        self.records = 0
        self.closed = False
        if is_object(folder):
            # an object appears whole or not at all, and cannot be appended to: records go to a
            # local segment file, uploaded as its own object at every flush (before the Parquet
            # rows that refer to it), then a new segment starts
            self.folder, self.segment, self._fh = folder, 0, None
            self.path = folder / f"{self.run_id}{SUFFIX}"
            self._open_segment()
            return
        folder.mkdir(exist_ok=True)
        name, k = self.run_id, 0
        # a re-used run id must not overwrite or append to another process's archive
        while (folder / f"{name}{SUFFIX}").exists() or (folder / f"{name}{OPEN_SUFFIX}").exists():
            k += 1
            name = f"{self.run_id}.{k}"
        self.path = folder / f"{name}{SUFFIX}"
        self.open_path = folder / f"{name}{OPEN_SUFFIX}"
        self._fh = open(self.open_path, "xb")
        self._fh.write(warcinfo_record(self.path.name, self.run_id))
        self._fh.flush()

    def _open_segment(self) -> None:
        """Object stores: start a local segment file with its own warcinfo record."""
        name = f"{self.run_id}{SEGMENT}{self.segment:05d}{SUFFIX}"
        self.open_path = Path(self.folder.loc.local_tmp(name))
        self._fh = open(self.open_path, "xb")
        self._fh.write(warcinfo_record(name, self.run_id))
        self._segment_records = 0

    def _upload_segment(self, reopen: bool) -> None:
        """Object stores: close the local segment and upload it as one object (never overwriting)."""
        self._fh.close()
        if self._segment_records:
            name = f"{self.run_id}{SEGMENT}{self.segment:05d}{SUFFIX}"
            loc = self.folder.loc
            self.path = ObjectPath(loc, loc.put_file((self.folder / name).rel, self.open_path), is_dir=False)
            self.segment += 1
        else:
            self.open_path.unlink(missing_ok=True)
        if reopen:
            self._open_segment()

    def __enter__(self) -> WarcArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def write_response(self, url: str, status: int, headers: Any, body: bytes,
                       request_headers: Any = None, fetched_at: dt.datetime | None = None,
                       method: str = "GET") -> str:
        """Archive one exchange (request + response records); returns the response's WARC-Record-ID."""
        if self.closed:
            raise RuntimeError("WarcArchive is closed")
        return self.append(*exchange_records(url, status, headers, body, request_headers, fetched_at, method))

    def append(self, record_id: str, data: bytes) -> str:
        """Append finished records (exchange_records' output, built here or in a worker); returns record_id.

        data is whole gzip members (one per record), so the file stays a plain sequence of them.
        """
        if self.closed:
            raise RuntimeError("WarcArchive is closed")
        self._fh.write(data)
        self._fh.flush()  # each record reaches the OS at once: a killed run keeps it
        self.records += 1
        if is_object(self.path):
            self._segment_records += 1
        return record_id

    def flush(self) -> None:
        """Make every record written so far durable (called before Parquet rows refer to them)."""
        if not self.closed:
            if is_object(self.path):
                if self._segment_records:
                    self._upload_segment(reopen=True)
                return
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> Path:
        """Flush, close and rename the file to its final <run_id>.warc.gz name (idempotent)."""
        if not self.closed and is_object(self.path):
            self._upload_segment(reopen=False)
            self.closed = True
        if not self.closed:
            self.flush()
            self._fh.close()
            os.replace(self.open_path, self.path)
            self.closed = True
        return self.path


@dataclass
class ArchivedResponse:
    """One archived response as read back from a WARC file."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: dt.datetime
    record_id: str
    run_id: str
    warc_file: Path
    server_date: dt.datetime | None = field(default=None)


def warc_files(out: str | os.PathLike, include_open: bool = True) -> list[Path]:
    """The WARC files of a dataset, in name (run id) order; unfinished `.open` files too by default."""
    folder = as_path(out) / WARC_DIR
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.name.endswith(SUFFIX)
             or (include_open and p.name.endswith(OPEN_SUFFIX))]
    return sorted(files)


def _server_date(headers: list[tuple[str, str]]) -> dt.datetime | None:
    return clock.parse_http_date(next((v for k, v in headers if k.lower() == "date"), None))


def read_warc(path: Path, want: Any = None, lost: list | None = None) -> Iterator[ArchivedResponse]:
    """The complete response records of one WARC file.

    want(url) -> bool, when given, skips other records without reading their bodies. A record
    that cannot be read (a tail cut by a killed run, a damaged gzip member) is skipped: reading
    goes on at the next gzip member, and lost (when given) gets one (path, offset, reason) per
    unreadable spot, so a caller can count and report them instead of silently using part of it.
    """
    run_id = path.name.removesuffix(OPEN_SUFFIX).removesuffix(SUFFIX)
    run_id = re.sub(rf"{re.escape(SEGMENT)}\d+$", "", run_id)
    # Where warcio meets a damaged gzip member part-way it prints the zlib error and reads on
    # with what it has, so the damage may surface records later, with an offset from a confused
    # reader, before records already read: reading resumes past the furthest record read (seen[0]),
    # and a record is never yielded twice (its WARC-Record-ID).
    seen: list[Any] = [0, set()]
    with (path.loc.open_input(path.rel) if is_object(path) else open(path, "rb")) as fh:
        start: int | None = 0
        while start is not None:
            fh.seek(start)
            failed = yield from _read_members(fh, start, path, run_id, want, seen)
            if failed is None:
                return
            offset, reason = failed
            offset = max(offset, seen[0])
            if lost is not None:
                lost.append((path, offset, reason))
            start = _next_member(fh, offset + 1)


#: the first bytes of a gzip member (each WARC record is one): where reading resumes after damage
_GZIP_MAGIC = b"\x1f\x8b\x08"


def _next_member(fh: Any, offset: int) -> int | None:
    """The offset of the next gzip member at or after offset; None at the end of the file."""
    fh.seek(offset)
    tail = b""
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            return None
        buf = tail + chunk
        at = buf.find(_GZIP_MAGIC)
        if at >= 0:
            return offset - len(tail) + at
        offset += len(chunk)
        tail = buf[-2:]


def _size(fh: Any) -> int:
    """The size of an open local file or pyarrow input file."""
    try:
        return os.fstat(fh.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return fh.size()


#: The record types of WARC 1.0/1.1 (anything else is what warcio made of bytes that did not inflate).
_WARC_TYPES = frozenset({"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
                         "continuation"})


def _digest_failed(record: Any) -> str | None:
    """Why a record read to its end fails its WARC digests (None when they match or it has none)."""
    checker = getattr(record, "digest_checker", None)
    if checker is None or checker.passed is not False:
        return None
    return ("digest mismatch: " + "; ".join(checker.problems))[:200]


def _read_members(fh: Any, base: int, path: Path, run_id: str, want: Any, seen: list[Any]):
    """Yield the responses from base on; return None at a clean end, else (offset, reason) of the bad record.

    seen: [the offset of the furthest record read, the WARC-Record-IDs yielded], kept across calls.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.timeutils import iso_date_to_datetime

    # check_digests: a damaged member can still inflate (zeros in a deflate stream decode to
    # something): the record's WARC-Block-Digest / WARC-Payload-Digest then tell
    records = ArchiveIterator(fh, check_digests=True)
    while True:
        try:
            record = next(records)
            seen[0] = max(seen[0], getattr(records, "offset", 0) or 0)
            if record.rec_type not in _WARC_TYPES or not record.rec_headers.get_header("Content-Length"):
                # a member that does not inflate: warcio reads its raw bytes as a record
                return max(base, getattr(records, "offset", 0) or 0), "not a WARC record (a damaged gzip member)"
            if record.rec_type != "response" or (
                    want is not None and not want(record.rec_headers.get_header("WARC-Target-URI") or "")):
                # drained, not kept: the iterator decompresses it anyway to reach the next record, and
                # a cut tail is found here too (a skipped record would hide a truncated file)
                while record.raw_stream.read(1 << 16):
                    pass
                if getattr(record.raw_stream, "limit", 0) != 0:
                    return max(base, getattr(records, "offset", 0) or 0), "record shorter than its Content-Length"
                why = _digest_failed(record)
                if why:
                    return max(base, getattr(records, "offset", 0) or 0), why
                continue
            body = record.content_stream().read()
            record.raw_stream.read()
            why = _digest_failed(record)
            if why:
                return max(base, getattr(records, "offset", 0) or 0), why
        except StopIteration:
            # warcio ends quietly on bytes that do not make a record: a tail cut inside a record
            end = max(base, getattr(records, "offset", 0) or 0)
            if end < _size(fh):
                return end, "the file ends inside a record (cut short)"
            return None
        except Exception as exc:  # noqa: BLE001 - truncated gzip member / record: counted by the caller
            return max(base, getattr(records, "offset", 0) or 0), f"{type(exc).__name__}: {exc}"[:200]
        # a record cut by a killed run parses as a shorter one: its WARC block (or even its
        # WARC headers) ends before the declared Content-Length
        if not record.rec_headers.get_header("Content-Length") or getattr(record.raw_stream, "limit", 0) != 0:
            return max(base, getattr(records, "offset", 0) or 0), "record shorter than its Content-Length"
        headers = list(record.http_headers.headers) if record.http_headers else []
        declared = record.http_headers.get_header("Content-Length") if record.http_headers else None
        if declared is not None and declared.isdigit() and int(declared) != len(body):
            return max(base, getattr(records, "offset", 0) or 0), "HTTP body shorter than its Content-Length"
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        if record_id in seen[1]:
            continue  # read again after a resumption (see read_warc)
        seen[1].add(record_id)
        yield ArchivedResponse(
            url=record.rec_headers.get_header("WARC-Target-URI"),
            status=int(record.http_headers.get_statuscode() or 0) if record.http_headers else 0,
            headers=headers,
            body=body,
            fetched_at=iso_date_to_datetime(record.rec_headers.get_header("WARC-Date"), tz_aware=True),
            record_id=record_id,
            run_id=run_id,
            warc_file=path,
            server_date=_server_date(headers),
        )




def iter_responses(out: str | os.PathLike, include_open: bool = True, want: Any = None,
                   lost: list | None = None) -> Iterator[ArchivedResponse]:
    """Every complete archived response of a dataset, file by file in run-id order (lost: see read_warc)."""
    for path in warc_files(out, include_open):
        yield from read_warc(path, want, lost)


def date_hints(out: str | os.PathLike) -> dict[tuple[str, int], dict[str, Any]]:
    """(host, post_id) -> extract_html date hints found in archived feed and date-archive pages.

    The crawl passes the feed's exact pubDate and a date archive's year-month to the extractor;
    when those list responses are in the archive too, re-extraction gets the same dates.
    """
    from crawler import discover, sites

    def wanted(url: str) -> bool:
        return sites.classify(url) in ("feed", "date")

    hints: dict[tuple[str, int], dict[str, Any]] = {}
    for resp in iter_responses(out, want=wanted):
        if resp.status != 200:
            continue
        host = urlsplit(resp.url).hostname
        if sites.classify(resp.url) == "feed":
            for link, published in discover.parse_feed(resp.body):
                pid = sites.post_id_of(link)
                if pid is not None and published is not None:
                    hints.setdefault((host, pid), {})["feed_published"] = published
        else:
            month = sites.archive_month(resp.url)
            for link in discover.post_links(resp.body, resp.url):
                pid = sites.post_id_of(link)
                if pid is not None:
                    hints.setdefault((host, pid), {})["archive_month"] = month
    return hints


def _rebuild_derived(out: str | os.PathLike, run_id: str) -> dict[str, Any]:
    """Texts may have changed everywhere: rebuild the duplicate groups, sync the search index."""
    from crawler import dedup, search

    done: dict[str, Any] = {}
    if not dedup.is_local(out):
        return done
    try:
        done["duplicates"] = dedup.rebuild(out, run_id)
        counts = search.build(out)
        done["search_index"] = {k: counts.get(k) for k in ("posts", "rebuilt")}
    except Exception as exc:  # noqa: BLE001 - derived data: never fail the reextract
        logging.getLogger(__name__).warning("duplicates/search index not rebuilt: %s", exc)
    return done


@dataclass(frozen=True)
class _Resp:
    """What reextract keeps of an archived response while its page is extracted."""

    url: str
    record_id: str
    fetched_at: Any


def reextract(out: str | os.PathLike = "data", options: Any = None, to: str | os.PathLike | None = None,
              run_id: str | None = None, flush_rows: int = 500, jobs: int | None = 1) -> dict[str, Any]:
    """Rebuild articles and links from the WARC archive of out alone (no network), as a new run.

    Rows go to `to` (default: out itself, where only texts that changed become new versions).
    jobs: extraction processes (1: this process; 0/None: one per core); rows are the same either way.
    Returns a summary dict, also written as the run manifest.
    """
    from contextlib import ExitStack

    from crawler.lock import path_lock

    source = ensure_dataset(out, create=False)
    dest = to if to is not None else source
    run_id = check_run_id(run_id or f"reextract-{new_run_id()}")
    with ExitStack() as locks:
        # the crawl's lock: a running crawl's unfinished WARC is never read (nor its rows written
        # twice); with it held, a .warc.gz.open is a dead run's and its complete records count
        locks.enter_context(path_lock(source, run_id=run_id))  # a folder or an object store
        if to is not None:
            locks.enter_context(path_lock(ensure_dataset(dest), run_id=run_id))
        return _reextract(source, dest, options, run_id, flush_rows, jobs)


def _reextract(source: Path, dest: Any, options: Any, run_id: str, flush_rows: int,
               jobs: int | None = 1) -> dict[str, Any]:
    from crawler import sites
    from crawler.record import Page, record_task
    from crawler.workers import map_calls

    started = dt.datetime.now(dt.timezone.utc)
    counts = {"responses": 0, "new": 0, "changed": 0, "unchanged": 0, "not_article": 0, "not_ok": 0,
              "fact_warnings": 0}
    not_articles: list[str] = []
    failed: list[str] = []
    files = warc_files(source)
    hints = date_hints(source)

    def is_post(url: str) -> bool:
        return sites.classify(url) == "post"

    lost: list[tuple[Path, int, str]] = []

    def calls():
        for resp in iter_responses(source, want=is_post, lost=lost):
            counts["responses"] += 1
            if resp.status != 200:
                counts["not_ok"] += 1
                continue
            hint = hints.get((urlsplit(resp.url).hostname, sites.post_id_of(resp.url)), {})
            page = Page.of(resp.url, resp.body, resp.status, resp.headers, resp.fetched_at)
            tag = _Resp(resp.url, resp.record_id, resp.fetched_at)  # the body stays out of the results
            yield tag, (page, None, {"options": options, "hint": hint, "run_id": run_id}), resp.url

    from crawler.store.writer import buffer_rows

    with DatasetWriter(dest, run_id, flush_rows=flush_rows, max_buffer_rows=buffer_rows(flush_rows)) as writer:
        for resp, ok, rec in map_calls(record_task, calls(), jobs=jobs):
            if not ok:
                if not isinstance(rec, NotAnArticle):  # a page that killed its worker twice (PageFailed)
                    failed.append(resp.url)
                    continue
                counts["not_article"] += 1
                not_articles.append(resp.url)
                continue
            rec["warc_record_id"] = resp.record_id
            rec["fetched_at"] = resp.fetched_at
            rec["extracted_at"] = None  # the writer stamps it now
            counts["fact_warnings"] += len(rec.get("fact_warnings") or [])
            counts[writer.add(rec)] += 1
    summary = {
        "run_id": run_id,
        "kind": "reextract",
        "mode": "reextract",
        "source": str(source),
        "out": str(dest),
        "warc_files": [str(p) for p in files],
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(),
        "status": "ok",
        "exit_code": 0,
        "error": None,
        "articles": {k: counts[k] for k in ("new", "changed", "unchanged")},
        "responses": counts["responses"],
        "not_article": counts["not_article"],
        "not_ok": counts["not_ok"],
        "not_article_urls": not_articles[:50],
        "failed": len(failed),
        "failed_urls": failed[:1000],
        "files_written": len(writer.files),
        "facts": {"parcels": writer.counts["parcels_written"], "listings": writer.counts["listings_written"],
                  "warnings": counts["fact_warnings"]},
        # records of damaged or truncated WARC files that could not be read: their pages are not
        # in this rebuild (the rows an earlier crawl stored from them stay)
        "unreadable_records": len(lost),
        "unreadable": [f"{p}@{off}: {why}" for p, off, why in lost[:50]],
    }
    for p, off, why in lost:
        logger.warning("%s: unreadable WARC record at byte %d (%s): skipped", p, off, why)
    summary.update(_rebuild_derived(dest, run_id))
    write_run_manifest(dest, summary)
    return summary


def options_from(convert: str | None = None, **kw: Any) -> Any:
    """An ExtractOptions with the given conversion (None: the defaults)."""
    if convert is None and not kw:
        return None
    from crawler.normalize import ExtractOptions

    return ExtractOptions(**({"convert": convert} if convert else {}), **kw)


__all__ = ["WarcArchive", "ArchivedResponse", "exchange_records", "iter_responses", "read_warc", "reextract",
           "warc_files", "options_from"]
