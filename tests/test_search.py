"""Full-text search (crawler.search): exact phrase semantics, normalisation, incremental sync, repair."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler import search
from crawler.errors import DatasetError, SearchQueryError, UsageError

UTC = dt.timezone.utc

TEXTS = [
    ("上海中晟环保科技有限公司竞得枫泾镇工业用地", "近日，金山区枫泾镇JSS6-0101单元地块挂牌出让，最终由上海中晟环保科技有限公司以3560万元竞得。"),
    ("山阳镇“田园综合体”项目完成规划设计", "山阳镇“田园综合体”项目完成规划设计，总投资约5.2亿元（一期）。"),
    ("来安县半塔工业园新投产项目8个", "来安县半塔工业园今年新投产项目8个，新增规上工业企业5家。"),
    ("滁州宏昌新能源科技有限公司年产30万件储能电池系统项目开工", "项目总投资12.5亿元，达产后年产值20亿元。"),
    ("厂房出租", "现有金山工业区单层厂房出租，建筑面积6800平方米，层高10米，带10吨行车。"),
    ("嘉善县召开长三角一体化示範區建設推進會", "會議強調，要加快推進示範區建設。"),  # Traditional in the text
    ("G60科创走廊建设推进大会召开", "松江区发布一批重大合作项目，涉及ABB机器人等企业。"),
    ("枫泾古镇迎来秋季旅游高峰", "枫泾古镇国庆期间接待游客12.6万人次，同比增长20%。"),
]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _rows(texts=TEXTS, site="jinshan.021cf.cn", start=1, day0=dt.datetime(2026, 1, 1, 2, tzinfo=UTC)):
    rows = []
    for i, (title, text) in enumerate(texts):
        pid = start + i
        rows.append({
            "url": f"http://{site}/index.php/post/{pid}.html", "site": site, "post_id": pid,
            "title": title, "text": text, "published": day0 + dt.timedelta(days=i),
            "doc_type": "land_result" if "用地" in title else "news", "content_hash": _hash(title + text),
            "fetched_at": dt.datetime(2026, 6, 1, tzinfo=UTC), "extracted_at": dt.datetime(2026, 6, 1, tzinfo=UTC),
        })
    return rows


def _write(out, rows, name="part-run1-0.parquet"):
    """Write rows as a hive-partitioned articles file per site (the dataset layout)."""
    by_site = {}
    for r in rows:
        by_site.setdefault(r["site"], []).append(r)
    for site, rs in by_site.items():
        folder = out / "articles" / f"site={site}" / "year=2026" / "month=01"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "site"} for r in rs])
        pq.write_table(table, folder / name)


def _contains(rows, q):
    q = search.normalize_search(q).lower()
    return {(r["site"], r["post_id"]) for r in rows
            if q in search.normalize_search(r["title"]).lower() or q in search.normalize_search(r["text"]).lower()}


@pytest.fixture
def out(tmp_path):
    rows = _rows() + _rows(site="laian.021cf.cn", start=100)
    _write(tmp_path, rows)
    return tmp_path, rows


@pytest.mark.parametrize("query", [
    "上海中晟环保科技有限公司", "中晟环保", "滁州宏昌新能源科技有限公司",  # company names
    "枫泾镇", "山阳镇", "半塔工业园", "枫泾",  # town names (枫泾: two characters, the scan)
    "“田园综合体”", "5.2亿元（一期）", "JSS6-0101", "12.6万人次",  # punctuation
    "示範區建設", "會議強調", "推進會",  # Traditional input and text
    "abb机器人", "ABB", "金山", "镇",  # case, short queries
    "不存在的公司名称",
])
def test_results_are_exactly_the_posts_containing_the_phrase(out, query):
    folder, rows = out
    got = {(r["site"], r["post_id"]) for r in search.search(folder, query, limit=1000)}
    assert got == _contains(rows, query)


def test_traditional_and_fullwidth_queries_match_simplified_text(out):
    folder, _ = out
    simplified = {r["url"] for r in search.search(folder, "半塔工业园")}
    assert simplified and {r["url"] for r in search.search(folder, "半塔工業園")} == simplified
    assert {r["url"] for r in search.search(folder, "５.２亿元(一期)")} == {
        r["url"] for r in search.search(folder, "5.2亿元（一期）")}


def test_results_are_newest_first_with_snippet_and_filters(out):
    folder, _ = out
    hits = search.search(folder, "项目")
    assert [h["published"] for h in hits] == sorted((h["published"] for h in hits), reverse=True)
    assert set(hits[0]) >= {"url", "site", "post_id", "title", "published", "snippet"}
    assert all("项目" in h["snippet"] or "项目" in h["title"] for h in hits)
    assert {h["site"] for h in search.search(folder, "项目", site="laian.021cf.cn")} == {"laian.021cf.cn"}
    assert len(search.search(folder, "项目", limit=2)) == 2
    days = {h["published"].date() for h in search.search(folder, "项目", since="2026-01-02", until="2026-01-03")}
    assert days == {dt.date(2026, 1, 2), dt.date(2026, 1, 3)}  # China-time days, until inclusive
    assert all(h["doc_type"] == "land_result" for h in search.search(folder, "用地", doc_type="land_result"))


def test_snippet_shows_the_hit_with_context():
    text = "前" * 100 + "枫泾镇" + "后" * 100
    s = search.snippet(text, "枫泾镇", context=5)
    assert s == "…前前前前前枫泾镇后后后后后…"
    assert search.snippet("abc", "zz") == ""


@pytest.mark.parametrize("bad", ["", "   ", "，。！", "“”", "..."])
def test_empty_or_punctuation_only_query_is_a_usage_error(out, bad):
    folder, _ = out
    with pytest.raises(SearchQueryError) as exc:
        search.search(folder, bad)
    assert isinstance(exc.value, UsageError) and exc.value.exit_code == 2
    assert "\n" not in str(exc.value)


def test_a_query_with_undecodable_command_line_bytes_finds_what_its_readable_part_does(out):
    # Python hands a command line's undecodable bytes over as lone surrogates (surrogateescape):
    # OpenCC cannot take them; a query holding one and a Traditional character used to raise
    folder, _ = out
    assert search.normalize_search("半塔工業\udcff園") == "半塔工业\ufffd园"
    assert search.search(folder, "半塔工業\udcff") == []  # the broken character matches nothing
    with pytest.raises(SearchQueryError):  # nothing readable left: a usage error, as punctuation is
        search.search(folder, "\udcff")


def test_a_folder_without_articles_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no articles dataset"):
        search.search(tmp_path, "枫泾镇")


def test_sync_is_incremental_and_keeps_only_the_current_version(out):
    folder, rows = out
    first = search.build(folder)
    assert first["added"] == len(rows) and first["posts"] == len(rows)
    assert search.build(folder)["files"] == 0  # nothing new
    # a changed article arrives in a new file of a later run: the new text replaces the old one
    changed = dict(rows[0], title="上海衡远检测技术有限公司竞得地块", text="改写后的正文。",
                   fetched_at=dt.datetime(2026, 7, 1, tzinfo=UTC))
    changed["content_hash"] = _hash(changed["title"] + changed["text"])
    _write(folder, [changed], name="part-run2-0.parquet")
    second = search.build(folder)
    assert (second["files"], second["replaced"], second["posts"]) == (1, 1, len(rows))
    assert search.search(folder, "上海中晟环保科技有限公司", site="jinshan.021cf.cn") == []
    assert [h["post_id"] for h in search.search(folder, "衡远检测")] == [rows[0]["post_id"]]
    assert search.check(folder) == []


def test_older_version_arriving_late_does_not_replace_the_newer(tmp_path):
    rows = _rows()
    with search.SearchIndex(tmp_path / "i.sqlite") as idx:
        idx.add(rows)
        old = dict(rows[0], text="旧版本正文", content_hash="old", fetched_at=dt.datetime(2025, 1, 1, tzinfo=UTC))
        assert idx.add([old]) == {"added": 0, "replaced": 0, "skipped": 1}
        assert idx.search("旧版本") == []
        assert idx.add(pa.Table.from_pylist(rows[:2]))["skipped"] == 2  # same hash: nothing to do


def test_compaction_removing_files_removes_vanished_posts(out):
    folder, rows = out
    search.build(folder)
    for f in (folder / "articles").rglob("*.parquet"):
        f.unlink()
    _write(folder, rows[1:], name="part-compacted-0.parquet")
    counts = search.build(folder)
    assert counts["removed"] == 1 and counts["posts"] == len(rows) - 1
    assert search.check(folder) == []


def test_corrupt_index_is_rebuilt_with_a_warning(out, caplog):
    folder, rows = out
    search.build(folder)
    path = search.index_path(folder)
    for suffix in ("-wal", "-shm"):
        (path.parent / (path.name + suffix)).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="crawler.search"):
        hits = search.search(folder, "枫泾镇", limit=100)
    assert "rebuilding" in caplog.text
    assert {(h["site"], h["post_id"]) for h in hits} == _contains(rows, "枫泾镇")


def test_stale_index_version_is_rebuilt(out, caplog, monkeypatch):
    folder, rows = out
    search.build(folder)
    monkeypatch.setattr(search, "SCHEMA_VERSION", "999")
    with caplog.at_level(logging.WARNING, logger="crawler.search"):
        assert search.build(folder)["rebuilt"].startswith("stale")
    assert len(search.search(folder, "项目", limit=100)) == len(_contains(rows, "项目"))


def test_check_reports_an_index_that_disagrees_with_the_dataset(out):
    folder, rows = out
    search.build(folder)
    with search.SearchIndex(folder) as idx:
        idx.remove([(rows[0]["site"], rows[0]["post_id"])])
    problems = search.check(folder)
    assert len(problems) == 1 and "1 posts missing from the search index" in problems[0]
    assert search.check(folder / "nothing-here") == []


def test_random_phrases_match_a_scan(tmp_path):
    """Random substrings of random posts (and near-misses) give exactly the scan's answer."""
    rng = random.Random(5)
    chars = "园区厂房出租土地工业枫泾镇山阳来安县半塔（）“”、，。0123456789ABC"
    rows = [{"site": "s.021cf.cn", "post_id": i, "url": f"u{i}", "title": "".join(rng.choices(chars, k=8)),
             "text": "".join(rng.choices(chars, k=120)), "published": dt.datetime(2026, 1, 1, tzinfo=UTC),
             "content_hash": str(i)} for i in range(150)]
    with search.SearchIndex(tmp_path / "r.sqlite") as idx:
        idx.add(rows)
        for _ in range(60):
            r = rng.choice(rows)
            k = rng.randrange(1, 6)
            a = rng.randrange(0, len(r["text"]) - k)
            q = r["text"][a:a + k]
            if not any(ch.isalnum() for ch in search.normalize_search(q)):
                continue
            got = {h["post_id"] for h in idx.search(q, limit=1000)}
            assert got == {p for _, p in _contains(rows, q)}, q


def test_many_posts_in_one_second_and_undated_posts_keep_their_order(tmp_path):
    same = dt.datetime(2026, 3, 5, 4, tzinfo=UTC)  # date-only dates all fall on one instant
    rows = [{"site": "s.021cf.cn", "post_id": i, "url": f"u{i}", "title": f"标题{i}", "text": "半塔工业园招商",
             "published": same, "content_hash": str(i)} for i in range(300)]
    rows += [{"site": "s.021cf.cn", "post_id": 1000, "url": "later", "title": "t", "text": "半塔工业园招商",
              "published": same + dt.timedelta(seconds=1), "content_hash": "later"},
             {"site": "s.021cf.cn", "post_id": 1001, "url": "undated", "title": "t", "text": "半塔工业园招商",
              "published": None, "content_hash": "undated"}]
    with search.SearchIndex(tmp_path / "s.sqlite") as idx:
        idx.add(rows)
        hits = idx.search("半塔工业园", limit=1000)
        assert len(hits) == 302 and idx.count() == 302
        assert hits[0]["url"] == "later" and hits[-1]["url"] == "undated"
        assert [h["url"] for h in idx.search("工业", limit=1)] == ["later"]


def _record_hash(row):
    from crawler.items import record_hash

    return record_hash(row)


def test_a_title_only_edit_replaces_the_indexed_title(out):
    folder, rows = out
    first = [dict(r, record_hash=_record_hash(r)) for r in rows]
    for f in (folder / "articles").rglob("*.parquet"):
        f.unlink()
    _write(folder, first)
    search.build(folder)
    edited = dict(first[0], title="上海中晟环保竞得枫泾镇JSS6单元地块（更正）",
                  fetched_at=dt.datetime(2026, 7, 1, tzinfo=UTC))
    edited["record_hash"] = _record_hash(edited)
    assert edited["content_hash"] == first[0]["content_hash"]  # the text did not change
    _write(folder, [edited], name="part-run2-0.parquet")
    counts = search.build(folder)
    assert (counts["replaced"], counts["posts"]) == (1, len(rows))
    assert [h["title"] for h in search.search(folder, "JSS6单元地块（更正）")] == [
        search.normalize_search(edited["title"])]
    assert search.search(folder, "竞得枫泾镇工业用地", site=edited["site"]) == []  # the old title is gone
    assert search.check(folder) == []


def test_the_same_version_fetched_again_keeps_an_older_version_out(tmp_path):
    """v1, then v3 (= v1's text and title, fetched later), then v2 arriving late: v3 is current."""
    v1 = dict(_rows()[0], record_hash="A", fetched_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    v2 = dict(v1, title="中间版本标题", text="中间版本正文", content_hash="b", record_hash="B",
              fetched_at=dt.datetime(2026, 2, 1, tzinfo=UTC))
    v3 = dict(v1, fetched_at=dt.datetime(2026, 3, 1, tzinfo=UTC))
    with search.SearchIndex(tmp_path / "v.sqlite") as idx:
        idx.add([v1, v3, v2])
        assert idx.search("中间版本") == [] and len(idx.search("中晟环保")) == 1


#: the tables of an index built by parkcorpus before record_hash (schema version 2)
_V2_TABLES = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
    INSERT INTO meta VALUES('schema', '2');
    CREATE TABLE docs(id INTEGER PRIMARY KEY, site TEXT NOT NULL, post_id INTEGER NOT NULL,
        url TEXT, published INTEGER, doc_type TEXT, content_hash TEXT,
        fetched INTEGER, extracted INTEGER, UNIQUE(site, post_id));
    CREATE VIRTUAL TABLE fts USING fts5(title, text, tokenize='trigram');
    CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER);
"""


def test_an_index_of_the_old_version_is_upgraded_and_not_left_stale(tmp_path, caplog):
    """A version-2 index that kept an old title (a title-only edit it could not see) and had read
    every file: the upgrade makes the next sync re-read them and fix that title, and only that."""
    rows = [dict(r, record_hash=_record_hash(r)) for r in _rows()]
    rows[0]["title"] = "新标题：中晟环保竞得工业用地"
    rows[0]["record_hash"] = _record_hash(rows[0])
    _write(tmp_path, rows)
    path = search.index_path(tmp_path)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(_V2_TABLES)
    for i, r in enumerate(rows, start=1):
        title = "旧标题：上海中晟环保科技有限公司竞得用地" if i == 1 else r["title"]
        db.execute("INSERT INTO docs VALUES(?,?,?,?,?,?,?,?,?)",
                   (i, r["site"], r["post_id"], r["url"], search._us(r["published"]), r["doc_type"],
                    r["content_hash"], search._us(r["fetched_at"]), search._us(r["extracted_at"])))
        db.execute("INSERT INTO fts(rowid, title, text) VALUES(?,?,?)",
                   (i, search.normalize_search(title), search.normalize_search(r["text"])))
    db.executemany("INSERT INTO files VALUES(?,?,?)",
                   [(p, s, m) for p, (s, m) in search._parquet_files(tmp_path / "articles").items()])
    db.close()
    assert len(search.check(tmp_path)) == 1  # validate: the upgraded entries are not known current
    with caplog.at_level(logging.WARNING, logger="crawler.search"):
        counts = search.build(tmp_path)
    assert counts["rebuilt"] is None and counts["files"] == 1
    assert (counts["replaced"], counts["skipped"], counts["posts"]) == (1, len(rows) - 1, len(rows))
    assert search.search(tmp_path, "旧标题") == []
    assert [h["post_id"] for h in search.search(tmp_path, "新标题")] == [rows[0]["post_id"]]
    assert search.check(tmp_path) == []
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM docs WHERE record_hash IS NULL").fetchone()[0] == 0
    db.close()


def test_a_crawled_title_only_edit_is_found_by_its_new_title(tmp_path, no_proxy_env):
    """Crawl, the replica's editor changes only a title, re-crawl: the crawl's index sync makes
    `search` find the new title and not the old one."""
    from crawler.crawl import crawl
    from crawler.replica.edits import Edit, Edits
    from crawler.replica.model import Network
    from crawler.replica.server import ReplicaServer

    t0 = dt.datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    net = Network(seed=7, sites=1, posts=20, now=t0)
    host = net.hosts[0]
    pid = net.site(host).post_ids()[-1]
    old_title = net.site(host).post(pid, edited=False)["title"]
    new_title = "金山区枫泾镇标准厂房招租公告（更正版）"
    Edits([Edit(host, pid, "title", t0 + dt.timedelta(hours=1), value=new_title)]).attach(net)
    fast = {"DOWNLOAD_DELAY": 0, "DOWNLOAD_DELAY_JITTER": 0, "AUTOTHROTTLE_ENABLED": False,
            "PARKCORPUS_RETRY_BACKOFF": 0}
    with ReplicaServer(net) as srv:
        def run(**kw):
            return crawl([host], out=str(tmp_path), proxy=srv.proxy_url, settings=fast, env={},
                         progress=False, **kw)

        run()
        assert [h["post_id"] for h in search.search(tmp_path, old_title, site=host)] == [pid]
        net.set_now(t0 + dt.timedelta(days=1))
        second = run(refresh=True)
    assert second["articles"]["changed"] == 1
    assert [h["post_id"] for h in search.search(tmp_path, new_title, site=host)] == [pid]
    assert pid not in {h["post_id"] for h in search.search(tmp_path, old_title, site=host, limit=1000)}
    assert search.check(tmp_path) == []


def test_an_index_of_version_3_is_upgraded_in_place_without_re_reading(out, caplog):
    """Version 3 had no pending mark: its rows came from files, so the upgrade keeps them all and
    the next sync has nothing to read."""
    folder, rows = out
    search.build(folder)
    path = search.index_path(folder)
    db = sqlite3.connect(path)
    db.executescript("DROP INDEX docs_pending; ALTER TABLE docs DROP COLUMN pending; "
                     "UPDATE meta SET value='3' WHERE key='schema';")
    db.close()
    with caplog.at_level(logging.WARNING, logger="crawler.search"):
        counts = search.build(folder)
    assert "upgraded from version 3 to 4" in caplog.text
    assert counts["rebuilt"] is None and counts["files"] == 0 and counts["posts"] == len(rows)
    with search.SearchIndex(folder) as idx:
        assert idx.pending() == 0
    assert search.check(folder) == []
