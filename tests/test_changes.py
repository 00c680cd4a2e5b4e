"""record_hash and the field-by-field version diff (crawler.items.record_hash, crawler.changes)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pyarrow as pa
import pytest

from crawler.changes import COLUMNS, changes, diff_versions, since_instant, text_diff
from crawler.items import articles_table, content_hash, empty_article, record_hash

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

BODY = ("金山工业区一宗工业用地于2026年10月15日完成挂牌出让。\n"
        "该地块面积约32亩，成交价格为1200万元。\n"
        "来源：金山网")


def version(day: int, **values) -> dict:
    base = dict(url="http://jinshan.021cf.cn/index.php/post/3756.html", site="jinshan.021cf.cn",
                post_id=3756, title="金山工业区工业用地挂牌出让", text=BODY,
                published=dt.datetime(2026, 10, 16, 1, 0, tzinfo=UTC), published_precision="second",
                category="土地出让", tags=["土地出让", "金山"], run_id=f"run{day}",
                fetched_at=T0 + dt.timedelta(days=day), extracted_at=T0 + dt.timedelta(days=day))
    base.update(values)
    base["content_hash"] = content_hash(base["text"])
    base["record_hash"] = record_hash(base)
    return empty_article(**base)


# -- record_hash -------------------------------------------------------------------------------

def test_record_hash_changes_with_each_article_field_and_only_those():
    rec = version(0)
    h = record_hash(rec)
    for field, value in [("title", "新标题"), ("text", BODY + "。"), ("category", "厂房出租"),
                         ("tags", ["金山", "土地出让"]), ("tags", ["土地出让"])]:
        assert record_hash({**rec, field: value}) != h, field
    for field, value in [("fetched_at", T0), ("run_id", "other"), ("related", [{"url": "x"}]),
                         ("prev_url", "http://x/"), ("published_raw", "3天前")]:
        assert record_hash({**rec, field: value}) == h, field


def test_record_hash_separates_fields_unambiguously():
    # moving characters between title and text must not give the same hash
    a = {"title": "ab", "text": "c", "category": None, "tags": []}
    b = {"title": "a", "text": "bc", "category": None, "tags": []}
    assert record_hash(a) != record_hash(b)
    assert record_hash({"title": "t", "text": "x", "category": None, "tags": []}) != \
        record_hash({"title": "t", "text": "x", "category": "", "tags": []})


def test_record_hash_is_stable_across_processes_and_input_shapes():
    rec = version(0)
    code = ("import json,sys; from crawler.items import record_hash; "
            "print(record_hash(json.loads(sys.stdin.read())))")
    payload = json.dumps({k: rec[k] for k in ("title", "text", "category", "tags")}, ensure_ascii=False)
    other = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout.strip()
    assert other == record_hash(rec)
    # a pandas row carries tags as a numpy array: same hash
    np = pytest.importorskip("numpy")
    assert record_hash({**rec, "tags": np.array(rec["tags"], dtype=object)}) == record_hash(rec)
    assert len(record_hash(rec)) == 64


# -- diff_versions -----------------------------------------------------------------------------

def test_an_edit_that_only_moves_a_date():
    old = version(0)
    new = version(3, text=BODY.replace("10月15日", "10月16日"))
    d = diff_versions(old, new)
    assert d["fields"] == ["text"]
    t = d["changes"]["text"]
    assert (t["chars_added"], t["chars_removed"]) == (1, 1)
    assert t["fragments"] == [{"old": "5", "new": "6"}]
    assert t["lines"] == ["-" + BODY.split("\n")[0], "+" + new["text"].split("\n")[0]]
    assert (t["lines_removed"], t["lines_added"]) == (1, 1)
    assert d["from"]["content_hash"] == old["content_hash"] and d["to"]["run_id"] == "run3"
    json.dumps(d, ensure_ascii=False)  # JSON-ready


def test_an_edit_that_changes_a_price():
    d = diff_versions(version(0), version(1, text=BODY.replace("1200万元", "1350万元")))
    assert d["fields"] == ["text"]
    t = d["changes"]["text"]
    assert t["chars_added"] == t["chars_removed"] == 2
    assert "".join(f["old"] for f in t["fragments"]) == "20"
    assert "".join(f["new"] for f in t["fragments"]) == "35"
    assert t["lines"][1].endswith("1350万元。")


def test_a_title_only_edit():
    old, new = version(0), version(1, title="金山工业区工业用地挂牌出让（更正）")
    assert old["content_hash"] == new["content_hash"] and old["record_hash"] != new["record_hash"]
    d = diff_versions(old, new)
    assert d["fields"] == ["title"]
    assert d["changes"]["title"] == {"old": old["title"], "new": new["title"]}


def test_tags_category_and_publication_date():
    old = version(0)
    new = version(1, tags=["金山", "工业用地"], category="工业用地",
                  published=old["published"] - dt.timedelta(days=1))
    d = diff_versions(old, new)
    assert d["fields"] == ["published", "category", "tags"]
    assert d["changes"]["tags"]["added"] == ["工业用地"] and d["changes"]["tags"]["removed"] == ["土地出让"]
    assert d["changes"]["published"]["moved_seconds"] == -86400


def test_an_approximate_date_drifting_is_not_an_edit():
    old = version(0, published_precision="approximate")
    drift = version(1, published_precision="approximate", published=old["published"] + dt.timedelta(hours=20))
    assert diff_versions(old, drift)["fields"] == []
    moved = version(1, published_precision="approximate", published=old["published"] + dt.timedelta(days=9))
    assert diff_versions(old, moved)["fields"] == ["published"]


def test_text_diff_added_and_removed_paragraphs():
    t = text_diff("a\nb\nc", "a\nc\nd新段落")
    assert t["lines"] == ["-b", "+d新段落"]
    assert (t["chars_removed"], t["chars_added"]) == (1, 4)
    big = text_diff("\n".join(map(str, range(200))), "\n".join(str(i) + "x" for i in range(200)))
    assert big["truncated"] and len(big["lines"]) <= 40 and big["chars_added"] == 200


# -- changes -----------------------------------------------------------------------------------

def test_changes_walks_versions_in_fetch_order_per_post():
    a0, a1 = version(0), version(2, title="新标题")
    a2 = version(5, title="新标题", text=BODY.replace("32亩", "35亩"))
    b0 = version(1, post_id=3757, url="http://jinshan.021cf.cn/index.php/post/3757.html")
    c0 = version(0, site="laian.021cf.cn", post_id=10, url="http://laian.021cf.cn/index.php/post/10.html")
    c1 = version(4, site="laian.021cf.cn", post_id=10, url=c0["url"], tags=["来安"])
    rows = [a2, c1, b0, a0, c0, a1, dict(a1)]  # shuffled, one version read twice
    got = changes(articles_table(rows))
    assert [(e["site"], e["post_id"], e["fields"]) for e in got] == [
        ("jinshan.021cf.cn", 3756, ["title"]),
        ("laian.021cf.cn", 10, ["tags"]),
        ("jinshan.021cf.cn", 3756, ["text"]),
    ]
    assert got[2]["from"]["fetched_at"] == a1["fetched_at"].isoformat()
    # the same from a pandas frame and from plain dicts
    assert changes(articles_table(rows).to_pandas()) == got
    plain = changes(rows)  # dicts also carry record_hash, which the table leaves out
    assert [(e["post_id"], e["fields"], e["to"]["record_hash"]) for e in plain] == \
        [(e["post_id"], e["fields"], r["record_hash"]) for e, r in zip(got, [a1, c1, a2])]
    assert [e["post_id"] for e in changes(rows, site="laian.021cf.cn")] == [10]
    pl = pytest.importorskip("polars")
    assert changes(pl.from_arrow(articles_table(rows))) == got
    assert changes(rows, site=["nowhere"]) == []


def test_changes_since_keeps_new_versions_fetched_from_that_china_day():
    a0, a1 = version(0), version(3, title="x")  # fetched 2026-11-20 02:00 and 11-23 02:00 UTC
    # 2026-11-23 starts at 2026-11-22 16:00 UTC: the second version is on or after it
    assert len(changes([a0, a1], since="2026-11-23")) == 1
    assert changes([a0, a1], since="2026-11-24") == []
    assert since_instant("2026-11-23") == dt.datetime(2026, 11, 22, 16, tzinfo=UTC)
    assert since_instant(dt.date(2026, 11, 23)) == since_instant("2026-11-23")


def test_first_versions_are_not_changes():
    assert changes([version(0)]) == []
    assert changes(pa.table({"site": pa.array([], pa.string()), "post_id": pa.array([], pa.int64())})) == []


def test_changes_of_a_stored_dataset(tmp_path):
    from crawler.store import DatasetWriter, load

    out = tmp_path / "data"
    for day, recs in [(0, [version(0), version(0, post_id=1, url="http://jinshan.021cf.cn/index.php/post/1.html")]),
                      (2, [version(2, text=BODY.replace("1200万元", "1350万元"))])]:
        with DatasetWriter(out, f"run{day}") as w:
            for r in recs:
                w.add({k: v for k, v in r.items() if k != "record_hash"})
    got = changes(load(out, history=True, columns=list(COLUMNS)))
    assert [(e["post_id"], e["fields"]) for e in got] == [(3756, ["text"])]
    assert got[0]["changes"]["text"]["fragments"] == [{"old": "20", "new": "35"}]
