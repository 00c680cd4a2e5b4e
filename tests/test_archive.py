"""crawler.archive: WARC write/read round trip, crash-truncated files, and reextract from the archive."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from crawler import store
from crawler.archive import WarcArchive, iter_responses, read_warc, reextract, warc_files

UTC = dt.timezone.utc
from paths import SAMPLES  # noqa: E402
RENDERED = dt.datetime(2026, 11, 26, 17, 24, tzinfo=UTC)  # when the samples were rendered (tests/samples/SAMPLES.md)
PAGES = [
    ("http://jinshan.021cf.cn/index.php/post/3756.html", "post-3756.html"),
    ("http://laian.021cf.cn/index.php/post/1414.html", "laian-post-1414.html"),
    ("http://jinshan.021cf.cn/index.php/category-1.html", "category-1.html"),  # a list page: not re-extracted
    ("http://jinshan.021cf.cn/index.php/post/9999.html", "category-1.html"),  # a post URL answering a list
]
#: a feed.php response naming post 3756 with its exact time, as the crawl archives it
FEED = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
<item><title>x</title><link>http://jinshan.021cf.cn/index.php/post/3756.html</link>
<pubDate>Mon, 04 Nov 2024 09:30:15 +0800</pubDate></item></channel></rss>""".encode()


def http_date(when: dt.datetime) -> str:
    import email.utils

    return email.utils.format_datetime(when, usegmt=True)


def test_round_trip(tmp_path):
    out = tmp_path / "data"
    body_gbk = "园区招商".encode("gbk") + b"\xff\x00"  # not UTF-8: bytes must come back exactly
    fetched = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with WarcArchive(out, "r1") as arc:
        assert arc.open_path.name == "r1.warc.gz.open" and arc.open_path.exists()
        id1 = arc.write_response(
            "http://jinshan.021cf.cn/index.php/post/1.html", 200,
            {b"Content-Type": [b"text/html; charset=gbk"], b"Date": [b"Wed, 01 May 2024 12:00:00 GMT"],
             b"Content-Encoding": [b"gzip"], b"Set-Cookie": [b"a=1", b"b=2"]},
            body_gbk, {b"User-Agent": [b"parkcorpus-test"]}, fetched_at=fetched)
        id2 = arc.write_response("http://jinshan.021cf.cn/index.php/post/2.html", 404,
                                 [("Content-Type", "text/html")], b"", fetched_at=fetched)
    assert [p.name for p in warc_files(out)] == ["r1.warc.gz"]
    got = list(iter_responses(out))
    assert [(r.url, r.status, r.record_id) for r in got] == [
        ("http://jinshan.021cf.cn/index.php/post/1.html", 200, id1),
        ("http://jinshan.021cf.cn/index.php/post/2.html", 404, id2)]
    first = got[0]
    assert first.body == body_gbk
    assert first.fetched_at == fetched  # WARC/1.1 keeps microseconds
    assert first.server_date == dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert first.run_id == "r1"
    names = [k for k, _ in first.headers]
    # the decoded body is stored, so the transfer encoding headers are not
    assert "Content-Encoding" not in names and ("Set-Cookie", "b=2") in first.headers
    assert ("Content-Length", str(len(body_gbk))) in first.headers
    assert got[1].body == b"" and got[1].server_date is None


def test_warc_is_readable_by_plain_warcio(tmp_path):
    from warcio.archiveiterator import ArchiveIterator

    out = tmp_path / "data"
    with WarcArchive(out, "r1") as arc:
        rid = arc.write_response("http://a.cn/index.php/post/1.html", 200, {}, b"<html>x</html>",
                                 {"Accept": "text/html"})
    with open(out / "warc" / "r1.warc.gz", "rb") as fh:
        recs = [(r.rec_type, r.rec_headers.get_header("WARC-Concurrent-To")) for r in ArchiveIterator(fh)]
    assert recs == [("warcinfo", None), ("response", None), ("request", rid)]


def test_a_killed_run_leaves_a_readable_prefix(tmp_path):
    out = tmp_path / "data"
    arc = WarcArchive(out, "killed")
    urls = [f"http://a.cn/index.php/post/{i}.html" for i in range(6)]
    for i, u in enumerate(urls):
        arc.write_response(u, 200, {"Content-Type": "text/html"}, f"<p>{i}</p>".encode() * 200)
    arc.flush()  # not closed: the process "dies" here
    data = arc.open_path.read_bytes()
    probe = tmp_path / "probe" / "warc"
    probe.mkdir(parents=True)
    seen_counts = set()
    for cut in range(0, len(data) + 1, 5):  # every few bytes: inside headers, bodies, gzip trailers
        (probe / "x.warc.gz.open").write_bytes(data[:cut])
        got = list(read_warc(probe / "x.warc.gz.open"))
        # always a prefix of what was written, each body complete
        assert [r.url for r in got] == urls[:len(got)]
        assert all(r.body == f"<p>{urls.index(r.url)}</p>".encode() * 200 for r in got)
        seen_counts.add(len(got))
    assert len(seen_counts) > 3  # the cuts did land inside different records
    assert len(list(read_warc(arc.open_path))) == 6
    arc.close()


def test_reused_run_id_gets_its_own_file(tmp_path):
    out = tmp_path / "data"
    WarcArchive(out, "same").close()
    a = WarcArchive(out, "same")
    a.close()
    assert [p.name for p in warc_files(out)] == ["same.1.warc.gz", "same.warc.gz"]


def test_dataset_writer_flushes_and_closes_its_archive(tmp_path):
    from store_helpers import rec

    out = tmp_path / "data"
    arc = WarcArchive(out, "run")
    w = store.DatasetWriter(out, "run", archive=arc)
    rid = arc.write_response("http://jinshan.021cf.cn/index.php/post/1.html", 200, {}, b"<html></html>")
    w.add(rec(1, warc_record_id=rid))
    w.close()
    assert arc.closed and (out / "warc" / "run.warc.gz").exists()
    assert list(store.load(out).warc_record_id) == [rid]


# --------------------------------------------------------------------------- reextract


@pytest.fixture
def archived(tmp_path):
    """A dataset whose WARC holds the two sample posts and a list page, as a crawl would write it."""
    pytest.importorskip("crawler.extract", reason="crawler.extract (extraction teammate) not available")
    out = tmp_path / "data"
    store.ensure_dataset(out)
    with WarcArchive(out, "crawl1") as arc:
        for url, name in PAGES:
            arc.write_response(url, 200, {"Content-Type": "text/html; charset=utf-8", "Date": http_date(RENDERED)},
                               (SAMPLES / name).read_bytes(), fetched_at=RENDERED)
    return out


def expected_hashes():
    from crawler.extract import extract_html

    got = {}
    for url, name in PAGES[:2]:
        r = extract_html((SAMPLES / name).read_bytes(), url, fetched_at=RENDERED, server_date=RENDERED)
        got[(r["site"], r["post_id"])] = r["content_hash"]
    return got


def test_reextract_rebuilds_the_articles_from_the_archive(archived):
    s = reextract(archived)
    assert s["articles"] == {"new": 2, "changed": 0, "unchanged": 0}
    assert s["responses"] == 3 and s["not_article"] == 1  # the three post URLs
    df = store.load(archived)
    assert dict(zip(zip(df.site, df.post_id), df.content_hash)) == expected_hashes()
    assert set(df.run_id) == {s["run_id"]} and df.warc_record_id.notna().all()
    assert all(t == RENDERED for t in df.fetched_at.dt.to_pydatetime())
    links = store.open_dataset(archived, "links").to_table()
    assert set(links.column("kind").to_pylist()) >= {"related", "prev", "next"}
    assert [r["run_id"] for r in store.list_runs(archived)] == [s["run_id"]]
    # run again: same rules, same texts, nothing new
    again = reextract(archived)
    assert again["articles"] == {"new": 0, "changed": 0, "unchanged": 2}


def test_reextract_uses_archived_feed_dates(archived):
    with WarcArchive(archived, "crawl2") as arc:
        arc.write_response("http://jinshan.021cf.cn/feed.php", 200,
                           {"Content-Type": "application/rss+xml"}, FEED, fetched_at=RENDERED)
    reextract(archived)
    row = store.load(archived, site="jinshan.021cf.cn").iloc[0]
    assert row["published"].to_pydatetime() == dt.datetime(2024, 11, 4, 1, 30, 15, tzinfo=UTC)
    assert row["published_precision"] == "second"


def test_reextract_into_another_folder_and_from_a_killed_run(archived, tmp_path, run_cli):
    # the crawl was killed: the archive is still .open and its last record is cut
    from warcio.archiveiterator import ArchiveIterator

    warc = archived / "warc" / "crawl1.warc.gz"
    data = warc.read_bytes()
    with open(warc, "rb") as fh:
        it = ArchiveIterator(fh)
        starts = [(r.rec_type, it.get_record_offset()) for r in it]
    last_response = [off for kind, off in starts if kind == "response"][-1]
    warc.unlink()
    (archived / "warc" / "crawl1.warc.gz.open").write_bytes(data[: last_response + 500])
    res = run_cli("reextract", "--out", archived, "--to", tmp_path / "rebuilt")
    assert res.exit_code == 0, res.output
    assert "Re-extracted 2 archived responses from 1 WARC files" in res.output  # the third was cut
    df = store.load(tmp_path / "rebuilt")
    assert dict(zip(zip(df.site, df.post_id), df.content_hash)) == expected_hashes()
    assert not store.dataset_files(archived)  # the source dataset is untouched


def test_reextract_without_a_dataset(tmp_path, run_cli):
    res = run_cli("reextract", "--out", tmp_path / "none")
    assert res.exit_code == 1 and res.output.startswith(f"Error: no parkcorpus dataset at {tmp_path / 'none'}")


def test_copying_a_closed_warc_keeps_it_readable(tmp_path):
    out = tmp_path / "data"
    with WarcArchive(out, "r") as arc:
        arc.write_response("http://a.cn/index.php/post/1.html", 200, {}, b"x")
    shutil.copy(out / "warc" / "r.warc.gz", tmp_path / "copy.warc.gz")
    assert [r.body for r in read_warc(tmp_path / "copy.warc.gz")] == [b"x"]


def test_reextract_with_other_rules_adds_versions_that_become_current(archived, run_cli):
    first = reextract(archived)
    res = run_cli("reextract", "--out", archived, "--convert", "s2t", "--json")
    assert res.exit_code == 0, res.output
    import json

    second = json.loads(res.stdout)
    assert second["articles"] == {"new": 0, "changed": 2, "unchanged": 0}
    df = store.load(archived)
    # same fetch (same fetched_at), newer extraction: the Traditional version is current
    assert set(df.run_id) == {second["run_id"]}
    assert "發展" in "".join(df.text) and "发展" not in "".join(df.text)
    assert len(store.load(archived, history=True)) == 4
    assert set(store.load(archived, history=True).run_id) == {first["run_id"], second["run_id"]}


def _members(data: bytes) -> list[bytes]:
    """The decompressed gzip members of a file, in order."""
    import zlib

    out = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(data))
        data = d.unused_data
    return out


def test_records_built_in_another_process_read_back_like_written_ones(tmp_path):
    # a crawl's workers build the records (exchange_records); the archive only appends the bytes
    from concurrent.futures import ProcessPoolExecutor

    from crawler.archive import exchange_records

    fetched = dt.datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    exchanges = [(f"http://jinshan.021cf.cn/index.php/post/{i}.html", 200 if i % 3 else 404,
                  [("Content-Type", "text/html; charset=utf-8"), ("Date", "Wed, 01 May 2024 12:00:00 GMT"),
                   ("Content-Encoding", "gzip")],
                  f"<p>园区 {i}</p>".encode() * (50 + i), [(b"User-Agent", [b"parkcorpus-test"])], fetched)
                 for i in range(6)]
    with WarcArchive(tmp_path / "here", "r1") as arc:
        for ex in exchanges:
            arc.write_response(*ex)
    with ProcessPoolExecutor(1) as pool:
        built = list(pool.map(exchange_records, *zip(*exchanges)))
    with WarcArchive(tmp_path / "there", "r1") as arc:
        ids = [arc.append(rid, data) for rid, data in built]
    assert ids == [rid for rid, _ in built] and len(set(ids)) == 6

    def read(out):
        return [(r.url, r.status, r.headers, r.body, r.fetched_at) for r in iter_responses(out)]

    assert read(tmp_path / "there") == read(tmp_path / "here") and len(read(tmp_path / "here")) == 6
    assert [r.record_id for r in iter_responses(tmp_path / "there")] == ids
    # the same file layout: a warcinfo member, then one gzip member per record (response, request)
    here = _members((tmp_path / "here" / "warc" / "r1.warc.gz").read_bytes())
    there = _members((tmp_path / "there" / "warc" / "r1.warc.gz").read_bytes())
    assert len(there) == len(here) == 1 + 2 * 6
    assert [m.split(b"\r\n", 2)[:2] for m in there] == [m.split(b"\r\n", 2)[:2] for m in here]  # version, type


def test_a_damaged_member_of_appended_records_costs_that_record_only(tmp_path):
    from crawler.archive import exchange_records

    out = tmp_path / "data"
    urls = [f"http://a.cn/index.php/post/{i}.html" for i in range(5)]
    with WarcArchive(out, "r1") as arc:
        for i, u in enumerate(urls):
            arc.append(*exchange_records(u, 200, {"Content-Type": "text/html"}, f"<p>{i}</p>".encode() * 300))
    path = out / "warc" / "r1.warc.gz"
    data = bytearray(path.read_bytes())
    # the third exchange's response member: find the gzip members' offsets, break its deflate data
    starts = [i for i in range(len(data)) if data[i:i + 3] == b"\x1f\x8b\x08"]
    target = starts[1 + 2 * 2]  # warcinfo, then (response, request) per exchange
    data[target + 40:target + 60] = b"\x00" * 20
    path.write_bytes(bytes(data))
    lost: list = []
    got = [r.url for r in read_warc(path, lost=lost)]
    assert got == urls[:2] + urls[3:] and len(lost) == 1


def _warcio_exchange(url, status, reason, headers, body, req_line, req_headers, when):
    """The records as warcio's own builder writes them (digests computed by warcio)."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="1.1")
    resp = writer.create_warc_record(
        url, "response", payload=BytesIO(body), length=len(body),
        http_headers=StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": when})
    req = writer.create_warc_record(
        url, "request", http_headers=StatusAndHeaders(req_line, req_headers, is_http_request=True),
        warc_headers_dict={"WARC-Date": when})
    writer.write_request_response_pair(req, resp)
    return buf.getvalue()


def test_exchange_records_are_what_warcio_writes_and_their_digests_verify():
    # exchange_records lays the records out and computes the digests itself (once): the records
    # must stay byte for byte what warcio's WARCWriter makes (IDs aside), non-ASCII header values
    # (%-encoded), an empty body, an unknown status and Scrapy's multi-valued bytes headers included
    import re
    from io import BytesIO

    from warcio.archiveiterator import ArchiveIterator

    from crawler.archive import exchange_records

    fetched = dt.datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    gbk = "园区招商".encode("gbk") * 500
    cases = [
        ("http://jinshan.021cf.cn/index.php/post/7.html?x=1", 200, "OK",
         [("Content-Type", "text/html; charset=gbk"), ("Content-Disposition", "inline; filename=园区.html"),
          ("X-Note", "园区"), ("Content-Encoding", "gzip")], gbk, [("User-Agent", "parkcorpus-test")],
         "GET /index.php/post/7.html?x=1 HTTP/1.1", [("Host", "jinshan.021cf.cn"), ("User-Agent", "parkcorpus-test")]),
        ("http://laian.021cf.cn/index.php/post/8.html", 404, "Not Found",
         {b"Set-Cookie": [b"a=1", b"b=2"], b"Content-Length": [b"0"]}, b"", {b"Host": [b"laian.021cf.cn"]},
         "GET /index.php/post/8.html HTTP/1.1", [("Host", "laian.021cf.cn")]),
        ("http://a.cn", 599, "Unknown", [], b"<p>x</p>", None, "GET / HTTP/1.1", [("Host", "a.cn")]),
    ]
    mask = re.compile(rb"(WARC-Record-ID|WARC-Concurrent-To): [^\r\n]*")
    for url, status, reason, headers, body, request_headers, req_line, req_expected in cases:
        rid, data = exchange_records(url, status, headers, body, request_headers, fetched)
        kept = [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                for k, vs in (headers.items() if isinstance(headers, dict) else headers)
                for v in (vs if isinstance(vs, list) else [vs])
                if (k.decode() if isinstance(k, bytes) else k).lower() not in ("content-encoding", "content-length")]
        theirs = _warcio_exchange(url, status, reason, kept + [("Content-Length", str(len(body)))], body,
                                  req_line, req_expected, "2024-05-01T12:00:00.654321Z")
        ours = _members(data)
        assert len(ours) == 2 and mask.sub(b"", b"".join(ours)) == mask.sub(b"", theirs)
        records = list(ArchiveIterator(BytesIO(data), check_digests="raise"))  # raises on a wrong digest
        assert [r.rec_type for r in records] == ["response", "request"]
        assert records[0].rec_headers.get_header("WARC-Record-ID") == rid
        assert records[1].rec_headers.get_header("WARC-Concurrent-To") == rid
    url, status, _, headers, body = cases[0][:5]
    assert b"%E5%9B%AD%E5%8C%BA" in _members(exchange_records(url, status, headers, body)[1])[0]  # %-encoded
